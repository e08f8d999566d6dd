//! `oms wms serve`: the reference warehouse over HTTP, on the embedded stock.

use super::{exit, shutdown_on_signals};
use crate::cli::WmsCommand;
use crate::config::Config;
use crate::{http, wiring};
use anyhow::Context;

pub async fn run(c: WmsCommand, config: &Config) -> anyhow::Result<u8> {
    let WmsCommand::Serve(a) = c;
    let inventory = wiring::inventory(config)?;
    let listener = tokio::net::TcpListener::bind(&a.bind)
        .await
        .with_context(|| format!("cannot listen on {}", a.bind))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        "reference warehouse listening"
    );
    let mut shutdown = shutdown_on_signals();
    http::wms::serve(listener, inventory, async move { shutdown.wait().await })
        .await
        .context("the warehouse server failed")?;
    Ok(exit::OK)
}
