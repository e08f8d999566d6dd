//! The slow test binary (`cargo test --test fault`): the fault suite ([`fault`]), minutes
//! long, which `scripts/test` runs on its own after the other tests. Its root sits
//! beside the fast binary's (`main.rs`), so both declare `mod support;` and share the
//! same builders without `#[path]`.
//!
//! `support` is `pub` here because this binary uses only part of the shared builders;
//! a builder that no test uses at all is still reported as dead code by the fast
//! binary, which declares the module private. What only the fault suite needs lives in
//! `fault/`, checked for dead code here.

mod fault;
pub mod support;
