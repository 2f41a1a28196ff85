//! Verifying a merchant by its website: a request may name the merchant's web
//! domain; the person's node fetches `https://<domain>/.well-known/passport`,
//! which must be `{"id": "<the merchant's passport id>"}`, and from then on
//! shows the merchant as "verified by its website <domain>".
//!
//! [`run`] watches the node's events and checks a claimed domain when a request
//! from its merchant arrives, at most once a day per merchant and
//! [`MAX_CHECKS`] at a time, each bounded in time and size. The check runs
//! beside the request: a standing policy does not wait for it.

use std::{collections::HashSet, path::Path, sync::Arc, time::Duration};

use futures::StreamExt as _;
use passport_protocol::{PassportId, Timestamp, domain::check_domain};
use tokio::{sync::Semaphore, task::JoinSet};

use super::merchants::{DomainClaim, MerchantRecord, merchant_key};
use crate::{
    audit::AuditEvent,
    error::NodeError,
    events::Event,
    node::{Node, system_now},
};

/// Checks running at once.
pub const MAX_CHECKS: usize = 4;

/// How long a check found stays good before a new request checks again.
pub const RECHECK_AFTER_SECS: u64 = 86_400;

/// Longest a check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest `/.well-known/passport` read.
const MAX_WELL_KNOWN_BYTES: usize = 4096;

/// Why a domain check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// The domain is not a valid `host[:port]`.
    #[error("{0}")]
    BadDomain(String),
    /// The HTTPS fetch failed (no answer, bad certificate, not 200).
    #[error("could not fetch https://{domain}/.well-known/passport: {detail}")]
    Fetch {
        /// The domain.
        domain: String,
        /// What went wrong.
        detail: String,
    },
    /// The file is not `{"id": "did:key:…"}` within 4 KiB.
    #[error("https://{domain}/.well-known/passport is not {{\"id\": \"did:key:…\"}}: {detail}")]
    NotAPassportFile {
        /// The domain.
        domain: String,
        /// What is wrong.
        detail: String,
    },
    /// The file names another passport.
    #[error("https://{domain}/.well-known/passport names {found}, not this merchant")]
    OtherId {
        /// The domain.
        domain: String,
        /// The id it names.
        found: PassportId,
    },
}

impl DomainError {
    /// A short, stable, lowercase name for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadDomain(_) => "bad_domain",
            Self::Fetch { .. } => "fetch_failed",
            Self::NotAPassportFile { .. } => "not_a_passport_file",
            Self::OtherId { .. } => "other_id",
        }
    }
}

/// The certificates domain checks trust besides the system's: those in the PEM
/// file `path`, if any. Read when the node starts, so a bad file stops it then.
pub fn extra_roots(path: Option<&Path>) -> Result<Vec<reqwest::Certificate>, NodeError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let pem = std::fs::read(path).map_err(|source| NodeError::Io {
        action: "read the CA certificates in",
        path: path.to_path_buf(),
        source,
    })?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        NodeError::InvalidInput(format!(
            "https_roots {}: not PEM certificates: {e}",
            path.display()
        ))
    })
}

/// The HTTP client domain checks use: HTTPS only, no redirects, bounded in time,
/// trusting the system's roots and `extra`.
pub fn client_trusting(extra: &[reqwest::Certificate]) -> Result<reqwest::Client, NodeError> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CHECK_TIMEOUT)
        .connect_timeout(CHECK_TIMEOUT)
        .user_agent(concat!("passport/", env!("CARGO_PKG_VERSION")));
    for cert in extra {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder
        .build()
        .map_err(|e| NodeError::InvalidInput(format!("the HTTPS client: {e}")))
}

/// Fetches `https://<domain>/.well-known/passport` and checks it names `merchant`.
pub async fn check(
    client: &reqwest::Client,
    domain: &str,
    merchant: &PassportId,
) -> Result<(), DomainError> {
    check_domain(domain).map_err(|e| DomainError::BadDomain(e.to_string()))?;
    let fetch = |detail: String| DomainError::Fetch {
        domain: domain.to_string(),
        detail,
    };
    let mut response = client
        .get(format!("https://{domain}/.well-known/passport"))
        .send()
        .await
        .map_err(|e| fetch(format!("{e:#}")))?;
    if !response.status().is_success() {
        return Err(fetch(format!("it answered {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fetch(e.to_string()))? {
        if body.len() + chunk.len() > MAX_WELL_KNOWN_BYTES {
            return Err(DomainError::NotAPassportFile {
                domain: domain.to_string(),
                detail: format!("over {MAX_WELL_KNOWN_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    #[derive(serde::Deserialize)]
    struct WellKnown {
        id: PassportId,
    }
    let file: WellKnown =
        serde_json::from_slice(&body).map_err(|e| DomainError::NotAPassportFile {
            domain: domain.to_string(),
            detail: e.to_string(),
        })?;
    if file.id != *merchant {
        return Err(DomainError::OtherId {
            domain: domain.to_string(),
            found: file.id,
        });
    }
    Ok(())
}

impl Node {
    /// Records what checking `merchant`'s `domain` found, if the merchant still
    /// claims that domain.
    pub fn record_domain_check(
        &self,
        merchant: &PassportId,
        domain: &str,
        outcome: Result<(), &DomainError>,
        now: Timestamp,
    ) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            let key = merchant_key(merchant);
            let Some(mut record) = tx.get::<MerchantRecord>(&key)? else {
                return Ok(());
            };
            if record.domain.as_ref().is_none_or(|d| d.domain != domain) {
                return Ok(());
            }
            record.domain = Some(DomainClaim {
                domain: domain.to_string(),
                checked_at: Some(now),
                verified: outcome.is_ok(),
            });
            tx.put(key, &record);
            tx.audit(
                AuditEvent::DomainChecked {
                    merchant: *merchant,
                    domain: domain.to_string(),
                    verified: outcome.is_ok(),
                    reason: outcome.err().map(|e| e.to_string()),
                },
                None,
            );
            Ok(())
        })
    }

    /// The domain to check for `merchant` now, if it claims one that was never
    /// checked or was checked over [`RECHECK_AFTER_SECS`] ago.
    fn domain_to_check(
        &self,
        merchant: &PassportId,
        now: Timestamp,
    ) -> Result<Option<String>, NodeError> {
        Ok(self.merchant(merchant)?.and_then(|record| {
            let claim = record.domain?;
            let due = claim
                .checked_at
                .is_none_or(|at| now.as_secs() >= at.as_secs() + RECHECK_AFTER_SECS);
            due.then_some(claim.domain)
        }))
    }
}

/// Checks merchants' domains as their requests arrive, until the node's events
/// end (the task is aborted at shutdown; a check cut short is made again on the
/// merchant's next request). The HTTPS client, trusting the system's roots and
/// `extra_roots`, is built for the first check: loading the system's roots
/// holds about 130 KiB, and most nodes never check a domain.
pub(crate) async fn run(node: Node, extra_roots: Vec<reqwest::Certificate>) {
    let mut https: Option<reqwest::Client> = None;
    let slots = Arc::new(Semaphore::new(MAX_CHECKS));
    let in_flight = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let mut checks = JoinSet::new();
    let mut events = node.subscribe();
    while let Some(event) = events.next().await {
        while checks.try_join_next().is_some() {}
        let Event::Committed {
            event: AuditEvent::RequestReceived { from, .. },
            ..
        } = event
        else {
            continue;
        };
        let reading = node.clone();
        let Ok(Ok(Some(domain))) =
            tokio::task::spawn_blocking(move || reading.domain_to_check(&from, system_now())).await
        else {
            continue;
        };
        let client = match &https {
            Some(client) => client.clone(),
            None => match client_trusting(&extra_roots) {
                Ok(client) => https.insert(client).clone(),
                Err(e) => {
                    tracing::warn!(%from, error = %e, "cannot check merchants' domains");
                    continue;
                }
            },
        };
        // One check per merchant at a time; a full set of slots drops this one
        // (the merchant's next request tries again).
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%from, "too many domain checks running; skipping one");
            continue;
        };
        if !in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(from)
        {
            continue;
        }
        let (node, in_flight) = (node.clone(), in_flight.clone());
        checks.spawn(async move {
            let outcome = check(&client, &domain, &from).await;
            if let Err(e) = &outcome {
                tracing::info!(%from, %domain, error = %e, "merchant's domain not verified");
            }
            let _ = tokio::task::spawn_blocking(move || {
                node.record_domain_check(&from, &domain, outcome.as_ref().map(|_| ()), system_now())
            })
            .await;
            in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&from);
            drop(slot);
        });
    }
}
