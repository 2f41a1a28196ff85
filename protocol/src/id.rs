//! Public identifiers: [`PassportId`] (an Ed25519 public key as a `did:key`), and the
//! random 16-byte ids of messages and grants.

use std::{fmt, str::FromStr};

use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::CryptoRng;

/// The `did:key` method prefix every passport id starts with.
const DID_KEY_PREFIX: &str = "did:key:";
/// Multibase prefix for base58btc.
const MULTIBASE_BASE58BTC: char = 'z';
/// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// Why a text is not a valid [`PassportId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The text does not start with `did:key:`.
    #[error(
        "a passport id starts with \"did:key:z6Mk\"; this one does not start with \"did:key:\""
    )]
    MissingPrefix,
    /// The multibase prefix is not `z` (base58btc).
    #[error(
        "a passport id is base58btc-encoded (\"did:key:z…\"); this one uses multibase prefix {0:?}"
    )]
    UnsupportedMultibase(char),
    /// The text after `did:key:z` is not valid base58.
    #[error("the passport id is not valid base58 (check for a typo or a truncated paste)")]
    InvalidBase58,
    /// The multicodec prefix is not ed25519-pub.
    #[error("the passport id names a key type other than Ed25519 (multicodec prefix {0:02x?})")]
    WrongMulticodec([u8; 2]),
    /// The decoded key is not 32 bytes long.
    #[error(
        "the passport id holds a {0}-byte key; an Ed25519 key is 32 bytes (check for a truncated paste)"
    )]
    WrongLength(usize),
    /// The 32 bytes are not a usable Ed25519 public key.
    #[error("the passport id does not hold a valid Ed25519 public key")]
    InvalidKey,
}

/// A person's or merchant's public identifier: an Ed25519 public key written as a
/// `did:key` (multicodec ed25519-pub, multibase base58btc), e.g.
/// `did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK`.
///
/// Parsing checks the key is a valid, non-weak curve point, so a `PassportId` can
/// always verify signatures. It holds the 32 compressed bytes: small, cheap to hash
/// and compare, and decompressed only when a signature is checked.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        description = "A passport id: an Ed25519 public key as a `did:key` (multicodec ed25519-pub, multibase base58btc).",
        pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$",
        example = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    )
)]
pub struct PassportId([u8; 32]);

impl PassportId {
    /// The id for a raw 32-byte Ed25519 public key.
    pub fn from_public_key_bytes(bytes: &[u8; 32]) -> Result<Self, IdError> {
        if valid_keys::contains(bytes) {
            return Ok(Self(*bytes));
        }
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| IdError::InvalidKey)?;
        if key.is_weak() {
            return Err(IdError::InvalidKey);
        }
        valid_keys::insert(bytes);
        Ok(Self(*bytes))
    }

    /// The id for an Ed25519 verifying key.
    pub(crate) fn from_verifying_key(key: VerifyingKey) -> Self {
        Self(key.to_bytes())
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks an Ed25519 signature by this id over `message` (strict RFC 8032 rules:
    /// no malleable or small-order signatures).
    pub fn verify_signature(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        // The bytes were validated when the id was made, so this cannot fail.
        VerifyingKey::from_bytes(&self.0)
            .is_ok_and(|key| key.verify_strict(message, &signature).is_ok())
    }

    /// A short form for people: the eight characters after `did:key:z6Mk`, enough to
    /// tell two merchants apart at a glance, not enough to identify one securely.
    pub fn fmt_short(&self) -> String {
        let full = self.to_string();
        let start = DID_KEY_PREFIX.len() + "z6Mk".len();
        full.get(start..start + 8).unwrap_or(&full).to_owned()
    }
}

/// Keys already found to be valid Ed25519 points. Every message names its sender
/// and its audience, and a node hears from the same few ids again and again: parsing
/// one a second time skips the point decompression (about 10 µs, most of what
/// parsing an id costs). Public data only, and bounded: emptied when full, so a
/// flood of new ids costs what it cost without the cache.
mod valid_keys {
    use std::{
        collections::HashSet,
        sync::{LazyLock, Mutex, PoisonError},
    };

    /// The most keys remembered (32 bytes each, 128 KiB in all).
    pub(super) const CAPACITY: usize = 4_096;

    static KEYS: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Mutex::default);

    pub(super) fn contains(key: &[u8; 32]) -> bool {
        KEYS.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    pub(super) fn insert(key: &[u8; 32]) {
        let mut keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        keys.insert(*key);
    }

    #[cfg(test)]
    pub(super) fn len() -> usize {
        KEYS.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl fmt::Display for PassportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(34);
        raw.extend_from_slice(&MULTICODEC_ED25519_PUB);
        raw.extend_from_slice(&self.0);
        write!(
            f,
            "{DID_KEY_PREFIX}{MULTIBASE_BASE58BTC}{}",
            bs58::encode(raw).into_string()
        )
    }
}

impl fmt::Debug for PassportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassportId({self})")
    }
}

impl FromStr for PassportId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or(IdError::MissingPrefix)?;
        let mut chars = rest.chars();
        match chars.next() {
            Some(MULTIBASE_BASE58BTC) => {}
            Some(other) => return Err(IdError::UnsupportedMultibase(other)),
            None => return Err(IdError::WrongLength(0)),
        }
        // 34 decoded bytes take at most 47 base58 characters; refuse long input early.
        let encoded = chars.as_str();
        if encoded.len() > 64 {
            return Err(IdError::WrongLength(encoded.len()));
        }
        let raw = bs58::decode(encoded)
            .into_vec()
            .map_err(|_| IdError::InvalidBase58)?;
        let (codec, key) = raw
            .split_first_chunk::<2>()
            .ok_or(IdError::WrongLength(raw.len()))?;
        if *codec != MULTICODEC_ED25519_PUB {
            return Err(IdError::WrongMulticodec(*codec));
        }
        let key: &[u8; 32] = key
            .try_into()
            .map_err(|_| IdError::WrongLength(key.len()))?;
        Self::from_public_key_bytes(key)
    }
}

/// Defines a random 16-byte identifier shown as 32 lowercase hex digits.
macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(
            feature = "openapi",
            derive(utoipa::ToSchema),
            schema(
                value_type = String,
                pattern = "^[0-9a-f]{32}$",
                example = "5f0c3a1e9b7d4c2f8e6a0b1d3c5e7f90"
            )
        )]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh random id.
            pub fn random(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
                let mut bytes = [0; 16];
                rng.fill_bytes(&mut bytes);
                Self(bytes)
            }

            /// The id with these raw bytes.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = || IdParseError { what: $what, len: s.len() };
                if s.len() != 32 || !s.is_ascii() {
                    return Err(err());
                }
                let mut bytes = [0; 16];
                for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
                    let pair = std::str::from_utf8(pair).map_err(|_| err())?;
                    *byte = u8::from_str_radix(pair, 16).map_err(|_| err())?;
                }
                Ok(Self(bytes))
            }
        }
    };
}

random_id!(
    /// The random id of one message (its CWT `cti`), used to reject replays.
    /// Written as 32 lowercase hexadecimal digits.
    MessageId,
    "message id"
);

random_id!(
    /// The random id of one grant; stays the same across the grant's updates.
    /// Written as 32 lowercase hexadecimal digits.
    GrantId,
    "grant id"
);

/// A text that is not a valid [`MessageId`] or [`GrantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {what} is 32 hexadecimal digits; got {len} characters that are not")]
pub struct IdParseError {
    what: &'static str,
    len: usize,
}

#[cfg(test)]
mod valid_key_cache_tests {
    use super::*;
    use crate::keys::IdentityKey;

    #[test]
    fn a_valid_key_is_remembered_an_invalid_one_never_and_the_cache_stays_bounded() {
        let id = IdentityKey::from_secret_bytes(&[9; 32]).id();
        let text = id.to_string();
        assert_eq!(text.parse::<PassportId>(), Ok(id));
        assert!(valid_keys::contains(id.public_key_bytes()));
        // Parsed again from the cache: the same id.
        assert_eq!(text.parse::<PassportId>(), Ok(id));

        // The first 32-byte string that is not a valid point is refused every time.
        let invalid = (0u8..=255)
            .map(|b| [b; 32])
            .find(|k| VerifyingKey::from_bytes(k).is_err())
            .unwrap();
        for _ in 0..2 {
            assert_eq!(
                PassportId::from_public_key_bytes(&invalid),
                Err(IdError::InvalidKey)
            );
            assert!(!valid_keys::contains(&invalid));
        }

        // More keys than it holds: it empties and starts again, never above its cap.
        for i in 0..valid_keys::CAPACITY as u32 + 10 {
            let mut secret = [0u8; 32];
            secret[..4].copy_from_slice(&i.to_le_bytes());
            let key = IdentityKey::from_secret_bytes(&secret).id();
            PassportId::from_public_key_bytes(key.public_key_bytes()).unwrap();
            assert!(valid_keys::len() <= valid_keys::CAPACITY);
        }
    }
}
