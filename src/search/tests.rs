//! FAQ search tests on a realistic office FAQ in Russian, Ukrainian and English.

use std::fs;
use std::path::Path;

use super::rank::{Ranked, decide};
use super::*;

fn entry(id: u64, question: &str, alternatives: &[&str], answer: &str) -> FaqEntry {
    FaqEntry {
        id,
        question: question.into(),
        alternatives: alternatives.iter().map(|a| a.to_string()).collect(),
        answer: answer.into(),
        enabled: true,
        hits: 0,
        helpful: 0,
        not_helpful: 0,
        updated_at: 1_700_000_000,
    }
}

const VPN: u64 = 1;
const PASSWORD: u64 = 2;
const PRINTER: u64 = 3;
const CARTRIDGE: u64 = 4;
const NEW_PRINTER: u64 = 5;
const WIFI: u64 = 6;
const MAIL_PHONE: u64 = 7;
const ONE_C: u64 = 8;
const MAIL_PASSWORD: u64 = 9;
const SHARE: u64 = 10;
const REMOTE: u64 = 11;
const NEW_EMPLOYEE: u64 = 12;
const SCAN: u64 = 13;
const MONITOR: u64 = 14;
const SOFTWARE: u64 = 15;
const BADGE: u64 = 16;

fn faq() -> Vec<FaqEntry> {
    let mut badge = entry(
        BADGE,
        "Как заказать пропуск в офис?",
        &["потерял пропуск", "access badge"],
        "Пропуска выдаёт охрана на первом этаже.",
    );
    badge.enabled = false;
    vec![
        entry(
            VPN,
            "Как подключиться к VPN из дома?",
            &[
                "не работает VPN",
                "як підключитися до VPN з дому",
                "how to connect to the VPN",
            ],
            "Установите клиент OpenVPN, импортируйте файл конфигурации из письма и войдите \
             под своей учётной записью.",
        ),
        entry(
            PASSWORD,
            "Как сбросить пароль от компьютера?",
            &[
                "забыл пароль для входа в Windows",
                "забув пароль від комп'ютера",
                "reset my password",
                "учётная запись заблокирована",
            ],
            "Позвоните на внутренний 100: оператор сбросит пароль и продиктует временный.",
        ),
        entry(
            PRINTER,
            "Принтер не печатает",
            &[
                "принтер не работает",
                "принтер не друкує",
                "printer is not printing",
                "документ застрял в очереди печати",
            ],
            "Проверьте бумагу и замятие, перезапустите очередь печати. Если горит индикатор \
             тонера, закажите картридж.",
        ),
        entry(
            CARTRIDGE,
            "Как заказать картридж для принтера?",
            &[
                "закончился тонер",
                "принтер печатает бледно",
                "замовити картридж",
                "order a toner cartridge",
            ],
            "Создайте заявку с моделью принтера и номером кабинета; склад выдаст картридж.",
        ),
        entry(
            NEW_PRINTER,
            "Как подключить сетевой принтер?",
            &[
                "добавить принтер на ноутбук",
                "як додати принтер",
                "add a network printer",
            ],
            "Пуск → Параметры → Устройства → Добавить; выберите принтер из списка.",
        ),
        entry(
            WIFI,
            "Какой пароль от Wi-Fi?",
            &[
                "как подключиться к гостевому вай-фаю",
                "не можу підключитися до wi-fi",
                "guest wifi password",
            ],
            "Сеть Office, пароль на стикере у ресепшена. Гостевая сеть Guest без пароля.",
        ),
        entry(
            MAIL_PHONE,
            "Как настроить почту на телефоне?",
            &[
                "рабочая почта на андроиде",
                "пошта на телефоні",
                "set up e-mail on iPhone",
            ],
            "Установите Outlook, войдите рабочим адресом; сервер подставится сам.",
        ),
        entry(
            ONE_C,
            "Как получить доступ к 1С?",
            &["нет доступа к базе 1С", "доступ до 1С", "1C access request"],
            "Руководитель подаёт заявку; доступ открывает администратор 1С.",
        ),
        entry(
            MAIL_PASSWORD,
            "Как сменить пароль от почты?",
            &[
                "поменять пароль почтового ящика",
                "змінити пароль від пошти",
                "change email password",
            ],
            "Откройте веб-почту → Настройки → Безопасность → Сменить пароль.",
        ),
        entry(
            SHARE,
            "Как открыть общую папку на сервере?",
            &[
                "нет доступа к сетевой папке",
                "спільна папка",
                "shared drive access",
            ],
            "В проводнике введите \\\\fileserver\\share; доступ выдаёт руководитель отдела.",
        ),
        entry(
            REMOTE,
            "Как дать доступ к компьютеру для удалённой помощи?",
            &[
                "установить AnyDesk",
                "віддалена допомога",
                "remote support session",
            ],
            "Запустите AnyDesk с рабочего стола и продиктуйте оператору номер.",
        ),
        entry(
            NEW_EMPLOYEE,
            "Как завести учётную запись новому сотруднику?",
            &[
                "новому сотруднику нужен логин",
                "обліковий запис для нового працівника",
                "account for a new employee",
            ],
            "Отдел кадров присылает заявку за три дня до выхода сотрудника.",
        ),
        entry(
            SCAN,
            "Как отсканировать документ в папку?",
            &[
                "не работает сканер",
                "сканування документів",
                "scan to folder",
            ],
            "На МФУ выберите «Сканировать в папку» и свою фамилию.",
        ),
        entry(
            MONITOR,
            "Не работает второй монитор",
            &[
                "монитор не показывает изображение",
                "монітор не працює",
                "external monitor not detected",
            ],
            "Проверьте кабель и нажмите Win+P → Расширить.",
        ),
        entry(
            SOFTWARE,
            "Как установить программу на рабочий компьютер?",
            &["нужна программа", "встановити програму", "install software"],
            "Программы ставит оператор по заявке; укажите название и ссылку.",
        ),
        badge,
    ]
}

fn index() -> FaqIndex {
    FaqIndex::in_memory(&faq()).unwrap()
}

fn ids(hits: &[Hit]) -> Vec<u64> {
    hits.iter().map(|h| h.id).collect()
}

fn confident(idx: &FaqIndex, query: &str) -> u64 {
    match idx.answer(query).unwrap() {
        Answer::Confident(hit) => hit.id,
        other => panic!("{query:?}: expected a confident answer, got {other:#?}"),
    }
}

fn top3(idx: &FaqIndex, query: &str) -> Vec<u64> {
    ids(&idx.search(query, 3).unwrap())
}

#[test]
fn every_exact_question_is_answered_confidently_with_its_entry() {
    let idx = index();
    for e in faq().iter().filter(|e| e.enabled) {
        assert_eq!(confident(&idx, &e.question), e.id, "{}", e.question);
    }
}

#[test]
fn every_alternative_phrasing_finds_its_entry_first() {
    let idx = index();
    for e in faq().iter().filter(|e| e.enabled) {
        for alt in &e.alternatives {
            assert_eq!(top3(&idx, alt).first(), Some(&e.id), "{alt}");
        }
    }
}

#[test]
fn paraphrase_with_other_word_forms_is_confident() {
    let idx = index();
    assert_eq!(confident(&idx, "не печатает принтер"), PRINTER);
    assert_eq!(confident(&idx, "принтер не печатал"), PRINTER);
    assert_eq!(confident(&idx, "подключение к впн из дома"), VPN);
    assert_eq!(confident(&idx, "подскажите, как подключиться к VPN"), VPN);
    assert_eq!(confident(&idx, "заказ картриджей"), CARTRIDGE);
    assert_eq!(
        confident(&idx, "сбросьте пароль компьютера пожалуйста"),
        PASSWORD
    );
    assert_eq!(confident(&idx, "настройка почты на телефон"), MAIL_PHONE);
    assert_eq!(confident(&idx, "how do I connect to vpn"), VPN);
    assert_eq!(confident(&idx, "1c доступ"), ONE_C);
}

#[test]
fn ukrainian_queries_find_the_entry_in_the_top_three() {
    let idx = index();
    for (query, id) in [
        ("Чому принтер не друкує документи?", PRINTER),
        ("як налаштувати пошту на телефоні", MAIL_PHONE),
        ("забула пароль від комп'ютера", PASSWORD),
        ("як змінити пароль до пошти", MAIL_PASSWORD),
        ("немає доступу до спільної папки", SHARE),
        ("другий монітор не працює", MONITOR),
    ] {
        assert!(
            top3(&idx, query).contains(&id),
            "{query}: {:?}",
            idx.search(query, 3).unwrap()
        );
    }
}

#[test]
fn typos_and_spelling_variants_find_the_entry_in_the_top_three() {
    let idx = index();
    for (query, id) in [
        ("пароль от вайфая", WIFI),
        ("wifi pasword", WIFI),
        ("wi fi пароль", WIFI),
        ("пирнтер не печатает", PRINTER),
        ("картриж закончился", CARTRIDGE),
        ("нет доступа к 1С бухгалтерия", ONE_C),
        ("scna to folder", SCAN),
    ] {
        assert!(
            top3(&idx, query).contains(&id),
            "{query}: {:?}",
            idx.search(query, 3).unwrap()
        );
    }
}

#[test]
fn unrelated_questions_match_nothing() {
    let idx = index();
    for query in [
        "когда зарплата",
        "what's for lunch?",
        "коли буде відпустка",
        "",
        "как? что?",
    ] {
        assert_eq!(idx.answer(query).unwrap(), Answer::NoMatch, "{query}");
    }
}

#[test]
fn a_vague_word_gives_suggestions_with_every_printer_entry() {
    let idx = index();
    let Answer::Suggestions(hits) = idx.answer("принтер").unwrap() else {
        panic!("expected suggestions: {:#?}", idx.answer("принтер"));
    };
    let found = ids(&hits);
    assert!(
        found.contains(&PRINTER) && found.contains(&NEW_PRINTER),
        "{found:?}"
    );
    assert!(hits.len() <= MAX_SUGGESTIONS);
    // "пароль" appears in four entries: nobody can tell which one is meant.
    assert!(matches!(idx.answer("пароль").unwrap(), Answer::Suggestions(h) if h.len() == 3));
}

#[test]
fn a_partial_match_gives_suggestions() {
    let idx = index();
    // Only "сервер" is known: a third of the query.
    let answer = idx.answer("перезагрузить сервер ночью").unwrap();
    assert!(
        matches!(&answer, Answer::Suggestions(h) if h[0].id == SHARE),
        "{answer:#?}"
    );
}

#[test]
fn disabled_entries_are_not_returned() {
    let idx = index();
    for query in [
        "Как заказать пропуск в офис?",
        "потерял пропуск",
        "access badge",
    ] {
        assert!(
            !ids(&idx.search(query, 10).unwrap()).contains(&BADGE),
            "{query}"
        );
    }
    assert_eq!(idx.len(), 15);
}

#[test]
fn upsert_and_remove_take_effect_at_once() {
    let idx = index();
    let mut badge = faq().pop().unwrap();
    badge.enabled = true;
    idx.upsert(&badge).unwrap();
    assert_eq!(confident(&idx, "потерял пропуск"), BADGE);
    badge.question = "Где получить пропуск?".into();
    badge.alternatives.clear();
    idx.upsert(&badge).unwrap();
    assert_eq!(confident(&idx, "где получить пропуск"), BADGE);
    assert!(
        idx.search("потерял", 5).unwrap().is_empty(),
        "old phrasing gone"
    );
    badge.enabled = false;
    idx.upsert(&badge).unwrap();
    assert!(!ids(&idx.search("пропуск", 5).unwrap()).contains(&BADGE));
    idx.remove(WIFI).unwrap();
    assert!(!ids(&idx.search("пароль от wi-fi", 10).unwrap()).contains(&WIFI));
    idx.remove(9_999).unwrap();
    assert_eq!(idx.len(), 14);
}

#[test]
fn search_respects_the_limit_and_orders_by_coverage() {
    let idx = index();
    let hits = idx.search("пароль", 2).unwrap();
    assert_eq!(hits.len(), 2);
    assert!(idx.search("пароль", 0).unwrap().is_empty());
    let hits = idx.search("пароль от почты", 10).unwrap();
    assert_eq!(hits[0].id, MAIL_PASSWORD);
    assert!(hits.windows(2).all(|w| w[0].coverage >= w[1].coverage));
    assert!(hits.iter().all(|h| h.coverage > 0.0 && h.coverage <= 1.0));
}

fn hit(id: u64, score: f32, coverage: f32) -> Hit {
    Hit {
        id,
        score,
        coverage,
        question: format!("q{id}"),
    }
}

fn ranked(list: &[(u64, f32, f32, f32)]) -> Vec<Ranked> {
    let mut v: Vec<Ranked> = list
        .iter()
        .map(|&(id, score, coverage, precision)| Ranked {
            hit: hit(id, score, coverage),
            precision,
        })
        .collect();
    v.sort_by(rank::order);
    v
}

#[test]
fn the_decision_rule() {
    let id_of = |a: Answer| match a {
        Answer::Confident(h) => Some(h.id),
        _ => None,
    };
    // Alone and covering most of the query: confident.
    assert_eq!(id_of(decide(&ranked(&[(1, 3.0, 1.0, 0.5)]))), Some(1));
    assert_eq!(id_of(decide(&ranked(&[(1, 3.0, 0.67, 0.5)]))), Some(1));
    // Covers strictly more than the runner-up, whatever the scores.
    assert_eq!(
        id_of(decide(&ranked(&[(1, 3.0, 1.0, 0.5), (2, 9.0, 0.5, 1.0)]))),
        Some(1)
    );
    // Equal coverage: only it has a fully said phrasing.
    assert_eq!(
        id_of(decide(&ranked(&[(1, 3.0, 1.0, 1.0), (2, 3.1, 1.0, 0.67)]))),
        Some(1)
    );
    // Equal coverage and precision: needs twice the score.
    assert_eq!(
        id_of(decide(&ranked(&[(1, 6.0, 1.0, 0.5), (2, 3.0, 1.0, 0.5)]))),
        Some(1)
    );
    let tie = decide(&ranked(&[
        (1, 5.0, 1.0, 0.5),
        (2, 3.0, 1.0, 0.5),
        (3, 1.0, 1.0, 0.3),
    ]));
    assert_eq!(
        ids(&match tie {
            Answer::Suggestions(h) => h,
            other => panic!("{other:?}"),
        }),
        [1, 2, 3]
    );
    // Half the query: suggestions, never confident.
    assert!(
        matches!(decide(&ranked(&[(1, 9.0, 0.5, 1.0)])), Answer::Suggestions(h) if h.len() == 1)
    );
    // A runner-up under the suggestion threshold does not block confidence.
    assert_eq!(
        id_of(decide(&ranked(&[(1, 1.0, 1.0, 0.5), (2, 1.0, 0.25, 0.5)]))),
        Some(1)
    );
    // Under a third: nothing; at most three suggestions.
    assert_eq!(decide(&ranked(&[(1, 9.0, 0.25, 1.0)])), Answer::NoMatch);
    assert_eq!(decide(&[]), Answer::NoMatch);
    let many = decide(&ranked(&[
        (1, 5.0, 0.5, 0.5),
        (2, 4.0, 0.5, 0.5),
        (3, 3.0, 0.5, 0.5),
        (4, 2.0, 0.5, 0.5),
    ]));
    assert!(matches!(many, Answer::Suggestions(h) if ids(&h) == [1, 2, 3]));
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn on_disk_index_is_reused_until_the_entries_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index/faq");
    let mut entries = faq();
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Rebuilt(RebuildReason::Missing));
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
    drop(idx);

    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Reused);
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
    drop(idx);

    // Edited in redb while the index was not looking: stale, rebuilt with the new text.
    entries[0].question = "Как включить VPN на ноутбуке?".into();
    entries[0].updated_at += 60;
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Rebuilt(RebuildReason::Stale));
    assert_eq!(confident(&idx, "включить впн на ноутбуке"), VPN);

    // Changes through the index keep the fingerprint current: reused on the next start.
    entries[1].answer = "Новый ответ.".into();
    entries[1].updated_at += 60;
    idx.upsert(&entries[1]).unwrap();
    idx.remove(entries[2].id).unwrap();
    let removed = entries.remove(2);
    drop(idx);
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Reused);
    assert!(!ids(&idx.search(&removed.question, 10).unwrap()).contains(&removed.id));
    drop(idx);

    // Enabling an entry is a change too.
    entries.last_mut().unwrap().enabled = true;
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Rebuilt(RebuildReason::Stale));
    assert_eq!(confident(&idx, "потерял пропуск"), BADGE);
}

#[test]
fn a_corrupt_index_is_rebuilt_instead_of_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("faq");
    let entries = faq();
    drop(FaqIndex::open_or_rebuild(&dir, &entries).unwrap());

    // Garbage in every segment file, meta.json and fingerprint intact: checksums fail.
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name != "meta.json" && name != FINGERPRINT_FILE && !name.starts_with('.') {
            fs::write(&path, b"garbage garbage garbage").unwrap();
        }
    }
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert!(
        matches!(idx.opened(), Opened::Rebuilt(RebuildReason::Corrupt(_))),
        "{:?}",
        idx.opened()
    );
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
    drop(idx);

    // Garbage everywhere, plus stray files.
    for path in files(&dir) {
        if path.file_name().unwrap() != FINGERPRINT_FILE {
            fs::write(&path, [0xffu8; 64]).unwrap();
        }
    }
    fs::write(dir.join("junk.bin"), b"\x00\x01\x02").unwrap();
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert!(
        matches!(idx.opened(), Opened::Rebuilt(RebuildReason::Corrupt(_))),
        "{:?}",
        idx.opened()
    );
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
    drop(idx);

    // Segment files deleted: the document count no longer fits.
    let meta = fs::read_to_string(dir.join("meta.json")).unwrap();
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".idx") || name.ends_with(".store") {
            fs::remove_file(&path).unwrap();
        }
    }
    assert_eq!(fs::read_to_string(dir.join("meta.json")).unwrap(), meta);
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert!(
        matches!(idx.opened(), Opened::Rebuilt(RebuildReason::Corrupt(_))),
        "{:?}",
        idx.opened()
    );
    assert_eq!(idx.len(), 15);
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
    drop(idx);

    // A file where the folder should be is not ours to delete silently... but a garbage folder
    // without meta.json is simply missing.
    fs::remove_dir_all(&dir).unwrap();
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("random"), b"x").unwrap();
    let idx = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    assert_eq!(idx.opened(), &Opened::Rebuilt(RebuildReason::Missing));
    assert_eq!(confident(&idx, "принтер не печатает"), PRINTER);
}

#[test]
fn an_index_in_use_is_neither_opened_twice_nor_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("faq");
    let mut entries = faq();
    let first = FaqIndex::open_or_rebuild(&dir, &entries).unwrap();
    let err = FaqIndex::open_or_rebuild(&dir, &entries)
        .err()
        .expect("locked");
    assert!(matches!(err, SearchError::Locked(_)), "{err}");
    // Stale for the second opener: it still must not delete the folder under the first.
    entries[0].updated_at += 1;
    let err = FaqIndex::open_or_rebuild(&dir, &entries)
        .err()
        .expect("locked");
    assert!(matches!(err, SearchError::Locked(_)), "{err}");
    assert_eq!(confident(&first, "принтер не печатает"), PRINTER);
    first.upsert(&entries[0]).unwrap();
}

#[test]
fn the_index_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FaqIndex>();
    let idx = std::sync::Arc::new(index());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let idx = idx.clone();
            std::thread::spawn(move || {
                if i == 0 {
                    idx.remove(SCAN).unwrap();
                }
                confident(&idx, "принтер не печатает")
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), PRINTER);
    }
}
