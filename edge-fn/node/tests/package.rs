//! The Lambda@Edge package, loaded the way the Lambda Node.js runtime loads it.
//!
//! Builds the zip (index.js + pii_edge.node + bundle.json), unpacks it into a fresh directory
//! (the function's `/var/task`), then `tests/invoke.js` requires `index.js` from there and
//! calls `handler(event, context)` with every example event, in one process (one cold start,
//! then warm invocations), and the results are checked like the `bootstrap` end-to-end test
//! checks its own.
//!
//! - `PII_EDGE_ZIP=path/to/edge.zip`: test that zip instead of building one
//!   (`.ci/package-checks.sh` passes the release package, `pii-edge package` output works too).
//! - `PII_EDGE_ADDON=path/to/lib.so`: the addon to package (default: this build's
//!   `libpii_edge_node.so`, found next to the test executable's directory).

#[path = "../../tests/support/mod.rs"]
mod support;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{check, EVENTS};

/// The Node.js handler of the package.
const INDEX_JS: &str = include_str!("../index.js");

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pii-edge-package-{tag}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// This build's addon, target/<profile>/libpii_edge_node.so (next to target/<profile>/deps/,
/// where this test runs from). `cargo test` does not build a `cdylib` for integration tests,
/// so it is built here with the same cargo, profile and target directory.
fn default_addon() -> PathBuf {
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
    let status = command.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p pii-edge-node failed");
    profile_dir.join("libpii_edge_node.so")
}

/// Writes a package zip: what `pii-edge package` writes.
fn build_zip(addon: &Path, bundle: &Path, out: &Path) {
    let file = fs::File::create(out).expect("zip file");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Fast: this zip holds a debug build; the release package's size is checked by
        // .ci/package-checks.sh.
        .compression_level(Some(1))
        .unix_permissions(0o644);
    let entries: [(&str, Vec<u8>); 3] = [
        ("index.js", INDEX_JS.as_bytes().to_vec()),
        (
            "pii_edge.node",
            fs::read(addon).expect("addon (build pii-edge-node first)"),
        ),
        ("bundle.json", fs::read(bundle).expect("bundle")),
    ];
    for (name, bytes) in entries {
        zip.start_file(name, options).expect("zip entry");
        zip.write_all(&bytes).expect("zip write");
    }
    zip.finish().expect("zip finish");
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The package unpacked into a fresh task root, as the Lambda service does: the zip of
/// `PII_EDGE_ZIP`, or one built from this build's addon. Returns the work directory (remove it
/// when done) and the task root in it; `None` when node is missing (the test is skipped).
fn unpacked_package(tag: &str) -> Option<(PathBuf, PathBuf)> {
    if !node_available() {
        // .ci/package-checks.sh installs node and runs this test again; it must not be missed there.
        assert!(
            std::env::var_os("PII_EDGE_REQUIRE_NODE").is_none(),
            "node is required"
        );
        eprintln!("SKIPPED: node not found (run .ci/package-checks.sh)");
        return None;
    }
    let work = temp_dir(tag);
    let zip_path = match std::env::var_os("PII_EDGE_ZIP") {
        Some(path) => PathBuf::from(path),
        None => {
            let addon = std::env::var_os("PII_EDGE_ADDON")
                .map(PathBuf::from)
                .unwrap_or_else(default_addon);
            let out = work.join("edge.zip");
            build_zip(
                &addon,
                &support::root().join("examples/bundle/bundle.json"),
                &out,
            );
            out
        }
    };

    // Unpack like the Lambda service does into the function's task root.
    let task_root = work.join("task");
    let mut archive =
        zip::ZipArchive::new(fs::File::open(&zip_path).expect("open zip")).expect("read zip");
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        ["bundle.json", "index.js", "pii_edge.node"],
        "package contents"
    );
    archive.extract(&task_root).expect("unzip");
    Some((work, task_root))
}

#[test]
fn package_runs_under_node_like_lambda() {
    let Some((work, task_root)) = unpacked_package("work") else {
        return;
    };

    // The bundle in the package holds no private key.
    let bundle: Value = serde_json::from_str(
        &fs::read_to_string(task_root.join("bundle.json")).expect("bundle.json"),
    )
    .expect("bundle json");
    for key in bundle["keys"]["keys"].as_array().expect("keys") {
        assert!(key.get("d").is_none(), "private key in the package");
    }

    // One node process: init once, then every example event.
    let out = work.join("results.json");
    let invoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invoke.js");
    let mut command = Command::new("node");
    command
        .arg(&invoke)
        .arg(&task_root)
        .arg("index.handler")
        .arg(&out);
    for (name, _) in EVENTS {
        command.arg(support::root().join("examples/events").join(name));
    }
    // And one CloudFront never sends: a header entry whose `key` names another header.
    let mismatch = work.join("header-key-mismatch.json");
    fs::write(&mismatch, support::HEADER_KEY_MISMATCH_EVENT).expect("event");
    command.arg(&mismatch);
    let started = Instant::now();
    let output = command.output().expect("run node");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "node took too long"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node failed:\n{stdout}\n{stderr}");

    let results: Value =
        serde_json::from_str(&fs::read_to_string(&out).expect("results")).expect("results json");
    let results = results["results"].as_array().expect("results array");
    assert_eq!(results.len(), EVENTS.len() + 1);
    for ((name, expect), output) in EVENTS.iter().zip(results) {
        let input: Value = serde_json::from_str(&support::event(name)).expect("event json");
        check(name, &input, output, *expect);
    }
    support::check_header_key_mismatch_refused(&results[EVENTS.len()]);

    // The function's log (stdout): one EMF line per request, no plaintext.
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), EVENTS.len() + 1, "log:\n{stdout}");
    for line in lines {
        for plain in support::PLAINTEXT {
            assert!(!line.contains(plain), "plaintext {plain:?} logged");
        }
    }
    let _ = fs::remove_dir_all(&work);
}

/// index.js passes the body's data to the addon apart from the event (`handleSplit`): its
/// answers must be, byte for byte, what the whole-event path (`handle`) answers, for events
/// with a body (replaced or not), without one, and rejected ones; odd bodies take the
/// whole-event path. The package's bundle with `encrypt` rules turned into `redact` makes the
/// answers deterministic.
#[test]
fn split_path_answers_like_the_whole_event_path() {
    let Some((work, task_root)) = unpacked_package("split") else {
        return;
    };
    let bundle_path = task_root.join("bundle.json");
    let mut bundle: Value =
        serde_json::from_str(&fs::read_to_string(&bundle_path).expect("bundle.json"))
            .expect("bundle json");
    for policy in bundle["policies"].as_array_mut().expect("policies") {
        for rule in policy["rules"].as_array_mut().expect("rules") {
            if rule["action"] == "encrypt" {
                rule["action"] = Value::from("redact");
            }
        }
    }
    fs::write(&bundle_path, bundle.to_string()).expect("write bundle");

    let out = work.join("split.json");
    let mut command = Command::new("node");
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/split.js"))
        .arg(&task_root)
        .arg(&out);
    for (name, _) in EVENTS {
        command.arg(support::root().join("examples/events").join(name));
    }
    let output = command.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node failed:\n{stderr}");
    let result: Value =
        serde_json::from_str(&fs::read_to_string(&out).expect("result")).expect("result json");
    let made_up = 6;
    assert_eq!(result["checked"], EVENTS.len() + made_up, "{result}");
    assert!(result["split"].as_u64().unwrap_or(0) >= 3, "{result}");

    // Both paths log: one line per request (each event ran twice), no plaintext.
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 2 * (EVENTS.len() + made_up), "log:\n{stdout}");
    for line in lines {
        for plain in support::PLAINTEXT {
            assert!(!line.contains(plain), "plaintext {plain:?} logged");
        }
    }
    let _ = fs::remove_dir_all(&work);
}
