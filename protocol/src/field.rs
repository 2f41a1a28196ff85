//! Personal data as it crosses the wire: field names and typed values.

use std::{collections::BTreeMap, fmt, str::FromStr};

use ciborium::Value;

use crate::{
    cbor,
    error::ProtocolError,
    limits::{MAX_ENTRIES, MAX_FIELD_NAME_BYTES, MAX_VALUE_BYTES},
};

/// CBOR tag for an RFC 3339 full-date string (RFC 8943).
const TAG_FULL_DATE: u64 = 1004;

/// A field name: dot-separated lowercase segments, e.g. `name.given`, `email`,
/// `phone.mobile`, `address.home`, `payment.card`, `birthdate`, or a custom `x.*`.
///
/// Each segment starts with a letter and holds `a-z`, `0-9`, `_` or `-`; the whole
/// name is at most [`MAX_FIELD_NAME_BYTES`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        description = "A field name: dot-separated lowercase segments, each starting with a letter and holding `a-z`, `0-9`, `_` or `-`; at most 64 bytes. E.g. `name.given`, `email`, `address.home`, `payment.card`, `x.loyalty-card`.",
        pattern = "^[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$",
        example = "name.given"
    )
)]
pub struct FieldName(String);

/// A text that is not a valid [`FieldName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name:?} is not a field name: use dot-separated lowercase segments that start with a letter, like \"name.given\" or \"x.loyalty-card\" (at most {MAX_FIELD_NAME_BYTES} bytes)"
)]
pub struct FieldNameError {
    name: String,
}

impl FieldName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_FIELD_NAME_BYTES
            && name.split('.').all(|segment| {
                let mut chars = segment.chars();
                chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                    })
            })
    }
}

impl FromStr for FieldName {
    type Err = FieldNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Self::is_valid(s) {
            Ok(Self(s.to_owned()))
        } else {
            // Keep the error small even for a huge bad input.
            let name = s.chars().take(MAX_FIELD_NAME_BYTES + 8).collect();
            Err(FieldNameError { name })
        }
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldName({:?})", self.0)
    }
}

/// A calendar date (proleptic Gregorian), as in a birthdate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// A text that is not a valid `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date: write it as YYYY-MM-DD, e.g. 1990-04-23")]
pub struct DateError(String);

impl Date {
    /// The date, if it exists (years 0001 to 9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// Year, month (1-12), day (1-31).
    pub fn ymd(&self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DateError(s.chars().take(32).collect());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |range: std::ops::Range<usize>| {
            s.get(range)
                .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        match (year, month, day) {
            (Some(y), Some(m), Some(d)) => Date::new(y, m as u8, d as u8).ok_or_else(err),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A field's value. In JSON: `{"text": "Ada"}`, `{"date": "1990-04-23"}` or
/// `{"structured": {"city": "Lyon"}}`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    /// Free text: a name, an email address, a phone number.
    Text(String),
    /// A calendar date (CBOR tag 1004), `YYYY-MM-DD` in JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    Date(Date),
    /// Named parts, e.g. an address: `street`, `city`, `postcode`, `country`.
    Structured(BTreeMap<String, String>),
}

impl fmt::Debug for FieldValue {
    // Personal data stays out of logs and panic messages: show only the shape.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => write!(f, "Text(<{} bytes>)", t.len()),
            Self::Date(_) => f.write_str("Date(<redacted>)"),
            Self::Structured(parts) => write!(f, "Structured(<{} parts>)", parts.len()),
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => f.write_str(t),
            Self::Date(d) => write!(f, "{d}"),
            Self::Structured(parts) => {
                let mut first = true;
                for (k, v) in parts {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    write!(f, "{k}: {v}")?;
                }
                Ok(())
            }
        }
    }
}

impl FieldValue {
    pub(crate) fn to_cbor(&self) -> Value {
        match self {
            Self::Text(t) => Value::Text(t.clone()),
            Self::Date(d) => Value::Tag(TAG_FULL_DATE, Box::new(Value::Text(d.to_string()))),
            Self::Structured(parts) => Value::Map(
                parts
                    .iter()
                    .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
                    .collect(),
            ),
        }
    }

    pub(crate) fn from_cbor(value: Value, what: &str) -> Result<Self, ProtocolError> {
        match value {
            Value::Text(_) => Ok(Self::Text(cbor::text(value, what, MAX_VALUE_BYTES)?)),
            Value::Tag(TAG_FULL_DATE, inner) => {
                let text = cbor::text(*inner, what, 10)?;
                text.parse()
                    .map(Self::Date)
                    .map_err(|e: DateError| ProtocolError::malformed(format!("{what}: {e}")))
            }
            Value::Map(pairs) => Ok(Self::Structured(text_map(pairs, what)?)),
            _ => Err(ProtocolError::malformed(format!(
                "{what} is not a text, a tagged date or a map of texts"
            ))),
        }
    }
}

/// Reads a map of text to text with at most [`MAX_ENTRIES`] entries and no duplicates.
pub(crate) fn text_map(
    pairs: Vec<(Value, Value)>,
    what: &str,
) -> Result<BTreeMap<String, String>, ProtocolError> {
    if pairs.len() > MAX_ENTRIES {
        return Err(ProtocolError::malformed(format!(
            "{what} has {} entries, over the limit of {MAX_ENTRIES}",
            pairs.len()
        )));
    }
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        let k = cbor::text(k, what, MAX_FIELD_NAME_BYTES)?;
        let v = cbor::text(v, what, MAX_VALUE_BYTES)?;
        if map.insert(k, v).is_some() {
            return Err(ProtocolError::malformed(format!("{what} has a key twice")));
        }
    }
    Ok(map)
}

pub(crate) fn text_map_to_cbor(map: &BTreeMap<String, String>) -> Value {
    Value::Map(
        map.iter()
            .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
            .collect(),
    )
}

pub(crate) fn field_name(value: Value, what: &str) -> Result<FieldName, ProtocolError> {
    cbor::text(value, what, MAX_FIELD_NAME_BYTES)?
        .parse()
        .map_err(|e: FieldNameError| ProtocolError::malformed(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        for good in [
            "email",
            "name.given",
            "x.loyalty-card",
            "address.home",
            "a1_b",
        ] {
            assert!(good.parse::<FieldName>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "Email",
            ".a",
            "a.",
            "a..b",
            "1a",
            "a b",
            "x.ä",
            &"a".repeat(65),
        ] {
            assert!(bad.parse::<FieldName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!("2024-02-29".parse::<Date>().unwrap().ymd(), (2024, 2, 29));
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-1-01",
            "+024-01-01",
            "0000-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!(
            "2000-02-29".parse::<Date>().unwrap().to_string(),
            "2000-02-29"
        );
    }

    #[test]
    fn value_debug_hides_personal_data() {
        let v = FieldValue::Text("Ada Lovelace".into());
        assert!(!format!("{v:?}").contains("Ada"));
    }
}
