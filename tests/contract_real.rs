//! The port contract suite (tests/suite) run against the real backends: SQS on moto
//! server, Kafka on tansu, MongoDB on SecantusDB, and the HTTP warehouse against
//! `oms wms serve`. `scripts/services up` starts the services and `scripts/services env`
//! prints the variables these tests read (`OMS_SQS_ENDPOINT`, `OMS_KAFKA_BROKERS`,
//! `OMS_MONGODB_URI`, ...).
//!
//! Without those variables a test fails when `OMS_REQUIRE_SERVICES=1` (as in
//! `scripts/test`, so CI never skips silently) and is skipped with a note otherwise.

#[macro_use]
mod suite;

#[path = "real/kafka.rs"]
mod kafka;
#[path = "real/mongo.rs"]
mod mongo;
#[path = "real/sqs.rs"]
mod sqs;
#[path = "real/wms.rs"]
mod wms;

/// The value of `var`, or `None` (after saying so) when the service is not configured
/// and services are not required.
///
/// # Panics
/// When `var` is missing and `OMS_REQUIRE_SERVICES=1`.
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
