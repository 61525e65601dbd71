//! Checks of values sent in a URL path (image ids, tags, member ids).
//!
//! The checks of request bodies against the served schema are the rule tables'
//! (`crate::runtime::rules`).

use crate::error::{Error, Result};

/// Checks a string used as an identifier in a URL path (image id, member id, task id,
/// store id, metadef name, compute metadata key): every path builder calls it before
/// [`seg`](crate::http::seg) encodes the value.
pub(crate) fn check_path_value(field: &str, value: &str) -> Result<()> {
    check_lookup(field, value)?;
    // URL parsers resolve `.`/`..` segments, even percent-encoded, so they cannot be sent.
    if value == "." || value == ".." {
        return Err(Error::invalid(
            field,
            format!("`{value}` cannot be used as a URL path segment"),
        ));
    }
    // Glance, Nova and Keystone (WSGI) decode `%2F` before routing, so `x/members` would
    // reach another endpoint; some proxies turn `\` into `/` as well. `?`, `#` and `%` are
    // encoded by `seg` and decoded once into the segment itself: they re-route nothing.
    if let Some(c) = value.chars().find(|c| matches!(c, '/' | '\\')) {
        return Err(Error::invalid(
            field,
            format!("`{value}` holds `{c}`, which the server would read as a path separator"),
        ));
    }
    Ok(())
}

/// Checks a name or id looked up by a query (where it goes into no path): not empty.
pub(crate) fn check_lookup(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "cannot be empty"));
    }
    Ok(())
}

/// Checks a tag before it is sent.
pub(crate) fn check_tag(tag: &str) -> Result<()> {
    check_lookup("tag", tag)?;
    // Glance decodes `%2F` before routing (`/tags/a%2Fb` is a 404), and under WSGI it reads
    // a non-ASCII path as latin-1, storing mojibake: such tags go through the body instead.
    if tag.contains(['/', '\\']) || tag == "." || tag == ".." || !tag.is_ascii() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(field: &str, value: &str) -> String {
        match check_path_value(field, value) {
            Err(Error::InvalidInput { field: f, reason }) => {
                assert_eq!(f, field);
                reason
            }
            other => panic!("`{value}` was not refused: {other:?}"),
        }
    }

    #[test]
    fn values_that_would_reroute_a_request_are_refused() {
        for id in ["", ".", "..", "x/members", "../tasks", "/", "a\\b", "x/"] {
            refused("image id", id);
        }
        assert!(refused("image id", "x/members").contains("path separator"));
        // Encoded by `seg` and decoded once into the segment: harmless, and ids may hold them.
        for id in [
            "1bea47ed-f6a9-463b-b423-14b9cca9ad27",
            "a?b",
            "a#b",
            "a%2Fb",
            "...",
            "é",
        ] {
            check_path_value("image id", id).unwrap();
        }
        // The tag check says what to do instead.
        let e = check_tag("a/b").unwrap_err().to_string();
        assert!(e.contains("replace_tags"), "{e}");
        assert!(check_tag("a\\b").is_err());
    }

    #[test]
    fn every_path_builder_refuses_a_separator() {
        use crate::image::{images::image_path, metadefs::namespace_path};
        for id in ["x/members", "x\\y"] {
            assert!(
                matches!(image_path(id), Err(Error::InvalidInput { .. })),
                "{id}"
            );
            assert!(
                matches!(namespace_path(id), Err(Error::InvalidInput { .. })),
                "{id}"
            );
        }
    }
}
