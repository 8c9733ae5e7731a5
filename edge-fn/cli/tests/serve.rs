//! `pii-edge serve` in front of a recording upstream: what reaches the upstream, what the
//! viewer gets back, the inspector's JSON, and reloading (a bad edit keeps the last good
//! bundle and never lets plaintext through).

mod serve_support;

use std::path::Path;
use std::time::Duration;

use serve_support::{client, example_args, send, Expect, Req, Serve, Upstream, PLAINTEXT};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn search(email: &str) -> Req {
    Req {
        method: "GET".into(),
        target: format!("/api/search?email={email}&q=shoes"),
        ..Req::default()
    }
}

#[test]
fn every_case_gets_the_edge_decision_and_the_upstream_no_plaintext() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let http = client();
        let cases = serve_support::traffic();
        assert!(cases.len() >= 40, "only {} cases", cases.len());
        for case in &cases {
            let resp = send(&http, &serve.url(), &case.req)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let received = upstream.taken();
            let id = resp.header("x-amz-cf-id").unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{}: no request id", case.name);
            match &case.expect {
                Expect::Rejected(status, code) => {
                    assert_eq!(
                        resp.status,
                        *status,
                        "{}: {}",
                        case.name,
                        String::from_utf8_lossy(&resp.body)
                    );
                    assert_eq!(
                        resp.header("content-type"),
                        Some("application/problem+json"),
                        "{}",
                        case.name
                    );
                    let problem = resp.json();
                    assert_eq!(
                        problem["type"],
                        format!("https://pii-edge.dev/problems/{code}"),
                        "{}",
                        case.name
                    );
                    assert_eq!(problem["status"], *status, "{}", case.name);
                    assert!(
                        received.is_empty(),
                        "{}: a rejected request reached the upstream",
                        case.name
                    );
                }
                Expect::Protected | Expect::Unmatched => {
                    assert_eq!(
                        resp.status,
                        200,
                        "{}: {}",
                        case.name,
                        String::from_utf8_lossy(&resp.body)
                    );
                    assert_eq!(
                        received.len(),
                        1,
                        "{}: upstream got {}",
                        case.name,
                        received.len()
                    );
                    let got = &received[0];
                    let text = got.text();
                    for plain in &case.absent {
                        assert!(
                            !text.contains(plain.as_str()),
                            "{}: plaintext {plain:?} at the upstream",
                            case.name
                        );
                    }
                    // What CloudFront adds.
                    assert_eq!(got.header("x-amz-cf-id"), [id.as_str()], "{}", case.name);
                    assert_eq!(
                        got.header("x-forwarded-for")
                            .last()
                            .map(|v| v.ends_with("127.0.0.1")),
                        Some(true),
                        "{}",
                        case.name
                    );
                    assert!(
                        got.header("via")
                            .iter()
                            .any(|v| v.contains("pii-edge serve")),
                        "{}",
                        case.name
                    );
                    assert_eq!(
                        got.header("host"),
                        [upstream.addr.to_string().as_str()],
                        "{}",
                        case.name
                    );
                    let zone = got.header("x-pii-edge-zone");
                    if case.expect == Expect::Protected {
                        assert_eq!(zone.len(), 1, "{}: not stamped protected", case.name);
                        let content_length = got.header("content-length");
                        if !got.body.is_empty() {
                            assert_eq!(
                                content_length,
                                [got.body.len().to_string().as_str()],
                                "{}",
                                case.name
                            );
                        }
                    } else {
                        assert!(zone.is_empty(), "{}: unmatched but stamped", case.name);
                        assert_eq!(
                            got.body, case.req.body,
                            "{}: unmatched body changed",
                            case.name
                        );
                        assert_eq!(
                            got.target, case.req.target,
                            "{}: unmatched target changed",
                            case.name
                        );
                    }
                }
            }
        }
    });
}

#[test]
fn a_viewer_cannot_stamp_a_zone_or_reach_the_upstream_through_the_inspector_path() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let http = client();
        let mut req = Req {
            method: "GET".into(),
            target: "/public/page".into(),
            ..Req::default()
        };
        req.headers
            .push(("X-Pii-Edge-Zone".into(), "us-east".into()));
        let resp = send(&http, &serve.url(), &req).await.expect("send");
        assert_eq!(resp.status, 200);
        let got = upstream.taken();
        assert!(
            got[0].header("x-pii-edge-zone").is_empty(),
            "a viewer's zone stamp was forwarded"
        );
        for target in [
            "/_pii-edge/",
            "/_pii-edge/api/state",
            "/_pii-edge/nothing",
            "/_pii-edge",
        ] {
            let resp = send(
                &http,
                &serve.url(),
                &Req {
                    method: "GET".into(),
                    target: target.into(),
                    ..Req::default()
                },
            )
            .await
            .expect("send");
            assert!(
                matches!(resp.status, 200 | 308 | 404),
                "{target}: {}",
                resp.status
            );
        }
        let post = Req {
            method: "POST".into(),
            target: "/_pii-edge/api/state".into(),
            body: b"x".to_vec(),
            ..Req::default()
        };
        assert_eq!(
            send(&http, &serve.url(), &post).await.expect("send").status,
            405
        );
        assert!(
            upstream.taken().is_empty(),
            "an inspector path reached the upstream"
        );
        let redirect = send(
            &http,
            &serve.url(),
            &Req {
                method: "GET".into(),
                target: "/_pii-edge".into(),
                ..Req::default()
            },
        )
        .await
        .expect("send");
        assert_eq!(redirect.header("location"), Some("/_pii-edge/"));
    });
}

#[test]
fn a_body_over_max_body_is_refused_with_a_problem() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let mut args = example_args(&upstream.url());
        args.extend(["--max-body".into(), "1000".into()]);
        let serve = Serve::start(BIN, &args);
        let req = Req {
            method: "POST".into(),
            target: "/upload".into(),
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: vec![7; 5000],
        };
        let resp = send(&client(), &serve.url(), &req).await.expect("send");
        assert_eq!(resp.status, 413);
        assert_eq!(
            resp.json()["type"],
            "https://pii-edge.dev/problems/request-too-large"
        );
        let long = Req {
            method: "GET".into(),
            target: format!("/api/search?q={}", "a".repeat(8200)),
            ..Req::default()
        };
        let resp = send(&client(), &serve.url(), &long).await.expect("send");
        assert_eq!(resp.status, 414);
        assert_eq!(
            resp.json()["type"],
            "https://pii-edge.dev/problems/uri-too-long"
        );
        assert!(upstream.taken().is_empty());
    });
}

/// The inspector's JSON: every request with its rule table, no plaintext value.
#[test]
fn the_inspector_lists_requests_and_rules_without_plaintext() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let http = client();
        let cases = serve_support::traffic();
        for case in &cases {
            send(&http, &serve.url(), &case.req).await.expect("send");
        }
        let json = serve_support::inspector_state(&http, &serve.url(), cases.len()).await;
        // Every text in it (numbers are times, sizes and counts: a CVV like 737 turns up in
        // them by chance).
        let text = strings(&json);
        let requests = json["requests"].as_array().expect("requests");
        assert_eq!(requests.len(), cases.len());
        // Every plaintext value any case protects. (A case's `absent` also lists the names of
        // fields it removes; names are shown, as locations.)
        let locations: String = requests
            .iter()
            .flat_map(|r| r["rules"].as_array().cloned().unwrap_or_default())
            .map(|r| r["location"].to_string())
            .collect();
        for case in cases.iter().filter(|c| c.expect == Expect::Protected) {
            for plain in case
                .absent
                .iter()
                .map(String::as_str)
                .chain(PLAINTEXT.iter().copied())
            {
                if locations.contains(plain) {
                    continue;
                }
                assert!(
                    !text.contains(plain),
                    "{}: plaintext {plain:?} in the inspector",
                    case.name
                );
            }
        }
        let signup = requests
            .iter()
            .find(|r| r["path"] == "/api/users" && r["decision"] == "protected")
            .expect("a protected sign-up");
        assert_eq!(signup["policy"], "signup");
        assert_eq!(signup["status"], 200);
        let rules = signup["rules"].as_array().expect("rules");
        let email = rules
            .iter()
            .find(|r| r["location"] == "json:$['user']['email']")
            .expect("the e-mail's rule");
        assert_eq!(email["action"], "encrypt");
        assert!(
            email["result"]
                .as_str()
                .expect("result")
                .starts_with("\"pe2."),
            "{email}"
        );
        assert!(email.get("original").is_none());
        assert!(rules.iter().any(|r| r["action"] == "mask"), "{rules:?}");
        let rejected = requests
            .iter()
            .find(|r| r["reason"] == "duplicate-key")
            .expect("a rejection");
        assert_eq!(rejected["decision"], "rejected");
        assert_eq!(rejected["status"], 400);
        assert!(requests.iter().any(|r| r["decision"] == "unmatched"));
        // Paging: nothing after the last.
        let last = requests.last().expect("one")["seq"].as_u64().expect("seq");
        let after = send(
            &http,
            &serve.url(),
            &Req {
                method: "GET".into(),
                target: format!("/_pii-edge/api/state?after={last}"),
                ..Req::default()
            },
        )
        .await
        .expect("state");
        assert_eq!(after.json()["requests"], serde_json::json!([]));
    });
}

/// Every string of a JSON value (member names too), one per line, except request ids (a hex
/// time and a counter, which a short value like a CVV can match by chance).
fn strings(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("{s}\n"),
        serde_json::Value::Array(items) => items.iter().map(strings).collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "id")
            .map(|(k, v)| format!("{k}\n{}", strings(v)))
            .collect(),
        _ => String::new(),
    }
}

#[test]
fn show_values_shows_originals_and_only_on_loopback() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let mut args = example_args(&upstream.url());
        args.push("--show-values".into());
        let serve = Serve::start(BIN, &args);
        assert!(serve.wait_stderr("plaintext", 0), "{}", serve.stderr_text());
        let http = client();
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        let state = serve_support::inspector_state(&http, &serve.url(), 1).await;
        let rule = &state["requests"][0]["rules"][0];
        assert_eq!(rule["location"], "query:email");
        assert_eq!(rule["original"], "\"erika@example.de\"");
        assert_eq!(
            state["requests"][0]["query"],
            "email=erika%40example.de&q=shoes"
        );
        // Never where others can reach it.
        let out = std::process::Command::new(BIN)
            .arg("serve")
            .args(example_args(&upstream.url()))
            .args(["--show-values", "--listen", "0.0.0.0:0"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    });
}

#[test]
fn without_the_inspector_nothing_is_kept_and_the_path_stays_reserved() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let mut args = example_args(&upstream.url());
        args.push("--no-inspector".into());
        let serve = Serve::start(BIN, &args);
        let http = client();
        let resp = send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert_eq!(resp.status, 200);
        assert!(resp.header("x-amz-cf-id").is_some());
        assert!(upstream.taken()[0].target.contains("email=pe2."));
        for target in ["/_pii-edge/", "/_pii-edge/api/state"] {
            let resp = send(
                &http,
                &serve.url(),
                &Req {
                    method: "GET".into(),
                    target: target.into(),
                    ..Req::default()
                },
            )
            .await
            .expect("send");
            assert_eq!(resp.status, 404, "{target}");
            assert!(!String::from_utf8_lossy(&resp.body).contains("search"));
        }
        assert!(
            upstream.taken().is_empty(),
            "the reserved path reached the upstream"
        );
        assert!(!serve.stderr_text().contains("inspector at"));
    });
}

#[test]
fn bad_arguments_are_refused_before_listening() {
    for (upstream, needle) in [
        ("https://example.com", "only http://"),
        ("localhost:3000", "scheme"),
    ] {
        let out = std::process::Command::new(BIN)
            .arg("serve")
            .args(example_args(upstream))
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
    let dir = temp_copy("badstart");
    std::fs::write(dir.join("policies/search.yaml"), "name: [unclosed\n").expect("write");
    let result = Serve::try_start(BIN, &dir_args(&dir, "http://127.0.0.1:9"));
    let (code, err) = result.err().expect("refused");
    assert_eq!(code, Some(1));
    assert!(err.contains("search.yaml:"), "{err}");
    assert!(err.contains("nothing is served"), "{err}");
}

/// A copy of the example policies, keys and residency configuration to edit.
fn temp_copy(name: &str) -> std::path::PathBuf {
    let root = serve_support::root();
    let dir = std::env::temp_dir().join(format!("pii-edge-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).expect("mkdir");
    for entry in std::fs::read_dir(root.join("policies")).expect("policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(
                &path,
                dir.join("policies").join(path.file_name().expect("name")),
            )
            .expect("copy");
        }
    }
    for file in ["public.jwks", "tokens.jwks", "private.jwks"] {
        std::fs::copy(root.join("examples/keys").join(file), dir.join(file)).expect("copy");
    }
    // The demo keys have one zone: a residency configuration of that zone.
    std::fs::write(
        dir.join("residency.yaml"),
        "apiVersion: pii-edge/v1\nkind: Residency\nzones:\n  eu-central:\n    regions: [eu-central-1, eu-central-2]\n\
         resolve:\n  - header: { name: x-account-country }\ncountries:\n  DE: eu-central\ndefault: eu-central\n",
    )
    .expect("write");
    dir
}

fn dir_args(dir: &Path, upstream: &str) -> Vec<String> {
    vec![
        "--policies".into(),
        dir.join("policies").display().to_string(),
        "--keys".into(),
        dir.join("public.jwks").display().to_string(),
        "--tokens".into(),
        dir.join("tokens.jwks").display().to_string(),
        "--upstream".into(),
        upstream.into(),
    ]
}

/// Writes `text` to `path` the way editors save: a new file renamed over the old one.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("swp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[test]
fn edits_reload_and_a_bad_edit_keeps_the_last_good_bundle() {
    let rt = runtime();
    rt.block_on(async {
        let dir = temp_copy("reload");
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let mut args = dir_args(&dir, &upstream.url());
        args.extend([
            "--residency".into(),
            dir.join("residency.yaml").display().to_string(),
        ]);
        let serve = Serve::start(BIN, &args);
        let http = client();
        let state = || async {
            send(
                &http,
                &serve.url(),
                &Req {
                    method: "GET".into(),
                    target: "/_pii-edge/api/state".into(),
                    ..Req::default()
                },
            )
            .await
            .expect("state")
            .json()
        };
        let protected = |upstream: &Upstream| {
            let got = upstream.taken();
            assert_eq!(got.len(), 1);
            let text = got[0].text();
            assert!(!text.contains("erika"), "plaintext forwarded: {text}");
            text
        };

        // 1. As loaded: the e-mail is encrypted.
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert!(protected(&upstream).contains("email=pe2."));

        // 2. A bad edit: the search policy no longer parses. The old bundle stays; stderr and
        //    the inspector say why; traffic stays protected, before and after the reload.
        let search_yaml = dir.join("policies/search.yaml");
        let good = std::fs::read_to_string(&search_yaml).expect("read");
        let lines = serve.stderr_lines();
        save(&search_yaml, &good.replace("rules:", "rules: [unclosed"));
        for _ in 0..20 {
            let resp = send(&http, &serve.url(), &search("erika%40example.de"))
                .await
                .expect("send");
            assert_eq!(resp.status, 200);
            assert!(protected(&upstream).contains("email=pe2."));
        }
        assert!(
            serve.wait_stderr("reload failed", lines),
            "{}",
            serve.stderr_text()
        );
        assert!(
            serve.stderr_text().contains("search.yaml:"),
            "{}",
            serve.stderr_text()
        );
        let s = state().await;
        let message = s["bundle"]["error"]["message"]
            .as_str()
            .expect("error shown")
            .to_owned();
        assert!(message.contains("search.yaml:"), "{message}");
        assert!(s["bundle"]["policies"]
            .as_array()
            .expect("names")
            .iter()
            .any(|p| p == "search"));
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert!(protected(&upstream).contains("email=pe2."));
        let lines = serve.stderr_lines();
        save(&search_yaml, &good);
        assert!(
            serve.wait_stderr("reloaded", lines),
            "{}",
            serve.stderr_text()
        );

        // 3. Every policy file gone at once (an editor's or git's intermediate state): kept.
        let lines = serve.stderr_lines();
        let aside = dir.join("aside");
        std::fs::rename(dir.join("policies"), &aside).expect("move");
        std::fs::create_dir(dir.join("policies")).expect("mkdir");
        assert!(
            serve.wait_stderr("reload failed", lines),
            "{}",
            serve.stderr_text()
        );
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert!(protected(&upstream).contains("email=pe2."));
        std::fs::remove_dir(dir.join("policies")).expect("rmdir");
        let lines = serve.stderr_lines();
        std::fs::rename(&aside, dir.join("policies")).expect("move back");
        assert!(
            serve.wait_stderr("reloaded", lines),
            "{}",
            serve.stderr_text()
        );

        // 4. A private key set where the public one belongs: refused, nothing changes.
        let public = std::fs::read_to_string(dir.join("public.jwks")).expect("read");
        let private = std::fs::read_to_string(dir.join("private.jwks")).expect("read");
        let lines = serve.stderr_lines();
        save(&dir.join("public.jwks"), &private);
        assert!(
            serve.wait_stderr("reload failed", lines),
            "{}",
            serve.stderr_text()
        );
        let err = serve.stderr_text();
        assert!(err.contains("private key"), "{err}");
        let d = private
            .split("\"d\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("d");
        assert!(!err.contains(d), "key material on stderr");
        assert!(
            !state().await.to_string().contains(d),
            "key material in the inspector"
        );
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert!(protected(&upstream).contains("email=pe2."));
        let lines = serve.stderr_lines();
        save(&dir.join("public.jwks"), &public);
        assert!(
            serve.wait_stderr("reloaded", lines),
            "{}",
            serve.stderr_text()
        );

        // 5. A bad residency edit: kept too; then fixed.
        let residency = std::fs::read_to_string(dir.join("residency.yaml")).expect("read");
        let lines = serve.stderr_lines();
        save(
            &dir.join("residency.yaml"),
            "apiVersion: pii-edge/v1\nkind: Residency\nzones: 7\n",
        );
        assert!(
            serve.wait_stderr("reload failed", lines),
            "{}",
            serve.stderr_text()
        );
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        assert!(protected(&upstream).contains("email=pe2."));
        let lines = serve.stderr_lines();
        save(&dir.join("residency.yaml"), &residency);
        assert!(
            serve.wait_stderr("reloaded", lines),
            "{}",
            serve.stderr_text()
        );

        // 6. A good edit takes effect: the query e-mail is now hashed. Until the reload, it
        //    is still encrypted: never plaintext in between.
        save(
            &search_yaml,
            &good.replacen("action: encrypt", "action: hash", 1),
        );
        let mut hashed = false;
        for _ in 0..400 {
            send(&http, &serve.url(), &search("erika%40example.de"))
                .await
                .expect("send");
            let text = protected(&upstream);
            if text.contains("email=sha256") {
                hashed = true;
                break;
            }
            assert!(text.contains("email=pe2."), "{text}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            hashed,
            "the edit never took effect: {}",
            serve.stderr_text()
        );
        assert!(state().await["bundle"]["error"].is_null());
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn with_a_receipt_key_every_forwarded_request_carries_a_receipt() {
    let rt = runtime();
    rt.block_on(async {
        let dir = temp_copy("receipt");
        let keygen = std::process::Command::new(BIN)
            .args(["keygen", "--receipt", "--out"])
            .arg(&dir)
            .output()
            .expect("keygen");
        assert!(
            keygen.status.success(),
            "{}",
            String::from_utf8_lossy(&keygen.stderr)
        );
        let key = dir.join("receipt.private.jwk");
        assert!(key.is_file());
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let mut args = dir_args(&dir, &upstream.url());
        args.extend(["--receipt-key".into(), key.display().to_string()]);
        let serve = Serve::start(BIN, &args);
        let http = client();
        // A viewer's own receipt never reaches the upstream.
        let mut req = search("erika%40example.de");
        req.headers
            .push(("X-Pii-Edge-Receipt".into(), "forged".into()));
        let resp = send(&http, &serve.url(), &req).await.expect("send");
        assert_eq!(resp.status, 200);
        let got = upstream.taken();
        let receipts = got[0].header("x-pii-edge-receipt");
        assert_eq!(receipts.len(), 1, "{:?}", got[0].headers);
        assert_ne!(receipts[0], "forged");
        assert_eq!(receipts[0].split('.').count(), 3, "a JWS: {}", receipts[0]);
        // A broken key file is a failed reload: the last good bundle (and its key) stays.
        let good = std::fs::read_to_string(&key).expect("key");
        let lines = serve.stderr_lines();
        save(&key, "{\"kty\": \"OKP\"}");
        assert!(
            serve.wait_stderr("reload failed", lines),
            "{}",
            serve.stderr_text()
        );
        let d = good
            .split("\"d\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("d");
        assert!(!serve.stderr_text().contains(d), "key material on stderr");
        send(&http, &serve.url(), &search("erika%40example.de"))
            .await
            .expect("send");
        let got = upstream.taken();
        assert_eq!(got[0].header("x-pii-edge-receipt").len(), 1);
        assert!(got[0].target.contains("email=pe2."));
        let _ = std::fs::remove_dir_all(dir);
    });
}
