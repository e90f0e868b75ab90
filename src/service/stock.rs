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

    /// Tells the storekeepers (and admins) that `item` fell below its minimum, in `tx`.
    pub(super) fn queue_low_stock_alert(
        &self,
        tx: &mut WriteTx,
        item: &StockItem,
        now: Timestamp,
    ) -> Result<()> {
        let (qty, min) = (item.quantity.to_string(), item.min_level.to_string());
        self.queue_alert(
            tx,
            |s| matches!(s.role, Role::Storekeeper | Role::Admin | Role::Superadmin),
            "alert.low_stock",
            &[
                ("name", &item.name),
                ("sku", &item.sku),
                ("qty", &qty),
                ("min", &min),
            ],
            vec![],
            now,
        )?;
        Ok(())
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
        let was_low = item.is_low();
        item.quantity += delta;
        item.updated_at = now;
        tx.put_stock_item(&item)?;
        // Once per crossing below the minimum: tell the storekeepers (and admins).
        if !was_low && item.is_low() {
            self.queue_low_stock_alert(&mut tx, &item, now)?;
        }
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

/// Most stock movements scanned, newest first, for a forecast or one item's history (until
/// the store has a query of movements by SKU and time).
const MOVES_SCAN: usize = 200_000;

impl Service {
    /// Calls `keep` on stock movements from the newest back, reading more as needed, until it
    /// returns false or the movements (or [`MOVES_SCAN`]) run out.
    fn scan_stock_moves(&self, mut keep: impl FnMut(&StockMove) -> bool) -> Result<()> {
        let tx = self.read()?;
        let mut seen = 0;
        let mut limit = 512;
        loop {
            let moves = tx.stock_moves_recent(limit)?;
            let got = moves.len();
            for m in moves.iter().skip(seen) {
                if !keep(m) {
                    return Ok(());
                }
            }
            if got < limit || limit >= MOVES_SCAN {
                return Ok(());
            }
            seen = got;
            limit = (limit * 4).min(MOVES_SCAN);
        }
    }

    /// How many of each SKU were issued (a positive count) from `since` on.
    pub fn stock_issued_since(
        &self,
        since: Timestamp,
    ) -> Result<std::collections::HashMap<String, i64>> {
        let mut out = std::collections::HashMap::new();
        self.scan_stock_moves(|m| {
            if m.at < since {
                return false;
            }
            if m.reason == MoveReason::Issue {
                *out.entry(m.sku.clone()).or_insert(0) -= m.delta;
            }
            true
        })?;
        Ok(out)
    }

    /// Printer models known from the stock (the models items fit), sorted case-insensitively,
    /// each once. The bot's and the Mini App's order forms offer these.
    pub fn printer_models(&self, in_stock_only: bool) -> Result<Vec<String>> {
        let mut models: Vec<String> = self
            .read()?
            .stock_items()?
            .into_iter()
            .filter(|i| !in_stock_only || i.orderable() > 0)
            .flat_map(|i| i.printers)
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        models.sort_by_key(|m| m.to_lowercase());
        models.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        Ok(models)
    }

    /// Stock items that fit printer `model` (case-insensitive) and are in stock, in SKU order:
    /// what the bot and the Mini App offer.
    pub fn items_fitting(&self, model: &str) -> Result<Vec<StockItem>> {
        Ok(self
            .read()?
            .stock_items()?
            .into_iter()
            .filter(|i| i.fits(model) && i.orderable() > 0)
            .collect())
    }

    /// The movements of one SKU, newest first, at most `limit`.
    pub fn stock_moves_of(&self, sku: &str, limit: usize) -> Result<Vec<StockMove>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.scan_stock_moves(|m| {
            if m.sku == sku {
                out.push(m.clone());
            }
            out.len() < limit
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod panel_tests {
    use super::*;
    use crate::service::testing::service;

    #[test]
    fn issued_counts_only_issues_in_the_window_and_history_is_per_sku() {
        let t = service();
        let cli = Actor::Cli;
        for sku in ["A", "B"] {
            t.svc
                .upsert_stock_item(&cli, sku, sku, StockKind::Toner, &[], 1)
                .unwrap();
            t.svc
                .move_stock(&cli, sku, MoveReason::Receipt, 100, None, "")
                .unwrap();
        }
        t.svc
            .move_stock(&cli, "A", MoveReason::Issue, 5, None, "")
            .unwrap();
        let start = t.svc.now();
        t.clock.advance(3600);
        t.svc
            .move_stock(&cli, "A", MoveReason::Issue, 3, None, "")
            .unwrap();
        t.svc
            .move_stock(&cli, "A", MoveReason::Adjustment, -2, None, "count")
            .unwrap();
        t.svc
            .move_stock(&cli, "B", MoveReason::Issue, 4, None, "")
            .unwrap();
        let all = t.svc.stock_issued_since(start).unwrap();
        assert_eq!(all.get("A"), Some(&8));
        assert_eq!(all.get("B"), Some(&4));
        let later = t.svc.stock_issued_since(start + 1).unwrap();
        assert_eq!(later.get("A"), Some(&3));
        assert_eq!(later.get("B"), Some(&4));
        assert!(t.svc.stock_issued_since(start + 7200).unwrap().is_empty());

        let a = t.svc.stock_moves_of("A", 10).unwrap();
        assert_eq!(
            a.iter().map(|m| m.delta).collect::<Vec<_>>(),
            vec![-2, -3, -5, 100]
        );
        assert!(a.windows(2).all(|w| w[0].id > w[1].id));
        assert_eq!(a[0].balance_after, 90);
        assert_eq!(t.svc.stock_moves_of("A", 2).unwrap().len(), 2);
        assert!(t.svc.stock_moves_of("A", 0).unwrap().is_empty());
        assert!(t.svc.stock_moves_of("nope", 10).unwrap().is_empty());
    }

    #[test]
    fn history_reaches_past_the_first_batch() {
        let t = service();
        let cli = Actor::Cli;
        for sku in ["OLD", "NEW"] {
            t.svc
                .upsert_stock_item(&cli, sku, sku, StockKind::Paper, &[], 0)
                .unwrap();
        }
        t.svc
            .move_stock(&cli, "OLD", MoveReason::Receipt, 7, None, "")
            .unwrap();
        // Many movements in one transaction (one commit keeps the test fast).
        let mut tx = t.svc.write().unwrap();
        for i in 0..700 {
            tx.add_stock_move(StockMove {
                id: 0,
                at: t.svc.now(),
                sku: "NEW".into(),
                delta: 1,
                reason: MoveReason::Receipt,
                ticket_id: None,
                actor: cli.clone(),
                note: String::new(),
                balance_after: i + 1,
            })
            .unwrap();
        }
        t.svc.commit(tx).unwrap();
        let old = t.svc.stock_moves_of("OLD", 5).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].delta, 7);
        assert_eq!(t.svc.stock_moves_of("NEW", 1000).unwrap().len(), 700);
    }
}

#[cfg(test)]
mod printer_tests {
    use super::*;
    use crate::service::testing::service;

    #[test]
    fn printer_models_and_fitting_items_are_one_query_for_bot_and_mini_app() {
        let t = service();
        let cli = Actor::Cli;
        let add = |sku: &str, printers: &[&str]| {
            let printers: Vec<String> = printers.iter().map(|p| p.to_string()).collect();
            t.svc
                .upsert_stock_item(&cli, sku, sku, StockKind::Cartridge, &printers, 1)
                .unwrap();
        };
        add("CE285A", &["HP LaserJet P1102", "HP M1132"]);
        add("CE285X", &["hp laserjet p1102"]);
        add("PAPER", &[]);
        assert!(
            t.svc.printer_models(true).unwrap().is_empty(),
            "nothing in stock yet"
        );
        assert!(t.svc.items_fitting("HP M1132").unwrap().is_empty());
        for sku in ["CE285A", "CE285X"] {
            t.svc
                .move_stock(&cli, sku, MoveReason::Receipt, 3, None, "")
                .unwrap();
        }
        assert_eq!(t.svc.printer_models(true).unwrap().len(), 2);
        assert_eq!(
            t.svc.printer_models(false).unwrap(),
            ["HP LaserJet P1102", "HP M1132"],
            "sorted, each model once whatever its case"
        );
        let skus = |m: &str| -> Vec<String> {
            t.svc
                .items_fitting(m)
                .unwrap()
                .into_iter()
                .map(|i| i.sku)
                .collect()
        };
        assert_eq!(skus(" HP LASERJET P1102 "), ["CE285A", "CE285X"]);
        assert_eq!(skus("HP M1132"), ["CE285A"]);
        assert!(skus("Canon MF3010").is_empty());
        assert!(skus("").is_empty());
    }
}
