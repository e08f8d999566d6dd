//! The embedded warehouse: stock per (hub, sku) in `inventory`, and one row per
//! reserved order in `reservations` (its items as `[[sku, hub, quantity], ...]`), so a reservation is all-or-nothing, never
//! deducted twice for one (seller, order), and never drives stock below zero (every
//! deduction is a conditional update, not a read-modify-write).

use super::codec;
use super::db::{Db, is_busy, now_rfc3339};
use super::tx::write;
use crate::domain::stock_file::Stock;
use crate::domain::{HubId, OrderItem, OrderKey, Quantity, SkuId};
use crate::ports::{Deduction, Detail, Inventory, Reservation, Validation, Warehouse, WmsError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

// foldhash, not SipHash: a batch's keys are hashed several times each (SipHash was ~4 %
// of the CPU of an embedded fulfil).
use foldhash::{HashMap, HashMapExt, HashSet};

/// The warehouse adapter over the embedded database; also the [`Inventory`] it holds
/// (loaded, listed, and deducted item by item for `oms wms serve`).
#[derive(Debug, Clone)]
pub struct EmbeddedWarehouse {
    db: Db,
}

fn map(e: rusqlite::Error) -> WmsError {
    let text = if is_busy(&e) {
        format!("embedded inventory busy: {e}")
    } else {
        e.to_string()
    };
    WmsError::Unavailable(Detail::caused(text, e))
}

/// How much stock the warehouse holds, in sum (for `oms doctor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockSummary {
    /// Stock lines, one per (hub, sku).
    pub lines: u64,
    /// Units over all lines.
    pub units: i64,
    /// Lines whose quantity is 0.
    pub empty: u64,
}

impl EmbeddedWarehouse {
    /// The warehouse over the embedded database `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The stock lines and units, counted in the database.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`] with the database's error.
    pub async fn stock_summary(&self) -> Result<StockSummary, WmsError> {
        self.db
            .call(|c| {
                c.query_row(
                    "SELECT count(*), COALESCE(SUM(quantity), 0), COALESCE(SUM(quantity = 0), 0)
                     FROM inventory",
                    [],
                    |r| {
                        Ok(StockSummary {
                            lines: r.get(0)?,
                            units: r.get(1)?,
                            empty: r.get(2)?,
                        })
                    },
                )
            })
            .await
            .map_err(map)
    }
}

#[async_trait]
impl Inventory for EmbeddedWarehouse {
    /// Sets the stock of each (hub, sku) in `lines` (others are left as they are),
    /// in one transaction.
    ///
    /// # Errors
    /// The database's error; nothing is changed then.
    async fn load(&self, lines: Vec<Stock>) -> Result<usize, WmsError> {
        self.db
            .call(move |c| {
                write(c, |c| {
                    let mut up = c.prepare_cached(
                        "INSERT INTO inventory (hub_id, sku_id, quantity) VALUES (?1, ?2, ?3)
                         ON CONFLICT(hub_id, sku_id) DO UPDATE SET quantity = excluded.quantity",
                    )?;
                    for l in &lines {
                        up.execute(params![l.hub_id.as_str(), l.sku_id.as_str(), l.quantity])?;
                    }
                    Ok(lines.len())
                })
            })
            .await
            .map_err(map)
    }

    /// All stock lines, by hub then SKU.
    ///
    /// # Errors
    /// The database's error.
    async fn list(&self) -> Result<Vec<Stock>, WmsError> {
        self.db
            .call(|c| {
                c.prepare("SELECT hub_id, sku_id, quantity FROM inventory ORDER BY hub_id, sku_id")?
                    .query_map([], |r| {
                        let hub: String = r.get(0)?;
                        let sku: String = r.get(1)?;
                        let stored = |e: crate::domain::FieldError| {
                            rusqlite::Error::FromSqlConversionFailure(
                                0,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        };
                        Ok(Stock {
                            hub_id: HubId::parse(&hub).map_err(stored)?,
                            sku_id: SkuId::parse(&sku).map_err(stored)?,
                            quantity: r.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(map)
    }

    async fn deduct(&self, hub: &HubId, sku: &SkuId, qty: Quantity) -> Result<Deduction, WmsError> {
        let (h, s, q) = (hub.to_string(), sku.to_string(), qty.get());
        self.db
            .call(move |c| {
                if c.prepare_cached(TAKE)?.execute(params![h, s, q])? > 0 {
                    return Ok(Deduction::Done);
                }
                let exists: bool = c
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM inventory WHERE hub_id = ?1 AND sku_id = ?2)",
                    )?
                    .query_row(params![h, s], |r| r.get(0))?;
                Ok(if exists {
                    Deduction::Insufficient
                } else {
                    Deduction::NotFound
                })
            })
            .await
            .map_err(map)
    }
}

#[async_trait]
impl Warehouse for EmbeddedWarehouse {
    async fn validate(&self, hub: &HubId, sku: &SkuId) -> Result<Validation, WmsError> {
        let one = [(hub.clone(), sku.clone())];
        Ok(self.validate_many(&one).await?.remove(0))
    }

    /// Every pair in one database call; each hub and SKU looked up once.
    async fn validate_many(&self, pairs: &[(HubId, SkuId)]) -> Result<Vec<Validation>, WmsError> {
        let pairs = pairs.to_vec();
        self.db
            .call(move |c| {
                let mut hubs: HashMap<HubId, bool> = HashMap::new();
                let mut skus: HashMap<SkuId, bool> = HashMap::new();
                let mut hub_q =
                    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM inventory WHERE hub_id = ?1)")?;
                let mut sku_q =
                    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM inventory WHERE sku_id = ?1)")?;
                let mut out = Vec::with_capacity(pairs.len());
                for (h, s) in &pairs {
                    let hub_known = match hubs.get(h) {
                        Some(&k) => k,
                        None => {
                            let k = hub_q.query_row(params![h.as_str()], |r| r.get(0))?;
                            hubs.insert(h.clone(), k);
                            k
                        }
                    };
                    let sku_known = match skus.get(s) {
                        Some(&k) => k,
                        None => {
                            let k = sku_q.query_row(params![s.as_str()], |r| r.get(0))?;
                            skus.insert(s.clone(), k);
                            k
                        }
                    };
                    out.push(match (hub_known, sku_known) {
                        (true, true) => Validation::Known,
                        (false, true) => {
                            Validation::Unknown(format!("hub_id {h} is not known to the warehouse"))
                        }
                        (true, false) => {
                            Validation::Unknown(format!("sku_id {s} is not known to the warehouse"))
                        }
                        (false, false) => Validation::Unknown(format!(
                            "hub_id {h} and sku_id {s} are not known to the warehouse"
                        )),
                    });
                }
                Ok(out)
            })
            .await
            .map_err(map)
    }

    async fn reserve(&self, key: &OrderKey, items: &[OrderItem]) -> Result<Reservation, WmsError> {
        let one = [(key.clone(), items.to_vec())];
        Ok(self.reserve_many(&one).await?.remove(0))
    }

    /// Every order in one database call and one transaction (or savepoint of the unit
    /// of work), which holds the write lock throughout, so nothing else changes the
    /// stock meanwhile: each (hub, sku) is read once, the orders are decided one after
    /// the other against what is left, and each (hub, sku) is deducted once at the end
    /// (by the batch's total, still as a conditional update).
    async fn reserve_many(
        &self,
        orders: &[(OrderKey, Vec<OrderItem>)],
    ) -> Result<Vec<Reservation>, WmsError> {
        let orders = orders.to_vec();
        self.db
            .call(move |c| write(c, |c| reserve_all(c, &orders, &now_rfc3339())))
            .await
            .map_err(map)
    }
}

/// Stock left per (hub, sku) while a batch is decided (`None`: no such line), keyed
/// by the batch's own ids.
type Levels<'a> = HashMap<(&'a HubId, &'a SkuId), Option<i64>>;

/// Decides and records every order of a batch on `c`, which must hold the write lock.
fn reserve_all(
    c: &rusqlite::Connection,
    orders: &[(OrderKey, Vec<OrderItem>)],
    at: &str,
) -> rusqlite::Result<Vec<Reservation>> {
    let mut levels = read_levels(c, orders)?;
    let mut taken: HashMap<(&HubId, &SkuId), i64> = HashMap::new();
    let mut out = Vec::with_capacity(orders.len());
    // Prepared once for the batch, not looked up in the cache once per order.
    let mut stmts = Stmts {
        have: c
            .prepare_cached("SELECT quantity FROM inventory WHERE hub_id = ?1 AND sku_id = ?2")?,
        insert: c.prepare_cached(
            "INSERT INTO reservations (seller_id, order_id, items, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (seller_id, order_id) DO NOTHING",
        )?,
    };
    for (key, items) in orders {
        let r = reserve_one(c, &mut stmts, key, items, at, &mut levels)?;
        if r == Reservation::Reserved {
            for it in items {
                *taken.entry((&it.hub_id, &it.sku_id)).or_insert(0) += it.quantity.get();
            }
        }
        out.push(r);
    }
    let mut take = c.prepare_cached(TAKE)?;
    for ((hub, sku), q) in &taken {
        if take.execute(params![hub.as_str(), sku.as_str(), q])? == 0 {
            // Impossible while the write lock is held; the caller's transaction rolls
            // the whole batch back.
            return Err(rusqlite::Error::ToSqlConversionFailure(
                format!("stock of {hub}/{sku} changed under the write lock").into(),
            ));
        }
    }
    Ok(out)
}

/// A batch naming at least this many distinct (hub, sku) reads the whole stock in one
/// scan, when the stock has no more than [`SCAN_LINES_PER_PAIR`] lines per such pair:
/// cheaper then than one look-up per pair.
const SCAN_MIN_PAIRS: usize = 256;
const SCAN_LINES_PER_PAIR: usize = 8;

/// The stock of every (hub, sku) of `orders`, from one scan of the stock when that is
/// the cheaper way (see [`SCAN_MIN_PAIRS`]); otherwise none yet, each read when first
/// needed.
fn read_levels<'a>(
    c: &rusqlite::Connection,
    orders: &'a [(OrderKey, Vec<OrderItem>)],
) -> rusqlite::Result<Levels<'a>> {
    let pairs: HashSet<(&HubId, &SkuId)> = orders
        .iter()
        .flat_map(|(_, items)| items.iter().map(|it| (&it.hub_id, &it.sku_id)))
        .collect();
    let mut levels = Levels::with_capacity(pairs.len());
    if pairs.len() < SCAN_MIN_PAIRS {
        return Ok(levels);
    }
    let lines: i64 = c
        .prepare_cached("SELECT count(*) FROM inventory")?
        .query_row([], |r| r.get(0))?;
    if usize::try_from(lines).unwrap_or(usize::MAX) > pairs.len() * SCAN_LINES_PER_PAIR {
        return Ok(levels);
    }
    let wanted: HashMap<(&str, &str), (&HubId, &SkuId)> = pairs
        .iter()
        .map(|&(h, s)| ((h.as_str(), s.as_str()), (h, s)))
        .collect();
    let mut q = c.prepare_cached("SELECT hub_id, sku_id, quantity FROM inventory")?;
    let mut rows = q.query([])?;
    while let Some(r) = rows.next()? {
        let (hub, sku) = (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?);
        if let Some(&pair) = wanted.get(&(hub, sku)) {
            levels.insert(pair, Some(r.get(2)?));
        }
    }
    for pair in pairs {
        levels.entry(pair).or_insert(None);
    }
    Ok(levels)
}

/// Takes `?3` of one (`?1` hub, `?2` sku) if that much is there: a conditional update,
/// so stock never goes below zero whoever else writes; 0 rows changed when it was not.
const TAKE: &str = "UPDATE inventory SET quantity = quantity - ?3
                    WHERE hub_id = ?1 AND sku_id = ?2 AND quantity >= ?3";

/// Decides one order against `levels` (read from `c` on first use) and, when it is
/// reserved, records it and lowers `levels`; the stock itself is deducted by the
/// caller.
/// The statements [`reserve_one`] runs for every order of a batch.
struct Stmts<'c> {
    have: rusqlite::CachedStatement<'c>,
    insert: rusqlite::CachedStatement<'c>,
}

fn reserve_one<'a>(
    c: &rusqlite::Connection,
    stmts: &mut Stmts<'_>,
    key: &OrderKey,
    items: &'a [OrderItem],
    at: &str,
    levels: &mut Levels<'a>,
) -> rusqlite::Result<Reservation> {
    let (s, o) = (key.seller_id.as_str(), key.order_id.as_str());
    // Whether the order is reserved already is asked only when the answer matters:
    // an order short of stock is told apart here, one with enough by the insert
    // below, which adds no second reservation.
    let reserved_already = || {
        c.prepare_cached("SELECT 1 FROM reservations WHERE seller_id = ?1 AND order_id = ?2")?
            .query_row(params![s, o], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    };
    // What the order takes of each (hub, sku); another client's order may name one
    // twice.
    let mut want: Vec<(&HubId, &SkuId, i64)> = Vec::with_capacity(items.len());
    for it in items {
        let q = it.quantity.get();
        match want
            .iter_mut()
            .find(|(h, s, _)| **h == it.hub_id && **s == it.sku_id)
        {
            Some(w) => w.2 = w.2.saturating_add(q),
            None => want.push((&it.hub_id, &it.sku_id, q)),
        }
    }
    for &(hub, sku, q) in &want {
        let pair = (hub, sku);
        let left = match levels.get(&pair) {
            Some(&l) => l,
            None => {
                let l = stmts
                    .have
                    .query_row(params![hub.as_str(), sku.as_str()], |r| r.get(0))
                    .optional()?;
                levels.insert(pair, l);
                l
            }
        };
        if left.is_none_or(|left| left < q) {
            if reserved_already()? {
                return Ok(Reservation::AlreadyReserved);
            }
            return Ok(Reservation::Insufficient {
                hub_id: hub.clone(),
                sku_id: sku.clone(),
            });
        }
    }
    let json = codec::items_json(items);
    let added = stmts.insert.execute(params![s, o, json, at])?;
    if added == 0 {
        return Ok(Reservation::AlreadyReserved);
    }
    for &(hub, sku, q) in &want {
        if let Some(Some(left)) = levels.get_mut(&(hub, sku)) {
            *left -= q;
        }
    }
    Ok(Reservation::Reserved)
}
