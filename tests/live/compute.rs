//! The Compute images API against the real Nova API (which proxies to the real Glance).

use futures_util::TryStreamExt;
use openstack_images::{
    Client, ComputeImageQuery, ComputeImageStatus, ContainerFormat, DiskFormat, Error, ImageCreate,
};

use crate::harness::{require_stack, unique};

fn admin() -> Client {
    require_stack();
    Client::from_cloud("local").expect("cloud `local` in the stack's clouds.yaml")
}

async fn glance_image(c: &Client, name: &str, props: &[(&str, &str)]) -> String {
    let mut req = ImageCreate::new(name)
        .container_format(ContainerFormat::Bare)
        .disk_format(DiskFormat::Raw)
        .min_ram(128)
        .min_disk(1);
    for (k, v) in props {
        req = req.property(*k, *v);
    }
    c.images().create(req).await.unwrap().id
}

#[tokio::test(flavor = "multi_thread")]
async fn list_get_and_paginate() {
    let c = admin();
    let name = unique("nova-list");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(glance_image(&c, &name, &[]).await);
    }
    let q = || ComputeImageQuery::new().name(name.clone());
    let page = c
        .compute_images()
        .list_page(&q().page_size(1))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_marker.is_some(), "a full page has a next link");
    let all = c.compute_images().list_all(q().page_size(1)).await.unwrap();
    let mut got: Vec<String> = all.iter().map(|i| i.id.clone()).collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);

    let one = c.compute_images().get(&ids[0]).await.unwrap();
    assert_eq!(one.id, ids[0]);
    assert_eq!(one.name.as_deref(), Some(name.as_str()));
    assert_eq!(one.min_ram, Some(128));
    assert_eq!(one.min_disk, Some(1));
    // A queued Glance image shows as SAVING in Nova.
    assert_eq!(one.status, Some(ComputeImageStatus::Saving));
    assert!(one.created.is_some() && one.updated.is_some());
    assert!(one.links.iter().any(|l| l.rel == "self"));
    assert!(one.links.iter().any(|l| l.rel == "alternate"));

    // Nova hands minRam/minDisk to Glance v2, which matches them exactly.
    let exact = c
        .compute_images()
        .list_all(q().min_ram(128).min_disk(1))
        .await
        .unwrap();
    assert_eq!(exact.len(), 3);
    let other = c.compute_images().list_all(q().min_ram(64)).await.unwrap();
    assert!(other.is_empty());
    let big = c
        .compute_images()
        .list_all(q().min_ram(100_000))
        .await
        .unwrap();
    assert!(big.is_empty());
    let later = c
        .compute_images()
        .list_all(q().changes_since("2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(later.len(), 3);

    for id in &ids {
        c.compute_images().delete(id).await.unwrap();
    }
    let e = c.compute_images().get(&ids[0]).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    match e {
        Error::Api(a) => assert_eq!(a.title.as_deref(), Some("itemNotFound")),
        other => panic!("{other:?}"),
    }
}

/// Nova's listing page by page: one image per page over three images, each page's marker
/// the last id of that page, and `max_items` stopping across pages.
#[tokio::test(flavor = "multi_thread")]
async fn pages_and_max_items() {
    let c = admin();
    let name = unique("nova-pages");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(glance_image(&c, &name, &[]).await);
    }
    ids.sort();
    let q = || ComputeImageQuery::new().name(name.clone());
    let pages: Vec<_> = c
        .compute_images()
        .pages(q().page_size(1))
        .try_collect()
        .await
        .unwrap();
    // Three full pages, then (Nova links every full page) an empty last one.
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.items.len() <= 1));
    for page in &pages[..3] {
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_marker.as_deref(), Some(page.items[0].id.as_str()));
    }
    assert!(pages.last().unwrap().is_last());
    let mut paged: Vec<String> = pages
        .iter()
        .flat_map(|p| p.iter().map(|i| i.id.clone()))
        .collect();
    paged.sort();
    assert_eq!(paged, ids);

    // The same through the paginator's `pages()`, capped at two items across pages.
    let capped: Vec<_> = c
        .compute_images()
        .list(q())
        .page_size(1)
        .max_items(2)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = capped.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [1, 1]);
    assert_eq!(capped[0].items[0].id, pages[0].items[0].id);
    assert_eq!(capped[1].items[0].id, pages[1].items[0].id);
    for id in &ids {
        c.images().delete(id).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn type_and_server_filters() {
    let c = admin();
    let name = unique("nova-type");
    let server = "6d2a1c2e-0d0f-4b5a-9c3e-7f1b2a3c4d5e";
    let snap = glance_image(
        &c,
        &name,
        &[("image_type", "snapshot"), ("instance_uuid", server)],
    )
    .await;
    let backup = glance_image(&c, &name, &[("image_type", "backup")]).await;
    let plain = glance_image(&c, &name, &[]).await;
    let q = || ComputeImageQuery::new().name(name.clone());
    let snaps = c
        .compute_images()
        .list_all(q().image_type("snapshot"))
        .await
        .unwrap();
    assert_eq!(
        snaps.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec![snap.clone()]
    );
    let backups = c
        .compute_images()
        .list_all(q().image_type("backup"))
        .await
        .unwrap();
    assert_eq!(
        backups.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec![backup.clone()]
    );
    let by_server = c
        .compute_images()
        .list_all(q().server(server))
        .await
        .unwrap();
    assert_eq!(
        by_server.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec![snap.clone()]
    );
    let linked = c.compute_images().get(&snap).await.unwrap();
    assert_eq!(linked.server.map(|s| s.id).as_deref(), Some(server));
    for id in [snap, backup, plain] {
        c.images().delete(&id).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn id_from_name_zero_one_two() {
    let c = admin();
    let name = unique("nova-idname");
    let e = c.compute_images().id_from_name(&name).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let a = glance_image(&c, &name, &[]).await;
    assert_eq!(c.compute_images().id_from_name(&name).await.unwrap(), a);
    let b = glance_image(&c, &name, &[]).await;
    match c.compute_images().id_from_name(&name).await.unwrap_err() {
        Error::Ambiguous { count, .. } => assert_eq!(count, 2),
        other => panic!("{other:?}"),
    }
    for id in [a, b] {
        c.images().delete(&id).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_calls() {
    let c = admin();
    let id = glance_image(&c, &unique("nova-meta"), &[("color", "blue")]).await;
    let ci = c.compute_images();
    let meta = ci.metadata(&id).await.unwrap();
    assert_eq!(meta.get("color"), Some(&serde_json::json!("blue")));
    let meta = ci
        .update_metadata(&id, [("size_class", "small")])
        .await
        .unwrap();
    assert_eq!(meta.get("color"), Some(&serde_json::json!("blue")));
    assert_eq!(meta.get("size_class"), Some(&serde_json::json!("small")));
    ci.set_metadata_item(&id, "color", "green").await.unwrap();
    assert_eq!(
        ci.metadata_item(&id, "color").await.unwrap(),
        serde_json::json!("green")
    );
    ci.delete_metadata_item(&id, "size_class").await.unwrap();
    assert!(!ci.metadata(&id).await.unwrap().contains_key("size_class"));
    let meta = ci.set_metadata(&id, [("only", "this")]).await.unwrap();
    assert_eq!(meta.get("only"), Some(&serde_json::json!("this")));
    assert!(!meta.contains_key("color"));
    let e = ci.metadata_item(&id, "absent").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    c.images().delete(&id).await.unwrap();
}
