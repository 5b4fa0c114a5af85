//! Small pieces of Python behaviour the reference's messages and values show:
//! `repr()` of a string, and the random strings of `'random(N)'`.

/// Python's `repr()` of a `str`: single quotes unless the text has a `'` and no
/// `"`, with `\\`, `\n`, `\r`, `\t` and non-printable characters escaped.
pub fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `n` random characters from `[A-Za-z0-9]`, as `'random(n)'` yields.
pub fn random_string(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        if getrandom::fill(&mut buf).is_err() {
            // No OS randomness: fall back to the hasher's per-process random keys.
            use std::hash::{BuildHasher, RandomState};
            for (i, b) in buf.iter_mut().enumerate() {
                *b = RandomState::new().hash_one(i) as u8;
            }
        }
        for &b in &buf {
            // 248 = 4 * 62: rejection keeps the distribution uniform.
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_like_python() {
        assert_eq!(py_repr_str("linux"), "'linux'");
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("a\nb"), "'a\\nb'");
    }

    #[test]
    fn random_strings_have_the_asked_length_and_alphabet() {
        let s = random_string(100);
        assert_eq!(s.len(), 100);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(random_string(0), "");
    }
}
