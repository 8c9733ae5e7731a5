//! The origin an origin-request event names (custom or S3).

use super::headers::Headers;
use serde::Serialize;
use serde_json::{Map, Value};

/// The origin of an origin-request event (`request.origin`): exactly one of `custom`, `s3`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Origin {
    /// A custom (HTTP) origin, e.g. API Gateway, a load balancer, an S3 website endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomOrigin>,
    /// An Amazon S3 bucket origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Origin>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A custom origin (`request.origin.custom`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomOrigin {
    /// Headers CloudFront adds when it calls this origin (`customHeaders`).
    pub custom_headers: Headers,
    /// The origin's DNS name (`domainName`).
    pub domain_name: String,
    /// Seconds to keep the origin connection open after a response (`keepaliveTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive_timeout: Option<u32>,
    /// Path prefix at the origin, e.g. `/prod`; empty for none.
    pub path: String,
    /// Port at the origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Seconds to wait for the origin's response (`readTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<u32>,
    /// TLS versions CloudFront may use with the origin (`sslProtocols`), e.g. `TLSv1.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_protocols: Option<Vec<String>>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An Amazon S3 origin (`request.origin.s3`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Origin {
    /// `origin-access-identity` or `none` (`authMethod`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// Headers CloudFront adds when it calls this origin (`customHeaders`).
    pub custom_headers: Headers,
    /// The bucket's DNS name (`domainName`), e.g. `my-bucket.s3.amazonaws.com`.
    pub domain_name: String,
    /// Path prefix in the bucket; empty for none.
    pub path: String,
    /// The bucket's region, required with an origin access identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
