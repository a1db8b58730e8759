//! Text helpers shared by the value types and the codecs (a leaf: it uses no other module).

/// `str::trim`, with a fast path for the common case: text that starts and ends with an ASCII
/// byte that is not whitespace is returned as is (every Unicode whitespace character starts
/// with a byte of 0x80 or more, or is ASCII whitespace, so the result is always `s.trim()`).
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last))
            if first < 0x80
                && last < 0x80
                && !first.is_ascii_whitespace()
                && !last.is_ascii_whitespace()
                // `char::is_whitespace` also counts U+000B (vertical tab), which
                // `u8::is_ascii_whitespace` does not.
                && first != 0x0b
                && last != 0x0b =>
        {
            s
        }
        _ => s.trim(),
    }
}
