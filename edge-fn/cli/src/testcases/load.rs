//! Loading test cases: which directories, policies and case files a run covers, the case file
//! format (`policies/README.md`), and the CloudFront event each case becomes.

use std::fmt;
use std::path::{Path, PathBuf};

use edge_fn::cloudfront::{self, CloudFrontEvent};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::shared::files::{read_bytes, read_text, shown};
use crate::shared::request::{RequestDoc, Values};
use crate::shared::CliError;

/// One run over a policy directory, maybe narrowed to one policy or one case.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Job {
    pub(super) dir: PathBuf,
    pub(super) policy_stem: Option<String>,
    pub(super) case: Option<PathBuf>,
}

/// The runs the command-line paths ask for: a directory runs every policy's cases, a policy
/// file `X.yaml` its cases, a case file `X.tests/case.yaml` that case.
pub(super) fn jobs(paths: &[PathBuf]) -> Result<Vec<Job>, CliError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.push(Job {
                dir: path.clone(),
                policy_stem: None,
                case: None,
            });
            continue;
        }
        if !path.is_file() {
            return Err(CliError::new(format!(
                "{}: no such file or directory",
                shown(path)
            )));
        }
        let parent = non_empty(path.parent());
        let parent_name = parent
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = parent_name.strip_suffix(".tests") {
            out.push(Job {
                dir: non_empty(parent.parent()),
                policy_stem: Some(stem.to_string()),
                case: Some(path.clone()),
            });
        } else {
            out.push(Job {
                dir: parent,
                policy_stem: Some(stem(path)),
                case: None,
            });
        }
    }
    Ok(out)
}

/// A directory, `.` for the empty parent of a bare file name.
fn non_empty(dir: Option<&Path>) -> PathBuf {
    match dir {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The `*.yaml` (and `*.yml`) files directly in a directory, sorted: the one loader's rule.
pub(super) use pii_core::load::yaml_files;

/// A file's name without its extension.
pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The case directories (`X.tests`) of a policy directory whose policy `X.yaml` is missing,
/// sorted: they are reported as failures, never skipped.
pub(super) fn orphan_case_dirs(dir: &Path, policy_stems: &[String]) -> Vec<String> {
    let mut orphans: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter_map(|n| n.strip_suffix(".tests").map(str::to_string))
                .filter(|s| !policy_stems.contains(s))
                .collect()
        })
        .unwrap_or_default();
    orphans.sort();
    orphans
}

/// A test case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Case {
    pub(super) description: String,
    #[serde(default)]
    request: Option<RequestDoc>,
    #[serde(default)]
    event: Option<String>,
    pub(super) expect: Expect,
}

/// The outcome a case expects.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum OutcomeKind {
    Protected,
    Rejected,
    Unmatched,
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutcomeKind::Protected => "protected",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Unmatched => "unmatched",
        })
    }
}

/// A case's `expect:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Expect {
    pub(super) outcome: OutcomeKind,
    #[serde(default)]
    pub(super) policy: Option<String>,
    #[serde(default)]
    pub(super) status: Option<u16>,
    #[serde(default)]
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) fields: Option<Ordered<Value>>,
    #[serde(default)]
    pub(super) unchanged: Vec<String>,
    #[serde(default)]
    pub(super) absent: Vec<String>,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) query: Option<String>,
    #[serde(default)]
    pub(super) headers: Option<Ordered<Values>>,
    #[serde(default)]
    pub(super) round_trip: bool,
}

impl Expect {
    /// Only `outcome`, `policy`, `status` and `reason`: nothing about a protected request.
    pub(super) fn only_outcome_keys(&self) -> bool {
        self.fields.is_none()
            && self.unchanged.is_empty()
            && self.absent.is_empty()
            && self.body.is_none()
            && self.query.is_none()
            && self.headers.is_none()
            && !self.round_trip
    }
}

/// A map that keeps the order of the file.
#[derive(Debug)]
pub(super) struct Ordered<T>(pub(super) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a case expects of one protected value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FieldExpect {
    Encrypted,
    Tokenized(Option<String>),
    Hashed,
    Removed,
    Failed,
    Masked(String),
    Replaced(Value),
    Equals(Value),
}

impl fmt::Display for FieldExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpect::Encrypted => {
                f.write_str("encrypted (an envelope that opens to the original)")
            }
            FieldExpect::Tokenized(None) => f.write_str("tokenized"),
            FieldExpect::Tokenized(Some(d)) => write!(f, "tokenized in domain `{d}`"),
            FieldExpect::Hashed => f.write_str("hashed"),
            FieldExpect::Removed => f.write_str("removed"),
            FieldExpect::Failed => {
                f.write_str("removed because the action did not fit (onError: remove)")
            }
            FieldExpect::Masked(m) => write!(f, "masked to {m:?}"),
            FieldExpect::Replaced(v) => write!(f, "replaced by {v}"),
            FieldExpect::Equals(v) => write!(f, "equal to {v}"),
        }
    }
}

impl FieldExpect {
    /// An expectation as written in `fields:`.
    pub(super) fn parse(value: &Value) -> Result<FieldExpect, String> {
        const HELP: &str = "use encrypted, tokenized, hashed, removed, failed, {masked: TEXT}, {tokenized: DOMAIN}, {replaced: VALUE} or {equals: VALUE}";
        match value {
            Value::String(s) => match s.as_str() {
                "encrypted" => Ok(FieldExpect::Encrypted),
                "tokenized" => Ok(FieldExpect::Tokenized(None)),
                "hashed" => Ok(FieldExpect::Hashed),
                "removed" => Ok(FieldExpect::Removed),
                "failed" => Ok(FieldExpect::Failed),
                other => Err(format!("unknown expectation `{other}`: {HELP}")),
            },
            Value::Object(map) if map.len() == 1 => {
                let (k, v) = map.iter().next().ok_or_else(|| HELP.to_string())?;
                match (k.as_str(), v) {
                    ("masked", Value::String(s)) => Ok(FieldExpect::Masked(s.clone())),
                    ("tokenized", Value::String(s)) => Ok(FieldExpect::Tokenized(Some(s.clone()))),
                    ("replaced", v) => Ok(FieldExpect::Replaced(v.clone())),
                    ("equals", v) => Ok(FieldExpect::Equals(v.clone())),
                    _ => Err(format!("unknown expectation `{k}`: {HELP}")),
                }
            }
            _ => Err(format!("unknown expectation {value}: {HELP}")),
        }
    }
}

/// Reads a case file; a YAML problem is one message `FILE:LINE:COL: not a valid test case: ...`.
pub(super) fn read_case(path: &Path) -> Result<Case, String> {
    let text = read_text(path).map_err(|e| e.to_string())?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let msg = e.without_snippet().to_string();
        let msg = msg.lines().next().unwrap_or(&msg);
        let msg = msg.strip_prefix("error: ").unwrap_or(msg);
        let msg = match msg.rfind(" at line ") {
            Some(i) => &msg[..i],
            None => msg,
        };
        let msg = match msg.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") => rest,
            _ => msg,
        };
        let at = e
            .location()
            .map(|l| format!("{}:{}:{}: ", shown(path), l.line(), l.column()))
            .unwrap_or_default();
        format!("{at}not a valid test case: {msg}")
    })
}

impl Case {
    /// The CloudFront event the case runs as, as the deployed function would receive it: the
    /// `event:` file (relative to the case file `path`) as it is, or for a `request:` the
    /// viewer-request event CloudFront would send for it (`cloudfront::from_core`).
    pub(super) fn event(&self, path: &Path) -> Result<CloudFrontEvent, String> {
        match (&self.request, &self.event) {
            (Some(_), Some(_)) => Err("give either `request` or `event`, not both".into()),
            (None, None) => Err("give a `request` or an `event`".into()),
            (Some(doc), None) => {
                let request = doc.to_request().map_err(|e| format!("request: {e}"))?;
                Ok(cloudfront::viewer_request_event(cloudfront::from_core(
                    &request,
                )))
            }
            (None, Some(event)) => {
                let event_path = path.parent().unwrap_or(Path::new(".")).join(event);
                let bytes = read_bytes(&event_path).map_err(|e| e.to_string())?;
                event_from_bytes(&bytes).map_err(|e| format!("{}: {e}", shown(&event_path)))
            }
        }
    }
}

/// A CloudFront request event, or the bare request object a trigger returns (then run as a
/// viewer-request event). Response events are refused: policies run on requests.
pub(super) fn event_from_bytes(bytes: &[u8]) -> Result<CloudFrontEvent, String> {
    cloudfront::request_event(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pii-edge-testcases-load-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn jobs_follow_what_each_path_names() {
        let dir = scratch("jobs");
        let cases = dir.join("signup.tests");
        std::fs::create_dir_all(&cases).expect("cases");
        std::fs::write(dir.join("signup.yaml"), "").expect("policy");
        std::fs::write(cases.join("01.yaml"), "").expect("case");
        let found =
            jobs(&[dir.clone(), dir.join("signup.yaml"), cases.join("01.yaml")]).expect("jobs");
        assert_eq!(
            found,
            [
                Job {
                    dir: dir.clone(),
                    policy_stem: None,
                    case: None
                },
                Job {
                    dir: dir.clone(),
                    policy_stem: Some("signup".into()),
                    case: None
                },
                Job {
                    dir: dir.clone(),
                    policy_stem: Some("signup".into()),
                    case: Some(cases.join("01.yaml"))
                },
            ]
        );
        let missing = jobs(&[dir.join("nope.yaml")]).expect_err("missing");
        assert!(missing.to_string().contains("no such file or directory"));
        assert_eq!(yaml_files(&dir), [dir.join("signup.yaml")]);
        std::fs::create_dir_all(dir.join("gone.tests")).expect("orphan");
        assert_eq!(orphan_case_dirs(&dir, &["signup".into()]), ["gone"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn field_expectations_parse_and_refuse_unknown_ones() {
        let parse = |v: Value| FieldExpect::parse(&v);
        assert_eq!(parse("encrypted".into()), Ok(FieldExpect::Encrypted));
        assert_eq!(
            parse(serde_json::json!({"tokenized": "email"})),
            Ok(FieldExpect::Tokenized(Some("email".into())))
        );
        assert_eq!(
            parse(serde_json::json!({"masked": "E***"})),
            Ok(FieldExpect::Masked("E***".into()))
        );
        assert_eq!(
            parse(serde_json::json!({"equals": 3})),
            Ok(FieldExpect::Equals(3.into()))
        );
        let err = parse("sealed".into()).expect_err("unknown");
        assert!(err.starts_with("unknown expectation `sealed`"), "{err}");
        assert!(parse(serde_json::json!({"masked": 1})).is_err());
        assert!(parse(serde_json::json!({"a": 1, "b": 2})).is_err());
    }

    #[test]
    fn a_bad_case_file_names_line_and_column() {
        let dir = scratch("bad-case");
        let path = dir.join("case.yaml");
        std::fs::write(
            &path,
            "description: x\nrequest: {}\nexpect:\n  outcome: sealed\n",
        )
        .expect("case");
        let err = read_case(&path).expect_err("invalid");
        assert!(err.contains("case.yaml:4:"), "{err}");
        assert!(err.contains("not a valid test case"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_request_case_becomes_the_viewer_request_event_cloudfront_sends() {
        let dir = scratch("request-case");
        let path = dir.join("case.yaml");
        std::fs::write(
            &path,
            "description: x\nrequest:\n  method: POST\n  path: /a\n  query: q=1\n  headers:\n    - [X-Id, one]\n    - [x-id, two]\n  body: hi\nexpect: {outcome: unmatched}\n",
        )
        .expect("case");
        let case = read_case(&path).expect("case");
        let event = case.event(&path).expect("event");
        let record = event.single_record().expect("one record");
        assert_eq!(
            record.cf.config.event_type,
            cloudfront::EventType::ViewerRequest
        );
        let request = &record.cf.request;
        assert_eq!(
            (request.method.as_str(), request.uri.as_str()),
            ("POST", "/a")
        );
        assert_eq!(request.headers.len(), 1, "one name, two values");
        assert_eq!(request.headers.values("x-id"), ["one", "two"]);
        let core = cloudfront::to_core(request).expect("converts");
        assert_eq!(core.body, b"hi");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn events_bare_requests_and_response_events() {
        let request =
            r#"{"clientIp":"203.0.113.1","method":"GET","uri":"/x","querystring":"","headers":{}}"#;
        let event = event_from_bytes(request.as_bytes()).expect("bare request");
        assert_eq!(
            event.single_record().map(|r| r.cf.request.uri.as_str()),
            Some("/x")
        );
        let response = format!(
            r#"{{"Records":[{{"cf":{{"config":{{"distributionId":"E","eventType":"origin-response"}},"request":{request},"response":{{"status":"200","headers":{{}}}}}}}}]}}"#
        );
        let err = event_from_bytes(response.as_bytes()).expect_err("response event");
        assert!(
            err.contains("origin-response event carries a response"),
            "{err}"
        );
        assert!(event_from_bytes(b"{").is_err());
        assert!(event_from_bytes(br#"{"Records":[]}"#)
            .expect_err("no record")
            .contains("exactly one record"));
    }
}
