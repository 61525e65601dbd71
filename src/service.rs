//! Which OpenStack service a request goes to, and what every request to it carries.

/// Which OpenStack service a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServiceType {
    /// The Image service (Glance), API v2.
    Image,
    /// The Compute service (Nova), API v2.1.
    Compute,
    /// The Identity service (Keystone), API v3: where tokens come from.
    Identity,
}

/// The compute microversion every request pins: the last one that still has `/images`
/// (it was removed in 2.36).
pub const MICROVERSION: &str = "2.35";

/// `OpenStack-API-Version` header value for [`MICROVERSION`].
pub const MICROVERSION_HEADER: &str = "compute 2.35";

impl ServiceType {
    /// The catalog type name (`image`, `compute`, `identity`).
    ///
    /// ```
    /// assert_eq!(openstack_images::ServiceType::Image.as_str(), "image");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Image => "image",
            ServiceType::Compute => "compute",
            ServiceType::Identity => "identity",
        }
    }

    /// Headers every request to this service carries (Nova's microversion pin).
    pub(crate) fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ServiceType::Compute => &[
                ("OpenStack-API-Version", MICROVERSION_HEADER),
                ("X-OpenStack-Nova-API-Version", MICROVERSION),
            ],
            ServiceType::Image | ServiceType::Identity => &[],
        }
    }
}

impl std::str::FromStr for ServiceType {
    type Err = crate::error::Error;

    /// Parses a catalog type name.
    ///
    /// ```
    /// use openstack_images::ServiceType;
    /// assert_eq!("compute".parse::<ServiceType>().unwrap(), ServiceType::Compute);
    /// assert!("volume".parse::<ServiceType>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ServiceType::Image,
            ServiceType::Compute,
            ServiceType::Identity,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| {
            crate::error::Error::invalid(
                "service",
                format!("`{s}` is not a service this client knows"),
            )
        })
    }
}

impl std::fmt::Display for ServiceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
