//! Consumables in stock (cartridges, toner, paper …), signed movements and the consumption
//! forecast.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// What kind of consumable an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockKind {
    Cartridge,
    Toner,
    Drum,
    Paper,
    Other,
}

impl StockKind {
    pub const ALL: [StockKind; 5] = [
        StockKind::Cartridge,
        StockKind::Toner,
        StockKind::Drum,
        StockKind::Paper,
        StockKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StockKind::Cartridge => "cartridge",
            StockKind::Toner => "toner",
            StockKind::Drum => "drum",
            StockKind::Paper => "paper",
            StockKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<StockKind> {
        StockKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stock item, keyed by SKU (the accounting system's article).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: String,
    pub name: String,
    pub kind: StockKind,
    /// Printer models this item fits.
    pub printers: Vec<String>,
    pub quantity: i64,
    /// Below this level the storekeeper is alerted.
    pub min_level: i64,
    pub updated_at: Timestamp,
}

impl StockItem {
    pub fn is_low(&self) -> bool {
        self.quantity < self.min_level
    }

    /// Does it fit this printer model (case-insensitive)?
    pub fn fits(&self, model: &str) -> bool {
        let model = model.trim();
        self.printers
            .iter()
            .any(|p| p.trim().eq_ignore_ascii_case(model))
    }

    /// The most one order may ask for: what is in stock, at most
    /// [`MAX_ORDER_QUANTITY`](super::validate::MAX_ORDER_QUANTITY); 0 when out of stock.
    pub fn orderable(&self) -> u32 {
        self.quantity
            .clamp(0, i64::from(super::validate::MAX_ORDER_QUANTITY)) as u32
    }
}

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveReason {
    /// Goods received (positive).
    Receipt,
    /// Issued to a requester, usually against a ticket (negative).
    Issue,
    /// Correction after a count; needs a note.
    Adjustment,
    /// Balance set by an import from accounting or a spreadsheet.
    Import,
}

impl MoveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveReason::Receipt => "receipt",
            MoveReason::Issue => "issue",
            MoveReason::Adjustment => "adjustment",
            MoveReason::Import => "import",
        }
    }
}

/// A signed stock movement, keyed by sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMove {
    pub id: u64,
    pub at: Timestamp,
    pub sku: String,
    pub delta: i64,
    pub reason: MoveReason,
    pub ticket_id: Option<u64>,
    pub actor: super::Actor,
    pub note: String,
    pub balance_after: i64,
}

/// A row of the stock import mapping: a code an import file uses (1C's article or `Ид`, a
/// supplier's code) and the SKU of our stock item it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuMapping {
    pub code: String,
    pub sku: String,
    pub updated_at: Timestamp,
}

/// Why a movement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("quantity must not be zero")]
    Zero,
    #[error("a receipt adds stock: the quantity must be positive")]
    ReceiptNotPositive,
    #[error("an issue takes stock: the quantity must be positive")]
    IssueNotPositive,
    #[error("not enough in stock: {available} available, {requested} requested")]
    Insufficient { available: i64, requested: i64 },
    #[error("an adjustment needs a note saying why")]
    NoteRequired,
    #[error("a balance cannot be negative")]
    NegativeBalance,
    #[error("the quantity is too large (at most {MAX_MOVE})")]
    TooLarge,
}

/// Largest quantity one movement may carry (and largest balance an import may set).
pub const MAX_MOVE: i64 = 1_000_000;

/// The signed delta a movement applies, checking the rules for its reason.
///
/// `amount` is what the person typed: a positive count for receipts and issues, a signed
/// correction for adjustments, the new balance for imports.
pub fn movement_delta(
    reason: MoveReason,
    current: i64,
    amount: i64,
    note: &str,
) -> Result<i64, StockError> {
    if amount.abs() > MAX_MOVE || current.abs() > MAX_MOVE * 100 {
        return Err(StockError::TooLarge);
    }
    match reason {
        MoveReason::Receipt => {
            if amount <= 0 {
                return Err(StockError::ReceiptNotPositive);
            }
            Ok(amount)
        }
        MoveReason::Issue => {
            if amount <= 0 {
                return Err(StockError::IssueNotPositive);
            }
            if amount > current {
                return Err(StockError::Insufficient {
                    available: current,
                    requested: amount,
                });
            }
            Ok(-amount)
        }
        MoveReason::Adjustment => {
            if amount == 0 {
                return Err(StockError::Zero);
            }
            if note.trim().is_empty() {
                return Err(StockError::NoteRequired);
            }
            if current + amount < 0 {
                return Err(StockError::NegativeBalance);
            }
            Ok(amount)
        }
        MoveReason::Import => {
            if amount < 0 {
                return Err(StockError::NegativeBalance);
            }
            Ok(amount - current)
        }
    }
}

/// Days until stock runs out at the average daily consumption of the window, or `None` when
/// nothing was consumed in it.
///
/// `issued_in_window` is the total issued (a positive count) over `window_days`.
pub fn days_until_stockout(quantity: i64, issued_in_window: i64, window_days: u32) -> Option<f64> {
    if issued_in_window <= 0 || window_days == 0 {
        return None;
    }
    let per_day = issued_in_window as f64 / f64::from(window_days);
    Some((quantity.max(0) as f64) / per_day)
}

/// How many to order so that stock lasts `cover_days` at the window's consumption and never
/// falls below `min_level`.
pub fn reorder_suggestion(
    quantity: i64,
    min_level: i64,
    issued_in_window: i64,
    window_days: u32,
    cover_days: u32,
) -> i64 {
    let per_day = if window_days == 0 {
        0.0
    } else {
        issued_in_window.max(0) as f64 / f64::from(window_days)
    };
    let need = (per_day * f64::from(cover_days)).ceil() as i64 + min_level;
    (need - quantity).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movement_rules() {
        assert_eq!(movement_delta(MoveReason::Receipt, 3, 5, ""), Ok(5));
        assert_eq!(
            movement_delta(MoveReason::Receipt, 3, 0, ""),
            Err(StockError::ReceiptNotPositive)
        );
        assert_eq!(movement_delta(MoveReason::Issue, 3, 2, ""), Ok(-2));
        assert_eq!(
            movement_delta(MoveReason::Issue, 3, 4, ""),
            Err(StockError::Insufficient {
                available: 3,
                requested: 4
            })
        );
        assert_eq!(
            movement_delta(MoveReason::Issue, 3, -1, ""),
            Err(StockError::IssueNotPositive)
        );
        assert_eq!(
            movement_delta(MoveReason::Adjustment, 3, -3, "count"),
            Ok(-3)
        );
        assert_eq!(
            movement_delta(MoveReason::Adjustment, 3, -4, "count"),
            Err(StockError::NegativeBalance)
        );
        assert_eq!(
            movement_delta(MoveReason::Adjustment, 3, 1, " "),
            Err(StockError::NoteRequired)
        );
        assert_eq!(
            movement_delta(MoveReason::Adjustment, 3, 0, "x"),
            Err(StockError::Zero)
        );
        assert_eq!(movement_delta(MoveReason::Import, 3, 10, ""), Ok(7));
        assert_eq!(movement_delta(MoveReason::Import, 3, 3, ""), Ok(0));
        assert_eq!(
            movement_delta(MoveReason::Import, 3, -1, ""),
            Err(StockError::NegativeBalance)
        );
    }

    #[test]
    fn forecast() {
        assert_eq!(days_until_stockout(10, 0, 30), None);
        assert_eq!(days_until_stockout(10, 30, 30), Some(10.0));
        assert_eq!(days_until_stockout(-2, 30, 30), Some(0.0));
        assert_eq!(reorder_suggestion(10, 2, 30, 30, 30), 22);
        assert_eq!(reorder_suggestion(100, 2, 30, 30, 30), 0);
        assert_eq!(reorder_suggestion(0, 3, 0, 30, 30), 3);
    }

    #[test]
    fn fits_printer_models_case_insensitively() {
        let item = StockItem {
            sku: "CE285A".into(),
            name: "HP 85A".into(),
            kind: StockKind::Cartridge,
            printers: vec!["HP LaserJet P1102".into()],
            quantity: 1,
            min_level: 2,
            updated_at: 0,
        };
        assert!(item.fits("hp laserjet p1102 "));
        assert!(!item.fits("Canon MF3010"));
        assert!(item.is_low());
    }
}
