//! Encryption at rest: XChaCha20-Poly1305 with a random 24-byte nonce per value and
//! the record's key as associated data, so a value cannot be moved to another key.

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::Rng;
use zeroize::Zeroizing;

use crate::error::NodeError;

const NONCE_LEN: usize = 24;

/// The random key that encrypts everything in the database. It is stored only
/// wrapped (encrypted) under the key-encryption key derived from the passphrase or
/// read from the key file.
pub struct DataKey {
    cipher: XChaCha20Poly1305,
    /// Kept for backups, which carry the key itself.
    bytes: Zeroizing<[u8; 32]>,
}

impl DataKey {
    /// A data key from 32 secret bytes.
    pub fn new(bytes: &Zeroizing<[u8; 32]>) -> Self {
        let mut key = chacha20poly1305::Key::from(**bytes);
        let cipher = XChaCha20Poly1305::new(&key);
        zeroize::Zeroize::zeroize(key.as_mut_slice());
        Self {
            cipher,
            bytes: bytes.clone(),
        }
    }

    /// The key's 32 secret bytes (for a backup, which is itself encrypted).
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.bytes.clone()
    }

    /// Encrypts `plaintext`, binding it to `aad`. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        if let Ok(ct) = self.cipher.encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        ) {
            out.extend(ct);
        }
        out
    }

    /// Decrypts what [`DataKey::seal`] produced with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ct) = sealed.split_first_chunk::<NONCE_LEN>()?;
        self.cipher
            .decrypt(&XNonce::from(*nonce), Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Seals a serializable record as CBOR.
    pub fn seal_record<T: serde::Serialize>(&self, aad: &[u8], record: &T) -> Vec<u8> {
        let mut plain = Zeroizing::new(Vec::new());
        // Serializing our own record types to a Vec cannot fail.
        let _ = ciborium::ser::into_writer(record, &mut *plain);
        self.seal(aad, &plain)
    }

    /// Opens and decodes a record sealed with [`DataKey::seal_record`].
    pub fn open_record<T: serde::de::DeserializeOwned>(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<T, NodeError> {
        let key = || String::from_utf8_lossy(aad).into_owned();
        let plain = self
            .open(aad, sealed)
            .ok_or_else(|| NodeError::CorruptRecord {
                key: key(),
                detail: "it does not decrypt with this passport's key",
            })?;
        ciborium::de::from_reader(plain.as_slice()).map_err(|_| NodeError::CorruptRecord {
            key: key(),
            detail: "it decrypts but does not decode",
        })
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(SecretKey(..))")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bound_to_their_key_name() {
        let key = DataKey::new(&Zeroizing::new([7; 32]));
        let sealed = key.seal(b"f/email", b"ada@example.org");
        assert_eq!(
            key.open(b"f/email", &sealed).unwrap().as_slice(),
            b"ada@example.org"
        );
        assert!(key.open(b"f/phone", &sealed).is_none());
        let other = DataKey::new(&Zeroizing::new([8; 32]));
        assert!(other.open(b"f/email", &sealed).is_none());
        // Two seals of the same value differ (random nonces).
        assert_ne!(sealed, key.seal(b"f/email", b"ada@example.org"));
    }
}
