//! Who may use the API for which sellers: bearer tokens kept only as their SHA-256
//! ([`TokenHash`], compared in constant time), the sellers a token may act for
//! ([`SellerScope`]), and the tokens file (`OMS_API_TOKENS_FILE`) that lists named
//! tokens ([`TokenList`]), parsed from and written to its text. Pure: reading, writing
//! and watching the file, and drawing a new token's random bytes, are the edge's.
//!
//! The file is TOML, one `[[token]]` table per token:
//!
//! ```toml
//! [[token]]
//! name = "acme-shop"
//! sha256 = "<64 hex digits>"
//! sellers = ["7", "8"]        # or ["*"]: every seller
//! added = "2026-11-29T10:24:31.123456Z"
//! ```

use super::SellerId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

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

/// A new token from 32 random bytes: `oms_` and 64 hex digits.
#[must_use]
pub fn new_token(random: [u8; 32]) -> String {
    format!("oms_{}", TokenHash(random).to_hex())
}

/// The sellers a token may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerScope {
    /// Every seller (`*`; the operator's `OMS_API_TOKEN`).
    All,
    /// These sellers only (never empty).
    Only(Arc<[SellerId]>),
}

impl SellerScope {
    /// Whether the token may act for `seller` (`"07"` is seller 7).
    #[must_use]
    pub fn allows(&self, seller: &SellerId) -> bool {
        match self {
            Self::All => true,
            Self::Only(sellers) => sellers.iter().any(|s| s.same_as(seller.as_str())),
        }
    }

    /// The sellers, or `None` for every seller.
    #[must_use]
    pub fn sellers(&self) -> Option<&[SellerId]> {
        match self {
            Self::All => None,
            Self::Only(s) => Some(s),
        }
    }

    /// `*`, or the sellers as written in the file.
    #[must_use]
    pub fn as_texts(&self) -> Vec<String> {
        match self {
            Self::All => vec![ALL_SELLERS.to_owned()],
            Self::Only(s) => s.iter().map(ToString::to_string).collect(),
        }
    }

    /// From the sellers as written (`*` alone for every seller).
    ///
    /// # Errors
    /// An empty list, `*` beside sellers, or a seller id that is not one.
    pub fn from_texts<S: AsRef<str>>(texts: &[S]) -> Result<Self, String> {
        if texts.is_empty() {
            return Err("sellers is empty: name at least one seller, or \"*\" for all".into());
        }
        if texts.iter().any(|t| t.as_ref().trim() == ALL_SELLERS) {
            return if texts.len() == 1 {
                Ok(Self::All)
            } else {
                Err("\"*\" (every seller) cannot be listed beside sellers".into())
            };
        }
        let mut out: Vec<SellerId> = Vec::with_capacity(texts.len());
        for t in texts {
            let s = SellerId::parse(t.as_ref()).map_err(|e| format!("seller {e}"))?;
            if !out.iter().any(|o| o.same_as(s.as_str())) {
                out.push(s);
            }
        }
        Ok(Self::Only(out.into()))
    }
}

impl fmt::Display for SellerScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_texts().join(","))
    }
}

/// How the file writes "every seller".
pub const ALL_SELLERS: &str = "*";

/// Longest token name, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a token's name: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a letter or a
/// digit.
///
/// # Errors
/// A message saying what a name may hold.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "token name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', \
             starting with a letter or a digit"
        ))
    }
}

/// One named token of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedToken {
    pub name: String,
    pub hash: TokenHash,
    pub scope: SellerScope,
    /// When it was added (RFC 3339), if the file says.
    pub added: Option<String>,
}

/// Why a tokens file cannot be used, or a change to it cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensFileError {
    /// Not TOML of the expected shape.
    #[error("not a tokens file: {0}")]
    Syntax(String),
    /// One token's entry is wrong.
    #[error("token {which}: {problem}")]
    Entry { which: String, problem: String },
    /// Two tokens with one name.
    #[error("two tokens are named {0:?}")]
    DuplicateName(String),
    /// Two names for one token.
    #[error("tokens {0:?} and {1:?} have the same sha256")]
    DuplicateHash(String, String),
    /// No token has that name.
    #[error("no token is named {0:?}")]
    NoSuchName(String),
}

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default, rename = "token")]
    tokens: Vec<EntryShape>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryShape {
    name: String,
    sha256: String,
    sellers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    added: Option<String>,
}

/// The comment at the top of a file `oms token` writes.
const HEADER: &str = "\
# API tokens of `oms serve` (OMS_API_TOKENS_FILE): each token's SHA-256 (never the
# token) and the sellers it may act for (\"*\": every seller). Managed with
# `oms token add | ls | rm`; `oms serve` reads it again when it changes and on SIGHUP.
";

/// The named tokens of a tokens file, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenList {
    tokens: Vec<NamedToken>,
}

impl TokenList {
    /// Parses a tokens file's text; an empty text is a file without tokens.
    ///
    /// # Errors
    /// [`TokensFileError`]: bad TOML, a bad entry (name, hash, sellers), a name or a
    /// hash twice.
    pub fn parse(text: &str) -> Result<Self, TokensFileError> {
        let shape: FileShape = toml::from_str(text).map_err(|e| {
            TokensFileError::Syntax(e.message().to_owned() + &at_line(text, e.span()))
        })?;
        let mut list = Self::default();
        for (i, e) in shape.tokens.into_iter().enumerate() {
            let which = if e.name.is_empty() {
                format!("#{}", i + 1)
            } else {
                format!("{:?}", e.name)
            };
            let entry = |problem: String| TokensFileError::Entry {
                which: which.clone(),
                problem,
            };
            check_name(&e.name).map_err(entry)?;
            let hash = TokenHash::from_hex(&e.sha256).map_err(entry)?;
            let scope = SellerScope::from_texts(&e.sellers).map_err(entry)?;
            list.add(NamedToken {
                name: e.name,
                hash,
                scope,
                added: e.added,
            })?;
        }
        Ok(list)
    }

    /// The file's text: a comment, then one `[[token]]` table per token.
    #[must_use]
    pub fn render(&self) -> String {
        let shape = FileShape {
            tokens: self
                .tokens
                .iter()
                .map(|t| EntryShape {
                    name: t.name.clone(),
                    sha256: t.hash.to_hex(),
                    sellers: t.scope.as_texts(),
                    added: t.added.clone(),
                })
                .collect(),
        };
        let body = toml::to_string(&shape).expect("strings and arrays of strings serialize");
        format!("{HEADER}\n{body}")
    }

    /// Adds a token at the end.
    ///
    /// # Errors
    /// [`TokensFileError::DuplicateName`] or [`TokensFileError::DuplicateHash`].
    pub fn add(&mut self, t: NamedToken) -> Result<(), TokensFileError> {
        if self.tokens.iter().any(|o| o.name == t.name) {
            return Err(TokensFileError::DuplicateName(t.name));
        }
        if let Some(o) = self.tokens.iter().find(|o| o.hash.matches(&t.hash)) {
            return Err(TokensFileError::DuplicateHash(o.name.clone(), t.name));
        }
        self.tokens.push(t);
        Ok(())
    }

    /// Removes the token named `name`; gives it back.
    ///
    /// # Errors
    /// [`TokensFileError::NoSuchName`].
    pub fn remove(&mut self, name: &str) -> Result<NamedToken, TokensFileError> {
        let i = self
            .tokens
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| TokensFileError::NoSuchName(name.to_owned()))?;
        Ok(self.tokens.remove(i))
    }

    /// The token whose hash is `presented`. Every token is compared, in constant time,
    /// whichever matches.
    #[must_use]
    pub fn identify(&self, presented: &TokenHash) -> Option<&NamedToken> {
        let mut found = None;
        for t in &self.tokens {
            if t.hash.matches(presented) && found.is_none() {
                found = Some(t);
            }
        }
        found
    }

    /// The tokens, in the file's order.
    #[must_use]
    pub fn tokens(&self) -> &[NamedToken] {
        &self.tokens
    }
}

/// ` (line N)` for a parse error's span.
fn at_line(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller(s: &str) -> SellerId {
        SellerId::parse(s).unwrap()
    }

    fn token(name: &str, secret: &str, sellers: &[&str]) -> NamedToken {
        NamedToken {
            name: name.into(),
            hash: TokenHash::of(secret),
            scope: SellerScope::from_texts(sellers).unwrap(),
            added: Some("2026-11-29T10:00:00.000000Z".into()),
        }
    }

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
        let t = new_token([0xab; 32]);
        assert!(t.starts_with("oms_") && t.len() == 68, "{t}");
    }

    #[test]
    fn scopes_allow_their_sellers_only() {
        let s = SellerScope::from_texts(&["7", "8", "07"]).unwrap();
        assert_eq!(s.sellers().unwrap().len(), 2, "07 is 7");
        assert!(s.allows(&seller("7")) && s.allows(&seller("08")));
        assert!(!s.allows(&seller("9")));
        assert_eq!(s.to_string(), "7,8");
        let all = SellerScope::from_texts(&["*"]).unwrap();
        assert!(all.allows(&seller("anyone")) && all.sellers().is_none());
        assert_eq!(all.to_string(), "*");
        assert!(SellerScope::from_texts::<&str>(&[]).is_err());
        assert!(SellerScope::from_texts(&["*", "7"]).is_err());
        assert!(SellerScope::from_texts(&[" "]).is_err());
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(check_name("acme-shop_2.eu").is_ok());
        for bad in ["", "a b", "ä", "x\n", &"n".repeat(65), "a=b", "-a", ".a"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_file_round_trips_and_identifies_its_tokens() {
        let mut list = TokenList::default();
        list.add(token("acme", "t-acme", &["7", "8"])).unwrap();
        list.add(token("ops", "t-ops", &["*"])).unwrap();
        let text = list.render();
        assert!(text.starts_with("# API tokens"), "{text}");
        assert!(!text.contains("t-acme"), "{text}");
        let back = TokenList::parse(&text).unwrap();
        assert_eq!(back, list);
        let who = back.identify(&TokenHash::of("t-acme")).unwrap();
        assert_eq!(who.name, "acme");
        assert_eq!(who.scope.to_string(), "7,8");
        assert!(back.identify(&TokenHash::of("t-acm")).is_none());
        assert_eq!(TokenList::parse("").unwrap().tokens().len(), 0);
        assert_eq!(
            TokenList::parse("# nothing yet\n").unwrap().tokens().len(),
            0
        );
    }

    #[test]
    fn changes_keep_names_and_hashes_unique() {
        let mut list = TokenList::default();
        list.add(token("acme", "t1", &["7"])).unwrap();
        assert_eq!(
            list.add(token("acme", "t2", &["8"])),
            Err(TokensFileError::DuplicateName("acme".into()))
        );
        assert!(matches!(
            list.add(token("other", "t1", &["8"])),
            Err(TokensFileError::DuplicateHash(..))
        ));
        assert_eq!(list.remove("acme").unwrap().name, "acme");
        assert_eq!(
            list.remove("acme"),
            Err(TokensFileError::NoSuchName("acme".into()))
        );
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        let h = TokenHash::of("x").to_hex();
        let cases = [
            ("[[token]]\nname = \"a\"\n".to_owned(), "sha256"),
            ("[[token]\n".to_owned(), "line 1"),
            (
                format!("[[token]]\nname = \"a\"\nsha256 = \"{h}\"\nsellers = []\n"),
                "sellers is empty",
            ),
            (
                format!("[[token]]\nname = \"a b\"\nsha256 = \"{h}\"\nsellers = [\"1\"]\n"),
                "token name",
            ),
            (
                "[[token]]\nname = \"a\"\nsha256 = \"12\"\nsellers = [\"1\"]\n".to_owned(),
                "64 hex",
            ),
            (
                format!(
                    "[[token]]\nname = \"a\"\nsha256 = \"{h}\"\nsellers = [\"1\"]\ncolour = 1\n"
                ),
                "colour",
            ),
            (
                format!(
                    "[[token]]\nname = \"a\"\nsha256 = \"{h}\"\nsellers = [\"1\"]\n\
                     [[token]]\nname = \"a\"\nsha256 = \"{}\"\nsellers = [\"2\"]\n",
                    TokenHash::of("y").to_hex()
                ),
                "two tokens",
            ),
        ];
        for (text, says) in cases {
            let e = TokenList::parse(&text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
