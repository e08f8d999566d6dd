//! Adapters: one per port and backend. `embedded` is the default (one SQLite file).

pub mod embedded;
