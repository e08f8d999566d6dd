//! Lenient reading of stored documents into domain values: numeric ids become their
//! decimal text, a missing `history` is empty, a missing `reason` is none; a document
//! that still cannot be read is a [`StoreError::Other`] naming its `_id`.

use super::dates::{date_text, parse_instant};
use super::schema::{JOBS, ORDERS};
use crate::domain::timestamp;
use crate::domain::{
    HubId, Job, JobCounts, JobState, Order, OrderId, OrderItem, Quantity, Reject, SellerId, SkuId,
    Status, StatusChange,
};
use crate::ports::{Detail, StoreError};
use mongodb::bson::{Bson, Document};
use std::fmt;

/// Text of a string, or the decimal text of a whole number.
pub(super) fn bson_text(v: &Bson) -> Option<String> {
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

pub(super) fn bson_int(v: &Bson) -> Option<i64> {
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

pub(super) fn text(d: &Document, name: &str) -> Result<String, String> {
    let v = field(d, name).ok_or_else(|| format!("{name} is missing"))?;
    bson_text(v).ok_or_else(|| format!("{name} is a {} (expected text)", kind(v)))
}

pub(super) fn opt_text(d: &Document, name: &str) -> Result<Option<String>, String> {
    field(d, name)
        .map(|v| bson_text(v).ok_or_else(|| format!("{name} is a {} (expected text)", kind(v))))
        .transpose()
}

pub(super) fn parsed<T, E: fmt::Display>(
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

pub(super) fn unreadable(collection: &str, d: &Document, why: &str) -> StoreError {
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

pub(super) fn read_order(d: &Document) -> Result<Order, StoreError> {
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
        source_file: opt_text(d, "source_file")?,
        sha256: opt_text(d, "sha256")?,
        state: parsed(d, "state", str::parse::<JobState>)?,
        error: opt_text(d, "error")?,
        counts,
        created_at,
        updated_at,
        rejects: Vec::new(),
    })
}

pub(super) fn read_job(d: &Document) -> Result<Job, StoreError> {
    read_job_fields(d).map_err(|e| unreadable(JOBS, d, &e))
}

pub(super) fn read_reject_fields(d: &Document) -> Result<Reject, String> {
    Ok(Reject {
        row: int(d, "row")?
            .map(|n| u64::try_from(n).map_err(|_| format!("row is negative ({n})")))
            .transpose()?,
        order_id: opt_text(d, "order_id")?,
        column: opt_text(d, "column")?,
        reason: text(d, "reason")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{DateTime, doc};

    #[test]
    fn numeric_ids_read_as_their_decimal_text() {
        assert_eq!(bson_text(&Bson::Int32(7)).as_deref(), Some("7"));
        assert_eq!(bson_text(&Bson::Int64(-12)).as_deref(), Some("-12"));
        assert_eq!(bson_text(&Bson::Double(1011.0)).as_deref(), Some("1011"));
        assert_eq!(bson_text(&Bson::Double(1.5)), None);
        assert_eq!(bson_text(&Bson::Boolean(true)), None);
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
