//! Peak memory (and time) of `helpdesk stock import` on a generated 1C CommerceML exchange of
//! 100,000 offers. Not a test: run with `cargo bench --bench import_memory`.
//!
//! Each run is a separate `helpdesk` process (the bench-profile binary, as released) in a
//! fresh temporary folder; its peak resident set size is read from `wait4`'s rusage
//! (`ru_maxrss`, KiB on Linux) for that child alone. The budget is 64 MiB for the dry run;
//! the bench exits non-zero when a dry run goes over it.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const OFFERS: usize = 100_000;
const BUDGET_KIB: i64 = 64 * 1024;

fn offers_xml(path: &Path, with_article: bool) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-03-02T09:15:43\">\n<ПакетПредложений СодержитТолькоИзменения=\"false\">\n<Ид>5a3c1c4e-8f0b-11e6-80d7-005056b3f2a1#</Ид>\n<Наименование>Пакет предложений (Основной каталог товаров)</Наименование>\n<Предложения>").unwrap();
    for i in 0..OFFERS {
        writeln!(
            f,
            "<Предложение>\n<Ид>{i:08x}-1c2a-11ea-80e1-005056b3f2a1</Ид>"
        )
        .unwrap();
        if with_article {
            writeln!(f, "<Артикул>ART-{i:06}</Артикул>").unwrap();
            writeln!(
                f,
                "<Наименование>Картридж лазерный тестовый №{i}, черный</Наименование>"
            )
            .unwrap();
        }
        writeln!(f, "<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница>\n<Цены><Цена><Представление>4 590 RUB за шт</Представление><ИдТипаЦены>d2b8c1a0-8f0b-11e6-80d7-005056b3f2a1</ИдТипаЦены><ЦенаЗаЕдиницу>4590</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена></Цены>\n<Количество>{}</Количество>\n<Склад ИдСклада=\"e4c2a9b0-8f0b-11e6-80d7-005056b3f2a1\" КоличествоНаСкладе=\"{}\"/>\n</Предложение>", i % 50, i % 50).unwrap();
    }
    writeln!(
        f,
        "</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>"
    )
    .unwrap();
}

fn import_xml(path: &Path) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-03-02T09:15:42\">\n<Каталог СодержитТолькоИзменения=\"false\">\n<Товары>").unwrap();
    for i in 0..OFFERS {
        writeln!(f, "<Товар>\n<Ид>{i:08x}-1c2a-11ea-80e1-005056b3f2a1</Ид>\n<Артикул>ART-{i:06}</Артикул>\n<Наименование>Картридж лазерный тестовый №{i}, черный</Наименование>\n<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт</БазоваяЕдиница>\n<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>\n</Товар>").unwrap();
    }
    writeln!(f, "</Товары>\n</Каталог>\n</КоммерческаяИнформация>").unwrap();
}

/// Runs `helpdesk ARGS` in `dir`; returns (peak RSS in KiB, seconds, last stdout line).
// The child is reaped by `wait4` (for its own rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str]) -> (i64, f64, String) {
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .args(args)
        .current_dir(dir)
        .env_remove("HELPDESK_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start helpdesk");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let secs = t.elapsed().as_secs_f64();
    let out = reader.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "helpdesk {args:?} failed:\n{out}"
    );
    let last = out.lines().last().unwrap_or("").to_string();
    (usage.ru_maxrss, secs, last)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    offers_xml(&d.join("offers.xml"), true);
    offers_xml(&d.join("offers-ids.xml"), false);
    import_xml(&d.join("import.xml"));
    let size = |n: &str| std::fs::metadata(d.join(n)).unwrap().len() as f64 / 1048576.0;
    println!(
        "{OFFERS} offers: offers.xml {:.1} MiB, offers.xml without articles {:.1} MiB, import.xml {:.1} MiB",
        size("offers.xml"),
        size("offers-ids.xml"),
        size("import.xml")
    );
    let mut over = false;
    let mut report = |what: &str, (kib, secs, last): (i64, f64, String), budget: bool| {
        let flag = if budget && kib > BUDGET_KIB {
            over = true;
            "  OVER 64 MiB"
        } else {
            ""
        };
        println!(
            "{what:<58} peak RSS {:>6.1} MiB  {secs:>6.2} s{flag}",
            kib as f64 / 1024.0
        );
        println!("    {last}");
    };
    report(
        "dry run, offers.xml, empty database (100k unknown)",
        run(d, &["stock", "import", "offers.xml", "--dry-run"]),
        true,
    );
    report(
        "dry run, offers.xml + import.xml (100k goods), empty db",
        run(
            d,
            &[
                "stock",
                "import",
                "offers-ids.xml",
                "import.xml",
                "--dry-run",
            ],
        ),
        true,
    );
    report(
        "apply --create-new (100k items created, one transaction)",
        run(d, &["stock", "import", "offers.xml", "--create-new"]),
        false,
    );
    report(
        "dry run again, 100k items in the database (all unchanged)",
        run(d, &["stock", "import", "offers.xml", "--dry-run"]),
        true,
    );
    report(
        "apply again (nothing to change)",
        run(d, &["stock", "import", "offers.xml"]),
        false,
    );
    if over {
        eprintln!("a dry run went over the 64 MiB budget");
        std::process::exit(1);
    }
}
