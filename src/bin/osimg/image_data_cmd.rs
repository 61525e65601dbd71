//! `osimg image create`, `save` and `import`: the commands that move image data, with the
//! checks around them (inspection before an upload, saving through links, import waits).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use futures_util::TryStreamExt;
use openstack_images::{
    Client, DataSource, DeleteOnDrop, Download, ImageCreate, ImageStatus, ImagesApi, ImportMethod,
};

use crate::image_args::{Protection, TypedProperties, Visibility, WAIT, parse_kv};
use crate::image_record::show;
use crate::output::{Printer, escape_controls, report, write_failed};
use crate::{CmdResult, Fail, progress, with_causes};

#[derive(Args)]
pub struct CreateArgs {
    /// The new image's name.
    pub(crate) name: String,
    /// Upload this file as the image's data. Without it, data piped or redirected to
    /// stdin is uploaded, as openstack does (`osimg image create x < disk.raw`); a
    /// terminal or /dev/null on stdin means no data (openstack uploads /dev/null as an
    /// empty image).
    #[arg(long, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
    /// Disk format (raw, qcow2, ...); default: the --file's detected format, else raw.
    #[arg(long, value_name = "FORMAT")]
    pub(crate) disk_format: Option<String>,
    /// Upload a --file whose detected format differs from --disk-format (never an unsafe one).
    #[arg(long)]
    pub(crate) allow_format_mismatch: bool,
    /// Container format (bare, ovf, ...).
    #[arg(long, value_name = "FORMAT", default_value = "bare")]
    pub(crate) container_format: String,
    /// Minimum disk size in GB to boot the image.
    #[arg(long, value_name = "GB")]
    pub(crate) min_disk: Option<i64>,
    /// Minimum RAM in MB to boot the image.
    #[arg(long, value_name = "MB")]
    pub(crate) min_ram: Option<i64>,
    #[command(flatten)]
    pub(crate) protection: Protection,
    #[command(flatten)]
    pub(crate) visibility: Visibility,
    /// A custom property (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub(crate) properties: Vec<(String, String)>,
    /// Refuse properties the metadef namespaces of OS::Glance::Image do not allow
    /// (types, enums, bounds) before anything is sent (osimg only).
    #[arg(long)]
    pub(crate) check_metadefs: bool,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    #[command(flatten)]
    pub(crate) typed: TypedProperties,
    /// Leave the image out of default listings (property `os_hidden`).
    #[arg(long, conflicts_with = "unhidden")]
    pub(crate) hidden: bool,
    /// Show the image in default listings (the default).
    #[arg(long)]
    pub(crate) unhidden: bool,
    /// Accepted for openstack's scripts: osimg shows upload progress whenever stderr is a
    /// terminal (and never otherwise), with or without it.
    #[arg(long)]
    pub(crate) progress: bool,
    /// Return once the import has started, as openstack does, instead of waiting for the
    /// image to become active (the default here: then the image shown is the final one).
    #[arg(long, requires = "import")]
    pub(crate) no_wait: bool,
    /// The image id to use (a UUID).
    #[arg(long, value_name = "UUID")]
    pub(crate) id: Option<String>,
    /// Give the image its data through the import API instead of a direct upload.
    #[arg(long)]
    pub(crate) import: bool,
    /// Import method: glance-direct (with --file, the default) or web-download (with --uri).
    #[arg(long, value_name = "METHOD", requires = "import")]
    pub(crate) import_method: Option<String>,
    /// The URL Glance downloads from (web-download).
    #[arg(long, value_name = "URL", requires = "import")]
    pub(crate) uri: Option<String>,
    /// Import into this store (repeatable; multi-store clouds).
    #[arg(long = "store", value_name = "STORE", requires = "import")]
    pub(crate) stores: Vec<String>,
    /// Hash the --file first and, when an active image visible to you already holds the same
    /// bytes (same os_hash_value), show that image instead of uploading a copy.
    #[arg(long, requires = "file")]
    pub(crate) reuse_existing: bool,
    /// The owner of the new image (name or id; admin only).
    #[arg(long, value_name = "PROJECT")]
    pub(crate) project: Option<String>,
    #[command(flatten)]
    pub(crate) project_domain: crate::project_arg::ProjectDomain,
}

/// `image import info`, beside `image import IMAGE --method ...`.
#[derive(clap::Subcommand)]
pub enum ImportSub {
    /// Show the import methods this cloud enables.
    Info,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub(crate) sub: Option<ImportSub>,
    /// Image id or name.
    #[arg(required = true)]
    pub(crate) image: Option<String>,
    /// glance-direct, web-download, copy-image or glance-download.
    #[arg(long, value_name = "METHOD", required = true)]
    pub(crate) method: Option<String>,
    /// The URL Glance downloads from (web-download).
    #[arg(long, value_name = "URL")]
    pub(crate) uri: Option<String>,
    /// The other region (glance-download).
    #[arg(long, value_name = "REGION")]
    pub(crate) remote_region: Option<String>,
    /// The image id in the other region (glance-download).
    #[arg(long, value_name = "ID")]
    pub(crate) remote_image: Option<String>,
    /// Import into this store (repeatable; multi-store clouds).
    #[arg(long = "store", value_name = "STORE")]
    pub(crate) stores: Vec<String>,
    /// Wait until the image is active, then show it.
    #[arg(long)]
    pub(crate) wait: bool,
}

/// `image save` without `--file`: the verified chunks go to stdout as they arrive.
pub(crate) async fn save_to_stdout(download: Download) -> CmdResult {
    let mut data = download.stream().await?;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
    while let Some(chunk) = data.try_next().await? {
        stdout.write_all(&chunk).map_err(write_failed)?;
    }
    stdout.flush().map_err(write_failed)
}

/// How many links `image save --file` follows before it gives up (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// The file `image save` writes: `path` itself, or the file a symbolic link at `path`
/// points to (through any chain of links, created if the last one dangles), so the save
/// writes through the link as `openstack image save` does, instead of replacing the link.
pub(crate) fn link_target(path: &std::path::Path) -> CmdResult<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)
                    .map_err(|e| Fail::other(format!("{}: {e}", current.display())))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(meta) if meta.is_dir() => {
                return Err(Fail::usage(format!(
                    "--file {}: is a directory",
                    current.display()
                )));
            }
            _ => return Ok(current),
        }
    }
    Err(Fail::other(format!(
        "--file {}: more than {MAX_LINK_HOPS} symbolic links",
        path.display()
    )))
}

/// Starts an import and, if asked, waits for the image to become active with a spinner.
pub(crate) async fn import_and_wait(
    images: &ImagesApi,
    id: &str,
    method: ImportMethod,
    stores: &[String],
    wait: bool,
) -> CmdResult {
    let mut import = images.import(id, method);
    if !stores.is_empty() {
        import = import.stores(stores.iter().cloned());
    }
    import.send().await?;
    if wait {
        let bar = progress::spinner(&format!(
            "waiting for image {} to become active",
            escape_controls(id)
        ));
        let result = images
            .wait_for_status(id, &[ImageStatus::Active], WAIT)
            .await;
        bar.finish_and_clear();
        result?;
    }
    Ok(())
}

pub(crate) async fn create(client: &Client, out: &Printer, a: CreateArgs) -> CmdResult {
    if a.reuse_existing
        && let Some(file) = &a.file
        && !read_twice(file)?
    {
        return Err(Fail::usage(format!(
            "--reuse-existing reads --file twice (to hash it, then to upload it), and {} is a \
             pipe whose data can be read once: give a regular file",
            file.display()
        )));
    }
    let method = a.import_method.as_deref();
    let (data, inspection) = match &a.file {
        Some(file) => {
            let (inspection, data) = crate::inspect_cmd::inspect_upload(file).await?;
            (Some(data), Some(inspection))
        }
        None if method != Some("web-download") && stdin_has_data() => (Some(stdin_data()?), None),
        None => (None, None),
    };
    let disk_format = crate::inspect_cmd::upload_disk_format(
        a.file.as_deref().zip(inspection.as_ref()),
        a.disk_format.as_deref(),
        a.allow_format_mismatch,
    )?;
    let images = client.images();
    if a.reuse_existing
        && let Some(file) = &a.file
        && let Some(found) = crate::reuse_cmd::existing(&images, file).await?
    {
        return show(&images, out, &found).await;
    }
    let mut c = ImageCreate::new(&a.name)
        .disk_format(disk_format.as_str())
        .container_format(a.container_format.as_str());
    if let Some(v) = a.min_disk {
        c = c.min_disk(v);
    }
    if let Some(v) = a.min_ram {
        c = c.min_ram(v);
    }
    if let Some(v) = a.protection.get() {
        c = c.protected(v);
    }
    if let Some(v) = a.visibility.get() {
        c = c.visibility(v);
    }
    for (k, v) in a.typed.pairs() {
        c = c.property(k, v);
    }
    for (k, v) in &a.properties {
        c = c.property(k, v);
    }
    if a.hidden || a.unhidden {
        c = c.os_hidden(a.hidden);
    }
    if !a.tags.is_empty() {
        c = c.tags(a.tags.clone());
    }
    if let Some(id) = &a.id {
        c = c.id(id);
    }
    if a.check_metadefs {
        crate::metadef_cmd::check_image_properties(client, &a.properties).await?;
    }
    if let Some(p) = &a.project {
        c = c.owner(crate::project_arg::project_id(client, p, &a.project_domain).await?);
    }
    let wait = !a.no_wait;
    let id = match (data, a.import, method) {
        (None, false, _) => images.create(c).await?.id,
        (Some(data), false, _) => {
            let bar = progress::bytes("upload");
            let result = images
                .create_with_data(c, data)
                .progress(progress::reporter(&bar))
                .timeout(WAIT)
                .send()
                .await;
            bar.finish_and_clear();
            result?.id
        }
        (Some(data), true, None | Some("glance-direct")) if a.stores.is_empty() && wait => {
            let bar = progress::bytes("stage");
            let result = images
                .create_with_data(c, data)
                .via_import(true)
                .progress(progress::reporter(&bar))
                .timeout(WAIT)
                .send()
                .await;
            bar.finish_and_clear();
            result?.id
        }
        (Some(data), true, None | Some("glance-direct")) => {
            let (image, guard) = images.create_guarded(c).await?;
            let id = image.id;
            let result = async {
                let bar = progress::bytes("stage");
                let staged = images
                    .stage(&id, data)
                    .progress(progress::reporter(&bar))
                    .send()
                    .await;
                bar.finish_and_clear();
                staged?;
                import_and_wait(&images, &id, ImportMethod::GlanceDirect, &a.stores, wait).await
            }
            .await;
            cleanup_on_failure(guard, result).await?;
            id
        }
        (None, true, Some("web-download")) => {
            let uri = a
                .uri
                .clone()
                .ok_or_else(|| Fail::usage("--import-method web-download needs --uri"))?;
            let (image, guard) = images.create_guarded(c).await?;
            let id = image.id;
            let method = ImportMethod::WebDownload { uri };
            let result = import_and_wait(&images, &id, method, &a.stores, wait).await;
            cleanup_on_failure(guard, result).await?;
            id
        }
        (None, true, _) => {
            return Err(Fail::usage(
                "--import needs --file (glance-direct) or --import-method web-download --uri URL",
            ));
        }
        (Some(_), true, Some(m)) => {
            return Err(Fail::usage(format!(
                "--file goes with --import-method glance-direct, not {m}"
            )));
        }
    };
    show(&images, out, &id).await
}

/// Whether the file at `path` can be read a second time: a regular file or a block device,
/// not a pipe.
fn read_twice(path: &std::path::Path) -> CmdResult<bool> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Fail::other(format!("{}: {}", path.display(), with_causes(&e))))?;
    #[cfg(unix)]
    let block = std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type());
    #[cfg(not(unix))]
    let block = false;
    Ok(meta.is_file() || block)
}

/// Whether stdin holds image data for `image create` without --file: a pipe, a socket or
/// a redirected file, as openstack reads it, but not a terminal, a closed stdin or a
/// character device such as /dev/null (where openstack uploads an empty image).
fn stdin_has_data() -> bool {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        let Ok(fd) = stdin.as_fd().try_clone_to_owned() else {
            return false;
        };
        std::fs::File::from(fd).metadata().is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_file() || t.is_socket()
        })
    }
    #[cfg(not(unix))]
    true
}

/// Stdin as a data source: read through tokio's file (its blocking pool), so no extra
/// tokio feature is needed for it.
fn stdin_data() -> CmdResult<DataSource> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
        Ok(DataSource::reader(tokio::fs::File::from_std(
            std::fs::File::from(fd),
        )))
    }
    #[cfg(not(unix))]
    Err(Fail::usage("give the image data with --file PATH"))
}

/// Keeps the image `guard` holds when `result` is a success; deletes it when its import
/// failed (reporting a failed delete), then passes the failure on. An interrupted command
/// drops the guard, which deletes the image too.
pub(crate) async fn cleanup_on_failure(guard: DeleteOnDrop, result: CmdResult) -> CmdResult {
    if result.is_ok() {
        guard.keep();
        return result;
    }
    let id = guard.id().to_owned();
    if let Err(e) = guard.delete_now().await {
        report(&format!(
            "could not delete the half-made image {id}: {}",
            with_causes(&e)
        ));
    }
    result
}

pub(crate) fn import_method(a: &ImportArgs) -> CmdResult<ImportMethod> {
    Ok(match a.method.as_deref().unwrap_or_default() {
        "glance-direct" => ImportMethod::GlanceDirect,
        "copy-image" => ImportMethod::CopyImage,
        "web-download" => ImportMethod::WebDownload {
            uri: a
                .uri
                .clone()
                .ok_or_else(|| Fail::usage("--method web-download needs --uri"))?,
        },
        "glance-download" => match (&a.remote_region, &a.remote_image) {
            (Some(r), Some(i)) => ImportMethod::GlanceDownload {
                remote_region: r.clone(),
                remote_image_id: i.clone(),
                remote_service_interface: None,
            },
            _ => {
                return Err(Fail::usage(
                    "--method glance-download needs --remote-region and --remote-image",
                ));
            }
        },
        other => {
            return Err(Fail::usage(format!(
                "unknown import method `{other}`: glance-direct, web-download, copy-image or \
                 glance-download"
            )));
        }
    })
}
