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

use crate::http::state::{ApiError, ApiState};

/// One SSE event per committed change, its JSON the [`Event`](crate::Event) and its
/// name the event's `kind`. Bounded with the page's live streams; ends when the
/// server shuts down.
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
