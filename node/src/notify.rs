//! Notifications: when a request needs the person, tell a device with an HTTP POST
//! (an ntfy-style push service, or any webhook), so a person whose node runs on a
//! home server hears of it on their phone.
//!
//! A notification carries no personal data: the merchant's name as the person
//! sees it and how many fields it asks for ("Brand X asks for 3 fields"), the
//! request's id and when. It is best effort: tried three times, then given up with
//! a warning (the request waits in the inbox whatever happens to it).

use std::time::Duration;

use futures::StreamExt as _;
use passport_protocol::{MessageId, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{audit::AuditEvent, events::Event, metrics::Metrics, node::Node};

/// Notifications waiting to be sent at once; more are dropped with a warning.
const QUEUE: usize = 64;

/// Waits before the second and third attempt.
const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(10)];

/// The `[notify]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Where to POST when a request needs the person: an `http://` or `https://`
    /// URL, e.g. an ntfy topic (`https://ntfy.sh/my-secret-topic`) or any webhook.
    /// Default: none (no notifications).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The body: `"text"`, one line of plain text with a `Title` header (what ntfy
    /// and most push services take), or `"json"` (type, request id, merchant,
    /// field count, the line, time). Default `"text"`.
    pub format: NotifyFormat,
    /// A bearer token sent as `Authorization: Bearer …` (an ntfy access token, say).
    /// Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The body of a notification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// One line of plain text, with a `Title` header.
    #[default]
    Text,
    /// A JSON object.
    Json,
}

impl NotifySettings {
    /// Checks the settings; the message says which key to fix.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.url {
            let parsed =
                reqwest::Url::parse(url).map_err(|e| format!("`url` {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("`url` {url:?} must start with http:// or https://"));
            }
        }
        Ok(())
    }
}

/// One notification: what the person's device is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Always `"request.pending"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request waiting.
    pub request_id: MessageId,
    /// The merchant as the person names it (a petname, else its declared name).
    pub merchant: String,
    /// How many fields it asks for.
    pub fields: usize,
    /// The line shown: "Brand X asks for 3 fields".
    pub text: String,
    /// When the request arrived.
    pub at: Timestamp,
}

/// The notification for pending request `request`, if it is still in the inbox.
fn pending(node: &Node, request: MessageId) -> Option<Notification> {
    let item = node.inbox_item(&request).ok()??;
    let merchant = item.merchant.name().to_string();
    let fields = item.request.fields.len();
    let plural = if fields == 1 { "" } else { "s" };
    Some(Notification {
        kind: "request.pending",
        request_id: request,
        text: format!("{merchant} asks for {fields} field{plural}"),
        merchant,
        fields,
        at: item.pending.received_at,
    })
}

/// Follows `node`'s events and notifies `settings.url` of each request left for
/// the person. Runs until the node is dropped.
pub(crate) async fn run(node: Node, settings: NotifySettings, metrics: Metrics) {
    let Some(url) = settings.url.clone() else {
        return;
    };
    let agent = concat!("passport-notify/", env!("CARGO_PKG_VERSION"));
    let client = match crate::webhook::dispatch::outbound_client(agent) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(error = %e, "notifications are off: no HTTP client");
            return;
        }
    };
    let (queue, mut queued) = mpsc::channel::<Notification>(QUEUE);
    let counting = metrics.clone();
    let sending = tokio::spawn(async move {
        while let Some(notification) = queued.recv().await {
            let outcome = send(&client, &url, &settings, &notification).await;
            counting.notification(outcome);
        }
    });
    let mut events = node.subscribe();
    while let Some(event) = events.next().await {
        let Event::Committed {
            event: AuditEvent::RequestReceived { request, .. },
            ..
        } = event
        else {
            continue;
        };
        let reading = node.clone();
        let Ok(Some(notification)) =
            tokio::task::spawn_blocking(move || pending(&reading, request)).await
        else {
            // Decided by a policy, or gone already: nothing needs the person.
            continue;
        };
        if queue.try_send(notification).is_err() {
            tracing::warn!(%request, "too many notifications waiting; this one is dropped");
            metrics.notification("dropped");
        }
    }
    drop(queue);
    let _ = sending.await;
}

/// Sends one notification, trying up to three times; returns the outcome's name.
async fn send(
    client: &reqwest::Client,
    url: &str,
    settings: &NotifySettings,
    notification: &Notification,
) -> &'static str {
    for attempt in 0..=RETRY_AFTER.len() {
        let mut post = client.post(url);
        post = match settings.format {
            NotifyFormat::Text => post
                .header("Title", "Passport")
                .header("Tags", "passport")
                .header("content-type", "text/plain; charset=utf-8")
                .body(notification.text.clone()),
            NotifyFormat::Json => post.json(notification),
        };
        if let Some(token) = &settings.token {
            post = post.bearer_auth(token);
        }
        match post.send().await {
            Ok(response) if response.status().is_success() => return "sent",
            Ok(response) => tracing::info!(
                status = %response.status(),
                "the notification endpoint refused a notification"
            ),
            Err(e) => tracing::info!(error = %e, "the notification endpoint could not be reached"),
        }
        if let Some(wait) = RETRY_AFTER.get(attempt) {
            tokio::time::sleep(*wait).await;
        }
    }
    tracing::warn!(
        request = %notification.request_id,
        "giving up a notification after three attempts (the request waits in the inbox)"
    );
    "failed"
}
