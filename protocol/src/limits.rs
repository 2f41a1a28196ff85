//! Size, count and time limits. Every one is enforced on decode (before or while
//! parsing) and on encode, so a message this crate signs is one it would accept.

/// Largest encoded message (the whole COSE_Sign1), checked before any decoding.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Deepest CBOR nesting accepted in a message or a sealed plaintext. A bare item is
/// depth 1 and each enclosing array, map or tag adds one, so at most 15 containers
/// nest. The deepest legitimate payload structure is 5 levels.
pub const MAX_NESTING: usize = 16;

/// Clock skew tolerated in either direction when checking `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Oldest message a receiver accepts, counted from its `iat`, in seconds (14 days):
/// longer than any delivery retry, and the bound on how long a message id must be
/// remembered, whatever the message's `exp`. Without it, validly signed messages with
/// a far-future `exp` could pin ids in the replay store for ever.
pub const MAX_MESSAGE_AGE_SECS: u64 = 14 * 86_400;

/// Longest `iss` or `aud` text, in bytes (a `did:key` for Ed25519 is 56).
pub const MAX_ID_TEXT_BYTES: usize = 128;

/// Longest HPKE `info` accepted by the raw seal and open functions, in bytes
/// (Passport's own is under 100).
pub const MAX_HPKE_INFO_BYTES: usize = 1024;

/// Most fields one request may ask for, or one grant or update may carry.
pub const MAX_FIELDS: usize = 64;

/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 64;

/// Longest free text (purpose, reason, offer text, requester name), in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// Longest single field value (a text, or one entry of a structured value or of an
/// offer's details), in bytes.
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

/// Largest signed peer record, in bytes: well under Kademlia's 16 KiB packet.
pub const MAX_RECORD_BYTES: usize = 8 * 1024;

/// Most network identities (PeerIds) in one peer record.
pub const MAX_RECORD_PEERS: usize = 4;

/// Longest network identity in a peer record, in bytes (an Ed25519 PeerId is 38).
pub const MAX_PEER_ID_BYTES: usize = 64;

/// Most mailboxes one peer record lists.
pub const MAX_RECORD_MAILBOXES: usize = 4;

/// Most addresses in one peer record.
pub const MAX_RECORD_ADDRESSES: usize = 16;

/// Largest content of one delivery (a receipt, an order, an attestation), in
/// bytes before sealing: room for a detailed receipt, and a bound on what a
/// merchant can make a person's node store per message.
pub const MAX_DELIVERY_BYTES: usize = 16 * 1024;
