//! The fault suite's workloads: generated files with invalid orders mixed in, what each
//! file's job must report, and every broken invariant listed (instead of the first one
//! panicking) so a run reports them all.

use crate::support::{Items, Lcg, ORDERS_HEADER, Oms, Stock, Workload, generated_stock, stock_key};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

impl Lcg {
    /// A duration in [lo, hi], to the millisecond.
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = u64::try_from(hi.saturating_sub(lo).as_millis()).unwrap_or(u64::MAX - 1);
        lo + Duration::from_millis(self.below(span + 1))
    }
}

/// What one generated file must give once ingested: its rows, its valid and invalid
/// orders, and the line numbers its job must list as rejected.
#[derive(Debug, Clone)]
pub struct FileExpect {
    /// The path as submitted (`storage/NAME`).
    pub path: String,
    pub rows: u64,
    pub valid: BTreeSet<String>,
    pub invalid: BTreeSet<String>,
    pub reject_rows: BTreeSet<u64>,
}

/// How the stored orders settled, against a workload (see [`Workload::violations`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settled {
    pub stored: usize,
    pub new_order: usize,
    pub on_hold: usize,
    /// on_hold without a reason: never through fulfil.
    pub unsettled: usize,
}

impl Workload {
    /// `files` files of `per_file` valid orders (1-3 rows each, hubs 1-3, SKUs 1-8,
    /// the stock of [`Workload::new`]) and `invalid_per_file` invalid ones mixed in: a
    /// valid row plus one bad row (quantity 0, -2, 1.5 or `abc`, an empty sku_id: the
    /// whole order and both rows rejected by the parser; SKU 99 or hub 9: rejected by
    /// the warehouse, which lists only the unknown row). Files are written as
    /// `NAME-{i}.csv`; `orders` holds the valid orders only.
    pub fn with_invalid(
        seed: u64,
        name: &str,
        files: usize,
        per_file: usize,
        invalid_per_file: usize,
    ) -> (Self, Vec<FileExpect>) {
        let mut rng = Lcg::new(seed);
        let mut orders = BTreeMap::new();
        let mut texts = Vec::new();
        let mut expects = Vec::new();
        let mut id = 700_000u64;
        for i in 0..files {
            let mut t = String::from(ORDERS_HEADER);
            let mut line = 1u64;
            let mut e = FileExpect {
                path: format!("storage/{name}-{i}.csv"),
                rows: 0,
                valid: BTreeSet::new(),
                invalid: BTreeSet::new(),
                reject_rows: BTreeSet::new(),
            };
            let total = per_file + invalid_per_file;
            let mut invalid_left = invalid_per_file;
            for n in 0..total {
                id += 1;
                let left = (total - n) as u64;
                let bad = invalid_left > 0 && rng.below(left) < invalid_left as u64;
                let (sku, hub, qty) = (rng.below(8) + 1, rng.below(3) + 1, rng.below(3) + 1);
                if bad {
                    invalid_left -= 1;
                    e.invalid.insert(id.to_string());
                    let kind = rng.below(7);
                    let bad_row = match kind {
                        0 => format!("{id},{sku},0,1,{hub}"),
                        1 => format!("{id},{sku},-2,1,{hub}"),
                        2 => format!("{id},{sku},1.5,1,{hub}"),
                        3 => format!("{id},{sku},abc,1,{hub}"),
                        4 => format!("{id},,{qty},1,{hub}"),
                        5 => format!("{id},99,{qty},1,{hub}"),
                        _ => format!("{id},{sku},{qty},1,9"),
                    };
                    let good_row = format!("{id},{sku},{qty},1,{hub}");
                    let bad_first = rng.below(2) == 0;
                    let (first, second) = if bad_first {
                        (&bad_row, &good_row)
                    } else {
                        (&good_row, &bad_row)
                    };
                    t.push_str(&format!("{first}\n{second}\n"));
                    let (l1, l2) = (line + 1, line + 2);
                    line += 2;
                    if kind <= 4 {
                        e.reject_rows.extend([l1, l2]);
                    } else {
                        e.reject_rows.insert(if bad_first { l1 } else { l2 });
                    }
                    continue;
                }
                let mut items = Items::new();
                for r in 0..=rng.below(3) {
                    let (sku, hub, qty) = if r == 0 {
                        (sku, hub, qty)
                    } else {
                        (rng.below(8) + 1, rng.below(3) + 1, rng.below(3) + 1)
                    };
                    t.push_str(&format!("{id},{sku},{qty},1,{hub}\n"));
                    line += 1;
                    *items.entry((hub.to_string(), sku.to_string())).or_insert(0) +=
                        i64::try_from(qty).expect("small");
                }
                e.valid.insert(id.to_string());
                orders.insert(id.to_string(), items);
            }
            e.rows = line - 1;
            texts.push(t);
            expects.push(e);
        }
        let w = Self {
            files: texts,
            orders,
            stock: generated_stock(),
        };
        (w, expects)
    }

    /// Writes each file at its path of `expects` into `oms`'s storage root.
    pub fn write_files(&self, oms: &Oms, expects: &[FileExpect]) {
        for (text, e) in self.files.iter().zip(expects) {
            let name = e.path.strip_prefix("storage/").expect("a storage path");
            oms.write(name, text);
        }
    }

    /// [`Workload::assert_outcome`] without panicking: every broken rule is a line of
    /// the list (empty when all holds), so a run can report them all at once.
    pub fn violations(&self, orders: &[Value], remaining: &Stock) -> (Vec<String>, Settled) {
        let mut v = Vec::new();
        let mut out = Settled {
            stored: orders.len(),
            ..Settled::default()
        };
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut used: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut held = Vec::new();
        let str_of = |x: &Value| x.as_str().unwrap_or("").to_owned();
        for o in orders {
            let (seller, id) = (str_of(&o["seller_id"]), str_of(&o["order_id"]));
            *seen.entry((seller.clone(), id.clone())).or_insert(0) += 1;
            if seller != "1" {
                v.push(format!("order {id} is stored for seller {seller:?}"));
            }
            let Some(want) = self.orders.get(&id) else {
                v.push(format!(
                    "order {id} is stored but was not a valid submitted order"
                ));
                continue;
            };
            let mut got = Items::new();
            for it in o["items"].as_array().map_or(&[][..], Vec::as_slice) {
                *got.entry(stock_key(&str_of(&it["hub_id"]), &str_of(&it["sku_id"])))
                    .or_insert(0) += it["quantity"].as_i64().unwrap_or(i64::MIN / 4);
            }
            if &got != want {
                v.push(format!("order {id}: items {got:?}, submitted {want:?}"));
            }
            match (o["status"].as_str(), o["reason"].as_str()) {
                (Some("new_order"), None) => {
                    out.new_order += 1;
                    for (k, q) in &got {
                        *used.entry(k.clone()).or_insert(0) += q;
                    }
                }
                (Some("on_hold"), Some("insufficient_inventory")) => {
                    out.on_hold += 1;
                    held.push((id, got));
                }
                (Some("on_hold"), None) => out.unsettled += 1,
                other => v.push(format!("order {id} is {other:?}")),
            }
        }
        for ((seller, id), times) in &seen {
            if *times > 1 {
                v.push(format!("order ({seller}, {id}) is stored {times} times"));
            }
        }
        if out.unsettled > 0 {
            v.push(format!(
                "{} orders are on_hold without a reason (never through fulfil)",
                out.unsettled
            ));
        }
        let missing: Vec<&String> = self
            .orders
            .keys()
            .filter(|id| !seen.contains_key(&("1".to_owned(), (*id).clone())))
            .collect();
        if !missing.is_empty() {
            v.push(format!(
                "{} valid orders were never stored (first: {:?})",
                missing.len(),
                &missing[..missing.len().min(5)]
            ));
        }
        if remaining.keys().collect::<Vec<_>>() != self.stock.keys().collect::<Vec<_>>() {
            v.push(format!(
                "the stock lines are {:?}",
                remaining.keys().collect::<Vec<_>>()
            ));
        }
        for (k, initial) in &self.stock {
            let Some(&left) = remaining.get(k) else {
                continue;
            };
            let taken = used.get(k).copied().unwrap_or(0);
            if left < 0 {
                v.push(format!("{k:?} is below zero: {left}"));
            }
            if *initial != left + taken {
                v.push(format!(
                    "{k:?}: initial {initial} != remaining {left} + new_order items {taken} \
                     (deducted {} times what new_order orders hold)",
                    if initial - left > taken {
                        "more"
                    } else {
                        "less"
                    }
                ));
            }
        }
        // Stock only goes down, so an order held for lack of stock still lacks it.
        for (id, items) in &held {
            if items
                .iter()
                .all(|(k, q)| remaining.get(k).is_some_and(|left| left >= q))
            {
                v.push(format!(
                    "order {id} is on_hold although every item is in stock: {items:?}"
                ));
            }
        }
        (v, out)
    }
}
