//! `oms submit FILE --seller ID`: check the file (a path in the storage root, or an
//! `s3://` URI), upload it when uploads are configured, and queue it; prints the job id.

use super::{bad, exit, print};
use crate::app;
use crate::cli::{Cli, SubmitArgs};
use crate::config::Config;
use crate::domain::SellerId;
use crate::ui;
use crate::wiring::{self, Role};
use clap::CommandFactory;
use std::sync::Arc;

pub async fn run(a: SubmitArgs, config: &Config, quiet: bool) -> anyhow::Result<u8> {
    let b = wiring::backends(config, Role::Command).await?;
    let raw = match a.seller {
        Some(s) => s,
        None => match ui::prompt::ask("Seller id (--seller)").map_err(bad)? {
            Some(s) => s,
            // Off a terminal a missing --seller is the usual usage error.
            None => Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "the following required argument was not provided: --seller <SELLER>",
                )
                .exit(),
        },
    };
    let seller = SellerId::parse(&raw).map_err(|e| bad(format!("--seller {e}")))?;
    let view = Arc::new(ui::progress::SubmitView::new(!quiet));
    let done = app::submit::submit_observed(&b, &seller, &a.file, view.clone()).await;
    view.finish();
    let done = done?;
    if a.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&done)?))?;
    } else {
        tracing::info!(
            file = %done.file_path,
            version = done.version.as_deref(),
            source_file = done.source_file.as_deref(),
            sha256 = %done.sha256,
            bytes = done.bytes,
            "queued"
        );
        print(&format!("{}\n", done.job_id))?;
    }
    Ok(exit::OK)
}
