//! Timestamps as the services send them, read into [`SystemTime`].
//!
//! Types keep each timestamp as the text the server sent (`Image::created_at` is a
//! `String`), so printing or re-serializing it is lossless; accessors such as
//! [`Image::created_at_time`](crate::Image::created_at_time) parse it when a real time is
//! wanted. No date crate: the one format (RFC 3339, as Glance, Nova and Keystone write it)
//! is a few lines, and the RFC 3339 parsers of chrono, time and jiff refuse what Keystone
//! and older Nova write (no offset, which RFC 3339 requires). A `SystemTime` converts
//! into each of those crates' types in one call (`chrono::DateTime::<Utc>::from(t)`,
//! `time::OffsetDateTime::from(t)`, `jiff::Timestamp::try_from(t)`); see the README,
//! "Timestamps".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Parses an RFC 3339 timestamp: `2026-11-23T12:57:41Z`, with an optional fraction
/// (`.123456`) and an offset (`Z`, `+02:00`, `-0530`); without an offset the time is UTC
/// (as Keystone and older Nova write it). A space may stand for the `T`. `None` for anything
/// else, out-of-range fields (month 13, 31 April, 24:00) included.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use openstack_images::parse_rfc3339;
/// let t = parse_rfc3339("2026-11-23T12:57:41Z").unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1_795_438_661));
/// assert_eq!(parse_rfc3339("2026-11-23T14:57:41.5+02:00"), Some(t + Duration::from_millis(500)));
/// assert_eq!(parse_rfc3339("2026-02-30T00:00:00Z"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = digits(text, 5, 7)?;
    let day = digits(text, 8, 10)?;
    let hour = digits(text, 11, 13)?;
    let minute = digits(text, 14, 16)?;
    let second = digits(text, 17, 19)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // 60 is a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: u64 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        // Nanosecond precision: further digits are dropped.
        for (i, digit) in fraction.bytes().take(len).take(9).enumerate() {
            nanos += u64::from(digit - b'0') * 10u64.pow(8 - i as u32);
        }
        rest = &fraction[len..];
    }
    let offset_secs = offset_seconds(rest)?;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let nanos = Duration::from_nanos(nanos);
    match u64::try_from(secs) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_secs(after) + nanos),
        Err(_) => UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(nanos),
    }
}

/// A timestamp field of a response as a time: `Ok(None)` when the field is absent, an
/// [`Error::Protocol`] naming the field when its text is not a timestamp.
pub(crate) fn field_time(field: &str, text: Option<&str>) -> Result<Option<SystemTime>> {
    let Some(text) = text else {
        return Ok(None);
    };
    parse_rfc3339(text)
        .map(Some)
        .ok_or_else(|| Error::Protocol(format!("`{field}` is not an RFC 3339 timestamp: {text:?}")))
}

/// The number in `text[start..end]`, which must be all ASCII digits.
fn digits(text: &str, start: usize, end: usize) -> Option<i64> {
    let part = text.get(start..end)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// `Z`, `z`, nothing (UTC), `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH`, as seconds east of UTC.
fn offset_seconds(offset: &str) -> Option<i64> {
    if offset.is_empty() || offset == "Z" || offset == "z" {
        return Some(0);
    }
    let sign = match offset.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &offset[1..];
    let (hours, minutes) = match body.len() {
        2 => (digits(body, 0, 2)?, 0),
        4 => (digits(body, 0, 2)?, digits(body, 2, 4)?),
        5 if body.as_bytes()[2] == b':' => (digits(body, 0, 2)?, digits(body, 3, 5)?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<i64> {
        parse_rfc3339(text).map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs() as i64,
            Err(before) => -(before.duration().as_secs() as i64),
        })
    }

    #[test]
    fn the_formats_the_services_write() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        // Glance and Nova.
        assert_eq!(secs("2026-11-23T12:57:41Z"), Some(1_795_438_661));
        // Keystone: microseconds, `Z`; oslo without an offset.
        assert_eq!(secs("2026-11-23T12:57:41.000000Z"), Some(1_795_438_661));
        assert_eq!(secs("2026-11-23T12:57:41.999999"), Some(1_795_438_661));
        assert_eq!(secs("2026-11-23 12:57:41"), Some(1_795_438_661));
        assert_eq!(secs("2026-11-23T13:57:41+01:00"), Some(1_795_438_661));
        assert_eq!(secs("2026-11-23T07:27:41-0530"), Some(1_795_438_661));
        assert_eq!(secs("2026-11-23T14:57:41+02"), Some(1_795_438_661));
        assert_eq!(secs("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(secs("1969-12-31T23:59:59Z"), Some(-1));
        let nanos = parse_rfc3339("1970-01-01T00:00:00.123456789123Z").unwrap();
        assert_eq!(nanos, UNIX_EPOCH + Duration::from_nanos(123_456_789));
    }

    #[test]
    fn anything_else_is_refused_without_panicking() {
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T12:57",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T12:60:00Z",
            "2026-11-23T12:57:41.Z",
            "2026-11-23T12:57:41+1:00",
            "2026-11-23T12:57:41+24:00",
            "2026-11-23T12:57:41 UTC",
            "+026-11-23T12:57:41Z",
            "2026-+1-23T12:57:41Z",
            "2026-11-23X12:57:41Z",
            "2026-11-23T12:57:41Zjunk",
            "２０２６-11-23T12:57:41Z",
            "2026-11-23T12:57:4é",
            "2026-11-23T12:57:41+é",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_name_themselves_when_they_are_not_times() {
        assert_eq!(field_time("created_at", None).unwrap(), None);
        assert!(
            field_time("created_at", Some("2026-11-23T12:57:41Z"))
                .unwrap()
                .is_some()
        );
        let err = field_time("created_at", Some("yesterday")).unwrap_err();
        assert!(matches!(err, Error::Protocol(m) if m.contains("created_at")));
    }
}
