//! The event bus on Kafka (rdkafka): one topic, created on connect when missing;
//! keyed, idempotent publishing (a key always lands in one partition, in order);
//! consumer-group members that commit explicit offsets synchronously, only for the
//! events they are given; and lag from the group's committed offsets against the
//! partitions' high watermarks.
//!
//! Ownership of a delivery: a member may only commit an event while it still holds the
//! partition it was delivered from, in the same assignment. Revocations are noted by
//! the consumer context (they are served inside `poll`); a member whose last poll is
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
//!
//! Publishing is at least once: when `publish` fails, some of its events may still have
//! been written; the caller publishes them again and consumers tolerate duplicates.
//!
//! A member that dies stops heart-beating and leaves the group after
//! `session.timeout.ms`; a member that is alive but does not poll for
//! `max.poll.interval.ms` (`KafkaSettings::max_poll_interval`, at least the session)
//! leaves it too. Either way its partitions go to the others, as with the embedded bus.
//!
//! No rdkafka type leaves this module; driver errors become [`BusError`]s.

use crate::ports::Detail;
use crate::ports::{BusError, Consumer, Delivered, Event, EventBus};
use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long one admin, metadata or offset request may take before the broker counts
/// as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `publish` waits for the broker to acknowledge every event.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `connect` waits for a topic it created to show up in the metadata.
const TOPIC_READY: Duration = Duration::from_secs(15);
/// How long a synchronous offset commit may take before it counts as failed (the
/// events are then tried again; librdkafka itself would wait for ever).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default `max.poll.interval.ms`: how long a live member may go without polling
/// before it leaves the group. It is also the rebalance timeout, which bounds two waits:
/// the broker's for members to rejoin, and librdkafka's for the answer to a JoinGroup
/// (this plus 3 s) — with Kafka's default of 5 minutes, one JoinGroup left unanswered
/// (a broker restarted at the wrong moment) stalls a member for 5 minutes. A batch of
/// `fulfil` takes seconds, so one minute is ample.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// Where and how to use Kafka.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    pub topic: String,
    /// Partitions of the topic when oms creates it.
    pub partitions: i32,
    /// Consumer session timeout.
    pub session_timeout: Duration,
    /// A live member that does not poll for this long leaves the group (raised to the
    /// session timeout when shorter). Long enough for one batch of work; see
    /// [`MAX_POLL_INTERVAL`].
    pub max_poll_interval: Duration,
    /// librdkafka's `debug` contexts (`cgrp,fetch`, `all`…), logged at debug level;
    /// `None`: none.
    pub debug: Option<String>,
}

/// The Kafka adapter.
#[derive(Clone)]
pub struct KafkaBus {
    settings: Arc<KafkaSettings>,
    producer: FutureProducer<Logging>,
    /// One non-subscribing client per group asked about, for `lag`.
    lag_clients: Arc<Mutex<HashMap<String, Arc<BaseConsumer<Logging>>>>>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Driver error codes that mean "the broker cannot be reached (now)".
fn is_unavailable(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::Resolve
            | C::OperationTimedOut
            | C::MessageTimedOut
            | C::RequestTimedOut
            | C::TimedOutQueue
            | C::QueueFull
            | C::NetworkException
            | C::BrokerNotAvailable
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::CoordinatorNotAvailable
            | C::CoordinatorLoadInProgress
            | C::NotCoordinator
            | C::WaitingForCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::KafkaStorageError
    )
}

/// Driver error codes of a commit that mean "this member no longer owns what it
/// commits": the group moved on without it.
fn is_rebalanced(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::IllegalGeneration
            | C::UnknownMemberId
            | C::RebalanceInProgress
            | C::FencedInstanceId
            | C::StaleMemberEpoch
            | C::FencedMemberEpoch
            | C::AssignmentLost
    )
}

fn map_err(what: &str, e: &KafkaError) -> BusError {
    let code = match e {
        KafkaError::AdminOp(code) => Some(*code),
        e => e.rdkafka_error_code(),
    };
    match code {
        Some(code) if is_unavailable(code) => {
            BusError::Unavailable(Detail::from(format!("{what}: {e}")))
        }
        _ => BusError::Other(Detail::from(format!("{what}: {e}"))),
    }
}

fn join_err(e: tokio::task::JoinError) -> BusError {
    BusError::Other(Detail::from(format!("kafka worker thread failed: {e}")))
}

// ---------------------------------------------------------------------------------------
// Client contexts
// ---------------------------------------------------------------------------------------

/// Routes librdkafka's log lines and errors to `tracing`.
#[derive(Debug, Clone, Copy, Default)]
struct Logging;

fn log_line(level: RDKafkaLogLevel, fac: &str, msg: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error
        | RDKafkaLogLevel::Warning => tracing::warn!(target: "oms::kafka", "{fac}: {msg}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "oms::kafka", "{fac}: {msg}");
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "oms::kafka", "{fac}: {msg}"),
    }
}

impl ClientContext for Logging {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "oms::kafka", "{error}: {reason}");
    }
}

impl ConsumerContext for Logging {}

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
        tracing::warn!(target: "oms::kafka", "{error}: {reason}");
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
                let parts: Vec<i32> = tpl
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
                    .collect();
                tracing::debug!(target: "oms::kafka", ?parts, "partitions revoked");
                for p in parts {
                    own.assigned.remove(&p);
                    *own.revocations.entry(p).or_default() += 1;
                }
            }
            Rebalance::Assign(tpl) => {
                let parts: Vec<i32> = tpl
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
                    .collect();
                tracing::debug!(target: "oms::kafka", ?parts, "partitions assigned");
                own.assigned.extend(parts);
            }
            Rebalance::Error(e) => tracing::warn!(target: "oms::kafka", "rebalance failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The bus
// ---------------------------------------------------------------------------------------

fn base_config(settings: &KafkaSettings) -> ClientConfig {
    let mut c = ClientConfig::new();
    // Warnings and errors of librdkafka go to `tracing` whatever the `log` crate says.
    c.set_log_level(RDKafkaLogLevel::Warning);
    c.set("bootstrap.servers", &settings.brokers)
        .set("client.id", "oms")
        .set("socket.timeout.ms", millis(REQUEST_TIMEOUT));
    if let Some(contexts) = settings.debug.as_deref().filter(|d| !d.trim().is_empty()) {
        c.set("debug", contexts.trim());
        c.set_log_level(RDKafkaLogLevel::Debug);
    }
    c
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

impl KafkaBus {
    /// Connects and creates the topic when missing.
    ///
    /// # Errors
    /// [`BusError::Unavailable`] when no broker answers, [`BusError::Other`].
    pub async fn connect(settings: KafkaSettings) -> Result<Self, BusError> {
        if settings.topic.trim().is_empty() {
            return Err(BusError::Other("the Kafka topic name is empty".into()));
        }
        ensure_topic(&settings).await?;

        let producer: FutureProducer<Logging> = base_config(&settings)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // The partitioner of the Java clients: another program publishing with the
            // same key lands in the same partition.
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", millis(DELIVERY_TIMEOUT))
            .set("linger.ms", "5")
            .create_with_context(Logging)
            .map_err(|e| map_err("create producer", &e))?;

        Ok(Self {
            settings: Arc::new(settings),
            producer,
            lag_clients: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn lag_client(&self, group: &str) -> Result<Arc<BaseConsumer<Logging>>, BusError> {
        let mut clients = self
            .lag_clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = clients.get(group) {
            return Ok(Arc::clone(c));
        }
        // A client with the group's id that never subscribes: it reads the group's
        // committed offsets without joining (and so without disturbing) the group.
        let c: BaseConsumer<Logging> = base_config(&self.settings)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create_with_context(Logging)
            .map_err(|e| map_err("create lag client", &e))?;
        let c = Arc::new(c);
        clients.insert(group.to_owned(), Arc::clone(&c));
        Ok(c)
    }
}

/// What [`KafkaBus::inspect`] read of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaInspection {
    /// Brokers in the cluster's metadata.
    pub brokers: usize,
    /// Partitions of the topic; `None` when it does not exist.
    pub partitions: Option<i32>,
}

impl KafkaBus {
    /// Reads the cluster's metadata for the topic of `settings`, without creating it
    /// (for `oms doctor`); waits at most `timeout` for a broker.
    ///
    /// # Errors
    /// [`BusError::Unavailable`] when no broker answers, [`BusError::Other`].
    pub async fn inspect(
        settings: &KafkaSettings,
        timeout: Duration,
    ) -> Result<KafkaInspection, BusError> {
        let client: BaseConsumer<Logging> = base_config(settings)
            .set("socket.timeout.ms", millis(timeout))
            .set("allow.auto.create.topics", "false")
            .create_with_context(Logging)
            .map_err(|e| map_err("create metadata client", &e))?;
        let topic = settings.topic.clone();
        tokio::task::spawn_blocking(move || {
            let md = client
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| map_err("read cluster metadata", &e))?;
            let partitions = match md.topics().iter().find(|t| t.name() == topic) {
                None => None,
                Some(t) => match t.error().map(RDKafkaErrorCode::from) {
                    None => Some(
                        i32::try_from(t.partitions().len())
                            .map_err(|e| BusError::Other(Detail::from(e.to_string())))?,
                    ),
                    Some(RDKafkaErrorCode::UnknownTopicOrPartition) => None,
                    Some(code) if is_unavailable(code) => {
                        return Err(BusError::Unavailable(Detail::from(format!(
                            "topic {topic}: {code}"
                        ))));
                    }
                    Some(code) => {
                        return Err(BusError::Other(Detail::from(format!(
                            "topic {topic}: {code}"
                        ))));
                    }
                },
            };
            Ok(KafkaInspection {
                brokers: md.brokers().len(),
                partitions,
            })
        })
        .await
        .map_err(join_err)?
    }
}

/// Creates the topic unless it exists, then waits until its partitions are known.
async fn ensure_topic(settings: &KafkaSettings) -> Result<(), BusError> {
    let admin: AdminClient<Logging> = base_config(settings)
        .create_with_context(Logging)
        .map_err(|e| map_err("create admin client", &e))?;
    let topic = NewTopic::new(
        &settings.topic,
        settings.partitions.max(1),
        TopicReplication::Fixed(1),
    );
    let opts = AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin
        .create_topics([&topic], &opts)
        .await
        .map_err(|e| map_err("create topic", &e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) if is_unavailable(code) => {
                return Err(BusError::Unavailable(Detail::from(format!(
                    "create topic {name}: {code}"
                ))));
            }
            Err((name, code)) => {
                return Err(BusError::Other(Detail::from(format!(
                    "create topic {name}: {code}"
                ))));
            }
        }
    }
    // Creation may finish after the admin answer: wait until the metadata has it.
    let name = settings.topic.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + TOPIC_READY;
        loop {
            let found = admin
                .inner()
                .fetch_metadata(Some(&name), REQUEST_TIMEOUT)
                .map_err(|e| map_err("read topic metadata", &e))
                .map(|md| {
                    md.topics().iter().any(|t| {
                        t.name() == name && t.error().is_none() && !t.partitions().is_empty()
                    })
                });
            match found {
                Ok(true) => return Ok(()),
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(false) => {
                    return Err(BusError::Unavailable(Detail::from(format!(
                        "topic {name} was created but has no partitions after {TOPIC_READY:?}"
                    ))));
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .map_err(join_err)?
}

/// The number of partitions of `topic`.
fn partition_count(client: &BaseConsumer<Logging>, topic: &str) -> Result<i32, BusError> {
    let md = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| map_err("read topic metadata", &e))?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| BusError::Other(Detail::from(format!("topic {topic} not found"))))?;
    if let Some(e) = t.error() {
        let code = RDKafkaErrorCode::from(e);
        return Err(if is_unavailable(code) {
            BusError::Unavailable(Detail::from(format!("topic {topic}: {code}")))
        } else {
            BusError::Other(Detail::from(format!("topic {topic}: {code}")))
        });
    }
    i32::try_from(t.partitions().len()).map_err(|e| BusError::Other(Detail::from(e.to_string())))
}

#[async_trait]
impl EventBus for KafkaBus {
    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        let topic = &self.settings.topic;
        let mut pending = Vec::with_capacity(events.len());
        // Enqueue everything first (in order: one key's events keep their order in its
        // partition, idempotence keeps it across retries), then await every delivery.
        for e in events {
            let deadline = Instant::now() + DELIVERY_TIMEOUT;
            let mut record = FutureRecord::to(topic).key(&e.key).payload(&e.payload);
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                        if Instant::now() < deadline =>
                    {
                        record = r;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err((err, _)) => return Err(map_err("publish", &err)),
                }
            }
        }
        let mut first_error = None;
        for delivery in pending {
            let outcome = match delivery.await {
                Ok(Ok(_)) => continue,
                Ok(Err((err, _))) => map_err("publish", &err),
                Err(_) => BusError::Unavailable("publish: the producer was shut down".into()),
            };
            first_error.get_or_insert(outcome);
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn subscribe(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        let session = self.settings.session_timeout.max(Duration::from_millis(1));
        let max_poll = self.settings.max_poll_interval.max(session);
        let ownership = Arc::new(Mutex::new(Ownership::default()));
        let context = Member {
            topic: self.settings.topic.clone(),
            ownership: Arc::clone(&ownership),
        };
        let consumer: BaseConsumer<Member> = base_config(&self.settings)
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
            .map_err(|e| map_err("create consumer", &e))?;
        consumer
            .subscribe(&[self.settings.topic.as_str()])
            .map_err(|e| map_err("subscribe", &e))?;
        Ok(Box::new(KafkaConsumer {
            consumer: Some(Arc::new(consumer)),
            topic: self.settings.topic.clone(),
            max_poll_interval: max_poll,
            last_poll: None,
            inbox: Arc::new(Mutex::new(Vec::new())),
            ownership,
            held: HashMap::new(),
        }))
    }

    async fn lag(&self, group: &str) -> Result<u64, BusError> {
        let client = self.lag_client(group)?;
        let topic = self.settings.topic.clone();
        tokio::task::spawn_blocking(move || {
            // Drain errors and logs queued on the idle client.
            while client.poll(Duration::ZERO).is_some() {}
            let n = partition_count(&client, &topic)?;
            let mut tpl = TopicPartitionList::new();
            for p in 0..n {
                tpl.add_partition(&topic, p);
            }
            let committed = client
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(|e| map_err("read committed offsets", &e))?;
            let mut lag = 0u64;
            for p in 0..n {
                let (low, high) = client
                    .fetch_watermarks(&topic, p, REQUEST_TIMEOUT)
                    .map_err(|e| map_err("read watermarks", &e))?;
                let done = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o.max(low),
                    _ => low,
                };
                lag += u64::try_from(high - done).unwrap_or(0);
            }
            Ok(lag)
        })
        .await
        .map_err(join_err)?
    }
}

// ---------------------------------------------------------------------------------------
// A group member
// ---------------------------------------------------------------------------------------

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
                    return Err(map_err("poll", &e));
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
                .map_err(|e| map_err("commit", &e))?;
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
                _ => Err(map_err("commit", &e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_without_a_broker_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let r = KafkaBus::connect(KafkaSettings {
            brokers: format!("127.0.0.1:{port}"),
            topic: "oms.orders".into(),
            partitions: 1,
            session_timeout: Duration::from_secs(6),
            max_poll_interval: Duration::from_secs(6),
            debug: None,
        })
        .await;
        assert!(
            matches!(r, Err(BusError::Unavailable(_))),
            "{:?}",
            r.map(|_| ())
        );
    }

    #[test]
    fn commit_refusals_of_a_moved_group_are_rebalances() {
        for code in [
            RDKafkaErrorCode::IllegalGeneration,
            RDKafkaErrorCode::UnknownMemberId,
            RDKafkaErrorCode::RebalanceInProgress,
        ] {
            assert!(is_rebalanced(code) && !is_unavailable(code), "{code:?}");
        }
        assert!(is_unavailable(RDKafkaErrorCode::AllBrokersDown));
        assert!(!is_rebalanced(RDKafkaErrorCode::AllBrokersDown));
    }
}
