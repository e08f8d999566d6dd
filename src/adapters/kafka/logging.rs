//! librdkafka's log lines and client errors, routed to `tracing` (target `oms::kafka`).

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;

/// Routes librdkafka's log lines and errors to `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Logging;

/// Logs one line of librdkafka at the level it has.
pub(super) fn log_line(level: RDKafkaLogLevel, fac: &str, msg: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error
        | RDKafkaLogLevel::Warning => tracing::warn!(target: "oms::kafka", "{fac}: {msg}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "oms::kafka", "{fac}: {msg}");
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "oms::kafka", "{fac}: {msg}"),
    }
}

/// Logs an error librdkafka reports about the client (not about a request).
pub(super) fn client_error(error: &KafkaError, reason: &str) {
    tracing::warn!(target: "oms::kafka", "{error}: {reason}");
}

impl ClientContext for Logging {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client_error(&error, reason);
    }
}

impl ConsumerContext for Logging {}
