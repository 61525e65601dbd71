//! `osimg image`: the Image service's images, members, data and imports, with the flags of
//! `openstack image`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use openstack_images::{
    Client, DataSource, Image, ImageListQuery, ImageVisibility, ImagesApi, MemberStatus, SortDir,
};
use serde_json::{Value, json};

use crate::image_data_cmd::{
    CreateArgs, ImportArgs, create, import_and_wait, import_method, link_target, save_to_stdout,
};
use crate::output::{Col, Printer, col, human_size, report};
use crate::project_arg::{ProjectDomain, project_id};
use crate::{CmdResult, Fail, exit_code, progress, with_causes};

/// The largest page Glance serves by default (`api_limit_max`).
const PAGE_MAX: u64 = 1000;

/// How long an import or upload may take to make the image active.
pub(crate) const WAIT: Duration = Duration::from_secs(600);

#[derive(Subcommand)]
pub enum ImageCmd {
    /// List images (default columns ID, Name, Status).
    #[command(after_help = crate::output::LIST_MEMORY_HELP)]
    List(ListArgs),
    /// Show one image by id or name (hidden images included).
    Show {
        /// Image id or name.
        image: String,
        /// Print the size as 1.5 GiB instead of bytes.
        #[arg(long)]
        human_readable: bool,
    },
    /// Create an image; with --file, upload its data (or stage and import it with --import).
    Create(Box<CreateArgs>),
    /// Change an image: properties, tags, visibility, state, or the caller's membership.
    Set(Box<SetArgs>),
    /// Remove properties or tags from an image.
    Unset {
        /// Image id or name.
        image: String,
        /// A property to remove (repeatable).
        #[arg(long = "property", value_name = "KEY")]
        properties: Vec<String>,
        /// A tag to remove (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Delete images; every failure is reported, and the exit status is non-zero if any
    /// failed (3 if all failures were "not found").
    Delete {
        /// Image ids or names.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Download an image's data to a file, verified against the checksum Glance published.
    ///
    /// The data goes to a temporary file beside the target and replaces it only once
    /// verified: a failed save leaves no partial file. When PATH is a symbolic link, the
    /// data is written through it, like `openstack image save` and `curl -o`: the file the
    /// link points to is replaced (created if the link dangles) and the link is kept.
    ///
    /// Without --file the data goes to stdout, which must not be a terminal. It is verified
    /// as it passes, so a mismatch is reported (status 1) after the data was written; a
    /// stdout closed early ends the save quietly with status 141.
    Save {
        /// Image id or name.
        image: String,
        /// Where to write the data (through a symbolic link to its target); default stdout.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Show a local image file's format, virtual size and whether it is safe to upload.
    Inspect(crate::inspect_cmd::InspectArgs),
    /// Upload data to the staging area, for a later `image import --method glance-direct`.
    Stage {
        /// Image id or name.
        image: String,
        /// The data to stage.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// Start an import (interoperable image import).
    Import(ImportArgs),
    /// Share an image with a project.
    Add {
        #[command(subcommand)]
        what: MemberTarget,
    },
    /// Stop sharing an image with a project.
    Remove {
        #[command(subcommand)]
        what: MemberTarget,
    },
    /// The projects an image is shared with.
    Member {
        #[command(subcommand)]
        cmd: MemberCmd,
    },
}

#[derive(Subcommand)]
pub enum MemberTarget {
    /// A project (by name or id).
    Project {
        /// Image id or name.
        image: String,
        /// Project name or id.
        project: String,
        #[command(flatten)]
        domain: ProjectDomain,
    },
}

#[derive(Subcommand)]
pub enum MemberCmd {
    /// List an image's members and their status.
    List {
        /// Image id or name.
        image: String,
    },
}

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

pub(crate) fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    visibility: Visibility,
    /// Images of every visibility the caller may see.
    #[arg(long, conflicts_with_all = ["public", "private", "shared", "community"])]
    all: bool,
    /// Only images with this name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Only images with this status (queued, active, ...).
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Only images owned by this project (name or id; `--owner` is an alias).
    #[arg(long = "project", alias = "owner", value_name = "PROJECT")]
    project: Option<String>,
    #[command(flatten)]
    project_domain: ProjectDomain,
    /// Only images with this tag (repeatable: all must match).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only images with this property value (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    properties: Vec<(String, String)>,
    /// Only shared images whose membership has this status (accepted, pending, rejected, all).
    #[arg(long, value_name = "STATUS")]
    member_status: Option<String>,
    /// Only hidden images.
    #[arg(long)]
    hidden: bool,
    /// Sort keys and directions: `name:asc,size:desc` (direction defaults to asc).
    #[arg(long, value_name = "KEY[:DIR][,KEY[:DIR]...]")]
    sort: Option<String>,
    /// At most this many images (the page size is this, up to 1000).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Stop after this many images, whatever the page size (a cap for a server that
    /// pages without end).
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,
    /// Start after this image id.
    #[arg(long, value_name = "ID")]
    marker: Option<String>,
    /// More columns; with -f json/yaml, each image exactly as the API returned it.
    #[arg(long)]
    long: bool,
}

#[derive(Args)]
pub struct SetArgs {
    /// Image id or name.
    image: String,
    /// New name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Set a custom property (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    properties: Vec<(String, String)>,
    /// Add a tag (repeatable; existing tags are kept).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    #[command(flatten)]
    visibility: Visibility,
    /// Minimum disk size in GB.
    #[arg(long, value_name = "GB")]
    min_disk: Option<i64>,
    /// Minimum RAM in MB.
    #[arg(long, value_name = "MB")]
    min_ram: Option<i64>,
    #[command(flatten)]
    protection: Protection,
    /// Leave the image out of default listings.
    #[arg(long, conflicts_with = "unhidden")]
    hidden: bool,
    /// Show the image in default listings again.
    #[arg(long)]
    unhidden: bool,
    /// Deactivate the image (its data cannot be downloaded).
    #[arg(long, conflicts_with = "activate")]
    deactivate: bool,
    /// Reactivate a deactivated image.
    #[arg(long)]
    activate: bool,
    /// Accept the image shared with --project (default: the caller's project).
    #[arg(long, group = "membership")]
    accept: bool,
    /// Reject the shared image.
    #[arg(long, group = "membership")]
    reject: bool,
    /// Set the membership back to pending.
    #[arg(long, group = "membership")]
    pending: bool,
    /// The new owner (name or id); with --accept/--reject/--pending, the project whose
    /// membership changes instead (as in `openstack image set`).
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    #[command(flatten)]
    project_domain: ProjectDomain,
}

fn list_columns(long: bool) -> Vec<Col> {
    if long {
        vec![
            col("ID", "id"),
            col("Name", "name"),
            col("Disk Format", "disk_format"),
            col("Container Format", "container_format"),
            col("Size", "size"),
            col("Checksum", "checksum"),
            col("Status", "status"),
            col("Visibility", "visibility"),
            col("Protected", "protected"),
            col("Project", "owner"),
            col("Tags", "tags"),
        ]
    } else {
        vec![
            col("ID", "id"),
            col("Name", "name"),
            col("Status", "status"),
        ]
    }
}

/// `owner` is the id `--project` resolved to (the query is built without IO).
fn list_query(a: &ListArgs, owner: Option<&str>) -> CmdResult<ImageListQuery> {
    let mut q = ImageListQuery::new();
    if let Some(v) = a.visibility.get() {
        q = q.visibility(v);
    }
    if a.all {
        q = q.all_visibilities();
    }
    if let Some(v) = &a.name {
        q = q.name(v);
    }
    if let Some(v) = &a.status {
        q = q.status(v.as_str());
    }
    if let Some(v) = owner {
        q = q.owner(v);
    }
    for t in &a.tags {
        q = q.tag(t);
    }
    for (k, v) in &a.properties {
        q = q.filter(k, v);
    }
    if let Some(v) = &a.member_status {
        q = q.member_status(v.as_str());
    }
    if a.hidden {
        q = q.os_hidden(true);
    }
    if let Some(sort) = &a.sort {
        for part in sort.split(',').filter(|p| !p.is_empty()) {
            let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let dir = match dir {
                "asc" => SortDir::Asc,
                "desc" => SortDir::Desc,
                other => {
                    return Err(Fail::usage(format!(
                        "--sort: direction must be asc or desc, not `{other}`"
                    )));
                }
            };
            q = q.sort(key, dir);
        }
    }
    // Pages as large as Glance serves (its default is 25, its cap 1000): the bench measured
    // 80 requests and 1.2x the raw loop for 2,000 images at the default page size.
    q = q.page_size(a.limit.map_or(PAGE_MAX, |n| (n as u64).clamp(1, PAGE_MAX)));
    if let Some(m) = &a.marker {
        q = q.marker(m);
    }
    Ok(q)
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other);
            m
        }
    }
}

pub(crate) async fn show(images: &ImagesApi, out: &Printer, id: &str) -> CmdResult {
    out.show(&object(images.get_json(id).await?))
}

async fn set(client: &Client, a: SetArgs) -> CmdResult {
    let images = client.images();
    let image = images.find(&a.image).await?;
    let id = image.id.clone();
    let project = match &a.project {
        Some(p) => Some(project_id(client, p, &a.project_domain).await?),
        None => None,
    };
    let membership = a.accept || a.reject || a.pending;
    let mut set: Vec<(String, Value)> = Vec::new();
    if let Some(owner) = project.as_ref().filter(|_| !membership) {
        set.push(("owner".into(), json!(owner)));
    }
    if let Some(v) = &a.name {
        set.push(("name".into(), json!(v)));
    }
    if let Some(v) = a.min_disk {
        set.push(("min_disk".into(), json!(v)));
    }
    if let Some(v) = a.min_ram {
        set.push(("min_ram".into(), json!(v)));
    }
    if let Some(v) = a.protection.get() {
        set.push(("protected".into(), json!(v)));
    }
    if let Some(v) = a.visibility.get() {
        set.push(("visibility".into(), json!(v.as_str())));
    }
    if a.hidden || a.unhidden {
        set.push(("os_hidden".into(), json!(a.hidden)));
    }
    for (k, v) in &a.properties {
        set.push((k.clone(), json!(v)));
    }
    if !a.tags.is_empty() {
        // Like openstack: tags given are added to the ones the image has.
        let mut tags = image.tags.clone();
        for t in &a.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        set.push(("tags".into(), json!(tags)));
    }
    let mut changed = false;
    if !set.is_empty() {
        images
            .update_to(&id, set.iter().map(|(k, v)| (k.as_str(), v.clone())), [])
            .await?;
        changed = true;
    }
    if a.deactivate {
        images.deactivate(&id).await?;
        changed = true;
    }
    if a.activate {
        images.reactivate(&id).await?;
        changed = true;
    }
    let status = [
        (a.accept, MemberStatus::Accepted),
        (a.reject, MemberStatus::Rejected),
        (a.pending, MemberStatus::Pending),
    ]
    .into_iter()
    .find_map(|(on, s)| on.then_some(s));
    if let Some(status) = status {
        let project = match project {
            Some(p) => p,
            None => client
                .project_id()
                .await?
                .ok_or_else(|| Fail::usage("the token has no project: name one with --project"))?,
        };
        images.set_member_status(&id, &project, status).await?;
        changed = true;
    }
    if !changed {
        return Err(Fail::usage("nothing to change: give at least one option"));
    }
    Ok(())
}

async fn unset(client: &Client, image: &str, props: &[String], tags: &[String]) -> CmdResult {
    let images = client.images();
    let image: Image = images.find(image).await?;
    if props.is_empty() && tags.is_empty() {
        return Err(Fail::usage("nothing to unset: give --property or --tag"));
    }
    let current = serde_json::to_value(&image).map_err(|e| Fail::other(e.to_string()))?;
    let missing: Vec<&str> = props
        .iter()
        .map(String::as_str)
        .filter(|k| current.get(k).is_none_or(Value::is_null))
        .chain(
            tags.iter()
                .map(String::as_str)
                .filter(|t| !image.tags.iter().any(|x| x == t)),
        )
        .collect();
    if !missing.is_empty() {
        return Err(Fail::other(format!(
            "image {} has no property or tag {}",
            image.id,
            missing.join(", ")
        )));
    }
    if !props.is_empty() {
        images
            .update_to(&image.id, [], props.iter().map(String::as_str))
            .await?;
    }
    for t in tags {
        images.remove_tag(&image.id, t).await?;
    }
    Ok(())
}

async fn delete(client: &Client, names: &[String]) -> CmdResult {
    let images = client.images();
    let mut codes = Vec::new();
    for name in names {
        let result = match images.find(name).await {
            Ok(image) => images.delete(&image.id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            report(&format!(
                "failed to delete image {name}: {}",
                with_causes(&e)
            ));
            codes.push(exit_code(&e));
        }
    }
    match codes.len() {
        0 => Ok(()),
        n => Err(Fail {
            code: if codes.iter().all(|c| *c == 3) { 3 } else { 1 },
            message: format!("{n} of {} images failed to delete", names.len()),
        }),
    }
}

pub async fn run(client: &Client, out: &Printer, cmd: ImageCmd) -> CmdResult {
    let images = client.images();
    match cmd {
        ImageCmd::Inspect(a) => crate::inspect_cmd::run(out, &a),
        ImageCmd::List(a) => {
            let owner = match &a.project {
                Some(p) => Some(project_id(client, p, &a.project_domain).await?),
                None => None,
            };
            let q = list_query(&a, owner.as_deref())?;
            let max = a
                .limit
                .unwrap_or(usize::MAX)
                .min(a.max_items.unwrap_or(usize::MAX));
            let mut list = out.list_start(&list_columns(a.long), a.long);
            let mut stream = images.list_json(q).max_items(max as u64);
            while let Some(v) = stream.try_next().await? {
                list.row(&v)?;
            }
            list.finish()
        }
        ImageCmd::Show {
            image,
            human_readable,
        } => {
            let mut v = object(images.find_json(&image).await?);
            if human_readable && let Some(size) = v.get("size").and_then(Value::as_u64) {
                v.insert("size".into(), json!(human_size(size)));
            }
            out.show(&v)
        }
        ImageCmd::Create(a) => create(client, out, *a).await,
        ImageCmd::Set(a) => set(client, *a).await,
        ImageCmd::Unset {
            image,
            properties,
            tags,
        } => unset(client, &image, &properties, &tags).await,
        ImageCmd::Delete { images: names } => delete(client, &names).await,
        ImageCmd::Save { image, file } => {
            let file = file.as_deref().map(link_target).transpose()?;
            if file.is_none() && std::io::stdout().is_terminal() {
                return Err(Fail::usage(
                    "image data is not written to a terminal: give --file PATH or redirect stdout",
                ));
            }
            let image = images.find(&image).await?;
            let bar = progress::bytes("download");
            let download = images
                .download(&image.id)
                .image(image)
                .progress(progress::reporter(&bar));
            let result = match &file {
                Some(path) => download.to_file(path).await.map(drop).map_err(Fail::from),
                None => save_to_stdout(download).await,
            };
            bar.finish_and_clear();
            result
        }
        ImageCmd::Stage { image, file } => {
            let image = images.find(&image).await?;
            let bar = progress::bytes("stage");
            let result = images
                .stage(&image.id, DataSource::file(file))
                .progress(progress::reporter(&bar))
                .send()
                .await;
            bar.finish_and_clear();
            Ok(result?)
        }
        ImageCmd::Import(a) => {
            let method = import_method(&a)?;
            let image = images.find(&a.image).await?;
            import_and_wait(&images, &image.id, method, &a.stores, a.wait).await?;
            if a.wait {
                show(&images, out, &image.id).await?;
            }
            Ok(())
        }
        ImageCmd::Add {
            what:
                MemberTarget::Project {
                    image,
                    project,
                    domain,
                },
        } => {
            let image = images.find(&image).await?;
            let project = project_id(client, &project, &domain).await?;
            let m = images.add_member(&image.id, &project).await?;
            out.show(&object(
                serde_json::to_value(m).map_err(|e| Fail::other(e.to_string()))?,
            ))
        }
        ImageCmd::Remove {
            what:
                MemberTarget::Project {
                    image,
                    project,
                    domain,
                },
        } => {
            let image = images.find(&image).await?;
            let project = project_id(client, &project, &domain).await?;
            Ok(images.remove_member(&image.id, &project).await?)
        }
        ImageCmd::Member {
            cmd: MemberCmd::List { image },
        } => {
            let image = images.find(&image).await?;
            let rows: Vec<Value> = images
                .members(&image.id)
                .await?
                .iter()
                .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
                .collect();
            let cols = [
                col("Image ID", "image_id"),
                col("Member ID", "member_id"),
                col("Status", "status"),
            ];
            out.list(&cols, &rows, false)
        }
    }
}
