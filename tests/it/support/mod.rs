//! The shared builders of the test binaries, one of each: the `oms` command runner on a
//! temporary operator's machine ([`Oms`]), processes ([`Run`], [`Proc`]), where the
//! real test services are and clients of them (boto3 for S3), free ports, the HTTP servers under test
//! and answers as a client sees them ([`ApiServer`], [`Resp`]), values of oms's types for
//! the library-level tests, the sample flow's expected outcome, and generated
//! workloads. Test modules take what they need from here; nothing is copied per file.

mod domain;
mod http;
mod machine;
mod process;
mod s3;
mod sample;
mod services;
mod workload;

pub use domain::*;
pub use http::*;
pub use machine::*;
pub use process::*;
pub use s3::*;
pub use sample::*;
pub use services::*;
pub use workload::*;

use serde_json::Value;

/// Runs a future to its end on a runtime of its own (for the tests that are not async).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

/// A JSON string's text.
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// A JSON number that is a `u64`.
pub fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}
