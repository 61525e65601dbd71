//! Keystone authentication, endpoint selection and token lifecycle against the local stack
//! (clouds `local`, `local-demo`, `local-appcred` of `$OS_CLIENT_CONFIG_FILE`).

use openstack_images::clouds::Interface;
use openstack_images::{Client, CloudConfig, Error, Secret, ServiceType};

use crate::harness::{cloud, stack_secrets};

fn client(cloud: CloudConfig) -> Client {
    Client::builder()
        .cloud(cloud)
        .build()
        .expect("client builds")
}

/// A token for the `local` admin, obtained outside the client (for the `token` auth type).
async fn admin_token() -> String {
    crate::harness::direct_token(&cloud("local")).await
}

fn assert_auth_401(err: Error) {
    match &err {
        Error::Auth { message, status } => {
            assert_eq!(*status, Some(401), "{err}");
            assert!(
                message.contains("requires authentication"),
                "Keystone's message expected: {message}"
            );
        }
        other => panic!("expected Error::Auth, got {other:?}"),
    }
}

#[tokio::test]
async fn password_auth_scopes_to_the_project_and_finds_endpoints() {
    crate::harness::require_stack();
    let c = client(cloud("local"));
    assert_eq!(c.auth_count(), 0, "authentication is lazy");
    c.authenticate().await.unwrap();
    c.authenticate().await.unwrap();
    assert_eq!(c.auth_count(), 1, "the token is reused");
    assert!(c.project_id().await.unwrap().is_some());
    assert!(c.user_id().await.unwrap().is_some());

    let image = c.endpoint(ServiceType::Image).await.unwrap();
    assert!(image.path().ends_with("/v2/"), "{image}");
    let compute = c.endpoint(ServiceType::Compute).await.unwrap();
    assert!(compute.path().ends_with("/v2.1/"), "{compute}");

    let images = c
        .raw_get_json(ServiceType::Image, "images?limit=1")
        .await
        .unwrap();
    assert!(images["images"].is_array(), "{images}");
    let images = c
        .raw_get_json(ServiceType::Compute, "images?limit=1")
        .await
        .unwrap();
    assert!(images["images"].is_array(), "{images}");
    assert_eq!(c.auth_count(), 1);
}

#[tokio::test]
async fn demo_user_is_scoped_to_its_own_project() {
    crate::harness::require_stack();
    let admin = client(cloud("local"));
    let demo = client(cloud("local-demo"));
    let (a, d) = (
        admin.project_id().await.unwrap().unwrap(),
        demo.project_id().await.unwrap().unwrap(),
    );
    assert_ne!(a, d);
    demo.raw_get_json(ServiceType::Image, "images")
        .await
        .unwrap();
}

#[tokio::test]
async fn token_auth_rescopes_an_existing_token() {
    crate::harness::require_stack();
    let token = admin_token().await;
    let local = cloud("local");
    let c = client(
        CloudConfig::token(local.auth_url.clone().unwrap(), token)
            .project_name("admin")
            .project_domain_name("Default"),
    );
    c.raw_get_json(ServiceType::Image, "images").await.unwrap();
    assert_eq!(
        c.project_id().await.unwrap(),
        client(local).project_id().await.unwrap()
    );
}

#[tokio::test]
async fn application_credential_auth() {
    crate::harness::require_stack();
    let c = client(cloud("local-appcred"));
    c.raw_get_json(ServiceType::Image, "images").await.unwrap();
    assert!(c.project_id().await.unwrap().is_some());
    assert_eq!(c.auth_count(), 1);
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_with_keystones_message() {
    crate::harness::require_stack();
    let mut cfg = cloud("local");
    cfg.password = Some(Secret::new("wrong-password-4711"));
    let c = client(cfg);
    let err = c.authenticate().await.unwrap_err();
    assert!(!err.to_string().contains("wrong-password-4711"));
    assert!(!format!("{err:?}").contains("wrong-password-4711"));
    assert_auth_401(err);
    // Through the pipeline too, and not retried.
    let before = c.auth_count();
    assert_auth_401(
        c.raw_get_json(ServiceType::Image, "images")
            .await
            .unwrap_err(),
    );
    assert_eq!(c.auth_count(), before + 1);
}

#[tokio::test]
async fn wrong_application_credential_secret_is_an_auth_error() {
    crate::harness::require_stack();
    let mut cfg = cloud("local-appcred");
    cfg.application_credential_secret = Some(Secret::new("not-the-secret"));
    assert_auth_401(client(cfg).authenticate().await.unwrap_err());
}

#[tokio::test]
async fn interfaces_and_regions_select_catalog_endpoints() {
    crate::harness::require_stack();
    for iface in [Interface::Public, Interface::Internal, Interface::Admin] {
        let c = client(cloud("local").interface(iface).region_name("RegionOne"));
        let ep = c.endpoint(ServiceType::Image).await.unwrap();
        assert!(ep.path().ends_with("/v2/"), "{iface}: {ep}");
        c.raw_get_json(ServiceType::Image, "images?limit=1")
            .await
            .unwrap();
        c.endpoint(ServiceType::Compute).await.unwrap();
    }
    let c = client(cloud("local").region_name("Atlantis"));
    match c.endpoint(ServiceType::Image).await.unwrap_err() {
        Error::Config(m) => assert!(
            m.contains("region `Atlantis`") && m.contains("RegionOne"),
            "{m}"
        ),
        other => panic!("expected a config error, got {other:?}"),
    }
    // A failed lookup does not poison the session: nothing was cached.
    assert!(c.endpoint(ServiceType::Image).await.is_err());
}

#[tokio::test]
async fn endpoint_overrides_win_over_the_catalog() {
    crate::harness::require_stack();
    let discovered = client(cloud("local"))
        .endpoint(ServiceType::Image)
        .await
        .unwrap();
    let root = discovered.as_str().strip_suffix("v2/").unwrap().to_owned();

    // Versioned override: used as is.
    let c =
        client(cloud("local").image_endpoint_override(discovered.as_str().trim_end_matches('/')));
    assert_eq!(c.endpoint(ServiceType::Image).await.unwrap(), discovered);
    c.raw_get_json(ServiceType::Image, "images").await.unwrap();

    // Unversioned override: version discovery against the real Glance.
    let c = client(cloud("local").image_endpoint_override(root.trim_end_matches('/')));
    assert_eq!(c.endpoint(ServiceType::Image).await.unwrap(), discovered);
    c.raw_get_json(ServiceType::Image, "images").await.unwrap();

    // A path prefix is kept. (This Glance serves no prefix, and answers any unknown path
    // with its version document, so only the URL is checked here; the offline tests serve
    // a prefixed endpoint.)
    let c = client(cloud("local").image_endpoint_override(format!("{root}prefix")));
    assert_eq!(
        c.endpoint(ServiceType::Image).await.unwrap().as_str(),
        format!("{root}prefix/v2/")
    );
}

/// Authenticates and resolves the endpoints, then revokes the token before Glance or Nova
/// ever sees it: their keystonemiddleware caches validated tokens for minutes, so a token
/// they already accepted stays accepted after revocation.
async fn client_with_revoked_token() -> Client {
    let c = client(cloud("local"));
    c.endpoint(ServiceType::Image).await.unwrap();
    c.endpoint(ServiceType::Compute).await.unwrap();
    assert_eq!(c.auth_count(), 1);
    c.revoke_token_unnoticed().await.unwrap();
    c
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    crate::harness::require_stack();
    let c = client_with_revoked_token().await;
    c.raw_get_json(ServiceType::Image, "images?limit=1")
        .await
        .unwrap();
    assert_eq!(c.auth_count(), 2);
    c.raw_get_json(ServiceType::Image, "images?limit=1")
        .await
        .unwrap();
    c.raw_get_json(ServiceType::Compute, "images?limit=1")
        .await
        .unwrap();
    assert_eq!(c.auth_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_share_one_reauthentication() {
    crate::harness::require_stack();
    let c = client_with_revoked_token().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.raw_get_json(ServiceType::Image, "images?limit=1").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(c.auth_count(), 2);
}

/// Set in the child process that runs [`trace_scenario_in_child`].
const TRACE_CHILD: &str = "OPENSTACK_IMAGES_TRACE_CHILD";

/// Runs the scenario below in a child process of this test binary, where a global TRACE
/// subscriber (which also receives reqwest's `log` records) sees every event. A thread-local
/// subscriber in this process could miss events while other tests run in parallel.
#[test]
fn trace_output_never_shows_credentials() {
    let name = format!(
        "{}::trace_scenario_in_child",
        module_path!().split_once("::").map_or("auth", |(_, m)| m)
    );
    crate::harness::run_in_child(&name, TRACE_CHILD);
}

/// The scenario of [`trace_output_never_shows_credentials`]; a no-op unless run as its child.
#[tokio::test(flavor = "current_thread")]
async fn trace_scenario_in_child() {
    if std::env::var_os(TRACE_CHILD).is_none() {
        return;
    }
    let capture = crate::harness::capture_trace();

    let token = admin_token().await;
    let local = cloud("local");
    let appcred = cloud("local-appcred");
    let mut secrets = stack_secrets(&token);

    let c = client_with_revoked_token().await;
    c.raw_get_json(ServiceType::Image, "images").await.unwrap();
    c.raw_get_json(ServiceType::Compute, "images")
        .await
        .unwrap();
    assert_eq!(c.auth_count(), 2, "the revoked token was replaced");
    client(appcred)
        .raw_get_json(ServiceType::Image, "images")
        .await
        .unwrap();
    let t = client(
        CloudConfig::token(local.auth_url.clone().unwrap(), token)
            .project_name("admin")
            .project_domain_name("Default"),
    );
    t.raw_get_json(ServiceType::Image, "images").await.unwrap();
    let mut wrong = local.clone();
    wrong.password = Some(Secret::new("wrong-password-0815"));
    secrets.push("wrong-password-0815".into());
    let _ = client(wrong).authenticate().await.unwrap_err();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("authenticating"),
        "the capture works:\n{text}"
    );
    assert!(text.contains("TRACE") || text.contains("DEBUG"));
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a credential leaked into the trace output"
        );
    }
    // Fernet tokens (the session's own, which the test never sees) start like this.
    assert!(
        !text.contains("gAAAAA"),
        "a token leaked into the trace output"
    );
}
