//! Field-name context: what the name of the field a value is in says about it, in the
//! languages of the EU/EEA (English, German, French, Spanish, Italian, Dutch, Swedish, Danish,
//! Norwegian, Finnish, Polish, Croatian, Czech, Portuguese), after Presidio's context words
//! (`presidio_analyzer` recognizers' `context` lists) extended with the local terms used by the
//! national forms themselves. Names are compared after folding: lower case, separators
//! (`_ - . space`) and common diacritics removed, so `firstName`, `first_name` and `FIRST-NAME`
//! all read `firstname`.
//!
//! A context type is only reported when its field name says so: a bare `1985-02-17` in
//! `createdAt` is not a birth date, `Erika` in `productName` not a person. What this cannot see
//! (a name in a field called `value`, a birth date in free text) is listed in `docs/scan.md`.

mod field;
#[cfg(test)]
mod tests;
mod values;
mod words;

pub use field::{fold, Field, PhoneContext};
pub use values::{is_birth_date, is_name, valid_date};
pub use words::Words;
