//! The one error type of this crate. Every rejection a receiver can make has its own
//! variant, so a node can count rejections by reason and tell a person what to do.

use crate::{
    id::{IdError, MessageId, PassportId},
    time::Timestamp,
};

/// Why a message could not be built, verified, sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The encoded message is larger than [`MAX_MESSAGE_BYTES`](crate::limits::MAX_MESSAGE_BYTES);
    /// checked before any decoding.
    #[error(
        "message is {size} bytes, over the {max}-byte limit; the sender must ask for or send less data"
    )]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// CBOR arrays, maps or tags nest deeper than [`MAX_NESTING`](crate::limits::MAX_NESTING).
    #[error("message nests deeper than {max} levels; no valid Passport message does")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The input ends in the middle of a CBOR item.
    #[error(
        "message is truncated: it ends inside a CBOR item (was it cut short in transit or on disk?)"
    )]
    Truncated,
    /// Bytes follow the end of the message.
    #[error("message is followed by {extra} unexpected bytes")]
    TrailingBytes {
        /// How many bytes follow.
        extra: usize,
    },
    /// The bytes are not well-formed CBOR of the kind Passport uses.
    #[error("message is not well-formed CBOR: {detail}")]
    MalformedCbor {
        /// What is wrong.
        detail: &'static str,
    },
    /// Well-formed CBOR, but not a tagged COSE_Sign1 (tag 18, array of four).
    #[error("message is not a COSE_Sign1 (CBOR tag 18 around an array of four): {detail}")]
    NotCoseSign1 {
        /// What is wrong.
        detail: &'static str,
    },
    /// The COSE headers are malformed (missing or wrongly typed `kid`, duplicate labels,
    /// a protected-only label in the unprotected header).
    #[error("message has malformed COSE headers: {detail}")]
    MalformedHeader {
        /// What is wrong.
        detail: &'static str,
    },
    /// The protected `alg` header is missing or is not EdDSA (-8).
    #[error("message is signed with algorithm {found:?}; Passport accepts only EdDSA (-8)")]
    WrongAlgorithm {
        /// The `alg` value found, if it was an integer.
        found: Option<i64>,
    },
    /// The protected `crit` header lists a header this implementation does not understand.
    #[error(
        "message marks header {label} as critical, which this node does not understand; upgrade the node or ask the sender not to use it"
    )]
    UnknownCriticalHeader {
        /// The critical label, in diagnostic form.
        label: String,
    },
    /// The `kid` header is not a valid passport id.
    #[error("message's key id (kid) is not a valid passport id: {0}")]
    InvalidKid(IdError),
    /// The `kid` header and the `iss` claim name different ids.
    #[error(
        "message's key id (kid) does not match its issuer (iss): it claims to come from someone other than its signer"
    )]
    KidMismatch,
    /// The signature does not verify under the `kid` key.
    #[error("message signature does not verify: it was altered or not signed by {signer}")]
    BadSignature {
        /// The id the message claims as its signer.
        signer: PassportId,
    },
    /// The payload's `ver` is not a version this implementation speaks.
    #[error(
        "message uses protocol version {found}; this node speaks version {supported}: upgrade the older side"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u64,
        /// The version this crate speaks.
        supported: u64,
    },
    /// The payload's `kind` is not a known message kind.
    #[error(
        "message kind {found} is unknown to this node; upgrade the node if the sender is newer"
    )]
    UnknownKind {
        /// The kind number found.
        found: u64,
    },
    /// The payload is missing a claim, has one of the wrong type, a duplicate or unknown
    /// key, or breaks a size or count limit.
    #[error("message payload is malformed: {detail}")]
    MalformedPayload {
        /// What is wrong.
        detail: String,
    },
    /// A claim holds an invalid passport id.
    #[error("message's {claim} claim is not a valid passport id: {error}")]
    InvalidId {
        /// Which claim.
        claim: &'static str,
        /// Why it is invalid.
        error: IdError,
    },
    /// A peer record stored under one id's key is signed by another id.
    #[error("the record stored under {expected}'s key was published by {found}; it is refused")]
    RecordForOtherId {
        /// The id whose key the record was stored under.
        expected: PassportId,
        /// The id that signed it.
        found: PassportId,
    },
    /// The message is addressed to someone else.
    #[error("message is addressed to {found}, not to this node ({expected})")]
    WrongAudience {
        /// This node's id.
        expected: PassportId,
        /// The `aud` claim.
        found: PassportId,
    },
    /// The message's `exp` is more than the allowed skew in the past.
    #[error(
        "message expired at {expires_at} (now {now}, {skew} s of clock skew allowed); the sender must send a fresh one"
    )]
    Expired {
        /// The `exp` claim.
        expires_at: Timestamp,
        /// The receiver's time.
        now: Timestamp,
        /// Skew allowed.
        skew: u64,
    },
    /// The message's `nbf` or `iat` is more than the allowed skew in the future.
    #[error(
        "message is not valid until {valid_from} (now {now}, {skew} s of clock skew allowed); check both clocks"
    )]
    NotYetValid {
        /// The `nbf` (or `iat`) claim.
        valid_from: Timestamp,
        /// The receiver's time.
        now: Timestamp,
        /// Skew allowed.
        skew: u64,
    },
    /// The message's `iat` is older than [`MAX_MESSAGE_AGE_SECS`](crate::limits::MAX_MESSAGE_AGE_SECS).
    #[error(
        "message was issued at {issued_at}, more than {max_age} s before now ({now}); the sender must send a fresh one"
    )]
    TooOld {
        /// The `iat` claim.
        issued_at: Timestamp,
        /// The receiver's time.
        now: Timestamp,
        /// The limit.
        max_age: u64,
    },
    /// A message with this `cti` was already accepted.
    #[error("message {id} was already received; a replayed message is ignored")]
    Replayed {
        /// The replayed message id.
        id: MessageId,
    },
    /// The replay store is full of unexpired ids; refusing is safer than forgetting one.
    #[error("too many recent messages to track ({capacity}); try again in a minute")]
    ReplayStoreFull {
        /// The store's capacity.
        capacity: usize,
    },
    /// The replay store could not be read, so whether the message is a replay is
    /// unknown; it is refused rather than risk accepting one twice.
    #[error(
        "the replay store could not be read; the message was not accepted, send it again later"
    )]
    ReplayStoreUnavailable,
    /// A message to be signed names an issuer other than the signing key's id.
    #[error("message issuer {issuer} is not the signing key's id {signer}")]
    IssuerNotSigner {
        /// The `iss` of the message.
        issuer: PassportId,
        /// The id of the key asked to sign.
        signer: PassportId,
    },
    /// Sealing data to the recipient's key failed (the key is not a usable X25519 key).
    #[error("could not seal data to the recipient's key: it is not a usable X25519 public key")]
    SealFailed,
    /// The sealed data could not be opened: it was not sealed to this key, for this
    /// grant and audience, or it was altered.
    #[error(
        "sealed data could not be opened: it was not sealed to this node's key for this grant, or it was altered"
    )]
    OpenFailed,
    /// A value could not be encoded (a bug; please report it).
    #[error("could not encode CBOR (this is a bug in passport-protocol; please report it)")]
    Encode,
}

impl ProtocolError {
    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::MalformedPayload {
            detail: detail.into(),
        }
    }

    /// A short, stable, lowercase name for the variant, for metrics labels and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::TooDeep { .. } => "too_deep",
            Self::Truncated => "truncated",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::MalformedCbor { .. } => "malformed_cbor",
            Self::NotCoseSign1 { .. } => "not_cose_sign1",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::WrongAlgorithm { .. } => "wrong_algorithm",
            Self::UnknownCriticalHeader { .. } => "unknown_critical_header",
            Self::InvalidKid(_) => "invalid_kid",
            Self::KidMismatch => "kid_mismatch",
            Self::BadSignature { .. } => "bad_signature",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::UnknownKind { .. } => "unknown_kind",
            Self::MalformedPayload { .. } => "malformed_payload",
            Self::InvalidId { .. } => "invalid_id",
            Self::RecordForOtherId { .. } => "record_for_other_id",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::TooOld { .. } => "too_old",
            Self::Replayed { .. } => "replayed",
            Self::ReplayStoreFull { .. } => "replay_store_full",
            Self::ReplayStoreUnavailable => "replay_store_unavailable",
            Self::IssuerNotSigner { .. } => "issuer_not_signer",
            Self::SealFailed => "seal_failed",
            Self::OpenFailed => "open_failed",
            Self::Encode => "encode",
        }
    }
}
