//! `oms inventory load | ls`: the embedded warehouse's stock (no other backend needed).

use super::{bad, exit, print, view};
use crate::app;
use crate::cli::InventoryCommand;
use crate::config::Config;
use crate::{ui, wiring};

pub async fn run(c: InventoryCommand, config: &Config) -> anyhow::Result<u8> {
    let inventory = wiring::inventory(config)?;
    match c {
        InventoryCommand::Load(a) => {
            let shown = a.file.display().to_string();
            let f = std::fs::File::open(&a.file).map_err(|e| bad(format!("{shown}: {e}")))?;
            let n = app::inventory::load(&inventory, &shown, std::io::BufReader::new(f)).await?;
            tracing::info!(lines = n, file = %shown, "inventory loaded");
        }
        InventoryCommand::Ls(a) => {
            let lines = app::inventory::list(&inventory).await?;
            print(&ui::stock(&view(a.output.output), &lines))?;
        }
    }
    Ok(exit::OK)
}
