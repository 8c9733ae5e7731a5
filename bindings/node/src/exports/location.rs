//! Location parts of the text form, and the constructors of locations.

use napi_derive::napi;
use pii_core::{location::PathElement, Location};

use super::{js, Result};

/// Location parts of a text form: `{part, name?, index?, path?}`; throws LocationError.
#[napi(object)]
pub struct LocationParts {
    /// `json`, `header`, `query`, `form` or `cookie`.
    pub part: String,
    /// The field name.
    pub name: Option<String>,
    /// Which value of that name.
    pub index: Option<u32>,
    /// JSON path elements: names as strings, indexes as numbers.
    pub path: Option<Vec<napi::Either<String, u32>>>,
    /// The canonical text form.
    pub text: String,
}

pub(crate) fn parts_of(location: &Location) -> LocationParts {
    let text = location.to_string();
    match location {
        Location::Json(path) => LocationParts {
            part: "json".to_owned(),
            name: None,
            index: None,
            path: Some(
                path.iter()
                    .map(|e| match e {
                        PathElement::Name(n) => napi::Either::A(n.clone()),
                        PathElement::Index(i) => {
                            napi::Either::B(u32::try_from(*i).unwrap_or(u32::MAX))
                        }
                    })
                    .collect(),
            ),
            text,
        },
        Location::Field { part, name, index } => LocationParts {
            part: part.as_str().to_owned(),
            name: Some(name.clone()),
            index: Some(u32::try_from(*index).unwrap_or(u32::MAX)),
            path: None,
            text,
        },
        _ => LocationParts {
            part: "unknown".to_owned(),
            name: None,
            index: None,
            path: None,
            text,
        },
    }
}

/// `parseLocation(text)`.
#[napi]
pub fn parse_location(text: String) -> Result<LocationParts> {
    crate::location::parse_location(&text)
        .map(|l| parts_of(&l))
        .map_err(js)
}

/// `jsonLocation(path)`: the location of a JSON path (names and indexes).
#[napi]
pub fn json_location(path: Vec<napi::Either<String, u32>>) -> LocationParts {
    let elements = path
        .into_iter()
        .map(|e| match e {
            napi::Either::A(n) => PathElement::Name(n),
            napi::Either::B(i) => PathElement::Index(i as usize),
        })
        .collect();
    parts_of(&Location::json(elements))
}

/// `fieldLocation(part, name, index)`.
#[napi]
pub fn field_location(part: String, name: String, index: u32) -> Result<LocationParts> {
    let part = crate::location::part_of(&part).map_err(js)?;
    Ok(parts_of(&Location::field(part, name, index as usize)))
}
