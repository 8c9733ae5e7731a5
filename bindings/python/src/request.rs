//! A request's parts from Python values: header pairs and body bytes.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

/// Header pairs from any iterable of `(name, value)` pairs or a mapping with `.items()`;
/// `bytes` are decoded as Latin-1 (what HTTP header bytes are), `str` taken as is.
pub(crate) fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().map(|t| t.to_owned()).or_else(|_| {
            PyTuple::new(item.py(), item.try_iter()?.collect::<PyResult<Vec<_>>>()?)
        })?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(
                "headers must be (name, value) pairs or a mapping of name to value",
            ));
        }
        out.push((text(&pair.get_item(0)?)?, text(&pair.get_item(1)?)?));
    }
    Ok(out)
}

pub(crate) fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().iter().map(|&c| char::from(c)).collect());
    }
    Err(PyTypeError::new_err(
        "header names and values must be str or bytes",
    ))
}

/// Body bytes from `bytes`, `bytearray`, `memoryview` or `str` (UTF-8).
pub(crate) fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    body.extract::<Vec<u8>>()
        .map_err(|_| PyTypeError::new_err("body must be bytes, bytearray or str"))
}
