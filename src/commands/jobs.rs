//! `oms jobs ls | show | rejects`.

use super::{exit, print, view};
use crate::app;
use crate::cli::JobsCommand;
use crate::config::Config;
use crate::ui;
use crate::wiring::{self, Role};

pub async fn run(c: JobsCommand, config: &Config) -> anyhow::Result<u8> {
    let b = wiring::backends(config, Role::Command).await?;
    match c {
        JobsCommand::Ls(a) => {
            let jobs = app::jobs::list(&b, a.limit).await?;
            print(&ui::jobs(&view(a.output.output), &jobs))?;
        }
        JobsCommand::Show(a) => {
            let job = app::jobs::find(&b, &a.job_id).await?;
            print(&ui::job(&view(a.output.output), &job))?;
        }
        JobsCommand::Rejects(a) => {
            let rejects = app::jobs::rejects(&b, &a.job_id).await?;
            tracing::debug!(rejects = rejects.rows.len(), "rejects written");
            print(&ui::rejects_csv(rejects))?;
        }
    }
    Ok(exit::OK)
}
