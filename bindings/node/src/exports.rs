//! What node sees (`index.js` wraps it; `index.d.ts` types it). Children mirror pii-core's
//! modules: `keys` (the region's keyring), `envelope` (opened values), `reveal`, `strict`,
//! `location`, `receipt`, `at_rest` (subject keys, fields at rest), `erasure` (receipts).

use crate::error::Failure;

pub mod at_rest;
pub mod envelope;
pub mod erasure;
pub mod keys;
pub mod location;
pub mod receipt;
pub mod reveal;
pub mod strict;

pub(crate) type Result<T> = napi::Result<T, String>;

pub(crate) fn js(f: Failure) -> napi::Error<String> {
    napi::Error::new(f.kind.to_owned(), f.message)
}

pub(crate) fn pairs(headers: Vec<Vec<String>>) -> Result<Vec<(String, String)>> {
    headers
        .into_iter()
        .map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([name, value]) => Ok((name, value)),
            Err(_) => Err(js(Failure::new(
                "TypeError",
                "headers must be [name, value] pairs",
            ))),
        })
        .collect()
}
