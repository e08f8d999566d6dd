//! Where the real test services are: the variables `scripts/services env` prints.
#![allow(dead_code)]

/// The value of `var`, or `None` (after saying so) when the service is not configured
/// and services are not required.
///
/// # Panics
/// When `var` is missing and `OMS_REQUIRE_SERVICES=1` (CI), so nothing is skipped silently.
pub fn service_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            let required = std::env::var("OMS_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{var} is not set: start the services with `scripts/services up` and \
                 `eval \"$(scripts/services env)\"`"
            );
            eprintln!("skipped: {var} is not set (scripts/services up)");
            None
        }
    }
}

/// The value of `var`, or `default` when it is unset or empty.
pub fn env_or(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}
