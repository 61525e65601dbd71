//! Checks of values sent in a URL path (image ids, tags, member ids).
//!
//! The checks of request bodies against the served schema are the rule tables'
//! (`crate::runtime::rules`).

use crate::error::{Error, Result};

/// Checks a string used as an identifier in a URL path (image id, tag, member id).
pub(crate) fn check_path_value(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "cannot be empty"));
    }
    // URL parsers resolve `.`/`..` segments, even percent-encoded, so they cannot be sent.
    if value == "." || value == ".." {
        return Err(Error::invalid(
            field,
            format!("`{value}` cannot be used as a URL path segment"),
        ));
    }
    Ok(())
}

/// Checks a tag before it is sent.
pub(crate) fn check_tag(tag: &str) -> Result<()> {
    check_path_value("tag", tag)?;
    // Glance decodes `%2F` before routing (`/tags/a%2Fb` is a 404), and under WSGI it reads
    // a non-ASCII path as latin-1, storing mojibake: such tags go through the body instead.
    if tag.contains('/') || tag == "." || tag == ".." || !tag.is_ascii() {
        return Err(Error::invalid(
            "tag",
            format!(
                "`{tag}` cannot be sent as a path segment of Glance's tag endpoint; set the \
                 tag list with ImagePatch::replace_tags instead"
            ),
        ));
    }
    let n = tag.chars().count();
    if n > 255 {
        return Err(Error::invalid(
            "tag",
            format!("is {n} characters long; at most 255 are allowed"),
        ));
    }
    Ok(())
}
