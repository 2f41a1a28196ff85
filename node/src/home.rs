//! The passport's home directory and how it is unlocked.
//!
//! ```text
//! <home>/
//!   config.toml     optional settings (config::Config); absent means every default
//!   identity.cbor   public id and keys in clear; secret keys and the data key wrapped (0600)
//!   key             only with a key file: 32 random bytes that unlock identity.cbor (0600)
//!   api.token       the local HTTP API's bearer token (0600), made on first use
//!   network.key     the node's libp2p key (0600), so its PeerId survives restarts
//!   db/             the sled database; every personal value in it is encrypted
//! ```
//!
//! Unlocking: a key-encryption key (KEK) comes from the passphrase through Argon2id
//! (parameters stored in `identity.cbor`, defaults in [`KdfParams::default`]) or is
//! read from `key`. The KEK opens the random 32-byte data key, which encrypts the
//! secret keys and everything in the database. A wrong passphrase fails to open the
//! data key and changes nothing.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use argon2::{Algorithm, Argon2, Params, Version};
use passport_protocol::{IdentityKey, PassportId, SealingKey, SealingPublicKey};
use rand::Rng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{config::Config, crypt::DataKey, error::NodeError};

const API_TOKEN_FILE: &str = "api.token";
const NETWORK_KEY_FILE: &str = "network.key";
const IDENTITY_FILE: &str = "identity.cbor";
const KEY_FILE: &str = "key";
const DB_DIR: &str = "db";
const FORMAT_VERSION: u32 = 1;
const AAD_DATA_KEY: &[u8] = b"passport/v1 data key";
const AAD_SECRETS: &[u8] = b"passport/v1 identity secrets";

/// How a passport is unlocked.
pub enum Unlock {
    /// A passphrase, stretched with Argon2id.
    Passphrase(Zeroizing<String>),
    /// The key file `<home>/key` (for headless servers that choose it).
    KeyFile,
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("Passphrase(..)"),
            Self::KeyFile => f.write_str("KeyFile"),
        }
    }
}

/// A bearer token (or a nonce): 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Argon2id parameters for stretching a passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB. Default 65536 (64 MiB): about 0.3 s on a 2020s laptop core,
    /// and within a phone's memory.
    pub memory_kib: u32,
    /// Passes over memory. Default 3.
    pub iterations: u32,
    /// Lanes. Default 1 (phones and small servers gain little from more).
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// The smallest parameters Argon2 allows: for tests only, never for real data.
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// The most memory (1 GiB, 16 times the default) a passport may ask of the
    /// machine that unlocks it.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    /// The most passes (16) a passport may ask for.
    pub const MAX_ITERATIONS: u32 = 16;
    /// The most lanes (16) a passport may ask for.
    pub const MAX_PARALLELISM: u32 = 16;

    /// Checks the parameters are within what a phone or a small server can run:
    /// an identity file that asks for more (tampered with, say) must be an error,
    /// not an unlock that runs out of memory or never ends.
    pub fn check(&self) -> Result<(), String> {
        let bounds = [
            ("memory", self.memory_kib, 8, Self::MAX_MEMORY_KIB, " KiB"),
            ("passes", self.iterations, 1, Self::MAX_ITERATIONS, ""),
            ("lanes", self.parallelism, 1, Self::MAX_PARALLELISM, ""),
        ];
        for (what, value, least, most, unit) in bounds {
            if !(least..=most).contains(&value) {
                return Err(format!(
                    "{what} {value}{unit} is outside {least}..={most}{unit}"
                ));
            }
        }
        Ok(())
    }

    fn derive(&self, passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, NodeError> {
        self.check().map_err(NodeError::KdfParams)?;
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| NodeError::KdfParams(e.to_string()))?;
        let mut kek = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
            .map_err(|e| NodeError::KdfParams(e.to_string()))?;
        Ok(kek)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UnlockMethod {
    Passphrase {
        #[serde(with = "serde_bytes")]
        salt: [u8; 16],
        kdf: KdfParams,
    },
    KeyFile,
}

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    version: u32,
    id: PassportId,
    sealing_public: SealingPublicKey,
    unlock: UnlockMethod,
    /// The data key, sealed under the KEK.
    #[serde(with = "serde_bytes")]
    wrapped_data_key: Vec<u8>,
    /// `IdentitySecrets`, sealed under the data key.
    #[serde(with = "serde_bytes")]
    secrets: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct IdentitySecrets {
    #[serde(with = "serde_bytes")]
    identity: [u8; 32],
    #[serde(with = "serde_bytes")]
    sealing: [u8; 32],
}

impl Drop for IdentitySecrets {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.identity);
        zeroize::Zeroize::zeroize(&mut self.sealing);
    }
}

/// The unlocked keys of a passport.
#[derive(Debug)]
pub struct Keys {
    /// Signs messages; its public half is the passport id.
    pub identity: IdentityKey,
    /// Opens data sealed to this node.
    pub sealing: SealingKey,
    /// Encrypts the database.
    pub data_key: DataKey,
}

impl Keys {
    /// Fresh random keys, for an in-memory node (simulations, tests).
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rng())
    }

    /// A second copy of these keys (a device's keys, held by its network while
    /// they are installed in its home).
    pub fn duplicate(&self) -> Self {
        Self {
            identity: IdentityKey::from_secret_bytes(&self.identity.to_secret_bytes()),
            sealing: SealingKey::from_secret_bytes(&self.sealing.to_secret_bytes()),
            data_key: DataKey::new(&self.data_key.to_bytes()),
        }
    }

    /// Keys drawn from `rng`: with a seeded generator, the same keys (and so the same
    /// passport id) every time, as a reproducible simulation needs.
    pub fn generate_with(rng: &mut (impl rand::CryptoRng + ?Sized)) -> Self {
        let mut data_key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(data_key.as_mut());
        Self {
            identity: IdentityKey::generate(rng),
            sealing: SealingKey::generate(rng),
            data_key: DataKey::new(&data_key),
        }
    }
}

/// A passport's home directory.
#[derive(Debug, Clone)]
pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// The home at `dir` (nothing is read or created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(crate::config::FILE_NAME)
    }

    /// The settings from `config.toml`, or every default if there is none. An
    /// unknown key or a wrong type is an error naming the file and the problem.
    pub fn config(&self) -> Result<Config, NodeError> {
        Config::read(&self.config_path())
    }

    /// `api.token`, the local HTTP API's bearer token (0600).
    pub fn api_token_path(&self) -> PathBuf {
        self.dir.join(API_TOKEN_FILE)
    }

    /// The local HTTP API's bearer token: read from `api.token`, or made (32 random
    /// bytes, hex) and written 0600 the first time.
    pub fn api_token(&self) -> Result<String, NodeError> {
        let path = self.api_token_path();
        match fs::read_to_string(&path) {
            Ok(token) if token.trim().len() >= 32 => return Ok(token.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(NodeError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        }
        let token = random_token();
        write_private(&path, token.as_bytes())?;
        Ok(token)
    }

    /// `network.key`.
    pub fn network_key_path(&self) -> PathBuf {
        self.dir.join(NETWORK_KEY_FILE)
    }

    /// The node's libp2p key: read from `network.key`, or made (Ed25519) and written
    /// 0600 the first time. It is not the identity key: the passport id stays the
    /// same if this key is replaced (the signed DHT record names the current PeerId).
    pub fn network_key(&self) -> Result<libp2p::identity::Keypair, NodeError> {
        let path = self.network_key_path();
        match fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                libp2p::identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
                    NodeError::Corrupt {
                        path,
                        detail: format!("not a libp2p key ({e}); delete it to make a new one"),
                    }
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = libp2p::identity::Keypair::generate_ed25519();
                let encoded =
                    Zeroizing::new(key.to_protobuf_encoding().map_err(|e| NodeError::Corrupt {
                        path: path.clone(),
                        detail: e.to_string(),
                    })?);
                write_private(&path, &encoded)?;
                Ok(key)
            }
            Err(source) => Err(NodeError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// `identity.cbor`.
    pub fn identity_path(&self) -> PathBuf {
        self.dir.join(IDENTITY_FILE)
    }

    /// `key`, the key file.
    pub fn key_file_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// `db/`, the database.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join(DB_DIR)
    }

    /// Whether a passport exists here.
    pub fn exists(&self) -> bool {
        self.identity_path().exists()
    }

    /// The public id, readable without unlocking.
    pub fn public_id(&self) -> Result<PassportId, NodeError> {
        Ok(self.read_identity()?.id)
    }

    /// Creates a new passport with fresh keys, locked with `unlock`. With
    /// [`Unlock::KeyFile`], writes a new key file (0600).
    pub fn create(&self, unlock: &Unlock, kdf: KdfParams) -> Result<Keys, NodeError> {
        let keys = Keys::generate();
        self.install(unlock, kdf, &keys)?;
        Ok(keys)
    }

    /// Makes this home the passport of `keys` (a restored one), locked with
    /// `unlock`: writes `identity.cbor`, and with [`Unlock::KeyFile`] a new key file
    /// (0600). `identity.cbor` is written last, so until it exists there is no
    /// passport here.
    pub fn install(&self, unlock: &Unlock, kdf: KdfParams, keys: &Keys) -> Result<(), NodeError> {
        if self.exists() {
            return Err(NodeError::AlreadyExists {
                home: self.dir.clone(),
            });
        }
        if matches!(unlock, Unlock::Passphrase(_)) {
            kdf.check().map_err(NodeError::KdfParams)?;
        }
        create_private_dir(&self.dir)?;
        let mut rng = rand::rng();
        let (kek, method) = match unlock {
            Unlock::Passphrase(passphrase) => {
                let mut salt = [0u8; 16];
                rng.fill_bytes(&mut salt);
                (
                    kdf.derive(passphrase, &salt)?,
                    UnlockMethod::Passphrase { salt, kdf },
                )
            }
            Unlock::KeyFile => {
                let mut kek = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(kek.as_mut());
                write_private(&self.key_file_path(), kek.as_ref())?;
                (kek, UnlockMethod::KeyFile)
            }
        };
        let secrets = IdentitySecrets {
            identity: *keys.identity.to_secret_bytes(),
            sealing: *keys.sealing.to_secret_bytes(),
        };
        let file = IdentityFile {
            version: FORMAT_VERSION,
            id: keys.identity.id(),
            sealing_public: keys.sealing.public_key(),
            unlock: method,
            wrapped_data_key: DataKey::new(&kek)
                .seal(AAD_DATA_KEY, keys.data_key.to_bytes().as_ref()),
            secrets: keys.data_key.seal_record(AAD_SECRETS, &secrets),
        };
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(&file, &mut bytes).map_err(|e| NodeError::Corrupt {
            path: self.identity_path(),
            detail: e.to_string(),
        })?;
        write_private(&self.identity_path(), &bytes)
    }

    /// Unlocks the passport. A wrong passphrase or key file is an error and changes
    /// nothing on disk.
    pub fn open(&self, unlock: &Unlock) -> Result<Keys, NodeError> {
        let file = self.read_identity()?;
        let kek = match (&file.unlock, unlock) {
            (UnlockMethod::Passphrase { salt, kdf }, Unlock::Passphrase(passphrase)) => {
                kdf.derive(passphrase, salt)?
            }
            (UnlockMethod::KeyFile, Unlock::KeyFile) => self.read_key_file()?,
            (UnlockMethod::Passphrase { .. }, Unlock::KeyFile) => {
                return Err(NodeError::WrongUnlockMethod {
                    expected: "a passphrase",
                });
            }
            (UnlockMethod::KeyFile, Unlock::Passphrase(_)) => {
                return Err(NodeError::WrongUnlockMethod {
                    expected: "a key file",
                });
            }
        };
        let data_key_bytes = DataKey::new(&kek)
            .open(AAD_DATA_KEY, &file.wrapped_data_key)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| match unlock {
                Unlock::Passphrase(_) => NodeError::WrongPassphrase {
                    home: self.dir.clone(),
                },
                Unlock::KeyFile => NodeError::WrongKeyFile {
                    path: self.key_file_path(),
                },
            })?;
        let data_key = DataKey::new(&data_key_bytes);
        let secrets: IdentitySecrets = data_key.open_record(AAD_SECRETS, &file.secrets)?;
        let keys = Keys {
            identity: IdentityKey::from_secret_bytes(&secrets.identity),
            sealing: SealingKey::from_secret_bytes(&secrets.sealing),
            data_key,
        };
        if keys.identity.id() != file.id || keys.sealing.public_key() != file.sealing_public {
            return Err(NodeError::Corrupt {
                path: self.identity_path(),
                detail: "the public id does not match the secret key".into(),
            });
        }
        Ok(keys)
    }

    fn read_identity(&self) -> Result<IdentityFile, NodeError> {
        let path = self.identity_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NodeError::NotFound {
                    home: self.dir.clone(),
                });
            }
            Err(source) => {
                return Err(NodeError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        decode_identity(path, &bytes)
    }

    fn read_key_file(&self) -> Result<Zeroizing<[u8; 32]>, NodeError> {
        let path = self.key_file_path();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path)
                .map_err(|source| NodeError::Io {
                    action: "read",
                    path: path.clone(),
                    source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(NodeError::KeyFileTooOpen {
                    path,
                    mode: mode & 0o777,
                });
            }
        }
        let bytes = Zeroizing::new(fs::read(&path).map_err(|source| NodeError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?);
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| NodeError::WrongKeyFile { path })
    }
}

/// Decodes and checks an identity file's public part, as [`Home::open`] does before
/// it asks for a passphrase, and returns the passport's id. The file is read from
/// disk before anything is unlocked, so anyone with the disk chooses these bytes:
/// the `identity_file` fuzz target runs this.
pub fn check_identity_file(bytes: &[u8]) -> Result<PassportId, NodeError> {
    decode_identity(PathBuf::from(IDENTITY_FILE), bytes).map(|file| file.id)
}

fn decode_identity(path: PathBuf, bytes: &[u8]) -> Result<IdentityFile, NodeError> {
    let file: IdentityFile = ciborium::de::from_reader(bytes).map_err(|e| NodeError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if file.version != FORMAT_VERSION {
        return Err(NodeError::Corrupt {
            path,
            detail: format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                file.version
            ),
        });
    }
    if let UnlockMethod::Passphrase { kdf, .. } = &file.unlock {
        kdf.check().map_err(|e| NodeError::Corrupt {
            path,
            detail: format!("passphrase settings out of range: {e}"),
        })?;
    }
    Ok(file)
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), NodeError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| NodeError::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync dir), 0600.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    let io = |action, source| NodeError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| io("create", e))?;
    file.write_all(bytes).map_err(|e| io("write", e))?;
    file.sync_all().map_err(|e| io("sync", e))?;
    fs::rename(&tmp, path).map_err(|e| io("rename", e))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Unlock {
        Unlock::Passphrase(Zeroizing::new(s.to_owned()))
    }

    /// Rewrites the identity file's passphrase settings, as someone with the disk
    /// could.
    fn tamper_kdf(home: &Home, tamper: impl FnOnce(&mut KdfParams)) {
        let bytes = fs::read(home.identity_path()).unwrap();
        let mut file: IdentityFile = ciborium::de::from_reader(bytes.as_slice()).unwrap();
        let UnlockMethod::Passphrase { kdf, .. } = &mut file.unlock else {
            panic!("a passphrase passport")
        };
        tamper(kdf);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&file, &mut out).unwrap();
        fs::write(home.identity_path(), out).unwrap();
    }

    #[test]
    fn passphrase_settings_out_of_range_are_refused_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let too_much = KdfParams {
            memory_kib: KdfParams::MAX_MEMORY_KIB + 1,
            ..KdfParams::default()
        };
        let err = Home::new(dir.path().join("new"))
            .create(&pass("x"), too_much)
            .unwrap_err();
        assert!(matches!(err, NodeError::KdfParams(_)), "{err}");
        assert!(!dir.path().join("new").exists());

        // 4 TiB of memory, or 4 billion passes: without the bound, unlocking would
        // run out of memory or never end.
        let memory: fn(&mut KdfParams) = |kdf| kdf.memory_kib = u32::MAX;
        let passes: fn(&mut KdfParams) = |kdf| kdf.iterations = u32::MAX;
        for (name, tamper) in [("memory", memory), ("passes", passes)] {
            let home = Home::new(dir.path().join(name));
            home.create(&pass("x"), KdfParams::insecure_for_tests())
                .unwrap();
            tamper_kdf(&home, tamper);
            let err = home.open(&pass("x")).unwrap_err();
            assert!(matches!(err, NodeError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains("out of range"), "{err}");
        }
    }

    #[test]
    fn passphrase_unlocks_and_a_wrong_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("p"));
        let created = home
            .create(&pass("correct horse"), KdfParams::insecure_for_tests())
            .unwrap();
        let before = fs::read(home.identity_path()).unwrap();
        let err = home.open(&pass("wrong horse")).unwrap_err();
        assert!(matches!(err, NodeError::WrongPassphrase { .. }), "{err}");
        assert!(err.to_string().starts_with("wrong passphrase"));
        assert_eq!(fs::read(home.identity_path()).unwrap(), before);
        let opened = home.open(&pass("correct horse")).unwrap();
        assert_eq!(opened.identity.id(), created.identity.id());
        assert_eq!(opened.sealing.public_key(), created.sealing.public_key());
        assert_eq!(home.public_id().unwrap(), created.identity.id());
        assert!(matches!(
            home.create(&pass("x"), KdfParams::insecure_for_tests()),
            Err(NodeError::AlreadyExists { .. })
        ));
        assert!(matches!(
            home.open(&Unlock::KeyFile),
            Err(NodeError::WrongUnlockMethod { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_0600_and_refused_when_open_to_others() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let created = home.create(&Unlock::KeyFile, KdfParams::default()).unwrap();
        for path in [home.key_file_path(), home.identity_path()] {
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600,
                "{path:?}"
            );
        }
        assert_eq!(
            home.open(&Unlock::KeyFile).unwrap().identity.id(),
            created.identity.id()
        );
        fs::set_permissions(home.key_file_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let err = home.open(&Unlock::KeyFile).unwrap_err();
        assert!(matches!(err, NodeError::KeyFileTooOpen { .. }));
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn network_key_and_api_token_are_made_once_and_kept_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let first = home.network_key().unwrap().public().to_peer_id();
        assert_eq!(home.network_key().unwrap().public().to_peer_id(), first);
        let token = home.api_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(home.api_token().unwrap(), token);
        for path in [home.network_key_path(), home.api_token_path()] {
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600,
                "{path:?}"
            );
        }
        fs::write(home.network_key_path(), b"junk").unwrap();
        assert!(
            home.network_key()
                .unwrap_err()
                .to_string()
                .contains("delete it")
        );
    }

    #[test]
    fn no_secret_appears_in_clear_in_identity_file() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let keys = home
            .create(&pass("pw"), KdfParams::insecure_for_tests())
            .unwrap();
        let file = fs::read(home.identity_path()).unwrap();
        for secret in [
            keys.identity.to_secret_bytes(),
            keys.sealing.to_secret_bytes(),
        ] {
            assert!(!file.windows(32).any(|w| w == &secret[..]));
        }
    }
}
