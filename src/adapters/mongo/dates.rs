//! Times: BSON dates (whole milliseconds) to and from the project's fixed-width
//! RFC 3339 text, rounded the way the store's filters need.

use crate::domain::timestamp;
use mongodb::bson::DateTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The instant written as RFC 3339 text.
pub(super) fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// The BSON date at or before `s` (BSON dates keep milliseconds).
pub(super) fn date_floor(s: &str) -> Result<DateTime, String> {
    let ns = parse_instant(s)?.unix_timestamp_nanos();
    i64::try_from(ns.div_euclid(1_000_000))
        .map(DateTime::from_millis)
        .map_err(|_| format!("{s:?} is out of range"))
}

/// The first BSON date at or after `s`: a stored date `d` (whole milliseconds) is at or
/// after the instant `s` exactly when `d >= date_ceil(s)`.
pub(super) fn date_ceil(s: &str) -> Result<DateTime, String> {
    let ns = parse_instant(s)?.unix_timestamp_nanos();
    i64::try_from((ns + 999_999).div_euclid(1_000_000))
        .map(DateTime::from_millis)
        .map_err(|_| format!("{s:?} is out of range"))
}

/// A BSON date in the stored text form (microsecond digits past the millisecond are 0).
pub(super) fn date_text(d: DateTime) -> Result<String, String> {
    let ns = i128::from(d.timestamp_millis()) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(ns)
        .map(timestamp::format)
        .map_err(|_| format!("date {} ms is out of range", d.timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_to_the_fixed_width_form() {
        let d = date_floor("2026-11-29T10:24:31.123456Z").unwrap();
        assert_eq!(d.timestamp_millis() % 1000, 123);
        assert_eq!(date_text(d).unwrap(), "2026-11-29T10:24:31.123000Z");
        let exact = "2026-01-01T10:00:00.000000Z";
        assert_eq!(date_text(date_floor(exact).unwrap()).unwrap(), exact);
    }

    #[test]
    fn since_rounds_up_to_the_next_millisecond() {
        let since = "2026-11-29T10:24:31.123456Z";
        let ceil = date_ceil(since).unwrap();
        assert_eq!(date_text(ceil).unwrap(), "2026-11-29T10:24:31.124000Z");
        // A date at .123 ms is before the instant, .124 is after.
        assert!(date_floor(since).unwrap() < ceil);
        let exact = "2026-11-29T10:24:31.123000Z";
        assert_eq!(date_ceil(exact).unwrap(), date_floor(exact).unwrap());
        assert!(date_ceil("yesterday").is_err());
    }
}
