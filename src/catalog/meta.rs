//! `include('meta')`: the SCS image metadata (scs-0102-v2) as openstack-image-manager's
//! schema restricts it. The same include serves the image's `meta` and a version's, so a
//! version's `meta` needs the required keys too.

use serde_json::{Map, Value as Json};

use super::Problems;
use super::rules::{
    Alternative, Choices, Fields, Path, any_of, bool_alt, boolean, count, day, enum_alt, one_of,
    string,
};
use super::yaml::{Node, Value};

/// `include('meta')`: the SCS image metadata, required keys and all.
pub(crate) fn meta(p: &mut Problems, node: &Node, path: &Path) -> Option<Map<String, Json>> {
    const ARCH: Choices = &[Some("x86_64"), Some("aarch64"), Some("risc-v")];
    const DISK_BUS: Choices = &[Some("virtio"), Some("scsi"), None];
    const CDROM_BUS: Choices = &[Some("ide"), Some("sata"), Some("scsi"), Some("usb")];
    const FIRMWARE: Choices = &[Some("uefi"), None];
    const MACHINE: Choices = &[Some("pc"), Some("q35"), Some("virt"), None];
    const YES_NO: Choices = &[Some("yes"), Some("no")];
    const RNG: Choices = &[Some("virtio"), None];
    const SCSI: Choices = &[Some("virtio-scsi")];
    const WATCHDOG: Choices = &[
        Some("disabled"),
        Some("reset"),
        Some("poweroff"),
        Some("pause"),
        Some("none"),
    ];
    const HYPERVISOR: Choices = &[
        Some("hyperv"),
        Some("ironic"),
        Some("lxc"),
        Some("qemu"),
        Some("uml"),
        Some("vmware"),
        Some("xen"),
    ];
    const PURPOSE: Choices = &[
        Some("generic"),
        Some("oldgeneric"),
        Some("minimal"),
        Some("k8snode"),
        Some("gpu"),
        Some("network"),
        Some("custom"),
    ];
    const OS_TYPE: Choices = &[Some("linux"), Some("windows")];
    const FREQUENCY: Choices = &[
        Some("yearly"),
        Some("quarterly"),
        Some("monthly"),
        Some("weekly"),
        Some("daily"),
        Some("critical_bug"),
        Some("never"),
    ];
    const KEYS: &[&str] = &[
        "architecture",
        "hotfix_hours",
        "hw_cdrom_bus",
        "hw_disk_bus",
        "hw_firmware_type",
        "hw_machine_type",
        "hw_qemu_guest_agent",
        "hw_rng_model",
        "hw_scsi_model",
        "hw_vif_multiqueue_enabled",
        "hw_watchdog_action",
        "hypervisor_type",
        "image_description",
        "os_distro",
        "os_version",
        "os_purpose",
        "os_type",
        "os_admin_user",
        "patchlevel",
        "provided_until",
        "replace_frequency",
        "uuid_validity",
    ];
    let f = Fields::new(p, node, path.clone(), KEYS)?;
    let mut out = Map::new();
    let mut ok = true;
    let mut put = |key: &str, value: Option<Json>, present: bool| match value {
        Some(v) => {
            out.insert(key.to_owned(), v);
        }
        None => ok &= !present,
    };
    let text = |p: &mut Problems, n: &Node, path: &Path| string(p, n, path).map(Json::String);
    let flag = |p: &mut Problems, n: &Node, path: &Path| boolean(p, n, path).map(Json::Bool);
    let hours = |p: &mut Problems, n: &Node, path: &Path| count(p, n, path).map(Json::from);
    let until: [Alternative; 2] = [|n| enum_alt(n, &[Some("none")]), day];
    let validity: [Alternative; 3] = [
        |n| enum_alt(n, &[Some("none"), Some("forever"), Some("notice")]),
        |n| match &n.value {
            Value::Str(s) if s.starts_with("last-") => Ok(Json::String(s.clone())),
            Value::Str(s) => Err(format!("{s} does not start with last-")),
            v => Err(format!("'{}' is not a str.", v.py_str())),
        },
        day,
    ];
    let agent: [Alternative; 2] = [bool_alt, |n| enum_alt(n, YES_NO)];
    let required: [(&str, Choices); 6] = [
        ("architecture", ARCH),
        ("hw_disk_bus", DISK_BUS),
        ("hypervisor_type", HYPERVISOR),
        ("os_distro", OS_DISTRO),
        ("os_purpose", PURPOSE),
        ("replace_frequency", FREQUENCY),
    ];
    for (key, choices) in required {
        let present = f.get(key).is_some();
        put(
            key,
            f.req(p, key, |p, n, path| one_of(p, n, path, choices)),
            present,
        );
    }
    for (key, alternatives) in [
        ("provided_until", &until[..]),
        ("uuid_validity", &validity[..]),
    ] {
        let present = f.get(key).is_some();
        put(
            key,
            f.req(p, key, |p, n, path| any_of(p, n, path, alternatives)),
            present,
        );
    }
    let optional: [(&str, Choices); 6] = [
        ("hw_cdrom_bus", CDROM_BUS),
        ("hw_firmware_type", FIRMWARE),
        ("hw_machine_type", MACHINE),
        ("hw_rng_model", RNG),
        ("hw_scsi_model", SCSI),
        ("hw_watchdog_action", WATCHDOG),
    ];
    for (key, choices) in optional.into_iter().chain([("os_type", OS_TYPE)]) {
        let present = f.optional(key).is_some();
        put(
            key,
            f.opt(p, key, |p, n, path| one_of(p, n, path, choices)),
            present,
        );
    }
    for key in [
        "image_description",
        "os_version",
        "os_admin_user",
        "patchlevel",
    ] {
        let present = f.optional(key).is_some();
        put(key, f.opt(p, key, text), present);
    }
    let present = f.optional("hotfix_hours").is_some();
    put("hotfix_hours", f.opt(p, "hotfix_hours", hours), present);
    let present = f.optional("hw_vif_multiqueue_enabled").is_some();
    put(
        "hw_vif_multiqueue_enabled",
        f.opt(p, "hw_vif_multiqueue_enabled", flag),
        present,
    );
    let present = f.optional("hw_qemu_guest_agent").is_some();
    put(
        "hw_qemu_guest_agent",
        f.opt(p, "hw_qemu_guest_agent", |p, n, path| {
            any_of(p, n, path, &agent)
        }),
        present,
    );
    // Optional keys given as `null` are kept as `null`, as openstack-image-manager sets them.
    for (key, value) in f.entries {
        if matches!(value.value, Value::Null) && KEYS.contains(&key.name.as_str()) {
            out.entry(key.name.clone()).or_insert(Json::Null);
        }
    }
    ok.then_some(out)
}

/// `os_distro`: the libosinfo values the schema lists, and `talos`.
#[rustfmt::skip]
const OS_DISTRO: Choices = &[
    Some("almalinux"), Some("alpinelinux"), Some("alt"), Some("altlinux"), Some("android-x86"),
    Some("anolis"), Some("arch"), Some("archlinux"), Some("asianux"), Some("caasp"),
    Some("centos"), Some("circle"), Some("cirros"), Some("clearlinux"), Some("debian"),
    Some("dragonflybsd"), Some("elementaryos"), Some("eos"), Some("eurolinux"), Some("fedora"),
    Some("freebsd"), Some("freedos"), Some("freenix"), Some("gentoo"), Some("gnome"),
    Some("guix-system"), Some("haiku"), Some("hyperbola"), Some("mageia"), Some("mandrake"),
    Some("mandriva"), Some("manjaro"), Some("mbs"), Some("mes"), Some("miraclelinux"),
    Some("msdos"), Some("netbsd"), Some("netware"), Some("nixos"), Some("oel"), Some("ol"),
    Some("omnios"), Some("openbsd"), Some("openindiana"), Some("opensolaris"), Some("opensuse"),
    Some("osx"), Some("popos"), Some("pureos"), Some("rhel"), Some("rhl"), Some("rocky"),
    Some("scientificlinux"), Some("slackware"), Some("sle"), Some("sled"), Some("slem"),
    Some("sles"), Some("smartos"), Some("solaris"), Some("solus"), Some("talos"),
    Some("trisquel"), Some("ubuntu"), Some("ucs"), Some("voidlinux"), Some("win"),
    Some("windows"), Some("winnt"),
];
