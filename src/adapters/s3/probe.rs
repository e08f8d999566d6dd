//! What `oms doctor` asks of S3, as plain data: each allowed prefix listable or why
//! not, the upload prefix writable (a tiny object put and removed) or why not, and
//! from those whether S3 answered and took the credentials; each failure sorted by its
//! [`FaultKind`], so that doctor picks a fix without reading text.

use super::errors::{FaultKind, map_err};
use super::location::Prefix;
use super::setup::{CONNECT_TIMEOUT, client, prefixes};
use super::{S3Files, S3Settings};
use crate::ports::FileError;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::time::Duration;

/// A step of the probe that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// How the adapter sorted the failure.
    pub kind: FaultKind,
    /// The adapter's error, as it says it.
    pub text: String,
}

impl ProbeFailure {
    fn of(e: &FileError) -> Self {
        Self {
            kind: FaultKind::of(e),
            text: e.to_string(),
        }
    }
}

/// An allowed prefix that could be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Whether any object is under it.
    pub any: bool,
}

/// What writing to the upload prefix showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writable {
    /// A test object was put and removed.
    Yes,
    /// A test object was put but could not be removed (its key, and why).
    NotRemoved(String, ProbeFailure),
    /// Nothing could be put.
    No(ProbeFailure),
}

/// What [`S3Files::probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Probe {
    /// The endpoint in force (`None`: AWS itself).
    pub endpoint: Option<String>,
    /// The region in force.
    pub region: String,
    /// The settings themselves are wrong (a prefix that is no `s3://bucket/…/`): the
    /// other answers are empty then.
    pub settings: Option<String>,
    /// Each allowed prefix, listed.
    pub allowed: Vec<(String, Result<Listed, ProbeFailure>)>,
    /// The upload prefix, written to, when one is configured.
    pub upload: Option<(String, Writable)>,
}

impl S3Probe {
    /// Whether S3 answered and took the credentials: the first failure of a kind that
    /// concerns every call (no answer, no or bad credentials), if any.
    pub fn reach(&self) -> Result<(), ProbeFailure> {
        let global = |f: &&ProbeFailure| {
            matches!(
                f.kind,
                FaultKind::Unreachable
                    | FaultKind::Busy
                    | FaultKind::NoCredentials
                    | FaultKind::BadCredentials
            )
        };
        let listed = self.allowed.iter().filter_map(|(_, r)| r.as_ref().err());
        let written = self.upload.iter().filter_map(|(_, w)| match w {
            Writable::No(f) => Some(f),
            _ => None,
        });
        match listed.chain(written).find(global) {
            Some(f) => Err(f.clone()),
            None => Ok(()),
        }
    }
}

/// Lists at most one object under `prefix`.
async fn list(client: &Client, prefix: &Prefix) -> Result<Listed, ProbeFailure> {
    client
        .list_objects_v2()
        .bucket(&prefix.bucket)
        .prefix(&prefix.prefix)
        .max_keys(1)
        .send()
        .await
        .map(|out| Listed {
            any: out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty(),
        })
        .map_err(|e| ProbeFailure::of(&map_err("LIST", &prefix.to_string(), e)))
}

/// Puts a tiny object under `prefix` and removes it.
async fn write(client: &Client, prefix: &Prefix) -> Writable {
    let key = format!(
        "{}.oms-doctor-{}",
        prefix.prefix,
        uuid::Uuid::new_v4().simple()
    );
    let uri = format!("s3://{}/{key}", prefix.bucket);
    let put = client
        .put_object()
        .bucket(&prefix.bucket)
        .key(&key)
        .body(ByteStream::from_static(b"oms doctor\n"))
        .send()
        .await;
    if let Err(e) = put {
        return Writable::No(ProbeFailure::of(&map_err("PUT", &uri, e)));
    }
    match client
        .delete_object()
        .bucket(&prefix.bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(_) => Writable::Yes,
        Err(e) => Writable::NotRemoved(uri.clone(), ProbeFailure::of(&map_err("DELETE", &uri, e))),
    }
}

impl S3Files {
    /// Looks at the S3 places of `settings` the way `oms doctor` reports on them: lists
    /// each allowed prefix (one key at most, all at once) and puts and removes a tiny object
    /// `.oms-doctor-<uuid>` under the upload prefix. One attempt a call, each waiting
    /// at most `timeout`.
    ///
    /// Never fails: what goes wrong is part of the answer.
    pub async fn probe(settings: &S3Settings, timeout: Duration) -> S3Probe {
        let quick = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .operation_attempt_timeout(timeout)
            .operation_timeout(timeout)
            .build();
        let (client, endpoint, region) = client(settings, Some(quick), Some(1)).await;
        let mut probe = S3Probe {
            endpoint,
            region,
            settings: None,
            allowed: Vec::new(),
            upload: None,
        };
        let (allowed, upload) = match prefixes(settings) {
            Ok(p) => p,
            Err(e) => {
                probe.settings = Some(e.to_string());
                return probe;
            }
        };
        let lists = futures_util::future::join_all(allowed.iter().map(|p| list(&client, p)));
        let written = async {
            match &upload {
                Some(prefix) => Some((prefix.to_string(), write(&client, prefix).await)),
                None => None,
            }
        };
        let (lists, written) = tokio::join!(lists, written);
        probe.allowed = allowed.iter().map(ToString::to_string).zip(lists).collect();
        probe.upload = written;
        probe
    }
}
