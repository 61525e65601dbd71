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
