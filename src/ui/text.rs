//! Values as the tables show them: ages (`12s`, `3m`, `2h`, `4d`), short times, counts
//! with thousands separators, short job ids, an order's items summed up; and the text
//! helpers the layout needs (widths on screen, breaking a word too long for its
//! column at a natural point). JSON and CSV never go through these: they keep the full
//! values.

use crate::domain::OrderItem;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use unicode_width::UnicodeWidthChar;

/// How many characters of a job id the tables show.
pub const SHORT_ID: usize = 8;

/// Columns `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` in at most `max` columns: whole when it fits, else its start and its end
/// around `...` (ASCII, for a pane under a C locale; the end of a file name tells
/// files apart as often as its start).
pub fn elide(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let room = max.saturating_sub(3);
    let mut start_room = room - room / 2;
    let start: String = fitting(s.chars(), &mut start_room).into_iter().collect();
    // What the start leaves unused goes to the end.
    let mut end_room = room / 2 + start_room;
    let mut end = fitting(s.chars().rev(), &mut end_room);
    end.reverse();
    format!("{start}...{}", end.into_iter().collect::<String>())
}

/// The leading `chars` that fit in `room` columns; `room` is left with what they did
/// not take.
fn fitting(chars: impl Iterator<Item = char>, room: &mut usize) -> Vec<char> {
    let mut out = Vec::new();
    for c in chars {
        let w = c.width().unwrap_or(0);
        if w > *room {
            break;
        }
        *room -= w;
        out.push(c);
    }
    out
}

/// The first [`SHORT_ID`] characters of a job id (the whole id when it is not longer).
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(SHORT_ID) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

/// A signed count (stock) with thousands separators: `-1,500`.
pub fn signed_count(n: i64) -> String {
    let c = count(n.unsigned_abs());
    if n < 0 { format!("-{c}") } else { c }
}

/// `1234567` as `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

/// How long ago `t` (RFC 3339) was, as `kubectl get` says it: `12s`, `3m`, `2h`, `4d`,
/// `2y`; a time in the future (another machine's clock) is `0s`. Text that is not a
/// time is given back as it is.
pub fn age(t: &str, now: OffsetDateTime) -> String {
    let Some(then) = parse(t) else {
        return t.to_owned();
    };
    let secs = (now - then).whole_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s if s < 365 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}y", s / (365 * 86_400)),
    }
}

/// `t` (RFC 3339) to the second, in UTC: `2026-12-02 02:55:41 UTC`. Text that is not a
/// time is given back as it is.
pub fn short_time(t: &str) -> String {
    let Some(then) = parse(t) else {
        return t.to_owned();
    };
    let u = then.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

/// `t` as its age and its time: `3m ago (2026-12-02 02:55:41 UTC)`.
pub fn age_and_time(t: &str, now: OffsetDateTime) -> String {
    if parse(t).is_none() {
        return t.to_owned();
    }
    format!("{} ago ({})", age(t, now), short_time(t))
}

/// An order's items summed up: `3 items, 12 units`.
pub fn items_summary(items: &[OrderItem]) -> String {
    let units = items.iter().fold(0u64, |sum, i| {
        sum.saturating_add(i.quantity.get().unsigned_abs())
    });
    let plural =
        |n: u64, one: &str, many: &str| format!("{} {}", count(n), if n == 1 { one } else { many });
    format!(
        "{}, {}",
        plural(items.len() as u64, "item", "items"),
        plural(units, "unit", "units")
    )
}

/// Characters after which a word too long for its column is best broken: between the
/// parts of a path, a list, a query ...
const BREAK_AFTER: &[char] = &['/', '\\', ',', ';', '&', '?'];
/// ... or, when there is none of those, inside a name (`key=value`, `a-b_c.csv`).
const BREAK_AFTER_TOO: &[char] = &['=', ':', '-', '_', '.'];

/// `text` with every word wider than `max` broken into lines of at most `max`
/// columns, after a `/`, `,` ... (else a `=`, `-`, `.` ...) where there is one (a path
/// breaks between its parts), else at `max`. Words that fit are left whole; spaces and line ends are kept.
pub fn break_long_words(text: &str, max: usize) -> String {
    let max = max.max(1);
    text.split('\n')
        .map(|line| {
            line.split(' ')
                .map(|word| break_word(word, max))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn break_word(word: &str, max: usize) -> String {
    if width(word) <= max {
        return word.to_owned();
    }
    let mut lines: Vec<String> = Vec::new();
    let mut rest: Vec<char> = word.chars().collect();
    while rest.iter().map(|c| c.width().unwrap_or(0)).sum::<usize>() > max {
        // The longest prefix that fits, then the last natural break inside it.
        let mut fits = 0;
        let mut w = 0;
        for c in &rest {
            let cw = c.width().unwrap_or(0);
            if w + cw > max {
                break;
            }
            w += cw;
            fits += 1;
        }
        let fits = fits.max(1);
        let last = |set: &[char]| rest[..fits].iter().rposition(|c| set.contains(c));
        let cut = last(BREAK_AFTER)
            .or_else(|| last(BREAK_AFTER_TOO))
            .map_or(fits, |i| i + 1);
        lines.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    lines.push(rest.into_iter().collect());
    lines.join("\n")
}

/// The widest word (run of characters between spaces or line ends) of `text`.
pub fn longest_word(text: &str) -> usize {
    text.split(['\n', ' ']).map(width).max().unwrap_or(0)
}

/// Words joined with single spaces into lines of at most `max` columns (a word wider
/// than `max` gets a line of its own); the lines joined with `\n`.
pub fn wrap(pieces: &[String], sep: &str, max: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for p in pieces {
        if line.is_empty() {
            line.clone_from(p);
        } else if width(&line) + width(sep) + width(p) <= max {
            line.push_str(sep);
            line.push_str(p);
        } else {
            lines.push(std::mem::take(&mut line));
            line.clone_from(p);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HubId, Quantity, SkuId};
    use time::macros::datetime;

    #[test]
    fn elide_keeps_both_ends_within_the_width() {
        assert_eq!(elide("orders.csv", 10), "orders.csv");
        assert_eq!(elide("orders-of-the-whole-year.csv", 15), "orders...ar.csv");
        let wide = elide("commandes-été-北京-2026.csv", 12);
        assert!(width(&wide) <= 12, "{wide}");
        assert!(wide.starts_with("comm") && wide.ends_with(".csv"), "{wide}");
        assert_eq!(
            width(&elide("北京北京北京北京", 7)),
            7,
            "a wide char that does not fit is left out"
        );
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now = datetime!(2026-12-02 10:00:00 UTC);
        let at = |t: &str| age(t, now);
        assert_eq!(at("2026-12-02T10:00:00Z"), "0s");
        assert_eq!(at("2026-12-02T09:59:48.5Z"), "11s");
        assert_eq!(at("2026-12-02T09:59:00Z"), "1m");
        assert_eq!(at("2026-12-02T09:57:00.000000Z"), "3m");
        assert_eq!(at("2026-12-02T08:00:00Z"), "2h");
        assert_eq!(at("2026-11-28T09:00:00Z"), "4d");
        assert_eq!(at("2024-12-01T10:00:00Z"), "2y");
        // Another clock ahead of ours: not a negative age.
        assert_eq!(at("2026-12-02T10:05:00Z"), "0s");
        assert_eq!(at("not a time"), "not a time");
    }

    #[test]
    fn short_times_are_utc_to_the_second() {
        assert_eq!(
            short_time("2026-12-02T02:55:41.293313Z"),
            "2026-12-02 02:55:41 UTC"
        );
        assert_eq!(
            short_time("2026-12-02T04:55:41+02:00"),
            "2026-12-02 02:55:41 UTC"
        );
        let now = datetime!(2026-12-02 02:58:41 UTC);
        assert_eq!(
            age_and_time("2026-12-02T02:55:41Z", now),
            "3m ago (2026-12-02 02:55:41 UTC)"
        );
        assert_eq!(age_and_time("", now), "");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(12_345), "12,345");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn short_ids_are_the_first_eight_characters() {
        assert_eq!(short_id("99ad7bf6-d27e-487a-bd21-56e84190f7f9"), "99ad7bf6");
        assert_eq!(short_id("msg-12"), "msg-12");
        assert_eq!(short_id("12345678"), "12345678");
        assert_eq!(short_id("ääääääääää"), "ää".repeat(4));
    }

    #[test]
    fn items_are_summed_up() {
        let item = |q: i64| OrderItem {
            sku_id: SkuId::parse("15").unwrap(),
            hub_id: HubId::parse("1").unwrap(),
            quantity: Quantity::new(q).unwrap(),
        };
        assert_eq!(items_summary(&[item(1)]), "1 item, 1 unit");
        assert_eq!(
            items_summary(&[item(2), item(5), item(5)]),
            "3 items, 12 units"
        );
        assert_eq!(items_summary(&[item(1_500)]), "1 item, 1,500 units");
    }

    #[test]
    fn long_words_break_at_natural_points_and_short_ones_stay_whole() {
        assert_eq!(break_long_words("a short text", 5), "a short text");
        assert_eq!(
            break_long_words("see /var/lib/oms/data/oms.db now", 12),
            "see /var/lib/\noms/data/\noms.db now"
        );
        assert_eq!(break_long_words("abcdefghij", 4), "abcd\nefgh\nij");
        for (text, max) in [("x/yyyyyyyyyyyy/z,w=1", 5), ("ääääää", 3)] {
            for line in break_long_words(text, max).lines() {
                assert!(width(line) <= max, "{line:?}");
            }
        }
        assert_eq!(longest_word("ab abcd\nabc"), 4);
    }

    #[test]
    fn pieces_wrap_between_pieces_only() {
        let p: Vec<String> = ["queued 0", "in progress 1", "done 12"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(wrap(&p, " · ", 80), "queued 0 · in progress 1 · done 12");
        assert_eq!(wrap(&p, " · ", 26), "queued 0 · in progress 1\ndone 12");
        assert_eq!(wrap(&p, " · ", 3), "queued 0\nin progress 1\ndone 12");
    }
}
