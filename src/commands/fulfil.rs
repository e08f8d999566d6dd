//! `oms fulfil [--drain]`: the event consumer, with its progress pane.

use super::{exit, shutdown_on_signals};
use crate::app;
use crate::cli::FulfilArgs;
use crate::config::{Config, StoreChoice, WmsChoice};
use crate::ui;
use crate::wiring::{self, Role};
use std::sync::Arc;

pub async fn run(a: FulfilArgs, config: &Config, quiet: bool) -> anyhow::Result<u8> {
    let b = wiring::backends(config, Role::Worker).await?;
    let opts = app::fulfil::FulfilOptions {
        group: a.group.unwrap_or(config.group.clone()),
        drain: a.drain,
        batch: app::fulfil::batch_size(
            a.batch,
            matches!(config.store_backend, StoreChoice::Embedded),
            matches!(config.wms_backend, WmsChoice::Embedded),
        ),
        ..app::fulfil::FulfilOptions::default()
    };
    tracing::info!(backends = %config.describe(), group = %opts.group, drain = a.drain, "fulfil started");
    let view = Arc::new(ui::progress::FulfilView::new(!quiet, &opts.group));
    let t = app::fulfil::run(&b, &opts, shutdown_on_signals(), view.clone()).await;
    view.finish();
    let t = t?;
    tracing::info!(
        events = t.events,
        new_order = t.new_order,
        on_hold = t.on_hold,
        skipped = t.skipped,
        "fulfil stopped"
    );
    if a.drain && !t.drained {
        tracing::warn!("stopped before the end of the log: events are left for the next run");
        return Ok(exit::PARTIAL);
    }
    Ok(exit::OK)
}
