//! What the operator sees: tables that fit the terminal, JSON and CSV renderings of
//! the same rows. Everything renders to a `String`; the caller prints it.

pub mod progress;
pub mod prompt;

use crate::domain::stock_file::Stock;
use crate::domain::{Job, Order, OrderItem, Reject};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// A listing rendered as a table, JSON or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    t
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

fn render(
    fmt: Format,
    header: &[&str],
    rows: Vec<Vec<String>>,
    as_json: impl FnOnce() -> String,
) -> String {
    match fmt {
        Format::Json => as_json(),
        Format::Csv => csv(header, rows),
        Format::Table => {
            let mut t = table(header);
            for r in rows {
                t.add_row(r);
            }
            format!("{t}\n")
        }
    }
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

/// `orders ls`.
pub fn orders(fmt: Format, orders: &[Order]) -> String {
    let header = [
        "order_id",
        "seller_id",
        "status",
        "reason",
        "items",
        "job_id",
        "created_at",
        "updated_at",
    ];
    let rows = orders
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
        .collect();
    render(fmt, &header, rows, || json(orders))
}

/// `orders show`.
pub fn order(fmt: Format, o: &Order) -> String {
    match fmt {
        Format::Json => json(o),
        Format::Csv => orders(Format::Csv, std::slice::from_ref(o)),
        Format::Table => {
            let mut t = table(&["field", "value"]);
            t.add_row(vec!["order_id", o.order_id.as_str()]);
            t.add_row(vec!["seller_id", o.seller_id.as_str()]);
            t.add_row(vec!["status", o.status.as_str()]);
            t.add_row(vec!["reason", o.reason.as_deref().unwrap_or("-")]);
            t.add_row(vec!["job_id", o.job_id.as_str()]);
            t.add_row(vec!["created_at", o.created_at.as_str()]);
            t.add_row(vec!["updated_at", o.updated_at.as_str()]);
            let mut items = table(&["sku_id", "hub_id", "quantity"]);
            for i in &o.items {
                items.add_row(vec![
                    i.sku_id.to_string(),
                    i.hub_id.to_string(),
                    i.quantity.to_string(),
                ]);
            }
            let mut hist = table(&["at", "status", "reason"]);
            for h in &o.history {
                hist.add_row(vec![
                    h.at.clone(),
                    h.status.to_string(),
                    opt(h.reason.as_deref()),
                ]);
            }
            format!("{t}\nItems\n{items}\nStatus history\n{hist}\n")
        }
    }
}

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

const JOB_HEADER: [&str; 11] = [
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

/// `jobs ls`.
pub fn jobs(fmt: Format, jobs: &[Job]) -> String {
    render(fmt, &JOB_HEADER, jobs.iter().map(job_row).collect(), || {
        json(jobs)
    })
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
pub fn job(fmt: Format, j: &Job) -> String {
    const REJECT_HEADER: [&str; 4] = ["row", "order_id", "column", "reason"];
    match fmt {
        Format::Json => json(j),
        Format::Csv => csv(&REJECT_HEADER, reject_rows(&j.rejects)),
        Format::Table => {
            let mut t = table(&["field", "value"]);
            for (k, v) in JOB_HEADER.iter().zip(job_row(j)) {
                t.add_row(vec![(*k).to_owned(), v]);
            }
            let mut out = format!("{t}\n");
            if j.rejects.is_empty() {
                out.push_str("No rejects.\n");
            } else {
                let mut r = table(&REJECT_HEADER);
                for row in reject_rows(&j.rejects) {
                    r.add_row(row);
                }
                out.push_str(&format!("Rejects\n{r}\n"));
            }
            out
        }
    }
}

/// `dlq ls`.
pub fn dead_letters(fmt: Format, letters: &[crate::ports::DeadLetter]) -> String {
    let rows = letters
        .iter()
        .map(|d| vec![d.id.clone(), d.receive_count.to_string(), d.body.clone()])
        .collect();
    render(fmt, &["message_id", "receives", "body"], rows, || {
        json(letters)
    })
}

/// `doctor`: one row per check.
pub fn checks(fmt: Format, checks: &[crate::doctor::Check]) -> String {
    let rows = checks
        .iter()
        .map(|c| {
            vec![
                if c.ok { "✓" } else { "✗" }.to_owned(),
                c.name.clone(),
                c.detail.clone(),
                c.fix.clone().unwrap_or_default(),
            ]
        })
        .collect();
    render(fmt, &["ok", "check", "detail", "fix"], rows, || {
        json(checks)
    })
}

/// `inventory ls`.
pub fn stock(fmt: Format, lines: &[Stock]) -> String {
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                l.hub_id.to_string(),
                l.sku_id.to_string(),
                l.quantity.to_string(),
            ]
        })
        .collect();
    render(fmt, &["hub_id", "sku_id", "quantity"], rows, || json(lines))
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

    #[test]
    fn stock_renders_in_every_format() {
        let lines = vec![Stock {
            hub_id: crate::domain::HubId::parse("1").unwrap(),
            sku_id: crate::domain::SkuId::parse("15").unwrap(),
            quantity: 3,
        }];
        let j: serde_json::Value = serde_json::from_str(&stock(Format::Json, &lines)).unwrap();
        assert_eq!(j[0]["quantity"], 3);
        assert_eq!(
            stock(Format::Csv, &lines),
            "hub_id,sku_id,quantity\n1,15,3\n"
        );
        assert!(stock(Format::Table, &lines).contains("15"));
    }
}
