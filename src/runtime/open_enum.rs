//! The payload of an open enum's `Unknown` variant.

use std::fmt;

/// A value an open enum's schema does not list, kept as the server sent it.
///
/// Sealed: only decoding and parsing make one, and they turn every listed value into its
/// own variant, so `Unknown(_)` never stands for a known value and a `match` on the known
/// variants is reliable. Match on `Unknown(_)` and read the text with [`as_str`](Self::as_str).
///
/// ```
/// use openstack_images::ImageStatus;
/// let status: ImageStatus = "exploding".parse().unwrap();
/// match &status {
///     ImageStatus::Unknown(value) => assert_eq!(value.as_str(), "exploding"),
///     other => panic!("{other:?} should be unknown"),
/// }
/// // A listed value always parses to its variant.
/// assert_eq!(ImageStatus::from("active".to_owned()), ImageStatus::Active);
/// ```
///
/// Code outside the crate cannot make one:
///
/// ```compile_fail
/// let forged = openstack_images::UnknownValue("active".to_owned());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownValue(String);

impl UnknownValue {
    /// Only the generated `From` impls call this, after every listed value has matched.
    pub(crate) fn new(value: String) -> Self {
        UnknownValue(value)
    }

    /// The value as the server sent it.
    ///
    /// ```
    /// let format = openstack_images::DiskFormat::from("qcow3");
    /// if let openstack_images::DiskFormat::Unknown(value) = &format {
    ///     assert_eq!(value.as_str(), "qcow3");
    /// }
    /// # assert!(!format.is_known());
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
