//! Size, count and time limits. Every one is enforced on decode (before or while
//! parsing) and on encode, so a message this crate signs is one it would accept.

/// Largest encoded message (the whole COSE_Sign1), checked before any decoding.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Deepest CBOR nesting (arrays, maps and tags) accepted in a message or a sealed
/// plaintext. The deepest legitimate structure is 6 levels.
pub const MAX_NESTING: usize = 16;

/// Clock skew tolerated in either direction when checking `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Most fields one request may ask for, or one grant or update may carry.
pub const MAX_FIELDS: usize = 64;

/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 64;

/// Longest free text (purpose, reason, offer, requester name), in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// Longest single field value (a text, or one entry of a structured value), in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Most entries in a structured field value or in an offer's details.
pub const MAX_ENTRIES: usize = 32;

/// Most reply addresses in a request.
pub const MAX_REPLY_ADDRESSES: usize = 8;

/// Longest reply address (a multiaddr in text form), in bytes.
pub const MAX_ADDRESS_BYTES: usize = 256;

/// Most grant ids one deletion receipt may list.
pub const MAX_RECEIPT_GRANTS: usize = 256;

/// Default capacity of an in-memory [`SeenIdCache`](crate::SeenIdCache).
pub const DEFAULT_SEEN_IDS: usize = 100_000;
