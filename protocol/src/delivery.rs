//! Data that comes back: what a merchant (or an issuer) delivers to a person in
//! a [`Delivery`](crate::Delivery) message (kind 16): a receipt, an order, a
//! warranty, loyalty points, or an [attestation](crate::attest) of one of the
//! person's fields. The content is sealed to the person's sealing key (the one
//! in their peer record) with HPKE, bound to the message's `cti` and the
//! person's id, so only the person opens it and it cannot be moved to another
//! message.

use std::collections::BTreeMap;

use ciborium::Value;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{
    attest::{Presentation, presentation_from_cbor, presentation_to_cbor},
    cbor::{self, MapReader, key},
    error::ProtocolError,
    field,
    id::{MessageId, PassportId},
    keys::{SealingKey, SealingPublicKey},
    limits::{MAX_DELIVERY_BYTES, MAX_TEXT_BYTES},
    seal::{Sealed, open_with_info, seal_with_info},
};

/// The first bytes of a delivery's HPKE `info`: `"passport/v1 delivery"` then a
/// zero byte; the message's 16 `cti` bytes and the person's `did:key` text follow.
pub const DELIVERY_INFO_LABEL: &[u8] = b"passport/v1 delivery\0";

/// What a delivery holds, as its wire number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DataType {
    /// A receipt for a purchase.
    Receipt = 1,
    /// An order and its state.
    Order = 2,
    /// A warranty.
    Warranty = 3,
    /// Loyalty points or a membership.
    Loyalty = 4,
    /// Anything else.
    Other = 5,
    /// An attestation of one of the person's fields, with its salt.
    Attestation = 6,
}

impl DataType {
    /// Every type, in wire-number order.
    pub const ALL: [DataType; 6] = [
        Self::Receipt,
        Self::Order,
        Self::Warranty,
        Self::Loyalty,
        Self::Other,
        Self::Attestation,
    ];

    /// Its lowercase name, e.g. `"receipt"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::Order => "order",
            Self::Warranty => "warranty",
            Self::Loyalty => "loyalty",
            Self::Other => "other",
            Self::Attestation => "attestation",
        }
    }

    pub(crate) fn from_wire(n: u64) -> Result<Self, ProtocolError> {
        Self::ALL
            .into_iter()
            .find(|t| *t as u64 == n)
            .ok_or_else(|| ProtocolError::malformed(format!("unknown delivery type {n}")))
    }
}

impl std::str::FromStr for DataType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown data type {s:?}; use one of receipt, order, warranty, loyalty, other"
                )
            })
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A delivery's content, as the person opens it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// A short title ("Order 1042", "Warranty: kettle").
    pub title: String,
    /// The data: named texts ("total" → "59.90 EUR"). Empty for an attestation.
    pub items: BTreeMap<String, String>,
    /// For [`DataType::Attestation`], the attestation and its salt.
    pub attestation: Option<Presentation>,
}

impl std::fmt::Debug for Delivered {
    // What a merchant delivers is personal data: show only its shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivered")
            .field("items", &self.items.len())
            .field("attestation", &self.attestation.is_some())
            .finish_non_exhaustive()
    }
}

const BODY_TYPE: i64 = 1;
const BODY_SEALED: i64 = 2;

/// The body of a [`Delivery`](crate::Delivery) message, as map entries.
pub(crate) fn encode_body(d: &crate::Delivery) -> Vec<(i64, Value)> {
    vec![
        (BODY_TYPE, Value::Integer((d.data_type as u64).into())),
        (BODY_SEALED, d.sealed.to_cbor()),
    ]
}

/// The other half of [`encode_body`]: the type, and the sealed content within
/// its size bound (not opened).
pub(crate) fn decode_body(b: &mut MapReader) -> Result<crate::Delivery, ProtocolError> {
    let sealed = Sealed::from_cbor(b.required(BODY_SEALED, "sealed")?)?;
    if sealed.ciphertext.len() > MAX_DELIVERY_BYTES + 16 {
        return Err(ProtocolError::malformed(format!(
            "delivery is over the {MAX_DELIVERY_BYTES}-byte limit"
        )));
    }
    Ok(crate::Delivery {
        data_type: DataType::from_wire(cbor::uint(
            b.required(BODY_TYPE, "delivery type")?,
            "delivery type",
        )?)?,
        sealed,
    })
}

const CONTENT_TITLE: i64 = 1;
const CONTENT_ITEMS: i64 = 2;
const CONTENT_ATTESTATION: i64 = 3;

/// The HPKE `info` of a delivery: [`DELIVERY_INFO_LABEL`], the message's `cti`,
/// then the person's `did:key` text.
pub fn delivery_info(message_id: &MessageId, person: &PassportId) -> Vec<u8> {
    [
        DELIVERY_INFO_LABEL,
        message_id.as_bytes(),
        person.to_string().as_bytes(),
    ]
    .concat()
}

/// Seals `content` of `data_type` to the person's key, for the message
/// `message_id` addressed to `person`. Refuses content that does not fit the
/// type (an attestation without one, data with one) or [`MAX_DELIVERY_BYTES`].
pub fn seal_delivery(
    data_type: DataType,
    content: &Delivered,
    recipient: &SealingPublicKey,
    message_id: &MessageId,
    person: &PassportId,
    rng: &mut impl CryptoRng,
) -> Result<Sealed, ProtocolError> {
    let plaintext = Zeroizing::new(encode_content(content)?);
    check_content(data_type, &decode_content(&plaintext)?)?;
    let (enc, ciphertext) = seal_with_info(
        recipient,
        &delivery_info(message_id, person),
        &[],
        &plaintext,
        rng,
    )?;
    Ok(Sealed { enc, ciphertext })
}

/// Opens a delivery's content with the person's key and checks it fits its type.
pub fn open_delivery(
    data_type: DataType,
    sealed: &Sealed,
    key: &SealingKey,
    message_id: &MessageId,
    person: &PassportId,
) -> Result<Delivered, ProtocolError> {
    if sealed.ciphertext.len() > MAX_DELIVERY_BYTES + 16 {
        return Err(ProtocolError::TooLarge {
            size: sealed.ciphertext.len(),
            max: MAX_DELIVERY_BYTES + 16,
        });
    }
    let plaintext = Zeroizing::new(open_with_info(
        key,
        &sealed.enc,
        &delivery_info(message_id, person),
        &[],
        &sealed.ciphertext,
    )?);
    let content = decode_content(&plaintext)?;
    check_content(data_type, &content)?;
    Ok(content)
}

fn check_content(data_type: DataType, content: &Delivered) -> Result<(), ProtocolError> {
    match (data_type, &content.attestation) {
        (DataType::Attestation, None) => Err(ProtocolError::malformed(
            "an attestation delivery holds no attestation",
        )),
        (DataType::Attestation, Some(_)) if !content.items.is_empty() => Err(
            ProtocolError::malformed("an attestation delivery holds other data"),
        ),
        (DataType::Attestation, Some(_)) => Ok(()),
        (_, Some(_)) => Err(ProtocolError::malformed(
            "only an attestation delivery may hold an attestation",
        )),
        (_, None) if content.items.is_empty() => {
            Err(ProtocolError::malformed("a data delivery holds no data"))
        }
        (_, None) => Ok(()),
    }
}

fn encode_content(content: &Delivered) -> Result<Vec<u8>, ProtocolError> {
    let mut map = vec![(key(CONTENT_TITLE), Value::Text(content.title.clone()))];
    if !content.items.is_empty() {
        map.push((key(CONTENT_ITEMS), field::text_map_to_cbor(&content.items)));
    }
    if let Some(p) = &content.attestation {
        map.push((key(CONTENT_ATTESTATION), presentation_to_cbor(p)));
    }
    let bytes = cbor::encode(&Value::Map(map))?;
    if bytes.len() > MAX_DELIVERY_BYTES {
        return Err(ProtocolError::TooLarge {
            size: bytes.len(),
            max: MAX_DELIVERY_BYTES,
        });
    }
    Ok(bytes)
}

fn decode_content(plaintext: &[u8]) -> Result<Delivered, ProtocolError> {
    if plaintext.len() > MAX_DELIVERY_BYTES {
        return Err(ProtocolError::TooLarge {
            size: plaintext.len(),
            max: MAX_DELIVERY_BYTES,
        });
    }
    let mut map = MapReader::new(cbor::decode(plaintext)?, "delivery")?;
    let title = cbor::text(
        map.required(CONTENT_TITLE, "title")?,
        "title",
        MAX_TEXT_BYTES,
    )?;
    let items = match map.take(CONTENT_ITEMS) {
        None => BTreeMap::new(),
        Some(Value::Map(pairs)) => field::text_map(pairs, "delivered items")?,
        Some(_) => return Err(ProtocolError::malformed("delivered items are not a map")),
    };
    let attestation = map
        .take(CONTENT_ATTESTATION)
        .map(presentation_from_cbor)
        .transpose()?;
    map.finish()?;
    Ok(Delivered {
        title,
        items,
        attestation,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::keys::IdentityKey;

    #[test]
    fn content_opens_only_for_its_person_and_message_and_fits_its_type() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(16);
        let ada = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let bob = IdentityKey::from_secret_bytes(&[2; 32]).id();
        let key = SealingKey::generate(&mut rng);
        let id = MessageId::random(&mut rng);
        let receipt = Delivered {
            title: "Order 1042".into(),
            items: BTreeMap::from([("total".to_owned(), "59.90 EUR".to_owned())]),
            attestation: None,
        };
        let sealed = seal_delivery(
            DataType::Receipt,
            &receipt,
            &key.public_key(),
            &id,
            &ada,
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            open_delivery(DataType::Receipt, &sealed, &key, &id, &ada).unwrap(),
            receipt
        );
        let other_id = MessageId::random(&mut rng);
        for (id, person) in [(&other_id, &ada), (&id, &bob)] {
            assert_eq!(
                open_delivery(DataType::Receipt, &sealed, &key, id, person),
                Err(ProtocolError::OpenFailed)
            );
        }
        // Data without items, an attestation type without one, oversize: refused.
        let empty = Delivered {
            title: "nothing".into(),
            ..Delivered::default()
        };
        for (data_type, content) in [(DataType::Other, &empty), (DataType::Attestation, &receipt)] {
            assert!(
                seal_delivery(data_type, content, &key.public_key(), &id, &ada, &mut rng).is_err()
            );
        }
        assert!(
            open_delivery(DataType::Attestation, &sealed, &key, &id, &ada).is_err(),
            "a receipt is not taken for an attestation"
        );
        let huge = Delivered {
            title: "big".into(),
            items: (0..8)
                .map(|i| (format!("part{i}"), "x".repeat(4000)))
                .collect(),
            attestation: None,
        };
        assert!(matches!(
            seal_delivery(
                DataType::Other,
                &huge,
                &key.public_key(),
                &id,
                &ada,
                &mut rng
            ),
            Err(ProtocolError::TooLarge { .. })
        ));
    }
}
