//! Which token reaches which route: [`ROUTES`], the one table of (method, route
//! pattern) → the scopes allowed besides the full token, which the bearer guard
//! reads with the pattern axum matched. A route missing from the table is the full
//! token's alone, and so is token management. `docs/API.md` ("Tokens and scopes")
//! shows the same table; the tests below keep the three (routes, table, docs) in
//! step.

use axum::http::Method;

use crate::tokens::Scope::{self, Merchant as M, Person as P, Read as R};

/// (method, route pattern, scopes allowed besides [`Scope::Full`]). `HEAD` is
/// looked up as `GET`.
///
/// - `person`: the person's routes and every read (not token management);
/// - `merchant`: a shop backend's routes, and the node's status, events, audit
///   log, messages and peers;
/// - `read`: the reads that return no personal values (so not the fields, nor a
///   received grant's values).
pub const ROUTES: &[(&str, &str, &[Scope])] = &[
    ("GET", "/v1/status", &[P, M, R]),
    ("GET", "/v1/peers", &[P, M, R]),
    ("GET", "/metrics", &[P, M, R]),
    ("GET", "/v1/events", &[P, M, R]),
    ("GET", "/v1/audit", &[P, M, R]),
    ("GET", "/v1/audit/verify", &[P, M, R]),
    ("GET", "/v1/messages/{id}", &[P, M, R]),
    // The person's side.
    ("GET", "/v1/fields", &[P]),
    ("GET", "/v1/fields/{name}", &[P]),
    ("PUT", "/v1/fields/{name}", &[P]),
    ("DELETE", "/v1/fields/{name}", &[P]),
    ("PUT", "/v1/fields/{name}/tags", &[P]),
    ("GET", "/v1/inbox", &[P, R]),
    ("POST", "/v1/inbox/{id}/approve", &[P]),
    ("POST", "/v1/inbox/{id}/deny", &[P]),
    ("GET", "/v1/grants", &[P, R]),
    ("POST", "/v1/grants/{id}/revoke", &[P]),
    ("POST", "/v1/merchants/{id}/erase", &[P]),
    ("GET", "/v1/policies", &[P, R]),
    ("POST", "/v1/policies", &[P]),
    ("DELETE", "/v1/policies/{id}", &[P]),
    ("GET", "/v1/devices", &[P, R]),
    ("DELETE", "/v1/devices/{id}", &[P]),
    ("GET", "/v1/data", &[P]),
    ("POST", "/v1/merchants/{id}/access", &[P]),
    ("GET", "/v1/merchants/{id}/access", &[P, R]),
    ("DELETE", "/v1/data/{id}", &[P]),
    // The merchant's side.
    ("POST", "/v1/requests", &[M]),
    ("GET", "/v1/requests", &[P, M, R]),
    ("GET", "/v1/requests/{id}", &[P, M, R]),
    ("GET", "/v1/received", &[P, M, R]),
    ("GET", "/v1/received/{id}/values", &[P, M]),
    ("POST", "/v1/received/{id}/fetch", &[M]),
    ("POST", "/v1/grants/{id}/erased", &[M]),
    ("GET", "/v1/grants/{id}/proof", &[P, M, R]),
    ("GET", "/v1/erasures", &[P, M, R]),
    ("GET", "/v1/outbox", &[P, M, R]),
    ("GET", "/v1/webhooks", &[P, M, R]),
    ("POST", "/v1/webhooks", &[M]),
    ("DELETE", "/v1/webhooks/{id}", &[M]),
    ("POST", "/v1/webhooks/{id}/test", &[M]),
    ("GET", "/v1/webhooks/log", &[P, M, R]),
    ("POST", "/v1/attestations", &[M]),
    ("POST", "/v1/deliveries", &[M]),
    // Token management: the full token only.
    ("GET", "/v1/tokens", &[]),
    ("POST", "/v1/tokens", &[]),
    ("DELETE", "/v1/tokens/{id}", &[]),
    // A backup holds the keys, a pairing code makes a device: the full token only.
    ("POST", "/v1/backup", &[]),
    ("POST", "/v1/devices/code", &[]),
];

/// The scopes besides the full token that may call `method pattern`.
pub(crate) fn allowed(method: &Method, pattern: &str) -> &'static [Scope] {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == pattern)
        .map_or(&[], |(_, _, scopes)| scopes)
}

/// Why a token of `scope` may not call `method pattern`, or `None` if it may.
pub(crate) fn refusal(scope: Scope, method: &Method, pattern: &str) -> Option<String> {
    let allowed = allowed(method, pattern);
    if scope == Scope::Full || allowed.contains(&scope) {
        return None;
    }
    let needed = if allowed.is_empty() {
        "the full token (<home>/api.token)".to_string()
    } else {
        let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
        format!(
            "a token of scope {} or the full token (<home>/api.token)",
            names.join(" or ")
        )
    };
    Some(format!(
        "forbidden: {method} {pattern} needs {needed}; this token's scope is {scope}"
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::StatusCode;

    use super::*;
    use crate::{Node, NodeConfig, Passport, http::ApiState};

    /// Routes of the table not served yet (none now); once one is,
    /// `every_pattern_of_the_table_is_a_route` says to take it out of this list.
    const AWAITED: &[(&str, &str)] = &[];

    /// Every `(method, pattern)` behind the token, read from the OpenAPI document,
    /// which `api::routes()` makes from the same calls that serve the routes.
    fn declared_routes() -> BTreeSet<(String, String)> {
        let document: serde_json::Value =
            serde_json::from_str(&crate::http::openapi_json()).unwrap();
        let mut routes = BTreeSet::new();
        for (pattern, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                // The routes open without a token are not the table's.
                if operation.get("security").is_none() {
                    continue;
                }
                routes.insert((method.to_uppercase(), pattern.clone()));
            }
        }
        routes
    }

    #[test]
    fn every_route_is_in_the_table() {
        let declared = declared_routes();
        assert!(declared.len() > 20, "{declared:?}");
        assert!(declared.contains(&("PUT".into(), "/v1/fields/{name}".into())));
        for (method, pattern) in &declared {
            assert!(
                ROUTES.iter().any(|(m, p, _)| m == method && p == pattern),
                "{method} {pattern} is served but missing from http::scopes::ROUTES: add it (and to docs/API.md)"
            );
        }
    }

    #[tokio::test]
    async fn every_pattern_of_the_table_is_a_route() {
        use tower::ServiceExt as _;
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let state = ApiState::from_parts(Passport::offline(node), "t", vec!["h".into()], 0);
        let router = super::super::router(state);
        let mut seen = BTreeSet::new();
        for (method, pattern, _) in ROUTES {
            assert!(seen.insert((method, pattern)), "{method} {pattern} twice");
            let request = axum::http::Request::builder()
                .method(*method)
                .uri(pattern.replace(['{', '}'], ""))
                .header("host", "h")
                .header("authorization", "Bearer t")
                .body(axum::body::Body::empty())
                .unwrap();
            let Ok(response) = router.clone().oneshot(request).await;
            let status = response.status();
            // Only the fallback's 404 is read: a route may answer a stream.
            let unknown = status == StatusCode::NOT_FOUND && {
                let body = axum::body::to_bytes(response.into_body(), 4096)
                    .await
                    .unwrap();
                String::from_utf8_lossy(&body).contains("no such endpoint")
            };
            let served = status != StatusCode::METHOD_NOT_ALLOWED && !unknown;
            if AWAITED.contains(&(method, pattern)) {
                assert!(
                    !served,
                    "{method} {pattern} is served now: take it out of AWAITED"
                );
            } else {
                assert!(
                    served,
                    "{method} {pattern} is in the table but not served ({status})"
                );
            }
        }
    }

    #[test]
    fn the_api_guide_shows_the_table() {
        let guide = include_str!("../../../docs/API.md");
        for (method, pattern, scopes) in ROUTES {
            let mark = |s| if scopes.contains(&s) { "yes" } else { "no" };
            let row = format!(
                "| {method} | `{pattern}` | yes | {} | {} | {} |",
                mark(P),
                mark(M),
                mark(R)
            );
            assert!(
                guide.contains(&row),
                "docs/API.md lacks the row\n{row}\nin \"Tokens and scopes\""
            );
        }
    }

    #[test]
    fn a_refusal_names_the_scope_needed_and_the_tokens() {
        let post = Method::POST;
        assert_eq!(refusal(M, &post, "/v1/requests"), None);
        assert_eq!(refusal(Scope::Full, &post, "/v1/tokens"), None);
        assert_eq!(
            refusal(M, &post, "/v1/inbox/{id}/approve").unwrap(),
            "forbidden: POST /v1/inbox/{id}/approve needs a token of scope person or the full token (<home>/api.token); this token's scope is merchant"
        );
        assert_eq!(
            refusal(P, &Method::GET, "/v1/tokens").unwrap(),
            "forbidden: GET /v1/tokens needs the full token (<home>/api.token); this token's scope is person"
        );
        // HEAD is GET; a route not in the table is the full token's.
        assert_eq!(refusal(R, &Method::HEAD, "/v1/grants"), None);
        assert!(refusal(P, &Method::GET, "/v1/not-in-the-table").is_some());
    }
}
