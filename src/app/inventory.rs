//! The warehouse's stock as the operator sets and reads it (`oms inventory`).

use super::AppError;
use crate::domain::stock_file::{Stock, parse_stock};
use crate::ports::Inventory;
use std::io::Read;

/// Reads a stock file and sets every line of it; a file with any bad line sets
/// nothing. Returns how many lines were set.
///
/// # Errors
/// [`AppError::BadInput`] listing every bad line (each named by its line, prefixed by
/// `name`); the warehouse's errors.
pub async fn load(inv: &dyn Inventory, name: &str, file: impl Read) -> Result<usize, AppError> {
    let lines = parse_stock(file).map_err(|errs| {
        AppError::BadInput(format!("{name}: nothing loaded:\n  {}", errs.join("\n  ")))
    })?;
    Ok(inv.load(lines).await?)
}

/// Every stock line, by hub then SKU.
///
/// # Errors
/// The warehouse's errors.
pub async fn list(inv: &dyn Inventory) -> Result<Vec<Stock>, AppError> {
    Ok(inv.list().await?)
}
