//! `oms`: bulk order files in, validated, stored, fulfilled orders out.
//!
//! Layers, each importing only those below it:
//! `domain` (pure rules, no I/O) <- `ports` (the backend traits and their errors) <-
//! `app` (use cases over the ports) <- `adapters` (one folder per backend) <- the edge:
//! `config` (reads settings), `wiring` (settings -> adapters), `doctor`, `ui`, `http`,
//! `cli` and `commands` (parsed arguments -> use case -> output -> exit code).

pub mod adapters;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod http;
pub mod ports;
pub mod ui;
pub mod wiring;
