//! `osimg image metadef`: metadata definition namespaces, objects, properties and resource
//! types, with the commands, flags and output fields of `openstack image metadef ...`
//! (python-openstackclient 10).

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use openstack_images::{
    Client, MetadefNamespace, MetadefNamespaceQuery, MetadefNamespaceVisibility,
    MetadefResourceTypeAssociation,
};
use serde_json::{Map, Value, json};

use crate::metadef_contents_cmd::{ObjectCmd, PropertyCmd};
use crate::output::{Printer, col};
use crate::{CmdResult, Fail};

#[derive(Subcommand)]
pub enum MetadefCmd {
    /// Metadef namespaces.
    Namespace {
        #[command(subcommand)]
        cmd: NamespaceCmd,
    },
    /// Metadef objects of a namespace.
    Object {
        #[command(subcommand)]
        cmd: ObjectCmd,
    },
    /// Metadef properties of a namespace.
    Property {
        #[command(subcommand)]
        cmd: PropertyCmd,
    },
    /// Metadef resource types (`resource type list`, `resource type association ...`).
    Resource {
        #[command(subcommand)]
        cmd: ResourceCmd,
    },
}

/// `--public|--private`.
#[derive(Args, Default)]
#[group(multiple = false)]
pub struct NamespaceVisibility {
    /// Set namespace visibility 'public'.
    #[arg(long)]
    public: bool,
    /// Set namespace visibility 'private'.
    #[arg(long)]
    private: bool,
}

/// `--protected|--unprotected`.
#[derive(Args, Default)]
#[group(multiple = false)]
pub struct Protection {
    /// Prevent the namespace from being deleted.
    #[arg(long)]
    protected: bool,
    /// Allow the namespace to be deleted (the default).
    #[arg(long)]
    unprotected: bool,
}

/// `--tag TAG ... | --all-tags` of `namespace unset`: one of the two is required.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct UnsetTags {
    /// Unset a tag on this metadef namespace (repeat option to unset multiple tags).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Unset all metadef tags.
    #[arg(long)]
    all_tags: bool,
}

/// The fields `namespace create` and `namespace set` change.
#[derive(Args)]
pub struct NamespaceFields {
    /// A user-friendly name for the namespace.
    #[arg(long, value_name = "DISPLAY_NAME")]
    display_name: Option<String>,
    /// A description of the namespace.
    #[arg(long)]
    description: Option<String>,
    #[command(flatten)]
    visibility: NamespaceVisibility,
    #[command(flatten)]
    protection: Protection,
}

impl NamespaceFields {
    fn apply(self, ns: &mut MetadefNamespace) {
        if let Some(v) = self.display_name {
            ns.display_name = Some(v);
        }
        if let Some(v) = self.description {
            ns.description = Some(v);
        }
        if self.visibility.public {
            ns.visibility = Some(MetadefNamespaceVisibility::Public);
        } else if self.visibility.private {
            ns.visibility = Some(MetadefNamespaceVisibility::Private);
        }
        if self.protection.protected {
            ns.protected = Some(true);
        } else if self.protection.unprotected {
            ns.protected = Some(false);
        }
    }
}

#[derive(Subcommand)]
pub enum NamespaceCmd {
    /// List namespaces (column `namespace`).
    List {
        /// Only namespaces associated with these resource types (comma-separated).
        #[arg(long, value_name = "RESOURCE_TYPES")]
        resource_types: Option<String>,
        /// Only namespaces of this visibility.
        #[arg(long)]
        visibility: Option<String>,
    },
    /// Show a namespace (its properties and resource types by name, as openstack does).
    Show {
        /// Namespace name.
        namespace: String,
    },
    /// Create a namespace.
    Create {
        /// New namespace name.
        namespace: String,
        #[command(flatten)]
        fields: NamespaceFields,
    },
    /// Change a namespace. Fields not given keep their values (osimg reads the namespace
    /// first; openstack sends only the options given, and Glance clears the others).
    Set {
        /// Namespace name.
        namespace: String,
        #[command(flatten)]
        fields: NamespaceFields,
    },
    /// Delete namespaces and everything in them; every failure is reported.
    Delete {
        /// Namespace names.
        #[arg(required = true)]
        namespaces: Vec<String>,
    },
    /// Remove tags from a namespace: the named ones (each failure reported, the others
    /// still removed) or all of them.
    Unset {
        /// Namespace name.
        namespace: String,
        #[command(flatten)]
        tags: UnsetTags,
    },
}

#[derive(Subcommand)]
pub enum ResourceCmd {
    /// Resource types.
    Type {
        #[command(subcommand)]
        cmd: ResourceTypeCmd,
    },
}

#[derive(Subcommand)]
pub enum ResourceTypeCmd {
    /// List the resource types Glance knows (column `Name`).
    List,
    /// The resource types a namespace applies to.
    Association {
        #[command(subcommand)]
        cmd: AssociationCmd,
    },
}

#[derive(Subcommand)]
pub enum AssociationCmd {
    /// List a namespace's resource type associations (column `Name`).
    List {
        /// Namespace name.
        namespace: String,
    },
    /// Associate a namespace with a resource type.
    Create {
        /// Namespace name.
        namespace: String,
        /// Resource type name (`OS::Glance::Image`, ...).
        name: String,
        /// Which of the resource's key/value sets the properties go to (Cinder volumes:
        /// `image` or `volume` metadata).
        #[arg(long, value_name = "PROPERTIES_TARGET")]
        properties_target: Option<String>,
        /// The prefix the namespace's properties take on this resource type (osimg only).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Remove associations; with --force, a protected namespace is unprotected for the
    /// removal and protected again after.
    Delete {
        /// Namespace name.
        namespace: String,
        /// Resource type names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Remove even from a protected namespace.
        #[arg(long)]
        force: bool,
    },
}

/// A generated type as a JSON object, for output.
pub(crate) fn object(value: &impl serde::Serialize) -> CmdResult<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Fail::other("expected a JSON object")),
        Err(e) => Err(Fail::other(e.to_string())),
    }
}

/// A namespace shown as openstack 10.5 shows it (compared in `live osc_compat_glance`): its
/// own fields without `schema`, its resource types and tags by name, and not its properties
/// (`image metadef property list NS` lists them).
fn namespace_view(ns: &MetadefNamespace) -> CmdResult<Map<String, Value>> {
    const FIELDS: [&str; 8] = [
        "created_at",
        "description",
        "display_name",
        "namespace",
        "owner",
        "protected",
        "updated_at",
        "visibility",
    ];
    let full = object(ns)?;
    let mut out: Map<String, Value> = full
        .into_iter()
        .filter(|(k, _)| FIELDS.contains(&k.as_str()))
        .collect();
    if !ns.resource_type_associations.is_empty() {
        let names: Vec<&str> = ns
            .resource_type_associations
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        out.insert("resource_type_associations".into(), json!(names));
    }
    let tags: Vec<&str> = ns.tags.iter().map(|t| t.name.as_str()).collect();
    out.insert("tags".into(), json!(tags));
    Ok(out)
}

/// `--check-metadefs` of `image create` and `image set`: the properties given, checked
/// against the namespaces associated with `OS::Glance::Image` (a usage error, status 2).
pub(crate) async fn check_image_properties(
    client: &Client,
    properties: &[(String, String)],
) -> CmdResult {
    let rules = client.metadefs().image_rules().await?;
    for (key, value) in properties {
        rules.check(key, &json!(value))?;
    }
    Ok(())
}

pub async fn run(client: &Client, out: &Printer, cmd: MetadefCmd) -> CmdResult {
    match cmd {
        MetadefCmd::Namespace { cmd } => namespace(client, out, cmd).await,
        MetadefCmd::Object { cmd } => crate::metadef_contents_cmd::object(client, out, cmd).await,
        MetadefCmd::Property { cmd } => {
            crate::metadef_contents_cmd::property(client, out, cmd).await
        }
        MetadefCmd::Resource {
            cmd: ResourceCmd::Type { cmd },
        } => resource_type(client, out, cmd).await,
    }
}

async fn namespace(client: &Client, out: &Printer, cmd: NamespaceCmd) -> CmdResult {
    let api = client.metadefs();
    match cmd {
        NamespaceCmd::List {
            resource_types,
            visibility,
        } => {
            let mut q = MetadefNamespaceQuery::default();
            for name in resource_types.iter().flat_map(|s| s.split(',')) {
                q = q.resource_type(name.trim());
            }
            if let Some(v) = visibility {
                q = q.visibility(v);
            }
            let mut list = out.list_start(&[col("namespace", "namespace")], false);
            let mut stream = api.namespaces(q);
            while let Some(ns) = stream.try_next().await? {
                list.row(&Value::Object(object(&ns)?))?;
            }
            list.finish()
        }
        NamespaceCmd::Show { namespace } => {
            out.show(&namespace_view(&api.namespace(&namespace).await?)?)
        }
        NamespaceCmd::Create { namespace, fields } => {
            let mut ns = MetadefNamespace::new(namespace);
            fields.apply(&mut ns);
            out.show(&namespace_view(&api.create_namespace(&ns).await?)?)
        }
        NamespaceCmd::Set { namespace, fields } => {
            let mut ns = api.namespace(&namespace).await?;
            fields.apply(&mut ns);
            api.update_namespace(&namespace, &ns).await?;
            Ok(())
        }
        NamespaceCmd::Unset { namespace, tags } => unset_tags(client, &namespace, tags).await,
        NamespaceCmd::Delete { namespaces } => {
            crate::delete_each("namespace", "", &namespaces, |name| {
                let api = api.clone();
                async move { api.delete_namespace(&name).await }
            })
            .await
        }
    }
}

/// `namespace unset`, as openstack does it: the namespace is read first (one "not found"
/// for a wrong name, not one per tag), then each tag is removed on its own; a failure is
/// reported (`tag unset failed for tag T: ...`) and the rest go on.
async fn unset_tags(client: &Client, namespace: &str, tags: UnsetTags) -> CmdResult {
    let api = client.metadefs();
    api.namespace(namespace).await?;
    if tags.all_tags {
        return Ok(api.delete_tags(namespace).await?);
    }
    let mut codes = Vec::new();
    for tag in &tags.tags {
        if let Err(e) = api.delete_tag(namespace, tag).await {
            crate::output::report(&format!(
                "tag unset failed for tag {tag}: {}",
                crate::with_causes(&e)
            ));
            codes.push(crate::exit_code(&e));
        }
    }
    match codes.len() {
        0 => Ok(()),
        n => Err(Fail {
            code: if codes.iter().all(|c| *c == 3) { 3 } else { 1 },
            message: format!("Failed to unset {n} of {} tags.", tags.tags.len()),
        }),
    }
}

async fn resource_type(client: &Client, out: &Printer, cmd: ResourceTypeCmd) -> CmdResult {
    let api = client.metadefs();
    match cmd {
        ResourceTypeCmd::List => {
            let rows = api
                .resource_types()
                .await?
                .iter()
                .map(|t| object(t).map(Value::Object))
                .collect::<CmdResult<Vec<_>>>()?;
            out.list(&[col("Name", "name")], &rows, false)
        }
        ResourceTypeCmd::Association {
            cmd: AssociationCmd::List { namespace },
        } => {
            let rows = api
                .resource_type_associations(&namespace)
                .await?
                .iter()
                .map(|a| object(a).map(Value::Object))
                .collect::<CmdResult<Vec<_>>>()?;
            out.list(&[col("Name", "name")], &rows, false)
        }
        ResourceTypeCmd::Association {
            cmd:
                AssociationCmd::Create {
                    namespace,
                    name,
                    properties_target,
                    prefix,
                },
        } => {
            let mut a = MetadefResourceTypeAssociation::new(name);
            a.properties_target = properties_target;
            a.prefix = prefix;
            out.show(&object(
                &api.associate_resource_type(&namespace, &a).await?,
            )?)
        }
        ResourceTypeCmd::Association {
            cmd:
                AssociationCmd::Delete {
                    namespace,
                    names,
                    force,
                },
        } => {
            let ns = api.namespace(&namespace).await?;
            let unprotect = force && ns.protected == Some(true);
            if unprotect {
                let mut open = ns.clone();
                open.protected = Some(false);
                api.update_namespace(&namespace, &open).await?;
            }
            let result = crate::delete_each("resource type association", "", &names, |name| {
                let (api, namespace) = (api.clone(), namespace.clone());
                async move { api.dissociate_resource_type(&namespace, &name).await }
            })
            .await;
            if unprotect {
                api.update_namespace(&namespace, &ns).await?;
            }
            result
        }
    }
}
