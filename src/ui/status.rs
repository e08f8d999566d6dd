//! `oms status` on screen and as JSON. The screen is one label per part of the
//! pipeline (jobs, queue, groups, orders, last error), its figures flowing to the
//! width of the pane without a figure ever split; a figure the backends cannot give is
//! `–`. [`redraw`] turns a screen into the bytes that draw it in place (`--watch`).

use super::table::{self, Col, Layout};
use super::text::{age, break_long_words, count, short_id, short_time, width, wrap};
use crate::app::status::{Figure, Status, WINDOW_HOURS};
use crate::domain::Status as OrderStatus;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Shown for a figure that is not known.
pub const UNKNOWN: &str = "–";

fn fig(f: &Figure<u64>) -> String {
    f.known().map_or_else(|| UNKNOWN.to_owned(), |n| count(*n))
}

fn named(name: &str, f: &Figure<u64>) -> String {
    format!("{name} {}", fig(f))
}

/// The figures of `s`'s orders: every status (the two known ones always), and the
/// `on_hold` ones by reason.
fn order_lines(s: &Status, max: usize) -> String {
    let sep = " · ";
    let by_status = match s.orders.by_status.known() {
        Some(counts) => {
            let mut all: Vec<(OrderStatus, u64)> = [OrderStatus::NewOrder, OrderStatus::OnHold]
                .iter()
                .map(|st| (*st, 0))
                .collect();
            for (st, n) in counts {
                match all.iter_mut().find(|(s, _)| s == st) {
                    Some((_, total)) => *total = *n,
                    None => all.push((*st, *n)),
                }
            }
            all.iter()
                .map(|(st, n)| format!("{st} {}", count(*n)))
                .collect()
        }
        None => vec![format!("new_order {UNKNOWN}"), format!("on_hold {UNKNOWN}")],
    };
    let mut reasons: Vec<String> = match s.orders.on_hold_by_reason.known() {
        Some(r) if r.is_empty() => vec!["none".to_owned()],
        Some(r) => r
            .iter()
            .map(|(reason, n)| {
                let reason = reason.as_deref().unwrap_or("not tried yet");
                format!("{reason} {}", count(*n))
            })
            .collect(),
        None => vec![UNKNOWN.to_owned()],
    };
    reasons[0] = format!("on_hold by reason: {}", reasons[0]);
    format!(
        "{}\n{}",
        wrap(&by_status, sep, max),
        wrap(&reasons, sep, max)
    )
}

fn last_error(s: &Status, now: OffsetDateTime, max: usize) -> String {
    match &s.last_error {
        Figure::Known(Some(e)) => {
            let mut words = vec![
                format!("{} ago", age(&e.at, now)),
                format!("· job {}:", short_id(&e.job_id)),
            ];
            words.extend(
                break_long_words(&e.message, max)
                    .split([' ', '\n'])
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned),
            );
            wrap(&words, " ", max)
        }
        Figure::Known(None) => "none recorded".to_owned(),
        _ => UNKNOWN.to_owned(),
    }
}

fn groups(s: &Status, max: usize) -> String {
    match s.groups.known() {
        Some(list) if !list.is_empty() => {
            let rows = list
                .iter()
                .map(|g| vec![g.group.clone(), fig(&g.lag), fig(&g.members)])
                .collect();
            let cols = [
                Col::wrap("GROUP"),
                Col::number("LAG"),
                Col::number("MEMBERS"),
            ];
            table::render(&cols, rows, Layout::Fit(max), true)
                .trim_end()
                .to_owned()
        }
        Some(_) => "none".to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

/// The status as a screen `max_width` columns wide; `every` is the redraw interval
/// of `--watch`, named in the title.
#[must_use]
pub fn screen(s: &Status, now: OffsetDateTime, max_width: usize, every: Option<u64>) -> String {
    const LABEL: usize = 10;
    let max = max_width.saturating_sub(LABEL + 2).max(20);
    let sep = " · ";
    let jobs = [
        named("queued", &s.jobs.queued),
        named("in progress", &s.jobs.in_progress),
        format!("last {WINDOW_HOURS} h: done {}", fig(&s.jobs.done)),
        named("failed", &s.jobs.failed),
    ];
    let queue = [
        named("waiting", &s.queue.waiting),
        named("in flight", &s.queue.in_flight),
        named("dead-lettered", &s.queue.dead_lettered),
    ];
    let mut rows = vec![
        vec!["JOBS".to_owned(), wrap(&jobs, sep, max)],
        vec!["QUEUE".to_owned(), wrap(&queue, sep, max)],
        vec!["GROUPS".to_owned(), groups(s, max)],
        vec!["ORDERS".to_owned(), order_lines(s, max)],
        vec!["LAST ERROR".to_owned(), last_error(s, now, max)],
    ];
    for p in &s.problems {
        rows.push(vec!["PROBLEM".to_owned(), break_long_words(p, max)]);
    }
    let mut title = format!("oms status  {}", short_time(&s.at));
    if let Some(secs) = every {
        let more = format!("  every {secs}s, Ctrl-C to quit");
        if width(&title) + width(&more) <= max_width {
            title.push_str(&more);
        }
    }
    let body = table::render(
        &[Col::text("LABEL"), Col::wrap("VALUE")],
        rows,
        Layout::Fit(max_width),
        false,
    );
    format!("{title}\n\n{body}")
}

/// The bytes that draw `screen` over the terminal's previous one, from its top-left
/// corner, without scrolling: each line clears what is left of the old one, the rest
/// of the old screen is cleared, and a screen taller than `rows` is cut to it.
#[must_use]
pub fn redraw(screen: &str, rows: Option<usize>) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let keep = rows.map_or(lines.len(), |r| r.min(lines.len()));
    let mut out = String::from("\x1b[H");
    out.push_str(&lines[..keep].join("\x1b[K\r\n"));
    out.push_str("\x1b[K\x1b[J");
    out
}

fn figure_json(f: &Figure<u64>, name: &str, missing: &mut Vec<String>) -> Value {
    match f.known() {
        Some(n) => json!(n),
        None => {
            missing.push(name.to_owned());
            Value::Null
        }
    }
}

/// The status as JSON: figures not known are `null` and named in `not_available`;
/// ports that failed are in `problems`.
#[must_use]
pub fn json(s: &Status) -> String {
    let mut missing = Vec::new();
    let m = &mut missing;
    let jobs = json!({
        "queued": figure_json(&s.jobs.queued, "jobs.queued", m),
        "in_progress": figure_json(&s.jobs.in_progress, "jobs.in_progress", m),
        "done": figure_json(&s.jobs.done, "jobs.done", m),
        "failed": figure_json(&s.jobs.failed, "jobs.failed", m),
        "window_hours": WINDOW_HOURS,
    });
    let queue = json!({
        "waiting": figure_json(&s.queue.waiting, "queue.waiting", m),
        "in_flight": figure_json(&s.queue.in_flight, "queue.in_flight", m),
        "dead_lettered": figure_json(&s.queue.dead_lettered, "queue.dead_lettered", m),
    });
    let groups = match s.groups.known() {
        Some(list) => Value::Array(
            list.iter()
                .map(|g| {
                    json!({
                        "group": g.group,
                        "lag": figure_json(&g.lag, &format!("groups.{}.lag", g.group), m),
                        "members": figure_json(&g.members, &format!("groups.{}.members", g.group), m),
                    })
                })
                .collect(),
        ),
        None => {
            m.push("groups".to_owned());
            Value::Null
        }
    };
    let by_status = match s.orders.by_status.known() {
        Some(counts) => {
            let mut o = serde_json::Map::new();
            for st in [OrderStatus::OnHold, OrderStatus::NewOrder] {
                o.insert(st.to_string(), json!(0));
            }
            for (st, n) in counts {
                o.insert(st.to_string(), json!(n));
            }
            Value::Object(o)
        }
        None => {
            m.push("orders.by_status".to_owned());
            Value::Null
        }
    };
    let by_reason = match s.orders.on_hold_by_reason.known() {
        Some(r) => Value::Array(
            r.iter()
                .map(|(reason, n)| json!({ "reason": reason, "orders": n }))
                .collect(),
        ),
        None => {
            m.push("orders.on_hold_by_reason".to_owned());
            Value::Null
        }
    };
    let last_error = match &s.last_error {
        Figure::Known(Some(e)) => {
            json!({ "job_id": e.job_id, "at": e.at, "message": e.message })
        }
        Figure::Known(None) => Value::Null,
        _ => {
            m.push("last_error".to_owned());
            Value::Null
        }
    };
    let v = json!({
        "at": s.at,
        "jobs": jobs,
        "queue": queue,
        "groups": groups,
        "orders": { "by_status": by_status, "on_hold_by_reason": by_reason },
        "last_error": last_error,
        "not_available": missing,
        "problems": s.problems,
    });
    let mut out = serde_json::to_string_pretty(&v).expect("a JSON value serialises");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::status::{Group, Jobs, LastError, Orders, Queue};
    use time::macros::datetime;

    fn status() -> Status {
        Status {
            at: "2026-12-02T10:00:00.000000Z".into(),
            jobs: Jobs {
                queued: Figure::Known(2),
                in_progress: Figure::Known(1),
                done: Figure::Unsupported,
                failed: Figure::Known(1_204),
            },
            queue: Queue {
                waiting: Figure::Known(3),
                in_flight: Figure::Failed,
                dead_lettered: Figure::Known(0),
            },
            groups: Figure::Known(vec![Group {
                group: "oms-fulfil".into(),
                lag: Figure::Known(12_345),
                members: Figure::Unsupported,
            }]),
            orders: Orders {
                by_status: Figure::Known(vec![(OrderStatus::OnHold, 1_234)]),
                on_hold_by_reason: Figure::Known(vec![
                    (None, 234),
                    (Some("insufficient_inventory".into()), 1_000),
                ]),
            },
            last_error: Figure::Known(Some(LastError {
                job_id: "99ad7bf6-d27e-487a-bd21-56e84190f7f9".into(),
                at: "2026-12-02T09:57:00Z".into(),
                message: "storage/missing.csv: no such file".into(),
            })),
            problems: vec!["queue: queue unavailable: connection refused".into()],
        }
    }

    #[test]
    fn the_screen_fits_and_shows_unknown_figures_as_a_dash() {
        let now = datetime!(2026-12-02 10:00:00 UTC);
        for w in [60, 80, 100] {
            let out = screen(&status(), now, w, Some(2));
            for line in out.lines() {
                assert!(width(line) <= w, "wider than {w}:\n{out}");
            }
            for needle in [
                "queued 2",
                "in progress 1",
                "done –",
                "failed 1,204",
                "in flight –",
                "12,345",
                "on_hold 1,234",
                "new_order 0",
                "insufficient_inventory 1,000",
                "not tried yet 234",
                "3m ago",
                "job 99ad7bf6:",
                "connection refused",
            ] {
                assert!(out.contains(needle), "{needle:?} at {w}:\n{out}");
            }
        }
    }

    #[test]
    fn json_keeps_full_values_and_names_what_is_not_available() {
        let v: Value = serde_json::from_str(&json(&status())).unwrap();
        assert_eq!(v["jobs"]["queued"], 2);
        assert_eq!(v["jobs"]["done"], Value::Null);
        assert_eq!(v["queue"]["in_flight"], Value::Null);
        assert_eq!(v["groups"][0]["lag"], 12_345);
        assert_eq!(v["orders"]["by_status"]["new_order"], 0);
        assert_eq!(v["orders"]["on_hold_by_reason"][0]["reason"], Value::Null);
        assert_eq!(
            v["last_error"]["job_id"],
            "99ad7bf6-d27e-487a-bd21-56e84190f7f9"
        );
        let missing: Vec<&str> = v["not_available"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(
            missing,
            ["jobs.done", "queue.in_flight", "groups.oms-fulfil.members"]
        );
        assert_eq!(v["problems"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_redraw_starts_at_the_top_and_never_ends_a_line_past_the_screen() {
        let out = redraw("a\nb\nc\n", Some(2));
        assert_eq!(out, "\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J");
        assert!(!redraw("a\nb", None).ends_with('\n'));
    }
}
