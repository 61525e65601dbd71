//! Rule tables: what a request may send for each property of a served schema.
//!
//! The tables ([`IMAGE_SCHEMA`](crate::IMAGE_SCHEMA), ...) are generated from the schema
//! files; this module defines their types and applies them: lenient when reading, strict on
//! what we send.

use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::error::{Error, Result};

/// The JSON type a property takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// A number: an integer or a float (JSON Schema `number`).
    Number,
    /// `true` or `false`.
    Bool,
    /// An array of strings.
    StrArray,
    /// A JSON object.
    Object,
    /// An array of anything else.
    Array,
    /// Anything.
    Any,
}

impl ValueKind {
    fn matches(self, v: &Value) -> bool {
        match self {
            ValueKind::Str => v.is_string(),
            ValueKind::Int => v.is_i64() || v.is_u64(),
            ValueKind::Number => v.is_number(),
            ValueKind::Bool => v.is_boolean(),
            ValueKind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            ValueKind::Object => v.is_object(),
            ValueKind::Array => v.is_array(),
            ValueKind::Any => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ValueKind::Str => "a string",
            ValueKind::Int => "an integer",
            ValueKind::Number => "a number",
            ValueKind::Bool => "a boolean",
            ValueKind::StrArray => "an array of strings",
            ValueKind::Object => "an object",
            ValueKind::Array => "an array",
            ValueKind::Any => "any value",
        }
    }
}

/// One property of a schema and the rules a value sent for it must follow.
#[derive(Debug)]
#[non_exhaustive]
pub struct PropertyRules {
    /// The property name.
    pub name: &'static str,
    /// Its JSON type.
    pub kind: ValueKind,
    /// Whether `null` is allowed.
    pub nullable: bool,
    /// Whether the server sets it (sending it is refused).
    pub read_only: bool,
    /// Allowed values, if the schema lists them.
    pub enum_values: &'static [&'static str],
    /// Longest allowed string, in characters.
    pub max_length: Option<u64>,
    /// Longest allowed array item, in characters.
    pub item_max_length: Option<u64>,
    /// A regular expression the value must match.
    pub pattern: Option<&'static str>,
    /// Whether the operator defined it (`is_base: false`).
    pub custom: bool,
}

/// A schema's properties and what it allows beyond them.
#[derive(Debug)]
#[non_exhaustive]
pub struct SchemaRules {
    /// The named properties.
    pub props: &'static [PropertyRules],
    /// The type of properties not named (`None`: not allowed).
    pub additional: Option<ValueKind>,
}

/// Longest custom property key Glance stores.
const MAX_KEY_LEN: usize = 255;

impl SchemaRules {
    /// The rules of a named property.
    ///
    /// ```
    /// let p = openstack_images::IMAGE_SCHEMA.prop("name").unwrap();
    /// assert_eq!(p.max_length, Some(255));
    /// ```
    pub fn prop(&self, name: &str) -> Option<&'static PropertyRules> {
        self.props.iter().find(|p| p.name == name)
    }

    /// Checks that `value` may be sent for property `key`.
    ///
    /// ```
    /// use openstack_images::IMAGE_SCHEMA;
    /// assert!(IMAGE_SCHEMA.check_write("status", &"active".into()).is_err()); // read-only
    /// assert!(IMAGE_SCHEMA.check_write("os_distro", &serde_json::json!(5)).is_err());
    /// assert!(IMAGE_SCHEMA.check_write("min_disk", &serde_json::json!(5)).is_ok());
    /// ```
    pub fn check_write(&self, key: &str, value: &Value) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid(key, "property names cannot be empty"));
        }
        if has_4byte_utf8(key) || strings_of(value).any(has_4byte_utf8) {
            return Err(Error::invalid(
                key,
                "Glance refuses characters outside the Basic Multilingual Plane (4-byte UTF-8, \
                 such as emoji) in property names and values",
            ));
        }
        let Some(p) = self.prop(key) else {
            let Some(kind) = self.additional else {
                return Err(Error::invalid(key, "the schema has no such property"));
            };
            if key.chars().count() > MAX_KEY_LEN {
                return Err(Error::invalid(
                    truncated(key),
                    format!("property names are at most {MAX_KEY_LEN} characters"),
                ));
            }
            if key.starts_with("os_glance") {
                return Err(Error::invalid(
                    key,
                    "the os_glance prefix is reserved by Glance",
                ));
            }
            if !kind.matches(value) {
                return Err(Error::invalid(
                    key,
                    format!(
                        "custom property values must be {}, got {}",
                        kind.name(),
                        type_name(value)
                    ),
                ));
            }
            return Ok(());
        };
        if p.read_only {
            return Err(Error::invalid(key, "is read-only: the server sets it"));
        }
        if value.is_null() {
            return if p.nullable {
                Ok(())
            } else {
                Err(Error::invalid(key, "cannot be null"))
            };
        }
        if !p.kind.matches(value) {
            return Err(Error::invalid(
                key,
                format!("must be {}, got {}", p.kind.name(), type_name(value)),
            ));
        }
        if let Some(s) = value.as_str() {
            check_str(p, key, s, p.max_length)?;
        }
        if let (Some(items), Some(max)) = (value.as_array(), p.item_max_length) {
            for item in items.iter().filter_map(Value::as_str) {
                if item.chars().count() as u64 > max {
                    return Err(Error::invalid(
                        key,
                        format!("item `{}` is longer than {max} characters", truncated(item)),
                    ));
                }
                if item.is_empty() {
                    return Err(Error::invalid(key, "items cannot be empty"));
                }
            }
        }
        Ok(())
    }
}

fn check_str(p: &PropertyRules, key: &str, s: &str, max: Option<u64>) -> Result<()> {
    if let Some(max) = max {
        let n = s.chars().count() as u64;
        if n > max {
            return Err(Error::invalid(
                key,
                format!("is {n} characters long; at most {max} are allowed"),
            ));
        }
    }
    if !p.enum_values.is_empty() && !p.enum_values.contains(&s) {
        return Err(Error::invalid(
            key,
            format!(
                "`{s}` is not one of the values this cloud allows: {}",
                p.enum_values.join(", ")
            ),
        ));
    }
    if let Some(pattern) = p.pattern
        && !pattern_matches(pattern, s)
    {
        return Err(Error::invalid(
            key,
            format!("`{}` does not match {pattern}", truncated(s)),
        ));
    }
    Ok(())
}

/// Compiled patterns, by source (`None`: the pattern did not compile).
type Compiled = Vec<(&'static str, Option<regress::Regex>)>;

/// Matches an ECMA 262 pattern (the dialect JSON Schema uses), compiling each once.
fn pattern_matches(pattern: &'static str, s: &str) -> bool {
    static CACHE: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if !cache.iter().any(|(p, _)| *p == pattern) {
        cache.push((pattern, regress::Regex::new(pattern).ok()));
    }
    match cache.iter().find(|(p, _)| *p == pattern) {
        // A pattern we cannot compile is left to the server to enforce.
        Some((_, Some(re))) => re.find(s).is_some(),
        _ => true,
    }
}

fn has_4byte_utf8(s: &str) -> bool {
    s.chars().any(|c| c.len_utf8() == 4)
}

/// The strings of a value: itself, or the items of an array.
fn strings_of(v: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncated(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(40).collect::<String>())
    }
}
