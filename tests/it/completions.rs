//! The completion scripts committed in `completions/` must match what the binary
//! generates; regenerate them with `oms completions SHELL` when this fails.

use crate::support::Oms;

fn generated(shell: &str) -> String {
    Oms::new().ok(&["completions", shell]).stdout
}

#[test]
fn committed_completions_are_up_to_date() {
    for (shell, file) in [
        ("bash", "completions/oms.bash"),
        ("zsh", "completions/_oms"),
        ("fish", "completions/oms.fish"),
    ] {
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            committed == generated(shell),
            "{file} is out of date: run `oms completions {shell} > {file}`"
        );
        assert!(committed.contains("submit") && committed.contains("fulfil"));
    }
}
