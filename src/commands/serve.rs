//! `oms serve`: the bulkorder HTTP API.

use super::{bad, exit, shutdown_on_signals};
use crate::app::files::StorageRoot;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::http::{api, guard};
use crate::wiring::{self, Role};
use anyhow::Context;

pub async fn run(a: &ServeArgs, config: &Config) -> anyhow::Result<u8> {
    let token = config.api_token.as_ref().map(|t| t.0.as_str());
    let token = guard::token_setting("OMS_API_TOKEN", token).map_err(bad)?;
    let addr = guard::resolve(&a.bind).await.map_err(bad)?;
    api::check_bind(&addr, token).map_err(bad)?;
    let b = wiring::backends(config, Role::Worker).await?;
    let root = StorageRoot::open(&config.storage_root).map_err(bad)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        backends = %config.describe(),
        auth = token.is_some(),
        "serving the bulkorder API"
    );
    let state = api::ApiState::new(b, root, config.group.clone(), token);
    let mut shutdown = shutdown_on_signals();
    api::serve(listener, state, async move { shutdown.wait().await })
        .await
        .context("the API server failed")?;
    tracing::info!("the API server stopped");
    Ok(exit::OK)
}
