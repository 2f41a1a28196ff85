//! The API's contract as data: an OpenAPI 3.1 document generated from the
//! handlers' `#[utoipa::path]` attributes and the views' `ToSchema`, served at
//! `GET /v1/openapi.json` (without the token) and checked in as
//! `docs/openapi.json`.
//!
//! The handlers describe what is theirs: path, parameters, body, the statuses
//! they answer. [`complete`] adds what the guards and extractors put in front of
//! every route, so that no handler has to repeat it: the bearer token (with its
//! 401) on the routes behind the token guard, the `Host` guard's 421 on all, a
//! failed node's 500 on those behind the token, and a malformed body's 400, 413,
//! 415 and 422 on those that take one.

use std::sync::LazyLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{
    OpenApi as _,
    openapi::{
        ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Schema,
        path::{Operation, PathItem},
        request_body::RequestBody,
        schema::{SchemaType, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use super::views::ErrorBody;

/// The security scheme's name: the bearer token from `<home>/api.token`.
const BEARER: &str = "bearer";

/// What the document starts from: its description, server, tags and the error
/// body; [`complete`] and the routes add the rest.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Passport node API",
        description = "The local HTTP API of one Passport node: the person's fields, inbox, \
grants and policies, the merchant's requests and received grants, the audit log, events \
and network state. `docs/API.md` explains every route with examples.\n\n\
Every request needs a `Host` header naming the API's address (else 421). Every route \
except `/v1/hello` and `/v1/openapi.json` needs `Authorization: Bearer <token>` with \
the token from `<home>/api.token` (else 401). Every error is `{\"error\": \"...\"}`, \
a message for people: branch on the status code. An unknown path answers 404 and a \
known path with the wrong method 405, with the same error body.\n\n\
Times are integers, seconds since the Unix epoch (UTC); durations are integers in \
seconds."
    ),
    servers((url = "http://127.0.0.1:7117", description = "The default address (`[api] listen` in config.toml); `<home>/api.addr` holds the one in use.")),
    tags(
        (name = "access", description = "What works without the token."),
        (name = "fields", description = "The person's fields."),
        (name = "person", description = "The person's side: the inbox, grants issued, erasure, standing policies."),
        (name = "merchant", description = "The merchant's side: requests sent, grants received and their values."),
        (name = "audit", description = "The audit log and the signed messages it holds."),
        (name = "backup", description = "A backup of the whole passport, as an age file."),
        (name = "devices", description = "Linked devices: pairing codes, the devices paired, removing one."),
        (name = "events", description = "The node's events, as they are committed."),
        (name = "network", description = "Network state and metrics."),
    ),
    components(schemas(ErrorBody))
)]
struct Base;

/// The whole document: the routes behind the token (`guarded`) and those without
/// (`open`), each as its router described them, with what the guards and
/// extractors add.
pub(super) fn complete(mut guarded: OpenApi, open: OpenApi) -> OpenApi {
    for item in guarded.paths.paths.values_mut() {
        for op in operations(item) {
            op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            shared(op, "401", "Unauthorized");
            shared(op, "403", "Forbidden");
            shared(op, "500", "NodeFailed");
        }
    }
    let mut doc = Base::openapi();
    doc.merge(guarded);
    doc.merge(open);
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            shared(op, "421", "MisdirectedHost");
            if let Some(body) = &mut op.request_body {
                optional_body_is_its_type(body);
                shared(op, "400", "BadBody");
                shared(op, "413", "BodyTooLarge");
                shared(op, "415", "NotJson");
                shared(op, "422", "BodyMisshapen");
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The content of `<home>/api.token` (64 hex characters, made when a \
                     program hosting the API first asks for it; mode 0600).",
                ))
                .build(),
        ),
    );
    for (name, description) in SHARED {
        let error = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        components.responses.insert(
            (*name).to_string(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content("application/json", error)
                    .build(),
            ),
        );
    }
    doc
}

/// The responses every route of a kind shares, by name.
const SHARED: &[(&str, &str)] = &[
    (
        "Unauthorized",
        "Missing or wrong bearer token: send `Authorization: Bearer <token>` with the \
         token from `<home>/api.token`.",
    ),
    (
        "Forbidden",
        "A scoped token (`passport token create`) whose scope does not reach this route; \
         the message names the scopes that do (docs/API.md, \"Tokens and scopes\").",
    ),
    (
        "MisdirectedHost",
        "The `Host` header does not name this API's address (DNS rebinding defence); \
         checked before the token.",
    ),
    (
        "NodeFailed",
        "The node failed: storage, I/O, a corrupt record, a failed background task.",
    ),
    (
        "BadBody",
        "The body is not valid JSON (this route may also answer 400 for its own reasons).",
    ),
    ("BodyTooLarge", "The body is over 2 MB."),
    (
        "NotJson",
        "A body was sent without `Content-Type: application/json`.",
    ),
    (
        "BodyMisshapen",
        "The JSON does not fit the body's shape: a missing or unknown member, a wrong \
         type, an invalid field name or id inside it.",
    ),
];

/// Adds the shared response `name` as `op`'s answer for `status`, unless the
/// route describes that status itself.
fn shared(op: &mut Operation, status: &str, name: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

/// An optional body (`Option<Json<T>>`, declared `Option<T>`) is described by
/// utoipa as `T` or `null`; but `null` is no body: what may be left out is the
/// body itself (`required` false), and what is sent is `T`.
fn optional_body_is_its_type(body: &mut RequestBody) {
    if body.required == Some(Required::True) {
        return;
    }
    for content in body.content.values_mut() {
        let Some(RefOr::T(Schema::OneOf(one))) = &mut content.schema else {
            continue;
        };
        let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
        if one.items.len() == 2 && one.items.iter().any(is_null) {
            let body = std::mem::take(&mut one.items)
                .into_iter()
                .find(|s| !is_null(s));
            content.schema = body;
        }
    }
}

/// Every operation of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The API's OpenAPI 3.1 document, as `docs/openapi.json` holds it.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "access",
    responses((status = 200, description = "This document.", body = Object))
)]
pub(super) async fn document() -> Response {
    static JSON: LazyLock<String> = LazyLock::new(super::openapi_json);
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str()).into_response()
}
