//! The consent page's access rules over real HTTP, without a browser: login with the
//! token or the passphrase, one guess at a time, session cookies that open pages but
//! not the API, CSRF tokens on every form, and live streams that are bounded and end
//! at shutdown. (The browser test is `cli/tests/browser.rs`.)

#![allow(
    clippy::disallowed_methods,
    reason = "a test's deadlines are wall-clock time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use passport_node::{
    Home, KdfParams, Node, NodeConfig, Passport, Unlock,
    http::{self, ApiState, web::MAX_LIVE_STREAMS},
    net::NetConfig,
    protocol::{FieldValue, Timestamp},
    tokens::Scope,
};
use reqwest::{StatusCode, redirect::Policy};
use zeroize::Zeroizing;

const PASSPHRASE: &str = "correct horse battery staple";
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Page {
    base: String,
    node: Node,
    http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Page {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("ada"));
    let unlock = Unlock::Passphrase(Zeroizing::new(PASSPHRASE.into()));
    home.create(&unlock, KdfParams::insecure_for_tests())
        .unwrap();
    let node = Node::open(&home, &unlock, NodeConfig::default()).unwrap();
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mdns: false,
        ..NetConfig::default()
    };
    let (passport, _events) = Passport::with_node(node.clone())
        .network(config)
        .spawn()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ApiState::new(passport, TOKEN.into(), addr).with_passphrase_login(home);
    assert_eq!(state.page_url(), format!("http://{addr}/"));
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(http::serve(listener, state, async move {
        let _ = stop.await;
    }));
    Page {
        base: format!("http://{addr}"),
        node,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        shutdown: Some(shutdown),
        served,
        _dir: dir,
    }
}

/// The next chunk of a live stream, within 10 s.
async fn next_event(response: &mut reqwest::Response) -> String {
    let bytes = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .expect("no event within 10 s")
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `name=value` of a response's `Set-Cookie` header.
fn cookie_of(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

impl Page {
    /// Opens the login form: its cookie and its token.
    async fn login_form(&self) -> (String, String) {
        let response = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let cookie = cookie_of(&response);
        let html = response.text().await.unwrap();
        (cookie, hidden(&html, "csrf"))
    }

    async fn post(&self, path: &str, cookie: &str, form: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn log_in(&self, secret: &str) -> reqwest::Response {
        let (cookie, csrf) = self.login_form().await;
        self.post("/login", &cookie, &format!("csrf={csrf}&secret={secret}"))
            .await
    }

    /// Logs in with the token; returns the session cookie.
    async fn session(&self) -> String {
        let response = self.log_in(TOKEN).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        cookie_of(&response)
    }
}

#[tokio::test]
async fn the_page_takes_the_token_or_the_passphrase_one_guess_at_a_time() {
    let page = start().await;

    // Without the login form's cookie, or with another form's token: refused.
    let (_, csrf) = page.login_form().await;
    let response = page
        .post("/login", "", &format!("csrf={csrf}&secret={TOKEN}"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (cookie, _) = page.login_form().await;
    let response = page
        .post("/login", &cookie, &format!("csrf={csrf}&secret={TOKEN}"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A wrong guess is answered after a pause, and holds off the next one.
    let started = Instant::now();
    let guessing = {
        let (base, http) = (page.base.clone(), page.http.clone());
        let (cookie, csrf) = page.login_form().await;
        tokio::spawn(async move {
            http.post(format!("{base}/login"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={csrf}&secret=wrong+horse"))
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let meanwhile = page.log_in(PASSPHRASE).await;
    assert_eq!(meanwhile.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        meanwhile
            .text()
            .await
            .unwrap()
            .contains("Another login attempt")
    );
    let wrong = guessing.await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("neither the token nor the passphrase")
    );

    // The passphrase opens a session; so does the token.
    let by_passphrase = page.log_in(&PASSPHRASE.replace(' ', "+")).await;
    assert_eq!(by_passphrase.status(), StatusCode::SEE_OTHER);
    let set = by_passphrase.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let session = page.session().await;
    let inbox = page.get("/", &session).await;
    assert_eq!(inbox.status(), StatusCode::OK);
    assert!(
        inbox
            .text()
            .await
            .unwrap()
            .contains("No requests are waiting")
    );

    // A session opens pages, not the API; the token opens the API, not pages.
    let api = page.get("/v1/fields", &session).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let pages = page
        .http
        .get(format!("{}/", page.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(pages.status(), StatusCode::SEE_OTHER);
    assert_eq!(pages.headers()["location"], "/login");
}

#[tokio::test]
async fn a_scoped_token_does_not_log_into_the_page() {
    let page = start().await;
    let now = Timestamp::from_secs(1_800_000_000);
    for scope in [Scope::Person, Scope::Merchant] {
        let made = page.node.create_token(scope, "", now).unwrap();
        let response = page.log_in(&made.token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{scope}");
        assert!(!response.headers().contains_key("location"));
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("neither the token nor the passphrase")
        );
        // It does reach the API, within its scope.
        let api = page
            .http
            .get(format!("{}/v1/status", page.base))
            .bearer_auth(made.token.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::OK, "{scope}");
    }
    // The full token still does.
    page.session().await;
}

#[tokio::test]
async fn every_form_needs_the_session_and_its_token() {
    let page = start().await;
    let session = page.session().await;
    let html = page.get("/fields", &session).await.text().await.unwrap();
    let csrf = hidden(&html, "csrf");

    // Adding a field: without the token, with a wrong one, or from another origin,
    // nothing is stored.
    for (cookie, form) in [
        (
            session.as_str(),
            "name=phone.mobile&kind=text&value=1".to_string(),
        ),
        (
            session.as_str(),
            "name=phone.mobile&kind=text&value=1&csrf=guess".to_string(),
        ),
        (
            "",
            format!("name=phone.mobile&kind=text&value=1&csrf={csrf}"),
        ),
    ] {
        let response = page.post("/fields", cookie, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form}");
    }
    let cross = page
        .http
        .post(format!("{}/fields", page.base))
        .header("cookie", &session)
        .header("origin", "http://127.0.0.1:1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name=phone.mobile&kind=text&value=1&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(cross.text().await.unwrap().contains("another site"));
    assert!(page.node.fields().unwrap().is_empty());

    // With both, it is, and the next page says so once.
    let saved = page
        .post(
            "/fields",
            &session,
            &format!("name=phone.mobile&kind=text&value=%2B33+6&csrf={csrf}"),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()["location"], "/fields");
    // Neither the page's live stream nor its live refresh takes the message meant for
    // the page the browser is about to show.
    drop(page.get("/events", &session).await);
    let refresh = page
        .http
        .get(format!("{}/fields", page.base))
        .header("cookie", &session)
        .header("x-passport-live", "1")
        .send()
        .await
        .unwrap();
    assert!(
        !refresh
            .text()
            .await
            .unwrap()
            .contains("Saved phone.mobile.")
    );
    let next = page.get("/fields", &session).await.text().await.unwrap();
    assert!(next.contains("Saved phone.mobile."), "{next}");
    assert!(
        !page
            .get("/fields", &session)
            .await
            .text()
            .await
            .unwrap()
            .contains("Saved phone.mobile.")
    );
    let (_, stored) = &page.node.fields().unwrap()[0];
    assert_eq!(stored.value, FieldValue::Text("+33 6".into()));

    // A bad value is explained, and nothing changes.
    page.post(
        "/fields",
        &session,
        &format!("name=birth.date&kind=date&value=10%2F12%2F1815&csrf={csrf}"),
    )
    .await;
    let next = page.get("/fields", &session).await.text().await.unwrap();
    assert!(next.contains("use YYYY-MM-DD"), "{next}");
    assert_eq!(page.node.fields().unwrap().len(), 1);

    // Logging out ends the session.
    let out = page
        .post("/logout", &session, &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = page.get("/", &session).await;
    assert_eq!(after.headers()["location"], "/login");
}

#[tokio::test]
async fn live_streams_are_bounded_say_change_and_end_at_shutdown() {
    let mut page = start().await;
    let session = page.session().await;
    let change = |name: &str| {
        page.node
            .set_field(
                name.parse().unwrap(),
                FieldValue::Text("Ada".into()),
                Timestamp::from_secs(1_800_000_000),
            )
            .unwrap();
    };

    // A page rendered before a change catches up as soon as its stream opens.
    change("name.given");
    let mut behind = page.get("/events?since=0", &session).await;
    assert!(next_event(&mut behind).await.contains("event: change"));

    let mut streams = vec![behind];
    while streams.len() < MAX_LIVE_STREAMS {
        let stream = page.get("/events", &session).await;
        assert_eq!(stream.status(), StatusCode::OK);
        streams.push(stream);
    }
    let refused = page.get("/events", &session).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);

    // A change in the store reaches every open stream.
    change("name.family");
    for stream in &mut streams {
        assert!(next_event(stream).await.contains("event: change"));
    }

    // Shutdown ends the open streams instead of waiting for the browser to leave.
    page.shutdown.take().unwrap().send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(30), &mut page.served)
        .await
        .expect("an open live stream held up the shutdown");
    served.unwrap().unwrap();
    drop(streams);
}

#[tokio::test]
async fn a_merchant_cannot_put_markup_on_the_page_nor_frame_it() {
    let page = start().await;
    let shop = Node::in_memory(NodeConfig::default()).unwrap();
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let spec = passport_node::RequestSpec {
        requester_name: hostile.into(),
        fields: vec![passport_node::protocol::FieldRequest {
            name: "name.given".parse().unwrap(),
            required: true,
            reason: hostile.into(),
            attested_by: Vec::new(),
        }],
        purpose: hostile.into(),
        duration_secs: 86_400,
        retention_secs: 0,
        offer: Some(passport_node::protocol::Offer {
            text: hostile.into(),
            details: Default::default(),
        }),
        reply_to: Vec::new(),
    };
    let now = passport_node::node::system_now();
    let bytes = shop.request(page.node.id(), spec, now).unwrap();
    page.node.receive(&bytes, now).unwrap();

    let session = page.session().await;
    let inbox = page.get("/", &session).await;
    for (header, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(inbox.headers()[header], value, "{header}");
    }
    let csp = inbox.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    let html = inbox.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    // The only script is the page's own.
    assert_eq!(html.matches("<script").count(), 1);
}

#[tokio::test]
async fn what_merchants_gave_back_shows_and_deletes_with_the_session_token() {
    use passport_node::{Approval, RequestSpec, data::DeliveredData};
    use passport_protocol::{DataType, Delivered};
    let page = start().await;
    // A shop Ada granted her name to delivers a receipt (the nodes talk directly).
    let now = passport_node::node::system_now();
    let shop = Node::in_memory(NodeConfig::default()).unwrap();
    page.node
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
            now,
        )
        .unwrap();
    let request = shop
        .request(
            page.node.id(),
            RequestSpec::new("Shop", ["name.given".parse().unwrap()], "delivery", 3_600),
            now,
        )
        .unwrap();
    page.node.receive(&request, now).unwrap();
    let pending = page.node.inbox().unwrap().remove(0).pending.request_id;
    let grant = page
        .node
        .approve(&pending, Approval::default(), now)
        .unwrap();
    shop.receive(&grant.bytes, now).unwrap();
    let receipt = shop
        .deliver(
            page.node.id(),
            &page.node.sealing_public_key(),
            DataType::Receipt,
            &Delivered {
                title: "Order <1042>".into(),
                items: [("total".to_string(), "59.90 EUR".to_string())].into(),
                attestation: None,
            },
            now,
        )
        .unwrap();
    page.node.receive(&receipt.bytes, now).unwrap();
    let kept: Vec<DeliveredData> = page.node.delivered().unwrap();
    assert_eq!(kept.len(), 1);

    let session = page.session().await;
    let html = page.get("/data", &session).await.text().await.unwrap();
    // Shown, escaped, with the shop among the merchants to ask.
    assert!(html.contains("Order &lt;1042&gt;"), "{html}");
    assert!(html.contains("59.90 EUR"));
    assert!(html.contains(&format!("/merchants/{}/access", shop.id())));
    // Exported as JSON with the session, not without.
    let export = page.get("/data.json", &session).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let exported: serde_json::Value = export.json().await.unwrap();
    assert_eq!(exported[0]["title"], "Order <1042>");
    assert_eq!(
        page.get("/data.json", "").await.status(),
        StatusCode::SEE_OTHER
    );
    let path = format!("/data/{}/delete", kept[0].id);
    // Without the session's token nothing is deleted; with it, it is.
    let refused = page.post(&path, &session, "csrf=guess").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(page.node.delivered().unwrap().len(), 1);
    let csrf = hidden(&html, "csrf");
    let deleted = page.post(&path, &session, &format!("csrf={csrf}")).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(page.node.delivered().unwrap().is_empty());
}
