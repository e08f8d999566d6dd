//! The fast test binary (`cargo test --test it`): every integration test but the fault
//! suite, one module per area, all sharing the builders of [`support`]. One binary, so
//! helpers need no `#[path]` and every one of them is used somewhere (dead code is a
//! warning, and CI denies warnings).
//!
//! - `contract/`: the port contract suite, one file per port, each test run on every
//!   adapter of its port; `adapters/`: one fixture file per adapter, with the tests
//!   only that backend can fail.
//! - `e2e`, `e2e_real`, `api`, `api_tokens`, `dlq`, `doctor`, `hostile`, `operator`,
//!   `secrets`, `shutdown`, `status`, `tables`, `tty`, `wms_auth`: the built `oms` binary
//!   run as separate
//!   processes, on the embedded default or on the real services (`scripts/services
//!   up`; such tests skip themselves without them, or fail when
//!   `OMS_REQUIRE_SERVICES=1`).
//! - `e2e_s3`: the order files in S3 (a moto of its own) with every other port real:
//!   workers on machines that share no disk, objects and messages of other clients.
//! - `file_sources`: the use cases over the file port (uploads at submit, versions,
//!   changed and unavailable sources at ingest), with a stand-in S3.
//! - `migration`: a data dir of the first release (a committed fixture) opens and is
//!   migrated in place.
//! - `completions`, `man`: the committed generated files are up to date.
//! - `proptest_parse`: property tests of the CSV parser.
//! - `ingest_spill`: ingest under a memory budget stores what it stores without one.
//!
//! The fault suite (minutes long) is the other binary, `fault` (`slow.rs`), which
//! shares [`support`] with this one.

mod adapters;
mod api;
mod api_tokens;
mod completions;
mod contract;
mod dlq;
mod doctor;
mod e2e;
mod e2e_real;
mod e2e_s3;
mod file_sources;
mod hostile;
mod ingest_spill;
mod man;
mod migration;
mod operator;
mod proptest_parse;
mod secrets;
mod shutdown;
mod status;
mod support;
mod tables;
mod tty;
mod wms_auth;
