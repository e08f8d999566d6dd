//! `oms orders ls | show | retry`.

use super::{exit, print, usage, view};
use crate::app::orders;
use crate::cli::{OrderFilterArgs, OrdersCommand};
use crate::config::Config;
use crate::ui;
use crate::wiring::{self, Role};

/// More orders than this and `orders retry` asks first.
const ASK_ABOVE: usize = 5;

fn filter_text(f: &OrderFilterArgs) -> orders::FilterText<'_> {
    orders::FilterText {
        status: f.status.as_deref(),
        seller: f.seller.as_deref(),
        hub: f.hub.as_deref(),
        job: f.job.as_deref(),
        since: f.since.as_deref(),
    }
}

pub async fn run(c: OrdersCommand, config: &Config) -> anyhow::Result<u8> {
    let b = wiring::backends(config, Role::Command).await?;
    match c {
        OrdersCommand::Ls(a) => {
            let filter = orders::parse_filter(filter_text(&a.filter), a.limit, 0)?;
            let filter = orders::resolve_job(&b, filter).await?;
            let found = orders::list(&b, &filter).await?;
            print(&ui::orders(&view(a.output.output), &found))?;
        }
        OrdersCommand::Show(a) => {
            let order = orders::find(&b, &a.order_id, a.seller.as_deref()).await?;
            print(&ui::order(&view(a.output.output), &order))?;
        }
        OrdersCommand::Retry(a) => {
            let filter = orders::parse_filter(filter_text(&a.filter), a.limit, 0)?;
            let filter = orders::resolve_job(&b, filter).await?;
            let found = orders::on_hold(&b, &filter).await?;
            if found.is_empty() {
                tracing::info!("no on_hold order matches");
                return Ok(exit::OK);
            }
            if found.len() > ASK_ABOVE && !a.yes {
                let q = format!("Retry {} on_hold orders?", found.len());
                if !ui::prompt::confirm(&q, "pass --yes to retry without asking").map_err(usage)? {
                    tracing::info!("nothing retried");
                    return Ok(exit::OK);
                }
            }
            let n = orders::republish(&b, &found).await?;
            tracing::info!(orders = n, "published again; `oms fulfil` will try them");
            print(&format!("{n}\n"))?;
        }
    }
    Ok(exit::OK)
}
