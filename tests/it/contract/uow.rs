//! The unit-of-work contract: writes through the store, the bus (events and committed
//! offsets) and the warehouse inside one unit of work are kept together on commit and
//! dropped together on rollback, unseen by other clients until committed.

use super::{BusFixture, PATIENCE, Shared, StoreFixture, UnitOfWorkFixture, WarehouseFixture};
use crate::support::{bus_event, new_order, order_item, order_key, queued_job};
use oms::domain::timestamp::now;
use oms::domain::{Outcome, Status};
use oms::ports::{Consumer, Delivered, Inserted, Reservation};
use std::time::{Duration, Instant};

/// Runs a unit-of-work test on every backend whose ports can commit together: one line
/// per backend (the async fn that starts its fixture).
macro_rules! uow_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            embedded: crate::adapters::embedded::Embedded::start,
        });
    };
}

const GROUP: &str = "fulfil";
/// A group that never commits: its lag counts every event in the log.
const AUDIT: &str = "audit";

/// Publishes one event and has a consumer of the shared bus take it, before the
/// unit of work starts; returns the consumer and the event for committing inside.
async fn prepare(f: &impl UnitOfWorkFixture, tx: &Shared) -> (Box<dyn Consumer>, Delivered) {
    f.set_stock(&[("H1", "S1", 10)]).await;
    tx.bus
        .publish(&[bus_event("0/before", "e0")])
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
    let k = order_key("1", "1011");
    tx.store
        .open_job(&queued_job("j-tx", "1", &now()))
        .await
        .expect("open");
    let inserted = tx
        .store
        .insert_orders(
            "j-tx",
            &[new_order("1", "1011", vec![order_item("H1", "S1", 2)])],
        )
        .await
        .expect("insert");
    assert_eq!(inserted, [Inserted::Created]);
    tx.bus
        .publish(&[bus_event("1/1011", "order_created")])
        .await
        .expect("publish");
    assert_eq!(
        tx.wms
            .reserve(&k, &[order_item("H1", "S1", 2)])
            .await
            .unwrap(),
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

uow_test!(rollback_drops_the_writes_of_every_port, async |f| {
    let tx = f.shared().await;
    let (reader_store, reader_bus) = (f.store().await, f.bus().await);
    let (mut c, taken) = prepare(f, &tx).await;

    tx.uow.begin().await.expect("begin");
    write_through_every_port(&tx, &mut *c, &taken).await;
    assert_eq!(
        reader_store
            .get_order(&order_key("1", "1011"))
            .await
            .unwrap(),
        None,
        "others must not see uncommitted writes"
    );
    tx.uow.rollback().await;

    let k = order_key("1", "1011");
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
        tx.wms
            .reserve(&k, &[order_item("H1", "S1", 2)])
            .await
            .unwrap(),
        Reservation::Reserved,
        "the reservation record was rolled back too"
    );
});

uow_test!(commit_keeps_the_writes_of_every_port, async |f| {
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

    let k = order_key("1", "1011");
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
        tx.wms
            .reserve(&k, &[order_item("H1", "S1", 2)])
            .await
            .unwrap(),
        Reservation::AlreadyReserved
    );
});
