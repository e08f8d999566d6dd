//! Adapters: one per port and backend. `embedded` is the default (one SQLite file);
//! `sqs`, `kafka`, `mongo` and `wms_http` are the real backends; `scratch` is the
//! temporary space of a big ingest.

pub mod embedded;
pub mod kafka;
pub mod mongo;
pub mod scratch;
pub mod sqs;
pub mod wms_http;
