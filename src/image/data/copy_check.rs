//! What a copy's target stored, checked against what was sent (see
//! [`crate::CopyImage::send`]): its size, then its stored hash in the copy's own algorithm,
//! or the copy read back when no hash of that algorithm was computed on the way.

use super::verify::expected_of;
use super::*;
use crate::hash::Hasher;

/// Checks what the target stored against what was sent: the size, then the stored hash
/// in the copy's own algorithm, against a hash of the same algorithm when one is known,
/// else by reading the copy back.
pub(super) async fn verify(
    target: &ImagesApi,
    max_resumes: u32,
    source: &Image,
    copy: &Image,
    size: Option<u64>,
    sent: Option<(String, String)>,
) -> Result<()> {
    let stored_algorithm = lower(&copy.os_hash_algo);
    match expected_for(source, &stored_algorithm, sent) {
        Some(expected) => check_copy(copy, size, &stored_algorithm, &expected),
        None => {
            check_size(copy, size)?;
            read_back(target, max_resumes, source, copy, &stored_algorithm).await
        }
    }
}

/// Reads the copy back from the target (verified there against its own hash) and hashes
/// it with the source's algorithm: the proof that the target holds the source's bytes
/// when no hash of the same algorithm was computed on the way.
async fn read_back(
    target: &ImagesApi,
    max_resumes: u32,
    source: &Image,
    copy: &Image,
    stored_algorithm: &str,
) -> Result<()> {
    let expected = expected_of(source).ok_or_else(|| {
        Error::Protocol(format!(
            "image {}: the source has no checksum to compare the copy with",
            source.id
        ))
    })?;
    tracing::info!(
        copy = %copy.id,
        target_algorithm = %stored_algorithm,
        source_algorithm = %expected.algorithm,
        "the copy's hash algorithm was not computed on the way: reading the copy back"
    );
    let mut hasher = Hasher::new(&expected.algorithm).ok_or_else(|| {
        Error::invalid(
            "hash algorithm",
            format!("{} is not supported", expected.algorithm),
        )
    })?;
    let mut data = target
        .download(&copy.id)
        .image(copy.clone())
        .max_resumes(max_resumes)
        .stream()
        .await?;
    while let Some(chunk) = data.next().await {
        hasher.update(&chunk?)?;
    }
    let actual = hasher.hex()?;
    if actual != expected.hex {
        return Err(Error::Integrity {
            image_id: copy.id.clone(),
            algorithm: expected.algorithm,
            expected: expected.hex,
            actual,
        });
    }
    Ok(())
}

fn lower(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").to_ascii_lowercase()
}

/// The hash the copy's stored value must equal, in the copy's own algorithm: the source's
/// when the algorithms are the same, else the one computed on the way if it is of that
/// algorithm; `None` when no hash of that algorithm is known (the copy must be read back).
fn expected_for(
    source: &Image,
    stored_algorithm: &str,
    sent: Option<(String, String)>,
) -> Option<String> {
    if !stored_algorithm.is_empty() && lower(&source.os_hash_algo) == stored_algorithm {
        return Some(lower(&source.os_hash_value));
    }
    sent.filter(|(algorithm, _)| algorithm == stored_algorithm)
        .map(|(_, hex)| hex)
}

/// Fails unless the copy holds `size` bytes (when known).
fn check_size(copy: &Image, size: Option<u64>) -> Result<()> {
    if let (Some(want), got) = (size, copy.size_bytes())
        && got != Some(want)
    {
        return Err(Error::Integrity {
            image_id: copy.id.clone(),
            algorithm: "size".into(),
            expected: want.to_string(),
            actual: got.map_or_else(|| "none".into(), |n| n.to_string()),
        });
    }
    Ok(())
}

/// Checks the copy's size and its stored hash (of `algorithm`) against `expected`.
fn check_copy(copy: &Image, size: Option<u64>, algorithm: &str, expected: &str) -> Result<()> {
    check_size(copy, size)?;
    let stored = lower(&copy.os_hash_value);
    if expected.is_empty() || stored != expected {
        return Err(Error::Integrity {
            image_id: copy.id.clone(),
            algorithm: algorithm.to_owned(),
            expected: expected.to_owned(),
            actual: stored,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_that_stored_other_bytes_is_an_integrity_error() {
        let copy: Image = serde_json::from_value(serde_json::json!({
            "id": "c", "size": 3, "os_hash_algo": "sha512", "os_hash_value": "AB",
        }))
        .unwrap();
        assert!(check_copy(&copy, Some(3), "sha512", "ab").is_ok());
        let wrong = check_copy(&copy, Some(3), "sha512", "cd").unwrap_err();
        assert!(
            matches!(&wrong, Error::Integrity { algorithm, expected, actual, .. }
                if algorithm == "sha512" && expected == "cd" && actual == "ab"),
            "{wrong:?}"
        );
        let short = check_copy(&copy, Some(4), "sha512", "ab").unwrap_err();
        assert!(matches!(&short, Error::Integrity { algorithm, .. } if algorithm == "size"));
        // Nothing to compare with is not a pass.
        assert!(check_copy(&copy, Some(3), "sha512", "").is_err());
    }

    /// The copy's own `os_hash_algo` decides what it is compared with; a guess that missed
    /// is not a mismatch but a read-back.
    #[test]
    fn the_copy_is_compared_in_its_own_algorithm() {
        let source: Image = serde_json::from_value(serde_json::json!({
            "id": "s", "os_hash_algo": "SHA512", "os_hash_value": "AA",
        }))
        .unwrap();
        // Same algorithm: the source's value, whatever was hashed on the way.
        assert_eq!(expected_for(&source, "sha512", None).as_deref(), Some("aa"));
        // Another algorithm, computed on the way: that hash.
        let sent = Some(("sha256".to_owned(), "bb".to_owned()));
        assert_eq!(
            expected_for(&source, "sha256", sent.clone()).as_deref(),
            Some("bb")
        );
        // Another algorithm than the one guessed: nothing to compare, so read back.
        assert_eq!(expected_for(&source, "sha384", sent), None);
        assert_eq!(expected_for(&source, "sha256", None), None);
        // A copy that reports no algorithm is never compared with the source's empty one.
        assert_eq!(expected_for(&source, "", None), None);
    }
}
