//! examples/compose/: a team's own viewer-request handler that calls `protect(event)` from the
//! package's index.js, loaded and invoked under node the way the Lambda Node.js runtime does
//! (tests/invoke.js). Checks the four paths of the example: refused by the team's own check,
//! protected and tagged, protected after the team's path rewrite, and pii-edge's own rejection
//! passed through.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// This build's addon (built here: `cargo test` does not build a `cdylib` for integration
/// tests), or `PII_EDGE_ADDON`.
fn addon() -> PathBuf {
    if let Some(path) = std::env::var_os("PII_EDGE_ADDON") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let target_dir = profile_dir.parent().expect("target dir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--lib", "-p", "pii-edge-node", "--target-dir"])
        .arg(target_dir);
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        command.arg("--release");
    }
    assert!(command.status().expect("cargo build").success());
    profile_dir.join("libpii_edge_node.so")
}

/// An example event with its request changed by `edit`, written to `dir/name`.
fn event(dir: &Path, from: &str, name: &str, edit: impl Fn(&mut Value)) -> PathBuf {
    let mut value: Value = serde_json::from_str(&support::event(from)).expect("event json");
    edit(&mut value["Records"][0]["cf"]["request"]);
    let path = dir.join(name);
    fs::write(&path, value.to_string()).expect("write event");
    path
}

fn with_api_key(request: &mut Value) {
    request["headers"]["x-api-key"] = serde_json::json!([{"key": "X-Api-Key", "value": "k"}]);
}

fn body_text(request: &Value) -> String {
    let data = request["body"]["data"].as_str().expect("body data");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64"),
    )
    .expect("utf-8")
}

#[test]
fn composed_handler_runs_under_node() {
    if !node_available() {
        assert!(
            std::env::var_os("PII_EDGE_REQUIRE_NODE").is_none(),
            "node is required"
        );
        eprintln!("SKIPPED: node not found (run .ci/package-checks.sh)");
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose");
    let _ = fs::remove_dir_all(&work);
    let task = work.join("task");
    fs::create_dir_all(&task).expect("task dir");
    let root = support::root();
    // The layout `pii-edge package --compose examples/compose/index.js` writes.
    fs::copy(
        root.join("examples/compose/index.js"),
        task.join("index.js"),
    )
    .expect("index.js");
    fs::copy(root.join("edge-fn/node/index.js"), task.join("pii-edge.js")).expect("pii-edge.js");
    fs::copy(addon(), task.join("pii_edge.node")).expect("addon");
    fs::copy(
        root.join("examples/bundle/bundle.json"),
        task.join("bundle.json"),
    )
    .expect("bundle");

    let events = [
        event(&work, "signup-json.json", "no-key.json", |_| {}),
        event(&work, "signup-json.json", "signup.json", with_api_key),
        event(&work, "signup-json.json", "v1.json", |r| {
            with_api_key(r);
            r["uri"] = Value::from("/v1/users");
        }),
        event(
            &work,
            "signup-malformed.json",
            "malformed.json",
            with_api_key,
        ),
    ];
    let out = work.join("results.json");
    let output = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invoke.js"))
        .arg(&task)
        .arg("index.handler")
        .arg(&out)
        .args(&events)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node failed:\n{stdout}\n{stderr}");
    let results: Value =
        serde_json::from_str(&fs::read_to_string(&out).expect("results")).expect("json");
    let results = results["results"].as_array().expect("results");

    // 1. The team's own refusal, before pii-edge.
    assert_eq!(results[0]["status"], "401", "{}", results[0]);

    // 2. Protected by pii-edge, then tagged by the team.
    for (i, uri) in [(1, "/api/users"), (2, "/api/users")] {
        let r = &results[i];
        assert!(r.get("status").is_none(), "forwarded: {r}");
        assert_eq!(r["uri"], uri);
        assert_eq!(r["headers"]["x-team-route"][0]["value"], "checkout");
        let body = body_text(r);
        assert!(body.contains("pe1.") || body.contains("pe2."), "{body}");
        for plain in support::PLAINTEXT {
            assert!(
                !body.contains(plain),
                "plaintext {plain:?} forwarded: {body}"
            );
        }
    }

    // 3. pii-edge's rejection goes back as it is.
    assert_eq!(results[3]["status"], "400", "{}", results[3]);
    let _ = fs::remove_dir_all(&work);
}
