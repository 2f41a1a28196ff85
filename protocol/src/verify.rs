//! The one path by which received bytes become a trusted [`Message`].

use std::collections::{BTreeSet, HashMap};

use crate::{
    cbor, cose,
    error::ProtocolError,
    id::{MessageId, PassportId},
    keys::SealingKey,
    limits::{CLOCK_SKEW_SECS, DEFAULT_SEEN_IDS, MAX_MESSAGE_AGE_SECS, MAX_MESSAGE_BYTES},
    message::{self, Body, Message, Outcome},
    seal::{FieldValues, Presentations, Sealed},
    time::Timestamp,
};

/// A message whose signature, structure, audience, time window and freshness have
/// all been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    message: Message,
}

impl Verified {
    /// The verified message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The verified message, by value.
    pub fn into_message(self) -> Message {
        self.message
    }

    /// The signer (equal to the `iss` claim and the `kid` header).
    pub fn signer(&self) -> &PassportId {
        &self.message.claims.issuer
    }

    /// Opens the values sealed in a grant or an update with this node's sealing key.
    /// `None` if the message carries no sealed values.
    pub fn open_values(&self, key: &SealingKey) -> Option<Result<FieldValues, ProtocolError>> {
        self.open_presented(key)
            .map(|opened| opened.map(|(values, _)| values))
    }

    /// [`Verified::open_values`] with the attestations presented beside the values
    /// (not yet checked: see [`verify_presentation`](crate::attest::verify_presentation)).
    pub fn open_presented(
        &self,
        key: &SealingKey,
    ) -> Option<Result<(FieldValues, Presentations), ProtocolError>> {
        let (grant_id, sealed): (_, &Sealed) = match &self.message.body {
            Body::Decision(d) => match &d.outcome {
                Outcome::Granted(g) => (&g.grant_id, &g.sealed),
                Outcome::Refused { .. } => return None,
            },
            Body::Update(u) => (&u.grant_id, &u.sealed),
            _ => return None,
        };
        Some(sealed.open_presented(key, grant_id, &self.message.claims.audience))
    }
}

/// Remembers the ids of accepted messages until they expire, to refuse replays.
///
/// Implementations must be bounded. When full of unexpired ids they refuse new
/// messages ([`ProtocolError::ReplayStoreFull`]) rather than forget an id early.
pub trait SeenIds {
    /// Records `id` as seen until `keep_until`, or fails if it was already seen.
    fn check_and_insert(
        &mut self,
        id: MessageId,
        keep_until: Timestamp,
        now: Timestamp,
    ) -> Result<(), ProtocolError>;
}

/// A bounded in-memory [`SeenIds`]. Expired ids are dropped as new ones arrive.
#[derive(Debug)]
pub struct SeenIdCache {
    capacity: usize,
    expiry_of: HashMap<MessageId, Timestamp>,
    by_expiry: BTreeSet<(Timestamp, MessageId)>,
}

impl SeenIdCache {
    /// A cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            expiry_of: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// How many ids are held.
    pub fn len(&self) -> usize {
        self.expiry_of.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.expiry_of.is_empty()
    }

    fn purge_expired(&mut self, now: Timestamp) {
        while let Some(&(expiry, id)) = self.by_expiry.first() {
            if expiry >= now {
                break;
            }
            self.by_expiry.pop_first();
            self.expiry_of.remove(&id);
        }
    }
}

impl Default for SeenIdCache {
    fn default() -> Self {
        Self::new(DEFAULT_SEEN_IDS)
    }
}

impl SeenIds for SeenIdCache {
    fn check_and_insert(
        &mut self,
        id: MessageId,
        keep_until: Timestamp,
        now: Timestamp,
    ) -> Result<(), ProtocolError> {
        self.purge_expired(now);
        if self.expiry_of.contains_key(&id) {
            return Err(ProtocolError::Replayed { id });
        }
        if self.expiry_of.len() >= self.capacity {
            return Err(ProtocolError::ReplayStoreFull {
                capacity: self.capacity,
            });
        }
        self.expiry_of.insert(id, keep_until);
        self.by_expiry.insert((keep_until, id));
        Ok(())
    }
}

/// Checks a message's form and signature only: size, CBOR well-formedness, COSE
/// structure and headers, signature, version, kind, payload, and `kid` = `iss`.
///
/// It does not check audience, time or replay: use it to inspect a stored or
/// exported message (an auditor's check). A node receiving from the network uses
/// [`verify`].
pub fn verify_offline(bytes: &[u8]) -> Result<Message, ProtocolError> {
    decode(bytes, cose::verify)
}

/// Decodes a message this program already holds (one it signed, or one it verified
/// when it arrived, read back from its own store) without checking the signature
/// again: every check of [`verify_offline`] but that one. Never use it on bytes
/// from anyone else.
pub fn decode_trusted(bytes: &[u8]) -> Result<Message, ProtocolError> {
    decode(bytes, |value| cose::parse(value).map(|(sign1, ..)| sign1))
}

fn decode(
    bytes: &[u8],
    open: impl FnOnce(ciborium::Value) -> Result<cose::Sign1, ProtocolError>,
) -> Result<Message, ProtocolError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let sign1 = open(cbor::decode(bytes)?)?;
    let message = message::decode_payload(&sign1.payload)?;
    if message.claims.issuer != sign1.signer {
        return Err(ProtocolError::KidMismatch);
    }
    Ok(message)
}

/// Verifies a received message: everything [`verify_offline`] checks, then that it
/// is addressed to `audience`, that `now` is within its `nbf`/`iat`..`exp` window
/// (± [`CLOCK_SKEW_SECS`]), that it is at most [`MAX_MESSAGE_AGE_SECS`] old, and that
/// its id was not seen before. The id is recorded in `seen` (until the earlier of
/// `exp` and `iat` + max age, plus skew) only when every other check passed.
pub fn verify(
    bytes: &[u8],
    now: Timestamp,
    audience: &PassportId,
    seen: &mut impl SeenIds,
) -> Result<Verified, ProtocolError> {
    check_received(verify_offline(bytes)?, now, audience, seen)
}

/// Whether `now` lies within `valid_from`..`expires_at`, give or take
/// [`CLOCK_SKEW_SECS`]: the one clock rule for messages and peer records.
pub(crate) fn check_window(
    valid_from: Timestamp,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<(), ProtocolError> {
    if now.minus_secs(CLOCK_SKEW_SECS) > expires_at {
        return Err(ProtocolError::Expired {
            expires_at,
            now,
            skew: CLOCK_SKEW_SECS,
        });
    }
    if now.plus_secs(CLOCK_SKEW_SECS) < valid_from {
        return Err(ProtocolError::NotYetValid {
            valid_from,
            now,
            skew: CLOCK_SKEW_SECS,
        });
    }
    Ok(())
}

/// The second half of [`verify`]: audience, time window, age and replay checks on a
/// message that [`verify_offline`] returned. Split out so a node can check signatures
/// concurrently and run only these cheap checks (which touch its replay store) under
/// its lock.
pub fn check_received(
    message: Message,
    now: Timestamp,
    audience: &PassportId,
    seen: &mut impl SeenIds,
) -> Result<Verified, ProtocolError> {
    let claims = &message.claims;
    if claims.audience != *audience {
        return Err(ProtocolError::WrongAudience {
            expected: *audience,
            found: claims.audience,
        });
    }
    check_window(
        claims
            .not_before
            .unwrap_or(claims.issued_at)
            .max(claims.issued_at),
        claims.expires_at,
        now,
    )?;
    let max_age_end = claims.issued_at.plus_secs(MAX_MESSAGE_AGE_SECS);
    if now.minus_secs(CLOCK_SKEW_SECS) > max_age_end {
        return Err(ProtocolError::TooOld {
            issued_at: claims.issued_at,
            now,
            max_age: MAX_MESSAGE_AGE_SECS,
        });
    }
    // Past either bound the message is refused anyway, so its id need not be kept.
    let keep_until = claims
        .expires_at
        .min(max_age_end)
        .plus_secs(CLOCK_SKEW_SECS);
    seen.check_and_insert(claims.id, keep_until, now)?;
    Ok(Verified { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_id_cache_refuses_replays_and_forgets_expired_ids() {
        let mut cache = SeenIdCache::new(2);
        let t = Timestamp::from_secs;
        let a = MessageId::from_bytes([1; 16]);
        let b = MessageId::from_bytes([2; 16]);
        let c = MessageId::from_bytes([3; 16]);
        cache.check_and_insert(a, t(100), t(0)).unwrap();
        assert_eq!(
            cache.check_and_insert(a, t(100), t(50)),
            Err(ProtocolError::Replayed { id: a })
        );
        cache.check_and_insert(b, t(200), t(50)).unwrap();
        // Full of unexpired ids: refuse rather than forget one.
        assert_eq!(
            cache.check_and_insert(c, t(300), t(60)),
            Err(ProtocolError::ReplayStoreFull { capacity: 2 })
        );
        // Once `a` expires its slot is free again.
        cache.check_and_insert(c, t(300), t(101)).unwrap();
        assert_eq!(cache.len(), 2);
    }
}
