//! The authorization matrix: every HTTP route × every kind of caller, and every bot staff
//! action × every role, each from ONE table, against the real binary (bot on the Bot API
//! emulator).
//!
//! * `every_route_has_a_row_in_the_matrix` scans the router sources (`warp::path!` with the
//!   method filter that follows it, the Mini App's API dispatch, the REST API's `ROUTES`) and
//!   fails naming any route without a row in [`ROWS`], and any row that matches no route: a new
//!   route cannot be added without saying who may call it.
//! * `http_routes_by_role_and_csrf` asks every row's sample request as nobody, a registered
//!   requester (Mini App launch data), an operator, a storekeeper, an admin, a superadmin (panel
//!   sessions) and REST tokens with read and read-write scope. Allowed: the row's expected
//!   status (200 for pages). Denied: a redirect to `/login` without a session, 403 for staff
//!   without the role, 401 on `/app/api` and `/api/v1` without valid credentials, 403 for a
//!   read-only token on a write route — and nothing changed (ticket counts and the audit log
//!   compared before and after). POSTs carry the session's CSRF token so a denial is the role's.
//!   Then every panel POST without (or with another session's) CSRF token is refused with 403
//!   and changes nothing.
//! * `bot_staff_actions_by_role` presses the card buttons (take, assign, resolve, reject,
//!   reopen) and sends the staff commands (/queue, /broadcast, /staff, /digest) as a requester,
//!   an operator, a storekeeper, an admin and a superadmin (`telegram.superadmins`), from one
//!   table: allowed ones act, denied ones get "Недостаточно прав" and change nothing.
//!
//! A panel superadmin is a staff account with role `superadmin` (`admin add --role
//! superadmin`, as the CLI may create one); the bot's superadmin is the one named in
//! `telegram.superadmins`.

mod common;
mod miniapp_support;
mod tg_emulator;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::hidden_csrf;
use common::{Sandbox, Server};
use miniapp_support::{STAFF_CHAT, TOKEN, init_data};
use serde_json::{Value, json};
use tg_emulator::{Emulator, SentMessage};

const USER: i64 = 1001;
const OP_TG: i64 = 2001;
const SK_TG: i64 = 2002;
const ADM_TG: i64 = 2003;
/// Named in `telegram.superadmins` (the bot's superadmin).
const SUPER_TG: i64 = 2004;
const PASSWORD: &str = "password1";
const WAIT: Duration = Duration::from_secs(15);
const PRINTER: &str = "HP LaserJet P1102";
const SKU: &str = "CE285A";

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Who {
    /// No credentials at all.
    Nobody,
    /// A registered Telegram requester: valid `Authorization: tma <initData>` (it opens the
    /// Mini App API only; the panel and the REST API do not know it).
    Requester,
    Operator,
    Storekeeper,
    Admin,
    Superadmin,
    /// REST API bearer tokens.
    ApiRead,
    ApiWrite,
}
use Who::*;

const EVERYONE: &[Who] = &[
    Nobody,
    Requester,
    Operator,
    Storekeeper,
    Admin,
    Superadmin,
    ApiRead,
    ApiWrite,
];
/// Any signed-in staff member.
const STAFF: &[Who] = &[Operator, Storekeeper, Admin, Superadmin];
/// Ticket work beyond cartridge orders, FAQ, requesters list, new tickets for callers.
const OPS: &[Who] = &[Operator, Admin, Superadmin];
/// Stock management.
const STORE: &[Who] = &[Storekeeper, Admin, Superadmin];
const ADMINS: &[Who] = &[Admin, Superadmin];
const REQUESTER: &[Who] = &[Requester];
const API_READ: &[Who] = &[ApiRead, ApiWrite];
const API_WRITE: &[Who] = &[ApiWrite];

/// One sample request of a route and who may make it.
struct Row {
    /// `METHOD /path` with parameters as written in the code: `{u64}`, `{String}`, `{i64}` for
    /// `warp::path!` arguments, `{name}` for the REST and Mini App tables.
    route: &'static str,
    /// The concrete request path (with query).
    path: &'static str,
    /// Body: `""` none; `{…}` JSON; `multipart:` a multipart form with an empty CSV file;
    /// `precsrf:` a form with a double-submit (pre-session) CSRF token; else a url-encoded form
    /// to which the session's CSRF token is added.
    body: &'static str,
    allow: &'static [Who],
    /// The status an allowed caller gets (samples are chosen to be harmless: they fail
    /// validation after the permission check, or change something idempotent).
    ok: u16,
}

const fn row(
    route: &'static str,
    path: &'static str,
    body: &'static str,
    allow: &'static [Who],
    ok: u16,
) -> Row {
    Row {
        route,
        path,
        body,
        allow,
        ok,
    }
}

const LONG_DEPARTMENT: &str = "department=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// THE table. Ticket #1 is a printer ticket (operators' work), #2 a cartridge order (the
/// storekeeper's work too); FAQ entry 1 and stock item CE285A exist.
const ROWS: &[Row] = &[
    // Public.
    row("GET /healthz", "/healthz", "", EVERYONE, 200),
    row("GET /metrics", "/metrics", "", EVERYONE, 200),
    // Telegram's webhook: guarded by its secret header, not by a role. This server long-polls,
    // so the route answers 404 to everyone (tests/bot.rs checks the secret in webhook mode).
    row(
        "POST /telegram/webhook",
        "/telegram/webhook",
        "{}",
        EVERYONE,
        404,
    ),
    row(
        "GET /static/style.css",
        "/static/style.css",
        "",
        EVERYONE,
        200,
    ),
    row("GET /login", "/login", "", EVERYONE, 200),
    // Empty password: refused before any password check (and before the throttle counts).
    row(
        "POST /login",
        "/login",
        "precsrf:login=nobody&password=",
        EVERYONE,
        401,
    ),
    // Setup is over once a staff account exists; a wrong setup token is refused.
    row("GET /setup/{String}", "/setup/abc", "", EVERYONE, 404),
    row(
        "POST /setup/{String}",
        "/setup/abc",
        "precsrf:login=x&password=password1&password2=password1",
        EVERYONE,
        403,
    ),
    row("GET /app", "/app", "", EVERYONE, 200),
    row(
        "GET /app/static/app.js",
        "/app/static/app.js",
        "",
        EVERYONE,
        200,
    ),
    row(
        "GET /app/static/app.css",
        "/app/static/app.css",
        "",
        EVERYONE,
        200,
    ),
    row(
        "GET /api/v1/openapi.json",
        "/api/v1/openapi.json",
        "",
        EVERYONE,
        200,
    ),
    // Panel: everyone signed in.
    row("GET /", "/", "", STAFF, 200),
    row("POST /digest", "/digest", "on=0", STAFF, 303),
    // Logout ends the session: asked with a fresh one (see `fresh`).
    row("POST /logout", "/logout", "x=1", STAFF, 303),
    row("GET /people/password", "/people/password", "", STAFF, 200),
    row(
        "POST /people/password",
        "/people/password",
        "current=wrong&new=a&new2=b",
        STAFF,
        400,
    ),
    // Tickets.
    row("GET /tickets", "/tickets", "", STAFF, 200),
    row("GET /tickets/new", "/tickets/new", "", OPS, 200),
    row("POST /tickets/new", "/tickets/new", "subject=", OPS, 400),
    row("GET /tickets/{u64}", "/tickets/1", "", STAFF, 200),
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/1/note",
        "text=matrix+note",
        OPS,
        303,
    ),
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/2/note",
        "text=matrix+note",
        STAFF,
        303,
    ),
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/1/assign",
        "login=nobody",
        OPS,
        404,
    ),
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/2/assign",
        "login=nobody",
        OPS,
        404,
    ),
    // Reopening a new ticket: the permission passes, the status machine refuses.
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/1/reopen",
        "x=1",
        OPS,
        409,
    ),
    row(
        "POST /tickets/{u64}/{String}",
        "/tickets/2/reopen",
        "x=1",
        OPS,
        409,
    ),
    row(
        "GET /tickets/{u64}/files/{u64}",
        "/tickets/1/files/1",
        "",
        STAFF,
        404,
    ),
    // FAQ.
    row("GET /faq", "/faq", "", OPS, 200),
    row("GET /faq/try", "/faq/try?q=vpn", "", OPS, 200),
    row("GET /faq/export.csv", "/faq/export.csv", "", OPS, 200),
    row("GET /faq/new", "/faq/new", "", OPS, 200),
    row("POST /faq/new", "/faq/new", "question=", OPS, 400),
    row("POST /faq/import", "/faq/import", "multipart:", OPS, 400),
    row("GET /faq/{u64}", "/faq/1", "", OPS, 200),
    row("POST /faq/{u64}", "/faq/1", "question=", OPS, 400),
    row("POST /faq/{u64}/{String}", "/faq/1/enable", "x=1", OPS, 303),
    // Stock.
    row("GET /stock-import", "/stock-import", "", STORE, 200),
    row(
        "GET /stock-import/mapping",
        "/stock-import/mapping",
        "",
        STORE,
        200,
    ),
    row(
        "GET /stock-import/{String}",
        "/stock-import/nope",
        "",
        STORE,
        404,
    ),
    row(
        "POST /stock-import",
        "/stock-import",
        "multipart:",
        STORE,
        400,
    ),
    row(
        "POST /stock-import/mapping",
        "/stock-import/mapping",
        "code=",
        STORE,
        400,
    ),
    row(
        "POST /stock-import/mapping/delete",
        "/stock-import/mapping/delete",
        "code=nope",
        STORE,
        404,
    ),
    row(
        "POST /stock-import/{String}/apply",
        "/stock-import/nope/apply",
        "confirm=1",
        STORE,
        404,
    ),
    row("GET /stock", "/stock", "", STAFF, 200),
    row("GET /stock/new", "/stock/new", "", STORE, 200),
    row("POST /stock/new", "/stock/new", "sku=", STORE, 400),
    row("GET /stock/{String}", "/stock/CE285A", "", STAFF, 200),
    row("POST /stock/{String}", "/stock/CE285A", "name=", STORE, 400),
    row(
        "POST /stock/{String}/{String}",
        "/stock/CE285A/issue",
        "amount=",
        STAFF,
        400,
    ),
    row(
        "POST /stock/{String}/{String}",
        "/stock/CE285A/receipt",
        "amount=",
        STORE,
        400,
    ),
    row(
        "POST /stock/{String}/{String}",
        "/stock/CE285A/adjustment",
        "amount=",
        STORE,
        400,
    ),
    // People.
    row("GET /people", "/people", "", OPS, 200),
    row(
        "POST /people/requesters/{i64}/{String}",
        "/people/requesters/1001/department",
        LONG_DEPARTMENT,
        ADMINS,
        400,
    ),
    row("GET /people/staff", "/people/staff", "", ADMINS, 200),
    row(
        "POST /people/staff/new",
        "/people/staff/new",
        "login=",
        ADMINS,
        400,
    ),
    row(
        "POST /people/staff/{String}/{String}",
        "/people/staff/op/role",
        "role=bogus",
        ADMINS,
        400,
    ),
    // Logs.
    row("GET /logs", "/logs", "", ADMINS, 200),
    row("GET /logs/audit", "/logs/audit", "", ADMINS, 200),
    row("GET /logs/messages", "/logs/messages", "", ADMINS, 200),
    // Broadcast.
    row("GET /broadcast", "/broadcast", "", ADMINS, 200),
    row(
        "POST /broadcast/preview",
        "/broadcast/preview",
        "text=",
        ADMINS,
        400,
    ),
    row(
        "POST /broadcast/send",
        "/broadcast/send",
        "text=",
        ADMINS,
        400,
    ),
    row("GET /broadcast/{u64}", "/broadcast/999", "", ADMINS, 404),
    // Archives.
    row("GET /archives", "/archives", "", ADMINS, 200),
    row(
        "POST /archives/snapshot",
        "/archives/snapshot",
        "x=1",
        ADMINS,
        303,
    ),
    row(
        "GET /archives/{String}/{String}",
        "/archives/manual/none.tar.zst",
        "",
        ADMINS,
        404,
    ),
    row(
        "POST /archives/{String}/{String}/verify",
        "/archives/manual/none.tar.zst/verify",
        "x=1",
        ADMINS,
        404,
    ),
    // Reports.
    row("GET /reports", "/reports", "", STAFF, 200),
    row(
        "GET /reports/tickets.xlsx",
        "/reports/tickets.xlsx",
        "",
        STAFF,
        200,
    ),
    row(
        "GET /reports/summary.xlsx",
        "/reports/summary.xlsx",
        "",
        STAFF,
        200,
    ),
    // Settings.
    row("GET /settings", "/settings", "", ADMINS, 200),
    row(
        "GET /settings/{String}",
        "/settings/bot.welcome",
        "",
        ADMINS,
        200,
    ),
    row(
        "POST /settings/{String}",
        "/settings/bot.welcome",
        "lang=&value=x",
        ADMINS,
        400,
    ),
    row(
        "POST /settings/{String}/reset",
        "/settings/bot.welcome/reset",
        "lang=",
        ADMINS,
        400,
    ),
    // API tokens.
    row("GET /api-tokens", "/api-tokens", "", ADMINS, 200),
    row(
        "POST /api-tokens",
        "/api-tokens",
        "name=&scope=read",
        ADMINS,
        400,
    ),
    row(
        "POST /api-tokens/revoke",
        "/api-tokens/revoke",
        "name=nope",
        ADMINS,
        404,
    ),
    // The Mini App's API: registered requesters with valid launch data.
    row("GET /app/api/me", "/app/api/me", "", REQUESTER, 200),
    row(
        "GET /app/api/tickets",
        "/app/api/tickets",
        "",
        REQUESTER,
        200,
    ),
    row(
        "GET /app/api/tickets/{id}",
        "/app/api/tickets/2",
        "",
        REQUESTER,
        200,
    ),
    row(
        "GET /app/api/printers",
        "/app/api/printers",
        "",
        REQUESTER,
        200,
    ),
    row(
        "GET /app/api/items",
        "/app/api/items?printer=HP%20LaserJet%20P1102",
        "",
        REQUESTER,
        200,
    ),
    row(
        "POST /app/api/tickets",
        "/app/api/tickets",
        "{}",
        REQUESTER,
        400,
    ),
    // The REST API: bearer tokens; writes need the read-write scope.
    row("GET /api/v1/tickets", "/api/v1/tickets", "", API_READ, 200),
    row(
        "POST /api/v1/tickets",
        "/api/v1/tickets",
        "{}",
        API_WRITE,
        400,
    ),
    row(
        "GET /api/v1/tickets/{id}",
        "/api/v1/tickets/1",
        "",
        API_READ,
        200,
    ),
    row(
        "POST /api/v1/tickets/{id}/status",
        "/api/v1/tickets/1/status",
        "{}",
        API_WRITE,
        400,
    ),
    row(
        "POST /api/v1/tickets/{id}/replies",
        "/api/v1/tickets/1/replies",
        "{}",
        API_WRITE,
        400,
    ),
    row("GET /api/v1/stock", "/api/v1/stock", "", API_READ, 200),
    row(
        "POST /api/v1/stock/{sku}/moves",
        "/api/v1/stock/CE285A/moves",
        "{}",
        API_WRITE,
        400,
    ),
    row("GET /api/v1/faq", "/api/v1/faq", "", API_READ, 200),
    row("POST /api/v1/faq", "/api/v1/faq", "{}", API_WRITE, 400),
    row(
        "PUT /api/v1/faq/{id}",
        "/api/v1/faq/1",
        "{}",
        API_WRITE,
        400,
    ),
];

/// How a denial looks on this path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Panel,
    MiniApp,
    Rest,
    /// Telegram's webhook: its own secret header, no session, no CSRF.
    Webhook,
}

fn gate(path: &str) -> Gate {
    if path.starts_with("/app/api/") {
        Gate::MiniApp
    } else if path.starts_with("/api/v1/") {
        Gate::Rest
    } else if path.starts_with("/telegram/") {
        Gate::Webhook
    } else {
        Gate::Panel
    }
}

fn method_of(route: &str) -> &str {
    route.split(' ').next().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Completeness: the router sources against the table.

/// `METHOD /path` of every route the sources define.
fn routes_in_sources() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src/web") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    walk(&root, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read source");
        let prefix = if f.parent().is_some_and(|p| p.ends_with("miniapp")) {
            "/app"
        } else {
            ""
        };
        // warp::path!(…) and warp::path::end(), each with the next method filter.
        let mut at = 0;
        loop {
            let a = src[at..].find("warp::path!(").map(|i| (i, true));
            let b = src[at..].find("warp::path::end()").map(|i| (i, false));
            let next = match (a, b) {
                (Some(x), Some(y)) => Some(if x.0 < y.0 { x } else { y }),
                (x, y) => x.or(y),
            };
            let Some((i, is_macro)) = next else { break };
            let start = at + i;
            let (path, after) = if is_macro {
                let open = start + "warp::path!(".len();
                let close = open + src[open..].find(')').expect("closing paren");
                let segs: Vec<String> = src[open..close]
                    .split('/')
                    .map(|s| {
                        let s = s.trim();
                        match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                            Some(lit) => lit.to_string(),
                            None => format!("{{{s}}}"),
                        }
                    })
                    .collect();
                (format!("{prefix}/{}", segs.join("/")), close)
            } else {
                let p = if prefix.is_empty() { "/" } else { prefix };
                (p.to_string(), start + "warp::path::end()".len())
            };
            let method = ["get", "post", "put", "delete", "patch", "head"]
                .iter()
                .filter_map(|m| {
                    src[after..]
                        .find(&format!("warp::{m}()"))
                        .map(|i| (i, m.to_uppercase()))
                })
                .min()
                .unwrap_or_else(|| panic!("{}: no method filter after {path}", f.display()))
                .1;
            out.insert(format!("{method} {path}"));
            at = after;
        }
        // The Mini App's API dispatches by hand: the arms of `api_get`, the path of `api_post`.
        if let (Some(g), Some(p), Some(o)) = (
            src.find("async fn api_get("),
            src.find("async fn api_post("),
            src.find("async fn api_other("),
        ) {
            for line in src[g..p].lines() {
                let l = line.trim();
                if let Some(rest) = l.strip_prefix('[')
                    && let Some((inner, _)) = rest.split_once("] =>")
                {
                    let segs: Vec<String> = inner
                        .split(',')
                        .map(|s| {
                            let s = s.trim();
                            match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                                Some(lit) => lit.to_string(),
                                None => format!("{{{s}}}"),
                            }
                        })
                        .collect();
                    out.insert(format!("GET /app/api/{}", segs.join("/")));
                }
            }
            for part in src[p..o].split("!= \"").skip(1) {
                let lit = part.split('"').next().unwrap();
                out.insert(format!("POST /app/api/{lit}"));
            }
        }
        // The REST API's route table.
        if let Some(r) = src.find("pub const ROUTES") {
            let end = r + src[r..].find("];").expect("end of ROUTES");
            let table = &src[r..end];
            let lits = |s: &str| -> Vec<String> {
                s.split('"')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            };
            for part in table.split("r(\"").skip(1) {
                let v = lits(&format!("\"{part}"));
                out.insert(format!("{} /api/v1{}", v[0], v[1]));
            }
            for part in table.split("method: ").skip(1) {
                let v = lits(part);
                out.insert(format!("{} /api/v1{}", v[0], v[1]));
            }
        }
    }
    out
}

#[test]
fn every_route_has_a_row_in_the_matrix() {
    let code = routes_in_sources();
    // The scan itself must work: some routes of every kind are found.
    for known in [
        "GET /healthz",
        "POST /tickets/{u64}/{String}",
        "GET /",
        "GET /app",
        "GET /app/api/tickets/{id}",
        "POST /app/api/tickets",
        "PUT /api/v1/faq/{id}",
        "GET /api/v1/openapi.json",
    ] {
        assert!(code.contains(known), "the scan missed {known}: {code:#?}");
    }
    let table: BTreeSet<String> = ROWS.iter().map(|r| r.route.to_string()).collect();
    let missing: Vec<&String> = code.difference(&table).collect();
    let stale: Vec<&String> = table.difference(&code).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix (tests/auth_matrix.rs ROWS): {missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows that match no route in src/web: {stale:#?}"
    );
    // Every row's sample path fits its pattern.
    for r in ROWS {
        let pat = r.route.split(' ').nth(1).unwrap();
        let path = r.path.split('?').next().unwrap();
        let (ps, ss): (Vec<&str>, Vec<&str>) =
            (pat.split('/').collect(), path.split('/').collect());
        assert_eq!(ps.len(), ss.len(), "{}: sample {}", r.route, r.path);
        for (p, s) in ps.iter().zip(&ss) {
            assert!(
                p.starts_with('{') || p == s,
                "{}: sample {}",
                r.route,
                r.path
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing.

struct Http {
    client: reqwest::blocking::Client,
    base: String,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    location: String,
    cookies: HashMap<String, String>,
    body: String,
}

#[derive(Clone, Debug)]
struct Session {
    token: String,
    csrf: String,
}

fn form_body(pairs: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn parse_form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

impl Http {
    fn new(server: &Server) -> Http {
        Http {
            client: common::browser::client(),
            base: server.url(""),
        }
    }

    /// One request; `body` is (content type, bytes).
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(String, Vec<u8>)>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some((ctype, bytes)) = body {
            req = req.header("content-type", ctype).body(bytes);
        }
        let r = req
            .send()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut cookies = HashMap::new();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or("");
            if let Some((k, val)) = v.split(';').next().and_then(|p| p.split_once('=')) {
                cookies.insert(k.to_string(), val.to_string());
            }
        }
        Resp {
            status,
            location,
            cookies,
            body: r.text().unwrap_or_default(),
        }
    }

    fn get_as(&self, path: &str, s: &Session) -> Resp {
        self.send(
            "GET",
            path,
            &[("cookie", format!("hd_session={}", s.token))],
            None,
        )
    }

    /// A form POST as `s`, with its CSRF token.
    fn post_as(&self, path: &str, s: &Session, fields: &[(&str, &str)]) -> Resp {
        let mut pairs: Vec<(String, String)> = vec![("csrf".into(), s.csrf.clone())];
        pairs.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.send(
            "POST",
            path,
            &[("cookie", format!("hd_session={}", s.token))],
            Some((
                "application/x-www-form-urlencoded".into(),
                form_body(&pairs).into_bytes(),
            )),
        )
    }

    #[track_caller]
    fn login(&self, login: &str) -> Session {
        let page = self.send("GET", "/login", &[], None);
        assert_eq!(page.status, 200);
        let pre = page
            .cookies
            .get("hd_csrf")
            .cloned()
            .expect("hd_csrf cookie");
        let field = hidden_csrf(&page.body);
        let r = self.send(
            "POST",
            "/login",
            &[("cookie", format!("hd_csrf={pre}"))],
            Some((
                "application/x-www-form-urlencoded".into(),
                form_body(&[
                    ("csrf".into(), field),
                    ("login".into(), login.into()),
                    ("password".into(), PASSWORD.into()),
                ])
                .into_bytes(),
            )),
        );
        assert_eq!(r.status, 303, "login {login}: {}", r.body);
        let token = r
            .cookies
            .get("hd_session")
            .cloned()
            .expect("session cookie");
        let mut s = Session {
            token,
            csrf: String::new(),
        };
        let p = self.get_as("/people/password", &s);
        assert_eq!(p.status, 200, "{}", p.body);
        s.csrf = hidden_csrf(&p.body);
        s
    }
}

/// A multipart form with `fields` and an empty `file` (a CSV).
fn multipart(fields: &[(String, String)]) -> (String, Vec<u8>) {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    common::browser::multipart(&fields, &[("file", "faq.csv", b"")])
}

// ---------------------------------------------------------------------------------------------
// The environment: server with its bot on the emulator, people, tickets, tokens.

struct Env {
    emu: Emulator,
    _sb: Sandbox,
    server: Server,
    http: Http,
    sessions: HashMap<Who, Session>,
    api_read: String,
    api_write: String,
}

impl Env {
    fn start() -> Env {
        let emu = Emulator::start(TOKEN);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "[web]\npublic_url = \"https://helpdesk.example.test\"\n\n\
                 [telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\nsuperadmins = [{SUPER_TG}]\n",
                emu.api_url()
            ),
        );
        sb.write(
            "faq.csv",
            "question,answer,alternatives\nКак подключить VPN?,Откройте FortiClient.,vpn\n",
        );
        sb.run(["--config", "config.toml", "faq", "import", "faq.csv"])
            .success();
        for (login, role, tg) in [
            ("op", "operator", Some(OP_TG)),
            ("sk", "storekeeper", Some(SK_TG)),
            ("adm", "admin", Some(ADM_TG)),
            ("root", "superadmin", None),
        ] {
            let mut args = vec![
                "--config".to_string(),
                "config.toml".into(),
                "admin".into(),
                "add".into(),
                "--login".into(),
                login.into(),
                "--role".into(),
                role.into(),
                "--password-stdin".into(),
            ];
            if let Some(id) = tg {
                args.push("--telegram-id".into());
                args.push(id.to_string());
            }
            sb.run_stdin(&args, &format!("{PASSWORD}\n")).success();
        }
        for (id, name) in [
            (USER, "Иван"),
            (OP_TG, "Оператор"),
            (SK_TG, "Кладовщик"),
            (ADM_TG, "Админ"),
            (SUPER_TG, "Супер"),
        ] {
            emu.set_user(id, name, None);
        }
        let server = sb.serve(&["--config", "config.toml"]);
        let deadline = Instant::now() + WAIT;
        while server.get("/healthz").json()["bot"] != "polling" {
            assert!(Instant::now() < deadline, "the bot never polled");
            std::thread::sleep(Duration::from_millis(50));
        }
        let http = Http::new(&server);
        let mut env = Env {
            emu,
            _sb: sb,
            server,
            http,
            sessions: HashMap::new(),
            api_read: String::new(),
            api_write: String::new(),
        };
        env.register(USER, "Иван Петров");
        for (who, login) in [
            (Operator, "op"),
            (Storekeeper, "sk"),
            (Admin, "adm"),
            (Superadmin, "root"),
        ] {
            let s = env.http.login(login);
            env.sessions.insert(who, s);
        }
        let root = env.sessions[&Superadmin].clone();
        // Stock: a cartridge fitting the printer, with some on hand.
        let r = env.http.post_as(
            "/stock/new",
            &root,
            &[
                ("sku", SKU),
                ("name", "HP 85A"),
                ("kind", "cartridge"),
                ("printers", PRINTER),
                ("min_level", "1"),
            ],
        );
        assert_eq!(r.status, 303, "stock item: {}", r.body);
        let r = env
            .http
            .post_as(&format!("/stock/{SKU}/receipt"), &root, &[("amount", "10")]);
        assert_eq!(r.status, 303, "receipt: {}", r.body);
        // REST tokens.
        env.api_read = env.token(&root, "reader", "read");
        env.api_write = env.token(&root, "writer", "read-write");
        // Ticket #1: a printer ticket; #2: a cartridge order from the Mini App.
        let (st, v) = env.api(
            "POST",
            "/api/v1/tickets",
            Some(&format!("Bearer {}", env.api_write)),
            Some(
                json!({"requester": USER, "category": "printer", "subject": "Принтер не печатает"}),
            ),
        );
        assert_eq!(st, 201, "ticket #1: {v}");
        let (st, v) = env.api(
            "POST",
            "/app/api/tickets",
            Some(&format!("tma {}", init_data(USER))),
            Some(json!({
                "category": "cartridge_order",
                "printer": PRINTER,
                "sku": SKU,
                "quantity": 1,
                "priority": "normal",
                "description": "Кабинет 305: картридж закончился",
                "request_id": "matrix-order-0001",
            })),
        );
        assert_eq!(st, 201, "ticket #2: {v}");
        env
    }

    /// Creates a REST token; returns its secret.
    fn token(&self, s: &Session, name: &str, scope: &str) -> String {
        let r = self
            .http
            .post_as("/api-tokens", s, &[("name", name), ("scope", scope)]);
        assert_eq!(r.status, 200, "token {name}: {}", r.body);
        let at = r.body.find("id=\"secret\">").expect("secret shown") + "id=\"secret\">".len();
        r.body[at..].split('<').next().unwrap().trim().to_string()
    }

    fn api(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut h = vec![];
        if let Some(a) = auth {
            h.push(("authorization", a.to_string()));
        }
        let r = self.http.send(
            method,
            path,
            &h,
            body.map(|b| ("application/json".into(), b.to_string().into_bytes())),
        );
        let v = serde_json::from_str(&r.body).unwrap_or(Value::String(r.body));
        (r.status, v)
    }

    fn mark(&self, chat: i64) -> usize {
        self.emu.sent_to(chat).len()
    }

    #[track_caller]
    fn expect(&self, chat: i64, mark: usize, needle: &str) -> SentMessage {
        let has = |m: &SentMessage| m.text.as_deref().is_some_and(|t| t.contains(needle));
        let found = self.emu.wait_for_sent(
            |all| all.iter().filter(|m| m.chat_id == chat).skip(mark).any(has),
            WAIT,
        );
        let sent: Vec<String> = self
            .emu
            .sent_to(chat)
            .iter()
            .skip(mark)
            .filter_map(|m| m.text.clone())
            .collect();
        assert!(
            found,
            "no message to {chat} containing {needle:?}; got {sent:#?}\nserver log:\n{}",
            self.server.stdout()
        );
        self.emu
            .sent_to(chat)
            .into_iter()
            .skip(mark)
            .find(has)
            .unwrap()
    }

    #[track_caller]
    fn register(&self, user: i64, name: &str) {
        let m = self.mark(user);
        self.emu.push_message(user, user, "/start");
        self.expect(user, m, "Как вас зовут");
        let m = self.mark(user);
        self.emu.push_message(user, user, name);
        self.expect(user, m, "номер телефона");
        let m = self.mark(user);
        self.emu.push_contact(user, user, "+79123456789");
        self.expect(user, m, &format!("Готово, {name}"));
    }

    /// What a denied request must not change: tickets by status and the audit trail.
    fn fingerprint(&self) -> String {
        let m = self.server.get("/metrics").body;
        let tickets: Vec<&str> = m
            .lines()
            .filter(|l| l.starts_with("helpdesk_tickets{"))
            .collect();
        let a = self.http.get_as("/logs/audit", &self.sessions[&Superadmin]);
        assert_eq!(a.status, 200);
        let start = a.body.find("<table id=\"audit\"").expect("audit table");
        let end = start + a.body[start..].find("</table>").unwrap();
        format!("{}\n{}", tickets.join("\n"), &a.body[start..end])
    }

    /// Sends `row`'s sample as `who` (with `session` instead of `who`'s own when given).
    fn ask(&self, row: &Row, who: Who, session: Option<&Session>, with_csrf: bool) -> Resp {
        let method = method_of(row.route);
        let mut headers: Vec<(&str, String)> = Vec::new();
        let session = session.or_else(|| self.sessions.get(&who));
        match who {
            Nobody => {}
            Requester => headers.push(("authorization", format!("tma {}", init_data(USER)))),
            ApiRead => headers.push(("authorization", format!("Bearer {}", self.api_read))),
            ApiWrite => headers.push(("authorization", format!("Bearer {}", self.api_write))),
            _ => {
                let s = session.expect("a session");
                headers.push(("cookie", format!("hd_session={}", s.token)));
            }
        }
        let csrf = if with_csrf {
            session.map(|s| s.csrf.clone())
        } else {
            None
        };
        let body = if row.body.is_empty() {
            None
        } else if row.body.starts_with('{') {
            Some(("application/json".to_string(), row.body.as_bytes().to_vec()))
        } else if let Some(rest) = row.body.strip_prefix("precsrf:") {
            // Double-submit: the same random value as cookie and field.
            let t = "0123456789abcdef".repeat(4);
            match headers.iter_mut().find(|(k, _)| *k == "cookie") {
                Some((_, c)) => c.push_str(&format!("; hd_csrf={t}")),
                None => headers.push(("cookie", format!("hd_csrf={t}"))),
            }
            let mut pairs = parse_form(rest);
            if with_csrf {
                pairs.push(("csrf".into(), t.clone()));
            }
            Some((
                "application/x-www-form-urlencoded".into(),
                form_body(&pairs).into_bytes(),
            ))
        } else if row.body.starts_with("multipart:") {
            let fields: Vec<(String, String)> =
                csrf.into_iter().map(|c| ("csrf".to_string(), c)).collect();
            Some(multipart(&fields))
        } else {
            let mut pairs = parse_form(row.body);
            if let Some(c) = csrf {
                pairs.insert(0, ("csrf".into(), c));
            }
            Some((
                "application/x-www-form-urlencoded".into(),
                form_body(&pairs).into_bytes(),
            ))
        };
        self.http.send(method, row.path, &headers, body)
    }
}

/// The expected answer to a denied `who` on `row`: (status, must redirect to /login).
fn denial(row: &Row, who: Who) -> (u16, bool) {
    match gate(row.path) {
        Gate::Panel => match who {
            Nobody | Requester | ApiRead | ApiWrite => (303, true),
            _ => (403, false),
        },
        Gate::MiniApp | Gate::Webhook => (401, false),
        Gate::Rest => match who {
            ApiRead => (403, false),
            _ => (401, false),
        },
    }
}

#[test]
fn http_routes_by_role_and_csrf() {
    let env = Env::start();
    let mut failures = Vec::new();

    for row in ROWS {
        let denied: Vec<Who> = EVERYONE
            .iter()
            .copied()
            .filter(|w| !row.allow.contains(w))
            .collect();
        let before = env.fingerprint();
        for &who in &denied {
            let r = env.ask(row, who, None, true);
            let (status, to_login) = denial(row, who);
            let ok = r.status == status && (!to_login || r.location == "/login");
            if !ok {
                failures.push(format!(
                    "{} ({}) as {who:?}: denied → expected {status}{}, got {} {} {}",
                    row.route,
                    row.path,
                    if to_login { " to /login" } else { "" },
                    r.status,
                    r.location,
                    r.body.chars().take(160).collect::<String>()
                ));
            }
        }
        if !denied.is_empty() {
            let after = env.fingerprint();
            if before != after {
                failures.push(format!(
                    "{} ({}): a denied request changed something:\nbefore {before}\nafter {after}",
                    row.route, row.path
                ));
            }
        }
        for &who in row.allow {
            let fresh;
            let session = if row.route == "POST /logout" && STAFF.contains(&who) {
                let login = match who {
                    Operator => "op",
                    Storekeeper => "sk",
                    Admin => "adm",
                    _ => "root",
                };
                fresh = env.http.login(login);
                Some(&fresh)
            } else {
                None
            };
            let r = env.ask(row, who, session, true);
            let to_login = r.location == "/login" && row.route != "POST /logout";
            if r.status != row.ok || to_login {
                failures.push(format!(
                    "{} ({}) as {who:?}: allowed → expected {}, got {} {} {}",
                    row.route,
                    row.path,
                    row.ok,
                    r.status,
                    r.location,
                    r.body.chars().take(300).collect::<String>()
                ));
            }
            if let Some(s) = session {
                // That session is over; the role's own session still works.
                let gone = env.http.get_as("/", s);
                assert_eq!(gone.status, 303, "the session ended at logout");
                assert_eq!(env.http.get_as("/", &env.sessions[&who]).status, 200);
            }
        }
    }

    // CSRF: every panel POST as a role allowed to make it, without the token and with another
    // session's token: 403, nothing changed, and the session still works.
    let other = env.http.login("adm");
    for row in ROWS
        .iter()
        .filter(|r| method_of(r.route) == "POST" && gate(r.path) == Gate::Panel)
    {
        let who = row
            .allow
            .iter()
            .copied()
            .find(|w| STAFF.contains(w))
            .unwrap_or(Nobody);
        let before = env.fingerprint();
        let r = env.ask(row, who, None, false);
        if r.status != 403 {
            failures.push(format!(
                "{} ({}) as {who:?} without CSRF token: expected 403, got {} {}",
                row.route,
                row.path,
                r.status,
                r.body.chars().take(200).collect::<String>()
            ));
        }
        if who != Nobody && !row.body.starts_with("precsrf:") {
            let mut forged = env.sessions[&who].clone();
            forged.csrf = other.csrf.clone();
            let r = env.ask(row, who, Some(&forged), true);
            if r.status != 403 {
                failures.push(format!(
                    "{} ({}) as {who:?} with another session's CSRF token: expected 403, got {}",
                    row.route, row.path, r.status
                ));
            }
        }
        if env.fingerprint() != before {
            failures.push(format!(
                "{} ({}): a POST without a valid CSRF token changed something",
                row.route, row.path
            ));
        }
        if who != Nobody {
            assert_eq!(
                env.http.get_as("/", &env.sessions[&who]).status,
                200,
                "{}: the session survives a refused POST",
                row.route
            );
        }
    }

    // Panel cookies open neither API: the REST API wants a bearer token, the Mini App launch
    // data (checked above for every API row as the staff roles, who send only their cookie).
    assert!(
        failures.is_empty(),
        "{} authorization mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The bot: staff actions × roles, from one table.

/// What is done in Telegram.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Press the button with this callback data on ticket `n`'s card in the staff group.
    Press(&'static str, u64),
    /// Reply to ticket `n`'s card in the staff group (a public answer to the requester).
    ReplyCard(u64),
    /// Send this text in a private chat with the bot.
    Say(&'static str),
}

/// The ticket's state before each attempt (set through the REST API).
#[derive(Debug, Clone, Copy)]
enum Pre {
    Any,
    /// New, reopened or in progress.
    Open,
    Resolved,
}

/// How an allowed attempt shows that it acted.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// In progress, assigned to the presser.
    Taken,
    AssignedTo(&'static str),
    Status(&'static str),
    /// A message in the staff group containing this.
    StaffMessage(&'static str),
    /// The requester receives the reply.
    RequesterGetsReply,
    /// An answer in the private chat containing this.
    Answer(&'static str),
}

struct BotRow {
    act: Act,
    allow: &'static [Who],
    pre: Pre,
    effect: Effect,
    /// What a denied attempt is told.
    refusal: &'static str,
    /// Sent after an allowed attempt to undo it (e.g. leave the broadcast dialogue).
    undo: Option<(&'static str, &'static str)>,
}

const FORBIDDEN: &str = "Недостаточно прав";

const fn bot(act: Act, allow: &'static [Who], pre: Pre, effect: Effect) -> BotRow {
    BotRow {
        act,
        allow,
        pre,
        effect,
        refusal: FORBIDDEN,
        undo: None,
    }
}

/// Bot callers: the requester and the staff members with linked Telegram ids (the
/// superadmin named in `telegram.superadmins`).
const BOT_WHO: &[Who] = &[Requester, Operator, Storekeeper, Admin, Superadmin];

/// THE bot table. Ticket #1 is a printer ticket, #2 a cartridge order (storekeepers work
/// those, but neither assign nor reopen them). Commands come first, while the requester's chat
/// has no status notifications queued (one message a second per chat); then the rows that
/// answer in the staff group, while its send limit (19 a minute) is far.
const BOT_ROWS: &[BotRow] = &[
    bot(
        Act::Say("/queue"),
        STAFF,
        Pre::Any,
        Effect::Answer("Открытые заявки"),
    ),
    BotRow {
        undo: Some(("/cancel", "Отменено")),
        ..bot(
            Act::Say("/broadcast"),
            ADMINS,
            Pre::Any,
            Effect::Answer("Пришлите текст рассылки"),
        )
    },
    bot(
        Act::Say("/staff"),
        ADMINS,
        Pre::Any,
        Effect::Answer("/staff add ID"),
    ),
    BotRow {
        undo: Some(("/staff remove 3001", "3001")),
        ..bot(
            Act::Say("/staff add 3001 superadmin"),
            &[Superadmin],
            Pre::Any,
            Effect::Answer("Сотрудник 3001 добавлен с ролью superadmin"),
        )
    },
    bot(
        Act::Say("/digest"),
        STAFF,
        Pre::Any,
        Effect::Answer("Ежедневная сводка включена"),
    ),
    // A requester's own command: staff who never registered as requesters are sent to /start.
    BotRow {
        refusal: "Сначала зарегистрируйтесь",
        ..bot(
            Act::Say("/email ivan@example.com"),
            REQUESTER,
            Pre::Any,
            Effect::Answer("ivan@example.com сохранён"),
        )
    },
    bot(
        Act::Press("am:1", 1),
        OPS,
        Pre::Open,
        Effect::StaffMessage("Кому назначить заявку #1"),
    ),
    bot(
        Act::Press("rj:1", 1),
        OPS,
        Pre::Open,
        Effect::StaffMessage("Причина отклонения заявки #1"),
    ),
    bot(
        Act::Press("rj:2", 2),
        STAFF,
        Pre::Open,
        Effect::StaffMessage("Причина отклонения заявки #2"),
    ),
    bot(Act::ReplyCard(1), OPS, Pre::Any, Effect::RequesterGetsReply),
    bot(Act::Press("tk:1", 1), OPS, Pre::Open, Effect::Taken),
    bot(Act::Press("tk:2", 2), STAFF, Pre::Open, Effect::Taken),
    bot(
        Act::Press("at:1:op", 1),
        OPS,
        Pre::Open,
        Effect::AssignedTo("op"),
    ),
    bot(
        Act::Press("at:2:sk", 2),
        OPS,
        Pre::Open,
        Effect::AssignedTo("sk"),
    ),
    bot(
        Act::Press("rs:1", 1),
        OPS,
        Pre::Open,
        Effect::Status("resolved"),
    ),
    bot(
        Act::Press("rs:2", 2),
        STAFF,
        Pre::Open,
        Effect::Status("resolved"),
    ),
    bot(
        Act::Press("ro:1", 1),
        OPS,
        Pre::Resolved,
        Effect::Status("reopened"),
    ),
    bot(
        Act::Press("ro:2", 2),
        OPS,
        Pre::Resolved,
        Effect::Status("reopened"),
    ),
];

fn tg_of(who: Who) -> i64 {
    match who {
        Requester => USER,
        Operator => OP_TG,
        Storekeeper => SK_TG,
        Admin => ADM_TG,
        Superadmin => SUPER_TG,
        other => panic!("{other:?} has no Telegram account"),
    }
}

fn login_of(who: Who) -> String {
    match who {
        Operator => "op".into(),
        Storekeeper => "sk".into(),
        Admin => "adm".into(),
        Superadmin => format!("tg{SUPER_TG}"),
        other => panic!("{other:?} has no staff account"),
    }
}

impl Env {
    /// (status, assignee) of ticket `n`, through the REST API.
    fn ticket(&self, n: u64) -> (String, String) {
        let (st, v) = self.api(
            "GET",
            &format!("/api/v1/tickets/{n}"),
            Some(&format!("Bearer {}", self.api_read)),
            None,
        );
        assert_eq!(st, 200, "{v}");
        let t = v.get("ticket").unwrap_or(&v);
        (
            t["status"].as_str().unwrap_or("").to_string(),
            t["assignee"].as_str().unwrap_or("").to_string(),
        )
    }

    fn status_action(&self, n: u64, action: &str) {
        let (st, v) = self.api(
            "POST",
            &format!("/api/v1/tickets/{n}/status"),
            Some(&format!("Bearer {}", self.api_write)),
            Some(json!({ "action": action })),
        );
        assert_eq!(st, 200, "{action} #{n}: {v}");
    }

    fn prepare(&self, n: u64, pre: Pre) {
        let (status, _) = self.ticket(n);
        match pre {
            Pre::Any => {}
            Pre::Open => {
                if matches!(status.as_str(), "resolved" | "closed" | "rejected") {
                    self.status_action(n, "reopen");
                }
            }
            Pre::Resolved => {
                if matches!(status.as_str(), "closed" | "rejected") {
                    self.status_action(n, "reopen");
                }
                let (status, _) = self.ticket(n);
                if matches!(status.as_str(), "new" | "reopened" | "waiting_requester") {
                    self.status_action(n, "take");
                }
                if self.ticket(n).0 == "in_progress" {
                    self.status_action(n, "resolve");
                }
            }
        }
    }

    /// The message id of ticket `n`'s card in the staff group.
    fn card(&self, n: u64) -> i64 {
        let needle = format!("#{n} ·");
        let found = self.emu.wait_for_sent(
            |all| {
                all.iter().any(|m| {
                    m.chat_id == STAFF_CHAT
                        && m.text.as_deref().is_some_and(|t| t.starts_with(&needle))
                })
            },
            WAIT,
        );
        assert!(found, "no card for #{n}");
        self.emu
            .sent_to(STAFF_CHAT)
            .into_iter()
            .find(|m| m.text.as_deref().is_some_and(|t| t.starts_with(&needle)))
            .unwrap()
            .message_id
    }

    /// The text of the answer to callback query `q`.
    fn callback_answer(&self, q: &str) -> String {
        let answered = |calls: &[tg_emulator::Call]| {
            calls.iter().any(|c| {
                c.method.eq_ignore_ascii_case("answerCallbackQuery")
                    && c.params["callback_query_id"] == q
            })
        };
        assert!(
            self.emu.wait_for(answered, WAIT),
            "callback {q} never answered"
        );
        self.emu
            .calls_of("answerCallbackQuery")
            .into_iter()
            .find(|c| c.params["callback_query_id"] == q)
            .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
            .unwrap()
    }

    /// Does `row` as `who`; returns what the bot answered (a refusal or a confirmation).
    fn attempt(&self, row: &BotRow, who: Who, allowed: bool) -> String {
        let tg = tg_of(who);
        match row.act {
            Act::Press(data, n) => {
                let card = self.card(n);
                let m = self.mark(STAFF_CHAT);
                let q = self.emu.push_callback(STAFF_CHAT, tg, card, data);
                let answer = self.callback_answer(&q);
                if allowed && let Effect::StaffMessage(needle) = row.effect {
                    self.expect(STAFF_CHAT, m, needle);
                }
                answer
            }
            Act::ReplyCard(n) => {
                let card = self.card(n);
                let text = format!("matrix reply by {who:?}");
                let (mg, mu) = (self.mark(STAFF_CHAT), self.mark(USER));
                self.emu.push_reply(STAFF_CHAT, tg, &text, card);
                if allowed {
                    self.expect(USER, mu, &text);
                    self.expect(STAFF_CHAT, mg, "Ответ отправлен заявителю")
                        .text
                        .unwrap_or_default()
                } else {
                    self.expect(STAFF_CHAT, mg, row.refusal)
                        .text
                        .unwrap_or_default()
                }
            }
            Act::Say(text) => {
                let m = self.mark(tg);
                self.emu.push_message(tg, tg, text);
                let needle = match (allowed, row.effect) {
                    (true, Effect::Answer(n)) => n,
                    (true, _) => unreachable!("commands answer"),
                    (false, _) => row.refusal,
                };
                let answer = self.expect(tg, m, needle).text.unwrap_or_default();
                if allowed && let Some((undo, needle)) = row.undo {
                    let m = self.mark(tg);
                    self.emu.push_message(tg, tg, undo);
                    self.expect(tg, m, needle);
                }
                answer
            }
        }
    }
}

#[test]
fn bot_staff_actions_by_role() {
    let env = Env::start();
    // The bot's superadmin (telegram.superadmins) has a staff account of its own.
    let staff = env.http.get_as("/people/staff", &env.sessions[&Superadmin]);
    assert!(
        staff.body.contains(&format!("tg{SUPER_TG}")),
        "{}",
        staff.body
    );
    env.card(1);
    env.card(2);
    let mut failures = Vec::new();
    for row in BOT_ROWS {
        let ticket = match row.act {
            Act::Press(_, n) | Act::ReplyCard(n) => Some(n),
            Act::Say(_) => None,
        };
        if let Some(n) = ticket {
            env.prepare(n, row.pre);
        }
        let before = env.fingerprint();
        for &who in BOT_WHO.iter().filter(|w| !row.allow.contains(w)) {
            let answer = env.attempt(row, who, false);
            if !answer.contains(row.refusal) {
                failures.push(format!(
                    "{:?} as {who:?}: denied → expected {:?}, got {answer:?}",
                    row.act, row.refusal
                ));
            }
        }
        let after = env.fingerprint();
        if before != after {
            failures.push(format!(
                "{:?}: a denied attempt changed something:\nbefore {before}\nafter {after}",
                row.act
            ));
        }
        for &who in row.allow {
            if let Some(n) = ticket {
                env.prepare(n, row.pre);
            }
            let answer = env.attempt(row, who, true);
            if answer.contains(FORBIDDEN) {
                failures.push(format!("{:?} as {who:?}: allowed, but refused", row.act));
                continue;
            }
            let Some(n) = ticket else { continue };
            let (status, assignee) = env.ticket(n);
            let ok = match row.effect {
                Effect::Taken => status == "in_progress" && assignee == login_of(who),
                Effect::AssignedTo(login) => assignee == login,
                Effect::Status(s) => status == s,
                Effect::StaffMessage(_) | Effect::RequesterGetsReply | Effect::Answer(_) => true,
            };
            if !ok {
                failures.push(format!(
                    "{:?} as {who:?}: allowed, expected {:?}, ticket #{n} is {status} ({assignee}); answer {answer:?}",
                    row.act, row.effect
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} bot authorization mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
