//! Keystone projects and domains by name or id, for the commands that name a project (image
//! members, owners, `list --project`).
//!
//! The lookup is openstacksdk's `Resource.find` as python-openstackclient calls it
//! (`identity_common.find_project_id_sdk`): first `GET /v3/projects/{value}` (an id; a 404,
//! 400 or 403 there only means "not by id"), then `GET /v3/projects?name={value}` (within
//! `domain_id` when a domain is given), where exactly one project whose id or name equals the
//! value must be found. A caller that may not list projects (403 on the list, as for most
//! non-admin users) gets the value back as an id, unchecked, as OSC does; anything else that
//! finds nothing is [`Error::NotFound`](crate::Error::NotFound), several matches [`Error::Ambiguous`](crate::Error::Ambiguous).

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Req, seg};
use crate::error::{Result, exactly_one};
use crate::service::ServiceType;
use crate::validate::{check_lookup, check_path_value};

/// A project (or domain) named on a command line, as Keystone resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectRef {
    /// The id to send to Glance.
    pub id: String,
    /// The name Keystone gave, when it was asked (`None` when the value was taken as an id).
    pub name: Option<String>,
    /// `true` when Keystone confirmed the project; `false` when the caller may not look
    /// projects up (403) and the value given is used as an id unchecked, like OSC does.
    pub verified: bool,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct One {
    #[serde(alias = "domain")]
    project: Named,
}

#[derive(Deserialize)]
struct Many {
    #[serde(default, alias = "domains")]
    projects: Vec<Named>,
}

/// What is looked up: its kind for errors and its collection in Keystone's API.
#[derive(Clone, Copy)]
enum Kind {
    Project,
    Domain,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Project => "project",
            Kind::Domain => "domain",
        }
    }

    fn collection(self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::Domain => "domains",
        }
    }
}

impl Client {
    /// Resolves a project given by name or id through Keystone, optionally within a domain
    /// (itself a name or id), the way `openstack image add project` does (see the module
    /// docs of the lookup order). A name that matches nothing is [`Error::NotFound`](crate::Error::NotFound); one
    /// that matches several is [`Error::Ambiguous`](crate::Error::Ambiguous); a caller that may not list projects
    /// gets the value back unverified ([`ProjectRef::verified`] is `false`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let demo = client.find_project("demo", Some("Default")).await?;
    /// client.images().add_member("IMAGE_ID", &demo.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_project(&self, name_or_id: &str, domain: Option<&str>) -> Result<ProjectRef> {
        let domain_id = match domain {
            Some(d) => Some(self.find_named(Kind::Domain, d, None).await?.id),
            None => None,
        };
        self.find_named(Kind::Project, name_or_id, domain_id.as_deref())
            .await
    }

    async fn find_named(
        &self,
        kind: Kind,
        value: &str,
        domain_id: Option<&str>,
    ) -> Result<ProjectRef> {
        check_lookup(kind.name(), value)?;
        // A value that cannot be a path segment (`a/b`) is no id: a name only.
        if check_path_value(kind.name(), value).is_ok() {
            let by_id = Req::new(
                ServiceType::Identity,
                Method::GET,
                format!("{}/{}", kind.collection(), seg(value)),
            );
            match self.send_json::<One>(by_id).await {
                Ok(found) => return Ok(confirmed(found.project)),
                Err(e) if matches!(e.status(), Some(400 | 403 | 404)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut query = vec![("name".to_owned(), value.to_owned())];
        if let Some(d) = domain_id {
            query.push(("domain_id".to_owned(), d.to_owned()));
        }
        let list = Req::new(ServiceType::Identity, Method::GET, kind.collection()).query(query);
        let listed = match self.send_json::<Many>(list).await {
            Ok(l) => l.projects,
            Err(e) if e.status() == Some(403) => {
                tracing::debug!(
                    kind = kind.name(),
                    "Keystone refused the lookup (403): the value is used as an id, unchecked"
                );
                return Ok(ProjectRef {
                    id: value.to_owned(),
                    name: None,
                    verified: false,
                });
            }
            Err(e) => return Err(e),
        };
        let matching = listed
            .into_iter()
            .filter(|p| p.id == value || p.name.as_deref() == Some(value))
            .collect();
        exactly_one(kind.name(), value, matching, |p| p.id.as_str()).map(confirmed)
    }
}

fn confirmed(p: Named) -> ProjectRef {
    ProjectRef {
        id: p.id,
        name: p.name,
        verified: true,
    }
}
