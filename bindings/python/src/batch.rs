//! Bulk operations over a column of stored values (`pii_core::batch`): classify, audit, open,
//! rewrap, and the tokens of a subject. Every function takes a sequence of `str` (or `None`),
//! releases the GIL for the work, and answers per value (a list of outcomes), never with one
//! exception for the batch. `pii_edge.spark` runs them inside Spark's `mapInArrow`.
//!
//! Keys are read from files by the constructors: a Spark job passes paths, never key material.

use std::collections::BTreeMap;

use edge_fn::scan::detect::{context::Field, detect};
use pii_core::at_rest::{self, SubjectKey};
use pii_core::batch::{self, Class, Rewrapped, StoredKey};
use pii_core::envelope::{self, ValueKind};
use pii_core::{token::Normalize, PublicKeyring, TokenKeys};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::{key_error, read_file, InvalidKeys, PrivateKeyring};

/// Status of a `None` input in every outcome column.
const NULL: &str = "null";

/// A list of status names in which each distinct name is one Python string object: a column
/// of a million statuses holds a handful of strings, not a million.
fn status_list<'py>(py: Python<'py>, statuses: &[&'static str]) -> PyResult<Bound<'py, PyList>> {
    let mut names: Vec<(&'static str, Bound<'py, PyString>)> = Vec::new();
    let mut items = Vec::with_capacity(statuses.len());
    for &status in statuses {
        let name = match names.iter().find(|(n, _)| *n == status) {
            Some((_, name)) => name.clone(),
            None => {
                let name = PyString::new(py, status);
                names.push((status, name.clone()));
                name
            }
        };
        items.push(name);
    }
    PyList::new(py, items)
}

/// The class of each value: `envelope`, `token`, `plaintext`, `malformed`, or `None` for
/// `None`. Needs no key; authenticates nothing.
#[pyfunction]
fn classify(py: Python<'_>, values: Vec<Option<String>>) -> Vec<Option<&'static str>> {
    py.detach(|| {
        values
            .iter()
            .map(|v| v.as_deref().map(|v| batch::classify(v).name()))
            .collect()
    })
}

/// One row of an audit: how many values of a column share a class and, for envelopes, a zone,
/// a policy and recipients, or, for plaintext, a detector.
type AuditKey = (
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One audit count: an [`AuditKey`] and how many values have it.
type AuditRow = (
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    u64,
);

/// Counts of a column's values, without a key: a list of `(class, zone, policy, kids,
/// detector, count)`. For an envelope `zone` and `policy` are its binding's and `kids` its
/// recipients' key id prefixes (10 characters each, sorted, joined by `,`) from its header;
/// for a field at rest (`at-rest`) `zone` and `policy` are its binding's (never its subject);
/// for plaintext `detector` is the first scan detector (`pii-edge scan`, docs/scan.md) that
/// recognises the value, with `field` as the field name for the detectors that need context,
/// or `None`. `None` values count as class `null`. Nothing of a value is returned.
#[pyfunction]
#[pyo3(signature = (values, field = ""))]
fn audit(py: Python<'_>, values: Vec<Option<String>>, field: &str) -> Vec<AuditRow> {
    py.detach(|| {
        let context = Field::new(field, &[]);
        let mut counts: BTreeMap<AuditKey, u64> = BTreeMap::new();
        for value in &values {
            let key = match value.as_deref() {
                None => (NULL, None, None, None, None),
                Some(v) => match batch::classify(v) {
                    Class::Envelope => match envelope::header(v) {
                        Ok(h) => {
                            let mut kids = h.recipient_kid_prefixes;
                            kids.sort();
                            (
                                Class::Envelope.name(),
                                Some(h.binding.zone),
                                Some(h.binding.policy),
                                Some(kids.join(",")),
                                None,
                            )
                        }
                        Err(_) => (Class::Malformed.name(), None, None, None, None),
                    },
                    // Zone and policy of the binding; the subject and its key id stay out of
                    // the counts (one row per subject would name them).
                    Class::AtRest => match at_rest::header(v) {
                        Ok(h) => (
                            Class::AtRest.name(),
                            Some(h.binding.zone),
                            Some(h.binding.policy),
                            None,
                            None,
                        ),
                        Err(_) => (Class::Malformed.name(), None, None, None, None),
                    },
                    Class::Plaintext => (
                        Class::Plaintext.name(),
                        None,
                        None,
                        None,
                        detect(v, &context)
                            .first()
                            .map(|hit| hit.detector.to_string()),
                    ),
                    other => (other.name(), None, None, None, None),
                },
            };
            *counts.entry(key).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|((class, zone, policy, kids, detector), n)| {
                (class, zone, policy, kids, detector, n)
            })
            .collect()
    })
}

/// The opened value as one text: a JSON string's text, a header, query, form or cookie value
/// as it was, any other JSON value as its JSON text.
fn value_text(o: &envelope::Opened) -> Result<String, &'static str> {
    let text = std::str::from_utf8(o.plaintext()).map_err(|_| "NotUtf8")?;
    Ok(match o.kind() {
        ValueKind::String => serde_json::from_str::<String>(text).map_err(|_| "NotUtf8")?,
        _ => text.to_owned(),
    })
}

/// What becomes of one value of a column: a new text, the value as it was, or null; and the
/// status that says why.
enum Outcome {
    New(String, &'static str),
    Same(&'static str),
    Null(&'static str),
}

impl Outcome {
    /// The list form of `open` and `rewrap`: the output value and the status.
    fn into_list_item(self, value: Option<String>) -> (Option<String>, &'static str) {
        match self {
            Outcome::New(text, status) => (Some(text), status),
            Outcome::Same(status) => (value, status),
            Outcome::Null(status) => (None, status),
        }
    }
}

/// Opens one value: its text (`ok`), or null and why not.
fn open_value(
    opener: &mut batch::BatchOpener,
    keys: &pii_core::PrivateKeyring,
    value: Option<&str>,
) -> Outcome {
    let Some(v) = value else {
        return Outcome::Null(NULL);
    };
    match opener
        .open(keys, v)
        .map_err(|e| e.name())
        .and_then(|o| value_text(&o))
    {
        Ok(text) => Outcome::New(text, "ok"),
        Err(e) => Outcome::Null(e),
    }
}

/// Rewraps one value: the new envelope (`rewrapped`), or the value as it was and why.
fn rewrap_value(
    rewrapper: &mut batch::Rewrapper,
    keys: &pii_core::PrivateKeyring,
    value: Option<&str>,
) -> Outcome {
    let Some(v) = value else {
        return Outcome::Null(NULL);
    };
    let class = batch::classify(v);
    // Values in clear, tokens and fields at rest (already under a subject key) have no edge
    // envelope to rewrap.
    if matches!(class, Class::Plaintext | Class::Token | Class::AtRest) {
        return Outcome::Same(class.name());
    }
    match rewrapper.rewrap(keys, v) {
        Ok(Rewrapped::Sealed(s)) => Outcome::New(s, "rewrapped"),
        Ok(_) => Outcome::Same("current"),
        Err(e) => Outcome::Same(e.name()),
    }
}

/// An Arrow string array read from its buffers (the Arrow columnar format: a validity bitmap
/// or none, `length + 1` little-endian 32-bit offsets from `offset`, UTF-8 data). Every offset
/// and every value's UTF-8 is checked here: bad buffers are a `ValueError`, never a crash.
struct ArrowStrings<'a> {
    values: Vec<Option<&'a str>>,
}

impl<'a> ArrowStrings<'a> {
    fn new(
        validity: Option<&'a [u8]>,
        offsets: &'a [u8],
        data: &'a [u8],
        offset: usize,
        length: usize,
    ) -> PyResult<Self> {
        let bad = |what: &str| PyValueError::new_err(format!("not an Arrow string array: {what}"));
        let at = |i: usize| -> PyResult<usize> {
            let start = (offset + i) * 4;
            let bytes = offsets
                .get(start..start + 4)
                .ok_or_else(|| bad("offsets too short"))?;
            let n = i32::from_le_bytes(bytes.try_into().map_err(|_| bad("offsets"))?);
            usize::try_from(n).map_err(|_| bad("negative offset"))
        };
        let mut values = Vec::with_capacity(length);
        let mut start = at(0)?;
        for i in 0..length {
            let end = at(i + 1)?;
            let valid = match validity {
                None => true,
                Some(bits) => {
                    let bit = offset + i;
                    bits.get(bit / 8).ok_or_else(|| bad("validity too short"))? >> (bit % 8) & 1
                        == 1
                }
            };
            let bytes = data
                .get(start..end)
                .ok_or_else(|| bad("offsets out of the data"))?;
            values.push(if valid {
                Some(std::str::from_utf8(bytes).map_err(|_| bad("a value is not UTF-8"))?)
            } else {
                None
            });
            start = end;
        }
        Ok(ArrowStrings { values })
    }

    fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + '_ {
        self.values.iter().copied()
    }
}

/// `(validity, offsets, data, status codes, status names)`: an Arrow string array's buffers
/// and one status byte per value, indexing the names.
type BuffersOut<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Vec<&'static str>,
);

/// An Arrow string array being written, with a status per value.
struct ArrowOut {
    validity: Vec<u8>,
    offsets: Vec<u8>,
    data: Vec<u8>,
    codes: Vec<u8>,
    names: Vec<&'static str>,
    len: usize,
    too_large: bool,
}

impl ArrowOut {
    fn with_capacity(n: usize) -> Self {
        let mut offsets = Vec::with_capacity(4 * (n + 1));
        offsets.extend_from_slice(&0i32.to_le_bytes());
        ArrowOut {
            validity: vec![0; n.div_ceil(8)],
            offsets,
            data: Vec::new(),
            codes: Vec::with_capacity(n),
            names: Vec::new(),
            len: 0,
            too_large: false,
        }
    }

    fn push(&mut self, value: Option<&str>, outcome: Outcome) {
        let (text, status) = match &outcome {
            Outcome::New(text, status) => (Some(text.as_str()), *status),
            Outcome::Same(status) => (value, *status),
            Outcome::Null(status) => (None, *status),
        };
        if let Some(text) = text {
            self.data.extend_from_slice(text.as_bytes());
            if let Some(byte) = self.validity.get_mut(self.len / 8) {
                *byte |= 1 << (self.len % 8);
            }
        }
        let end = i32::try_from(self.data.len()).unwrap_or_else(|_| {
            self.too_large = true;
            0
        });
        self.offsets.extend_from_slice(&end.to_le_bytes());
        let code = match self.names.iter().position(|n| *n == status) {
            Some(i) => i,
            None => {
                self.names.push(status);
                self.names.len() - 1
            }
        };
        self.codes.push(u8::try_from(code).unwrap_or(u8::MAX));
        self.len += 1;
    }

    fn into_python(self, py: Python<'_>) -> PyResult<BuffersOut<'_>> {
        if self.too_large {
            return Err(PyValueError::new_err(
                "the output column exceeds 2 GiB: pass smaller batches",
            ));
        }
        Ok((
            PyBytes::new(py, &self.validity),
            PyBytes::new(py, &self.offsets),
            PyBytes::new(py, &self.data),
            PyBytes::new(py, &self.codes),
            self.names,
        ))
    }
}

/// Opens columns of envelopes with one private keyring, unwrapping each data key once for all
/// the fields that share it. Read the keys with `BatchOpener.from_file(path)`.
#[pyclass(module = "pii_edge")]
struct BatchOpener {
    keys: Py<PrivateKeyring>,
    inner: batch::BatchOpener,
}

#[pymethods]
impl BatchOpener {
    /// An opener over `keyring` (a `PrivateKeyring`).
    #[new]
    fn new(keyring: Py<PrivateKeyring>) -> Self {
        BatchOpener {
            keys: keyring,
            inner: batch::BatchOpener::new(),
        }
    }

    /// An opener over the private JWK Set in the file at `path`.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: &str) -> PyResult<Self> {
        let keyring = Py::new(py, PrivateKeyring::from_file(path)?)?;
        Ok(BatchOpener::new(keyring))
    }

    /// Opens every value: returns `(values, statuses)`, two lists as long as `values`. A value
    /// is the opened text (a JSON string's text; other JSON values as JSON text) or `None`;
    /// its status is `ok`, `null` for `None`, or the error's name (`Malformed`,
    /// `UnsupportedVersion`, `NoKey`, `Tampered`).
    fn open<'py>(
        &mut self,
        py: Python<'py>,
        values: Vec<Option<String>>,
    ) -> PyResult<(Vec<Option<String>>, Bound<'py, PyList>)> {
        let keys = &self.keys.get().inner;
        let inner = &mut self.inner;
        let (out, status) = py.detach(move || {
            values
                .into_iter()
                .map(|v| open_value(inner, keys, v.as_deref()).into_list_item(v))
                .unzip::<_, _, Vec<_>, Vec<_>>()
        });
        Ok((out, status_list(py, &status)?))
    }

    /// `open` over an Arrow string array given by its buffers (`pyarrow.Array.buffers()`:
    /// validity or `None`, 32-bit offsets, data; the array's `offset` and length), without a
    /// Python object per value: returns the opened column's `(validity, offsets, data)` and
    /// the statuses as one byte per value indexing `names`. `pii_edge.spark` calls it.
    fn open_buffers<'py>(
        &mut self,
        py: Python<'py>,
        validity: Option<&[u8]>,
        offsets: &[u8],
        data: &[u8],
        offset: usize,
        length: usize,
    ) -> PyResult<BuffersOut<'py>> {
        let keys = &self.keys.get().inner;
        let inner = &mut self.inner;
        let column = ArrowStrings::new(validity, offsets, data, offset, length)?;
        let out = py.detach(move || {
            let mut out = ArrowOut::with_capacity(length);
            for v in column.iter() {
                let outcome = open_value(inner, keys, v);
                out.push(v, outcome);
            }
            out
        });
        out.into_python(py)
    }

    fn __repr__(&self) -> String {
        format!("BatchOpener(zones={:?})", self.keys.get().zones())
    }
}

/// Rewraps columns of envelopes to other public keys without the plaintext leaving the call:
/// each value is opened with the old private keys and sealed, with its kind, policy and
/// location, to the newest key of each region of its zone in the target public keys (a
/// rotation) or of `zone` (a move). Every old wrap gets a fresh data key; the fields that
/// shared it share the new one.
#[pyclass(module = "pii_edge")]
struct Rewrapper {
    keys: Py<PrivateKeyring>,
    inner: batch::Rewrapper,
}

#[pymethods]
impl Rewrapper {
    /// `private_keys`: path of the private JWK Set that opens the stored values (the old
    /// keys); `public_keys`: path of the public JWK Set to seal to; `zone`: move every value
    /// to this zone (default: each value stays in its zone). Raises `InvalidKeys` or `OSError`,
    /// naming the path, never key material.
    #[staticmethod]
    #[pyo3(signature = (private_keys, public_keys, zone = None))]
    fn from_files(
        py: Python<'_>,
        private_keys: &str,
        public_keys: &str,
        zone: Option<&str>,
    ) -> PyResult<Self> {
        let keys = Py::new(py, PrivateKeyring::from_file(private_keys)?)?;
        let text = read_file(public_keys)?;
        let target = PublicKeyring::from_jwk_or_jwks(&text)
            .map_err(|e| InvalidKeys::new_err(format!("{public_keys}: {e}")))?;
        if let Some(zone) = zone {
            target.recipients(zone).map_err(key_error)?;
        }
        Ok(Rewrapper {
            keys,
            inner: batch::Rewrapper::new(target, zone),
        })
    }

    /// `rewrap` over an Arrow string array given by its buffers, as `BatchOpener.open_buffers`.
    fn rewrap_buffers<'py>(
        &mut self,
        py: Python<'py>,
        validity: Option<&[u8]>,
        offsets: &[u8],
        data: &[u8],
        offset: usize,
        length: usize,
    ) -> PyResult<BuffersOut<'py>> {
        let keys = &self.keys.get().inner;
        let inner = &mut self.inner;
        let column = ArrowStrings::new(validity, offsets, data, offset, length)?;
        let out = py.detach(move || {
            let mut out = ArrowOut::with_capacity(length);
            for v in column.iter() {
                let outcome = rewrap_value(inner, keys, v);
                out.push(v, outcome);
            }
            out
        });
        out.into_python(py)
    }

    /// Rewraps every value: returns `(values, statuses)`. A status is `rewrapped` (the value
    /// is the new envelope), `current` (already sealed to the target keys), `plaintext`,
    /// `token` or `at-rest` (not an edge envelope), `null` for `None`, or why it failed (`Malformed`,
    /// `UnsupportedVersion`, `NoKey`, `Tampered`, `NoTargetKey`, `SealFailed`). Every value
    /// that was not rewrapped is returned as it was: a job never loses a stored value.
    fn rewrap<'py>(
        &mut self,
        py: Python<'py>,
        values: Vec<Option<String>>,
    ) -> PyResult<(Vec<Option<String>>, Bound<'py, PyList>)> {
        let keys = &self.keys.get().inner;
        let inner = &mut self.inner;
        let (out, status) = py.detach(move || {
            values
                .into_iter()
                .map(|v| rewrap_value(inner, keys, v.as_deref()).into_list_item(v))
                .unzip::<_, _, Vec<_>, Vec<_>>()
        });
        Ok((out, status_list(py, &status)?))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Checks that a data subject's erasure holds in columns of stored values (`pii_core::batch::
/// ErasureCheck`, docs/bulk.md "Verifying an erasure"): no value of the subject opens, every
/// other subject's field at rest (`pr1.`) still does. The key store stays in Python: ask
/// `unknown_key_ids(values)`, look each id up, tell `set_key`, then `check(values, rows)`.
/// Nothing opened leaves the call.
#[pyclass(module = "pii_edge")]
struct ErasureCheck {
    keys: Py<PrivateKeyring>,
    inner: batch::ErasureCheck,
}

#[pymethods]
impl ErasureCheck {
    /// A check of the erasure of `subject`, with the region's private JWK Set in the file at
    /// `private_keys` (to unwrap the store's subject keys and open edge envelopes). Raises
    /// `InvalidKeys` or `OSError`, naming the path, never key material.
    #[staticmethod]
    fn from_file(py: Python<'_>, private_keys: &str, subject: &str) -> PyResult<Self> {
        Ok(ErasureCheck {
            keys: Py::new(py, PrivateKeyring::from_file(private_keys)?)?,
            inner: batch::ErasureCheck::new(subject),
        })
    }

    /// The key ids named by the fields at rest among `values` that this check does not know
    /// yet, each once.
    fn unknown_key_ids(&self, py: Python<'_>, values: Vec<Option<String>>) -> Vec<String> {
        let inner = &self.inner;
        py.detach(|| {
            let mut ids: Vec<String> = values
                .iter()
                .flatten()
                .filter_map(|v| inner.unknown_key_id(v))
                .collect();
            ids.sort();
            ids.dedup();
            ids
        })
    }

    /// What the key store holds for `key_id`: `wrapped` is its `psk1.` text (a live key),
    /// `erased` says the record is there without the key; neither: the store has no record.
    #[pyo3(signature = (key_id, wrapped, erased))]
    fn set_key(&mut self, py: Python<'_>, key_id: String, wrapped: Option<&str>, erased: bool) {
        let stored = match (wrapped, erased) {
            (_, true) => StoredKey::Erased,
            (Some(w), false) => {
                let keys = &self.keys.get().inner;
                match py.detach(|| SubjectKey::unwrap(keys, w)) {
                    Ok(key) => StoredKey::Live(key),
                    Err(e) => StoredKey::Unusable(e),
                }
            }
            (None, false) => StoredKey::Absent,
        };
        self.inner.set_key(key_id, stored);
    }

    /// The verdict on every value: `(statuses, of_subject, offenders)`, three lists as long as
    /// `values`. `subject_rows` (optional, as long as `values`) marks the values of rows that
    /// are the subject's. Statuses: `Erased`, `opens`, `ok`, `envelope`, `plaintext`,
    /// `token`, `null`, or why a value did not open (`NoKey`, `Tampered`, `WrongKey`,
    /// `Malformed`, `UnsupportedVersion`).
    #[pyo3(signature = (values, subject_rows = None))]
    fn check<'py>(
        &mut self,
        py: Python<'py>,
        values: Vec<Option<String>>,
        subject_rows: Option<Vec<bool>>,
    ) -> PyResult<(Bound<'py, PyList>, Vec<bool>, Vec<bool>)> {
        if subject_rows
            .as_ref()
            .is_some_and(|r| r.len() != values.len())
        {
            return Err(PyValueError::new_err(
                "subject_rows must be as long as values",
            ));
        }
        let keys = &self.keys.get().inner;
        let inner = &mut self.inner;
        let out = py.detach(move || {
            let mut out = (
                Vec::with_capacity(values.len()),
                Vec::with_capacity(values.len()),
                Vec::with_capacity(values.len()),
            );
            let rows = subject_rows.unwrap_or_else(|| vec![false; values.len()]);
            for (value, row) in values.iter().zip(rows) {
                let v = inner.check(keys, value.as_deref(), row);
                out.0.push(v.status);
                out.1.push(v.of_subject);
                out.2.push(v.offender);
            }
            out
        });
        Ok((status_list(py, &out.0)?, out.1, out.2))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The tokens of `value` in token domain `domain` under every key of the domain in the token
/// key file at `token_keys` (newest first): what a stored token of this subject can be.
/// `normalize` is the rule's `normalize` list (`trim`, `casefold`, ...). Raises `ValueError`
/// for an unknown domain or normalization, `InvalidKeys` or `OSError` for the file.
#[pyfunction]
#[pyo3(signature = (token_keys, domain, value, normalize = None))]
fn subject_tokens(
    token_keys: &str,
    domain: &str,
    value: &str,
    normalize: Option<Vec<String>>,
) -> PyResult<Vec<String>> {
    let text = zeroize::Zeroizing::new(read_file(token_keys)?);
    let keys = TokenKeys::from_jwks(&text)
        .map_err(|e| InvalidKeys::new_err(format!("{token_keys}: {e}")))?;
    let steps = normalize
        .unwrap_or_default()
        .iter()
        .map(|n| {
            Normalize::from_name(n)
                .ok_or_else(|| PyValueError::new_err(format!("unknown normalization `{n}`")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    pii_core::token::tokens(&keys, domain, &steps, value.as_bytes())
        .map(|found| found.into_iter().map(|t| t.token).collect())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Adds the batch classes and functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BatchOpener>()?;
    m.add_class::<Rewrapper>()?;
    m.add_class::<ErasureCheck>()?;
    m.add_function(wrap_pyfunction!(classify, m)?)?;
    m.add_function(wrap_pyfunction!(audit, m)?)?;
    m.add_function(wrap_pyfunction!(subject_tokens, m)?)?;
    Ok(())
}
