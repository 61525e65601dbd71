//! `osimg catalog`: image catalogs, the image definitions openstack-image-manager users keep.
//! For now `validate` only: it reads and checks the files, with no cloud involved.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use openstack_images::Catalog;

use crate::escape::{error_line, write_failed};
use crate::{CmdResult, Fail};

/// `osimg catalog ...`.
#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Checks image definition files by openstack-image-manager's rules (its
    /// etc/schema.yaml), offline: every problem on its own line (FILE:LINE:COLUMN: PATH:
    /// MESSAGE), exit status 2 if there are any.
    Validate(ValidateArgs),
}

/// `osimg catalog validate --images PATH...`.
#[derive(Args)]
pub struct ValidateArgs {
    /// A definition file, or a folder whose *.yml and *.yaml files are read (repeatable).
    #[arg(long = "images", value_name = "PATH", required = true)]
    images: Vec<PathBuf>,
}

/// Runs a catalog command; none needs a cloud.
pub fn run(cmd: &CatalogCmd) -> CmdResult {
    match cmd {
        CatalogCmd::Validate(args) => validate(args),
    }
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
