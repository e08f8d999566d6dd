//! Adapters: one per port and backend. `embedded` is the default (one SQLite file);
//! `sqs`, `kafka`, `mongo`, `s3` and `wms_http` are the real backends; `local` is the
//! storage root on this machine's disk; `scratch` is the temporary space of a big
//! ingest.

mod aws;
pub mod embedded;
pub mod kafka;
pub mod local;
pub mod mongo;
pub mod s3;
pub mod scratch;
pub mod sqs;
pub mod wms_http;
