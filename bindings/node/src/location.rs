//! Locations from their text form and part names.

use pii_core::{location::Part, Location};

use crate::error::Failure;

pub(crate) fn parse_location(text: &str) -> Result<Location, Failure> {
    text.parse::<Location>()
        .map_err(|e| Failure::new("LocationError", e.to_string()))
}

pub(crate) fn part_of(name: &str) -> Result<Part, Failure> {
    name.parse::<Part>()
        .map_err(|e| Failure::new("LocationError", e.to_string()))
}
