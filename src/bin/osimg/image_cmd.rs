//! `osimg image`: the Image service's images, members, data and imports, with the flags of
//! `openstack image`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use openstack_images::{Client, DataSource, Image, MemberStatus};
use serde_json::{Value, json};

use crate::image_args::{Protection, TypedProperties, Visibility, parse_kv};
use crate::image_data_cmd::{
    CreateArgs, ImportArgs, create, import_and_wait, import_method, link_target, save_to_stdout,
};
use crate::image_record::{print_image, show};
use crate::output::{Printer, col};
use crate::project_arg::{ProjectDomain, project_id};
use crate::{CmdResult, Fail, progress};

#[derive(Subcommand)]
pub enum ImageCmd {
    /// List images (default columns ID, Name, Status), sorted by name as openstack does.
    #[command(after_help = crate::output::LIST_MEMORY_HELP)]
    List(crate::image_list_cmd::ListArgs),
    /// Show one image by id or name (hidden images included).
    Show {
        /// Image id or name.
        image: String,
        /// Print the size as 1.5 GiB instead of bytes.
        #[arg(long)]
        human_readable: bool,
    },
    /// Create an image; with --file, upload its data (or stage and import it with --import).
    Create(Box<CreateArgs>),
    /// Copy an image into another cloud (streamed from its download into the other
    /// cloud's upload, verified on both sides, with its properties and tags), or into more
    /// stores of this cloud (--to-store: Glance's copy-image import).
    Copy(Box<crate::copy_cmd::CopyArgs>),
    /// Change an image: properties, tags, visibility, state, or the caller's membership.
    Set(Box<SetArgs>),
    /// Remove properties or tags from an image.
    Unset {
        /// Image id or name.
        image: String,
        /// A property to remove (repeatable).
        #[arg(long = "property", value_name = "KEY")]
        properties: Vec<String>,
        /// A tag to remove (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Delete images; every failure is reported, and the exit status is non-zero if any
    /// failed (3 if all failures were "not found").
    Delete {
        /// Image ids or names.
        #[arg(required = true)]
        images: Vec<String>,
        /// Delete only the image's data in this store (multi-store clouds), as
        /// `openstack image delete --store`; the image and its other copies stay.
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
    },
    /// Download an image's data to a file, verified against the checksum Glance published.
    ///
    /// The data goes to a temporary file beside the target and replaces it only once
    /// verified: a failed save leaves no partial file. When PATH is a symbolic link, the
    /// data is written through it, like `openstack image save` and `curl -o`: the file the
    /// link points to is replaced (created if the link dangles) and the link is kept.
    ///
    /// Without --file the data goes to stdout, which must not be a terminal. It is verified
    /// as it passes, so a mismatch is reported (status 1) after the data was written; a
    /// stdout closed early ends the save quietly with status 141.
    Save {
        /// Image id or name.
        image: String,
        /// Where to write the data (through a symbolic link to its target); default stdout.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Stores to read from first, comma-separated (multi-store clouds; glanceclient's
        /// `image-download --prefer`). Glance falls back to the image's other stores.
        #[arg(long, value_name = "STORE,...", value_delimiter = ',')]
        prefer: Vec<String>,
        /// Fetch with N ranged requests at once where the store serves ranges (file, cinder);
        /// one stream otherwise. Helps when one connection is slower than the path.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=16))]
        parallel: u8,
    },
    /// Show a local image file's format, virtual size and whether it is safe to upload.
    Inspect(crate::inspect_cmd::InspectArgs),
    /// Upload data to the staging area, for a later `image import --method glance-direct`.
    Stage {
        /// Image id or name.
        image: String,
        /// The data to stage.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// Start an import (interoperable image import).
    Import(ImportArgs),
    /// Share an image with a project.
    Add {
        #[command(subcommand)]
        what: MemberTarget,
    },
    /// Stop sharing an image with a project.
    Remove {
        #[command(subcommand)]
        what: MemberTarget,
    },
    /// The projects an image is shared with.
    Member {
        #[command(subcommand)]
        cmd: MemberCmd,
    },
    /// The stores of a multi-store cloud.
    Stores {
        #[command(subcommand)]
        cmd: crate::store_cmd::StoresCmd,
    },
    /// Where an image's data lives (the locations API, 2.17).
    Location {
        #[command(subcommand)]
        cmd: crate::location_cmd::LocationCmd,
    },
    /// Metadata definitions: namespaces, objects, properties and resource types.
    Metadef {
        #[command(subcommand)]
        cmd: crate::metadef_cmd::MetadefCmd,
    },
    /// Glance's asynchronous tasks (imports).
    Task {
        #[command(subcommand)]
        cmd: crate::image_task_cmd::TaskCmd,
    },
}

#[derive(Subcommand)]
pub enum MemberTarget {
    /// A project (by name or id).
    Project {
        /// Image id or name.
        image: String,
        /// Project name or id.
        project: String,
        #[command(flatten)]
        domain: ProjectDomain,
    },
}

#[derive(Subcommand)]
pub enum MemberCmd {
    /// List an image's members and their status.
    List {
        /// Image id or name.
        image: String,
    },
    /// Show one member of an image.
    Get {
        /// Image id or name.
        image: String,
        /// The member's project id (an id only, as in openstack).
        member: String,
    },
}

#[derive(Args)]
pub struct SetArgs {
    /// Image id or name.
    image: String,
    /// New name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Set a custom property (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    properties: Vec<(String, String)>,
    /// Refuse properties the metadef namespaces of OS::Glance::Image do not allow.
    #[arg(long)]
    check_metadefs: bool,
    /// Add a tag (repeatable; existing tags are kept).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    #[command(flatten)]
    typed: TypedProperties,
    /// Container format (bare, ovf, ...).
    #[arg(long, value_name = "FORMAT")]
    container_format: Option<String>,
    /// Disk format (raw, qcow2, ...).
    #[arg(long, value_name = "FORMAT")]
    disk_format: Option<String>,
    #[command(flatten)]
    visibility: Visibility,
    /// Minimum disk size in GB.
    #[arg(long, value_name = "GB")]
    min_disk: Option<i64>,
    /// Minimum RAM in MB.
    #[arg(long, value_name = "MB")]
    min_ram: Option<i64>,
    #[command(flatten)]
    protection: Protection,
    /// Leave the image out of default listings.
    #[arg(long, conflicts_with = "unhidden")]
    hidden: bool,
    /// Show the image in default listings again.
    #[arg(long)]
    unhidden: bool,
    /// Deactivate the image (its data cannot be downloaded).
    #[arg(long, conflicts_with = "activate")]
    deactivate: bool,
    /// Reactivate a deactivated image.
    #[arg(long)]
    activate: bool,
    /// Accept the image shared with --project (default: the caller's project).
    #[arg(long, group = "membership")]
    accept: bool,
    /// Reject the shared image.
    #[arg(long, group = "membership")]
    reject: bool,
    /// Set the membership back to pending.
    #[arg(long, group = "membership")]
    pending: bool,
    /// The new owner (name or id); with --accept/--reject/--pending, the project whose
    /// membership changes instead (as in `openstack image set`).
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    #[command(flatten)]
    project_domain: ProjectDomain,
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other);
            m
        }
    }
}

/// A member as openstack shows it: its fields by name, `id`, `location` and `name` left out.
fn print_member(out: &Printer, m: &openstack_images::Member) -> CmdResult {
    let v = object(serde_json::to_value(m).map_err(|e| Fail::other(e.to_string()))?);
    if out.raw {
        return out.show(&v);
    }
    let rec: crate::cells::Record = v
        .into_iter()
        .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "id" | "location" | "name"))
        .map(|(k, v)| (k, crate::cells::Cell::Plain(v)))
        .collect();
    out.show_record(&rec)
}

async fn set(client: &Client, a: SetArgs) -> CmdResult {
    if a.check_metadefs {
        crate::metadef_cmd::check_image_properties(client, &a.properties).await?;
    }
    let images = client.images();
    let image = images.find(&a.image).await?;
    let id = image.id.clone();
    let project = match &a.project {
        Some(p) => Some(project_id(client, p, &a.project_domain).await?),
        None => None,
    };
    let membership = a.accept || a.reject || a.pending;
    let mut set: Vec<(String, Value)> = Vec::new();
    if let Some(owner) = project.as_ref().filter(|_| !membership) {
        set.push(("owner".into(), json!(owner)));
    }
    if let Some(v) = &a.name {
        set.push(("name".into(), json!(v)));
    }
    if let Some(v) = a.min_disk {
        set.push(("min_disk".into(), json!(v)));
    }
    if let Some(v) = a.min_ram {
        set.push(("min_ram".into(), json!(v)));
    }
    if let Some(v) = a.protection.get() {
        set.push(("protected".into(), json!(v)));
    }
    if let Some(v) = a.visibility.get() {
        set.push(("visibility".into(), json!(v.as_str())));
    }
    if a.hidden || a.unhidden {
        set.push(("os_hidden".into(), json!(a.hidden)));
    }
    for (k, v) in a.typed.pairs() {
        set.push((k.to_owned(), json!(v)));
    }
    if let Some(v) = &a.container_format {
        set.push(("container_format".into(), json!(v)));
    }
    if let Some(v) = &a.disk_format {
        set.push(("disk_format".into(), json!(v)));
    }
    for (k, v) in &a.properties {
        set.push((k.clone(), json!(v)));
    }
    if !a.tags.is_empty() {
        // Like openstack: tags given are added to the ones the image has.
        let mut tags = image.tags.clone();
        for t in &a.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        set.push(("tags".into(), json!(tags)));
    }
    let mut changed = false;
    if !set.is_empty() {
        images
            .update_to(&id, set.iter().map(|(k, v)| (k.as_str(), v.clone())), [])
            .await?;
        changed = true;
    }
    if a.deactivate {
        images.deactivate(&id).await?;
        changed = true;
    }
    if a.activate {
        images.reactivate(&id).await?;
        changed = true;
    }
    let status = [
        (a.accept, MemberStatus::Accepted),
        (a.reject, MemberStatus::Rejected),
        (a.pending, MemberStatus::Pending),
    ]
    .into_iter()
    .find_map(|(on, s)| on.then_some(s));
    if let Some(status) = status {
        let project = match project {
            Some(p) => p,
            None => client
                .project_id()
                .await?
                .ok_or_else(|| Fail::usage("the token has no project: name one with --project"))?,
        };
        images.set_member_status(&id, &project, status).await?;
        changed = true;
    }
    if !changed {
        return Err(Fail::usage("nothing to change: give at least one option"));
    }
    Ok(())
}

async fn unset(client: &Client, image: &str, props: &[String], tags: &[String]) -> CmdResult {
    let images = client.images();
    let image: Image = images.find(image).await?;
    if props.is_empty() && tags.is_empty() {
        return Err(Fail::usage("nothing to unset: give --property or --tag"));
    }
    let current = serde_json::to_value(&image).map_err(|e| Fail::other(e.to_string()))?;
    let missing: Vec<&str> = props
        .iter()
        .map(String::as_str)
        .filter(|k| current.get(k).is_none_or(Value::is_null))
        .chain(
            tags.iter()
                .map(String::as_str)
                .filter(|t| !image.tags.iter().any(|x| x == t)),
        )
        .collect();
    if !missing.is_empty() {
        return Err(Fail::other(format!(
            "image {} has no property or tag {}",
            image.id,
            missing.join(", ")
        )));
    }
    if !props.is_empty() {
        images
            .update_to(&image.id, [], props.iter().map(String::as_str))
            .await?;
    }
    for t in tags {
        images.remove_tag(&image.id, t).await?;
    }
    Ok(())
}

async fn delete(client: &Client, names: &[String]) -> CmdResult {
    let images = &client.images();
    crate::delete_each("image", "", names, |name| async move {
        images.delete(&images.find(&name).await?.id).await
    })
    .await
}

pub async fn run(client: &Client, out: &Printer, cmd: ImageCmd) -> CmdResult {
    let images = client.images();
    match cmd {
        ImageCmd::Inspect(a) => crate::inspect_cmd::run(out, &a).await,
        ImageCmd::Metadef { cmd } => crate::metadef_cmd::run(client, out, cmd).await,
        ImageCmd::List(a) => crate::image_list_cmd::run(client, out, &a).await,
        ImageCmd::Show {
            image,
            human_readable,
        } => print_image(out, images.find_json_as(&image).await?, human_readable),
        ImageCmd::Create(a) => create(client, out, *a).await,
        ImageCmd::Copy(a) => crate::copy_cmd::run(client, out, *a).await,
        ImageCmd::Set(a) => set(client, *a).await,
        ImageCmd::Unset {
            image,
            properties,
            tags,
        } => unset(client, &image, &properties, &tags).await,
        ImageCmd::Delete {
            images: names,
            store: None,
        } => delete(client, &names).await,
        ImageCmd::Delete {
            images: names,
            store: Some(store),
        } => crate::store_cmd::delete_from_store(client, &store, &names).await,
        ImageCmd::Stores { cmd } => crate::store_cmd::run(client, out, cmd).await,
        ImageCmd::Location { cmd } => crate::location_cmd::run(client, out, cmd).await,
        ImageCmd::Save {
            image,
            file,
            prefer,
            parallel,
        } => {
            let file = file.as_deref().map(link_target).transpose()?;
            if file.is_none() && std::io::stdout().is_terminal() {
                return Err(Fail::usage(
                    "image data is not written to a terminal: give --file PATH or redirect stdout",
                ));
            }
            let image = images.find(&image).await?;
            let bar = progress::bytes("download");
            let download = images
                .download(&image.id)
                .image(image)
                .prefer_stores(prefer)
                .parallel(parallel.into())
                .progress(progress::reporter(&bar));
            let result = match &file {
                Some(path) => download.to_file(path).await.map(drop).map_err(Fail::from),
                None => save_to_stdout(download).await,
            };
            bar.finish_and_clear();
            result
        }
        ImageCmd::Stage { image, file } => {
            let image = images.find(&image).await?;
            let bar = progress::bytes("stage");
            let result = images
                .stage(&image.id, DataSource::file(file))
                .progress(progress::reporter(&bar))
                .send()
                .await;
            bar.finish_and_clear();
            Ok(result?)
        }
        ImageCmd::Import(a) => {
            if a.sub.is_some() {
                let methods = images.import_info().await?.methods;
                let methods: Vec<Value> = methods.into_iter().map(Value::String).collect();
                if out.raw {
                    return out.show(&object(json!({ "import-methods": methods })));
                }
                let rec = vec![(
                    "import-methods".to_owned(),
                    crate::cells::Cell::List(methods),
                )];
                return out.show_record(&rec);
            }
            let method = import_method(&a)?;
            let image = images.find(a.image.as_deref().unwrap_or_default()).await?;
            import_and_wait(&images, &image.id, method, &a.stores, a.wait).await?;
            show(&images, out, &image.id).await
        }
        ImageCmd::Task { cmd } => crate::image_task_cmd::run(&images, out, cmd).await,
        ImageCmd::Add {
            what:
                MemberTarget::Project {
                    image,
                    project,
                    domain,
                },
        } => {
            let image = images.find(&image).await?;
            let project = project_id(client, &project, &domain).await?;
            print_member(out, &images.add_member(&image.id, &project).await?)
        }
        ImageCmd::Remove {
            what:
                MemberTarget::Project {
                    image,
                    project,
                    domain,
                },
        } => {
            let image = images.find(&image).await?;
            let project = project_id(client, &project, &domain).await?;
            Ok(images.remove_member(&image.id, &project).await?)
        }
        ImageCmd::Member {
            cmd: MemberCmd::List { image },
        } => {
            let image = images.find(&image).await?;
            let rows: Vec<Value> = images
                .members(&image.id)
                .await?
                .iter()
                .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
                .collect();
            let cols = [
                col("Image ID", "image_id"),
                col("Member ID", "member_id"),
                col("Status", "status"),
            ];
            if out.raw {
                return out.list(&cols, &rows, false);
            }
            let rows = rows
                .iter()
                .map(|r| crate::image_record::list_row(r, &cols))
                .collect();
            out.list_records(&cols, rows)
        }
        ImageCmd::Member {
            cmd: MemberCmd::Get { image, member },
        } => {
            let image = images.find(&image).await?;
            print_member(out, &images.member(&image.id, &member).await?)
        }
    }
}
