//! Live tests of `osimg image metadef ...` against the local stack: each command's output
//! compared with what the library reads from the same Glance.

use futures_util::TryStreamExt;
use openstack_images::MetadefNamespaceQuery;
use serde_json::{Value, json as j};

use crate::cli::{fails, json, ok};
use crate::harness::{admin, require_stack, unique};

fn names(rows: &Value, key: &str) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_owned())
        .collect()
}

/// Leaves out the namespaces other tests create and delete while this one runs (their names
/// all start `Test::` or `Cli::`), so two listings taken a moment apart compare equal.
fn shipped(names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| !n.starts_with("Test::") && !n.starts_with("Cli::"))
        .collect()
}

/// The read commands on the shipped metadefs, in openstack's output shapes.
#[tokio::test]
async fn metadef_reads_match_the_api() {
    require_stack();
    let api = admin().metadefs();
    let all: Vec<String> = api
        .namespaces(MetadefNamespaceQuery::default())
        .map_ok(|n| n.namespace)
        .try_collect()
        .await
        .unwrap();
    let listed = json(&["image", "metadef", "namespace", "list"]);
    assert_eq!(
        shipped(names(&listed, "namespace")),
        shipped(all.clone()),
        "every namespace, in the API's order"
    );
    let filtered = json(&[
        "image",
        "metadef",
        "namespace",
        "list",
        "--resource-types",
        "OS::Nova::Flavor",
    ]);
    assert!(names(&filtered, "namespace").len() < all.len());

    // show: own fields, resource types and tags by name, not the properties (as openstack).
    let ns = api.namespace("OS::Compute::Libvirt").await.unwrap();
    let shown = json(&[
        "image",
        "metadef",
        "namespace",
        "show",
        "OS::Compute::Libvirt",
    ]);
    assert_eq!(shown["display_name"], j!(ns.display_name));
    assert_eq!(shown["tags"], j!([]));
    assert!(
        ["objects", "properties", "schema", "self"]
            .iter()
            .all(|k| shown.get(k).is_none()),
        "{shown}"
    );

    let props = json(&[
        "image",
        "metadef",
        "property",
        "list",
        "OS::Compute::Libvirt",
    ]);
    assert_eq!(props.as_array().unwrap().len(), ns.properties.len());
    assert_eq!(props[0].as_object().unwrap().len(), 3, "name, title, type");
    let first = names(&props, "name").remove(0);
    let shown = json(&[
        "image",
        "metadef",
        "property",
        "show",
        "OS::Compute::Libvirt",
        &first,
    ]);
    assert_eq!(shown["namespace_name"], "OS::Compute::Libvirt");
    assert_eq!(shown["title"], j!(ns.properties[&first].title));

    let objects = api.objects("OS::Software::DBMS").await.unwrap();
    let listed = json(&["image", "metadef", "object", "list", "OS::Software::DBMS"]);
    assert_eq!(names(&listed, "name").len(), objects.len());
    let o = &objects[0];
    let shown = json(&[
        "image",
        "metadef",
        "object",
        "show",
        "OS::Software::DBMS",
        &o.name,
    ]);
    assert_eq!(shown["name"], j!(o.name));
    assert_eq!(shown["namespace_name"], "OS::Software::DBMS");
    let (pname, p) = o.properties.iter().next().unwrap();
    let shown = json(&[
        "image",
        "metadef",
        "object",
        "property",
        "show",
        "OS::Software::DBMS",
        &o.name,
        pname,
    ]);
    assert_eq!(shown["name"], j!(pname));
    assert_eq!(shown["title"], j!(p.title));

    let types = json(&["image", "metadef", "resource", "type", "list"]);
    let expected: Vec<String> = api
        .resource_types()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names(&types, "Name"), expected);
    let assoc = json(&[
        "image",
        "metadef",
        "resource",
        "type",
        "association",
        "list",
        "OS::Compute::Libvirt",
    ]);
    assert!(names(&assoc, "Name").contains(&"OS::Glance::Image".to_string()));
    fails(
        3,
        &[
            "image",
            "metadef",
            "namespace",
            "show",
            "No::Such::Namespace",
        ],
    );
}

/// The write commands: a namespace made, changed (other fields kept), filled with an
/// object and a property, associated, emptied and deleted, all through osimg.
#[tokio::test]
async fn metadef_writes_change_what_the_api_reads() {
    require_stack();
    let api = admin().metadefs();
    let ns = unique("Cli::Ns");
    let md = |rest: &[&str]| {
        let mut a = vec!["image", "metadef"];
        a.extend(rest);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |rest: &[&str]| {
        let args = md(rest);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let created = json(&[
        "image",
        "metadef",
        "namespace",
        "create",
        &ns,
        "--display-name",
        "Shown",
        "--private",
        "--protected",
    ]);
    assert_eq!(created["namespace"], j!(ns));
    assert_eq!(created["visibility"], "private");
    run(&["namespace", "set", &ns, "--description", "about"]);
    let got = api.namespace(&ns).await.unwrap();
    assert_eq!(got.description.as_deref(), Some("about"));
    assert_eq!(got.display_name.as_deref(), Some("Shown"), "kept by set");
    assert_eq!(got.protected, Some(true));

    run(&["object", "create", "--namespace", &ns, "Obj"]);
    run(&["object", "set", &ns, "Obj", "--name", "Renamed"]);
    assert_eq!(api.objects(&ns).await.unwrap()[0].name, "Renamed");
    let p = json(&[
        "image",
        "metadef",
        "property",
        "create",
        "--name",
        "hour",
        "--title",
        "Hour",
        "--type",
        "integer",
        "--schema",
        r#"{"minimum": 0, "maximum": 23}"#,
        &ns,
    ]);
    assert_eq!(p["maximum"], 23);
    run(&["property", "set", &ns, "hour", "--title", "Hour of day"]);
    let hour = api.property(&ns, "hour").await.unwrap();
    assert_eq!(hour.title.as_deref(), Some("Hour of day"));
    assert_eq!(hour.maximum, Some(23.into()), "kept by set");
    fails(
        2,
        &[
            "image", "metadef", "property", "set", &ns, "hour", "--schema", "[1]",
        ],
    );

    run(&[
        "resource",
        "type",
        "association",
        "create",
        &ns,
        "OS::Glance::Image",
        "--prefix",
        "x_",
    ]);
    assert_eq!(
        api.resource_type_associations(&ns).await.unwrap()[0]
            .prefix
            .as_deref(),
        Some("x_")
    );
    run(&[
        "resource",
        "type",
        "association",
        "delete",
        &ns,
        "OS::Glance::Image",
        "--force",
    ]);
    assert!(
        api.resource_type_associations(&ns)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        api.namespace(&ns).await.unwrap().protected,
        Some(true),
        "protected again"
    );

    // Protected: deletes fail and say so; unprotected, they go.
    fails(1, &["image", "metadef", "namespace", "delete", &ns]);
    fails(1, &["image", "metadef", "object", "delete", &ns]);
    run(&["namespace", "set", &ns, "--unprotected"]);
    run(&["object", "create", "--namespace", &ns, "Second"]);
    run(&["object", "delete", &ns, "Second"]);
    run(&["object", "delete", &ns]);
    run(&["property", "delete", &ns, "hour"]);
    let emptied = api.namespace(&ns).await.unwrap();
    assert!(emptied.objects.is_empty() && emptied.properties.is_empty());
    run(&["namespace", "delete", &ns]);
    assert!(api.namespace(&ns).await.unwrap_err().is_not_found());
}

/// `--check-metadefs` refuses, before anything is sent, what the image namespaces do not
/// allow; without it Glance stores the value.
#[tokio::test]
async fn image_create_and_set_check_metadefs_on_request() {
    require_stack();
    let name = unique("cli-metadef-check");
    let err = fails(
        2,
        &[
            "image",
            "create",
            &name,
            "--property",
            "hw_cpu_sockets=two",
            "--check-metadefs",
        ],
    );
    assert!(
        err.contains("hw_cpu_sockets") && err.contains("integer"),
        "{err}"
    );
    let images = admin().images();
    assert!(
        images.find(&name).await.unwrap_err().is_not_found(),
        "nothing created"
    );
    let created = json(&[
        "image",
        "create",
        &name,
        "--property",
        "hw_cpu_sockets=2",
        "--check-metadefs",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    fails(
        2,
        &[
            "image",
            "set",
            &id,
            "--property",
            "hw_cpu_sockets=0.5",
            "--check-metadefs",
        ],
    );
    ok(&["image", "set", &id, "--property", "hw_cpu_sockets=0.5"]);
    assert_eq!(
        images.get(&id).await.unwrap().extra["hw_cpu_sockets"],
        "0.5"
    );
    images.delete(&id).await.unwrap();
}
