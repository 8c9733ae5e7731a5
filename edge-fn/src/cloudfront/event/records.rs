//! The event (`Records`), its record, `cf` and `config`, and the event type.

use std::fmt;
use std::str::FromStr;

use super::request::Request;
use super::response::Response;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A Lambda@Edge event as CloudFront passes it to the function: `{"Records": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudFrontEvent {
    /// The records of the event (`Records`). CloudFront always sends exactly one.
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CloudFrontEvent {
    /// Parses an event from JSON bytes. Never panics; any malformed input is an error.
    pub fn from_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// The only record of the event, or `None` if the event has zero or several records
    /// (CloudFront always sends one; anything else should be rejected).
    pub fn single_record(&self) -> Option<&Record> {
        match self.records.as_slice() {
            [record] => Some(record),
            _ => None,
        }
    }

    /// Mutable access to the only record, see [`CloudFrontEvent::single_record`].
    pub fn single_record_mut(&mut self) -> Option<&mut Record> {
        match self.records.as_mut_slice() {
            [record] => Some(record),
            _ => None,
        }
    }
}

impl FromStr for CloudFrontEvent {
    type Err = serde_json::Error;

    /// Parses an event from a JSON string. Never panics; any malformed input is an error.
    fn from_str(json: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(json)
    }
}

/// One record of a [`CloudFrontEvent`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The CloudFront part of the record.
    pub cf: Cf,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `cf` object of a record: configuration, request and, for response events, response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cf {
    /// Which distribution and trigger this event belongs to (read-only).
    pub config: Config,
    /// The request, as the viewer sent it (viewer events) or as CloudFront will send it to
    /// the origin (origin events).
    pub request: Request,
    /// The response, present in viewer-response and origin-response events only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `config` object of a record. Read-only: CloudFront ignores changes to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The distribution's domain name (`distributionDomainName`), e.g.
    /// `d111111abcdef8.cloudfront.net`. Always sent by CloudFront today; optional so that
    /// older or hand-written events still parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_domain_name: Option<String>,
    /// The distribution's ID (`distributionId`).
    pub distribution_id: String,
    /// The trigger that invoked the function (`eventType`).
    pub event_type: EventType,
    /// CloudFront's opaque ID of the viewer request (`requestId`), the same as
    /// `x-edge-request-id` in the access logs. Optional for the same reason as
    /// `distribution_domain_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The trigger of a Lambda@Edge event (`config.eventType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `viewer-request`: before the cache, on every request.
    ViewerRequest,
    /// `origin-request`: on a cache miss, before CloudFront calls the origin.
    OriginRequest,
    /// `origin-response`: after the origin answered, before caching.
    OriginResponse,
    /// `viewer-response`: before the response goes back to the viewer.
    ViewerResponse,
    /// Any other value, kept verbatim.
    Other(String),
}

impl EventType {
    /// The wire name, e.g. `"viewer-request"`.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ViewerRequest => "viewer-request",
            EventType::OriginRequest => "origin-request",
            EventType::OriginResponse => "origin-response",
            EventType::ViewerResponse => "viewer-response",
            EventType::Other(other) => other,
        }
    }

    /// The variant named `name`, `None` for [`EventType::Other`].
    pub(super) fn known(name: &str) -> Option<Self> {
        match name {
            "viewer-request" => Some(EventType::ViewerRequest),
            "origin-request" => Some(EventType::OriginRequest),
            "origin-response" => Some(EventType::OriginResponse),
            "viewer-response" => Some(EventType::ViewerResponse),
            _ => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    /// Accepts what `String` accepts, and allocates only for [`EventType::Other`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventTypeVisitor;

        impl Visitor<'_> for EventTypeVisitor {
            type Value = EventType;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // What `String`'s visitor says, so the messages stay as they were.
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<EventType, E> {
                Ok(EventType::known(name).unwrap_or_else(|| EventType::Other(name.to_owned())))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<EventType, E> {
                Ok(EventType::known(&name).unwrap_or(EventType::Other(name)))
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<EventType, E> {
                match std::str::from_utf8(bytes) {
                    Ok(name) => self.visit_str(name),
                    Err(_) => Err(de::Error::invalid_value(
                        de::Unexpected::Bytes(bytes),
                        &self,
                    )),
                }
            }
        }

        deserializer.deserialize_string(EventTypeVisitor)
    }
}
