//! The consent page in a real browser: headless Chromium (Debian's `chromium`, driven
//! through `chromedriver` by WebDriver) against two real `passport node` processes on
//! loopback, a person's and a shop's.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (or `PASSPORT_CHROMIUM` and
//! `PASSPORT_CHROMEDRIVER`). `.ci/run` installs them; without them this test fails
//! under `CI=true` and is skipped, loudly, elsewhere.
//!
//! Screenshots go to `target/tmp/consent-page/` (Cargo's scratch folder for
//! integration tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const PASSPHRASE: &str = "correct horse battery staple";

fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

/// Chromium and chromedriver, or `None` (after saying so) when they are missing
/// outside CI.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    match (
        tool("PASSPORT_CHROMIUM", "/usr/bin/chromium"),
        tool("PASSPORT_CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "Chromium is missing: install Debian's `chromium` and `chromium-driver` (.ci/run does)"
        ),
        _ => {
            eprintln!(
                "SKIPPED: the consent page's browser test needs Debian's `chromium` and \
                 `chromium-driver` (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

/// A headless Chromium session; the driver process is killed when dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(chromium: &Path, chromedriver: &Path, javascript: bool) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut options = json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) => {
                    assert!(Instant::now() < deadline, "chromedriver did not start: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    /// Waits until `css` matches nothing.
    async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "{css} never went away");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of `css` contains `needle`.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && text.contains(needle)
            {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {needle:?}; the page: {}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A screenshot of the whole page at the window's width (the window grows to
    /// the page's height for it).
    async fn screenshot(&self, name: &str) -> PathBuf {
        let (width, height) = self.client.get_window_size().await.unwrap();
        let sizes = self
            .js("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]")
            .await;
        let full = sizes[0].as_u64().unwrap() + sizes[1].as_u64().unwrap();
        self.client
            .set_window_size(width as u32, full.max(height) as u32)
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        self.client
            .set_window_size(width as u32, height as u32)
            .await
            .unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("consent-page");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    async fn log_in(&self, page: &str, secret: &str) {
        self.client.goto(page).await.unwrap();
        self.wait_for("#secret")
            .await
            .send_keys(secret)
            .await
            .unwrap();
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_for("nav[aria-label=Sections]").await;
    }

    async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// The shop's backend asks Ada for fields through its node's HTTP API, as a real
/// shop would, retrying while Ada's DHT record spreads. Returns the request id.
async fn shop_asks(shop: &Path, ada: &str, fields: &[(&str, &str)], purpose: &str) -> String {
    let addr = std::fs::read_to_string(shop.join("api.addr")).unwrap();
    let token = std::fs::read_to_string(shop.join("api.token")).unwrap();
    let body = json!({
        "to": ada,
        "requester_name": "Brand X",
        "fields": fields.iter().map(|(name, reason)| json!({ "name": name, "reason": reason })).collect::<Vec<_>>(),
        "purpose": purpose,
        "duration_secs": 30 * 86_400,
        "offer": { "text": "free shipping", "details": {} },
    });
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http
            .post(format!("http://{}/v1/requests", addr.trim()))
            .bearer_auth(token.trim())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        if status.is_success() {
            assert_eq!(answer["result"]["status"], "pending", "{answer}");
            return answer["request_id"].as_str().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached Ada: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A hostile page on another loopback port whose form posts to Ada's page by
/// itself (a cross-site request forgery). Serves one request.
fn hostile_page(target: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let html = format!(
        "<!doctype html><title>Win a prize</title>\
         <form id=f method=post action=\"{target}\">\
         <input name=action value=once><input name=field value=phone.mobile>\
         <input name=csrf value=guessed></form>\
         <script>document.getElementById('f').submit()</script>"
    );
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
            html.len()
        );
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_answers_a_merchant_from_the_consent_page_in_chromium() {
    let Some((chromium, chromedriver)) = browser_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let ada = dir.path().join("ada");
    ok(&shop, &["init", "--no-passphrase"]);
    let mut init = passport(&ada);
    init.args(["--json", "init"])
        .env("PASSPORT_PASSPHRASE", PASSPHRASE);
    let created = init.output().unwrap();
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let ada_id = serde_json::from_slice::<Value>(&created.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    common::listen_on_loopback(&shop);
    let shop_node = Daemon::start(&shop, None);
    // Listening on every interface needs the names the page will be opened by.
    let refused = passport(&ada)
        .args(["node", "--api", "0.0.0.0:0"])
        .env("PASSPORT_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("[api] hosts"),
        "{}",
        stderr(&refused)
    );
    let mut command = passport(&ada);
    command.arg("--json").env("PASSPORT_PASSPHRASE", PASSPHRASE);
    let mut ada_node = Daemon::start_with(command, &ada, Some(&shop_node.address()));
    let announced = ada_node.announcement();
    // With the node running, the command line goes through its API: no passphrase.
    ok(&ada, &["set", "name.given", "Ada"]);
    ok(&ada, &["set", "address.home", "12 Rue des Lilas, Lyon"]);
    ok(&ada, &["set", "phone.mobile", "+33 6 12 34 56 78"]);

    // The node names its page, and `passport status` shows it.
    let page = json(&ada, &["status"])["page"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(page.starts_with("http://127.0.0.1:"), "{page}");
    assert_eq!(announced["page"], page.as_str());
    assert!(ok(&ada, &["status"]).contains(&format!("consent page:  {page}")));
    let token = std::fs::read_to_string(ada.join("api.token")).unwrap();

    // The page and its session cookie, seen from outside the browser.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(&page).send().await.unwrap();
    assert_eq!(response.status(), 303, "not logged in: to the login page");
    assert_eq!(response.headers()["location"], "/login");
    let login = http.get(format!("{page}login")).send().await.unwrap();
    let csp = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let nonce = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let logged_in = http
        .post(format!("{page}login"))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={nonce}&secret={}", token.trim()))
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let session = logged_in.headers()["set-cookie"].to_str().unwrap();
    assert!(session.starts_with("passport_session_"), "{session}");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    // Another Host name (DNS rebinding) is refused.
    let rebound = http
        .get(&page)
        .header("host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);

    // --- With JavaScript: log in with the token, answer, revoke, watch it live. ---
    let browser = Browser::start(&chromium, &chromedriver, true).await;
    browser.client.goto(&page).await.unwrap();
    browser
        .wait_for("#secret")
        .await
        .send_keys("not the token")
        .await
        .unwrap();
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    let error = browser.text("p.flash.error").await;
    assert!(
        error.contains("neither the token nor the passphrase"),
        "{error}"
    );
    browser.log_in(&page, token.trim()).await;
    assert!(
        browser
            .text("main")
            .await
            .contains("No requests are waiting")
    );
    browser.wait_for("body[data-live=on]").await;
    // Anything that changes from here on must arrive without a reload.
    browser.js("window.passportNoReload = true").await;

    let request_id = shop_asks(
        &shop,
        &ada_id,
        &[
            ("name.given", "to address the parcel"),
            ("address.home", "to deliver it"),
            ("phone.mobile", "for the courier"),
        ],
        "delivery",
    )
    .await;
    let card = format!("article[data-request='{request_id}']");
    let sentence = browser.text(&format!("{card} .sentence")).await;
    assert_eq!(
        sentence,
        "asks for name.given, address.home, phone.mobile for delivery, for 30 days, offering free shipping."
    );
    let heading = browser.text(&format!("{card} h2")).await;
    assert!(
        heading.contains("Brand X") && heading.contains("unverified name"),
        "{heading}"
    );
    let shop_id = json(&shop, &["id"])["id"].as_str().unwrap().to_string();
    assert!(
        browser
            .text(&format!("{card} .merchant-id"))
            .await
            .contains(&shop_id)
    );
    assert!(
        browser
            .text(&format!("{card} fieldset"))
            .await
            .contains("for the courier")
    );
    assert_eq!(
        browser.js("return window.passportNoReload === true").await,
        true
    );
    assert_eq!(browser.text("nav a[href='/'] .count").await, "1");

    // Every control has a label a screen reader can announce.
    let unlabelled = "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]\
         .filter(e => e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.getAttribute('aria-label')) : e.labels.length === 0)\
         .map(e => e.outerHTML)";
    assert_eq!(browser.js(unlabelled).await, json!([]));

    // Screenshots of the inbox, desktop and phone; at 360 px nothing scrolls sideways.
    let desktop = browser.screenshot("inbox-desktop.png").await;
    browser.client.set_window_size(360, 800).await.unwrap();
    let width = browser
        .js("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    assert!(
        width[0].as_u64().unwrap() <= width[1].as_u64().unwrap(),
        "the page is wider than a 360 px screen: {width}"
    );
    let phone = browser.screenshot("inbox-phone.png").await;
    eprintln!("screenshots: {} {}", desktop.display(), phone.display());

    // A forged POST without the CSRF token is refused: from the page itself…
    let forged = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'action=deny' })\
               .then(r => done(r.status), e => done(String(e)));",
            vec![json!(format!("/inbox/{request_id}/decide"))],
        )
        .await
        .unwrap();
    assert_eq!(forged, 403);
    // …and from a hostile page on another port, which the browser sends with cookies.
    let target = format!("{page}inbox/{request_id}/decide");
    browser.client.goto(&hostile_page(&target)).await.unwrap();
    let refused = browser.text("p.flash.error").await;
    assert!(refused.contains("another site"), "{refused}");
    assert_eq!(
        json(&ada, &["inbox"]).as_array().unwrap().len(),
        1,
        "still pending"
    );

    // Two of the three fields, one tap.
    browser.client.goto(&page).await.unwrap();
    browser
        .click(&format!("{card} input[value='phone.mobile']"))
        .await;
    browser.click(&format!("{card} button[value=once]")).await;
    let flash = browser.text("#flash .flash.ok").await;
    assert_eq!(
        flash,
        "Shared name.given, address.home with Brand X for 30 days."
    );
    assert!(
        browser
            .text("main")
            .await
            .contains("No requests are waiting")
    );
    let received = eventually("the shop holds the grant", || {
        let received = json(&shop, &["received"]);
        (!received.as_array().unwrap().is_empty()).then_some(received)
    });
    assert_eq!(received[0]["fields"], json!(["name.given", "address.home"]));
    let grant_id = received[0]["grant_id"].as_str().unwrap().to_string();
    let shown = ok(&shop, &["show", &grant_id]);
    assert!(shown.contains("Ada") && !shown.contains("+33"), "{shown}");

    // The grant, with its time left; revoke it; the receipt arrives live.
    browser.click("nav a[href='/grants']").await;
    let grant = format!("article[data-grant='{grant_id}']");
    let text = browser.text(&grant).await;
    assert!(text.contains("name.given, address.home"), "{text}");
    assert!(
        text.contains("29d 23h left") || text.contains("30d left"),
        "{text}"
    );
    browser.js("window.passportNoReload = true").await;
    browser.click(&format!("{grant} button.deny")).await;
    assert!(
        browser
            .text("#flash .flash.ok")
            .await
            .starts_with("Revoked.")
    );
    browser.wait_for("body[data-live=on]").await;
    browser
        .wait_text(&format!("{grant} .receipt"), "Deletion receipt received")
        .await;
    let erased = eventually("the shop erased the grant", || {
        let received = json(&shop, &["received"]);
        received[0]["erased_at"].is_u64().then_some(received)
    });
    assert!(erased[0]["revoked_at"].is_u64());
    // The audit log shows the receipt, and its chain verifies.
    browser.click("nav a[href='/audit']").await;
    assert!(browser.text("main .flash.ok").await.starts_with("Intact:"));
    let receipt = browser
        .text("span.event[data-event=receipt_received]")
        .await;
    assert!(receipt.starts_with("Deletion receipt from"), "{receipt}");
    browser.screenshot("audit-phone.png").await;
    browser.click("nav a[href='/fields']").await;
    assert_eq!(browser.js(unlabelled).await, json!([]));
    assert!(browser.text("main").await.contains("phone.mobile"));

    // A decision made on the command line shows on the page, without a reload.
    browser.client.goto(&page).await.unwrap();
    browser.wait_for("body[data-live=on]").await;
    browser.js("window.passportNoReload = true").await;
    let second = shop_asks(&shop, &ada_id, &[("name.given", "")], "newsletter").await;
    let card = format!("article[data-request='{second}']");
    browser.wait_for(&card).await;
    ok(&ada, &["deny", &second, "--reason", "no newsletters"]);
    browser.wait_gone(&card).await;
    assert_eq!(
        browser.js("return window.passportNoReload === true").await,
        true
    );
    browser.stop().await;

    // --- Without JavaScript, logged in with the passphrase: approve, revoke, deny. ---
    let browser = Browser::start(&chromium, &chromedriver, false).await;
    browser.log_in(&page, PASSPHRASE).await;
    let third = shop_asks(&shop, &ada_id, &[("name.given", "")], "loyalty card").await;
    browser.client.goto(&page).await.unwrap();
    let card = format!("article[data-request='{third}']");
    browser.click(&format!("{card} button[value=once]")).await;
    assert!(
        browser
            .text("#flash .flash.ok")
            .await
            .starts_with("Shared name.given with Brand X")
    );
    // The script never ran: the page never went live.
    assert!(
        browser
            .client
            .find(Locator::Css("body[data-live]"))
            .await
            .is_err()
    );
    browser.click("nav a[href='/grants']").await;
    browser.click("article.grant button.deny").await;
    assert!(
        browser
            .text("#flash .flash.ok")
            .await
            .starts_with("Revoked.")
    );
    assert!(
        browser
            .client
            .find(Locator::Css("article.grant button.deny"))
            .await
            .is_err()
    );
    let fourth = shop_asks(&shop, &ada_id, &[("phone.mobile", "")], "surveys").await;
    browser.client.goto(&page).await.unwrap();
    browser
        .click(&format!(
            "article[data-request='{fourth}'] button[value=deny]"
        ))
        .await;
    assert_eq!(
        browser.text("#flash .flash.ok").await,
        "Denied Brand X's request."
    );
    let sent = json(&shop, &["received"]);
    assert_eq!(sent.as_array().unwrap().len(), 2, "{sent}");
    browser.stop().await;

    ada_node.stop();
    shop_node.stop();
}
