//! Dead letters: moving a message received too often to the dead-letter queue (on
//! queues without redrive policy), and listing, redriving and purging the dead-letter
//! queue. SQS has no "peek": listing receives with a short visibility and makes the
//! messages visible again at once.

use super::errors::{Op, map_err, short_code, unbuilt};
use super::setup::{create_dead_letter_queue, queue_url, timeouts};
use super::{SqsQueue, as_i32};
use crate::ports::{DeadLetter, Detail, QueueError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Visibility of a dead letter received to be listed (made visible again right after).
const LIST_VISIBILITY_SECS: i32 = 5;
/// Visibility of a dead letter received to be redriven or purged.
const TAKE_VISIBILITY_SECS: i32 = 30;
/// Long-poll wait on the dead-letter queue: with a wait SQS asks all its servers, so an
/// empty answer means empty (a short poll only samples some).
const DLQ_WAIT_SECS: u64 = 1;
/// Most entries of one SQS batch call (and messages of one receive).
const BATCH: usize = 10;
/// Message attribute of a message the adapter dead-lettered itself: its receives.
const RECEIVES_ATTRIBUTE: &str = "oms-receives";

/// One message received from the dead-letter queue.
#[derive(Debug)]
struct Taken {
    id: String,
    receipt: String,
    body: String,
    /// Epoch milliseconds SQS says it was sent (0 when not told).
    sent_ms: u64,
    /// The `oms-receives` attribute, when the adapter dead-lettered it.
    receives: Option<u32>,
}

impl Taken {
    /// The parts of a received dead letter.
    ///
    /// # Errors
    /// [`QueueError::Other`] when SQS gave no id or receipt handle.
    fn of(m: Message) -> Result<Self, QueueError> {
        let sent_ms = m
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        let receives = m
            .message_attributes
            .as_ref()
            .and_then(|a| a.get(RECEIVES_ATTRIBUTE))
            .and_then(|v| v.string_value())
            .and_then(|v| v.trim().parse().ok());
        let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
            return Err(QueueError::Other(Detail::from(
                "SQS returned a message without id or receipt handle",
            )));
        };
        Ok(Self {
            id,
            receipt,
            body: m.body.unwrap_or_default(),
            sent_ms,
            receives,
        })
    }
}

/// The first failure of a batch call's failed entries, for messages.
fn first_failure(failed: &[aws_sdk_sqs::types::BatchResultErrorEntry]) -> String {
    failed.first().map_or_else(String::new, |f| {
        format!("{} {}", short_code(f.code()), f.message().unwrap_or(""))
            .trim()
            .to_owned()
    })
}

/// What one `SendMessageBatch` may carry in all (the SQS limit is the message size
/// limit, 256 KiB on older queues, for the whole batch).
const BATCH_BYTES: usize = 256 * 1024;

/// Dead letters in groups that one `SendMessageBatch` takes: at most [`BATCH`]
/// messages and [`BATCH_BYTES`] of bodies (a larger body goes alone).
fn send_groups<'a>(taken: &[&'a Taken]) -> Vec<Vec<&'a Taken>> {
    let mut groups: Vec<Vec<&Taken>> = Vec::new();
    let mut bytes = 0;
    for &t in taken {
        let size = t.body.len();
        match groups.last_mut() {
            Some(g) if g.len() < BATCH && bytes + size <= BATCH_BYTES => {
                g.push(t);
                bytes += size;
            }
            _ => {
                groups.push(vec![t]);
                bytes = size;
            }
        }
    }
    groups
}

/// An error that stopped a redrive or purge, saying how far it got (the error it
/// extends stays its cause).
fn after_progress(e: QueueError, what: &str, done: u64) -> QueueError {
    if done == 0 {
        return e;
    }
    match e {
        QueueError::Unavailable(m) => QueueError::Unavailable(Detail::caused(
            format!("{m} (after {done} messages {what})"),
            m,
        )),
        QueueError::Other(m) => QueueError::Other(Detail::caused(
            format!("{m} (after {done} messages {what})"),
            m,
        )),
        QueueError::LostReceipt => QueueError::LostReceipt,
    }
}

impl SqsQueue {
    /// The dead-letter queue's URL; created when missing and `create` is set.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn dlq_url(&self, create: bool) -> Result<Option<String>, QueueError> {
        let dlq = &self.inner.dlq;
        let mut cached = dlq.url.lock().await;
        if let Some(url) = cached.as_ref() {
            return Ok(Some(url.clone()));
        }
        let found = match queue_url(&self.inner.client, &dlq.name, dlq.owner.as_deref()).await? {
            Some(url) => Some(url),
            None if create => Some(create_dead_letter_queue(&self.inner.client, &dlq.name).await?),
            None => None,
        };
        cached.clone_from(&found);
        Ok(found)
    }

    /// Moves a message received too often to the dead-letter queue (queues without a
    /// redrive policy): a copy goes there, then the original is deleted.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`] when the copy cannot be made
    /// (an original left undeleted is only logged: it comes back and is moved again).
    pub(super) async fn dead_letter(
        &self,
        id: &str,
        receipt: &str,
        body: &str,
        count: u32,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
        let dlq_url = self.dlq_url(true).await?.ok_or_else(|| {
            QueueError::Other(Detail::from(format!(
                "no dead-letter queue {}",
                inner.dlq.name
            )))
        })?;
        // The receive that found it too often received was not a delivery.
        let receives = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(count.saturating_sub(1).to_string())
            .build()
            .map_err(|e| unbuilt(Op::DeadLetter, e))?;
        inner
            .client
            .send_message()
            .queue_url(&dlq_url)
            .message_body(body)
            .message_attributes(RECEIVES_ATTRIBUTE, receives)
            .send()
            .await
            .map_err(|e| map_err(Op::DeadLetter, &inner.dlq.name, e))?;
        match inner
            .client
            .delete_message()
            .queue_url(&inner.url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => {
                tracing::warn!(message_id = id, receives = count, dead_letters = %inner.dlq.name, "message moved to the dead-letter queue");
                Ok(())
            }
            Err(e) => {
                // The copy is in the DLQ; the original comes back after its visibility
                // and is dead-lettered again (at least once, as everything here).
                let err = map_err(Op::DeadLetter, &inner.name, e);
                tracing::warn!(
                    message_id = id,
                    "dead-lettered a copy but could not delete the original: {err}"
                );
                Ok(())
            }
        }
    }

    /// Receives up to `max` (at most 10) messages from the dead-letter queue at `url`,
    /// invisible for `visibility` seconds, waiting [`DLQ_WAIT_SECS`] when there are none.
    async fn take_dead(
        &self,
        url: &str,
        max: usize,
        visibility: i32,
        op: Op,
    ) -> Result<Vec<Taken>, QueueError> {
        let inner = &self.inner;
        let out = inner
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(as_i32(max.clamp(1, BATCH) as u64))
            .wait_time_seconds(as_i32(DLQ_WAIT_SECS))
            .visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names(RECEIVES_ATTRIBUTE)
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default()
                    .timeout_config(timeouts(Duration::from_secs(DLQ_WAIT_SECS))),
            )
            .send()
            .await
            .map_err(|e| map_err(op, &inner.dlq.name, e))?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(Taken::of)
            .collect()
    }

    /// Makes dead letters visible again now (best effort: they come back by themselves
    /// when their visibility runs out).
    async fn show_again(&self, url: &str, receipts: &[&str]) {
        let inner = &self.inner;
        for chunk in receipts.chunks(BATCH) {
            let entries: Result<Vec<_>, _> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*r)
                        .visibility_timeout(0)
                        .build()
                })
                .collect();
            let entries = match entries {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("cannot make dead letters visible again: {e}");
                    continue;
                }
            };
            match inner
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) if out.failed.is_empty() => {}
                Ok(out) => tracing::warn!(
                    messages = out.failed.len(),
                    "dead letters stay hidden until their visibility runs out: {}",
                    first_failure(&out.failed)
                ),
                Err(e) => tracing::warn!(
                    "dead letters stay hidden until their visibility runs out: {}",
                    map_err(Op::ListDead, &inner.dlq.name, e)
                ),
            }
        }
    }

    /// Deletes `taken` from the dead-letter queue at `url`; gives the ids deleted and
    /// the first failure, if any.
    async fn delete_dead(
        &self,
        url: &str,
        taken: &[&Taken],
        op: Op,
    ) -> Result<(Vec<String>, Option<String>), QueueError> {
        let inner = &self.inner;
        let mut deleted = Vec::new();
        let mut failure = None;
        for chunk in taken.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&t.receipt)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unbuilt(op, e))?;
            let out = inner
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| map_err(op, &inner.dlq.name, e))?;
            for ok in &out.successful {
                if let Some(t) = ok.id.parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    deleted.push(t.id.clone());
                }
            }
            if !out.failed.is_empty() && failure.is_none() {
                failure = Some(first_failure(&out.failed));
            }
        }
        Ok((deleted, failure))
    }

    /// Sends the bodies of `group` (one batch) to the queue; gives those sent and
    /// those refused with the reason.
    async fn send_back<'a>(
        &self,
        group: &[&'a Taken],
    ) -> Result<(Vec<&'a Taken>, Vec<(&'a Taken, String)>), QueueError> {
        let inner = &self.inner;
        let entries = group
            .iter()
            .enumerate()
            .map(|(i, t)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&t.body)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unbuilt(Op::Redrive, e))?;
        let out = inner
            .client
            .send_message_batch()
            .queue_url(&inner.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| map_err(Op::Redrive, &inner.name, e))?;
        let of = |id: &str| id.parse::<usize>().ok().and_then(|i| group.get(i)).copied();
        let ok = out.successful.iter().filter_map(|e| of(&e.id)).collect();
        let refused = out
            .failed
            .iter()
            .filter_map(|f| of(&f.id).map(|t| (t, first_failure(std::slice::from_ref(f)))))
            .collect();
        Ok((ok, refused))
    }

    /// The receives of a dead letter before it was dead-lettered, where known (else 0).
    fn receives_of(&self, t: &Taken) -> u32 {
        t.receives.or(self.inner.policy_receives).unwrap_or(0)
    }

    /// Up to `max` dead letters, oldest first, made visible again at once.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    pub(super) async fn list_dead(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(Vec::new());
        };
        // Message id -> the latest delivery (a message whose short visibility ran out
        // during the listing comes again with a new receipt).
        let mut seen: HashMap<String, Taken> = HashMap::new();
        let listed: Result<(), QueueError> = async {
            while seen.len() < max {
                let batch = self
                    .take_dead(&url, max - seen.len(), LIST_VISIBILITY_SECS, Op::ListDead)
                    .await?;
                let mut new = 0;
                for t in batch {
                    if !seen.contains_key(&t.id) {
                        new += 1;
                    }
                    seen.insert(t.id.clone(), t);
                }
                if new == 0 {
                    break;
                }
            }
            Ok(())
        }
        .await;
        let receipts: Vec<&str> = seen.values().map(|t| t.receipt.as_str()).collect();
        self.show_again(&url, &receipts).await;
        listed?;
        let mut letters: Vec<&Taken> = seen.values().collect();
        letters.sort_by(|a, b| (a.sent_ms, &a.id).cmp(&(b.sent_ms, &b.id)));
        Ok(letters
            .into_iter()
            .take(max)
            .map(|t| DeadLetter {
                id: t.id.clone(),
                body: t.body.clone(),
                receive_count: self.receives_of(t),
            })
            .collect())
    }

    /// Sends every dead letter back to the queue, then deletes it from the dead-letter
    /// queue; gives how many moved.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`] (saying how many moved first).
    pub(super) async fn redrive_dead(&self) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(0);
        };
        let mut moved: u64 = 0;
        // Sent back but not (yet) deleted here: if they come again, only delete them.
        let mut sent: HashSet<String> = HashSet::new();
        // Could not be sent back, by id: the reason.
        let mut failed: HashMap<String, String> = HashMap::new();
        let result: Result<(), QueueError> = async {
            loop {
                let batch = self
                    .take_dead(&url, BATCH, TAKE_VISIBILITY_SECS, Op::Redrive)
                    .await?;
                if batch.is_empty() {
                    return Ok(());
                }
                let (mut done, fresh): (Vec<&Taken>, Vec<&Taken>) =
                    batch.iter().partition(|t| sent.contains(&t.id));
                let mut stopped = None;
                for group in send_groups(&fresh) {
                    if stopped.is_some() {
                        // Not sent: visible again in the dead-letter queue at once.
                        let receipts: Vec<&str> =
                            group.iter().map(|t| t.receipt.as_str()).collect();
                        self.show_again(&url, &receipts).await;
                        continue;
                    }
                    match self.send_back(&group).await {
                        Ok((ok, refused)) => {
                            for t in ok {
                                sent.insert(t.id.clone());
                                failed.remove(&t.id);
                                moved += 1;
                                done.push(t);
                            }
                            // Left hidden for now; they come back to the dead-letter queue.
                            for (t, why) in refused {
                                failed.insert(t.id.clone(), why);
                            }
                        }
                        Err(e) => {
                            let receipts: Vec<&str> =
                                group.iter().map(|t| t.receipt.as_str()).collect();
                            self.show_again(&url, &receipts).await;
                            stopped = Some(e);
                        }
                    }
                }
                // What was sent leaves the dead-letter queue, even when a later send failed.
                let (deleted, failure) = self.delete_dead(&url, &done, Op::Redrive).await?;
                for id in &deleted {
                    sent.remove(id);
                }
                if let Some(why) = failure {
                    tracing::warn!(
                        "sent back to the queue but not deleted from the dead-letter queue \
                         (it may be delivered twice): {why}"
                    );
                }
                if let Some(e) = stopped {
                    return Err(e);
                }
            }
        }
        .await;
        if moved > 0 {
            tracing::info!(messages = moved, queue = %inner.name, dead_letters = %inner.dlq.name, "dead-lettered messages moved back to the queue");
        }
        result.map_err(|e| after_progress(e, "moved back to the queue", moved))?;
        if let Some(why) = failed.values().next() {
            return Err(QueueError::Other(Detail::from(format!(
                "SQS redrive: moved {moved} messages back to {}, but {} could not be sent: {why}",
                inner.name,
                failed.len()
            ))));
        }
        Ok(moved)
    }

    /// Deletes every dead letter; gives how many were deleted.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`] (saying how many went first).
    pub(super) async fn purge_dead_letters(&self) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(0);
        };
        let mut deleted: HashSet<String> = HashSet::new();
        let mut failure = None;
        let result: Result<(), QueueError> = async {
            loop {
                let batch = self
                    .take_dead(&url, BATCH, TAKE_VISIBILITY_SECS, Op::PurgeDead)
                    .await?;
                if batch.is_empty() {
                    return Ok(());
                }
                let taken: Vec<&Taken> = batch.iter().collect();
                let (ids, why) = self.delete_dead(&url, &taken, Op::PurgeDead).await?;
                deleted.extend(ids);
                if failure.is_none() {
                    failure = why;
                }
            }
        }
        .await;
        let n = deleted.len() as u64;
        if n > 0 {
            tracing::info!(messages = n, dead_letters = %inner.dlq.name, "dead-lettered messages deleted");
        }
        result.map_err(|e| after_progress(e, "deleted", n))?;
        if let Some(why) = failure {
            return Err(QueueError::Other(Detail::from(format!(
                "SQS dead-letter purge: deleted {n} messages from {}, but not all: {why}",
                inner.dlq.name
            ))));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqs::FaultKind;
    use crate::adapters::sqs::errors::own_fault;

    #[test]
    fn an_error_after_progress_says_how_far_and_keeps_its_cause() {
        let e = QueueError::Unavailable(own_fault(FaultKind::Busy, "SQS redrive: slow".into()));
        let e = after_progress(e, "moved back to the queue", 3);
        assert_eq!(
            e.to_string(),
            "queue unavailable: SQS redrive: slow (after 3 messages moved back to the queue)"
        );
        assert_eq!(FaultKind::of(&e), FaultKind::Busy);
    }

    #[test]
    fn redriven_bodies_are_sent_in_batches_sqs_accepts() {
        let taken = |len: usize| Taken {
            id: "m".into(),
            receipt: "r".into(),
            body: "x".repeat(len),
            sent_ms: 0,
            receives: None,
        };
        let small: Vec<Taken> = (0..23).map(|_| taken(100)).collect();
        let refs: Vec<&Taken> = small.iter().collect();
        let sizes: Vec<usize> = send_groups(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let big: Vec<Taken> = [100_000, 100_000, 100_000, BATCH_BYTES + 1, 10]
            .into_iter()
            .map(taken)
            .collect();
        let refs: Vec<&Taken> = big.iter().collect();
        let sizes: Vec<usize> = send_groups(&refs).iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [2, 1, 1, 1],
            "at most BATCH_BYTES a batch; a larger body alone"
        );
        assert!(send_groups(&[]).is_empty());
    }
}
