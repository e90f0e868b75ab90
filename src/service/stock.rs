//! Stock: items and signed movements (receipts, issues against tickets, adjustments, imports).

use super::*;
use crate::domain::stock::movement_delta;
use crate::domain::validate;

impl Service {
    /// Creates or edits a stock item's description (not its quantity: that moves only through
    /// [`Service::move_stock`]).
    pub fn upsert_stock_item(
        &self,
        actor: &Actor,
        sku: &str,
        name: &str,
        kind: StockKind,
        printers: &[String],
        min_level: i64,
    ) -> Result<StockItem> {
        require(actor, Action::ManageStock, None)?;
        let sku = validate::sku(sku)?;
        let name = validate::text("name", name, 1, 200)?;
        if !(0..=1_000_000).contains(&min_level) {
            return Err(ValidationError::new("min_level", "must be from 0 to 1000000").into());
        }
        let printers = printers
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| validate::text("printers", p, 1, 100))
            .collect::<Result<Vec<_>, _>>()?;
        let now = self.now();
        let mut tx = self.write()?;
        let existing = tx.stock_item(&sku)?;
        let item = StockItem {
            sku: sku.clone(),
            name,
            kind,
            printers,
            quantity: existing.as_ref().map_or(0, |e| e.quantity),
            min_level,
            updated_at: now,
        };
        tx.put_stock_item(&item)?;
        let action = if existing.is_some() {
            "stock.item_update"
        } else {
            "stock.item_create"
        };
        tx.add_audit(
            now,
            actor,
            action,
            format!("stock:{sku}"),
            item.name.clone(),
        )?;
        self.commit(tx)?;
        Ok(item)
    }

    /// Moves stock: `amount` is a positive count for receipts and issues, a signed correction
    /// for adjustments, the new balance for imports.
    pub fn move_stock(
        &self,
        actor: &Actor,
        sku: &str,
        reason: MoveReason,
        amount: i64,
        ticket_id: Option<u64>,
        note: &str,
    ) -> Result<StockMove> {
        match reason {
            MoveReason::Issue => require(actor, Action::IssueStock, None)?,
            _ => require(actor, Action::ManageStock, None)?,
        }
        let note = validate::text("note", note, 0, 500)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut item = tx
            .stock_item(sku)?
            .ok_or_else(|| ServiceError::NotFound(format!("stock item {sku}")))?;
        if let Some(id) = ticket_id
            && tx.ticket(id)?.is_none()
        {
            return Err(ServiceError::NotFound(format!("ticket #{id}")));
        }
        let delta = movement_delta(reason, item.quantity, amount, &note)?;
        item.quantity += delta;
        item.updated_at = now;
        tx.put_stock_item(&item)?;
        let m = tx.add_stock_move(StockMove {
            id: 0,
            at: now,
            sku: item.sku.clone(),
            delta,
            reason,
            ticket_id,
            actor: actor.clone(),
            note,
            balance_after: item.quantity,
        })?;
        tx.add_audit(
            now,
            actor,
            &format!("stock.{}", reason.as_str()),
            format!("stock:{}", item.sku),
            format!("{delta:+} -> {}", item.quantity),
        )?;
        self.commit(tx)?;
        Ok(m)
    }
}
