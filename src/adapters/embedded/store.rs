//! The embedded order store: `orders` (items and status changes kept as JSON in the
//! order's row), `jobs` and `job_rejects`, unique on (seller_id, order_id).

use super::codec;
use super::db::{Db, now_rfc3339, port_error};
use super::tx::write;
use crate::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, Order, OrderId, OrderItem, OrderKey, Outcome,
    Quantity, Reject, SellerId, SkuId, Status, StatusChange,
};
use crate::ports::{Inserted, JobRecord, OrderFilter, OrderStore, StoreError};
use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

/// The order store adapter over the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Db,
}

fn map(e: rusqlite::Error) -> StoreError {
    port_error(e, StoreError::Unavailable, StoreError::Other)
}

fn bad_row(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

fn parse_col<T: std::str::FromStr<Err = String>>(s: &str) -> rusqlite::Result<T> {
    s.parse().map_err(bad_row)
}

const ORDER_COLS: &str =
    "seller_id, order_id, status, reason, items, job_id, created_at, updated_at";

/// The order in which orders are listed (oldest first).
const LISTING_ORDER: &str = "ORDER BY created_at, seller_id, order_id";

/// The query of a page of orders matching `f`, and its arguments.
///
/// Only one index keeps orders in listing order, `orders_status_listing` (status
/// first): a listing of every status reads the page's orders of each status in that
/// index's order, then merges them, so ingest writes one index fewer per order.
fn listing_query(f: &OrderFilter) -> (String, Vec<Value>) {
    let mut cond = String::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |clause: &str, v: String| {
        args.push(Value::Text(v));
        cond.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(s) = &f.seller {
        arg(" AND seller_id = ?", s.to_string());
    }
    if let Some(j) = &f.job {
        arg(" AND job_id = ?", j.clone());
    }
    if let Some(o) = &f.order_id {
        arg(" AND order_id = ?", o.to_string());
    }
    if let Some(t) = &f.since {
        arg(" AND created_at >= ?", t.clone());
    }
    if let Some(h) = &f.hub {
        arg(
            " AND EXISTS (SELECT 1 FROM json_each(orders.items) AS it WHERE it.value ->> 1 = ?)",
            h.to_string(),
        );
    }
    let (limit, offset) = (
        i64::try_from(f.limit).unwrap_or(i64::MAX),
        i64::try_from(f.offset).unwrap_or(i64::MAX),
    );
    let page = format!("{LISTING_ORDER} LIMIT {limit} OFFSET {offset}");
    let of_status = |s: Status, page: &str| {
        format!(
            "SELECT {ORDER_COLS} FROM orders WHERE status = '{}'{cond} {page}",
            s.as_str()
        )
    };
    let sql = match f.status {
        Some(s) => of_status(s, &page),
        // A seller, job or order is found by its own index, then sorted.
        None if f.seller.is_some() || f.job.is_some() || f.order_id.is_some() => {
            format!("SELECT {ORDER_COLS} FROM orders WHERE 1 = 1{cond} {page}")
        }
        None => {
            // Each status's first `offset + limit` orders hold the page.
            let first = format!("{LISTING_ORDER} LIMIT {}", limit.saturating_add(offset));
            let parts: Vec<String> = Status::ALL
                .iter()
                .map(|&s| format!("SELECT * FROM ({})", of_status(s, &first)))
                .collect();
            format!("{} {page}", parts.join(" UNION ALL "))
        }
    };
    (sql, args)
}

/// An order's items from its row's JSON: the compact form `oms` writes is read
/// directly; any other (another writer's spacing, or items as objects, the form before
/// schema 5), or a value that is not valid, through `serde_json`, whose error is kept.
fn items_from_json(json: &str) -> rusqlite::Result<Vec<OrderItem>> {
    let fast = codec::stored_items(json).and_then(|items| {
        items
            .into_iter()
            .map(|[sku, hub, q]| {
                Some(OrderItem {
                    sku_id: SkuId::parse(sku).ok()?,
                    hub_id: HubId::parse(hub).ok()?,
                    quantity: Quantity::parse(q).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()
    });
    if let Some(items) = fast {
        return Ok(items);
    }
    match serde_json::from_str::<Vec<(SkuId, HubId, Quantity)>>(json) {
        Ok(items) => Ok(items
            .into_iter()
            .map(|(sku_id, hub_id, quantity)| OrderItem {
                sku_id,
                hub_id,
                quantity,
            })
            .collect()),
        Err(_) => serde_json::from_str(json).map_err(bad_row),
    }
}

fn order_from_row(r: &Row<'_>) -> rusqlite::Result<Order> {
    let items = items_from_json(r.get_ref(4)?.as_str()?)?;
    Ok(Order {
        seller_id: SellerId::parse(r.get_ref(0)?.as_str()?).map_err(bad_row)?,
        order_id: OrderId::parse(r.get_ref(1)?.as_str()?).map_err(bad_row)?,
        status: parse_col(&r.get::<_, String>(2)?)?,
        reason: r.get(3)?,
        items,
        job_id: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        history: Vec::new(),
    })
}

const JOB_COLS: &str = "job_id, seller_id, file_path, sha256, state, error, rows, orders_accepted,
     orders_rejected, orders_duplicate, warnings, created_at, updated_at, source_file";

/// The jobs with the seller's name of their file, when it was uploaded (`job_sources`).
const JOBS: &str = "jobs LEFT JOIN job_sources USING (job_id)";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        job_id: r.get(0)?,
        seller_id: r.get(1)?,
        file_path: r.get(2)?,
        source_file: r.get(13)?,
        sha256: r.get(3)?,
        state: parse_col::<JobState>(&r.get::<_, String>(4)?)?,
        error: r.get(5)?,
        counts: JobCounts {
            rows: r.get(6)?,
            orders_accepted: r.get(7)?,
            orders_rejected: r.get(8)?,
            orders_duplicate: r.get(9)?,
            warnings: r.get(10)?,
        },
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        rejects: Vec::new(),
    })
}

fn load_job(c: &Connection, job_id: &str, with_rejects: bool) -> rusqlite::Result<Option<Job>> {
    let job = c
        .prepare_cached(&format!("SELECT {JOB_COLS} FROM {JOBS} WHERE job_id = ?1"))?
        .query_row(params![job_id], job_from_row)
        .optional()?;
    let Some(mut job) = job else { return Ok(None) };
    if with_rejects {
        job.rejects = c
            .prepare_cached(
                "SELECT row, order_id, col, reason FROM job_rejects WHERE job_id = ?1 ORDER BY seq",
            )?
            .query_map(params![job_id], |r| {
                Ok(Reject {
                    row: r.get(0)?,
                    order_id: r.get(1)?,
                    column: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(Some(job))
}

/// How many rows of `table` have each value of `column`, by value.
fn count_by<T: std::str::FromStr<Err = String>>(
    c: &Connection,
    table: &str,
    column: &str,
) -> rusqlite::Result<Vec<(T, u64)>> {
    c.prepare(&format!(
        "SELECT {column}, COUNT(*) FROM {table} GROUP BY {column} ORDER BY {column}"
    ))?
    .query_map([], |r| {
        Ok((parse_col::<T>(&r.get::<_, String>(0)?)?, r.get(1)?))
    })?
    .collect()
}

/// The orders with these keys that exist, in the keys' order, without their history.
fn orders_by_key(c: &Connection, keys: &[OrderKey]) -> rusqlite::Result<Vec<Order>> {
    let mut q = c.prepare_cached(&format!(
        "SELECT {ORDER_COLS} FROM orders WHERE seller_id = ?1 AND order_id = ?2"
    ))?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(o) = q
            .query_row(
                params![k.seller_id.as_str(), k.order_id.as_str()],
                order_from_row,
            )
            .optional()?
        {
            out.push(o);
        }
    }
    Ok(out)
}

impl EmbeddedStore {
    /// The order store over the embedded database `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl OrderStore for EmbeddedStore {
    async fn open_job(&self, job: &Job) -> Result<Job, StoreError> {
        let job = job.clone();
        self.db
            .call(move |c| {
                write(c, |c| {
                    c.execute(
                        "INSERT INTO jobs (job_id, seller_id, file_path, sha256, state, error,
                           created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT(job_id) DO NOTHING",
                        params![
                            job.job_id,
                            job.seller_id,
                            job.file_path,
                            job.sha256,
                            job.state.as_str(),
                            job.error,
                            job.created_at
                        ],
                    )?;
                    if let Some(name) = &job.source_file {
                        c.execute(
                            "INSERT INTO job_sources (job_id, source_file) VALUES (?1, ?2)
                             ON CONFLICT(job_id) DO NOTHING",
                            params![job.job_id, name],
                        )?;
                    }
                    load_job(c, &job.job_id, false)
                })
            })
            .await
            .map_err(map)?
            .ok_or_else(|| StoreError::Other("job vanished after insert".into()))
    }

    async fn record_job(&self, report: &JobRecord) -> Result<(), StoreError> {
        let r = report.clone();
        self.db
            .call(move |c| {
                write(c, |c| {
                    c.execute(
                        "UPDATE jobs SET state = ?2, error = ?3, rows = ?4, orders_accepted = ?5,
                           orders_rejected = ?6, orders_duplicate = ?7, warnings = ?8, updated_at = ?9
                         WHERE job_id = ?1",
                        params![
                            r.job_id,
                            r.state.as_str(),
                            r.error,
                            r.counts.rows,
                            r.counts.orders_accepted,
                            r.counts.orders_rejected,
                            r.counts.orders_duplicate,
                            r.counts.warnings,
                            now_rfc3339()
                        ],
                    )?;
                    c.execute("DELETE FROM job_rejects WHERE job_id = ?1", params![r.job_id])?;
                    let mut ins = c.prepare_cached(
                        "INSERT INTO job_rejects (job_id, seq, row, order_id, col, reason)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?;
                    for (i, rj) in r.rejects.iter().enumerate() {
                        ins.execute(params![r.job_id, i, rj.row, rj.order_id, rj.column, rj.reason])?;
                    }
                    Ok(())
                })
            })
            .await
            .map_err(map)
    }

    async fn insert_orders(
        &self,
        job_id: &str,
        orders: &[NewOrder],
    ) -> Result<Vec<Inserted>, StoreError> {
        // Encoded here, on the caller's thread, instead of copied: the database
        // thread only binds and steps (ingest hands in the next chunk while the last
        // one's events are written).
        let job_id = job_id.to_owned();
        let orders = orders
            .iter()
            .map(|o| {
                let items = codec::items_json(&o.items);
                (o.seller_id.to_string(), o.order_id.to_string(), items)
            })
            .collect::<Vec<_>>();
        self.db
            .call(move |c| {
                write(c, |c| {
                    let now = now_rfc3339();
                    let mut ins = c.prepare_cached(&format!(
                        "INSERT INTO orders ({ORDER_COLS}) VALUES (?1, ?2, 'on_hold', NULL, ?3, ?4, ?5, ?5)
                         ON CONFLICT(seller_id, order_id) DO NOTHING"
                    ))?;
                    let mut existing = c.prepare_cached(
                        "SELECT job_id, status, reason FROM orders WHERE seller_id = ?1 AND order_id = ?2",
                    )?;
                    let mut out = Vec::with_capacity(orders.len());
                    for (seller_id, order_id, items) in &orders {
                        let n = ins.execute(params![seller_id, order_id, items, job_id, now])?;
                        if n > 0 {
                            out.push(Inserted::Created);
                        } else {
                            out.push(existing.query_row(
                                params![seller_id, order_id],
                                |r| {
                                    Ok(Inserted::Existing {
                                        job_id: r.get(0)?,
                                        status: parse_col(&r.get::<_, String>(1)?)?,
                                        reason: r.get(2)?,
                                    })
                                },
                            )?);
                        }
                    }
                    Ok(out)
                })
            })
            .await
            .map_err(map)
    }

    async fn get_orders(&self, keys: &[OrderKey]) -> Result<Vec<Order>, StoreError> {
        // In key order: each look-up then lands next to the one before in the key's
        // index, on pages already read (~10 % faster for a batch of fulfil's).
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        self.db
            .read(move |c| orders_by_key(c, &keys))
            .await
            .map_err(map)
    }

    async fn get_order(&self, key: &OrderKey) -> Result<Option<Order>, StoreError> {
        let key = key.clone();
        self.db
            .read(move |c| {
                // The order and its history in one read.
                let Some((mut order, history)) = c
                    .prepare_cached(&format!(
                        "SELECT {ORDER_COLS}, history FROM orders
                         WHERE seller_id = ?1 AND order_id = ?2"
                    ))?
                    .query_row(
                        params![key.seller_id.as_str(), key.order_id.as_str()],
                        |r| Ok((order_from_row(r)?, r.get::<_, Option<String>>(8)?)),
                    )
                    .optional()?
                else {
                    return Ok(None);
                };
                order.history.push(StatusChange {
                    status: Status::OnHold,
                    reason: None,
                    at: order.created_at.clone(),
                });
                if let Some(json) = history {
                    let changes: Vec<(String, Option<String>, String)> =
                        serde_json::from_str(&json).map_err(bad_row)?;
                    for (status, reason, at) in changes {
                        order.history.push(StatusChange {
                            status: parse_col(&status)?,
                            reason,
                            at,
                        });
                    }
                }
                Ok(Some(order))
            })
            .await
            .map_err(map)
    }

    async fn set_outcome(&self, key: &OrderKey, outcome: &Outcome) -> Result<bool, StoreError> {
        let one = [(key.clone(), outcome.clone())];
        Ok(self.set_outcomes(&one).await?[0])
    }

    async fn set_outcomes(
        &self,
        outcomes: &[(OrderKey, Outcome)],
    ) -> Result<Vec<bool>, StoreError> {
        let outcomes = outcomes.to_vec();
        self.db
            .call(move |c| {
                write(c, |c| {
                    let now = now_rfc3339();
                    // The change (?6, `[status, reason, at]` as JSON) is appended to the
                    // order's history in the same write.
                    let mut up = c.prepare_cached(
                        "UPDATE orders SET status = ?3, reason = ?4, updated_at = ?5,
                           history = CASE WHEN history IS NULL THEN '[' || ?6 || ']'
                             ELSE substr(history, 1, length(history) - 1) || ',' || ?6 || ']' END
                         WHERE seller_id = ?1 AND order_id = ?2 AND status = 'on_hold'
                           AND NOT (status = ?3 AND reason IS ?4)",
                    )?;
                    // A batch's outcomes are a few kinds: each one's JSON made once.
                    let mut changes: Vec<(&Outcome, String)> = Vec::new();
                    // Applied in key order (the same key twice in the caller's order),
                    // answered in the caller's: each update then lands next to the one
                    // before in the key's and the status's indexes (a fifth to a third
                    // faster for a batch of fulfil's).
                    let mut by_key: Vec<usize> = (0..outcomes.len()).collect();
                    by_key.sort_by(|&a, &b| outcomes[a].0.cmp(&outcomes[b].0));
                    let mut changed = vec![false; outcomes.len()];
                    for i in by_key {
                        let (key, outcome) = &outcomes[i];
                        let kind = match changes.iter().position(|(o, _)| *o == outcome) {
                            Some(k) => k,
                            None => {
                                let json = serde_json::to_string(&(
                                    outcome.status.as_str(),
                                    &outcome.reason,
                                    &now,
                                ))
                                .map_err(bad_row)?;
                                changes.push((outcome, json));
                                changes.len() - 1
                            }
                        };
                        let change = &changes[kind].1;
                        let (s, o) = (key.seller_id.as_str(), key.order_id.as_str());
                        let n = up.execute(params![
                            s,
                            o,
                            outcome.status.as_str(),
                            outcome.reason,
                            now,
                            change
                        ])?;
                        changed[i] = n > 0;
                    }
                    Ok(changed)
                })
            })
            .await
            .map_err(map)
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let f = filter.clone();
        self.db
            .read(move |c| {
                let (sql, args) = listing_query(&f);
                let mut q = c.prepare_cached(&sql)?;
                // Sized at once: growing a vector of orders step by step costs a page
                // of the listing more than reading it.
                let mut out = Vec::with_capacity(f.limit.min(1000));
                for o in q.query_map(params_from_iter(args), order_from_row)? {
                    out.push(o?);
                }
                Ok(out)
            })
            .await
            .map_err(map)
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let id = job_id.to_owned();
        self.db
            .read(move |c| load_job(c, &id, true))
            .await
            .map_err(map)
    }

    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        self.db
            .read(|c| count_by(c, "jobs", "state"))
            .await
            .map_err(map)
    }

    async fn count_orders_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        self.db
            .read(|c| count_by(c, "orders", "status"))
            .await
            .map_err(map)
    }

    async fn find_jobs_by_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.to_owned();
        self.db
            .read(move |c| {
                // The key's order keeps the ids with one prefix together, from the
                // first id >= the prefix on.
                c.prepare_cached(
                    "SELECT job_id FROM jobs WHERE job_id >= ?1
                       AND substr(job_id, 1, length(?1)) = ?1
                     ORDER BY job_id LIMIT ?2",
                )?
                .query_map(
                    params![prefix, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| r.get(0),
                )?
                .collect::<Result<Vec<String>, _>>()
            })
            .await
            .map_err(map)
    }

    async fn count_jobs_changed_since(
        &self,
        since: &str,
    ) -> Result<Option<Vec<(JobState, u64)>>, StoreError> {
        let since = since.to_owned();
        self.db
            .read(move |c| {
                c.prepare_cached(
                    "SELECT state, COUNT(*) FROM jobs WHERE updated_at >= ?1
                     GROUP BY state ORDER BY state",
                )?
                .query_map(params![since], |r| {
                    Ok((parse_col::<JobState>(&r.get::<_, String>(0)?)?, r.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map(Some)
            .map_err(map)
    }

    async fn count_orders_by_status_and_reason(
        &self,
    ) -> Result<Option<Vec<(Status, Option<String>, u64)>>, StoreError> {
        self.db
            .read(|c| {
                c.prepare_cached(
                    "SELECT status, reason, COUNT(*) FROM orders
                     GROUP BY status, reason ORDER BY status, reason",
                )?
                .query_map([], |r| {
                    Ok((
                        parse_col::<Status>(&r.get::<_, String>(0)?)?,
                        r.get(1)?,
                        r.get(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map(Some)
            .map_err(map)
    }

    async fn last_job_errors(&self, limit: usize) -> Result<Option<Vec<Job>>, StoreError> {
        self.db
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {JOB_COLS} FROM {JOBS} WHERE error IS NOT NULL
                     ORDER BY updated_at DESC, job_id LIMIT ?1"
                ))?
                .query_map(
                    params![i64::try_from(limit).unwrap_or(i64::MAX)],
                    job_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map(Some)
            .map_err(map)
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.db
            .read(move |c| {
                c.prepare(&format!(
                    "SELECT {JOB_COLS} FROM {JOBS} ORDER BY created_at DESC, job_id LIMIT ?1"
                ))?
                .query_map(
                    params![i64::try_from(limit).unwrap_or(i64::MAX)],
                    job_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(map)
    }
}

#[cfg(test)]
mod tests {
    use super::items_from_json;

    #[test]
    fn items_another_writer_spaced_or_as_objects_read_the_same_and_bad_ones_fail() {
        let ours = r#"[["15","1",2],["7","h",1]]"#;
        let spaced = r#"[ ["15", "1", 2], [ "7","h", 1 ] ]"#;
        let objects = r#"[ {"hub_id": "1", "sku_id": "15", "quantity": 2},
                          {"quantity": 1, "sku_id": "7", "hub_id": "h"} ]"#;
        let read = items_from_json(ours).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].sku_id.as_str(), "15");
        assert_eq!(read[1].hub_id.as_str(), "h");
        assert_eq!(read[1].quantity.get(), 1);
        assert_eq!(items_from_json(spaced).unwrap(), read);
        assert_eq!(items_from_json(objects).unwrap(), read);
        for bad in [
            r#"[["15","1",0]]"#,
            r#"[["","1",2]]"#,
            r#"[["15","1"]]"#,
            r#"[{"sku_id":"15","hub_id":"1","quantity":0}]"#,
            r#"[{"sku_id":"","hub_id":"1","quantity":2}]"#,
            r#"[{"sku_id":"15","quantity":2}]"#,
            "not json",
        ] {
            assert!(items_from_json(bad).is_err(), "{bad}");
        }
    }
}
