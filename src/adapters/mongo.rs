//! The order store on MongoDB (the `mongodb` driver, 3.x): the [`OrderStore`] port over
//! three collections of one database.
//!
//! - `orders`: one document per order, `{seller_id, order_id, status, reason, items:
//!   [{sku_id, hub_id, quantity}], job_id, created_at, updated_at, history: [{status,
//!   reason, at}]}`, unique on `(seller_id, order_id)`; times are BSON dates.
//! - `jobs`: one document per job, `_id` = the job id, with its state, error and counts.
//! - `job_rejects`: one document per reject of a job (`job_id`, `gen`, `seq`, `row`,
//!   `order_id`, `column`, `reason`), kept apart from the job so a huge file's rejects
//!   never meet the 16 MB document limit. `finish_job` writes a new generation (`gen`)
//!   and then points the job at it, so readers never see a half-replaced list.
//!
//! [`MongoStore::connect`] creates the indexes that back every `orders ls` filter and
//! both sorts. Documents written by other clients are read leniently (numeric ids become
//! their decimal text, a missing `history` is empty, a missing `reason` is none); a
//! document that still cannot be read is a [`StoreError::Other`] naming its `_id`.
//! Driver errors are mapped to [`StoreError`] here: no `mongodb` type leaves this
//! module, and the connection string's password never appears in a message. The
//! driver has no socket time-out, so each request here is bounded (60 s): a server
//! that never answers makes the call fail as unavailable instead of hanging.

use crate::domain::secret::PasswordMask;
use crate::domain::timestamp;
use crate::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, Order, OrderId, OrderItem, OrderKey, Outcome,
    Quantity, Reject, SellerId, SkuId, Status, StatusChange,
};
use crate::ports::Detail;
use crate::ports::{Inserted, JobReport, OrderFilter, OrderStore, StoreError};
use async_trait::async_trait;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Cursor, IndexModel};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ORDERS: &str = "orders";
const JOBS: &str = "jobs";
const JOB_REJECTS: &str = "job_rejects";

/// The server's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Server error codes that mean "not now" (failover, shutdown, network, time limits)
/// rather than "never".
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    64,    // WriteConcernFailed (wtimeout)
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// How many keys go into one `$or` query.
const KEYS_PER_QUERY: usize = 500;

/// How long one request to MongoDB may go unanswered. The driver has no socket
/// time-out: a server that takes a request and never answers would hold the caller
/// (a `fulfil` batch, an `ingest` chunk) for ever. Past this the request is a network
/// time-out ([`StoreError::Unavailable`]), and the caller tries again.
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// `.bounded()` on a driver request: the request within [`REQUEST_DEADLINE`].
trait Bounded<T>: IntoFuture<Output = Result<T, DriverError>> + Sized {
    fn bounded(self) -> impl Future<Output = Result<T, DriverError>> {
        self.within(REQUEST_DEADLINE)
    }

    /// The request within `deadline`; past it, an I/O time-out.
    fn within(self, deadline: Duration) -> impl Future<Output = Result<T, DriverError>> {
        async move {
            tokio::time::timeout(deadline, self.into_future())
                .await
                .unwrap_or_else(|_| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer from MongoDB within {deadline:?}"),
                    )
                    .into())
                })
        }
    }
}

impl<T, F: IntoFuture<Output = Result<T, DriverError>>> Bounded<T> for F {}

/// One index [`MongoStore::connect`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub collection: &'static str,
    /// Fields and directions, in order.
    pub fields: &'static [(&'static str, i32)],
    pub unique: bool,
}

impl IndexSpec {
    fn keys(&self) -> Document {
        self.fields
            .iter()
            .map(|(f, d)| ((*f).to_owned(), Bson::Int32(*d)))
            .collect()
    }
}

impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(name, d)| {
                if *d < 0 {
                    format!("{name} desc")
                } else {
                    (*name).to_owned()
                }
            })
            .collect();
        write!(f, "{}({})", self.collection, fields.join(", "))?;
        if self.unique {
            f.write_str(" unique")?;
        }
        Ok(())
    }
}

/// The indexes of the store: the unique key, one behind every `orders ls` filter, and
/// those of both sorts.
pub const INDEXES: &[IndexSpec] = &[
    IndexSpec {
        collection: ORDERS,
        fields: &[("seller_id", 1), ("order_id", 1)],
        unique: true,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("status", 1), ("created_at", 1)],
        unique: false,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("job_id", 1)],
        unique: false,
    },
    // Backs `since` and the listing order (created_at, seller_id, order_id).
    IndexSpec {
        collection: ORDERS,
        fields: &[("created_at", 1), ("seller_id", 1), ("order_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("items.hub_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: JOBS,
        fields: &[("created_at", -1), ("_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: JOB_REJECTS,
        fields: &[("job_id", 1), ("seq", 1)],
        unique: false,
    },
];

/// What [`MongoStore::inspect`] found missing (all empty: everything is there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MongoInspection {
    pub missing_collections: Vec<&'static str>,
    pub missing_indexes: Vec<&'static IndexSpec>,
    /// Indexes on the right fields that should be unique and are not.
    pub not_unique: Vec<&'static IndexSpec>,
}

impl MongoInspection {
    pub fn complete(&self) -> bool {
        self.missing_collections.is_empty()
            && self.missing_indexes.is_empty()
            && self.not_unique.is_empty()
    }
}

/// The fields and directions of an index's key document.
fn index_fields(keys: &Document) -> Vec<(String, i64)> {
    keys.iter()
        .map(|(k, v)| (k.clone(), bson_int(v).unwrap_or(0)))
        .collect()
}

/// The MongoDB adapter. Cloning shares the client (and its connection pool).
#[derive(Debug, Clone)]
pub struct MongoStore {
    orders: Collection<Document>,
    jobs: Collection<Document>,
    rejects: Collection<Document>,
    redact: Arc<Redact>,
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Masks the connection string's password in the driver's messages.
#[derive(Debug)]
struct Redact {
    mask: PasswordMask,
}

impl Redact {
    fn from_uri(uri: &str) -> Self {
        Self {
            mask: PasswordMask::from_uri(uri),
        }
    }

    fn clean(&self, message: String) -> String {
        self.mask.clean(message)
    }

    /// Maps a driver error: no server, network trouble and time-outs are
    /// [`StoreError::Unavailable`] (the caller retries), the rest [`StoreError::Other`].
    fn map(&self, what: &str, e: &DriverError) -> StoreError {
        let message = self.clean(format!("{what}: {}", e.kind));
        if is_transient(e) {
            StoreError::Unavailable(Detail::from(message))
        } else {
            StoreError::Other(Detail::from(message))
        }
    }
}

fn is_transient(e: &DriverError) -> bool {
    let by_kind = match &*e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        ErrorKind::Command(c) => TRANSIENT_CODES.contains(&c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => TRANSIENT_CODES.contains(&w.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => TRANSIENT_CODES.contains(&w.code),
        ErrorKind::InsertMany(m) => {
            m.write_concern_error
                .as_ref()
                .is_some_and(|w| TRANSIENT_CODES.contains(&w.code))
                || m.write_errors
                    .as_ref()
                    .is_some_and(|es| es.iter().any(|w| TRANSIENT_CODES.contains(&w.code)))
        }
        _ => false,
    };
    by_kind
        || [
            mongodb::error::RETRYABLE_WRITE_ERROR,
            mongodb::error::TRANSIENT_TRANSACTION_ERROR,
            mongodb::error::SYSTEM_OVERLOADED_ERROR,
        ]
        .iter()
        .any(|l| e.contains_label(l))
}

fn is_duplicate_key(e: &DriverError) -> bool {
    matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY)
}

// ---------------------------------------------------------------------------------------
// Times: BSON dates (milliseconds) <-> the project's fixed-width RFC 3339 text
// ---------------------------------------------------------------------------------------

fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// The BSON date at or before `s` (BSON dates keep milliseconds).
fn date_floor(s: &str) -> Result<DateTime, String> {
    let ns = parse_instant(s)?.unix_timestamp_nanos();
    i64::try_from(ns.div_euclid(1_000_000))
        .map(DateTime::from_millis)
        .map_err(|_| format!("{s:?} is out of range"))
}

/// The first BSON date at or after `s`: a stored date `d` (whole milliseconds) is at or
/// after the instant `s` exactly when `d >= date_ceil(s)`.
fn date_ceil(s: &str) -> Result<DateTime, String> {
    let ns = parse_instant(s)?.unix_timestamp_nanos();
    i64::try_from((ns + 999_999).div_euclid(1_000_000))
        .map(DateTime::from_millis)
        .map_err(|_| format!("{s:?} is out of range"))
}

/// A BSON date in the stored text form (microsecond digits past the millisecond are 0).
fn date_text(d: DateTime) -> Result<String, String> {
    let ns = i128::from(d.timestamp_millis()) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(ns)
        .map(timestamp::format)
        .map_err(|_| format!("date {} ms is out of range", d.timestamp_millis()))
}

// ---------------------------------------------------------------------------------------
// Lenient reading of documents
// ---------------------------------------------------------------------------------------

/// Text of a string, or the decimal text of a whole number.
fn bson_text(v: &Bson) -> Option<String> {
    match v {
        Bson::String(s) => Some(s.clone()),
        Bson::Int32(n) => Some(n.to_string()),
        Bson::Int64(n) => Some(n.to_string()),
        Bson::Double(f) => whole(*f).map(|n| n.to_string()),
        _ => None,
    }
}

/// A double holding a whole number that converts to `i64` exactly.
fn whole(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    #[allow(clippy::cast_possible_truncation)]
    (f.is_finite() && f.fract() == 0.0 && f.abs() <= LIMIT).then_some(f as i64)
}

fn bson_int(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) => whole(*f),
        Bson::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn kind(v: &Bson) -> String {
    format!("{:?}", v.element_type())
}

/// Field `name`: `None` when missing or null.
fn field<'a>(d: &'a Document, name: &str) -> Option<&'a Bson> {
    match d.get(name) {
        None | Some(Bson::Null) => None,
        Some(v) => Some(v),
    }
}

fn text(d: &Document, name: &str) -> Result<String, String> {
    let v = field(d, name).ok_or_else(|| format!("{name} is missing"))?;
    bson_text(v).ok_or_else(|| format!("{name} is a {} (expected text)", kind(v)))
}

fn opt_text(d: &Document, name: &str) -> Result<Option<String>, String> {
    field(d, name)
        .map(|v| bson_text(v).ok_or_else(|| format!("{name} is a {} (expected text)", kind(v))))
        .transpose()
}

fn parsed<T, E: fmt::Display>(
    d: &Document,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, String> {
    let t = text(d, name)?;
    parse(&t).map_err(|e| format!("{name} {t:?}: {e}"))
}

fn int(d: &Document, name: &str) -> Result<Option<i64>, String> {
    field(d, name)
        .map(|v| {
            bson_int(v).ok_or_else(|| format!("{name} is a {} (expected a whole number)", kind(v)))
        })
        .transpose()
}

fn count(d: &Document, name: &str) -> Result<u64, String> {
    int(d, name)?.map_or(Ok(0), |n| {
        u64::try_from(n).map_err(|_| format!("{name} is negative ({n})"))
    })
}

/// A time: a BSON date, or RFC 3339 text (another client may store text).
fn time_field(d: &Document, name: &str) -> Result<Option<String>, String> {
    match field(d, name) {
        None => Ok(None),
        Some(Bson::DateTime(t)) => date_text(*t).map(Some),
        Some(Bson::String(s)) => parse_instant(s).map(|t| Some(timestamp::format(t))),
        Some(v) => Err(format!("{name} is a {} (expected a date)", kind(v))),
    }
}

fn docs<'a>(d: &'a Document, name: &str) -> Result<Vec<&'a Document>, String> {
    match field(d, name) {
        None => Ok(Vec::new()),
        Some(Bson::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Bson::Document(d) => Ok(d),
                v => Err(format!(
                    "{name}[{i}] is a {} (expected a document)",
                    kind(v)
                )),
            })
            .collect(),
        Some(v) => Err(format!("{name} is a {} (expected an array)", kind(v))),
    }
}

fn id_of(d: &Document) -> String {
    match d.get("_id") {
        Some(Bson::ObjectId(o)) => o.to_hex(),
        Some(Bson::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
        None => "(none)".to_owned(),
    }
}

fn unreadable(collection: &str, d: &Document, why: &str) -> StoreError {
    StoreError::Other(Detail::from(format!(
        "{collection} document _id {} cannot be read: {why}",
        id_of(d)
    )))
}

fn read_item(d: &Document) -> Result<OrderItem, String> {
    let quantity = int(d, "quantity")?.ok_or("quantity is missing")?;
    Ok(OrderItem {
        sku_id: parsed(d, "sku_id", SkuId::parse)?,
        hub_id: parsed(d, "hub_id", HubId::parse)?,
        quantity: Quantity::new(quantity).map_err(|e| format!("quantity {e}"))?,
    })
}

fn read_change(d: &Document) -> Result<StatusChange, String> {
    Ok(StatusChange {
        status: parsed(d, "status", str::parse::<Status>)?,
        reason: opt_text(d, "reason")?,
        at: time_field(d, "at")?.ok_or("at is missing")?,
    })
}

fn read_order_fields(d: &Document) -> Result<Order, String> {
    let items = docs(d, "items")?
        .into_iter()
        .enumerate()
        .map(|(i, it)| read_item(it).map_err(|e| format!("items[{i}].{e}")))
        .collect::<Result<_, _>>()?;
    let history = docs(d, "history")?
        .into_iter()
        .enumerate()
        .map(|(i, h)| read_change(h).map_err(|e| format!("history[{i}].{e}")))
        .collect::<Result<_, _>>()?;
    let created_at = time_field(d, "created_at")?.ok_or("created_at is missing")?;
    let updated_at = time_field(d, "updated_at")?.unwrap_or_else(|| created_at.clone());
    Ok(Order {
        order_id: parsed(d, "order_id", OrderId::parse)?,
        seller_id: parsed(d, "seller_id", SellerId::parse)?,
        status: parsed(d, "status", str::parse::<Status>)?,
        reason: opt_text(d, "reason")?,
        items,
        job_id: opt_text(d, "job_id")?.unwrap_or_default(),
        created_at,
        updated_at,
        history,
    })
}

fn read_order(d: &Document) -> Result<Order, StoreError> {
    read_order_fields(d).map_err(|e| unreadable(ORDERS, d, &e))
}

fn read_job_fields(d: &Document) -> Result<Job, String> {
    let counts = match field(d, "counts") {
        None => JobCounts::default(),
        Some(Bson::Document(c)) => JobCounts {
            rows: count(c, "rows")?,
            orders_accepted: count(c, "orders_accepted")?,
            orders_rejected: count(c, "orders_rejected")?,
            orders_duplicate: count(c, "orders_duplicate")?,
            warnings: count(c, "warnings")?,
        },
        Some(v) => return Err(format!("counts is a {} (expected a document)", kind(v))),
    };
    let created_at = time_field(d, "created_at")?.ok_or("created_at is missing")?;
    let updated_at = time_field(d, "updated_at")?.unwrap_or_else(|| created_at.clone());
    Ok(Job {
        job_id: text(d, "_id")?,
        seller_id: text(d, "seller_id")?,
        file_path: opt_text(d, "file_path")?.unwrap_or_default(),
        sha256: opt_text(d, "sha256")?,
        state: parsed(d, "state", str::parse::<JobState>)?,
        error: opt_text(d, "error")?,
        counts,
        created_at,
        updated_at,
        rejects: Vec::new(),
    })
}

fn read_job(d: &Document) -> Result<Job, StoreError> {
    read_job_fields(d).map_err(|e| unreadable(JOBS, d, &e))
}

fn read_reject_fields(d: &Document) -> Result<Reject, String> {
    Ok(Reject {
        row: int(d, "row")?
            .map(|n| u64::try_from(n).map_err(|_| format!("row is negative ({n})")))
            .transpose()?,
        order_id: opt_text(d, "order_id")?,
        column: opt_text(d, "column")?,
        reason: text(d, "reason")?,
    })
}

// ---------------------------------------------------------------------------------------
// Writing documents and filters
// ---------------------------------------------------------------------------------------

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn opt(s: Option<&str>) -> Bson {
    s.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

/// The whole number whose canonical decimal text is `s` (`"7"`, not `"07"`), as another
/// client may have stored an id.
fn as_number(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().filter(|n| n.to_string() == s)
}

/// Matches an id stored as this text, or as the number it is the text of.
fn id_match(s: &str) -> Bson {
    match as_number(s) {
        Some(n) => doc! { "$in": [s, n] }.into(),
        None => Bson::String(s.to_owned()),
    }
}

/// Matches any of these ids, stored as text or as the numbers they are the text of.
fn ids_match<'a>(ids: impl IntoIterator<Item = &'a str>) -> Bson {
    let mut any = Vec::new();
    for id in ids {
        any.push(Bson::String(id.to_owned()));
        if let Some(n) = as_number(id) {
            any.push(Bson::Int64(n));
        }
    }
    match <[Bson; 1]>::try_from(any) {
        Ok([one]) => one,
        Err(any) => doc! { "$in": any }.into(),
    }
}

/// The values a seller id may be stored as, the way oms writes it first. Each lookup by
/// key uses one of them with an equality, so that the unique index serves it: an `$in`
/// or `$or` over the index's first field is fine for MongoDB but a collection scan for
/// SecantusDB.
fn seller_values(seller: &str) -> Vec<Bson> {
    let mut values = vec![Bson::String(seller.to_owned())];
    values.extend(as_number(seller).map(Bson::Int64));
    values
}

fn items_bson(items: &[OrderItem]) -> Vec<Bson> {
    items
        .iter()
        .map(|i| {
            Bson::Document(doc! {
                "sku_id": i.sku_id.as_str(),
                "hub_id": i.hub_id.as_str(),
                "quantity": i.quantity.get(),
            })
        })
        .collect()
}

fn limit_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl MongoStore {
    /// Connects to `uri`, uses `database`, and creates the collections' indexes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers, [`StoreError::Other`].
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let redact = Arc::new(Redact::from_uri(uri));
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| redact.map("MongoDB connection string", &e))?;
        if options.app_name.is_none() {
            options.app_name = Some("oms".to_owned());
        }
        let client = Client::with_options(options).map_err(|e| redact.map("MongoDB client", &e))?;
        let db = client.database(database);
        let store = Self {
            orders: db.collection(ORDERS),
            jobs: db.collection(JOBS),
            rejects: db.collection(JOB_REJECTS),
            redact,
        };
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        for (name, collection) in [
            (ORDERS, &self.orders),
            (JOBS, &self.jobs),
            (JOB_REJECTS, &self.rejects),
        ] {
            let models = INDEXES.iter().filter(|i| i.collection == name).map(|i| {
                IndexModel::builder()
                    .keys(i.keys())
                    .options(
                        i.unique
                            .then(|| IndexOptions::builder().unique(true).build()),
                    )
                    .build()
            });
            collection
                .create_indexes(models)
                .bounded()
                .await
                .map_err(|e| self.map(&format!("create indexes of {name}"), &e))?;
        }
        Ok(())
    }

    /// Reads, without changing anything, whether the server answers and which of the
    /// collections and indexes [`MongoStore::connect`] creates are there (for
    /// `oms doctor`). Waits at most `timeout` for a server.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers, [`StoreError::Other`].
    pub async fn inspect(
        uri: &str,
        database: &str,
        timeout: std::time::Duration,
    ) -> Result<MongoInspection, StoreError> {
        let redact = Redact::from_uri(uri);
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| redact.map("MongoDB connection string", &e))?;
        options
            .app_name
            .get_or_insert_with(|| "oms-doctor".to_owned());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        let client = Client::with_options(options).map_err(|e| redact.map("MongoDB client", &e))?;
        let db = client.database(database);
        db.run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| redact.map("ping", &e))?;
        let names = db
            .list_collection_names()
            .await
            .map_err(|e| redact.map("list collections", &e))?;
        let mut found = MongoInspection::default();
        for name in [ORDERS, JOBS, JOB_REJECTS] {
            if !names.iter().any(|n| n == name) {
                found.missing_collections.push(name);
                found
                    .missing_indexes
                    .extend(INDEXES.iter().filter(|i| i.collection == name));
                continue;
            }
            let mut cursor = db
                .collection::<Document>(name)
                .list_indexes()
                .await
                .map_err(|e| redact.map(&format!("list indexes of {name}"), &e))?;
            let mut present = Vec::new();
            while cursor
                .advance()
                .await
                .map_err(|e| redact.map(&format!("list indexes of {name}"), &e))?
            {
                let model = cursor
                    .deserialize_current()
                    .map_err(|e| redact.map(&format!("list indexes of {name}"), &e))?;
                let unique = model
                    .options
                    .as_ref()
                    .and_then(|o| o.unique)
                    .unwrap_or(false);
                present.push((index_fields(&model.keys), unique));
            }
            for want in INDEXES.iter().filter(|i| i.collection == name) {
                let fields: Vec<(String, i64)> = want
                    .fields
                    .iter()
                    .map(|(f, d)| ((*f).to_owned(), i64::from(*d)))
                    .collect();
                match present.iter().find(|(p, _)| *p == fields) {
                    Some((_, unique)) if *unique || !want.unique => {}
                    Some(_) => found.not_unique.push(want),
                    None => found.missing_indexes.push(want),
                }
            }
        }
        Ok(found)
    }

    fn map(&self, what: &str, e: &DriverError) -> StoreError {
        self.redact.map(what, e)
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
            .map_err(|e| self.map(what, &e))?
        {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| self.map(what, &e))?,
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
                        .map_err(|e| self.map(what, &e))?;
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
            .map_err(|e| self.map("read job rejects", &e))?;
        self.collect("read job rejects", cursor)
            .await?
            .iter()
            .map(|d| read_reject_fields(d).map_err(|e| unreadable(JOB_REJECTS, d, &e)))
            .collect()
    }
}

#[async_trait]
impl OrderStore for MongoStore {
    async fn open_job(&self, job: &Job) -> Result<Job, StoreError> {
        let created = date_floor(&job.created_at).map_err(|e| {
            StoreError::Other(Detail::from(format!("job {}: created_at {e}", job.job_id)))
        })?;
        let record = doc! {
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
        match self.jobs.insert_one(record).bounded().await {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {} // known: left as it is
            Err(e) => return Err(self.map("open job", &e)),
        }
        let stored = self
            .jobs
            .find_one(doc! { "_id": &job.job_id })
            .bounded()
            .await
            .map_err(|e| self.map("read job", &e))?
            .ok_or_else(|| {
                StoreError::Other(Detail::from(format!(
                    "job {} vanished after insert",
                    job.job_id
                )))
            })?;
        read_job(&stored)
    }

    async fn finish_job(&self, report: &JobReport) -> Result<(), StoreError> {
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
                .map_err(|e| self.map("write job rejects", &e))?;
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
            .map_err(|e| self.map("finish job", &e))?;
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
            .map_err(|e| self.map("delete replaced job rejects", &e))?;
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
        let duplicates: Vec<usize> =
            match self.orders.insert_many(docs).ordered(false).bounded().await {
                Ok(_) => return Ok(out),
                Err(e) => match &*e.kind {
                    ErrorKind::InsertMany(m)
                        if m.write_concern_error.is_none()
                            && m.write_errors.as_ref().is_some_and(|es| {
                                !es.is_empty() && es.iter().all(|w| w.code == DUPLICATE_KEY)
                            }) =>
                    {
                        m.write_errors.iter().flatten().map(|w| w.index).collect()
                    }
                    _ => return Err(self.map("insert orders", &e)),
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
                .map_err(|e| self.map("read order", &e))?
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
                .map_err(|e| self.map("set order outcome", &e))?;
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
            .map_err(|e| self.map("list orders", &e))?;
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
            .map_err(|e| self.map("read job", &e))?
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
                .map_err(|e| self.map("count jobs", &e))?;
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
                .map_err(|e| self.map("count orders", &e))?;
            out.push((status, n));
        }
        Ok(out)
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
            .map_err(|e| self.map("list jobs", &e))?;
        self.collect("list jobs", cursor)
            .await?
            .iter()
            .map(read_job)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unanswered_request_is_a_time_out_the_caller_retries() {
        let silent = std::future::pending::<Result<(), DriverError>>();
        let e = silent
            .within(Duration::from_millis(50))
            .await
            .expect_err("a request that never ends must time out");
        let mapped = Redact::from_uri("mongodb://db/oms").map("read orders", &e);
        match mapped {
            StoreError::Unavailable(m) => {
                assert!(
                    m.text().contains("read orders") && m.text().contains("no answer"),
                    "{m}"
                );
            }
            other => panic!("a time-out must be Unavailable, got {other:?}"),
        }
        // An answer in time passes through untouched.
        let quick = async { Ok::<_, DriverError>(7) };
        assert_eq!(quick.within(Duration::from_secs(5)).await.unwrap(), 7);
    }

    #[test]
    fn dates_round_trip_to_the_fixed_width_form() {
        let d = date_floor("2026-11-29T10:24:31.123456Z").unwrap();
        assert_eq!(d.timestamp_millis() % 1000, 123);
        assert_eq!(date_text(d).unwrap(), "2026-11-29T10:24:31.123000Z");
        let exact = "2026-01-01T10:00:00.000000Z";
        assert_eq!(date_text(date_floor(exact).unwrap()).unwrap(), exact);
    }

    #[test]
    fn since_rounds_up_to_the_next_millisecond() {
        let since = "2026-11-29T10:24:31.123456Z";
        let ceil = date_ceil(since).unwrap();
        assert_eq!(date_text(ceil).unwrap(), "2026-11-29T10:24:31.124000Z");
        // A date at .123 ms is before the instant, .124 is after.
        assert!(date_floor(since).unwrap() < ceil);
        let exact = "2026-11-29T10:24:31.123000Z";
        assert_eq!(date_ceil(exact).unwrap(), date_floor(exact).unwrap());
        assert!(date_ceil("yesterday").is_err());
    }

    #[test]
    fn numeric_ids_read_as_their_decimal_text() {
        assert_eq!(bson_text(&Bson::Int32(7)).as_deref(), Some("7"));
        assert_eq!(bson_text(&Bson::Int64(-12)).as_deref(), Some("-12"));
        assert_eq!(bson_text(&Bson::Double(1011.0)).as_deref(), Some("1011"));
        assert_eq!(bson_text(&Bson::Double(1.5)), None);
        assert_eq!(bson_text(&Bson::Boolean(true)), None);
        assert_eq!(id_match("01"), Bson::String("01".into()));
        assert_eq!(id_match("1"), Bson::Document(doc! { "$in": ["1", 1_i64] }));
        assert_eq!(ids_match(["a"]), Bson::String("a".into()));
        assert_eq!(
            ids_match(["a", "2"]),
            Bson::Document(doc! { "$in": ["a", "2", 2_i64] })
        );
        assert_eq!(
            seller_values("1"),
            [Bson::String("1".into()), Bson::Int64(1)]
        );
        assert_eq!(seller_values("acme"), [Bson::String("acme".into())]);
    }

    #[test]
    fn a_foreign_document_reads_leniently_or_names_its_id() {
        let at = DateTime::from_millis(1_800_000_000_000);
        let d = doc! {
            "_id": "x1", "seller_id": 7, "order_id": 1011_i64, "status": "on_hold",
            "items": [{ "sku_id": 15, "hub_id": "1", "quantity": 2.0 }],
            "created_at": at,
        };
        let o = read_order(&d).unwrap();
        assert_eq!(o.key().to_string(), "7/1011");
        assert_eq!(o.items[0].sku_id.as_str(), "15");
        assert_eq!(o.items[0].quantity.get(), 2);
        assert_eq!(
            (o.reason, o.history.len(), o.job_id.as_str()),
            (None, 0, "")
        );
        assert_eq!(o.updated_at, o.created_at);

        let mut bad = d.clone();
        bad.insert("status", "shipped");
        let e = read_order(&bad).unwrap_err().to_string();
        assert!(e.contains("\"x1\"") && e.contains("status"), "{e}");
        let mut bad = d;
        bad.insert("items", "none");
        assert!(matches!(read_order(&bad), Err(StoreError::Other(_))));
    }
}
