//! `oms serve`: the bulkorder HTTP API. With a tokens file, it is read again on SIGHUP
//! and whenever it changes.

use super::{bad, exit, shutdown_on_signals};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::http::tokens::LiveTokens;
use crate::http::{api, guard};
use crate::wiring::{self, Role};
use anyhow::Context;

pub async fn run(a: &ServeArgs, config: &Config) -> anyhow::Result<u8> {
    without_fast_bins();
    let token = config.api_token.as_ref().map(|t| t.0.as_str());
    let token = guard::token_setting("OMS_API_TOKEN", token).map_err(bad)?;
    let tokens = match &config.api_tokens_file {
        Some(path) => Some(LiveTokens::open(path).map_err(|e| {
            bad(format!(
                "OMS_API_TOKENS_FILE: {e} (create it with `oms token add NAME --seller S`)"
            ))
        })?),
        None => None,
    };
    let keys = api::Keys::new(token, tokens.clone());
    let addr = guard::resolve(&a.bind).await.map_err(bad)?;
    api::check_bind(&addr, &keys).map_err(bad)?;
    wiring::require_storage_root(config).map_err(bad)?;
    let b = wiring::backends(config, Role::Worker).await?;
    let watcher = match &tokens {
        Some(t) => Some(
            std::sync::Arc::clone(t)
                .watch()
                .context("cannot watch the tokens file")?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        backends = %config.describe(),
        auth = !keys.is_open(),
        tokens_file = tokens.as_ref().map(|t| t.path().display().to_string()),
        named_tokens = tokens.as_ref().map(|t| t.current().tokens().len()),
        "serving the bulkorder API"
    );
    let state = api::ApiState::new(b, config.group.clone(), keys);
    let mut shutdown = shutdown_on_signals();
    let served = api::serve(listener, state, async move { shutdown.wait().await }).await;
    if let Some(w) = watcher {
        w.abort();
    }
    served.context("the API server failed")?;
    tracing::info!("the API server stopped");
    Ok(exit::OK)
}

/// Turns off glibc's fast bins for this process. A page of orders is hundreds of small
/// values freed at once: past the per-thread cache they went to the fast bins, and every
/// large allocation after (a response body, a page's vector) gathered them all up again
/// (`malloc_consolidate`, ~8 % of serve's CPU under perf). Without them
/// `GET /api/v1/orders?limit=50` under `wrk -t2 -c16` gave ~4.7k requests/s against ~4.1k
/// (five alternating runs each).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn without_fast_bins() {
    // SAFETY: mallopt only changes a setting of the allocator, under its own lock;
    // M_MXFAST 0 is a documented value (no fast bins).
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn without_fast_bins() {}
