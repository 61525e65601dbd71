//! `cargo xtask demo`: a narrated tour of the client against the local stack.

use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::TryStreamExt;
use openstack_images::{
    Client, ContainerFormat, DiskFormat, ImageCreate, ImageListQuery, ImagePatch, ImageVisibility,
    MemberStatus, SchemaKind, ServiceType,
};

struct Tour {
    steps: Vec<(String, f64)>,
}

impl Tour {
    fn say(&self, text: &str) {
        println!("\n== {text}");
    }

    fn done(&mut self, what: &str, started: Instant) {
        let secs = started.elapsed().as_secs_f64();
        println!("   ({:.0} ms)", secs * 1000.0);
        self.steps.push((what.to_owned(), secs));
    }
}

/// Runs the tour; the stack is brought up first (installed on first use).
pub fn run() -> Result<()> {
    let info = crate::stack::up()?;
    // Talk to the stack only through clouds.yaml, as a user's program would.
    // SAFETY of set_var: single-threaded at this point, before the runtime starts.
    unsafe { std::env::set_var("OS_CLIENT_CONFIG_FILE", &info.clouds_yaml) };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(tour())
}

async fn tour() -> Result<()> {
    let mut t = Tour { steps: Vec::new() };
    let total = Instant::now();

    t.say("Authenticate with cloud `local` from the stack's clouds.yaml (Keystone v3, password)");
    let s = Instant::now();
    let admin = Client::from_cloud("local")?;
    admin.authenticate().await?;
    let project = admin.project_id().await?.unwrap_or_default();
    println!("   project {project}");
    println!(
        "   image endpoint   {}",
        admin.endpoint(ServiceType::Image).await?
    );
    println!(
        "   compute endpoint {}",
        admin.endpoint(ServiceType::Compute).await?
    );
    t.done("authenticate + endpoint discovery", s);

    t.say("Read the image schema the cloud serves (operator-defined properties included)");
    let s = Instant::now();
    let schema = admin.images().schema(SchemaKind::Image).await?;
    let operator: Vec<&str> = openstack_images::OPERATOR_PROPERTIES.to_vec();
    println!(
        "   {} properties; operator-defined: {}",
        schema.properties.len(),
        operator.join(", ")
    );
    t.done("schema", s);

    t.say("Create two images with typed and custom properties and a tag");
    let s = Instant::now();
    let tag = format!("demo-{}", std::process::id());
    let mut ids = Vec::new();
    for (i, distro) in ["cirros", "debian"].into_iter().enumerate() {
        let image = admin
            .images()
            .create(
                ImageCreate::new(format!("{tag}-{distro}"))
                    .container_format(ContainerFormat::Bare)
                    .disk_format(DiskFormat::Raw)
                    .visibility(ImageVisibility::Shared)
                    .min_ram(256 * (i as i64 + 1))
                    .os_distro(distro)
                    .tags([tag.clone(), "demo".to_owned()])
                    .property("owner_team", "images"),
            )
            .await?;
        println!(
            "   created {} `{}` status={} os_distro={}",
            image.id,
            image.name.clone().unwrap_or_default(),
            image.status.as_ref().map(|s| s.as_str()).unwrap_or("?"),
            image.os_distro.clone().unwrap_or_default()
        );
        ids.push(image.id);
    }
    t.done("create", s);

    t.say("Reject bad input before any request: a read-only attribute and an unknown disk format");
    for bad in [
        ImageCreate::new("x").property_value("status", "active".into()),
        ImageCreate::new("x").disk_format("floppy"),
    ] {
        match admin.images().create(bad).await {
            Err(e) => println!("   refused: {e}"),
            Ok(img) => anyhow::bail!("the server accepted an invalid image {}", img.id),
        }
    }

    t.say(&format!(
        "List with filters: tag={tag}, os_distro=debian, sorted by name, 1 per page"
    ));
    let s = Instant::now();
    let q = ImageListQuery::new()
        .tag(tag.clone())
        .sort("name", openstack_images::SortDir::Asc)
        .limit(1);
    let all: Vec<_> = admin.images().list(q.clone()).try_collect().await?;
    for i in &all {
        println!("   {} {}", i.id, i.name.clone().unwrap_or_default());
    }
    let debian = admin.images().list_all(q.os_distro_eq("debian")).await?;
    println!("   os_distro=debian -> {} image(s)", debian.len());
    t.done("list (stream, 1 image per page)", s);

    t.say("Update with JSON patch: rename, add a property, replace the tags");
    let s = Instant::now();
    let updated = admin
        .images()
        .update(
            &ids[0],
            ImagePatch::new()
                .replace_name(format!("{tag}-cirros-renamed"))
                .add("os_version", "0.6")
                .replace_tags([tag.clone(), "renamed".to_owned()]),
        )
        .await?;
    // The image serializes as the API returned it: custom properties at the top level.
    let json = serde_json::to_value(&updated)?;
    println!(
        "   {} name={} os_version={} tags={}",
        updated.id, json["name"], json["os_version"], json["tags"]
    );
    t.done("update", s);

    t.say("Share with project `demo` and accept as its member user (cloud `local-demo`)");
    let s = Instant::now();
    let demo = Client::from_cloud("local-demo")?;
    let demo_project = demo
        .project_id()
        .await?
        .context("demo token has a project")?;
    admin.images().add_member(&ids[1], &demo_project).await?;
    let m = demo
        .images()
        .set_member_status(&ids[1], &demo_project, MemberStatus::Accepted)
        .await?;
    println!(
        "   member {} is {}",
        m.member_id,
        m.status.map(|s| s.to_string()).unwrap_or_default()
    );
    let seen = demo
        .images()
        .list_all(ImageListQuery::new().tag(tag.clone()))
        .await?;
    println!("   demo now lists {} of the tagged images", seen.len());
    t.done("share + accept", s);

    t.say("Find by name, then clean up");
    let s = Instant::now();
    let found = admin.images().find(&format!("{tag}-debian")).await?;
    println!("   found {} by name", found.id);
    for id in &ids {
        admin.images().delete(id).await?;
        println!("   deleted {id}");
    }
    t.done("find + delete", s);

    println!("\n== Summary");
    for (what, secs) in &t.steps {
        println!("   {:<36} {:>8.0} ms", what, secs * 1000.0);
    }
    println!(
        "   {:<36} {:>8.0} ms",
        "total",
        total.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
