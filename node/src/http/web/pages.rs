//! The consent page's HTML, rendered on the server with maud (which escapes every
//! value). Every action is a plain form, so the page works without JavaScript.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use passport_protocol::{FieldName, FieldValue, PassportId, Timestamp};

use crate::http::state::Flash;
use crate::{
    audit::{AuditEntry, AuditReport},
    human,
    net::Status,
    person::{InboxItem, IssuedGrant},
    vault::{FieldRecord, Sensitivity},
};

/// What every page shows around its content.
pub(super) struct Chrome {
    pub(super) id: PassportId,
    pub(super) csrf: String,
    pub(super) changes: u64,
    pub(super) inbox: usize,
    pub(super) flash: Option<Flash>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Inbox,
    Grants,
    Fields,
    Back,
    Audit,
    Status,
}

const SECTIONS: [(Section, &str, &str); 6] = [
    (Section::Inbox, "/", "Inbox"),
    (Section::Grants, "/grants", "Grants"),
    (Section::Fields, "/fields", "My data"),
    (Section::Back, "/data", "From merchants"),
    (Section::Audit, "/audit", "Audit log"),
    (Section::Status, "/status", "Node"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · Passport" }
            link rel="stylesheet" href="/assets/app.css";
            script src="/assets/app.js" defer {}
        }
    }
}

pub(super) fn csrf(chrome: &Chrome) -> Markup {
    html! { input type="hidden" name="csrf" value=(chrome.csrf); }
}

pub(super) fn layout(chrome: &Chrome, section: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-changes=(chrome.changes) {
                header.top {
                    div.brand {
                        span.logo aria-hidden="true" { "◆" }
                        " Passport "
                        code.id title=(chrome.id) { (chrome.id.fmt_short()) }
                    }
                    nav aria-label="Sections" {
                        @for (s, href, label) in SECTIONS {
                            a href=(href) aria-current=[(s == section).then_some("page")] {
                                (label)
                                @if s == Section::Inbox && chrome.inbox > 0 {
                                    " "
                                    span.count aria-label=(format!("{} waiting", chrome.inbox)) { (chrome.inbox) }
                                }
                            }
                        }
                    }
                    form.logout method="post" action="/logout" {
                        (csrf(chrome))
                        button.link type="submit" { "Log out" }
                    }
                }
                div #flash role="status" aria-live="polite" {
                    @if let Some(flash) = &chrome.flash {
                        p class=(if flash.ok { "flash ok" } else { "flash error" }) { (flash.text) }
                    }
                }
                p #live hidden { "Live: this page updates by itself." }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The login form. `nonce` pairs it with its cookie.
pub(super) fn login(nonce: &str, passphrase: bool, error: Option<&str>, id: &PassportId) -> Markup {
    let label = if passphrase {
        "Passphrase or token"
    } else {
        "Token"
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Log in"))
            body.login {
                main #main {
                    h1 { "Log in to Passport" }
                    p { "Passport " code.id title=(id) { (id.fmt_short()) } " on this node." }
                    @if let Some(error) = error {
                        p.flash.error role="alert" { (error) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="csrf" value=(nonce);
                        label for="secret" { (label) }
                        input #secret type="password" name="secret" autocomplete="current-password" required autofocus;
                        p.hint {
                            "The token is in the file " code { "api.token" } " in your passport's folder"
                            @if passphrase { "; or use the passphrase you unlock your passport with" }
                            "."
                        }
                        button.primary type="submit" { "Log in" }
                    }
                }
            }
        }
    }
}

/// A page that says what went wrong, for refused or failed requests.
pub(super) fn problem(status: StatusCode, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Problem"))
            body.login {
                main #main {
                    h1 { "Not done" }
                    p.flash.error role="alert" { (message) }
                    p.hint { "(" (status.as_u16()) ") " a href="/" { "Back to Passport" } }
                }
            }
        }
    }
}

fn merchant_name(name: &str, petname: bool, verified_by: Option<String>) -> Markup {
    html! {
        span.merchant { (name) }
        @if !petname {
            @if let Some(by) = verified_by {
                " " span.badge.verified title="Someone you trust vouches for this name." { "verified by " (by) }
            } @else {
                " " span.badge title="Merchants name themselves; no one you trust vouches for this name. The id below is what identifies them." { "unverified name" }
            }
        }
    }
}

/// Pending requests, each answerable with one tap.
pub(super) fn inbox(
    chrome: &Chrome,
    items: &[InboxItem],
    held: &BTreeSet<FieldName>,
    now: Timestamp,
) -> Markup {
    let body = html! {
        @if items.is_empty() {
            p.empty { "No requests are waiting. New ones appear here as they arrive." }
        }
        @for item in items {
            (request_card(chrome, item, held, now))
        }
    };
    layout(chrome, Section::Inbox, "Inbox", body)
}

fn request_card(
    chrome: &Chrome,
    item: &InboxItem,
    held: &BTreeSet<FieldName>,
    now: Timestamp,
) -> Markup {
    let request = &item.request;
    let id = item.pending.request_id.to_string();
    let name = item.merchant.name();
    let asked = request
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let choices = [1u64, 7, 30, 90, 365]
        .into_iter()
        .map(|d| d * 86_400)
        .filter(|d| *d < request.duration_secs);
    html! {
        article.request aria-labelledby=(format!("r-{id}")) data-request=(id) {
            h2 #(format!("r-{id}")) {
                (merchant_name(name, item.merchant.petname.is_some(), item.merchant.verified_by()))
                @if item.pending.first_contact { " " span.badge.new { "first contact" } }
            }
            p.merchant-id { "id " code title=(item.pending.merchant) { (item.pending.merchant) } }
            p.sentence {
                "asks for " strong { (asked) } " for " strong { (request.purpose) }
                ", for " (human::duration(request.duration_secs))
                @if let Some(offer) = &request.offer { ", offering " strong.offer { (offer.text) } }
                "."
            }
            form method="post" action=(format!("/inbox/{id}/decide")) {
                (csrf(chrome))
                fieldset {
                    legend { "Share" }
                    @for field in &request.fields {
                        @let have = held.contains(&field.name);
                        label.field {
                            input type="checkbox" name="field" value=(field.name) checked[have] disabled[!have];
                            span {
                                strong { (field.name) }
                                @if !field.required { " " span.badge { "optional" } }
                                @if !field.reason.is_empty() { br; span.reason { (field.reason) } }
                                @if !have { br; span.reason.missing { "You have no value for this field." } }
                                @if let Some(attested) = item.attestations.get(&field.name) {
                                    br;
                                    @match attested {
                                        Some(issuer) => span.reason.attested { "Goes attested by " code title=(issuer) { (issuer.fmt_short()) } "." },
                                        None => span.reason.missing { "Asked attested; you hold no attestation by the issuers it names, so it would go unattested." },
                                    }
                                }
                            }
                        }
                    }
                }
                p.terms {
                    label {
                        "For "
                        select name="duration" {
                            option value=(request.duration_secs) selected { (human::duration(request.duration_secs)) " (asked)" }
                            @for d in choices { option value=(d) { (human::duration(d)) } }
                        }
                    }
                    @if request.retention_secs > 0 {
                        " · may keep data " (human::duration(request.retention_secs)) " after"
                    }
                    " · answer within " (human::left(item.pending.expires_at, now).trim_end_matches(" left"))
                }
                div.actions {
                    button.primary type="submit" name="action" value="once" { "Allow once" }
                    button type="submit" name="action" value="always" { "Always allow " (name) }
                    button.deny type="submit" name="action" value="deny" { "Deny" }
                }
            }
        }
    }
}

/// Grants issued: what each merchant holds, for how long, and a revoke button.
pub(super) fn grants(
    chrome: &Chrome,
    grants: &[IssuedGrant],
    names: &HashMap<PassportId, String>,
    now: Timestamp,
) -> Markup {
    let body = html! {
        @if grants.is_empty() {
            p.empty { "You have not shared anything yet." }
        }
        @for g in grants {
            @let live = g.is_live(now);
            article.grant data-grant=(g.grant_id) {
                h2 {
                    span.merchant { (names.get(&g.merchant).map_or("A merchant", String::as_str)) }
                    " "
                    @if live { span.badge.live { "live" } }
                    @else if g.revoked_at.is_some() { span.badge { "revoked" } }
                    @else { span.badge { "ended" } }
                }
                p.merchant-id { "id " code title=(g.merchant) { (g.merchant) } }
                p { "Fields: " strong { (g.fields.iter().map(FieldName::as_str).collect::<Vec<_>>().join(", ")) } }
                p { "Purpose: " (g.terms.purpose) }
                p.when {
                    "Shared " (human::time(g.issued_at))
                    @if live { " · " strong.left { (human::left(g.expires_at, now)) } }
                    @if let Some(at) = g.revoked_at { " · revoked " (human::time(at)) }
                }
                @if g.revoked_at.is_some() {
                    p.receipt {
                        @if let Some(receipt) = g.receipt { "✓ Deletion receipt received (" code { (receipt) } ")" }
                        @else { "Waiting for the merchant's deletion receipt." }
                    }
                }
                @if live {
                    form method="post" action=(format!("/grants/{}/revoke", g.grant_id)) {
                        (csrf(chrome))
                        button.deny type="submit" { "Revoke" }
                    }
                }
            }
        }
    };
    layout(chrome, Section::Grants, "Grants", body)
}

/// The audit log, newest first, with the result of checking its hash chain.
pub(super) fn audit(chrome: &Chrome, entries: &[AuditEntry], report: &AuditReport) -> Markup {
    let body = html! {
        @if report.is_intact() {
            p.flash.ok { "Intact: " (report.entries) " entries, hash chain verified." }
        } @else {
            p.flash.error role="alert" {
                "The audit log was tampered with: "
                (report.problems.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join("; "))
            }
        }
        ol.audit reversed {
            @for e in entries.iter().rev() {
                li value=(e.seq + 1) {
                    time { (human::time(e.at)) }
                    " "
                    span.event data-event=(event_name(e)) { (e.event.describe()) }
                }
            }
        }
    };
    layout(chrome, Section::Audit, "Audit log", body)
}

fn event_name(entry: &AuditEntry) -> String {
    serde_json::to_value(&entry.event)
        .ok()
        .and_then(|v| v["event"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn kind(value: &FieldValue) -> (&'static str, String) {
    match value {
        FieldValue::Text(t) => ("text", t.clone()),
        FieldValue::Date(d) => ("date", d.to_string()),
        FieldValue::Structured(parts) => (
            "parts",
            parts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

fn value_input(kind: &str, value: &str, id: &str) -> Markup {
    html! {
        @match kind {
            "date" => input id=(id) type="date" name="value" value=(value) required;,
            "parts" => textarea id=(id) name="value" rows="3" required { (value) },
            _ => input id=(id) type="text" name="value" value=(value) required;,
        }
    }
}

/// The person's own fields: view, edit, remove, add.
pub(super) fn fields(chrome: &Chrome, fields: &[(FieldName, FieldRecord)]) -> Markup {
    let body = html! {
        p.hint { "Stored encrypted on this node. A change is sent to every merchant holding a live grant for that field." }
        @for (name, record) in fields {
            @let (kind, text) = kind(&record.value);
            @let input_id = format!("v-{name}");
            article.field-card {
                form method="post" action="/fields" {
                    (csrf(chrome))
                    input type="hidden" name="name" value=(name);
                    input type="hidden" name="kind" value=(kind);
                    label for=(input_id) {
                        strong { (name) }
                        @if record.sensitivity == Sensitivity::Sensitive { " " span.badge { "sensitive" } }
                        @for tag in &record.tags { " " span.badge.tag { (tag) } }
                        @for a in &record.attestations {
                            " " span.badge.verified title=(format!("attested by {} until {}; changing the value drops it", a.issuer, human::time(a.expires_at))) { "attested by " (a.issuer.fmt_short()) }
                        }
                    }
                    (value_input(kind, &text, &input_id))
                    div.actions { button type="submit" { "Save" } }
                }
                form method="post" action=(format!("/fields/{name}/delete")) {
                    (csrf(chrome))
                    button.link.deny type="submit" aria-label=(format!("Remove {name}")) { "Remove" }
                }
            }
        }
        section.add {
            h2 { "Add a field" }
            form method="post" action="/fields" {
                (csrf(chrome))
                label for="new-name" { "Name" }
                input #new-name type="text" name="name" placeholder="e.g. phone.mobile" required;
                label for="new-kind" { "Kind" }
                select #new-kind name="kind" {
                    option value="text" selected { "Text" }
                    option value="date" { "Date (YYYY-MM-DD)" }
                    option value="parts" { "Parts (name=value, one per line)" }
                }
                label for="new-value" { "Value" }
                textarea #new-value name="value" rows="2" required {}
                div.actions { button.primary type="submit" { "Add" } }
            }
        }
    };
    layout(chrome, Section::Fields, "My data", body)
}

/// The node's network status.
pub(super) fn status(chrome: &Chrome, net: Option<&Status>, page: &str) -> Markup {
    let body = html! {
        dl.status {
            dt { "Passport id" } dd { code { (chrome.id) } }
            dt { "This page" } dd { code { (page) } }
            @if let Some(net) = net {
                dt { "Peer id" } dd { code { (net.peer_id) } }
                dt { "Reachability" } dd { (net.reachability.name()) }
                dt { "Peers" } dd { (net.connected_peers) " connected, " (net.routing_table_size) " in the routing table" }
                dt { "Record" } dd { @if net.published { "published in the DHT" } @else { "not yet published" } }
                dt { "Listening on" } dd { @for a in &net.listen_addrs { code { (a) } br; } }
                @if !net.relay_addrs.is_empty() {
                    dt { "Via relay" } dd { @for a in &net.relay_addrs { code { (a) } br; } }
                }
                dt { "Refused" } dd { (net.rejected_records) " forged records, " (net.throttled) " throttled requests" }
            } @else {
                dt { "Network" } dd { "not running" }
            }
        }
    };
    layout(chrome, Section::Status, "Node", body)
}
