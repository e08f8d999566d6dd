//! `oms dlq ls | redrive | purge`.

use super::{exit, print, usage, view};
use crate::app::dlq::{self, Action, Handled};
use crate::cli::DlqCommand;
use crate::config::Config;
use crate::ui;
use crate::wiring::{self, Role};

pub async fn run(c: DlqCommand, config: &Config) -> anyhow::Result<u8> {
    let b = wiring::backends(config, Role::Command).await?;
    let (handled, declined, done) = match c {
        DlqCommand::Ls(a) => {
            let letters = dlq::list(&b, a.limit).await?;
            print(&ui::dead_letters(&view(a.output.output), &letters))?;
            return Ok(exit::OK);
        }
        DlqCommand::Redrive(a) => {
            let handled = dlq::handle(&b, Action::Redrive, |dead| -> anyhow::Result<bool> {
                if a.yes {
                    return Ok(true);
                }
                let q = format!("Move {dead} dead-lettered messages back to the queue?");
                ui::prompt::confirm(&q, "pass --yes to redrive without asking").map_err(usage)
            })
            .await?;
            (handled, "nothing moved", "moved back to the queue")
        }
        DlqCommand::Purge(a) => {
            let handled = dlq::handle(&b, Action::Purge, |dead| -> anyhow::Result<bool> {
                if a.yes {
                    return Ok(true);
                }
                let q = format!("Delete {dead} dead-lettered messages for good?");
                ui::prompt::confirm_typed(
                    &q,
                    &dead.to_string(),
                    "pass --yes to purge without asking",
                )
                .map_err(usage)
            })
            .await?;
            (handled, "nothing deleted", "deleted")
        }
    };
    match handled {
        Handled::Empty => {
            tracing::info!("the dead-letter queue is empty");
            print("0\n")?;
        }
        Handled::Declined => tracing::info!("{declined}"),
        Handled::Done(n) => {
            tracing::info!(messages = n, "{done}");
            print(&format!("{n}\n"))?;
        }
    }
    Ok(exit::OK)
}
