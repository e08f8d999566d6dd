//! `[s3]` and `OMS_S3_*`: the S3 prefixes order files may come from and where `submit`
//! uploads local files, read and validated. Nothing here connects.

use super::redact_credentials;
use anyhow::bail;
use serde::Deserialize;

/// `[s3]`: order files in S3.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    pub endpoint: Option<String>,
    pub allow: Option<Vec<String>>,
    pub upload: Option<String>,
    pub path_style: Option<bool>,
}

/// Order files in S3 (`[s3]`, `OMS_S3_*`); present only when a prefix is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `OMS_S3_ENDPOINT`: an S3-compatible endpoint instead of AWS's (else the AWS
    /// chain's, such as `AWS_ENDPOINT_URL_S3`).
    pub endpoint: Option<String>,
    /// The `s3://bucket/prefix/` locations order files may come from, the upload
    /// prefix among them.
    pub allow: Vec<String>,
    /// `OMS_S3_UPLOAD`: where `submit` uploads local files.
    pub upload: Option<String>,
    /// Path-style addressing (`OMS_S3_PATH_STYLE`; default: on with an endpoint).
    pub force_path_style: bool,
}

impl S3Config {
    /// The allowed prefixes, the upload prefix and the endpoint, in one word (no
    /// secrets).
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = format!("allow({})", self.allow.join(","));
        if let Some(u) = &self.upload {
            s.push_str(&format!(",upload({u})"));
        }
        if let Some(e) = &self.endpoint {
            s.push_str(&format!(",endpoint({})", redact_credentials(e)));
        }
        s
    }
}

/// The S3 settings of `[s3]` and the environment (`env`, read by name; the environment
/// beats the file): `None` when no prefix is allowed (nothing of S3 is used then).
///
/// # Errors
/// A prefix that is not `s3://bucket/prefix/` (naming the setting and the rule), an
/// endpoint that is not an `http(s)://` URL, a path style that is not a boolean, or an
/// endpoint or path style without any prefix.
pub fn s3_config(
    file: S3File,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<S3Config>> {
    let mut allow = match env("OMS_S3_ALLOW") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| s3_prefix("OMS_S3_ALLOW", p))
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => file
            .allow
            .unwrap_or_default()
            .iter()
            .map(|p| s3_prefix("[s3] allow", p))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let upload = match env("OMS_S3_UPLOAD") {
        Some(u) => Some(s3_prefix("OMS_S3_UPLOAD", &u)?),
        None => file
            .upload
            .map(|u| s3_prefix("[s3] upload", &u))
            .transpose()?,
    };
    // The upload prefix is where ingest reads the uploads: allowed without saying so.
    if let Some(u) = &upload
        && !allow.contains(u)
    {
        allow.push(u.clone());
    }
    let endpoint = env("OMS_S3_ENDPOINT")
        .or(file.endpoint)
        .map(|e| e.trim().to_owned());
    if let Some(e) = &endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        bail!(
            "OMS_S3_ENDPOINT={:?} is not a URL: write it as http://host:port or https://host",
            redact_credentials(e)
        );
    }
    let path_style = match env("OMS_S3_PATH_STYLE") {
        Some(v) => Some(parse_bool(&v).ok_or_else(|| {
            anyhow::anyhow!("OMS_S3_PATH_STYLE={v:?} is not a boolean (true or false)")
        })?),
        None => file.path_style,
    };
    if allow.is_empty() {
        if endpoint.is_some() || path_style.is_some() {
            bail!(
                "S3 is set up (OMS_S3_ENDPOINT or OMS_S3_PATH_STYLE) but no S3 prefix is \
                 allowed: set OMS_S3_ALLOW to the s3://bucket/prefix/ list order files may \
                 come from, or OMS_S3_UPLOAD"
            );
        }
        return Ok(None);
    }
    Ok(Some(S3Config {
        force_path_style: path_style.unwrap_or(endpoint.is_some()),
        endpoint,
        allow,
        upload,
    }))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// An allowed S3 prefix as written in `setting`: `s3://bucket/` or
/// `s3://bucket/prefix/` (a bucket alone gets its `/`).
///
/// # Errors
/// The rule `value` breaks, naming `setting`.
pub fn s3_prefix(setting: &str, value: &str) -> anyhow::Result<String> {
    const FORM: &str = "write it as s3://bucket/prefix/";
    let value = value.trim();
    let Some(rest) = value.strip_prefix("s3://") else {
        bail!("{setting}: {value:?} is not an S3 location: {FORM}");
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_bucket {
        bail!(
            "{setting}: {value:?}: {bucket:?} is not an S3 bucket name (3 to 63 lowercase \
             letters, digits, dots and hyphens, starting and ending with a letter or digit)"
        );
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        bail!(
            "{setting}: {value:?} must end with / ({FORM}): a prefix is a folder, so that \
             s3://{bucket}/{prefix}/ does not also allow s3://{bucket}/{prefix}-other/"
        );
    }
    if let Some(folders) = prefix.strip_suffix('/')
        && folders.split('/').any(|f| matches!(f, "" | "." | ".."))
    {
        bail!("{setting}: {value:?} has an empty, . or .. folder in its prefix ({FORM})");
    }
    Ok(format!("s3://{bucket}/{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn s3(file: &str, env: &[(&str, &str)]) -> anyhow::Result<Option<S3Config>> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            s3: S3File,
        }
        let doc: Doc = toml::from_str(file).unwrap();
        s3_config(doc.s3, &env_of(env))
    }

    #[test]
    fn without_an_s3_setting_nothing_of_s3_is_configured() {
        assert_eq!(s3("", &[]).unwrap(), None);
        assert_eq!(s3("[s3]\n", &[]).unwrap(), None);
    }

    #[test]
    fn s3_prefixes_come_from_the_file_or_the_environment() {
        let c = s3(
            "[s3]\nallow = [\"s3://orders/in/\", \"s3://archive\"]\n",
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.allow, ["s3://orders/in/", "s3://archive/"]);
        assert_eq!(
            (c.endpoint, c.upload, c.force_path_style),
            (None, None, false)
        );

        // The environment beats the file; a list is comma-separated.
        let c = s3(
            "[s3]\nallow = [\"s3://orders/in/\"]\npath_style = false\n",
            &[
                ("OMS_S3_ALLOW", " s3://a-1/x/y/ ,, s3://b.2/ "),
                ("OMS_S3_ENDPOINT", "http://127.0.0.1:4566"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.allow, ["s3://a-1/x/y/", "s3://b.2/"]);
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        assert!(!c.force_path_style, "the file says no path style");
        let c = s3(
            "",
            &[
                ("OMS_S3_ALLOW", "s3://abc/"),
                ("OMS_S3_ENDPOINT", "http://h:1"),
            ],
        )
        .unwrap()
        .unwrap();
        assert!(c.force_path_style, "on by default with an endpoint");
        let c = s3(
            "",
            &[("OMS_S3_ALLOW", "s3://abc/"), ("OMS_S3_PATH_STYLE", "yes")],
        )
        .unwrap()
        .unwrap();
        assert!(c.force_path_style);
    }

    #[test]
    fn the_upload_prefix_is_allowed_without_saying_so() {
        let c = s3("", &[("OMS_S3_UPLOAD", "s3://orders/up/")])
            .unwrap()
            .unwrap();
        assert_eq!(c.upload.as_deref(), Some("s3://orders/up/"));
        assert_eq!(c.allow, ["s3://orders/up/"]);
        let c = s3(
            "[s3]\nupload = \"s3://orders/up/\"\n",
            &[("OMS_S3_ALLOW", "s3://orders/up/,s3://other/")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.allow, ["s3://orders/up/", "s3://other/"], "not twice");
        assert!(c.describe().contains("upload(s3://orders/up/)"));
    }

    #[test]
    fn bad_s3_settings_are_refused_naming_the_setting_and_the_rule() {
        for (file, env, want) in [
            (
                "",
                ("OMS_S3_ALLOW", "orders/in/"),
                "OMS_S3_ALLOW: \"orders/in/\" is not an S3 location",
            ),
            ("", ("OMS_S3_ALLOW", "s3://orders/in"), "must end with /"),
            (
                "",
                ("OMS_S3_ALLOW", "s3://Orders/in/"),
                "not an S3 bucket name",
            ),
            ("", ("OMS_S3_ALLOW", "s3://ab/"), "not an S3 bucket name"),
            (
                "",
                ("OMS_S3_ALLOW", "s3://orders//in/"),
                "empty, . or .. folder",
            ),
            (
                "",
                ("OMS_S3_ALLOW", "s3://orders/../in/"),
                "empty, . or .. folder",
            ),
            ("", ("OMS_S3_UPLOAD", "https://orders/in/"), "OMS_S3_UPLOAD"),
            ("[s3]\nallow = [\"s3://x\"]\n", ("OMS_X", ""), "[s3] allow"),
            ("", ("OMS_S3_ENDPOINT", "localhost:4566"), "is not a URL"),
            ("", ("OMS_S3_ENDPOINT", "http://h:1"), "set OMS_S3_ALLOW"),
        ] {
            let err = s3(file, &[env]).unwrap_err().to_string();
            assert!(err.contains(want), "{env:?}: {err}");
        }
        let err = s3(
            "",
            &[
                ("OMS_S3_ALLOW", "s3://abc/"),
                ("OMS_S3_PATH_STYLE", "maybe"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("OMS_S3_PATH_STYLE"), "{err}");
    }
}
