//! The inspector page in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol. The page loads, a request sent through the proxy afterwards appears without a
//! reload, its rule table shows what every rule did, and no plaintext value is on the page.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`; `scripts/test-serve.sh setup`
//! installs it) or `CHROMIUM=/path/to/chromium`.

mod serve_support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_support::{client, example_args, from_event, send, Serve, Upstream, PLAINTEXT};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

/// Headless Chromium with the DevTools protocol on a loopback port; killed when dropped.
struct Browser {
    child: Child,
    profile: std::path::PathBuf,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Browser {
    fn start() -> Browser {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&binary).exists(),
            "{binary} not found: install Debian's Chromium (`bash scripts/test-serve.sh setup`, or apt-get install -y chromium)"
        );
        let profile =
            std::env::temp_dir().join(format!("pii-edge-chromium-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("profile dir");
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed its DevTools address");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("DevTools WebSocket");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
        }
        Browser {
            child,
            profile,
            ws,
            next: 0,
        }
    }

    /// Sends a DevTools command and waits for its result (events in between are skipped).
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::Text(message.to_string().into()))
            .expect("send to chromium");
        loop {
            let reply = self.ws.read().expect("read from chromium");
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true (bounded); an exception (the page is not there
    /// yet) counts as false.
    fn wait_for(&mut self, session: &str, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let result = self.call(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            );
            if result["result"]["value"] == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for `{expression}`");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[test]
fn the_inspector_page_shows_a_request_and_its_rules_live_without_plaintext() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let upstream = rt.block_on(Upstream::start(true, Duration::ZERO));
    let serve = Serve::start(BIN, &example_args(&upstream.url()));
    let mut browser = Browser::start();

    let target = browser.call(
        None,
        "Target.createTarget",
        json!({"url": format!("{}/_pii-edge/", serve.url())}),
    );
    let target_id = target["targetId"].as_str().expect("target").to_owned();
    let attached = browser.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target_id, "flatten": true}),
    );
    let session = attached["sessionId"].as_str().expect("session").to_owned();

    // The page loads and polls: live, no request yet. A marker shows it is never reloaded.
    browser.wait_for(&session, "document.readyState === 'complete' && document.getElementById('status').textContent === 'live'");
    assert_eq!(
        browser.eval(&session, "document.title"),
        "pii-edge serve: inspector"
    );
    assert_eq!(
        browser.eval(
            &session,
            "document.querySelectorAll('#requests tbody tr').length"
        ),
        0
    );
    assert!(browser
        .eval(&session, "document.getElementById('bundle').textContent")
        .as_str()
        .unwrap_or("")
        .contains("signup"));
    browser.eval(&session, "window.__notReloaded = 42");

    // A sign-up sent through the proxy now appears, with its rule table.
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(serve_support::root().join("examples/events/signup-json.json"))
            .expect("event"),
    )
    .expect("json");
    let signup = from_event(&event).expect("request");
    let resp = rt
        .block_on(send(&client(), &serve.url(), &signup))
        .expect("send");
    assert_eq!(resp.status, 200);
    let row = "[...document.querySelectorAll('#requests tbody tr')].find(tr => tr.cells[2].textContent === '/api/users')";
    browser.wait_for(&session, &format!("{row} !== undefined"));
    assert_eq!(browser.eval(&session, "window.__notReloaded"), 42);
    let cells = browser.eval(
        &session,
        &format!("[...{row}.cells].map(c => c.textContent)"),
    );
    assert_eq!(cells[1], "POST");
    assert_eq!(cells[3], "signup");
    assert_eq!(cells[4], "protected");
    assert_eq!(cells[5], "200");
    browser.eval(&session, &format!("{row}.click()"));
    browser.wait_for(
        &session,
        "document.querySelectorAll('#detail table.rules tbody tr').length > 0",
    );
    let rules = browser.eval(&session, "[...document.querySelectorAll('#detail table.rules tbody tr')].map(tr => [...tr.cells].map(c => c.textContent))");
    let rules = rules.as_array().expect("rows");
    let email = rules
        .iter()
        .find(|r| r[1] == "json:$['user']['email']")
        .unwrap_or_else(|| panic!("no e-mail row in {rules:?}"));
    assert_eq!(email[2], "encrypt");
    assert!(
        email[3].as_str().expect("result").starts_with("\"pe2."),
        "{email:?}"
    );
    assert!(rules.iter().any(|r| r[2] == "mask"), "{rules:?}");
    let headings = browser.eval(
        &session,
        "[...document.querySelectorAll('#detail table.rules th')].map(th => th.textContent)",
    );
    assert_eq!(headings, json!(["rule", "location", "action", "result"]));

    // A rejection appears too, live.
    let mut malformed = signup.clone();
    malformed.body = b"{\"user\": {\"email\": \"erika@example.de\"".to_vec();
    let resp = rt
        .block_on(send(&client(), &serve.url(), &malformed))
        .expect("send");
    assert_eq!(resp.status, 400);
    browser.wait_for(&session, "[...document.querySelectorAll('#requests tbody tr')].some(tr => tr.cells[4].textContent === 'rejected' && tr.cells[5].textContent === '400')");

    // No plaintext anywhere on the page: with the sign-up's rules shown, then the rejection's.
    let no_plaintext = |browser: &mut Browser| {
        let html = browser.eval(&session, "document.documentElement.outerHTML");
        let html = html.as_str().expect("html").to_owned();
        for plain in PLAINTEXT {
            assert!(!html.contains(plain), "plaintext {plain:?} on the page");
        }
    };
    no_plaintext(&mut browser);
    browser.eval(
        &session,
        "document.querySelector('#requests tbody tr').click()",
    );
    browser.wait_for(
        &session,
        "document.querySelector('#detail h2').textContent.includes('rejected')",
    );
    no_plaintext(&mut browser);
    drop(browser);
    drop(serve);
}
