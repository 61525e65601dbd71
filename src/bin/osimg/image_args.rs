//! The flags, their parser and the wait limit that the image command modules share: below
//! `image_cmd` and the modules it dispatches to, so they need not import each other.

use std::time::Duration;

use clap::Args;
use openstack_images::ImageVisibility;

/// How long an import or upload may take to make the image active.
pub(crate) const WAIT: Duration = Duration::from_secs(600);

/// `--public|--private|--shared|--community`.
#[derive(Args, Default)]
#[group(multiple = false)]
pub struct Visibility {
    /// Visible to every project.
    #[arg(long)]
    public: bool,
    /// Visible to the owner only.
    #[arg(long)]
    private: bool,
    /// Visible to the owner and the projects it is shared with.
    #[arg(long)]
    shared: bool,
    /// Visible to every project, but not in their default listings.
    #[arg(long)]
    community: bool,
}

impl Visibility {
    pub(crate) fn get(&self) -> Option<ImageVisibility> {
        [
            (self.public, ImageVisibility::Public),
            (self.private, ImageVisibility::Private),
            (self.shared, ImageVisibility::Shared),
            (self.community, ImageVisibility::Community),
        ]
        .into_iter()
        .find_map(|(set, v)| set.then_some(v))
    }
}

/// `--protected|--unprotected`.
#[derive(Args, Default)]
#[group(multiple = false)]
pub struct Protection {
    /// Prevent the image from being deleted.
    #[arg(long)]
    protected: bool,
    /// Allow the image to be deleted.
    #[arg(long)]
    unprotected: bool,
}

impl Protection {
    pub(crate) fn get(&self) -> Option<bool> {
        (self.protected || self.unprotected).then_some(self.protected)
    }
}

/// openstack's typed property flags (of `image set`; `image create` has them too here,
/// where openstack takes only --property).
#[derive(Args, Default)]
pub struct TypedProperties {
    /// Operating system architecture (property `architecture`, e.g. x86_64).
    #[arg(long, value_name = "ARCH")]
    architecture: Option<String>,
    /// The server the image was made from (property `instance_id`, as openstack sets it;
    /// Nova's own field is `instance_uuid`: --property instance_uuid=ID).
    #[arg(long, alias = "instance-uuid", value_name = "ID")]
    instance_id: Option<String>,
    /// Kernel image of an AMI-style image (property `kernel_id`, an image UUID).
    #[arg(long, value_name = "ID")]
    kernel_id: Option<String>,
    /// Operating system distribution (property `os_distro`, e.g. ubuntu).
    #[arg(long, value_name = "DISTRO")]
    os_distro: Option<String>,
    /// Operating system version (property `os_version`).
    #[arg(long, value_name = "VERSION")]
    os_version: Option<String>,
    /// Ramdisk image of an AMI-style image (property `ramdisk_id`, an image UUID).
    #[arg(long, value_name = "ID")]
    ramdisk_id: Option<String>,
}

impl TypedProperties {
    /// The properties given, by Glance key.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("architecture", &self.architecture),
            ("instance_id", &self.instance_id),
            ("kernel_id", &self.kernel_id),
            ("os_distro", &self.os_distro),
            ("os_version", &self.os_version),
            ("ramdisk_id", &self.ramdisk_id),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

pub(crate) fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}
