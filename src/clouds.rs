//! Cloud configuration: clouds.yaml (+ secure.yaml) and `OS_*` variables. (Being written.)

use crate::error::{Error, Result};

/// Everything needed to reach and authenticate to one cloud.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CloudConfig {}

impl CloudConfig {
    /// Loads the cloud named by `OS_CLOUD` from clouds.yaml, or the `OS_*` variables.
    pub fn from_env() -> Result<Self> {
        Err(Error::Config("not yet".into()))
    }

    /// Loads the named cloud from the first clouds.yaml found.
    pub fn from_cloud(name: &str) -> Result<Self> {
        Err(Error::Config(format!("not yet: {name}")))
    }
}
