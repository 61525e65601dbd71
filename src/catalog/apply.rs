//! Applying a plan: leftovers of interrupted runs removed, new versions streamed from
//! their source to every cloud that needs them (one read, fanned out), checked, and only
//! then published under their catalog name; then the updates, renames and retirements.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Map, Value};

use super::fanout::fan_out;
use super::model::{Checksum, ImageSource};
use super::plan::{Action, ActionKind, CreateWork, INCOMING_PROPERTY, INCOMING_TAG};
use super::resolve;
use super::source::{SourceOptions, open_source};
use super::{Catalog, Plan};
use crate::error::Causes;
use crate::{Client, DataSource, Error, Image, ImageCreate, ImagePatch, Result};

/// A callback receiving [`ApplyEvent`]s.
pub type EventSink = Arc<dyn Fn(&ApplyEvent) + Send + Sync>;

/// How [`Catalog::apply`] runs.
///
/// ```
/// let options = openstack_images::ApplyOptions::default().parallel(4);
/// assert_eq!(options.parallel, 4);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// How many versions are uploaded at once (each to every cloud that needs it).
    pub parallel: usize,
    /// Upload versions whose catalog gives no checksum (their data is then only checked
    /// end to end against what Glance stored, not against the publisher's checksum).
    pub allow_missing_checksum: bool,
    /// Called with every [`ApplyEvent`].
    pub events: Option<EventSink>,
    /// Options of the source downloads.
    pub source: SourceOptions,
    /// How new versions get their data (default: streamed by osimg, every byte verified).
    pub import: CatalogImport,
    /// How long a web-download import may take.
    pub import_timeout: std::time::Duration,
}

/// How [`Catalog::apply`] gets a new version's data into a cloud.
///
/// ```
/// use openstack_images::CatalogImport;
/// assert_eq!(CatalogImport::default(), CatalogImport::Stream);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatalogImport {
    /// osimg reads the source once and streams it to every cloud: decompressed, inspected
    /// before upload, the publisher's checksum checked on the bytes read, Glance's stored
    /// hash on the bytes sent.
    #[default]
    Stream,
    /// Each cloud's Glance downloads the source itself (`web-download`), as
    /// openstack-image-manager does. osimg does not see the bytes on the way: it refuses
    /// compressed sources (Glance would store them compressed), leaves the format check to
    /// Glance, and verifies the result before publishing: Glance's `os_hash_value` against
    /// the publisher's checksum when both use the same algorithm, else by reading the
    /// image back and hashing it in the publisher's algorithm.
    WebDownload,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallel: 2,
            allow_missing_checksum: false,
            events: None,
            source: SourceOptions::default(),
            import: CatalogImport::Stream,
            import_timeout: std::time::Duration::from_secs(1800),
        }
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("parallel", &self.parallel)
            .field("allow_missing_checksum", &self.allow_missing_checksum)
            .finish_non_exhaustive()
    }
}

impl ApplyOptions {
    /// Sets [`ApplyOptions::parallel`] (at least 1).
    ///
    /// ```
    /// assert_eq!(openstack_images::ApplyOptions::default().parallel(0).parallel, 1);
    /// ```
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Sets [`ApplyOptions::events`].
    ///
    /// ```
    /// let o = openstack_images::ApplyOptions::default().events(|e| eprintln!("{e:?}"));
    /// ```
    pub fn events(mut self, f: impl Fn(&ApplyEvent) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(f));
        self
    }

    /// Sets [`ApplyOptions::allow_missing_checksum`].
    ///
    /// ```
    /// let o = openstack_images::ApplyOptions::default().allow_missing_checksum(true);
    /// assert!(o.allow_missing_checksum);
    /// ```
    pub fn allow_missing_checksum(mut self, yes: bool) -> Self {
        self.allow_missing_checksum = yes;
        self
    }

    /// Sets [`ApplyOptions::import`].
    ///
    /// ```
    /// use openstack_images::{ApplyOptions, CatalogImport};
    /// let o = ApplyOptions::default().import(CatalogImport::WebDownload);
    /// assert_eq!(o.import, CatalogImport::WebDownload);
    /// ```
    pub fn import(mut self, import: CatalogImport) -> Self {
        self.import = import;
        self
    }

    fn emit(&self, event: ApplyEvent) {
        if let Some(f) = &self.events {
            f(&event);
        }
    }
}

/// What [`Catalog::apply`] reports as it goes.
///
/// ```
/// # fn show(e: &openstack_images::ApplyEvent) {
/// use openstack_images::ApplyEvent;
/// match e {
///     ApplyEvent::Started { cloud, name, .. } => eprintln!("{cloud}: {name}..."),
///     ApplyEvent::Progress { cloud, name, bytes, total } => eprintln!("{cloud}: {name} {bytes}/{total:?}"),
///     ApplyEvent::Message { cloud, name, text } => eprintln!("{cloud}: {name}: {text}"),
///     ApplyEvent::Finished(outcome) => eprintln!("{outcome:?}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ApplyEvent {
    /// An action began.
    Started {
        /// The cloud.
        cloud: String,
        /// The image's name.
        name: String,
        /// The action.
        action: ActionKind,
    },
    /// Bytes of an upload sent to a cloud so far (`total` when the size is known).
    Progress {
        /// The cloud.
        cloud: String,
        /// The image's name.
        name: String,
        /// Bytes sent.
        bytes: u64,
        /// The size, if known.
        total: Option<u64>,
    },
    /// Something worth telling (a check passed, a fallback taken).
    Message {
        /// The cloud.
        cloud: String,
        /// The image's name.
        name: String,
        /// What happened.
        text: String,
    },
    /// An action ended.
    Finished(Outcome),
}

/// How one action ended.
///
/// ```
/// # fn show(o: &openstack_images::Outcome) {
/// match &o.error {
///     None => println!("{} {} {}: done", o.cloud, o.action, o.name),
///     Some(e) => println!("{} {} {}: FAILED: {e}", o.cloud, o.action, o.name),
/// }
/// # }
/// ```
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The cloud.
    pub cloud: String,
    /// The image's name.
    pub name: String,
    /// The action.
    pub action: ActionKind,
    /// The image's id (for a create: the new image's, once made).
    pub id: Option<String>,
    /// `None` when it worked, else why not.
    pub error: Option<String>,
}

/// Every action's outcome: [`Catalog::apply`]'s answer.
///
/// ```
/// let report = openstack_images::ApplyReport::default();
/// assert!(report.succeeded());
/// ```
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// One per action, in the order they ended.
    pub outcomes: Vec<Outcome>,
}

impl ApplyReport {
    /// Whether every action worked.
    ///
    /// ```
    /// assert!(openstack_images::ApplyReport::default().succeeded());
    /// ```
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| o.error.is_none())
    }

    /// The actions that failed.
    ///
    /// ```
    /// assert_eq!(openstack_images::ApplyReport::default().failures().count(), 0);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }
}

impl Catalog {
    /// Carries out a plan made by [`Catalog::plan`] with the same clouds (matched by
    /// name). In this order: images left by an interrupted apply are deleted; new
    /// versions are uploaded, `parallel` at a time, each read once from its source and
    /// streamed to every cloud that needs it (the slowest cloud sets the pace; memory
    /// stays bounded), decompressed when the bytes say so (xz, gzip, bzip2, zstd), its
    /// format inspected before the upload starts, the publisher's checksum checked on the
    /// bytes read and Glance's `os_hash_value` on the bytes stored; only then is the image
    /// given its catalog name, visibility, tags and properties (until then it is private,
    /// hidden and tagged [`INCOMING_TAG`](crate::INCOMING_TAG), and it is deleted if a
    /// check fails or the apply is interrupted); last the updates, renames, hides,
    /// deactivations and deletions. A failure stops only its own action (and, for an
    /// upload, only its cloud): the report lists every outcome.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use openstack_images::{ApplyOptions, Catalog, PlanOptions};
    /// let catalog = Catalog::load(&["etc/images"])?;
    /// let clouds = [("prod", &client)];
    /// let plan = catalog.plan(&clouds, &PlanOptions::default()).await?;
    /// let report = catalog.apply(plan, &clouds, &ApplyOptions::default()).await;
    /// for failure in report.failures() {
    ///     eprintln!("{} {}: {}", failure.cloud, failure.name, failure.error.as_deref().unwrap_or(""));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn apply(
        &self,
        plan: Plan,
        clouds: &[(&str, &Client)],
        options: &ApplyOptions,
    ) -> ApplyReport {
        let client_of = |cloud: &str| clouds.iter().find(|(n, _)| *n == cloud).map(|(_, c)| *c);
        let mut report = ApplyReport::default();
        let (mut creates, mut rest): (Vec<Action>, Vec<Action>) = plan
            .actions
            .into_iter()
            .partition(|a| a.action == ActionKind::Create);
        let (cleanups, others): (Vec<Action>, Vec<Action>) = rest
            .drain(..)
            .partition(|a| a.action == ActionKind::Cleanup);

        // 1. Leftovers of an interrupted run.
        for action in cleanups {
            let outcome = run_simple(client_of(&action.cloud), &action, options).await;
            report.outcomes.push(outcome);
        }

        // 2. New versions, grouped so that one read feeds every cloud.
        let mut groups: BTreeMap<(String, String, String), Vec<Action>> = BTreeMap::new();
        for action in creates.drain(..) {
            let key = (
                action.image.clone(),
                action.version.clone().unwrap_or_default(),
                action.source.clone().unwrap_or_default(),
            );
            groups.entry(key).or_default().push(action);
        }
        // The algorithm each cloud hashes with, so uploads hash in it and Glance's stored
        // hash is compared with the bytes sent: from its images, else from a probe.
        let mut algorithms = plan.hash_algorithms.clone();
        let mut probed = std::collections::BTreeSet::new();
        for action in groups.values().flatten() {
            if !algorithms.contains_key(&action.cloud)
                && probed.insert(action.cloud.clone())
                && let Some(client) = client_of(&action.cloud)
            {
                match probe_hash_algorithm(client).await {
                    Ok(algo) => {
                        algorithms.insert(action.cloud.clone(), algo);
                    }
                    Err(e) => {
                        tracing::warn!(cloud = %action.cloud, error = %e, "could not learn the cloud's hash algorithm")
                    }
                }
            }
        }
        let algorithms = &algorithms;
        let jobs = groups.into_values().map(|group| {
            let targets: Vec<(Action, Option<&Client>)> = group
                .into_iter()
                .map(|a| {
                    let c = client_of(&a.cloud);
                    (a, c)
                })
                .collect();
            upload_group(targets, options, algorithms)
        });
        let mut done = stream::iter(jobs).buffer_unordered(options.parallel.max(1));
        while let Some(outcomes) = done.next().await {
            report.outcomes.extend(outcomes);
        }

        // 3. Everything else, in plan order.
        for action in others {
            let outcome = run_simple(client_of(&action.cloud), &action, options).await;
            report.outcomes.push(outcome);
        }
        report
    }
}

fn outcome(action: &Action, id: Option<String>, result: Result<()>) -> Outcome {
    Outcome {
        cloud: action.cloud.clone(),
        name: action.name.clone(),
        action: action.action,
        id,
        error: result.err().map(|e| Causes(&e).to_string()),
    }
}

fn no_client(action: &Action) -> Error {
    Error::invalid(
        "cloud",
        format!(
            "the plan names cloud {:?}, which apply was not given",
            action.cloud
        ),
    )
}

/// Runs an action that uploads nothing.
async fn run_simple(client: Option<&Client>, action: &Action, options: &ApplyOptions) -> Outcome {
    options.emit(ApplyEvent::Started {
        cloud: action.cloud.clone(),
        name: action.name.clone(),
        action: action.action,
    });
    let result = match client {
        None => Err(no_client(action)),
        Some(client) => simple(client, action).await,
    };
    let o = outcome(action, action.id.clone(), result);
    options.emit(ApplyEvent::Finished(o.clone()));
    o
}

async fn simple(client: &Client, action: &Action) -> Result<()> {
    let images = client.images();
    let id = action
        .id
        .as_deref()
        .ok_or_else(|| Error::invalid("action", "no image id".to_owned()))?;
    match action.action {
        ActionKind::Delete | ActionKind::Cleanup => match images.delete(id).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        },
        _ => {
            let current = images.get(id).await?;
            apply_settings(
                client,
                &current,
                &action.work.set,
                &[],
                action.work.deactivate,
            )
            .await
        }
    }
}

/// Sets `set` on `current` in one PATCH (removing `remove`), then deactivates or
/// reactivates. Hidden first when hiding, so the image leaves listings before anything
/// else changes.
async fn apply_settings(
    client: &Client,
    current: &Image,
    set: &Map<String, Value>,
    remove: &[&str],
    deactivate: Option<bool>,
) -> Result<()> {
    let images = client.images();
    if deactivate == Some(false) {
        images.reactivate(&current.id).await?;
    }
    let pairs = set.iter().map(|(k, v)| (k.as_str(), v.clone()));
    let patch = ImagePatch::to_reach(current, pairs, remove.iter().copied());
    if !patch.is_empty() {
        images.update(&current.id, patch).await?;
    }
    if deactivate == Some(true) {
        images.deactivate(&current.id).await?;
    }
    Ok(())
}

/// The name an image has while its data is uploaded and checked.
fn incoming_name(name: &str) -> String {
    format!("{name} (osimg: incoming)")
}

/// One version to every cloud that needs it: one read of the source, fanned out.
async fn upload_group(
    targets: Vec<(Action, Option<&Client>)>,
    options: &ApplyOptions,
    hash_algorithms: &BTreeMap<String, String>,
) -> Vec<Outcome> {
    let Some(work) = targets.first().and_then(|(a, _)| a.work.create.clone()) else {
        return Vec::new();
    };
    for (action, _) in &targets {
        options.emit(ApplyEvent::Started {
            cloud: action.cloud.clone(),
            name: action.name.clone(),
            action: ActionKind::Create,
        });
    }
    let finish = |results: Vec<(Action, Option<String>, Result<()>)>| -> Vec<Outcome> {
        results
            .into_iter()
            .map(|(a, id, r)| {
                let o = outcome(&a, id, r);
                options.emit(ApplyEvent::Finished(o.clone()));
                o
            })
            .collect()
    };
    let fail_all = |message: String| {
        finish(
            targets
                .iter()
                .map(|(a, _)| {
                    (
                        a.clone(),
                        None,
                        Err(Error::Io(std::io::Error::other(message.clone()))),
                    )
                })
                .collect(),
        )
    };

    // The publisher's checksum, before anything is made.
    let checksum = match resolve::source_client() {
        Ok(http) => {
            resolve::checksum_of(
                &http,
                work.checksum.as_ref(),
                work.checksum_url.as_ref(),
                work.checksums_url.as_ref(),
                &work.url,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let checksum = match checksum {
        Ok(Some(c)) => Some(c),
        Ok(None) if options.allow_missing_checksum => None,
        Ok(None) => {
            return fail_all(
                "the catalog gives no checksum for this version (checksum, checksum_url or \
                 checksums_url): nothing to verify the download against (pass \
                 --allow-missing-checksum to upload it checked only end to end)"
                    .into(),
            );
        }
        Err(e) => return fail_all(format!("its checksum: {}", Causes(&e))),
    };

    // An incoming image in each cloud, private and hidden, deleted unless published.
    let mut live = Vec::new();
    let mut results = Vec::new();
    for (action, client) in targets {
        let Some(client) = client else {
            let e = no_client(&action);
            results.push((action, None, Err(e)));
            continue;
        };
        match create_incoming(client, &action, &work).await {
            Ok((image, guard)) => live.push((action, client, image, guard)),
            Err(e) => results.push((action, None, Err(e))),
        }
    }
    if live.is_empty() {
        return finish(results);
    }

    if options.import == CatalogImport::WebDownload {
        return finish(web_download_all(live, results, &work, checksum, options).await);
    }

    // The source, opened once, inspected before any byte is sent.
    let source = match open_source(&work.source, checksum.as_ref(), &options.source).await {
        Ok(s) => s,
        Err(e) => {
            let text = Causes(&e).to_string();
            abandon(live, &mut results, &text).await;
            return finish(results);
        }
    };
    let stats = source.stats();
    // Bytes sent as published (not decompressed) have the publisher's size and checksum,
    // which the source checks as it reads: the upload declares the size (a bar with a total,
    // Glance's size check), and a cloud hashing in the publisher's algorithm is compared
    // with the publisher's digest instead of hashing the same bytes again.
    let as_published = AsPublished {
        size: source
            .compression()
            .is_none()
            .then(|| stats.content_length())
            .flatten(),
        checksum: checksum.filter(|_| source.compression().is_none()),
    };
    let (inspection, source) = match crate::image::data::inspect_chunks(source).await {
        Ok(x) => x,
        Err(e) => {
            let text = format!("reading the source: {}", Causes(&e));
            abandon(live, &mut results, &text).await;
            return finish(results);
        }
    };
    let refusal = if !inspection.is_safe() {
        Some(format!(
            "the image is unsafe, not uploaded: {}",
            inspection
                .unsafe_reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    } else if !format_matches(&work.disk_format, &inspection.format.to_string()) {
        Some(format!(
            "the catalog says format {} but the data is {}: not uploaded",
            work.disk_format, inspection.format
        ))
    } else {
        None
    };
    if let Some(text) = refusal {
        abandon(live, &mut results, &text).await;
        return finish(results);
    }

    // One read, every cloud.
    let branches = fan_out(source, live.len(), FAN_OUT_BUFFER);
    let uploads = live.into_iter().zip(branches).map(|((action, client, image, guard), branch)| {
        let algorithm = hash_algorithms
            .get(&action.cloud)
            .cloned()
            .unwrap_or_else(|| crate::DEFAULT_UPLOAD_HASH.to_owned());
        let events = options.events.clone();
        let work = &work;
        let as_published = &as_published;
        async move {
            let cloud = action.cloud.clone();
            let name = action.name.clone();
            let progress = move |bytes: u64, total: Option<u64>| {
                if let Some(f) = &events {
                    f(&ApplyEvent::Progress {
                        cloud: cloud.clone(),
                        name: name.clone(),
                        bytes,
                        total,
                    });
                }
            };
            let result = upload_one(client, &image, branch, &algorithm, as_published, progress, work, options, &action).await;
            let result = match result {
                Ok(()) => {
                    guard.keep();
                    Ok(())
                }
                Err(e) => {
                    if let Err(d) = guard.delete_now().await {
                        tracing::warn!(image = %image.id, error = %d, "could not delete the incoming image");
                    }
                    Err(e)
                }
            };
            (action, Some(image.id), result)
        }
    });
    results.extend(futures_util::future::join_all(uploads).await);
    let raw = stats.raw_bytes();
    tracing::debug!(raw_bytes = raw, "source read");
    finish(results)
}

/// What is known of the bytes sent when they are the source's as published.
struct AsPublished {
    /// The source's length.
    size: Option<u64>,
    /// The publisher's checksum, which the source fails its last read without.
    checksum: Option<Checksum>,
}

/// Chunks each cloud's branch may be behind the fastest (1 MiB chunks).
const FAN_OUT_BUFFER: usize = 8;

/// Whether the inspected format is the catalog's `format` (Glance's disk formats).
fn format_matches(catalog: &str, inspected: &str) -> bool {
    match catalog {
        "raw" => inspected == "raw",
        // A format the inspector does not tell apart is taken on the catalog's word.
        "qcow2" | "vmdk" | "vhd" | "vhdx" | "vdi" | "iso" => {
            inspected == catalog || inspected == "raw" && catalog == "iso"
        }
        _ => true,
    }
}

/// An image nobody picks up while osimg works on it: private, hidden, tagged
/// [`INCOMING_TAG`].
fn unpublished(name: String, disk_format: &str) -> ImageCreate {
    ImageCreate::new(name)
        .disk_format(disk_format)
        .container_format("bare")
        .visibility("private")
        .property_value("os_hidden", Value::Bool(true))
        .property_value(
            "tags",
            Value::Array(vec![Value::String(INCOMING_TAG.into())]),
        )
}

async fn create_incoming(
    client: &Client,
    action: &Action,
    work: &CreateWork,
) -> Result<(Image, crate::DeleteOnDrop)> {
    let version = action.version.clone().unwrap_or_default();
    let mut create = unpublished(incoming_name(&action.name), &work.disk_format)
        .property(INCOMING_PROPERTY, action.image.clone())
        .property("internal_version", version)
        .property_value("min_ram", Value::from(work.min_ram));
    if let Some(id) = &work.fixed_id {
        create = create.property("id", id.clone());
    }
    client.images().create_guarded(create).await
}

#[allow(clippy::too_many_arguments)]
async fn upload_one(
    client: &Client,
    image: &Image,
    branch: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
    algorithm: &str,
    as_published: &AsPublished,
    progress: impl Fn(u64, Option<u64>) + Send + Sync + 'static,
    work: &CreateWork,
    options: &ApplyOptions,
    action: &Action,
) -> Result<()> {
    let images = client.images();
    let mut data = DataSource::stream(branch);
    if let Some(size) = as_published.size {
        data = data.size(size);
    }
    let upload = images.upload(&image.id, data).progress(progress);
    let upload = match &as_published.checksum {
        Some(c) if c.algorithm.as_str() == algorithm => upload.known_hash(algorithm, &c.hex),
        _ => upload.hash_algorithm(Some(algorithm)),
    };
    upload.send().await?;
    let stored = images.get(&image.id).await?;
    let stored_algorithm = stored
        .os_hash_algo
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if stored_algorithm != algorithm {
        // The upload compared nothing: what Glance stored cannot be proven to be what was
        // sent, so the image is not published.
        return Err(Error::Protocol(format!(
            "image {}: the cloud hashed the data with {stored_algorithm:?}, not {algorithm} \
             as it did before: the stored data cannot be compared with what was sent",
            stored.id
        )));
    }
    options.emit(ApplyEvent::Message {
        cloud: action.cloud.clone(),
        name: action.name.clone(),
        text: format!(
            "verified ({}), publishing",
            stored.os_hash_algo.as_deref().unwrap_or("")
        ),
    });
    publish(client, &stored, action, work).await
}

type Incoming<'a> = (Action, &'a Client, Image, crate::DeleteOnDrop);
type Done = (Action, Option<String>, Result<()>);

/// Deletes the incoming images of a version that will not be uploaded, each failing with
/// `text`.
async fn abandon(live: Vec<Incoming<'_>>, results: &mut Vec<Done>, text: &str) {
    for (action, _, image, guard) in live {
        drop(guard.delete_now().await);
        results.push((
            action,
            Some(image.id),
            Err(Error::Io(std::io::Error::other(text.to_owned()))),
        ));
    }
}

/// `--import web-download`: every cloud's Glance fetches the source; each result is
/// verified before it is published.
async fn web_download_all(
    live: Vec<Incoming<'_>>,
    mut results: Vec<Done>,
    work: &CreateWork,
    checksum: Option<Checksum>,
    options: &ApplyOptions,
) -> Vec<Done> {
    // Known before any import: a source Glance cannot take as it is.
    let refusal = match (&work.source, &checksum) {
        (ImageSource::File(_) | ImageSource::Ftp(_), _) => Some(
            "web-download needs an http(s) source: a file: URL is on this machine, not \
             the cloud's"
                .to_owned(),
        ),
        (_, None) => Some(
            "web-download with no checksum in the catalog: nothing could verify what Glance \
             downloaded (osimg's default streaming import checks it end to end)"
                .to_owned(),
        ),
        (ImageSource::Http(url), Some(_)) => match sniff_compression(url).await {
            Ok(Some(c)) => Some(format!(
                "the source is {c}-compressed and Glance's web-download stores it as it is: \
                 use osimg's default streaming import, which decompresses"
            )),
            Ok(None) => None,
            Err(e) => Some(format!("reading the source's first bytes: {}", Causes(&e))),
        },
    };
    let (Some(checksum), None) = (checksum, refusal.clone()) else {
        let text = refusal.unwrap_or_default();
        abandon(live, &mut results, &text).await;
        return results;
    };
    let uri = work.source.to_string();
    let imports = live.into_iter().map(|(action, client, image, guard)| {
        let uri = uri.clone();
        let checksum = checksum.clone();
        async move {
            let result =
                web_download_one(client, &image, &uri, &checksum, work, options, &action).await;
            let result = match result {
                Ok(()) => {
                    guard.keep();
                    Ok(())
                }
                Err(e) => {
                    drop(guard.delete_now().await);
                    Err(e)
                }
            };
            (action, Some(image.id), result)
        }
    });
    results.extend(futures_util::future::join_all(imports).await);
    results
}

async fn web_download_one(
    client: &Client,
    image: &Image,
    uri: &str,
    checksum: &Checksum,
    work: &CreateWork,
    options: &ApplyOptions,
    action: &Action,
) -> Result<()> {
    let images = client.images();
    let say = |text: String| {
        options.emit(ApplyEvent::Message {
            cloud: action.cloud.clone(),
            name: action.name.clone(),
            text,
        })
    };
    images
        .import(
            &image.id,
            crate::ImportMethod::WebDownload {
                uri: uri.to_owned(),
            },
        )
        .send()
        .await?;
    let stored = images
        .wait_for_status(
            &image.id,
            &[crate::ImageStatus::Active],
            options.import_timeout,
        )
        .await?;
    let algorithm = checksum.algorithm.as_str();
    let stored_algorithm = stored
        .os_hash_algo
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if stored_algorithm == algorithm {
        let value = stored.os_hash_value.clone().unwrap_or_default();
        if !value.eq_ignore_ascii_case(&checksum.hex) {
            return Err(Error::Integrity {
                image_id: stored.id.clone(),
                algorithm: algorithm.to_owned(),
                expected: checksum.hex.clone(),
                actual: value,
            });
        }
        say(format!(
            "web-download: Glance's {algorithm} of what it downloaded matches the publisher's \
             checksum (verified without a read-back; format checked by Glance only)"
        ));
    } else {
        say(format!(
            "web-download: the cloud hashes with {stored_algorithm}, the publisher with \
             {algorithm}: reading the image back to verify it"
        ));
        let mut hasher = crate::Hasher::new(algorithm).ok_or_else(|| {
            Error::invalid("hash algorithm", format!("{algorithm} is not supported"))
        })?;
        let mut data = images
            .download(&stored.id)
            .image(stored.clone())
            .stream()
            .await?;
        while let Some(chunk) = futures_util::TryStreamExt::try_next(&mut data).await? {
            hasher.update(&chunk)?;
        }
        let actual = hasher.hex()?;
        if actual != checksum.hex {
            return Err(Error::Integrity {
                image_id: stored.id.clone(),
                algorithm: algorithm.to_owned(),
                expected: checksum.hex.clone(),
                actual,
            });
        }
        say(format!(
            "web-download: read back, its {algorithm} matches the publisher's checksum \
             (format checked by Glance only)"
        ));
    }
    publish(client, &stored, action, work).await
}

/// The compression of an http(s) source, from its first bytes (one ranged GET).
async fn sniff_compression(url: &url::Url) -> Result<Option<super::source::Compression>> {
    let http = resolve::source_client()?;
    let response = http
        .get(url.clone())
        .header(reqwest::header::RANGE, "bytes=0-511")
        .send()
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e.without_url().to_string())))?;
    if !response.status().is_success() {
        return Err(Error::Io(std::io::Error::other(format!(
            "{}: HTTP {}",
            resolve::shown(url),
            response.status()
        ))));
    }
    let mut response = response;
    let mut head = Vec::new();
    while head.len() < 512 {
        match response
            .chunk()
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e.without_url().to_string())))?
        {
            Some(c) => head.extend_from_slice(&c),
            None => break,
        }
    }
    Ok(super::source::Compression::detect(&head))
}

/// The algorithm a cloud hashes image data with (its `hashing_algorithm`, which Glance
/// publishes nowhere but in `os_hash_algo`): a one-byte image is uploaded, read and deleted.
async fn probe_hash_algorithm(client: &Client) -> Result<String> {
    let images = client.images();
    let create = unpublished("osimg hash probe (deleted at once)".into(), "raw");
    let (image, guard) = images.create_guarded(create).await?;
    let result = async {
        images
            .upload(&image.id, DataSource::bytes(&b"\0"[..]))
            .hash_algorithm(None)
            .send()
            .await?;
        let stored = images.get(&image.id).await?;
        stored
            .os_hash_algo
            .map(|a| a.to_ascii_lowercase())
            .ok_or_else(|| Error::Protocol("the probe image has no os_hash_algo".into()))
    }
    .await;
    drop(guard.delete_now().await);
    result
}

/// Gives a verified image its catalog name, visibility, tags and properties, after
/// renaming the image that held the plain name before it (`multi` rotation).
async fn publish(
    client: &Client,
    stored: &Image,
    action: &Action,
    work: &CreateWork,
) -> Result<()> {
    let images = client.images();
    if let Some((old, set)) = &work.supersedes {
        match images.get(old).await {
            Ok(current) => apply_settings(client, &current, set, &[], None).await?,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    let mut set = work.publish.clone();
    let min_disk = super::state::min_disk(
        work.min_disk,
        stored.size_bytes(),
        stored.virtual_size.and_then(|v| u64::try_from(v).ok()),
    );
    set.insert("min_disk".into(), Value::from(min_disk));
    if !set.contains_key("os_hidden") {
        set.insert("os_hidden".into(), Value::Bool(false));
    }
    let _ = action;
    apply_settings(
        client,
        stored,
        &set,
        &[INCOMING_PROPERTY],
        work.deactivate.then_some(true),
    )
    .await
}
