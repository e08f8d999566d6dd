//! Setting up: the SDK client (region, credentials and endpoint from the standard AWS
//! chain, an explicit endpoint overriding it, path-style addressing for emulators),
//! and validating the configured prefixes.

use super::location::{Prefix, parse_prefix};
use super::{Inner, S3Files, S3Settings};
use crate::ports::FileError;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use std::sync::Arc;
use std::time::Duration;

/// Region used when the AWS configuration chain names none.
const DEFAULT_REGION: &str = "us-east-1";
/// Time to open a connection to S3.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time S3 has to start answering a request.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The setting names, for messages.
pub(super) const ALLOW_SETTING: &str = "OMS_S3_ALLOW ([s3] allow)";
pub(super) const UPLOAD_SETTING: &str = "OMS_S3_UPLOAD ([s3] upload)";

/// Where a client of `settings` sends its requests, as far as the settings and the
/// environment (`var` looks a variable up) tell: the explicit endpoint, else
/// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`); `None` for AWS itself.
fn endpoint_in_force(
    settings: &S3Settings,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let set = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(e) = set(settings.endpoint.clone()) {
        return Some(e);
    }
    let ignored = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if ignored {
        return None;
    }
    set(var("AWS_ENDPOINT_URL_S3")).or_else(|| set(var("AWS_ENDPOINT_URL")))
}

/// An S3 client for `settings`: the standard AWS configuration chain, the explicit
/// endpoint over it, path-style addressing when an endpoint is in force or asked for,
/// `timeouts` (connect and first-byte limits when `None`), at most `max_attempts`
/// attempts a call (the SDK's standard retries when `None`). Checksums are computed
/// and validated only where this adapter asks for them. Gives the client, the
/// endpoint in force and the region.
pub(super) async fn client(
    settings: &S3Settings,
    timeouts: Option<TimeoutConfig>,
    max_attempts: Option<u32>,
) -> (Client, Option<String>, String) {
    let endpoint = endpoint_in_force(settings, |name| std::env::var(name).ok());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(e) = settings
        .endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        loader = loader.endpoint_url(e);
    }
    let shared = loader.load().await;
    let mut conf = aws_sdk_s3::config::Builder::from(&shared);
    let region = match shared.region() {
        Some(r) => r.to_string(),
        None => {
            conf = conf.region(Region::new(DEFAULT_REGION));
            DEFAULT_REGION.to_owned()
        }
    };
    conf = conf
        .force_path_style(settings.force_path_style || endpoint.is_some())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(timeouts.unwrap_or_else(|| {
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .build()
        }));
    if let Some(attempts) = max_attempts {
        conf = conf.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    }
    (Client::from_conf(conf.build()), endpoint, region)
}

/// The prefixes of `settings`: the allowed ones and the upload prefix.
///
/// # Errors
/// [`FileError::Refused`] naming the setting of a prefix that is not `s3://bucket/…/`.
pub(super) fn prefixes(settings: &S3Settings) -> Result<(Vec<Prefix>, Option<Prefix>), FileError> {
    let allowed = settings
        .allow
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| parse_prefix(p, ALLOW_SETTING))
        .collect::<Result<Vec<_>, _>>()?;
    let upload = settings
        .upload
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| parse_prefix(p, UPLOAD_SETTING))
        .transpose()?;
    Ok((allowed, upload))
}

impl S3Files {
    /// Connects to S3 with `settings`: validates the prefixes and builds the client
    /// (no call to S3 yet).
    ///
    /// # Errors
    /// [`FileError::Refused`] naming the setting of a bad prefix.
    pub async fn connect(settings: S3Settings) -> Result<Self, FileError> {
        let (allowed, upload) = prefixes(&settings)?;
        let (client, endpoint, region) = client(&settings, None, None).await;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                allowed,
                upload,
                endpoint,
                region,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_setting_else_the_aws_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let explicit = S3Settings {
            endpoint: Some(" http://127.0.0.1:9000 ".into()),
            ..S3Settings::default()
        };
        let both = env(&[
            ("AWS_ENDPOINT_URL_S3", "http://s3.local:1"),
            ("AWS_ENDPOINT_URL", "http://all.local:2"),
        ]);
        assert_eq!(
            endpoint_in_force(&explicit, both).as_deref(),
            Some("http://127.0.0.1:9000"),
            "an explicit endpoint overrides the environment"
        );
        let none = S3Settings::default();
        assert_eq!(
            endpoint_in_force(&none, both).as_deref(),
            Some("http://s3.local:1")
        );
        assert_eq!(
            endpoint_in_force(&none, env(&[("AWS_ENDPOINT_URL", "http://all.local:2")])).as_deref(),
            Some("http://all.local:2")
        );
        assert_eq!(endpoint_in_force(&none, env(&[])), None);
        assert_eq!(
            endpoint_in_force(
                &none,
                env(&[
                    ("AWS_ENDPOINT_URL_S3", "http://s3.local:1"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                ])
            ),
            None
        );
    }

    #[test]
    fn bad_prefixes_are_refused_naming_their_setting() {
        let settings = |allow: &[&str], upload: Option<&str>| S3Settings {
            endpoint: None,
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            upload: upload.map(str::to_owned),
            force_path_style: false,
        };
        let (allowed, upload) = prefixes(&settings(
            &["s3://orders/in/", "s3://shared"],
            Some("s3://uploads/x/"),
        ))
        .unwrap();
        assert_eq!(allowed.len(), 2);
        assert_eq!(upload.unwrap().to_string(), "s3://uploads/x/");
        let Err(FileError::Refused(d)) = prefixes(&settings(&["s3://orders/in"], None)) else {
            panic!("a prefix without a trailing / must be refused");
        };
        assert!(d.text().starts_with("OMS_S3_ALLOW"), "{d}");
        let Err(FileError::Refused(d)) = prefixes(&settings(&[], Some("/tmp/up/"))) else {
            panic!("an upload prefix that is no s3:// URI must be refused");
        };
        assert!(d.text().starts_with("OMS_S3_UPLOAD"), "{d}");
    }
}
