//! Shared bodies of the node's fuzz targets: the decoders that read what the disk
//! or the network hands a node. See ../../protocol/fuzz for the protocol's own.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use futures::{executor::block_on, io::Cursor};
use libp2p::request_response::Codec as _;
use passport_node::{
    audit::AuditEntry,
    crypt::DataKey,
    data::DeliveredData,
    home::{Home, check_identity_file},
    merchant::{ReceivedGrant, SentRequest},
    net::{Codec, PROTOCOL},
    node::Outgoing,
    person::{IssuedGrant, MerchantRecord, PendingRequest},
    vault::FieldRecord,
};
use zeroize::Zeroizing;

/// An identity file, read before anything is unlocked: it must decode or be
/// refused as corrupt, and what decodes must ask for bounded work to unlock.
pub fn identity_file(data: &[u8]) {
    let _ = check_identity_file(data);
}

/// Bytes off a connection, read as a request frame and as a response frame.
pub fn net_frame(data: &[u8]) {
    let mut codec = Codec;
    let _ = block_on(codec.read_request(&PROTOCOL, &mut Cursor::new(data)));
    let _ = block_on(codec.read_response(&PROTOCOL, &mut Cursor::new(data)));
}

/// A value in the store: as sealed bytes (which must fail to open unless sealed
/// with the key), and, sealed properly, as the plaintext of every record type the
/// node stores, so the decoders behind the AEAD are reached too.
pub fn stored_record(data: &[u8]) {
    let key = DataKey::new(&Zeroizing::new([7u8; 32]));
    let aad = b"fuzz/record";
    let _ = key.open_record::<ReceivedGrant>(aad, data);
    let sealed = key.seal(aad, data);
    let _ = key.open_record::<SentRequest>(aad, &sealed);
    let _ = key.open_record::<ReceivedGrant>(aad, &sealed);
    let _ = key.open_record::<PendingRequest>(aad, &sealed);
    let _ = key.open_record::<MerchantRecord>(aad, &sealed);
    let _ = key.open_record::<IssuedGrant>(aad, &sealed);
    let _ = key.open_record::<Outgoing>(aad, &sealed);
    let _ = key.open_record::<AuditEntry>(aad, &sealed);
    let _ = key.open_record::<FieldRecord>(aad, &sealed);
    let _ = key.open_record::<DeliveredData>(aad, &sealed);
}

/// The person's other files in the home directory, read through the real
/// [`Home`] methods: `config.toml` (TOML into the node's settings) and
/// `network.key` (libp2p's key encoding). Both must be decoded or refused with an
/// error that names the file.
pub fn home_files(data: &[u8]) {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("passport-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    });
    let home = Home::new(dir);
    std::fs::write(home.config_path(), data).unwrap();
    std::fs::write(home.network_key_path(), data).unwrap();
    let _ = home.config();
    let _ = home.network_key();
}
