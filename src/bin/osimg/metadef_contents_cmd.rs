//! `osimg image metadef object|property`: what a namespace holds, with openstack's flags
//! and output fields.

use clap::Subcommand;
use openstack_images::{Client, MetadefObject, MetadefProperty};
use serde_json::{Map, Value, json};

use crate::metadef_cmd::object as json_object;
use crate::output::{Printer, col};
use crate::{CmdResult, Fail};

#[derive(Subcommand)]
pub enum ObjectCmd {
    /// List a namespace's objects (columns name, description).
    List {
        /// Namespace name.
        namespace: String,
    },
    /// Show an object.
    Show {
        /// Namespace name.
        namespace: String,
        /// Object name.
        object: String,
    },
    /// Create an object.
    Create {
        /// The namespace to create it in.
        #[arg(long, required = true)]
        namespace: String,
        /// New object name.
        name: String,
    },
    /// Rename an object (openstack's `object update`; `set` is osimg's older name). The
    /// object is read and sent whole, so its description and properties stay (openstack
    /// sends the name alone, and Glance's PUT clears what is left out).
    #[command(visible_alias = "set")]
    Update {
        /// Namespace name.
        namespace: String,
        /// Object name.
        object: String,
        /// New name of the object.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete objects; without names, every object of the namespace.
    Delete {
        /// Namespace name.
        namespace: String,
        /// Object names (none: all).
        objects: Vec<String>,
    },
    /// A property defined inside an object.
    Property {
        #[command(subcommand)]
        cmd: ObjectPropertyCmd,
    },
}

#[derive(Subcommand)]
pub enum ObjectPropertyCmd {
    /// Show one property of an object.
    Show {
        /// Namespace name.
        namespace: String,
        /// Object name.
        object: String,
        /// Property name.
        property: String,
    },
}

#[derive(Subcommand)]
pub enum PropertyCmd {
    /// List a namespace's properties (columns name, title, type).
    List {
        /// Namespace name.
        namespace: String,
    },
    /// Show a property.
    Show {
        /// Namespace name.
        namespace: String,
        /// Property name.
        property: String,
    },
    /// Create a property.
    Create {
        /// Internal name of the property.
        #[arg(long, required = true)]
        name: String,
        /// Property name displayed to the user.
        #[arg(long, required = true)]
        title: String,
        /// Property type (string, integer, number, boolean, array, object).
        #[arg(long = "type", required = true, value_name = "TYPE")]
        kind: String,
        /// More of the definition as a JSON object (`{"minimum": 0}`); openstack requires
        /// it, osimg does not.
        #[arg(long, value_name = "JSON")]
        schema: Option<String>,
        /// The namespace the property belongs to.
        namespace: String,
    },
    /// Change a property; what is not given keeps its value.
    Set {
        /// Internal name of the property (renames it).
        #[arg(long)]
        name: Option<String>,
        /// Property name displayed to the user.
        #[arg(long)]
        title: Option<String>,
        /// Property type.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// More of the definition as a JSON object, merged over the current one.
        #[arg(long, value_name = "JSON")]
        schema: Option<String>,
        /// Namespace name.
        namespace: String,
        /// Property name.
        property: String,
    },
    /// Delete properties; without names, every property of the namespace.
    Delete {
        /// Namespace name.
        namespace: String,
        /// Property names (none: all).
        properties: Vec<String>,
    },
}

/// The JSON keys of a property definition under the names openstack shows them with.
const OSC_NAMES: [(&str, &str); 7] = [
    ("readonly", "is_readonly"),
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
    ("uniqueItems", "require_unique_items"),
    ("minItems", "min_items"),
    ("maxItems", "max_items"),
    ("additionalItems", "allow_additional_items"),
];

/// A property as `openstack image metadef property show` prints it.
fn property_view(namespace: &str, p: &MetadefProperty) -> CmdResult<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("namespace_name".into(), json!(namespace));
    for (k, v) in json_object(p)? {
        let name = OSC_NAMES
            .iter()
            .find(|(json, _)| *json == k)
            .map_or(k.as_str(), |(_, osc)| osc);
        out.insert(name.to_owned(), v);
    }
    Ok(out)
}

/// An object as `openstack image metadef object show` prints it.
fn object_view(namespace: &str, o: &MetadefObject) -> CmdResult<Map<String, Value>> {
    let mut out = json_object(o)?;
    out.retain(|k, _| {
        matches!(
            k.as_str(),
            "created_at" | "description" | "name" | "properties" | "required" | "updated_at"
        )
    });
    out.insert("namespace_name".into(), json!(namespace));
    Ok(out)
}

/// `--schema`: a JSON object, else a usage error.
fn schema_arg(text: &str) -> CmdResult<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Fail::usage("--schema must be a JSON object")),
        Err(e) => Err(Fail::usage(format!("--schema is not JSON: {e}"))),
    }
}

fn rows<T: serde::Serialize>(items: &[T]) -> CmdResult<Vec<Value>> {
    items
        .iter()
        .map(|i| json_object(i).map(Value::Object))
        .collect()
}

pub async fn object(client: &Client, out: &Printer, cmd: ObjectCmd) -> CmdResult {
    let api = client.metadefs();
    match cmd {
        ObjectCmd::List { namespace } => {
            let objects = api.objects(&namespace).await?;
            let cols = [col("name", "name"), col("description", "description")];
            out.list(&cols, &rows(&objects)?, false)
        }
        ObjectCmd::Show { namespace, object } => {
            let o = api.object(&namespace, &object).await?;
            out.show(&object_view(&namespace, &o)?)
        }
        ObjectCmd::Create { namespace, name } => {
            let o = api
                .create_object(&namespace, &MetadefObject::new(name))
                .await?;
            out.show(&object_view(&namespace, &o)?)
        }
        ObjectCmd::Update {
            namespace,
            object,
            name,
        } => {
            let mut o = api.object(&namespace, &object).await?;
            if let Some(name) = name {
                o.name = name;
            }
            api.update_object(&namespace, &object, &o).await?;
            Ok(())
        }
        ObjectCmd::Delete { namespace, objects } if objects.is_empty() => {
            Ok(api.delete_objects(&namespace).await?)
        }
        ObjectCmd::Delete { namespace, objects } => {
            crate::delete_each("object", "", &objects, |name| {
                let (api, namespace) = (api.clone(), namespace.clone());
                async move { api.delete_object(&namespace, &name).await }
            })
            .await
        }
        ObjectCmd::Property {
            cmd:
                ObjectPropertyCmd::Show {
                    namespace,
                    object,
                    property,
                },
        } => {
            let o = api.object(&namespace, &object).await?;
            let Some(p) = o.properties.get(&property) else {
                return Err(Fail {
                    code: 3,
                    message: format!("property {property} not found in object {object}"),
                });
            };
            let mut view = json_object(p)?;
            view.insert("name".into(), json!(property));
            out.show(&view)
        }
    }
}

pub async fn property(client: &Client, out: &Printer, cmd: PropertyCmd) -> CmdResult {
    let api = client.metadefs();
    match cmd {
        PropertyCmd::List { namespace } => {
            let props = api.properties(&namespace).await?;
            let rows = props
                .iter()
                .map(|(name, p)| {
                    let mut row = json_object(p)?;
                    row.insert("name".into(), json!(name));
                    Ok(Value::Object(row))
                })
                .collect::<CmdResult<Vec<_>>>()?;
            let cols = [
                col("name", "name"),
                col("title", "title"),
                col("type", "type"),
            ];
            out.list(&cols, &rows, false)
        }
        PropertyCmd::Show {
            namespace,
            property,
        } => {
            let p = api.property(&namespace, &property).await?;
            out.show(&property_view(&namespace, &p)?)
        }
        PropertyCmd::Create {
            name,
            title,
            kind,
            schema,
            namespace,
        } => {
            let mut body = match schema {
                Some(text) => schema_arg(&text)?,
                None => Map::new(),
            };
            body.insert("name".into(), json!(name));
            body.insert("title".into(), json!(title));
            body.insert("type".into(), json!(kind));
            let p = definition(body)?;
            let created = api.create_property(&namespace, &p).await?;
            out.show(&property_view(&namespace, &created)?)
        }
        PropertyCmd::Set {
            name,
            title,
            kind,
            schema,
            namespace,
            property,
        } => {
            let mut body = json_object(&api.property(&namespace, &property).await?)?;
            body.entry("name").or_insert_with(|| json!(property));
            if let Some(text) = schema {
                body.extend(schema_arg(&text)?);
            }
            for (key, value) in [("name", name), ("title", title), ("type", kind)] {
                if let Some(v) = value {
                    body.insert(key.into(), json!(v));
                }
            }
            api.update_property(&namespace, &property, &definition(body)?)
                .await?;
            Ok(())
        }
        PropertyCmd::Delete {
            namespace,
            properties,
        } if properties.is_empty() => Ok(api.delete_properties(&namespace).await?),
        PropertyCmd::Delete {
            namespace,
            properties,
        } => {
            crate::delete_each("property", "", &properties, |name| {
                let (api, namespace) = (api.clone(), namespace.clone());
                async move { api.delete_property(&namespace, &name).await }
            })
            .await
        }
    }
}

/// A property definition from JSON (the generated type keeps any key it does not name).
fn definition(body: Map<String, Value>) -> CmdResult<MetadefProperty> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| Fail::usage(format!("not a property definition: {e}")))
}
