//! Order and job queries shared by the CLI and the HTTP API: the filters of
//! `orders ls` from text, finding one order, retrying `on_hold` orders, and a job's
//! rejected rows as CSV.

use super::files::{HashingReader, StorageRoot};
use super::{AppError, Backends};
use crate::domain::{
    COLUMNS, HubId, Job, Order, OrderEvent, OrderId, OrderKey, Reject, SellerId, Status, timestamp,
};
use crate::ports::{Event, OrderFilter};
use std::collections::HashMap;
use std::io::{BufReader, Write};

/// The filters as a user writes them (CLI flags, query parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterText<'a> {
    pub status: Option<&'a str>,
    pub seller: Option<&'a str>,
    pub hub: Option<&'a str>,
    pub job: Option<&'a str>,
    pub since: Option<&'a str>,
}

/// Parses the filters.
///
/// # Errors
/// [`AppError::BadInput`] naming the bad filter.
pub fn parse_filter(
    t: FilterText<'_>,
    limit: usize,
    offset: usize,
) -> Result<OrderFilter, AppError> {
    let bad = |what: &str, e: String| AppError::BadInput(format!("{what} {e}"));
    Ok(OrderFilter {
        status: t
            .status
            .map(str::parse::<Status>)
            .transpose()
            .map_err(|e| bad("status:", e))?,
        seller: t
            .seller
            .map(SellerId::parse)
            .transpose()
            .map_err(|e| bad("seller", e.to_string()))?,
        hub: t
            .hub
            .map(HubId::parse)
            .transpose()
            .map_err(|e| bad("hub", e.to_string()))?,
        job: t.job.map(str::to_owned),
        order_id: None,
        since: t
            .since
            .map(|s| timestamp::parse_since(s, time::OffsetDateTime::now_utc()))
            .transpose()
            .map_err(|e| bad("since:", e))?,
        offset,
        limit,
    })
}

/// One order with its history; without `seller`, the only order with that id.
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::BadInput`] for a bad id or when several sellers
/// have an order with that id; the store's errors.
pub async fn find(b: &Backends, order_id: &str, seller: Option<&str>) -> Result<Order, AppError> {
    let order_id =
        OrderId::parse(order_id).map_err(|e| AppError::BadInput(format!("order id {e}")))?;
    let seller = match seller {
        Some(s) => SellerId::parse(s).map_err(|e| AppError::BadInput(format!("seller {e}")))?,
        None => {
            let found = b
                .store
                .list_orders(&OrderFilter {
                    order_id: Some(order_id.clone()),
                    limit: 2,
                    ..OrderFilter::default()
                })
                .await?;
            match found.as_slice() {
                [one] => one.seller_id.clone(),
                [] => return Err(AppError::NotFound(format!("no order {order_id}"))),
                _ => {
                    return Err(AppError::BadInput(format!(
                        "several sellers have an order {order_id}: name the seller"
                    )));
                }
            }
        }
    };
    let key = OrderKey {
        seller_id: seller,
        order_id,
    };
    b.store.get_order(&key).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no order {} of seller {}",
            key.order_id, key.seller_id
        ))
    })
}

/// Orders matching `filter`, oldest first.
///
/// # Errors
/// The store's errors.
pub async fn list(b: &Backends, filter: &OrderFilter) -> Result<Vec<Order>, AppError> {
    Ok(b.store.list_orders(filter).await?)
}

/// The `on_hold` orders `filter` selects (its status is ignored).
///
/// # Errors
/// The store's errors.
pub async fn on_hold(b: &Backends, filter: &OrderFilter) -> Result<Vec<Order>, AppError> {
    let f = OrderFilter {
        status: Some(Status::OnHold),
        ..filter.clone()
    };
    Ok(b.store.list_orders(&f).await?)
}

/// Publishes an event for each order again, so `oms fulfil` tries it again.
///
/// # Errors
/// The bus's errors (some events may have been published; fulfil is idempotent).
pub async fn republish(b: &Backends, orders: &[Order]) -> Result<u64, AppError> {
    for chunk in orders.chunks(1000) {
        let events: Vec<Event> = chunk
            .iter()
            .map(|o| bus_event(&OrderEvent::retried(o)))
            .collect();
        b.bus.publish(&events).await?;
    }
    Ok(orders.len() as u64)
}

/// An order event as the bus carries it: under its partition key, as JSON.
pub(super) fn bus_event(ev: &OrderEvent) -> Event {
    Event {
        key: ev.partition_key(),
        payload: ev.to_json(),
    }
}

/// Writes a job's rejects as CSV: when the job's file is still there unchanged, each
/// rejected row with the file's own five columns, then `row`, `column`, `reason` (a
/// row with several reasons appears once per reason); otherwise only `row`,
/// `order_id`, `column`, `reason`. Returns the number of reject lines written.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown job; the store's errors; a write error.
pub async fn write_rejects(
    b: &Backends,
    root: Option<&StorageRoot>,
    job_id: &str,
    out: &mut (dyn Write + Send),
) -> Result<usize, AppError> {
    let job = b
        .store
        .get_job(job_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no job {job_id}")))?;
    let rows = root.and_then(|r| original_rows(r, &job));
    let io = |e: csv::Error| AppError::Failed(format!("cannot write the rejects: {e}").into());
    let mut w = csv::Writer::from_writer(out);
    match &rows {
        Some(rows) => {
            let mut header: Vec<&str> = COLUMNS.to_vec();
            header.extend(["row", "column", "reason"]);
            w.write_record(&header).map_err(io)?;
            for r in &job.rejects {
                let fields = r.row.and_then(|n| rows.get(&n));
                let mut rec: Vec<String> = match fields {
                    Some(f) => f.clone(),
                    None => {
                        let mut v = vec![String::new(); COLUMNS.len()];
                        v[0] = r.order_id.clone().unwrap_or_default();
                        v
                    }
                };
                rec.extend(tail(r));
                w.write_record(rec.iter().map(|c| crate::ui::csv_cell(c)))
                    .map_err(io)?;
            }
        }
        None => {
            w.write_record(["row", "order_id", "column", "reason"])
                .map_err(io)?;
            for r in &job.rejects {
                let rec = [
                    r.row.map(|n| n.to_string()).unwrap_or_default(),
                    r.order_id.clone().unwrap_or_default(),
                    r.column.clone().unwrap_or_default(),
                    r.reason.clone(),
                ];
                w.write_record(rec.iter().map(|c| crate::ui::csv_cell(c)))
                    .map_err(io)?;
            }
        }
    }
    w.flush()
        .map_err(|e| AppError::Failed(format!("cannot write the rejects: {e}").into()))?;
    Ok(job.rejects.len())
}

fn tail(r: &Reject) -> [String; 3] {
    [
        r.row.map(|n| n.to_string()).unwrap_or_default(),
        r.column.clone().unwrap_or_default(),
        r.reason.clone(),
    ]
}

/// The required columns of the job's file, by line, for the rejected lines only; `None`
/// when the file is gone, unreadable, or no longer the bytes that were ingested.
fn original_rows(root: &StorageRoot, job: &Job) -> Option<HashMap<u64, Vec<String>>> {
    let wanted: std::collections::HashSet<u64> = job.rejects.iter().filter_map(|r| r.row).collect();
    let path = root.resolve(&job.file_path).ok()?;
    let file = std::fs::File::open(path).ok()?;
    let mut hashing = HashingReader::new(BufReader::new(file));
    // Number the lines exactly as ingest did (CRLF, blank lines, quoted line ends).
    let mut rows = crate::domain::orders_file::Rows::new(&mut hashing);
    let mut raw = csv::ByteRecord::new();
    let mut index: Option<Vec<Option<usize>>> = None;
    let mut out = HashMap::new();
    // A row over the cap: ingest failed the file, so it has no rejects to show.
    while let Some(line) = rows.next_record(&mut raw).ok()? {
        // A row that is not UTF-8 is left out (its reject still lists row and reason).
        let Ok(rec) = csv::StringRecord::from_byte_record(raw.clone()) else {
            continue;
        };
        if index.is_none() && rec.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines before the header
        }
        let Some(idx) = &index else {
            index = Some(
                COLUMNS
                    .iter()
                    .map(|c| {
                        rec.iter().position(|h| {
                            h.trim_start_matches('\u{feff}')
                                .trim()
                                .eq_ignore_ascii_case(c)
                        })
                    })
                    .collect(),
            );
            continue;
        };
        if wanted.contains(&line) {
            out.insert(
                line,
                idx.iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or("").to_owned())
                    .collect(),
            );
        }
    }
    drop(rows);
    let (sha, _) = hashing.finish().ok()?;
    match &job.sha256 {
        Some(want) if !want.eq_ignore_ascii_case(&sha) => None,
        _ => Some(out),
    }
}
