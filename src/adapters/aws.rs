//! What the AWS adapters (SQS, S3) read the same way from an SDK error: its text with
//! its sources on one line, and the credentials provider's error behind a failed call.

use aws_credential_types::provider::error::CredentialsError;

/// An error and its sources, one line, each text once (without the `Debug` dump
/// `DisplayErrorContext` appends).
pub(super) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        next = e.source();
    }
    out.replace('\n', " ")
}

/// The credentials provider's error, when loading the credentials is what failed the
/// call (the SDK reports it as a dispatch failure).
pub(super) fn credentials_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// Whether the AWS configuration chain found no credentials, or was set up wrongly (a
/// configuration problem, not an outage).
pub(super) fn lacks_credentials(err: &CredentialsError) -> bool {
    matches!(
        err,
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_)
    )
}
