//! Deserialization without `#[serde(flatten)]`: each known member straight into its field,
//! each unknown one into `extra`.

use std::fmt;

use super::body::Body;
use super::headers::Header;
use super::origin::{CustomOrigin, Origin, S3Origin};
use super::records::{Cf, CloudFrontEvent, Config, Record};
use super::request::Request;
use super::response::Response;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

// The event types keep unknown members in `extra`. `#[serde(flatten)]` did that when
// `Deserialize` was derived, at a price on the hot path of every request: serde buffers each
// unknown member into its private `Content` type and reads `extra` back from that buffer, and
// its generated code for it is large. The impls below read each known member straight into
// its field and each unknown one straight into `extra` as a `Value`, and accept and refuse
// exactly what the derived impls did, with the same messages (`tests/cloudfront_parse_same.rs`
// compares them against a copy of the derived types):
//
// - the input must be an object ("invalid type: ..., expected struct Request");
// - members in any order; a known member twice is an error ("duplicate field `uri`"), an
//   unknown member twice keeps the last value;
// - a missing required member is an error ("missing field `uri`"), the first missing one in
//   declaration order; a missing `default` member takes `Default::default()` (`None` for an
//   `Option`, which also takes `null` as `None`);
// - names are compared after JSON unescaping, so `"ur\u0069"` is `uri`.

/// An object member's name, borrowed from the input when the deserializer allows it, so that
/// known names cost no allocation.
pub(super) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(name) => name,
            Key::Owned(name) => name,
        }
    }

    pub(super) fn into_string(self) -> String {
        match self {
            Key::Borrowed(name) => name.to_owned(),
            Key::Owned(name) => name,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("field identifier")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(name))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(name.to_owned()))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(name))
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The value of a member once the object is read: what was read, or for a missing member an
/// error (`required`) or the type's default (`default`).
macro_rules! member_or_missing {
    ($value:ident, $name:literal, required) => {
        match $value {
            Some(value) => value,
            None => return Err(de::Error::missing_field($name)),
        }
    };
    ($value:ident, $name:literal, default) => {
        $value.unwrap_or_default()
    };
}

/// `impl Deserialize` for a struct with an `extra: Map<String, Value>` field: every other
/// field is listed, in declaration order, with its JSON name and whether it is `required`.
macro_rules! deserialize_with_extra {
    ($type:ident { $($field:ident: $name:literal $kind:ident),* $(,)? }) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("struct ", stringify!($type)))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$type, A::Error> {
                        $(let mut $field = None;)*
                        let mut extra = Map::new();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match key.as_str() {
                                $($name => {
                                    if $field.is_some() {
                                        return Err(de::Error::duplicate_field($name));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                _ => {
                                    let value: Value = map.next_value()?;
                                    extra.insert(key.into_string(), value);
                                }
                            }
                        }
                        $(let $field = member_or_missing!($field, $name, $kind);)*
                        Ok($type { $($field,)* extra })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

deserialize_with_extra!(CloudFrontEvent {
    records: "Records" required,
});

deserialize_with_extra!(Record { cf: "cf" required });

deserialize_with_extra!(Cf {
    config: "config" required,
    request: "request" required,
    response: "response" default,
});

deserialize_with_extra!(Config {
    distribution_domain_name: "distributionDomainName" default,
    distribution_id: "distributionId" required,
    event_type: "eventType" required,
    request_id: "requestId" default,
});

deserialize_with_extra!(Request {
    client_ip: "clientIp" required,
    method: "method" required,
    uri: "uri" required,
    querystring: "querystring" default,
    headers: "headers" default,
    body: "body" default,
    origin: "origin" default,
});

deserialize_with_extra!(Header {
    key: "key" default,
    value: "value" required,
});

deserialize_with_extra!(Body {
    input_truncated: "inputTruncated" required,
    action: "action" required,
    encoding: "encoding" required,
    data: "data" required,
});

deserialize_with_extra!(Origin {
    custom: "custom" default,
    s3: "s3" default,
});

deserialize_with_extra!(CustomOrigin {
    custom_headers: "customHeaders" default,
    domain_name: "domainName" required,
    keepalive_timeout: "keepaliveTimeout" default,
    path: "path" default,
    port: "port" default,
    protocol: "protocol" default,
    read_timeout: "readTimeout" default,
    ssl_protocols: "sslProtocols" default,
});

deserialize_with_extra!(S3Origin {
    auth_method: "authMethod" default,
    custom_headers: "customHeaders" default,
    domain_name: "domainName" required,
    path: "path" default,
    region: "region" default,
});

deserialize_with_extra!(Response {
    status: "status" required,
    status_description: "statusDescription" default,
    headers: "headers" default,
    body: "body" default,
    body_encoding: "bodyEncoding" default,
});
