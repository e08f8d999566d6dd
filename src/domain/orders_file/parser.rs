//! The row rules: each data row checked field by field, rows of one order grouped into
//! its items (repeated (sku, hub) rows summed), an order with any bad row rejected whole.

use super::{Candidate, Header, ItemRows, ParsedFile, is_blank};
use crate::domain::ids::{FieldError, HubId, OrderId, Quantity, SellerId, SkuId};
use crate::domain::order::{NewOrder, OrderItem, Reject};
use csv::ByteRecord;

/// Seeded and fast: the parser hashes every row's order id, hub and SKU.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug)]
struct Draft {
    order_id: OrderId,
    items: Vec<DraftItem>,
    rejects: Vec<Reject>,
}

/// An item while the file is read: its hub and SKU by number (see [`Names`]).
#[derive(Debug)]
struct DraftItem {
    hub: usize,
    sku: usize,
    quantity: Quantity,
    rows: ItemRows,
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

/// Reads the rows of an order file one by one and groups them into orders.
#[derive(Debug)]
pub struct OrderFileParser {
    seller: SellerId,
    header: Header,
    drafts: Vec<Draft>,
    index: HashMap<OrderId, usize>,
    /// Every hub and SKU of the file once: items share them.
    hubs: Names<HubId>,
    skus: Names<SkuId>,
    out: ParsedFile,
}

fn reject(row: u64, order: Option<&str>, column: &str, why: impl Into<String>) -> Reject {
    Reject {
        row: Some(row),
        order_id: order.map(str::to_owned),
        column: Some(column.to_owned()),
        reason: why.into(),
    }
}

impl OrderFileParser {
    /// A parser of the rows under `header`, for `seller`'s file.
    pub fn new(header: Header, seller: SellerId) -> Self {
        Self {
            seller,
            header,
            drafts: Vec::new(),
            index: HashMap::default(),
            hubs: Names::default(),
            skus: Names::default(),
            out: ParsedFile::default(),
        }
    }

    /// Takes one data row that starts on file line `line`.
    pub fn push(&mut self, line: u64, rec: &ByteRecord) {
        if is_blank(rec) {
            return;
        }
        self.out.rows += 1;
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
            self.out.rejects.extend(errs);
            return;
        };
        let slot = match self.index.get(&order_id) {
            Some(&i) => i,
            None => {
                self.drafts.push(Draft {
                    order_id: order_id.clone(),
                    items: Vec::new(),
                    rejects: Vec::new(),
                });
                self.index.insert(order_id, self.drafts.len() - 1);
                self.drafts.len() - 1
            }
        };
        let draft = &mut self.drafts[slot];
        if !errs.is_empty() {
            draft.rejects.extend(errs);
            return;
        }
        let (sku, hub, qty) = (
            sku.expect("valid"),
            hub.expect("valid"),
            qty.expect("valid"),
        );
        if let Some(item) = draft
            .items
            .iter_mut()
            .find(|it| it.sku == sku && it.hub == hub)
        {
            self.out.warnings += 1;
            item.rows.push(line);
            match item.quantity.checked_add(qty) {
                Some(q) => item.quantity = q,
                None => draft.rejects.push(reject(
                    line,
                    Some(draft.order_id.as_str()),
                    "quantity",
                    format!(
                        "quantity: the sum of the rows for sku {} at hub {} is too large",
                        self.skus.values[sku], self.hubs.values[hub]
                    ),
                )),
            }
        } else {
            draft.items.push(DraftItem {
                hub,
                sku,
                quantity: qty,
                rows: smallvec::smallvec![line],
            });
        }
    }

    /// Ends the file: orders with any invalid row are rejected whole (their valid rows
    /// are listed too, so a seller can fix and resubmit the whole order).
    pub fn finish(mut self) -> ParsedFile {
        // The lookups are done with: free them before the orders are built.
        drop(std::mem::take(&mut self.index));
        drop(std::mem::take(&mut self.hubs.index));
        drop(std::mem::take(&mut self.skus.index));
        let (hubs, skus) = (&self.hubs.values, &self.skus.values);
        self.out.candidates.reserve_exact(self.drafts.len());
        for d in self.drafts {
            if d.rejects.is_empty() {
                let (items, item_rows) = d
                    .items
                    .into_iter()
                    .map(|it| {
                        let item = OrderItem {
                            sku_id: skus[it.sku].clone(),
                            hub_id: hubs[it.hub].clone(),
                            quantity: it.quantity,
                        };
                        (item, it.rows)
                    })
                    .unzip();
                self.out.candidates.push(Candidate {
                    order: NewOrder {
                        seller_id: self.seller.clone(),
                        order_id: d.order_id,
                        items,
                    },
                    item_rows,
                });
            } else {
                self.out.orders_rejected += 1;
                let bad_rows: Vec<String> = d
                    .rejects
                    .iter()
                    .filter_map(|r| r.row)
                    .map(|r| r.to_string())
                    .collect();
                let mut rejects = d.rejects;
                // Its valid rows: those summed into its items.
                for row in d.items.iter().flat_map(|it| it.rows.iter().copied()) {
                    rejects.push(Reject {
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
                rejects.sort_by_key(|r| r.row);
                self.out.rejects.extend(rejects);
            }
        }
        self.out.rejects.sort_by_key(|r| r.row);
        self.out
    }
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
