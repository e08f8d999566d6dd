//! Secrets in settings and messages: the one place that decides what of a connection
//! string may be shown. Config, doctor and the MongoDB adapter all mask through here.

use std::fmt;

/// A value that must not appear in logs or errors (a connection string may hold a
/// password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Replaces the `user:password@` part of every URL in `text` with `***@`.
#[must_use]
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | ')'))
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The scheme and hosts of a URL or connection string, without user info, path or
/// options.
#[must_use]
pub fn hosts(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hosts = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{hosts}")
}

/// The password of one connection string, as written and percent-decoded, masked
/// wherever it appears in a text (a driver's message may quote it without its URL).
#[derive(Clone)]
pub struct PasswordMask {
    secrets: Vec<String>,
}

impl fmt::Debug for PasswordMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordMask(..)")
    }
}

impl PasswordMask {
    /// The password of `scheme://user:password@host/...`, if it has one.
    #[must_use]
    pub fn from_uri(uri: &str) -> Self {
        let mut secrets = Vec::new();
        if let Some((_, rest)) = uri.split_once("://") {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            if let Some(at) = authority.rfind('@')
                && let Some((_, password)) = authority[..at].split_once(':')
                && !password.is_empty()
            {
                let decoded = percent_decode(password);
                if decoded != password && !decoded.is_empty() {
                    secrets.push(decoded);
                }
                secrets.push(password.to_owned());
            }
        }
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    /// Whether the connection string had a password to mask.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `message` with the password (both spellings) replaced by `*****`.
    #[must_use]
    pub fn clean(&self, message: String) -> String {
        self.secrets
            .iter()
            .fold(message, |m, s| m.replace(s.as_str(), "*****"))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_masked_everywhere() {
        assert_eq!(
            redact_credentials("cannot reach mongodb://u:p%40ss@h1:27017,h2/db?x=1 now"),
            "cannot reach mongodb://***@h1:27017,h2/db?x=1 now"
        );
        assert_eq!(
            redact_credentials("a http://x@h/p and https://h2/q@r"),
            "a http://***@h/p and https://h2/q@r"
        );
        assert_eq!(
            redact_credentials("uri = \"mongodb://oms:s3cret@db:27017/x\" and http://h/p"),
            "uri = \"mongodb://***@db:27017/x\" and http://h/p"
        );
        assert_eq!(redact_credentials("no url here"), "no url here");
        assert_eq!(redact_credentials("trailing ://"), "trailing ://");
    }

    #[test]
    fn hosts_drop_credentials_and_options() {
        assert_eq!(
            hosts("mongodb://user:pw@a:1,b:2/oms?authSource=admin"),
            "mongodb://a:1,b:2"
        );
        assert_eq!(hosts("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(hosts("nonsense"), "(not a URL)");
    }

    #[test]
    fn the_password_is_masked_as_written_and_decoded() {
        let r =
            PasswordMask::from_uri("mongodb://oms:s%40cr3t:x@db1:27017,db2/oms?authSource=admin");
        let m = r.clean("auth failed for mongodb://oms:s%40cr3t:x@db1 (s@cr3t:x)".to_owned());
        assert!(!m.contains("cr3t"), "{m}");
        assert!(PasswordMask::from_uri("mongodb://db1:27017/oms").is_empty());
        assert!(PasswordMask::from_uri("mongodb://user@db1/oms").is_empty());
        assert_eq!(format!("{r:?}"), "PasswordMask(..)");
        assert_eq!(format!("{:?}", Secret("pw".into())), "\"<redacted>\"");
    }
}
