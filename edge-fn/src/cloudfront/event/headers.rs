//! CloudFront's header map: lower-case names to lists of `{key, value}`, in order.

use std::collections::HashSet;
use std::fmt;

use super::write::write_json_str;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One value of a header: `{"key": "Content-Type", "value": "application/json"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The header name in its original case. When a function leaves it out, CloudFront
    /// derives it from the lowercase name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The header value.
    pub value: String,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Header {
    /// A header value with its original-case name, e.g. `Header::new("Content-Type", "text/plain")`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            key: Some(key.into()),
            value: value.into(),
            extra: Map::new(),
        }
    }
}

/// Headers as CloudFront represents them: lowercase name -> one [`Header`] per value.
///
/// The order of names is kept. Lookups compare names case-insensitively and collect the
/// values of every matching name, so a name that is (against CloudFront's convention) not
/// lowercase is still found. In JSON this is an object; a name repeated exactly inside that
/// object is a parse error rather than a silent "last one wins".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pub(super) entries: Vec<(String, Vec<Header>)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of distinct header names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no header names at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header names and their values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Header])> + '_ {
        self.entries
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()))
    }

    /// The header names and their values, in order, with the values editable in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Vec<Header>)> + '_ {
        self.entries
            .iter_mut()
            .map(|(name, values)| (name.as_str(), values))
    }

    /// Every [`Header`] whose name equals `name` case-insensitively, in order.
    pub fn get<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter())
    }

    /// Every value of the header `name` (case-insensitive), in order, one per repetition.
    /// Values are returned as sent: a comma-separated value is not split.
    pub fn values(&self, name: &str) -> Vec<&str> {
        let mut values = Vec::new();
        for (n, headers) in &self.entries {
            if n.eq_ignore_ascii_case(name) {
                values.extend(headers.iter().map(|header| header.value.as_str()));
            }
        }
        values
    }

    /// Whether a header named `name` (case-insensitive) is present, even with no values.
    pub fn contains(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Replaces every header named `name` (case-insensitive) with `values`, stored under the
    /// lowercase name at the position of the first one replaced (or at the end). An empty
    /// `values` removes the header.
    pub fn set(&mut self, name: &str, values: Vec<Header>) {
        let position = self
            .entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if values.is_empty() {
            return;
        }
        let entry = (name.to_ascii_lowercase(), values);
        match position {
            Some(index) => self.entries.insert(index, entry),
            None => self.entries.push(entry),
        }
    }

    /// Adds one value to the header `name` (case-insensitive): after the existing values of
    /// the first matching name, or as a new lowercase name at the end.
    pub fn append(&mut self, name: &str, value: Header) {
        match self
            .entries
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value),
            None => self.entries.push((name.to_ascii_lowercase(), vec![value])),
        }
    }

    /// Removes every header named `name` (case-insensitive) and returns its values in order.
    pub fn remove(&mut self, name: &str) -> Vec<Header> {
        let mut removed = Vec::new();
        self.entries.retain_mut(|(n, values)| {
            if n.eq_ignore_ascii_case(name) {
                removed.append(values);
                false
            } else {
                true
            }
        });
        removed
    }
}

impl Headers {
    /// Appends the headers as JSON: what `serde_json::to_writer(out, self)` writes, with
    /// names and values that need no escaping (nearly all) copied as they are rather than
    /// through serde_json's escaper.
    pub(super) fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'{');
        for (i, (name, values)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, name)?;
            out.extend_from_slice(b":[");
            for (j, header) in values.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                if !header.extra.is_empty() {
                    // Unknown members: leave the whole entry to serde_json.
                    serde_json::to_writer(&mut *out, header)?;
                    continue;
                }
                out.push(b'{');
                if let Some(key) = &header.key {
                    out.extend_from_slice(b"\"key\":");
                    write_json_str(out, key)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"\"value\":");
                write_json_str(out, &header.value)?;
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        Ok(())
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, values) in &self.entries {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header name -> [{\"key\", \"value\"}]")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Headers, A::Error> {
                // A repeated name is found by comparing with the names so far while there
                // are few (a request has a dozen or so), without hashing or copying them;
                // past that, with a set, so that an event with thousands of names stays fast.
                const SCAN_UP_TO: usize = 32;
                let mut entries: Vec<(String, Vec<Header>)> = Vec::new();
                let mut seen: Option<HashSet<String>> = None;
                while let Some(name) = access.next_key::<String>()? {
                    let repeated = match &mut seen {
                        Some(seen) => !seen.insert(name.clone()),
                        None => entries.iter().any(|(n, _)| *n == name),
                    };
                    if repeated {
                        // Header names are not secret; the values are never echoed.
                        return Err(de::Error::custom(format_args!(
                            "duplicate header name `{name}`"
                        )));
                    }
                    let values: Vec<Header> = access.next_value()?;
                    entries.push((name, values));
                    if seen.is_none() && entries.len() == SCAN_UP_TO {
                        seen = Some(entries.iter().map(|(n, _)| n.clone()).collect());
                    }
                }
                Ok(Headers { entries })
            }
        }

        deserializer.deserialize_map(HeadersVisitor)
    }
}
