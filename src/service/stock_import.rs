//! Stock import: balances read from a file (see [`crate::import`]) matched to stock items, the
//! difference shown (dry run), and applied in one transaction as movements with reason
//! `import`; plus the mapping table of external codes to our SKUs.
//!
//! Matching, per balance: the mapping table by the file's code, then by 1C's `Ид`; else the
//! stock item whose SKU is the code. A balance matching nothing is *unknown*: listed and left
//! out, unless [`ImportOptions::create_new`] asks to create it (SKU = the code, kind "other",
//! minimum 0). Items the file does not mention keep their quantity (a full and a partial 1C
//! package behave alike). A balance equal to the item's quantity writes nothing, so a second
//! identical import changes nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::domain::stock::movement_delta;
use crate::domain::validate;
use crate::import::{Balance, MAX_QUANTITY};

/// Low-stock alerts queued by one import at most (more would flood the staff chat; the
/// items page marks every low item anyway).
const MAX_IMPORT_ALERTS: usize = 20;

/// How an import runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Create stock items for balances that match nothing.
    pub create_new: bool,
    /// What is imported (file names), noted on every movement and in the audit log.
    pub label: String,
    /// The files' names, as [`Balance::file`] indexes them (for messages).
    #[serde(default)]
    pub files: Vec<String>,
    /// Leave out, without listing them, balances of 0 that match nothing: a 1C catalogue
    /// pulled over OData names every good, and only those we stock matter. They are counted in
    /// [`ImportDiff::ignored`] and never created.
    #[serde(default)]
    pub ignore_unknown_zero: bool,
}

/// One line of the difference: which balance, and the item's quantity before and after.
/// Kept small (the file's code, name and place are read from the balance itself): a dry run
/// of 100,000 unknown codes must not copy them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportLine {
    /// Index of the balance in the imported rows.
    pub row: u32,
    /// Our SKU when it is not the balance's code (found through the mapping table).
    pub sku: Option<Box<str>>,
    /// The stock item's name, when the item exists.
    pub name: Option<Box<str>>,
    pub from: i64,
    pub to: i64,
}

impl ImportLine {
    /// Our SKU (for an unknown balance: the SKU it would get).
    pub fn sku<'a>(&'a self, rows: &'a [Balance]) -> &'a str {
        self.sku
            .as_deref()
            .unwrap_or_else(|| rows[self.row as usize].code.trim())
    }

    /// The item's name, else the file's.
    pub fn name<'a>(&'a self, rows: &'a [Balance]) -> &'a str {
        self.name
            .as_deref()
            .unwrap_or(&rows[self.row as usize].name)
    }

    /// The code the file gave.
    pub fn code<'a>(&self, rows: &'a [Balance]) -> &'a str {
        rows[self.row as usize].code.trim()
    }

    /// Where in the files, e.g. `offers.xml line 12`.
    pub fn source(&self, rows: &[Balance], files: &[String]) -> String {
        rows[self.row as usize].source(files)
    }
}

/// What an import changes (dry run) or changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDiff {
    /// Existing items whose quantity changes.
    pub changed: Vec<ImportLine>,
    /// Items created (only with `create_new`).
    pub created: Vec<ImportLine>,
    /// Balances matching no item, left out.
    pub unknown: Vec<ImportLine>,
    /// Balances equal to the item's quantity.
    pub unchanged: u64,
    /// Stock items the file does not mention (kept as they are).
    pub untouched: u64,
    /// Unknown balances of 0 left out unlisted ([`ImportOptions::ignore_unknown_zero`]).
    #[serde(default)]
    pub ignored: u64,
    /// Whether it was written.
    pub applied: bool,
}

impl ImportDiff {
    /// Whether applying it would write anything.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.created.is_empty()
    }
}

fn invalid(field: &'static str, msg: String) -> ServiceError {
    ValidationError::new(field, msg).into()
}

/// Computes the difference on any transaction.
fn diff(tx: &impl Reads, rows: &[Balance], opts: &ImportOptions) -> Result<ImportDiff> {
    let files = &opts.files;
    let mut out = ImportDiff::default();
    if rows.len() > u32::MAX as usize {
        return Err(invalid("file", "too many balances".into()));
    }
    // SKUs found through the mapping table, by row; the others are the rows' codes.
    let mut mapped_rows: HashMap<u32, Box<str>> = HashMap::new();
    let mut matched_existing = 0u64;
    for (i, b) in rows.iter().enumerate() {
        if b.code.trim().is_empty() {
            return Err(invalid(
                "code",
                format!("{}: the code is empty", b.source(files)),
            ));
        }
        if !(0..=MAX_QUANTITY).contains(&b.quantity) {
            return Err(invalid(
                "quantity",
                format!(
                    "{}: {} is not from 0 to {MAX_QUANTITY}",
                    b.source(files),
                    b.quantity
                ),
            ));
        }
        let code = b.code.trim();
        let mapped = match tx.sku_mapping(code)? {
            Some(m) => Some(m.sku),
            None => match &b.ext_id {
                Some(id) => tx.sku_mapping(id)?.map(|m| m.sku),
                None => None,
            },
        };
        let mapped: Option<Box<str>> = mapped.filter(|m| m != code).map(Into::into);
        let sku: &str = mapped.as_deref().unwrap_or(code);
        let item = tx.stock_item(sku)?;
        let line = |from: i64| ImportLine {
            row: i as u32,
            sku: mapped.clone(),
            name: item.as_ref().map(|it| it.name.as_str().into()),
            from,
            to: b.quantity,
        };
        match &item {
            Some(it) => {
                matched_existing += 1;
                movement_delta(MoveReason::Import, it.quantity, b.quantity, "")
                    .map_err(|e| invalid("quantity", format!("{}: {e}", b.source(files))))?;
                if it.quantity == b.quantity {
                    out.unchanged += 1;
                } else {
                    out.changed.push(line(it.quantity));
                }
            }
            None if opts.ignore_unknown_zero && b.quantity == 0 => out.ignored += 1,
            None if opts.create_new => {
                validate::sku(sku).map_err(|e| {
                    invalid("sku", format!("{}: the new item's {e}", b.source(files)))
                })?;
                out.created.push(line(0));
            }
            None => out.unknown.push(ImportLine {
                name: None,
                ..line(0)
            }),
        }
        if let Some(m) = mapped {
            mapped_rows.insert(i as u32, m);
        }
    }
    duplicate_items(rows, files, &mapped_rows)?;
    out.untouched = tx
        .count_table("stock_items")?
        .saturating_sub(matched_existing);
    Ok(out)
}

/// Refuses two rows giving the balance of one item (the same code twice across files, or two
/// codes mapped to one SKU), naming both. Sorts row indexes: four bytes per row.
fn duplicate_items(
    rows: &[Balance],
    files: &[String],
    mapped: &HashMap<u32, Box<str>>,
) -> Result<()> {
    let sku = |i: u32| -> &str {
        mapped
            .get(&i)
            .map(|m| &**m)
            .unwrap_or_else(|| rows[i as usize].code.trim())
    };
    let mut idx: Vec<u32> = (0..rows.len() as u32).collect();
    idx.sort_unstable_by(|&a, &b| sku(a).cmp(sku(b)).then(a.cmp(&b)));
    let dup = idx
        .windows(2)
        .filter(|w| sku(w[0]) == sku(w[1]))
        .min_by_key(|w| w[1]);
    if let Some(w) = dup {
        let through = if mapped.contains_key(&w[0]) || mapped.contains_key(&w[1]) {
            " (through the mapping table)"
        } else {
            ""
        };
        return Err(invalid(
            "sku",
            format!(
                "{} and {} both give the balance of stock item '{}'{through}; each item may \
                 appear once",
                rows[w[0] as usize].source(files),
                rows[w[1] as usize].source(files),
                sku(w[1])
            ),
        ));
    }
    Ok(())
}

/// The name a created item gets: the file's, cut to 200 characters, else the SKU.
fn new_item_name(b: &Balance, sku: &str) -> String {
    let n: String = b.name.trim().chars().take(200).collect();
    if n.is_empty() { sku.to_string() } else { n }
}

impl Service {
    /// Matches `rows` to stock items and returns the difference; with `apply`, also writes
    /// it in one transaction (one movement with reason `import` per changed or created item,
    /// one audit row). Any invalid row refuses the whole import, naming it; nothing is
    /// written then. `progress(done, total)` is called while applying.
    pub fn import_stock(
        &self,
        actor: &Actor,
        rows: &[Balance],
        opts: &ImportOptions,
        apply: bool,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImportDiff> {
        require(actor, Action::ManageStock, None)?;
        let label = validate::text("label", &opts.label, 0, 500)?;
        if rows.is_empty() {
            return Err(invalid("file", "no balances to import".into()));
        }
        if !apply {
            return diff(&self.read()?, rows, opts);
        }
        let now = self.now();
        let mut tx = self.write()?;
        let mut d = diff(&tx, rows, opts)?;
        let total = (d.changed.len() + d.created.len()) as u64;
        let note = if label.is_empty() {
            "import".to_string()
        } else {
            format!("import: {label}")
        };
        let mut alerts = 0;
        let mut done = 0u64;
        for (l, new) in d
            .changed
            .iter()
            .map(|l| (l, false))
            .chain(d.created.iter().map(|l| (l, true)))
        {
            let sku = l.sku(rows);
            let mut item = match tx.stock_item(sku)? {
                Some(it) if !new => it,
                _ => StockItem {
                    sku: sku.to_string(),
                    name: new_item_name(&rows[l.row as usize], sku),
                    kind: StockKind::Other,
                    printers: vec![],
                    quantity: 0,
                    min_level: 0,
                    updated_at: now,
                },
            };
            let delta = movement_delta(MoveReason::Import, item.quantity, l.to, "")?;
            let was_low = item.is_low();
            item.quantity += delta;
            item.updated_at = now;
            tx.put_stock_item(&item)?;
            if delta != 0 {
                tx.add_stock_move(StockMove {
                    id: 0,
                    at: now,
                    sku: item.sku.clone(),
                    delta,
                    reason: MoveReason::Import,
                    ticket_id: None,
                    actor: actor.clone(),
                    note: note.clone(),
                    balance_after: item.quantity,
                })?;
            }
            if !was_low && item.is_low() && alerts < MAX_IMPORT_ALERTS {
                alerts += 1;
                self.queue_low_stock_alert(&mut tx, &item, now)?;
            }
            done += 1;
            if done.is_multiple_of(1000) {
                progress(done, total);
            }
        }
        progress(total, total);
        if total > 0 {
            tx.add_audit(
                now,
                actor,
                "stock.import",
                "stock".to_string(),
                format!(
                    "{}{} changed, {} created, {} unchanged, {} unknown",
                    if label.is_empty() {
                        String::new()
                    } else {
                        format!("{label}: ")
                    },
                    d.changed.len(),
                    d.created.len(),
                    d.unchanged,
                    d.unknown.len()
                ),
            )?;
            self.commit(tx)?;
            d.applied = true;
        }
        Ok(d)
    }

    /// Every import mapping, by external code.
    pub fn sku_mappings(&self) -> Result<Vec<SkuMapping>> {
        Ok(self.read()?.sku_mappings()?)
    }

    /// Maps an external code to one of our stock items (replacing its earlier mapping).
    pub fn set_sku_mapping(&self, actor: &Actor, code: &str, sku: &str) -> Result<SkuMapping> {
        require(actor, Action::ManageStock, None)?;
        let code = validate::text("code", code, 1, 200)?;
        if code.contains(['\n', '\t', '\r']) {
            return Err(invalid("code", "must be on one line".into()));
        }
        let sku = validate::sku(sku)?;
        let now = self.now();
        let mut tx = self.write()?;
        if tx.stock_item(&sku)?.is_none() {
            return Err(ServiceError::NotFound(format!("stock item {sku}")));
        }
        let m = SkuMapping {
            code: code.clone(),
            sku: sku.clone(),
            updated_at: now,
        };
        tx.put_sku_mapping(&m)?;
        tx.add_audit(
            now,
            actor,
            "stock.mapping_set",
            format!("stock:{sku}"),
            code,
        )?;
        self.commit(tx)?;
        Ok(m)
    }

    /// Removes the mapping of an external code.
    pub fn delete_sku_mapping(&self, actor: &Actor, code: &str) -> Result<()> {
        require(actor, Action::ManageStock, None)?;
        let now = self.now();
        let mut tx = self.write()?;
        let Some(m) = tx.sku_mapping(code)? else {
            return Err(ServiceError::NotFound(format!("mapping of '{code}'")));
        };
        tx.delete_sku_mapping(code)?;
        tx.add_audit(
            now,
            actor,
            "stock.mapping_delete",
            format!("stock:{}", m.sku),
            m.code,
        )?;
        self.commit(tx)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::service;

    fn bal(code: &str, q: i64, line: u32) -> Balance {
        Balance {
            code: code.into(),
            ext_id: None,
            name: format!("name of {code}").into(),
            quantity: q,
            file: 0,
            line,
        }
    }

    #[test]
    fn dry_run_apply_idempotent_mapping_and_unknowns() {
        let t = service();
        let cli = Actor::Cli;
        t.svc
            .upsert_stock_item(&cli, "CE285A", "HP 85A", StockKind::Cartridge, &[], 2)
            .unwrap();
        t.svc
            .move_stock(&cli, "CE285A", MoveReason::Receipt, 5, None, "")
            .unwrap();
        t.svc
            .upsert_stock_item(&cli, "PAPER", "A4", StockKind::Paper, &[], 0)
            .unwrap();
        t.svc.set_sku_mapping(&cli, "1C-0001", "PAPER").unwrap();
        let rows = vec![
            bal("CE285A", 9, 2),
            bal("1C-0001", 40, 3),
            bal("NEW-1", 3, 4),
        ];
        let opts = ImportOptions {
            files: vec!["f.csv".into()],
            ..ImportOptions::default()
        };
        let moves_before = t.svc.read().unwrap().count_table("stock_moves").unwrap();

        let dry = t
            .svc
            .import_stock(&cli, &rows, &opts, false, &mut |_, _| {})
            .unwrap();
        assert!(!dry.applied);
        assert_eq!(dry.changed.len(), 2);
        assert_eq!(dry.unknown.len(), 1);
        assert_eq!(dry.unknown[0].sku(&rows), "NEW-1");
        assert_eq!(
            t.svc.read().unwrap().count_table("stock_moves").unwrap(),
            moves_before
        );

        let done = t
            .svc
            .import_stock(&cli, &rows, &opts, true, &mut |_, _| {})
            .unwrap();
        assert!(done.applied);
        let tx = t.svc.read().unwrap();
        assert_eq!(tx.stock_item("CE285A").unwrap().unwrap().quantity, 9);
        assert_eq!(tx.stock_item("PAPER").unwrap().unwrap().quantity, 40);
        assert!(tx.stock_item("NEW-1").unwrap().is_none());
        let m = &t.svc.stock_moves_of("PAPER", 1).unwrap()[0];
        assert_eq!(
            (m.reason, m.delta, m.balance_after),
            (MoveReason::Import, 40, 40)
        );
        drop(tx);

        let audit = t.svc.read().unwrap().audit_count().unwrap();
        let again = t
            .svc
            .import_stock(&cli, &rows, &opts, true, &mut |_, _| {})
            .unwrap();
        assert!(again.is_empty() && !again.applied);
        assert_eq!(again.unchanged, 2);
        assert_eq!(t.svc.read().unwrap().audit_count().unwrap(), audit);

        let create = ImportOptions {
            create_new: true,
            label: "f.csv".into(),
            files: vec!["f.csv".into()],
            ignore_unknown_zero: false,
        };
        let c = t
            .svc
            .import_stock(&cli, &rows, &create, true, &mut |_, _| {})
            .unwrap();
        assert_eq!(c.created.len(), 1);
        let item = t.svc.read().unwrap().stock_item("NEW-1").unwrap().unwrap();
        assert_eq!((item.quantity, item.name.as_str()), (3, "name of NEW-1"));
    }

    #[test]
    fn unknown_zero_balances_can_be_left_out_unlisted_and_are_never_created() {
        let t = service();
        let cli = Actor::Cli;
        t.svc
            .upsert_stock_item(&cli, "A", "A", StockKind::Toner, &[], 0)
            .unwrap();
        let rows = vec![
            bal("A", 3, 1),
            bal("GOOD-AT-0", 0, 2),
            bal("GOOD-AT-2", 2, 3),
        ];
        let opts = ImportOptions {
            create_new: true,
            ignore_unknown_zero: true,
            files: vec!["1C OData record #".into()],
            ..ImportOptions::default()
        };
        let d = t
            .svc
            .import_stock(&cli, &rows, &opts, true, &mut |_, _| {})
            .unwrap();
        assert_eq!((d.changed.len(), d.created.len(), d.ignored), (1, 1, 1));
        assert_eq!(d.created[0].sku(&rows), "GOOD-AT-2");
        assert_eq!(
            d.changed[0].source(&rows, &opts.files),
            "1C OData record #1"
        );
        let tx = t.svc.read().unwrap();
        assert!(tx.stock_item("GOOD-AT-0").unwrap().is_none());
        assert_eq!(tx.stock_item("A").unwrap().unwrap().quantity, 3);
    }

    #[test]
    fn two_rows_for_one_item_refuse_everything() {
        let t = service();
        let cli = Actor::Cli;
        t.svc
            .upsert_stock_item(&cli, "A", "A", StockKind::Toner, &[], 0)
            .unwrap();
        t.svc.set_sku_mapping(&cli, "X", "A").unwrap();
        let rows = vec![bal("A", 1, 2), bal("X", 2, 5)];
        let e = t
            .svc
            .import_stock(
                &cli,
                &rows,
                &ImportOptions {
                    files: vec!["f.csv".into()],
                    ..ImportOptions::default()
                },
                true,
                &mut |_, _| {},
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("f.csv line 2 and f.csv line 5 both give"),
            "{e}"
        );
        assert_eq!(
            t.svc
                .read()
                .unwrap()
                .stock_item("A")
                .unwrap()
                .unwrap()
                .quantity,
            0
        );
        assert!(t.svc.set_sku_mapping(&cli, "Y", "nope").is_err());
        let op = Actor::Staff {
            login: "op".into(),
            role: Role::Operator,
        };
        assert_eq!(
            t.svc
                .import_stock(&op, &rows, &ImportOptions::default(), false, &mut |_, _| {})
                .unwrap_err()
                .kind(),
            "forbidden"
        );
    }
}
