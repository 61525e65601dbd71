//! One round trip (create, upload, list, show, download) as separate calls: run against
//! every release by `cargo xtask test` (the crate built from the newest schemas against an
//! older Glance), and by it again with the crate built from the oldest release's schemas
//! (`OPENSTACK_IMAGES_SCHEMA_DIR`) against the newest Glance, where
//! `OPENSTACK_IMAGES_EXPECT_SCHEMA_SOURCE` names the schemas the build must have used.

use openstack_images::{DataSource, ImageListQuery, ImageStatus};

use crate::harness::{Cleanup, admin, download_all, patterned, raw, require_stack, unique};

#[tokio::test]
async fn create_upload_list_show_download() {
    require_stack();
    if let Ok(source) = std::env::var("OPENSTACK_IMAGES_EXPECT_SCHEMA_SOURCE") {
        assert_eq!(openstack_images::SCHEMA_SOURCE, source);
    }
    let client = admin();
    let images = client.images();
    let mut cleanup = Cleanup(vec![]);
    let name = unique("roundtrip");
    let created = images.create(raw(&name)).await.expect("create");
    cleanup.0.push(created.id.clone());
    assert_eq!(created.status, Some(ImageStatus::Queued));

    let data = patterned(100_003, 233);
    images
        .upload(&created.id, DataSource::bytes(data.clone()))
        .send()
        .await
        .expect("upload");

    let listed = images
        .list_all(ImageListQuery::new().name(name.as_str()))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, created.id);

    let shown = images.get(&created.id).await.expect("show");
    assert_eq!(shown.status, Some(ImageStatus::Active));
    assert_eq!(shown.size, Some(data.len() as i64));
    assert_eq!(shown.name.as_deref(), Some(name.as_str()));

    assert_eq!(download_all(&client, &shown).await.expect("download"), data);
}
