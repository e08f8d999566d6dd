//! Stock files for the embedded warehouse: `hub_id,sku_id,quantity` (found by header
//! name; extra columns ignored). Stock may be 0; it may not be negative.

use super::ids::{HubId, SkuId};
use std::io::Read;

/// Stock of one SKU at one hub: a line of a stock file, or of the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stock {
    pub hub_id: HubId,
    pub sku_id: SkuId,
    pub quantity: i64,
}

/// Reads a stock file; every bad row is reported (file line and reason) and then
/// nothing is loaded.
///
/// # Errors
/// The list of problems, each naming its line.
pub fn parse_stock<R: Read>(r: R) -> Result<Vec<Stock>, Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(r);
    let header = rdr.headers().map_err(|e| vec![e.to_string()])?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (Some(h), Some(s), Some(q)) = (col("hub_id"), col("sku_id"), col("quantity")) else {
        return Err(vec![
            "the header must name the columns hub_id, sku_id and quantity".into(),
        ]);
    };
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errs.push(e.to_string());
                continue;
            }
        };
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let line = rec.position().map_or(0, |p| p.line());
        let hub = HubId::parse(rec.get(h).unwrap_or_default());
        let sku = SkuId::parse(rec.get(s).unwrap_or_default());
        let qty = rec.get(q).unwrap_or_default().parse::<i64>();
        match (hub, sku, qty) {
            (Ok(hub_id), Ok(sku_id), Ok(quantity)) if quantity >= 0 => out.push(Stock {
                hub_id,
                sku_id,
                quantity,
            }),
            (Err(e), _, _) => errs.push(format!("line {line}: hub_id {e}")),
            (_, Err(e), _) => errs.push(format!("line {line}: sku_id {e}")),
            (_, _, _) => errs.push(format!(
                "line {line}: quantity must be a whole number >= 0, got {:?}",
                rec.get(q).unwrap_or_default()
            )),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_lines_are_read_by_header_name() {
        let s =
            parse_stock("sku_id,hub_id,quantity,note\n15,1,10,x\n7, 2 ,0,\n\n".as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].hub_id.as_str(), s[0].sku_id.as_str(), s[0].quantity),
            ("1", "15", 10)
        );
        assert_eq!(s[1].quantity, 0);
    }

    #[test]
    fn bad_lines_are_all_reported() {
        let errs =
            parse_stock("hub_id,sku_id,quantity\n1,1,-1\n,2,3\n1,3,x\n".as_bytes()).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].starts_with("line 2"));
        assert!(errs[1].contains("hub_id"));
        assert!(parse_stock("hub,sku\n".as_bytes()).is_err());
    }
}
