//! Writing documents and filters: numbers as BSON integers, absent texts as null, and
//! id filters that also match ids another client stored as numbers.

use crate::domain::OrderItem;
use mongodb::bson::{Bson, doc};

/// A count as a BSON 64-bit integer (saturating).
pub(super) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A text, or null.
pub(super) fn opt(s: Option<&str>) -> Bson {
    s.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

/// The whole number whose canonical decimal text is `s` (`"7"`, not `"07"`), as another
/// client may have stored an id.
fn as_number(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().filter(|n| n.to_string() == s)
}

/// Matches an id stored as this text, or as the number it is the text of.
pub(super) fn id_match(s: &str) -> Bson {
    match as_number(s) {
        Some(n) => doc! { "$in": [s, n] }.into(),
        None => Bson::String(s.to_owned()),
    }
}

/// Matches any of these ids, stored as text or as the numbers they are the text of.
pub(super) fn ids_match<'a>(ids: impl IntoIterator<Item = &'a str>) -> Bson {
    let mut any = Vec::new();
    for id in ids {
        any.push(Bson::String(id.to_owned()));
        if let Some(n) = as_number(id) {
            any.push(Bson::Int64(n));
        }
    }
    match <[Bson; 1]>::try_from(any) {
        Ok([one]) => one,
        Err(any) => doc! { "$in": any }.into(),
    }
}

/// The values a seller id may be stored as, the way oms writes it first. Each lookup by
/// key uses one of them with an equality, so that the unique index serves it: an `$in`
/// or `$or` over the index's first field is fine for MongoDB but a collection scan for
/// SecantusDB.
pub(super) fn seller_values(seller: &str) -> Vec<Bson> {
    let mut values = vec![Bson::String(seller.to_owned())];
    values.extend(as_number(seller).map(Bson::Int64));
    values
}

/// The items of an order as stored.
pub(super) fn items_bson(items: &[OrderItem]) -> Vec<Bson> {
    items
        .iter()
        .map(|i| {
            Bson::Document(doc! {
                "sku_id": i.sku_id.as_str(),
                "hub_id": i.hub_id.as_str(),
                "quantity": i.quantity.get(),
            })
        })
        .collect()
}

/// A length as a BSON limit or sequence number (saturating).
pub(super) fn limit_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_matched_as_text_and_number() {
        assert_eq!(id_match("01"), Bson::String("01".into()));
        assert_eq!(id_match("1"), Bson::Document(doc! { "$in": ["1", 1_i64] }));
        assert_eq!(ids_match(["a"]), Bson::String("a".into()));
        assert_eq!(
            ids_match(["a", "2"]),
            Bson::Document(doc! { "$in": ["a", "2", 2_i64] })
        );
        assert_eq!(
            seller_values("1"),
            [Bson::String("1".into()), Bson::Int64(1)]
        );
        assert_eq!(seller_values("acme"), [Bson::String("acme".into())]);
    }
}
