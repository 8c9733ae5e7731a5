//! IP addresses: IPv4 in dotted-decimal (RFC 791, no leading zeros, as `std::net` parses it)
//! and IPv6 in RFC 5952/4291 text form, optionally with a port (`203.0.113.7:443`,
//! `[2001:db8::1]:443`, as CloudFront-Viewer-Address sends it). Loopback and unspecified
//! addresses are not personal data and are not reported; private ranges are (behind a proxy
//! they still single out a device). Values in fields named like a version (`appVersion`,
//! `v`) are not addresses.

use std::net::{IpAddr, SocketAddr};

use super::context::Field;

/// Whether `value` is one IP address (with an optional port).
///
/// ```
/// use edge_fn::scan::detect::{ip::is_ip, context::Field};
/// let any = Field::new("clientIp", &[]);
/// assert!(is_ip("203.0.113.7", &any));
/// assert!(is_ip("2001:db8::8a2e:370:7334", &any));
/// assert!(is_ip("[2001:db8::1]:443", &any));
/// assert!(!is_ip("127.0.0.1", &any));
/// assert!(!is_ip("1.2.3.4", &Field::new("appVersion", &[])));
/// assert!(!is_ip("10:30", &any));
/// ```
pub fn is_ip(value: &str, field: &Field) -> bool {
    let b = value.as_bytes();
    if b.len() < 7 || b.len() > 47 || !(b[0].is_ascii_hexdigit() || b[0] == b'[' || b[0] == b':') {
        return false;
    }
    let addr = match value.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => match value.parse::<SocketAddr>() {
            Ok(s) => s.ip(),
            Err(_) => return false,
        },
    };
    if addr.is_loopback() || addr.is_unspecified() {
        return false;
    }
    if let IpAddr::V6(v6) = addr {
        // `::` shorthand alone is too loose for text like times (`10:30`) or hashes: want at
        // least three groups of text.
        if value.matches(':').count() < 2 || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        {
            return false;
        }
    }
    !field.has(&["version", "ver", "release", "build"]) && field.name() != "v"
}
