//! Printing: `--json` or words, and the small formats both use.
#![allow(clippy::print_stdout)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use passport_protocol::{FieldValue, Timestamp};
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

/// A negative answer (exit code 1): a refusal, a revoked or expired grant, an invalid
/// message, a damaged audit log. The message says which.
#[derive(Debug)]
pub(crate) struct Negative(pub String);

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Negative {}

/// Prints `value` as pretty JSON on stdout. It goes through a [`Value`], whose
/// members are sorted by name: `--json` prints them in that order whatever order
/// a type declares them in, as it did when the answers were read as `Value`s.
pub(crate) fn json(value: &impl Serialize) -> anyhow::Result<()> {
    let value = serde_json::to_value(value)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

/// A line on stdout.
pub(crate) fn line(text: impl std::fmt::Display) {
    println!("{text}");
}

/// An API answer: as JSON with `--json`, otherwise as `text` says it (nothing if
/// `text` is empty).
pub(crate) fn answer<T: Serialize>(
    json_wanted: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json_wanted {
        return json(value);
    }
    let text = text(value);
    if !text.is_empty() {
        line(text);
    }
    Ok(())
}

/// A list the API answered: as JSON with `--json`, otherwise `item` for each
/// element, or `empty` when there is none.
pub(crate) fn items<T: Serialize>(
    json_wanted: bool,
    values: &[T],
    empty: &str,
    item: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json_wanted {
        return json(&values);
    }
    if values.is_empty() {
        line(empty);
    }
    for value in values {
        line(item(value));
    }
    Ok(())
}

pub(crate) use passport_node::human::span;

/// Seconds since the epoch now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A timestamp in UTC.
pub(crate) fn time(at: Timestamp) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(at.as_secs())).to_string()
}

/// How long until `at`, or "ended".
pub(crate) fn left(at: Timestamp) -> String {
    match at.as_secs() {
        at if at > now_secs() => format!("{} left", span(at - now_secs())),
        _ => "ended".into(),
    }
}

/// A field value as one line of text: the text, the date, or `key=value` parts.
pub(crate) fn field_text(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(text) => text.clone(),
        FieldValue::Date(date) => date.to_string(),
        FieldValue::Structured(parts) => parts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A field value in JSON as one line of text, like [`field_text`] (the demo holds
/// its values as JSON); anything else as JSON.
pub(crate) fn value_text(value: &Value) -> String {
    FieldValue::deserialize(value).map_or_else(|_| value.to_string(), |v| field_text(&v))
}

/// A JSON string member, or "".
pub(crate) fn s<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Items as `a, b, c`.
pub(crate) fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
