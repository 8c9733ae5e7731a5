//! Locations of findings: `pii_core::Location` (the Location contract's one type and text
//! form), and what the scanner needs beside it: the JSONPath that selects a location for every
//! array element, and whether a protected location covers a found one.

use pii_core::{location::PathElement, Location};

/// A JSONPath that selects `path` with every array index replaced by `[*]`
/// (`$['items'][*]['email']`): what a policy rule needs to cover every element.
///
/// ```
/// use edge_fn::scan::location::json_selector;
/// use pii_core::location::PathElement;
/// let path = [PathElement::Name("items".into()), PathElement::Index(3), PathElement::Name("it's".into())];
/// assert_eq!(json_selector(&path), r"$['items'][*]['it\'s']");
/// ```
pub fn json_selector(path: &[PathElement]) -> String {
    let mut out = String::from("$");
    for element in path {
        match element {
            PathElement::Index(_) => out.push_str("[*]"),
            name => {
                // The element's normalized-path text, as `Location` prints it.
                let one = Location::json(vec![name.clone()]).to_string();
                out.push_str(one.strip_prefix("json:$").unwrap_or(""));
            }
        }
    }
    out
}

/// Whether the engine protecting `protected` also protects `found`: the same location, or a
/// JSON value inside a protected object or array (`$['user']['address']` covers
/// `$['user']['address']['street']`).
///
/// ```
/// use edge_fn::scan::location::covers;
/// use pii_core::Location;
/// let loc = |t: &str| t.parse::<Location>().unwrap();
/// assert!(covers(&loc("json:$['user']['address']"), &loc("json:$['user']['address']['street']")));
/// assert!(!covers(&loc("json:$['user']['a']"), &loc("json:$['user']['ab']")));
/// assert!(covers(&loc("query:email"), &loc("query:email")));
/// ```
pub fn covers(protected: &Location, found: &Location) -> bool {
    match (protected, found) {
        (Location::Json(outer), Location::Json(inner)) => inner.starts_with(outer),
        (a, b) => a == b,
    }
}
