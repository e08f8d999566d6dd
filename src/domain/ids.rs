//! Parsed values of an order file: ids and quantities. Each constructor returns a `Result`,
//! so a value of these types is always valid (trimmed, non-empty, printable; quantity > 0).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Why one field of a row is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a control character")]
    ControlChar,
    #[error("must be a positive whole number, got {0:?}")]
    NotAPositiveInteger(String),
    #[error("must be greater than zero, got {0}")]
    NotPositive(String),
    #[error("is too large ({0})")]
    Overflow(String),
}

/// Longest id accepted, in characters.
pub const MAX_ID_LEN: usize = 128;

fn parse_id(raw: &str) -> Result<Arc<str>, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::Empty);
    }
    // Ids are ASCII nearly always: one pass over the bytes answers both questions.
    let (len, control) = if v.is_ascii() {
        (v.len(), v.bytes().any(|b| b.is_ascii_control()))
    } else {
        (v.chars().count(), v.chars().any(char::is_control))
    };
    if len > MAX_ID_LEN {
        return Err(FieldError::TooLong { max: MAX_ID_LEN });
    }
    if control {
        return Err(FieldError::ControlChar);
    }
    Ok(Arc::from(v))
}

/// Reads an id from any text a deserializer has, borrowed or owned, without copying it
/// into a `String` first.
struct IdVisitor<T>(std::marker::PhantomData<T>);

/// An id type made from text [`parse_id`] has checked.
trait FromChecked {
    fn from_checked(v: Arc<str>) -> Self;
}

impl<T: FromChecked> serde::de::Visitor<'_> for IdVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        parse_id(v).map(T::from_checked).map_err(E::custom)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Shared text: a clone is a reference count, not a copy (a file names the same
        /// hubs and SKUs on millions of rows).
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(IdVisitor(std::marker::PhantomData))
            }
        }

        impl FromChecked for $name {
            fn from_checked(v: Arc<str>) -> Self {
                Self(v)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl $name {
            /// Trims `raw` and checks it is a usable id.
            ///
            /// # Errors
            /// [`FieldError::Empty`], [`FieldError::TooLong`] or [`FieldError::ControlChar`].
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                parse_id(raw).map(Self)
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0.to_string()
            }
        }
    };
}

id_type!(
    /// The seller an order belongs to (`seller_id`, `sellerID`).
    SellerId
);
id_type!(
    /// The seller's own id of an order (`order_id`); unique per seller.
    OrderId
);
id_type!(
    /// A stock keeping unit (`sku_id`).
    SkuId
);
id_type!(
    /// A warehouse hub (`hub_id`).
    HubId
);

impl SellerId {
    /// True when `other` names this seller: the same text, or the same whole number
    /// written differently (`"01"` and `"1"`).
    pub fn same_as(&self, other: &str) -> bool {
        let other = other.trim();
        if &*self.0 == other {
            return true;
        }
        match (self.0.parse::<u64>(), other.parse::<u64>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// A quantity ordered or in stock: a whole number greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(i64);

impl Quantity {
    /// Parses a decimal whole number > 0 (an optional leading `+` is allowed).
    ///
    /// # Errors
    /// [`FieldError::Empty`], [`FieldError::NotAPositiveInteger`] (decimal, text, sign),
    /// [`FieldError::NotPositive`] (0 or negative), [`FieldError::Overflow`] (beyond i64).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(FieldError::Empty);
        }
        let (negative, digits) = match v.as_bytes()[0] {
            b'-' => (true, &v[1..]),
            b'+' => (false, &v[1..]),
            _ => (false, v),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::NotAPositiveInteger(truncate(v)));
        }
        if negative {
            return Err(FieldError::NotPositive(truncate(v)));
        }
        match digits.parse::<i64>() {
            Ok(0) => Err(FieldError::NotPositive(truncate(v))),
            Ok(n) => Ok(Self(n)),
            Err(_) => Err(FieldError::Overflow(truncate(v))),
        }
    }

    /// # Errors
    /// [`FieldError::NotPositive`] for n <= 0.
    pub fn new(n: i64) -> Result<Self, FieldError> {
        if n > 0 {
            Ok(Self(n))
        } else {
            Err(FieldError::NotPositive(n.to_string()))
        }
    }

    /// The number of units.
    #[must_use]
    pub fn get(self) -> i64 {
        self.0
    }

    /// The sum of two quantities, or `None` when it does not fit.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = FieldError;
    fn try_from(n: i64) -> Result<Self, FieldError> {
        Self::new(n)
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        q.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Keeps error messages short when a hostile file has a huge field.
fn truncate(v: &str) -> String {
    const MAX: usize = 40;
    if v.chars().count() <= MAX {
        v.to_owned()
    } else {
        let mut s: String = v.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_must_not_be_empty() {
        assert_eq!(OrderId::parse("  1011 ").unwrap().as_str(), "1011");
        assert_eq!(SkuId::parse("   "), Err(FieldError::Empty));
        assert_eq!(HubId::parse(""), Err(FieldError::Empty));
    }

    #[test]
    fn ids_reject_control_chars_and_huge_values() {
        assert_eq!(SkuId::parse("a\u{0}b"), Err(FieldError::ControlChar));
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            OrderId::parse(&long),
            Err(FieldError::TooLong { max: MAX_ID_LEN })
        );
        assert!(OrderId::parse(&"x".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn seller_ids_compare_as_numbers_too() {
        let s = SellerId::parse("1").unwrap();
        assert!(s.same_as("1"));
        assert!(s.same_as(" 01 "));
        assert!(!s.same_as("2"));
        assert!(!s.same_as("1a"));
        let named = SellerId::parse("acme").unwrap();
        assert!(named.same_as("acme"));
        assert!(!named.same_as("ACME"));
    }

    #[test]
    fn quantity_accepts_positive_whole_numbers() {
        assert_eq!(Quantity::parse("2").unwrap().get(), 2);
        assert_eq!(Quantity::parse(" +7 ").unwrap().get(), 7);
        assert_eq!(Quantity::parse("007").unwrap().get(), 7);
        assert_eq!(
            Quantity::parse("9223372036854775807").unwrap().get(),
            i64::MAX
        );
    }

    #[test]
    fn quantity_rejects_zero_negative_decimal_text_and_overflow() {
        assert!(matches!(
            Quantity::parse("0"),
            Err(FieldError::NotPositive(_))
        ));
        assert!(matches!(
            Quantity::parse("-3"),
            Err(FieldError::NotPositive(_))
        ));
        assert!(matches!(
            Quantity::parse("1.5"),
            Err(FieldError::NotAPositiveInteger(_))
        ));
        assert!(matches!(
            Quantity::parse("two"),
            Err(FieldError::NotAPositiveInteger(_))
        ));
        assert!(matches!(
            Quantity::parse("1e3"),
            Err(FieldError::NotAPositiveInteger(_))
        ));
        assert!(matches!(
            Quantity::parse("9223372036854775808"),
            Err(FieldError::Overflow(_))
        ));
        assert!(matches!(
            Quantity::parse("-"),
            Err(FieldError::NotAPositiveInteger(_))
        ));
        assert_eq!(Quantity::parse(""), Err(FieldError::Empty));
    }

    #[test]
    fn quantity_sum_overflow_is_detected() {
        let big = Quantity::new(i64::MAX).unwrap();
        assert!(big.checked_add(Quantity::new(1).unwrap()).is_none());
        assert_eq!(
            Quantity::new(2)
                .unwrap()
                .checked_add(Quantity::new(3).unwrap())
                .unwrap()
                .get(),
            5
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let err = Quantity::parse(&"9".repeat(100)).unwrap_err();
        assert!(err.to_string().len() < 80, "{err}");
    }
}
