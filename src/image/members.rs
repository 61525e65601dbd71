//! Image members: the projects a `shared` image is offered to, and their answers.

use std::time::SystemTime;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::generated::{Member, MemberStatus};
use crate::image::images::{ImagesApi, image_path};
use crate::timestamp::field_time;
use crate::validate::check_path_value;

/// Glance's 403 to adding a member often says nothing of why: the usual cause.
const ADD_MEMBER_FORBIDDEN: &str = "the image's visibility must be `shared` for it to have \
     members (private, public and community images have none), and only its owner can add them";

#[derive(Deserialize)]
struct MembersBody {
    members: Vec<Member>,
}

fn member_path(image_id: &str, member: &str) -> Result<String> {
    check_path_value("member", member)?;
    Ok(format!("{}/members/{}", image_path(image_id)?, seg(member)))
}

impl ImagesApi {
    /// Offers a `shared` image to a project (its status starts as `pending`). Glance refuses
    /// it with a 403 for an image of any other visibility; the error's
    /// [`hint`](crate::ApiError::hint) says so.
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
        self.client
            .send_json(req)
            .await
            .map_err(|e| e.with_hint(403, ADD_MEMBER_FORBIDDEN))
    }

    /// The projects an image is shared with. Glance answers this in one response, without
    /// `limit` or `marker`, so it is a `Vec` rather than a paginator.
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

/// A membership's timestamps as times (the fields keep the server's text).
impl Member {
    /// `created_at` as a time; an error names the field if it is not a timestamp.
    ///
    /// ```
    /// let m: openstack_images::Member = serde_json::from_str(
    ///     r#"{"member_id": "p", "created_at": "2026-11-23T12:57:41Z"}"#,
    /// ).unwrap();
    /// assert!(m.created_at_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn created_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("created_at", self.created_at.as_deref())
    }

    /// `updated_at` as a time.
    ///
    /// ```
    /// let m: openstack_images::Member = serde_json::from_str(r#"{"member_id": "p"}"#).unwrap();
    /// assert_eq!(m.updated_at_time()?, None);
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn updated_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("updated_at", self.updated_at.as_deref())
    }
}
