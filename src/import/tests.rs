//! Parser unit tests: quantities, CommerceML shapes and encodings, CSV detection.

use super::*;

fn parse_bytes(files: &[(&str, &[u8])]) -> Result<Parsed, ImportError> {
    let sources: Vec<Source> = files
        .iter()
        .map(|(name, bytes)| Source::Bytes { name, bytes })
        .collect();
    parse(&sources, &mut |_, _| {})
}

#[test]
fn quantities() {
    for (s, v) in [
        ("5", 5),
        (" 12,000 ", 12),
        ("7.00", 7),
        ("1 200", 1200),
        ("0", 0),
        ("-0", 0),
        ("+3", 3),
        ("1000000", 1_000_000),
    ] {
        assert_eq!(parse_quantity(s), Ok(v), "{s}");
    }
    for (s, why) in [
        ("", "empty"),
        ("abc", "not a number"),
        ("-3", "negative"),
        ("2,5", "whole"),
        ("1000001", "too large"),
        ("99999999999999999999", "too large"),
        ("1.2.3", "not a number"),
        (".", "not a number"),
    ] {
        let e = parse_quantity(s).unwrap_err();
        assert!(e.contains(why), "{s}: {e}");
    }
}

const OFFERS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-03-01T10:00:00">
  <ПакетПредложений СодержитТолькоИзменения="false">
    <Ид>pkg</Ид>
    <Предложения>
      <Предложение>
        <Ид>g1</Ид>
        <Наименование>Картридж &quot;HP&quot; 85A</Наименование>
        <Количество>12,000</Количество>
      </Предложение>
      <Предложение>
        <Ид>g2#c1</Ид>
        <Остатки><Остаток><Склад><Ид>s1</Ид><Количество>2</Количество></Склад></Остаток>
        <Остаток><Склад><Ид>s2</Ид><Количество>3</Количество></Склад></Остаток></Остатки>
      </Предложение>
      <Предложение>
        <Ид>g3</Ид>
        <Артикул>PAPER-A4</Артикул>
        <Склад ИдСклада="s1" КоличествоНаСкладе="4"/>
        <Склад ИдСклада="s2" КоличествоНаСкладе="1"/>
      </Предложение>
      <Предложение>
        <Ид>g4</Ид>
        <Цены><Цена><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены>
      </Предложение>
    </Предложения>
  </ПакетПредложений>
</КоммерческаяИнформация>
"#;

const CATALOG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.05">
  <Каталог><Товары>
    <Товар><Ид>g1</Ид><Артикул>CE285A</Артикул><Наименование>Картридж HP 85A</Наименование>
      <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Вид</Наименование></ЗначениеРеквизита></ЗначенияРеквизитов>
    </Товар>
    <Товар><Ид>g2</Ид><Артикул>TN-2375</Артикул><Наименование>Тонер Brother</Наименование></Товар>
  </Товары></Каталог>
</КоммерческаяИнформация>
"#;

#[test]
fn commerceml_offers_with_catalogue_in_either_order() {
    for files in [
        [("offers.xml", OFFERS), ("import.xml", CATALOG)],
        [("import.xml", CATALOG), ("offers.xml", OFFERS)],
    ] {
        let p = parse_bytes(&files.map(|(n, s)| (n, s.as_bytes()))).unwrap();
        let got: Vec<_> = p
            .balances
            .iter()
            .map(|b| (&*b.code, b.ext_id.as_deref(), &*b.name, b.quantity))
            .collect();
        assert_eq!(
            got,
            vec![
                ("CE285A", Some("g1"), "Картридж \"HP\" 85A", 12),
                ("TN-2375", Some("g2"), "Тонер Brother", 5),
                ("PAPER-A4", Some("g3"), "", 5),
            ]
        );
        assert_eq!(p.without_quantity, 1);
        assert!(!p.partial);
        assert_eq!(p.balances[0].source(&p.files), "offers.xml line 6");
    }
}

#[test]
fn commerceml_3_namespace_partial_and_windows_1251() {
    let doc = r#"<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1">
<ПакетПредложений СодержитТолькоИзменения="true"><Предложения>
<Предложение><Ид>x</Ид><Артикул>Б-1</Артикул><Наименование>Бумага</Наименование><Количество>3</Количество></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>"#;
    let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(doc);
    assert!(!bad);
    let p = parse_bytes(&[("offers.xml", &bytes)]).unwrap();
    assert!(p.partial);
    assert_eq!(&*p.balances[0].code, "Б-1");
    assert_eq!(&*p.balances[0].name, "Бумага");
    assert_eq!(p.balances[0].quantity, 3);
    assert!(p.formats[0].contains("3.1"), "{:?}", p.formats);
}

#[test]
fn commerceml_errors_name_the_line_and_field() {
    let bad_qty = OFFERS.replace("12,000", "-3");
    let e = parse_bytes(&[("offers.xml", bad_qty.as_bytes())]).unwrap_err();
    assert_eq!(e.line, Some(9), "{e}");
    assert!(
        e.to_string().contains("Количество: '-3' is negative"),
        "{e}"
    );

    let cut = &OFFERS[..OFFERS.find("</Предложения>").unwrap()];
    let e = parse_bytes(&[("offers.xml", cut.as_bytes())]).unwrap_err();
    assert!(e.to_string().contains("cut short"), "{e}");

    let mismatched = OFFERS.replace("</Количество>", "</Колво>");
    let e = parse_bytes(&[("offers.xml", mismatched.as_bytes())]).unwrap_err();
    assert!(e.to_string().contains("malformed XML"), "{e}");
    assert_eq!(e.line, Some(9), "{e}");

    // Windows-1251 bytes in a file that says UTF-8.
    let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(OFFERS);
    let e = parse_bytes(&[("offers.xml", &cp)]).unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");

    let dup = OFFERS.replace("<Ид>g2#c1</Ид>", "<Ид>g1</Ид>");
    let e = parse_bytes(&[("offers.xml", dup.as_bytes())]).unwrap_err();
    assert!(
        e.to_string()
            .contains("'g1' appears twice (first at line 6)"),
        "{e}"
    );

    let e = parse_bytes(&[("x.xml", b"<html><body/></html>")]).unwrap_err();
    assert!(e.to_string().contains("not a 1C CommerceML file"), "{e}");

    let e = parse_bytes(&[("import.xml", CATALOG.as_bytes())]).unwrap_err();
    assert!(e.to_string().contains("give offers.xml"), "{e}");
}

#[test]
fn csv_delimiters_encodings_and_headers() {
    let utf8 = "Остатки на 01.03.2026\n\nАртикул;Наименование;Остаток\nCE285A;Картридж HP 85A;7\n;Итого;7\n";
    let p = parse_bytes(&[("a.csv", utf8.as_bytes())]).unwrap();
    assert_eq!(p.balances.len(), 1);
    assert_eq!(p.balances[0].source(&p.files), "a.csv line 4");
    assert!(
        p.formats[0].contains("UTF-8, delimiter ';'"),
        "{:?}",
        p.formats
    );

    let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(utf8);
    let p = parse_bytes(&[("a.csv", &cp)]).unwrap();
    assert_eq!(&*p.balances[0].name, "Картридж HP 85A");
    assert!(p.formats[0].contains("Windows-1251"), "{:?}", p.formats);

    let bom = "\u{feff}SKU,Name,Qty\n\"A,1\",\"x, y\",\"1,000\"\n";
    let p = parse_bytes(&[("b.csv", bom.as_bytes())]).unwrap();
    assert_eq!(&*p.balances[0].code, "A,1");
    assert_eq!(p.balances[0].quantity, 1);
    assert!(p.formats[0].contains("BOM"));

    let tab = "код\tназва\tкількість\nX\tПапір\t5\n";
    assert_eq!(
        parse_bytes(&[("c.tsv", tab.as_bytes())]).unwrap().balances[0].quantity,
        5
    );

    let e = parse_bytes(&[("d.csv", b"sku;qty\nA;5\nB;lots\n")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "d.csv line 3: column 'qty': 'lots' is not a number"
    );
    let e = parse_bytes(&[("d.csv", b"sku;qty\nA;5\nA;6\n")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("line 3: SKU 'A' appears twice (first at line 2)"),
        "{e}"
    );
    let e = parse_bytes(&[("d.csv", b"foo;bar\n1;2\n")]).unwrap_err();
    assert!(e.to_string().contains("no header row"), "{e}");
    let e = parse_bytes(&[("d.csv", b"\xFF\xFEa\x00")]).unwrap_err();
    assert!(e.to_string().contains("UTF-16"), "{e}");
    let e = parse_bytes(&[("d.xls", b"\xD0\xCF\x11\xE0rest")]).unwrap_err();
    assert!(e.to_string().contains(".xls"), "{e}");
}

/// Found by `tests/fuzz.rs` (csv_stock_file, commerceml): an error quoting a value with a line
/// break or tab came out on several lines; the CLI prints errors as one line.
#[test]
fn fuzz_regression_errors_stay_on_one_line() {
    let e = parse_bytes(&[("d.csv", b"sku;qty\nA;\"12\n\tx\"\n")]).unwrap_err();
    let text = e.to_string();
    assert!(!text.contains('\n') && !text.contains('\t'), "{text:?}");
    assert!(
        text.contains("line 2") && text.contains("12\\n\\tx"),
        "{text}"
    );
    let e = parse_bytes(&[("o.xml", "<a><Ид>1</Ид&\n<b>".as_bytes())]).unwrap_err();
    assert!(!e.to_string().contains('\n'), "{e}");
}

/// A workbook from rust_xlsxwriter with its first sheet's XML passed through `edit`.
fn xlsx_with_sheet(edit: impl Fn(&str) -> String) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "SKU").unwrap();
    ws.write_string(0, 1, "Qty").unwrap();
    ws.write_string(1, 0, "CE285A").unwrap();
    ws.write_number(1, 1, 7.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = String::new();
        f.read_to_string(&mut data).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            data = edit(&data);
        }
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Found by `tests/fuzz.rs` (xlsx_stock_file): a cell at the far corner of the sheet made the
/// dense range of a million rows by 16384 columns (minutes of CPU, gigabytes); and a cell
/// reference of many letters made the workbook library panic (an overflow).
#[test]
fn fuzz_regression_xlsx_far_cells_and_damaged_references() {
    let far = xlsx_with_sheet(|x| {
        x.replace(
            "</sheetData>",
            r#"<row r="1048576"><c r="XFD1048576"><v>5</v></c></row></sheetData>"#,
        )
        .replace(
            r#"<dimension ref="A1:B2"/>"#,
            r#"<dimension ref="A1:XFD1048576"/>"#,
        )
    });
    let started = std::time::Instant::now();
    let p = parse_bytes(&[("far.xlsx", &far)]).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(p.balances.len(), 1);
    assert_eq!(
        (&*p.balances[0].code, p.balances[0].quantity),
        ("CE285A", 7)
    );

    let damaged = xlsx_with_sheet(|x| x.replace(r#"r="A2""#, r#"r="AAAAAAAAAAAAAAAA2""#));
    match parse_bytes(&[("bad.xlsx", &damaged)]) {
        Ok(p) => assert!(p.balances.iter().all(|b| b.quantity == 7)),
        Err(e) => assert_eq!(e.file, "bad.xlsx"),
    }
}

/// Found by `tests/fuzz.rs` (commerceml): an XML declaration whose `encoding=` is followed by
/// a multi-byte letter instead of a quote panicked (a string cut inside a character).
#[test]
fn fuzz_regression_encoding_without_quote_does_not_panic() {
    let doc = "<?xml version=\"1.0\" encoding=Сx?><КоммерческаяИнформация/>";
    let r = parse_bytes(&[("offers.xml", doc.as_bytes())]);
    if let Err(e) = r {
        assert_eq!(e.file, "offers.xml");
    }
}

/// Found by `tests/fuzz.rs` (xlsx_stock_file): `<sst uniqueCount="74294967296">` made the
/// workbook library reserve 1.7 TB up front, and the failed allocation aborted the process.
#[test]
fn fuzz_regression_xlsx_shared_string_count_is_checked() {
    use std::io::{Read, Write};
    let good = xlsx_with_sheet(|x| x.to_string());
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(good)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut found = false;
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = String::new();
        f.read_to_string(&mut data).unwrap();
        if name.ends_with("sharedStrings.xml") {
            let at = data.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
            let end = at + data[at..].find('"').unwrap();
            data.replace_range(at..end, "74294967296");
            found = true;
        }
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data.as_bytes()).unwrap();
    }
    assert!(found);
    let bad = w.finish().unwrap().into_inner();
    let e = parse_bytes(&[("bad.xlsx", &bad)]).unwrap_err();
    assert!(
        e.to_string().contains("shared strings claim 74294967296"),
        "{e}"
    );
}
