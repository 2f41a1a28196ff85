//! Printing: `--json` or words, and the small formats both use.
#![allow(clippy::print_stdout)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A line on stdout.
pub(crate) fn line(text: impl std::fmt::Display) {
    println!("{text}");
}

/// An API answer: as JSON with `--json`, otherwise as `text` says it (nothing if
/// `text` is empty).
pub(crate) fn answer(json_wanted: bool, value: &Value, text: impl FnOnce(&Value) -> String) {
    if json_wanted {
        json(value);
    } else {
        let text = text(value);
        if !text.is_empty() {
            line(text);
        }
    }
}

/// A list the API answered: as JSON with `--json`, otherwise `item` for each
/// element, or `empty` when there is none.
pub(crate) fn items(
    json_wanted: bool,
    value: &Value,
    empty: &str,
    item: impl Fn(&Value) -> String,
) {
    if json_wanted {
        return json(value);
    }
    let elements = value.as_array().map(Vec::as_slice).unwrap_or_default();
    if elements.is_empty() {
        line(empty);
    }
    for element in elements {
        line(item(element));
    }
}

pub(crate) use passport_node::human::span;

/// Seconds since the epoch now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A timestamp (seconds since the epoch, as the API gives them) in UTC.
pub(crate) fn time(value: &Value) -> String {
    match value.as_u64() {
        Some(secs) => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
        }
        None => "-".into(),
    }
}

/// How long until the timestamp `value`, or "ended".
pub(crate) fn left(value: &Value) -> String {
    match value.as_u64() {
        Some(at) if at > now_secs() => format!("{} left", span(at - now_secs())),
        Some(_) => "ended".into(),
        None => "-".into(),
    }
}

/// A field value as one line of text.
pub(crate) fn value_text(value: &Value) -> String {
    if let Some(text) = value.get("text").and_then(Value::as_str) {
        return text.to_string();
    }
    if let Some(date) = value.get("date") {
        return date
            .as_str()
            .map_or_else(|| date.to_string(), str::to_string);
    }
    if let Some(parts) = value.get("structured").and_then(Value::as_object) {
        return parts
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
    }
    value.to_string()
}

/// A JSON string member, or "".
pub(crate) fn s<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A list of strings as `a, b, c`.
pub(crate) fn list(value: &Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
