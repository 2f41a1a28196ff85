//! CBOR plumbing: a well-formedness scan that runs before any decoding (depth,
//! truncation, trailing bytes, definite lengths), integer-keyed map reading with
//! duplicate and unknown key detection, and CBOR diagnostic notation (RFC 8949 §8).

use std::fmt::Write as _;

use ciborium::Value;

use crate::{error::ProtocolError, limits::MAX_NESTING};

/// Checks that `bytes` hold exactly one well-formed CBOR item of the subset Passport
/// uses (definite lengths only), nested at most `max_depth` deep, with nothing after it.
///
/// It reads only item headers, never allocates more than `max_depth` counters, and
/// rejects a declared length the remaining input cannot hold, so the decoder that runs
/// after it never sees input that could make it allocate or recurse without bound.
pub(crate) fn check_well_formed(bytes: &[u8], max_depth: usize) -> Result<(), ProtocolError> {
    // Items still expected in each open array, map (two per pair) or tag.
    let mut open: Vec<u64> = Vec::with_capacity(max_depth);
    let mut pos = 0usize;
    loop {
        let initial = *bytes.get(pos).ok_or(ProtocolError::Truncated)?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let argument = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let len = 1usize << (info - 24);
                let raw = bytes.get(pos..pos + len).ok_or(ProtocolError::Truncated)?;
                pos += len;
                raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            }
            28..=30 => {
                return Err(ProtocolError::MalformedCbor {
                    detail: "reserved additional information value",
                });
            }
            _ => {
                return Err(ProtocolError::MalformedCbor {
                    detail: "indefinite-length items are not used by Passport",
                });
            }
        };
        let remaining = (bytes.len() - pos) as u64;
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                if argument > remaining {
                    return Err(ProtocolError::Truncated);
                }
                pos += argument as usize;
                0
            }
            // Every child takes at least one byte, so a count over what is left is a lie.
            4 => argument,
            5 => argument.checked_mul(2).ok_or(ProtocolError::Truncated)?,
            _ => 1, // 6: a tag wraps exactly one item
        };
        if (4..=6).contains(&major) && children > remaining {
            return Err(ProtocolError::Truncated);
        }
        if children > 0 {
            if open.len() + 1 >= max_depth.max(1) {
                return Err(ProtocolError::TooDeep { max: max_depth });
            }
            open.push(children);
            continue;
        }
        // This item is complete: close every container it completes.
        loop {
            match open.last_mut() {
                None => {
                    return if pos == bytes.len() {
                        Ok(())
                    } else {
                        Err(ProtocolError::TrailingBytes {
                            extra: bytes.len() - pos,
                        })
                    };
                }
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

/// Scans then decodes one CBOR item.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, ProtocolError> {
    check_well_formed(bytes, MAX_NESTING)?;
    ciborium::de::from_reader(bytes).map_err(|_| ProtocolError::MalformedCbor {
        detail: "invalid CBOR item (bad UTF-8 text or an invalid simple value)",
    })
}

/// Encodes one CBOR item.
pub(crate) fn encode(value: &Value) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).map_err(|_| ProtocolError::Encode)?;
    Ok(out)
}

/// An integer CBOR map key.
pub(crate) fn key(k: i64) -> Value {
    Value::Integer(k.into())
}

/// Reads a CBOR map whose keys are all integers, taking claims one by one and
/// rejecting duplicates and (on [`MapReader::finish`]) keys nobody took.
pub(crate) struct MapReader {
    entries: Vec<(i64, Option<Value>)>,
    what: &'static str,
}

impl MapReader {
    pub(crate) fn new(value: Value, what: &'static str) -> Result<Self, ProtocolError> {
        let Value::Map(pairs) = value else {
            return Err(ProtocolError::malformed(format!("{what} is not a map")));
        };
        let mut entries: Vec<(i64, Option<Value>)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let k = k
                .as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or_else(|| {
                    ProtocolError::malformed(format!("{what} has a key that is not an integer"))
                })?;
            if entries.iter().any(|(seen, _)| *seen == k) {
                return Err(ProtocolError::malformed(format!(
                    "{what} has key {k} twice"
                )));
            }
            entries.push((k, Some(v)));
        }
        Ok(Self { entries, what })
    }

    pub(crate) fn take(&mut self, k: i64) -> Option<Value> {
        self.entries
            .iter_mut()
            .find(|(seen, _)| *seen == k)
            .and_then(|(_, v)| v.take())
    }

    pub(crate) fn required(&mut self, k: i64, name: &str) -> Result<Value, ProtocolError> {
        self.take(k).ok_or_else(|| {
            ProtocolError::malformed(format!("{} lacks {name} (key {k})", self.what))
        })
    }

    pub(crate) fn finish(self) -> Result<(), ProtocolError> {
        match self.entries.iter().find(|(_, v)| v.is_some()) {
            Some((k, _)) => Err(ProtocolError::malformed(format!(
                "{} has unknown key {k}",
                self.what
            ))),
            None => Ok(()),
        }
    }
}

pub(crate) fn text(value: Value, what: &str, max: usize) -> Result<String, ProtocolError> {
    match value {
        Value::Text(s) if s.len() <= max => Ok(s),
        Value::Text(s) => Err(ProtocolError::malformed(format!(
            "{what} is {} bytes, over the {max}-byte limit",
            s.len()
        ))),
        _ => Err(ProtocolError::malformed(format!(
            "{what} is not a text string"
        ))),
    }
}

pub(crate) fn uint(value: Value, what: &str) -> Result<u64, ProtocolError> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| ProtocolError::malformed(format!("{what} is not an unsigned integer")))
}

pub(crate) fn boolean(value: Value, what: &str) -> Result<bool, ProtocolError> {
    value
        .as_bool()
        .ok_or_else(|| ProtocolError::malformed(format!("{what} is not a boolean")))
}

pub(crate) fn byte_array<const N: usize>(
    value: Value,
    what: &str,
) -> Result<[u8; N], ProtocolError> {
    match value {
        Value::Bytes(b) => b.try_into().map_err(|b: Vec<u8>| {
            ProtocolError::malformed(format!("{what} is {} bytes, expected {N}", b.len()))
        }),
        _ => Err(ProtocolError::malformed(format!(
            "{what} is not a byte string"
        ))),
    }
}

/// A byte string of 1 to `max` bytes, as `what` (named in errors).
pub(crate) fn bytes(value: Value, what: &str, max: usize) -> Result<Vec<u8>, ProtocolError> {
    match value {
        Value::Bytes(b) if !b.is_empty() && b.len() <= max => Ok(b),
        _ => Err(ProtocolError::malformed(format!(
            "{what} is not a byte string of 1 to {max} bytes"
        ))),
    }
}

pub(crate) fn array(value: Value, what: &str, max: usize) -> Result<Vec<Value>, ProtocolError> {
    match value {
        Value::Array(items) if items.len() <= max => Ok(items),
        Value::Array(items) => Err(ProtocolError::malformed(format!(
            "{what} has {} entries, over the limit of {max}",
            items.len()
        ))),
        _ => Err(ProtocolError::malformed(format!("{what} is not an array"))),
    }
}

/// Renders CBOR bytes in diagnostic notation (RFC 8949 §8), one map entry or array
/// element per line. Byte strings that themselves hold CBOR are not expanded.
pub fn diagnostic(bytes: &[u8]) -> Result<String, ProtocolError> {
    let value = decode(bytes)?;
    let mut out = String::new();
    write_diagnostic(&value, 0, &mut out);
    Ok(out)
}

fn write_diagnostic(value: &Value, indent: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match value {
        Value::Integer(i) => {
            let _ = write!(out, "{}", i128::from(*i));
        }
        Value::Bytes(b) => {
            out.push_str("h'");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('\'');
        }
        Value::Text(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Null => out.push_str("null"),
        Value::Tag(tag, inner) => {
            let _ = write!(out, "{tag}(");
            write_diagnostic(inner, indent, out);
            out.push(')');
        }
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (n, item) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_diagnostic(item, indent + 1, out);
                out.push_str(if n + 1 < items.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}]", pad(indent));
        }
        Value::Map(pairs) if pairs.is_empty() => out.push_str("{}"),
        Value::Map(pairs) => {
            out.push_str("{\n");
            for (n, (k, v)) in pairs.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_diagnostic(k, indent + 1, out);
                out.push_str(": ");
                write_diagnostic(v, indent + 1, out);
                out.push_str(if n + 1 < pairs.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}}}", pad(indent));
        }
        // `Value` is non-exhaustive; nothing else is produced by the decoder today.
        _ => out.push_str("undefined"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_accepts_nested_items_and_rejects_leftovers() {
        // [1, {2: h'00'}, 6(3)]
        let ok = [0x83, 0x01, 0xa1, 0x02, 0x41, 0x00, 0xc6, 0x03];
        assert_eq!(check_well_formed(&ok, 16), Ok(()));
        let mut trailing = ok.to_vec();
        trailing.push(0x00);
        assert_eq!(
            check_well_formed(&trailing, 16),
            Err(ProtocolError::TrailingBytes { extra: 1 })
        );
        assert_eq!(
            check_well_formed(&ok[..5], 16),
            Err(ProtocolError::Truncated)
        );
        assert_eq!(check_well_formed(&[], 16), Err(ProtocolError::Truncated));
    }

    #[test]
    fn scan_rejects_deep_nesting_and_lying_lengths() {
        let deep = [0x81u8; 40]
            .iter()
            .copied()
            .chain([0x00])
            .collect::<Vec<_>>();
        assert_eq!(
            check_well_formed(&deep, 16),
            Err(ProtocolError::TooDeep { max: 16 })
        );
        // Array claiming 2^32 items in 5 bytes of input.
        assert_eq!(
            check_well_formed(&[0x9a, 0xff, 0xff, 0xff, 0xff], 16),
            Err(ProtocolError::Truncated)
        );
        // Byte string claiming 2^63 bytes.
        assert_eq!(
            check_well_formed(&[0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0], 16),
            Err(ProtocolError::Truncated)
        );
        assert!(matches!(
            check_well_formed(&[0x9f, 0xff], 16),
            Err(ProtocolError::MalformedCbor { .. })
        ));
    }

    #[test]
    fn depth_limit_counts_levels_exactly() {
        // 15 nested arrays around a 0 is depth 16 (the 0 counts as one level):
        // accepted with a limit of 16; one more array is refused.
        let nest = |n: usize| {
            [0x81u8]
                .repeat(n)
                .into_iter()
                .chain([0])
                .collect::<Vec<_>>()
        };
        assert_eq!(check_well_formed(&nest(15), 16), Ok(()));
        assert_eq!(
            check_well_formed(&nest(16), 16),
            Err(ProtocolError::TooDeep { max: 16 })
        );
    }

    #[test]
    fn map_reader_rejects_duplicate_and_unknown_keys() {
        let dup = Value::Map(vec![(key(1), Value::Null), (key(1), Value::Null)]);
        assert!(MapReader::new(dup, "test map").is_err());
        let extra = Value::Map(vec![(key(1), Value::Null), (key(9), Value::Null)]);
        let mut reader = MapReader::new(extra, "test map").unwrap();
        assert!(reader.take(1).is_some());
        assert!(
            reader
                .finish()
                .unwrap_err()
                .to_string()
                .contains("unknown key 9")
        );
    }

    #[test]
    fn diagnostic_notation_matches_rfc_8949_examples() {
        let bytes = [0xd2, 0x82, 0x41, 0x01, 0xa1, 0x63, b'k', b'e', b'y', 0x20];
        assert_eq!(
            diagnostic(&bytes).unwrap(),
            "18([\n  h'01',\n  {\n    \"key\": -1\n  }\n])"
        );
    }
}
