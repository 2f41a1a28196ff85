//! The API's contract as data: the OpenAPI document generated from the handlers and
//! views is the one checked in as `docs/openapi.json`, the one a real server serves
//! at `/v1/openapi.json` without the token, and a valid OpenAPI document; every route
//! it lists is served and guarded as it says, and real answers fit its schemas.
//!
//! After changing a route or a view, regenerate the checked-in copy with
//! `UPDATE_OPENAPI=1 cargo test -p passport-node --test openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use passport_node::{
    Node, NodeConfig, Passport,
    http::{self, ApiState},
};
use serde_json::{Value, json};

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let generated = http::openapi_json();
    let path = checked_in();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        // Whole or not at all: the validator's test may read it meanwhile.
        let new = path.with_extension("json.new");
        std::fs::write(&new, &generated).unwrap();
        std::fs::rename(&new, &path).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json differs from the document the code generates (a route, a \
         parameter, a status or a view changed): regenerate it with\n\n    \
         UPDATE_OPENAPI=1 cargo test -p passport-node --test openapi\n\nthen review \
         and commit the diff"
    );
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc: Value = serde_json::from_str(&http::openapi_json()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
}

/// Runs a standard validator, Python's `openapi-spec-validator` (`.ci/run` installs
/// it), on the checked-in document.
#[test]
fn the_checked_in_document_passes_a_standard_openapi_validator() {
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(checked_in())
        .output();
    let missing = match &output {
        Err(e) => Some(format!("python3 could not be run: {e}")),
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            Some("the openapi_spec_validator module is not installed".to_string())
        }
        Ok(_) => None,
    };
    if let Some(why) = missing {
        let hint = "install it with `python3 -m pip install openapi-spec-validator` \
                    (.ci/run does)";
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}: CI must run the OpenAPI validator; {hint}"
        );
        eprintln!("SKIPPED the OpenAPI validator: {why}; {hint}");
        return;
    }
    let output = output.unwrap();
    assert!(
        output.status.success(),
        "docs/openapi.json is not a valid OpenAPI document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A real server over an in-memory node without a network.
struct Server {
    base: String,
    http: reqwest::Client,
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn serve() -> Server {
    let node = Node::in_memory(NodeConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ApiState::new(Passport::offline(node), TOKEN.to_string(), addr);
    tokio::spawn(http::serve(listener, state, std::future::pending()));
    Server {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Server {
    fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.request(
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        )
    }
}

#[tokio::test]
async fn a_server_serves_the_document_without_the_token_behind_the_host_guard() {
    let server = serve().await;
    let response = server
        .request("GET", "/v1/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(response.text().await.unwrap(), http::openapi_json());

    let misdirected = server
        .request("GET", "/v1/openapi.json")
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(misdirected.status().as_u16(), 421);
}

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `path` with each `{parameter}` filled in.
fn filled(path: &str) -> String {
    path.replace("{name}", "email")
        .replace("{id}", "00000000000000000000000000000000")
}

#[tokio::test]
async fn every_documented_route_is_served_and_asks_for_the_token_as_documented() {
    let doc: Value = serde_json::from_str(&http::openapi_json()).unwrap();
    let server = serve().await;
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            seen += 1;
            let url = filled(path);
            let secured = op.get("security").is_some();
            assert_eq!(
                secured,
                op["responses"].get("401").is_some(),
                "{method} {path}: a route behind the token documents its 401"
            );

            let anonymous = server.request(method, &url).send().await.unwrap();
            assert_eq!(
                anonymous.status().as_u16() == 401,
                secured,
                "{method} {path}: answered {} without the token, yet the document says \
                 it {} the token",
                anonymous.status(),
                if secured { "needs" } else { "does not need" }
            );

            let response = server
                .request(method, &url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            // A live stream never ends: its status and headers are enough.
            let body = if path == "/v1/events" {
                String::new()
            } else {
                response.text().await.unwrap()
            };
            assert!(
                status != 405 && !body.contains("no such endpoint"),
                "{method} {path} is documented but not served: {status} {body}"
            );
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{method} {path} answered {status}, which its documentation does not list: {body}"
            );
        }
    }
    assert!(seen > 20, "only {seen} operations documented");
}

/// Checks `value` against the JSON Schema `schema` of the OpenAPI document `doc`:
/// the keywords the document uses (`$ref`, `type`, `properties`, `required`,
/// `additionalProperties`, `items`, `oneOf`, `anyOf`, `allOf`, `enum`). Returns
/// what does not fit.
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "{at}: no schema {reference}");
        return fits(doc, target, value, at);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => panic!("{at}: type {types}"),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
        {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: member {name} is required"));
            }
        }
        for (name, member) in object {
            let at = format!("{at}.{name}");
            match schema["properties"].get(name) {
                Some(property) => fits(doc, property, member, &at)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{at} is not allowed")),
                    Some(extra @ Value::Object(_)) => fits(doc, extra, member, &at)?,
                    _ if schema.get("properties").is_some() => {
                        return Err(format!("{at} is not in the schema"));
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            fits(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    for all in schema["allOf"].as_array().into_iter().flatten() {
        fits(doc, all, value, at)?;
    }
    if let Some(any) = schema["anyOf"].as_array()
        && !any.iter().any(|s| fits(doc, s, value, at).is_ok())
    {
        return Err(format!("{at}: {value} fits none of anyOf"));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let errors: Vec<String> = one
            .iter()
            .filter_map(|s| fits(doc, s, value, at).err())
            .collect();
        if errors.len() + 1 != one.len() {
            return Err(format!(
                "{at}: {value} fits {} of oneOf, not exactly one: {errors:?}",
                one.len() - errors.len()
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn real_answers_fit_the_documented_schemas() {
    let doc: Value = serde_json::from_str(&http::openapi_json()).unwrap();
    let server = serve().await;
    let calls: Vec<(&str, &str, Option<Value>)> = vec![
        (
            "PUT",
            "/v1/fields/name.given",
            Some(json!({"value": {"text": "Ada"}})),
        ),
        (
            "PUT",
            "/v1/fields/birthdate",
            Some(json!({"value": {"date": "1990-04-23"}})),
        ),
        (
            "PUT",
            "/v1/fields/address.home",
            Some(json!({"value": {"structured": {"city": "Lyon", "postcode": "69001"}}})),
        ),
        (
            "PUT",
            "/v1/fields/address.home/tags",
            Some(json!({"tags": ["home"], "sensitivity": "sensitive"})),
        ),
        ("GET", "/v1/fields", None),
        ("GET", "/v1/fields/birthdate", None),
        ("GET", "/v1/fields/missing", None),
        ("GET", "/v1/fields/Bad%20Name", None),
        (
            "POST",
            "/v1/policies",
            Some(json!({
                "effect": "allow",
                "merchant": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "purpose": "delivery",
                "fields": {"any_normal": true, "named": ["address.home"]},
                "max_duration_secs": 3600
            })),
        ),
        ("GET", "/v1/policies", None),
        ("DELETE", "/v1/fields/birthdate", None),
        ("GET", "/v1/audit", None),
        ("GET", "/v1/audit/verify", None),
        ("GET", "/v1/inbox", None),
        ("GET", "/v1/grants", None),
        ("GET", "/v1/received", None),
        (
            "POST",
            "/v1/grants/00000000000000000000000000000000/revoke",
            None,
        ),
        ("GET", "/v1/status", None),
        ("DELETE", "/v1/policies/1", None),
        ("GET", "/v1/hello?nonce=0123456789abcdef", None),
    ];
    for (method, path, body) in calls {
        let mut request = server.request(method, path).bearer_auth(TOKEN);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16().to_string();
        let answer: Value = response.json().await.unwrap();
        let documented = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(p, _)| {
                let pattern = p.split('/').collect::<Vec<_>>();
                let actual = path
                    .split('?')
                    .next()
                    .unwrap()
                    .split('/')
                    .collect::<Vec<_>>();
                pattern.len() == actual.len()
                    && pattern
                        .iter()
                        .zip(&actual)
                        .all(|(p, a)| p.starts_with('{') || p == a)
            })
            .map(|(_, item)| &item[method.to_lowercase()])
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        let mut response = &documented["responses"][&status];
        if let Some(reference) = response["$ref"].as_str() {
            let name = reference.trim_start_matches("#/components/responses/");
            response = &doc["components"]["responses"][name];
        }
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            !schema.is_null(),
            "{method} {path} answered {status}, undocumented: {answer}"
        );
        if let Err(e) = fits(&doc, schema, &answer, "answer") {
            panic!("{method} {path} answered {status} {answer}, which does not fit: {e}");
        }
    }
}

/// The validator above finds what does not fit, so that the test above means
/// something.
#[test]
fn the_schema_check_finds_what_does_not_fit() {
    let doc: Value = serde_json::from_str(&http::openapi_json()).unwrap();
    let field = json!({"$ref": "#/components/schemas/Field"});
    let good = json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [],
                      "sensitivity": "normal", "updated_at": 1, "attestations": []});
    assert_eq!(fits(&doc, &field, &good, "field"), Ok(()));
    // Each differs from the good one in one way only.
    for bad in [
        json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [], "sensitivity": "normal",
               "attestations": []}),
        json!({"name": "email", "value": {"txt": "a@b.c"}, "tags": [],
               "sensitivity": "normal", "updated_at": 1, "attestations": []}),
        json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [],
               "sensitivity": "secret", "updated_at": 1, "attestations": []}),
        json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [],
               "sensitivity": "normal", "updated_at": "1", "attestations": []}),
        json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [],
               "sensitivity": "normal", "updated_at": 1, "attestations": [], "extra": 0}),
        json!({"name": "email", "value": {"text": "a@b.c"}, "tags": [],
               "sensitivity": "normal", "updated_at": 1, "attestations": [{"issuer": 1}]}),
    ] {
        assert!(fits(&doc, &field, &bad, "field").is_err(), "{bad} fits");
    }
}
