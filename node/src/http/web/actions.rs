//! The pages and the forms on them: inbox and answers, grants and revocation, the
//! audit log, fields, status, and the live-update stream.

use std::{collections::HashMap, convert::Infallible};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::StreamExt as _;
use passport_protocol::{Date, FieldName, FieldValue, GrantId, MessageId};

use super::{
    done, failed, html, pages, problem,
    session::{Authed, Posted, value},
};
use crate::{
    http::state::{ApiState, now},
    node::Node,
    person::Approval,
};

pub(super) async fn inbox(State(state): State<ApiState>, authed: Authed) -> Response {
    let loaded = state
        .passport
        .read(|node| {
            let items = node.inbox()?;
            let held = node
                .fields()?
                .into_iter()
                .map(|(name, _)| name)
                .collect::<std::collections::BTreeSet<_>>();
            Ok((items, held))
        })
        .await;
    match loaded {
        Ok((items, held)) => {
            let chrome = authed.chrome(&state, items.len());
            html(pages::inbox(&chrome, &items, &held, now()))
        }
        Err(e) => failed(e),
    }
}

pub(super) async fn decide(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let result = decide_inner(&state, &id, &posted.form).await;
    done(&state, &posted.authed, "/", result)
}

async fn decide_inner(
    state: &ApiState,
    id: &str,
    form: &[(String, String)],
) -> Result<String, String> {
    let id: MessageId = id
        .parse()
        .map_err(|e| format!("That request id is not valid: {e}"))?;
    let item = state
        .passport
        .inbox()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|i| i.pending.request_id == id)
        .ok_or("That request is no longer waiting: it was answered elsewhere, or it expired.")?;
    let merchant = item.merchant.name().to_string();
    let action = value(form, "action").unwrap_or_default();
    let (sending, text) = match action {
        "once" | "always" => {
            let only = form
                .iter()
                .filter(|(k, _)| k == "field")
                .map(|(_, v)| v.parse::<FieldName>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("A field name in the form is not valid: {e}"))?;
            if only.is_empty() {
                return Err("Choose at least one field to share, or deny the request.".into());
            }
            let duration_secs = match value(form, "duration") {
                Some(d) => Some(
                    d.parse::<u64>()
                        .map_err(|_| "The duration in the form is not a number of seconds.")?,
                ),
                None => None,
            };
            let granted = duration_secs.map_or(item.request.duration_secs, |d| {
                d.min(item.request.duration_secs)
            });
            let always = action == "always";
            let names = only
                .iter()
                .map(FieldName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let approval = Approval {
                only: Some(only),
                duration_secs,
                always,
            };
            let sending = state
                .passport
                .approve(id, approval)
                .await
                .map_err(|e| e.to_string())?;
            let text = format!(
                "Shared {names} with {merchant} for {}.{}",
                crate::human::duration(granted),
                if always {
                    format!(" {merchant} will not need to ask again for these fields.")
                } else {
                    String::new()
                }
            );
            (sending, text)
        }
        "deny" => {
            let reason = value(form, "reason").unwrap_or_default().to_string();
            let sending = state
                .passport
                .deny(id, reason)
                .await
                .map_err(|e| e.to_string())?;
            (sending, format!("Denied {merchant}'s request."))
        }
        other => {
            return Err(format!(
                "Unknown answer {other:?}: use the buttons on the page."
            ));
        }
    };
    // On its way in the background; the outbox keeps it until delivered.
    drop(sending);
    Ok(text)
}

pub(super) async fn grants(State(state): State<ApiState>, authed: Authed) -> Response {
    let loaded = state
        .passport
        .read(|node| {
            let grants = node.grants()?;
            let mut names = HashMap::new();
            for g in &grants {
                if let Some(m) = node.merchant(&g.merchant)? {
                    names.insert(g.merchant, m.name().to_string());
                }
            }
            Ok((node.inbox_len()?, grants, names))
        })
        .await;
    match loaded {
        Ok((inbox, grants, names)) => html(pages::grants(
            &authed.chrome(&state, inbox),
            &grants,
            &names,
            now(),
        )),
        Err(e) => failed(e),
    }
}

pub(super) async fn revoke(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let result = async {
        let id: GrantId = id
            .parse()
            .map_err(|e| format!("That grant id is not valid: {e}"))?;
        state
            .passport
            .revoke(id)
            .await
            .map_err(|e| e.to_string())?;
        Ok("Revoked. The merchant is told to erase what it holds; its signed deletion receipt will appear in the audit log.".to_string())
    }
    .await;
    done(&state, &posted.authed, "/grants", result)
}

pub(super) async fn audit(State(state): State<ApiState>, authed: Authed) -> Response {
    let loaded = state.passport.read(|node| {
        Ok((
            node.inbox_len()?,
            node.audit_entries()?,
            node.verify_audit()?,
        ))
    });
    match loaded.await {
        Ok((inbox, entries, report)) => html(pages::audit(
            &authed.chrome(&state, inbox),
            &entries,
            &report,
        )),
        Err(e) => failed(e),
    }
}

pub(super) async fn fields(State(state): State<ApiState>, authed: Authed) -> Response {
    match state
        .passport
        .read(|node| Ok((node.inbox_len()?, node.fields()?)))
        .await
    {
        Ok((inbox, fields)) => html(pages::fields(&authed.chrome(&state, inbox), &fields)),
        Err(e) => failed(e),
    }
}

/// A field's value from the form: `kind` is `text`, `date` or `parts` (one
/// `key=value` per line).
fn field_value(form: &[(String, String)]) -> Result<FieldValue, String> {
    let text = value(form, "value").unwrap_or_default().trim();
    match value(form, "kind").unwrap_or("text") {
        "text" if text.is_empty() => Err("Enter a value.".into()),
        "text" => Ok(FieldValue::Text(text.to_string())),
        "date" => text
            .parse::<Date>()
            .map(FieldValue::Date)
            .map_err(|e| format!("That date is not valid ({e}); use YYYY-MM-DD.")),
        "parts" => {
            let mut parts = std::collections::BTreeMap::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (key, part) = line.split_once('=').ok_or_else(|| {
                    format!("Write each part as name=value, one per line ({line:?} has no '=').")
                })?;
                parts.insert(key.trim().to_string(), part.trim().to_string());
            }
            if parts.is_empty() {
                return Err("Enter at least one part, as name=value.".into());
            }
            Ok(FieldValue::Structured(parts))
        }
        other => Err(format!("Unknown kind of value {other:?}.")),
    }
}

pub(super) async fn set_field(State(state): State<ApiState>, posted: Posted) -> Response {
    let form = &posted.form;
    let result = async {
        let name: FieldName = value(form, "name")
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|e| format!("That field name is not valid: {e}"))?;
        let field = field_value(form)?;
        let shown = name.clone();
        let pushed = state
            .passport
            .set_field(name, field)
            .await
            .map_err(|e| e.to_string())?
            .len();
        Ok(match pushed {
            0 => format!("Saved {shown}."),
            n => format!("Saved {shown}, and sent the new value to the {n} merchant(s) holding a live grant for it."),
        })
    }
    .await;
    done(&state, &posted.authed, "/fields", result)
}

pub(super) async fn delete_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Response {
    let result = async {
        let name: FieldName = name
            .parse()
            .map_err(|e| format!("That field name is not valid: {e}"))?;
        let shown = name.clone();
        state
            .passport
            .remove_field(name)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("Removed {shown}."))
    }
    .await;
    done(&state, &posted.authed, "/fields", result)
}

pub(super) async fn status(State(state): State<ApiState>, authed: Authed) -> Response {
    let inbox = match state.passport.read(Node::inbox_len).await {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let net = match state.passport.client() {
        Some(client) => client.status().await.ok(),
        None => None,
    };
    html(pages::status(
        &authed.chrome(&state, inbox),
        net.as_ref(),
        &state.page_url(),
    ))
}

/// Where a page's live stream starts.
#[derive(serde::Deserialize)]
pub(super) struct Since {
    /// The change counter the page was rendered at.
    since: Option<u64>,
}

/// Server-sent events: `change` whenever the store commits something (or this
/// stream fell behind the node's events), and at once if something changed since
/// the page's `since`. Ends with the session, or when the server shuts down.
pub(super) async fn events(
    State(state): State<ApiState>,
    authed: Authed,
    axum::extract::Query(Since { since }): axum::extract::Query<Since>,
) -> Response {
    let Some((permit, closing)) = state.web.live_stream() else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many pages are open on this node; close some, then reload.",
        );
    };
    // Subscribed before reading the count, so nothing committed in between is missed.
    let changes = state.passport.events();
    let node = state.passport.node().clone();
    let stale = since.is_some_and(|since| since != node.commits());
    let until = tokio::time::Instant::from_std(authed.expires);
    let stream = futures::stream::unfold(
        (changes, closing, permit, stale),
        move |(mut changes, mut closing, permit, stale)| {
            let node = node.clone();
            async move {
                if *closing.borrow() {
                    return None;
                }
                if !stale {
                    tokio::select! {
                        changed = changes.next() => changed?,
                        _ = closing.changed() => return None,
                        () = tokio::time::sleep_until(until) => return None,
                    };
                }
                let count = node.commits();
                let event = Event::default().event("change").data(count.to_string());
                Some((
                    Ok::<_, Infallible>(event),
                    (changes, closing, permit, false),
                ))
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_come_from_the_form_in_three_kinds() {
        let form = |kind: &str, v: &str| {
            vec![
                ("kind".to_string(), kind.to_string()),
                ("value".to_string(), v.to_string()),
            ]
        };
        assert_eq!(
            field_value(&form("text", " Ada ")),
            Ok(FieldValue::Text("Ada".into()))
        );
        assert!(matches!(
            field_value(&form("date", "1815-12-10")),
            Ok(FieldValue::Date(_))
        ));
        let parts =
            field_value(&form("parts", "city=Lyon\n\nstreet = 12 Rue des Lilas\n")).unwrap();
        assert_eq!(parts.to_string(), "city: Lyon, street: 12 Rue des Lilas");
        assert!(
            field_value(&form("text", "  "))
                .unwrap_err()
                .contains("Enter a value")
        );
        assert!(
            field_value(&form("date", "10/12/1815"))
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            field_value(&form("parts", "city"))
                .unwrap_err()
                .contains("name=value")
        );
    }
}
