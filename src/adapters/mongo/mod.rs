//! The order store on MongoDB (the `mongodb` driver, 3.x): the [`OrderStore`] port over
//! three collections of one database.
//!
//! - `orders`: one document per order, `{seller_id, order_id, status, reason, items:
//!   [{sku_id, hub_id, quantity}], job_id, created_at, updated_at, history: [{status,
//!   reason, at}]}`, unique on `(seller_id, order_id)`; times are BSON dates.
//! - `jobs`: one document per job, `_id` = the job id, with its state, error and counts
//!   (and `source_file`, the seller's name of a file uploaded at submit).
//! - `job_rejects`: one document per reject of a job (`job_id`, `gen`, `seq`, `row`,
//!   `order_id`, `column`, `reason`), kept apart from the job so a huge file's rejects
//!   never meet the 16 MB document limit. `record_job` writes a new generation (`gen`)
//!   and then points the job at it, so readers never see a half-replaced list.
//!
//! [`MongoStore::connect`] creates the indexes that back every `orders ls` filter and
//! both sorts. Documents written by other clients are read leniently (numeric ids become
//! their decimal text, a missing `history` is empty, a missing `reason` is none); a
//! document that still cannot be read is a [`StoreError::Other`] naming its `_id`.
//! Driver errors are mapped to [`StoreError`] here, the driver's error kept as its
//! cause ([`MongoCause`]) so a caller can tell refused credentials, duplicate keys or a
//! time-out by type; the connection string's password never appears in a message. The
//! driver has no socket time-out, so each request here is bounded (60 s): a server
//! that never answers makes the call fail as unavailable instead of hanging.
//!
//! The folder, by concern: this file holds the store and the [`OrderStore`] port;
//! `errors` the mapping of driver errors and the request deadline; `schema` the
//! collections and indexes; `decode` and `encode` documents, `dates` their times;
//! `inspect` what `oms doctor` reads; `figures` what `oms status` and short job ids ask.

mod dates;
mod decode;
mod encode;
mod errors;
mod figures;
mod inspect;
mod schema;

pub use errors::MongoCause;
pub use inspect::MongoInspection;
pub use schema::IndexSpec;

use crate::domain::{Job, JobState, NewOrder, Order, OrderKey, Outcome, Reject, Status};
use crate::ports::{Detail, Inserted, JobRecord, OrderFilter, OrderStore, StoreError};
use async_trait::async_trait;
use dates::{date_ceil, date_floor};
use decode::{
    bson_text, opt_text, parsed, read_job, read_order, read_reject_fields, text, unreadable,
};
use encode::{big, id_match, ids_match, items_bson, limit_of, opt, seller_values};
use errors::{Bounded, ErrorMap, duplicate_positions, is_duplicate_key};
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Cursor};
use schema::{JOB_REJECTS, JOBS, ORDERS};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How many order ids go into one `$in` query.
const KEYS_PER_QUERY: usize = 500;

/// The MongoDB adapter. Cloning shares the client (and its connection pool).
#[derive(Debug, Clone)]
pub struct MongoStore {
    orders: Collection<Document>,
    jobs: Collection<Document>,
    rejects: Collection<Document>,
    errors: Arc<ErrorMap>,
}

impl MongoStore {
    /// Connects to `uri`, uses `database`, and creates the collections' indexes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers, [`StoreError::Other`].
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let errors = Arc::new(ErrorMap::for_uri(uri));
        let client = client(uri, "oms", None, &errors).await?;
        let db = client.database(database);
        let store = Self {
            orders: db.collection(ORDERS),
            jobs: db.collection(JOBS),
            rejects: db.collection(JOB_REJECTS),
            errors,
        };
        store.create_indexes().await?;
        Ok(store)
    }

    /// A driver error of `what` as a [`StoreError`] (see [`ErrorMap::map`]).
    fn map(&self, what: &str, e: mongodb::error::Error) -> StoreError {
        self.errors.map(what, e)
    }

    async fn collect(
        &self,
        what: &str,
        mut cursor: Cursor<Document>,
    ) -> Result<Vec<Document>, StoreError> {
        let mut out = Vec::new();
        while cursor
            .advance()
            .bounded()
            .await
            .map_err(|e| self.map(what, e))?
        {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| self.map(what, e))?,
            );
        }
        Ok(out)
    }

    /// The stored documents with these keys (projected by `projection`), seller by seller
    /// and a few hundred order ids at a time, each query an equality on `seller_id` and an
    /// `$in` on `order_id` (served by the unique index). With `lenient`, ids are matched
    /// as numbers too (documents of other clients), and keys not found with a text
    /// seller id are looked up again with the number it is the text of.
    async fn find_keys(
        &self,
        what: &str,
        keys: &[(&str, &str)],
        projection: Document,
        lenient: bool,
    ) -> Result<Vec<Document>, StoreError> {
        let mut by_seller: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (s, o) in keys {
            by_seller.entry(s).or_default().insert(o);
        }
        let mut out = Vec::new();
        for (seller, mut missing) in by_seller {
            let values = if lenient {
                seller_values(seller)
            } else {
                vec![Bson::String(seller.to_owned())]
            };
            for value in values {
                let wanted: Vec<&str> = missing.iter().copied().collect();
                for chunk in wanted.chunks(KEYS_PER_QUERY) {
                    let order_ids = if lenient {
                        ids_match(chunk.iter().copied())
                    } else {
                        doc! { "$in": chunk }.into()
                    };
                    let cursor = self
                        .orders
                        .find(doc! { "seller_id": value.clone(), "order_id": order_ids })
                        .projection(projection.clone())
                        .bounded()
                        .await
                        .map_err(|e| self.map(what, e))?;
                    for d in self.collect(what, cursor).await? {
                        if let Some(id) = d.get("order_id").and_then(bson_text) {
                            missing.remove(id.as_str());
                        }
                        out.push(d);
                    }
                }
                if missing.is_empty() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// `job_id`, `status` and `reason` of the stored orders with these exact keys.
    async fn existing(
        &self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), Inserted>, StoreError> {
        let projection =
            doc! { "seller_id": 1, "order_id": 1, "job_id": 1, "status": 1, "reason": 1 };
        let mut found = HashMap::new();
        for d in self
            .find_keys("read existing orders", keys, projection, false)
            .await?
        {
            let read = || -> Result<_, String> {
                Ok((
                    (text(&d, "seller_id")?, text(&d, "order_id")?),
                    Inserted::Existing {
                        job_id: opt_text(&d, "job_id")?.unwrap_or_default(),
                        status: parsed(&d, "status", str::parse::<Status>)?,
                        reason: opt_text(&d, "reason")?,
                    },
                ))
            };
            let (k, v) = read().map_err(|e| unreadable(ORDERS, &d, &e))?;
            found.insert(k, v);
        }
        Ok(found)
    }

    async fn load_rejects(
        &self,
        job_id: &str,
        gen_: Option<&str>,
    ) -> Result<Vec<Reject>, StoreError> {
        let filter = match gen_ {
            Some(g) => doc! { "job_id": job_id, "gen": g },
            // Rejects written without generations (by another client).
            None => doc! { "job_id": job_id, "gen": { "$exists": false } },
        };
        let cursor = self
            .rejects
            .find(filter)
            .sort(doc! { "seq": 1 })
            .bounded()
            .await
            .map_err(|e| self.map("read job rejects", e))?;
        self.collect("read job rejects", cursor)
            .await?
            .iter()
            .map(|d| read_reject_fields(d).map_err(|e| unreadable(JOB_REJECTS, d, &e)))
            .collect()
    }
}

/// A client of `uri`, named `app_name` unless the connection string names it; with
/// `timeout`, server selection and connecting wait at most that long.
///
/// # Errors
/// [`StoreError::Other`] for a connection string the driver refuses.
async fn client(
    uri: &str,
    app_name: &str,
    timeout: Option<Duration>,
    errors: &ErrorMap,
) -> Result<Client, StoreError> {
    let mut options = ClientOptions::parse(uri)
        .await
        .map_err(|e| errors.map("MongoDB connection string", e))?;
    options.app_name.get_or_insert_with(|| app_name.to_owned());
    if let Some(timeout) = timeout {
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
    }
    Client::with_options(options).map_err(|e| errors.map("MongoDB client", e))
}

#[async_trait]
impl OrderStore for MongoStore {
    async fn open_job(&self, job: &Job) -> Result<Job, StoreError> {
        let created = date_floor(&job.created_at).map_err(|e| {
            StoreError::Other(Detail::from(format!("job {}: created_at {e}", job.job_id)))
        })?;
        let mut record = doc! {
            "_id": &job.job_id,
            "seller_id": &job.seller_id,
            "file_path": &job.file_path,
            "sha256": opt(job.sha256.as_deref()),
            "state": job.state.as_str(),
            "error": opt(job.error.as_deref()),
            "counts": {
                "rows": big(job.counts.rows),
                "orders_accepted": big(job.counts.orders_accepted),
                "orders_rejected": big(job.counts.orders_rejected),
                "orders_duplicate": big(job.counts.orders_duplicate),
                "warnings": big(job.counts.warnings),
            },
            "created_at": created,
            "updated_at": created,
        };
        if let Some(name) = &job.source_file {
            record.insert("source_file", name.as_str());
        }
        match self.jobs.insert_one(record).bounded().await {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {} // known: left as it is
            Err(e) => return Err(self.map("open job", e)),
        }
        let stored = self
            .jobs
            .find_one(doc! { "_id": &job.job_id })
            .bounded()
            .await
            .map_err(|e| self.map("read job", e))?
            .ok_or_else(|| {
                StoreError::Other(Detail::from(format!(
                    "job {} vanished after insert",
                    job.job_id
                )))
            })?;
        read_job(&stored)
    }

    async fn record_job(&self, report: &JobRecord) -> Result<(), StoreError> {
        // 1. The new rejects, as a generation nobody reads yet.
        let gen_ = uuid::Uuid::new_v4().simple().to_string();
        if !report.rejects.is_empty() {
            let docs: Vec<Document> = report
                .rejects
                .iter()
                .enumerate()
                .map(|(seq, r)| {
                    doc! {
                        "job_id": &report.job_id,
                        "gen": &gen_,
                        "seq": limit_of(seq),
                        "row": r.row.map_or(Bson::Null, |n| Bson::Int64(big(n))),
                        "order_id": opt(r.order_id.as_deref()),
                        "column": opt(r.column.as_deref()),
                        "reason": &r.reason,
                    }
                })
                .collect();
            self.rejects
                .insert_many(docs)
                .bounded()
                .await
                .map_err(|e| self.map("write job rejects", e))?;
        }
        // 2. The job's end, pointing at the new generation (one atomic update).
        let before = self
            .jobs
            .find_one_and_update(
                doc! { "_id": &report.job_id },
                doc! { "$set": {
                    "state": report.state.as_str(),
                    "error": opt(report.error.as_deref()),
                    "counts": {
                        "rows": big(report.counts.rows),
                        "orders_accepted": big(report.counts.orders_accepted),
                        "orders_rejected": big(report.counts.orders_rejected),
                        "orders_duplicate": big(report.counts.orders_duplicate),
                        "warnings": big(report.counts.warnings),
                    },
                    "rejects_gen": &gen_,
                    "updated_at": DateTime::now(),
                } },
            )
            .projection(doc! { "rejects_gen": 1 })
            .bounded()
            .await
            .map_err(|e| self.map("finish job", e))?;
        // 3. The generation it replaced (rejects of an unknown job are not kept).
        let old = match &before {
            None => doc! { "job_id": &report.job_id },
            Some(b) => match b.get_str("rejects_gen") {
                Ok(old) => doc! { "job_id": &report.job_id, "gen": old },
                Err(_) => doc! { "job_id": &report.job_id, "gen": { "$exists": false } },
            },
        };
        self.rejects
            .delete_many(old)
            .bounded()
            .await
            .map_err(|e| self.map("delete replaced job rejects", e))?;
        Ok(())
    }

    async fn insert_orders(
        &self,
        job_id: &str,
        orders: &[NewOrder],
    ) -> Result<Vec<Inserted>, StoreError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let now = DateTime::now();
        let docs = orders.iter().map(|o| {
            doc! {
                "seller_id": o.seller_id.as_str(),
                "order_id": o.order_id.as_str(),
                "status": Status::OnHold.as_str(),
                "reason": Bson::Null,
                "items": items_bson(&o.items),
                "job_id": job_id,
                "created_at": now,
                "updated_at": now,
                "history": [{ "status": Status::OnHold.as_str(), "reason": Bson::Null, "at": now }],
            }
        });
        let mut out = vec![Inserted::Created; orders.len()];
        let duplicates = match self.orders.insert_many(docs).ordered(false).bounded().await {
            Ok(_) => return Ok(out),
            Err(e) => match duplicate_positions(&e) {
                Some(positions) => positions,
                None => return Err(self.map("insert orders", e)),
            },
        };
        let keys: Vec<(&str, &str)> = duplicates
            .iter()
            .filter_map(|&i| orders.get(i))
            .map(|o| (o.seller_id.as_str(), o.order_id.as_str()))
            .collect();
        let found = self.existing(&keys).await?;
        for i in duplicates {
            let o = orders.get(i).ok_or_else(|| {
                StoreError::Other(Detail::from(format!(
                    "the server reported a duplicate at index {i} of {}",
                    orders.len()
                )))
            })?;
            let k = (
                o.seller_id.as_str().to_owned(),
                o.order_id.as_str().to_owned(),
            );
            out[i] = found.get(&k).cloned().ok_or_else(|| {
                StoreError::Other(Detail::from(format!(
                    "order {} was reported as a duplicate but cannot be read back",
                    o.key()
                )))
            })?;
        }
        Ok(out)
    }

    async fn get_orders(&self, keys: &[OrderKey]) -> Result<Vec<Order>, StoreError> {
        let keys: Vec<(&str, &str)> = keys
            .iter()
            .map(|k| (k.seller_id.as_str(), k.order_id.as_str()))
            .collect();
        self.find_keys("read orders", &keys, doc! { "history": 0 }, true)
            .await?
            .iter()
            .map(read_order)
            .collect()
    }

    async fn get_order(&self, key: &OrderKey) -> Result<Option<Order>, StoreError> {
        for seller in seller_values(key.seller_id.as_str()) {
            let filter = doc! { "seller_id": seller, "order_id": id_match(key.order_id.as_str()) };
            if let Some(d) = self
                .orders
                .find_one(filter)
                .bounded()
                .await
                .map_err(|e| self.map("read order", e))?
            {
                return read_order(&d).map(Some);
            }
        }
        Ok(None)
    }

    async fn set_outcome(&self, key: &OrderKey, outcome: &Outcome) -> Result<bool, StoreError> {
        let now = DateTime::now();
        let (status, reason) = (outcome.status.as_str(), opt(outcome.reason.as_deref()));
        let update = doc! {
            "$set": { "status": status, "reason": reason.clone(), "updated_at": now },
            "$push": { "history": { "status": status, "reason": reason.clone(), "at": now } },
        };
        for seller in seller_values(key.seller_id.as_str()) {
            let filter = doc! {
                "seller_id": seller,
                "order_id": id_match(key.order_id.as_str()),
                "status": Status::OnHold.as_str(),
                // Not already this status and reason (a missing reason counts as none).
                "$nor": [{ "status": status, "reason": reason.clone() }],
            };
            let result = self
                .orders
                .update_one(filter, update.clone())
                .bounded()
                .await
                .map_err(|e| self.map("set order outcome", e))?;
            if result.modified_count > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let mut q = Document::new();
        if let Some(s) = filter.status {
            q.insert("status", s.as_str());
        }
        if let Some(s) = &filter.seller {
            q.insert("seller_id", id_match(s.as_str()));
        }
        if let Some(h) = &filter.hub {
            q.insert("items.hub_id", id_match(h.as_str()));
        }
        if let Some(j) = &filter.job {
            q.insert("job_id", j.as_str());
        }
        if let Some(o) = &filter.order_id {
            q.insert("order_id", id_match(o.as_str()));
        }
        if let Some(t) = &filter.since {
            let since =
                date_ceil(t).map_err(|e| StoreError::Other(Detail::from(format!("since: {e}"))))?;
            q.insert("created_at", doc! { "$gte": since });
        }
        let cursor = self
            .orders
            .find(q)
            .sort(doc! { "created_at": 1, "seller_id": 1, "order_id": 1 })
            .skip(u64::try_from(filter.offset).unwrap_or(u64::MAX))
            .limit(limit_of(filter.limit))
            .projection(doc! { "history": 0 })
            .bounded()
            .await
            .map_err(|e| self.map("list orders", e))?;
        self.collect("list orders", cursor)
            .await?
            .iter()
            .map(read_order)
            .collect()
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let Some(d) = self
            .jobs
            .find_one(doc! { "_id": job_id })
            .bounded()
            .await
            .map_err(|e| self.map("read job", e))?
        else {
            return Ok(None);
        };
        let mut job = read_job(&d)?;
        job.rejects = self
            .load_rejects(job_id, d.get_str("rejects_gen").ok())
            .await?;
        Ok(Some(job))
    }

    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let mut out = Vec::new();
        for state in [
            JobState::Queued,
            JobState::Processing,
            JobState::Done,
            JobState::Failed,
        ] {
            let n = self
                .jobs
                .count_documents(doc! { "state": state.as_str() })
                .bounded()
                .await
                .map_err(|e| self.map("count jobs", e))?;
            out.push((state, n));
        }
        Ok(out)
    }

    async fn count_orders_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        let mut out = Vec::new();
        for status in [Status::NewOrder, Status::OnHold] {
            let n = self
                .orders
                .count_documents(doc! { "status": status.as_str() })
                .bounded()
                .await
                .map_err(|e| self.map("count orders", e))?;
            out.push((status, n));
        }
        Ok(out)
    }

    async fn find_jobs_by_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.jobs_by_prefix(prefix, limit).await
    }

    async fn count_jobs_changed_since(
        &self,
        since: &str,
    ) -> Result<Option<Vec<(JobState, u64)>>, StoreError> {
        self.jobs_changed_since(since).await.map(Some)
    }

    async fn count_orders_by_status_and_reason(
        &self,
    ) -> Result<Option<Vec<(Status, Option<String>, u64)>>, StoreError> {
        self.orders_by_status_and_reason().await.map(Some)
    }

    async fn last_job_errors(&self, limit: usize) -> Result<Option<Vec<Job>>, StoreError> {
        self.latest_job_errors(limit).await.map(Some)
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cursor = self
            .jobs
            .find(doc! {})
            .sort(doc! { "created_at": -1, "_id": 1 })
            .limit(limit_of(limit))
            .bounded()
            .await
            .map_err(|e| self.map("list jobs", e))?;
        self.collect("list jobs", cursor)
            .await?
            .iter()
            .map(read_job)
            .collect()
    }
}
