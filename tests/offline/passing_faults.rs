//! Faults that may pass and faults that will not, offline: a failure that may pass is neither
//! kept for the client's lifetime nor taken for an answer, and one that cannot pass is not
//! retried.
//!
//! The servers here are loopback mocks, on purpose: the real Glance cannot be made to answer
//! its version document with a 503 once and then recover, and the local stack serves no TLS,
//! let alone with a certificate no client trusts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use openstack_images::ImageFeature;
use serde_json::json;

use crate::mock::{Mock, Reply};

#[tokio::test]
async fn a_failed_version_document_is_asked_for_again() {
    let roots = Arc::new(AtomicUsize::new(0));
    let seen = roots.clone();
    let mock = Mock::start(move |req| {
        if req.path() != "/" {
            return Reply::json(404, &json!({}));
        }
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::body(503, "text/plain", "try again later");
        }
        Reply::json(
            300,
            &json!({"versions": [
                {"id": "v2.16", "status": "CURRENT"}, {"id": "v2.14", "status": "SUPPORTED"},
                {"id": "v2.0", "status": "SUPPORTED"}]}),
        )
    });
    let client = mock.no_auth_client();
    let first = client.images().features().await.unwrap();
    assert_eq!(
        first.offers(ImageFeature::Cache),
        None,
        "the 503 tells nothing"
    );
    let second = client.images().features().await.unwrap();
    assert_eq!(
        second.offers(ImageFeature::Cache),
        Some(true),
        "the 503 was kept as the answer"
    );
    // The answer is kept: no third request.
    client.images().features().await.unwrap();
    assert_eq!(roots.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_missing_version_document_is_not_asked_for_again() {
    let mock = Mock::start(|_| Reply::body(404, "text/html", "<h1>Not Found</h1>"));
    let client = mock.no_auth_client();
    for _ in 0..3 {
        let f = client.images().features().await.unwrap();
        assert_eq!(f.offers(ImageFeature::Cache), None);
    }
    assert_eq!(mock.requests().len(), 1);
}

/// A TLS server on 127.0.0.1 presenting `tests/fixtures/tls/untrusted.pem`, a self-signed
/// certificate made for these tests (its key is no secret); counts the connections.
fn untrusted_tls_server() -> (u16, Arc<AtomicUsize>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/");
    let certs = CertificateDer::pem_file_iter(format!("{fixtures}untrusted.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{fixtures}untrusted.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            std::thread::spawn(move || {
                let mut tls = rustls::ServerConnection::new(config).unwrap();
                // The client refuses the certificate: the handshake ends in its alert.
                while tls.is_handshaking() {
                    if tls.complete_io(&mut stream).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, connections)
}

#[tokio::test]
async fn a_refused_certificate_is_not_retried() {
    let (port, connections) = untrusted_tls_server();
    let client = openstack_images::Client::builder()
        .cloud(openstack_images::CloudConfig::no_auth(format!(
            "https://127.0.0.1:{port}/v2"
        )))
        .retry(
            openstack_images::RetryPolicy::default()
                .max_retries(3)
                .base_delay(std::time::Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client
        .images()
        .get("1bea47ed-f6a9-463b-b423-14b9cca9ad27")
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(!err.is_retryable(), "{shown}");
    assert!(
        matches!(
            err,
            openstack_images::Error::Transport {
                kind: openstack_images::TransportKind::Certificate,
                ..
            }
        ),
        "{shown}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1, "retried: {shown}");
}
