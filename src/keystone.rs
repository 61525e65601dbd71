//! Keystone v3 authentication and the service catalog. (Being written.)

use std::time::Duration;

use url::Url;

use crate::client::ServiceType;
use crate::clouds::CloudConfig;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The HTTP client for a cloud: TLS roots, client certificate, verification.
pub(crate) fn http_client(_cloud: &CloudConfig, connect_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| Error::Config(e.to_string()))
}

/// The authentication session shared by all clones of a client.
#[derive(Debug)]
pub(crate) struct Session {}

impl Session {
    pub(crate) fn new(_http: reqwest::Client, _cloud: CloudConfig) -> Result<Self> {
        Ok(Session {})
    }

    /// A valid token (authenticating first if needed); `None` for `auth_type: none`.
    pub(crate) async fn token(&self) -> Result<Option<Secret>> {
        Ok(None)
    }

    /// Called after a 401 with the token that was rejected: the next `token()` re-authenticates
    /// (once, however many tasks saw the 401).
    pub(crate) async fn invalidate(&self, _rejected: &Secret) {}

    /// The versioned base URL of a service, ending with `/`.
    pub(crate) async fn endpoint(&self, service: ServiceType) -> Result<Url> {
        Err(Error::Config(format!("no endpoint for {}", service.as_str())))
    }
}
