//! Contract fixture for the Kafka adapter (`OMS_KAFKA_BROKERS`, tansu in the test
//! services): every fixture is a fresh topic with a unique name and the suite's
//! [`PARTITIONS`], and its consumer groups carry the same unique prefix (a group is
//! broker-wide, and the suite's tests, run in parallel, all name theirs `fulfil`), so
//! tests never see each other's events, offsets or group members. Plus a check that
//! events produced by another Kafka client reach oms's consumers.

use crate::contract::{BusFixture, PARTITIONS, PATIENCE};
use crate::support::service_env;
use async_trait::async_trait;
use oms::adapters::kafka::{KafkaBus, KafkaSettings};
use oms::ports::{BusError, Consumer, Event, EventBus, GroupState};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The consumer session the fixture's buses use. Brokers refuse sessions below their
/// minimum (Apache Kafka: `group.min.session.timeout.ms`, 6 s by default), so the
/// suite's [`SESSION`] is too short for a real broker.
const KAFKA_SESSION: Duration = Duration::from_secs(6);

/// A fresh topic on the configured brokers.
pub struct KafkaFixture {
    brokers: String,
    topic: String,
}

/// A Kafka bus whose consumer groups are this fixture's own.
struct Scoped {
    bus: KafkaBus,
    prefix: String,
}

impl Scoped {
    fn group(&self, group: &str) -> String {
        format!("{}.{group}", self.prefix)
    }
}

#[async_trait]
impl EventBus for Scoped {
    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        self.bus.publish(events).await
    }

    async fn subscribe(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        self.bus.subscribe(&self.group(group)).await
    }

    async fn lag(&self, group: &str) -> Result<u64, BusError> {
        self.bus.lag(&self.group(group)).await
    }

    /// The fixture's own groups, by the names the tests gave them.
    async fn groups(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        let own = format!("{}.", self.prefix);
        Ok(self.bus.groups().await?.map(|groups| {
            groups
                .into_iter()
                .filter_map(|g| {
                    Some(GroupState {
                        group: g.group.strip_prefix(&own)?.to_owned(),
                        ..g
                    })
                })
                .collect()
        }))
    }
}

impl KafkaFixture {
    /// A fixture with its own topic (created now), or `None` when
    /// `OMS_KAFKA_BROKERS` is not set.
    pub async fn start() -> Option<Self> {
        let brokers = service_env("OMS_KAFKA_BROKERS")?;
        let f = Self {
            brokers,
            topic: format!("oms-test-{}", uuid::Uuid::new_v4()),
        };
        f.connect().await;
        Some(f)
    }

    fn settings(&self) -> KafkaSettings {
        KafkaSettings {
            brokers: self.brokers.clone(),
            topic: self.topic.clone(),
            partitions: PARTITIONS,
            session_timeout: KAFKA_SESSION,
            // The suite's "a silent member loses its partitions" within the session.
            max_poll_interval: KAFKA_SESSION,
            debug: None,
        }
    }

    async fn connect(&self) -> KafkaBus {
        KafkaBus::connect(self.settings())
            .await
            .expect("connect to Kafka and create the topic")
    }
}

#[async_trait]
impl BusFixture for KafkaFixture {
    async fn bus(&self) -> Arc<dyn EventBus> {
        Arc::new(Scoped {
            bus: self.connect().await,
            prefix: self.topic.clone(),
        })
    }

    fn session(&self) -> Duration {
        KAFKA_SESSION
    }
}

/// A plain rdkafka producer, as another program publishing order events would use.
fn raw_producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .expect("raw producer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_published_by_another_client_is_delivered() {
    let Some(f) = KafkaFixture::start().await else {
        return;
    };
    let payload = r#"{"seller_id":"1","order_id":"1011","from":"another program"}"#;
    let producer = raw_producer(&f.brokers);
    producer
        .send(
            FutureRecord::to(&f.topic).key("1/1011").payload(payload),
            Duration::from_secs(10),
        )
        .await
        .expect("produce with a raw client");
    producer
        .send(
            FutureRecord::<str, str>::to(&f.topic).payload("no key"),
            Duration::from_secs(10),
        )
        .await
        .expect("produce without a key");

    let bus = f.bus().await;
    assert_eq!(bus.lag("fulfil").await.expect("lag"), 2);
    let mut c = bus.subscribe("fulfil").await.expect("subscribe");
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < 2 && Instant::now() < deadline {
        got.extend(c.poll(10, Duration::from_millis(200)).await.expect("poll"));
    }
    assert_eq!(got.len(), 2, "both events must arrive: {got:?}");
    let keyed = got
        .iter()
        .find(|d| d.key == "1/1011")
        .expect("the keyed event");
    assert_eq!(
        keyed.payload, payload,
        "the payload must come back byte for byte"
    );
    let unkeyed = got
        .iter()
        .find(|d| d.key.is_empty())
        .expect("the unkeyed event");
    assert_eq!(unkeyed.payload, "no key");

    c.commit(&got).await.expect("commit");
    assert_eq!(bus.lag("fulfil").await.expect("lag"), 0);
    c.close().await;
}

/// Polls `c` for `wait`, gathering everything delivered.
async fn gather(c: &mut dyn Consumer, wait: Duration) -> Vec<oms::ports::Delivered> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        got.extend(c.poll(100, Duration::from_millis(100)).await.expect("poll"));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_handed_back_after_a_rebalance_restarts_at_the_committed_offset() {
    let Some(f) = KafkaFixture::start().await else {
        return;
    };
    let bus = f.bus().await;
    let events: Vec<Event> = (0..5)
        .map(|i| Event {
            key: "8/800".into(),
            payload: format!("b{i}"),
        })
        .collect();
    bus.publish(&events).await.expect("publish");
    let mut a = bus.subscribe("fulfil").await.expect("subscribe");
    let deadline = Instant::now() + PATIENCE;
    let mut first = Vec::new();
    while first.len() < 5 && Instant::now() < deadline {
        first.extend(a.poll(100, Duration::from_millis(200)).await.expect("poll"));
    }
    assert_eq!(first.len(), 5);
    let partition = first[0].partition;
    a.commit(&first[..2]).await.expect("commit the first two");

    // `b` joins (every partition is revoked and assigned anew), then leaves again, so
    // the partition ends up with `a` once more, whoever held it in between.
    let span = f.session() * 2;
    let mut b = bus.subscribe("fulfil").await.expect("subscribe");
    let (got_a, got_b) = tokio::join!(gather(&mut *a, span), async move {
        let got = gather(&mut *b, span).await;
        b.close().await;
        got
    });
    let rest = gather(&mut *a, span).await;
    let again: Vec<i64> = got_a
        .iter()
        .chain(&rest)
        .filter(|d| d.partition == partition)
        .map(|d| d.offset)
        .collect();
    assert!(
        again.iter().all(|o| (2..5).contains(o)),
        "after a rebalance the partition must restart at the committed offset 2, not at \
         a stale position: a got offsets {again:?} (b got {got_b:?})"
    );
    for o in 2..5 {
        assert!(
            again.contains(&o),
            "offset {o} was never delivered to a again: {again:?} (b got {got_b:?})"
        );
    }
    let redelivered: Vec<_> = got_a
        .iter()
        .chain(&rest)
        .filter(|d| d.partition == partition)
        .cloned()
        .collect();
    a.commit(&redelivered)
        .await
        .expect("commit of the redelivered events");
    assert_eq!(bus.lag("fulfil").await.expect("lag"), 0);
    a.close().await;
}

/// Whether the broker answers DescribeGroups (for `group`), as Apache Kafka does;
/// tansu 0.6 drops the connection.
fn broker_describes_groups(brokers: &str, group: &str) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("a Kafka client");
    client
        .fetch_group_list(Some(group), Duration::from_secs(10))
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn groups_are_those_of_the_topic_or_unknown_when_the_broker_cannot_describe_them() {
    let (Some(f), Some(other)) = (KafkaFixture::start().await, KafkaFixture::start().await) else {
        return;
    };
    let bus = f.connect().await;
    let group = format!("{}.fulfil", f.topic);
    let elsewhere = format!("{}.fulfil", other.topic);
    let events: Vec<Event> = (0..3)
        .map(|i| Event {
            key: format!("k{i}"),
            payload: "x".into(),
        })
        .collect();
    bus.publish(&events).await.expect("publish");
    other
        .connect()
        .await
        .publish(&events)
        .await
        .expect("publish");
    let mut c = bus.subscribe(&group).await.expect("subscribe");
    let mut o = other
        .connect()
        .await
        .subscribe(&elsewhere)
        .await
        .expect("subscribe");
    let deadline = Instant::now() + PATIENCE;
    let (mut got, mut got_o) = (Vec::new(), Vec::new());
    while (got.len() < 3 || got_o.len() < 3) && Instant::now() < deadline {
        got.extend(c.poll(10, Duration::from_millis(100)).await.expect("poll"));
        got_o.extend(o.poll(10, Duration::from_millis(100)).await.expect("poll"));
    }
    c.commit(&got[..1]).await.expect("commit one");
    o.commit(&got_o).await.expect("commit all");

    let groups = bus.groups().await.expect("groups, or none: never an error");
    if broker_describes_groups(&f.brokers, &group) {
        let groups = groups.expect("a broker that describes its groups lists them");
        let names: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, [group.as_str()], "only the topic's groups");
        assert_eq!((groups[0].lag, groups[0].members), (2, 1), "{groups:?}");
    } else {
        assert_eq!(
            groups, None,
            "a broker that cannot describe groups gives none"
        );
    }
    c.close().await;
    o.close().await;
}
