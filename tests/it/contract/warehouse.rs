//! The warehouse contract: validating (hub, SKU) pairs, and reserving an order's items
//! all or nothing, once per order key, never overselling under concurrent orders.

use super::WarehouseFixture;
use crate::support::{hub_id, order_item, order_key, sku_id};
use oms::ports::{Reservation, Validation};
use std::sync::Arc;

/// Runs a warehouse test on every warehouse adapter: one line per adapter (the async fn
/// that starts its fixture).
macro_rules! warehouse_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            embedded: crate::adapters::embedded::Embedded::start,
            wms_http: crate::adapters::wms_http::HttpFixture::start,
        });
    };
}

warehouse_test!(validate_knows_loaded_hubs_and_skus, async |f| {
    f.set_stock(&[("H1", "S1", 5), ("H2", "S2", 0)]).await;
    let wms = f.warehouse().await;
    let check = |h: &'static str, s: &'static str| {
        let wms = Arc::clone(&wms);
        async move {
            wms.validate(&hub_id(h), &sku_id(s))
                .await
                .expect("validate")
        }
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
});

warehouse_test!(validate_many_answers_each_pair_in_turn, async |f| {
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
    .map(|(h, s)| (hub_id(h), sku_id(s)));
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
});

warehouse_test!(reserve_deducts_every_item, async |f| {
    f.set_stock(&[("H1", "S1", 10), ("H1", "S2", 5), ("H2", "S1", 3)])
        .await;
    let wms = f.warehouse().await;
    let r = wms
        .reserve(
            &order_key("1", "1011"),
            &[
                order_item("H1", "S1", 4),
                order_item("H1", "S2", 5),
                order_item("H2", "S1", 1),
            ],
        )
        .await
        .expect("reserve");
    assert_eq!(r, Reservation::Reserved);
    assert_eq!(f.stock("H1", "S1").await, Some(6));
    assert_eq!(f.stock("H1", "S2").await, Some(0), "the last unit can go");
    assert_eq!(f.stock("H2", "S1").await, Some(2));
});

warehouse_test!(
    an_order_reserved_already_is_not_short_when_its_stock_is_gone,
    async |f| {
        f.set_stock(&[("H1", "S1", 4)]).await;
        let wms = f.warehouse().await;
        let k = order_key("1", "1012");
        let items = [order_item("H1", "S1", 4)];
        assert_eq!(
            wms.reserve(&k, &items).await.unwrap(),
            Reservation::Reserved
        );
        assert_eq!(f.stock("H1", "S1").await, Some(0));
        assert_eq!(
            wms.reserve(&k, &items).await.unwrap(),
            Reservation::AlreadyReserved,
            "its own reservation took the stock: asked again, it is reserved, not short"
        );
        assert_eq!(
            wms.reserve_many(&[(k.clone(), items.to_vec())])
                .await
                .unwrap(),
            [Reservation::AlreadyReserved]
        );
        assert!(matches!(
            wms.reserve(&order_key("1", "1013"), &items).await.unwrap(),
            Reservation::Insufficient { .. }
        ));
        assert_eq!(f.stock("H1", "S1").await, Some(0));
    }
);

warehouse_test!(reserving_the_same_order_again_deducts_nothing, async |f| {
    f.set_stock(&[("H1", "S1", 10)]).await;
    let wms = f.warehouse().await;
    let other_client = f.warehouse().await;
    let k = order_key("1", "1011");
    assert_eq!(
        wms.reserve(&k, &[order_item("H1", "S1", 2)]).await.unwrap(),
        Reservation::Reserved
    );
    assert_eq!(
        wms.reserve(&k, &[order_item("H1", "S1", 2)]).await.unwrap(),
        Reservation::AlreadyReserved
    );
    assert_eq!(
        other_client
            .reserve(&k, &[order_item("H1", "S1", 3)])
            .await
            .unwrap(),
        Reservation::AlreadyReserved,
        "idempotent by order key, whoever asks and whatever the items"
    );
    assert_eq!(f.stock("H1", "S1").await, Some(8), "deducted once only");
    assert_eq!(
        wms.reserve(&order_key("2", "1011"), &[order_item("H1", "S1", 1)])
            .await
            .unwrap(),
        Reservation::Reserved,
        "another seller's order with the same id is another order"
    );
    assert_eq!(f.stock("H1", "S1").await, Some(7));
});

warehouse_test!(one_short_item_fails_the_whole_order, async |f| {
    f.set_stock(&[("H1", "S1", 10), ("H1", "S2", 1), ("H2", "S3", 4)])
        .await;
    let wms = f.warehouse().await;
    let k = order_key("1", "1011");
    let r = wms
        .reserve(
            &k,
            &[
                order_item("H1", "S1", 3),
                order_item("H1", "S2", 2),
                order_item("H2", "S3", 1),
            ],
        )
        .await
        .expect("reserve");
    assert_eq!(
        r,
        Reservation::Insufficient {
            hub_id: hub_id("H1"),
            sku_id: sku_id("S2")
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
        .reserve(
            &k,
            &[order_item("H1", "S1", 1), order_item("H1", "S-none", 1)],
        )
        .await
        .expect("reserve");
    assert_eq!(
        r,
        Reservation::Insufficient {
            hub_id: hub_id("H1"),
            sku_id: sku_id("S-none")
        },
        "an item without any stock is short too"
    );
    assert_eq!(f.stock("H1", "S1").await, Some(10));
    assert_eq!(
        wms.reserve(&k, &[order_item("H1", "S1", 3), order_item("H1", "S2", 1)])
            .await
            .unwrap(),
        Reservation::Reserved,
        "a failed reservation must not count as reserved"
    );
    assert_eq!(f.stock("H1", "S1").await, Some(7));
    assert_eq!(f.stock("H1", "S2").await, Some(0));
});

warehouse_test!(concurrent_reservations_never_oversell, async |f| {
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
                let k = order_key("1", &format!("t{t}-{i}"));
                outcomes.push(
                    wms.reserve(&k, &[order_item("H1", "S1", 1)])
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
});

// `reserve_many` answers each order as `reserve` would, in the order asked, each
// order all or nothing; orders competing for the same stock never oversell it
// (adapters may send them at once, so which one wins is not fixed).
warehouse_test!(reserve_many_answers_each_order_in_turn, async |f| {
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
        (order_key("1", "a"), vec![order_item("H1", "S1", 3)]),
        (order_key("1", "b"), vec![order_item("H1", "S2", 1)]),
        (
            order_key("1", "c"),
            vec![order_item("H1", "S3", 2), order_item("H1", "S4", 1)],
        ),
        (
            order_key("1", "d"),
            vec![order_item("H1", "S5", 1), order_item("H1", "S6", 2)],
        ),
        (order_key("1", "e"), vec![order_item("H1", "S7", 3)]),
        (order_key("1", "f"), vec![order_item("H1", "S7", 3)]),
    ];
    let r = wms.reserve_many(&ask).await.expect("reserve_many");
    assert_eq!(r.len(), ask.len(), "one answer per order: {r:?}");
    assert_eq!(r[0], Reservation::Reserved, "a: {r:?}");
    assert_eq!(
        r[1],
        Reservation::Insufficient {
            hub_id: hub_id("H1"),
            sku_id: sku_id("S2")
        },
        "b: {r:?}"
    );
    assert_eq!(r[2], Reservation::Reserved, "c: {r:?}");
    assert_eq!(
        r[3],
        Reservation::Insufficient {
            hub_id: hub_id("H1"),
            sku_id: sku_id("S6")
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
});
