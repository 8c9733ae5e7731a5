//! What a team adopting pii-edge reaches for first (issue 17), through the real `pii-edge`
//! binary: framework routes in `check`, what else `check` catches, tokens across a key
//! rotation, key files, the demo keys and the addon checks of `package`, and the documents
//! that must agree with the code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `pii-edge ARGS` in the repository root, stdout and stderr captured, never a panic.
fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("run pii-edge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked"),
        "pii-edge {args:?} panicked:\n{err}"
    );
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("pii-edge-adoption")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    s(&path)
}

const HEAD: &str = "apiVersion: pii-edge/v1\nzone: eu-central\n";

#[test]
fn check_shows_the_openapi_form_of_each_framework_route() {
    let dir = scratch("routes");
    let file = write(
        &dir,
        "routes.yaml",
        &format!(
            "{HEAD}name: routes\nmatch:\n  paths:\n    - \"/v1/users/{{user_id}}/profile\"\n    - \"/api/users/:id\"\n    - \"/orders/<int:order_id>\"\n    - \"/files/{{id}}.json\"\nrules:\n  - select: {{ json: $.email }}\n    action: redact\n"
        ),
    );
    let out = run(&["check", &file]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{file}:7:7: `/api/users/:id` uses an Express-style parameter"
        )),
        "{err}"
    );
    assert!(err.contains("write it as `/api/users/{id}`"), "{err}");
    assert!(
        err.contains(&format!(
            "{file}:8:7: `/orders/<int:order_id>` uses a Flask-style parameter"
        )),
        "{err}"
    );
    assert!(err.contains("write it as `/orders/{order_id}`"), "{err}");
    // The OpenAPI forms are fine.
    assert!(!err.contains(":6:") && !err.contains(":9:"), "{err}");

    // ... and they match: the request reaches the policy.
    let ok = write(
        &dir,
        "openapi.yaml",
        &format!(
            "{HEAD}name: openapi\nmatch:\n  paths: [\"/v1/users/{{user_id}}/profile\", \"/files/{{id}}.json\"]\nrules:\n  - select: {{ header: x-email }}\n    action: redact\n"
        ),
    );
    let out = run(&["check", &ok]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for path in ["/v1/users/42/profile", "/files/report.json"] {
        let out = run(&[
            "apply",
            "-p",
            &ok,
            "--path",
            path,
            "--header",
            "x-email: a@b.de",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let applied: Value = serde_json::from_str(&stdout(&out)).expect("json");
        assert_eq!(applied["outcome"], "protected", "{path}: {applied}");
    }
}

#[test]
fn check_catches_a_missing_zone_and_shadowed_routes() {
    let dir = scratch("check");
    let no_zone = write(
        &dir,
        "a-no-zone.yaml",
        "apiVersion: pii-edge/v1\nname: no-zone\nmatch: { paths: [\"/a\"] }\nrules:\n  - select: { header: x-ssn }\n    action: encrypt\n",
    );
    let out = run(&["check", &no_zone]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(&format!(
            "{no_zone}:6:5: policy `no-zone` encrypts but has no `zone`"
        )),
        "{}",
        stderr(&out)
    );
    // With the residency configuration that resolves zones, it is valid.
    let out = run(&[
        "check",
        "--residency",
        "examples/residency/residency.yaml",
        &no_zone,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let users = dir.join("users");
    std::fs::create_dir_all(&users).expect("dir");
    write(
        &users,
        "a-all.yaml",
        &format!("{HEAD}name: all-users\nmatch: {{ paths: [\"/api/users/**\"] }}\nrules:\n  - select: {{ header: x-a }}\n    action: redact\n"),
    );
    let later = write(
        &users,
        "b-profile.yaml",
        &format!("{HEAD}name: profile\nmatch:\n  methods: [PUT]\n  paths:\n    - /api/orders\n    - \"/api/users/{{id}}/profile\"\nrules:\n  - select: {{ header: x-b }}\n    action: redact\n"),
    );
    let out = run(&["check", &s(&users)]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{later}:8:7: policy `profile` is shadowed here: the earlier policy `all-users` matches requests to `/api/users/{{id}}/profile` (PUT) first")),
        "{err}"
    );
    assert!(!err.contains(":7:7"), "/api/orders is not shadowed: {err}");
}

#[test]
fn tokens_under_every_key_after_a_rotation() {
    let dir = scratch("tokens");
    let d = s(&dir);
    let out = run(&["keygen", "--token-domain", "email", "--out", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let tokens = format!("{d}/tokens.jwks");
    let policy = write(
        &dir,
        "users.yaml",
        "apiVersion: pii-edge/v1\nname: users\nmatch: { paths: [\"/users\"] }\nrules:\n  - select: { json: $.email }\n    action: tokenize\n    domain: email\n    normalize: [trim, fullwidth, casefold]\n",
    );
    let edge_token = |spelling: &str| -> String {
        let body = serde_json::json!({ "email": spelling }).to_string();
        let out = run(&[
            "apply",
            "-p",
            &policy,
            "--tokens",
            &tokens,
            "--method",
            "POST",
            "--path",
            "/users",
            "--header",
            "content-type: application/json",
            "--body",
            &body,
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let applied: Value = serde_json::from_str(&stdout(&out)).expect("json");
        let body = applied["request"]["body"]
            .as_str()
            .expect("body text")
            .to_string();
        let body: Value = serde_json::from_str(&body).expect("body json");
        body["email"].as_str().expect("token").to_string()
    };
    let stored = edge_token("Ann@Example.com");
    assert_eq!(stored, edge_token("  ann@EXAMPLE.com"));

    // Rotate: a second key is refused without --rotate, added with it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = run(&["keygen", "--token-domain", "email", "--out", &d]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("--rotate"), "{}", stderr(&out));
    let out = run(&["keygen", "--token-domain", "email", "--rotate", "--out", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let now = edge_token("ann@example.com");
    assert_ne!(now, stored, "the new key tokenizes");

    // The origin's lookup: one token per key, the current first, the normalization of the
    // policy's rule.
    let out = run(&[
        "token",
        "--domain",
        "email",
        "--tokens",
        &tokens,
        "--policy",
        &policy,
        "ANN@example.com",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with(&format!("{now} (current)")), "{lines:?}");
    assert!(lines[1].ends_with(&stored), "{lines:?}");
    let out = run(&[
        "token",
        "--domain",
        "email",
        "--tokens",
        &tokens,
        "--normalize",
        "trim,fullwidth,casefold",
        "--format",
        "json",
        "ann@example.com",
    ]);
    let listed: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(listed[1]["token"], Value::from(stored.as_str()));
    assert_eq!(listed[0]["current"], true);
    let out = run(&[
        "token",
        "--domain",
        "email",
        "--tokens",
        &tokens,
        "--normalize",
        "nfc",
        "x",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("unknown normalization step `nfc`"));
}

#[test]
fn single_key_files_and_the_assembled_edge_key_set() {
    let a = scratch("region-a");
    let b = scratch("region-b");
    for (dir, region) in [(&a, "eu-central-1"), (&b, "eu-central-2")] {
        let out = run(&[
            "keygen",
            "--zone",
            "eu-central",
            "--region",
            region,
            "--out",
            &s(dir),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let single = |dir: &Path, suffix: &str| -> String {
        std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| s(&e.expect("entry").path()))
            .find(|p| p.ends_with(suffix))
            .expect("key file")
    };
    let (a_public, b_public) = (single(&a, ".public.jwk"), single(&b, ".public.jwk"));
    let out = run(&["keys", "assemble", &a_public, &b_public]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let edge = scratch("edge");
    let edge_keys = write(&edge, "public.jwks", &stdout(&out));
    assert!(stderr(&out).contains("zone eu-central: 2 keys for regions eu-central-1, eu-central-2"));
    let set: Value = serde_json::from_str(&stdout(&out)).expect("jwks");
    assert_eq!(set["keys"].as_array().map(Vec::len), Some(2));
    // A private key never travels.
    let out = run(&["keys", "assemble", &a_public, &single(&b, ".private.jwk")]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("is a private key"),
        "{}",
        stderr(&out)
    );

    // Seal to the assembled set; each region opens with its single <kid>.private.jwk.
    let sealed = run(&[
        "apply",
        "-p",
        "policies/",
        "--event",
        "examples/events/signup-json.json",
        "--keys",
        &edge_keys,
    ]);
    assert_eq!(code(&sealed), 0, "{}", stderr(&sealed));
    let protected = write(&edge, "protected.json", &stdout(&sealed));
    for dir in [&a, &b] {
        let out = run(&[
            "reveal",
            "--keys",
            &single(dir, ".private.jwk"),
            "--request",
            &protected,
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("erika@example.de"));
    }
}

/// An x86_64 ELF with the version needs `package` reads, padded to look like an addon.
fn addon(dir: &Path, name: &str, versions: &[&str]) -> String {
    let mut bytes = edge_fn::elf::fake_shared_object(versions);
    bytes.resize(4096, 0);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("addon");
    s(&path)
}

fn package(extra: &[&str], keys: &str, tokens: &str, addon: &str, out: &str) -> Output {
    let mut args = vec![
        "package",
        "--policies",
        "policies/",
        "--keys",
        keys,
        "--tokens",
        tokens,
        "--addon",
        addon,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn package_refuses_the_demo_keys_unless_allowed() {
    let dir = scratch("demo");
    let good = addon(&dir, "good.node", &["GLIBC_2.2.5", "GLIBC_2.34"]);
    let zip = dir.join("edge.zip");
    let (demo_public, demo_tokens) = ("examples/keys/public.jwks", "examples/keys/tokens.jwks");
    let out = package(&[], demo_public, demo_tokens, &good, &s(&zip));
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("demo key"), "{err}");
    assert!(err.contains("private key is published"), "{err}");
    assert!(err.contains("--allow-demo-keys"), "{err}");
    assert!(!zip.exists());

    // Each demo key is known by its id: the public keys and the token keys.
    let public: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(demo_public)).expect("demo public"),
    )
    .expect("json");
    let tokens = pii_core::TokenKeys::from_jwks(
        &std::fs::read_to_string(root().join(demo_tokens)).expect("demo tokens"),
    )
    .expect("demo tokens");
    let own = scratch("own-keys");
    let out = run(&[
        "keygen",
        "--zone",
        "eu-central",
        "--region",
        "eu-central-1",
        "--region",
        "eu-central-2",
        "--out",
        &s(&own),
    ]);
    assert_eq!(code(&out), 0);
    let out = run(&[
        "keygen",
        "--token-domain",
        "email",
        "--token-domain",
        "patient",
        "--out",
        &s(&own),
    ]);
    assert_eq!(code(&out), 0);
    let own_public = s(&own.join("public.jwks"));
    let own_tokens = s(&own.join("tokens.jwks"));
    let out = package(&[], &own_public, demo_tokens, &good, &s(&zip));
    assert_eq!(code(&out), 1);
    for key in tokens.keys() {
        assert!(stderr(&out).contains(key.kid()), "{}", stderr(&out));
    }
    let out = package(&[], demo_public, &own_tokens, &good, &s(&zip));
    assert_eq!(code(&out), 1);
    for key in public["keys"].as_array().expect("keys") {
        let kid = key["kid"].as_str().expect("kid");
        assert!(stderr(&out).contains(kid), "{}", stderr(&out));
    }

    // Own keys: written, and the addon used is named.
    let out = package(&[], &own_public, &own_tokens, &good, &s(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "addon: {good} (x86_64, needs GLIBC_2.34, at most 2.34"
        )),
        "{}",
        stdout(&out)
    );
    // The demo keys, when asked for.
    let out = package(
        &["--allow-demo-keys"],
        demo_public,
        demo_tokens,
        &good,
        &s(&zip),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn package_reads_the_glibc_the_addon_needs_and_packages_a_composed_handler() {
    let dir = scratch("addon");
    let zip = dir.join("edge.zip");
    let (public, tokens) = ("examples/keys/public.jwks", "examples/keys/tokens.jwks");
    let too_new = addon(&dir, "too-new.node", &["GLIBC_2.2.5", "GLIBC_2.39"]);
    let out = package(&["--allow-demo-keys"], public, tokens, &too_new, &s(&zip));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("needs GLIBC_2.39, newer than the 2.34"),
        "{}",
        stderr(&out)
    );
    assert!(!zip.exists());
    let mut stripped = edge_fn::elf::fake_shared_object(&["GLIBC_2.17"]);
    stripped[0x3c] = 0; // no section table
    let stripped_path = dir.join("stripped.node");
    std::fs::write(&stripped_path, stripped).expect("write");
    let out = package(
        &["--allow-demo-keys"],
        public,
        tokens,
        &s(&stripped_path),
        &s(&zip),
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no section table"),
        "{}",
        stderr(&out)
    );

    // --compose: the team's handler is index.js, pii-edge's is pii-edge.js beside it.
    let good = addon(&dir, "good.node", &["GLIBC_2.17"]);
    let team = write(
        &dir,
        "team.js",
        "exports.handler = async (e) => e.Records[0].cf.request;\n",
    );
    let out = package(
        &["--allow-demo-keys", "--compose", &team],
        public,
        tokens,
        &good,
        &s(&zip),
    );
    assert_eq!(
        code(&out),
        1,
        "a handler that never calls protect is refused"
    );
    assert!(
        stderr(&out).contains("does not call pii-edge"),
        "{}",
        stderr(&out)
    );
    let example = s(&root().join("examples/compose/index.js"));
    let out = package(
        &["--allow-demo-keys", "--compose", &example],
        public,
        tokens,
        &good,
        &s(&zip),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let archive = zip::ZipArchive::new(std::fs::File::open(&zip).expect("zip")).expect("zip");
    let mut names: Vec<&str> = archive.file_names().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["bundle.json", "index.js", "pii-edge.js", "pii_edge.node"]
    );
}

#[test]
fn documents_agree_with_the_code() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).expect(p);
    let policy_doc = read("docs/policy.md");
    for code in ["ambiguous-name", "no-zone", "zone-unavailable"] {
        assert!(
            policy_doc.contains(&format!("`{code}`")),
            "docs/policy.md lacks {code}"
        );
    }
    let readme = read("README.md");
    for line in readme.lines().filter(|l| l.contains("cargo install")) {
        assert!(line.contains("--locked"), "README: {line}");
    }
    // The deployment guide: keys first, the addon built, where to build it, tokens, the
    // origin's private keys, the failover it really gives, and advice that fits an HTTP API.
    let guide = read("examples/deploy/README.md");
    let at = |needle: &str| {
        guide
            .find(needle)
            .unwrap_or_else(|| panic!("guide lacks {needle:?}"))
    };
    assert!(at("pii-edge keygen --zone") < at("pii-edge package --policies"));
    assert!(at("pii-edge keys assemble") < at("pii-edge package --policies"));
    assert!(
        at("cargo build --locked --release -p pii-edge-node --lib")
            < at("pii-edge package --policies")
    );
    for needle in [
        "glibc 2.34 or older",
        "docker run --rm --platform linux/amd64",
        "--receipt-key keys/receipt.private.jwk --out edge.zip",
        "## 2. The origins: private keys",
        "aws secretsmanager create-secret",
        "PrivateKeyring::from_jwk_or_jwks",
        "reads\nincluded",
        "AWS WAF cannot be\n    attached to an HTTP API",
    ] {
        assert!(guide.contains(needle), "guide lacks {needle:?}");
    }
    assert!(
        !guide.contains("examples/keys/public.jwks"),
        "the guide never packages the demo keys"
    );

    // The Node README and index.js name the runtimes the template allows, and no other.
    let template = read("examples/deploy/template.yaml");
    let allowed = template
        .lines()
        .skip_while(|l| !l.starts_with("  NodeRuntime:"))
        .find_map(|l| l.trim().strip_prefix("AllowedValues:"))
        .expect("NodeRuntime AllowedValues")
        .to_string();
    let runtimes: Vec<String> = allowed
        .trim_matches(|c| c == ' ' || c == '[' || c == ']')
        .split(',')
        .map(|r| r.trim().to_string())
        .collect();
    assert!(!runtimes.is_empty());
    for doc in ["edge-fn/node/README.md", "edge-fn/node/index.js"] {
        let text = read(doc);
        for runtime in &runtimes {
            assert!(
                text.contains(runtime.as_str()),
                "{doc} does not name {runtime}"
            );
        }
        assert!(
            !text.contains("20.x") && !text.contains("Node.js 20"),
            "{doc} names Node.js 20"
        );
    }
}
