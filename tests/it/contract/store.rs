//! The order-store contract: inserting orders idempotently by (seller, order id),
//! items kept exactly, outcomes that only leave `on_hold`, listing with filters and
//! pages, counts, and the jobs' records.

use super::StoreFixture;
use crate::support::{all_orders, new_order, order_item, order_key, queued_job};
use oms::domain::timestamp::now;
use oms::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, OrderId, OrderKey, Outcome,
    REASON_INSUFFICIENT_INVENTORY, Reject, SellerId, Status,
};
use oms::ports::{Inserted, JobRecord, OrderFilter};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Runs a store test on every order-store adapter: one line per adapter (the async fn
/// that starts its fixture).
macro_rules! store_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            embedded: crate::adapters::embedded::Embedded::start,
            mongo: crate::adapters::mongo::MongoFixture::start,
        });
    };
}

/// Seller 1's order `id`: its status, its reason and how many entries its history has.
async fn state_of(store: &dyn oms::ports::OrderStore, id: &str) -> (Status, Option<String>, usize) {
    let o = store
        .get_order(&order_key("1", id))
        .await
        .unwrap()
        .expect("exists");
    (o.status, o.reason, o.history.len())
}

fn keys_of(orders: &[oms::domain::Order]) -> Vec<String> {
    orders.iter().map(|o| o.key().to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

store_test!(
    insert_creates_then_reports_the_existing_order_unchanged,
    async |f| {
        let store = f.store().await;
        store
            .open_job(&queued_job("j1", "1", &now()))
            .await
            .expect("open");
        let first = new_order("1", "1011", vec![order_item("H1", "S1", 2)]);
        let inserted = store
            .insert_orders("j1", std::slice::from_ref(&first))
            .await
            .expect("insert");
        assert_eq!(inserted, [Inserted::Created]);

        store
            .open_job(&queued_job("j2", "1", &now()))
            .await
            .expect("open");
        let again = new_order("1", "1011", vec![order_item("H9", "S9", 7)]);
        let fresh = new_order("1", "1012", vec![order_item("H1", "S1", 1)]);
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
            .get_order(&order_key("1", "1011"))
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
);

store_test!(the_same_order_id_for_two_sellers_is_two_orders, async |f| {
    let store = f.store().await;
    let a = new_order("1", "1011", vec![order_item("H1", "S1", 1)]);
    let b = new_order("2", "1011", vec![order_item("H2", "S2", 5)]);
    let inserted = store
        .insert_orders("j1", &[a.clone(), b.clone()])
        .await
        .expect("insert");
    assert_eq!(inserted, [Inserted::Created, Inserted::Created]);
    let got_a = store
        .get_order(&order_key("1", "1011"))
        .await
        .unwrap()
        .unwrap();
    let got_b = store
        .get_order(&order_key("2", "1011"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got_a.items, a.items);
    assert_eq!(got_b.items, b.items);
    assert_eq!(store.list_orders(&all_orders()).await.unwrap().len(), 2);
});

store_test!(orders_round_trip_their_items_exactly, async |f| {
    let store = f.store().await;
    let multi = new_order(
        "acme",
        "ORD-ü/1",
        vec![
            order_item("HUB-Zürich", "SKU \"quoted\"", 3),
            order_item("H1", "S1", 1),
            // Beyond 2^53: must not pass through a float.
            order_item("H1", "S-big", 9_007_199_254_740_993),
        ],
    );
    let single = new_order("acme", "2", vec![order_item("H2", "S2", 42)]);
    store
        .insert_orders("j-rt", &[multi.clone(), single.clone()])
        .await
        .expect("insert");

    let got = store
        .get_orders(&[multi.key(), order_key("acme", "missing"), single.key()])
        .await
        .expect("get_orders");
    assert_eq!(got.len(), 2, "unknown keys are left out");
    let by_key: HashMap<OrderKey, &oms::domain::Order> = got.iter().map(|o| (o.key(), o)).collect();
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
        store
            .get_order(&order_key("acme", "missing"))
            .await
            .unwrap(),
        None
    );
});

store_test!(set_outcome_only_changes_orders_on_hold, async |f| {
    let store = f.store().await;
    let k = order_key("1", "1011");
    store
        .insert_orders(
            "j1",
            &[new_order("1", "1011", vec![order_item("H1", "S1", 2)])],
        )
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
            .set_outcome(&order_key("1", "nope"), &Outcome::fulfilled())
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
});

store_test!(
    set_outcomes_applies_each_outcome_like_set_outcome_in_the_order_given,
    async |f| {
        let store = f.store().await;
        let orders: Vec<NewOrder> = ["2001", "2002", "2003", "30", "4", "100", "200"]
            .iter()
            .map(|id| new_order("1", id, vec![order_item("H1", "S1", 1)]))
            .collect();
        store.insert_orders("j1", &orders).await.expect("insert");
        for id in ["2003", "4"] {
            assert!(
                store
                    .set_outcome(&order_key("1", id), &Outcome::fulfilled())
                    .await
                    .unwrap()
            );
        }
        assert_eq!(store.set_outcomes(&[]).await.unwrap(), Vec::<bool>::new());
        let changed = store
            .set_outcomes(&[
                (order_key("1", "2001"), Outcome::fulfilled()),
                (order_key("1", "2002"), Outcome::insufficient()),
                (order_key("1", "2003"), Outcome::insufficient()),
                (order_key("1", "nope"), Outcome::fulfilled()),
            ])
            .await
            .expect("set_outcomes");
        assert_eq!(
            changed,
            [true, true, false, false],
            "new_order never goes back; an unknown order changes nothing"
        );
        let status = async |id| state_of(&*store, id).await;
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

        // Out of key order, with an unknown order and two keys given twice: the answer
        // follows the input, and a key's outcomes apply in the order given.
        let changed = store
            .set_outcomes(&[
                (order_key("1", "30"), Outcome::insufficient()),
                (order_key("1", "4"), Outcome::insufficient()),
                (order_key("1", "200"), Outcome::fulfilled()),
                (order_key("1", "0-nope"), Outcome::fulfilled()),
                (order_key("1", "100"), Outcome::insufficient()),
                (order_key("1", "30"), Outcome::fulfilled()),
                (order_key("1", "200"), Outcome::insufficient()),
            ])
            .await
            .expect("set_outcomes");
        assert_eq!(
            changed,
            [true, false, true, false, true, true, false],
            "one answer per outcome, in the caller's order"
        );
        let held = Some(REASON_INSUFFICIENT_INVENTORY.to_owned());
        let new = (Status::NewOrder, None, 2);
        assert_eq!(
            status("30").await,
            (Status::NewOrder, None, 3),
            "held, then new"
        );
        assert_eq!(status("200").await, new, "new stays new");
        assert_eq!(status("100").await, (Status::OnHold, held, 2));
        assert_eq!(status("4").await, new);
    }
);

store_test!(list_orders_pages_without_gaps_or_repeats, async |f| {
    let store = f.store().await;
    // Three jobs, a moment apart, and every other order fulfilled: a page of every
    // status mixes both statuses and both moments.
    for (job, ids) in [("j1", 0..3), ("j2", 3..5), ("j3", 5..7)] {
        let orders: Vec<NewOrder> = ids
            .map(|i| new_order("1", &format!("p{i}"), vec![order_item("H1", "S1", 1)]))
            .collect();
        store.insert_orders(job, &orders).await.expect("insert");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in [0, 2, 3, 6] {
        let key = order_key("1", &format!("p{i}"));
        assert!(
            store
                .set_outcome(&key, &Outcome::fulfilled())
                .await
                .unwrap()
        );
    }
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
    let all = store.list_orders(&all_orders()).await.expect("list");
    assert_eq!(seen, keys_of(&all), "pages in order, each order once");
    assert_eq!(
        keys_of(&all),
        ["1/p0", "1/p1", "1/p2", "1/p3", "1/p4", "1/p5", "1/p6"],
        "oldest first, whatever their status"
    );
    assert!(
        all.windows(2).all(|w| w[0].created_at <= w[1].created_at),
        "by creation time"
    );
});

store_test!(counts_follow_statuses_and_job_states, async |f| {
    let store = f.store().await;
    store
        .open_job(&queued_job("j1", "1", &now()))
        .await
        .expect("job");
    store
        .open_job(&queued_job("j2", "1", &now()))
        .await
        .expect("job");
    store
        .record_job(&JobRecord {
            job_id: "j2".into(),
            state: JobState::Done,
            error: None,
            counts: JobCounts::default(),
            rejects: Vec::new(),
        })
        .await
        .expect("finish");
    let orders: Vec<NewOrder> = (0..3)
        .map(|i| new_order("1", &format!("c{i}"), vec![order_item("H1", "S1", 1)]))
        .collect();
    store.insert_orders("j2", &orders).await.expect("insert");
    store
        .set_outcome(&order_key("1", "c0"), &Outcome::fulfilled())
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
});

store_test!(list_orders_filters_and_limits, async |f| {
    let store = f.store().await;
    store
        .insert_orders(
            "j1",
            &[
                new_order("1", "o1", vec![order_item("H1", "S1", 1)]),
                new_order("1", "o2", vec![order_item("H2", "S1", 1)]),
                new_order(
                    "2",
                    "o1",
                    vec![order_item("H1", "S1", 1), order_item("H2", "S2", 1)],
                ),
            ],
        )
        .await
        .expect("insert");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .insert_orders(
            "j2",
            &[new_order("2", "o3", vec![order_item("H3", "S3", 1)])],
        )
        .await
        .expect("insert");
    assert!(
        store
            .set_outcome(&order_key("1", "o2"), &Outcome::fulfilled())
            .await
            .unwrap()
    );

    let list = |filter: OrderFilter| {
        let store = Arc::clone(&store);
        async move { keys_of(&store.list_orders(&filter).await.expect("list")) }
    };
    let all = list(all_orders()).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[3], "2/o3", "oldest first: {all:?}");
    assert_eq!(
        sorted(all[..3].to_vec()),
        ["1/o1", "1/o2", "2/o1"],
        "oldest first: {all:?}"
    );

    let with = |g: fn(&mut OrderFilter)| {
        let mut filter = all_orders();
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
        ..all_orders()
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
        ..all_orders()
    })
    .await;
    assert_eq!(limited, all[..2], "limit keeps the oldest");
});

store_test!(open_job_is_idempotent, async |f| {
    let store = f.store().await;
    let first = queued_job("j1", "1", "2026-01-01T10:00:00.000000Z");
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
});

store_test!(
    an_uploaded_jobs_file_name_is_kept_beside_its_uri,
    async |f| {
        let store = f.store().await;
        let uploaded = Job {
            file_path: "s3://orders/in/9f86d081.csv".into(),
            ..queued_job("up1", "1", "2026-01-01T10:00:00.000000Z")
        }
        .with_source_file("storage/orders.csv");
        let stored = store.open_job(&uploaded).await.expect("open");
        assert_eq!(stored.source_file.as_deref(), Some("storage/orders.csv"));
        assert_eq!(stored.file_path, "s3://orders/in/9f86d081.csv");
        store
            .open_job(&queued_job("local1", "1", "2026-01-01T10:00:01.000000Z"))
            .await
            .expect("open");

        // Kept through the job's records, and read back everywhere a job is listed.
        store
            .record_job(&JobRecord {
                job_id: "up1".into(),
                state: JobState::Failed,
                error: Some("the object changed".into()),
                counts: JobCounts::default(),
                rejects: Vec::new(),
            })
            .await
            .expect("record");
        let got = store.get_job("up1").await.unwrap().expect("exists");
        assert_eq!(got.source_file.as_deref(), Some("storage/orders.csv"));
        assert_eq!(got.state, JobState::Failed);
        let listed = store.list_jobs(10).await.expect("list");
        let by_id = |id: &str| listed.iter().find(|j| j.job_id == id).cloned();
        assert_eq!(
            by_id("up1").and_then(|j| j.source_file).as_deref(),
            Some("storage/orders.csv")
        );
        assert_eq!(by_id("local1").expect("listed").source_file, None);
        if let Some(errors) = store.last_job_errors(5).await.expect("errors") {
            assert_eq!(errors[0].source_file.as_deref(), Some("storage/orders.csv"));
        }
    }
);

store_test!(finish_job_stores_counts_and_replaces_rejects, async |f| {
    let store = f.store().await;
    store
        .open_job(&queued_job("j1", "1", &now()))
        .await
        .expect("open");
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
        .record_job(&JobRecord {
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
        .record_job(&JobRecord {
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
});

store_test!(list_jobs_is_newest_first, async |f| {
    let store = f.store().await;
    for (id, at) in [
        ("j-mid", "2026-03-01T10:00:00.000000Z"),
        ("j-new", "2026-03-02T10:00:00.000000Z"),
        ("j-old", "2026-02-28T10:00:00.000000Z"),
    ] {
        store
            .open_job(&queued_job(id, "1", at))
            .await
            .expect("open");
    }
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.job_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_jobs(10).await.unwrap()),
        ["j-new", "j-mid", "j-old"]
    );
    assert_eq!(ids(store.list_jobs(2).await.unwrap()), ["j-new", "j-mid"]);
});

store_test!(job_ids_are_found_by_their_start, async |f| {
    let store = f.store().await;
    for id in ["abc-1", "abc-2", "abd-1", "xabc"] {
        store
            .open_job(&queued_job(id, "1", &now()))
            .await
            .expect("open");
    }
    let find = async |prefix: &str, limit: usize| {
        store
            .find_jobs_by_prefix(prefix, limit)
            .await
            .expect("find")
    };
    assert_eq!(find("abc", 10).await, ["abc-1", "abc-2"]);
    assert_eq!(find("ab", 10).await, ["abc-1", "abc-2", "abd-1"]);
    assert_eq!(find("ab", 2).await, ["abc-1", "abc-2"], "at most limit");
    assert_eq!(find("abd-1", 10).await, ["abd-1"]);
    assert!(find("abc-3", 10).await.is_empty());
    assert!(find("zz", 10).await.is_empty());
    assert!(find("ab", 0).await.is_empty(), "limit 0");
    // A prefix is text, not a pattern.
    for id in ["a.c-1", "a+c-1"] {
        store
            .open_job(&queued_job(id, "1", &now()))
            .await
            .expect("open");
    }
    assert_eq!(find("a.", 10).await, ["a.c-1"]);
    assert_eq!(find("a+", 10).await, ["a+c-1"]);
    assert!(find("a*", 10).await.is_empty());
    assert!(find("a[", 10).await.is_empty());
});

store_test!(the_figures_of_status_are_right, async |f| {
    let store = f.store().await;
    let hour_ago =
        oms::domain::timestamp::format(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    for id in ["q", "d", "x"] {
        store
            .open_job(&queued_job(id, "1", &now()))
            .await
            .expect("open");
    }
    let finish = |id: &str, state: JobState, error: Option<&str>| JobRecord {
        job_id: id.into(),
        state,
        error: error.map(str::to_owned),
        counts: JobCounts::default(),
        rejects: Vec::new(),
    };
    store
        .record_job(&finish("d", JobState::Done, None))
        .await
        .expect("finish");
    store
        .record_job(&finish("x", JobState::Failed, Some("no such file")))
        .await
        .expect("finish");
    let orders: Vec<NewOrder> = (0..4)
        .map(|i| new_order("1", &format!("s{i}"), vec![order_item("H1", "S1", 1)]))
        .collect();
    store.insert_orders("d", &orders).await.expect("insert");
    store
        .set_outcomes(&[
            (order_key("1", "s0"), Outcome::fulfilled()),
            (order_key("1", "s1"), Outcome::insufficient()),
        ])
        .await
        .expect("outcomes");

    // Every store adapter gives these figures (none leaves them unknown).
    let mut by_state = store
        .count_jobs_changed_since(&hour_ago)
        .await
        .expect("count")
        .expect("jobs changed since are counted");
    by_state.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        by_state,
        [
            (JobState::Done, 1),
            (JobState::Failed, 1),
            (JobState::Queued, 1)
        ]
    );
    let later =
        oms::domain::timestamp::format(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    let none = store.count_jobs_changed_since(&later).await.expect("count");
    assert_eq!(none, Some(Vec::new()));
    let mut by_reason = store
        .count_orders_by_status_and_reason()
        .await
        .expect("count")
        .expect("orders are counted by status and reason");
    by_reason.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    assert_eq!(
        by_reason,
        [
            (Status::NewOrder, None, 1),
            (Status::OnHold, None, 2),
            (
                Status::OnHold,
                Some(REASON_INSUFFICIENT_INVENTORY.to_owned()),
                1
            ),
        ]
    );
    let errors = store
        .last_job_errors(5)
        .await
        .expect("errors")
        .expect("the last errors are told");
    let ids: Vec<&str> = errors.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["x"]);
    assert_eq!(errors[0].error.as_deref(), Some("no such file"));
    assert!(errors[0].rejects.is_empty(), "without rejects");
    assert_eq!(
        store.last_job_errors(0).await.expect("errors"),
        Some(Vec::new())
    );
});
