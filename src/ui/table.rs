//! Tables in the manner of `kubectl get` and `gh`: no borders, upper-case headers that
//! never wrap, columns two spaces apart, fitted to a width. comfy-table measures and
//! lays them out; this module decides what must stay whole and what may be left out:
//!
//! - a [`Kind::Text`] or [`Kind::Number`] column is as wide as its widest value (ids,
//!   statuses, ages, counts are never wrapped);
//! - a [`Kind::Wrap`] column (free text: an error, a reason, a path) wraps between
//!   words, and is at least as wide as its widest word and 20 columns (a word wider than its share of
//!   the room the other columns leave is first broken after a `/`, `,`, `=` ...);
//! - when that is still wider than the table, columns are left out in the order of
//!   their [`Col::drop`] rank (lowest first); columns without a rank always stay.
//!
//! [`Layout::Wide`] shows every column at its full width (`--output wide`).

use super::text::{break_long_words, longest_word, width};
use comfy_table::{
    CellAlignment, ColumnConstraint, ContentArrangement, Table, Width, presets::NOTHING,
};

/// Columns between two columns.
const GAP: u16 = 2;
/// A column of free text is not narrowed below this (or its widest line, if shorter)
/// while other columns can be left out instead.
const WRAP_AT_LEAST: usize = 20;

/// How a column's values may be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line, never wrapped.
    Text,
    /// One line, never wrapped, right-aligned.
    Number,
    /// Free text, wrapped between words.
    Wrap,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub header: &'static str,
    pub kind: Kind,
    /// When the table does not fit, columns are left out by this rank, lowest first;
    /// `None`: never left out.
    pub drop: Option<u8>,
}

impl Col {
    /// A column that is never wrapped nor left out.
    #[must_use]
    pub const fn text(header: &'static str) -> Self {
        Self {
            header,
            kind: Kind::Text,
            drop: None,
        }
    }

    /// A right-aligned column of counts.
    #[must_use]
    pub const fn number(header: &'static str) -> Self {
        Self {
            kind: Kind::Number,
            ..Self::text(header)
        }
    }

    /// A column of free text, wrapped between words.
    #[must_use]
    pub const fn wrap(header: &'static str) -> Self {
        Self {
            kind: Kind::Wrap,
            ..Self::text(header)
        }
    }

    /// The column is left out when the table does not fit (lower ranks first).
    #[must_use]
    pub const fn drop(self, rank: u8) -> Self {
        Self {
            drop: Some(rank),
            ..self
        }
    }
}

/// How wide a table may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// At most this many columns: free text wraps, columns are left out.
    Fit(usize),
    /// Every column, each as wide as its values.
    Wide,
}

/// The headers of the columns that are left out first to last, in the order they go.
#[must_use]
pub fn drop_order(cols: &[Col]) -> Vec<&'static str> {
    let mut ranked: Vec<&Col> = cols.iter().filter(|c| c.drop.is_some()).collect();
    ranked.sort_by_key(|c| c.drop);
    ranked.iter().map(|c| c.header).collect()
}

/// The widest word a [`Kind::Wrap`] column keeps whole in a table `w` wide: its share
/// of what the columns that always stay leave (at least 16). A column of empty cells
/// only takes its header's width.
fn longest_word_allowed(cols: &[Col], rows: &[Vec<String>], w: usize, header: bool) -> usize {
    let mut fixed = 0;
    let mut spans: usize = 0;
    let mut wraps: usize = 0;
    for (i, col) in cols.iter().enumerate() {
        let cells = || rows.iter().filter_map(|r| r.get(i));
        let empty = cells().all(String::is_empty);
        let wraps_text = col.kind == Kind::Wrap && !empty;
        let stays = col.drop.is_none();
        if wraps_text || stays {
            spans += 1;
        }
        if wraps_text {
            wraps += 1;
        } else if stays {
            let widest = cells().flat_map(|c| c.lines().map(width)).max();
            fixed += widest
                .unwrap_or(0)
                .max(if header { width(col.header) } else { 0 });
        }
    }
    let gaps = usize::from(GAP) * spans.saturating_sub(1);
    (w.saturating_sub(fixed + gaps) / wraps.max(1)).max(16)
}

/// Renders `rows` (one cell per column) under the headers of `cols` (or none, for a
/// list of fields), ending with a line end; lines have no trailing spaces.
#[must_use]
pub fn render(cols: &[Col], rows: Vec<Vec<String>>, layout: Layout, header: bool) -> String {
    let n = cols.len();
    let fit = match layout {
        Layout::Fit(w) => Some(w.max(1)),
        Layout::Wide => None,
    };
    let rows: Vec<Vec<String>> = match fit {
        Some(w) => {
            let longest = longest_word_allowed(cols, &rows, w, header);
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .zip(cols)
                        .map(|(cell, col)| match col.kind {
                            Kind::Wrap => break_long_words(&cell, longest),
                            _ => cell,
                        })
                        .collect()
                })
                .collect()
        }
        None => rows,
    };
    // What each column needs to keep every value (or, wrapped, every word) whole.
    let need: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let cells = rows.iter().filter_map(|r| r.get(i));
            let content = match col.kind {
                // Its widest word, and room for a few words on a line.
                Kind::Wrap => cells
                    .map(|c| {
                        let widest_line = c.lines().map(width).max().unwrap_or(0);
                        longest_word(c).max(widest_line.min(WRAP_AT_LEAST))
                    })
                    .max(),
                _ => cells.flat_map(|c| c.lines().map(width)).max(),
            };
            let head = if header { width(col.header) } else { 0 };
            content.unwrap_or(0).max(head).max(1)
        })
        .collect();
    let mut shown = vec![true; n];
    if let Some(w) = fit {
        let total = |shown: &[bool]| {
            let visible = (0..n).filter(|&i| shown[i]);
            let count = visible.clone().count();
            visible.map(|i| need[i]).sum::<usize>() + usize::from(GAP) * count.saturating_sub(1)
        };
        let mut ranked: Vec<usize> = (0..n).filter(|&i| cols[i].drop.is_some()).collect();
        ranked.sort_by_key(|&i| cols[i].drop);
        for i in ranked {
            if total(&shown) <= w {
                break;
            }
            shown[i] = false;
        }
    }

    let mut t = Table::new();
    t.load_preset(NOTHING);
    if header {
        t.set_header(cols.iter().map(|c| c.header));
    }
    for r in rows {
        t.add_row(r);
    }
    let last = (0..n).rev().find(|&i| shown[i]);
    for (i, col) in cols.iter().enumerate() {
        let Some(c) = t.column_mut(i) else { continue };
        let pad = if Some(i) == last { 0 } else { GAP };
        c.set_padding((0, pad));
        if col.kind == Kind::Number {
            c.set_cell_alignment(CellAlignment::Right);
        }
        if !shown[i] {
            c.set_constraint(ColumnConstraint::Hidden);
        } else if fit.is_some() {
            c.set_constraint(match col.kind {
                // Constraints count the padding.
                Kind::Wrap => ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(need[i])
                        .unwrap_or(u16::MAX)
                        .saturating_add(pad),
                )),
                Kind::Text | Kind::Number => ColumnConstraint::ContentWidth,
            });
        }
    }
    match fit {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w).unwrap_or(u16::MAX));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let mut out = t.trim_fmt();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> [Col; 5] {
        [
            Col::text("ID"),
            Col::text("STATUS"),
            Col::number("COUNT").drop(2),
            Col::text("UPDATED").drop(1),
            Col::wrap("NOTE").drop(3),
        ]
    }

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec![
                "99ad7bf6".into(),
                "insufficient_inventory".into(),
                "12,345".into(),
                "3m".into(),
                "the warehouse had less stock than the order asked for".into(),
            ],
            vec![
                "1".into(),
                "new_order".into(),
                "7".into(),
                "12s".into(),
                String::new(),
            ],
        ]
    }

    fn words(rows: &[Vec<String>]) -> Vec<String> {
        rows.iter()
            .flatten()
            .flat_map(|c| c.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn a_table_fits_its_width_and_keeps_every_word_whole() {
        for w in [40, 50, 60, 80, 100, 120] {
            let out = render(&cols(), rows(), Layout::Fit(w), true);
            for line in out.lines() {
                assert!(width(line) <= w, "wider than {w}:\n{out}");
                assert_eq!(line, line.trim_end(), "trailing spaces:\n{out}");
            }
            let head = out.lines().next().expect("a header line");
            assert!(head.starts_with("ID") && head.contains("STATUS"), "{out}");
            let text: Vec<&str> = out.split_whitespace().collect();
            for word in words(&rows()) {
                let shown = text.contains(&word.as_str());
                let column_gone = !["NOTE", "COUNT", "UPDATED"]
                    .iter()
                    .all(|h| head.contains(h));
                assert!(shown || column_gone, "{word:?} broken at {w}:\n{out}");
            }
            assert!(out.contains("insufficient_inventory"), "{out}");
        }
    }

    #[test]
    fn columns_are_left_out_by_rank() {
        let out = render(&cols(), rows(), Layout::Fit(60), true);
        let head = out.lines().next().unwrap();
        assert!(!head.contains("UPDATED"), "{out}");
        let narrow = render(&cols(), rows(), Layout::Fit(40), true);
        let head = narrow.lines().next().unwrap();
        assert!(
            !head.contains("UPDATED") && !head.contains("COUNT"),
            "{narrow}"
        );
        assert!(head.contains("ID") && head.contains("STATUS"), "{narrow}");
        assert_eq!(drop_order(&cols()), ["UPDATED", "COUNT", "NOTE"]);
    }

    #[test]
    fn wide_shows_every_column_on_one_line() {
        let out = render(&cols(), rows(), Layout::Wide, true);
        assert_eq!(out.lines().count(), 3, "{out}");
        for h in ["ID", "STATUS", "COUNT", "UPDATED", "NOTE"] {
            assert!(out.lines().next().unwrap().contains(h), "{out}");
        }
    }

    #[test]
    fn numbers_are_right_aligned_and_columns_two_apart() {
        let out = render(
            &[Col::text("A"), Col::number("N")],
            vec![
                vec!["x".into(), "1,000".into()],
                vec!["yy".into(), "7".into()],
            ],
            Layout::Fit(80),
            true,
        );
        assert_eq!(out, "A       N\nx   1,000\nyy      7\n");
    }

    #[test]
    fn a_word_too_long_for_any_column_breaks_after_a_slash() {
        let path = "storage/sellers/acme/2026-12-01/orders-batch-0001.csv";
        let out = render(
            &[Col::text("JOB"), Col::wrap("FILE")],
            vec![vec!["99ad7bf6".into(), path.into()]],
            Layout::Fit(40),
            true,
        );
        for line in out.lines() {
            assert!(width(line) <= 40, "{out}");
        }
        assert!(out.contains("storage/sellers/acme/\n"), "{out}");
    }
}
