//! Image members: the projects a `shared` image is offered to, and their answers.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::generated::{Member, MemberStatus};
use crate::image::images::{Images, image_path};
use crate::validate::check_path_value;

#[derive(Deserialize)]
struct MembersBody {
    members: Vec<Member>,
}

fn member_path(image_id: &str, member: &str) -> Result<String> {
    check_path_value("member", member)?;
    Ok(format!("{}/members/{}", image_path(image_id)?, seg(member)))
}

impl Images {
    /// Offers a `shared` image to a project (its status starts as `pending`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let m = client.images().add_member("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "8989447062e04a818baf9e073fd04fa7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_member(&self, image_id: &str, project_id: &str) -> Result<Member> {
        check_path_value("member", project_id)?;
        let path = format!("{}/members", image_path(image_id)?);
        let req = Req::new(ServiceType::Image, Method::POST, path)
            .json(&json!({ "member": project_id }))?;
        self.client.send_json(req).await
    }

    /// The projects an image is shared with.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for m in client.images().members("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await? {
    ///     println!("{} {:?}", m.member_id, m.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn members(&self, image_id: &str) -> Result<Vec<Member>> {
        let path = format!("{}/members", image_path(image_id)?);
        let body: MembersBody = self
            .client
            .send_json(Req::new(ServiceType::Image, Method::GET, path))
            .await?;
        Ok(body.members)
    }

    /// One membership of an image.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let m = client.images().member("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "8989447062e04a818baf9e073fd04fa7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn member(&self, image_id: &str, project_id: &str) -> Result<Member> {
        let req = Req::new(
            ServiceType::Image,
            Method::GET,
            member_path(image_id, project_id)?,
        );
        self.client.send_json(req).await
    }

    /// Accepts, rejects or resets (pending) an offered image: called by the consumer project.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::MemberStatus;
    /// client.images().set_member_status("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "8989447062e04a818baf9e073fd04fa7", MemberStatus::Accepted).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_member_status(
        &self,
        image_id: &str,
        project_id: &str,
        status: MemberStatus,
    ) -> Result<Member> {
        let req = Req::new(
            ServiceType::Image,
            Method::PUT,
            member_path(image_id, project_id)?,
        )
        .json(&json!({ "status": status.as_str() }))?;
        self.client.send_json(req).await
    }

    /// Stops sharing an image with a project.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().remove_member("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "8989447062e04a818baf9e073fd04fa7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_member(&self, image_id: &str, project_id: &str) -> Result<()> {
        let req = Req::new(
            ServiceType::Image,
            Method::DELETE,
            member_path(image_id, project_id)?,
        );
        self.client.send(req).await.map(drop)
    }
}
