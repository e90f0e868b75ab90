//! Fuzz targets for hostile input, run by `cargo test --test fuzz` on the stable toolchain.
//!
//! One test per surface that reads what someone else wrote: the config file (with environment
//! overrides), snapshot archives (verify and restore), 1C CommerceML, CSV and XLSX stock files,
//! the FAQ CSV import, Mini App `initData`, inline-button callback data, and the panel's forms
//! and multipart uploads (over HTTP against the real server). Each target starts from valid
//! samples and feeds the real entry point with mutated copies: bytes flipped, replaced, inserted
//! and deleted, fields replaced by awkward values (huge and negative numbers, odd Unicode,
//! markup), inputs truncated and spliced with each other; the structure-aware targets mutate
//! inside the format (an archive's rows with their checksums recomputed, `initData` fields
//! re-signed with the right token, a workbook's sheet XML re-zipped). Inputs the entry point
//! accepted join the pool mutated further, which keeps the search near valid input.
//!
//! Each case must end without a panic and with either a result that keeps the format's
//! promises or a clear error (non-empty, one line, naming where; an archive restore that fails
//! leaves the data folder as it was). A failing case is written to
//! `$CARGO_TARGET_TMPDIR/fuzz-failures/` and the test fails naming the file and the seed.
//!
//! Knobs (environment): `HELPDESK_FUZZ_SECS` — seconds per target (default 3, so the whole
//! file stays well under a minute in CI); `HELPDESK_FUZZ_SEED` — the random seed (printed
//! by every run, so a failure can be replayed); `HELPDESK_FUZZ_CASES` — a fixed number of cases
//! instead of a duration (with the same seed, the same cases). See `docs/fuzzing.md`.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{Cursor, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------------------------------------
// The driver.

thread_local! {
    /// Set while a case runs: its panics are recorded here instead of printed.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the panics of running cases and prints others.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let recorded = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        let msg = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        let at = info
                            .location()
                            .map(|l| format!("{}:{}", l.file(), l.line()))
                            .unwrap_or_default();
                        *slot = Some(format!("panicked at {at}: {msg}"));
                        true
                    }
                    None => false,
                }
            });
            if !recorded {
                default(info);
            }
        }));
    });
}

/// Bytes shown readably (escaped) in failure reports.
#[derive(Clone, PartialEq, Eq)]
struct B(Vec<u8>);

impl fmt::Debug for B {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// How long (or how many cases) each target runs, and from which seed.
struct Budget {
    limit: Duration,
    /// A case taking longer than this fails.
    slow: Duration,
    cases: Option<u64>,
    seed: u64,
}

fn budget() -> Budget {
    let secs: f64 = std::env::var("HELPDESK_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(3.0);
    let cases = std::env::var("HELPDESK_FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let seed = std::env::var("HELPDESK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let slow: f64 = std::env::var("HELPDESK_FUZZ_SLOW_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(10.0);
    Budget {
        limit: Duration::from_secs_f64(secs.max(0.0)),
        slow: Duration::from_secs_f64(slow.max(0.001)),
        cases,
        seed,
    }
}

/// Runs `check(generate(rng))` until the budget is spent. `check` returns `Ok(true)` when the
/// input was accepted (it then joins the pool `generate` draws from), `Ok(false)` for a clean
/// refusal, `Err` for a broken promise; a panic is a failure too. Returns the cases run.
fn fuzz<I: fmt::Debug + Clone>(
    target: &str,
    seeds: Vec<I>,
    mut generate: impl FnMut(&mut StdRng, &[I]) -> I,
    mut check: impl FnMut(&I) -> Result<bool, String>,
) -> u64 {
    install_hook();
    let b = budget();
    let mut rng = StdRng::seed_from_u64(b.seed ^ fxhash(target));
    let mut pool = seeds;
    assert!(!pool.is_empty(), "{target}: no seeds");
    let n_seeds = pool.len();
    let started = Instant::now();
    let mut cases = 0u64;
    let mut accepted = 0u64;
    let mut slowest = Duration::ZERO;
    loop {
        match b.cases {
            Some(n) if cases >= n => break,
            None if started.elapsed() >= b.limit && cases >= n_seeds as u64 => break,
            _ => {}
        }
        // The seeds themselves first, unmutated.
        let input = if (cases as usize) < n_seeds {
            pool[cases as usize].clone()
        } else {
            generate(&mut rng, &pool)
        };
        cases += 1;
        CAUGHT.with(|c| *c.borrow_mut() = Some(None));
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let took = t0.elapsed();
        slowest = slowest.max(took);
        let panicked = CAUGHT.with(|c| c.borrow_mut().take().flatten());
        let failure = match outcome {
            // A small input that takes this long is a way to stall the server.
            _ if took > b.slow => Some(format!(
                "one case took {:.1} s (limit {:.0} s, HELPDESK_FUZZ_SLOW_SECS)",
                took.as_secs_f64(),
                b.slow.as_secs_f64()
            )),
            Ok(Ok(true)) => {
                accepted += 1;
                if pool.len() < 512 {
                    pool.push(input.clone());
                } else {
                    let i = rng.random_range(n_seeds..pool.len());
                    pool[i] = input.clone();
                }
                None
            }
            Ok(Ok(false)) => None,
            Ok(Err(broken)) => Some(broken),
            Err(_) => Some(panicked.unwrap_or_else(|| "panicked".into())),
        };
        if let Some(why) = failure {
            let file = save_failure(target, cases, &why, &input);
            panic!(
                "fuzz target {target}: case {cases} failed: {why}\ninput saved to {}\nreplay: HELPDESK_FUZZ_SEED={} HELPDESK_FUZZ_CASES={cases} cargo test --test fuzz {target}",
                file.display(),
                b.seed
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz {target}: {cases} cases in {secs:.1} s ({:.0}/s), {accepted} accepted, slowest case {:.3} s, seed {}, no failure",
        cases as f64 / secs.max(1e-9),
        slowest.as_secs_f64(),
        b.seed
    );
    cases
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn save_failure(target: &str, case: u64, why: &str, input: &impl fmt::Debug) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{target}-case{case}.txt"));
    let _ = std::fs::write(&file, format!("{why}\n\n{input:#?}\n"));
    file
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// Values that break naive parsers: number edges, separators, markup, odd Unicode.
const COMMON_DICT: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "00",
    "+5",
    "007",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e308",
    "1e-308",
    "-1e309",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "12,000",
    "12,5",
    "1 000",
    "1\u{a0}000",
    "1\u{202f}000",
    "0.0000001",
    ".5",
    "5.",
    "",
    " ",
    "\t",
    "\r\n",
    "\n",
    "\r",
    "\0",
    "\"",
    "'",
    "\\",
    "\\u0000",
    "\\ud800",
    ";",
    ",",
    ":",
    "=",
    "&",
    "%",
    "%00",
    "%ZZ",
    "%E2%82",
    "+",
    "#",
    "|",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&bogus;",
    "<![CDATA[x]]>",
    "<!--",
    "-->",
    "\u{feff}",
    "\u{200b}",
    "\u{202e}",
    "\u{fffd}",
    "\u{10ffff}",
    "е\u{301}",
    "Ё",
    "ї",
    "🖨️",
    "\u{0}\u{1}\u{7f}",
    "\x1b[31m",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];

/// Bytes at which "a field" ends, for field-wise replacement.
const DELIMS: &[u8] = b"<>;,\t\n\r\"=&:{}[]| ";

struct Mutator<'a> {
    rng: &'a mut StdRng,
    dict: &'a [&'a str],
}

impl Mutator<'_> {
    fn token(&mut self) -> Vec<u8> {
        let use_common = self.dict.is_empty() || self.rng.random_bool(0.5);
        let d = if use_common { COMMON_DICT } else { self.dict };
        d[self.rng.random_range(0..d.len())].as_bytes().to_vec()
    }

    fn pos(&mut self, len: usize) -> usize {
        self.rng.random_range(0..=len)
    }

    /// A range inside `len`, short more often than long.
    fn range(&mut self, len: usize) -> (usize, usize) {
        let a = self.pos(len);
        let max = (len - a).min(if self.rng.random_bool(0.8) { 16 } else { 4096 });
        let n = self.rng.random_range(0..=max);
        (a, a + n)
    }

    /// Applies 1–8 stacked mutations; `other` is a second sample to splice from.
    fn mutate(&mut self, data: &mut Vec<u8>, other: &[u8]) {
        let n = 1 + (self.rng.random_range(0..8u32)).min(self.rng.random_range(0..8u32));
        for _ in 0..n {
            self.mutate_once(data, other);
        }
    }

    fn mutate_once(&mut self, data: &mut Vec<u8>, other: &[u8]) {
        let len = data.len();
        match self.rng.random_range(0..12u32) {
            0 if len > 0 => {
                let i = self.rng.random_range(0..len);
                data[i] ^= 1 << self.rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = self.rng.random_range(0..len);
                const B: &[u8] = b"\0\x01\x7f\x80\xff\n\r\t \"'<>&;,=%:#\\/0179";
                data[i] = if self.rng.random_bool(0.5) {
                    B[self.rng.random_range(0..B.len())]
                } else {
                    self.rng.random()
                };
            }
            2 | 3 => {
                let t = self.token();
                let at = self.pos(len);
                data.splice(at..at, t);
            }
            4 | 5 => {
                // Replace one field (the bytes between two delimiters) with a token.
                if len == 0 {
                    return;
                }
                let i = self.rng.random_range(0..len);
                let start = data[..i]
                    .iter()
                    .rposition(|b| DELIMS.contains(b))
                    .map_or(0, |p| p + 1);
                let end = data[i..]
                    .iter()
                    .position(|b| DELIMS.contains(b))
                    .map_or(len, |p| i + p);
                let t = self.token();
                data.splice(start..end.max(start), t);
            }
            6 => {
                let (a, b) = self.range(len);
                data.drain(a..b);
            }
            7 => {
                let (a, b) = self.range(len);
                let copy = data[a..b].to_vec();
                let at = self.pos(len);
                let times = if self.rng.random_bool(0.9) {
                    1
                } else {
                    self.rng.random_range(2..64)
                };
                for _ in 0..times {
                    data.splice(at..at, copy.iter().copied());
                }
            }
            8 => {
                let at = self.pos(len);
                data.truncate(at);
            }
            9 if !other.is_empty() => {
                // Splice: our head, the other's tail (or a piece of it inserted).
                let at = self.pos(len);
                let from = self.pos(other.len());
                if self.rng.random_bool(0.5) {
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                } else {
                    let to = (from + self.rng.random_range(0..256)).min(other.len());
                    data.splice(at..at, other[from..to].iter().copied());
                }
            }
            10 => {
                let at = self.pos(len);
                let n = self.rng.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                data.splice(at..at, bytes);
            }
            _ => {
                // Swap two bytes far apart (reorders delimiters and quotes).
                if len > 1 {
                    let i = self.rng.random_range(0..len);
                    let j = self.rng.random_range(0..len);
                    data.swap(i, j);
                }
            }
        }
    }
}

/// A mutated copy of one of `pool`, spliced with another.
fn mutated_bytes(rng: &mut StdRng, pool: &[B], dict: &[&str]) -> B {
    let mut data = pool[rng.random_range(0..pool.len())].0.clone();
    let other = pool[rng.random_range(0..pool.len())].0.clone();
    Mutator { rng, dict }.mutate(&mut data, &other);
    B(data)
}

/// A clear error: non-empty, one line.
fn clear(what: &str, msg: &str) -> Result<(), String> {
    if msg.trim().is_empty() {
        return Err(format!("{what}: an empty error message"));
    }
    if msg.contains('\n') {
        return Err(format!(
            "{what}: an error message of several lines: {msg:?}"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Callback data.

#[test]
fn callback_data() {
    use helpdesk::domain::callback::{Callback, MAX_BYTES};
    let seeds: Vec<B> = [
        "tk:1",
        "am:42",
        "at:7:olga.k",
        "rs:18446744073709551615",
        "rj:5",
        "ro:6",
        "cf:7",
        "rr:8",
        "rt:9:5",
        "fy:10",
        "fn:11",
        "fp:12",
        "d:cat:printer",
        "d:back",
        "mp:0",
        "mp:9999",
        "mt:13",
    ]
    .iter()
    .map(|s| B(s.as_bytes().to_vec()))
    .collect();
    let dict = &[
        "tk", "am", "at", "rt", "mp", "mt", "d", "olga.k", "1", "5", "6", "10000",
    ];
    fuzz(
        "callback_data",
        seeds,
        |rng, pool| mutated_bytes(rng, pool, dict),
        |input| {
            // Telegram hands the bot a string; invalid UTF-8 cannot reach decode.
            let Ok(data) = std::str::from_utf8(&input.0) else {
                return Ok(false);
            };
            match Callback::decode(data) {
                None => Ok(false),
                Some(c) => {
                    if data.len() > MAX_BYTES {
                        return Err(format!("accepted {} bytes", data.len()));
                    }
                    // One text form per action: what is accepted is what the bot writes.
                    match c.encode() {
                        Some(e) if e == data => Ok(true),
                        other => Err(format!(
                            "decoded {data:?} as {c:?}, which encodes as {other:?}"
                        )),
                    }
                }
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Mini App initData.

const TG_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const TG_NOW: i64 = 1_750_000_000;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A query string of `fields` in the given order with Telegram's hash for `token` last.
fn signed_init_data(fields: &[(String, String)], token: &str) -> String {
    use helpdesk::web::miniapp::init_data::sign;
    let map: BTreeMap<String, String> = fields.iter().cloned().collect();
    let mut q: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    q.push(format!("hash={}", sign(&map, token)));
    q.join("&")
}

fn valid_fields() -> Vec<(String, String)> {
    vec![
        ("query_id".into(), "AAH1".into()),
        (
            "user".into(),
            r#"{"id":1001,"first_name":"Иван","last_name":"Петров","username":"ivan","language_code":"ru"}"#
                .into(),
        ),
        ("auth_date".into(), (TG_NOW - 100).to_string()),
    ]
}

#[test]
fn init_data_raw() {
    use helpdesk::web::miniapp::init_data::validate;
    let seeds = vec![
        B(signed_init_data(&valid_fields(), TG_TOKEN).into_bytes()),
        B(b"query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2".to_vec()),
    ];
    let dict = &[
        "hash=",
        "auth_date=",
        "user=",
        "&",
        "%7B",
        "%22",
        "%3A",
        "signature=",
    ];
    fuzz(
        "init_data_raw",
        seeds,
        |rng, pool| mutated_bytes(rng, pool, dict),
        |input| {
            let Ok(s) = std::str::from_utf8(&input.0) else {
                return Ok(false);
            };
            match validate(s, TG_TOKEN, TG_NOW, 86_400) {
                Ok(d) => {
                    // A byte change that still validates must not change what was signed.
                    let again = signed_init_data(
                        &d.fields.clone().into_iter().collect::<Vec<_>>(),
                        TG_TOKEN,
                    );
                    validate(&again, TG_TOKEN, TG_NOW, 86_400)
                        .map_err(|e| format!("accepted, but re-signed it is refused: {e}"))?;
                    Ok(true)
                }
                Err(e) => clear("validate", &e.to_string()).map(|_| false),
            }
        },
    );
}

/// A structured `initData` case: fields signed by a token, checked at `now` with `max_age`.
#[derive(Debug, Clone)]
struct InitCase {
    fields: Vec<(String, String)>,
    forged: bool,
    now: i64,
    max_age: u64,
}

#[test]
fn init_data_signed() {
    use helpdesk::web::miniapp::init_data::{InitDataError, validate};
    let seeds = vec![InitCase {
        fields: valid_fields(),
        forged: false,
        now: TG_NOW,
        max_age: 86_400,
    }];
    let dict = &[
        r#"{"id":1}"#,
        r#"{"id":-1,"first_name":null}"#,
        r#"{"id":1e3}"#,
        r#""id""#,
        "\"first_name\"",
        "\"language_code\"",
    ];
    const NOWS: &[i64] = &[
        TG_NOW,
        0,
        -1,
        i64::MAX,
        i64::MIN,
        i64::MAX - 60,
        i64::MIN + 1,
    ];
    const AGES: &[u64] = &[60, 86_400, 604_800, 0, u64::MAX, i64::MAX as u64];
    fuzz(
        "init_data_signed",
        seeds,
        |rng, pool| {
            let mut c = pool[rng.random_range(0..pool.len())].clone();
            let ops = rng.random_range(1..4);
            for _ in 0..ops {
                match rng.random_range(0..6u32) {
                    0..=2 if !c.fields.is_empty() => {
                        let i = rng.random_range(0..c.fields.len());
                        let mut v = c.fields[i].1.clone().into_bytes();
                        let other = c.fields[rng.random_range(0..c.fields.len())].1.clone();
                        Mutator {
                            rng: &mut *rng,
                            dict,
                        }
                        .mutate(&mut v, other.as_bytes());
                        c.fields[i].1 = String::from_utf8_lossy(&v).into_owned();
                    }
                    3 => {
                        c.now = if rng.random_bool(0.5) {
                            NOWS[rng.random_range(0..NOWS.len())]
                        } else {
                            rng.random()
                        };
                    }
                    4 => c.max_age = AGES[rng.random_range(0..AGES.len())],
                    _ => {
                        if rng.random_bool(0.8) || c.fields.is_empty() {
                            let keys = ["signature", "chat_type", "start_param", "auth_date"];
                            let k = keys[rng.random_range(0..keys.len())];
                            c.fields.retain(|(f, _)| f != k);
                            c.fields.push((k.into(), rng.random::<i64>().to_string()));
                        } else {
                            let i = rng.random_range(0..c.fields.len());
                            c.fields.remove(i);
                        }
                    }
                }
            }
            c.forged = rng.random_bool(0.05);
            c
        },
        |c| {
            let token = if c.forged { "42:forged" } else { TG_TOKEN };
            let q = signed_init_data(&c.fields, token);
            let r = validate(&q, TG_TOKEN, c.now, c.max_age);
            if c.forged {
                return match r {
                    Err(InitDataError::BadSignature) | Err(InitDataError::Malformed(_)) => {
                        Ok(false)
                    }
                    other => Err(format!("a forged signature gave {other:?}")),
                };
            }
            match r {
                Ok(d) => {
                    let age = i128::from(c.now) - i128::from(d.auth_date);
                    if age < -60 || age > i128::from(c.max_age) {
                        return Err(format!(
                            "accepted auth_date {} at now {} with max_age {}",
                            d.auth_date, c.now, c.max_age
                        ));
                    }
                    Ok(true)
                }
                Err(InitDataError::BadSignature) if !q.contains("hash=") => Ok(false),
                Err(e) => clear("validate", &e.to_string()).map(|_| false),
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Config.

const SECRET_MARK: &str = "SeCrEt0123456789";

/// A config case: file text and environment.
#[derive(Debug, Clone)]
struct ConfigCase {
    text: B,
    env: Vec<(String, String)>,
}

#[test]
fn config_text_and_env() {
    use helpdesk::config::Config;
    let shipped = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml"))
        .expect("config.toml at the repo root");
    let with_secrets = format!(
        "[telegram]\ntoken = \"1:{SECRET_MARK}\"\nwebhook_secret = \"{SECRET_MARK}\"\nmode = \"webhook\"\nstaff_chat_id = -100500\nsuperadmins = [1, 2]\n[web]\npublic_url = \"https://help.example.com\"\nminiapp_max_age = 3600\n[smtp]\nenabled = true\npassword = \"{SECRET_MARK}\"\nusername = \"helpdesk\"\n"
    );
    let seeds = vec![
        ConfigCase {
            text: B(shipped),
            env: vec![],
        },
        ConfigCase {
            text: B(with_secrets.into_bytes()),
            env: vec![],
        },
        ConfigCase {
            text: B(Vec::new()),
            env: vec![("HELPDESK_WEB_LISTEN".into(), "127.0.0.1:0".into())],
        },
    ];
    let dict = &[
        "[web]",
        "[telegram]",
        "[storage]",
        "[smtp]",
        "[sla]",
        "[[web]]",
        "listen",
        "data_dir",
        "miniapp_max_age",
        "keep_days",
        "= \"\"",
        "= 1",
        "= []",
        "= {}",
        "= 1979-05-27T07:32:00Z",
        "\"\"\"",
        "'''",
        "0.0.0.0:8080",
        "[::1]:65536",
        "https://",
        "Europe/Kyiv",
    ];
    const VARS: &[&str] = &[
        "HELPDESK_WEB_LISTEN",
        "HELPDESK_WEB_MINIAPP_MAX_AGE",
        "HELPDESK_TELEGRAM_TOKEN",
        "HELPDESK_TELEGRAM_SUPERADMINS",
        "HELPDESK_TELEGRAM_STAFF_CHAT_ID",
        "HELPDESK_TELEGRAM_WEBHOOK_SECRET",
        "HELPDESK_SMTP_PORT",
        "HELPDESK_SMTP_ENABLED",
        "HELPDESK_SMTP_PASSWORD",
        "HELPDESK_STORAGE_DATA_DIR",
        "HELPDESK_LOG_KEEP_DAYS",
    ];
    fuzz(
        "config_text_and_env",
        seeds,
        |rng, pool| {
            let mut c = pool[rng.random_range(0..pool.len())].clone();
            let other = pool[rng.random_range(0..pool.len())].text.0.clone();
            if rng.random_bool(0.8) {
                Mutator {
                    rng: &mut *rng,
                    dict,
                }
                .mutate(&mut c.text.0, &other);
            }
            if rng.random_bool(0.3) {
                let var = VARS[rng.random_range(0..VARS.len())];
                let secret =
                    var.ends_with("TOKEN") || var.ends_with("SECRET") || var.ends_with("PASSWORD");
                let mut v = if secret {
                    SECRET_MARK.as_bytes().to_vec()
                } else {
                    b"1".to_vec()
                };
                if !secret || rng.random_bool(0.5) {
                    Mutator {
                        rng: &mut *rng,
                        dict,
                    }
                    .mutate(&mut v, b"");
                }
                c.env.retain(|(k, _)| k != var);
                c.env
                    .push((var.into(), String::from_utf8_lossy(&v).into_owned()));
            }
            c
        },
        |c| {
            // The file is read as UTF-8 text (invalid UTF-8 is refused before parsing).
            let Ok(text) = std::str::from_utf8(&c.text.0) else {
                return Ok(false);
            };
            match Config::from_parts(Some(Path::new("fuzz.toml")), text, &c.env) {
                Ok(cfg) => {
                    let shown = format!("{cfg:?}");
                    if shown.contains(SECRET_MARK) {
                        return Err("a secret shows in the config's Debug".into());
                    }
                    Ok(true)
                }
                Err(e) => {
                    let msg = e.to_string();
                    clear("config", &msg)?;
                    if msg.contains(SECRET_MARK) && marks_are_secret_values(text) {
                        return Err(format!("the error shows a secret: {msg}"));
                    }
                    if !msg.contains("fuzz.toml") && !msg.contains("environment variable") {
                        return Err(format!(
                            "the error names neither the file's line nor the variable: {msg}"
                        ));
                    }
                    Ok(false)
                }
            }
        },
    );
}

/// Whether every secret mark in `text` is still a secret's value: inside a quoted string
/// given to `token`, `webhook_secret` or `password` (the '=' may be missing). A mutation that
/// moved the mark elsewhere (into a section name, say) made it an ordinary word.
fn marks_are_secret_values(text: &str) -> bool {
    text.lines().all(|line| {
        line.match_indices(SECRET_MARK).all(|(at, _)| {
            let prefix = &line[..at];
            let Some(q) = prefix.rfind('"') else {
                return false;
            };
            let before = prefix[..q].trim_end();
            let before = before.strip_suffix('=').unwrap_or(before).trim_end();
            ["token", "webhook_secret", "password"]
                .iter()
                .any(|k| before.ends_with(k))
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Stock files: CommerceML, CSV, XLSX.

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/1c")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The promises of a stock-file parse: in-range quantities, valid file indexes and lines; an
/// error names one of the files and says what is wrong.
fn check_import(files: &[(&str, &[u8])]) -> Result<bool, String> {
    use helpdesk::import::{MAX_QUANTITY, Source, parse};
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source::Bytes { name, bytes })
        .collect();
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let mut last = 0u64;
    let mut progress_err = None;
    let mut progress = |done: u64, all: u64| {
        if all != total || done > all || done < last {
            progress_err.get_or_insert(format!("progress {done}/{all} after {last} of {total}"));
        }
        last = done;
    };
    let r = parse(&sources, &mut progress);
    if let Some(e) = progress_err {
        return Err(e);
    }
    match r {
        Ok(p) => {
            for b in &p.balances {
                if !(0..=MAX_QUANTITY).contains(&b.quantity) {
                    return Err(format!("quantity out of range: {b:?}"));
                }
                if usize::from(b.file) >= files.len() {
                    return Err(format!("file index out of range: {b:?}"));
                }
                if b.code.trim().is_empty() {
                    return Err(format!("a balance without a code: {b:?}"));
                }
            }
            Ok(true)
        }
        Err(e) => {
            clear("import", &e.to_string())?;
            if !files.iter().any(|(n, _)| *n == e.file) {
                return Err(format!("the error names no file given: {e}"));
            }
            Ok(false)
        }
    }
}

#[derive(Debug, Clone)]
struct CmlCase {
    offers: B,
    import: Option<B>,
}

const XML_DICT: &[&str] = &[
    "<Количество>",
    "</Количество>",
    "<Количество>5</Количество>",
    "<Предложение>",
    "</Предложение>",
    "<Товар>",
    "</Товар>",
    "<Ид>",
    "</Ид>",
    "<Артикул>",
    "</Артикул>",
    "<Наименование>",
    "<Остатки><Остаток><Склад><Ид>s</Ид><Количество>1</Количество></Склад></Остаток></Остатки>",
    "<Склад ИдСклада=\"x\" КоличествоНаСкладе=\"7\"/>",
    "КоличествоНаСкладе=\"-3\"",
    "СодержитТолькоИзменения=\"true\"",
    "ВерсияСхемы=\"3.1\"",
    "xmlns=\"urn:1C.ru:commerceml_3\"",
    "<?xml version=\"1.0\" encoding=\"windows-1251\"?>",
    "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    "<?xml version=\"1.0\" encoding=\"koi8-r\"?>",
    "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>",
    "&a;",
    "#",
    "<x/>",
    "</КоммерческаяИнформация>",
];

#[test]
fn commerceml() {
    let offers = fixture("offers.xml");
    let import = fixture("import.xml");
    // The same exchange in windows-1251, as 1C often writes it.
    let to_1251 = |b: &[u8]| {
        let text = String::from_utf8_lossy(b).replace("UTF-8", "windows-1251");
        encoding_rs::WINDOWS_1251.encode(&text).0.into_owned()
    };
    let seeds = vec![
        CmlCase {
            offers: B(offers.clone()),
            import: Some(B(import.clone())),
        },
        CmlCase {
            offers: B(offers.clone()),
            import: None,
        },
        CmlCase {
            offers: B(to_1251(&offers)),
            import: Some(B(to_1251(&import))),
        },
    ];
    fuzz(
        "commerceml",
        seeds,
        |rng, pool| {
            let mut c = pool[rng.random_range(0..pool.len())].clone();
            let other = pool[rng.random_range(0..pool.len())].clone();
            let mut m = Mutator {
                rng: &mut *rng,
                dict: XML_DICT,
            };
            match m.rng.random_range(0..4u32) {
                0 => {
                    if let Some(i) = c.import.as_mut() {
                        m.mutate(&mut i.0, &other.offers.0);
                    } else {
                        m.mutate(&mut c.offers.0, &other.offers.0);
                    }
                }
                1 => {
                    m.mutate(&mut c.offers.0, &other.offers.0);
                    if let Some(i) = c.import.as_mut() {
                        m.mutate(&mut i.0, other.import.as_ref().map_or(&[][..], |b| &b.0));
                    }
                }
                _ => m.mutate(&mut c.offers.0, &other.offers.0),
            }
            c
        },
        |c| {
            let mut files: Vec<(&str, &[u8])> = vec![("offers.xml", &c.offers.0)];
            if let Some(i) = &c.import {
                files.push(("import.xml", &i.0));
            }
            check_import(&files)
        },
    );
}

#[test]
fn csv_stock_file() {
    let utf8 = "Остатки на 01.03.2026\n\nАртикул;Наименование;Остаток\nCE285A;Картридж HP 85A;7\nQ2612A;Картридж HP 12A;1 200\n;Итого;1207\n";
    let seeds = vec![
        B(utf8.as_bytes().to_vec()),
        B(encoding_rs::WINDOWS_1251.encode(utf8).0.into_owned()),
        B(
            b"\xEF\xBB\xBFsku,name,qty\nCE285A,\"HP, 85A\",7\nTK-1170,Kyocera,\"12,000\"\n"
                .to_vec(),
        ),
        B(b"SKU\tName\tQuantity\r\nA-1\tPaper A4\t500\r\nB-2\tToner\t0\r\n".to_vec()),
        B("Код|Назва|Кількість\nX1|Папір|3\n".as_bytes().to_vec()),
    ];
    let dict = &[
        "sku",
        "SKU",
        "qty",
        "quantity",
        "Артикул",
        "Остаток",
        "Количество",
        "Кількість",
        "Наименование",
        "Итого",
        "\"\"",
        "\"a\nb\"",
    ];
    fuzz(
        "csv_stock_file",
        seeds,
        |rng, pool| mutated_bytes(rng, pool, dict),
        |b| check_import(&[("stock.csv", &b.0)]),
    );
}

/// A workbook made the way spreadsheet programs write one.
fn xlsx_sample(rows: &[(&str, &str, f64)], header: (&str, &str, &str)) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, header.0).unwrap();
    ws.write_string(0, 1, header.1).unwrap();
    ws.write_string(0, 2, header.2).unwrap();
    for (i, (sku, name, q)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, *sku).unwrap();
        ws.write_string(r, 1, *name).unwrap();
        ws.write_number(r, 2, *q).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// The entries of a zip file, in order.
fn unzip(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).ok()?;
        let name = f.name().ok()?.to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).ok()?;
        out.push((name, buf));
    }
    Some(out)
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn xlsx_stock_file() {
    let seeds = vec![
        B(xlsx_sample(
            &[("CE285A", "HP 85A", 7.0), ("Q2612A", "HP 12A", 12.0)],
            ("Артикул", "Наименование", "Остаток"),
        )),
        B(xlsx_sample(
            &[
                ("A-1", "Paper", 1e15),
                ("B-2", "Toner", -1.0),
                ("C-3", "x", 0.5),
            ],
            ("SKU", "Name", "Qty"),
        )),
    ];
    let dict: &[&str] = &[
        "<c r=\"A1\" t=\"s\"><v>0</v></c>",
        "<c r=\"XFD1048577\"><v>1</v></c>",
        "<v>1e400</v>",
        "t=\"e\"",
        "t=\"b\"",
        "t=\"inlineStr\"",
        "<si><t>Остаток</t></si>",
        "<row r=\"4294967296\">",
        "<dimension ref=\"A1:XFD1048576\"/>",
        "sharedStrings",
        "xl/worksheets/sheet1.xml",
    ];
    fuzz(
        "xlsx_stock_file",
        seeds,
        |rng, pool| {
            let base = pool[rng.random_range(0..pool.len())].0.clone();
            let other = pool[rng.random_range(0..pool.len())].0.clone();
            // Mostly inside the zip (the sheet, shared strings, workbook XML), re-zipped so the
            // reader gets past the container; sometimes the container's own bytes.
            if rng.random_bool(0.8)
                && let Some(mut entries) = unzip(&base)
            {
                let xml: Vec<usize> = (0..entries.len())
                    .filter(|&i| entries[i].0.ends_with(".xml") || entries[i].0.ends_with(".rels"))
                    .collect();
                if !xml.is_empty() {
                    let i = xml[rng.random_range(0..xml.len())];
                    let donor = unzip(&other)
                        .and_then(|e| e.into_iter().find(|(n, _)| *n == entries[i].0))
                        .map(|(_, d)| d)
                        .unwrap_or_default();
                    Mutator {
                        rng: &mut *rng,
                        dict,
                    }
                    .mutate(&mut entries[i].1, &donor);
                    if rng.random_bool(0.05) {
                        let j = rng.random_range(0..entries.len());
                        entries.remove(j);
                    }
                    return B(rezip(&entries));
                }
            }
            let mut b = base;
            Mutator { rng, dict }.mutate(&mut b, &other);
            B(b)
        },
        |b| check_import(&[("stock.xlsx", &b.0)]),
    );
}

// ---------------------------------------------------------------------------------------------
// FAQ CSV import (through the service: a refused file changes nothing).

#[test]
fn faq_csv_import() {
    use helpdesk::clock::FakeClock;
    use helpdesk::domain::Actor;
    use helpdesk::service::{Service, ServiceConfig};
    use helpdesk::store::{Reads, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let svc = Service::new(
        store,
        Arc::new(FakeClock::new(1_750_000_000)),
        ServiceConfig::default(),
    );
    let seeds = vec![
        B("question,answer,alternatives\nКак подключить VPN?,Так: …,vpn|впн\n\"Quoted, q\",\"Multi\nline\",\n".as_bytes().to_vec()),
        B("\u{feff}answer;question\nВідповідь;Питання?\n".as_bytes().to_vec()),
    ];
    let dict = &["question", "answer", "alternatives", "|", "\"\"", ",,,,"];
    let faq_rows = |svc: &Service| svc.store().read().unwrap().faq_all().unwrap();
    fuzz(
        "faq_csv_import",
        seeds,
        |rng, pool| mutated_bytes(rng, pool, dict),
        |b| {
            // The panel decodes the upload to text first (lossily for stray bytes).
            let text = String::from_utf8_lossy(&b.0);
            let before = faq_rows(&svc);
            match svc.import_faq_csv(&Actor::Cli, &text) {
                Ok(_) => Ok(true),
                Err(e) => {
                    clear("faq import", &e.to_string())?;
                    if faq_rows(&svc) != before {
                        return Err(format!("a refused import changed the FAQ: {e}"));
                    }
                    Ok(false)
                }
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Archives: verify and restore.

/// A snapshot of a store with some of everything, as the server writes one.
fn sample_archive(dir: &Path) -> Vec<u8> {
    use helpdesk::clock::FakeClock;
    use helpdesk::domain::ticket::{Category, Priority, Source};
    use helpdesk::domain::{Actor, ApiScope, MoveReason, Role, StockKind};
    use helpdesk::service::{NewStaff, NewTicket, Service, ServiceConfig};
    use helpdesk::store::Store;
    let data = dir.join("source");
    let store = Store::open(&data).unwrap();
    let svc = Service::new(
        store,
        Arc::new(FakeClock::new(1_750_000_000)),
        ServiceConfig::default(),
    );
    svc.add_staff(
        &Actor::Cli,
        NewStaff {
            login: "olga".into(),
            password: "password1".into(),
            role: Role::Operator,
            telegram_id: Some(5),
            display_name: Some("Ольга".into()),
        },
    )
    .unwrap();
    let olga = Actor::Staff {
        login: "olga".into(),
        role: Role::Operator,
    };
    for r in 0..3 {
        svc.register_requester(
            100 + r,
            ["Анна", "Богдан", "Віра"][r as usize],
            None,
            None,
            None,
            None,
        )
        .unwrap();
    }
    svc.upsert_stock_item(
        &Actor::Cli,
        "CE285A",
        "HP 85A",
        StockKind::Cartridge,
        &["HP P1102".into()],
        2,
    )
    .unwrap();
    svc.move_stock(&Actor::Cli, "CE285A", MoveReason::Receipt, 50, None, "")
        .unwrap();
    svc.create_api_token(&Actor::Cli, "backup-check", ApiScope::Read)
        .unwrap();
    svc.upsert_faq(
        &olga,
        None,
        "Как подключить VPN?",
        &["vpn".into()],
        "Так: …",
        true,
    )
    .unwrap();
    for i in 0..4 {
        let t = svc
            .create_ticket(
                &Actor::Requester {
                    tg_id: 100 + (i % 3),
                },
                NewTicket {
                    requester: Some(100 + (i % 3)),
                    requester_name: None,
                    category: Category::Printer,
                    priority: Priority::ALL[i as usize % 4],
                    subject: format!("Заявка {i} ✓"),
                    description: "Не печатает \"принтер\"\nи шумит".into(),
                    order: vec![],
                    source: Source::Telegram,
                    idempotency_key: Some(format!("k{i}")),
                    attachments: vec![],
                },
            )
            .unwrap();
        svc.reply(&olga, t.id, "Смотрю").unwrap();
    }
    let path = helpdesk::archive::write_snapshot(
        svc.store(),
        &data,
        helpdesk::archive::Kind::Manual,
        1_750_000_000,
    )
    .unwrap();
    std::fs::read(path).unwrap()
}

/// The entries of a `tar.zst`, in order.
fn untar(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let dec = zstd::stream::read::Decoder::new(bytes).ok()?;
    let mut ar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in ar.entries().ok()? {
        let mut e = e.ok()?;
        let name = e.path().ok()?.to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).ok()?;
        out.push((name, buf));
    }
    Some(out)
}

fn tar_bytes(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_750_000_000);
        // Names the tar crate refuses (`..`, absolute) are written raw, as an attacker would.
        if b.append_data(&mut h, name, data.as_slice()).is_err() {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            let raw = name.as_bytes();
            let n = raw.len().min(99);
            h.as_old_mut().name[..n].copy_from_slice(&raw[..n]);
            h.set_cksum();
            b.append(&h, data.as_slice()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

fn zst(tar: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.include_checksum(true).unwrap();
    enc.write_all(tar).unwrap();
    enc.finish().unwrap()
}

/// Rewrites the manifest's row counts and SHA-256 to match the table entries, so that a
/// mutated row passes verification and reaches the import.
fn reseal(entries: &mut [(String, Vec<u8>)]) {
    use sha2::{Digest, Sha256};
    let sums: Vec<(String, u64, String)> = entries
        .iter()
        .filter_map(|(n, d)| {
            let t = n.strip_prefix("tables/")?.strip_suffix(".jsonl")?;
            let rows = d.iter().filter(|b| **b == b'\n').count() as u64
                + u64::from(!d.is_empty() && !d.ends_with(b"\n"));
            Some((t.to_string(), rows, hex::encode(Sha256::digest(d))))
        })
        .collect();
    let Some(m) = entries.iter_mut().find(|(n, _)| n == "manifest.json") else {
        return;
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&m.1) else {
        return;
    };
    if let Some(tables) = v.get_mut("tables").and_then(|t| t.as_object_mut()) {
        for (t, rows, sha) in sums {
            tables.insert(t, serde_json::json!({"rows": rows, "sha256": sha}));
        }
    }
    m.1 = serde_json::to_vec(&v).unwrap();
}

fn odd_json(rng: &mut StdRng) -> serde_json::Value {
    use serde_json::json;
    let all = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!(1e300),
        json!(""),
        json!("x".repeat(5000)),
        json!("\u{0}\u{feff}Ё"),
        json!([]),
        json!([1, 2, 3]),
        json!({}),
        json!({"a": [null]}),
        json!(4_294_967_296u64),
        json!(65_536),
        json!(-9_999_999_999i64),
    ];
    all[rng.random_range(0..all.len())].clone()
}

/// Replaces, removes or adds one value somewhere inside `v`.
fn mutate_json(rng: &mut StdRng, v: &mut serde_json::Value, depth: u32) {
    use serde_json::Value;
    match v {
        Value::Object(m) if !m.is_empty() && depth < 6 => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = &keys[rng.random_range(0..keys.len())];
            match rng.random_range(0..10u32) {
                0 => {
                    m.remove(k);
                }
                1 => {
                    m.insert(format!("{k}_extra"), odd_json(rng));
                }
                _ => mutate_json(rng, m.get_mut(k).unwrap(), depth + 1),
            }
        }
        Value::Array(a) if !a.is_empty() && depth < 6 && rng.random_bool(0.7) => {
            let i = rng.random_range(0..a.len());
            match rng.random_range(0..6u32) {
                0 => {
                    a.remove(i);
                }
                1 => a.push(odd_json(rng)),
                _ => mutate_json(rng, &mut a[i], depth + 1),
            }
        }
        Value::Number(n) if rng.random_bool(0.5) => {
            let x = n.as_i64().unwrap_or(0);
            let d = [1i64, -1, 255, 256, 1 << 32];
            *v = serde_json::json!(x.wrapping_add(d[rng.random_range(0..d.len())]));
        }
        _ => *v = odd_json(rng),
    }
}

#[derive(Debug, Clone)]
struct ArchiveCase {
    bytes: B,
    /// Restore into an existing empty folder (else a missing one).
    precreate: bool,
}

fn mutate_archive(rng: &mut StdRng, base: &[u8], donor: &[u8]) -> Vec<u8> {
    let dict: &[&str] = &[
        "manifest.json",
        "tables/",
        ".jsonl",
        "\"rows\"",
        "\"sha256\"",
        "\"format_version\"",
        "attachments/",
    ];
    let Some(mut entries) = untar(base) else {
        let mut b = base.to_vec();
        Mutator { rng, dict }.mutate(&mut b, donor);
        return b;
    };
    let tables: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].0.starts_with("tables/") && !entries[i].1.is_empty())
        .collect();
    match rng.random_range(0..20u32) {
        // A row changed inside its JSON (most cases): the import must refuse it cleanly.
        0..=8 if !tables.is_empty() => {
            let t = tables[rng.random_range(0..tables.len())];
            let text = String::from_utf8_lossy(&entries[t].1).into_owned();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let i = rng.random_range(0..lines.len());
            match rng.random_range(0..8u32) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                2 => {
                    let mut b = lines[i].clone().into_bytes();
                    Mutator {
                        rng: &mut *rng,
                        dict,
                    }
                    .mutate(&mut b, b"");
                    lines[i] = String::from_utf8_lossy(&b).replace('\n', " ");
                }
                _ => {
                    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&lines[i]) {
                        for _ in 0..rng.random_range(1..4) {
                            mutate_json(rng, &mut v, 0);
                        }
                        lines[i] = v.to_string();
                    }
                }
            }
            let mut out = lines.join("\n").into_bytes();
            if !out.is_empty() {
                out.push(b'\n');
            }
            entries[t].1 = out;
            reseal(&mut entries);
        }
        // A table's bytes changed, checksums made to match.
        9 | 10 if !tables.is_empty() => {
            let t = tables[rng.random_range(0..tables.len())];
            Mutator {
                rng: &mut *rng,
                dict,
            }
            .mutate(&mut entries[t].1, b"");
            reseal(&mut entries);
        }
        // The manifest changed.
        11 | 12 => {
            if let Some(m) = entries.iter_mut().find(|(n, _)| n == "manifest.json") {
                if rng.random_bool(0.5) {
                    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&m.1) {
                        mutate_json(rng, &mut v, 0);
                        m.1 = serde_json::to_vec(&v).unwrap();
                    }
                } else {
                    Mutator {
                        rng: &mut *rng,
                        dict,
                    }
                    .mutate(&mut m.1, b"");
                }
            }
        }
        // Entries dropped, repeated, reordered or renamed.
        13 | 14 => {
            let i = rng.random_range(0..entries.len());
            match rng.random_range(0..4u32) {
                0 => {
                    entries.remove(i);
                }
                1 => {
                    let e = entries[i].clone();
                    entries.push(e);
                }
                2 => {
                    let j = rng.random_range(0..entries.len());
                    entries.swap(i, j);
                }
                _ => {
                    let names = [
                        "tables/unknown.jsonl",
                        "../escape.jsonl",
                        "/etc/x",
                        "tables/.jsonl",
                        "attachments/x",
                        "manifest.json",
                        "tables/tickets.jsonl",
                    ];
                    entries[i].0 = names[rng.random_range(0..names.len())].into();
                }
            }
            if rng.random_bool(0.5) {
                reseal(&mut entries);
            }
        }
        // The tar stream's bytes, recompressed.
        15 | 16 => {
            let mut t = tar_bytes(&entries);
            Mutator { rng, dict }.mutate(&mut t, b"");
            return zst(&t);
        }
        // The compressed bytes.
        _ => {
            let mut b = zst(&tar_bytes(&entries));
            Mutator { rng, dict }.mutate(&mut b, donor);
            return b;
        }
    }
    zst(&tar_bytes(&entries))
}

#[test]
fn archive_verify_and_restore() {
    use helpdesk::archive::{restore, verify};
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_archive(tmp.path());
    let file = tmp.path().join("case.tar.zst");
    let target = tmp.path().join("restored");
    let seeds = vec![
        ArchiveCase {
            bytes: B(sample.clone()),
            precreate: false,
        },
        ArchiveCase {
            bytes: B(sample),
            precreate: true,
        },
    ];
    fuzz(
        "archive_verify_and_restore",
        seeds,
        |rng, pool| {
            let base = &pool[rng.random_range(0..pool.len())].bytes.0;
            let donor = &pool[rng.random_range(0..pool.len())].bytes.0;
            ArchiveCase {
                bytes: B(mutate_archive(rng, base, donor)),
                precreate: rng.random_bool(0.3),
            }
        },
        |c| {
            std::fs::write(&file, &c.bytes.0).unwrap();
            let _ = std::fs::remove_dir_all(&target);
            if c.precreate {
                std::fs::create_dir(&target).unwrap();
            }
            let verified = verify(&file);
            let restored = restore(&file, &target);
            let result = match (&verified, &restored) {
                (Err(v), Ok(_)) => Err(format!("verify refused ({v}) but restore accepted")),
                (Ok(_), Ok(_)) => {
                    // The restored folder opens as a store.
                    helpdesk::store::Store::open(&target)
                        .map(|_| true)
                        .map_err(|e| format!("restored, but the store does not open: {e}"))
                }
                (_, Err(e)) => {
                    let left: Vec<_> = std::fs::read_dir(&target)
                        .map(|d| d.flatten().map(|e| e.file_name()).collect())
                        .unwrap_or_default();
                    if c.precreate && !target.is_dir() {
                        Err(format!(
                            "a failed restore removed the empty folder it was given: {e}"
                        ))
                    } else if !c.precreate && target.exists() {
                        Err(format!(
                            "a failed restore left the folder it created ({left:?}): {e}"
                        ))
                    } else if !left.is_empty() {
                        Err(format!(
                            "a failed restore left files behind ({left:?}): {e}"
                        ))
                    } else if let Err(v) = &verified {
                        clear("verify", &v.to_string())
                            .and_then(|_| clear("restore", &e.to_string()))
                            .map(|_| false)
                    } else {
                        clear("restore", &e.to_string()).map(|_| false)
                    }
                }
            };
            let _ = std::fs::remove_dir_all(&target);
            result
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Panel forms and uploads, over HTTP against the real server.

/// A panel user over HTTP: cookies kept, redirects not followed.
struct Panel {
    http: reqwest::blocking::Client,
    base: String,
    cookie: String,
    cookies: BTreeMap<String, String>,
}

impl Panel {
    fn login(base: &str) -> Panel {
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .no_proxy()
            // A fresh connection per request: the server may close one after refusing a body
            // it did not read, and reusing it would be the client's race, not the server's.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let mut p = Panel {
            http,
            base: base.to_string(),
            cookie: String::new(),
            cookies: BTreeMap::new(),
        };
        let page = p.get("/login");
        let csrf = hidden_csrf(&page.1);
        let r = p.send("/login", "application/x-www-form-urlencoded", {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            s.append_pair("csrf", &csrf)
                .append_pair("login", "boss")
                .append_pair("password", "password1");
            s.finish().into_bytes()
        });
        assert_eq!(r.0, 303, "login: {}", r.1);
        p
    }

    fn remember(&mut self, r: &reqwest::blocking::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or("");
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        self.cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
    }

    fn signed_in(&self) -> bool {
        self.cookies.contains_key("hd_session")
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .expect("GET");
        self.remember(&r);
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    fn send(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        self.try_send(path, content_type, body)
            .expect("POST (the server must answer)")
    }

    fn try_send(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, String), String> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .map_err(|e| format!("POST {path}: no answer: {e}"))?;
        self.remember(&r);
        Ok((r.status().as_u16(), r.text().unwrap_or_default()))
    }

    fn csrf(&mut self) -> String {
        let page = self.get("/");
        hidden_csrf(&page.1)
    }
}

fn hidden_csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in:\n{html}"))
        + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// Panel forms with the fields their pages send (the session's CSRF token is added).
const FORMS: &[(&str, &[(&str, &str)])] = &[
    (
        "/tickets/new",
        &[
            ("requester_name", "Иван"),
            ("requester", "100"),
            ("category", "printer"),
            ("priority", "normal"),
            ("subject", "Не печатает"),
            ("description", "Замятие"),
        ],
    ),
    ("/tickets/1/reply", &[("text", "Смотрю")]),
    ("/tickets/1/note", &[("text", "внутреннее")]),
    ("/tickets/1/take", &[]),
    ("/tickets/1/reject", &[("reason", "дубликат")]),
    ("/tickets/1/assign", &[("login", "boss")]),
    ("/tickets/1/priority", &[("priority", "high")]),
    ("/tickets/1/resolve", &[]),
    (
        "/faq/new",
        &[
            ("question", "Как?"),
            ("answer", "Так"),
            ("alternatives", "a\nb"),
        ],
    ),
    (
        "/faq/1",
        &[
            ("question", "Как?"),
            ("answer", "Так"),
            ("alternatives", ""),
        ],
    ),
    ("/faq/1/toggle", &[]),
    (
        "/stock/new",
        &[
            ("sku", "CE285A"),
            ("name", "HP 85A"),
            ("kind", "cartridge"),
            ("printers", "HP P1102"),
            ("min_level", "2"),
        ],
    ),
    (
        "/stock/CE285A",
        &[
            ("name", "HP 85A"),
            ("kind", "cartridge"),
            ("printers", ""),
            ("min_level", "2"),
        ],
    ),
    (
        "/stock/CE285A/move",
        &[
            ("reason", "receipt"),
            ("amount", "5"),
            ("ticket", ""),
            ("note", ""),
        ],
    ),
    (
        "/stock-import/mapping",
        &[("code", "X1"), ("sku", "CE285A")],
    ),
    ("/stock-import/mapping/delete", &[("code", "X1")]),
    (
        "/people/staff/new",
        &[
            ("login", "anna"),
            ("password", "password2"),
            ("role", "operator"),
            ("telegram_id", ""),
            ("display_name", "Анна"),
        ],
    ),
    ("/people/staff/anna/role", &[("role", "admin")]),
    ("/people/requesters/100/block", &[]),
    (
        "/settings/welcome",
        &[("lang", "ru"), ("value", "Привет, {name}")],
    ),
    ("/settings/welcome/reset", &[("lang", "ru")]),
    ("/api-tokens", &[("name", "sync"), ("scope", "read")]),
    ("/api-tokens/revoke", &[("name", "sync")]),
    ("/broadcast/preview", &[("text", "Всем привет")]),
    ("/login", &[("login", "boss"), ("password", "wrong")]),
];

#[derive(Debug, Clone)]
struct FormCase {
    path: String,
    content_type: String,
    body: B,
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, data) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[test]
fn panel_forms_and_uploads() {
    use common::Sandbox;
    let sb = Sandbox::new();
    sb.run_stdin(
        [
            "admin",
            "add",
            "--login",
            "boss",
            "--role",
            "superadmin",
            "--password-stdin",
        ],
        "password1\n",
    )
    .success();
    let mut server = sb.serve(&[]);
    let base = server.url("");
    let mut panel = Panel::login(&base);
    let mut csrf = panel.csrf();
    const CSRF_MARK: &str = "CSRFTOKEN";
    let mut seeds = Vec::new();
    for (path, fields) in FORMS {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("csrf", CSRF_MARK);
        for (k, v) in *fields {
            s.append_pair(k, v);
        }
        seeds.push(FormCase {
            path: path.to_string(),
            content_type: "application/x-www-form-urlencoded".into(),
            body: B(s.finish().into_bytes()),
        });
    }
    const BOUNDARY: &str = "----fuzzBoundary7MA4YWxkTrZu0gW";
    let csv = "Артикул;Наименование;Остаток\nCE285A;HP 85A;7\n";
    for (path, parts) in [
        (
            "/stock-import",
            vec![
                ("csrf", None, CSRF_MARK.as_bytes()),
                ("file", Some("stock.csv"), csv.as_bytes()),
            ],
        ),
        (
            "/stock-import",
            vec![
                ("csrf", None, CSRF_MARK.as_bytes()),
                ("file", Some("offers.xml"), &fixture("offers.xml")[..]),
                ("catalog", Some("import.xml"), &fixture("import.xml")[..]),
            ],
        ),
        (
            "/faq/import",
            vec![
                ("csrf", None, CSRF_MARK.as_bytes()),
                (
                    "file",
                    Some("faq.csv"),
                    "question,answer\nКак?,Так\n".as_bytes(),
                ),
            ],
        ),
    ] {
        seeds.push(FormCase {
            path: path.into(),
            content_type: format!("multipart/form-data; boundary={BOUNDARY}"),
            body: B(multipart(BOUNDARY, &parts)),
        });
    }
    let dict: &[&str] = &[
        "csrf=CSRFTOKEN&",
        "&csrf=",
        "csrf",
        "CSRFTOKEN",
        "%FF",
        "%C0%AF",
        "+",
        "&&",
        "==",
        "Content-Disposition: form-data; name=\"file\"; filename=\"../../x\"\r\n",
        "--",
        "\r\n\r\n",
        BOUNDARY,
        "filename*=UTF-8''%E2%82",
    ];
    let paths: Vec<&str> = FORMS
        .iter()
        .map(|(p, _)| *p)
        .chain([
            "/stock-import",
            "/faq/import",
            "/tickets/18446744073709551616/reply",
            "/stock/%FF/move",
            "/setup/x",
        ])
        .collect();
    let mut posted = 0u64;
    fuzz(
        "panel_forms_and_uploads",
        seeds,
        |rng, pool| {
            let mut c = pool[rng.random_range(0..pool.len())].clone();
            let other = pool[rng.random_range(0..pool.len())].body.0.clone();
            let mut m = Mutator {
                rng: &mut *rng,
                dict,
            };
            m.mutate(&mut c.body.0, &other);
            match m.rng.random_range(0..20u32) {
                0 => c.path = paths[m.rng.random_range(0..paths.len())].to_string(),
                1 => {
                    let mut ct = c.content_type.clone().into_bytes();
                    m.mutate(&mut ct, b"");
                    c.content_type = String::from_utf8_lossy(&ct).into_owned();
                }
                _ => {}
            }
            c
        },
        |c| {
            // Content types the HTTP client cannot send are not requests the server sees.
            if reqwest::header::HeaderValue::from_str(&c.content_type).is_err() {
                return Ok(false);
            }
            let body = String::from_utf8_lossy(&c.body.0)
                .replace(CSRF_MARK, &csrf)
                .into_bytes();
            let body = if c.body.0.iter().all(|b| b.is_ascii())
                || std::str::from_utf8(&c.body.0).is_ok()
            {
                body
            } else {
                // Keep invalid UTF-8 as it is (the token only appears in valid text).
                c.body.0.clone()
            };
            let (status, text) = match panel.try_send(&c.path, &c.content_type, body.clone()) {
                Ok(r) => r,
                // Once more on a new connection; a second failure is the server's.
                Err(_) => panel
                    .try_send(&c.path, &c.content_type, body)
                    .map_err(|e| {
                        let out = server.stderr();
                        let tail: String = out
                            .chars()
                            .rev()
                            .take(2000)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        format!("{e}; server stderr ends: {tail}")
                    })?,
            };
            posted += 1;
            if status >= 500 {
                return Err(format!(
                    "{} answered {status}: {}",
                    c.path,
                    text.chars().take(300).collect::<String>()
                ));
            }
            if !server.is_running() {
                return Err("the server stopped".into());
            }
            if !panel.signed_in() {
                // A fuzzed form signed the session out (or changed the password): sign in again.
                panel = Panel::login(&base);
                csrf = panel.csrf();
            }
            Ok(status < 400)
        },
    );
    let out = format!("{}\n{}", server.stdout(), server.stderr());
    common::assert_no_panic(&out);
    assert!(posted > 0);
    server.terminate();
}
