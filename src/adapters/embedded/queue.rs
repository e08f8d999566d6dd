//! The embedded job queue: rows of `queue_messages`, with a visibility timeout, a
//! receive count and a dead-letter queue after `max_receives` receives, like SQS.
//! Dead letters are the rows of queue `jobs-dlq`: listed oldest (first sent) first,
//! redriven (back to `jobs`, receive count 0, visible now) or purged in one
//! transaction each.

use super::db::{Db, now_ms, port_error};
use super::tx::write;
use crate::ports::{DeadLetter, JobQueue, QueueDepth, QueueError, QueueMessage};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::time::{Duration, Instant};

const MAIN: &str = "jobs";
const DEAD: &str = "jobs-dlq";
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Settings of the embedded queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    pub visibility_timeout: Duration,
    /// A message received this many times and not acknowledged goes to the DLQ on the
    /// next receive.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(30),
            max_receives: 5,
        }
    }
}

/// The queue adapter over the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    db: Db,
    settings: QueueSettings,
}

fn map(e: rusqlite::Error) -> QueueError {
    port_error(e, QueueError::Unavailable, QueueError::Other)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl EmbeddedQueue {
    /// The job queue over the embedded database `db`.
    #[must_use]
    pub fn new(db: Db, settings: QueueSettings) -> Self {
        Self { db, settings }
    }

    /// One attempt to take a visible message; dead-letters those received too often.
    async fn try_receive(&self) -> Result<Option<QueueMessage>, QueueError> {
        let s = self.settings;
        self.db
            .call(move |c| {
                write(c, |c| {
                    loop {
                        let now = now_ms();
                        let next = c
                            .prepare_cached(
                                "SELECT id, body, receive_count FROM queue_messages
                                 WHERE queue = ?1 AND visible_at <= ?2
                                 ORDER BY visible_at, id LIMIT 1",
                            )?
                            .query_row(params![MAIN, now], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, u32>(2)?))
                            })
                            .optional()?;
                        let Some((id, body, count)) = next else {
                            return Ok(None);
                        };
                        if count >= s.max_receives {
                            c.execute(
                                "UPDATE queue_messages SET queue = ?1, receipt = NULL WHERE id = ?2",
                                params![DEAD, id],
                            )?;
                            tracing::warn!(message_id = id, receives = count, "message moved to the dead-letter queue");
                            continue;
                        }
                        let receipt = uuid::Uuid::new_v4().to_string();
                        c.execute(
                            "UPDATE queue_messages SET receive_count = receive_count + 1,
                             visible_at = ?1, receipt = ?2 WHERE id = ?3",
                            params![now + ms(s.visibility_timeout), receipt, id],
                        )?;
                        return Ok(Some(QueueMessage {
                            id: id.to_string(),
                            receipt,
                            body,
                            receive_count: count + 1,
                        }));
                    }
                })
            })
            .await
            .map_err(map)
    }

    async fn by_receipt(
        &self,
        msg: &QueueMessage,
        visible_at: Option<i64>,
    ) -> Result<(), QueueError> {
        let (id, receipt) = (msg.id.clone(), msg.receipt.clone());
        let n = self
            .db
            .call(move |c| match visible_at {
                Some(at) => c.execute(
                    "UPDATE queue_messages SET visible_at = ?1 WHERE id = ?2 AND receipt = ?3 AND queue = ?4",
                    params![at, id, receipt, MAIN],
                ),
                None => c.execute(
                    "DELETE FROM queue_messages WHERE id = ?1 AND receipt = ?2 AND queue = ?3",
                    params![id, receipt, MAIN],
                ),
            })
            .await
            .map_err(map)?;
        if n == 0 {
            Err(QueueError::LostReceipt)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl JobQueue for EmbeddedQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let body = body.to_owned();
        self.db
            .call(move |c| {
                let now = now_ms();
                c.execute(
                    "INSERT INTO queue_messages (queue, body, visible_at, sent_at) VALUES (?1, ?2, ?3, ?3)",
                    params![MAIN, body, now],
                )?;
                Ok(c.last_insert_rowid().to_string())
            })
            .await
            .map_err(map)
    }

    async fn receive(&self, wait: Duration) -> Result<Option<QueueMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(m) = self.try_receive().await? {
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            tokio::time::sleep(left.min(POLL_EVERY)).await;
        }
    }

    async fn extend(&self, msg: &QueueMessage, by: Duration) -> Result<(), QueueError> {
        self.by_receipt(msg, Some(now_ms() + ms(by))).await
    }

    async fn ack(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.by_receipt(msg, None).await
    }

    async fn release(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.by_receipt(msg, Some(now_ms())).await
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        self.db
            .call(|c| {
                let now = now_ms();
                c.query_row(
                    "SELECT
                       COALESCE(SUM(queue = ?1 AND visible_at <= ?3), 0),
                       COALESCE(SUM(queue = ?1 AND visible_at > ?3), 0),
                       COALESCE(SUM(queue = ?2), 0)
                     FROM queue_messages",
                    params![MAIN, DEAD, now],
                    |r| {
                        Ok(QueueDepth {
                            visible: r.get(0)?,
                            in_flight: r.get(1)?,
                            dead: r.get(2)?,
                        })
                    },
                )
            })
            .await
            .map_err(map)
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT id, body, receive_count FROM queue_messages
                     WHERE queue = ?1 ORDER BY sent_at, id LIMIT ?2",
                )?
                .query_map(params![DEAD, limit], |r| {
                    Ok(DeadLetter {
                        id: r.get::<_, i64>(0)?.to_string(),
                        body: r.get(1)?,
                        receive_count: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(map)
    }

    async fn redrive(&self) -> Result<u64, QueueError> {
        let n = self
            .db
            .call(|c| {
                write(c, |c| {
                    c.execute(
                        "UPDATE queue_messages
                         SET queue = ?1, receive_count = 0, visible_at = ?2, receipt = NULL
                         WHERE queue = ?3",
                        params![MAIN, now_ms(), DEAD],
                    )
                })
            })
            .await
            .map_err(map)?;
        if n > 0 {
            tracing::info!(
                messages = n,
                "dead-lettered messages moved back to the queue"
            );
        }
        Ok(n as u64)
    }

    async fn purge_dead(&self) -> Result<u64, QueueError> {
        let n = self
            .db
            .call(|c| {
                write(c, |c| {
                    c.execute("DELETE FROM queue_messages WHERE queue = ?1", params![DEAD])
                })
            })
            .await
            .map_err(map)?;
        if n > 0 {
            tracing::info!(messages = n, "dead-lettered messages deleted");
        }
        Ok(n as u64)
    }
}
