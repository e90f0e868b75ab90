//! FAQ search benchmark (see BENCHMARKS.md, "FAQ search").
//!
//! Builds an in-memory `FaqIndex` of 10,000 generated entries once (Russian questions, a
//! Ukrainian and an English alternative, a ~30-word answer; a vocabulary of a few hundred
//! words, so common words hit hundreds of entries: far harder than a real FAQ of 50–300
//! entries), then measures `FaqIndex::answer` latency per kind of query:
//!
//! - `exact`: an entry's question as written;
//! - `paraphrase`: the question's words reordered, inflected differently, stop words dropped;
//! - `ukrainian`: an entry's Ukrainian alternative with a different ending;
//! - `typo`: the question with one letter dropped from its longest word (the slow path:
//!   fuzzy and trigram lookups);
//! - `vague`: one common word;
//! - `unrelated`: questions the FAQ cannot answer.
//!
//! Two measurements: first a plain loop that times every call and prints the median and p95
//! per kind (plus build and on-disk open times); then criterion (`faq_10k/<kind>`), where one
//! iteration is one query, cycling through the kind's queries.
//!
//! Run: `cargo bench --bench faq`. `HELPDESK_BENCH_FAQ=<n>` changes the number of entries.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use helpdesk::domain::FaqEntry;
use helpdesk::search::{Answer, FaqIndex};

const RU_ACTIONS: &[&str] = &[
    "как подключить",
    "как настроить",
    "не работает",
    "как заказать",
    "как восстановить",
    "как удалить",
    "как установить",
    "не открывается",
    "как обновить",
    "где найти",
    "как сменить",
    "как получить",
    "как распечатать",
    "как отправить",
    "как сохранить",
    "не видит",
    "как перенести",
    "как продлить",
    "как заблокировать",
    "как проверить",
];

const RU_THINGS: &[&str] = &[
    "принтер",
    "картридж",
    "пароль",
    "почту",
    "телефон",
    "ноутбук",
    "монитор",
    "сканер",
    "сервер",
    "папку",
    "доступ",
    "программу",
    "учетную запись",
    "базу",
    "отчет",
    "договор",
    "сеть",
    "роутер",
    "камеру",
    "клавиатуру",
    "мышь",
    "наушники",
    "проектор",
    "флешку",
    "диск",
    "архив",
    "кассу",
    "терминал",
    "календарь",
    "заявку",
    "сертификат",
    "подпись",
    "сайт",
    "браузер",
    "антивирус",
    "лицензию",
    "документ",
    "файл",
    "таблицу",
    "шаблон",
    "vpn",
    "wi-fi",
    "1С",
    "outlook",
    "teams",
];

const RU_PLACES: &[&str] = &[
    "в офисе",
    "дома",
    "на ноутбуке",
    "для нового сотрудника",
    "в переговорной",
    "на складе",
    "через vpn",
    "в бухгалтерии",
    "на втором этаже",
    "после обновления",
    "в браузере",
    "на телефоне",
    "удаленно",
    "для отчета",
    "в филиале",
];

const UK_ACTIONS: &[&str] = &[
    "як підключити",
    "як налаштувати",
    "не працює",
    "як замовити",
    "як відновити",
    "як встановити",
    "де знайти",
    "як змінити",
    "як отримати",
    "як надрукувати",
];

const UK_THINGS: &[&str] = &[
    "принтер",
    "картридж",
    "пароль",
    "пошту",
    "телефон",
    "ноутбук",
    "монітор",
    "сканер",
    "сервер",
    "папку",
    "доступ",
    "програму",
    "обліковий запис",
    "базу",
    "звіт",
    "договір",
    "мережу",
    "камеру",
    "клавіатуру",
    "флешку",
];

const EN_ACTIONS: &[&str] = &[
    "how to connect",
    "how to set up",
    "not working",
    "how to order",
    "how to restore",
    "how to install",
    "where to find",
    "how to change",
    "how to get",
    "how to print",
];

const EN_THINGS: &[&str] = &[
    "printer",
    "cartridge",
    "password",
    "email",
    "phone",
    "laptop",
    "monitor",
    "scanner",
    "server",
    "shared folder",
    "access",
    "software",
    "account",
    "database",
    "report",
    "contract",
    "network",
    "camera",
    "keyboard",
    "usb stick",
];

const ANSWER_WORDS: &[&str] = &[
    "откройте",
    "нажмите",
    "выберите",
    "перезагрузите",
    "проверьте",
    "кабель",
    "настройки",
    "меню",
    "кнопку",
    "оператор",
    "заявку",
    "администратор",
    "руководитель",
    "склад",
    "выдаст",
    "через",
    "минут",
    "портал",
    "инструкция",
    "раздел",
    "сервис",
    "обратитесь",
    "внутренний",
    "номер",
    "сайт",
    "пароль",
    "логин",
    "подключение",
    "устройство",
    "список",
];

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn generate(n: usize) -> Vec<FaqEntry> {
    let mut rng = StdRng::seed_from_u64(0x5EA6C4);
    (1..=n as u64)
        .map(|id| {
            let question = format!(
                "{} {} {}?",
                pick(&mut rng, RU_ACTIONS),
                pick(&mut rng, RU_THINGS),
                pick(&mut rng, RU_PLACES)
            );
            let alternatives = vec![
                format!(
                    "{} {}",
                    pick(&mut rng, UK_ACTIONS),
                    pick(&mut rng, UK_THINGS)
                ),
                format!(
                    "{} {}",
                    pick(&mut rng, EN_ACTIONS),
                    pick(&mut rng, EN_THINGS)
                ),
            ];
            let words = rng.random_range(20..40);
            let mut answer: Vec<&str> = (0..words).map(|_| pick(&mut rng, ANSWER_WORDS)).collect();
            let code = format!("kb{id}");
            answer.push(&code);
            FaqEntry {
                id,
                question,
                alternatives,
                answer: answer.join(" "),
                enabled: true,
                hits: 0,
                helpful: 0,
                not_helpful: 0,
                updated_at: 1_700_000_000,
            }
        })
        .collect()
}

/// Drops one letter from the longest word of `text`.
fn with_typo(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let longest = (0..words.len())
        .max_by_key(|&i| words[i].chars().count())
        .unwrap();
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == longest {
                let chars: Vec<char> = w.chars().collect();
                let cut = chars.len() / 2;
                chars
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != cut)
                    .map(|(_, c)| c)
                    .collect()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces a Russian/Ukrainian accusative/locative ending by another form.
fn inflect(word: &str) -> String {
    for (from, to) in [
        ("у", "а"),
        ("ю", "я"),
        ("ь", "и"),
        ("ть", "ние"),
        ("и", "ей"),
    ] {
        if let Some(stem) = word.strip_suffix(from) {
            return format!("{stem}{to}");
        }
    }
    word.to_string()
}

fn queries(entries: &[FaqEntry]) -> Vec<(&'static str, Vec<String>)> {
    let sample: Vec<&FaqEntry> = (0..50)
        .map(|i| &entries[(i * 197) % entries.len()])
        .collect();
    let exact = sample.iter().map(|e| e.question.clone()).collect();
    let paraphrase = sample
        .iter()
        .map(|e| {
            let mut words: Vec<String> = e
                .question
                .trim_end_matches('?')
                .split(' ')
                .filter(|w| !matches!(*w, "как" | "где" | "в" | "на" | "для" | "через"))
                .map(inflect)
                .collect();
            words.reverse();
            words.join(" ")
        })
        .collect();
    let ukrainian = sample
        .iter()
        .map(|e| {
            e.alternatives[0]
                .split(' ')
                .map(inflect)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let typo = sample.iter().map(|e| with_typo(&e.question)).collect();
    let vague = [
        "принтер",
        "пароль",
        "почта",
        "доступ",
        "монитор",
        "vpn",
        "сканер",
        "1с",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let unrelated = [
        "когда зарплата",
        "what's for lunch",
        "коли буде відпустка",
        "погода на завтра",
        "кто победил вчера в футбол",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    vec![
        ("exact", exact),
        ("paraphrase", paraphrase),
        ("ukrainian", ukrainian),
        ("typo", typo),
        ("vague", vague),
        ("unrelated", unrelated),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let n: usize = std::env::var("HELPDESK_BENCH_FAQ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let entries = generate(n);

    let started = Instant::now();
    let index = FaqIndex::in_memory(&entries).expect("build the index");
    println!(
        "faq: {n} entries, in-memory build {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("index/faq");
    let started = Instant::now();
    drop(FaqIndex::open_or_rebuild(&dir, &entries).expect("rebuild on disk"));
    let rebuild = started.elapsed();
    let started = Instant::now();
    let reopened = FaqIndex::open_or_rebuild(&dir, &entries).expect("reopen");
    let reopen = started.elapsed();
    println!(
        "faq: on disk: rebuild {:.2} s, reopen ({:?}, fingerprint + checksums) {:.2} s",
        rebuild.as_secs_f64(),
        reopened.opened(),
        reopen.as_secs_f64()
    );
    drop(reopened);

    let kinds = queries(&entries);
    println!(
        "faq: answer() latency per call, {n} entries (plain loop, 20 rounds over each kind's queries)"
    );
    let mut all = Vec::new();
    for (kind, list) in &kinds {
        let mut per_query = vec![Vec::new(); list.len()];
        let (mut confident, mut suggestions, mut none) = (0, 0, 0);
        for round in 0..20 {
            for (i, q) in list.iter().enumerate() {
                let started = Instant::now();
                let answer = black_box(index.answer(black_box(q)).expect("search"));
                per_query[i].push(started.elapsed());
                if round == 0 {
                    match answer {
                        Answer::Confident(_) => confident += 1,
                        Answer::Suggestions(_) => suggestions += 1,
                        Answer::NoMatch => none += 1,
                    }
                }
            }
        }
        let mut times: Vec<Duration> = per_query.iter().flatten().copied().collect();
        times.sort();
        println!(
            "  {kind:<10} median {:>7}  p95 {:>7}  max {:>7}  ({} queries: {confident} confident, {suggestions} suggestions, {none} no match)",
            micros(percentile(&times, 0.5)),
            micros(percentile(&times, 0.95)),
            micros(*times.last().unwrap()),
            list.len()
        );
        let (slowest, median) = per_query
            .iter_mut()
            .enumerate()
            .map(|(i, t)| {
                t.sort();
                (i, percentile(t, 0.5))
            })
            .max_by_key(|&(_, m)| m)
            .unwrap();
        println!(
            "  {:<10} e.g. {:?}; slowest {:?} (median {})",
            "",
            list.iter().take(2).collect::<Vec<_>>(),
            list[slowest],
            micros(median)
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "  {:<10} median {:>7}  p95 {:>7}",
        "all",
        micros(percentile(&all, 0.5)),
        micros(percentile(&all, 0.95))
    );

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut group = c.benchmark_group("faq_10k");
    for (kind, list) in &kinds {
        let mut next = 0;
        group.bench_function(*kind, |b| {
            b.iter(|| {
                let q = &list[next % list.len()];
                next += 1;
                black_box(index.answer(black_box(q)).expect("search"))
            })
        });
    }
    group.finish();
    c.final_summary();
}
