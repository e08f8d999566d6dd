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

#[path = "support/services.rs"]
mod services;
pub use services::service_env;

#[path = "real/kafka.rs"]
mod kafka;
#[path = "real/mongo.rs"]
mod mongo;
#[path = "real/sqs.rs"]
mod sqs;
#[path = "real/wms.rs"]
mod wms;
