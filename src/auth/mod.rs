//! Keystone v3 authentication: the session that holds a client's token, and the endpoints
//! it resolves from the token's catalog.
//!
//! A session holds one token per client (shared by all clones): it authenticates lazily,
//! reuses the token until shortly before it expires, and re-authenticates once, whatever the
//! number of tasks that saw a `401`. Endpoints come from the token's catalog (or the
//! configured overrides) and are resolved once per session; the Image endpoint's version is
//! discovered with one `GET` when the catalog gives it unversioned. Token requests and
//! discovery go through the same pipeline as every other request (`crate::http`): the same
//! retries, size cap and redirect policy, so a password body never follows a redirect to
//! another origin.

pub(crate) mod cache;
pub(crate) mod catalog;
pub(crate) mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use crate::clouds::{AuthType, CloudConfig};
use crate::error::{Error, Result};
use crate::http::{Anonymous, Credentials, Pipeline, Req, decode_bytes};
use crate::secret::Secret;
use crate::service::ServiceType;
use cache::{CacheFile, CachedToken, FORMAT_VERSION, TokenCache};
use catalog::{
    compute_base, is_version_segment, last_segment, select_endpoint, versions_offer_v2, with_slash,
};
use token::{Token, TokenBody, TokenInfo, auth_body, auth_url_v3, token_from_body};

/// The authentication session shared by all clones of a client.
pub(crate) struct Session {
    pipeline: Pipeline,
    cloud: CloudConfig,
    auth_url: Option<Url>,
    /// The current token; the lock is held across an authentication so that only one
    /// happens at a time.
    state: Mutex<Option<Token>>,
    image: OnceCell<Url>,
    /// The image endpoint's version document, when finding the endpoint fetched it (the
    /// feature check reads it instead of asking again).
    image_versions: std::sync::OnceLock<Value>,
    compute: OnceCell<Url>,
    auth_count: AtomicU64,
    /// The on-disk cache of this session's auth parameters, if one is used.
    cache: Option<CacheFile>,
    /// Set once the cache has been read: a token it held is not read again after a 401.
    cache_read: OnceCell<()>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cloud", &self.cloud.cloud_name)
            .field("auth_type", &self.cloud.auth_type)
            .field("auth_url", &self.auth_url.as_ref().map(Url::as_str))
            .field("image", &self.image.get().map(Url::as_str))
            .field("compute", &self.compute.get().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl Credentials for Session {
    async fn token(&self) -> Result<Option<Secret>> {
        Ok(self.current().await?.map(|(t, _)| t))
    }

    async fn rejected(&self, token: &Secret) {
        let mut state = self.state.lock().await;
        let Some(t) = state.as_mut().filter(|t| &t.value == token) else {
            return;
        };
        tracing::debug!("token rejected; the next request re-authenticates");
        t.stale = true;
        drop(state);
        let token = token.clone();
        self.on_disk(move |file| file.remove_if_holding(&token))
            .await;
    }
}

impl Session {
    pub(crate) fn new(
        pipeline: Pipeline,
        cloud: CloudConfig,
        cache: Option<&TokenCache>,
    ) -> Result<Self> {
        cloud.validate()?;
        let auth_url = match cloud.auth_type {
            AuthType::None => None,
            _ => Some(auth_url_v3(cloud.auth_url.as_deref().unwrap_or_default())?),
        };
        let cache = cache
            .zip(auth_url.as_ref())
            .and_then(|(c, url)| CacheFile::for_cloud(c, &cloud, url.as_str()));
        Ok(Session {
            cache,
            cache_read: OnceCell::new(),
            pipeline,
            cloud,
            auth_url,
            state: Mutex::new(None),
            image: OnceCell::new(),
            image_versions: std::sync::OnceLock::new(),
            compute: OnceCell::new(),
            auth_count: AtomicU64::new(0),
        })
    }

    /// The image endpoint's version document, if finding the endpoint fetched one.
    pub(crate) fn image_versions(&self) -> Option<&Value> {
        self.image_versions.get()
    }

    /// The token and its body, authenticating first if needed; `None` for `auth_type: none`.
    pub(crate) async fn current(&self) -> Result<Option<(Secret, Arc<TokenInfo>)>> {
        let Some(auth_url) = &self.auth_url else {
            return Ok(None);
        };
        self.read_cache().await;
        let mut state = self.state.lock().await;
        if let Some(t) = state.as_ref().filter(|t| t.usable(SystemTime::now())) {
            return Ok(Some((t.value.clone(), t.info.clone())));
        }
        let (token, entry) = self.authenticate(auth_url).await?;
        let out = (token.value.clone(), token.info.clone());
        *state = Some(token);
        drop(state);
        if let Some(entry) = entry {
            self.on_disk(move |file| file.store(&entry)).await;
        }
        Ok(Some(out))
    }

    /// Runs a call of the cache file on tokio's blocking threads (it reads, writes and
    /// syncs files): no runtime thread waits on the disk. Callers hold no lock meanwhile.
    async fn on_disk<T: Send + 'static>(
        &self,
        call: impl FnOnce(&CacheFile) -> T + Send + 'static,
    ) -> Option<T> {
        let file = self.cache.clone()?;
        tokio::task::spawn_blocking(move || call(&file)).await.ok()
    }

    /// Takes the cached token (and endpoint) once, before any endpoint is resolved (the
    /// endpoint cell cannot be filled while it is being initialised); concurrent first
    /// callers wait for the one read.
    async fn read_cache(&self) {
        if self.cache.is_none() {
            return;
        }
        self.cache_read
            .get_or_init(|| async {
                let entry = self.on_disk(CacheFile::load).await.flatten();
                if let Some(token) = entry.and_then(|e| self.token_from_cache(e)) {
                    self.state.lock().await.get_or_insert(token);
                }
            })
            .await;
    }

    /// A still-usable token of a cache entry (and the Image endpoint found with it).
    fn token_from_cache(&self, entry: CachedToken) -> Option<Token> {
        let body: TokenBody = serde_json::from_value(entry.body).ok()?;
        let token = token_from_body(entry.token, body, SystemTime::now());
        // A token without an expiry is not trusted from disk: nothing says when to drop it.
        if token.refresh_at.is_none() || !token.usable(SystemTime::now()) {
            return None;
        }
        if let Some(url) = entry.image_endpoint.and_then(|u| Url::parse(&u).ok()) {
            let _ = self.image.set(url);
        }
        tracing::debug!(
            expires_at = token.info.expires_at.as_deref().unwrap_or("?"),
            "using a cached token"
        );
        Some(token)
    }

    /// Adds the discovered Image endpoint to the cache file of the current token.
    async fn cache_image_endpoint(&self, base: &Url) {
        if self.cache.is_none() {
            return;
        }
        let Some(current) = self.state.lock().await.as_ref().map(|t| t.value.clone()) else {
            return;
        };
        let base = base.to_string();
        self.on_disk(move |file| {
            if let Some(mut entry) = file.load().filter(|e| e.token == current) {
                entry.image_endpoint = Some(base);
                file.store(&entry);
            }
        })
        .await;
    }

    /// How many authentication requests this session has sent.
    #[cfg(feature = "test-util")]
    pub(crate) fn auth_count(&self) -> u64 {
        self.auth_count.load(Ordering::Relaxed)
    }

    /// Keystone's v3 root, when the session authenticates.
    #[cfg(feature = "test-util")]
    pub(crate) fn auth_url(&self) -> Option<&Url> {
        self.auth_url.as_ref()
    }

    /// `POST /v3/auth/tokens`, retried like any idempotent request (a token request has no
    /// side effect a repeat could double). A 4xx is an [`Error::Auth`]. With a cache, also
    /// the entry to write (by the caller, once it has let go of the token lock).
    async fn authenticate(&self, auth_url: &Url) -> Result<(Token, Option<CachedToken>)> {
        let req = Req::new(ServiceType::Identity, Method::POST, "auth/tokens")
            .json(&auth_body(&self.cloud)?)
            .map_err(|e| Error::Config(format!("cannot encode the auth request: {e}")))?
            .idempotent(true);
        let url = crate::http::url_of(auth_url, &req.path, &req.query)?;
        self.auth_count.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %url, auth_type = self.cloud.auth_type.as_str(), "authenticating");
        let fetched = match self.pipeline.fetch(req, &url, &Anonymous).await {
            Ok(f) => f,
            Err(Error::Api(api)) if (400..500).contains(&api.status) => {
                tracing::debug!(url = %url, status = api.status, "authentication refused");
                let message = if api.message.is_empty() {
                    StatusCode::from_u16(api.status)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|_| api.status.to_string())
                } else {
                    api.message
                };
                return Err(Error::Auth {
                    message,
                    status: Some(api.status),
                });
            }
            Err(e) => return Err(e),
        };
        let value = fetched
            .headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new)
            .ok_or_else(|| Error::Protocol("Keystone answered without X-Subject-Token".into()))?;
        let body: TokenBody = decode_bytes(&Method::POST, &fetched.url, &fetched.body)?;
        tracing::debug!(
            expires_at = body.token.expires_at.as_deref().unwrap_or("?"),
            "authenticated"
        );
        let entry = self
            .cache
            .as_ref()
            .and_then(|_| serde_json::from_slice(&fetched.body).ok())
            .map(|raw| CachedToken {
                version: FORMAT_VERSION,
                token: value.clone(),
                body: raw,
                image_endpoint: None,
            });
        Ok((token_from_body(value, body, SystemTime::now()), entry))
    }

    /// The versioned base URL of a service, ending with `/`.
    pub(crate) async fn endpoint(&self, service: ServiceType) -> Result<Url> {
        let cell = match service {
            ServiceType::Image => &self.image,
            ServiceType::Compute => &self.compute,
            ServiceType::Identity => {
                return self
                    .auth_url
                    .clone()
                    .ok_or_else(|| Error::Config("no identity endpoint: auth_type none".into()));
            }
        };
        self.read_cache().await;
        cell.get_or_try_init(|| self.resolve(service))
            .await
            .cloned()
    }

    async fn resolve(&self, service: ServiceType) -> Result<Url> {
        let configured = match service {
            ServiceType::Image => self.cloud.image_endpoint_override.clone().or_else(|| {
                (self.cloud.auth_type == AuthType::None)
                    .then(|| self.cloud.endpoint.clone())
                    .flatten()
            }),
            ServiceType::Compute => self.cloud.compute_endpoint_override.clone(),
            ServiceType::Identity => self.auth_url.as_ref().map(Url::to_string),
        };
        let raw = match configured {
            Some(u) => u,
            None => {
                let Some((_, info)) = self.current().await? else {
                    return Err(Error::Config(format!(
                        "no {service} endpoint: auth_type none needs {service}_endpoint_override"
                    )));
                };
                let catalog = info.catalog.as_deref().ok_or_else(|| {
                    Error::Config(
                        "the token has no service catalog (is the authentication scoped to a project?)"
                            .into(),
                    )
                })?;
                select_endpoint(
                    catalog,
                    service.as_str(),
                    self.cloud.interface.as_str(),
                    self.cloud.region_name.as_deref(),
                )?
            }
        };
        let url = catalog::http_url(&raw, &format!("{service} endpoint"))?;
        let base = match service {
            ServiceType::Image => {
                let base = self.discover_image(url).await?;
                self.cache_image_endpoint(&base).await;
                base
            }
            ServiceType::Compute => compute_base(url),
            ServiceType::Identity => with_slash(url),
        };
        tracing::debug!(service = service.as_str(), endpoint = %base, "endpoint");
        Ok(base)
    }

    /// The Image API v2 base below an endpoint: used directly when it ends with `/v2`,
    /// otherwise confirmed with one `GET` of the version document and built as
    /// `<endpoint>/v2/` (the document's own links may name an internal host).
    async fn discover_image(&self, url: Url) -> Result<Url> {
        let last = last_segment(&url);
        if is_version_segment(last, "2") {
            return Ok(with_slash(url));
        }
        if is_version_segment(last, "1") {
            return Err(Error::Config(format!(
                "image endpoint {url} is the v1 API; only v2 is supported"
            )));
        }
        let root = with_slash(url);
        let v2 = root.join("v2/").expect("a relative path joins");
        let mut req = Req::new(ServiceType::Image, Method::GET, "");
        req.also_ok = Some(StatusCode::MULTIPLE_CHOICES);
        let fetched = match self.pipeline.fetch(req, &root, &Anonymous).await {
            Ok(f) => f,
            Err(Error::Api(api)) => {
                tracing::debug!(url = %root, status = api.status, "no image version document; assuming v2");
                return Ok(v2);
            }
            Err(e) => return Err(e),
        };
        let doc = serde_json::from_slice::<Value>(&fetched.body).ok();
        let offers_v2 = doc.as_ref().and_then(versions_offer_v2);
        if let (Some(doc), Some(true)) = (doc, offers_v2) {
            let _ = self.image_versions.set(doc);
        }
        match offers_v2 {
            Some(true) => Ok(v2),
            Some(false) => Err(Error::Config(format!(
                "image endpoint {root} offers no v2 API"
            ))),
            None => {
                tracing::debug!(url = %root, "unreadable image version document; assuming v2");
                Ok(v2)
            }
        }
    }
}
