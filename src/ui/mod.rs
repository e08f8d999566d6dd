//! What the operator sees: tables that fit the terminal (kubectl-style, see
//! [`table`]), and JSON and CSV renderings of the same rows with the full values
//! (whole ids, RFC 3339 times). Everything renders to a `String`; the caller prints it.

pub mod progress;
pub mod prompt;
pub mod status;
pub mod table;
pub mod text;

use crate::domain::stock_file::Stock;
use crate::domain::{BulkOrderRequest, Job, Order, OrderItem, Reject};
use serde::Serialize;
use std::io::IsTerminal;
use table::{Col, Layout};
use text::{age, age_and_time, count, short_id};
use time::OffsetDateTime;

/// A listing rendered as a table (fitted, or every column: wide), JSON or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Csv,
}

/// How to render: the format, the width a table must fit, and the instant ages are
/// counted from.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub format: Format,
    pub width: usize,
    pub now: OffsetDateTime,
}

impl View {
    /// `format` at the width of the terminal (see [`table_width`]), now.
    #[must_use]
    pub fn new(format: Format) -> Self {
        Self {
            format,
            width: table_width(),
            now: OffsetDateTime::now_utc(),
        }
    }

    fn layout(&self) -> Layout {
        match self.format {
            Format::Wide => Layout::Wide,
            _ => Layout::Fit(self.width),
        }
    }
}

/// Piped output is fitted to this many columns unless `COLUMNS` says otherwise.
pub const PIPED_WIDTH: usize = 120;

/// The width tables are fitted to: the terminal's when stdout is one; otherwise
/// `COLUMNS` when it is set to a number, else [`PIPED_WIDTH`].
#[must_use]
pub fn table_width() -> usize {
    if std::io::stdout().is_terminal()
        && let Some((_, cols)) = dialoguer::console::Term::stdout().size_checked()
    {
        return usize::from(cols);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(PIPED_WIDTH)
}

/// The terminal's height when stdout is one.
#[must_use]
pub fn table_height() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    dialoguer::console::Term::stdout()
        .size_checked()
        .map(|(rows, _)| usize::from(rows))
}

/// A CSV cell that a spreadsheet would run as a formula is prefixed with `'`.
pub fn csv_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c)))
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 cells")
}

/// A job's rejects as CSV (`oms jobs rejects`), cells that look like formulas defused.
pub fn rejects_csv(t: crate::app::jobs::RejectsTable) -> String {
    csv(&t.header, t.rows)
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("rows always serialise");
    s.push('\n');
    s
}

/// A listing: JSON of the values, CSV of `full` rows under the field names, or a
/// table of `shown` rows under `cols`.
fn listing(
    view: &View,
    header: &[&str],
    full: impl FnOnce() -> Vec<Vec<String>>,
    cols: &[Col],
    shown: impl FnOnce() -> Vec<Vec<String>>,
    as_json: impl FnOnce() -> String,
) -> String {
    match view.format {
        Format::Json => as_json(),
        Format::Csv => csv(header, full()),
        Format::Table | Format::Wide => table::render(cols, shown(), view.layout(), true),
    }
}

/// Fields and values, one per line, without a header (`jobs show`, `orders show`).
fn fields(view: &View, rows: Vec<(&str, String)>) -> String {
    let cols = [Col::text("FIELD"), Col::wrap("VALUE")];
    let rows = rows
        .into_iter()
        .map(|(k, v)| vec![k.to_owned(), v])
        .collect();
    table::render(&cols, rows, view.layout(), false)
}

/// Items as `sku@hub×qty`, comma separated.
pub fn items_text(items: &[OrderItem]) -> String {
    items
        .iter()
        .map(|i| format!("{}@{}×{}", i.sku_id, i.hub_id, i.quantity))
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt(s: Option<&str>) -> String {
    s.unwrap_or("").to_owned()
}

const ORDER_FIELDS: [&str; 8] = [
    "order_id",
    "seller_id",
    "status",
    "reason",
    "items",
    "job_id",
    "created_at",
    "updated_at",
];

/// The columns of `orders ls`; when they do not fit, UPDATED goes first, then JOB,
/// SELLER, AGE, ITEMS, REASON.
pub const ORDER_COLUMNS: [Col; 8] = [
    Col::text("ORDER"),
    Col::text("SELLER").drop(3),
    Col::text("STATUS"),
    Col::text("REASON").drop(6),
    Col::text("ITEMS").drop(5),
    Col::text("JOB").drop(2),
    Col::text("AGE").drop(4),
    Col::text("UPDATED").drop(1),
];

/// `orders ls`.
pub fn orders(view: &View, orders: &[Order]) -> String {
    let full = || {
        orders
            .iter()
            .map(|o| {
                vec![
                    o.order_id.to_string(),
                    o.seller_id.to_string(),
                    o.status.to_string(),
                    opt(o.reason.as_deref()),
                    items_text(&o.items),
                    o.job_id.clone(),
                    o.created_at.clone(),
                    o.updated_at.clone(),
                ]
            })
            .collect()
    };
    let shown = || {
        orders
            .iter()
            .map(|o| {
                vec![
                    o.order_id.to_string(),
                    o.seller_id.to_string(),
                    o.status.to_string(),
                    opt(o.reason.as_deref()),
                    text::items_summary(&o.items),
                    short_id(&o.job_id).to_owned(),
                    age(&o.created_at, view.now),
                    age(&o.updated_at, view.now),
                ]
            })
            .collect()
    };
    listing(view, &ORDER_FIELDS, full, &ORDER_COLUMNS, shown, || {
        json(orders)
    })
}

/// `orders show`: the order, its items, its status history.
pub fn order(view: &View, o: &Order) -> String {
    match view.format {
        Format::Json => json(o),
        Format::Csv => orders(view, std::slice::from_ref(o)),
        Format::Table | Format::Wide => {
            let head = fields(
                view,
                vec![
                    ("order_id", o.order_id.to_string()),
                    ("seller_id", o.seller_id.to_string()),
                    ("status", o.status.to_string()),
                    ("reason", o.reason.clone().unwrap_or_else(|| "-".to_owned())),
                    ("items", text::items_summary(&o.items)),
                    ("job_id", o.job_id.clone()),
                    ("created_at", age_and_time(&o.created_at, view.now)),
                    ("updated_at", age_and_time(&o.updated_at, view.now)),
                ],
            );
            let items = table::render(
                &[Col::text("SKU"), Col::text("HUB"), Col::number("QUANTITY")],
                o.items
                    .iter()
                    .map(|i| {
                        vec![
                            i.sku_id.to_string(),
                            i.hub_id.to_string(),
                            text::signed_count(i.quantity.get()),
                        ]
                    })
                    .collect(),
                view.layout(),
                true,
            );
            let hist = table::render(
                &[Col::text("AGE"), Col::text("STATUS"), Col::wrap("REASON")],
                o.history
                    .iter()
                    .map(|h| {
                        vec![
                            age(&h.at, view.now),
                            h.status.to_string(),
                            opt(h.reason.as_deref()),
                        ]
                    })
                    .collect(),
                view.layout(),
                true,
            );
            format!("{head}\nItems\n{items}\nStatus history\n{hist}")
        }
    }
}

const JOB_FIELDS: [&str; 11] = [
    "job_id",
    "seller_id",
    "file",
    "state",
    "rows",
    "accepted",
    "rejected",
    "duplicate",
    "warnings",
    "created_at",
    "error",
];

/// The columns of `jobs ls`; when they do not fit, WARNINGS goes first, then
/// DUPLICATE, SELLER, ROWS, AGE, FILE, ERROR.
pub const JOB_COLUMNS: [Col; 11] = [
    Col::text("JOB"),
    Col::text("SELLER").drop(3),
    Col::text("FILE").drop(6),
    Col::text("STATE"),
    Col::number("ROWS").drop(4),
    Col::number("ACCEPTED"),
    Col::number("REJECTED"),
    Col::number("DUPLICATE").drop(2),
    Col::number("WARNINGS").drop(1),
    Col::text("AGE").drop(5),
    Col::wrap("ERROR").drop(7),
];

fn job_row(j: &Job) -> Vec<String> {
    vec![
        j.job_id.clone(),
        j.seller_id.clone(),
        j.file_path.clone(),
        j.state.to_string(),
        j.counts.rows.to_string(),
        j.counts.orders_accepted.to_string(),
        j.counts.orders_rejected.to_string(),
        j.counts.orders_duplicate.to_string(),
        j.counts.warnings.to_string(),
        j.created_at.clone(),
        opt(j.error.as_deref()),
    ]
}

/// `jobs ls`.
pub fn jobs(view: &View, jobs: &[Job]) -> String {
    let shown = || {
        jobs.iter()
            .map(|j| {
                vec![
                    short_id(&j.job_id).to_owned(),
                    j.seller_id.clone(),
                    j.file_path.clone(),
                    j.state.to_string(),
                    count(j.counts.rows),
                    count(j.counts.orders_accepted),
                    count(j.counts.orders_rejected),
                    count(j.counts.orders_duplicate),
                    count(j.counts.warnings),
                    age(&j.created_at, view.now),
                    opt(j.error.as_deref()),
                ]
            })
            .collect()
    };
    listing(
        view,
        &JOB_FIELDS,
        || jobs.iter().map(job_row).collect(),
        &JOB_COLUMNS,
        shown,
        || json(jobs),
    )
}

fn reject_rows(rejects: &[Reject]) -> Vec<Vec<String>> {
    rejects
        .iter()
        .map(|r| {
            vec![
                r.row.map(|n| n.to_string()).unwrap_or_default(),
                opt(r.order_id.as_deref()),
                opt(r.column.as_deref()),
                r.reason.clone(),
            ]
        })
        .collect()
}

/// `jobs show`: the job, then its rejects.
pub fn job(view: &View, j: &Job) -> String {
    const REJECT_HEADER: [&str; 4] = ["row", "order_id", "column", "reason"];
    match view.format {
        Format::Json => json(j),
        Format::Csv => csv(&REJECT_HEADER, reject_rows(&j.rejects)),
        Format::Table | Format::Wide => {
            let mut lines = vec![
                ("job_id", j.job_id.clone()),
                ("seller_id", j.seller_id.clone()),
                ("file", j.file_path.clone()),
            ];
            if let Some(name) = &j.source_file {
                lines.push(("source_file", name.clone()));
            }
            let mut out = fields(
                view,
                lines
                    .into_iter()
                    .chain([
                        ("state", j.state.to_string()),
                        ("rows", count(j.counts.rows)),
                        ("accepted", count(j.counts.orders_accepted)),
                        ("rejected", count(j.counts.orders_rejected)),
                        ("duplicate", count(j.counts.orders_duplicate)),
                        ("warnings", count(j.counts.warnings)),
                        ("created_at", age_and_time(&j.created_at, view.now)),
                        ("updated_at", age_and_time(&j.updated_at, view.now)),
                        ("error", j.error.clone().unwrap_or_else(|| "-".to_owned())),
                    ])
                    .collect(),
            );
            if j.rejects.is_empty() {
                out.push_str("\nNo rejects.\n");
            } else {
                let cols = [
                    Col::number("ROW"),
                    Col::text("ORDER"),
                    Col::text("COLUMN").drop(1),
                    Col::wrap("REASON"),
                ];
                let rows = reject_rows(&j.rejects);
                let n = count(rows.len() as u64);
                out.push_str(&format!(
                    "\nRejects ({n})\n{}",
                    table::render(&cols, rows, view.layout(), true)
                ));
            }
            out
        }
    }
}

/// A dead letter's body as the table shows it: a bulk-order request as its seller,
/// file and (short) job id; anything else as it is.
fn letter_body(body: &str) -> String {
    match BulkOrderRequest::from_json(body.as_bytes()) {
        Ok(r) => {
            let mut s = format!("seller {} · {}", r.seller_id.0, r.file_path);
            if let Some(job) = &r.job_id {
                s.push_str(&format!(" · job {}", short_id(job)));
            }
            s
        }
        Err(_) => body.to_owned(),
    }
}

/// `dlq ls`.
pub fn dead_letters(view: &View, letters: &[crate::ports::DeadLetter]) -> String {
    let cols = [
        Col::text("MESSAGE"),
        Col::number("RECEIVES"),
        Col::wrap("BODY"),
    ];
    let full = || {
        letters
            .iter()
            .map(|d| vec![d.id.clone(), d.receive_count.to_string(), d.body.clone()])
            .collect()
    };
    let shown = || {
        letters
            .iter()
            .map(|d| {
                let body = match view.format {
                    Format::Wide => d.body.clone(),
                    _ => letter_body(&d.body),
                };
                vec![d.id.clone(), count(u64::from(d.receive_count)), body]
            })
            .collect()
    };
    listing(
        view,
        &["message_id", "receives", "body"],
        full,
        &cols,
        shown,
        || json(letters),
    )
}

/// `doctor`: one row per check.
pub fn checks(view: &View, checks: &[crate::doctor::Check]) -> String {
    let rows = || {
        checks
            .iter()
            .map(|c| {
                vec![
                    if c.ok { "✓" } else { "✗" }.to_owned(),
                    c.name.clone(),
                    c.detail.clone(),
                    c.fix.clone().unwrap_or_default(),
                ]
            })
            .collect()
    };
    let cols = [
        Col::text("OK"),
        Col::text("CHECK"),
        Col::wrap("DETAIL"),
        Col::wrap("FIX"),
    ];
    listing(
        view,
        &["ok", "check", "detail", "fix"],
        rows,
        &cols,
        rows,
        || json(checks),
    )
}

/// `inventory ls`.
pub fn stock(view: &View, lines: &[Stock]) -> String {
    let rows = |quantity: fn(i64) -> String| {
        lines
            .iter()
            .map(|l| {
                vec![
                    l.hub_id.to_string(),
                    l.sku_id.to_string(),
                    quantity(l.quantity),
                ]
            })
            .collect()
    };
    let cols = [Col::text("HUB"), Col::text("SKU"), Col::number("QUANTITY")];
    listing(
        view,
        &["hub_id", "sku_id", "quantity"],
        || rows(|q| q.to_string()),
        &cols,
        || rows(text::signed_count),
        || json(lines),
    )
}

/// `token ls`: names, sellers and when each was added (never a token).
pub fn tokens(view: &View, list: &[crate::domain::access::NamedToken]) -> String {
    if list.is_empty() && matches!(view.format, Format::Table | Format::Wide) {
        return "No tokens.\n".to_owned();
    }
    let rows = |added: &dyn Fn(&str) -> String| {
        list.iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    t.scope.to_string(),
                    t.added.as_deref().map(added).unwrap_or_default(),
                ]
            })
            .collect()
    };
    let cols = [Col::text("NAME"), Col::text("SELLERS"), Col::text("ADDED")];
    let as_json = || {
        let v: Vec<_> = list
            .iter()
            .map(|t| serde_json::json!({ "name": t.name, "sellers": t.scope.as_texts(), "added": t.added }))
            .collect();
        format!("{}\n", serde_json::Value::Array(v))
    };
    listing(
        view,
        &["name", "sellers", "added"],
        || rows(&|a| a.to_owned()),
        &cols,
        || rows(&|a| age(a, view.now)),
        as_json,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@x"), "'@x");
        assert_eq!(csv_cell("1011"), "1011");
        let out = csv(&["a"], vec![vec!["=cmd".to_owned()]]);
        assert_eq!(out, "a\n'=cmd\n");
    }

    fn view(format: Format) -> View {
        View {
            format,
            width: 80,
            now: time::macros::datetime!(2026-12-02 10:00:00 UTC),
        }
    }

    #[test]
    fn stock_renders_in_every_format() {
        let lines = vec![Stock {
            hub_id: crate::domain::HubId::parse("1").unwrap(),
            sku_id: crate::domain::SkuId::parse("15").unwrap(),
            quantity: 3_000,
        }];
        let j: serde_json::Value =
            serde_json::from_str(&stock(&view(Format::Json), &lines)).unwrap();
        assert_eq!(j[0]["quantity"], 3_000);
        assert_eq!(
            stock(&view(Format::Csv), &lines),
            "hub_id,sku_id,quantity\n1,15,3000\n"
        );
        assert_eq!(
            stock(&view(Format::Table), &lines),
            "HUB  SKU  QUANTITY\n1    15      3,000\n"
        );
    }

    /// `--help` of each listing names the columns left out first to last, as the
    /// tables leave them out.
    #[test]
    fn the_help_states_the_order_columns_are_left_out_in() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        for (path, cols) in [
            (["orders", "ls"], &ORDER_COLUMNS[..]),
            (["jobs", "ls"], &JOB_COLUMNS[..]),
        ] {
            let sub = cli
                .find_subcommand(path[0])
                .and_then(|c| c.find_subcommand(path[1]))
                .expect("the subcommand");
            let help = sub.get_after_help().expect("after_help").to_string();
            let order = table::drop_order(cols).join(", ");
            assert!(
                help.contains(&order),
                "`{}` --help does not state {order:?}:\n{help}",
                path.join(" ")
            );
        }
    }
}
