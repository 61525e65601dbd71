//! `--project NAME|ID` and `--project-domain NAME|ID`, resolved through Keystone as
//! `openstack image` resolves them (`Client::find_project`): a name that matches nothing is
//! an error, never a literal id sent to Glance.

use clap::Args;
use openstack_images::Client;

use crate::CmdResult;

/// The domain a `--project` name is looked up in.
#[derive(Args, Clone, Default)]
pub struct ProjectDomain {
    /// Domain the project belongs to (name or id), for project names that collide.
    #[arg(long, value_name = "DOMAIN")]
    pub project_domain: Option<String>,
}

/// The id of a project given by name or id.
pub async fn project_id(
    client: &Client,
    project: &str,
    domain: &ProjectDomain,
) -> CmdResult<String> {
    let found = client
        .find_project(project, domain.project_domain.as_deref())
        .await?;
    Ok(found.id)
}
