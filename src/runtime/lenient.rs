//! Lenient decoding for server responses.
//!
//! Generated `Deserialize` impls read each field as a [`Prim`] (one pass over the input, no
//! buffering) and convert it with [`Lenient::from_prim`]. A value of an unexpected type is
//! handed back so the caller can keep it in the struct's `extra` map: decoding never fails and
//! never loses data because a cloud sent a number where the schema says string.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value, with scalars kept unboxed.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A negative integer.
    I64(i64),
    /// A non-negative integer.
    U64(u64),
    /// A number with a fraction or exponent.
    F64(f64),
    /// A string.
    Str(String),
    /// An array or object.
    Other(Value),
}

impl Prim {
    /// The value as a `serde_json::Value`.
    pub fn into_value(self) -> Value {
        match self {
            Prim::Null => Value::Null,
            Prim::Bool(b) => Value::Bool(b),
            Prim::I64(n) => Value::from(n),
            Prim::U64(n) => Value::from(n),
            Prim::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Prim::Str(s) => Value::String(s),
            Prim::Other(v) => v,
        }
    }

    fn from_value(v: Value) -> Prim {
        match v {
            Value::Null => Prim::Null,
            Value::Bool(b) => Prim::Bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Prim::U64(u)
                } else if let Some(i) = n.as_i64() {
                    Prim::I64(i)
                } else {
                    Prim::F64(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => Prim::Str(s),
            other => Prim::Other(other),
        }
    }
}

struct PrimVisitor;

impl<'de> Visitor<'de> for PrimVisitor {
    type Value = Prim;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Prim, E> {
        Ok(Prim::Null)
    }
    fn visit_none<E>(self) -> Result<Prim, E> {
        Ok(Prim::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Prim, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Prim, E> {
        Ok(Prim::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Prim, E> {
        Ok(if n >= 0 {
            Prim::U64(n as u64)
        } else {
            Prim::I64(n)
        })
    }
    fn visit_u64<E>(self, n: u64) -> Result<Prim, E> {
        Ok(Prim::U64(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Prim, E> {
        Ok(Prim::F64(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Prim, E> {
        Ok(Prim::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Prim, E> {
        Ok(Prim::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Prim, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Prim::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Prim, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Prim::Other)
    }
}

impl<'de> Deserialize<'de> for Prim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PrimVisitor)
    }
}

/// A map key, borrowed from the input when it has no escapes.
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct K;
        impl<'de> Visitor<'de> for K {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(K)
    }
}

/// Conversion from a decoded [`Prim`] that hands the value back when its type is wrong.
pub trait Lenient: Sized {
    /// Converts, or returns the value unchanged when it does not fit.
    fn from_prim(p: Prim) -> Result<Self, Prim>;
}

impl Lenient for String {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Str(s) => Ok(s),
            other => Err(other),
        }
    }
}

impl Lenient for i64 {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::I64(n) => Ok(n),
            Prim::U64(n) => i64::try_from(n).map_err(|_| Prim::U64(n)),
            other => Err(other),
        }
    }
}

impl Lenient for u64 {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::U64(n) => Ok(n),
            other => Err(other),
        }
    }
}

impl Lenient for f64 {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::F64(f) => Ok(f),
            Prim::U64(n) => Ok(n as f64),
            Prim::I64(n) => Ok(n as f64),
            other => Err(other),
        }
    }
}

impl Lenient for bool {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Bool(b) => Ok(b),
            other => Err(other),
        }
    }
}

impl Lenient for Value {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        Ok(p.into_value())
    }
}

impl Lenient for serde_json::Number {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::I64(n) => Ok(n.into()),
            Prim::U64(n) => Ok(n.into()),
            Prim::F64(f) => serde_json::Number::from_f64(f).ok_or(Prim::F64(f)),
            other => Err(other),
        }
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Null => Ok(None),
            other => T::from_prim(other).map(Some),
        }
    }
}

impl<T: Lenient> Lenient for Vec<T> {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Null => Ok(Vec::new()),
            Prim::Other(Value::Array(items)) => {
                // Convert all or nothing: a partly converted array would lose the rest.
                if items
                    .iter()
                    .all(|v| T::from_prim(Prim::from_value(v.clone())).is_ok())
                {
                    Ok(items
                        .into_iter()
                        .filter_map(|v| T::from_prim(Prim::from_value(v)).ok())
                        .collect())
                } else {
                    Err(Prim::Other(Value::Array(items)))
                }
            }
            other => Err(other),
        }
    }
}

impl<T: Lenient> Lenient for BTreeMap<String, T> {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Null => Ok(BTreeMap::new()),
            Prim::Other(Value::Object(m)) => {
                // All or nothing, like arrays.
                if m.values()
                    .all(|v| T::from_prim(Prim::from_value(v.clone())).is_ok())
                {
                    Ok(m.into_iter()
                        .filter_map(|(k, v)| T::from_prim(Prim::from_value(v)).ok().map(|t| (k, t)))
                        .collect())
                } else {
                    Err(Prim::Other(Value::Object(m)))
                }
            }
            other => Err(other),
        }
    }
}

impl Lenient for Map<String, Value> {
    fn from_prim(p: Prim) -> Result<Self, Prim> {
        match p {
            Prim::Null => Ok(Map::new()),
            Prim::Other(Value::Object(m)) => Ok(m),
            other => Err(other),
        }
    }
}

/// Converts through `serde_json::Value` with the type's own `Deserialize` (for nested
/// structures, which are rare and small), handing the value back if that fails.
pub fn via_value<T: serde::de::DeserializeOwned>(p: Prim) -> Result<T, Prim> {
    let v = p.into_value();
    match T::deserialize(&v) {
        Ok(t) => Ok(t),
        Err(_) => Err(Prim::from_value(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_convert_or_come_back() {
        assert_eq!(String::from_prim(Prim::Str("a".into())), Ok("a".into()));
        assert_eq!(String::from_prim(Prim::Bool(true)), Err(Prim::Bool(true)));
        assert_eq!(i64::from_prim(Prim::U64(5)), Ok(5));
        assert_eq!(
            i64::from_prim(Prim::U64(u64::MAX)),
            Err(Prim::U64(u64::MAX))
        );
        assert_eq!(<Option<bool>>::from_prim(Prim::Null), Ok(None));
        let arr = Prim::Other(serde_json::json!(["a", 1]));
        assert_eq!(<Vec<String>>::from_prim(arr.clone()), Err(arr));
    }

    #[test]
    fn prim_reads_any_json() {
        let v: Vec<Prim> =
            serde_json::from_str(r#"[null, true, -1, 2, 1.5, "s", [1], {"a": 1}]"#).unwrap();
        assert_eq!(v[0], Prim::Null);
        assert_eq!(v[2], Prim::I64(-1));
        assert_eq!(v[3], Prim::U64(2));
        assert_eq!(v[7], Prim::Other(serde_json::json!({"a": 1})));
    }
}
