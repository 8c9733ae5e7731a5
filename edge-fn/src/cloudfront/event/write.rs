//! Writing event JSON fast: strings that need no escaping, and the members a type keeps in
//! `extra`.

use serde_json::{Map, Value};

/// Appends `,"key":value` for every member of a flattened `extra` map.
pub(super) fn write_extra(
    out: &mut Vec<u8>,
    extra: &Map<String, Value>,
) -> Result<(), serde_json::Error> {
    for (key, value) in extra {
        out.push(b',');
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Whether `text` goes into a JSON string as it is: it holds no `"`, no `\` and no control
/// character below U+0020, the only characters serde_json escapes. Base64 never holds any.
///
/// Reads eight bytes at a time.
///
/// ```
/// use edge_fn::cloudfront::needs_no_json_escape;
/// assert!(needs_no_json_escape("eyJlbWFpbCI6ImVyaWthQGV4YW1wbGUuZGUifQ=="));
/// assert!(needs_no_json_escape("Grüße, 名前"));
/// assert!(!needs_no_json_escape("a \"quote\""));
/// assert!(!needs_no_json_escape("line\nbreak"));
/// ```
pub fn needs_no_json_escape(text: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    // The classic exact test "is any byte of x below n" (n <= 0x80) is
    // `(x - n * ONES) & !x & HIGH != 0`: a byte below n borrows into its own high bit, and `!x`
    // keeps that bit only for bytes below 0x80 (a borrow can only mark a byte above one that
    // is below n, so "any" is exact). A byte equals c when the byte of x ^ c is below 1, and
    // as '"' and '\\' have no high bit, !(x ^ c) & HIGH is !x & HIGH: the three tests share
    // one mask, and the high bits are kept only once, at the end.
    let needs_escape = |w: u64| {
        (w.wrapping_sub(ONES * 0x20)
            | (w ^ QUOTES).wrapping_sub(ONES)
            | (w ^ BACKSLASHES).wrapping_sub(ONES))
            & !w
    };
    let mut found = 0u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        found |= needs_escape(u64::from_le_bytes(word));
    }
    found & HIGH == 0
        && chunks
            .remainder()
            .iter()
            .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// Appends `s` as a JSON string, exactly as serde_json writes it.
pub(super) fn write_json_str(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    if needs_no_json_escape(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, s)
    }
}
