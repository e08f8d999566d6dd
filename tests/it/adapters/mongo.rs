//! Contract fixture for the MongoDB order store (`OMS_MONGODB_URI`), plus what only a
//! real MongoDB server can show: documents written by another client are read, and the
//! unique index guards (seller_id, order_id) whoever writes.

use crate::contract::StoreFixture;
use crate::support::{
    all_orders, hub_id, new_order, order_item, order_key, queued_job, service_env,
};
use async_trait::async_trait;
use mongodb::bson::{DateTime, Document, doc};
use oms::adapters::mongo::MongoStore;
use oms::domain::{OrderKey, Outcome, SellerId, Status};
use oms::ports::{OrderFilter, OrderStore, StoreError};
use std::sync::Arc;

/// A fresh, uniquely named database on the server of `OMS_MONGODB_URI`; every client
/// is a new [`MongoStore`] with its own connection pool. The database is dropped when
/// the fixture is, after a passing test.
pub struct MongoFixture {
    uri: String,
    database: String,
    raw: mongodb::Client,
}

impl MongoFixture {
    /// `None` when `OMS_MONGODB_URI` is not set (the test is skipped).
    pub async fn start() -> Option<Self> {
        let uri = service_env("OMS_MONGODB_URI")?;
        let database = format!("oms_test_{}", uuid::Uuid::new_v4().simple());
        let raw = mongodb::Client::with_uri_str(&uri)
            .await
            .expect("raw MongoDB client");
        Some(Self { uri, database, raw })
    }

    async fn connect(&self) -> MongoStore {
        MongoStore::connect(&self.uri, &self.database)
            .await
            .expect("connect to MongoDB")
    }

    /// A collection of the fixture's database through the plain driver, as another
    /// program would use it.
    fn raw(&self, name: &str) -> mongodb::Collection<Document> {
        self.raw.database(&self.database).collection(name)
    }
}

impl Drop for MongoFixture {
    /// Drops the database after a passing test (a failing one keeps it to look at).
    fn drop(&mut self) {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let Ok(handle) = Handle::try_current() else {
            return;
        };
        if std::thread::panicking() || handle.runtime_flavor() != RuntimeFlavor::MultiThread {
            return;
        }
        let db = self.raw.database(&self.database);
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), db.drop()).await;
            });
        });
    }
}

#[async_trait]
impl StoreFixture for MongoFixture {
    async fn store(&self) -> Arc<dyn OrderStore> {
        Arc::new(self.connect().await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_an_order_written_by_another_client() {
    let Some(f) = MongoFixture::start().await else {
        return;
    };
    let store = f.connect().await;
    let at = DateTime::now();
    // As the original service (or a script) might write it: a numeric seller id, a
    // numeric hub id and quantity as int32, no reason, no history, no job id.
    f.raw("orders")
        .insert_one(doc! {
            "seller_id": 7,
            "order_id": "legacy-1",
            "status": "on_hold",
            "items": [{ "sku_id": "15", "hub_id": 1, "quantity": 2 }],
            "created_at": at,
        })
        .await
        .expect("raw insert");

    let listed = store.list_orders(&all_orders()).await.expect("list");
    assert_eq!(listed.len(), 1);
    let o = &listed[0];
    assert_eq!(o.key().to_string(), "7/legacy-1");
    assert_eq!(o.items[0].hub_id.as_str(), "1");
    assert_eq!(o.items[0].quantity.get(), 2);
    assert_eq!(o.reason, None);
    assert_eq!(o.updated_at, o.created_at);

    let by_seller = store
        .list_orders(&OrderFilter {
            seller: Some(SellerId::parse("7").unwrap()),
            hub: Some(hub_id("1")),
            ..all_orders()
        })
        .await
        .expect("list by seller and hub");
    assert_eq!(by_seller.len(), 1, "a numeric seller id matches its text");

    let k = order_key("7", "legacy-1");
    let got = store.get_order(&k).await.expect("get").expect("found");
    assert!(got.history.is_empty(), "no history field reads as empty");
    assert_eq!(got.created_at, o.created_at);
    assert_eq!(
        store
            .get_orders(std::slice::from_ref(&k))
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(
        store.set_outcome(&k, &Outcome::fulfilled()).await.unwrap(),
        "the foreign order can be fulfilled"
    );
    let got = store.get_order(&k).await.unwrap().unwrap();
    assert_eq!(got.status, Status::NewOrder);
    assert_eq!(got.history.len(), 1);

    // A document that cannot be read is an error naming it, never a panic.
    let bad = f
        .raw("orders")
        .insert_one(
            doc! { "seller_id": "8", "order_id": "x", "status": "shipped",
            "items": [], "created_at": at },
        )
        .await
        .expect("raw insert")
        .inserted_id;
    let bad_id = bad.as_object_id().expect("an object id").to_hex();
    match store.list_orders(&all_orders()).await {
        Err(StoreError::Other(m)) => assert!(m.text().contains(&bad_id), "{m}"),
        other => panic!("expected Other naming {bad_id}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_index_rejects_a_raw_duplicate() {
    let Some(f) = MongoFixture::start().await else {
        return;
    };
    let _store = f.connect().await; // creates the indexes
    let orders = f.raw("orders");
    let order = doc! { "seller_id": "1", "order_id": "1011", "status": "on_hold",
    "items": [], "created_at": DateTime::now() };
    orders
        .insert_one(order.clone())
        .await
        .expect("first insert");
    let err = orders
        .insert_one(order)
        .await
        .expect_err("a second (seller_id, order_id) must be refused");
    let is_duplicate = matches!(
        &*err.kind,
        mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w))
            if w.code == 11000
    );
    assert!(is_duplicate, "expected a duplicate-key error, got {err}");
    assert_eq!(orders.count_documents(doc! {}).await.unwrap(), 1);

    let mut indexes = orders.list_indexes().await.expect("list indexes");
    let mut unique = false;
    while indexes.advance().await.unwrap() {
        let model = indexes.deserialize_current().unwrap();
        if model.keys == doc! { "seller_id": 1, "order_id": 1 } {
            unique = model.options.and_then(|o| o.unique) == Some(true);
        }
    }
    assert!(unique, "the (seller_id, order_id) index must be unique");
}

/// Needs no server: nothing listens on port 9 (discard) of localhost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_never_show_the_password() {
    let uri =
        "mongodb://oms:hunter2%21@127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";
    match MongoStore::connect(uri, "oms_unreachable").await {
        Err(StoreError::Unavailable(m)) => {
            eprintln!("unreachable: {m}");
            assert!(!m.text().contains("hunter2"), "password leaked: {m}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let malformed = "mongodb://oms:hunter2@127.0.0.1:notaport/";
    match MongoStore::connect(malformed, "oms").await {
        Err(StoreError::Other(m)) => {
            eprintln!("malformed: {m}");
            assert!(!m.text().contains("hunter2"), "password leaked: {m}");
        }
        other => panic!("expected Other, got {other:?}"),
    }
}

/// Orders and rejects of a big file: duplicates spread over a batch larger than one
/// read-back query are each reported at their own index, and rejects are replaced
/// whole. `OMS_TEST_BIG_N` scales it (the default keeps it quick on SecantusDB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_batch_reports_each_duplicate_at_its_index() {
    use oms::domain::{Job, JobCounts, JobState, NewOrder, Reject};
    use oms::ports::{Inserted, JobRecord};

    let Some(f) = MongoFixture::start().await else {
        return;
    };
    let n: usize = std::env::var("OMS_TEST_BIG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_800);
    let store = f.connect().await;
    let order = |i: usize| {
        let seller = if i.is_multiple_of(2) { "1" } else { "acme" };
        new_order(seller, &format!("o{i}"), vec![order_item("H1", "S1", 1)])
    };
    let first: Vec<NewOrder> = (0..n).filter(|i| i.is_multiple_of(3)).map(order).collect();
    let created = store.insert_orders("j1", &first).await.expect("insert");
    assert!(created.iter().all(|r| *r == Inserted::Created));

    let all: Vec<NewOrder> = (0..n).map(order).collect();
    let inserted = store.insert_orders("j2", &all).await.expect("insert");
    assert_eq!(inserted.len(), n);
    for (i, r) in inserted.iter().enumerate() {
        let expected = if i.is_multiple_of(3) {
            Inserted::Existing {
                job_id: "j1".into(),
                status: Status::OnHold,
                reason: None,
            }
        } else {
            Inserted::Created
        };
        assert_eq!(*r, expected, "order {i}");
    }
    let keys: Vec<OrderKey> = all.iter().map(NewOrder::key).collect();
    assert_eq!(store.get_orders(&keys).await.expect("get_orders").len(), n);

    let now = oms::domain::timestamp::now();
    store
        .open_job(&Job {
            file_path: "/in/big.csv".into(),
            sha256: None,
            state: JobState::Processing,
            ..queued_job("j2", "1", &now)
        })
        .await
        .expect("open");
    let rejects = |reason: &str| -> Vec<Reject> {
        (0..n)
            .map(|i| Reject {
                row: Some(i as u64 + 2),
                order_id: Some(format!("o{i}")),
                column: Some("quantity".into()),
                reason: format!("{reason} {}", "x".repeat(200)),
            })
            .collect()
    };
    for reason in ["first", "second"] {
        store
            .record_job(&JobRecord {
                job_id: "j2".into(),
                state: JobState::Done,
                error: None,
                counts: JobCounts::default(),
                rejects: rejects(reason),
            })
            .await
            .expect("finish");
    }
    let job = store.get_job("j2").await.unwrap().expect("job");
    assert!(
        job.rejects == rejects("second"),
        "rejects replaced whole, in order"
    );
    let stored = f.raw("job_rejects").count_documents(doc! {}).await.unwrap();
    assert_eq!(stored, n as u64, "the replaced rejects are deleted");
}
