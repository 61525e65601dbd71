//! What a namespace holds (objects, properties, tags) and the resource types it applies to.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::pages::{MetadefTagPaginator, TagPages};
use super::{MetadefsApi, namespace_path, request_body};
use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::generated::{
    MetadefObject, MetadefProperty, MetadefResourceType, MetadefResourceTypeAssociation, MetadefTag,
};
use crate::paging::Paginator;
use crate::validate::check_path_value;

#[derive(Deserialize)]
struct ObjectsBody {
    objects: Vec<MetadefObject>,
}

#[derive(Deserialize)]
struct PropertiesBody {
    properties: BTreeMap<String, MetadefProperty>,
}

#[derive(Deserialize)]
struct TagsBody {
    tags: Vec<MetadefTag>,
}

#[derive(Deserialize)]
struct ResourceTypesBody {
    resource_types: Vec<MetadefResourceType>,
}

#[derive(Deserialize)]
struct AssociationsBody {
    resource_type_associations: Vec<MetadefResourceTypeAssociation>,
}

/// `metadefs/namespaces/{namespace}/{kind}` and, with a name, `.../{kind}/{name}`.
fn member_path(namespace: &str, kind: &str, name: Option<(&str, &str)>) -> Result<String> {
    let mut path = format!("{}/{kind}", namespace_path(namespace)?);
    if let Some((field, name)) = name {
        check_path_value(field, name)?;
        path.push('/');
        path.push_str(&seg(name));
    }
    Ok(path)
}

impl MetadefsApi {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: String) -> Result<T> {
        self.client
            .send_json(Req::new(ServiceType::Image, Method::GET, path))
            .await
    }

    async fn delete_path(&self, path: String) -> Result<()> {
        let req = Req::new(ServiceType::Image, Method::DELETE, path);
        self.client.send(req).await.map(drop)
    }

    async fn send_body<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: &serde_json::Value,
    ) -> Result<T> {
        let req = Req::new(ServiceType::Image, method, path).json(body)?;
        self.client.send_json(req).await
    }

    /// A namespace's objects. Glance answers in one response (it takes `limit` and
    /// `marker` but sends no link to a next page), so this is a `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for o in client.metadefs().objects("OS::Compute::CPUPinning").await? {
    ///     println!("{}: {} properties", o.name, o.properties.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn objects(&self, namespace: &str) -> Result<Vec<MetadefObject>> {
        let body: ObjectsBody = self.get(member_path(namespace, "objects", None)?).await?;
        Ok(body.objects)
    }

    /// One object of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let o = client.metadefs().object("OS::Compute::CPUPinning", "CPU Pinning").await?;
    /// # Ok(()) }
    /// ```
    pub async fn object(&self, namespace: &str, name: &str) -> Result<MetadefObject> {
        self.get(member_path(namespace, "objects", Some(("object", name)))?)
            .await
    }

    /// Creates an object in a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let mut o = openstack_images::MetadefObject::new("Schedule");
    /// o.description = Some("When backups run".into());
    /// client.metadefs().create_object("MyOrg::Backup", &o).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_object(
        &self,
        namespace: &str,
        object: &MetadefObject,
    ) -> Result<MetadefObject> {
        let path = member_path(namespace, "objects", None)?;
        self.send_body(Method::POST, path, &request_body(object, &[])?)
            .await
    }

    /// Replaces an object (`object.name` renames it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let api = client.metadefs();
    /// let mut o = api.object("MyOrg::Backup", "Schedule").await?;
    /// o.description = Some("Nightly".into());
    /// api.update_object("MyOrg::Backup", "Schedule", &o).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_object(
        &self,
        namespace: &str,
        name: &str,
        object: &MetadefObject,
    ) -> Result<MetadefObject> {
        let path = member_path(namespace, "objects", Some(("object", name)))?;
        self.send_body(Method::PUT, path, &request_body(object, &[])?)
            .await
    }

    /// Deletes one object.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_object("MyOrg::Backup", "Schedule").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_object(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete_path(member_path(namespace, "objects", Some(("object", name)))?)
            .await
    }

    /// Deletes every object of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_objects("MyOrg::Backup").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_objects(&self, namespace: &str) -> Result<()> {
        self.delete_path(member_path(namespace, "objects", None)?)
            .await
    }

    /// A namespace's property definitions, by name (one response, no paging).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for (name, p) in client.metadefs().properties("OS::Compute::Quota").await? {
    ///     println!("{name}: {:?}", p.type_);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn properties(&self, namespace: &str) -> Result<BTreeMap<String, MetadefProperty>> {
        let body: PropertiesBody = self
            .get(member_path(namespace, "properties", None)?)
            .await?;
        Ok(body.properties)
    }

    /// One property definition of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let p = client.metadefs().property("OS::Compute::Libvirt", "hw_machine_type").await?;
    /// # Ok(()) }
    /// ```
    pub async fn property(&self, namespace: &str, name: &str) -> Result<MetadefProperty> {
        self.get(member_path(
            namespace,
            "properties",
            Some(("property", name)),
        )?)
        .await
    }

    /// Creates a property definition (Glance requires `name`, `title` and `type`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{MetadefProperty, MetadefPropertyType};
    /// let mut p = MetadefProperty::default();
    /// p.name = Some("backup_hour".into());
    /// p.title = Some("Backup hour".into());
    /// p.type_ = Some(MetadefPropertyType::Integer);
    /// p.minimum = Some(0.into());
    /// p.maximum = Some(23.into());
    /// client.metadefs().create_property("MyOrg::Backup", &p).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_property(
        &self,
        namespace: &str,
        property: &MetadefProperty,
    ) -> Result<MetadefProperty> {
        let path = member_path(namespace, "properties", None)?;
        self.send_body(Method::POST, path, &request_body(property, &[])?)
            .await
    }

    /// Replaces a property definition (Glance requires `name`, `title` and `type` here too;
    /// a new `name` renames it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let api = client.metadefs();
    /// let mut p = api.property("MyOrg::Backup", "backup_hour").await?;
    /// p.name = Some("backup_hour".into());
    /// p.maximum = Some(12.into());
    /// api.update_property("MyOrg::Backup", "backup_hour", &p).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_property(
        &self,
        namespace: &str,
        name: &str,
        property: &MetadefProperty,
    ) -> Result<MetadefProperty> {
        let path = member_path(namespace, "properties", Some(("property", name)))?;
        self.send_body(Method::PUT, path, &request_body(property, &[])?)
            .await
    }

    /// Deletes one property definition.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_property("MyOrg::Backup", "backup_hour").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_property(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete_path(member_path(
            namespace,
            "properties",
            Some(("property", name)),
        )?)
        .await
    }

    /// Deletes every property definition of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_properties("MyOrg::Backup").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_properties(&self, namespace: &str) -> Result<()> {
        self.delete_path(member_path(namespace, "properties", None)?)
            .await
    }

    /// A namespace's tags, paged by tag name through `page_size`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let tags: Vec<_> = client.metadefs().tags("MyOrg::Backup").page_size(50).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn tags(&self, namespace: &str) -> MetadefTagPaginator {
        Paginator::new(TagPages::new(self, namespace), None, None)
    }

    /// One tag of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let t = client.metadefs().tag("MyOrg::Backup", "nightly").await?;
    /// # Ok(()) }
    /// ```
    pub async fn tag(&self, namespace: &str, name: &str) -> Result<MetadefTag> {
        self.get(member_path(namespace, "tags", Some(("tag", name)))?)
            .await
    }

    /// Creates one tag.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().create_tag("MyOrg::Backup", "nightly").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_tag(&self, namespace: &str, name: &str) -> Result<MetadefTag> {
        let path = member_path(namespace, "tags", Some(("tag", name)))?;
        let req = Req::new(ServiceType::Image, Method::POST, path);
        self.client.send_json(req).await
    }

    /// Creates several tags in one call. Without `append`, the namespace's existing tags
    /// are replaced by these; with it (`X-Openstack-Append`, Glance 2.10+), they are added.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().create_tags("MyOrg::Backup", ["nightly", "weekly"], true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_tags(
        &self,
        namespace: &str,
        names: impl IntoIterator<Item = impl AsRef<str>>,
        append: bool,
    ) -> Result<Vec<MetadefTag>> {
        let tags: Vec<_> = names
            .into_iter()
            .map(|n| json!({"name": n.as_ref()}))
            .collect();
        let path = member_path(namespace, "tags", None)?;
        let mut req =
            Req::new(ServiceType::Image, Method::POST, path).json(&json!({ "tags": tags }))?;
        if append {
            req = req.header(
                "x-openstack-append",
                reqwest::header::HeaderValue::from_static("True"),
            );
        }
        let body: TagsBody = self.client.send_json(req).await?;
        Ok(body.tags)
    }

    /// Renames a tag.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().rename_tag("MyOrg::Backup", "nightly", "daily").await?;
    /// # Ok(()) }
    /// ```
    pub async fn rename_tag(
        &self,
        namespace: &str,
        name: &str,
        new_name: &str,
    ) -> Result<MetadefTag> {
        let path = member_path(namespace, "tags", Some(("tag", name)))?;
        self.send_body(Method::PUT, path, &json!({ "name": new_name }))
            .await
    }

    /// Deletes one tag.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_tag("MyOrg::Backup", "daily").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_tag(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete_path(member_path(namespace, "tags", Some(("tag", name)))?)
            .await
    }

    /// Deletes every tag of a namespace.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().delete_tags("MyOrg::Backup").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_tags(&self, namespace: &str) -> Result<()> {
        self.delete_path(member_path(namespace, "tags", None)?)
            .await
    }

    /// Every resource type metadefs can apply to (one response, no paging).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for rt in client.metadefs().resource_types().await? {
    ///     println!("{}", rt.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resource_types(&self) -> Result<Vec<MetadefResourceType>> {
        let body: ResourceTypesBody = self.get("metadefs/resource_types".into()).await?;
        Ok(body.resource_types)
    }

    /// The resource types a namespace applies to.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let a = client.metadefs().resource_type_associations("OS::Compute::Libvirt").await?;
    /// # Ok(()) }
    /// ```
    pub async fn resource_type_associations(
        &self,
        namespace: &str,
    ) -> Result<Vec<MetadefResourceTypeAssociation>> {
        let body: AssociationsBody = self
            .get(member_path(namespace, "resource_types", None)?)
            .await?;
        Ok(body.resource_type_associations)
    }

    /// Associates a namespace with a resource type (created if Glance does not know it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let mut a = openstack_images::MetadefResourceTypeAssociation::new("OS::Glance::Image");
    /// a.prefix = Some("backup_".into());
    /// client.metadefs().associate_resource_type("MyOrg::Backup", &a).await?;
    /// # Ok(()) }
    /// ```
    pub async fn associate_resource_type(
        &self,
        namespace: &str,
        association: &MetadefResourceTypeAssociation,
    ) -> Result<MetadefResourceTypeAssociation> {
        let path = member_path(namespace, "resource_types", None)?;
        self.send_body(Method::POST, path, &request_body(association, &[])?)
            .await
    }

    /// Removes a namespace's association with a resource type.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.metadefs().dissociate_resource_type("MyOrg::Backup", "OS::Glance::Image").await?;
    /// # Ok(()) }
    /// ```
    pub async fn dissociate_resource_type(
        &self,
        namespace: &str,
        resource_type: &str,
    ) -> Result<()> {
        self.delete_path(member_path(
            namespace,
            "resource_types",
            Some(("resource type", resource_type)),
        )?)
        .await
    }
}
