//! The hot path: sending, receiving (long polls, with the adapter's own dead-lettering
//! on queues without redrive policy), extending, acknowledging and releasing one
//! message; and the queue's depth.

use super::errors::{FaultKind, Op, map_err, own_fault};
use super::setup::{queue_attributes, timeouts};
use super::{SqsQueue, as_i32, ceil_secs, visibility_secs};
use crate::ports::{Detail, QueueDepth, QueueError, QueueMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The longest `WaitTimeSeconds` SQS accepts.
const MAX_WAIT_SECS: u64 = 20;

impl SqsQueue {
    /// Sends `body` to the queue; gives the message id.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn send_body(&self, body: &str) -> Result<String, QueueError> {
        let inner = &self.inner;
        let out = inner
            .client
            .send_message()
            .queue_url(&inner.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| map_err(Op::Send, &inner.name, e))?;
        out.message_id
            .ok_or_else(|| QueueError::Other("SQS accepted a message but gave no id".into()))
    }

    /// Long-polls up to `wait` for one message; a message received more than
    /// `max_receives` times on a queue without redrive policy is dead-lettered instead.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn receive_within(
        &self,
        wait: Duration,
    ) -> Result<Option<QueueMessage>, QueueError> {
        let inner = &self.inner;
        let deadline = Instant::now() + wait;
        let visibility = Duration::from_secs(inner.visibility_secs);
        // How much earlier than SQS this client considers a delivery's visibility over:
        // SQS starts counting somewhere between the request and the response.
        let margin = (visibility / 4).min(Duration::from_secs(2));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait_secs = ceil_secs(left).min(MAX_WAIT_SECS);
            let out = inner
                .client
                .receive_message()
                .queue_url(&inner.url)
                .max_number_of_messages(1)
                .wait_time_seconds(as_i32(wait_secs))
                .visibility_timeout(as_i32(inner.visibility_secs))
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .customize()
                .config_override(
                    aws_sdk_sqs::config::Builder::default()
                        .timeout_config(timeouts(Duration::from_secs(wait_secs))),
                )
                .send()
                .await
                .map_err(|e| map_err(Op::Receive, &inner.name, e))?;
            let arrived = Instant::now();
            if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
                let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
                    return Err(QueueError::Other(Detail::from(
                        "SQS returned a message without id or receipt handle",
                    )));
                };
                let body = m.body.unwrap_or_default();
                let count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or(1);
                if inner.redrive_policy.is_none() && count > inner.max_receives {
                    self.dead_letter(&id, &receipt, &body, count).await?;
                    // Look again at once, whatever is left of the wait.
                    continue;
                }
                let until = arrived.checked_sub(margin).unwrap_or(arrived) + visibility;
                self.hand_out(&receipt, arrived, until);
                return Ok(Some(QueueMessage {
                    id,
                    receipt,
                    body,
                    receive_count: count,
                }));
            }
            if arrived >= deadline {
                return Ok(None);
            }
        }
    }

    /// Keeps `msg` invisible for `by` (rounded up to whole seconds) from now.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn extend_hold(
        &self,
        msg: &QueueMessage,
        by: Duration,
    ) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let secs = visibility_secs(by);
        let asked = Instant::now();
        let result = self.change_visibility(msg, secs, Op::Extend).await;
        self.settle(msg, result, Some(asked + Duration::from_secs(secs)))
    }

    /// Deletes `msg` from the queue.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn delete_held(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let inner = &self.inner;
        let result = inner
            .client
            .delete_message()
            .queue_url(&inner.url)
            .receipt_handle(&msg.receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(Op::Ack, &inner.name, e));
        self.settle(msg, result, None)
    }

    /// Makes `msg` visible again now.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn release_held(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let result = self.change_visibility(msg, 0, Op::Release).await;
        self.settle(msg, result, None)
    }

    /// The queue's visible and in-flight messages and the dead-letter queue's messages
    /// (SQS's approximate counts).
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`] (also when the queue was
    /// deleted).
    pub(super) async fn count_messages(&self) -> Result<QueueDepth, QueueError> {
        let inner = &self.inner;
        let count = |attrs: &HashMap<QueueAttributeName, String>, name: &QueueAttributeName| {
            attrs
                .get(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let main = queue_attributes(
            &inner.client,
            &inner.url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ],
            Op::Depth,
        )
        .await?
        .ok_or_else(|| {
            QueueError::Other(own_fault(
                FaultKind::MissingQueue,
                format!(
                    "SQS depth: the queue {} does not exist (was it deleted?)",
                    inner.name
                ),
            ))
        })?;
        let dead = match self.dlq_url(false).await? {
            Some(url) => queue_attributes(
                &inner.client,
                &url,
                &[QueueAttributeName::ApproximateNumberOfMessages],
                Op::Depth,
            )
            .await?
            .map_or(0, |a| {
                count(&a, &QueueAttributeName::ApproximateNumberOfMessages)
            }),
            None => 0,
        };
        Ok(QueueDepth {
            visible: count(&main, &QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(
                &main,
                &QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ),
            dead,
        })
    }

    /// Changes the visibility of `msg` to `secs` from now.
    async fn change_visibility(
        &self,
        msg: &QueueMessage,
        secs: u64,
        op: Op,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
        inner
            .client
            .change_message_visibility()
            .queue_url(&inner.url)
            .receipt_handle(&msg.receipt)
            .visibility_timeout(as_i32(secs))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(op, &inner.name, e))
    }
}
