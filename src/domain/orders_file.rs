//! Bulk order files: the header check and the rows -> orders rules. No I/O beyond the
//! `Read` it is handed.
//!
//! Rules: columns are found by name (any order, extra columns ignored, a UTF-8 BOM,
//! CRLF, quotes and blank lines handled, values trimmed); rows with the same `order_id`
//! are one order; repeated (sku, hub) rows of one order are summed (a warning); an
//! order with any invalid row is rejected whole, every reason kept.

use super::ids::{FieldError, HubId, OrderId, Quantity, SellerId, SkuId};
use super::order::{NewOrder, OrderItem, Reject};
use csv::ByteRecord;
use smallvec::SmallVec;
/// Seeded and fast: the parser hashes every row's order id, hub and SKU.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::io::{self, Read};

/// The required columns, in the original service's order.
pub const COLUMNS: [&str; 5] = ["order_id", "sku_id", "quantity", "seller_id", "hub_id"];

/// The longest row (header or data) read, in bytes: 1 MiB. A real row is five short
/// ids and a few extra columns (each id is at most [`super::ids::MAX_ID_LEN`]
/// characters), so anything near this is not an order file; without a cap one line
/// with no newline (or an endless quoted field) would be held in memory whole.
/// A run of empty lines this long counts as one row too (the CSV reader skips empty
/// lines without returning a record).
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// Why a whole file cannot be read as an order file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: a header row `{}` is required", COLUMNS.join(","))]
    Empty,
    #[error("the header has no `{0}` column (required: {cols})", cols = COLUMNS.join(","))]
    MissingColumn(String),
    #[error("the header names the `{0}` column more than once")]
    DuplicateColumn(String),
    #[error("the header row is not valid UTF-8")]
    HeaderNotUtf8,
    #[error("cannot read the file as CSV: {0}")]
    Csv(String),
    #[error(
        "the row starting at line {line} is longer than {max} bytes (1 MiB); an order file's \
         rows are short, so this is not an order file"
    )]
    RowTooLong { line: u64, max: u64 },
}

/// Where each required column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    order_id: usize,
    sku_id: usize,
    quantity: usize,
    seller_id: usize,
    hub_id: usize,
}

impl Header {
    /// Finds the required columns by name (trimmed, case-insensitive, BOM stripped).
    ///
    /// # Errors
    /// [`FileError::MissingColumn`], [`FileError::DuplicateColumn`], [`FileError::HeaderNotUtf8`].
    pub fn from_record(rec: &ByteRecord) -> Result<Self, FileError> {
        let mut found: [Option<usize>; 5] = [None; 5];
        for (i, raw) in rec.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(raw).map_err(|_| FileError::HeaderNotUtf8)?;
            let name = name.trim();
            if let Some(c) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                if found[c].is_some() {
                    return Err(FileError::DuplicateColumn(COLUMNS[c].to_owned()));
                }
                found[c] = Some(i);
            }
        }
        let col = |c: usize| found[c].ok_or_else(|| FileError::MissingColumn(COLUMNS[c].into()));
        Ok(Self {
            order_id: col(0)?,
            sku_id: col(1)?,
            quantity: col(2)?,
            seller_id: col(3)?,
            hub_id: col(4)?,
        })
    }
}

/// What the CSV reader reads through: caps the bytes of one row and keeps the last
/// bytes read (to tell how a record ended).
///
/// The cap counts what the CSV reader pulls through since the last complete record and
/// fails the read once that is more than [`MAX_ROW_BYTES`]. The CSV reader reads at most
/// its buffer (8 KiB) at a time, so a record never holds more than `MAX_ROW_BYTES` plus
/// two buffers, and a row of up to `MAX_ROW_BYTES` is always read.
struct Source<R> {
    inner: R,
    since_row: u64,
    tripped: bool,
    /// Bytes read so far.
    total: u64,
    /// The last [`TAIL`] bytes read, `tail[offset % TAIL]`.
    tail: Box<[u8; TAIL]>,
}

/// More than the CSV reader's read-ahead (its 8 KiB buffer).
const TAIL: usize = 1 << 15;

impl<R> Source<R> {
    /// The byte at `offset`, when it is among the last bytes read.
    fn byte_at(&self, offset: u64) -> Option<u8> {
        (offset < self.total && offset + TAIL as u64 >= self.total)
            .then(|| self.tail[(offset % TAIL as u64) as usize])
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_row > MAX_ROW_BYTES {
            self.tripped = true;
            return Err(io::Error::other(format!(
                "a row is longer than {MAX_ROW_BYTES} bytes"
            )));
        }
        let n = self.inner.read(buf)?;
        // Keep the last TAIL bytes: copy (the end of) what was read into the ring.
        let skip = n.saturating_sub(TAIL);
        let (mut data, mut at) = (&buf[skip..n], self.total + skip as u64);
        while !data.is_empty() {
            let i = (at % TAIL as u64) as usize;
            let k = data.len().min(TAIL - i);
            self.tail[i..i + k].copy_from_slice(&data[..k]);
            data = &data[k..];
            at += k as u64;
        }
        self.total += n as u64;
        self.since_row += n as u64;
        Ok(n)
    }
}

/// The records of an order file, each with the file line it starts on, no row longer
/// than [`MAX_ROW_BYTES`]. The CSV reader's own record positions are not file lines:
/// it counts a CRLF's `\n` (and any empty lines it skips) into the *next* record's
/// start, so with CRLF line ends every row would be one line early.
pub struct Rows<R> {
    rdr: csv::Reader<Source<R>>,
}

impl<R: Read> Rows<R> {
    pub fn new(r: R) -> Self {
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Source {
                inner: r,
                since_row: 0,
                tripped: false,
                total: 0,
                tail: Box::new([0; TAIL]),
            });
        Self { rdr }
    }

    /// Reads the next record into `rec`; gives the line it starts on (the first line
    /// of the file is 1), or `None` at the end of the file.
    ///
    /// # Errors
    /// [`FileError::RowTooLong`] past the cap; [`FileError::Csv`] when reading fails.
    pub fn next_record(&mut self, rec: &mut ByteRecord) -> Result<Option<u64>, FileError> {
        let from = self.rdr.position().line();
        match self.rdr.read_byte_record(rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                self.rdr.get_mut().since_row = 0;
                // Count back from where the record ended: its own line ends (in quoted
                // fields), and its terminator when that was a `\n` (a `\r` is not
                // counted; the `\n` of a CRLF is counted with the next record).
                let end = self.rdr.position();
                let inner = rec.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
                let by_lf = end
                    .byte()
                    .checked_sub(1)
                    .and_then(|b| self.rdr.get_ref().byte_at(b))
                    == Some(b'\n');
                let line = end.line().saturating_sub(inner + u64::from(by_lf));
                Ok(Some(line.max(from)))
            }
            Err(_) if self.rdr.get_ref().tripped => Err(FileError::RowTooLong {
                line: from,
                max: MAX_ROW_BYTES,
            }),
            Err(e) => Err(FileError::Csv(e.to_string())),
        }
    }
}

fn read_header<R: Read>(rows: &mut Rows<R>) -> Result<Header, FileError> {
    let mut rec = ByteRecord::new();
    loop {
        match rows.next_record(&mut rec)? {
            None => return Err(FileError::Empty),
            Some(_) if is_blank(&rec) => continue,
            Some(_) => return Header::from_record(&rec),
        }
    }
}

/// Reads only the header row and checks it (used by `submit` before enqueuing).
///
/// # Errors
/// Any [`FileError`] about the header.
pub fn check_header<R: Read>(r: R) -> Result<Header, FileError> {
    read_header(&mut Rows::new(r))
}

fn is_blank(rec: &ByteRecord) -> bool {
    rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// The file lines summed into one item: nearly always one, kept inline.
pub type ItemRows = SmallVec<[u64; 1]>;

/// An order that passed the row rules, with the file lines of each of its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub order: NewOrder,
    /// `item_rows[i]` are the lines summed into `order.items[i]`.
    pub item_rows: Vec<ItemRows>,
}

/// The result of reading a whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedFile {
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Orders whose rows are all valid, in order of first appearance.
    pub candidates: Vec<Candidate>,
    /// Every reason a row was not accepted.
    pub rejects: Vec<Reject>,
    /// Orders rejected whole.
    pub orders_rejected: u64,
    /// Repeated (sku, hub) rows summed into one item.
    pub warnings: u64,
}

impl ParsedFile {
    /// The distinct (hub, sku) pairs of the candidates, in order of first appearance:
    /// what the warehouse must confirm before the orders are stored.
    pub fn distinct_pairs(&self) -> Vec<(HubId, SkuId)> {
        let mut seen =
            std::collections::HashSet::with_hasher(foldhash::fast::RandomState::default());
        let mut out = Vec::new();
        for c in &self.candidates {
            for it in &c.order.items {
                if seen.insert((&it.hub_id, &it.sku_id)) {
                    out.push((it.hub_id.clone(), it.sku_id.clone()));
                }
            }
        }
        out
    }

    /// Rejects, whole, every candidate that has an item for which `unknown` gives a
    /// reason (the warehouse does not know its hub or SKU); one reject per such row.
    pub fn reject_unknown(&mut self, unknown: impl Fn(&HubId, &SkuId) -> Option<String>) {
        let (rejects, orders_rejected) = (&mut self.rejects, &mut self.orders_rejected);
        let before = rejects.len();
        self.candidates.retain(|c| {
            let mut ok = true;
            for (item, rows) in c.order.items.iter().zip(&c.item_rows) {
                if let Some(why) = unknown(&item.hub_id, &item.sku_id) {
                    ok = false;
                    for &row in rows {
                        rejects.push(Reject {
                            row: Some(row),
                            order_id: Some(c.order.order_id.to_string()),
                            column: Some("hub_id/sku_id".into()),
                            reason: why.clone(),
                        });
                    }
                }
            }
            if !ok {
                *orders_rejected += 1;
            }
            ok
        });
        if rejects.len() > before {
            rejects.sort_by_key(|r| r.row);
        }
    }
}

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

/// Reads a whole order file submitted by `seller`.
///
/// # Errors
/// [`FileError`] when the header is missing or wrong, or the bytes are not CSV.
/// Problems of single rows are not errors: they are in [`ParsedFile::rejects`].
pub fn parse_orders<R: Read>(r: R, seller: &SellerId) -> Result<ParsedFile, FileError> {
    parse_orders_until(r, seller, &|| false).map(|p| p.expect("never stopped"))
}

/// Like [`parse_orders`], but asks `stop` every few thousand rows and gives up
/// (`Ok(None)`) when it says so.
///
/// # Errors
/// As [`parse_orders`].
pub fn parse_orders_until<R: Read>(
    r: R,
    seller: &SellerId,
    stop: &dyn Fn() -> bool,
) -> Result<Option<ParsedFile>, FileError> {
    let mut rows = Rows::new(r);
    let header = read_header(&mut rows)?;
    let mut parser = OrderFileParser::new(header, seller.clone());
    let mut rec = ByteRecord::new();
    let mut n: u64 = 0;
    while let Some(line) = rows.next_record(&mut rec)? {
        parser.push(line, &rec);
        n += 1;
        if n.is_multiple_of(4096) && stop() {
            return Ok(None);
        }
    }
    Ok(Some(parser.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller() -> SellerId {
        SellerId::parse("1").unwrap()
    }

    fn parse(s: &str) -> ParsedFile {
        parse_orders(s.as_bytes(), &seller()).unwrap()
    }

    fn rows_of(c: &Candidate) -> Vec<Vec<u64>> {
        c.item_rows.iter().map(|r| r.to_vec()).collect()
    }

    fn ids(p: &ParsedFile) -> Vec<&str> {
        p.candidates
            .iter()
            .map(|c| c.order.order_id.as_str())
            .collect()
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_extras_ignored() {
        let p = parse("hub_id,note,quantity,order_id,seller_id,sku_id\n3,x,2,A,1,15\n");
        assert_eq!(p.rows, 1);
        let it = &p.candidates[0].order.items[0];
        assert_eq!(
            (it.hub_id.as_str(), it.sku_id.as_str(), it.quantity.get()),
            ("3", "15", 2)
        );
        assert_eq!(p.candidates[0].order.order_id.as_str(), "A");
    }

    #[test]
    fn bom_crlf_quotes_blank_lines_and_spaces_are_handled() {
        let p = parse(
            "\u{feff}Order_ID , sku_id,quantity,seller_id,hub_id\r\n\r\n\" A \",\"1,5\", 2 ,1, 9\r\n   \r\n,,,,\r\n",
        );
        assert_eq!(p.rows, 1, "{p:?}");
        assert!(p.rejects.is_empty(), "{:?}", p.rejects);
        let it = &p.candidates[0].order.items[0];
        assert_eq!(p.candidates[0].order.order_id.as_str(), "A");
        assert_eq!(it.sku_id.as_str(), "1,5");
        assert_eq!(it.hub_id.as_str(), "9");
    }

    #[test]
    fn a_missing_column_rejects_the_file_and_names_it() {
        let err =
            parse_orders("order_id,sku_id,quantity,hub_id\n".as_bytes(), &seller()).unwrap_err();
        assert_eq!(err, FileError::MissingColumn("seller_id".into()));
        assert!(err.to_string().contains("`seller_id`"));
        assert_eq!(
            check_header("".as_bytes()).unwrap_err(),
            FileError::Empty,
            "an empty file"
        );
        assert_eq!(
            check_header("\n\n".as_bytes()).unwrap_err(),
            FileError::Empty
        );
    }

    #[test]
    fn a_duplicated_required_column_is_ambiguous() {
        let err = check_header("order_id,sku_id,quantity,seller_id,hub_id,SKU_ID\n".as_bytes())
            .unwrap_err();
        assert_eq!(err, FileError::DuplicateColumn("sku_id".into()));
    }

    #[test]
    fn a_binary_header_is_an_error_not_a_panic() {
        let err = check_header(&b"\xff\xfe\x00order_id\n"[..]).unwrap_err();
        assert_eq!(err, FileError::HeaderNotUtf8);
    }

    #[test]
    fn rows_of_one_order_are_its_items() {
        let p =
            parse("order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\nB,2,1,1,1\nA,3,2,1,2\n");
        assert_eq!(ids(&p), ["A", "B"]);
        assert_eq!(p.candidates[0].order.items.len(), 2);
        assert_eq!(rows_of(&p.candidates[0]), vec![vec![2], vec![4]]);
    }

    #[test]
    fn repeated_sku_hub_rows_are_summed_with_a_warning() {
        let p = parse(
            "order_id,sku_id,quantity,seller_id,hub_id\n1011,15,2,1,1\n1011,15,2,1,1\n1011,15,1,1,2\n",
        );
        let items = &p.candidates[0].order.items;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].quantity.get(), 4);
        assert_eq!(p.warnings, 1);
        assert_eq!(rows_of(&p.candidates[0])[0], vec![2, 3]);
    }

    #[test]
    fn a_sum_that_overflows_rejects_the_order() {
        let p = parse(&format!(
            "order_id,sku_id,quantity,seller_id,hub_id\nA,1,{m},1,1\nA,1,{m},1,1\n",
            m = i64::MAX
        ));
        assert!(p.candidates.is_empty());
        assert_eq!(p.orders_rejected, 1);
        assert!(p.rejects.iter().any(|r| r.reason.contains("too large")));
    }

    #[test]
    fn each_bad_quantity_is_rejected_with_row_and_column() {
        let p = parse(
            "order_id,sku_id,quantity,seller_id,hub_id\nA,1,0,1,1\nB,1,-2,1,1\nC,1,1.5,1,1\nD,1,x,1,1\nE,1,99999999999999999999,1,1\nF,1,,1,1\nG,1,3,1,1\n",
        );
        assert_eq!(ids(&p), ["G"]);
        assert_eq!(p.orders_rejected, 6);
        let rows: Vec<_> = p.rejects.iter().map(|r| r.row.unwrap()).collect();
        assert_eq!(rows, [2, 3, 4, 5, 6, 7]);
        assert!(
            p.rejects
                .iter()
                .all(|r| r.column.as_deref() == Some("quantity"))
        );
        assert!(p.rejects[0].reason.contains("greater than zero"));
        assert!(p.rejects[2].reason.contains("whole number"));
        assert!(p.rejects[4].reason.contains("too large"));
        assert!(p.rejects[5].reason.contains("empty"));
    }

    #[test]
    fn empty_ids_are_rejected() {
        let p = parse("order_id,sku_id,quantity,seller_id,hub_id\nA,,1,1,1\nB,1,1,1,\n,1,1,1,1\n");
        assert!(p.candidates.is_empty());
        assert_eq!(
            p.orders_rejected, 2,
            "A and B; the row with no order id is no order"
        );
        let cols: Vec<_> = p
            .rejects
            .iter()
            .map(|r| r.column.clone().unwrap())
            .collect();
        assert_eq!(cols, ["sku_id", "hub_id", "order_id"]);
        assert_eq!(p.rejects[2].order_id, None);
    }

    #[test]
    fn rows_of_another_seller_are_rejected_and_empty_means_the_submitter() {
        let p =
            parse("order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,2,1\nB,1,1,,1\nC,1,1,01,1\n");
        assert_eq!(ids(&p), ["B", "C"]);
        assert_eq!(p.rejects.len(), 1);
        let r = &p.rejects[0];
        assert_eq!(r.column.as_deref(), Some("seller_id"));
        assert!(
            r.reason.contains("not the submitting seller 1"),
            "{}",
            r.reason
        );
        assert_eq!(p.candidates[0].order.seller_id.as_str(), "1");
    }

    #[test]
    fn one_bad_row_rejects_the_whole_order_and_keeps_every_reason() {
        let p = parse(
            "order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\nA,2,0,1,1\nA,,1,9,1\nB,1,1,1,1\n",
        );
        assert_eq!(ids(&p), ["B"]);
        assert_eq!(p.orders_rejected, 1);
        let a: Vec<_> = p
            .rejects
            .iter()
            .filter(|r| r.order_id.as_deref() == Some("A"))
            .collect();
        // row 2 valid but rejected with its order; row 3 quantity; row 4 sku and seller.
        assert_eq!(a.len(), 4, "{a:?}");
        assert!(
            a.iter()
                .any(|r| r.row == Some(2) && r.reason.contains("rejected whole"))
        );
        assert!(
            a.iter()
                .any(|r| r.row == Some(4) && r.column.as_deref() == Some("seller_id"))
        );
        assert!(
            a.iter()
                .any(|r| r.row == Some(4) && r.column.as_deref() == Some("sku_id"))
        );
    }

    #[test]
    fn invalid_utf8_in_a_field_rejects_the_row() {
        let p = parse_orders(
            &b"order_id,sku_id,quantity,seller_id,hub_id\nA,\xff,1,1,1\nB,1,1,1,1\n"[..],
            &seller(),
        )
        .unwrap();
        assert_eq!(ids(&p), ["B"]);
        assert_eq!(p.rejects[0].column.as_deref(), Some("sku_id"));
        assert!(p.rejects[0].reason.contains("UTF-8"));
    }

    #[test]
    fn short_rows_miss_their_fields() {
        let p = parse("order_id,sku_id,quantity,seller_id,hub_id\nA,1\n");
        assert!(p.candidates.is_empty());
        assert!(
            p.rejects
                .iter()
                .any(|r| r.column.as_deref() == Some("hub_id"))
        );
    }

    #[test]
    fn unknown_hub_or_sku_rejects_the_order_with_its_rows() {
        let mut p =
            parse("order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\nA,99,1,1,1\nB,1,1,1,1\n");
        assert_eq!(p.distinct_pairs().len(), 2);
        p.reject_unknown(|_, sku| (sku.as_str() == "99").then(|| "unknown sku".to_string()));
        assert_eq!(ids(&p), ["B"]);
        assert_eq!(p.orders_rejected, 1);
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].row, Some(3));
        assert_eq!(p.rejects[0].reason, "unknown sku");
    }

    #[test]
    fn a_row_over_the_cap_rejects_the_file_without_holding_it() {
        let max = usize::try_from(MAX_ROW_BYTES).unwrap();
        let mut f = b"order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\n".to_vec();
        f.extend(std::iter::repeat_n(b'9', 20 * max));
        let err = parse_orders(&f[..], &seller()).unwrap_err();
        assert_eq!(
            err,
            FileError::RowTooLong {
                line: 3,
                max: MAX_ROW_BYTES
            }
        );
        assert!(err.to_string().contains("line 3"), "{err}");
        // The header too, at submit.
        let header = vec![b'x'; 3 * max];
        assert!(matches!(
            check_header(&header[..]),
            Err(FileError::RowTooLong { line: 1, .. })
        ));
    }

    #[test]
    fn rows_up_to_the_cap_are_read() {
        let max = usize::try_from(MAX_ROW_BYTES).unwrap();
        let note = "n".repeat(max - 64);
        let mut f = String::from("order_id,sku_id,quantity,seller_id,hub_id,note\n");
        for id in ["A", "B", "C"] {
            f.push_str(&format!("{id},1,1,1,1,{note}\n"));
        }
        let p = parse(&f);
        assert_eq!(ids(&p), ["A", "B", "C"]);
        assert_eq!(rows_of(&p.candidates[2]), vec![vec![4]]);
        // A wide header under the cap: the columns are found at the far end.
        let mut wide: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
        wide.extend(COLUMNS.iter().map(|c| (*c).to_owned()));
        assert!(check_header(wide.join(",").as_bytes()).is_ok());
    }

    #[test]
    fn rows_are_numbered_by_file_line_with_crlf_and_blank_lines() {
        let rows =
            |f: &str| -> Vec<Vec<Vec<u64>>> { parse(f).candidates.iter().map(rows_of).collect() };
        let lf =
            "order_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\n\nB,1,1,1,1\n\n\n   \nC,1,1,1,1";
        assert_eq!(rows(lf), [vec![vec![2]], vec![vec![4]], vec![vec![8]]]);
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(rows(&crlf), [vec![vec![2]], vec![vec![4]], vec![vec![8]]]);
        // A quoted field over two lines: the row starts on its first line.
        let quoted = "order_id,sku_id,quantity,seller_id,hub_id,note\r\nA,1,1,1,1,\"x\r\ny\"\r\n\r\nB,1,1,1,1\n";
        assert_eq!(rows(quoted), [vec![vec![2]], vec![vec![5]]]);
        // Blank lines before the header.
        assert_eq!(
            rows("\n\r\n\norder_id,sku_id,quantity,seller_id,hub_id\nA,1,1,1,1\n"),
            [vec![vec![5]]]
        );
    }

    #[test]
    fn the_tail_keeps_the_last_bytes_read_whatever_the_read_sizes() {
        let data: Vec<u8> = (0..3 * TAIL + 123).map(|i| (i % 251) as u8).collect();
        for chunk in [1, 7, 8192, TAIL + 5, 5 * TAIL] {
            let mut src = Source {
                inner: &data[..],
                since_row: 0,
                tripped: false,
                total: 0,
                tail: Box::new([0; TAIL]),
            };
            let mut buf = vec![0; chunk];
            while src.read(&mut buf).unwrap() > 0 {
                src.since_row = 0;
            }
            let total = data.len() as u64;
            assert_eq!(src.total, total);
            for off in [total - 1, total - 2, total - TAIL as u64] {
                assert_eq!(src.byte_at(off), Some(data[off as usize]), "chunk {chunk}");
            }
            assert_eq!(src.byte_at(total - TAIL as u64 - 1), None);
            assert_eq!(src.byte_at(total), None);
        }
    }

    #[test]
    fn the_original_sample_parses_for_seller_one() {
        let sample = "order_id,sku_id,quantity,seller_id,hub_id\n1011,15,2,1,1\n1011,15,2,1,1\n1012,7,3,2,2\n1012,7,3,2,2\n";
        let p = parse(sample);
        assert_eq!(ids(&p), ["1011"]);
        assert_eq!(p.candidates[0].order.items[0].quantity.get(), 4);
        assert_eq!(p.warnings, 1);
        assert_eq!(p.orders_rejected, 1);
        assert_eq!(p.rows, 4);
    }
}
