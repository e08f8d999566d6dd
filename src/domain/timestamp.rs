//! Timestamps as fixed-width RFC 3339 UTC text (`2026-11-29T10:24:31.123456Z`), which
//! sorts correctly as text in every store, and the `--since` forms.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const FORMAT: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats an instant in the stored form.
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(FORMAT)
        .expect("a UTC instant always formats")
}

/// The current instant in the stored form.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Parses `--since`: an RFC 3339 instant, a date (`2026-11-29`, midnight UTC), or an
/// age such as `90s`, `15m`, `2h`, `7d` counted back from `now`.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_since(s: &str, now: OffsetDateTime) -> Result<String, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(format(t));
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Ok(format(
            PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc(),
        ));
    }
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(unit_at);
    let n: i64 = n.parse().map_err(|_| bad(s))?;
    let age = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(bad(s)),
    };
    Ok(format(now - age))
}

fn bad(s: &str) -> String {
    format!(
        "cannot read {s:?} as a time: use an RFC 3339 instant (2026-11-29T10:00:00Z), a date (2026-11-29) or an age (30m, 2h, 7d)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_form_is_fixed_width_utc() {
        let t = datetime!(2026-11-29 10:24:31.5 +02:00);
        assert_eq!(format(t), "2026-11-29T08:24:31.500000Z");
        assert_eq!(now().len(), format(t).len());
    }

    #[test]
    fn since_accepts_instants_dates_and_ages() {
        let now = datetime!(2026-11-29 10:00:00 UTC);
        assert_eq!(
            parse_since("2026-11-28T10:00:00Z", now).unwrap(),
            "2026-11-28T10:00:00.000000Z"
        );
        assert_eq!(
            parse_since("2026-11-28", now).unwrap(),
            "2026-11-28T00:00:00.000000Z"
        );
        assert_eq!(
            parse_since("2h", now).unwrap(),
            "2026-11-29T08:00:00.000000Z"
        );
        assert_eq!(
            parse_since("7d", now).unwrap(),
            "2026-11-22T10:00:00.000000Z"
        );
        for bad in ["yesterday", "2x", "", "h"] {
            assert!(
                parse_since(bad, now).unwrap_err().contains("RFC 3339"),
                "{bad}"
            );
        }
    }
}
