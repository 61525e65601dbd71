//! `osimg catalog`: image catalogs, the image definitions openstack-image-manager users keep:
//! `validate` (offline), `plan` (what would change, per cloud) and `apply`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use openstack_images::{Catalog, Client, Plan, PlanOptions};
use serde_json::{Value, json};

use crate::escape::{error_line, write_failed};
use crate::output::{Printer, col};
use crate::{CmdResult, Fail};

/// `osimg catalog ...`.
#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Checks image definition files by openstack-image-manager's rules (its
    /// etc/schema.yaml), offline: every problem on its own line (FILE:LINE:COLUMN: PATH:
    /// MESSAGE), exit status 2 if there are any.
    Validate(ValidateArgs),
    /// Lists what applying the catalog would change in each cloud (create, update, rename,
    /// hide, deactivate, delete, cleanup); changes nothing. `-f json`: an array of actions
    /// (`[]` when in sync).
    Plan(PlanArgs),
    /// Carries the plan out: new versions are streamed from their sources to every cloud
    /// that needs them (one read), verified, then published; the rest is updated in place.
    Apply(ApplyArgs),
}

/// The options `plan` and `apply` share: openstack-image-manager's, same names.
#[derive(Args, Clone)]
pub struct CatalogArgs {
    /// A definition file, or a folder whose *.yml and *.yaml files are read (repeatable).
    #[arg(long = "images", value_name = "PATH", required = true)]
    pub images: Vec<PathBuf>,
    /// A cloud of clouds.yaml to manage (repeatable; default: --os-cloud / $OS_CLOUD, else
    /// the OS_* variables).
    #[arg(long = "cloud", value_name = "NAME")]
    pub clouds: Vec<String>,
    /// The tag managed images carry.
    #[arg(long, default_value = openstack_images::DEFAULT_MANAGED_TAG)]
    pub tag: String,
    /// Only images whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Only import the newest version of `multi` images.
    #[arg(long)]
    pub latest: bool,
    /// Keep images of versions no longer defined (images that are not `multi`).
    #[arg(long)]
    pub keep: bool,
    /// Hide outdated images (community visibility, or os_hidden with --use-os-hidden).
    #[arg(long)]
    pub hide: bool,
    /// Deactivate outdated images that would be deleted.
    #[arg(long)]
    pub deactivate: bool,
    /// Delete outdated images (with --yes-i-really-know-what-i-do only).
    #[arg(long)]
    pub delete: bool,
    /// Confirms --delete.
    #[arg(long)]
    pub yes_i_really_know_what_i_do: bool,
    /// Use os_hidden: hide older versions, and with --hide outdated images.
    #[arg(long)]
    pub use_os_hidden: bool,
    /// The visibility --hide gives (community, private, shared).
    #[arg(long, value_name = "VISIBILITY", requires = "hide",
          value_parser = ["community", "private", "shared"])]
    pub hidden_visibility: Option<String>,
    /// Manage disabled images too.
    #[arg(long)]
    pub force: bool,
}

impl CatalogArgs {
    fn options(&self) -> PlanOptions {
        let mut o = PlanOptions::default();
        o.tag = self.tag.clone();
        o.filter = self.filter.clone();
        o.latest = self.latest;
        o.keep = self.keep;
        o.hide = self.hide;
        o.deactivate = self.deactivate;
        o.delete = self.delete;
        o.yes_i_really_know_what_i_do = self.yes_i_really_know_what_i_do;
        o.use_os_hidden = self.use_os_hidden;
        o.hidden_visibility = self.hidden_visibility.clone();
        o.force = self.force;
        o
    }
}

/// The exit status of `plan --exit-code` when changes are pending (0: none; 1-4 and
/// 130/141/143 keep their meaning).
pub const EXIT_CHANGES: u8 = 5;

/// `osimg catalog plan`.
#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: CatalogArgs,
    /// Exit with status 5 when changes are pending (0 when in sync), for CI; as
    /// `terraform plan -detailed-exitcode`, whose 2 is osimg's usage error.
    #[arg(long)]
    pub exit_code: bool,
}

/// `osimg catalog apply`.
#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CatalogArgs,
    /// Plan only (the same as `osimg catalog plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// How many images are uploaded at once (each to every cloud that needs it).
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Upload versions whose catalog gives no checksum, checked only end to end (against
    /// what Glance stored); without it they fail.
    #[arg(long)]
    pub allow_missing_checksum: bool,
    /// How new versions get their data: `stream` (osimg reads the source once and sends it
    /// to every cloud, verifying every byte) or `web-download` (each Glance fetches it, as
    /// openstack-image-manager does; osimg then verifies the stored image against the
    /// publisher's checksum, reading it back when the cloud hashes with another algorithm,
    /// and refuses compressed sources).
    #[arg(long, value_name = "METHOD", default_value = "stream",
          value_parser = ["stream", "web-download"])]
    pub import: String,
}

/// `osimg catalog validate --images PATH...`.
#[derive(Args)]
pub struct ValidateArgs {
    /// A definition file, or a folder whose *.yml and *.yaml files are read (repeatable).
    #[arg(long = "images", value_name = "PATH", required = true)]
    images: Vec<PathBuf>,
}

/// Runs a catalog command; `validate` needs no cloud, the others a client per `--cloud`
/// (made by `client`).
pub async fn run(
    cmd: &CatalogCmd,
    out: &Printer,
    client: &dyn Fn(Option<&str>) -> Result<Client, openstack_images::Error>,
) -> CmdResult {
    match cmd {
        CatalogCmd::Validate(args) => validate(args),
        CatalogCmd::Plan(args) => {
            let (catalog, clients) = prepare(&args.common, client)?;
            let plan = make_plan(&catalog, &clients, &args.common.options()).await?;
            print_plan(out, &plan)?;
            report_problems(&plan)?;
            if args.exit_code && !plan.is_empty() {
                return Err(Fail {
                    code: EXIT_CHANGES,
                    message: String::new(),
                });
            }
            Ok(())
        }
        CatalogCmd::Apply(args) => {
            let (catalog, clients) = prepare(&args.common, client)?;
            let options = args.common.options();
            let plan = make_plan(&catalog, &clients, &options).await?;
            if args.dry_run {
                print_plan(out, &plan)?;
                return report_problems(&plan);
            }
            crate::catalog_apply::apply(
                &catalog,
                &clients,
                plan,
                args.parallel.into(),
                args.allow_missing_checksum,
                if args.import == "web-download" {
                    openstack_images::CatalogImport::WebDownload
                } else {
                    openstack_images::CatalogImport::Stream
                },
            )
            .await
        }
    }
}

/// The catalog (checked before anything else) and a client per cloud.
fn prepare(
    args: &CatalogArgs,
    client: &dyn Fn(Option<&str>) -> Result<Client, openstack_images::Error>,
) -> CmdResult<(Catalog, Vec<(String, Client)>)> {
    let catalog = load(&args.images)?;
    let mut clients = Vec::new();
    if args.clouds.is_empty() {
        let name = std::env::var("OS_CLOUD").unwrap_or_else(|_| "default".into());
        clients.push((name, client(None)?));
    }
    for name in &args.clouds {
        if clients.iter().any(|(n, _)| n == name) {
            return Err(Fail::usage(format!("--cloud {name} is given twice")));
        }
        clients.push((name.clone(), client(Some(name))?));
    }
    Ok((catalog, clients))
}

async fn make_plan(
    catalog: &Catalog,
    clients: &[(String, Client)],
    options: &PlanOptions,
) -> CmdResult<Plan> {
    let refs: Vec<(&str, &Client)> = clients.iter().map(|(n, c)| (n.as_str(), c)).collect();
    Ok(catalog.plan(&refs, options).await?)
}

/// Problems that kept images from being planned: one line each on stderr, status 1.
pub fn report_problems(plan: &Plan) -> CmdResult {
    for p in &plan.problems {
        crate::output::report(&format!("{}: {}: {}", p.cloud, p.image, p.message));
    }
    if plan.problems.is_empty() {
        Ok(())
    } else {
        Err(Fail::other(format!(
            "{} image(s) could not be planned",
            plan.problems.len()
        )))
    }
}

/// The plan: a table (a row per action, its changes in one cell) or the actions as JSON.
pub fn print_plan(out: &Printer, plan: &Plan) -> CmdResult {
    let rows: Vec<Value> = plan
        .actions
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or_else(|_| json!({}));
            if let Some(obj) = v.as_object_mut() {
                obj.insert("summary".into(), Value::String(summary(a)));
            }
            v
        })
        .collect();
    let cols = [
        col("Cloud", "cloud"),
        col("Action", "action"),
        col("Name", "name"),
        col("Version", "version"),
        col("ID", "id"),
        col("Changes", "summary"),
    ];
    if out.is_structured() {
        // The actions as they are: cloud, name, action, id, image, version, changes...
        let actions: Vec<Value> = plan
            .actions
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or_else(|_| json!({})))
            .collect();
        return out.document(&Value::Array(actions));
    }
    out.list(&cols, &rows, false)
}

/// The changes in one line: for a create its source and what it publishes as, for the
/// others `field: from -> to` each.
fn summary(a: &openstack_images::Action) -> String {
    let show = |v: &Option<Value>| match v {
        None => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if a.action == openstack_images::ActionKind::Create {
        let mut text = format!(
            "from {} ({} settings)",
            a.source.as_deref().unwrap_or("?"),
            a.changes.len()
        );
        if let Some(c) = a.changes.iter().find(|c| c.field == "supersedes") {
            text.push_str(&format!("; renames {} to {}", show(&c.from), show(&c.to)));
        }
        return text;
    }
    a.changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, show(&c.from), show(&c.to)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn load(paths: &[PathBuf]) -> CmdResult<Catalog> {
    Catalog::load(paths).map_err(|errors| {
        for e in &errors.errors {
            crate::output::report(&e.to_string());
        }
        Fail::usage(format!(
            "{} problem(s) in the image definitions",
            errors.errors.len()
        ))
    })
}

fn validate(args: &ValidateArgs) -> CmdResult {
    let mut stdout = io::stdout().lock();
    match Catalog::load(&args.images) {
        Ok(catalog) => {
            let enabled = catalog.images.iter().filter(|i| i.enable).count();
            let versions: usize = catalog.images.iter().map(|i| i.versions.len()).sum();
            writeln!(
                stdout,
                "{} images ({enabled} enabled), {versions} versions: valid",
                catalog.images.len()
            )
            .map_err(write_failed)
        }
        Err(errors) => {
            // Paths and messages quote the files, which may hold terminal controls.
            for e in &errors.errors {
                writeln!(stdout, "{}", error_line(&e.to_string())).map_err(write_failed)?;
            }
            Err(Fail::usage(format!(
                "{} problem(s) in the image definitions",
                errors.errors.len()
            )))
        }
    }
}
