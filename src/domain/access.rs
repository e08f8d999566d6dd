//! Bearer tokens kept only as their SHA-256 ([`TokenHash`]) and compared in constant
//! time. Pure: where a token comes from is the edge's.

use sha2::{Digest, Sha256};
use std::fmt;

/// The SHA-256 of a token: all that is kept of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl TokenHash {
    /// The hash of `token`.
    #[must_use]
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Reads 64 hex digits (either case).
    ///
    /// # Errors
    /// A message when `hex` is not 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        let hex = hex.trim();
        let bytes = hex.as_bytes();
        if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
            return Err("sha256 must be 64 hex digits".into());
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            out[i] = u8::from_str_radix(s, 16).map_err(|e| e.to_string())?;
        }
        Ok(Self(out))
    }

    /// 64 lower-case hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether both are the same hash, in constant time (every byte is looked at).
    #[must_use]
    pub fn matches(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_back_and_compare() {
        let h = TokenHash::of("s3cret");
        assert_eq!(TokenHash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(TokenHash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
        assert!(h.matches(&TokenHash::of("s3cret")));
        assert!(!h.matches(&TokenHash::of("s3cre")));
        assert_eq!(
            h.to_hex(),
            "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
        );
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert!(TokenHash::from_hex(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{h:?}"), "TokenHash(..)");
    }
}
