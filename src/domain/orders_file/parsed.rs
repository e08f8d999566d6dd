//! A parsed file whose orders are read in passes: held in memory when they fit the
//! budget, else grouped into the spill area a partition at a time and merged back in
//! order of first appearance. Either way the orders, rejects and counts are those of
//! [`super::ParsedFile`].

use super::parser::{Draft, Groups, PARTITIONS, merge, settle};
use super::spill::{DraftReader, SpillArea};
use super::{Candidate, ParsedFile};
use crate::domain::ids::{HubId, SellerId, SkuId};
use crate::domain::order::{NewOrder, OrderItem, Reject};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io;

/// The reasons of a file, the first `cap` by line kept; the others only counted.
#[derive(Debug)]
pub(super) struct RejectList {
    heap: BinaryHeap<Keyed>,
    cap: usize,
    seq: u64,
    dropped: u64,
}

/// A reason by (line, kind, order, arrival): the order of the reasons of one file
/// however its orders were grouped. Several rows may share a line (records ended by a
/// lone `\r`): at one line come the rows without an order id first, then the orders'
/// own reasons, order by order (by their place in the file), then the warehouse's.
#[derive(Debug)]
struct Keyed((Option<u64>, u8, u64, u64), Reject);

impl PartialEq for Keyed {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Keyed {}
impl PartialOrd for Keyed {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Keyed {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.cmp(&o.0)
    }
}

impl RejectList {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            heap: BinaryHeap::new(),
            cap,
            seq: 0,
            dropped: 0,
        }
    }

    /// Adds a reason of `kind` (0: a row without an order id, 1: an order's rows, 2:
    /// the warehouse's) about the order first named by data row `order`.
    pub(super) fn push(&mut self, r: Reject, kind: u8, order: u64) {
        let k = Keyed((r.row, kind, order, self.seq), r);
        self.seq += 1;
        if self.heap.len() < self.cap {
            self.heap.push(k);
        } else {
            self.dropped += 1;
            if self.heap.peek().is_some_and(|top| k < *top) {
                self.heap.pop();
                self.heap.push(k);
            }
        }
    }

    /// Every reason kept, by line; then, when some were left out, one that says how
    /// many.
    fn into_vec(self) -> Vec<Reject> {
        let (cap, dropped) = (self.cap, self.dropped);
        let mut v: Vec<Reject> = self
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|k| k.1)
            .collect();
        if dropped > 0 {
            v.push(Reject {
                row: None,
                order_id: None,
                column: None,
                reason: format!(
                    "{dropped} more reason(s) not listed: a job keeps the first {cap} by line"
                ),
            });
        }
        v
    }
}

/// Where the accepted orders are.
enum Source {
    Memory(Vec<Draft>),
    /// Candidate streams `PARTITIONS..2 * PARTITIONS` of the area, each in order of
    /// first appearance.
    Spilled(Box<dyn SpillArea>),
    Empty,
}

/// The orders of a whole file, read in passes (see the module).
pub struct ParsedOrders {
    seller: SellerId,
    hubs: Vec<HubId>,
    skus: Vec<SkuId>,
    rows: u64,
    warnings: u64,
    orders_rejected: u64,
    orders: u64,
    rejects: RejectList,
    src: Orders,
    /// Why the warehouse refused a (hub, sku) pair, by their numbers.
    unknown: HashMap<(usize, usize), String>,
}

/// The accepted orders and the pass over them under way.
struct Orders {
    source: Source,
    pass: Option<Pass>,
}

impl std::fmt::Debug for ParsedOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedOrders")
            .field("rows", &self.rows)
            .field("orders", &self.orders)
            .field("orders_rejected", &self.orders_rejected)
            .field("spilled", &self.spilled())
            .finish_non_exhaustive()
    }
}

/// One pass over the accepted orders.
enum Pass {
    Memory(usize),
    Merge {
        readers: Vec<DraftReader>,
        heads: Vec<Option<Draft>>,
        /// (first data row, stream) of each stream's next order.
        next: BinaryHeap<Reverse<(u64, usize)>>,
    },
}

impl Orders {
    /// Starts a pass over the accepted orders, from the first.
    fn rewind(&mut self) -> io::Result<()> {
        self.pass = match &mut self.source {
            Source::Empty => None,
            Source::Memory(_) => Some(Pass::Memory(0)),
            Source::Spilled(area) => {
                let mut readers = Vec::with_capacity(PARTITIONS);
                let mut heads = Vec::with_capacity(PARTITIONS);
                let mut next = BinaryHeap::new();
                for p in 0..PARTITIONS {
                    let mut r = DraftReader::new(area.open(PARTITIONS + p)?);
                    let head = r.next_draft()?;
                    if let Some(d) = &head {
                        next.push(Reverse((d.first, p)));
                    }
                    readers.push(r);
                    heads.push(head);
                }
                Some(Pass::Merge {
                    readers,
                    heads,
                    next,
                })
            }
        };
        Ok(())
    }

    /// The next accepted order of the pass, in order of first appearance, freed from
    /// memory (for the last pass).
    fn next_draft(&mut self) -> io::Result<Option<Draft>> {
        match (&mut self.pass, &mut self.source) {
            (Some(Pass::Memory(i)), Source::Memory(drafts)) => {
                let Some(d) = drafts.get_mut(*i) else {
                    return Ok(None);
                };
                *i += 1;
                Ok(Some(Draft {
                    order_id: d.order_id.clone(),
                    first: d.first,
                    items: std::mem::take(&mut d.items),
                    rejects: Vec::new(),
                }))
            }
            (
                Some(Pass::Merge {
                    readers,
                    heads,
                    next,
                }),
                _,
            ) => {
                let Some(Reverse((_, p))) = next.pop() else {
                    return Ok(None);
                };
                let d = heads[p].take().expect("a head for each queued stream");
                heads[p] = readers[p].next_draft()?;
                if let Some(h) = &heads[p] {
                    next.push(Reverse((h.first, p)));
                }
                Ok(Some(d))
            }
            _ => Ok(None),
        }
    }

    /// Every accepted order in turn, in order of first appearance, left in place.
    fn visit(&mut self, mut f: impl FnMut(&Draft)) -> io::Result<()> {
        if let Source::Memory(drafts) = &self.source {
            drafts.iter().for_each(f);
            return Ok(());
        }
        self.rewind()?;
        while let Some(d) = self.next_draft()? {
            f(&d);
        }
        self.pass = None;
        Ok(())
    }
}

impl ParsedOrders {
    pub(super) fn new(
        seller: SellerId,
        hubs: Vec<HubId>,
        skus: Vec<SkuId>,
        rows: u64,
        warnings: u64,
        rejects: RejectList,
    ) -> Self {
        Self {
            seller,
            hubs,
            skus,
            rows,
            warnings,
            orders_rejected: 0,
            orders: 0,
            rejects,
            src: Orders {
                source: Source::Empty,
                pass: None,
            },
            unknown: HashMap::new(),
        }
    }

    /// Merges a spilled record into the orders of its partition.
    pub(super) fn regroup(&mut self, groups: &mut Groups, d: Draft) {
        merge(groups, d, &mut self.warnings, &self.hubs, &self.skus);
    }

    /// Counts a grouped order: accepted (given back) or rejected whole.
    pub(super) fn settle(&mut self, d: Draft) -> Option<Draft> {
        let kept = settle(d, &mut self.rejects, &mut self.orders_rejected);
        self.orders += u64::from(kept.is_some());
        kept
    }

    pub(super) fn set_in_memory(&mut self, drafts: Vec<Draft>) {
        self.src.source = Source::Memory(drafts);
    }

    pub(super) fn set_spilled(&mut self, area: Box<dyn SpillArea>) {
        self.src.source = Source::Spilled(area);
    }

    /// Data rows read (blank lines not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// Repeated (sku, hub) rows summed into one item.
    pub fn warnings(&self) -> u64 {
        self.warnings
    }
    /// Orders rejected whole.
    pub fn orders_rejected(&self) -> u64 {
        self.orders_rejected
    }
    /// Orders accepted (so far: [`ParsedOrders::reject_unknown`] may reject more).
    pub fn orders(&self) -> u64 {
        self.orders
    }
    /// True when the orders did not fit the memory budget and were spilled.
    pub fn spilled(&self) -> bool {
        matches!(self.src.source, Source::Spilled(_))
    }

    /// The distinct (hub, sku) pairs of the accepted orders, in order of first
    /// appearance: what the warehouse must confirm before the orders are stored.
    ///
    /// # Errors
    /// The spill area cannot be read.
    pub fn distinct_pairs(&mut self) -> io::Result<Vec<(HubId, SkuId)>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let (hubs, skus) = (&self.hubs, &self.skus);
        self.src.visit(|d| {
            for it in &d.items {
                if seen.insert((it.hub, it.sku)) {
                    out.push((hubs[it.hub].clone(), skus[it.sku].clone()));
                }
            }
        })?;
        Ok(out)
    }

    /// Rejects, whole, every accepted order that has an item for which `unknown` gives
    /// a reason (the warehouse does not know its hub or SKU); one reject per such row.
    ///
    /// # Errors
    /// The spill area cannot be read.
    pub fn reject_unknown(
        &mut self,
        unknown: impl Fn(&HubId, &SkuId) -> Option<String>,
    ) -> io::Result<()> {
        self.unknown.clear();
        let mut asked = HashSet::new();
        let (hubs, skus) = (&self.hubs, &self.skus);
        let (known, rejects) = (&mut self.unknown, &mut self.rejects);
        let (orders, orders_rejected) = (&mut self.orders, &mut self.orders_rejected);
        self.src.visit(|d| {
            let mut ok = true;
            for it in &d.items {
                let pair = (it.hub, it.sku);
                if asked.insert(pair)
                    && let Some(why) = unknown(&hubs[it.hub], &skus[it.sku])
                {
                    known.insert(pair, why);
                }
                if let Some(why) = known.get(&pair) {
                    ok = false;
                    for &row in &it.rows {
                        let r = Reject {
                            row: Some(row),
                            order_id: Some(d.order_id.to_string()),
                            column: Some("hub_id/sku_id".into()),
                            reason: why.clone(),
                        };
                        rejects.push(r, 2, d.first);
                    }
                }
            }
            if !ok {
                *orders -= 1;
                *orders_rejected += 1;
            }
        })
    }

    fn accepted(&self, d: &Draft) -> bool {
        self.unknown.is_empty()
            || !d
                .items
                .iter()
                .any(|it| self.unknown.contains_key(&(it.hub, it.sku)))
    }

    fn candidate(&self, d: Draft) -> Candidate {
        let (items, item_rows) = d
            .items
            .into_iter()
            .map(|it| {
                let item = OrderItem {
                    sku_id: self.skus[it.sku].clone(),
                    hub_id: self.hubs[it.hub].clone(),
                    quantity: it.quantity,
                };
                (item, it.rows)
            })
            .unzip();
        Candidate {
            order: NewOrder {
                seller_id: self.seller.clone(),
                order_id: d.order_id,
                items,
            },
            item_rows,
        }
    }

    /// The next (up to) `max` accepted orders, in order of first appearance; empty at
    /// the end. The last pass: the orders are freed as they are handed out.
    ///
    /// # Errors
    /// The spill area cannot be read.
    pub fn next_orders(&mut self, max: usize) -> io::Result<Vec<NewOrder>> {
        if self.src.pass.is_none() {
            self.src.rewind()?;
        }
        let mut out = Vec::with_capacity(max.min(self.orders as usize));
        while out.len() < max {
            let Some(d) = self.src.next_draft()? else {
                self.src.source = Source::Empty;
                break;
            };
            if self.accepted(&d) {
                out.push(self.candidate(d).order);
            }
        }
        Ok(out)
    }

    /// Every reason, by line (the first of them, when a limit was set; then one saying
    /// how many more there were). Leaves none behind.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::replace(&mut self.rejects, RejectList::new(0)).into_vec()
    }

    /// All of it at once, in memory.
    ///
    /// # Errors
    /// The spill area cannot be read.
    pub fn into_file(mut self) -> io::Result<ParsedFile> {
        self.src.rewind()?;
        let mut candidates = Vec::with_capacity(self.orders as usize);
        while let Some(d) = self.src.next_draft()? {
            if self.accepted(&d) {
                candidates.push(self.candidate(d));
            }
        }
        Ok(ParsedFile {
            rows: self.rows,
            candidates,
            orders_rejected: self.orders_rejected,
            warnings: self.warnings,
            rejects: self.take_rejects(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, MemorySpill, parse_orders, parse_orders_within};
    use super::*;

    fn seller() -> SellerId {
        SellerId::parse("1").unwrap()
    }

    fn within(f: &str, memory_bytes: usize, rejects: usize) -> ParsedOrders {
        let limits = Limits {
            memory_bytes,
            rejects,
        };
        let area: Box<dyn SpillArea> = Box::new(MemorySpill::default());
        parse_orders_within(f.as_bytes(), &seller(), &|| false, limits, Some(area))
            .unwrap()
            .unwrap()
    }

    /// Orders spread through the file, repeated (sku, hub) rows, a sum that overflows,
    /// bad rows of accepted-looking orders, rows without an order id, blank lines.
    fn spread() -> String {
        let mut f = String::from("order_id,sku_id,quantity,seller_id,hub_id\n");
        for i in 0..300 {
            let o = i % 37;
            let (sku, hub) = match i {
                100 | 137 => (9, 9),
                _ => ((i / 37) % 3, (i / 111) % 2),
            };
            let qty = match i {
                17 => "0".to_owned(),
                100 | 137 => i64::MAX.to_string(),
                _ => (i % 4 + 1).to_string(),
            };
            let oid = if i % 53 == 0 {
                String::new()
            } else {
                format!("O{o}")
            };
            let seller = if i == 200 { "2" } else { "1" };
            f.push_str(&format!("{oid},{sku},{qty},{seller},{hub}\n"));
            if i % 41 == 0 {
                f.push('\n');
            }
        }
        f
    }

    #[test]
    fn a_spilled_parse_gives_what_the_in_memory_one_gives() {
        let f = spread();
        let want = parse_orders(f.as_bytes(), &seller()).unwrap();
        assert!(want.warnings > 0 && want.orders_rejected > 0 && !want.candidates.is_empty());
        // Records ended by a lone `\r` share a file line: their reasons keep the order
        // of the in-memory parse too.
        let cr = "order_id,sku_id,quantity,seller_id,hub_id\nZ,,1,1,1\rA,,1,1,1\r,1,1,1,1\rZ,1,0,1,1\rA,1,1,1,1\n";
        let p = within(cr, 0, usize::MAX);
        assert!(p.spilled());
        assert_eq!(
            p.into_file().unwrap(),
            parse_orders(cr.as_bytes(), &seller()).unwrap()
        );
        for budget in [0, 1, 500, 5_000, usize::MAX] {
            let p = within(&f, budget, usize::MAX);
            if budget <= 500 {
                assert!(p.spilled(), "budget {budget}");
            }
            if budget == usize::MAX {
                assert!(!p.spilled());
            }
            assert_eq!(p.into_file().unwrap(), want, "budget {budget}");
        }
    }

    #[test]
    fn passes_over_spilled_orders_agree_with_the_file() {
        let f = spread();
        let mut want = parse_orders(f.as_bytes(), &seller()).unwrap();
        let mut p = within(&f, 0, usize::MAX);
        assert!(p.spilled());
        assert_eq!(p.distinct_pairs().unwrap(), want.distinct_pairs());
        assert_eq!(p.distinct_pairs().unwrap(), want.distinct_pairs(), "again");
        let unknown = |h: &HubId, s: &SkuId| {
            (h.as_str() == "1" && s.as_str() == "3").then(|| "unknown pair".to_owned())
        };
        want.reject_unknown(unknown);
        p.reject_unknown(unknown).unwrap();
        assert_eq!(p.orders(), want.candidates.len() as u64);
        assert_eq!(p.orders_rejected(), want.orders_rejected);
        let mut stored = Vec::new();
        loop {
            let chunk = p.next_orders(4).unwrap();
            if chunk.is_empty() {
                break;
            }
            stored.extend(chunk);
        }
        let orders: Vec<NewOrder> = want.candidates.iter().map(|c| c.order.clone()).collect();
        assert_eq!(stored, orders);
        assert_eq!(p.take_rejects(), want.rejects);
    }

    #[test]
    fn rejects_beyond_the_limit_are_counted_in_one_last_reason() {
        let mut f = String::from("order_id,sku_id,quantity,seller_id,hub_id\n");
        for i in 0..50 {
            let qty = if i % 2 == 0 { "x" } else { "0" };
            f.push_str(&format!("O{},1,{qty},1,1\n", 49 - i));
        }
        let all = parse_orders(f.as_bytes(), &seller()).unwrap();
        assert_eq!(all.rejects.len(), 50);
        for budget in [0, usize::MAX] {
            let mut p = within(&f, budget, 10);
            assert_eq!(
                p.orders_rejected(),
                all.orders_rejected,
                "exact however many are kept"
            );
            let r = p.take_rejects();
            assert_eq!(r.len(), 11);
            assert_eq!(r[..10], all.rejects[..10], "the first by line");
            assert_eq!(r[10].row, None);
            assert!(
                r[10].reason.starts_with("40 more reason(s) not listed"),
                "{}",
                r[10].reason
            );
        }
    }
}
