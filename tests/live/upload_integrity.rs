//! End-to-end upload integrity against the real Glance: the bytes sent are hashed while they
//! are sent and compared with the `os_hash_value` Glance stores. The mismatch cases go
//! through the test proxy, which flips one byte of the upload body in transit: the proxy is
//! there only because the real Glance cannot be made to store other bytes than it was sent.

use std::process::Command;

use futures_util::TryStreamExt;
use openstack_images::{DataSource, Error, ImageListQuery, ImageStatus, RetryPolicy};
use sha2::{Digest, Sha256, Sha512};

use crate::harness::{Cleanup, admin, clouds_yaml, empty_image, glance_proxy, patterned, unique};
use crate::proxy::{Fault, Proxy};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn an_upload_is_compared_with_the_hash_glance_stored() {
    let client = admin();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(3 << 20, 251);
    let id = empty_image(&client, &mut cleanup, "e2e-ok").await.id;
    client
        .images()
        .upload(&id, DataSource::bytes(data.clone()))
        .send()
        .await
        .expect("an intact upload passes the check");
    let got = client.images().get(&id).await.unwrap();
    assert_eq!(got.status, Some(ImageStatus::Active));
    assert_eq!(got.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(got.os_hash_value, Some(hex(&Sha512::digest(&data))));
}

#[tokio::test]
async fn a_byte_changed_in_transit_is_an_integrity_error() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (proxy, client) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("PUT", "/file", usize::MAX, Fault::FlipRequestByte(1000));
    let data = patterned(1 << 20, 251);
    let mut flipped = data.clone();
    flipped[1000] ^= 0x01;

    let id = empty_image(&admin, &mut cleanup, "e2e-flip").await.id;
    let err = client
        .images()
        .upload(&id, DataSource::bytes(data.clone()))
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Integrity {
            image_id,
            algorithm,
            expected,
            actual,
        } => {
            assert_eq!(image_id, &id);
            assert_eq!(algorithm, "sha512");
            assert_eq!(
                expected,
                &hex(&Sha512::digest(&data)),
                "the hash of what was sent"
            );
            assert_eq!(
                actual,
                &hex(&Sha512::digest(&flipped)),
                "the hash Glance stored"
            );
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
    // Glance really stored the changed bytes: the check caught a real difference.
    let stored = admin.images().get(&id).await.unwrap();
    assert_eq!(stored.os_hash_value, Some(hex(&Sha512::digest(&flipped))));

    // Without hashing the same corruption goes unseen: the check is what catches it.
    let id = empty_image(&admin, &mut cleanup, "e2e-flip-unhashed")
        .await
        .id;
    client
        .images()
        .upload(&id, DataSource::bytes(data))
        .hash_algorithm(None)
        .send()
        .await
        .expect("nothing compared, nothing found");
    assert_eq!(proxy.count_of("PUT", "/file"), 2);
}

#[tokio::test]
async fn a_known_hash_is_compared_without_hashing_again() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(1 << 20, 251);
    let sha512 = hex(&Sha512::digest(&data));
    // The digest given is what is compared: right, it passes.
    let id = empty_image(&admin, &mut cleanup, "e2e-known").await.id;
    admin
        .images()
        .upload(&id, DataSource::bytes(data.clone()))
        .known_hash("SHA512", &sha512.to_uppercase())
        .send()
        .await
        .expect("the stored hash is the known one");

    // Changed in transit (the proxy, as above): the stored hash is not the known one.
    let (proxy, client) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("PUT", "/file", usize::MAX, Fault::FlipRequestByte(1000));
    let mut flipped = data.clone();
    flipped[1000] ^= 0x01;
    let id = empty_image(&admin, &mut cleanup, "e2e-known-flip").await.id;
    let err = client
        .images()
        .upload(&id, DataSource::bytes(data))
        .known_hash("sha512", &sha512)
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Integrity {
            expected, actual, ..
        } => {
            assert_eq!(expected, &sha512);
            assert_eq!(actual, &hex(&Sha512::digest(&flipped)));
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[tokio::test]
async fn another_algorithm_than_glances_is_not_compared_and_unknown_ones_are_refused() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (proxy, client) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("PUT", "/file", usize::MAX, Fault::FlipRequestByte(10));
    let data = patterned(64 << 10, 251);

    // Hashed with sha256 while Glance stores sha512: nothing to compare, so no error (a
    // warning is logged), even though the stored data differs.
    let id = empty_image(&admin, &mut cleanup, "e2e-sha256").await.id;
    client
        .images()
        .upload(&id, DataSource::bytes(data.clone()))
        .hash_algorithm(Some("SHA256"))
        .send()
        .await
        .expect("another algorithm than Glance's is not compared");
    let stored = admin.images().get(&id).await.unwrap();
    assert_eq!(stored.os_hash_algo.as_deref(), Some("sha512"));
    assert_ne!(stored.os_hash_value, Some(hex(&Sha256::digest(&data))));

    // An algorithm the crate cannot compute is refused before a byte leaves.
    let id = empty_image(&admin, &mut cleanup, "e2e-whirlpool").await.id;
    let err = client
        .images()
        .upload(&id, DataSource::bytes(data))
        .hash_algorithm(Some("whirlpool"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        proxy.count_of("PUT", "/file"),
        1,
        "only the sha256 upload was sent"
    );
    let got = admin.images().get(&id).await.unwrap();
    assert_eq!(got.status, Some(ImageStatus::Queued));
}

/// A copy of the stack's clouds.yaml whose cloud `local` reaches Glance through `proxy`.
fn clouds_through(proxy: &Proxy, dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(clouds_yaml()).unwrap();
    let line = format!(
        "  local:\n    image_endpoint_override: {}\n",
        proxy.url("/v2")
    );
    assert!(text.contains("  local:\n"), "{text}");
    let path = dir.join("clouds.yaml");
    std::fs::write(&path, text.replacen("  local:\n", &line, 1)).unwrap();
    path
}

#[tokio::test]
async fn osimg_create_says_the_stored_data_differs_and_exits_non_zero() {
    let admin = admin();
    let (proxy, _) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("PUT", "/file", usize::MAX, Fault::FlipRequestByte(4096));
    let dir = tempfile::tempdir().unwrap();
    let config = clouds_through(&proxy, dir.path());
    let file = dir.path().join("disk.raw");
    std::fs::write(&file, patterned(1 << 20, 251)).unwrap();
    let name = unique("e2e-cli");
    let args = [
        "image".to_owned(),
        "create".into(),
        name.clone(),
        "--file".into(),
        file.display().to_string(),
        "--disk-format".into(),
        "raw".into(),
    ];
    // osimg blocks this thread while the proxy (on this runtime) serves it.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_osimg"))
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", config)
            .env("OS_CLOUD", "local")
            .output()
            .expect("osimg runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("sha512 mismatch"), "stderr: {stderr}");
    assert_eq!(proxy.count_of("PUT", "/file"), 1);
    // The image holding the corrupted data was deleted.
    let left: Vec<_> = admin
        .images()
        .list(ImageListQuery::new().name(&name))
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
