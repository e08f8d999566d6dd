//! The event-bus contract: order per key, one delivery per consumer group, committed
//! offsets (a new member starts after them, uncommitted events come again), lag, and
//! members of a group splitting and taking over partitions.

use super::{BusFixture, PATIENCE};
use crate::support::bus_event;
use oms::ports::{BusError, Consumer, Delivered, Event};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs a bus test on every event-bus adapter: one line per adapter (the async fn that
/// starts its fixture).
macro_rules! bus_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            embedded: crate::adapters::embedded::Embedded::start,
            kafka: crate::adapters::kafka::KafkaFixture::start,
        });
    };
}

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

bus_test!(
    events_with_the_same_key_are_delivered_in_publish_order,
    async |f| {
        let bus = f.bus().await;
        let keys = ["1/1011", "1/1012", "2/1011", "3/77", "4/x"];
        let per_key = 12;
        for batch in 0..3 {
            let events: Vec<Event> = (0..per_key / 3)
                .flat_map(|i| {
                    keys.iter()
                        .map(move |k| bus_event(k, format!("{k}#{}", batch * (per_key / 3) + i)))
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
);

bus_test!(a_consumer_group_receives_every_event_once, async |f| {
    let bus = f.bus().await;
    let events: Vec<Event> = (0..20)
        .map(|i| bus_event(&format!("1/{i}"), format!("e{i}")))
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
});

bus_test!(
    a_new_consumer_starts_after_the_committed_offset,
    async |f| {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..5)
            .map(|i| bus_event("1/1011", format!("p{i}")))
            .collect();
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
);

bus_test!(uncommitted_events_are_redelivered_after_close, async |f| {
    let bus = f.bus().await;
    let events: Vec<Event> = (0..6)
        .map(|i| bus_event(&format!("2/{i}"), format!("u{i}")))
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
});

bus_test!(groups_consume_independently, async |f| {
    let bus = f.bus().await;
    let events: Vec<Event> = (0..10)
        .map(|i| bus_event(&format!("3/{i}"), format!("g{i}")))
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
});

bus_test!(lag_counts_uncommitted_events, async |f| {
    let bus = f.bus().await;
    assert_eq!(bus.lag("fulfil").await.expect("lag"), 0, "empty bus");
    let events: Vec<Event> = (0..6)
        .map(|i| bus_event("1/1011", format!("l{i}")))
        .collect();
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

    bus.publish(&[bus_event("9/1", "later"), bus_event("9/2", "later")])
        .await
        .expect("publish");
    assert_eq!(bus.lag("fulfil").await.expect("lag"), 2);
});

bus_test!(two_members_of_a_group_split_the_partitions, async |f| {
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
        .map(|i| bus_event(&format!("7/{i}"), format!("s{i}")))
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
});

bus_test!(
    a_live_member_keeps_its_partitions_until_it_polls_again,
    async |f| {
        let bus_a = f.bus().await;
        let bus_b = f.bus().await;
        let events: Vec<Event> = (0..12)
            .map(|i| bus_event(&format!("6/{i}"), format!("h{i}")))
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
);

bus_test!(
    a_member_whose_partitions_were_taken_over_gets_rebalanced_on_commit,
    async |f| {
        let bus_a = f.bus().await;
        let bus_b = f.bus().await;
        let events: Vec<Event> = (0..5)
            .map(|i| bus_event("5/500", format!("r{i}")))
            .collect();
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
);

bus_test!(
    groups_are_listed_with_their_lag_and_live_members_or_not_at_all,
    async |f| {
        let bus = f.bus().await;
        let events: Vec<Event> = (0..4).map(|i| bus_event(&format!("k{i}"), "x")).collect();
        bus.publish(&events).await.expect("publish");
        let mut c = bus.subscribe("listed").await.expect("subscribe");
        let got = poll_until(&mut *c, 4).await;
        c.commit(&got[..1]).await.expect("commit one");
        let find =
            |groups: Vec<oms::ports::GroupState>| groups.into_iter().find(|g| g.group == "listed");
        // A bus that cannot list its groups says so (`oms status` asks `lag`).
        let Some(groups) = bus.groups().await.expect("groups") else {
            return;
        };
        let g = find(groups).expect("the group is listed");
        assert_eq!(g.lag, 3, "{g:?}");
        assert_eq!(g.members, 1, "{g:?}");
        c.commit(&got).await.expect("commit all");
        c.close().await;
        let g = find(bus.groups().await.expect("groups").expect("listed"))
            .expect("a group is listed after its members leave");
        assert_eq!((g.lag, g.members), (0, 0), "{g:?}");
    }
);
