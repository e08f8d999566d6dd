//! The S3 checks (order files in S3): S3 answers and takes the credentials, every
//! allowed prefix can be listed, the upload prefix can be written to; each ✗ with the
//! fix for the kind of failure the adapter sorted it into.

use super::embedded::timed_out;
use super::{CHECK_TIMEOUT, Check, REQUEST_TIMEOUT, bounded};
use crate::adapters::s3::{FaultKind, ProbeFailure, S3Files, S3Probe, S3Settings, Writable};

const NAME: &str = "s3";

/// The checks of the S3 places in `settings`: `s3` (reachable, credentials), one
/// `s3 allow <prefix>` per allowed prefix, and `s3 upload <prefix>` when an upload
/// prefix is set.
pub async fn checks(settings: &S3Settings) -> Vec<Check> {
    let endpoint = settings.endpoint.is_some();
    let owned = settings.clone();
    match bounded(CHECK_TIMEOUT, move || async move {
        S3Files::probe(&owned, REQUEST_TIMEOUT).await
    })
    .await
    {
        Ok(probe) => said(&probe),
        Err(why) => vec![timed_out(NAME, "S3", &why, &unreachable_fix(endpoint))],
    }
}

/// Where S3 is, in words.
fn place(probe: &S3Probe) -> String {
    match &probe.endpoint {
        Some(e) => format!("S3 at {e} (region {})", probe.region),
        None => format!("AWS S3 (region {})", probe.region),
    }
}

/// The fix when S3 does not answer (`endpoint`: an endpoint is configured).
fn unreachable_fix(endpoint: bool) -> String {
    if endpoint {
        "start the S3 service at the configured endpoint (OMS_S3_ENDPOINT, \
         AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL), or correct it"
            .into()
    } else {
        "check the network path to S3 and the region (AWS_REGION / AWS_PROFILE)".into()
    }
}

/// The fix when the credentials are missing or not accepted.
fn credentials_fix() -> String {
    "set valid AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, \
     or an instance role"
        .into()
}

/// The fix for a failure of `kind` on `prefix` (`upload`: writing to it).
fn fix_of(kind: FaultKind, prefix: &str, upload: bool, endpoint: bool) -> String {
    let (bucket, key_prefix) = prefix
        .strip_prefix("s3://")
        .and_then(|p| p.split_once('/'))
        .unwrap_or((prefix, ""));
    match kind {
        FaultKind::Unreachable | FaultKind::Busy => unreachable_fix(endpoint),
        FaultKind::NoCredentials | FaultKind::BadCredentials => credentials_fix(),
        FaultKind::Denied if upload => format!(
            "allow the credentials in force s3:PutObject, s3:GetObject and s3:DeleteObject \
             on arn:aws:s3:::{bucket}/{key_prefix}*"
        ),
        FaultKind::Denied => format!(
            "allow the credentials in force s3:ListBucket on arn:aws:s3:::{bucket} (prefix \
             `{key_prefix}`) and s3:GetObject on arn:aws:s3:::{bucket}/{key_prefix}*"
        ),
        FaultKind::NoSuchBucket | FaultKind::NoSuchObject => format!(
            "create the bucket (`aws s3 mb s3://{bucket}`), or correct {}",
            if upload {
                "OMS_S3_UPLOAD ([s3] upload)"
            } else {
                "OMS_S3_ALLOW ([s3] allow)"
            }
        ),
        FaultKind::Changed | FaultKind::Other => {
            "correct the [s3] settings (OMS_S3_ALLOW, OMS_S3_UPLOAD, OMS_S3_ENDPOINT) and the \
             AWS settings, then run `oms doctor` again"
                .into()
        }
    }
}

/// The checks a probe's answers make.
fn said(probe: &S3Probe) -> Vec<Check> {
    let endpoint = probe.endpoint.is_some();
    if let Some(why) = &probe.settings {
        return vec![Check::fail(
            NAME,
            why.clone(),
            "set OMS_S3_ALLOW to s3://bucket/prefix/ entries (each ending in /) and \
             OMS_S3_UPLOAD to one such prefix (or the same in the [s3] section of oms.toml)",
        )];
    }
    if let Err(f) = probe.reach() {
        let fix = match f.kind {
            FaultKind::NoCredentials | FaultKind::BadCredentials => credentials_fix(),
            _ => unreachable_fix(endpoint),
        };
        return vec![Check::fail(
            NAME,
            format!("{}: {}", place(probe), f.text),
            fix,
        )];
    }
    let mut checks = vec![Check::pass(
        NAME,
        format!("{}: answers, credentials accepted", place(probe)),
    )];
    for (prefix, listed) in &probe.allowed {
        let name = format!("s3 allow {prefix}");
        checks.push(match listed {
            Ok(l) => Check::pass(
                &name,
                format!(
                    "listable{}",
                    if l.any {
                        ""
                    } else {
                        " (no objects under it yet)"
                    }
                ),
            ),
            Err(ProbeFailure { kind, text }) => Check::fail(
                &name,
                format!("cannot be listed: {text}"),
                fix_of(*kind, prefix, false, endpoint),
            ),
        });
    }
    if let Some((prefix, written)) = &probe.upload {
        let name = format!("s3 upload {prefix}");
        checks.push(match written {
            Writable::Yes => Check::pass(&name, "writable (a test object put and removed)"),
            Writable::NotRemoved(key, f) => Check::fail(
                &name,
                format!(
                    "writable, but the test object {key} could not be removed: {}",
                    f.text
                ),
                format!(
                    "delete {key} (`aws s3 rm {key}`) and allow s3:DeleteObject on the \
                     upload prefix, or leave it (it is not an order file)"
                ),
            ),
            Writable::No(ProbeFailure { kind, text }) => Check::fail(
                &name,
                format!("cannot be written to: {text}"),
                fix_of(*kind, prefix, true, endpoint),
            ),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: FaultKind) -> ProbeFailure {
        ProbeFailure {
            kind,
            text: format!("{kind:?}"),
        }
    }

    fn probe(allowed: Vec<Result<(), FaultKind>>, upload: Option<Writable>) -> S3Probe {
        S3Probe {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            settings: None,
            allowed: allowed
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        format!("s3://b{i}/in/"),
                        r.map(|()| crate::adapters::s3::Listed { any: true })
                            .map_err(failure),
                    )
                })
                .collect(),
            upload: upload.map(|w| ("s3://up/x/".to_owned(), w)),
        }
    }

    #[test]
    fn no_answer_is_one_failed_check_with_the_endpoint_fix() {
        let checks = said(&probe(
            vec![Err(FaultKind::Unreachable), Err(FaultKind::Unreachable)],
            Some(Writable::No(failure(FaultKind::Unreachable))),
        ));
        assert_eq!(checks.len(), 1, "{checks:?}");
        assert!(!checks[0].ok && checks[0].fix.as_ref().unwrap().contains("OMS_S3_ENDPOINT"));
        let checks = said(&probe(vec![Err(FaultKind::BadCredentials)], None));
        assert!(
            checks[0]
                .fix
                .as_ref()
                .unwrap()
                .contains("AWS_ACCESS_KEY_ID")
        );
    }

    #[test]
    fn each_prefix_gets_its_check_and_its_fix() {
        let checks = said(&probe(
            vec![Ok(()), Err(FaultKind::Denied), Err(FaultKind::NoSuchBucket)],
            Some(Writable::No(failure(FaultKind::Denied))),
        ));
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "s3",
                "s3 allow s3://b0/in/",
                "s3 allow s3://b1/in/",
                "s3 allow s3://b2/in/",
                "s3 upload s3://up/x/"
            ]
        );
        assert!(checks[0].ok && checks[1].ok);
        assert!(
            checks[2]
                .fix
                .as_ref()
                .unwrap()
                .contains("s3:ListBucket on arn:aws:s3:::b1")
        );
        assert!(
            checks[3]
                .fix
                .as_ref()
                .unwrap()
                .contains("aws s3 mb s3://b2")
        );
        assert!(checks[4].fix.as_ref().unwrap().contains("s3:PutObject"));
        let kept = said(&probe(
            vec![Ok(())],
            Some(Writable::NotRemoved(
                "s3://up/x/.oms-doctor-1".into(),
                failure(FaultKind::Denied),
            )),
        ));
        assert!(!kept[2].ok && kept[2].fix.as_ref().unwrap().contains("aws s3 rm"));
    }
}
