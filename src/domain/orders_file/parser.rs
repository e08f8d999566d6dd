//! The row rules: each data row checked field by field, rows of one order grouped into
//! its items (repeated (sku, hub) rows summed), an order with any bad row rejected whole.

use super::parsed::{ParsedOrders, RejectList};
use super::spill::{DraftReader, SpillArea, encode_draft};
use super::{Header, ItemRows, ParsedFile, is_blank};
use crate::domain::ids::{FieldError, HubId, OrderId, Quantity, SellerId, SkuId};
use crate::domain::order::Reject;
use csv::ByteRecord;
use std::hash::BuildHasher;
use std::io::{self, Write};

/// Seeded and fast: the parser hashes every row's order id, hub and SKU.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// An order while the file is read: its items so far and the reasons of its bad rows.
#[derive(Debug)]
pub(super) struct Draft {
    pub(super) order_id: OrderId,
    /// The data row (counted from 1) that first named the order: its place among the
    /// orders (several rows may share a file line).
    pub(super) first: u64,
    pub(super) items: Vec<DraftItem>,
    pub(super) rejects: Vec<Reject>,
}

/// An item while the file is read: its hub and SKU by number (see [`Names`]).
#[derive(Debug)]
pub(super) struct DraftItem {
    pub(super) hub: usize,
    pub(super) sku: usize,
    pub(super) quantity: Quantity,
    pub(super) rows: ItemRows,
}

/// Every distinct hub (or SKU) text of a file once; items refer to them by number.
#[derive(Debug)]
struct Names<T> {
    index: HashMap<Box<str>, usize>,
    values: Vec<T>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Self {
            index: HashMap::default(),
            values: Vec::new(),
        }
    }
}

impl<T> Names<T> {
    /// The number of `raw`'s value, parsing it the first time it is seen. Keyed by
    /// the trimmed text: ids are their trimmed text, so `" 7"` and `"7"` are one SKU.
    fn id(
        &mut self,
        raw: &str,
        parse: impl Fn(&str) -> Result<T, FieldError>,
    ) -> Result<usize, FieldError> {
        let raw = raw.trim();
        if let Some(&i) = self.index.get(raw) {
            return Ok(i);
        }
        let v = parse(raw)?;
        self.values.push(v);
        self.index.insert(raw.into(), self.values.len() - 1);
        Ok(self.values.len() - 1)
    }
}

/// Reads the rows of an order file one by one and groups them into orders, in memory
/// while they fit its budget and through a [`SpillArea`] beyond it.
pub struct OrderFileParser {
    seller: SellerId,
    header: Header,
    groups: Groups,
    /// Every hub and SKU of the file once: items share them.
    hubs: Names<HubId>,
    skus: Names<SkuId>,
    rows: u64,
    warnings: u64,
    /// Reasons of rows without an order id (kept here: they belong to no order).
    rejects: RejectList,
    /// Bytes the orders in memory take, about; past `limits.memory_bytes` they spill.
    used: usize,
    limits: Limits,
    spill: Option<Spill>,
}

impl std::fmt::Debug for OrderFileParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderFileParser")
            .field("rows", &self.rows)
            .field("orders_in_memory", &self.groups.drafts.len())
            .field("spilling", &self.spill.as_ref().is_some_and(|s| s.active))
            .finish_non_exhaustive()
    }
}

/// Orders by order id, in order of first appearance.
#[derive(Debug, Default)]
pub(super) struct Groups {
    pub(super) drafts: Vec<Draft>,
    index: HashMap<OrderId, usize>,
}

impl Groups {
    /// The slot of `order_id`'s draft (a new one when it is not there yet).
    fn slot(&mut self, order_id: &OrderId, first: u64) -> (usize, bool) {
        if let Some(&i) = self.index.get(order_id) {
            return (i, false);
        }
        self.drafts.push(Draft {
            order_id: order_id.clone(),
            first,
            items: Vec::new(),
            rejects: Vec::new(),
        });
        self.index.insert(order_id.clone(), self.drafts.len() - 1);
        (self.drafts.len() - 1, true)
    }
}

/// How much a parse may hold in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of orders held while the file is read; beyond them rows go to the spill
    /// area, and are grouped from there a part at a time.
    pub memory_bytes: usize,
    /// Reasons kept (the first by line); the rest are counted in one last reason.
    pub rejects: usize,
}

impl Limits {
    /// No limit: everything in memory, every reason kept.
    pub const NONE: Limits = Limits {
        memory_bytes: usize::MAX,
        rejects: usize::MAX,
    };
}

/// Spill partitions: an order's rows all go to the one its id hashes to.
pub(super) const PARTITIONS: usize = 128;

/// The spill area and, once the budget is passed, a writer per partition.
struct Spill {
    area: Box<dyn SpillArea>,
    active: bool,
    writers: Vec<Box<dyn Write + Send>>,
    hasher: foldhash::fast::FixedState,
    buf: Vec<u8>,
    error: Option<io::Error>,
}

impl Spill {
    fn write(&mut self, d: &Draft) {
        if self.error.is_some() {
            return;
        }
        let p = (self.hasher.hash_one(d.order_id.as_str()) % PARTITIONS as u64) as usize;
        self.buf.clear();
        encode_draft(&mut self.buf, d);
        if let Err(e) = self.writers[p].write_all(&self.buf) {
            self.error = Some(e);
        }
    }
}

// What the orders in memory take, about: the structures and their heap parts, with
// the slack of growing vectors (half again, on average) and of the index (an entry per
// order at most 7/8 full, a table of twice the entries while it grows), measured
// against the peak RSS of ingest at 1M and 10M rows (scripts/bench).
const DRAFT_BYTES: usize = std::mem::size_of::<Draft>() * 3 / 2
    + 2 * (std::mem::size_of::<OrderId>() + std::mem::size_of::<usize>())
    + 32;
const ITEM_BYTES: usize = std::mem::size_of::<DraftItem>() * 3 / 2;
const ROW_BYTES: usize = 16;
const REJECT_BYTES: usize = std::mem::size_of::<Reject>() + 64;

pub(super) fn reject(
    row: u64,
    order: Option<&str>,
    column: &str,
    why: impl Into<String>,
) -> Reject {
    Reject {
        row: Some(row),
        order_id: order.map(str::to_owned),
        column: Some(column.to_owned()),
        reason: why.into(),
    }
}

/// Adds a valid row's (hub, sku, quantity) to `draft`: summed into its item of the
/// same (sku, hub) (a warning), or a new item. Gives the bytes it took.
fn add_item(
    draft: &mut Draft,
    item: DraftItem,
    warnings: &mut u64,
    hubs: &[HubId],
    skus: &[SkuId],
) -> usize {
    let line = item.rows.last().copied().unwrap_or_default();
    if let Some(it) = draft
        .items
        .iter_mut()
        .find(|it| it.sku == item.sku && it.hub == item.hub)
    {
        *warnings += 1;
        it.rows.extend(item.rows);
        match it.quantity.checked_add(item.quantity) {
            Some(q) => it.quantity = q,
            None => draft.rejects.push(reject(
                line,
                Some(draft.order_id.as_str()),
                "quantity",
                format!(
                    "quantity: the sum of the rows for sku {} at hub {} is too large",
                    skus[item.sku], hubs[item.hub]
                ),
            )),
        }
        ROW_BYTES
    } else {
        draft.items.push(item);
        ITEM_BYTES
    }
}

impl OrderFileParser {
    /// A parser of the rows under `header`, for `seller`'s file, holding everything in
    /// memory.
    pub fn new(header: Header, seller: SellerId) -> Self {
        Self::with_limits(header, seller, Limits::NONE, None)
    }

    /// A parser that holds about `limits.memory_bytes` of orders and spills the rest
    /// to `spill` (with no area, everything stays in memory).
    pub fn with_limits(
        header: Header,
        seller: SellerId,
        limits: Limits,
        spill: Option<Box<dyn SpillArea>>,
    ) -> Self {
        Self {
            seller,
            header,
            groups: Groups::default(),
            hubs: Names::default(),
            skus: Names::default(),
            rows: 0,
            warnings: 0,
            rejects: RejectList::new(limits.rejects),
            used: 0,
            limits,
            spill: spill.map(|area| Spill {
                area,
                active: false,
                writers: Vec::new(),
                hasher: foldhash::fast::FixedState::with_seed(0x5eed),
                buf: Vec::new(),
                error: None,
            }),
        }
    }

    /// Takes one data row that starts on file line `line`.
    pub fn push(&mut self, line: u64, rec: &ByteRecord) {
        if is_blank(rec) {
            return;
        }
        self.rows += 1;
        let h = self.header;
        let mut errs: Vec<(&'static str, String)> = Vec::new();
        let mut text = |idx: usize, col: &'static str| -> Option<&str> {
            match std::str::from_utf8(rec.get(idx).unwrap_or_default()) {
                Ok(s) => Some(s),
                Err(_) => {
                    errs.push((col, "is not valid UTF-8".into()));
                    None
                }
            }
        };
        let order_raw = text(h.order_id, "order_id");
        let sku_raw = text(h.sku_id, "sku_id");
        let qty_raw = text(h.quantity, "quantity");
        let seller_raw = text(h.seller_id, "seller_id");
        let hub_raw = text(h.hub_id, "hub_id");

        fn field<T>(
            r: Result<T, FieldError>,
            col: &'static str,
            errs: &mut Vec<(&'static str, String)>,
        ) -> Option<T> {
            match r {
                Ok(v) => Some(v),
                Err(e) => {
                    errs.push((col, format!("{col} {e}")));
                    None
                }
            }
        }
        let order_id = order_raw.and_then(|s| field(OrderId::parse(s), "order_id", &mut errs));
        let sku = sku_raw.and_then(|s| field(self.skus.id(s, SkuId::parse), "sku_id", &mut errs));
        let qty = qty_raw.and_then(|s| field(Quantity::parse(s), "quantity", &mut errs));
        let hub = hub_raw.and_then(|s| field(self.hubs.id(s, HubId::parse), "hub_id", &mut errs));
        if let Some(s) = seller_raw {
            let s = s.trim();
            if !s.is_empty() && !self.seller.same_as(s) {
                errs.push((
                    "seller_id",
                    format!(
                        "seller_id {:?} is not the submitting seller {}",
                        cut(s),
                        self.seller
                    ),
                ));
            }
        }
        // Non-UTF-8 messages name the column too.
        let errs: Vec<Reject> = errs
            .into_iter()
            .map(|(col, why)| {
                let why = if why.starts_with(col) {
                    why
                } else {
                    format!("{col} {why}")
                };
                reject(line, order_id.as_ref().map(OrderId::as_str), col, why)
            })
            .collect();

        let Some(order_id) = order_id else {
            // A row without a usable order id belongs to no order: rejected alone.
            for r in errs {
                self.rejects.push(r, 0, 0);
            }
            return;
        };
        let item = errs.is_empty().then(|| DraftItem {
            hub: hub.expect("valid"),
            sku: sku.expect("valid"),
            quantity: qty.expect("valid"),
            rows: smallvec::smallvec![line],
        });
        if let Some(spill) = self.spill.as_mut().filter(|s| s.active) {
            // Past the budget: the row goes to its order's partition as it is.
            spill.write(&Draft {
                order_id,
                first: self.rows,
                items: item.into_iter().collect(),
                rejects: errs,
            });
            return;
        }
        let (slot, new) = self.groups.slot(&order_id, self.rows);
        if new {
            self.used += DRAFT_BYTES + order_id.as_str().len();
        }
        let draft = &mut self.groups.drafts[slot];
        match item {
            None => {
                self.used += errs.len() * REJECT_BYTES;
                draft.rejects.extend(errs);
            }
            Some(item) => {
                self.used += add_item(
                    draft,
                    item,
                    &mut self.warnings,
                    &self.hubs.values,
                    &self.skus.values,
                );
            }
        }
        if self.used > self.limits.memory_bytes && self.spill.is_some() {
            self.start_spilling();
        }
    }

    /// The budget is passed: every order so far goes to its partition, and from now
    /// on every row does.
    fn start_spilling(&mut self) {
        let spill = self.spill.as_mut().expect("an area");
        spill.active = true;
        for p in 0..PARTITIONS {
            match spill.area.create(p) {
                Ok(w) => spill.writers.push(w),
                Err(e) => {
                    spill.error = Some(e);
                    return;
                }
            }
        }
        for d in std::mem::take(&mut self.groups).drafts {
            spill.write(&d);
        }
        self.used = 0;
    }

    /// Ends the file: orders with any invalid row are rejected whole (their valid rows
    /// are listed too, so a seller can fix and resubmit the whole order).
    pub fn finish(self) -> ParsedFile {
        self.finish_orders()
            .and_then(ParsedOrders::into_file)
            .expect("in memory: nothing to read back")
    }

    /// Ends the file, as [`OrderFileParser::finish`], with the orders left where they
    /// are: in memory, or grouped a partition at a time into the spill area.
    ///
    /// # Errors
    /// The spill area failed.
    pub fn finish_orders(mut self) -> io::Result<ParsedOrders> {
        // The lookups are done with: free them before the orders are built.
        drop(std::mem::take(&mut self.groups.index));
        drop(std::mem::take(&mut self.hubs.index));
        drop(std::mem::take(&mut self.skus.index));
        let (hubs, skus) = (self.hubs.values, self.skus.values);
        let mut out = ParsedOrders::new(
            self.seller,
            hubs,
            skus,
            self.rows,
            self.warnings,
            self.rejects,
        );
        match self.spill {
            Some(mut spill) if spill.active => {
                if let Some(e) = spill.error.take() {
                    return Err(e);
                }
                for mut w in std::mem::take(&mut spill.writers) {
                    w.flush()?;
                }
                let mut area = spill.area;
                for p in 0..PARTITIONS {
                    let mut groups = Groups::default();
                    let mut r = DraftReader::new(area.open(p)?);
                    while let Some(d) = r.next_draft()? {
                        out.regroup(&mut groups, d);
                    }
                    drop(groups.index);
                    let mut w = area.create(PARTITIONS + p)?;
                    let mut buf = Vec::new();
                    for d in groups.drafts {
                        if let Some(d) = out.settle(d) {
                            buf.clear();
                            encode_draft(&mut buf, &d);
                            w.write_all(&buf)?;
                        }
                    }
                    w.flush()?;
                }
                out.set_spilled(area);
            }
            _ => {
                let drafts = self.groups.drafts;
                let kept = drafts.into_iter().filter_map(|d| out.settle(d)).collect();
                out.set_in_memory(kept);
            }
        }
        Ok(out)
    }
}

/// Merges a spilled record into `groups`: a whole order spilled at the budget (the
/// first record of its order in its partition), or one row.
pub(super) fn merge(
    groups: &mut Groups,
    d: Draft,
    warnings: &mut u64,
    hubs: &[HubId],
    skus: &[SkuId],
) {
    let (slot, new) = groups.slot(&d.order_id, d.first);
    if new {
        groups.drafts[slot] = d;
        return;
    }
    let draft = &mut groups.drafts[slot];
    draft.rejects.extend(d.rejects);
    for item in d.items {
        add_item(draft, item, warnings, hubs, skus);
    }
}

/// Settles one grouped order: `Some` of it when all its rows are valid; otherwise its
/// reasons (and a reason for each of its valid rows) go to `rejects`.
pub(super) fn settle(
    d: Draft,
    rejects: &mut RejectList,
    orders_rejected: &mut u64,
) -> Option<Draft> {
    if d.rejects.is_empty() {
        return Some(d);
    }
    *orders_rejected += 1;
    let bad_rows: Vec<String> = d
        .rejects
        .iter()
        .filter_map(|r| r.row)
        .map(|r| r.to_string())
        .collect();
    let mut all = d.rejects;
    // Its valid rows: those summed into its items.
    for row in d.items.iter().flat_map(|it| it.rows.iter().copied()) {
        all.push(Reject {
            row: Some(row),
            order_id: Some(d.order_id.to_string()),
            column: None,
            reason: format!(
                "order {} is rejected whole: invalid row(s) {}",
                d.order_id,
                dedup_join(&bad_rows)
            ),
        });
    }
    all.sort_by_key(|r| r.row);
    for r in all {
        rejects.push(r, 1, d.first);
    }
    None
}

fn dedup_join(rows: &[String]) -> String {
    let mut v: Vec<&String> = rows.iter().collect();
    v.dedup();
    v.into_iter().cloned().collect::<Vec<_>>().join(", ")
}

fn cut(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
    }
}
