//! Image tasks (`/v2/tasks`): imports and other asynchronous work Glance reports on.

use std::time::SystemTime;

use futures_util::future::BoxFuture;
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::generated::Task;
use crate::image::images::{ImagesApi, image_path};
use crate::paging::{Page, PageSource, Paginator, next_marker_from_link};
use crate::timestamp::field_time;
use crate::validate::check_path_value;

/// The tasks the caller can see, one page at a time (from [`ImagesApi::tasks`]).
pub type TaskPaginator = Paginator<Task>;

#[derive(Deserialize)]
struct TasksBody {
    tasks: Vec<Task>,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /v2/tasks` as a page source (Glance pages it with `limit`, `marker` and `next`
/// like images).
struct TaskPages {
    api: ImagesApi,
}

impl PageSource for TaskPages {
    type Item = Task;

    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<Task>>> {
        let client = self.api.client.clone();
        let mut pairs = Vec::new();
        if let Some(size) = page_size {
            pairs.push(("limit".to_owned(), size.to_string()));
        }
        if let Some(marker) = marker {
            pairs.push(("marker".to_owned(), marker));
        }
        Box::pin(async move {
            let base = client.endpoint(ServiceType::Image).await?;
            let req = Req::new(ServiceType::Image, Method::GET, "tasks").query(pairs);
            let body: TasksBody = client.send_json(req).await?;
            let next_marker =
                next_marker_from_link(&base, body.next.as_deref(), &body.tasks, |t| {
                    Some(t.id.clone())
                });
            Ok(Page::new(body.tasks, next_marker))
        })
    }

    fn marker_after(&self, task: &Task) -> Option<String> {
        Some(task.id.clone())
    }
}

impl ImagesApi {
    /// The image tasks the caller can see (imports, for example), paged like images.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut tasks = client.images().tasks().page_size(100);
    /// while let Some(t) = tasks.try_next().await? {
    ///     println!("{} {:?}", t.id, t.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn tasks(&self) -> TaskPaginator {
        Paginator::new(TaskPages { api: self.clone() }, None, None)
    }

    /// One task by id.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let t = client.images().task("6ba4a2f8-5cb1-4a7b-a3c5-fb0e2c2b1e4e").await?;
    /// # Ok(()) }
    /// ```
    pub async fn task(&self, task_id: &str) -> Result<Task> {
        check_path_value("task id", task_id)?;
        let req = Req::new(
            ServiceType::Image,
            Method::GET,
            format!("tasks/{}", seg(task_id)),
        );
        self.client.send_json(req).await
    }

    /// The tasks of one image (`GET /v2/images/{id}/tasks`). Glance answers this in one
    /// response, without `limit` or `marker`, so it is a `Vec` rather than a paginator.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let t = client.images().image_tasks("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn image_tasks(&self, image_id: &str) -> Result<Vec<Task>> {
        let path = format!("{}/tasks", image_path(image_id)?);
        let body: TasksBody = self
            .client
            .send_json(Req::new(ServiceType::Image, Method::GET, path))
            .await?;
        Ok(body.tasks)
    }
}

/// A task's timestamps as times (the fields keep the server's text).
impl Task {
    /// `created_at` as a time; an error names the field if it is not a timestamp.
    ///
    /// ```
    /// let t: openstack_images::Task =
    ///     serde_json::from_str(r#"{"id": "t", "created_at": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert!(t.created_at_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn created_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("created_at", self.created_at.as_deref())
    }

    /// `updated_at` as a time.
    ///
    /// ```
    /// let t: openstack_images::Task =
    ///     serde_json::from_str(r#"{"id": "t", "updated_at": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert!(t.updated_at_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn updated_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("updated_at", self.updated_at.as_deref())
    }

    /// `expires_at` (when Glance forgets a finished task) as a time.
    ///
    /// ```
    /// let t: openstack_images::Task =
    ///     serde_json::from_str(r#"{"id": "t", "expires_at": "2026-11-25T12:57:41Z"}"#).unwrap();
    /// assert!(t.expires_at_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn expires_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("expires_at", self.expires_at.as_deref())
    }
}
