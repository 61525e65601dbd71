//! Metadata definitions against the real Glance, which the stack loads with
//! `glance-manage db_load_metadefs` (every namespace Glance ships).

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures_util::TryStreamExt;
use openstack_images::{
    Error, MetadefNamespace, MetadefNamespaceQuery, MetadefNamespaceVisibility, MetadefObject,
    MetadefProperty, MetadefPropertyType, MetadefResourceTypeAssociation, ServiceType, SortDir,
};
use serde_json::Value;

use crate::harness::{admin, clouds_yaml, unique};

fn api_status(e: &Error) -> u16 {
    e.status()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

/// The `etc/glance/metadefs` of the stack's venv (named in its state.json): what
/// `db_load_metadefs` loaded.
fn shipped_namespaces() -> BTreeSet<String> {
    let state = clouds_yaml().with_file_name("state.json");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let dir = PathBuf::from(state["venv"].as_str().unwrap()).join("etc/glance/metadefs");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            names.insert(v["namespace"].as_str().unwrap().to_owned());
        }
    }
    assert!(names.len() > 20, "{} shipped namespaces", names.len());
    names
}

/// `typed`, serialized again, equals what the server sent: nothing was dropped or changed.
fn assert_lossless<T: serde::Serialize>(typed: &T, raw: &Value, what: &str) {
    assert_eq!(&serde_json::to_value(typed).unwrap(), raw, "{what}");
}

/// Every namespace Glance ships decodes into the generated types without losing data:
/// the namespace with its properties, objects, tags and associations, and each of the
/// sub-resource lists, compared with the raw JSON. The list is paged 7 at a time.
#[tokio::test(flavor = "multi_thread")]
async fn every_shipped_namespace_decodes_without_loss() {
    let c = admin();
    let api = c.metadefs();
    let listed: Vec<MetadefNamespace> = api
        .namespaces(MetadefNamespaceQuery::default())
        .page_size(7)
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = listed.iter().map(|n| n.namespace.clone()).collect();
    assert_eq!(names.len(), listed.len(), "no namespace twice across pages");
    let shipped = shipped_namespaces();
    assert!(
        shipped.is_subset(&names),
        "missing: {:?}",
        shipped.difference(&names)
    );
    let (mut properties, mut objects) = (0, 0);
    for name in &shipped {
        let path = format!("metadefs/namespaces/{}", path_segment(name));
        let raw = c.raw_get_json(ServiceType::Image, &path).await.unwrap();
        let ns = api.namespace(name).await.unwrap();
        assert!(
            ns.extra.is_empty(),
            "{name}: unexpected {:?}",
            ns.extra.keys()
        );
        assert_lossless(&ns, &raw, name);
        properties += ns.properties.len();
        objects += ns.objects.len();
        let raw = c
            .raw_get_json(ServiceType::Image, &format!("{path}/objects"))
            .await
            .unwrap();
        let typed = api.objects(name).await.unwrap();
        assert_lossless(&typed, &raw["objects"], &format!("{name} objects"));
        let raw = c
            .raw_get_json(ServiceType::Image, &format!("{path}/properties"))
            .await
            .unwrap();
        let typed = api.properties(name).await.unwrap();
        assert_lossless(&typed, &raw["properties"], &format!("{name} properties"));
        let raw = c
            .raw_get_json(ServiceType::Image, &format!("{path}/tags"))
            .await
            .unwrap();
        let typed: Vec<_> = api.tags(name).try_collect().await.unwrap();
        assert_lossless(&typed, &raw["tags"], &format!("{name} tags"));
        let raw = c
            .raw_get_json(ServiceType::Image, &format!("{path}/resource_types"))
            .await
            .unwrap();
        let typed = api.resource_type_associations(name).await.unwrap();
        assert_lossless(
            &typed,
            &raw["resource_type_associations"],
            &format!("{name} associations"),
        );
    }
    // What Glance 33 ships, so the loop above covered real content.
    assert!(
        properties > 100 && objects > 5,
        "{properties} properties, {objects} objects"
    );
    let raw = c
        .raw_get_json(ServiceType::Image, "metadefs/resource_types")
        .await
        .unwrap();
    let typed = api.resource_types().await.unwrap();
    assert_lossless(&typed, &raw["resource_types"], "resource types");
    assert!(typed.iter().any(|r| r.name == "OS::Glance::Image"));
}

/// A shipped namespace name as a path segment (they are letters, digits and `::`).
fn path_segment(s: &str) -> String {
    assert!(
        s.chars().all(|c| c.is_ascii_alphanumeric() || c == ':'),
        "{s}"
    );
    s.replace(':', "%3A")
}

/// Filters reach the server: by resource type and visibility, sorted by name.
#[tokio::test(flavor = "multi_thread")]
async fn namespace_list_filters_and_sorts() {
    let api = admin().metadefs();
    let query = MetadefNamespaceQuery::default()
        .resource_type("OS::Cinder::Volume")
        .visibility("public")
        .sort("namespace", SortDir::Asc);
    let listed: Vec<MetadefNamespace> = api
        .namespaces(query)
        .page_size(3)
        .try_collect()
        .await
        .unwrap();
    assert!(listed.len() > 3, "{} namespaces", listed.len());
    let names: Vec<&str> = listed.iter().map(|n| n.namespace.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    for ns in &listed {
        assert!(
            ns.resource_type_associations
                .iter()
                .any(|a| a.name == "OS::Cinder::Volume"),
            "{}",
            ns.namespace
        );
        assert_eq!(ns.visibility, Some(MetadefNamespaceVisibility::Public));
    }
    // `max_items` stops early.
    let two: Vec<_> = api
        .namespaces(MetadefNamespaceQuery::default())
        .max_items(2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
}

/// A namespace's life: create (with a property, an object and a tag in the same call),
/// read, read for a resource type (prefixed names), update (other fields kept), delete its
/// contents, delete it.
#[tokio::test(flavor = "multi_thread")]
async fn namespace_create_get_update_delete() {
    let api = admin().metadefs();
    let name = unique("Test::Ns");
    let mut ns = MetadefNamespace::new(&name);
    ns.display_name = Some("Display".into());
    ns.description = Some("first".into());
    ns.visibility = Some(MetadefNamespaceVisibility::Private);
    let mut prop = MetadefProperty::default();
    prop.title = Some("Hour".into());
    prop.type_ = Some(MetadefPropertyType::Integer);
    prop.minimum = Some(0.into());
    ns.properties.insert("hour".into(), prop);
    ns.objects.push(MetadefObject::new("Obj"));
    ns.tags.push(openstack_images::MetadefTag::new("t1"));
    let mut assoc = MetadefResourceTypeAssociation::new("OS::Glance::Image");
    assoc.prefix = Some("test_".into());
    ns.resource_type_associations.push(assoc);
    let created = api.create_namespace(&ns).await.unwrap();
    assert_eq!(created.namespace, name);
    assert_eq!(
        created.visibility,
        Some(MetadefNamespaceVisibility::Private)
    );
    assert!(created.created_at.is_some());

    let got = api.namespace(&name).await.unwrap();
    assert_eq!(
        got.properties["hour"].type_,
        Some(MetadefPropertyType::Integer)
    );
    assert_eq!(got.objects[0].name, "Obj");
    assert_eq!(got.tags[0].name, "t1");
    assert_eq!(
        got.resource_type_associations[0].prefix.as_deref(),
        Some("test_")
    );
    let prefixed = api.namespace_for(&name, "OS::Glance::Image").await.unwrap();
    assert!(
        prefixed.properties.contains_key("test_hour"),
        "{:?}",
        prefixed.properties.keys()
    );

    let mut change = got.clone();
    change.description = Some("second".into());
    let updated = api.update_namespace(&name, &change).await.unwrap();
    assert_eq!(updated.description.as_deref(), Some("second"));
    assert_eq!(updated.display_name.as_deref(), Some("Display"));

    api.delete_namespace_contents(&name).await.unwrap();
    let emptied = api.namespace(&name).await.unwrap();
    assert!(emptied.properties.is_empty() && emptied.objects.is_empty() && emptied.tags.is_empty());
    assert_eq!(
        emptied.resource_type_associations.len(),
        1,
        "associations stay"
    );

    api.delete_namespace(&name).await.unwrap();
    assert_eq!(api_status(&api.namespace(&name).await.unwrap_err()), 404);
}

/// A protected namespace cannot be deleted; a duplicate name is a conflict.
#[tokio::test(flavor = "multi_thread")]
async fn protected_and_duplicate_namespaces_are_refused() {
    let api = admin().metadefs();
    let name = unique("Test::Protected");
    let mut ns = MetadefNamespace::new(&name);
    ns.protected = Some(true);
    api.create_namespace(&ns).await.unwrap();
    assert_eq!(
        api_status(&api.create_namespace(&ns).await.unwrap_err()),
        409
    );
    assert_eq!(
        api_status(&api.delete_namespace(&name).await.unwrap_err()),
        403
    );
    let mut got = api.namespace(&name).await.unwrap();
    got.protected = Some(false);
    api.update_namespace(&name, &got).await.unwrap();
    api.delete_namespace(&name).await.unwrap();
}

/// Objects and properties: create, get, list, update (rename), delete one, delete all.
#[tokio::test(flavor = "multi_thread")]
async fn objects_and_properties_round_trip() {
    let api = admin().metadefs();
    let ns = unique("Test::Contents");
    api.create_namespace(&MetadefNamespace::new(&ns))
        .await
        .unwrap();

    let mut obj = MetadefObject::new("Schedule");
    obj.description = Some("when".into());
    obj.required = Some(vec!["hour".into()]);
    let mut hour = MetadefProperty::default();
    hour.title = Some("Hour".into());
    hour.type_ = Some(MetadefPropertyType::Integer);
    obj.properties.insert("hour".into(), hour);
    let created = api.create_object(&ns, &obj).await.unwrap();
    assert_eq!(created.name, "Schedule");
    assert_eq!(created.required, Some(vec!["hour".to_string()]));
    let mut got = api.object(&ns, "Schedule").await.unwrap();
    assert_eq!(got.properties["hour"].title.as_deref(), Some("Hour"));
    got.name = "Timing".into();
    api.update_object(&ns, "Schedule", &got).await.unwrap();
    let names: Vec<String> = api
        .objects(&ns)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["Timing"]);
    api.delete_object(&ns, "Timing").await.unwrap();
    assert_eq!(
        api_status(&api.object(&ns, "Timing").await.unwrap_err()),
        404
    );
    api.create_object(&ns, &MetadefObject::new("A"))
        .await
        .unwrap();
    api.delete_objects(&ns).await.unwrap();
    assert!(api.objects(&ns).await.unwrap().is_empty());

    let mut mode = MetadefProperty::default();
    mode.name = Some("mode".into());
    mode.title = Some("Mode".into());
    mode.type_ = Some(MetadefPropertyType::String);
    mode.enum_ = vec!["fast".into(), "safe".into()];
    let created = api.create_property(&ns, &mode).await.unwrap();
    assert_eq!(created.enum_, [Value::from("fast"), Value::from("safe")]);
    let mut got = api.property(&ns, "mode").await.unwrap();
    assert_eq!(got.name.as_deref(), Some("mode"));
    got.description = Some("how".into());
    api.update_property(&ns, "mode", &got).await.unwrap();
    let all = api.properties(&ns).await.unwrap();
    assert_eq!(all["mode"].description.as_deref(), Some("how"));
    api.delete_property(&ns, "mode").await.unwrap();
    assert_eq!(
        api_status(&api.property(&ns, "mode").await.unwrap_err()),
        404
    );
    api.create_property(&ns, &mode).await.unwrap();
    api.delete_properties(&ns).await.unwrap();
    assert!(api.properties(&ns).await.unwrap().is_empty());

    api.delete_namespace(&ns).await.unwrap();
}

/// Tags: one, several (replacing, then appending), paged one at a time, renamed, deleted.
#[tokio::test(flavor = "multi_thread")]
async fn tags_bulk_create_page_rename_delete() {
    let api = admin().metadefs();
    let ns = unique("Test::Tags");
    api.create_namespace(&MetadefNamespace::new(&ns))
        .await
        .unwrap();
    api.create_tag(&ns, "solo").await.unwrap();
    let created = api.create_tags(&ns, ["a", "b"], false).await.unwrap();
    assert_eq!(created.len(), 2);
    let names = |tags: Vec<openstack_images::MetadefTag>| -> BTreeSet<String> {
        tags.into_iter().map(|t| t.name).collect()
    };
    let all: Vec<_> = api.tags(&ns).try_collect().await.unwrap();
    assert_eq!(
        names(all),
        BTreeSet::from(["a".into(), "b".into()]),
        "replaced"
    );
    api.create_tags(&ns, ["c"], true).await.unwrap();
    let paged: Vec<_> = api.tags(&ns).page_size(1).try_collect().await.unwrap();
    assert_eq!(paged.len(), 3, "one per page, every tag once");
    assert_eq!(
        names(paged),
        BTreeSet::from(["a".into(), "b".into(), "c".into()])
    );
    // Glance ships no tags, so the lossless check of tags is made here.
    let c = admin();
    let raw = c
        .raw_get_json(
            ServiceType::Image,
            &format!("metadefs/namespaces/{}/tags", ns.replace(':', "%3A")),
        )
        .await
        .unwrap();
    let typed: Vec<_> = api.tags(&ns).try_collect().await.unwrap();
    assert_lossless(&typed, &raw["tags"], "tags");
    // The list carries names only; one tag read alone has its timestamps.
    assert!(
        typed
            .iter()
            .all(|t| t.created_at.is_none() && t.extra.is_empty())
    );
    api.rename_tag(&ns, "c", "d").await.unwrap();
    let d = api.tag(&ns, "d").await.unwrap();
    assert_eq!(d.name, "d");
    assert!(d.created_at.is_some() && d.extra.is_empty());
    api.delete_tag(&ns, "d").await.unwrap();
    assert_eq!(api_status(&api.tag(&ns, "d").await.unwrap_err()), 404);
    api.delete_tags(&ns).await.unwrap();
    let left: Vec<_> = api.tags(&ns).try_collect().await.unwrap();
    // A name that cannot be a path segment is the listing's first (and only) item.
    let mut bad = api.tags("..");
    assert!(matches!(
        bad.try_next().await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(bad.try_next().await.unwrap().is_none());
    assert!(left.is_empty());
    api.delete_namespace(&ns).await.unwrap();
}

/// Resource types: listed, associated with a prefix and target, dissociated.
#[tokio::test(flavor = "multi_thread")]
async fn resource_type_associations_round_trip() {
    let api = admin().metadefs();
    let types = api.resource_types().await.unwrap();
    assert!(types.iter().any(|t| t.name == "OS::Nova::Flavor"));
    let ns = unique("Test::Assoc");
    api.create_namespace(&MetadefNamespace::new(&ns))
        .await
        .unwrap();
    let mut a = MetadefResourceTypeAssociation::new("OS::Cinder::Volume");
    a.prefix = Some("x_".into());
    a.properties_target = Some("image".into());
    let created = api.associate_resource_type(&ns, &a).await.unwrap();
    assert_eq!(created.name, "OS::Cinder::Volume");
    assert_eq!(created.properties_target.as_deref(), Some("image"));
    let listed = api.resource_type_associations(&ns).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].prefix.as_deref(), Some("x_"));
    api.dissociate_resource_type(&ns, "OS::Cinder::Volume")
        .await
        .unwrap();
    assert!(
        api.resource_type_associations(&ns)
            .await
            .unwrap()
            .is_empty()
    );
    api.delete_namespace(&ns).await.unwrap();
}

/// Opt-in image property checks from the real namespaces: names carry the association's
/// prefix (`cpu_sockets` is `hw_cpu_sockets` on images), enums and integers are enforced,
/// and a value Glance itself would store (it does not look at metadefs) is refused before
/// any request.
#[tokio::test(flavor = "multi_thread")]
async fn image_properties_checked_against_image_namespaces() {
    let c = admin();
    let rules = c.metadefs().image_rules().await.unwrap();
    assert!(rules.len() > 50, "{} property names", rules.len());
    assert!(rules.definitions("cpu_sockets").is_empty());
    assert_eq!(
        rules.definitions("hw_cpu_sockets")[0].1.type_,
        Some(MetadefPropertyType::Integer)
    );
    assert!(rules.check("hw_cpu_sockets", &"2".into()).is_ok());
    assert!(rules.check("hw_cpu_sockets", &"two".into()).is_err());
    assert!(rules.check("hw_disk_bus", &"virtio".into()).is_ok());
    let e = rules.check("hw_disk_bus", &"sideways".into()).unwrap_err();
    assert!(e.to_string().contains("OS::Compute::LibvirtImage"), "{e}");

    // hw_cpu_sockets is not in the image schema (hw_disk_bus is, with its enum): only the
    // metadefs know what it may hold.
    let name = unique("metadef-checked");
    let good = openstack_images::ImageCreate::new(&name).property("hw_cpu_sockets", "2");
    rules.check_create(&good).unwrap();
    let image = c.images().create(good).await.unwrap();
    let patch = openstack_images::ImagePatch::new().replace("hw_cpu_sockets", "two");
    assert!(rules.check_patch(&patch).is_err());
    // Glance takes it: the check is ours alone.
    let stored = c.images().update(&image.id, patch).await.unwrap();
    assert_eq!(stored.extra["hw_cpu_sockets"], "two");
    c.images().delete(&image.id).await.unwrap();
}
