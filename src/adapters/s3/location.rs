//! Where an order file may be in S3: parsing `s3://bucket/key` and the configured
//! prefixes, and the rule that a key must lie under one of the allowed prefixes. Pure
//! functions: a location is refused here, before any call to S3.

use crate::ports::{Detail, FileError};

/// An object's address: `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUri {
    pub bucket: String,
    pub key: String,
}

impl ObjectUri {
    /// The `s3://bucket/key` form.
    #[must_use]
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

impl std::fmt::Display for ObjectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A configured place: `s3://bucket/prefix/` (or a whole bucket, `s3://bucket/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub bucket: String,
    /// Empty (the whole bucket) or ending in `/`.
    pub prefix: String,
}

impl Prefix {
    /// Whether `object` lies under this prefix.
    #[must_use]
    pub fn holds(&self, object: &ObjectUri) -> bool {
        object.bucket == self.bucket && object.key.starts_with(&self.prefix)
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Whether `location` is meant as an S3 location (`s3://…`).
#[must_use]
pub fn is_s3(location: &str) -> bool {
    location.trim_start().starts_with("s3://")
}

/// Whether `bucket` is a name S3 could accept: 3 to 63 characters of lower-case
/// letters, digits, `.` and `-`, starting and ending with a letter or digit.
fn valid_bucket(bucket: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(bucket.chars().next())
        && edge(bucket.chars().last())
}

/// The bucket and the rest of `s3://bucket/rest`, or why not.
fn split(text: &str) -> Result<(&str, &str), String> {
    if text.contains('\0') {
        return Err("it contains a NUL byte".into());
    }
    let rest = text
        .strip_prefix("s3://")
        .ok_or_else(|| "it does not start with s3://".to_owned())?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("the bucket is empty".into());
    }
    if !valid_bucket(bucket) {
        return Err(format!("`{bucket}` is not a valid bucket name"));
    }
    if key.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("it has a `.` or `..` segment".into());
    }
    Ok((bucket, key))
}

/// Parses an object location `s3://bucket/key`.
///
/// # Errors
/// [`FileError::Refused`] naming the rule: an empty bucket or key, a `.`/`..` segment,
/// a NUL byte, a key ending in `/` (a folder, not an object).
pub fn parse_object(location: &str) -> Result<ObjectUri, FileError> {
    let refuse = |why: String| {
        FileError::Refused(Detail::new(format!(
            "{location}: not an S3 object location ({why}); expected s3://bucket/key"
        )))
    };
    let (bucket, key) = split(location).map_err(refuse)?;
    if key.is_empty() {
        return Err(refuse("the key is empty".into()));
    }
    if key.ends_with('/') {
        return Err(refuse("the key ends in `/`: that names a folder".into()));
    }
    Ok(ObjectUri {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
}

/// Parses a configured prefix (`s3://bucket/prefix/` or `s3://bucket/`); `setting`
/// names the setting it comes from.
///
/// # Errors
/// [`FileError::Refused`] naming the setting and the rule.
pub fn parse_prefix(text: &str, setting: &str) -> Result<Prefix, FileError> {
    let text = text.trim();
    let refuse = |why: String| {
        FileError::Refused(Detail::new(format!(
            "{setting}: `{text}` is not an S3 prefix ({why}); expected s3://bucket/prefix/ \
             (ending in /) or s3://bucket/"
        )))
    };
    let (bucket, prefix) = split(text).map_err(refuse)?;
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err(refuse("it does not end in `/`".into()));
    }
    if prefix.starts_with('/') || prefix.contains("//") {
        return Err(refuse("it has an empty segment".into()));
    }
    Ok(Prefix {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    })
}

/// Parses `location` and checks that it lies under one of `allowed`.
///
/// # Errors
/// [`FileError::Refused`] naming the rule and the allowed prefixes.
pub fn allowed_object(location: &str, allowed: &[Prefix]) -> Result<ObjectUri, FileError> {
    let object = parse_object(location.trim())?;
    if allowed.iter().any(|p| p.holds(&object)) {
        return Ok(object);
    }
    let places = if allowed.is_empty() {
        "none are configured (set OMS_S3_ALLOW, or `allow` in the [s3] section of oms.toml)"
            .to_owned()
    } else {
        allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(FileError::Refused(Detail::new(format!(
        "{object}: outside the allowed S3 prefixes (only objects under an allowed prefix \
         are read): {places}"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: Result<impl std::fmt::Debug, FileError>) -> String {
        match r {
            Err(FileError::Refused(d)) => d.text().to_owned(),
            other => panic!("expected Refused, got {other:?}"),
        }
    }

    #[test]
    fn object_locations_are_parsed_and_bad_ones_refused_with_the_rule() {
        assert_eq!(
            parse_object("s3://orders-in/seller 1/jan.csv").unwrap(),
            ObjectUri {
                bucket: "orders-in".into(),
                key: "seller 1/jan.csv".into()
            }
        );
        assert!(refused(parse_object("s3:///a.csv")).contains("the bucket is empty"));
        assert!(refused(parse_object("s3://bucket")).contains("the key is empty"));
        assert!(refused(parse_object("s3://bucket/")).contains("the key is empty"));
        assert!(refused(parse_object("s3://bucket/in/")).contains("names a folder"));
        assert!(refused(parse_object("s3://bucket/in/../etc/x.csv")).contains("`..`"));
        assert!(refused(parse_object("s3://bucket/in/./x.csv")).contains("`.`"));
        assert!(refused(parse_object("s3://bucket/a\0.csv")).contains("NUL"));
        assert!(refused(parse_object("https://bucket/a.csv")).contains("s3://"));
        assert!(refused(parse_object("s3://Bad_Bucket/a.csv")).contains("bucket name"));
        // `..` inside a name is not a segment.
        assert_eq!(parse_object("s3://bkt/a..b.csv").unwrap().key, "a..b.csv");
    }

    #[test]
    fn prefixes_must_end_in_a_slash_or_name_the_whole_bucket() {
        let p = parse_prefix(" s3://orders/in/ ", "OMS_S3_ALLOW").unwrap();
        assert_eq!(p.to_string(), "s3://orders/in/");
        let whole = parse_prefix("s3://orders", "OMS_S3_ALLOW").unwrap();
        assert_eq!(whole.prefix, "");
        assert_eq!(whole.to_string(), "s3://orders/");
        let e = refused(parse_prefix("s3://orders/in", "OMS_S3_UPLOAD"));
        assert!(
            e.starts_with("OMS_S3_UPLOAD: `s3://orders/in`") && e.contains("end in `/`"),
            "{e}"
        );
        assert!(refused(parse_prefix("/srv/in/", "OMS_S3_ALLOW")).contains("s3://"));
        assert!(refused(parse_prefix("s3://orders//", "OMS_S3_ALLOW")).contains("empty segment"));
        assert!(refused(parse_prefix("s3://orders/../", "OMS_S3_ALLOW")).contains("`..`"));
    }

    #[test]
    fn only_keys_under_an_allowed_prefix_are_accepted() {
        let allowed = [
            parse_prefix("s3://orders/in/", "x").unwrap(),
            parse_prefix("s3://shared/", "x").unwrap(),
        ];
        assert!(allowed_object("s3://orders/in/a.csv", &allowed).is_ok());
        assert!(allowed_object("s3://orders/in/deep/a.csv", &allowed).is_ok());
        assert!(allowed_object("s3://shared/x.csv", &allowed).is_ok());
        let e = refused(allowed_object("s3://orders/inbox.csv", &allowed));
        assert!(
            e.contains("outside the allowed S3 prefixes")
                && e.contains("s3://orders/in/, s3://shared/"),
            "{e}"
        );
        assert!(refused(allowed_object("s3://other/in/a.csv", &allowed)).contains("outside"));
        assert!(refused(allowed_object("s3://orders/a.csv", &[])).contains("OMS_S3_ALLOW"));
        assert!(is_s3("s3://x/y") && !is_s3("storage/orders.csv"));
    }
}
