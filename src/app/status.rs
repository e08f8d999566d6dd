//! `oms status`: where the work stands, gathered from every port at once: jobs by
//! state, the queue's depth, each consumer group's lag and members, orders by status
//! (`on_hold` by reason), and the last error the store recorded. A figure a backend
//! cannot give is [`Figure::Unsupported`]; one whose backend fails or does not answer
//! in time is [`Figure::Failed`] and the failure is listed once per port in
//! [`Status::problems`]. Gathering never fails as a whole.

use super::Backends;
use crate::domain::{JobState, Status as OrderStatus, timestamp};
use crate::ports::GroupState;
use std::fmt::Display;
use std::time::Duration;
use time::OffsetDateTime;

/// Jobs done or failed within this many hours are counted.
pub const WINDOW_HOURS: i64 = 24;
/// A backend that has not answered within this long is reported, its figures unknown.
const ASK_WITHIN: Duration = Duration::from_secs(5);

/// A figure, or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure<T> {
    Known(T),
    /// The backend cannot give this figure.
    Unsupported,
    /// The backend failed or did not answer (see [`Status::problems`]).
    Failed,
}

impl<T> Figure<T> {
    /// The figure, when it is known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Figure::Known(v) => Some(v),
            _ => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Figure<U> {
        match self {
            Figure::Known(v) => Figure::Known(f(v)),
            Figure::Unsupported => Figure::Unsupported,
            Figure::Failed => Figure::Failed,
        }
    }
}

/// Jobs by state: queued and in progress now; done and failed within
/// [`WINDOW_HOURS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobs {
    pub queued: Figure<u64>,
    pub in_progress: Figure<u64>,
    pub done: Figure<u64>,
    pub failed: Figure<u64>,
}

/// The job queue's depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub waiting: Figure<u64>,
    pub in_flight: Figure<u64>,
    pub dead_lettered: Figure<u64>,
}

/// One consumer group of the event bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group: String,
    pub lag: Figure<u64>,
    pub members: Figure<u64>,
}

/// Orders by status, and the `on_hold` ones by reason (`None`: not tried by fulfil
/// yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orders {
    pub by_status: Figure<Vec<(OrderStatus, u64)>>,
    pub on_hold_by_reason: Figure<Vec<(Option<String>, u64)>>,
}

/// The last error a worker recorded: a job that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    pub job_id: String,
    /// When it was recorded (RFC 3339).
    pub at: String,
    pub message: String,
}

/// The pipeline at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// When the figures were gathered (RFC 3339).
    pub at: String,
    pub jobs: Jobs,
    pub queue: Queue,
    pub groups: Figure<Vec<Group>>,
    pub orders: Orders,
    /// `Known(None)`: no error recorded.
    pub last_error: Figure<Option<LastError>>,
    /// Ports that failed or did not answer, each once: `store: ...`.
    pub problems: Vec<String>,
}

/// An answer of a port, within [`ASK_WITHIN`].
async fn ask<T, E: Display>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(ASK_WITHIN, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", ASK_WITHIN.as_secs())),
    }
}

/// Turns answers into figures, noting each port's first failure.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn figure<T>(&mut self, port: &str, answer: Result<Option<T>, String>) -> Figure<T> {
        match answer {
            Ok(Some(v)) => Figure::Known(v),
            Ok(None) => Figure::Unsupported,
            Err(e) => {
                let prefix = format!("{port}: ");
                if !self.0.iter().any(|p| p.starts_with(&prefix)) {
                    self.0.push(format!("{prefix}{e}"));
                }
                Figure::Failed
            }
        }
    }
}

fn of_state(counts: &Figure<Vec<(JobState, u64)>>, state: JobState) -> Figure<u64> {
    match counts {
        Figure::Known(v) => {
            Figure::Known(v.iter().filter(|(s, _)| *s == state).map(|(_, n)| n).sum())
        }
        Figure::Unsupported => Figure::Unsupported,
        Figure::Failed => Figure::Failed,
    }
}

/// Gathers every figure, asking the ports at once; `group` is the configured fulfil
/// group, shown even before it has committed anything.
pub async fn gather(b: &Backends, group: &str) -> Status {
    let now = OffsetDateTime::now_utc();
    let since = timestamp::format(now - time::Duration::hours(WINDOW_HOURS));
    let (jobs_now, jobs_since, depth, groups, lag, by_reason, last) = futures_util::join!(
        ask(b.store.count_jobs_by_state()),
        ask(b.store.count_jobs_changed_since(&since)),
        ask(b.queue.depth()),
        ask(b.bus.groups()),
        ask(b.bus.lag(group)),
        ask(b.store.count_orders_by_status_and_reason()),
        ask(b.store.last_job_errors(1)),
    );
    let mut p = Problems::default();

    let jobs_now = p.figure("store", jobs_now.map(Some));
    let jobs_since = p.figure("store", jobs_since);
    let jobs = Jobs {
        queued: of_state(&jobs_now, JobState::Queued),
        in_progress: of_state(&jobs_now, JobState::Processing),
        done: of_state(&jobs_since, JobState::Done),
        failed: of_state(&jobs_since, JobState::Failed),
    };

    let depth = p.figure("queue", depth.map(Some));
    let queue = Queue {
        waiting: depth.clone().map(|d| d.visible),
        in_flight: depth.clone().map(|d| d.in_flight),
        dead_lettered: depth.map(|d| d.dead),
    };

    let lag = p.figure("bus", lag.map(Some));
    let groups = match p.figure("bus", groups) {
        Figure::Known(list) => {
            let mut list: Vec<Group> = list
                .into_iter()
                .map(|g: GroupState| Group {
                    group: g.group,
                    lag: Figure::Known(g.lag),
                    members: Figure::Known(g.members),
                })
                .collect();
            if !list.iter().any(|g| g.group == group) {
                list.push(Group {
                    group: group.to_owned(),
                    lag,
                    members: Figure::Known(0),
                });
                list.sort_by(|a, b| a.group.cmp(&b.group));
            }
            Figure::Known(list)
        }
        Figure::Unsupported => Figure::Known(vec![Group {
            group: group.to_owned(),
            lag,
            members: Figure::Unsupported,
        }]),
        Figure::Failed => Figure::Failed,
    };

    let orders = match p.figure("store", by_reason) {
        Figure::Known(rows) => {
            let mut by_status: Vec<(OrderStatus, u64)> = Vec::new();
            let mut on_hold = Vec::new();
            for (status, reason, n) in rows {
                match by_status.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, total)) => *total += n,
                    None => by_status.push((status, n)),
                }
                if status == OrderStatus::OnHold {
                    on_hold.push((reason, n));
                }
            }
            Orders {
                by_status: Figure::Known(by_status),
                on_hold_by_reason: Figure::Known(on_hold),
            }
        }
        // The store cannot split by reason: its counts by status alone.
        Figure::Unsupported => Orders {
            by_status: p.figure(
                "store",
                ask(b.store.count_orders_by_status()).await.map(Some),
            ),
            on_hold_by_reason: Figure::Unsupported,
        },
        Figure::Failed => Orders {
            by_status: Figure::Failed,
            on_hold_by_reason: Figure::Failed,
        },
    };

    let last_error = p.figure("store", last).map(|jobs| {
        jobs.into_iter().next().map(|j| LastError {
            job_id: j.job_id,
            at: j.updated_at,
            message: j.error.unwrap_or_default(),
        })
    });

    Status {
        at: timestamp::format(now),
        jobs,
        queue,
        groups,
        orders,
        last_error,
        problems: p.0,
    }
}
