//! `oms completions SHELL`: the shell completion script on stdout.

use super::{exit, print};
use crate::cli::{Cli, CompletionsArgs};
use clap::CommandFactory;

pub fn run(a: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "oms", &mut out);
    print(&String::from_utf8_lossy(&out))?;
    Ok(exit::OK)
}
