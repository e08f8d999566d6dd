//! The compact form the event log keeps an order event in. An order event's payload
//! (`{"event":…,"seller_id":…,"order_id":…,"job_id":…,"status":…,"items":[{"sku_id":…,
//! "hub_id":…,"quantity":…},…]}`, as `domain::OrderEvent` writes it) spends most of its
//! bytes on field names; the log keeps the values alone, as a JSON array
//! (`["order_created","1","1011","job","on_hold",[["15","1",2]]]`), which SQL's JSON
//! functions still read (the `bus_log` view shows it as published).
//!
//! Only a payload whose compact form gives it back byte for byte is kept compact
//! ([`compact`] checks this itself); any other payload is kept as it is. Strings with
//! an escape (`\`) are never compacted, so a string's bytes are the same in both forms.

use crate::domain::{OrderId, OrderItem, OrderKey, SellerId};

/// Reads the exact shapes of both forms, nothing more.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, at: 0 }
    }

    /// Consumes `lit` if the text goes on with it.
    fn eat(&mut self, lit: &str) -> Option<()> {
        if self.s[self.at..].starts_with(lit) {
            self.at += lit.len();
            Some(())
        } else {
            None
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    /// The text up to the next `"`, which is consumed; none when it holds an escape
    /// or a control character (whose JSON forms may differ).
    fn string(&mut self) -> Option<&'a str> {
        let rest = &self.s[self.at..];
        let end = rest.bytes().position(|b| b == b'"')?;
        let v = &rest[..end];
        if v.bytes().any(|b| b == b'\\' || b < 0x20) {
            return None;
        }
        self.at += end + 1;
        Some(v)
    }

    /// An integer: an optional `-` and digits.
    fn integer(&mut self) -> Option<&'a str> {
        let rest = &self.s[self.at..];
        let sign = usize::from(rest.starts_with('-'));
        let digits = rest[sign..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        self.at += sign + digits;
        Some(&rest[..sign + digits])
    }

    fn done(&self) -> bool {
        self.at == self.s.len()
    }
}

/// An order event's values, borrowed from one of its forms.
struct Values<'a> {
    head: [&'a str; 5],
    items: Vec<[&'a str; 3]>,
}

const HEAD_FIELDS: [&str; 5] = ["event", "seller_id", "order_id", "job_id", "status"];

/// The values of a payload in the published form.
fn read_published(payload: &str) -> Option<Values<'_>> {
    let mut c = Cursor::new(payload);
    let mut head = [""; 5];
    for (i, field) in HEAD_FIELDS.iter().enumerate() {
        c.eat(if i == 0 { "{\"" } else { ",\"" })?;
        c.eat(field)?;
        c.eat("\":\"")?;
        head[i] = c.string()?;
    }
    c.eat(",\"items\":")?;
    let items = published_items(&mut c)?;
    c.eat("}")?;
    c.done().then_some(Values { head, items })
}

/// Items in the published form (`[{"sku_id":…,"hub_id":…,"quantity":…},…]`), as
/// `[sku, hub, quantity]`.
fn published_items<'a>(c: &mut Cursor<'a>) -> Option<Vec<[&'a str; 3]>> {
    c.eat("[")?;
    let mut items = Vec::new();
    if c.eat("]").is_none() {
        loop {
            c.eat("{\"sku_id\":\"")?;
            let sku = c.string()?;
            c.eat(",\"hub_id\":\"")?;
            let hub = c.string()?;
            c.eat(",\"quantity\":")?;
            let q = c.integer()?;
            c.eat("}")?;
            items.push([sku, hub, q]);
            if c.eat("]").is_some() {
                break;
            }
            c.eat(",")?;
        }
    }
    Some(items)
}

/// An order's items as its row keeps them (the compact form, `[["sku","hub",quantity],
/// ...]`, as reservations keep theirs too), borrowed from `json`; `None` for any other
/// text (then read it with `serde_json`).
#[must_use]
pub fn stored_items(json: &str) -> Option<Vec<[&str; 3]>> {
    let mut c = Cursor::new(json);
    let items = compact_items(&mut c)?;
    c.done().then_some(items)
}

/// Items in the form an order's row and a reservation keep them: `[[sku, hub,
/// quantity], ...]`.
#[must_use]
pub fn items_json(items: &[OrderItem]) -> String {
    let compact: Vec<(&str, &str, i64)> = items
        .iter()
        .map(|it| (it.sku_id.as_str(), it.hub_id.as_str(), it.quantity.get()))
        .collect();
    serde_json::to_string(&compact).expect("strings and integers always serialise")
}

/// The values of a payload in the compact form.
fn read_compact(compact: &str) -> Option<Values<'_>> {
    let mut c = Cursor::new(compact);
    let mut head = [""; 5];
    for (i, v) in head.iter_mut().enumerate() {
        c.eat(if i == 0 { "[\"" } else { ",\"" })?;
        *v = c.string()?;
    }
    c.eat(",")?;
    let items = compact_items(&mut c)?;
    c.eat("]")?;
    c.done().then_some(Values { head, items })
}

/// Items in the compact form, `[["sku","hub",quantity],...]`, borrowed from the text.
fn compact_items<'a>(c: &mut Cursor<'a>) -> Option<Vec<[&'a str; 3]>> {
    c.eat("[")?;
    let mut items = Vec::new();
    if c.peek() == Some(b'[') {
        loop {
            c.eat("[\"")?;
            let sku = c.string()?;
            c.eat(",\"")?;
            let hub = c.string()?;
            c.eat(",")?;
            let q = c.integer()?;
            c.eat("]")?;
            items.push([sku, hub, q]);
            if c.eat(",").is_none() {
                break;
            }
        }
    }
    c.eat("]")?;
    Some(items)
}

fn write_published(v: &Values<'_>) -> String {
    let mut out = String::with_capacity(96 + v.items.len() * 48);
    for (i, (field, value)) in HEAD_FIELDS.iter().zip(v.head).enumerate() {
        out.push_str(if i == 0 { "{\"" } else { ",\"" });
        out.push_str(field);
        out.push_str("\":\"");
        out.push_str(value);
        out.push('"');
    }
    out.push_str(",\"items\":[");
    for (i, [sku, hub, q]) in v.items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"sku_id\":\"");
        out.push_str(sku);
        out.push_str("\",\"hub_id\":\"");
        out.push_str(hub);
        out.push_str("\",\"quantity\":");
        out.push_str(q);
        out.push('}');
    }
    out.push_str("]}");
    out
}

fn write_compact(v: &Values<'_>) -> String {
    let mut out = String::with_capacity(64 + v.items.len() * 16);
    for (i, value) in v.head.iter().enumerate() {
        out.push_str(if i == 0 { "[\"" } else { ",\"" });
        out.push_str(value);
        out.push('"');
    }
    out.push_str(",[");
    for (i, [sku, hub, q]) in v.items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("[\"");
        out.push_str(sku);
        out.push_str("\",\"");
        out.push_str(hub);
        out.push_str("\",");
        out.push_str(q);
        out.push(']');
    }
    out.push_str("]]");
    out
}

/// The compact form of an order event's payload; `None` when `payload` is not one
/// whose compact form gives it back exactly (it is then kept as it is).
///
/// Exact by construction: `payload` was read to its end with nothing but the literals
/// [`expand`] writes back, and values it copies as they are (strings without a `"` or
/// an escape, integers as written), which the compact form holds verbatim too.
#[must_use]
pub fn compact(payload: &str) -> Option<String> {
    let v = read_published(payload)?;
    let c = write_compact(&v);
    debug_assert_eq!(expand(&c).as_deref(), Some(payload));
    Some(c)
}

/// The payload as published, from its compact form; `None` when `compact` is not one.
#[must_use]
pub fn expand(compact: &str) -> Option<String> {
    read_compact(compact).map(|v| write_published(&v))
}

/// [`expand`], with the order the event names when its ids are valid ids: what
/// reading `seller_id` and `order_id` from the payload gives (the compact form's
/// strings have no escapes, so their text is the ids' own).
#[must_use]
pub fn expand_order(compact: &str) -> Option<(String, Option<OrderKey>)> {
    let v = read_compact(compact)?;
    let [_, seller, order, ..] = v.head;
    let key = SellerId::parse(seller)
        .and_then(|seller_id| {
            Ok(OrderKey {
                seller_id,
                order_id: OrderId::parse(order)?,
            })
        })
        .ok();
    Some((write_published(&v), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        HubId, NewOrder, OrderEvent, OrderId, OrderItem, Quantity, SellerId, SkuId,
    };

    fn event(items: &[(&str, &str, i64)], order: &str) -> String {
        let order = NewOrder {
            seller_id: SellerId::parse("1").unwrap(),
            order_id: OrderId::parse(order).unwrap(),
            items: items
                .iter()
                .map(|&(s, h, q)| OrderItem {
                    sku_id: SkuId::parse(s).unwrap(),
                    hub_id: HubId::parse(h).unwrap(),
                    quantity: Quantity::new(q).unwrap(),
                })
                .collect(),
        };
        OrderEvent::created(&order, "6f1c2a3b-0000-4000-8000-000000000001").to_json()
    }

    #[test]
    fn the_order_read_with_the_payload_is_the_one_the_payload_names() {
        for order in ["1011", " 77 ", "ø-1"] {
            let p = event(&[("15", "1", 2)], "1011").replace("\"1011\"", &format!("{order:?}"));
            let c = compact(&p).expect("an order event is kept compact");
            let (published, key) = expand_order(&c).expect("a compact form");
            assert_eq!(published, p);
            let from_payload: crate::domain::OrderKey = serde_json::from_str(&p).unwrap();
            assert_eq!(key, Some(from_payload), "{p}");
        }
        // An id the payload itself does not hold as an id (too long): no order either
        // way, and the consumer's own reading of the payload says why.
        let long = "9".repeat(200);
        let p = event(&[("15", "1", 2)], "1011").replace("\"1011\"", &format!("{long:?}"));
        let (published, key) =
            expand_order(&compact(&p).expect("compact")).expect("a compact form");
        assert_eq!((published.as_str(), key), (p.as_str(), None));
        assert!(serde_json::from_str::<crate::domain::OrderKey>(&p).is_err());
    }

    #[test]
    fn an_order_event_comes_back_byte_for_byte_from_a_smaller_form() {
        for items in [
            vec![("15", "1", 2)],
            vec![("15", "1", 2), ("7", "hub-ø", 1_000_000)],
            vec![],
        ] {
            let p = event(&items, "1011");
            let c = compact(&p).expect("an order event is kept compact");
            assert!(c.len() < p.len(), "{c} is smaller than {p}");
            assert_eq!(expand(&c).as_deref(), Some(p.as_str()));
        }
        assert_eq!(
            compact(&event(&[("15", "1", 2)], "1011")).unwrap(),
            r#"["order_created","1","1011","6f1c2a3b-0000-4000-8000-000000000001","on_hold",[["15","1",2]]]"#
        );
    }

    #[test]
    fn an_orders_stored_items_are_read_without_a_json_parser_and_anything_else_is_not() {
        let items = vec![
            OrderItem {
                sku_id: SkuId::parse("15").unwrap(),
                hub_id: HubId::parse("hub-ø").unwrap(),
                quantity: Quantity::new(2).unwrap(),
            },
            OrderItem {
                sku_id: SkuId::parse("7").unwrap(),
                hub_id: HubId::parse("1").unwrap(),
                quantity: Quantity::new(1_000_000).unwrap(),
            },
        ];
        let json = items_json(&items);
        assert_eq!(json, r#"[["15","hub-ø",2],["7","1",1000000]]"#);
        assert_eq!(
            stored_items(&json),
            Some(vec![["15", "hub-ø", "2"], ["7", "1", "1000000"]])
        );
        assert_eq!(stored_items("[]"), Some(vec![]));
        for other in [
            "",
            "[",
            r#"[["a\"b","1",1]]"#,
            r#"[{"sku_id":"2","hub_id":"1","quantity":1}]"#,
            r#"[["2","1",1.5]]"#,
            r#"[["2",1,1]]"#,
            &format!("{json} "),
        ] {
            assert_eq!(stored_items(other), None, "{other}");
        }
    }

    #[test]
    fn anything_else_is_kept_as_it_is() {
        let p = event(&[("15", "1", 2)], "1011");
        let escaped = event(&[("15", "1", 2)], "a\"b");
        for other in [
            "",
            "not json",
            "{}",
            r#"{"event":"x"}"#,
            &escaped,
            &p.replace(":2}", ": 2}"),
            &p.replace(":2}", ":2.0}"),
            &format!("{p} "),
            &p.replace("\"sku_id\"", "\"sku\""),
        ] {
            assert_eq!(compact(other), None, "{other}");
        }
        assert_eq!(expand("{}"), None);
        assert_eq!(expand(r#"["a","b"]"#), None);
    }
}
