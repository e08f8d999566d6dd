//! One file per adapter under test: its contract fixture (what `crate::contract` runs
//! the port suites on), and the tests only that backend can fail (clients other than
//! `oms`, wire-level errors, its own limits). Real backends skip themselves when their
//! service is not configured, or fail when `OMS_REQUIRE_SERVICES=1`.

pub mod embedded;
pub mod kafka;
pub mod local;
pub mod mongo;
pub mod s3;
pub mod sqs;
pub mod wms_http;
