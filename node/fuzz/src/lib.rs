//! Shared bodies of the node's fuzz targets: the decoders that read what the disk
//! or the network hands a node. See ../../protocol/fuzz for the protocol's own.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use futures::{executor::block_on, io::Cursor};
use libp2p::request_response::Codec as _;
use passport_node::{
    audit::AuditEntry,
    crypt::DataKey,
    home::check_identity_file,
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
}
