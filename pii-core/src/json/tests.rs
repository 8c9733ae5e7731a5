use std::convert::Infallible;

use proptest::prelude::*;
use serde_json::Value;

use super::find::span_at;
use super::*;

/// `"user.email.0"` -> [Name(user), Name(email), Index(0)]; `""` is the root.
fn path(s: &str) -> Vec<Seg> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split('.')
        .map(|p| {
            p.parse::<usize>()
                .map_or_else(|_| Seg::Name(p.to_owned()), Seg::Index)
        })
        .collect()
}

fn value(s: &str) -> Value {
    serde_json::from_str(s).expect("test JSON")
}

fn span(doc: &str, p: &str) -> Option<String> {
    span_at(doc.as_bytes(), &path(p), 64)
        .expect("valid JSON")
        .map(|r| doc[r].to_owned())
}

#[test]
fn span_at_finds_every_kind_of_value() {
    let doc = r#" {"a": {"b": [1, "two", {"c": null}, [true]], "e\u0073c": "x"}, "z": 1.5e3 } "#;
    assert_eq!(span(doc, "").as_deref(), Some(doc.trim()));
    assert_eq!(
        span(doc, "a").as_deref(),
        Some(r#"{"b": [1, "two", {"c": null}, [true]], "e\u0073c": "x"}"#)
    );
    assert_eq!(span(doc, "a.b.0").as_deref(), Some("1"));
    assert_eq!(span(doc, "a.b.1").as_deref(), Some(r#""two""#));
    assert_eq!(span(doc, "a.b.2.c").as_deref(), Some("null"));
    assert_eq!(span(doc, "a.b.3").as_deref(), Some("[true]"));
    assert_eq!(span(doc, "a.b.3.0").as_deref(), Some("true"));
    // Names are compared decoded.
    assert_eq!(span(doc, "a.esc").as_deref(), Some(r#""x""#));
    assert_eq!(span(doc, "z").as_deref(), Some("1.5e3"));
    // Nothing there.
    for missing in ["b", "a.b.4", "a.b.c", "z.0", "a.b.1.x", "a.b.2.c.d"] {
        assert_eq!(span(doc, missing), None, "{missing}");
    }
}

#[test]
fn span_at_refuses_what_the_engine_refuses() {
    assert!(span_at(br#"{"a":1,"a":2}"#, &path("a"), 64).is_err());
    assert!(span_at(br#"{"a":1"#, &path("a"), 64).is_err());
    assert!(span_at(br#"{"a":1} x"#, &path("a"), 64).is_err());
    assert!(span_at(b"[[[1]]]", &path("0.0.0"), 2).is_err());
    // A value found early does not excuse invalid JSON after it.
    assert!(span_at(br#"{"a":1,"b":}"#, &path("a"), 64).is_err());
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z\"\\\\é ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[ab\"é\\\\]{0,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// For every value of any document, the span holds exactly that value.
    #[test]
    fn span_at_agrees_with_serde_json(doc in any_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&doc).expect("json")
        } else {
            doc.to_string()
        };
        let mut paths = vec![Vec::new()];
        let mut k = 0;
        while k < paths.len() {
            let p: Vec<Seg> = paths[k].clone();
            let at = p.iter().try_fold(&doc, |v, seg| match seg {
                Seg::Name(n) => v.get(n.as_str()),
                Seg::Index(i) => v.get(*i),
            });
            if let Some(v) = at {
                let range = span_at(text.as_bytes(), &p, 64).expect("valid").expect("found");
                let got: Value = serde_json::from_str(&text[range]).expect("a value");
                prop_assert_eq!(&got, v);
                match v {
                    Value::Object(m) => paths.extend(m.keys().map(|n| {
                        let mut q = p.clone();
                        q.push(Seg::Name(n.clone()));
                        q
                    })),
                    Value::Array(a) => paths.extend((0..a.len()).map(|i| {
                        let mut q = p.clone();
                        q.push(Seg::Index(i));
                        q
                    })),
                    _ => {}
                }
            }
            k += 1;
        }
    }
}

/// Callback calls: target index, raw value.
type Calls = Vec<(usize, String)>;

/// Rewrites `doc` with one edit per target; returns the output and the raw values seen.
fn rw(doc: &str, edits: &[(&str, Edit)]) -> Result<(String, Calls), RewriteError<Infallible>> {
    let targets: Vec<Vec<Seg>> = edits.iter().map(|(p, _)| path(p)).collect();
    let mut calls = Vec::new();
    let out = rewrite(doc.as_bytes(), &targets, 64, |i, raw| {
        calls.push((i, String::from_utf8(raw.to_vec()).expect("utf8")));
        Ok(edits[i].1.clone())
    })?;
    Ok((String::from_utf8(out).expect("utf8 output"), calls))
}

fn rw_ok(doc: &str, edits: &[(&str, Edit)]) -> String {
    rw(doc, edits).expect("rewrite").0
}

fn null() -> Edit {
    Edit::Replace(b"null".to_vec())
}

pub(super) fn all_problems(
    doc: &[u8],
    depth: usize,
) -> (
    Option<JsonProblem>,
    Option<JsonProblem>,
    Option<JsonProblem>,
) {
    let p = parse_strict(doc, depth).err();
    let r = match rewrite::<Infallible>(doc, &[], depth, |_, _| Ok(Edit::Keep)) {
        Ok(out) => {
            assert_eq!(out, doc, "rewrite without targets must copy the input");
            None
        }
        Err(RewriteError::Json(p)) => Some(p),
        Err(_) => panic!("unexpected rewrite error"),
    };
    let f = find_strings(doc, depth, |_| true).err();
    (p, r, f)
}

/// All three entry points refuse `doc` with the same problem.
fn refused(doc: &[u8], depth: usize) -> JsonProblem {
    let (p, r, f) = all_problems(doc, depth);
    let p = p.expect("parse_strict should refuse");
    assert_eq!(Some(&p), r.as_ref(), "rewrite agrees");
    assert_eq!(Some(&p), f.as_ref(), "find_strings agrees");
    p
}

fn accepted(doc: &[u8], depth: usize) -> Value {
    let (p, r, f) = all_problems(doc, depth);
    assert_eq!((p, r, f), (None, None, None));
    parse_strict(doc, depth).expect("accepted")
}

// ----- untouched input ------------------------------------------------------------------

const ODD: &str = " \r\n\t{ \"a\"\t:\r\n[1 ,2,\n 3 ] , \"big\":12345678901234567890123,\"f\" : 1.000000000000000000001 ,\n\
        \"s\":\"a\\u00e9\\n\\\"q\\\\\\/\\ud83d\\ude00 é 😀\",\"e\":{},\"l\":[ ],\"n\":-0.0e-0,\"t\":true,\"z\" :null , \"x\":1E+2}\n\t ";

#[test]
fn untouched_input_is_byte_identical() {
    for doc in [
        ODD,
        "1",
        " \"x\" ",
        "[]",
        "{}",
        "[[[]]]",
        "12.50",
        "-0",
        "[ 1e308 ]",
    ] {
        assert_eq!(rw_ok(doc, &[]), doc);
        // Targets that are not there are not called.
        let (out, calls) =
            rw(doc, &[("nope", null()), ("a.7", null()), ("s.x", null())]).expect("rw");
        assert_eq!(out, doc);
        assert!(calls.is_empty());
    }
    let v = accepted(ODD.as_bytes(), 8);
    assert_eq!(v, value(ODD));
    // Kept targets are called but change nothing.
    let (out, calls) = rw(
        ODD,
        &[
            ("big", Edit::Keep),
            ("f", Edit::Keep),
            ("s", Edit::Keep),
            ("a", Edit::Keep),
        ],
    )
    .expect("rw");
    assert_eq!(out, ODD);
    let raws: Vec<&str> = calls.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        raws,
        [
            "[1 ,2,\n 3 ]",
            "12345678901234567890123",
            "1.000000000000000000001",
            "\"a\\u00e9\\n\\\"q\\\\\\/\\ud83d\\ude00 é 😀\""
        ]
    );
    assert_eq!(
        calls.iter().map(|c| c.0).collect::<Vec<_>>(),
        [3, 0, 1, 2],
        "document order"
    );
}

// ----- replace --------------------------------------------------------------------------

#[test]
fn replace_at_several_depths() {
    let doc = r#"{"user": {"email": "a@x.de", "tags": ["x", {"deep": [1, 2, 3]}]}, "n": 12.50 }"#;
    let (out, calls) = rw(
        doc,
        &[
            ("user.email", Edit::Replace(quote("pe2.ab\"c").into_bytes())),
            ("user.tags.1.deep.2", Edit::Replace(b"\"three\"".to_vec())),
            ("n", Edit::Replace(b"{\"k\": 1}".to_vec())),
            ("user.tags.0", Edit::Keep),
        ],
    )
    .expect("rw");
    assert_eq!(
        out,
        r#"{"user": {"email": "pe2.ab\"c", "tags": ["x", {"deep": [1, 2, "three"]}]}, "n": {"k": 1} }"#
    );
    assert_eq!(
        calls,
        [
            (0, "\"a@x.de\"".into()),
            (3, "\"x\"".into()),
            (1, "3".into()),
            (2, "12.50".into())
        ]
    );
    // Whole containers, and the root (surrounding whitespace stays).
    let (out, calls) = rw(doc, &[("user", null())]).expect("rw");
    assert_eq!(out, r#"{"user": null, "n": 12.50 }"#);
    assert_eq!(
        calls[0].1,
        r#"{"email": "a@x.de", "tags": ["x", {"deep": [1, 2, 3]}]}"#
    );
    let (out, calls) = rw(
        &format!(" \n{doc}\t"),
        &[("", Edit::Replace(b"[]".to_vec()))],
    )
    .expect("rw");
    assert_eq!(out, " \n[]\t");
    assert_eq!(calls, [(0, doc.to_owned())]);
}

#[test]
fn escaped_names_match_targets() {
    let doc = r#"{"em\u0061il": "a", "x\"y": "b", "\ud83d\ude00": "c", "plain": "d"}"#;
    let out = rw_ok(doc, &[("email", null()), ("x\"y", null()), ("😀", null())]);
    assert_eq!(
        out,
        r#"{"em\u0061il": null, "x\"y": null, "\ud83d\ude00": null, "plain": "d"}"#
    );
}

#[test]
fn targets_of_the_wrong_kind_are_not_called() {
    let doc = r#"{"a": [1, {"b": 2}], "c": {"0": 1}, "s": "text"}"#;
    let (out, calls) = rw(
        doc,
        &[
            ("a.b", null()),
            ("c.0", null()),
            ("s.0", null()),
            ("a.1.b.x", null()),
        ],
    )
    .expect("rw");
    assert_eq!(out, doc);
    assert!(calls.is_empty());
}

#[test]
fn nested_or_duplicate_targets_are_handled() {
    let doc = r#"{"a": {"b": 1}, "c": 2}"#;
    let (out, calls) = rw(
        doc,
        &[
            ("a.b", null()),
            ("a", Edit::Replace(b"0".to_vec())),
            ("c", null()),
            ("c", null()),
        ],
    )
    .expect("rw");
    assert_eq!(out, r#"{"a": 0, "c": null}"#);
    assert_eq!(
        calls.len(),
        2,
        "the outer target covers the inner one, the duplicate is ignored"
    );
    let (_, calls) = rw(doc, &[("a.b", null()), ("", Edit::Keep)]).expect("rw");
    assert_eq!(calls, [(1, doc.to_owned())]);
}

#[test]
fn edit_errors_and_root_removal() {
    let targets = [path("a")];
    let r = rewrite(b"{\"a\":1}", &targets, 8, |_, _| Err::<Edit, _>("no"));
    assert_eq!(r, Err(RewriteError::Edit("no")));
    let r = rewrite::<Infallible>(b" [1] ", &[Vec::new()], 8, |_, _| Ok(Edit::Remove));
    assert_eq!(r, Err(RewriteError::RemoveRoot));
    let r = rewrite::<Infallible>(b"{\"a\":1", &targets, 8, |_, _| Ok(Edit::Keep));
    assert!(matches!(
        r,
        Err(RewriteError::Json(JsonProblem::Syntax { .. }))
    ));
}

// ----- remove ---------------------------------------------------------------------------

fn removed(doc: &str, paths: &[&str]) -> String {
    let edits: Vec<(&str, Edit)> = paths.iter().map(|p| (*p, Edit::Remove)).collect();
    let out = rw_ok(doc, &edits);
    accepted(out.as_bytes(), 64);
    out
}

#[test]
fn remove_object_members() {
    let doc = r#"{ "a" : 1 , "b": [2], "c":{"x":3}, "d" :4 }"#;
    assert_eq!(removed(doc, &["a"]), r#"{ "b": [2], "c":{"x":3}, "d" :4 }"#);
    assert_eq!(removed(doc, &["c"]), r#"{ "a" : 1 , "b": [2], "d" :4 }"#);
    assert_eq!(
        removed(doc, &["d"]),
        r#"{ "a" : 1 , "b": [2], "c":{"x":3} }"#
    );
    assert_eq!(removed(doc, &["a", "b"]), r#"{ "c":{"x":3}, "d" :4 }"#);
    assert_eq!(removed(doc, &["a", "c"]), r#"{ "b": [2], "d" :4 }"#);
    assert_eq!(removed(doc, &["b", "d"]), r#"{ "a" : 1 , "c":{"x":3} }"#);
    assert_eq!(removed(doc, &["c", "d"]), r#"{ "a" : 1 , "b": [2] }"#);
    assert_eq!(removed(doc, &["a", "d"]), r#"{ "b": [2], "c":{"x":3} }"#);
    assert_eq!(removed(doc, &["a", "b", "c", "d"]), r#"{  }"#);
    assert_eq!(removed(doc, &["b", "c", "d"]), r#"{ "a" : 1 }"#);
    assert_eq!(removed(doc, &["a", "b", "c"]), r#"{ "d" :4 }"#);
    assert_eq!(removed(r#"{"only":1}"#, &["only"]), "{}");
    assert_eq!(
        removed("{\n  \"a\": 1,\n  \"b\": 2\n}", &["b"]),
        "{\n  \"a\": 1\n}"
    );
    assert_eq!(
        removed("{\n  \"a\": 1,\n  \"b\": 2\n}", &["a"]),
        "{\n  \"b\": 2\n}"
    );
}

#[test]
fn remove_array_elements() {
    let doc = "[0, 1 ,2,3]";
    assert_eq!(removed(doc, &["0"]), "[1 ,2,3]");
    assert_eq!(removed(doc, &["1"]), "[0, 2,3]");
    assert_eq!(removed(doc, &["3"]), "[0, 1 ,2]");
    assert_eq!(removed(doc, &["0", "1", "2", "3"]), "[]");
    assert_eq!(removed(doc, &["1", "2"]), "[0, 3]");
    assert_eq!(removed(doc, &["0", "3"]), "[1 ,2]");
    assert_eq!(removed(doc, &["0", "2"]), "[1 ,3]");
    assert_eq!(removed(" [ 7 ] ", &["0"]), " [  ] ");
}

#[test]
fn remove_mixed_with_replace_and_nesting() {
    let doc = r#"{"users":[{"id":1,"email":"a","tel":"1"},{"id":2,"email":"b"}],"keep":true,"drop":{"x":[1]}}"#;
    let out = rw_ok(
        doc,
        &[
            ("users.0.email", Edit::Remove),
            ("users.0.tel", Edit::Replace(b"\"T\"".to_vec())),
            ("users.1.id", Edit::Remove),
            ("users.1.email", Edit::Remove),
            ("drop", Edit::Remove),
        ],
    );
    assert_eq!(out, r#"{"users":[{"id":1,"tel":"T"},{}],"keep":true}"#);
    let out = rw_ok(
        doc,
        &[
            ("users.0", Edit::Remove),
            ("users.1.email", null()),
            ("keep", Edit::Remove),
        ],
    );
    assert_eq!(
        value(&out),
        value(r#"{"users":[{"id":2,"email":null}],"drop":{"x":[1]}}"#)
    );
}

// ----- duplicate names ------------------------------------------------------------------

#[test]
fn duplicate_names_are_refused() {
    let doc = br#"{"a": 1, "b": 2, "a": 3}"#;
    assert_eq!(refused(doc, 8), JsonProblem::DuplicateKey { offset: 17 });
    let deep = br#"{"l1":{"l2":[{"l4":{"l5":{"x":1,"y":2,"x":3}}}]}}"#;
    assert_eq!(refused(deep, 8), JsonProblem::DuplicateKey { offset: 38 });
    assert_eq!(&deep[38..41], b"\"x\"");
    let escaped = br#"{"email": 1, "em\u0061il": 2}"#;
    assert_eq!(
        refused(escaped, 8),
        JsonProblem::DuplicateKey { offset: 13 }
    );
    let escaped2 = r#"{"\u00e9": 1, "é": 2}"#;
    assert!(matches!(
        refused(escaped2.as_bytes(), 8),
        JsonProblem::DuplicateKey { .. }
    ));
    // The same name in different objects is fine.
    accepted(br#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#, 8);
    // Large objects (checked by sorting when they close).
    let mut big: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
    accepted(format!("{{{}}}", big.join(",")).as_bytes(), 8);
    big.push("\"k\\u0035\": 0".into());
    let doc = format!("{{{}}}", big.join(","));
    let at = doc.find("\"k\\u0035\"").expect("present");
    assert_eq!(
        refused(doc.as_bytes(), 8),
        JsonProblem::DuplicateKey { offset: at }
    );
}

#[test]
fn a_target_behind_a_duplicate_name_is_never_edited_twice() {
    let doc = r#"{"user": {"email": "a"}, "user": {"email": "b"}}"#;
    let targets = [path("user.email")];
    let mut calls = 0;
    let r = rewrite::<Infallible>(doc.as_bytes(), &targets, 8, |_, _| {
        calls += 1;
        Ok(null())
    });
    assert!(matches!(
        r,
        Err(RewriteError::Json(JsonProblem::DuplicateKey { .. }))
    ));
    assert_eq!(calls, 1);
}

// ----- depth ----------------------------------------------------------------------------

fn nested(n: usize) -> String {
    format!(
        "{}1{}",
        "[{\"a\":".repeat(n / 2) + if n % 2 == 1 { "[" } else { "" },
        if n % 2 == 1 { "]" } else { "" }.to_owned() + &"}]".repeat(n / 2)
    )
}

#[test]
fn depth_limit() {
    for limit in [1, 2, 5, 6, 128, 129, 300, 512] {
        let at = nested(limit);
        accepted(at.as_bytes(), limit);
        let over = nested(limit + 1);
        let p = refused(over.as_bytes(), limit);
        assert_eq!(
            p,
            JsonProblem::TooDeep {
                offset: over.rfind(['[', '{']).expect("bracket"),
                limit
            }
        );
    }
    accepted(b"1", 0);
    assert!(matches!(
        refused(b"[]", 0),
        JsonProblem::TooDeep {
            offset: 0,
            limit: 0
        }
    ));
    // Far beyond any limit: no stack overflow, in all three functions.
    let huge = "[".repeat(1_000_000);
    assert!(matches!(
        refused(huge.as_bytes(), 512),
        JsonProblem::TooDeep { limit: 512, .. }
    ));
    let huge = "[".repeat(100_000) + &"]".repeat(100_000);
    assert!(parse_strict(huge.as_bytes(), usize::MAX).is_ok_and(|v| {
        std::mem::forget(v); // serde_json's Drop recurses; not our concern here
        true
    }));
    assert!(rewrite::<Infallible>(huge.as_bytes(), &[], usize::MAX, |_, _| Ok(Edit::Keep)).is_ok());
    // Rewrite deep inside (beyond serde_json's 128).
    let deep = nested(300);
    let mut p = Vec::new();
    for _ in 0..150 {
        p.extend([Seg::Index(0), Seg::Name("a".into())]);
    }
    let out = rewrite::<Infallible>(deep.as_bytes(), &[p], 512, |_, raw| {
        assert_eq!(raw, b"1");
        Ok(Edit::Replace(b"2".to_vec()))
    })
    .expect("deep rewrite");
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        deep.replace('1', "2")
    );
}

// ----- syntax ---------------------------------------------------------------------------

#[test]
fn long_strings_stop_at_every_quote_escape_and_control_byte() {
    // Runs shorter and longer than LONG_RUN, the special byte at every offset around the
    // switch to `long_run_end` and around memchr's and first_control's block sizes.
    let lengths = (0..140).chain([255, 256, 257, 1000, 4096, 40_000]);
    for len in lengths {
        let positions: Vec<usize> = if len < 140 {
            (0..=len).collect()
        } else {
            vec![0, 31, 32, 33, 63, 64, 65, len / 2, len - 1, len]
        };
        for &at in &positions {
            for special in ["\"", "\\n", "\\u00e9", "\u{1}", "\u{1f}", "\n", "\u{e9}"] {
                let text = format!("[\"{}{special}{}\"]", "a".repeat(at), "b".repeat(len - at));
                let ours = parse_strict(text.as_bytes(), 8);
                let theirs = serde_json::from_str::<Value>(&text);
                assert_eq!(ours.is_ok(), theirs.is_ok(), "{len} {at} {special:?}");
                if let Ok(v) = ours {
                    assert_eq!(Ok(v), theirs.map_err(|_| ()), "{len} {at} {special:?}");
                } else if special.starts_with(|c: char| c < ' ') {
                    assert_eq!(
                        refused(text.as_bytes(), 8),
                        syntax(2 + at, "control character in a string: it must be escaped"),
                        "{len} {at} {special:?}"
                    );
                }
            }
        }
    }
    // Unterminated, long.
    let open = format!("[\"{}", "a".repeat(5000));
    assert_eq!(
        refused(open.as_bytes(), 8),
        syntax(1, "unterminated string")
    );
}

#[test]
fn syntax_problems() {
    assert_eq!(refused(b"", 8), JsonProblem::Empty);
    assert_eq!(refused(b" \n\t\r ", 8), JsonProblem::Empty);
    assert_eq!(refused(b"\xEF\xBB\xBF{}", 8), syntax(0, "byte order mark"));
    assert_eq!(refused(b"[\"a\xFFb\"]", 8), syntax(3, "invalid UTF-8"));
    assert_eq!(refused(b"[\"\xC3\"]", 8), syntax(2, "invalid UTF-8"));
    assert!(matches!(
        refused(b"{} x", 8),
        JsonProblem::Syntax { offset: 3, .. }
    ));
    assert!(matches!(
        refused(b"1 2", 8),
        JsonProblem::Syntax { offset: 2, .. }
    ));
    assert!(matches!(
        refused(b"[1]]", 8),
        JsonProblem::Syntax { offset: 3, .. }
    ));
    for lone in [
        &br#"["\ud800"]"#[..],
        br#"["\udc00"]"#,
        br#"["\ud800\u0041"]"#,
        br#"["\ud800\n"]"#,
        br#"{"\udbff":1}"#,
        br#"["\ud800\udbff"]"#,
    ] {
        let p = refused(lone, 8);
        assert!(
            matches!(
                p,
                JsonProblem::Syntax {
                    what: "lone surrogate in a \\u escape",
                    ..
                }
            ),
            "{p:?}"
        );
    }
    for bad in [
        &b"[1,]"[..],
        b"{\"a\":1,}",
        b"[01]",
        b"[1.]",
        b"[.5]",
        b"[+1]",
        b"[-]",
        b"[1e]",
        b"[1e+]",
        b"[NaN]",
        b"[Infinity]",
        b"['a']",
        b"{a:1}",
        b"[\"a\tb\"]",
        b"[\"\\x\"]",
        b"[\"\\u12\"]",
        b"[\"abc",
        b"[tru]",
        b"[nul",
        b"{\"a\" 1}",
        b"{\"a\":}",
        b"[1 2]",
        b"{,}",
        b"[,1]",
        b"\"\x00\"",
        b"[\"\\uZZZZ\"]",
        b"{\"a\":1 \"b\":2}",
        b"[1}",
        b"{\"a\":1]",
        b"[",
        b"{",
        b"\x00",
        b"[1]\x00",
    ] {
        assert!(
            matches!(refused(bad, 8), JsonProblem::Syntax { .. }),
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert!(
            serde_json::from_slice::<Value>(bad).is_err(),
            "serde_json refuses it too"
        );
    }
}

#[test]
fn numbers() {
    for big in [
        &b"1e400"[..],
        b"[-1e400]",
        b"{\"a\":1.5E+309}",
        b"[0.00001e314]",
        b"[2e308]",
    ] {
        assert!(matches!(
            refused(big, 8),
            JsonProblem::NumberOutOfRange { .. }
        ));
    }
    let digits = format!("[{}]", "9".repeat(400));
    assert_eq!(
        refused(digits.as_bytes(), 8),
        JsonProblem::NumberOutOfRange { offset: 1 }
    );
    for ok in [
        "1e308",
        "-1.7976931348623157e308",
        "1e-400",
        "0e999999999999",
        "0.0e400",
        "123456789012345678901234567890",
        "1e-99999999999999",
        "-0",
        "0.1e309",
    ] {
        let v = accepted(ok.as_bytes(), 8);
        assert_eq!(v, value(ok), "{ok}");
    }
    // Integers keep serde_json's representation (u64, i64, else f64).
    for n in [
        "0",
        "-0",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9999999999999999999",
        "-999999999999999999",
        "12.50",
        "1E2",
    ] {
        let ours = parse_strict(n.as_bytes(), 8).expect("number");
        let theirs = value(n);
        assert_eq!(ours, theirs, "{n}");
        assert_eq!(ours.as_u64(), theirs.as_u64());
        assert_eq!(ours.as_i64(), theirs.as_i64());
        assert_eq!(
            ours.as_f64().map(f64::to_bits),
            theirs.as_f64().map(f64::to_bits),
            "{n}"
        );
    }
}

#[test]
fn problems_never_show_input_text() {
    let secret = "hunter2@example.com";
    let docs = [
        format!("{{\"{secret}\":1,\"{secret}\":2}}"),
        format!("[\"{secret}\" \"{secret}\"]"),
        format!("[\"{secret}\\ud800\"]"),
        format!("[{secret}]"),
        format!("[1e999{secret}]"),
    ];
    for d in docs {
        let p = parse_strict(d.as_bytes(), 8).expect_err("refused");
        let msg = format!("{p} {p:?}");
        assert!(!msg.contains("hunter") && !msg.contains("example"), "{msg}");
    }
    let msg = JsonProblem::DuplicateKey { offset: 123 }.to_string();
    assert_eq!(msg, "duplicate object member name at byte 123: the origin could read the other one; send each name once");
}

// ----- find_strings, quote, normalized ----------------------------------------------------

#[test]
fn find_strings_finds_values_not_names() {
    let doc = br#"{"pe2.key": "pe2.a", "list": [1, "x", "pe\u0032.b", {"k\u0027": ["pe2.c"]}], "z": "pe1"}"#;
    let found = find_strings(doc, 8, |s| s.starts_with("pe2.")).expect("find");
    assert_eq!(
        found,
        vec![
            (vec![Seg::Name("pe2.key".into())], "pe2.a".to_owned()),
            (path("list.2"), "pe2.b".to_owned()),
            (
                vec![
                    Seg::Name("list".into()),
                    Seg::Index(3),
                    Seg::Name("k'".into()),
                    Seg::Index(0)
                ],
                "pe2.c".to_owned()
            ),
        ]
    );
    assert_eq!(
        find_strings(b"\"pe2.root\"", 0, |_| true).expect("root"),
        vec![(vec![], "pe2.root".to_owned())]
    );
}

#[test]
fn quote_as_serde_json_does() {
    for s in [
        "",
        "plain",
        "q\"b\\s/",
        "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
        "é😀\u{2028}",
    ] {
        assert_eq!(quote(s), serde_json::to_string(s).expect("serde"));
        assert_eq!(
            parse_strict(quote(s).as_bytes(), 0).expect("valid"),
            Value::String(s.to_owned())
        );
    }
}
