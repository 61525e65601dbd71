//! Metadata definitions (`/v2/metadefs`): namespaces of property definitions, objects and
//! tags, and the resource types (`OS::Glance::Image`, ...) they apply to.
//!
//! The types are generated from Glance's `/v2/schemas/metadefs/*` and read leniently like
//! images; the generated types are also the request bodies, with the read-only fields
//! (`created_at`, `updated_at`, `self`, `schema`) left out of what is sent.

mod contents;
mod image_rules;
mod pages;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, Req, ServiceType, seg};
use crate::error::{Error, Result};
use crate::generated::MetadefNamespace;
use crate::image::query::SortDir;
use crate::paging::Paginator;
use crate::validate::check_path_value;

pub use image_rules::{IMAGE_RESOURCE_TYPE, MetadefImageRules};
pub use pages::{MetadefNamespacePaginator, MetadefTagPaginator};

/// The metadata definitions API, from [`Client::metadefs`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let ns = client.metadefs().namespace("OS::Compute::Quota").await?;
/// println!("{} properties", ns.properties.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MetadefsApi {
    pub(crate) client: Client,
}

impl Client {
    /// The metadata definitions (metadefs) of the Image service.
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let metadefs = client.metadefs();
    /// # }
    /// ```
    pub fn metadefs(&self) -> MetadefsApi {
        MetadefsApi {
            client: self.clone(),
        }
    }
}

/// Fields the served schemas mark `readOnly`: never sent.
const READ_ONLY: [&str; 4] = ["created_at", "updated_at", "self", "schema"];

/// A generated type as a request body: its JSON without the read-only fields (and without
/// `extra` keys of the same names).
pub(crate) fn request_body(value: &impl Serialize, also_drop: &[&str]) -> Result<Value> {
    let mut v = serde_json::to_value(value).map_err(|e| Error::invalid("body", e.to_string()))?;
    if let Some(object) = v.as_object_mut() {
        for key in READ_ONLY.iter().chain(also_drop) {
            object.remove(*key);
        }
    }
    Ok(v)
}

pub(crate) fn namespace_path(namespace: &str) -> Result<String> {
    check_path_value("namespace", namespace)?;
    Ok(format!("metadefs/namespaces/{}", seg(namespace)))
}

/// Filters and order of [`MetadefsApi::namespaces`] (Glance: `visibility`,
/// `resource_types`, `sort_key`, `sort_dir`).
///
/// ```
/// use openstack_images::{MetadefNamespaceQuery, SortDir};
/// let q = MetadefNamespaceQuery::default()
///     .resource_type("OS::Glance::Image")
///     .visibility("public")
///     .sort("namespace", SortDir::Asc);
/// assert_eq!(q.pairs()[0], ("visibility".to_string(), "public".to_string()));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct MetadefNamespaceQuery {
    visibility: Option<String>,
    resource_types: Vec<String>,
    sort: Option<(String, SortDir)>,
}

impl MetadefNamespaceQuery {
    /// Only namespaces of this visibility (`public` or `private`).
    pub fn visibility(mut self, visibility: impl Into<String>) -> Self {
        self.visibility = Some(visibility.into());
        self
    }

    /// Only namespaces associated with this resource type; repeat for any of several.
    pub fn resource_type(mut self, name: impl Into<String>) -> Self {
        self.resource_types.push(name.into());
        self
    }

    /// Order by `key` (`namespace`, `created_at`, ...); Glance's default is `created_at`
    /// descending.
    pub fn sort(mut self, key: impl Into<String>, dir: SortDir) -> Self {
        self.sort = Some((key.into(), dir));
        self
    }

    /// The query string pairs, in a fixed order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(v) = &self.visibility {
            out.push(("visibility".into(), v.clone()));
        }
        if !self.resource_types.is_empty() {
            out.push(("resource_types".into(), self.resource_types.join(",")));
        }
        if let Some((key, dir)) = &self.sort {
            out.push(("sort_key".into(), key.clone()));
            out.push(("sort_dir".into(), dir.as_str().into()));
        }
        out
    }
}

impl MetadefsApi {
    /// The namespaces the caller can see, paged by namespace name.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::MetadefNamespaceQuery;
    /// let query = MetadefNamespaceQuery::default().resource_type("OS::Glance::Image");
    /// let mut list = client.metadefs().namespaces(query).page_size(20);
    /// while let Some(ns) = list.try_next().await? {
    ///     println!("{}", ns.namespace);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn namespaces(&self, query: MetadefNamespaceQuery) -> MetadefNamespacePaginator {
        Paginator::new(pages::namespace_pages(self, query), None, None)
    }

    /// One namespace with its properties, objects, tags and resource type associations.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let ns = client.metadefs().namespace("OS::Compute::Quota").await?;
    /// # Ok(()) }
    /// ```
    pub async fn namespace(&self, namespace: &str) -> Result<MetadefNamespace> {
        let req = Req::new(ServiceType::Image, Method::GET, namespace_path(namespace)?);
        self.client.send_json(req).await
    }

    /// One namespace as seen for a resource type: property names carry that association's
    /// prefix (`hw_` for `OS::Glance::Image` in `OS::Compute::Hypervisor`, say).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let ns = client.metadefs().namespace_for("OS::Compute::Libvirt", "OS::Glance::Image").await?;
    /// # Ok(()) }
    /// ```
    pub async fn namespace_for(
        &self,
        namespace: &str,
        resource_type: &str,
    ) -> Result<MetadefNamespace> {
        let req = Req::new(ServiceType::Image, Method::GET, namespace_path(namespace)?)
            .query(vec![("resource_type".into(), resource_type.into())]);
        self.client.send_json(req).await
    }

    /// Creates a namespace, with any properties, objects and tags it holds (Glance creates
    /// them in the same call).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{MetadefNamespace, MetadefNamespaceVisibility};
    /// let mut ns = MetadefNamespace::new("MyOrg::Backup");
    /// ns.display_name = Some("Backup policy".into());
    /// ns.visibility = Some(MetadefNamespaceVisibility::Private);
    /// let created = client.metadefs().create_namespace(&ns).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_namespace(&self, namespace: &MetadefNamespace) -> Result<MetadefNamespace> {
        let body = request_body(namespace, &[])?;
        let req = Req::new(ServiceType::Image, Method::POST, "metadefs/namespaces").json(&body)?;
        self.client.send_json(req).await
    }

    /// Replaces a namespace's own fields (name, display name, description, visibility,
    /// protection) with those of `namespace`; its contents are left alone. Glance's PUT
    /// clears a field the body leaves out, so start from [`MetadefsApi::namespace`] and
    /// change what you mean to (as `osimg image metadef namespace set` does; OSC sends only
    /// the options given, which clears the others).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let api = client.metadefs();
    /// let mut ns = api.namespace("MyOrg::Backup").await?;
    /// ns.description = Some("Nightly backups".into());
    /// let updated = api.update_namespace("MyOrg::Backup", &ns).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_namespace(
        &self,
        namespace: &str,
        fields: &MetadefNamespace,
    ) -> Result<MetadefNamespace> {
        let body = request_body(
            fields,
            &[
                "properties",
                "objects",
                "tags",
                "resource_type_associations",
            ],
        )?;
        let req =
            Req::new(ServiceType::Image, Method::PUT, namespace_path(namespace)?).json(&body)?;
        self.client.send_json(req).await
    }

    /// Deletes a namespace and everything in it (refused while it is `protected`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_namespace("MyOrg::Backup").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        let req = Req::new(
            ServiceType::Image,
            Method::DELETE,
            namespace_path(namespace)?,
        );
        self.client.send(req).await.map(drop)
    }

    /// Deletes a namespace's objects, properties and tags, keeping the namespace itself
    /// and its resource type associations (three calls: Glance has one per kind).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_namespace_contents("MyOrg::Backup").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_namespace_contents(&self, namespace: &str) -> Result<()> {
        self.delete_objects(namespace).await?;
        self.delete_properties(namespace).await?;
        self.delete_tags(namespace).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_fields_are_those_the_served_schemas_mark() {
        let mut marked = std::collections::BTreeSet::new();
        for text in [
            include_str!("../../../schemas/image/v2/metadefs/namespace.json"),
            include_str!("../../../schemas/image/v2/metadefs/object.json"),
            include_str!("../../../schemas/image/v2/metadefs/property.json"),
            include_str!("../../../schemas/image/v2/metadefs/tag.json"),
            include_str!("../../../schemas/image/v2/metadefs/resource_type.json"),
        ] {
            let schema: Value = serde_json::from_str(text).unwrap();
            for (name, prop) in schema["properties"].as_object().unwrap() {
                if prop["readOnly"] == Value::Bool(true) {
                    marked.insert(name.clone());
                }
            }
        }
        let ours: std::collections::BTreeSet<String> =
            READ_ONLY.iter().map(|s| s.to_string()).collect();
        assert_eq!(marked, ours);
    }

    #[test]
    fn request_bodies_leave_read_only_fields_out() {
        let mut ns = MetadefNamespace::new("X");
        ns.created_at = Some("2026-01-01T00:00:00Z".into());
        ns.extra
            .insert("schema".into(), "/v2/schemas/metadefs/namespace".into());
        ns.description = Some("d".into());
        assert_eq!(
            request_body(&ns, &[]).unwrap(),
            serde_json::json!({"namespace": "X", "description": "d"})
        );
    }

    #[test]
    fn an_empty_namespace_name_is_refused_before_any_request() {
        assert!(namespace_path("").is_err());
        assert_eq!(
            namespace_path("OS::Glance::Image").unwrap(),
            "metadefs/namespaces/OS%3A%3AGlance%3A%3AImage"
        );
    }
}
