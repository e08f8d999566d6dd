//! `oms doctor`: every check, rendered; exit 4 when any failed.

use super::{exit, print, view};
use crate::cli::DoctorArgs;
use crate::config::{Config, Overrides};
use crate::{doctor, ui};

pub async fn run(a: &DoctorArgs, overrides: &Overrides) -> anyhow::Result<u8> {
    let checks = match Config::load(overrides) {
        Ok(config) => doctor::run(&config).await,
        Err(e) => doctor::unloadable(&e),
    };
    print(&ui::checks(&view(a.output.output), &checks))?;
    Ok(if checks.iter().all(|c| c.ok) {
        exit::OK
    } else {
        exit::UNAVAILABLE
    })
}
