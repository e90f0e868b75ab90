//! Telegram Mini App launch data (`initData`) checked exactly as Telegram documents it
//! (core.telegram.org/bots/webapps, "Validating data received via the Mini App"):
//!
//! 1. the query string is split into `key=value` pairs, values URL-decoded; every key may
//!    appear once;
//! 2. `hash` is taken out; every other pair (including `signature`, which newer clients add)
//!    is sorted by key and joined as `key=value` lines separated by `\n` — the data-check
//!    string;
//! 3. `secret = HMAC_SHA256(key = "WebAppData", msg = bot_token)`;
//! 4. the data is genuine when `HMAC_SHA256(key = secret, msg = data_check_string)` equals
//!    `hash` (compared in constant time).
//!
//! Telegram sets no expiry, so `auth_date` must lie within a configured window
//! (`web.miniapp_max_age`) and not in the future (beyond a small clock skew).
//!
//! Pure code: no I/O, the current time is passed in.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest `initData` accepted (Telegram's are well under 1 KiB).
pub const MAX_INIT_DATA: usize = 8 * 1024;
/// How far in the future `auth_date` may be (clocks differ a little).
pub const CLOCK_SKEW: i64 = 60;

/// The Telegram user who opened the Mini App, as `initData` describes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebAppUser {
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
}

/// Launch data whose signature and age were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitData {
    pub user: WebAppUser,
    /// Unix seconds when Telegram signed it.
    pub auth_date: i64,
    /// Every field as sent (URL-decoded), `hash` excluded.
    pub fields: BTreeMap<String, String>,
}

/// Why launch data was refused. The texts name the problem, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitDataError {
    /// Empty, too long, or not a query string.
    Malformed(String),
    /// A key appears more than once.
    DuplicateKey(String),
    /// There is no `hash` field.
    MissingHash,
    /// The signature does not match (forged, tampered, or for another bot).
    BadSignature,
    /// `auth_date` is missing or not a number.
    NoAuthDate,
    /// Signed longer ago than the window allows.
    Stale { age: i64, max_age: u64 },
    /// Signed in the future.
    Future,
    /// No `user` field, or not a user object.
    NoUser,
}

impl fmt::Display for InitDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitDataError::Malformed(why) => write!(f, "initData is malformed: {why}"),
            // The key is the client's text: escaped, so the message stays on one line.
            InitDataError::DuplicateKey(k) => {
                write!(f, "initData repeats the field '{}'", k.escape_debug())
            }
            InitDataError::MissingHash => write!(f, "initData has no hash"),
            InitDataError::BadSignature => write!(f, "initData signature is not valid"),
            InitDataError::NoAuthDate => write!(f, "initData has no valid auth_date"),
            InitDataError::Stale { age, max_age } => write!(
                f,
                "initData is too old ({age} s, at most {max_age} s allowed): reopen the app"
            ),
            InitDataError::Future => write!(f, "initData auth_date is in the future"),
            InitDataError::NoUser => write!(f, "initData carries no user"),
        }
    }
}

impl std::error::Error for InitDataError {}

/// Splits `init_data` into URL-decoded pairs, refusing repeated keys.
fn pairs(init_data: &str) -> Result<BTreeMap<String, String>, InitDataError> {
    if init_data.is_empty() {
        return Err(InitDataError::Malformed("empty".into()));
    }
    if init_data.len() > MAX_INIT_DATA {
        return Err(InitDataError::Malformed(format!(
            "longer than {MAX_INIT_DATA} bytes"
        )));
    }
    let mut out = BTreeMap::new();
    for part in init_data.split('&') {
        if !part.contains('=') {
            return Err(InitDataError::Malformed("a field without '='".into()));
        }
        let (k, v) = url::form_urlencoded::parse(part.as_bytes())
            .next()
            .ok_or_else(|| InitDataError::Malformed("an empty field".into()))?;
        if k.is_empty() {
            return Err(InitDataError::Malformed("a field without a name".into()));
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(InitDataError::DuplicateKey(k.into_owned()));
        }
    }
    Ok(out)
}

/// The data-check string of `fields` (which must not contain `hash`).
pub fn data_check_string(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn keyed(bot_token: &str) -> HmacSha256 {
    let secret = HmacSha256::new_from_slice(b"WebAppData")
        .expect("HMAC takes any key length")
        .chain_update(bot_token.as_bytes())
        .finalize()
        .into_bytes();
    HmacSha256::new_from_slice(&secret).expect("HMAC takes any key length")
}

/// The hex signature Telegram would give `fields` for `bot_token`.
pub fn sign(fields: &BTreeMap<String, String>, bot_token: &str) -> String {
    hex::encode(
        keyed(bot_token)
            .chain_update(data_check_string(fields).as_bytes())
            .finalize()
            .into_bytes(),
    )
}

/// Checks the signature only (no age, no user): the fields without `hash` when genuine.
pub fn verify_signature(
    init_data: &str,
    bot_token: &str,
) -> Result<BTreeMap<String, String>, InitDataError> {
    let mut fields = pairs(init_data)?;
    let hash = fields.remove("hash").ok_or(InitDataError::MissingHash)?;
    let Ok(expected) = hex::decode(hash.trim()) else {
        return Err(InitDataError::BadSignature);
    };
    if bot_token.is_empty() {
        return Err(InitDataError::BadSignature);
    }
    keyed(bot_token)
        .chain_update(data_check_string(&fields).as_bytes())
        .verify_slice(&expected)
        .map_err(|_| InitDataError::BadSignature)?;
    Ok(fields)
}

/// Checks signature, age (`now - max_age ..= now + CLOCK_SKEW`) and the user.
pub fn validate(
    init_data: &str,
    bot_token: &str,
    now: i64,
    max_age: u64,
) -> Result<InitData, InitDataError> {
    let fields = verify_signature(init_data, bot_token)?;
    let auth_date: i64 = fields
        .get("auth_date")
        .and_then(|v| v.trim().parse().ok())
        .ok_or(InitDataError::NoAuthDate)?;
    // auth_date is whatever the client sent: no arithmetic here may overflow (i64::MIN).
    if auth_date > now.saturating_add(CLOCK_SKEW) {
        return Err(InitDataError::Future);
    }
    let age = i128::from(now) - i128::from(auth_date);
    if age > i128::from(max_age) {
        return Err(InitDataError::Stale {
            age: i64::try_from(age).unwrap_or(i64::MAX),
            max_age,
        });
    }
    let user: WebAppUser = fields
        .get("user")
        .and_then(|u| serde_json::from_str(u).ok())
        .ok_or(InitDataError::NoUser)?;
    Ok(InitData {
        user,
        auth_date,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Telegram's public example (see /work/shared/FACTS.md).
    const PUBLIC_TOKEN: &str = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8";
    const PUBLIC_DATA: &str = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648";
    const PUBLIC_HASH: &str = "c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2";
    const PUBLIC_AUTH: i64 = 1_662_771_648;

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
    const NOW: i64 = 1_750_000_000;
    const DAY: u64 = 86_400;

    fn public() -> String {
        format!("{PUBLIC_DATA}&hash={PUBLIC_HASH}")
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    /// initData for `fields`, signed for `token`, in the order given (hash last).
    fn signed(fields: &[(&str, &str)], token: &str) -> String {
        let map: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut q: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        q.push(format!("hash={}", sign(&map, token)));
        q.join("&")
    }

    fn user_json() -> &'static str {
        r#"{"id":1001,"first_name":"Иван","last_name":"Петров","language_code":"ru"}"#
    }

    fn fresh(auth_date: i64) -> String {
        signed(
            &[
                ("query_id", "AAH1"),
                ("user", user_json()),
                ("auth_date", &auth_date.to_string()),
            ],
            TOKEN,
        )
    }

    #[test]
    fn telegrams_public_vector_is_valid() {
        let d = validate(&public(), PUBLIC_TOKEN, PUBLIC_AUTH + 10, DAY).unwrap();
        assert_eq!(d.user.id, 279_058_397);
        assert_eq!(d.user.first_name, "Vladislav");
        assert_eq!(d.user.language_code.as_deref(), Some("ru"));
        assert_eq!(d.auth_date, PUBLIC_AUTH);
        // The signature we compute for it is Telegram's.
        let mut fields = pairs(PUBLIC_DATA).unwrap();
        assert_eq!(sign(&fields, PUBLIC_TOKEN), PUBLIC_HASH);
        fields.remove("query_id");
        assert_ne!(sign(&fields, PUBLIC_TOKEN), PUBLIC_HASH);
        // Field order in the query string does not matter (the check string is sorted).
        let shuffled = format!(
            "hash={PUBLIC_HASH}&auth_date={PUBLIC_AUTH}&{}",
            PUBLIC_DATA.split("&auth_date").next().unwrap()
        );
        assert!(validate(&shuffled, PUBLIC_TOKEN, PUBLIC_AUTH, DAY).is_ok());
    }

    #[test]
    fn the_public_vector_is_stale_today_and_refused_with_another_token() {
        assert!(matches!(
            validate(&public(), PUBLIC_TOKEN, PUBLIC_AUTH + DAY as i64 + 1, DAY),
            Err(InitDataError::Stale { .. })
        ));
        assert_eq!(
            validate(&public(), TOKEN, PUBLIC_AUTH, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn computed_vector_is_valid() {
        let d = validate(&fresh(NOW - 5), TOKEN, NOW, DAY).unwrap();
        assert_eq!(d.user.id, 1001);
        assert_eq!(d.user.first_name, "Иван");
        assert_eq!(d.fields.get("query_id").map(String::as_str), Some("AAH1"));
        assert!(!d.fields.contains_key("hash"));
    }

    #[test]
    fn a_tampered_field_is_refused() {
        let good = fresh(NOW);
        let bad = good.replace("%22id%22%3A1001", "%22id%22%3A1002");
        assert_ne!(good, bad, "the user id was changed");
        assert_eq!(
            validate(&bad, TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
        // An added field breaks the signature too.
        assert_eq!(
            validate(&format!("{good}&extra=1"), TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
        // So does a changed hash.
        let flipped = if good.ends_with('0') {
            format!("{}1", &good[..good.len() - 1])
        } else {
            format!("{}0", &good[..good.len() - 1])
        };
        assert_eq!(
            validate(&flipped, TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn a_wrong_token_is_refused() {
        let other = "987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
        assert_eq!(
            validate(&fresh(NOW), other, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
        assert_eq!(
            validate(&fresh(NOW), "", NOW, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn a_missing_or_garbled_hash_is_refused() {
        let good = fresh(NOW);
        let no_hash = good.split("&hash=").next().unwrap();
        assert_eq!(
            validate(no_hash, TOKEN, NOW, DAY),
            Err(InitDataError::MissingHash)
        );
        assert_eq!(
            validate(&format!("{no_hash}&hash=zz"), TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
        assert_eq!(
            validate(&format!("{no_hash}&hash="), TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let good = fresh(NOW);
        // A second user after the signed one: refused rather than one of them picked.
        let dup = format!("{good}&user={}", enc(r#"{"id":1,"first_name":"Mallory"}"#));
        assert_eq!(
            validate(&dup, TOKEN, NOW, DAY),
            Err(InitDataError::DuplicateKey("user".into()))
        );
        let dup_hash = format!("{good}&hash=00");
        assert_eq!(
            validate(&dup_hash, TOKEN, NOW, DAY),
            Err(InitDataError::DuplicateKey("hash".into()))
        );
    }

    #[test]
    fn stale_and_future_auth_dates_are_refused() {
        assert!(validate(&fresh(NOW - DAY as i64), TOKEN, NOW, DAY).is_ok());
        assert_eq!(
            validate(&fresh(NOW - DAY as i64 - 1), TOKEN, NOW, DAY),
            Err(InitDataError::Stale {
                age: DAY as i64 + 1,
                max_age: DAY
            })
        );
        assert!(validate(&fresh(NOW - 120), TOKEN, NOW, 60).is_err());
        assert!(validate(&fresh(NOW + CLOCK_SKEW), TOKEN, NOW, DAY).is_ok());
        assert_eq!(
            validate(&fresh(NOW + 3600), TOKEN, NOW, DAY),
            Err(InitDataError::Future)
        );
    }

    /// Found by `tests/fuzz.rs` (init_data_signed): a genuinely signed `auth_date` of
    /// i64::MIN overflowed `now - auth_date` (a panic in debug builds, a wrong age in release).
    #[test]
    fn fuzz_regression_extreme_auth_date_is_refused_without_overflow() {
        let min = fresh(i64::MIN);
        assert!(matches!(
            validate(&min, TOKEN, NOW, DAY),
            Err(InitDataError::Stale { age: i64::MAX, .. })
        ));
        assert_eq!(
            validate(&fresh(i64::MAX), TOKEN, NOW, DAY),
            Err(InitDataError::Future)
        );
        // A clock at the far end of time does not overflow either, and the age stays exact.
        assert!(validate(&fresh(NOW), TOKEN, i64::MAX, u64::MAX).is_ok());
        assert!(matches!(
            validate(&fresh(-NOW), TOKEN, i64::MAX, i64::MAX as u64),
            Err(InitDataError::Stale { age: i64::MAX, .. })
        ));
    }

    /// Found by `tests/fuzz.rs` (init_data_raw): a repeated key holding a line break was
    /// quoted as is, and the refusal took several lines.
    #[test]
    fn fuzz_regression_duplicate_key_message_is_one_line() {
        let e = validate("a%0D%0A=1&a%0D%0A=2", TOKEN, NOW, DAY).unwrap_err();
        assert_eq!(e.to_string(), "initData repeats the field 'a\\r\\n'");
    }

    #[test]
    fn signature_field_stays_in_the_check_string() {
        let with_sig = signed(
            &[
                ("auth_date", &NOW.to_string()),
                ("signature", "abc_DEF-123"),
                ("user", user_json()),
            ],
            TOKEN,
        );
        assert!(validate(&with_sig, TOKEN, NOW, DAY).is_ok());
        // Dropping it breaks the signature: it was part of what was signed.
        let without = with_sig.replace("&signature=abc_DEF-123", "");
        assert_eq!(
            validate(&without, TOKEN, NOW, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn malformed_data_and_missing_parts_are_refused() {
        assert!(matches!(
            validate("", TOKEN, NOW, DAY),
            Err(InitDataError::Malformed(_))
        ));
        assert!(matches!(
            validate("garbage", TOKEN, NOW, DAY),
            Err(InitDataError::Malformed(_))
        ));
        assert!(matches!(
            validate(&"a=b&".repeat(3000), TOKEN, NOW, DAY),
            Err(InitDataError::Malformed(_))
        ));
        let no_user = signed(&[("auth_date", &NOW.to_string())], TOKEN);
        assert_eq!(
            validate(&no_user, TOKEN, NOW, DAY),
            Err(InitDataError::NoUser)
        );
        let no_date = signed(&[("user", user_json())], TOKEN);
        assert_eq!(
            validate(&no_date, TOKEN, NOW, DAY),
            Err(InitDataError::NoAuthDate)
        );
        let bad_user = signed(
            &[("auth_date", &NOW.to_string()), ("user", "not json")],
            TOKEN,
        );
        assert_eq!(
            validate(&bad_user, TOKEN, NOW, DAY),
            Err(InitDataError::NoUser)
        );
    }

    #[test]
    fn errors_never_show_the_token() {
        let e = validate(&fresh(NOW), "987654321:SECRETSECRETSECRET", NOW, DAY).unwrap_err();
        assert!(!e.to_string().contains("SECRET"));
    }
}
