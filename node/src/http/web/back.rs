//! "From merchants": what merchants gave back (receipts, orders, warranties,
//! loyalty points), each deletable, and what each merchant says it holds about
//! the person, with a button to ask again.

use std::collections::{BTreeSet, HashMap};

use axum::{
    extract::{Path, State},
    response::Response,
};
use maud::{Markup, html};
use passport_protocol::{MessageId, PassportId, Timestamp};

use super::{
    done, failed, html,
    pages::{self, Chrome, Section},
    session::{Authed, Posted},
};
use crate::{
    data::DeliveredData, http::state::ApiState, human, node::system_now as now, person::Statement,
};

/// What the page shows, read in one hop.
struct Loaded {
    inbox: usize,
    delivered: Vec<DeliveredData>,
    /// Every merchant the person granted something, by id, with its name.
    merchants: Vec<(PassportId, String)>,
    statements: HashMap<PassportId, Statement>,
}

pub(super) async fn page(State(state): State<ApiState>, authed: Authed) -> Response {
    let loaded = state
        .passport
        .read(|node| {
            let ids: BTreeSet<PassportId> = node.grants()?.iter().map(|g| g.merchant).collect();
            let mut merchants = Vec::new();
            let mut statements = HashMap::new();
            for id in ids {
                let name = node
                    .merchant(&id)?
                    .map_or_else(|| id.fmt_short(), |m| m.name().to_string());
                merchants.push((id, name));
                if let Some(s) = node.access_statement(&id)? {
                    statements.insert(id, s);
                }
            }
            Ok(Loaded {
                inbox: node.inbox_len()?,
                delivered: node.delivered()?,
                merchants,
                statements,
            })
        })
        .await;
    match loaded {
        Ok(loaded) => html(render(&authed.chrome(&state, loaded.inbox), &loaded)),
        Err(e) => failed(e),
    }
}

/// Everything merchants delivered, as the JSON `GET /v1/data` answers, to save
/// as a file.
pub(super) async fn export(State(state): State<ApiState>, _authed: Authed) -> Response {
    use axum::{http::header, response::IntoResponse as _};
    match state.passport.delivered().await {
        Ok(all) => {
            let views: Vec<crate::http::views::DeliveredData> = all
                .iter()
                .map(crate::http::views::DeliveredData::from)
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"passport-delivered.json\"",
                    ),
                ],
                axum::Json(views),
            )
                .into_response()
        }
        Err(e) => failed(e),
    }
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let result = async {
        let id: MessageId = id
            .parse()
            .map_err(|e| format!("That id is not valid: {e}"))?;
        state
            .passport
            .delete_delivered(id)
            .await
            .map_err(|e| e.to_string())?;
        Ok("Deleted.".to_string())
    }
    .await;
    done(&state, &posted.authed, "/data", result)
}

pub(super) async fn ask(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let result = async {
        let merchant: PassportId = id
            .parse()
            .map_err(|e| format!("That merchant id is not valid: {e}"))?;
        match state
            .passport
            .request_access(merchant)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(s) => Ok(format!(
                "The merchant answered: it holds {} grant{} from you.",
                s.statement.grants.len(),
                if s.statement.grants.len() == 1 {
                    ""
                } else {
                    "s"
                }
            )),
            None => Ok(
                "The merchant's node is offline; its answer will show here when it comes.".into(),
            ),
        }
    }
    .await;
    done(&state, &posted.authed, "/data", result)
}

fn render(chrome: &Chrome, loaded: &Loaded) -> Markup {
    let body = html! {
        section {
            h2 { "What merchants gave back" }
            @if loaded.delivered.is_empty() {
                p.empty { "Nothing yet. Receipts, orders and warranties merchants send you appear here." }
            } @else {
                p { a href="/data.json" download="passport-delivered.json" { "Export all as JSON" } }
            }
            @for d in &loaded.delivered {
                article.delivered data-delivered=(d.id) {
                    h3 { (d.title) " " span.badge { (d.data_type.name()) } }
                    p.merchant-id { "from " code title=(d.from) { (d.from.fmt_short()) } " · " (human::time(d.received_at)) }
                    dl {
                        @for (k, v) in &d.items { dt { (k) } dd { (v) } }
                    }
                    form method="post" action=(format!("/data/{}/delete", d.id)) {
                        (pages::csrf(chrome))
                        button.link.deny type="submit" { "Delete" }
                    }
                }
            }
        }
        section {
            h2 { "What merchants hold about you" }
            @if loaded.merchants.is_empty() {
                p.empty { "You have not shared anything with a merchant yet." }
            }
            @for (id, name) in &loaded.merchants {
                article.access data-merchant=(id) {
                    h3 { (name) }
                    p.merchant-id { "id " code title=(id) { (id) } }
                    @match loaded.statements.get(id) {
                        Some(s) => (statement(s, now())),
                        None => p.hint { "You have not asked yet." },
                    }
                    form method="post" action=(format!("/merchants/{id}/access")) {
                        (pages::csrf(chrome))
                        button type="submit" { "Ask what they hold" }
                    }
                }
            }
        }
    };
    pages::layout(chrome, Section::Back, "From merchants", body)
}

fn statement(s: &Statement, now: Timestamp) -> Markup {
    html! {
        p { "They said on " (human::time(s.received_at)) " (signed) that they hold "
            strong { (s.statement.grants.len()) } " grant"
            @if s.statement.grants.len() != 1 { "s" } " from you:" }
        ul.held {
            @for g in &s.statement.grants {
                li {
                    strong { (g.fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")) }
                    " for " (g.purpose) " · " span.badge { (g.state.name()) }
                    " · received " (human::time(g.received_at))
                    @if g.state.name() == "live" { " · " (human::left(g.expires_at, now)) }
                    @if let Some(at) = g.erased_at { " · erased " (human::time(at)) " (" (g.erasure.name().replace('_', " ")) ")" }
                }
            }
        }
    }
}
