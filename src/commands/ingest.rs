//! `oms ingest [--drain]`: the queue consumer, with its progress pane.

use super::{bad, exit, shutdown_on_signals};
use crate::app;
use crate::cli::IngestArgs;
use crate::config::Config;
use crate::ui;
use crate::wiring::{self, Role};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(a: &IngestArgs, config: &Config, quiet: bool) -> anyhow::Result<u8> {
    wiring::require_storage_root(config).map_err(bad)?;
    let b = wiring::backends(config, Role::Worker).await?;
    let opts = app::ingest::IngestOptions {
        drain: a.drain,
        wait: if a.drain {
            config.queue_wait.min(Duration::from_secs(1))
        } else {
            config.queue_wait
        },
        visibility: config.queue.visibility_timeout,
        ..app::ingest::IngestOptions::default()
    };
    tracing::info!(backends = %config.describe(), storage_root = %config.storage_root.display(), drain = a.drain, "ingest started");
    let view = Arc::new(ui::progress::IngestView::new(!quiet));
    let t = app::ingest::run(&b, opts, shutdown_on_signals(), view.clone()).await;
    view.finish();
    let t = t?;
    tracing::info!(
        messages = t.messages,
        jobs_done = t.jobs_done,
        jobs_failed = t.jobs_failed,
        left = t.left_for_redelivery,
        rows = t.rows,
        accepted = t.orders_accepted,
        rejected = t.orders_rejected,
        duplicate = t.orders_duplicate,
        gave_up = t.gave_up,
        "ingest stopped"
    );
    Ok(if a.drain && t.gave_up {
        exit::UNAVAILABLE
    } else if a.drain && (t.left_for_redelivery > 0 || t.jobs_failed > 0) {
        exit::PARTIAL
    } else {
        exit::OK
    })
}
