//! The man pages committed in `man/` (`oms.1`, and one page per subcommand such as
//! `oms-submit.1`) must match what clap_mangen makes of the command-line definition
//! (`oms::cli::Cli`). When the definition changes, regenerate them with
//!
//! ```sh
//! cargo test --test it man:: -- --ignored
//! ```
//!
//! and commit `man/`.

use clap::CommandFactory;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "cargo test --test it man:: -- --ignored";

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every page, by file name, as generated now.
fn generated() -> BTreeMap<String, String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    clap_mangen::generate_to(oms::cli::Cli::command(), tmp.path()).expect("render man pages");
    pages(tmp.path())
}

/// The `*.1` files of `dir`, by file name.
fn pages(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).expect("read a man page");
            (name, text)
        })
        .collect()
}

#[test]
fn committed_man_pages_are_up_to_date() {
    let want = generated();
    let have = pages(&man_dir());
    assert!(want.contains_key("oms.1") && want.contains_key("oms-submit.1"));
    for (name, text) in &want {
        assert!(
            have.get(name) == Some(text),
            "man/{name} is missing or out of date: run `{REGENERATE}` and commit man/"
        );
    }
    for name in have.keys() {
        assert!(
            want.contains_key(name),
            "man/{name} belongs to no command any more: run `{REGENERATE}` and commit man/"
        );
    }
    let main = &have["oms.1"];
    assert!(main.contains("submit") && main.contains("doctor"), "{main}");
}

/// Writes `man/` afresh (removing pages of commands that are gone).
#[test]
#[ignore = "the generator: run it with `cargo test --test it man:: -- --ignored`"]
fn regenerate_man_pages() {
    let dir = man_dir();
    std::fs::create_dir_all(&dir).expect("create man/");
    for name in pages(&dir).keys() {
        std::fs::remove_file(dir.join(name)).expect("remove an old page");
    }
    clap_mangen::generate_to(oms::cli::Cli::command(), &dir).expect("write man pages");
    eprintln!("wrote {} pages to {}", generated().len(), dir.display());
}
