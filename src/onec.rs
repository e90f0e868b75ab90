//! The pull of stock balances from 1C:Enterprise over its standard OData interface: HTTP GETs
//! with basic authentication (reqwest, rustls), a timeout and a size cap per answer, paging by
//! `odata.nextLink`; the answers are read by [`crate::import::odata`] into the same balances
//! the file imports give, which `service::stock_import` then matches and applies (reason
//! `import`, audit label "1C OData"). Used by `helpdesk stock pull-1c` and the scheduled job.
//!
//! Errors are one line saying what to check; they never hold the password (it travels only in
//! the `Authorization` header, and is blanked out of any message as a last guard).

use std::time::Duration;

use url::Url;

use crate::config::OnecConfig;
use crate::import::Balance;
use crate::import::odata::{self, BalanceFields, CatalogFields};
use crate::service::ImportOptions;

/// The largest answer read, per page (a 100,000-record balance page is about 15 MB).
pub const MAX_ANSWER_BYTES: usize = 64 << 20;
/// Pages followed at most per entity (a loop of next links ends here).
const MAX_PAGES: u32 = 10_000;
/// How the import is labelled on movements and in the audit log.
pub const LABEL: &str = "1C OData";

/// What a pull read.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// One per good (its records added up), plus the catalogue's goods without a record at 0.
    pub rows: Vec<Balance>,
    /// Balance records read.
    pub records: u64,
    /// Catalogue goods read (`None` when no catalogue is configured).
    pub goods: Option<u64>,
    /// HTTP requests made.
    pub requests: u32,
}

impl Pulled {
    /// One line for people: what was read.
    pub fn summary(&self) -> String {
        let goods = self
            .goods
            .map(|g| format!(" and {g} goods of the catalogue"))
            .unwrap_or_default();
        format!(
            "read {} balance records{goods} from 1C in {} requests",
            self.records, self.requests
        )
    }
}

/// How a pull's balances are applied: unknown codes are listed, never created; the
/// catalogue's goods at 0 that we do not stock are left out silently.
pub fn import_options() -> ImportOptions {
    ImportOptions {
        create_new: false,
        label: LABEL.to_string(),
        files: odata::sources(),
        ignore_unknown_zero: true,
    }
}

/// Reads the balances (and the catalogue, when configured) from 1C.
pub async fn fetch(cfg: &OnecConfig) -> Result<Pulled, String> {
    fetch_inner(cfg).await.map_err(|e| {
        let e = format!("1C OData pull: {e}");
        let pw = cfg.password.expose();
        if pw.is_empty() {
            e
        } else {
            e.replace(pw, "***")
        }
    })
}

async fn fetch_inner(cfg: &OnecConfig) -> Result<Pulled, String> {
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(15)))
        .user_agent(concat!("helpdesk/", env!("CARGO_PKG_VERSION")))
        // Basic credentials must not follow a redirect to another place.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    let mut requests = 0u32;

    let fields = BalanceFields {
        item: &cfg.item_field,
        quantity: &cfg.quantity_field,
    };
    let entity = &cfg.balance_entity;
    let mut url = entity_url(
        cfg,
        entity,
        &[&cfg.item_field, &cfg.quantity_field],
        &cfg.filter,
    )?;
    let mut records = Vec::new();
    loop {
        let body = get(&client, cfg, &url, entity, "onec.balance_entity").await?;
        requests += 1;
        let first = u32::try_from(records.len() + 1).map_err(|_| "too many records")?;
        let page =
            odata::balances_page(entity, &body, &fields, first).map_err(|e| e.to_string())?;
        records.extend(page.records);
        match page.next {
            Some(next) if requests < MAX_PAGES => url = next_url(cfg, &next)?,
            Some(_) => return Err(format!("{entity}: more than {MAX_PAGES} pages")),
            None => break,
        }
    }
    let n_records = records.len() as u64;

    let catalog = if cfg.catalog_entity.is_empty() {
        None
    } else {
        let entity = &cfg.catalog_entity;
        let cf = CatalogFields {
            key: "Ref_Key",
            article: &cfg.article_field,
            name: &cfg.name_field,
        };
        let mut select = vec!["Ref_Key", cfg.article_field.as_str()];
        if !cfg.name_field.is_empty() {
            select.push(&cfg.name_field);
        }
        let mut url = entity_url(cfg, entity, &select, "")?;
        let mut goods = Vec::new();
        let mut pages = 0;
        loop {
            let body = get(&client, cfg, &url, entity, "onec.catalog_entity").await?;
            requests += 1;
            pages += 1;
            let first = u32::try_from(goods.len() + 1).map_err(|_| "too many records")?;
            let page = odata::catalog_page(entity, &body, &cf, first).map_err(|e| e.to_string())?;
            goods.extend(page.records);
            match page.next {
                Some(next) if pages < MAX_PAGES => url = next_url(cfg, &next)?,
                Some(_) => return Err(format!("{entity}: more than {MAX_PAGES} pages")),
                None => break,
            }
        }
        Some(goods)
    };
    let rows = odata::combine(entity, records, catalog.as_deref()).map_err(|e| e.to_string())?;
    Ok(Pulled {
        rows,
        records: n_records,
        goods: catalog.map(|c| c.len() as u64),
        requests,
    })
}

/// `<base>/<entity>?$format=json[&$select=…][&$filter=…]`. Query values are written as they
/// are (1C reads `$select=Номенклатура_Key`), with only `%`, `&`, `#` and `+` escaped.
fn entity_url(
    cfg: &OnecConfig,
    entity: &str,
    select: &[&str],
    filter: &str,
) -> Result<Url, String> {
    let esc = |v: &str| {
        v.replace('%', "%25")
            .replace('&', "%26")
            .replace('#', "%23")
            .replace('+', "%2B")
    };
    let mut s = format!(
        "{}/{}?$format=json",
        cfg.url.as_str().trim_end_matches('/'),
        entity.trim_start_matches('/')
    );
    if !select.is_empty() {
        s.push_str("&$select=");
        s.push_str(&esc(&select.join(",")));
    }
    if !filter.is_empty() {
        s.push_str("&$filter=");
        s.push_str(&esc(filter));
    }
    Url::parse(&s).map_err(|e| format!("cannot build the address of {entity}: {e}"))
}

/// The next page: an absolute link must stay on the configured server (the credentials go
/// with it); a relative one is relative to the service root. `$format=json` is added when the
/// link lacks it.
fn next_url(cfg: &OnecConfig, next: &str) -> Result<Url, String> {
    let mut u = match Url::parse(next) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => Url::parse(&format!(
            "{}/{}",
            cfg.url.as_str().trim_end_matches('/'),
            next.trim_start_matches('/')
        ))
        .map_err(|e| format!("the next-page link is not a URL: {e}"))?,
        Err(e) => return Err(format!("the next-page link is not a URL: {e}")),
    };
    if u.origin() != cfg.url.origin() {
        return Err(format!(
            "the next-page link points to another server ({}); not followed",
            u.origin().ascii_serialization()
        ));
    }
    if !u.query().unwrap_or("").contains("$format=") {
        let q = match u.query() {
            Some(q) if !q.is_empty() => format!("{q}&$format=json"),
            _ => "$format=json".to_string(),
        };
        u.set_query(Some(&q));
    }
    Ok(u)
}

/// One GET: the body of a 2xx answer (at most [`MAX_ANSWER_BYTES`]), else an error saying
/// what to check. `key` is the config key naming the entity.
async fn get(
    client: &reqwest::Client,
    cfg: &OnecConfig,
    url: &Url,
    entity: &str,
    key: &str,
) -> Result<Vec<u8>, String> {
    let mut req = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    if !cfg.username.is_empty() {
        req = req.basic_auth(&cfg.username, Some(cfg.password.expose()));
    }
    let mut resp = req.send().await.map_err(|e| send_error(&e, cfg))?;
    let status = resp.status();
    let too_big = || {
        format!(
            "{entity}: the answer is larger than {} MiB; narrow it with onec.filter",
            MAX_ANSWER_BYTES >> 20
        )
    };
    if resp
        .content_length()
        .is_some_and(|l| l > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_ANSWER_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(e) if status.is_success() => return Err(send_error(&e, cfg)),
            Err(_) => break,
        }
    }
    if status.is_success() {
        return Ok(body);
    }
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            let e = v.get("odata.error").or_else(|| v.get("error"))?;
            Some(odata::error_message(e))
        })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&body)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(200)
                .collect()
        });
    let said = if detail.is_empty() {
        String::new()
    } else {
        format!("; 1C said: {detail}")
    };
    let code = status.as_u16();
    Err(match code {
        401 => "1C refused the user name or password (HTTP 401 Unauthorized): check \
                onec.username and onec.password (or HELPDESK_ONEC_PASSWORD)"
            .to_string(),
        403 => format!(
            "the 1C user '{}' may not read {entity} (HTTP 403 Forbidden): give it the right to \
             read it{said}",
            cfg.username
        ),
        404 => format!(
            "1C has no entity '{entity}' (HTTP 404 Not Found): check {key}, that onec.url is the \
             publication's address, and that the entity is ticked in 1C's \"Настройка \
             стандартного интерфейса OData\"{said}"
        ),
        300..=399 => format!(
            "{entity}: 1C answered with a redirect (HTTP {code}) to {}: set onec.url to the \
             address it points to",
            resp_location(&resp)
        ),
        _ => format!("{entity}: 1C answered HTTP {status}{said}"),
    })
}

fn resp_location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .chars()
        .take(200)
        .collect()
}

/// A request that got no answer: timeout, refused connection, DNS, TLS.
fn send_error(e: &reqwest::Error, cfg: &OnecConfig) -> String {
    let host = format!(
        "{}:{}",
        cfg.url.host_str().unwrap_or("?"),
        cfg.url.port_or_known_default().unwrap_or(0)
    );
    if e.is_timeout() {
        return format!(
            "1C at {host} did not answer within {} s (onec.timeout_seconds)",
            cfg.timeout.as_secs()
        );
    }
    // The innermost cause says what happened (refused, no such host, certificate).
    let mut cause: &dyn std::error::Error = e;
    let mut refused = false;
    while let Some(next) = cause.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            refused = true;
        }
        cause = next;
    }
    if refused {
        return format!(
            "cannot connect to 1C at {host}: connection refused (is the web server of the 1C \
             publication running, and is onec.url right?)"
        );
    }
    if e.is_connect() {
        return format!("cannot connect to 1C at {host}: {cause}");
    }
    format!("the request to 1C at {host} failed: {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> OnecConfig {
        let text = format!("[onec]\nurl = \"{url}\"\n");
        crate::config::Config::from_parts(None, &text, &[])
            .unwrap()
            .onec
            .unwrap()
    }

    #[test]
    fn addresses_of_entities_and_next_pages() {
        let c = cfg("http://1c.local:8080/trade");
        let u = entity_url(
            &c,
            "AccumulationRegister_ТоварыНаСкладах/Balance",
            &["Номенклатура_Key", "ВНаличииBalance"],
            "Склад_Key eq guid'1' & x",
        )
        .unwrap();
        let s = u.as_str();
        assert!(
            s.starts_with(
                "http://1c.local:8080/trade/odata/standard.odata/AccumulationRegister_%D0%A2"
            ),
            "{s}"
        );
        assert!(s.contains("?$format=json&$select=%D0%9D"), "{s}");
        assert!(s.contains("&$filter=") && s.contains("%26%20x"), "{s}");

        let n = next_url(&c, "Catalog_Номенклатура?$skiptoken=5").unwrap();
        assert_eq!(
            n.path(),
            "/trade/odata/standard.odata/Catalog_%D0%9D%D0%BE%D0%BC%D0%B5%D0%BD%D0%BA%D0%BB%D0%B0%D1%82%D1%83%D1%80%D0%B0"
        );
        assert_eq!(n.query(), Some("$skiptoken=5&$format=json"));
        let n = next_url(
            &c,
            "http://1c.local:8080/trade/odata/standard.odata/X?$format=json&p=2",
        )
        .unwrap();
        assert_eq!(n.query(), Some("$format=json&p=2"));
        let e = next_url(&c, "http://evil.example/x").unwrap_err();
        assert!(e.contains("another server"), "{e}");
    }
}
