//! Secret keys: [`IdentityKey`] (Ed25519, signs messages) and [`SealingKey`]
//! (X25519, opens data sealed to this node). Both zeroize on drop and never show
//! key material in `Debug`.

use std::{fmt, str::FromStr};

use ed25519_dalek::{Signer, SigningKey};
use hpke::{Deserializable, Serializable, kem::Kem as _};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{id::PassportId, seal::X25519Kem};

/// A person's or merchant's identity key: the Ed25519 secret key behind a
/// [`PassportId`]. Signs every message the node sends.
#[derive(Clone)]
pub struct IdentityKey(SigningKey);

impl IdentityKey {
    /// A new random identity.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        Self(SigningKey::generate(rng))
    }

    /// The identity with this 32-byte Ed25519 secret (the RFC 8032 seed).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }

    /// The 32-byte secret, for storing encrypted. Zeroized when dropped.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public identifier of this key.
    pub fn id(&self) -> PassportId {
        PassportId::from_verifying_key(self.0.verifying_key())
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({}, SecretKey(..))", self.id().fmt_short())
    }
}

/// An X25519 secret key for opening data sealed to this node (HPKE, RFC 9180).
/// Its public half, [`SealingPublicKey`], is published so others can seal to it.
/// Its public half is computed once, when the key is made or first asked for: every
/// request a merchant sends names it, but a key loaded only to open values never
/// needs it (an X25519 base-point multiplication saved per grant opened).
#[derive(Clone)]
pub struct SealingKey {
    secret: <X25519Kem as hpke::kem::Kem>::PrivateKey,
    public: std::sync::OnceLock<SealingPublicKey>,
}

impl SealingKey {
    /// A new random sealing key.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(ikm.as_mut());
        Self::derive(ikm.as_ref())
    }

    /// The key RFC 9180's `DeriveKeyPair` makes from input keying material.
    pub fn derive(ikm: &[u8]) -> Self {
        let key = Self::from_secret(X25519Kem::derive_keypair(ikm).0);
        // A new key is made to be published: its public half at once.
        key.public_key();
        key
    }

    fn from_secret(secret: <X25519Kem as hpke::kem::Kem>::PrivateKey) -> Self {
        Self {
            secret,
            public: std::sync::OnceLock::new(),
        }
    }

    /// The key with this 32-byte X25519 secret (clamped as RFC 7748 requires).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        // `from_bytes` only fails for a wrong length, which the array type rules out;
        // fall back to deriving so there is no panic path at all.
        match <X25519Kem as hpke::kem::Kem>::PrivateKey::from_bytes(secret) {
            Ok(key) => Self::from_secret(key),
            Err(_) => Self::derive(secret),
        }
    }

    /// The 32-byte secret, for storing encrypted. Zeroized when dropped.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.secret.to_bytes());
        out
    }

    /// The public half, to publish.
    pub fn public_key(&self) -> SealingPublicKey {
        *self.public.get_or_init(|| {
            let mut public = [0u8; 32];
            public.copy_from_slice(&X25519Kem::sk_to_pk(&self.secret).to_bytes());
            SealingPublicKey(public)
        })
    }

    pub(crate) fn hpke_key(&self) -> &<X25519Kem as hpke::kem::Kem>::PrivateKey {
        &self.secret
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey({}, SecretKey(..))", self.public_key())
    }
}

/// The public half of a [`SealingKey`]: 32 bytes of X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealingPublicKey([u8; 32]);

impl SealingPublicKey {
    /// The key with these raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingPublicKey({self})")
    }
}

/// A text that is not 64 hexadecimal digits (a [`SealingPublicKey`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealing public key is 64 hexadecimal digits (32 bytes)")]
pub struct SealingKeyParseError;

impl FromStr for SealingPublicKey {
    type Err = SealingKeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(SealingKeyParseError);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| SealingKeyParseError)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| SealingKeyParseError)?;
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod sealing_key_tests {
    use super::*;

    #[test]
    fn a_loaded_sealing_key_computes_its_public_half_only_when_asked() {
        let made = SealingKey::derive(&[7; 32]);
        // Made to be published: computed at once.
        assert!(made.public.get().is_some());
        let loaded = SealingKey::from_secret_bytes(&made.to_secret_bytes());
        // Loaded to open values: not computed until asked, then the same.
        assert!(loaded.public.get().is_none());
        assert_eq!(loaded.public_key(), made.public_key());
        assert!(loaded.public.get().is_some());
    }
}
