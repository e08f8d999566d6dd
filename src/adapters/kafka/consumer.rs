//! A member of a consumer group: joining, polling, explicit synchronous commits of only
//! the events it is given, and leaving.
//!
//! Ownership of a delivery: a member may only commit an event while it still holds the
//! partition it was delivered from, in the same assignment. Revocations are noted by
//! the member's context (they are served inside `poll`); a member whose last poll is
//! older than its poll deadline has left the group (librdkafka leaves on its own), and
//! librdkafka flags an assignment lost to a session timeout. Each of these makes a
//! later commit of such an event fail with [`BusError::Rebalanced`] without touching
//! the broker, as does a broker that rejects the commit because the group moved on
//! (illegal generation, unknown member, rebalance in progress). Brokers that do not
//! fence commits by generation (tansu) are thus covered too.
//!
//! Rebalances are eager (`range,roundrobin`): every partition is revoked before any is
//! assigned again, and an assigned partition starts at the group's committed offset
//! (librdkafka fetches it on assign), so nothing stale is delivered after a rebalance;
//! events taken before a revocation in the same poll are dropped, not returned.

use super::errors::{is_rebalanced, join_err, map_err};
use super::logging::{client_error, log_line};
use super::{KafkaSettings, REQUEST_TIMEOUT, base_config, millis};
use crate::ports::{BusError, Consumer, Delivered, Detail};
use async_trait::async_trait;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a synchronous offset commit may take before it counts as failed (the
/// events are then tried again; librdkafka itself would wait for ever).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a group member holds, kept by its context as rebalances are served.
#[derive(Debug, Default)]
struct Ownership {
    /// Partitions of the topic assigned to this member now.
    assigned: HashSet<i32>,
    /// How often each partition was taken from this member; an event delivered under
    /// one count may only be committed while the count is unchanged.
    revocations: HashMap<i32, u64>,
}

impl Ownership {
    fn epoch(&self, partition: i32) -> u64 {
        self.revocations.get(&partition).copied().unwrap_or(0)
    }
}

/// The context of a group member: logging, plus noting assignments and revocations.
struct Member {
    topic: String,
    ownership: Arc<Mutex<Ownership>>,
}

impl ClientContext for Member {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client_error(&error, reason);
    }
}

impl ConsumerContext for Member {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut own = self
            .ownership
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts = partitions_of(tpl, &self.topic);
                tracing::debug!(target: "oms::kafka", ?parts, "partitions revoked");
                for p in parts {
                    own.assigned.remove(&p);
                    *own.revocations.entry(p).or_default() += 1;
                }
            }
            Rebalance::Assign(tpl) => {
                let parts = partitions_of(tpl, &self.topic);
                tracing::debug!(target: "oms::kafka", ?parts, "partitions assigned");
                own.assigned.extend(parts);
            }
            Rebalance::Error(e) => tracing::warn!(target: "oms::kafka", "rebalance failed: {e}"),
        }
    }
}

/// The partitions of `topic` in `tpl`.
fn partitions_of(tpl: &TopicPartitionList, topic: &str) -> Vec<i32> {
    tpl.elements_for_topic(topic)
        .iter()
        .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
        .collect()
}

/// What this member delivered from one partition under one assignment.
#[derive(Debug, Clone, Copy)]
struct Held {
    /// The partition's revocation count when these events were delivered.
    epoch: u64,
    /// Lowest and highest offset delivered under this assignment.
    first: i64,
    last: i64,
    /// Next offset this member committed under this assignment (0: none yet).
    committed: i64,
}

/// One member of a consumer group on Kafka.
pub struct KafkaConsumer {
    consumer: Option<Arc<BaseConsumer<Member>>>,
    topic: String,
    /// `max.poll.interval.ms`: librdkafka leaves the group when polls are further apart.
    max_poll_interval: Duration,
    /// When the last poll returned.
    last_poll: Option<Instant>,
    inbox: Arc<Mutex<Inbox>>,
    ownership: Arc<Mutex<Ownership>>,
    held: HashMap<i32, Held>,
}

impl KafkaConsumer {
    /// Joins consumer group `group` on the topic of `settings`.
    ///
    /// # Errors
    /// [`BusError::Other`] when librdkafka refuses the configuration or the
    /// subscription.
    pub(super) fn join(settings: &KafkaSettings, group: &str) -> Result<Self, BusError> {
        let session = settings.session_timeout.max(Duration::from_millis(1));
        let max_poll = settings.max_poll_interval.max(session);
        let ownership = Arc::new(Mutex::new(Ownership::default()));
        let context = Member {
            topic: settings.topic.clone(),
            ownership: Arc::clone(&ownership),
        };
        let consumer: BaseConsumer<Member> = base_config(settings)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", millis(session))
            .set(
                "heartbeat.interval.ms",
                millis((session / 3).min(Duration::from_secs(3))),
            )
            // A member that stops polling for this long leaves the group, so its
            // partitions move on as the port promises.
            .set("max.poll.interval.ms", millis(max_poll))
            // Eager assignors: a partition is revoked from every member before it is
            // assigned again, so no two members ever read one partition at once.
            .set("partition.assignment.strategy", "range,roundrobin")
            .create_with_context(context)
            .map_err(|e| map_err("create consumer", e))?;
        consumer
            .subscribe(&[settings.topic.as_str()])
            .map_err(|e| map_err("subscribe", e))?;
        Ok(Self {
            consumer: Some(Arc::new(consumer)),
            topic: settings.topic.clone(),
            max_poll_interval: max_poll,
            last_poll: None,
            inbox: Arc::new(Mutex::new(Vec::new())),
            ownership,
            held: HashMap::new(),
        })
    }

    /// The driver's consumer, unless [`Consumer::close`] closed it.
    fn consumer(&self) -> Result<Arc<BaseConsumer<Member>>, BusError> {
        self.consumer
            .clone()
            .ok_or_else(|| BusError::Other("the consumer was closed".into()))
    }
}

/// Messages taken from librdkafka and not yet handed out, each with its partition's
/// revocation count at receipt. A poll whose future is dropped leaves its messages here
/// for the next one, so a message taken is never skipped.
type Inbox = Vec<(Delivered, u64)>;

/// Collects up to `max` messages into `out`: waits up to `wait` for the first one, then
/// takes what is already there.
fn collect(
    consumer: &BaseConsumer<Member>,
    ownership: &Mutex<Ownership>,
    out: &mut Inbox,
    max: usize,
    wait: Duration,
) -> Result<(), BusError> {
    let deadline = Instant::now() + wait;
    while out.len() < max {
        let left = if out.is_empty() {
            deadline.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        match consumer.poll(left) {
            Some(Ok(m)) => {
                let epoch = ownership
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .epoch(m.partition());
                out.push((
                    Delivered {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m
                            .key()
                            .map(|k| String::from_utf8_lossy(k).into_owned())
                            .unwrap_or_default(),
                        payload: m
                            .payload()
                            .map(|p| String::from_utf8_lossy(p).into_owned())
                            .unwrap_or_default(),
                        order: None,
                    },
                    epoch,
                ));
            }
            Some(Err(e)) => {
                let code = e.rdkafka_error_code();
                if code == Some(RDKafkaErrorCode::PollExceeded) {
                    // The member left the group; the revocation is served next.
                    tracing::info!(target: "oms::kafka", "{e}; rejoining the group");
                } else if !out.is_empty() {
                    // Never drop taken events: return them; the error shows again.
                    tracing::warn!(target: "oms::kafka", "poll: {e}");
                    break;
                } else {
                    return Err(map_err("poll", e));
                }
            }
            None => {
                if !out.is_empty() || Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, BusError> {
        let consumer = self.consumer()?;
        let ownership = Arc::clone(&self.ownership);
        let inbox = Arc::clone(&self.inbox);
        let max = max.max(1);
        // One poll at a time (a dropped poll may still run): the inbox lock orders them.
        let polled = tokio::task::spawn_blocking(move || {
            let mut taken = inbox.lock().unwrap_or_else(PoisonError::into_inner);
            if taken.is_empty() {
                collect(&consumer, &ownership, &mut taken, max, wait)
            } else {
                Ok(())
            }
        })
        .await
        .map_err(join_err)?;
        self.last_poll = Some(Instant::now());
        polled?;
        let got: Inbox = {
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            let n = inbox.len().min(max);
            inbox.drain(..n).collect()
        };
        let own = self
            .ownership
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::with_capacity(got.len());
        for (d, epoch) in got {
            // Taken from a partition revoked during this poll: its new owner (maybe this
            // member again) starts over from the committed offset.
            if own.epoch(d.partition) != epoch {
                continue;
            }
            let held = self.held.entry(d.partition).or_insert(Held {
                epoch,
                first: d.offset,
                last: d.offset,
                committed: 0,
            });
            if held.epoch == epoch {
                held.first = held.first.min(d.offset);
                held.last = held.last.max(d.offset);
            } else {
                *held = Held {
                    epoch,
                    first: d.offset,
                    last: d.offset,
                    committed: 0,
                };
            }
            out.push(d);
        }
        Ok(out)
    }

    async fn commit(&mut self, events: &[Delivered]) -> Result<(), BusError> {
        if events.is_empty() {
            return Ok(());
        }
        let consumer = self.consumer()?;
        let mut upto: BTreeMap<i32, i64> = BTreeMap::new();
        for d in events {
            let e = upto.entry(d.partition).or_insert(d.offset + 1);
            *e = (*e).max(d.offset + 1);
        }
        // Refuse locally what this member no longer owns: the partition was revoked
        // (and maybe handed back) since the event was delivered, or the member dropped
        // out of the group for not polling.
        let first = *upto.keys().next().unwrap_or(&0);
        // librdkafka leaves the group once polls are further apart than
        // `max.poll.interval.ms`; when that happens in the middle of a rebalance it does
        // not flag the assignment as lost, and a broker that does not fence commits
        // (tansu) would take this one. The member's own clock says it all.
        let stalled = self
            .last_poll
            .is_some_and(|t| t.elapsed() >= self.max_poll_interval);
        if stalled || consumer.assignment_lost() {
            self.held.clear();
            return Err(BusError::Rebalanced(first));
        }
        {
            let own = self
                .ownership
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for d in events {
                let owned = self.held.get(&d.partition).is_some_and(|h| {
                    h.epoch == own.epoch(d.partition)
                        && own.assigned.contains(&d.partition)
                        && (h.first..=h.last).contains(&d.offset)
                });
                if !owned {
                    return Err(BusError::Rebalanced(d.partition));
                }
            }
        }
        // Offsets never go back: what this member committed already stays.
        upto.retain(|p, next| self.held.get(p).is_some_and(|h| *next > h.committed));
        if upto.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &next) in &upto {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(next))
                .map_err(|e| map_err("commit", e))?;
        }
        // librdkafka's synchronous commit has no deadline of its own: bounded here, so a
        // broker that never answers makes the batch fail (and be tried again) rather
        // than stall the member. A commit that lands late only moves the offsets on.
        let commit = tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync));
        let result = tokio::time::timeout(COMMIT_TIMEOUT, commit)
            .await
            .map_err(|_| {
                BusError::Unavailable(Detail::from(format!(
                    "commit: no answer from the group coordinator within {}s",
                    COMMIT_TIMEOUT.as_secs()
                )))
            })?
            .map_err(join_err)?;
        match result {
            Ok(()) => {
                for (p, next) in upto {
                    if let Some(h) = self.held.get_mut(&p) {
                        h.committed = h.committed.max(next);
                    }
                }
                Ok(())
            }
            Err(e) => match e.rdkafka_error_code() {
                Some(code) if is_rebalanced(code) => {
                    for p in upto.keys() {
                        self.held.remove(p);
                    }
                    Err(BusError::Rebalanced(first))
                }
                _ => Err(map_err("commit", e)),
            },
        }
    }

    async fn close(&mut self) {
        self.held.clear();
        if let Some(consumer) = self.consumer.take() {
            // Unsubscribing revokes and leaves the group now; dropping the last handle
            // closes the consumer (serving the revocation) on a blocking thread. Taken
            // but undelivered messages go back with the partitions.
            // Bounded: a broker that does not answer the LeaveGroup must not keep the
            // process from ending (the group then drops the member after its session).
            let inbox = Arc::clone(&self.inbox);
            let closing = tokio::task::spawn_blocking(move || {
                inbox.lock().unwrap_or_else(PoisonError::into_inner).clear();
                consumer.unsubscribe();
                drop(consumer);
            });
            if tokio::time::timeout(REQUEST_TIMEOUT, closing)
                .await
                .is_err()
            {
                tracing::warn!(
                    target: "oms::kafka",
                    "leaving the group took over {}s; going on without waiting",
                    REQUEST_TIMEOUT.as_secs()
                );
            }
        }
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Closing blocks until the group is left: never on an async worker thread.
        if let Some(consumer) = self.consumer.take() {
            let _ = std::thread::Builder::new()
                .name("oms-kafka-close".into())
                .spawn(move || drop(consumer));
        }
    }
}
