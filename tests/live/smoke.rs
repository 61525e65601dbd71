//! Smoke tests of the local stack itself, with raw HTTP: tokens for the three clouds of
//! clouds.yaml, and an image created, listed and deleted through the catalog's endpoint.

use crate::harness::{clouds_yaml, require_stack, unique};
use serde_json::{Value, json};

/// The `auth` section and `auth_type` of `cloud` in clouds.yaml.
fn cloud(name: &str) -> Value {
    let text = std::fs::read_to_string(clouds_yaml()).expect("reading clouds.yaml");
    let all: Value = serde_saphyr::from_str(&text).expect("parsing clouds.yaml");
    let cloud = all["clouds"][name].clone();
    assert!(cloud.is_object(), "no cloud {name} in clouds.yaml");
    cloud
}

fn http() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`: pick ring (already installed is fine).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// Authenticates as `cloud`; returns the token and the token body (with the catalog).
async fn token(http: &reqwest::Client, name: &str) -> (String, Value) {
    let cloud = cloud(name);
    let auth = &cloud["auth"];
    let identity = match cloud["auth_type"].as_str() {
        Some("v3applicationcredential") => json!({
            "methods": ["application_credential"],
            "application_credential": {
                "id": auth["application_credential_id"],
                "secret": auth["application_credential_secret"],
            }
        }),
        _ => json!({
            "methods": ["password"],
            "password": {"user": {
                "name": auth["username"],
                "domain": {"name": auth["user_domain_name"]},
                "password": auth["password"],
            }}
        }),
    };
    let mut body = json!({"auth": {"identity": identity}});
    if let Some(project) = auth["project_name"].as_str() {
        body["auth"]["scope"] = json!({"project": {
            "name": project, "domain": {"name": auth["project_domain_name"]}
        }});
    }
    let url = format!(
        "{}/auth/tokens",
        auth["auth_url"].as_str().expect("auth_url")
    );
    let resp = http.post(&url).json(&body).send().await.expect("POST");
    assert_eq!(
        resp.status(),
        201,
        "token for {name}: {:?}",
        resp.text().await
    );
    let token = resp.headers()["X-Subject-Token"]
        .to_str()
        .expect("token")
        .to_string();
    (token, resp.json().await.expect("token body"))
}

/// The public URL of `service_type` in the token's catalog.
fn endpoint(token_body: &Value, service_type: &str) -> String {
    let catalog = token_body["token"]["catalog"].as_array().expect("catalog");
    let service = catalog
        .iter()
        .find(|s| s["type"] == service_type)
        .unwrap_or_else(|| panic!("no {service_type} in the catalog"));
    let endpoint = service["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["interface"] == "public")
        .expect("public endpoint");
    endpoint["url"]
        .as_str()
        .expect("url")
        .trim_end_matches('/')
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn image_create_list_delete() {
    require_stack();
    let http = http();
    let (token, body) = token(&http, "local").await;
    let glance = endpoint(&body, "image");
    let name = unique("smoke");

    let resp = http
        .post(format!("{glance}/v2/images"))
        .header("X-Auth-Token", &token)
        .json(&json!({"name": name, "disk_format": "raw", "container_format": "bare"}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 201, "create: {:?}", resp.text().await);
    let image: Value = resp.json().await.expect("image");
    let id = image["id"].as_str().expect("id").to_string();
    assert_eq!(image["name"], name.as_str());

    let list: Value = http
        .get(format!("{glance}/v2/images?name={name}"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list body");
    let found = list["images"].as_array().expect("images");
    assert!(found.iter().any(|i| i["id"] == id.as_str()), "{list}");

    let resp = http
        .delete(format!("{glance}/v2/images/{id}"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    let resp = http
        .get(format!("{glance}/v2/images/{id}"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_and_application_credential_clouds_authenticate() {
    require_stack();
    let http = http();
    for name in ["local-demo", "local-appcred"] {
        let (token, body) = token(&http, name).await;
        assert!(!token.is_empty());
        let glance = endpoint(&body, "image");
        let resp = http
            .get(format!("{glance}/v2/images?limit=1"))
            .header("X-Auth-Token", &token)
            .send()
            .await
            .expect("list");
        assert_eq!(resp.status(), 200, "{name} lists images");
    }
    let (_, demo) = token(&http, "local-demo").await;
    let roles: Vec<&str> = demo["token"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(roles.contains(&"member"), "demo roles: {roles:?}");
    assert!(!roles.contains(&"admin"), "demo roles: {roles:?}");
}
