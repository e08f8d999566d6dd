//! The event bus on Kafka (rdkafka): one topic, created when missing (on connect, or
//! on first use for a bus made with [`KafkaBus::new`]);
//! keyed, idempotent publishing (a key always lands in one partition, in order);
//! consumer-group members that commit explicit offsets synchronously, only for the
//! events they are given; and lag from the group's committed offsets against the
//! partitions' high watermarks.
//!
//! A member that dies stops heart-beating and leaves the group after
//! `session.timeout.ms`; a member that is alive but does not poll for
//! `max.poll.interval.ms` (`KafkaSettings::max_poll_interval`, at least the session)
//! leaves it too. Either way its partitions go to the others, as with the embedded bus.
//!
//! No rdkafka type crosses the port: driver errors become [`BusError`]s that keep the
//! driver's error (a `KafkaError` or an error code) as their cause.
//!
//! The folder, by concern: this file holds the bus, its settings and the [`EventBus`]
//! port; `errors` the mapping of driver errors; `logging` librdkafka's log lines;
//! `topic` creating and describing the topic; `producer` publishing; `consumer` a
//! group member (commits, rebalances); `lag` a group's lag; `groups` every group of the
//! topic with its lag and members; `probe` what `oms doctor` reads.

mod consumer;
mod errors;
mod groups;
mod lag;
mod logging;
mod probe;
mod producer;
mod topic;

pub use consumer::KafkaConsumer;
pub use probe::{KafkaProbe, ProbeFailure, TopicFound};

use crate::ports::{BusError, Consumer, Event, EventBus, GroupState};
use async_trait::async_trait;
use logging::Logging;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::FutureProducer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one admin, metadata or offset request may take before the broker counts
/// as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The topic of the order events.
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
    /// Set once the topic is known to exist (looked up, or created, on first use).
    topic_ready: Arc<tokio::sync::OnceCell<()>>,
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

/// The settings every client of the bus shares: the brokers, the client id, the
/// request time-out, and librdkafka's debug contexts when asked for.
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

/// A duration as librdkafka's milliseconds (at least 1).
fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

impl KafkaBus {
    /// The bus, without contacting a broker yet: the topic is looked up (and created
    /// when missing) on first use. A command that reads only the store (`oms orders
    /// ls`) then works while Kafka is down.
    ///
    /// # Errors
    /// [`BusError::Other`]: an empty topic name, settings librdkafka refuses.
    pub fn new(settings: KafkaSettings) -> Result<Self, BusError> {
        if settings.topic.trim().is_empty() {
            return Err(BusError::Other("the Kafka topic name is empty".into()));
        }
        let producer = producer::producer(&settings)?;
        Ok(Self {
            settings: Arc::new(settings),
            producer,
            topic_ready: Arc::new(tokio::sync::OnceCell::new()),
            lag_clients: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Connects and creates the topic when missing: a worker learns at its start that
    /// the bus is down.
    ///
    /// # Errors
    /// [`BusError::Unavailable`] when no broker answers, [`BusError::Other`].
    pub async fn connect(settings: KafkaSettings) -> Result<Self, BusError> {
        let bus = Self::new(settings)?;
        bus.ready().await?;
        Ok(bus)
    }

    /// Makes sure the topic exists, once per bus (a failed attempt is tried again on
    /// the next use).
    async fn ready(&self) -> Result<(), BusError> {
        self.topic_ready
            .get_or_try_init(|| topic::ensure_topic(&self.settings))
            .await
            .map(|&()| ())
    }
}

#[async_trait]
impl EventBus for KafkaBus {
    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        self.ready().await?;
        producer::publish(&self.producer, &self.settings.topic, events).await
    }

    async fn subscribe(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        self.ready().await?;
        Ok(Box::new(KafkaConsumer::join(&self.settings, group)?))
    }

    async fn lag(&self, group: &str) -> Result<u64, BusError> {
        self.ready().await?;
        self.group_lag(group).await
    }

    async fn groups(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        self.ready().await?;
        self.topic_groups().await
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
}
