//! Generated workloads: many order files (seeded, so a seed gives the same files) over
//! a stock where some (hub, SKU) pairs are scarce, and the check that after ingest and
//! fulfil nothing was lost, stored twice, oversold or deducted twice.

use super::{Oms, Stock, s, stock_key};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The header row of an order file.
pub const ORDERS_HEADER: &str = "order_id,sku_id,quantity,seller_id,hub_id\n";

/// A small seeded generator (a 64-bit linear congruential one, its top bits): the same
/// seed gives the same numbers.
pub struct Lcg(u64);

impl Lcg {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in 0..m (`m` above 0).
    pub fn below(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % m
    }
}

/// (hub, sku) -> quantity of one order.
pub type Items = BTreeMap<(String, String), i64>;

/// Generated order files over a generated stock, and what they must give.
pub struct Workload {
    /// CSV text of each file.
    pub files: Vec<String>,
    /// Every order of every file, all valid for seller 1.
    pub orders: BTreeMap<String, Items>,
    /// The stock the files are fulfilled from.
    pub stock: Stock,
}

impl Workload {
    /// `files` files of `per_file` orders, 1-3 rows each, over hubs 1-3 and SKUs 1-8;
    /// a quarter of the (hub, sku) pairs are scarce, a quarter short, the rest plenty.
    pub fn new(seed: u64, files: usize, per_file: usize) -> Self {
        let mut rng = Lcg::new(seed);
        let mut orders = BTreeMap::new();
        let mut texts = Vec::new();
        let mut id = 500_000;
        for _ in 0..files {
            let mut t = String::from(ORDERS_HEADER);
            for _ in 0..per_file {
                id += 1;
                let mut items = Items::new();
                for _ in 0..=rng.below(3) {
                    let (sku, hub, qty) = (rng.below(8) + 1, rng.below(3) + 1, rng.below(3) + 1);
                    t.push_str(&format!("{id},{sku},{qty},1,{hub}\n"));
                    *items.entry((hub.to_string(), sku.to_string())).or_insert(0) +=
                        i64::try_from(qty).expect("small");
                }
                orders.insert(id.to_string(), items);
            }
            texts.push(t);
        }
        Self {
            files: texts,
            orders,
            stock: generated_stock(),
        }
    }

    /// The stock as an inventory file.
    pub fn inventory_csv(&self) -> String {
        let mut t = String::from("hub_id,sku_id,quantity\n");
        for ((hub, sku), q) in &self.stock {
            t.push_str(&format!("{hub},{sku},{q}\n"));
        }
        t
    }

    /// Writes the inventory and the order files into the storage root, loads the
    /// inventory; gives the order files' names.
    pub fn install(&self, oms: &Oms) -> Vec<String> {
        self.install_apart(oms, oms)
    }

    /// Loads the inventory into `warehouse`'s data dir and writes the order files into
    /// `oms`'s storage root; gives the order files' names.
    pub fn install_apart(&self, oms: &Oms, warehouse: &Oms) -> Vec<String> {
        self.load_stock(warehouse);
        self.files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let name = format!("gen-orders-{i}.csv");
                oms.write(&name, text);
                format!("storage/{name}")
            })
            .collect()
    }

    /// Loads the workload's stock into `warehouse`'s data dir (`oms inventory load`).
    pub fn load_stock(&self, warehouse: &Oms) {
        let inv = warehouse.write("gen-inventory.csv", &self.inventory_csv());
        warehouse.ok(&["inventory", "load", inv.to_str().expect("UTF-8 path")]);
    }

    /// Orders not yet through fulfil (on_hold without a reason).
    pub fn unsettled(orders: &[Value]) -> usize {
        orders
            .iter()
            .filter(|o| o["status"] == "on_hold" && o["reason"].is_null())
            .count()
    }

    /// Every order stored exactly once with its items; each one new_order, or on_hold
    /// for insufficient inventory; and for every (hub, sku) the stock that is gone is
    /// exactly what the new_order orders hold. Gives (new_order, on_hold).
    pub fn assert_consistent(&self, oms: &Oms) -> (usize, usize) {
        self.assert_outcome(&oms.orders(), &oms.stock())
    }

    /// [`Workload::assert_consistent`] over orders and a remaining stock read elsewhere
    /// (a store and a warehouse of their own).
    pub fn assert_outcome(&self, orders: &[Value], remaining: &Stock) -> (usize, usize) {
        let ids: Vec<(String, String)> = orders
            .iter()
            .map(|o| (s(&o["seller_id"]), s(&o["order_id"])))
            .collect();
        let distinct: BTreeSet<&(String, String)> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "an order is stored twice");
        assert!(
            ids.iter().all(|(seller, _)| seller == "1"),
            "every order is seller 1's"
        );
        assert_eq!(
            ids.len(),
            self.orders.len(),
            "orders stored: {} of {}",
            ids.len(),
            self.orders.len()
        );

        let mut used: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut held = Vec::new();
        let (mut new_order, mut on_hold) = (0, 0);
        for o in orders {
            let id = s(&o["order_id"]);
            let want = self
                .orders
                .get(&id)
                .unwrap_or_else(|| panic!("order {id} was never submitted"));
            let mut got = Items::new();
            for it in o["items"].as_array().expect("items") {
                *got.entry(stock_key(&s(&it["hub_id"]), &s(&it["sku_id"])))
                    .or_insert(0) += it["quantity"].as_i64().expect("a quantity");
            }
            assert_eq!(&got, want, "items of order {id}");
            match (o["status"].as_str(), o["reason"].as_str()) {
                (Some("new_order"), None) => {
                    new_order += 1;
                    for (k, q) in &got {
                        *used.entry(k.clone()).or_insert(0) += q;
                    }
                }
                (Some("on_hold"), Some("insufficient_inventory")) => {
                    on_hold += 1;
                    held.push(got);
                }
                other => panic!("order {id} is {other:?}"),
            }
        }

        assert_eq!(
            remaining.keys().collect::<Vec<_>>(),
            self.stock.keys().collect::<Vec<_>>(),
            "the stock lines"
        );
        for (k, initial) in &self.stock {
            let left = remaining[k];
            let taken = used.get(k).copied().unwrap_or(0);
            assert!(left >= 0, "{k:?} is below zero: {left}");
            assert_eq!(
                *initial,
                left + taken,
                "{k:?}: initial {initial} != remaining {left} + new_order items {taken}"
            );
        }
        // Stock only goes down, so an order held for lack of stock still lacks it.
        for items in &held {
            assert!(
                items.iter().any(|(k, q)| remaining[k] < *q),
                "an order is on_hold although every item is in stock: {items:?}"
            );
        }
        (new_order, on_hold)
    }
}

/// The (hub, sku) stock of the generated workloads: hubs 1-3 × SKUs 1-8; a quarter of
/// the pairs scarce (25), a quarter short (300), the rest plenty.
pub fn generated_stock() -> Stock {
    let mut stock = BTreeMap::new();
    for hub in 1..=3 {
        for sku in 1..=8 {
            let q = match (hub * 8 + sku) % 4 {
                0 => 25,
                1 => 300,
                _ => 1_000_000,
            };
            stock.insert((hub.to_string(), sku.to_string()), q);
        }
    }
    stock
}
