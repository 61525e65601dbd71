//! Offline tests of cloud configuration: clouds.yaml parsing and search order, secure.yaml
//! merging, `OS_*` variables, and that no secret shows in `Debug` or error messages.
//! Every test passes its files and variables explicitly; none reads the process environment.

use std::path::Path;

use openstack_images::{AuthType, Interface, SearchPath};
use openstack_images::{CloudConfig, Error};

use crate::mock::{Mock, Reply};

const CLOUDS: &str = r#"
clouds:
  alpha:
    auth:
      auth_url: http://keystone.example:5000
      username: alice
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internalURL
    image_endpoint_override: https://proxy.example/image
    verify: false
    image_api_version: 2
  beta:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example/identity/v3
      application_credential_id: ac-123
      application_credential_secret: appcred-secret-xyz
    cacert: /etc/ssl/ca.pem
"#;

const SECURE: &str = r#"
clouds:
  alpha:
    auth:
      password: alpha-password-123
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn config_error(e: Error) -> String {
    match e {
        Error::Config(m) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn parses_a_password_cloud_with_secure_yaml() {
    let c = CloudConfig::from_clouds_yaml_str(CLOUDS, Some(SECURE), "alpha").unwrap();
    assert_eq!(c.auth_type, AuthType::Password);
    assert_eq!(c.auth_url.as_deref(), Some("http://keystone.example:5000"));
    assert_eq!(c.username.as_deref(), Some("alice"));
    assert_eq!(c.password.as_ref().unwrap().expose(), "alpha-password-123");
    assert_eq!(c.project_name.as_deref(), Some("demo"));
    assert_eq!(c.user_domain_name.as_deref(), Some("Default"));
    assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
    assert_eq!(c.interface, Interface::Internal);
    assert_eq!(
        c.image_endpoint_override.as_deref(),
        Some("https://proxy.example/image")
    );
    assert!(!c.verify);
    assert_eq!(c.image_api_version.as_deref(), Some("2"));
    assert_eq!(c.cloud_name.as_deref(), Some("alpha"));
}

#[test]
fn parses_an_application_credential_cloud() {
    let c = CloudConfig::from_clouds_yaml_str(CLOUDS, None, "beta").unwrap();
    assert_eq!(c.auth_type, AuthType::ApplicationCredential);
    assert_eq!(c.application_credential_id.as_deref(), Some("ac-123"));
    assert_eq!(c.cacert.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
    assert!(c.verify);
    assert_eq!(c.interface, Interface::Public);
}

#[test]
fn debug_shows_no_secret() {
    let c = CloudConfig::from_clouds_yaml_str(CLOUDS, Some(SECURE), "alpha").unwrap();
    let d = format!("{c:?} {c:#?}");
    assert!(!d.contains("alpha-password-123"), "{d}");
    assert!(d.contains("alice"));
    let c = CloudConfig::from_clouds_yaml_str(CLOUDS, None, "beta").unwrap();
    assert!(!format!("{c:?}").contains("appcred-secret-xyz"));
    let c = CloudConfig::token("http://k", "gAAAAtoken-value");
    assert!(!format!("{c:?}").contains("gAAAAtoken-value"));
}

#[test]
fn unknown_cloud_names_file_and_clouds() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clouds.yaml", CLOUDS);
    let path = dir.path().join("clouds.yaml");
    let e = config_error(
        CloudConfig::from_cloud_in("gamma", &SearchPath::files(Some(path.clone()), None))
            .unwrap_err(),
    );
    assert_eq!(
        e,
        format!(
            "cloud `gamma` not found in {} (clouds: alpha, beta)",
            path.display()
        )
    );
}

#[test]
fn missing_fields_name_the_cloud_and_file() {
    let yaml = "clouds:\n  x:\n    auth:\n      username: u\n      password: p\n";
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "x").unwrap_err());
    assert!(
        e.contains("auth_url is missing for cloud `x`") && e.contains("clouds.yaml"),
        "{e}"
    );
    let yaml = "clouds:\n  x:\n    auth:\n      auth_url: http://k\n      username: u\n";
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "x").unwrap_err());
    assert!(e.contains("password is missing for cloud `x`"), "{e}");
    let yaml = "clouds:\n  x:\n    auth_type: saml2\n    auth:\n      auth_url: http://k\n";
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "x").unwrap_err());
    assert!(
        e.contains("unsupported auth_type `saml2`") && e.contains("cloud `x`"),
        "{e}"
    );
}

#[test]
fn yaml_errors_do_not_echo_the_file() {
    let yaml = "clouds:\n  x:\n    auth:\n      password: [leaked-secret\n";
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "x").unwrap_err());
    assert!(e.starts_with("cannot parse clouds.yaml"), "{e}");
    assert!(!e.contains("leaked-secret"), "{e}");
}

#[test]
fn auth_type_spellings_and_token_and_none() {
    let yaml = r#"
clouds:
  t:
    auth_type: v3token
    auth: {auth_url: "http://k:5000/v3", token: tok-123, project_id: p1}
  n:
    auth_type: none
    auth: {endpoint: "http://127.0.0.1:9292"}
    compute_endpoint_override: http://127.0.0.1:8774/v2.1
  n2:
    auth_type: none
  p:
    auth_type: v3password
    auth: {auth_url: "http://k", user_id: u1, password: pw, domain_id: default}
    regions: [RegionTwo, RegionThree]
"#;
    let t = CloudConfig::from_clouds_yaml_str(yaml, None, "t").unwrap();
    assert_eq!(t.auth_type, AuthType::Token);
    assert_eq!(t.token.unwrap().expose(), "tok-123");
    let n = CloudConfig::from_clouds_yaml_str(yaml, None, "n").unwrap();
    assert_eq!(n.auth_type, AuthType::None);
    assert_eq!(n.endpoint.as_deref(), Some("http://127.0.0.1:9292"));
    assert!(n.compute_endpoint_override.is_some());
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "n2").unwrap_err());
    assert!(e.contains("endpoint"), "{e}");
    let p = CloudConfig::from_clouds_yaml_str(yaml, None, "p").unwrap();
    assert_eq!(p.auth_type, AuthType::Password);
    assert_eq!(p.domain_id.as_deref(), Some("default"));
    assert_eq!(p.region_name.as_deref(), Some("RegionTwo"));
}

#[test]
fn interface_names_are_normalised() {
    for (given, want) in [
        ("public", Interface::Public),
        ("publicURL", Interface::Public),
        ("PUBLIC", Interface::Public),
        ("internal", Interface::Internal),
        ("internalURL", Interface::Internal),
        ("admin", Interface::Admin),
        ("adminURL", Interface::Admin),
        ("admin_url", Interface::Admin),
    ] {
        assert_eq!(Interface::parse(given).unwrap(), want, "{given}");
    }
    assert!(Interface::parse("private").is_err());
    let yaml = "clouds:\n  x:\n    auth_type: none\n    auth: {endpoint: 'http://g'}\n    interface: sideways\n";
    let e = config_error(CloudConfig::from_clouds_yaml_str(yaml, None, "x").unwrap_err());
    assert!(
        e.contains("unknown interface `sideways`") && e.contains("cloud `x`"),
        "{e}"
    );
}

#[test]
fn search_order_first_clouds_yaml_wins() {
    let cwd = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let etc = tempfile::tempdir().unwrap();
    let one = |name: &str, url: &str| {
        format!("clouds:\n  {name}:\n    auth_type: none\n    auth:\n      endpoint: {url}\n")
    };
    write(user.path(), "clouds.yaml", &one("c", "http://user"));
    write(etc.path(), "clouds.yaml", &one("c", "http://etc"));
    let search = SearchPath::in_dirs([cwd.path(), user.path(), etc.path()]);
    let c = CloudConfig::from_cloud_in("c", &search).unwrap();
    assert_eq!(c.endpoint.as_deref(), Some("http://user"));

    // clouds.yml in an earlier directory wins too.
    write(cwd.path(), "clouds.yml", &one("c", "http://cwd"));
    let c = CloudConfig::from_cloud_in("c", &search).unwrap();
    assert_eq!(c.endpoint.as_deref(), Some("http://cwd"));

    // An explicit file (OS_CLIENT_CONFIG_FILE) goes first; files are not merged with each other.
    let explicit = etc.path().join("explicit.yaml");
    std::fs::write(&explicit, one("other", "http://explicit")).unwrap();
    let mut search = search.clone();
    search.clouds.insert(0, explicit);
    let e = config_error(CloudConfig::from_cloud_in("c", &search).unwrap_err());
    assert!(
        e.contains("cloud `c` not found") && e.contains("explicit.yaml"),
        "{e}"
    );
}

#[test]
fn secure_yaml_from_search_path_is_merged() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    write(dir.path(), "clouds.yaml", CLOUDS);
    write(other.path(), "secure.yaml", SECURE);
    // secure.yaml is found in its own right, not only beside clouds.yaml.
    let search = SearchPath::in_dirs([dir.path(), other.path()]);
    let c = CloudConfig::from_cloud_in("alpha", &search).unwrap();
    assert_eq!(c.password.unwrap().expose(), "alpha-password-123");
    // Secure values replace clouds.yaml values; other keys stay.
    write(
        dir.path(),
        "secure.yaml",
        "clouds:\n  alpha:\n    auth:\n      password: newer\n      username: bob\n",
    );
    let c = CloudConfig::from_cloud_in("alpha", &search).unwrap();
    assert_eq!(c.password.unwrap().expose(), "newer");
    assert_eq!(c.username.as_deref(), Some("bob"));
    assert_eq!(c.project_name.as_deref(), Some("demo"));
}

#[test]
fn no_clouds_yaml_names_the_searched_files() {
    let dir = tempfile::tempdir().unwrap();
    let search = SearchPath::in_dirs([dir.path()]);
    let e = config_error(CloudConfig::from_cloud_in("x", &search).unwrap_err());
    assert!(
        e.contains("no clouds.yaml found") && e.contains(&dir.path().display().to_string()),
        "{e}"
    );
}

#[test]
fn env_vars_password() {
    let c = CloudConfig::from_env_vars([
        ("OS_AUTH_URL", "http://k:5000/v3"),
        ("OS_USERNAME", "alice"),
        ("OS_PASSWORD", "env-password"),
        ("OS_TENANT_NAME", "old-style"),
        ("OS_PROJECT_NAME", "demo"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_ID", "default"),
        ("OS_REGION_NAME", "RegionOne"),
        ("OS_ENDPOINT_TYPE", "adminURL"),
        ("OS_INSECURE", "true"),
        ("OS_CACERT", "/ca.pem"),
        ("OS_IMAGE_API_VERSION", "2"),
        ("HOME", "/root"),
        ("OS_UNRELATED", "x"),
    ])
    .unwrap();
    assert_eq!(c.auth_type, AuthType::Password);
    assert_eq!(c.project_name.as_deref(), Some("demo"));
    assert_eq!(c.project_domain_id.as_deref(), Some("default"));
    assert_eq!(c.interface, Interface::Admin);
    assert!(!c.verify);
    assert_eq!(c.cacert.as_deref(), Some(Path::new("/ca.pem")));
    assert_eq!(c.cloud_name, None);
    assert!(!format!("{c:?}").contains("env-password"));
    // OS_INTERFACE wins over OS_ENDPOINT_TYPE.
    let c = CloudConfig::from_env_vars([
        ("OS_AUTH_URL", "http://k"),
        ("OS_TOKEN", "t"),
        ("OS_INTERFACE", "internal"),
        ("OS_ENDPOINT_TYPE", "publicURL"),
    ])
    .unwrap();
    assert_eq!(c.interface, Interface::Internal);
    assert_eq!(c.auth_type, AuthType::Token);
}

#[test]
fn env_vars_app_cred_and_none() {
    let c = CloudConfig::from_env_vars([
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_AUTH_URL", "http://k"),
        ("OS_APPLICATION_CREDENTIAL_ID", "id1"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "s3"),
    ])
    .unwrap();
    assert_eq!(c.auth_type, AuthType::ApplicationCredential);
    let c = CloudConfig::from_env_vars([
        ("OS_AUTH_TYPE", "none"),
        ("OS_ENDPOINT", "http://127.0.0.1:9292"),
    ])
    .unwrap();
    assert_eq!(c.auth_type, AuthType::None);
    assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9292"));
    let e = config_error(
        CloudConfig::from_env_vars([("OS_AUTH_URL", "http://k"), ("OS_USERNAME", "u")])
            .unwrap_err(),
    );
    assert!(
        e.contains("password is missing") && e.contains("OS_*"),
        "{e}"
    );
    let e = config_error(CloudConfig::from_env_vars([("HOME", "/root")]).unwrap_err());
    assert!(e.contains("no OS_* variables"), "{e}");
}

#[test]
fn from_env_decision() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clouds.yaml", CLOUDS);
    write(dir.path(), "secure.yaml", SECURE);
    let search = SearchPath::in_dirs([dir.path()]);
    let none = SearchPath::in_dirs([tempfile::tempdir().unwrap().path()]);

    // OS_CLOUD selects a cloud; the other OS_* variables are laid over it, as `openstack`
    // lays its --os-* options (whose defaults they are) over clouds.yaml.
    let c = CloudConfig::from_env_with([("OS_CLOUD", "alpha")], &search).unwrap();
    assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
    assert_eq!(c.password.unwrap().expose(), "alpha-password-123");
    let c = CloudConfig::from_env_with(
        [
            ("OS_CLOUD", "alpha"),
            ("OS_REGION_NAME", "Elsewhere"),
            ("OS_PASSWORD", "rotated"),
            ("OS_PROJECT_NAME", "other"),
        ],
        &search,
    )
    .unwrap();
    assert_eq!(c.cloud_name.as_deref(), Some("alpha"));
    assert_eq!(c.region_name.as_deref(), Some("Elsewhere"));
    assert_eq!(c.password.unwrap().expose(), "rotated");
    assert_eq!(c.project_name.as_deref(), Some("other"));
    assert_eq!(
        c.username.as_deref(),
        Some("alice"),
        "the rest from clouds.yaml"
    );
    // An override that makes the cloud invalid says where it came from.
    let e = config_error(
        CloudConfig::from_env_with(
            [("OS_CLOUD", "alpha"), ("OS_INTERFACE", "sideways")],
            &search,
        )
        .unwrap_err(),
    );
    assert!(e.contains("OS_* environment variables"), "{e}");

    // Without OS_CLOUD, OS_AUTH_URL & co. describe the cloud even when clouds.yaml exists.
    let c = CloudConfig::from_env_with([("OS_AUTH_URL", "http://env"), ("OS_TOKEN", "t")], &search)
        .unwrap();
    assert_eq!(c.auth_url.as_deref(), Some("http://env"));

    // Neither: a clouds.yaml with several clouds is ambiguous...
    let e = config_error(
        CloudConfig::from_env_with(Vec::<(String, String)>::new(), &search).unwrap_err(),
    );
    assert!(
        e.contains("OS_CLOUD is not set") && e.contains("alpha, beta"),
        "{e}"
    );
    // ...one with a single cloud is used...
    let single = tempfile::tempdir().unwrap();
    write(
        single.path(),
        "clouds.yaml",
        "clouds:\n  only:\n    auth_type: none\n    auth: {endpoint: 'http://g'}\n",
    );
    let c = CloudConfig::from_env_with(
        Vec::<(String, String)>::new(),
        &SearchPath::in_dirs([single.path()]),
    )
    .unwrap();
    assert_eq!(c.cloud_name.as_deref(), Some("only"));
    // ...and with no file at all the error says what to set.
    let e = config_error(CloudConfig::from_env_with([("OS_CLOUD", "")], &none).unwrap_err());
    assert!(
        e.contains("no cloud configured") && e.contains("OS_AUTH_URL"),
        "{e}"
    );
    let e = config_error(CloudConfig::from_env_with([("OS_CLOUD", "alpha")], &none).unwrap_err());
    assert!(
        e.contains("cloud `alpha` requested but no clouds.yaml found"),
        "{e}"
    );
}

#[test]
fn client_builds_offline_for_every_auth_type() {
    for cloud in [
        CloudConfig::password("http://127.0.0.1:1", "u", "p", "x")
            .user_domain_name("Default")
            .project_domain_name("Default"),
        CloudConfig::token("http://127.0.0.1:1", "t"),
        CloudConfig::application_credential("http://127.0.0.1:1", "i", "s"),
        CloudConfig::no_auth("http://127.0.0.1:1").verify(false),
    ] {
        let client = openstack_images::Client::builder()
            .cloud(cloud)
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("Secret("));
    }
    let e = openstack_images::Client::builder()
        .cloud(CloudConfig::token("not a url", "t"))
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("auth_url `not a url` is not a URL"),
        "{e}"
    );
    let e = openstack_images::Client::builder()
        .cloud(CloudConfig::token("http://k", "t").cacert("/nonexistent/ca.pem"))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
}

/// The loopback mock (`mock.rs`) as an Image endpoint behind a proxy with a path prefix whose
/// version document names an internal host: what the real Glance cannot show.
fn prefixed_glance() -> Mock {
    Mock::start(|req| {
        let (status, body) = match req.target.as_str() {
            "/image/" => (
                300,
                r#"{"versions": [{"id": "v2.18", "status": "CURRENT", "links": [{"rel": "self", "href": "http://glance.internal:9292/v2/"}]}, {"id": "v2.0", "status": "SUPPORTED", "links": []}]}"#,
            ),
            "/image/v2/images" => (200, r#"{"images": [], "schema": "/v2/schemas/images"}"#),
            _ => (
                404,
                r#"{"message": "nope", "code": "404 Not Found", "title": "Not Found"}"#,
            ),
        };
        Reply::body(status, "application/json", body)
    })
}

#[tokio::test]
async fn image_discovery_keeps_the_path_prefix_and_runs_once() {
    let glance = prefixed_glance();
    let base = glance.url();
    let client = openstack_images::Client::builder()
        .cloud(CloudConfig::no_auth(format!("{base}/image")))
        .build()
        .unwrap();
    let clones: Vec<_> = (0..8).map(|_| client.clone()).collect();
    let mut tasks = Vec::new();
    for c in clones {
        tasks.push(tokio::spawn(async move {
            c.endpoint(openstack_images::ServiceType::Image).await
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap().as_str(),
            format!("{base}/image/v2/")
        );
    }
    let images = client
        .raw_get_json(openstack_images::ServiceType::Image, "images")
        .await
        .unwrap();
    assert!(images["images"].is_array());
    let seen: Vec<String> = glance.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        seen,
        ["/image/", "/image/v2/images"],
        "one discovery request per session"
    );
    assert_eq!(client.auth_count(), 0);
    assert_eq!(client.project_id().await.unwrap(), None);

    // A versioned endpoint is used without any request; compute needs an override.
    let client = openstack_images::Client::builder()
        .cloud(CloudConfig::no_auth(format!("{base}/image/v2")))
        .build()
        .unwrap();
    assert_eq!(
        client
            .endpoint(openstack_images::ServiceType::Image)
            .await
            .unwrap()
            .as_str(),
        format!("{base}/image/v2/")
    );
    let e = client
        .endpoint(openstack_images::ServiceType::Compute)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("compute_endpoint_override"), "{e}");
}
