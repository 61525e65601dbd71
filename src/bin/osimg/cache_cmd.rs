//! `osimg cached image`: the image cache of a Glance node, in the words and columns of
//! `openstack cached image list|queue|delete|clear`. `clean` and `prune` (API 2.18) are
//! ours: OSC has no command for them (glanceclient has `cache-clean`, `cache-prune`).

use clap::{Args, Subcommand};
use openstack_images::{CacheClear, CachedImage, Client, ImagesApi};
use serde_json::{Value, json};

use crate::output::{Printer, col, report};
use crate::{CmdResult, Fail, with_causes};

#[derive(Subcommand)]
pub enum CachedCmd {
    /// Images in the image cache of a Glance node.
    Image {
        #[command(subcommand)]
        cmd: CachedImageCmd,
    },
}

#[derive(Subcommand)]
pub enum CachedImageCmd {
    /// List cached and queued images (columns ID, State, Last Accessed (UTC),
    /// Last Modified (UTC), Size, Hits, as openstack prints them).
    List,
    /// Queue images for caching (Glance fetches them in the background).
    Queue {
        /// Image ids or names.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Delete images from the cache (and from the queue).
    Delete {
        /// Image ids or names.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Clear all images from the cache, the queue or both (default both).
    Clear(ClearArgs),
    /// Remove invalid cache entries and stalled downloads (API 2.18).
    Clean,
    /// Remove cached images until the cache is below its size limit (API 2.18); prints
    /// what was removed.
    Prune,
}

#[derive(Args)]
#[group(multiple = false)]
pub struct ClearArgs {
    /// Clear only the cached images.
    #[arg(long)]
    cache: bool,
    /// Clear only the queued images.
    #[arg(long)]
    queue: bool,
}

/// Seconds since the epoch as Python's `datetime.utcfromtimestamp(t).isoformat()` writes
/// them (what openstack prints): `2026-12-02T05:53:13.103937`, no fraction when it is zero.
fn utc_isoformat(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return seconds.to_string();
    }
    let micros = (seconds * 1e6).round() as i64;
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let time = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac == 0 {
        time
    } else {
        format!("{time}.{frac:06}")
    }
}

fn cached_row(c: &CachedImage) -> Value {
    let time = |t: Option<f64>| t.map_or(Value::Null, |t| json!(utc_isoformat(t)));
    json!({
        "image_id": c.image_id,
        "state": "cached",
        "last_accessed": time(c.last_accessed),
        "last_modified": time(c.last_modified),
        "size": c.size,
        "hits": c.hits,
    })
}

fn queued_row(id: &str) -> Value {
    json!({"image_id": id, "state": "queued", "last_accessed": "N/A",
           "last_modified": "N/A", "size": "N/A", "hits": "N/A"})
}

/// Runs `action` on each image (found by id or name), reporting each failure as openstack
/// does, and fails at the end if any did.
async fn each_image<F, Fut>(
    images: &ImagesApi,
    names: &[String],
    verb: &str,
    action: F,
) -> CmdResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = openstack_images::Result<()>>,
{
    let mut failures = 0;
    for name in names {
        let result = match images.find(name).await {
            Ok(image) => action(image.id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            failures += 1;
            report(&format!(
                "Failed to {verb} image with name or ID '{name}': {}",
                with_causes(&e)
            ));
        }
    }
    match failures {
        0 => Ok(()),
        n => Err(Fail::other(format!(
            "Failed to {verb} {n} of {} images",
            names.len()
        ))),
    }
}

pub async fn run(client: &Client, out: &Printer, cmd: CachedCmd) -> CmdResult {
    let CachedCmd::Image { cmd } = cmd;
    let images = client.images();
    match cmd {
        CachedImageCmd::List => {
            let state = images.cache_state().await?;
            let rows: Vec<Value> = state
                .cached
                .iter()
                .map(cached_row)
                .chain(state.queued.iter().map(|id| queued_row(id)))
                .collect();
            let cols = [
                col("ID", "image_id"),
                col("State", "state"),
                col("Last Accessed (UTC)", "last_accessed"),
                col("Last Modified (UTC)", "last_modified"),
                col("Size", "size"),
                col("Hits", "hits"),
            ];
            out.list(&cols, &rows, false)
        }
        CachedImageCmd::Queue { images: names } => {
            each_image(&images, &names, "queue", |id| {
                let images = images.clone();
                async move { images.cache_queue(&id).await }
            })
            .await
        }
        CachedImageCmd::Delete { images: names } => {
            each_image(&images, &names, "delete", |id| {
                let images = images.clone();
                async move { images.cache_delete(&id).await }
            })
            .await
        }
        CachedImageCmd::Clear(a) => {
            let what = match (a.cache, a.queue) {
                (true, _) => CacheClear::Cached,
                (_, true) => CacheClear::Queued,
                _ => CacheClear::All,
            };
            Ok(images.cache_clear(what).await?)
        }
        CachedImageCmd::Clean => Ok(images.cache_clean().await?),
        CachedImageCmd::Prune => {
            let pruned = images.cache_prune().await?;
            let v = serde_json::to_value(pruned).map_err(|e| Fail::other(e.to_string()))?;
            match v {
                Value::Object(m) => out.show(&m),
                _ => Err(Fail::other("prune result is not an object")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_python_isoformat() {
        assert_eq!(utc_isoformat(0.0), "1970-01-01T00:00:00");
        assert_eq!(
            utc_isoformat(1796190793.103937),
            "2026-12-02T05:53:13.103937"
        );
        // 2000-02-29 (a leap day of a century year).
        assert_eq!(utc_isoformat(951782400.5), "2000-02-29T00:00:00.500000");
        assert_eq!(utc_isoformat(f64::NAN), "NaN");
    }
}
