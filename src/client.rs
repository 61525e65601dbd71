//! The [`Client`]: one connection pool, one auth session, and the door from the services to
//! the request pipeline (`crate::http`): a service names its request relative to its
//! endpoint, the client resolves the endpoint and sends it with the session's token.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::Session;
use crate::auth::cache::TokenCache;
use crate::clouds::CloudConfig;
use crate::error::{Error, Result};
use crate::http::{Pipeline, RetryPolicy, Settings, url_of};
pub(crate) use crate::http::{Req, ReqBody, idle_timeout, seg, transport_error};
pub use crate::service::ServiceType;

pub(crate) struct Inner {
    pub pipeline: Pipeline,
    pub session: Session,
    /// What the image endpoint's version document says it offers, read once.
    pub image_features: tokio::sync::OnceCell<crate::image::features::ImageFeatures>,
}

/// A client for the Image (Glance v2) and Compute images (Nova v2.1) APIs.
///
/// Cheap to clone: clones share the connection pool and the authentication session, so a
/// token is obtained once and refreshed once, whatever the number of tasks using it.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session", &self.inner.session)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`] from a cloud configuration and transport settings.
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// use openstack_images::{Client, CloudConfig};
/// let client = Client::builder()
///     .cloud(CloudConfig::from_env()?)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    cloud: Option<CloudConfig>,
    retry: Option<RetryPolicy>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_json_bytes: Option<u64>,
    token_cache: Option<TokenCache>,
}

/// Default cap on a JSON response body: 64 MiB (a 1,000-image page is about 1 MiB).
pub const DEFAULT_MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

impl ClientBuilder {
    /// Uses this cloud configuration (credentials, endpoints, TLS).
    pub fn cloud(mut self, cloud: CloudConfig) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// Sets the retry policy for idempotent requests.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Sets the TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// Sets how long a download may wait for its response or its next bytes (default 60 s).
    /// Image data transfers are not bound by [`timeout`](Self::timeout) -- they take as long
    /// as they need while bytes keep coming -- so this is what ends a stalled download (which
    /// then resumes where it stopped). Uploads are not affected: the server answers only once
    /// it has the whole body.
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.read_timeout = Some(d);
        self
    }

    /// Sets a timeout for whole metadata requests (default 120 s). Image data transfers
    /// are not bound by it; they fail when the connection stalls instead.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Sets the cap on JSON response bodies (default [`DEFAULT_MAX_JSON_BYTES`]).
    pub fn max_json_bytes(mut self, n: u64) -> Self {
        self.max_json_bytes = Some(n);
        self
    }

    /// Keeps tokens in this on-disk cache, so that another client (another process) with
    /// the same auth parameters reuses a still-valid token and its catalog instead of
    /// authenticating (off by default; `osimg` turns it on). Passwords and secrets are never
    /// written, but they select the file, so a changed password does not reuse a token; see
    /// [`TokenCache`] for the file rules. `auth_type: token` and `none` are not cached.
    ///
    /// ```no_run
    /// # fn run() -> openstack_images::Result<()> {
    /// use openstack_images::{Client, CloudConfig, TokenCache};
    /// let mut builder = Client::builder().cloud(CloudConfig::from_env()?);
    /// if let Some(cache) = TokenCache::user_default() {
    ///     builder = builder.token_cache(cache);
    /// }
    /// let client = builder.build()?;
    /// # Ok(()) }
    /// ```
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = Some(cache);
        self
    }

    /// Builds the client. Authentication happens lazily, on the first request.
    pub fn build(self) -> Result<Client> {
        let cloud = self
            .cloud
            .ok_or_else(|| Error::Config("no cloud configuration given".into()))?;
        let http = crate::tls::http_client(
            &cloud,
            self.connect_timeout.unwrap_or(Duration::from_secs(10)),
        )?;
        let settings = Settings {
            retry: self.retry.unwrap_or_default(),
            max_json_bytes: self.max_json_bytes.unwrap_or(DEFAULT_MAX_JSON_BYTES),
            timeout: self.timeout.unwrap_or(Duration::from_secs(120)),
            read_timeout: self.read_timeout.unwrap_or(Duration::from_secs(60)),
        };
        let pipeline = Pipeline { http, settings };
        let session = Session::new(pipeline.clone(), cloud, self.token_cache.as_ref())?;
        Ok(Client {
            inner: Arc::new(Inner {
                pipeline,
                session,
                image_features: tokio::sync::OnceCell::new(),
            }),
        })
    }
}

impl Client {
    /// Starts a [`ClientBuilder`].
    ///
    /// ```
    /// let b = openstack_images::Client::builder();
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Builds a client the way the `openstack` CLI finds its cloud: `OS_CLOUD` (or a
    /// clouds.yaml with a single cloud) when a clouds.yaml exists, otherwise `OS_*` variables.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// let client = openstack_images::Client::from_env()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Client> {
        Client::builder().cloud(CloudConfig::from_env()?).build()
    }

    /// Builds a client for the named cloud of the user's clouds.yaml.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// let client = openstack_images::Client::from_cloud("mycloud")?;
    /// # Ok(()) }
    /// ```
    pub fn from_cloud(name: &str) -> Result<Client> {
        Client::builder()
            .cloud(CloudConfig::from_cloud(name)?)
            .build()
    }

    /// The versioned base URL of a service (ends with `/`), as discovered from the catalog
    /// or configured as an override.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ServiceType;
    /// println!("{}", client.endpoint(ServiceType::Image).await?);
    /// # Ok(()) }
    /// ```
    pub async fn endpoint(&self, service: ServiceType) -> Result<Url> {
        self.inner.session.endpoint(service).await
    }

    /// Sends a request through the pipeline: auth, same-origin redirects, retries, re-auth on
    /// 401, error mapping. Returns the response of a 2xx status; its body is the caller's.
    pub(crate) async fn send(&self, req: Req) -> Result<reqwest::Response> {
        let base = self.endpoint(req.service).await?;
        let url = url_of(&base, &req.path, &req.query)?;
        self.send_url(req, url).await
    }

    /// Like [`Client::send`], to an absolute URL (a pagination link, a `Location`).
    pub(crate) async fn send_url(&self, req: Req, url: Url) -> Result<reqwest::Response> {
        self.inner
            .pipeline
            .send(req, &url, &self.inner.session)
            .await
    }

    /// Sends a request and decodes its JSON body, within the size cap.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, req: Req) -> Result<T> {
        let base = self.endpoint(req.service).await?;
        let url = url_of(&base, &req.path, &req.query)?;
        self.inner
            .pipeline
            .json(req, &url, &self.inner.session)
            .await
    }

    /// The settings every request of this client is sent with.
    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.pipeline.settings
    }

    /// Authenticates now, if the client holds no valid token yet (requests do this on their
    /// own; this is for reporting credential problems early). A no-op for `auth_type: none`.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// let client = openstack_images::Client::from_env()?;
    /// client.authenticate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn authenticate(&self) -> Result<()> {
        self.inner.session.current().await.map(|_| ())
    }

    /// The id of the project the token is scoped to (`None` without a project scope or
    /// without authentication).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// if let Some(project) = client.project_id().await? {
    ///     println!("working in project {project}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn project_id(&self) -> Result<Option<String>> {
        Ok(self
            .inner
            .session
            .current()
            .await?
            .and_then(|(_, info)| info.project.as_ref().map(|p| p.id.clone())))
    }

    /// The id of the authenticated user (`None` for `auth_type: none`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// println!("{:?}", client.user_id().await?);
    /// # Ok(()) }
    /// ```
    pub async fn user_id(&self) -> Result<Option<String>> {
        Ok(self
            .inner
            .session
            .current()
            .await?
            .and_then(|(_, info)| info.user.as_ref().map(|u| u.id.clone())))
    }

    /// How many authentication requests this client (and its clones) has sent.
    ///
    /// ```
    /// # async fn run(client: openstack_images::Client) {
    /// assert_eq!(client.auth_count(), 0);
    /// # }
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn auth_count(&self) -> u64 {
        self.inner.session.auth_count()
    }

    /// Revokes the client's current token at Keystone without telling the session, so that
    /// the next request meets a `401`. For tests of the re-authentication path.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.revoke_token_unnoticed().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub async fn revoke_token_unnoticed(&self) -> Result<()> {
        use crate::http::{Anonymous, Credentials};
        let session = &self.inner.session;
        let (Some(auth_url), Some(token)) = (session.auth_url(), session.token().await?) else {
            return Ok(());
        };
        let mut value = reqwest::header::HeaderValue::from_str(token.expose())
            .map_err(|_| Error::Protocol("token has invalid characters".into()))?;
        value.set_sensitive(true);
        let req = Req::new(
            ServiceType::Identity,
            reqwest::Method::DELETE,
            "auth/tokens",
        )
        .header("x-auth-token", value.clone())
        .header("x-subject-token", value);
        let url = url_of(auth_url, &req.path, &req.query)?;
        self.inner
            .pipeline
            .send(req, &url, &Anonymous)
            .await
            .map(drop)
    }

    /// GETs a path below a service's endpoint through the full pipeline and returns the JSON.
    /// For tests that need a request before the typed APIs cover it.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let info = client.raw_get_json(openstack_images::ServiceType::Image, "info/import").await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub async fn raw_get_json(
        &self,
        service: ServiceType,
        path: &str,
    ) -> Result<serde_json::Value> {
        self.send_json(Req::new(service, reqwest::Method::GET, path))
            .await
    }
}
