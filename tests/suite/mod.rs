#![allow(dead_code, unused_macros, unused_imports)]
//! The port contract suite: what every adapter of each port must do.
//!
//! Each port has a suite module (`queue_suite`, `bus_suite`, `store_suite`,
//! `warehouse_suite`, `uow_suite`) of generic `async fn`s taking a *fixture*: a small
//! trait that hands out clients of one backend under test (every call a new client with
//! its own connection, as another `oms` process would have). A macro per port
//! (`queue_contract!`, `bus_contract!`, ...) turns a suite into `#[tokio::test]`s in a
//! module named after the adapter, given one factory expression that builds a fresh,
//! empty backend per test (`Some(fixture)`, or `None` to skip when it is not configured):
//!
//! ```ignore
//! mod sqs {
//!     use super::*;
//!     queue_contract!(queue, || async { SqsFixture::start().await });  // -> Option<SqsFixture>
//! }
//! ```
//!
//! A fixture configures its adapter with the settings below ([`VISIBILITY`],
//! [`MAX_RECEIVES`], [`SESSION`], [`PARTITIONS`]), or says which it uses instead
//! (`QueueFixture::visibility`, `BusFixture::session`, ...); the suites time by those.
//! `tests/contract.rs` instantiates the suites for the embedded (SQLite) adapters,
//! `tests/contract_real.rs` for the real backends (SQS, Kafka, MongoDB, HTTP WMS).

use async_trait::async_trait;
use oms::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use oms::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, OrderId, OrderItem, OrderKey, Outcome, Quantity,
    REASON_INSUFFICIENT_INVENTORY, Reject, SellerId, SkuId, Status,
};
use oms::ports::{
    BusError, Consumer, DeadLetter, Delivered, Event, EventBus, Inserted, JobQueue, JobReport,
    OrderFilter, OrderStore, QueueDepth, QueueError, QueueMessage, Reservation, UnitOfWork,
    Validation, Warehouse,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Settings every adapter under test is built with
// ---------------------------------------------------------------------------------------

/// Queue visibility timeout.
pub const VISIBILITY: Duration = Duration::from_millis(400);
/// A message received this many times and not acknowledged is dead-lettered on the next
/// receive.
pub const MAX_RECEIVES: u32 = 3;
/// Bus consumer session timeout: a member silent for this long loses its partitions.
pub const SESSION: Duration = Duration::from_millis(500);
/// Partitions of the bus log.
pub const PARTITIONS: i32 = 4;
/// Added to a timeout before expecting it to have run out.
pub const SLACK: Duration = Duration::from_millis(250);
/// The longest any single "eventually" in the suites waits.
pub const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Fixtures: how a suite gets clients of the backend under test
// ---------------------------------------------------------------------------------------

/// One queue backend under test.
#[async_trait]
pub trait QueueFixture: Send + Sync {
    /// A new client of the queue (its own connection), configured with [`VISIBILITY`]
    /// and [`MAX_RECEIVES`].
    async fn queue(&self) -> Arc<dyn JobQueue>;
    /// The visibility timeout the fixture's queues use (SQS counts whole seconds).
    fn visibility(&self) -> Duration {
        VISIBILITY
    }
    /// The receives before dead-lettering the fixture's queues use.
    fn max_receives(&self) -> u32 {
        MAX_RECEIVES
    }
}

/// One event-bus backend under test.
#[async_trait]
pub trait BusFixture: Send + Sync {
    /// A new client of the bus (its own connection), configured with [`SESSION`] and
    /// [`PARTITIONS`].
    async fn bus(&self) -> Arc<dyn EventBus>;
    /// The consumer session timeout the fixture's buses use (brokers have minimums).
    fn session(&self) -> Duration {
        SESSION
    }
}

/// One order-store backend under test.
#[async_trait]
pub trait StoreFixture: Send + Sync {
    /// A new client of the store (its own connection).
    async fn store(&self) -> Arc<dyn OrderStore>;
}

/// One warehouse under test, plus the out-of-band stock handling the port itself does
/// not offer (an HTTP WMS would seed and read stock through its admin API).
#[async_trait]
pub trait WarehouseFixture: Send + Sync {
    /// A new client of the warehouse (its own connection).
    async fn warehouse(&self) -> Arc<dyn Warehouse>;
    /// Sets the stock of each `(hub, sku, quantity)`.
    async fn set_stock(&self, lines: &[(&str, &str, i64)]);
    /// The stock of `(hub, sku)`, `None` when the warehouse does not know the pair.
    async fn stock(&self, hub: &str, sku: &str) -> Option<i64>;
}

/// Sets stock through an embedded inventory (the embedded warehouse, and the one the
/// reference HTTP warehouse serves).
pub async fn load_stock(
    admin: &oms::adapters::embedded::EmbeddedWarehouse,
    lines: &[(&str, &str, i64)],
) {
    let lines = lines
        .iter()
        .map(
            |&(hub_id, sku_id, quantity)| oms::domain::stock_file::Stock {
                hub_id: HubId::parse(hub_id).expect("hub id"),
                sku_id: SkuId::parse(sku_id).expect("sku id"),
                quantity,
            },
        )
        .collect();
    oms::ports::Inventory::load(admin, lines)
        .await
        .expect("load stock");
}

/// The stock of `(hub, sku)` in an embedded inventory, `None` when it does not know it.
pub async fn stock_of(
    admin: &oms::adapters::embedded::EmbeddedWarehouse,
    hub: &str,
    sku: &str,
) -> Option<i64> {
    oms::ports::Inventory::list(admin)
        .await
        .expect("list stock")
        .into_iter()
        .find(|l| l.hub_id.as_str() == hub && l.sku_id.as_str() == sku)
        .map(|l| l.quantity)
}

/// Clients of store, bus and warehouse that share one transaction through `uow`.
pub struct Shared {
    pub uow: Arc<dyn UnitOfWork>,
    pub store: Arc<dyn OrderStore>,
    pub bus: Arc<dyn EventBus>,
    pub wms: Arc<dyn Warehouse>,
}

/// A backend whose store, bus and warehouse can commit together (the embedded one).
/// The fixture's other clients, and its stock reads, must not be blocked by an open
/// unit of work.
#[async_trait]
pub trait UnitOfWorkFixture: StoreFixture + BusFixture + WarehouseFixture {
    /// New clients sharing one connection and its unit of work.
    async fn shared(&self) -> Shared;
}

// ---------------------------------------------------------------------------------------
// Macros instantiating a suite for one adapter
// ---------------------------------------------------------------------------------------

/// One `#[tokio::test]` per listed suite function, each on a fresh fixture from `$make`.
macro_rules! contract_tests {
    ($suite:ident, $make:expr, [$($test:ident),+ $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                // A factory gives `None` when its backend is not configured (skipped).
                let Some(fixture) = ($make)().await else { return };
                crate::suite::$suite::$test(&fixture).await;
            }
        )+
    };
}

/// `queue_contract!(module, || async { fixture })`: the job-queue suite.
macro_rules! queue_contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            contract_tests!(
                queue_suite,
                $make,
                [
                    send_then_receive_returns_the_body,
                    a_received_message_is_invisible_until_its_timeout_then_redelivered,
                    ack_deletes_the_message,
                    ack_with_a_stale_receipt_after_redelivery_is_lost_receipt,
                    extend_keeps_the_message_invisible_past_its_original_timeout,
                    release_makes_the_message_visible_at_once,
                    after_max_receives_the_message_goes_to_the_dead_letter_queue,
                    depth_counts_visible_and_in_flight_messages,
                    receive_on_an_empty_queue_waits_then_returns_none,
                    receive_returns_a_message_sent_during_its_wait,
                    concurrent_receivers_never_get_the_same_message,
                    dead_letters_lists_a_poison_message_and_leaves_it_in_place,
                    redrive_moves_dead_letters_back_with_their_receive_count_reset,
                    purge_dead_deletes_every_dead_letter_and_counts_them,
                    an_empty_dead_letter_queue_lists_redrives_and_purges_nothing,
                ]
            );
        }
    };
}

/// `bus_contract!(module, || async { fixture })`: the event-bus suite.
macro_rules! bus_contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            contract_tests!(
                bus_suite,
                $make,
                [
                    events_with_the_same_key_are_delivered_in_publish_order,
                    a_consumer_group_receives_every_event_once,
                    a_new_consumer_starts_after_the_committed_offset,
                    uncommitted_events_are_redelivered_after_close,
                    groups_consume_independently,
                    lag_counts_uncommitted_events,
                    two_members_of_a_group_split_the_partitions,
                    a_live_member_keeps_its_partitions_until_it_polls_again,
                    a_member_whose_partitions_were_taken_over_gets_rebalanced_on_commit,
                ]
            );
        }
    };
}

/// `store_contract!(module, || async { fixture })`: the order-store suite.
macro_rules! store_contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            contract_tests!(
                store_suite,
                $make,
                [
                    insert_creates_then_reports_the_existing_order_unchanged,
                    the_same_order_id_for_two_sellers_is_two_orders,
                    orders_round_trip_their_items_exactly,
                    set_outcome_only_changes_orders_on_hold,
                    set_outcomes_applies_each_outcome_like_set_outcome,
                    list_orders_filters_and_limits,
                    list_orders_pages_without_gaps_or_repeats,
                    counts_follow_statuses_and_job_states,
                    open_job_is_idempotent,
                    finish_job_stores_counts_and_replaces_rejects,
                    list_jobs_is_newest_first,
                ]
            );
        }
    };
}

/// `warehouse_contract!(module, || async { fixture })`: the warehouse suite.
macro_rules! warehouse_contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            contract_tests!(
                warehouse_suite,
                $make,
                [
                    validate_knows_loaded_hubs_and_skus,
                    validate_many_answers_each_pair_in_turn,
                    reserve_deducts_every_item,
                    reserving_the_same_order_again_deducts_nothing,
                    one_short_item_fails_the_whole_order,
                    concurrent_reservations_never_oversell,
                    reserve_many_answers_each_order_in_turn,
                ]
            );
        }
    };
}

/// `uow_contract!(module, || async { fixture })`: the unit-of-work suite.
macro_rules! uow_contract {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            contract_tests!(
                uow_suite,
                $make,
                [
                    rollback_drops_the_writes_of_every_port,
                    commit_keeps_the_writes_of_every_port,
                ]
            );
        }
    };
}

// ---------------------------------------------------------------------------------------
// Small builders
// ---------------------------------------------------------------------------------------

fn key(seller: &str, order: &str) -> OrderKey {
    OrderKey {
        seller_id: SellerId::parse(seller).unwrap(),
        order_id: OrderId::parse(order).unwrap(),
    }
}

fn item(hub: &str, sku: &str, quantity: i64) -> OrderItem {
    OrderItem {
        sku_id: SkuId::parse(sku).unwrap(),
        hub_id: HubId::parse(hub).unwrap(),
        quantity: Quantity::new(quantity).unwrap(),
    }
}

fn order(seller: &str, order_id: &str, items: Vec<OrderItem>) -> NewOrder {
    NewOrder {
        seller_id: SellerId::parse(seller).unwrap(),
        order_id: OrderId::parse(order_id).unwrap(),
        items,
    }
}

fn job(job_id: &str, seller: &str, created_at: &str) -> Job {
    Job {
        job_id: job_id.to_owned(),
        seller_id: seller.to_owned(),
        file_path: format!("/data/in/{job_id}.csv"),
        sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        state: JobState::Queued,
        error: None,
        counts: JobCounts::default(),
        created_at: created_at.to_owned(),
        updated_at: created_at.to_owned(),
        rejects: Vec::new(),
    }
}

fn now() -> String {
    oms::domain::timestamp::now()
}

fn ev(key: &str, payload: impl Into<String>) -> Event {
    Event {
        key: key.to_owned(),
        payload: payload.into(),
    }
}

fn depth(visible: u64, in_flight: u64, dead: u64) -> QueueDepth {
    QueueDepth {
        visible,
        in_flight,
        dead,
    }
}

// ---------------------------------------------------------------------------------------
// Job queue
// ---------------------------------------------------------------------------------------

pub mod queue_suite {
    use super::*;

    async fn receive_now(q: &dyn JobQueue) -> Option<QueueMessage> {
        q.receive(Duration::ZERO).await.expect("receive")
    }

    async fn receive_one(q: &dyn JobQueue) -> QueueMessage {
        q.receive(Duration::from_secs(2))
            .await
            .expect("receive")
            .expect("a visible message must be received within 2 s")
    }

    pub async fn send_then_receive_returns_the_body(f: &impl QueueFixture) {
        let q = f.queue().await;
        let body = r#"{"job_id":"j-1","file":"/srv/in/commandes ü 2026.csv"}"#;
        let id = q.send(body).await.expect("send");
        let m = receive_one(&*q).await;
        assert_eq!(m.body, body, "the body must come back byte for byte");
        assert_eq!(m.id, id, "the message id must be the one send returned");
        assert_eq!(m.receive_count, 1);
        assert!(!m.receipt.is_empty());
    }

    pub async fn a_received_message_is_invisible_until_its_timeout_then_redelivered(
        f: &impl QueueFixture,
    ) {
        let q = f.queue().await;
        let other = f.queue().await;
        q.send("job-a").await.expect("send");
        let first = receive_one(&*q).await;
        assert_eq!(
            receive_now(&*other).await,
            None,
            "a received message must be invisible to another worker"
        );
        assert_eq!(receive_now(&*q).await, None);
        tokio::time::sleep(f.visibility() + SLACK).await;
        let again = receive_one(&*other).await;
        assert_eq!(again.id, first.id, "the same message must be redelivered");
        assert_eq!(again.body, "job-a");
        assert_eq!(
            again.receive_count, 2,
            "receive_count counts every delivery"
        );
        assert_ne!(
            again.receipt, first.receipt,
            "each delivery has its own receipt"
        );
    }

    pub async fn ack_deletes_the_message(f: &impl QueueFixture) {
        let q = f.queue().await;
        q.send("done").await.expect("send");
        let m = receive_one(&*q).await;
        q.ack(&m).await.expect("ack");
        tokio::time::sleep(f.visibility() + SLACK).await;
        assert_eq!(
            receive_now(&*q).await,
            None,
            "an acknowledged message must never be redelivered"
        );
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
        assert!(
            matches!(q.ack(&m).await, Err(QueueError::LostReceipt)),
            "acknowledging a deleted message must say the receipt is lost"
        );
    }

    pub async fn ack_with_a_stale_receipt_after_redelivery_is_lost_receipt(f: &impl QueueFixture) {
        let q = f.queue().await;
        q.send("slow job").await.expect("send");
        let stale = receive_one(&*q).await;
        tokio::time::sleep(f.visibility() + SLACK).await;
        let current = receive_one(&*q).await;
        assert_eq!(current.id, stale.id);
        assert!(
            matches!(q.ack(&stale).await, Err(QueueError::LostReceipt)),
            "ack with the receipt of an earlier delivery must fail with LostReceipt"
        );
        assert!(matches!(
            q.extend(&stale, f.visibility()).await,
            Err(QueueError::LostReceipt)
        ));
        assert!(matches!(
            q.release(&stale).await,
            Err(QueueError::LostReceipt)
        ));
        assert_eq!(
            receive_now(&*q).await,
            None,
            "the stale receipt must not have touched the current delivery"
        );
        q.ack(&current).await.expect("ack with the current receipt");
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
    }

    pub async fn extend_keeps_the_message_invisible_past_its_original_timeout(
        f: &impl QueueFixture,
    ) {
        let q = f.queue().await;
        q.send("long job").await.expect("send");
        let m = receive_one(&*q).await;
        let extended_at = Instant::now();
        q.extend(&m, f.visibility() * 3).await.expect("extend");
        tokio::time::sleep_until((extended_at + f.visibility() + SLACK).into()).await;
        assert_eq!(
            receive_now(&*q).await,
            None,
            "an extended message must stay invisible past its original timeout"
        );
        tokio::time::sleep_until((extended_at + f.visibility() * 3 + SLACK).into()).await;
        let again = receive_one(&*q).await;
        assert_eq!(
            again.id, m.id,
            "after the extension runs out it is redelivered"
        );
        assert_eq!(again.receive_count, 2);
    }

    pub async fn release_makes_the_message_visible_at_once(f: &impl QueueFixture) {
        let q = f.queue().await;
        let other = f.queue().await;
        q.send("retry me").await.expect("send");
        let m = receive_one(&*q).await;
        q.release(&m).await.expect("release");
        let again = receive_now(&*other)
            .await
            .expect("a released message must be visible at once");
        assert_eq!(again.id, m.id);
        assert_eq!(again.receive_count, 2);
    }

    pub async fn after_max_receives_the_message_goes_to_the_dead_letter_queue(
        f: &impl QueueFixture,
    ) {
        let q = f.queue().await;
        q.send("poison").await.expect("send");
        for n in 1..=f.max_receives() {
            let m = receive_one(&*q).await;
            assert_eq!(m.body, "poison");
            assert_eq!(m.receive_count, n);
            q.release(&m).await.expect("release");
        }
        assert_eq!(
            receive_now(&*q).await,
            None,
            "a message received max_receives times must be dead-lettered, not delivered"
        );
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 1));
        q.send("next").await.expect("send");
        let m = receive_one(&*q).await;
        assert_eq!(
            m.body, "next",
            "the queue keeps working after a dead-letter"
        );
        assert_eq!(m.receive_count, 1);
        assert_eq!(q.depth().await.expect("depth"), depth(0, 1, 1));
    }

    pub async fn depth_counts_visible_and_in_flight_messages(f: &impl QueueFixture) {
        let q = f.queue().await;
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
        for body in ["a", "b", "c"] {
            q.send(body).await.expect("send");
        }
        assert_eq!(q.depth().await.expect("depth"), depth(3, 0, 0));
        let m = receive_one(&*q).await;
        assert_eq!(q.depth().await.expect("depth"), depth(2, 1, 0));
        q.ack(&m).await.expect("ack");
        assert_eq!(q.depth().await.expect("depth"), depth(2, 0, 0));
        let _held = receive_one(&*q).await;
        assert_eq!(q.depth().await.expect("depth"), depth(1, 1, 0));
        tokio::time::sleep(f.visibility() + SLACK).await;
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(2, 0, 0),
            "a message whose visibility ran out counts as visible again"
        );
    }

    pub async fn receive_on_an_empty_queue_waits_then_returns_none(f: &impl QueueFixture) {
        let q = f.queue().await;
        let wait = Duration::from_millis(300);
        let started = Instant::now();
        assert_eq!(q.receive(wait).await.expect("receive"), None);
        let took = started.elapsed();
        assert!(
            took >= wait - Duration::from_millis(50),
            "receive returned after {took:?}, before its wait of {wait:?}"
        );
        assert!(
            took < wait + Duration::from_millis(1500),
            "receive took {took:?} for a wait of {wait:?}"
        );
    }

    pub async fn receive_returns_a_message_sent_during_its_wait(f: &impl QueueFixture) {
        let q = f.queue().await;
        let sender = f.queue().await;
        let send = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            sender.send("late").await.expect("send");
        });
        let started = Instant::now();
        let m = q
            .receive(Duration::from_secs(4))
            .await
            .expect("receive")
            .expect("a message sent during the wait must be returned");
        assert_eq!(m.body, "late");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "receive must return soon after a message arrives, not at the end of its wait"
        );
        send.await.unwrap();
    }

    pub async fn concurrent_receivers_never_get_the_same_message(f: &impl QueueFixture) {
        const N: usize = 50;
        let producer = f.queue().await;
        for i in 0..N {
            producer.send(&format!("m{i}")).await.expect("send");
        }
        let mut workers = Vec::new();
        for _ in 0..2 {
            let q = f.queue().await;
            workers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(m) = q
                    .receive(Duration::from_millis(300))
                    .await
                    .expect("receive")
                {
                    q.ack(&m)
                        .await
                        .expect("ack: a message held by this receiver must not be lost");
                    got.push((m.body, m.receive_count));
                    // Leave the other receiver room to compete.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                got
            }));
        }
        let mut per_worker = Vec::new();
        for w in workers {
            per_worker.push(w.await.unwrap());
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (body, count) in per_worker.iter().flatten() {
            assert_eq!(*count, 1, "{body} was delivered more than once");
            *seen.entry(body.clone()).or_default() += 1;
        }
        let dupes: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(dupes.is_empty(), "delivered to both receivers: {dupes:?}");
        let expected: HashSet<String> = (0..N).map(|i| format!("m{i}")).collect();
        let got: HashSet<String> = seen.into_keys().collect();
        assert_eq!(got, expected, "every message must be received exactly once");
        assert!(
            per_worker.iter().all(|w| !w.is_empty()),
            "both receivers should have taken part: {:?}",
            per_worker.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(producer.depth().await.expect("depth"), depth(0, 0, 0));
    }

    /// Sends each body (in this order, a little apart) and receives and releases until
    /// every one of them is dead-lettered.
    async fn dead_letter_all(f: &impl QueueFixture, q: &dyn JobQueue, bodies: &[&str]) {
        for body in bodies {
            q.send(body).await.expect("send");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let most = bodies.len() * f.max_receives() as usize;
        let mut receives = 0;
        while let Some(m) = receive_now(q).await {
            assert!(bodies.contains(&m.body.as_str()), "received {m:?}");
            receives += 1;
            assert!(
                receives <= most,
                "{receives} receives: a message must be dead-lettered after {} receives",
                f.max_receives()
            );
            q.release(&m).await.expect("release");
        }
        assert_eq!(
            receives, most,
            "each message is received max_receives times"
        );
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(0, 0, bodies.len() as u64),
            "every message is dead-lettered"
        );
    }

    fn bodies(letters: &[DeadLetter]) -> Vec<&str> {
        letters.iter().map(|d| d.body.as_str()).collect()
    }

    pub async fn dead_letters_lists_a_poison_message_and_leaves_it_in_place(f: &impl QueueFixture) {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["poison {1}", "poison ü 2"]).await;
        let listed = q.dead_letters(10).await.expect("dead_letters");
        assert_eq!(
            bodies(&listed),
            ["poison {1}", "poison ü 2"],
            "both dead letters, oldest first, bodies byte for byte"
        );
        for d in &listed {
            assert!(!d.id.is_empty());
            assert_eq!(
                d.receive_count,
                f.max_receives(),
                "a dead letter was received max_receives times: {d:?}"
            );
        }
        assert_ne!(listed[0].id, listed[1].id);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(0, 0, 2),
            "listing leaves the dead letters where they are"
        );
        let other = f.queue().await;
        let again = other.dead_letters(10).await.expect("dead_letters");
        assert_eq!(
            again, listed,
            "listing again (another client) gives the same"
        );
        let one = q.dead_letters(1).await.expect("dead_letters");
        assert_eq!(one.len(), 1, "at most max: {one:?}");
        assert!(listed.contains(&one[0]));
        assert!(q.dead_letters(0).await.expect("dead_letters").is_empty());
        assert_eq!(
            receive_now(&*q).await,
            None,
            "listing dead letters delivers nothing from the queue"
        );
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 2));
    }

    pub async fn redrive_moves_dead_letters_back_with_their_receive_count_reset(
        f: &impl QueueFixture,
    ) {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["poison"]).await;
        assert_eq!(
            bodies(&q.dead_letters(10).await.expect("dead_letters")),
            ["poison"]
        );
        // Right after a listing: the listing must not have hidden it from the redrive.
        let moved = q.redrive().await.expect("redrive");
        assert_eq!(moved, 1, "redrive returns how many moved");
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 0, 0),
            "the dead letter is back in the queue"
        );
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        let other = f.queue().await;
        let m = receive_one(&*other).await;
        assert_eq!(m.body, "poison");
        assert_eq!(m.receive_count, 1, "redrive resets the receive count");
        // It has all its receives again before the next dead-lettering.
        other.release(&m).await.expect("release");
        for n in 2..=f.max_receives() {
            let m = receive_one(&*other).await;
            assert_eq!(m.receive_count, n);
            other.release(&m).await.expect("release");
        }
        assert_eq!(receive_now(&*other).await, None);
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 1));
        assert_eq!(q.redrive().await.expect("redrive"), 1);
        let m = receive_one(&*q).await;
        q.ack(&m).await.expect("ack");
        assert_eq!(q.depth().await.expect("depth"), depth(0, 0, 0));
        assert_eq!(q.redrive().await.expect("redrive"), 0);
    }

    pub async fn purge_dead_deletes_every_dead_letter_and_counts_them(f: &impl QueueFixture) {
        let q = f.queue().await;
        dead_letter_all(f, &*q, &["bad 1", "bad 2", "bad 3"]).await;
        q.send("good").await.expect("send");
        assert_eq!(q.dead_letters(10).await.expect("dead_letters").len(), 3);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 3);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 0, 0),
            "purge deletes the dead letters only"
        );
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        let m = receive_one(&*q).await;
        assert_eq!(m.body, "good");
        assert_eq!(m.receive_count, 1);
    }

    pub async fn an_empty_dead_letter_queue_lists_redrives_and_purges_nothing(
        f: &impl QueueFixture,
    ) {
        let q = f.queue().await;
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        q.send("alive").await.expect("send");
        let held = receive_one(&*q).await;
        // Held through the calls below, however long they look at the dead letters.
        q.extend(&held, PATIENCE).await.expect("extend");
        q.send("waiting").await.expect("send");
        assert!(q.dead_letters(10).await.expect("dead_letters").is_empty());
        assert_eq!(q.redrive().await.expect("redrive"), 0);
        assert_eq!(q.purge_dead().await.expect("purge_dead"), 0);
        assert_eq!(
            q.depth().await.expect("depth"),
            depth(1, 1, 0),
            "redrive and purge leave the queue's own messages alone"
        );
        q.ack(&held)
            .await
            .expect("ack: the held message is still held");
    }
}

// ---------------------------------------------------------------------------------------
// Event bus
// ---------------------------------------------------------------------------------------

pub mod bus_suite {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

    /// Polls until at least `n` events arrived (or [`PATIENCE`] ran out).
    async fn poll_until(c: &mut dyn Consumer, n: usize) -> Vec<Delivered> {
        let deadline = Instant::now() + PATIENCE;
        let mut out = Vec::new();
        while out.len() < n && Instant::now() < deadline {
            out.extend(c.poll(100, WAIT).await.expect("poll"));
        }
        out
    }

    async fn assert_nothing_more(c: &mut dyn Consumer, why: &str) {
        let more = c.poll(100, Duration::from_millis(300)).await.expect("poll");
        assert!(more.is_empty(), "{why}: got {more:?}");
    }

    fn ids(events: &[Delivered]) -> BTreeSet<(i32, i64, String)> {
        events
            .iter()
            .map(|d| (d.partition, d.offset, d.payload.clone()))
            .collect()
    }

    pub async fn events_with_the_same_key_are_delivered_in_publish_order(f: &impl BusFixture) {
        let bus = f.bus().await;
        let keys = ["1/1011", "1/1012", "2/1011", "3/77", "4/x"];
        let per_key = 12;
        for batch in 0..3 {
            let events: Vec<Event> = (0..per_key / 3)
                .flat_map(|i| {
                    keys.iter()
                        .map(move |k| ev(k, format!("{k}#{}", batch * (per_key / 3) + i)))
                })
                .collect();
            bus.publish(&events).await.expect("publish");
        }
        let mut c = bus.subscribe("fulfil").await.expect("subscribe");
        let got = poll_until(&mut *c, keys.len() * per_key).await;
        assert_eq!(got.len(), keys.len() * per_key);
        for k in keys {
            let mine: Vec<&Delivered> = got.iter().filter(|d| d.key == k).collect();
            let payloads: Vec<&str> = mine.iter().map(|d| d.payload.as_str()).collect();
            let expected: Vec<String> = (0..per_key).map(|n| format!("{k}#{n}")).collect();
            assert_eq!(payloads, expected, "events of key {k} out of publish order");
            assert!(
                mine.windows(2)
                    .all(|w| w[0].partition == w[1].partition && w[0].offset < w[1].offset),
                "events of key {k} must share a partition with rising offsets"
            );
        }
    }

    pub async fn a_consumer_group_receives_every_event_once(f: &impl BusFixture) {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..20)
            .map(|i| ev(&format!("1/{i}"), format!("e{i}")))
            .collect();
        bus.publish(&events).await.expect("publish");
        let mut c = bus.subscribe("fulfil").await.expect("subscribe");
        let got = poll_until(&mut *c, 20).await;
        assert_eq!(got.len(), 20, "every event once: {got:?}");
        let payloads: HashSet<&str> = got.iter().map(|d| d.payload.as_str()).collect();
        let expected: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
        assert_eq!(
            payloads,
            expected.iter().map(String::as_str).collect::<HashSet<_>>()
        );
        assert_eq!(ids(&got).len(), 20);
        assert_nothing_more(
            &mut *c,
            "an event already delivered to this member must not come again",
        )
        .await;
    }

    pub async fn a_new_consumer_starts_after_the_committed_offset(f: &impl BusFixture) {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..5).map(|i| ev("1/1011", format!("p{i}"))).collect();
        bus.publish(&events).await.expect("publish");
        let mut first = bus.subscribe("fulfil").await.expect("subscribe");
        let got = poll_until(&mut *first, 5).await;
        assert_eq!(got.len(), 5);
        first.commit(&got[..3]).await.expect("commit");
        first.close().await;

        let mut second = bus.subscribe("fulfil").await.expect("subscribe");
        let rest = poll_until(&mut *second, 2).await;
        let payloads: Vec<&str> = rest.iter().map(|d| d.payload.as_str()).collect();
        assert_eq!(
            payloads,
            ["p3", "p4"],
            "a new member must start right after the committed offset"
        );
        assert_nothing_more(&mut *second, "committed events must not come again").await;
    }

    pub async fn uncommitted_events_are_redelivered_after_close(f: &impl BusFixture) {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..6)
            .map(|i| ev(&format!("2/{i}"), format!("u{i}")))
            .collect();
        bus.publish(&events).await.expect("publish");
        let mut first = bus.subscribe("fulfil").await.expect("subscribe");
        let got = poll_until(&mut *first, 6).await;
        assert_eq!(got.len(), 6);
        first.close().await;

        let mut second = bus.subscribe("fulfil").await.expect("subscribe");
        let again = poll_until(&mut *second, 6).await;
        assert_eq!(
            ids(&again),
            ids(&got),
            "events never committed must be delivered again to the next member"
        );
    }

    pub async fn groups_consume_independently(f: &impl BusFixture) {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..10)
            .map(|i| ev(&format!("3/{i}"), format!("g{i}")))
            .collect();
        bus.publish(&events).await.expect("publish");

        let mut billing = bus.subscribe("billing").await.expect("subscribe");
        let got_billing = poll_until(&mut *billing, 10).await;
        assert_eq!(got_billing.len(), 10);
        billing.commit(&got_billing).await.expect("commit");
        assert_eq!(bus.lag("billing").await.expect("lag"), 0);
        assert_eq!(
            bus.lag("shipping").await.expect("lag"),
            10,
            "another group's commit must not move this group"
        );

        let mut shipping = bus.subscribe("shipping").await.expect("subscribe");
        let got_shipping = poll_until(&mut *shipping, 10).await;
        assert_eq!(
            ids(&got_shipping),
            ids(&got_billing),
            "each group sees every event"
        );
        shipping.commit(&got_shipping).await.expect("commit");
        assert_eq!(bus.lag("shipping").await.expect("lag"), 0);
    }

    pub async fn lag_counts_uncommitted_events(f: &impl BusFixture) {
        let bus = f.bus().await;
        assert_eq!(bus.lag("fulfil").await.expect("lag"), 0, "empty bus");
        let events: Vec<Event> = (0..6).map(|i| ev("1/1011", format!("l{i}"))).collect();
        bus.publish(&events).await.expect("publish");
        assert_eq!(bus.lag("fulfil").await.expect("lag"), 6);

        let mut c = bus.subscribe("fulfil").await.expect("subscribe");
        let got = poll_until(&mut *c, 6).await;
        assert_eq!(got.len(), 6);
        assert_eq!(
            bus.lag("fulfil").await.expect("lag"),
            6,
            "delivered but uncommitted events still count"
        );
        c.commit(&got[..2]).await.expect("commit");
        assert_eq!(bus.lag("fulfil").await.expect("lag"), 4);
        c.commit(&got).await.expect("commit");
        assert_eq!(bus.lag("fulfil").await.expect("lag"), 0);

        bus.publish(&[ev("9/1", "later"), ev("9/2", "later")])
            .await
            .expect("publish");
        assert_eq!(bus.lag("fulfil").await.expect("lag"), 2);
    }

    pub async fn two_members_of_a_group_split_the_partitions(f: &impl BusFixture) {
        const N: usize = 60;
        let bus_a = f.bus().await;
        let bus_b = f.bus().await;
        let mut a = bus_a.subscribe("fulfil").await.expect("subscribe");
        let mut b = bus_b.subscribe("fulfil").await.expect("subscribe");
        // Let both join and the group settle before there is anything to read: a few
        // rounds, and at least one session (a broker forms a group in seconds).
        let settled = Instant::now() + f.session();
        let mut rounds = 0;
        while rounds < 3 || Instant::now() < settled {
            rounds += 1;
            assert!(
                a.poll(10, Duration::from_millis(100))
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                b.poll(10, Duration::from_millis(100))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        let events: Vec<Event> = (0..N)
            .map(|i| ev(&format!("7/{i}"), format!("s{i}")))
            .collect();
        bus_a.publish(&events).await.expect("publish");

        let total = Arc::new(AtomicUsize::new(0));
        let member = |mut c: Box<dyn Consumer>, total: Arc<AtomicUsize>| async move {
            let deadline = Instant::now() + PATIENCE;
            let mut got = Vec::new();
            while total.load(Ordering::SeqCst) < N && Instant::now() < deadline {
                let batch = c.poll(3, Duration::from_millis(100)).await.expect("poll");
                if batch.is_empty() {
                    continue;
                }
                c.commit(&batch)
                    .await
                    .expect("commit by the partition's owner");
                total.fetch_add(batch.len(), Ordering::SeqCst);
                got.extend(batch);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (c, got)
        };
        let ta = tokio::spawn(member(a, Arc::clone(&total)));
        let tb = tokio::spawn(member(b, Arc::clone(&total)));
        let (mut a, got_a) = ta.await.unwrap();
        let (mut b, got_b) = tb.await.unwrap();
        assert_nothing_more(&mut *a, "everything was committed").await;
        assert_nothing_more(&mut *b, "everything was committed").await;

        let (ids_a, ids_b) = (ids(&got_a), ids(&got_b));
        assert_eq!(ids_a.len(), got_a.len(), "member a got an event twice");
        assert_eq!(ids_b.len(), got_b.len(), "member b got an event twice");
        let both: Vec<_> = ids_a.intersection(&ids_b).collect();
        assert!(both.is_empty(), "delivered to both members: {both:?}");
        let all: HashSet<String> = got_a
            .iter()
            .chain(&got_b)
            .map(|d| d.payload.clone())
            .collect();
        assert_eq!(
            all.len(),
            N,
            "together the members must receive every event"
        );
        assert!(
            !got_a.is_empty() && !got_b.is_empty(),
            "the members must split the partitions: a got {}, b got {}",
            got_a.len(),
            got_b.len()
        );
        let parts_a: HashSet<i32> = got_a.iter().map(|d| d.partition).collect();
        let parts_b: HashSet<i32> = got_b.iter().map(|d| d.partition).collect();
        assert!(
            parts_a.is_disjoint(&parts_b),
            "a partition was read by both members: a {parts_a:?}, b {parts_b:?}"
        );
        assert_eq!(bus_a.lag("fulfil").await.expect("lag"), 0);
    }

    pub async fn a_live_member_keeps_its_partitions_until_it_polls_again(f: &impl BusFixture) {
        let bus_a = f.bus().await;
        let bus_b = f.bus().await;
        let events: Vec<Event> = (0..12)
            .map(|i| ev(&format!("6/{i}"), format!("h{i}")))
            .collect();
        bus_a.publish(&events).await.expect("publish");
        let mut a = bus_a.subscribe("fulfil").await.expect("subscribe");
        let got_a = poll_until(&mut *a, 12).await;
        assert_eq!(got_a.len(), 12);

        // `b` joins while `a` is still working on its events, well within a's session.
        let mut b = bus_b.subscribe("fulfil").await.expect("subscribe");
        let got_b = b.poll(100, f.session() / 4).await.expect("poll");
        assert!(
            got_b.is_empty(),
            "events held by a live member must not be handed to another: {got_b:?}"
        );
        a.commit(&got_a)
            .await
            .expect("a live member that was not replaced commits its events");
        assert_eq!(bus_a.lag("fulfil").await.expect("lag"), 0);

        // Once `a` polls again the group settles; nothing committed comes back.
        for _ in 0..3 {
            let again_a = a.poll(100, Duration::from_millis(100)).await.expect("poll");
            let again_b = b.poll(100, Duration::from_millis(100)).await.expect("poll");
            assert!(
                again_a.is_empty() && again_b.is_empty(),
                "committed events came back: {again_a:?} {again_b:?}"
            );
        }
    }

    pub async fn a_member_whose_partitions_were_taken_over_gets_rebalanced_on_commit(
        f: &impl BusFixture,
    ) {
        let bus_a = f.bus().await;
        let bus_b = f.bus().await;
        let events: Vec<Event> = (0..5).map(|i| ev("5/500", format!("r{i}"))).collect();
        bus_a.publish(&events).await.expect("publish");

        let mut a = bus_a.subscribe("fulfil").await.expect("subscribe");
        let got_a = poll_until(&mut *a, 5).await;
        assert_eq!(got_a.len(), 5);

        // `a` stalls past its session while `b` polls and takes its partitions over.
        let mut b = bus_b.subscribe("fulfil").await.expect("subscribe");
        let started = Instant::now();
        let got_b = b.poll(100, f.session() * 6).await.expect("poll");
        assert!(
            started.elapsed() >= f.session() - Duration::from_millis(100),
            "b took the partitions after {:?}, while a's session was alive",
            started.elapsed()
        );
        assert_eq!(
            ids(&got_b),
            ids(&got_a),
            "the uncommitted events must go to the member that took the partition over"
        );

        let partition = got_a[0].partition;
        match a.commit(&got_a).await {
            Err(BusError::Rebalanced(p)) => assert_eq!(p, partition),
            other => panic!("commit by a member that lost its partition: {other:?}"),
        }
        assert_eq!(
            bus_a.lag("fulfil").await.expect("lag"),
            5,
            "a rejected commit must not move the offset"
        );
        b.commit(&got_b).await.expect("commit by the new owner");
        assert_eq!(bus_a.lag("fulfil").await.expect("lag"), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Order store
// ---------------------------------------------------------------------------------------

pub mod store_suite {
    use super::*;

    fn everything() -> OrderFilter {
        OrderFilter {
            limit: 1000,
            ..OrderFilter::default()
        }
    }

    fn keys_of(orders: &[oms::domain::Order]) -> Vec<String> {
        orders.iter().map(|o| o.key().to_string()).collect()
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    pub async fn insert_creates_then_reports_the_existing_order_unchanged(f: &impl StoreFixture) {
        let store = f.store().await;
        store.open_job(&job("j1", "1", &now())).await.expect("open");
        let first = order("1", "1011", vec![item("H1", "S1", 2)]);
        let inserted = store
            .insert_orders("j1", std::slice::from_ref(&first))
            .await
            .expect("insert");
        assert_eq!(inserted, [Inserted::Created]);

        store.open_job(&job("j2", "1", &now())).await.expect("open");
        let again = order("1", "1011", vec![item("H9", "S9", 7)]);
        let fresh = order("1", "1012", vec![item("H1", "S1", 1)]);
        let inserted = store
            .insert_orders("j2", &[fresh, again])
            .await
            .expect("insert");
        assert_eq!(
            inserted,
            [
                Inserted::Created,
                Inserted::Existing {
                    job_id: "j1".into(),
                    status: Status::OnHold,
                    reason: None,
                }
            ],
            "one result per order, in order; the duplicate names the first job"
        );
        let stored = store
            .get_order(&key("1", "1011"))
            .await
            .expect("get")
            .expect("the first order exists");
        assert_eq!(
            stored.items, first.items,
            "a duplicate must not change the order"
        );
        assert_eq!(stored.job_id, "j1");
        assert_eq!(stored.status, Status::OnHold);
    }

    pub async fn the_same_order_id_for_two_sellers_is_two_orders(f: &impl StoreFixture) {
        let store = f.store().await;
        let a = order("1", "1011", vec![item("H1", "S1", 1)]);
        let b = order("2", "1011", vec![item("H2", "S2", 5)]);
        let inserted = store
            .insert_orders("j1", &[a.clone(), b.clone()])
            .await
            .expect("insert");
        assert_eq!(inserted, [Inserted::Created, Inserted::Created]);
        let got_a = store.get_order(&key("1", "1011")).await.unwrap().unwrap();
        let got_b = store.get_order(&key("2", "1011")).await.unwrap().unwrap();
        assert_eq!(got_a.items, a.items);
        assert_eq!(got_b.items, b.items);
        assert_eq!(store.list_orders(&everything()).await.unwrap().len(), 2);
    }

    pub async fn orders_round_trip_their_items_exactly(f: &impl StoreFixture) {
        let store = f.store().await;
        let multi = order(
            "acme",
            "ORD-ü/1",
            vec![
                item("HUB-Zürich", "SKU \"quoted\"", 3),
                item("H1", "S1", 1),
                // Beyond 2^53: must not pass through a float.
                item("H1", "S-big", 9_007_199_254_740_993),
            ],
        );
        let single = order("acme", "2", vec![item("H2", "S2", 42)]);
        store
            .insert_orders("j-rt", &[multi.clone(), single.clone()])
            .await
            .expect("insert");

        let got = store
            .get_orders(&[multi.key(), key("acme", "missing"), single.key()])
            .await
            .expect("get_orders");
        assert_eq!(got.len(), 2, "unknown keys are left out");
        let by_key: HashMap<OrderKey, &oms::domain::Order> =
            got.iter().map(|o| (o.key(), o)).collect();
        for o in [&multi, &single] {
            let stored = by_key[&o.key()];
            assert_eq!(stored.items, o.items, "items of {} changed", o.key());
            assert_eq!(stored.status, Status::OnHold);
            assert_eq!(stored.reason, None);
            assert_eq!(stored.job_id, "j-rt");
            assert!(!stored.created_at.is_empty());
        }
        let one = store
            .get_order(&multi.key())
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(one.items, multi.items);
        assert_eq!(
            store.get_order(&key("acme", "missing")).await.unwrap(),
            None
        );
    }

    pub async fn set_outcome_only_changes_orders_on_hold(f: &impl StoreFixture) {
        let store = f.store().await;
        let k = key("1", "1011");
        store
            .insert_orders("j1", &[order("1", "1011", vec![item("H1", "S1", 2)])])
            .await
            .expect("insert");

        assert!(
            store
                .set_outcome(&k, &Outcome::insufficient())
                .await
                .unwrap(),
            "on_hold -> on_hold (insufficient) records the reason"
        );
        assert!(
            !store
                .set_outcome(&k, &Outcome::insufficient())
                .await
                .unwrap(),
            "repeating the same outcome changes nothing"
        );
        assert!(
            store.set_outcome(&k, &Outcome::fulfilled()).await.unwrap(),
            "on_hold -> new_order"
        );
        assert!(
            !store.set_outcome(&k, &Outcome::fulfilled()).await.unwrap(),
            "repeating new_order changes nothing"
        );
        assert!(
            !store
                .set_outcome(&k, &Outcome::insufficient())
                .await
                .unwrap(),
            "new_order must never go back to on_hold"
        );
        assert!(
            !store
                .set_outcome(&key("1", "nope"), &Outcome::fulfilled())
                .await
                .unwrap(),
            "an unknown order changes nothing"
        );

        let o = store.get_order(&k).await.unwrap().expect("exists");
        assert_eq!(o.status, Status::NewOrder);
        assert_eq!(o.reason, None);
        let history: Vec<(Status, Option<&str>)> = o
            .history
            .iter()
            .map(|h| (h.status, h.reason.as_deref()))
            .collect();
        assert_eq!(
            history,
            [
                (Status::OnHold, None),
                (Status::OnHold, Some(REASON_INSUFFICIENT_INVENTORY)),
                (Status::NewOrder, None),
            ],
            "the history holds every change, once, in order"
        );
        assert!(
            o.history.windows(2).all(|w| w[0].at <= w[1].at),
            "history times must not go backwards: {:?}",
            o.history
        );
    }

    pub async fn set_outcomes_applies_each_outcome_like_set_outcome(f: &impl StoreFixture) {
        let store = f.store().await;
        let orders: Vec<NewOrder> = ["2001", "2002", "2003"]
            .iter()
            .map(|id| order("1", id, vec![item("H1", "S1", 1)]))
            .collect();
        store.insert_orders("j1", &orders).await.expect("insert");
        assert!(
            store
                .set_outcome(&key("1", "2003"), &Outcome::fulfilled())
                .await
                .unwrap()
        );
        assert_eq!(store.set_outcomes(&[]).await.unwrap(), Vec::<bool>::new());
        let changed = store
            .set_outcomes(&[
                (key("1", "2001"), Outcome::fulfilled()),
                (key("1", "2002"), Outcome::insufficient()),
                (key("1", "2003"), Outcome::insufficient()),
                (key("1", "nope"), Outcome::fulfilled()),
            ])
            .await
            .expect("set_outcomes");
        assert_eq!(
            changed,
            [true, true, false, false],
            "new_order never goes back; an unknown order changes nothing"
        );
        let status = |id: &'static str| {
            let store = Arc::clone(&store);
            async move {
                let o = store
                    .get_order(&key("1", id))
                    .await
                    .unwrap()
                    .expect("exists");
                (o.status, o.reason, o.history.len())
            }
        };
        assert_eq!(status("2001").await, (Status::NewOrder, None, 2));
        assert_eq!(
            status("2002").await,
            (
                Status::OnHold,
                Some(REASON_INSUFFICIENT_INVENTORY.to_owned()),
                2
            )
        );
        assert_eq!(status("2003").await, (Status::NewOrder, None, 2));
    }

    pub async fn list_orders_pages_without_gaps_or_repeats(f: &impl StoreFixture) {
        let store = f.store().await;
        let orders: Vec<NewOrder> = (0..7)
            .map(|i| order("1", &format!("p{i}"), vec![item("H1", "S1", 1)]))
            .collect();
        store.insert_orders("j1", &orders).await.expect("insert");
        let mut seen = Vec::new();
        for page in 0..4 {
            let got = store
                .list_orders(&OrderFilter {
                    offset: page * 3,
                    limit: 3,
                    ..OrderFilter::default()
                })
                .await
                .expect("list");
            assert!(got.len() <= 3);
            seen.extend(keys_of(&got));
        }
        let all = keys_of(&store.list_orders(&everything()).await.expect("list"));
        assert_eq!(seen, all, "pages in order, each order once");
        assert_eq!(all.len(), 7);
    }

    pub async fn counts_follow_statuses_and_job_states(f: &impl StoreFixture) {
        let store = f.store().await;
        store.open_job(&job("j1", "1", &now())).await.expect("job");
        store.open_job(&job("j2", "1", &now())).await.expect("job");
        store
            .finish_job(&JobReport {
                job_id: "j2".into(),
                state: JobState::Done,
                error: None,
                counts: JobCounts::default(),
                rejects: Vec::new(),
            })
            .await
            .expect("finish");
        let orders: Vec<NewOrder> = (0..3)
            .map(|i| order("1", &format!("c{i}"), vec![item("H1", "S1", 1)]))
            .collect();
        store.insert_orders("j2", &orders).await.expect("insert");
        store
            .set_outcome(&key("1", "c0"), &Outcome::fulfilled())
            .await
            .expect("outcome");
        let count = |v: Vec<(Status, u64)>, s: Status| {
            v.into_iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| n)
        };
        let by_status = store.count_orders_by_status().await.expect("count orders");
        assert_eq!(count(by_status.clone(), Status::NewOrder), 1);
        assert_eq!(count(by_status, Status::OnHold), 2);
        let by_state = store.count_jobs_by_state().await.expect("count jobs");
        let state = |s: JobState| {
            by_state
                .iter()
                .find(|(k, _)| *k == s)
                .map_or(0, |(_, n)| *n)
        };
        assert_eq!(state(JobState::Done), 1);
        assert_eq!(
            state(JobState::Queued) + state(JobState::Processing),
            1,
            "{by_state:?}"
        );
        assert_eq!(state(JobState::Failed), 0);
    }

    pub async fn list_orders_filters_and_limits(f: &impl StoreFixture) {
        let store = f.store().await;
        store
            .insert_orders(
                "j1",
                &[
                    order("1", "o1", vec![item("H1", "S1", 1)]),
                    order("1", "o2", vec![item("H2", "S1", 1)]),
                    order("2", "o1", vec![item("H1", "S1", 1), item("H2", "S2", 1)]),
                ],
            )
            .await
            .expect("insert");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let between = now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        store
            .insert_orders("j2", &[order("2", "o3", vec![item("H3", "S3", 1)])])
            .await
            .expect("insert");
        assert!(
            store
                .set_outcome(&key("1", "o2"), &Outcome::fulfilled())
                .await
                .unwrap()
        );

        let list = |filter: OrderFilter| {
            let store = Arc::clone(&store);
            async move { keys_of(&store.list_orders(&filter).await.expect("list")) }
        };
        let all = list(everything()).await;
        assert_eq!(all.len(), 4);
        assert_eq!(all[3], "2/o3", "oldest first: {all:?}");
        assert_eq!(
            sorted(all[..3].to_vec()),
            ["1/o1", "1/o2", "2/o1"],
            "oldest first: {all:?}"
        );

        let with = |g: fn(&mut OrderFilter)| {
            let mut filter = everything();
            g(&mut filter);
            filter
        };
        assert_eq!(
            list(with(|f| f.status = Some(Status::NewOrder))).await,
            ["1/o2"]
        );
        assert_eq!(
            sorted(list(with(|f| f.status = Some(Status::OnHold))).await),
            ["1/o1", "2/o1", "2/o3"]
        );
        assert_eq!(
            sorted(list(with(|f| f.seller = Some(SellerId::parse("2").unwrap()))).await),
            ["2/o1", "2/o3"]
        );
        assert_eq!(
            sorted(list(with(|f| f.hub = Some(HubId::parse("H2").unwrap()))).await),
            ["1/o2", "2/o1"],
            "hub matches any item of the order"
        );
        assert_eq!(list(with(|f| f.job = Some("j2".into()))).await, ["2/o3"]);
        assert_eq!(
            sorted(list(with(|f| f.order_id = Some(OrderId::parse("o1").unwrap()))).await),
            ["1/o1", "2/o1"]
        );
        let since = list(OrderFilter {
            since: Some(between.clone()),
            ..everything()
        })
        .await;
        assert_eq!(since, ["2/o3"], "since {between}");
        assert_eq!(
            list(with(|f| {
                f.seller = Some(SellerId::parse("1").unwrap());
                f.status = Some(Status::OnHold);
            }))
            .await,
            ["1/o1"],
            "filters combine"
        );
        assert!(
            list(with(|f| f.hub = Some(HubId::parse("H9").unwrap())))
                .await
                .is_empty()
        );
        let limited = list(OrderFilter {
            limit: 2,
            ..everything()
        })
        .await;
        assert_eq!(limited, all[..2], "limit keeps the oldest");
    }

    pub async fn open_job_is_idempotent(f: &impl StoreFixture) {
        let store = f.store().await;
        let first = job("j1", "1", "2026-01-01T10:00:00.000000Z");
        let stored = store.open_job(&first).await.expect("open");
        assert_eq!(stored.job_id, "j1");
        assert_eq!(stored.seller_id, "1");
        assert_eq!(stored.file_path, first.file_path);
        assert_eq!(stored.sha256, first.sha256);
        assert_eq!(stored.state, JobState::Queued);
        assert_eq!(stored.created_at, first.created_at);

        let other = Job {
            seller_id: "2".into(),
            file_path: "/elsewhere.csv".into(),
            sha256: None,
            state: JobState::Processing,
            created_at: "2026-02-02T10:00:00.000000Z".into(),
            updated_at: "2026-02-02T10:00:00.000000Z".into(),
            ..first.clone()
        };
        let again = store.open_job(&other).await.expect("open again");
        assert_eq!(again, stored, "a known job is returned as first stored");
        let loaded = store.get_job("j1").await.unwrap().expect("exists");
        assert_eq!(loaded.file_path, first.file_path);
        assert_eq!(loaded.state, JobState::Queued);
        assert_eq!(store.get_job("nope").await.unwrap(), None);
    }

    pub async fn finish_job_stores_counts_and_replaces_rejects(f: &impl StoreFixture) {
        let store = f.store().await;
        store.open_job(&job("j1", "1", &now())).await.expect("open");
        let counts = JobCounts {
            rows: 12,
            orders_accepted: 7,
            orders_rejected: 2,
            orders_duplicate: 1,
            warnings: 3,
        };
        let rejects = vec![
            Reject {
                row: Some(4),
                order_id: Some("1013".into()),
                column: Some("quantity".into()),
                reason: "must be greater than zero, got 0".into(),
            },
            Reject {
                row: None,
                order_id: Some("1020".into()),
                column: None,
                reason: "sku_id S9 is not known to the warehouse".into(),
            },
        ];
        store
            .finish_job(&JobReport {
                job_id: "j1".into(),
                state: JobState::Done,
                error: None,
                counts: counts.clone(),
                rejects: rejects.clone(),
            })
            .await
            .expect("finish");
        let done = store.get_job("j1").await.unwrap().expect("exists");
        assert_eq!(done.state, JobState::Done);
        assert_eq!(done.counts, counts);
        assert_eq!(done.rejects, rejects);
        assert_eq!(done.error, None);

        let replacement = vec![Reject {
            row: None,
            order_id: None,
            column: None,
            reason: "checksum mismatch".into(),
        }];
        store
            .finish_job(&JobReport {
                job_id: "j1".into(),
                state: JobState::Failed,
                error: Some("checksum mismatch".into()),
                counts: JobCounts::default(),
                rejects: replacement.clone(),
            })
            .await
            .expect("finish again");
        let failed = store.get_job("j1").await.unwrap().expect("exists");
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.error.as_deref(), Some("checksum mismatch"));
        assert_eq!(failed.counts, JobCounts::default());
        assert_eq!(failed.rejects, replacement, "rejects replace, never append");
    }

    pub async fn list_jobs_is_newest_first(f: &impl StoreFixture) {
        let store = f.store().await;
        for (id, at) in [
            ("j-mid", "2026-03-01T10:00:00.000000Z"),
            ("j-new", "2026-03-02T10:00:00.000000Z"),
            ("j-old", "2026-02-28T10:00:00.000000Z"),
        ] {
            store.open_job(&job(id, "1", at)).await.expect("open");
        }
        let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.job_id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_jobs(10).await.unwrap()),
            ["j-new", "j-mid", "j-old"]
        );
        assert_eq!(ids(store.list_jobs(2).await.unwrap()), ["j-new", "j-mid"]);
    }
}

// ---------------------------------------------------------------------------------------
// Warehouse
// ---------------------------------------------------------------------------------------

pub mod warehouse_suite {
    use super::*;

    fn hub(s: &str) -> HubId {
        HubId::parse(s).unwrap()
    }

    fn sku(s: &str) -> SkuId {
        SkuId::parse(s).unwrap()
    }

    pub async fn validate_knows_loaded_hubs_and_skus(f: &impl WarehouseFixture) {
        f.set_stock(&[("H1", "S1", 5), ("H2", "S2", 0)]).await;
        let wms = f.warehouse().await;
        let check = |h: &'static str, s: &'static str| {
            let wms = Arc::clone(&wms);
            async move { wms.validate(&hub(h), &sku(s)).await.expect("validate") }
        };
        assert_eq!(check("H1", "S1").await, Validation::Known);
        assert_eq!(
            check("H2", "S2").await,
            Validation::Known,
            "a SKU with no stock is still known"
        );
        assert_eq!(
            check("H1", "S2").await,
            Validation::Known,
            "hub and SKU each exist"
        );
        match check("H9", "S1").await {
            Validation::Unknown(why) => assert!(why.contains("H9"), "{why}"),
            Validation::Known => panic!("unknown hub H9 validated"),
        }
        match check("H1", "S9").await {
            Validation::Unknown(why) => assert!(why.contains("S9"), "{why}"),
            Validation::Known => panic!("unknown sku S9 validated"),
        }
        assert!(matches!(check("H9", "S9").await, Validation::Unknown(_)));
    }

    pub async fn validate_many_answers_each_pair_in_turn(f: &impl WarehouseFixture) {
        f.set_stock(&[("H1", "S1", 5), ("H2", "S2", 0)]).await;
        let wms = f.warehouse().await;
        assert_eq!(wms.validate_many(&[]).await.unwrap(), []);
        let pairs = [
            ("H1", "S1"),
            ("H9", "S1"),
            ("H2", "S2"),
            ("H1", "S9"),
            ("H1", "S2"),
        ]
        .map(|(h, s)| (hub(h), sku(s)));
        let v = wms.validate_many(&pairs).await.expect("validate_many");
        assert_eq!(v.len(), pairs.len(), "{v:?}");
        assert_eq!(v[0], Validation::Known);
        assert!(
            matches!(&v[1], Validation::Unknown(why) if why.contains("H9")),
            "{v:?}"
        );
        assert_eq!(v[2], Validation::Known, "no stock is still known");
        assert!(
            matches!(&v[3], Validation::Unknown(why) if why.contains("S9")),
            "{v:?}"
        );
        assert_eq!(v[4], Validation::Known);
    }

    pub async fn reserve_deducts_every_item(f: &impl WarehouseFixture) {
        f.set_stock(&[("H1", "S1", 10), ("H1", "S2", 5), ("H2", "S1", 3)])
            .await;
        let wms = f.warehouse().await;
        let r = wms
            .reserve(
                &key("1", "1011"),
                &[
                    item("H1", "S1", 4),
                    item("H1", "S2", 5),
                    item("H2", "S1", 1),
                ],
            )
            .await
            .expect("reserve");
        assert_eq!(r, Reservation::Reserved);
        assert_eq!(f.stock("H1", "S1").await, Some(6));
        assert_eq!(f.stock("H1", "S2").await, Some(0), "the last unit can go");
        assert_eq!(f.stock("H2", "S1").await, Some(2));
    }

    pub async fn reserving_the_same_order_again_deducts_nothing(f: &impl WarehouseFixture) {
        f.set_stock(&[("H1", "S1", 10)]).await;
        let wms = f.warehouse().await;
        let other_client = f.warehouse().await;
        let k = key("1", "1011");
        assert_eq!(
            wms.reserve(&k, &[item("H1", "S1", 2)]).await.unwrap(),
            Reservation::Reserved
        );
        assert_eq!(
            wms.reserve(&k, &[item("H1", "S1", 2)]).await.unwrap(),
            Reservation::AlreadyReserved
        );
        assert_eq!(
            other_client
                .reserve(&k, &[item("H1", "S1", 3)])
                .await
                .unwrap(),
            Reservation::AlreadyReserved,
            "idempotent by order key, whoever asks and whatever the items"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(8), "deducted once only");
        assert_eq!(
            wms.reserve(&key("2", "1011"), &[item("H1", "S1", 1)])
                .await
                .unwrap(),
            Reservation::Reserved,
            "another seller's order with the same id is another order"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(7));
    }

    pub async fn one_short_item_fails_the_whole_order(f: &impl WarehouseFixture) {
        f.set_stock(&[("H1", "S1", 10), ("H1", "S2", 1), ("H2", "S3", 4)])
            .await;
        let wms = f.warehouse().await;
        let k = key("1", "1011");
        let r = wms
            .reserve(
                &k,
                &[
                    item("H1", "S1", 3),
                    item("H1", "S2", 2),
                    item("H2", "S3", 1),
                ],
            )
            .await
            .expect("reserve");
        assert_eq!(
            r,
            Reservation::Insufficient {
                hub_id: hub("H1"),
                sku_id: sku("S2")
            }
        );
        let unchanged = [("H1", "S1", 10), ("H1", "S2", 1), ("H2", "S3", 4)];
        for (h, s, q) in unchanged {
            assert_eq!(
                f.stock(h, s).await,
                Some(q),
                "{h}/{s}: nothing may be deducted when one item is short"
            );
        }
        let r = wms
            .reserve(&k, &[item("H1", "S1", 1), item("H1", "S-none", 1)])
            .await
            .expect("reserve");
        assert_eq!(
            r,
            Reservation::Insufficient {
                hub_id: hub("H1"),
                sku_id: sku("S-none")
            },
            "an item without any stock is short too"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(10));
        assert_eq!(
            wms.reserve(&k, &[item("H1", "S1", 3), item("H1", "S2", 1)])
                .await
                .unwrap(),
            Reservation::Reserved,
            "a failed reservation must not count as reserved"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(7));
        assert_eq!(f.stock("H1", "S2").await, Some(0));
    }

    pub async fn concurrent_reservations_never_oversell(f: &impl WarehouseFixture) {
        const STOCK: i64 = 10;
        const TASKS: usize = 3;
        const PER_TASK: usize = 10;
        f.set_stock(&[("H1", "S1", STOCK)]).await;
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let wms = f.warehouse().await;
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..PER_TASK {
                    let k = key("1", &format!("t{t}-{i}"));
                    outcomes.push(
                        wms.reserve(&k, &[item("H1", "S1", 1)])
                            .await
                            .expect("reserve"),
                    );
                }
                outcomes
            }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.extend(t.await.unwrap());
        }
        let reserved = outcomes
            .iter()
            .filter(|r| **r == Reservation::Reserved)
            .count();
        let short = outcomes
            .iter()
            .filter(|r| matches!(r, Reservation::Insufficient { .. }))
            .count();
        assert_eq!(
            reserved, 10,
            "exactly the stock may be reserved: {outcomes:?}"
        );
        assert_eq!(short, TASKS * PER_TASK - 10);
        assert_eq!(
            f.stock("H1", "S1").await,
            Some(STOCK - i64::try_from(reserved).unwrap()),
            "stock must drop by the reserved units and never below zero"
        );
    }

    /// `reserve_many` answers each order as `reserve` would, in the order asked, each
    /// order all or nothing; orders competing for the same stock never oversell it
    /// (adapters may send them at once, so which one wins is not fixed).
    pub async fn reserve_many_answers_each_order_in_turn(f: &impl WarehouseFixture) {
        f.set_stock(&[
            ("H1", "S1", 5),
            ("H1", "S2", 0),
            ("H1", "S3", 2),
            ("H1", "S4", 1),
            ("H1", "S5", 10),
            ("H1", "S6", 1),
            ("H1", "S7", 4),
        ])
        .await;
        let wms = f.warehouse().await;
        assert_eq!(wms.reserve_many(&[]).await.unwrap(), []);
        let ask = vec![
            (key("1", "a"), vec![item("H1", "S1", 3)]),
            (key("1", "b"), vec![item("H1", "S2", 1)]),
            (
                key("1", "c"),
                vec![item("H1", "S3", 2), item("H1", "S4", 1)],
            ),
            (
                key("1", "d"),
                vec![item("H1", "S5", 1), item("H1", "S6", 2)],
            ),
            (key("1", "e"), vec![item("H1", "S7", 3)]),
            (key("1", "f"), vec![item("H1", "S7", 3)]),
        ];
        let r = wms.reserve_many(&ask).await.expect("reserve_many");
        assert_eq!(r.len(), ask.len(), "one answer per order: {r:?}");
        assert_eq!(r[0], Reservation::Reserved, "a: {r:?}");
        assert_eq!(
            r[1],
            Reservation::Insufficient {
                hub_id: hub("H1"),
                sku_id: sku("S2")
            },
            "b: {r:?}"
        );
        assert_eq!(r[2], Reservation::Reserved, "c: {r:?}");
        assert_eq!(
            r[3],
            Reservation::Insufficient {
                hub_id: hub("H1"),
                sku_id: sku("S6")
            },
            "d: {r:?}"
        );
        let mut competing = [&r[4], &r[5]].map(|x| matches!(x, Reservation::Reserved));
        competing.sort_unstable();
        assert_eq!(
            competing,
            [false, true],
            "e and f share 4 units of S7: {r:?}"
        );
        for (sku_id, left) in [
            ("S1", 2),
            ("S2", 0),
            ("S3", 0),
            ("S4", 0),
            ("S5", 10),
            ("S6", 1),
            ("S7", 1),
        ] {
            assert_eq!(
                f.stock("H1", sku_id).await,
                Some(left),
                "H1/{sku_id} after the batch (d is all or nothing: S5 untouched)"
            );
        }
        let again = wms
            .reserve_many(&[ask[0].clone(), ask[2].clone()])
            .await
            .expect("reserve_many again");
        assert_eq!(
            again,
            [Reservation::AlreadyReserved, Reservation::AlreadyReserved],
            "asking again deducts nothing"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(2));
    }
}

// ---------------------------------------------------------------------------------------
// Unit of work
// ---------------------------------------------------------------------------------------

pub mod uow_suite {
    use super::*;

    const GROUP: &str = "fulfil";
    /// A group that never commits: its lag counts every event in the log.
    const AUDIT: &str = "audit";

    /// Publishes one event and has a consumer of the shared bus take it, before the
    /// unit of work starts; returns the consumer and the event for committing inside.
    async fn prepare(f: &impl UnitOfWorkFixture, tx: &Shared) -> (Box<dyn Consumer>, Delivered) {
        f.set_stock(&[("H1", "S1", 10)]).await;
        tx.bus
            .publish(&[ev("0/before", "e0")])
            .await
            .expect("publish");
        let mut c = tx.bus.subscribe(GROUP).await.expect("subscribe");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = c.poll(10, Duration::from_millis(200)).await.expect("poll");
            if let Some(d) = got.into_iter().next() {
                return (c, d);
            }
            assert!(Instant::now() < deadline, "the event never arrived");
        }
    }

    /// Writes through every port inside the open unit of work, checking each write is
    /// visible to the transaction itself.
    async fn write_through_every_port(tx: &Shared, c: &mut dyn Consumer, taken: &Delivered) {
        let k = key("1", "1011");
        tx.store
            .open_job(&job("j-tx", "1", &now()))
            .await
            .expect("open");
        let inserted = tx
            .store
            .insert_orders("j-tx", &[order("1", "1011", vec![item("H1", "S1", 2)])])
            .await
            .expect("insert");
        assert_eq!(inserted, [Inserted::Created]);
        tx.bus
            .publish(&[ev("1/1011", "order_created")])
            .await
            .expect("publish");
        assert_eq!(
            tx.wms.reserve(&k, &[item("H1", "S1", 2)]).await.unwrap(),
            Reservation::Reserved
        );
        assert!(
            tx.store
                .set_outcome(&k, &Outcome::fulfilled())
                .await
                .unwrap()
        );
        c.commit(std::slice::from_ref(taken))
            .await
            .expect("commit offset");
        let seen = tx.store.get_order(&k).await.unwrap().expect("own write");
        assert_eq!(seen.status, Status::NewOrder);
    }

    pub async fn rollback_drops_the_writes_of_every_port(f: &impl UnitOfWorkFixture) {
        let tx = f.shared().await;
        let (reader_store, reader_bus) = (f.store().await, f.bus().await);
        let (mut c, taken) = prepare(f, &tx).await;

        tx.uow.begin().await.expect("begin");
        write_through_every_port(&tx, &mut *c, &taken).await;
        assert_eq!(
            reader_store.get_order(&key("1", "1011")).await.unwrap(),
            None,
            "others must not see uncommitted writes"
        );
        tx.uow.rollback().await;

        let k = key("1", "1011");
        for store in [&tx.store, &reader_store] {
            assert_eq!(
                store.get_order(&k).await.unwrap(),
                None,
                "order rolled back"
            );
            assert_eq!(
                store.get_job("j-tx").await.unwrap(),
                None,
                "job rolled back"
            );
        }
        assert_eq!(
            reader_bus.lag(AUDIT).await.unwrap(),
            1,
            "the event published inside was rolled back"
        );
        assert_eq!(
            reader_bus.lag(GROUP).await.unwrap(),
            1,
            "the offset committed inside was rolled back"
        );
        assert_eq!(
            f.stock("H1", "S1").await,
            Some(10),
            "the deduction was rolled back"
        );
        assert_eq!(
            tx.wms.reserve(&k, &[item("H1", "S1", 2)]).await.unwrap(),
            Reservation::Reserved,
            "the reservation record was rolled back too"
        );
    }

    pub async fn commit_keeps_the_writes_of_every_port(f: &impl UnitOfWorkFixture) {
        let tx = f.shared().await;
        let (reader_store, reader_bus) = (f.store().await, f.bus().await);
        let (mut c, taken) = prepare(f, &tx).await;

        tx.uow.begin().await.expect("begin");
        write_through_every_port(&tx, &mut *c, &taken).await;
        assert_eq!(
            reader_bus.lag(AUDIT).await.unwrap(),
            1,
            "others must not see uncommitted events"
        );
        tx.uow.commit().await.expect("commit");

        let k = key("1", "1011");
        let o = reader_store
            .get_order(&k)
            .await
            .unwrap()
            .expect("order kept");
        assert_eq!(o.status, Status::NewOrder);
        assert_eq!(o.history.len(), 2);
        assert!(reader_store.get_job("j-tx").await.unwrap().is_some());
        assert_eq!(reader_bus.lag(AUDIT).await.unwrap(), 2, "event kept");
        assert_eq!(
            reader_bus.lag(GROUP).await.unwrap(),
            1,
            "offset kept: only the event published inside is left"
        );
        assert_eq!(f.stock("H1", "S1").await, Some(8), "deduction kept");
        assert_eq!(
            tx.wms.reserve(&k, &[item("H1", "S1", 2)]).await.unwrap(),
            Reservation::AlreadyReserved
        );
    }
}
