//! E-mail addresses. Source: the WHATWG HTML Standard's "valid e-mail address"
//! (§4.10.5.1.5, what `<input type=email>` accepts: `atext` and dots before the `@`, LDH labels
//! of at most 63 characters after it), narrowed to what is deliverable on the Internet: the
//! domain has at least two labels and a top-level label of letters (so `admin@localhost` and
//! `v1@2.0` are not reported). Internationalised domain labels (letters outside ASCII) are
//! accepted, as browsers send them to servers in Unicode in JSON bodies.

/// Whether `value` is exactly one e-mail address.
///
/// ```
/// use edge_fn::scan::detect::email::is_email;
/// assert!(is_email("erika.mustermann+news@example.co.uk"));
/// assert!(is_email("joerg@müller.de"));
/// assert!(!is_email("jörg@example.de")); // the local part is ASCII (WHATWG)
/// assert!(!is_email("erika@localhost"));
/// assert!(!is_email("a@b@c.de"));
/// assert!(!is_email("@example.de"));
/// ```
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return false;
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
    {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(|l| label_ok(l))
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
}
