//! Property tests of the order-file and stock-file parsing (`oms::domain`).
//!
//! - Arbitrary bytes never panic `parse_orders`, `check_header` or `parse_stock`.
//! - Arbitrary *valid* files (random column order and case, extra columns holding any
//!   bytes, a BOM, CRLF, quoting, blank lines, padding) parse to exactly what a simple
//!   model predicts: rows grouped by `order_id` in order of first appearance, repeated
//!   (sku, hub) rows summed, each item with the lines it came from.
//! - Files mixing valid and invalid rows: an order is accepted exactly when all its rows
//!   are valid; every rejected order has a reject with a row number; accepted + rejected
//!   orders == the distinct usable order ids; a quantity beyond i64 or <= 0 is always
//!   rejected with its row.
//! - Spilling: whatever the bytes, a parse under a tiny memory budget (its orders spilled
//!   to a spill area and grouped back) gives exactly what the in-memory parse gives:
//!   the same orders in the same order, the same rejects, counts and warnings.
//!
//! 256 cases per property by default (proptest's default); `PROPTEST_CASES=N` overrides.

use crate::support::ORDERS_HEADER;
use oms::domain::orders_file::{
    FileError, Limits, MAX_ROW_BYTES, MemorySpill, SpillArea, parse_orders_within,
};
use oms::domain::stock_file::parse_stock;
use oms::domain::{OrderId, ParsedFile, Quantity, SellerId, SkuId, check_header, parse_orders};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

fn seller() -> SellerId {
    SellerId::parse("1").expect("a seller")
}

// ---------------------------------------------------------------------------------
// Arbitrary bytes
// ---------------------------------------------------------------------------------

/// Bytes biased towards what matters to a CSV reader.
fn csvish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(b",\"\n\r \t".to_vec()),
        2 => prop::sample::select(b"01-+9aZ".to_vec()),
        1 => prop::sample::select(vec![0xEF, 0xBB, 0xBF, 0xFF, 0x00]),
    ];
    prop::collection::vec(byte, 0..2048)
}

/// The file parsed with a memory budget of `budget` bytes, spilling to memory; the
/// same error as [`parse_orders`] when the file is refused.
fn parse_spilled(bytes: &[u8], budget: usize) -> Result<ParsedFile, FileError> {
    let limits = Limits {
        memory_bytes: budget,
        rejects: usize::MAX,
    };
    let area: Box<dyn SpillArea> = Box::new(MemorySpill::default());
    let p = parse_orders_within(bytes, &seller(), &|| false, limits, Some(area))?
        .expect("never stopped");
    Ok(p.into_file().expect("memory never fails"))
}

/// Spilled (at once, and after a few orders) and in-memory parses agree.
fn check_spilled_agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    let want = parse_orders(bytes, &seller());
    for budget in [0, 700] {
        prop_assert_eq!(&parse_spilled(bytes, budget), &want, "budget {}", budget);
    }
    Ok(())
}

fn check_parsed(p: &ParsedFile) {
    for r in &p.rejects {
        assert!(r.row.is_some(), "a reject without a row: {r:?}");
    }
    for c in &p.candidates {
        assert!(!c.order.items.is_empty());
        assert_eq!(c.order.items.len(), c.item_rows.len());
        assert!(c.order.items.iter().all(|it| it.quantity.get() > 0));
    }
    assert!(p.candidates.len() as u64 + p.orders_rejected <= p.rows);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = check_header(&bytes[..]);
        if let Ok(p) = parse_orders(&bytes[..], &seller()) {
            check_parsed(&p);
        }
        let _ = parse_stock(&bytes[..]);
    }

    #[test]
    fn csvish_bytes_after_a_valid_header_never_panic(body in csvish_bytes(), bom in any::<bool>()) {
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend_from_slice(ORDERS_HEADER.as_bytes());
        bytes.extend_from_slice(&body);
        prop_assert!(check_header(&bytes[..]).is_ok());
        match parse_orders(&bytes[..], &seller()) {
            Ok(p) => check_parsed(&p),
            // The only file-level error past a valid header is a CSV-level one.
            Err(e) => prop_assert!(matches!(e, FileError::Csv(_)), "{e}"),
        }
        check_spilled_agrees(&bytes)?;
        let mut stock = b"hub_id,sku_id,quantity\n".to_vec();
        stock.extend_from_slice(&body);
        let _ = parse_stock(&stock[..]);
    }

    #[test]
    fn csvish_bytes_never_panic(bytes in csvish_bytes()) {
        let _ = check_header(&bytes[..]);
        if let Ok(p) = parse_orders(&bytes[..], &seller()) {
            check_parsed(&p);
        }
        let _ = parse_stock(&bytes[..]);
    }
}

// ---------------------------------------------------------------------------------
// Valid files against a model
// ---------------------------------------------------------------------------------

/// How one field is written.
#[derive(Debug, Clone)]
struct Style {
    quoted: bool,
    left: &'static str,
    right: &'static str,
}

fn style() -> impl Strategy<Value = Style> {
    let pad = prop::sample::select(vec!["", "", " ", "  ", "\t"]);
    (any::<bool>(), pad.clone(), pad).prop_map(|(quoted, left, right)| Style {
        quoted,
        left,
        right,
    })
}

/// Writes one field; values with a comma, quote or line end are always quoted.
fn render(value: &[u8], s: &Style) -> Vec<u8> {
    let mut inner = s.left.as_bytes().to_vec();
    inner.extend_from_slice(value);
    inner.extend_from_slice(s.right.as_bytes());
    let must = inner
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !(s.quoted || must) {
        return inner;
    }
    let mut out = vec![b'"'];
    for &b in &inner {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

#[derive(Debug, Clone)]
struct Row {
    order: &'static str,
    sku: &'static str,
    hub: &'static str,
    qty: i64,
    /// How the quantity is written: plain, with a `+`, with leading zeros.
    qty_form: u8,
    seller: &'static str,
    extras: Vec<Vec<u8>>,
    styles: Vec<Style>,
    /// Blank lines written before this row: "" (skipped by the CSV reader), spaces,
    /// or empty fields.
    blanks_before: Vec<&'static str>,
    crlf: bool,
}

fn id_pool() -> Vec<&'static str> {
    vec!["A", "1011", "b-2", "1,5", "x\"y", "ü", "Z z", "007"]
}

fn row(extra_cols: usize) -> impl Strategy<Value = Row> {
    let pick = |v: Vec<&'static str>| prop::sample::select(v);
    (
        pick(id_pool()),
        pick(vec!["15", "7", "a,b", "S\"1", "22"]),
        pick(vec!["1", "2", "hub 3"]),
        1i64..=1_000_000,
        0u8..3,
        pick(vec!["1", "01", "", " 1 "]),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), extra_cols),
        prop::collection::vec(style(), 5 + extra_cols),
        prop::collection::vec(pick(vec!["", "   ", ",,", " , "]), 0..2),
        any::<bool>(),
    )
        .prop_map(
            |(order, sku, hub, qty, qty_form, seller, extras, styles, blanks_before, crlf)| Row {
                order,
                sku,
                hub,
                qty,
                qty_form,
                seller,
                extras,
                styles,
                blanks_before,
                crlf,
            },
        )
}

#[derive(Debug, Clone)]
struct ValidFile {
    /// Column names in file order: the five required ones (any case) and extras.
    names: Vec<String>,
    /// `perm[i]` is the file position of logical column `i` (0..5 required, then extras).
    perm: Vec<usize>,
    bom: bool,
    rows: Vec<Row>,
    final_newline: bool,
}

fn valid_file() -> impl Strategy<Value = ValidFile> {
    (0usize..4)
        .prop_flat_map(|extra| {
            let logical: Vec<usize> = (0..5 + extra).collect();
            (
                Just(extra),
                Just(logical).prop_shuffle(),
                prop::collection::vec(any::<bool>(), 5),
                any::<bool>(),
                prop::collection::vec(row(extra), 0..40),
                any::<bool>(),
            )
        })
        .prop_map(|(extra, perm, upper, bom, rows, final_newline)| {
            let required = ["order_id", "sku_id", "quantity", "seller_id", "hub_id"];
            let mut logical_names: Vec<String> = required
                .iter()
                .zip(&upper)
                .map(|(n, &u)| if u { n.to_uppercase() } else { (*n).to_owned() })
                .collect();
            logical_names.extend((0..extra).map(|i| format!("note{i}")));
            let mut names = vec![String::new(); perm.len()];
            for (logical, &pos) in perm.iter().enumerate() {
                names[pos].clone_from(&logical_names[logical]);
            }
            ValidFile {
                names,
                perm,
                bom,
                rows,
                final_newline,
            }
        })
}

/// (order id -> (sku, hub) -> (quantity, lines)), in order of first appearance.
type Model = Vec<(String, Vec<((String, String), (i64, Vec<u64>))>)>;

impl ValidFile {
    /// The file's bytes and what the parser should make of it: the model, the rows
    /// read and the warnings.
    fn build(&self) -> (Vec<u8>, Model, u64, u64) {
        let mut out = if self.bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        let header_style = Style {
            quoted: false,
            left: " ",
            right: "",
        };
        let cells: Vec<Vec<u8>> = self
            .names
            .iter()
            .map(|n| render(n.as_bytes(), &header_style))
            .collect();
        out.extend_from_slice(&cells.join(&b","[..]));
        let mut line: u64 = 1;
        let mut model: Model = Vec::new();
        let (mut rows, mut warnings) = (0u64, 0u64);
        for r in &self.rows {
            let eol: &[u8] = if r.crlf { b"\r\n" } else { b"\n" };
            out.extend_from_slice(eol);
            line += 1;
            for b in &r.blanks_before {
                out.extend_from_slice(b.as_bytes());
                out.extend_from_slice(eol);
                line += 1;
            }
            let qty = match r.qty_form {
                0 => r.qty.to_string(),
                1 => format!("+{}", r.qty),
                _ => format!("00{}", r.qty),
            };
            let mut logical: Vec<Vec<u8>> = vec![
                r.order.into(),
                r.sku.into(),
                qty.into_bytes(),
                r.seller.into(),
                r.hub.into(),
            ];
            logical.extend(r.extras.iter().cloned());
            let mut fields = vec![Vec::new(); self.perm.len()];
            for (i, &pos) in self.perm.iter().enumerate() {
                fields[pos] = render(&logical[i], &r.styles[i]);
            }
            let start = line;
            let text = fields.join(&b","[..]);
            line += text.iter().filter(|&&b| b == b'\n').count() as u64;
            out.extend_from_slice(&text);
            rows += 1;

            let key = (r.sku.to_owned(), r.hub.to_owned());
            let order = match model.iter_mut().find(|(o, _)| o == r.order) {
                Some(o) => o,
                None => {
                    model.push((r.order.to_owned(), Vec::new()));
                    model.last_mut().expect("just pushed")
                }
            };
            match order.1.iter_mut().find(|(k, _)| *k == key) {
                Some((_, (q, lines))) => {
                    warnings += 1;
                    *q += r.qty;
                    lines.push(start);
                }
                None => order.1.push((key, (r.qty, vec![start]))),
            }
        }
        if self.final_newline {
            out.extend_from_slice(b"\n");
        }
        (out, model, rows, warnings)
    }
}

fn as_model(p: &ParsedFile) -> Model {
    p.candidates
        .iter()
        .map(|c| {
            let items = c
                .order
                .items
                .iter()
                .zip(&c.item_rows)
                .map(|(it, rows)| {
                    (
                        (it.sku_id.to_string(), it.hub_id.to_string()),
                        (it.quantity.get(), rows.to_vec()),
                    )
                })
                .collect();
            (c.order.order_id.to_string(), items)
        })
        .collect()
}

proptest! {
    #[test]
    fn valid_files_parse_to_the_model(f in valid_file()) {
        let (bytes, want, rows, warnings) = f.build();
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(check_header(&bytes[..]).is_ok(), "{shown}");
        check_spilled_agrees(&bytes)?;
        let p = parse_orders(&bytes[..], &seller())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{shown}")))?;
        prop_assert!(p.rejects.is_empty(), "{:?}\n{shown}", p.rejects);
        prop_assert_eq!(p.orders_rejected, 0);
        prop_assert_eq!(p.rows, rows, "{}", shown);
        prop_assert_eq!(p.warnings, warnings);
        prop_assert_eq!(as_model(&p), want, "{}", shown);
        for c in &p.candidates {
            prop_assert_eq!(c.order.seller_id.as_str(), "1");
        }
    }
}

// ---------------------------------------------------------------------------------
// Valid and invalid rows mixed
// ---------------------------------------------------------------------------------

/// A raw field value, valid or not.
fn any_id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(vec!["A", "B", "1011", " C ", "d"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(Vec::new()),
        1 => Just(b"   ".to_vec()),
        1 => Just(b"\xff\xfe".to_vec()),
        1 => Just(b"a\x01b".to_vec()),
        1 => Just(vec![b'x'; 129]),
    ]
}

fn any_quantity() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (1i64..1000).prop_map(|n| n.to_string()),
        1 => (i64::MAX / 2..=i64::MAX).prop_map(|n| n.to_string()),
        1 => (i64::MIN..=0).prop_map(|n| n.to_string()),
        1 => (0u64..u64::MAX).prop_map(|n| format!("{}{n}", i64::MAX as u128 + 1)),
        1 => (1u128..u128::MAX).prop_map(|n| (n + i64::MAX as u128).to_string()),
        1 => prop::sample::select(vec!["", "1.5", "x", "1e3", "-", "+", "0", "-0", "١"]).prop_map(str::to_owned),
    ]
    .prop_map(String::into_bytes)
}

fn any_seller() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec!["1", "", "01"]),
        1 => prop::sample::select(vec!["2", "acme"]),
    ]
    .prop_map(|s| s.as_bytes().to_vec())
}

/// order, sku, quantity, seller, hub
type RawRow = [Vec<u8>; 5];

fn raw_row() -> impl Strategy<Value = RawRow> {
    (any_id(), any_id(), any_quantity(), any_seller(), any_id())
        .prop_map(|(o, s, q, se, h)| [o, s, q, se, h])
}

fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// The usable order id of a raw field, as the parser sees it.
fn order_id(b: &[u8]) -> Option<String> {
    text(b)
        .and_then(|s| OrderId::parse(s).ok())
        .map(|o| o.to_string())
}

fn row_valid(r: &RawRow) -> bool {
    let id_ok = |b: &[u8]| text(b).is_some_and(|s| SkuId::parse(s).is_ok());
    id_ok(&r[0])
        && id_ok(&r[1])
        && id_ok(&r[4])
        && text(&r[2]).is_some_and(|s| Quantity::parse(s).is_ok())
        && text(&r[3]).is_some_and(|s| seller().same_as(s) || s.trim().is_empty())
}

/// Beyond i64 or <= 0 (written as a plain integer).
fn out_of_range(q: &[u8]) -> bool {
    text(q)
        .and_then(|s| s.trim().parse::<i128>().ok())
        .is_some_and(|n| n <= 0 || n > i128::from(i64::MAX))
}

fn mixed_file(rows: &[RawRow]) -> Vec<u8> {
    let mut out = ORDERS_HEADER.as_bytes().to_vec();
    let plain = Style {
        quoted: false,
        left: "",
        right: "",
    };
    for r in rows {
        let cells: Vec<Vec<u8>> = r.iter().map(|f| render(f, &plain)).collect();
        out.extend_from_slice(&cells.join(&b","[..]));
        out.push(b'\n');
    }
    out
}

proptest! {
    #[test]
    fn mixed_rows_keep_the_invariants(rows in prop::collection::vec(raw_row(), 0..40)) {
        let bytes = mixed_file(&rows);
        let p = parse_orders(&bytes[..], &seller()).expect("a valid header");
        check_parsed(&p);
        check_spilled_agrees(&bytes)?;

        // The model: an order is accepted when all its rows are valid and no sum of a
        // (sku, hub) overflows.
        let mut ids: Vec<String> = Vec::new();
        let mut bad: HashSet<String> = HashSet::new();
        let mut sums: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for r in &rows {
            let Some(id) = order_id(&r[0]) else { continue };
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            if !row_valid(r) {
                bad.insert(id);
                continue;
            }
            let q = Quantity::parse(text(&r[2]).expect("valid")).expect("valid").get();
            let k = (
                id.clone(),
                text(&r[1]).expect("valid").trim().to_owned(),
                text(&r[4]).expect("valid").trim().to_owned(),
            );
            let sum = sums.entry(k).or_insert(0);
            match sum.checked_add(q) {
                Some(s) => *sum = s,
                None => {
                    bad.insert(id);
                }
            }
        }
        let accepted: Vec<String> = p.candidates.iter().map(|c| c.order.order_id.to_string()).collect();
        let want: Vec<String> = ids.iter().filter(|i| !bad.contains(*i)).cloned().collect();
        prop_assert_eq!(&accepted, &want);
        prop_assert_eq!(
            p.candidates.len() as u64 + p.orders_rejected,
            ids.len() as u64,
            "accepted + rejected == distinct usable order ids"
        );
        for id in &bad {
            prop_assert!(
                p.rejects.iter().any(|r| r.order_id.as_deref() == Some(id) && r.row.is_some()),
                "rejected order {} has no reject with a row: {:?}", id, p.rejects
            );
        }
        // A quantity beyond i64 or <= 0 is always rejected, at its line (the header is
        // line 1, so row i is line i + 2).
        for (i, r) in rows.iter().enumerate() {
            if out_of_range(&r[2]) {
                let line = i as u64 + 2;
                prop_assert!(
                    p.rejects.iter().any(|x| x.row == Some(line) && x.column.as_deref() == Some("quantity")),
                    "quantity {:?} of line {} is not rejected: {:?}",
                    String::from_utf8_lossy(&r[2]), line, p.rejects
                );
                if let Some(id) = order_id(&r[0]) {
                    prop_assert!(!accepted.contains(&id));
                }
            }
        }
        let rows_with_content = rows.iter().filter(|r| !r.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))).count();
        prop_assert_eq!(p.rows, rows_with_content as u64);
    }

    #[test]
    fn quantity_parse_agrees_with_i64(n in any::<i64>(), zeros in 0usize..3, plus in any::<bool>()) {
        let s = format!("{}{}{}", if plus && n >= 0 { "+" } else { "" }, "0".repeat(zeros), n);
        let s = if n < 0 { format!("-{}{}", "0".repeat(zeros), n.unsigned_abs()) } else { s };
        match Quantity::parse(&s) {
            Ok(q) => prop_assert!(n > 0 && q.get() == n, "{s}"),
            Err(_) => prop_assert!(n <= 0, "{s}"),
        }
    }

    #[test]
    fn quantity_beyond_i64_is_an_error(extra in 1u128..=u128::MAX - i64::MAX as u128) {
        let s = (i64::MAX as u128 + extra).to_string();
        prop_assert!(Quantity::parse(&s).is_err());
    }

    #[test]
    fn parsed_ids_are_trimmed_printable_and_short(s in any::<String>()) {
        if let Ok(id) = OrderId::parse(&s) {
            let v = id.as_str();
            prop_assert_eq!(v, v.trim());
            prop_assert!(!v.is_empty());
            prop_assert!(v.chars().count() <= oms::domain::ids::MAX_ID_LEN);
            prop_assert!(!v.chars().any(char::is_control));
        }
        if let Ok(q) = Quantity::parse(&s) {
            prop_assert!(q.get() > 0);
        }
    }
}

// ---------------------------------------------------------------------------------
// The row cap
// ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.min(16), ..ProptestConfig::default() })]

    /// A row past the cap, wherever it is and whatever it holds (one long field, many
    /// fields, an endless quoted field), fails the file with `RowTooLong`.
    #[test]
    fn a_row_over_the_cap_fails_the_file(
        before in 0usize..5,
        kind in 0u8..3,
        over in 1usize..40_000,
    ) {
        let mut bytes = ORDERS_HEADER.as_bytes().to_vec();
        for i in 0..before {
            bytes.extend_from_slice(format!("A{i},15,1,1,1\n").as_bytes());
        }
        let n = usize::try_from(MAX_ROW_BYTES).expect("fits") + 16 * 1024 + over;
        match kind {
            0 => bytes.extend(std::iter::repeat_n(b'x', n)),
            1 => bytes.extend(std::iter::repeat_n(b',', n)),
            _ => {
                bytes.push(b'"');
                bytes.extend(std::iter::repeat_n(b"a\n", n / 2).flatten());
            }
        }
        let err = parse_orders(&bytes[..], &seller()).unwrap_err();
        prop_assert_eq!(err, FileError::RowTooLong { line: before as u64 + 2, max: MAX_ROW_BYTES });
    }
}
