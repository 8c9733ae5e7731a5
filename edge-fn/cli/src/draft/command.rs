//! The command: arguments, one policy per operation, names.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use pii_core::Policy;

use super::openapi::{Document, Operation};
use super::rules::rules_of;
use super::write::{policy_yaml, unique, write_case};
use crate::shared::style::{count, errln};
use crate::shared::{CliError, CliResult};

/// `pii-edge draft` arguments.
#[derive(clap::Args)]
pub(crate) struct DraftArgs {
    /// OpenAPI 3.0 or 3.1 document, JSON or YAML
    #[arg(long, value_name = "FILE")]
    pub(super) openapi: PathBuf,
    /// Directory to write the policies (one file per operation) and their test cases to
    #[arg(long, short = 'o', value_name = "DIR", default_value = "drafts")]
    pub(super) out: PathBuf,
    /// Residency zone the drafted rules encrypt to
    #[arg(long, value_name = "ZONE", default_value = "eu-central")]
    pub(super) zone: String,
}

pub(crate) fn run(args: DraftArgs) -> CliResult {
    let doc = Document::load(&args.openapi)?;
    // Drafts of an earlier run would mix with these (and be loaded as policies): refuse.
    if std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(CliError::new(format!(
            "{} is not empty: draft into a new directory (the policies of an earlier draft would be loaded with these)",
            args.out.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", args.out.display())))?;
    let source = args.openapi.file_name().map_or_else(
        || "the document".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut operations = doc.operations();
    // Policies are tried in file-name order and the first match applies: literal segments
    // before templated ones (`/user/login` before `/user/{username}`).
    operations.sort_by_key(|op| {
        (
            op.path.split('/').filter(|s| s.contains('{')).count(),
            std::cmp::Reverse(op.path.split('/').count()),
        )
    });
    let mut used = BTreeSet::new();
    let (mut policies, mut cases, mut skipped) = (0usize, 0usize, Vec::new());
    let mut unprotectable = 0usize;
    for op in &operations {
        let (rules, notes) = rules_of(&doc, op);
        if rules.is_empty() && !notes.is_empty() {
            // Personal data where no rule reaches (a path parameter, an XML body): no policy
            // to draft, but never reported as an operation without personal data.
            unprotectable += 1;
            for note in &notes {
                errln!(
                    "warning: {} {}: no policy drafted: {note}",
                    op.method,
                    op.path
                );
            }
            continue;
        }
        if rules.is_empty() {
            skipped.push(format!("{} {}", op.method, op.path));
            continue;
        }
        let name = unique(&mut used, &policy_name(op));
        let route = format!("{}{}", doc.base_path, op.path);
        let stem = format!("{:02}-{name}", policies + 1);
        let text = policy_yaml(
            &name,
            &stem,
            &source,
            &doc.version,
            op,
            &route,
            &args.zone,
            &rules,
            &notes,
        );
        let file = args.out.join(format!("{stem}.yaml"));
        let policy = Policy::from_yaml(&file.display().to_string(), &text).map_err(|e| {
            CliError::new(format!(
                "internal: the draft for {} {} does not load: {e}",
                op.method, op.path
            ))
        })?;
        std::fs::write(&file, &text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;
        policies += 1;
        if write_case(&doc, op, &route, policy, &rules, &file)? {
            cases += 1;
        }
    }
    let unprotectable = match unprotectable {
        0 => String::new(),
        n => format!(
            "; {} personal data no rule can protect (the warnings above)",
            count(n, "operation carries", "operations carry")
        ),
    };
    errln!(
        "wrote {} and {} to {} ({} without personal data: {}{unprotectable})",
        count(policies, "policy", "policies"),
        count(cases, "test case", "test cases"),
        args.out.display(),
        count(skipped.len(), "operation", "operations"),
        if skipped.is_empty() {
            "none".into()
        } else {
            skipped.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// A policy name (`[A-Za-z0-9._-]+`) from the operation id, else the method and path.
pub(super) fn policy_name(op: &Operation) -> String {
    let raw = op
        .operation_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", op.method.to_ascii_lowercase(), op.path));
    let mut name = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "operation".into()
    } else {
        name
    }
}
