//! Reading a body before its rules: declared charsets, formats and shapes, and the rejections
//! a body that cannot be read gets.

use super::json::protect_json;
use super::outcome::{FieldReport, RejectReason};
use crate::action::Context;
use crate::location::Location;
use crate::policy::{BodyFormat, Policy};
use crate::request::Request;
use crate::select::{self};

/// A request on a protected route that declares a charset other than UTF-8, in any
/// `Content-Type` (Django decodes the *query string* in it, body or not).
pub(super) fn declared_charsets(req: &Request) -> Result<(), RejectReason> {
    // Every `charset` parameter counts: servers disagree on which of two is read (Django's
    // header parser keeps the last, ours the first).
    for ct in req.header_values("content-type") {
        for param in ct.split(';').skip(1) {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            if !k.trim().eq_ignore_ascii_case("charset") {
                continue;
            }
            let v = v.trim().trim_matches('"');
            if !(v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")) {
                return Err(RejectReason::UnsupportedCharset);
            }
        }
    }
    Ok(())
}

/// The checks a JSON body needs beyond its rules (`params.rs`): a root the rules address, no
/// query or form parameter sent as a top-level member, no member Rails' ParamsWrapper would
/// wrap into a protected parameter, no protected argument as a GraphQL literal. `members` are
/// the root object's members as the rules' pass read them (it validated the body).
pub(super) fn json_shape(
    policy: &Policy,
    body: &[u8],
    members: &[(String, Option<String>)],
) -> Result<(), RejectReason> {
    use crate::params::{self, Source};
    if policy.params.is_empty() {
        return Ok(());
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') && params::expects_object_root(&policy.params) {
        return Err(RejectReason::BodyShape);
    }
    if members.is_empty() {
        return Ok(());
    }
    let query = crate::names::skeleton("query");
    for (name, value) in members {
        let sk = [crate::names::skeleton(name)];
        let merged = policy.params.iter().any(|p| {
            p.own != Source::Json && p.sources.has(Source::Json) && params::related(&p.path, &sk)
        });
        if merged && !params::json_covers(&policy.params, &sk) {
            return Err(RejectReason::AmbiguousName);
        }
        if let Some(text) = value {
            if sk[0] == query && graphql_literal(policy, text) {
                return Err(RejectReason::AmbiguousName);
            }
            // JSON as the text of a member a rule looks inside (`"variables": "{\"email\":…}"`,
            // which express-graphql parses): the rules cannot address it.
            let json_text = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
            let container = policy.params.iter().any(|p| {
                p.own == Source::Json
                    && p.path.len() >= 2
                    && matches!(p.path.first(), Some(params::PathSeg::Name(n)) if *n == sk[0])
            });
            if json_text && container {
                return Err(RejectReason::BodyShape);
            }
        }
    }
    if !crate::shape::wraps(&policy.spec) && params::wrapped_member(&policy.params, members) {
        return Err(RejectReason::AmbiguousName);
    }
    Ok(())
}

impl From<crate::shape::NotAddressable> for RejectReason {
    fn from(_: crate::shape::NotAddressable) -> Self {
        RejectReason::BodyShape
    }
}

impl crate::shape::Located for FieldReport {
    fn location(&self) -> &Location {
        &self.location
    }

    fn relocate(&mut self, at: &crate::shape::Relocate) {
        self.location = at.apply(&self.location);
        self.original = at.apply(&self.original);
    }
}

/// One JSON body, real or virtual (a declared shape, `shape.rs`), through the policy's JSON
/// rules and checks; `at` says where its values are in the request as forwarded.
pub(super) fn json_in_shape(
    policy: &Policy,
    body: &[u8],
    at: Option<crate::shape::Relocate>,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let mut members = Vec::new();
    ctx.relocate = at;
    let out = protect_json(policy, body, ctx, fields, &mut members);
    ctx.relocate = None;
    let out = out?;
    json_shape(policy, body, &members)?;
    Ok(out)
}

/// Whether a GraphQL document passes a protected parameter as a literal argument.
pub(super) fn graphql_literal(policy: &Policy, doc: &str) -> bool {
    let leaves: Vec<&str> = policy.params.iter().filter_map(|p| p.leaf()).collect();
    crate::params::graphql_literal_argument(doc, &leaves)
}

/// Decide how the body must be read, rejecting what cannot be inspected.
pub(super) fn body_format(
    policy: &Policy,
    req: &Request,
) -> Result<Option<BodyFormat>, RejectReason> {
    if policy.formats.is_empty() {
        return Ok(None);
    }
    if req.body_withheld && req.declares_body() {
        return Err(RejectReason::BodyNotReceived);
    }
    if req.body_truncated {
        return Err(RejectReason::BodyTruncated);
    }
    if req.body.is_empty() {
        return Ok(None);
    }
    if req
        .header_values("content-encoding")
        .any(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(RejectReason::ContentEncoding);
    }
    let mut types = req.header_values("content-type");
    let (Some(ct), None) = (types.next(), types.next()) else {
        return Err(RejectReason::MissingContentType);
    };
    let media = select::parse_media_type(ct);
    if media.repeated {
        // `charset=utf-8; charset=ibm037`: servers disagree on which parameter counts.
        return Err(RejectReason::UnsupportedMediaType);
    }
    let format = policy
        .formats
        .iter()
        .find(|(pattern, _)| select::media_type_matches(pattern, &media.essence))
        .map(|(_, f)| *f)
        .ok_or(RejectReason::UnsupportedMediaType)?;
    // Every body type is read as UTF-8: a form in `charset=ibm037` is decoded as EBCDIC by
    // ASP.NET, and its names would not be the ones the rules compare.
    if media
        .charset
        .as_deref()
        .is_some_and(|c| c != "utf-8" && c != "utf8")
    {
        return Err(RejectReason::UnsupportedCharset);
    }
    Ok(Some(format))
}
