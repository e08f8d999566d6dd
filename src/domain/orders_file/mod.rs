//! Bulk order files: the header check and the rows -> orders rules. No I/O beyond the
//! `Read` it is handed.
//!
//! Rules: columns are found by name (any order, extra columns ignored, a UTF-8 BOM,
//! CRLF, quotes and blank lines handled, values trimmed); rows with the same `order_id`
//! are one order; repeated (sku, hub) rows of one order are summed (a warning); an
//! order with any invalid row is rejected whole, every reason kept.
//!
//! Memory: the orders are grouped in memory up to a budget ([`Limits`]); past it every
//! row goes to a partition of a [`SpillArea`] (by its order id), and the partitions are
//! grouped one at a time, then merged back in order of first appearance. The results
//! are the same either way.
//!
//! Split by concern: `rows` reads the records with their file lines and the row cap,
//! `parser` applies the row rules, `spill` writes and reads what outgrows memory,
//! `parsed` reads the orders back in passes; the header, the result and the entry
//! points are here.

mod parsed;
mod parser;
mod rows;
mod spill;

pub use parsed::ParsedOrders;
pub use parser::{Limits, OrderFileParser};
pub use rows::{MAX_ROW_BYTES, Rows};
pub use spill::{MemorySpill, SpillArea};

use super::ids::{HubId, SellerId, SkuId};
use super::order::{NewOrder, Reject};
use csv::ByteRecord;
use smallvec::SmallVec;
use std::io::Read;

/// The required columns, in the order of the Go oms-service's sample file.
pub const COLUMNS: [&str; 5] = ["order_id", "sku_id", "quantity", "seller_id", "hub_id"];

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
    /// Not the file's fault: the temporary space for rows beyond the memory budget.
    #[error("cannot spill the rows beyond the memory budget to temporary space: {0}")]
    Spill(String),
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
    let parsed = parse_orders_within(r, seller, stop, Limits::NONE, None)?;
    parsed
        .map(|p| p.into_file().map_err(|e| FileError::Spill(e.to_string())))
        .transpose()
}

/// Like [`parse_orders_until`], holding about `limits.memory_bytes` of orders in memory
/// and spilling the rest to `spill` (none: no limit), keeping `limits.rejects` reasons.
///
/// # Errors
/// As [`parse_orders`], and [`FileError::Spill`] when the spill area fails.
pub fn parse_orders_within<R: Read>(
    r: R,
    seller: &SellerId,
    stop: &dyn Fn() -> bool,
    limits: Limits,
    spill: Option<Box<dyn SpillArea>>,
) -> Result<Option<ParsedOrders>, FileError> {
    let mut rows = Rows::new(r);
    let header = read_header(&mut rows)?;
    let mut parser = OrderFileParser::with_limits(header, seller.clone(), limits, spill);
    let mut rec = ByteRecord::new();
    let mut n: u64 = 0;
    while let Some(line) = rows.next_record(&mut rec)? {
        parser.push(line, &rec);
        n += 1;
        if n.is_multiple_of(4096) && stop() {
            return Ok(None);
        }
    }
    parser
        .finish_orders()
        .map(Some)
        .map_err(|e| FileError::Spill(e.to_string()))
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
