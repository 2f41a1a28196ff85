//! Scoped API tokens: bearer tokens for the local HTTP API that reach only part of
//! it (a shop backend's merchant token, say), beside the full token of
//! `<home>/api.token`.
//!
//! A token reads `ppt_<id>_<secret>`: `ppt_`, an 8-character id (4 random bytes in
//! hex, shown by listings and used to revoke), `_`, and 32 random bytes in hex. The
//! id in the token lets the node find its record at once; the store keeps only the
//! SHA-256 of the whole token (under `t/<id>`, encrypted like every record), with
//! its scope, name and creation time, so the token itself is shown once, when it is
//! made, and never again. A presented token's digest is compared with the stored one
//! in constant time. Revoking deletes the record: the next request with the token is
//! refused (there is no cache to go stale). Creation and revocation are audited by
//! id, scope and name, never the token.
//!
//! Which routes each [`Scope`] reaches is the HTTP layer's table
//! (`http::scopes`, documented in `docs/API.md`).

use passport_protocol::Timestamp;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Tx},
};

/// What every scoped token starts with.
pub const TOKEN_MARK: &str = "ppt_";

/// Most scoped tokens a node keeps at once.
pub const MAX_TOKENS: usize = 64;

/// Longest token name, in bytes.
pub const MAX_TOKEN_NAME_BYTES: usize = 64;

/// Characters of a token id (4 random bytes in hex).
const ID_CHARS: usize = 8;

/// Random bytes of a token's secret part.
const SECRET_BYTES: usize = 32;

const TOKEN_PREFIX: &[u8] = b"t/";

fn token_key(id: &str) -> Vec<u8> {
    [TOKEN_PREFIX, id.as_bytes()].concat()
}

/// What a bearer token may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The token of `<home>/api.token`: everything, token management included.
    Full,
    /// The person's routes (inbox and answers, grants and revocation, fields,
    /// tags, policies, erase requests) and every read.
    Person,
    /// A shop backend's routes: requests, grants received and their values,
    /// fetch, erasure, webhooks, and the node's status, events and audit log.
    Merchant,
    /// Reads that return no personal values.
    Read,
}

impl Scope {
    /// The scopes a token can be made with (the full one is `api.token`).
    pub const GRANTABLE: [Scope; 3] = [Scope::Person, Scope::Merchant, Scope::Read];

    /// Its name, as in JSON and on the command line: `full`, `person`, `merchant`
    /// or `read`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Person => "person",
            Self::Merchant => "merchant",
            Self::Read => "read",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(Self::Full),
            "person" => Ok(Self::Person),
            "merchant" => Ok(Self::Merchant),
            "read" => Ok(Self::Read),
            other => Err(format!(
                "{other:?} is not a scope: use person, merchant or read"
            )),
        }
    }
}

/// A scoped token as listed: everything but the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Its id: 8 hex characters, also inside the token (`ppt_<id>_…`).
    pub id: String,
    /// What it reaches.
    pub scope: Scope,
    /// The name it was given (may be empty).
    pub name: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A token just made: its record, and the token itself, which is not kept.
pub struct NewToken {
    /// Its record, as listings show it.
    pub record: ApiToken,
    /// The bearer token, `ppt_<id>_<secret>`: shown once, never stored.
    pub token: Zeroizing<String>,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("record", &self.record)
            .field("token", &"ppt_..")
            .finish()
    }
}

/// A token as stored: its record and the SHA-256 of the token.
#[derive(Serialize, Deserialize)]
struct Stored {
    record: ApiToken,
    #[serde(with = "serde_bytes")]
    digest: [u8; 32],
}

/// SHA-256 of a token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The id inside a well-formed scoped token, or `None` if `token` is not one.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_MARK)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (valid_id(id) && secret.len() == 2 * SECRET_BYTES && hex(secret)).then_some(id)
}

/// Whether `id` has the shape of a token id (so that nothing else becomes a key).
fn valid_id(id: &str) -> bool {
    id.len() == ID_CHARS && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_name(name: &str) -> Result<(), NodeError> {
    if name.len() > MAX_TOKEN_NAME_BYTES {
        return Err(NodeError::TokenRefused(format!(
            "the name is {} bytes long; give one of at most {MAX_TOKEN_NAME_BYTES}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(NodeError::TokenRefused(
            "the name holds a control character (a newline, a tab…); give one on a single line"
                .into(),
        ));
    }
    Ok(())
}

impl Node {
    /// Makes a token reaching `scope`, named `name` (may be empty). The token is in
    /// the answer only: the store keeps its digest.
    pub fn create_token(
        &self,
        scope: Scope,
        name: &str,
        now: Timestamp,
    ) -> Result<NewToken, NodeError> {
        if scope == Scope::Full {
            return Err(NodeError::TokenRefused(
                "the full token is the one in <home>/api.token; make a person, merchant or read token"
                    .into(),
            ));
        }
        check_name(name)?;
        self.tx(now, |tx| tx.create_token(scope, name))
    }

    /// Every scoped token, oldest first; never the tokens themselves.
    pub fn tokens(&self) -> Result<Vec<ApiToken>, NodeError> {
        let mut tokens: Vec<ApiToken> = self
            .scan::<Stored>(TOKEN_PREFIX)?
            .into_iter()
            .map(|(_, s)| s.record)
            .collect();
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }

    /// Revokes the token `id`: from now on it is refused. Returns what it was.
    pub fn revoke_token(&self, id: &str, now: Timestamp) -> Result<ApiToken, NodeError> {
        let unknown = || NodeError::UnknownToken(id.chars().take(ID_CHARS * 2).collect());
        if !valid_id(id) {
            return Err(unknown());
        }
        self.tx(now, |tx| tx.revoke_token(id)?.ok_or_else(unknown))
    }

    /// The scope of `token` if it is a scoped token this node made and has not
    /// revoked; `None` otherwise. The digests are compared in constant time.
    pub fn token_scope(&self, token: &str) -> Result<Option<Scope>, NodeError> {
        let Some(id) = token_id(token) else {
            return Ok(None);
        };
        let Some(stored) = self.get::<Stored>(&token_key(id))? else {
            return Ok(None);
        };
        let matches = bool::from(token_digest(token).ct_eq(&stored.digest));
        Ok(matches.then_some(stored.record.scope))
    }

    /// The stored digest of token `id`, for proving to a client holding the token
    /// that this node knows it without seeing it (`GET /v1/hello`).
    pub fn token_digest(&self, id: &str) -> Result<Option<[u8; 32]>, NodeError> {
        if !valid_id(id) {
            return Ok(None);
        }
        Ok(self.get::<Stored>(&token_key(id))?.map(|s| s.digest))
    }
}

impl Tx<'_> {
    /// Revokes the token `id` in this transaction, with its audit entry; `None` if
    /// there is no such token.
    pub(crate) fn revoke_token(&mut self, id: &str) -> Result<Option<ApiToken>, NodeError> {
        let key = token_key(id);
        let Some(stored) = self.get::<Stored>(&key)? else {
            return Ok(None);
        };
        self.batch.delete(key);
        self.audit(
            AuditEvent::TokenRevoked {
                token: stored.record.id.clone(),
                scope: stored.record.scope,
                name: stored.record.name.clone(),
            },
            None,
        );
        Ok(Some(stored.record))
    }

    pub(crate) fn create_token(&mut self, scope: Scope, name: &str) -> Result<NewToken, NodeError> {
        let existing = self.node.storage().scan_prefix(TOKEN_PREFIX)?;
        if existing.len() >= MAX_TOKENS {
            return Err(NodeError::TokenRefused(format!(
                "this node keeps at most {MAX_TOKENS} tokens; revoke one you no longer use (`passport token revoke ID`)"
            )));
        }
        // Tokens are secrets: they come from the operating system's generator, not
        // from the node's (seedable) one.
        let mut rng = rand::rng();
        let id = loop {
            let mut bytes = [0u8; ID_CHARS / 2];
            rng.fill_bytes(&mut bytes);
            let id = hex(&bytes);
            let key = token_key(&id);
            if !existing.iter().any(|(k, _)| *k == key) {
                break id;
            }
        };
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        rng.fill_bytes(&mut *secret);
        let secret = Zeroizing::new(hex(&*secret));
        let token = Zeroizing::new(format!("{TOKEN_MARK}{id}_{}", secret.as_str()));
        let record = ApiToken {
            id: id.clone(),
            scope,
            name: name.to_string(),
            created_at: self.now,
        };
        self.put(
            token_key(&id),
            &Stored {
                record: record.clone(),
                digest: token_digest(&token),
            },
        );
        self.audit(
            AuditEvent::TokenCreated {
                token: id,
                scope,
                name: name.to_string(),
            },
            None,
        );
        Ok(NewToken { record, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeConfig;

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    #[test]
    fn a_token_has_its_id_inside_and_only_its_digest_is_kept() {
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let made = node.create_token(Scope::Merchant, "shop", NOW).unwrap();
        let token = made.token.as_str();
        assert!(token.starts_with("ppt_"), "{token}");
        assert_eq!(token.len(), 4 + ID_CHARS + 1 + 2 * SECRET_BYTES);
        assert_eq!(token_id(token), Some(made.record.id.as_str()));
        assert_eq!(node.token_scope(token).unwrap(), Some(Scope::Merchant));
        assert_eq!(
            node.token_digest(&made.record.id).unwrap(),
            Some(token_digest(token))
        );
        // One character off, another id, or the id alone: not a token.
        let mut wrong = token.to_string();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(wrong.len() - 1.., last);
        assert_eq!(node.token_scope(&wrong).unwrap(), None);
        assert_eq!(node.token_scope(&made.record.id).unwrap(), None);
        assert_eq!(node.token_scope("ppt_").unwrap(), None);
        assert!(!format!("{made:?}").contains(&token[13..]));
        assert_eq!(node.tokens().unwrap(), vec![made.record.clone()]);
    }

    #[test]
    fn revoking_takes_effect_at_once_and_both_are_audited_without_the_token() {
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let made = node.create_token(Scope::Read, "dashboard", NOW).unwrap();
        let other = node.create_token(Scope::Person, "", NOW).unwrap();
        let revoked = node.revoke_token(&made.record.id, NOW).unwrap();
        assert_eq!(revoked, made.record);
        assert_eq!(node.token_scope(&made.token).unwrap(), None);
        assert_eq!(node.token_scope(&other.token).unwrap(), Some(Scope::Person));
        assert_eq!(node.tokens().unwrap(), vec![other.record]);
        assert!(matches!(
            node.revoke_token(&made.record.id, NOW),
            Err(NodeError::UnknownToken(_))
        ));
        let events: Vec<AuditEvent> = node
            .audit_entries()
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2],
            AuditEvent::TokenRevoked {
                token: made.record.id.clone(),
                scope: Scope::Read,
                name: "dashboard".into(),
            }
        );
        let logged = serde_json::to_string(&events).unwrap();
        assert!(!logged.contains(&made.token[13..]), "{logged}");
        assert!(!logged.contains(&other.token[13..]), "{logged}");
    }

    #[test]
    fn bad_requests_for_a_token_are_refused_with_a_reason() {
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let refused = |scope, name: &str| match node.create_token(scope, name, NOW) {
            Err(NodeError::TokenRefused(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(refused(Scope::Full, "").contains("api.token"));
        assert!(refused(Scope::Read, &"x".repeat(65)).contains("at most 64"));
        assert!(refused(Scope::Read, "a\nb").contains("single line"));
        for n in 0..MAX_TOKENS {
            node.create_token(Scope::Read, &n.to_string(), NOW).unwrap();
        }
        assert!(refused(Scope::Read, "one more").contains("revoke one"));
        assert_eq!(
            "admin".parse::<Scope>().unwrap_err(),
            "\"admin\" is not a scope: use person, merchant or read"
        );
        assert!(matches!(
            node.revoke_token("../../x", NOW),
            Err(NodeError::UnknownToken(_))
        ));
    }
}
