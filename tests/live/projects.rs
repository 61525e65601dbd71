//! Projects by name or id through the real Keystone (`Client::find_project`) and the `osimg`
//! commands that take one (`image add/remove project`, `list --project`, `create/set
//! --project`): a name resolves, an unknown name is an error before Glance is asked.

use std::process::Output;

use openstack_images::{Client, Error};

use crate::harness::{Cleanup, admin, clouds_yaml, empty_image, osimg_command};

fn demo() -> Client {
    Client::from_cloud("local-demo").expect("cloud `local-demo` in the stack's clouds.yaml")
}

async fn demo_project_id() -> String {
    demo()
        .project_id()
        .await
        .unwrap()
        .expect("demo is project-scoped")
}

fn osimg(args: &[&str]) -> Output {
    osimg_command(&clouds_yaml(), args)
        .output()
        .expect("osimg runs")
}

fn osimg_json(args: &[&str]) -> serde_json::Value {
    let out = osimg(&[args, &["-f", "json"]].concat());
    assert!(
        out.status.success(),
        "osimg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[tokio::test]
async fn a_project_resolves_by_name_by_id_and_within_a_domain() {
    let admin = admin();
    let demo_id = demo_project_id().await;
    for (value, domain) in [
        ("demo", None),
        (demo_id.as_str(), None),
        ("demo", Some("Default")),
        ("demo", Some("default")),
    ] {
        let p = admin.find_project(value, domain).await.unwrap();
        assert_eq!(p.id, demo_id, "{value} in {domain:?}");
        assert_eq!(p.name.as_deref(), Some("demo"));
        assert!(p.verified);
    }
}

#[tokio::test]
async fn unknown_project_or_domain_is_not_found() {
    let admin = admin();
    match admin.find_project("no-such-project", None).await {
        Err(Error::NotFound { kind, name }) => {
            assert_eq!((kind, name.as_str()), ("project", "no-such-project"))
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    match admin.find_project("demo", Some("no-such-domain")).await {
        Err(Error::NotFound { kind, .. }) => assert_eq!(kind, "domain"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Keystone's own `service` project is not in the demo name's place: no prefix matching.
    assert!(
        admin
            .find_project("dem", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_user_who_may_not_list_projects_gets_the_value_back_unverified() {
    let demo = demo();
    let own = demo_project_id().await;
    // Its own project it may read: confirmed by id.
    let p = demo.find_project(&own, None).await.unwrap();
    assert!(p.verified);
    assert_eq!(p.id, own);
    // Listing projects is refused (403): OSC then uses the value as an id, and so do we.
    let p = demo.find_project("admin", None).await.unwrap();
    assert!(!p.verified);
    assert_eq!(p.id, "admin");
}

#[tokio::test]
async fn osimg_add_and_remove_project_by_name() {
    let admin = admin();
    let mut cleanup = Cleanup(Vec::new());
    let image = empty_image(&admin, &mut cleanup, "by-name").await;
    let demo_id = demo_project_id().await;
    let member = osimg_json(&["image", "add", "project", &image.id, "demo"]);
    assert_eq!(member["member_id"], demo_id);
    let members = admin.images().members(&image.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].member_id, demo_id);

    // An unknown name fails (not found) and creates no membership for a literal id.
    let out = osimg(&["image", "add", "project", &image.id, "no-such-project"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no project found matching `no-such-project`")
    );
    assert_eq!(admin.images().members(&image.id).await.unwrap().len(), 1);

    let out = osimg(&[
        "image",
        "remove",
        "project",
        &image.id,
        "demo",
        "--project-domain",
        "Default",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(admin.images().members(&image.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn osimg_create_set_and_list_by_project_name() {
    let admin = admin();
    let admin_project = admin.project_id().await.unwrap().unwrap();
    let demo_id = demo_project_id().await;
    let name = crate::harness::unique("owned-by-demo");
    let created = osimg_json(&["image", "create", &name, "--project", "demo", "--private"]);
    let id = created["id"].as_str().expect("an id").to_owned();
    let _cleanup = Cleanup(vec![id.clone()]);
    assert_eq!(
        admin.images().get(&id).await.unwrap().owner.as_deref(),
        Some(demo_id.as_str())
    );

    let listed = osimg_json(&["image", "list", "--project", "demo", "--name", &name]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let listed = osimg_json(&["image", "list", "--project", "admin", "--name", &name]);
    assert_eq!(listed, serde_json::json!([]));

    let out = osimg(&[
        "image",
        "set",
        &id,
        "--project",
        "admin",
        "--project-domain",
        "Default",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        admin.images().get(&id).await.unwrap().owner.as_deref(),
        Some(admin_project.as_str())
    );
    let out = osimg(&["image", "list", "--project", "no-such-project"]);
    assert_eq!(out.status.code(), Some(3));
}

/// Keystone's admin API with an admin token scoped to project `admin` (the library has no
/// project-creating calls): `(method, path, body)` -> JSON answer.
struct KeystoneAdmin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl KeystoneAdmin {
    async fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = crate::harness::cloud("local");
        let base = c
            .auth_url
            .as_deref()
            .unwrap()
            .trim_end_matches('/')
            .to_owned();
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username.as_deref().unwrap(),
                "domain": {"name": c.user_domain_name.as_deref().unwrap()},
                "password": c.password.as_ref().unwrap().expose()}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
        // No pooled connections: gunicorn (Keystone) closes idle ones after 2 s, and a
        // request sent on one just as it closes fails with "connection reset" (the crate's
        // own client keeps them 1.5 s for that reason; this helper has no retry).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let resp = http
            .post(format!("{base}/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let token = resp.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned();
        KeystoneAdmin { http, base, token }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let resp = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .header("x-auth-token", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// Disables and deletes a domain (and with it its projects).
    async fn drop_domain(&self, id: &str) {
        let path = format!("domains/{id}");
        self.call(
            reqwest::Method::PATCH,
            &path,
            serde_json::json!({"domain": {"enabled": false}}),
        )
        .await;
        self.call(reqwest::Method::DELETE, &path, serde_json::json!({}))
            .await;
    }
}

#[tokio::test]
async fn a_name_in_two_domains_is_ambiguous_until_the_domain_is_given() {
    let keystone = KeystoneAdmin::new().await;
    let name = crate::harness::unique("dup-project");
    let mut domains = Vec::new();
    for _ in 0..2 {
        let d = keystone
            .call(
                reqwest::Method::POST,
                "domains",
                serde_json::json!({"domain": {"name": crate::harness::unique("dup-domain")}}),
            )
            .await;
        let (id, dname) = (
            d["domain"]["id"].as_str().unwrap(),
            d["domain"]["name"].as_str().unwrap(),
        );
        let p = keystone
            .call(
                reqwest::Method::POST,
                "projects",
                serde_json::json!({"project": {"name": name, "domain_id": id}}),
            )
            .await;
        domains.push((
            id.to_owned(),
            dname.to_owned(),
            p["project"]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let admin = admin();
    let result = admin.find_project(&name, None).await;
    let found = admin.find_project(&name, Some(&domains[1].1)).await;
    let by_domain_id = admin.find_project(&name, Some(&domains[0].0)).await;
    for (id, _, _) in &domains {
        keystone.drop_domain(id).await;
    }
    match result {
        Err(Error::Ambiguous {
            kind, count, ids, ..
        }) => {
            assert_eq!((kind, count), ("project", 2));
            assert!(
                ids.contains(&domains[0].2) && ids.contains(&domains[1].2),
                "{ids}"
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    assert_eq!(found.unwrap().id, domains[1].2);
    assert_eq!(by_domain_id.unwrap().id, domains[0].2);
}

/// Glance's 403 to a member of a non-shared image says little: the crate's error, and so
/// osimg's message, add why.
#[tokio::test]
async fn a_member_of_a_private_image_is_refused_with_a_hint() {
    use openstack_images::ImageVisibility;
    let admin = admin();
    let mut cleanup = Cleanup(Vec::new());
    let image = admin
        .images()
        .create(
            crate::harness::raw(&crate::harness::unique("private-member"))
                .visibility(ImageVisibility::Private),
        )
        .await
        .unwrap();
    cleanup.0.push(image.id.clone());
    let demo_id = demo_project_id().await;

    let err = admin
        .images()
        .add_member(&image.id, &demo_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let Error::Api(api) = &err else {
        panic!("an API error: {err:?}")
    };
    assert!(
        api.hint.as_deref().is_some_and(|h| h.contains("`shared`")),
        "{api:?}"
    );
    assert!(
        err.to_string()
            .contains("hint: the image's visibility must be `shared`")
    );

    let out = osimg(&["image", "add", "project", &image.id, &demo_id]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the image's visibility must be `shared`"),
        "{stderr}"
    );
    // Nothing was added: the image is still private, whose members Glance will not even list.
    let listing = admin.images().members(&image.id).await.unwrap_err();
    assert_eq!(listing.status(), Some(403), "{listing}");
    let image = admin.images().get(&image.id).await.unwrap();
    assert_eq!(
        image.visibility,
        Some(openstack_images::ImageVisibility::Private)
    );
}
