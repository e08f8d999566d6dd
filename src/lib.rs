//! `oms`: bulk order files in, validated, stored, fulfilled orders out.
//!
//! Layout: `domain` (pure rules), `ports` (the four backend traits), `app` (use cases
//! over the ports), `adapters` (embedded SQLite; real backends), `config` (which adapter
//! serves each port), `cli` and `ui` (the edge).

pub mod adapters;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod ports;
pub mod ui;
