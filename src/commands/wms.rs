//! `oms wms serve`: the reference warehouse over HTTP, on the embedded stock; secure by
//! default like `oms serve` (a non-loopback address needs `OMS_WMS_TOKEN`).

use super::{bad, exit, shutdown_on_signals};
use crate::cli::WmsCommand;
use crate::config::Config;
use crate::http::guard;
use crate::{http, wiring};
use anyhow::Context;

/// How the refusal to listen off loopback says to set the token.
const SET_TOKEN: &str = "set OMS_WMS_TOKEN (e.g. `export OMS_WMS_TOKEN=$(openssl rand -hex 32)`), \
     and the same OMS_WMS_TOKEN wherever oms uses this warehouse (OMS_WMS_URL)";

pub async fn run(c: WmsCommand, config: &Config) -> anyhow::Result<u8> {
    let WmsCommand::Serve(a) = c;
    let token = config.wms_token.as_ref().map(|t| t.0.as_str());
    let token = guard::token_setting("OMS_WMS_TOKEN", token).map_err(bad)?;
    let addr = guard::resolve(&a.bind).await.map_err(bad)?;
    guard::check_bind(&addr, token.is_some(), SET_TOKEN).map_err(bad)?;
    let inventory = wiring::inventory(config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        auth = token.is_some(),
        "reference warehouse listening"
    );
    let mut shutdown = shutdown_on_signals();
    http::wms::serve(listener, inventory, token, async move {
        shutdown.wait().await;
    })
    .await
    .context("the warehouse server failed")?;
    Ok(exit::OK)
}
