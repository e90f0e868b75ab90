//! Stock import end to end, against the real binary: `helpdesk stock import` on 1C CommerceML
//! (the fixtures in `tests/fixtures/1c/`, as 1C writes them), CSV in UTF-8 and Windows-1251,
//! XLSX (written here with rust_xlsxwriter), a generated 100,000-offer file; directly and
//! through a running server's control socket; the panel upload with its difference, apply
//! and progress pages and the mapping page over HTTP. The state is read back from snapshot
//! archives (row counts per table, the stock items' quantities).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{Sandbox, archive_entry};

const OFFERS: &str = include_str!("fixtures/1c/offers.xml");
const CATALOG: &str = include_str!("fixtures/1c/import.xml");
const PEN_ID: &str = "b1f0e6d7-1c2a-11ea-80e1-005056b3f2a1";
const PASSWORD: &str = "password1";

/// What the database holds, read from a fresh snapshot: rows per table and each item's
/// quantity.
#[derive(Debug, PartialEq, Eq)]
struct State {
    rows: BTreeMap<String, u64>,
    qty: BTreeMap<String, i64>,
}

impl State {
    fn rows(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }
}

#[track_caller]
fn state(sb: &Sandbox) -> State {
    let run = sb.run(["snapshot"]);
    run.success();
    let path = sb.join(run.last_stdout_line());
    let manifest: serde_json::Value =
        serde_json::from_slice(&archive_entry(&path, "manifest.json")).unwrap();
    let rows = manifest["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["rows"].as_u64().unwrap()))
        .collect();
    let items = archive_entry(&path, "tables/stock_items.jsonl");
    let qty = String::from_utf8(items)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["sku"].as_str().unwrap().to_string(),
                v["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    std::fs::remove_file(&path).unwrap();
    State { rows, qty }
}

fn import(sb: &Sandbox, args: &[&str]) -> common::Run {
    let mut all = vec!["stock", "import"];
    all.extend_from_slice(args);
    sb.run(all)
}

#[test]
fn commerceml_dry_run_apply_and_an_identical_second_import() {
    let sb = Sandbox::new();
    let offers = sb.write("exchange/offers.xml", OFFERS);
    let catalog = sb.write("exchange/import.xml", CATALOG);
    let (offers, catalog) = (offers.to_str().unwrap(), catalog.to_str().unwrap());
    let empty = state(&sb);

    // Nothing known yet: every offer is listed as unknown, nothing changes.
    let r = import(&sb, &[offers, catalog, "--dry-run"]);
    r.success();
    assert!(
        r.stdout.contains("unknown SKUs, not imported (6):"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("CE285A  Картридж HP 85A (CE285A) черный: 12  [offers.xml line 34]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--create-new"), "{}", r.stdout);
    assert!(
        r.stderr.contains("offers.xml: CommerceML 2.05 (offers)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 offers carry no quantity"),
        "{}",
        r.stderr
    );
    assert_eq!(state(&sb), empty);

    // Created on request, articles and names from import.xml, the quantity shapes summed.
    let r = import(&sb, &[offers, catalog, "--create-new"]);
    r.success();
    assert!(
        r.last_stdout_line()
            .starts_with("stock import (imported): 0 changed, 6 new, 0 unknown"),
        "{}",
        r.stdout
    );
    let s1 = state(&sb);
    let want: BTreeMap<String, i64> = [
        ("CE285A", 12),
        ("TN-2375", 4),
        ("DR-2335", 1),
        ("БУМ-А4-500", 37),
        ("Q2612A", 5),
        (PEN_ID, 150),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(s1.qty, want);
    assert_eq!(s1.rows("stock_moves"), 6);

    // A new exchange: two balances change; the dry run shows it and changes nothing.
    let changed = OFFERS
        .replace("<Количество>12</Количество>", "<Количество>7</Количество>")
        .replace("<Количество>1</Количество>", "<Количество>0</Количество>");
    let offers2 = sb.write("exchange2/offers.xml", changed);
    let offers2 = offers2.to_str().unwrap();
    let r = import(&sb, &[catalog, offers2, "--dry-run"]);
    r.success();
    assert!(r.stdout.contains("changed quantities (2):"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("CE285A  Картридж HP 85A (CE285A) черный: 12 -> 7 (-5)")
    );
    assert!(
        r.stdout
            .contains("DR-2335  Фотобарабан Brother DR-2335: 1 -> 0 (-1)")
    );
    assert!(r.last_stdout_line().contains("dry run, nothing changed"));
    assert_eq!(state(&sb), s1);

    let r = import(&sb, &[catalog, offers2]);
    r.success();
    assert!(
        r.last_stdout_line()
            .contains("(imported): 2 changed, 0 new, 0 unknown, 4 unchanged")
    );
    let s2 = state(&sb);
    assert_eq!(s2.qty["CE285A"], 7);
    assert_eq!(s2.qty["DR-2335"], 0);
    assert_eq!(s2.rows("stock_moves"), 8);
    assert_eq!(s2.rows("audit"), s1.rows("audit") + 1);

    // The same files again: nothing to change, not even an audit row.
    let r = import(&sb, &[catalog, offers2]);
    r.success();
    assert!(
        r.last_stdout_line()
            .contains("(nothing to change): 0 changed, 0 new, 0 unknown, 6 unchanged")
    );
    assert_eq!(state(&sb), s2);
}

fn xlsx(rows: &[(&str, &str, f64)]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Остатки товаров на 02.03.2026")
        .unwrap();
    for (c, h) in ["Артикул", "Номенклатура", "Количество"].iter().enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    for (i, (sku, name, q)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string(r, 0, *sku).unwrap();
        ws.write_string(r, 1, *name).unwrap();
        ws.write_number(r, 2, *q).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn csv_and_xlsx_through_a_running_server() {
    let sb = Sandbox::new();
    let mut server = sb.serve(&[]);
    let csv = "\u{feff}Артикул;Наименование;Остаток\nCE285A;Картридж HP 85A;3\n\"TN-2375\";\"Тонер \"\"Brother\"\"\";10\n";
    let utf8 = sb.write("utf8.csv", csv);
    let r = import(&sb, &[utf8.to_str().unwrap(), "--create-new"]);
    r.success();
    assert!(
        r.stderr.contains("CSV, UTF-8 with BOM, delimiter ';'"),
        "{}",
        r.stderr
    );
    assert!(
        r.last_stdout_line().contains("0 changed, 2 new"),
        "{}",
        r.stdout
    );
    let s = state(&sb);
    assert_eq!((s.qty["CE285A"], s.qty["TN-2375"]), (3, 10));

    // Windows-1251 (what Excel on a Russian Windows writes), tab-separated, Ukrainian headers.
    let text = "Код\tНазва\tКількість\r\nCE285A\tКартридж HP 85A\t5\r\nTN-2375\tТонер\t10\r\n";
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let legacy = sb.write("cp1251.csv", &cp1251);
    let r = import(&sb, &[legacy.to_str().unwrap(), "--dry-run"]);
    r.success();
    assert!(
        r.stderr.contains("Windows-1251, delimiter tab"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("CE285A  Картридж HP 85A: 3 -> 5 (+2)"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&sb), s);
    import(&sb, &[legacy.to_str().unwrap()]).success();
    assert_eq!(state(&sb).qty["CE285A"], 5);

    let book = sb.write(
        "остатки.xlsx",
        xlsx(&[
            ("CE285A", "Картридж HP 85A", 8.0),
            ("TN-2375", "Тонер", 10.0),
        ]),
    );
    let r = import(&sb, &[book.to_str().unwrap()]);
    r.success();
    assert!(
        r.last_stdout_line()
            .contains("1 changed, 0 new, 0 unknown, 1 unchanged"),
        "{}",
        r.stdout
    );
    let s = state(&sb);
    assert_eq!(s.qty["CE285A"], 8);
    // Both changes went through the server (the CLI could not have opened the database).
    assert!(server.is_running());
    assert_eq!(s.rows("stock_moves"), 4);
    let r = import(&sb, &[book.to_str().unwrap()]);
    assert!(
        r.last_stdout_line().contains("nothing to change"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&sb), s);
}

#[test]
fn bad_input_names_the_line_and_field_and_changes_nothing() {
    let sb = Sandbox::new();
    let good = sb.write("good.csv", "sku;name;qty\nA;Paper;5\n");
    import(&sb, &[good.to_str().unwrap(), "--create-new"]).success();
    let before = state(&sb);
    let (cp1251_offers, _, _) = encoding_rs::WINDOWS_1251.encode(OFFERS);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "negative.csv",
            b"sku;qty\nA;7\nB;-2\n".to_vec(),
            "negative.csv line 3: column 'qty': '-2' is negative",
        ),
        (
            "words.csv",
            "Артикул,Остаток\nA,пять\n".as_bytes().to_vec(),
            "words.csv line 2: column 'Остаток': 'пять' is not a number",
        ),
        (
            "half.csv",
            b"sku;qty\nA;2,5\n".to_vec(),
            "half.csv line 2: column 'qty': '2,5' is not a whole number",
        ),
        (
            "dup.csv",
            b"sku;qty\nA;1\nC;2\nA;3\n".to_vec(),
            "dup.csv line 4: SKU 'A' appears twice (first at line 2)",
        ),
        (
            "offers.xml",
            OFFERS
                .replace(
                    "<Количество>37</Количество>",
                    "<Количество>много</Количество>",
                )
                .into_bytes(),
            "offers.xml line 78: Количество: 'много' is not a number",
        ),
        (
            "offers.xml",
            OFFERS
                .replace(
                    "</Наименование>\n\t\t\t\t<Количество>150",
                    "</Наим>\n\t\t\t\t<Количество>150",
                )
                .into_bytes(),
            "offers.xml line 88: malformed XML",
        ),
        (
            "offers.xml",
            cp1251_offers.to_vec(),
            "offers.xml line 2: the text is not valid UTF-8",
        ),
        (
            "utf16.csv",
            vec![0xFF, 0xFE, b's', 0, b'k', 0, b'u', 0],
            "utf16.csv: the file is in UTF-16, which is not supported",
        ),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            "photo.png: not a CSV, XLSX or 1C CommerceML (XML) file",
        ),
        (
            "page.xml",
            b"<?xml version=\"1.0\"?><html><body/></html>".to_vec(),
            "page.xml line 1: not a 1C CommerceML file: the root element is <html>",
        ),
        (
            "broken.xlsx",
            b"PK\x03\x04 not really a zip".to_vec(),
            "broken.xlsx: not a readable XLSX workbook",
        ),
        (
            "headers.csv",
            b"foo;bar\n1;2\n".to_vec(),
            "headers.csv line 1: no header row naming the SKU and quantity columns",
        ),
    ];
    for (name, bytes, want) in cases {
        let path = sb.write(format!("bad/{name}"), &bytes);
        let r = import(&sb, &[path.to_str().unwrap()]);
        r.failure();
        let e = r.one_line_error();
        assert!(e.contains(want), "{name}: expected '{want}' in: {e}");
    }
    // Two codes mapped to one item are caught after matching: both lines named.
    let two = sb.write("two.csv", "sku;qty\nA;1\nA ;2\n");
    let r = import(&sb, &[two.to_str().unwrap()]);
    r.failure();
    assert!(r.one_line_error().contains("appears twice"), "{}", r.stderr);
    assert_eq!(state(&sb), before);
}

#[test]
fn a_hundred_thousand_offers() {
    let sb = Sandbox::new();
    let n = 100_000;
    let mut doc = String::with_capacity(n * 300);
    doc.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-03-02T09:15:43\">\n<ПакетПредложений СодержитТолькоИзменения=\"false\">\n<Предложения>\n");
    for i in 0..n {
        doc.push_str(&format!(
            "<Предложение>\n<Ид>{i:08x}-1c2a-11ea-80e1-005056b3f2a1</Ид>\n<Артикул>ART-{i:06}</Артикул>\n<Наименование>Картридж тестовый №{i}</Наименование>\n<Количество>{}</Количество>\n</Предложение>\n",
            i % 50
        ));
    }
    doc.push_str("</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>\n");
    let path = sb.write("big/offers.xml", &doc);
    drop(doc);
    let path = path.to_str().unwrap();

    let t = Instant::now();
    let r = import(&sb, &[path, "--dry-run"]);
    r.success();
    assert!(
        r.stdout
            .contains(&format!("unknown SKUs, not imported ({n}):"))
    );
    assert!(r.stdout.contains("… and 99950 more (--full lists all)"));
    assert!(r.stderr.contains("reading: 100%"), "{}", r.stderr);
    let dry = t.elapsed();

    let t = Instant::now();
    let r = import(&sb, &[path, "--create-new"]);
    r.success();
    assert!(
        r.last_stdout_line()
            .contains(&format!("0 changed, {n} new")),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(&format!("applying: {n} of {n} items")),
        "{}",
        r.stderr
    );
    let apply = t.elapsed();
    let s = state(&sb);
    assert_eq!(s.qty.len(), n);
    assert_eq!(s.qty["ART-000049"], 49);
    assert_eq!(s.rows("stock_moves"), (n - n / 50) as u64);

    let r = import(&sb, &[path]);
    r.success();
    assert!(r.last_stdout_line().contains(&format!(
        "nothing to change): 0 changed, 0 new, 0 unknown, {n} unchanged"
    )));
    eprintln!("100k offers: dry run {dry:?}, apply {apply:?}");
}

// ---- the panel ----

/// Presses "apply" on a difference page and waits for the result page; also says whether a
/// progress page was seen on the way.
fn apply_watching(b: &mut Browser, job: &str) -> (String, bool) {
    let mut seen = false;
    let token = b.csrf_of(job);
    let r = b.post(&format!("{job}/apply"), &[("csrf", &token)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let p = b.get(job);
        assert_eq!(p.status, 200);
        if !p.body.contains("id=\"progress\"") {
            assert!(p.header("refresh").is_empty());
            return (p.body, seen);
        }
        seen = true;
        assert!(
            !p.header("refresh").is_empty(),
            "a running import's page refreshes itself"
        );
        assert!(Instant::now() < until, "the import did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn apply(b: &mut Browser, job: &str) -> String {
    apply_watching(b, job).0
}

#[test]
fn panel_upload_difference_apply_and_mapping() {
    let sb = Sandbox::new();
    for (login, role) in [("keeper", "storekeeper"), ("op", "operator")] {
        sb.run_stdin(
            [
                "admin",
                "add",
                "--login",
                login,
                "--role",
                role,
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .success();
    }
    let _server = sb.serve(&[]);
    let server = &_server;
    let mut b = Browser::login(server, "keeper", PASSWORD);
    assert!(b.get("/stock").body.contains("href=\"/stock-import\""));
    let token = b.csrf_of("/stock-import");

    // Without the CSRF token: refused, nothing parsed or kept.
    let files: [(&str, &str, &[u8]); 2] = [
        ("file", "offers.xml", OFFERS.as_bytes()),
        ("catalog", "import.xml", CATALOG.as_bytes()),
    ];
    assert_eq!(
        b.post_multipart("/stock-import", &[("create_new", "1")], &files)
            .status,
        403
    );

    // The difference first; nothing changes until "apply".
    let r = b.post_multipart(
        "/stock-import",
        &[("csrf", &token), ("create_new", "1")],
        &files,
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let job = r.location();
    let p = b.get(&job);
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains("Картридж HP 85A (CE285A) черный"),
        "{}",
        p.body
    );
    assert!(p.body.contains("offers.xml: CommerceML 2.05 (offers)"));
    assert!(p.body.contains("id=\"apply\""));
    assert!(state(&sb).qty.is_empty());

    // Another staff member cannot see or apply someone's upload; an operator may not import.
    let mut op = Browser::login(server, "op", PASSWORD);
    assert_eq!(op.get("/stock-import").status, 403);
    assert_eq!(op.get(&job).status, 403);

    let done = apply(&mut b, &job);
    assert!(done.contains("id=\"notice\""), "{done}");
    let s = state(&sb);
    assert_eq!(s.qty["CE285A"], 12);
    assert_eq!(s.qty[PEN_ID], 150);
    // A second press, or a reload, applies nothing more.
    let token = b.csrf_of("/stock-import");
    b.post(&format!("{job}/apply"), &[("csrf", &token)]);
    assert_eq!(state(&sb), s);

    // Mapping: a supplier's code for an item; a CSV using it updates that item.
    let r = b.post(
        "/stock-import/mapping",
        &[
            ("csrf", &token),
            ("code", "HP-85A-SUPPLIER"),
            ("sku", "CE285A"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.post(
        "/stock-import/mapping",
        &[("csrf", &token), ("code", "X"), ("sku", "NO-SUCH-SKU")],
    );
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("stock item NO-SUCH-SKU not found"),
        "{}",
        r.body
    );
    assert_eq!(
        b.post("/stock-import/mapping", &[("code", "Y"), ("sku", "CE285A")])
            .status,
        403
    );
    let m = b.get("/stock-import/mapping").body;
    assert!(m.contains("HP-85A-SUPPLIER"));
    assert!(!m.contains(">X<"));

    let csv = "code,name,qty\nHP-85A-SUPPLIER,HP 85A,20\n";
    let r = b.post_multipart(
        "/stock-import",
        &[("csrf", &token)],
        &[("file", "supplier.csv", csv.as_bytes())],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let p = b.get(&r.location());
    assert!(
        p.body.contains(">12<") && p.body.contains(">20<"),
        "{}",
        p.body
    );
    apply(&mut b, &r.location());
    assert_eq!(state(&sb).qty["CE285A"], 20);

    let r = b.post(
        "/stock-import/mapping/delete",
        &[("csrf", &token), ("code", "HP-85A-SUPPLIER")],
    );
    assert_eq!(r.status, 303);
    assert!(
        !b.get("/stock-import/mapping")
            .body
            .contains("HP-85A-SUPPLIER")
    );

    // Bad files: the message names the line, nothing is kept or changed.
    let before = state(&sb);
    let r = b.post_multipart(
        "/stock-import",
        &[("csrf", &token)],
        &[("file", "bad.csv", b"sku;qty\nCE285A;-1\n")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("bad.csv line 2: column &#39;qty&#39;: &#39;-1&#39; is negative")
            || r.body
                .contains("bad.csv line 2: column 'qty': '-1' is negative"),
        "{}",
        r.body
    );
    let big = vec![b'a'; 21 * 1024 * 1024];
    let r = b.post_multipart(
        "/stock-import",
        &[("csrf", &token)],
        &[("file", "huge.csv", &big)],
    );
    assert_eq!(r.status, 413);
    assert!(
        r.body.contains("at most 20 MB") || r.body.contains("не больше 20 МБ"),
        "{}",
        r.body
    );
    assert_eq!(state(&sb), before);

    // A long import shows its progress while it runs (40,000 new items in one transaction).
    let mut csv = String::from("Артикул;Остаток\n");
    for i in 0..40_000 {
        csv.push_str(&format!("BULK-{i:05};{}\n", i % 7));
    }
    let r = b.post_multipart(
        "/stock-import",
        &[("csrf", &token), ("create_new", "1")],
        &[("file", "bulk.csv", csv.as_bytes())],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (done, seen) = apply_watching(&mut b, &r.location());
    assert!(seen, "no progress page was shown for 40,000 items");
    assert!(done.contains("id=\"notice\""), "{done}");
    let s = state(&sb);
    assert_eq!(s.qty.len(), before.qty.len() + 40_000);
    assert_eq!(s.qty["BULK-39999"], 39_999 % 7);
}
