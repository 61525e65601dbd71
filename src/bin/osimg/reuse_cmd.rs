//! `image create --file F --reuse-existing`: the image that already holds F's bytes, if any.

use std::path::Path;

use openstack_images::ImagesApi;

use crate::CmdResult;
use crate::output::{escape_controls, report};
use crate::progress;

/// The id of an active image visible to the caller with the same data as `file` (hashed with
/// the cloud's algorithm), said on stderr; `None` when the file must be uploaded.
pub(crate) async fn existing(images: &ImagesApi, file: &Path) -> CmdResult<Option<String>> {
    let bar = progress::spinner(&format!(
        "hashing {} to look for an image with its data",
        escape_controls(&file.display().to_string())
    ));
    let found = images.find_by_file(file).await;
    bar.finish_and_clear();
    Ok(found?.map(|image| {
        let algorithm = image.os_hash_algo.as_deref().unwrap_or("hash");
        report(&format!(
            "reused image {} ({}): it already holds the data of {} (same {algorithm}); nothing \
             was uploaded",
            image.id,
            image.name.as_deref().unwrap_or(""),
            file.display(),
        ));
        image.id
    }))
}
