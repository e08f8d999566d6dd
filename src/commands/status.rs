//! `oms status`: the pipeline's figures once (a screen, or JSON), or redrawn in place
//! every few seconds until Ctrl-C (`--watch`).

use super::{UsageError, exit, print, wait_signal};
use crate::app::Shutdown;
use crate::app::status::gather;
use crate::cli::{StatusArgs, StatusFormat};
use crate::config::Config;
use crate::ui;
use crate::wiring::{self, Role};
use std::io::IsTerminal;
use std::time::Duration;
use time::OffsetDateTime;

pub async fn run(a: &StatusArgs, config: &Config) -> anyhow::Result<u8> {
    if a.watch.is_some() && a.output == StatusFormat::Json {
        return Err(UsageError(
            "--watch redraws the screen; --output json prints the figures once".to_owned(),
        )
        .into());
    }
    let b = wiring::backends(config, Role::Command).await?;
    let Some(secs) = a.watch else {
        let s = gather(&b, &config.group).await;
        print(&match a.output {
            StatusFormat::Json => ui::status::json(&s),
            StatusFormat::Table => {
                ui::status::screen(&s, OffsetDateTime::now_utc(), ui::table_width(), None)
            }
        })?;
        return Ok(exit::OK);
    };
    let terminal = std::io::stdout().is_terminal();
    // Ctrl-C or SIGTERM ends the watch (there is no work in hand to finish); a second
    // one exits at once.
    let (trigger, mut shutdown) = Shutdown::new();
    tokio::spawn(async move {
        wait_signal().await;
        trigger.trigger();
        wait_signal().await;
        std::process::exit(130);
    });
    loop {
        let s = gather(&b, &config.group).await;
        let screen =
            ui::status::screen(&s, OffsetDateTime::now_utc(), ui::table_width(), Some(secs));
        if terminal {
            print(&ui::status::redraw(&screen, ui::table_height()))?;
        } else {
            // Off a terminal each screen follows the last, a blank line between.
            print(&format!("{screen}\n"))?;
        }
        if shutdown.sleep(Duration::from_secs(secs)).await {
            break;
        }
    }
    if terminal {
        print("\n")?;
    }
    Ok(exit::OK)
}
