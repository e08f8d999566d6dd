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

/// The layering rules, checked on the source text: each layer imports only the layers
/// below it, and no file grows past what one reading takes in.
#[cfg(test)]
mod layers {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// Lines of code (comments aside) of the files under `src/<layer>` and of the file
    /// `src/<layer>.rs` that name one of `forbidden`.
    fn offences(layer: &str, forbidden: &[&str]) -> Vec<String> {
        let mut files = Vec::new();
        let dir = src().join(layer);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let file = src().join(format!("{layer}.rs"));
        if file.is_file() {
            files.push(file);
        }
        assert!(!files.is_empty(), "no source for the layer {layer}");
        let mut found = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read source");
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if forbidden.iter().any(|name| code.contains(name)) {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
        found
    }

    const EDGE: [&str; 7] = [
        "crate::config",
        "crate::wiring",
        "crate::ui",
        "crate::http",
        "crate::commands",
        "crate::doctor",
        "crate::cli",
    ];
    const DRIVERS: [&str; 10] = [
        "aws_sdk_",
        "aws_config",
        "rdkafka",
        "mongodb::",
        "rusqlite",
        "reqwest",
        "axum",
        "clap",
        "indicatif",
        "comfy_table",
    ];

    #[test]
    fn the_domain_imports_no_other_layer() {
        let mut forbidden = vec!["crate::ports", "crate::app", "crate::adapters"];
        forbidden.extend(EDGE);
        forbidden.extend(DRIVERS);
        assert_eq!(offences("domain", &forbidden), Vec::<String>::new());
    }

    #[test]
    fn the_ports_import_only_the_domain() {
        let mut forbidden = vec!["crate::app", "crate::adapters"];
        forbidden.extend(EDGE);
        forbidden.extend(DRIVERS);
        assert_eq!(offences("ports", &forbidden), Vec::<String>::new());
    }

    #[test]
    fn the_use_cases_import_only_the_domain_and_the_ports() {
        // Order files are read through the file port, never from the disk directly.
        let mut forbidden = vec!["crate::adapters", "std::fs"];
        forbidden.extend(EDGE);
        forbidden.extend(DRIVERS);
        assert_eq!(offences("app", &forbidden), Vec::<String>::new());
    }

    #[test]
    fn the_adapters_know_no_use_case_and_no_edge() {
        let mut forbidden = vec!["crate::app"];
        forbidden.extend(EDGE);
        assert_eq!(offences("adapters", &forbidden), Vec::<String>::new());
    }

    #[test]
    fn the_diagnosis_asks_the_adapters_instead_of_the_drivers() {
        assert_eq!(offences("doctor", &DRIVERS), Vec::<String>::new());
    }

    #[test]
    fn main_is_thin_and_no_file_is_over_700_lines() {
        let mut files = Vec::new();
        rust_files(&src(), &mut files);
        let mut long = Vec::new();
        for f in files {
            let lines = std::fs::read_to_string(&f)
                .expect("read source")
                .lines()
                .count();
            let limit = if f.ends_with("main.rs") { 200 } else { 700 };
            if lines > limit {
                long.push(format!("{}: {lines} lines (at most {limit})", f.display()));
            }
        }
        assert_eq!(long, Vec::<String>::new());
    }
}
