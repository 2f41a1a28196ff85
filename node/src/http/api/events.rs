//! The node's events as server-sent events: what a backend follows instead of
//! polling.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event as Sse, KeepAlive},
    },
};
use futures::StreamExt as _;

use crate::http::{
    state::{ApiError, ApiState},
    views::ErrorBody,
};

/// The node's events as server-sent events, one per committed change.
///
/// Each event's data is the JSON of an `Event`, its name the event's `kind`.
/// Bounded with the page's live streams; ends when the server shuts down.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    responses(
        (status = 200, description = "A stream of server-sent events: each event's `event:` line is its `kind`, its `data:` line this JSON.",
            body = crate::Event, content_type = "text/event-stream"),
        (status = 503, description = "Too many live streams are open (16 at most, the consent page's with them).", body = ErrorBody),
    )
)]
pub(super) async fn events(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (permit, closing) = state.web.live_stream().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live streams are open on this node; close some, then retry".into(),
        )
    })?;
    let stream = futures::stream::unfold(
        (state.passport.events(), closing, permit),
        |(mut events, mut closing, permit)| async move {
            if *closing.borrow() {
                return None;
            }
            let event = tokio::select! {
                event = events.next() => event?,
                _ = closing.changed() => return None,
            };
            let json = serde_json::to_value(&event).ok()?;
            let kind = json["kind"].as_str().unwrap_or("event").to_string();
            let sse = Sse::default().event(kind).data(json.to_string());
            Some((Ok::<_, Infallible>(sse), (events, closing, permit)))
        },
    );
    Ok(axum::response::sse::Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
