//! Config parsing and validation: defaults, environment, and errors that name the key.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_parts(Some(Path::new("config.toml")), text, &[])
}

fn parse_env(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_parts(Some(Path::new("config.toml")), text, &env)
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().0
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(c.web.listen.to_string(), "0.0.0.0:8080");
    assert!(c.web.public_url.is_none());
    assert!(!c.bot_enabled());
    assert_eq!(c.telegram.api_url.as_str(), "https://api.telegram.org/");
    assert!(!c.smtp.enabled);
    assert_eq!(c.smtp.port, 587);
    assert_eq!(c.smtp.security, SmtpSecurity::Starttls);
    assert_eq!(
        c.archive.time,
        chrono::NaiveTime::from_hms_opt(2, 30, 0).unwrap()
    );
    assert_eq!(
        (
            c.archive.keep_daily,
            c.archive.keep_monthly,
            c.archive.keep_yearly
        ),
        (14, 12, 5)
    );
    assert_eq!(c.ui.language, Language::Ru);
    assert_eq!(c.ui.timezone, chrono_tz::Europe::Moscow);
}

#[test]
fn the_shipped_config_toml_parses_to_the_defaults() {
    let text = include_str!("../../config.toml");
    let c = parse(text).unwrap();
    let d = parse("").unwrap();
    assert_eq!(format!("{:?}", c.storage), format!("{:?}", d.storage));
    assert_eq!(format!("{:?}", c.web), format!("{:?}", d.web));
    assert_eq!(format!("{:?}", c.telegram), format!("{:?}", d.telegram));
    assert_eq!(format!("{:?}", c.smtp), format!("{:?}", d.smtp));
    assert_eq!(format!("{:?}", c.archive), format!("{:?}", d.archive));
    assert_eq!(format!("{:?}", c.ui), format!("{:?}", d.ui));
    assert_eq!(format!("{:?}", c.log), format!("{:?}", d.log));
    assert_eq!(c.sla, d.sla);
    assert_eq!(format!("{:?}", c.reports), format!("{:?}", d.reports));
    assert_eq!(format!("{:?}", c.health), format!("{:?}", d.health));
    assert_eq!(format!("{:?}", c.bot), format!("{:?}", d.bot));
    assert!(c.sla.is_some());
    assert!(c.onec.is_none() && d.onec.is_none());
    // The documented [onec] keys are the defaults, once the pull is turned on.
    let on = "[onec]\nurl = \"https://1c.local/trade\"\n";
    let with_file =
        parse(&text.replace("\nurl = \"\"\n", "\nurl = \"https://1c.local/trade\"\n")).unwrap();
    let with_defaults = parse(on).unwrap();
    assert_eq!(
        format!("{:?}", with_file.onec),
        format!("{:?}", with_defaults.onec)
    );
}

#[test]
fn onec_pull_is_validated_and_its_password_never_quoted() {
    let c = parse_env(
        "[onec]\nurl = \"http://1c.local/trade/\"\nusername = \"robot\"\n",
        &[("HELPDESK_ONEC_PASSWORD", "from-env-1")],
    )
    .unwrap();
    let o = c.onec.unwrap();
    assert_eq!(o.url.as_str(), "http://1c.local/trade/odata/standard.odata");
    assert_eq!(o.password.expose(), "from-env-1");
    assert_eq!(
        o.balance_entity,
        "AccumulationRegister_ТоварыНаСкладах/Balance"
    );
    assert_eq!(
        (o.item_field.as_str(), o.quantity_field.as_str()),
        ("Номенклатура_Key", "ВНаличииBalance")
    );
    assert_eq!(o.timeout, std::time::Duration::from_secs(60));
    assert!(!format!("{o:?}").contains("from-env-1"));
    let full = parse("[onec]\nurl = \"https://h/b/odata/standard.odata/\"\n").unwrap();
    assert_eq!(
        full.onec.unwrap().url.as_str(),
        "https://h/b/odata/standard.odata"
    );

    for (text, key, line) in [
        ("[onec]\nurl = \"ftp://h/b\"\n", "onec.url", 2),
        ("[onec]\nurl = \"not a url\"\n", "onec.url", 2),
        ("[onec]\nurl = \"http://h/b?x=1\"\n", "onec.url", 2),
        (
            "[onec]\nurl = \"http://h/b\"\nusername = \"u\"\n",
            "onec.password",
            0,
        ),
        (
            "[onec]\nurl = \"http://h/b\"\ntimeout_seconds = 0\n",
            "onec.timeout_seconds",
            3,
        ),
        (
            "[onec]\nurl = \"http://h/b\"\ninterval_minutes = 99999\n",
            "onec.interval_minutes",
            3,
        ),
        (
            "[onec]\nurl = \"http://h/b\"\nquantity_field = \" \"\n",
            "onec.quantity_field",
            3,
        ),
        (
            "[onec]\nurl = \"http://h/b\"\nbalance_entity = \"/x?y\"\n",
            "onec.balance_entity",
            3,
        ),
    ] {
        let e = err(text);
        assert!(e.contains(key), "{text:?}: {e}");
        if line > 0 {
            assert!(e.contains(&format!("line {line}")), "{text:?}: {e}");
        }
    }
    // A password in the URL is refused without quoting it; a badly typed password too.
    let e = err("[onec]\nurl = \"http://u:secret-in-url@h/b\"\n");
    assert!(
        e.contains("onec.url") && !e.contains("secret-in-url"),
        "{e}"
    );
    let e = err("[onec]\npassword = 123456789\n");
    assert!(
        e.contains("onec.password") && !e.contains("123456789"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = err("[web]\nlisten = \"127.0.0.1:1\"\nlisten_port = 9\n");
    assert!(e.contains("line 3"), "{e}");
    assert!(e.contains("web.listen_port"), "{e}");
    let e = err("[nonsense]\nx = 1\n");
    assert!(e.contains("nonsense"), "{e}");
}

#[test]
fn bad_values_are_named_with_their_key_and_line() {
    let cases = [
        ("[web]\nlisten = \"localhost\"\n", "web.listen", 2),
        ("[archive]\n\ntime = \"25:99\"\n", "archive.time", 3),
        ("[ui]\ntimezone = \"Mars/Olympus\"\n", "ui.timezone", 2),
        ("[ui]\nlanguage = \"de\"\n", "ui.language", 2),
        ("[telegram]\ntoken = \"nope\"\n", "telegram.token", 2),
        (
            "[telegram]\nstaff_chat_id = 5\n",
            "telegram.staff_chat_id",
            2,
        ),
        (
            "[web]\npublic_url = \"http://example.org\"\n",
            "web.public_url",
            2,
        ),
        ("[smtp]\nfrom = \"not-an-address\"\n", "smtp.from", 2),
        ("[log]\nkeep_days = 0\n", "log.keep_days", 2),
    ];
    for (text, key, line) in cases {
        let e = err(text);
        assert!(e.contains(key), "{text:?}: {e}");
        assert!(e.contains(&format!("line {line}")), "{text:?}: {e}");
    }
}

#[test]
fn wrong_types_and_syntax_are_refused_with_a_line() {
    let e = err("[smtp]\nport = \"five\"\n");
    assert!(e.contains("port") || e.contains("line 2"), "{e}");
    let e = err("[smtp]\nsecurity = \"ssl\"\n");
    assert!(e.contains("ssl") || e.contains("security"), "{e}");
    let e = err("[web\nlisten=1");
    assert!(e.contains("line 1"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn environment_overrides_and_is_named_in_errors() {
    let c = parse_env(
        "[web]\nlisten = \"0.0.0.0:1\"\n",
        &[
            ("HELPDESK_WEB_LISTEN", "127.0.0.1:9999"),
            (
                "HELPDESK_TELEGRAM_TOKEN",
                "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            ("HELPDESK_SMTP_PASSWORD", "pw"),
            ("HELPDESK_TELEGRAM_SUPERADMINS", "1, 2"),
            ("HELPDESK_SMTP_ENABLED", "true"),
        ],
    )
    .unwrap();
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:9999");
    assert!(c.bot_enabled());
    assert_eq!(c.smtp.password.expose(), "pw");
    assert_eq!(c.telegram.superadmins, vec![1, 2]);
    assert!(c.smtp.enabled);
    let e = parse_env("", &[("HELPDESK_SMTP_PORT", "x")]).unwrap_err().0;
    assert!(e.contains("HELPDESK_SMTP_PORT"), "{e}");
    let e = parse_env("", &[("HELPDESK_UI_TIMEZONE", "Nowhere")])
        .unwrap_err()
        .0;
    assert!(
        e.contains("HELPDESK_UI_TIMEZONE") && e.contains("ui.timezone"),
        "{e}"
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let c = parse_env(
        "",
        &[(
            "HELPDESK_TELEGRAM_TOKEN",
            "123456:SECRETSECRETSECRETSECRETSECRETSECRET",
        )],
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("SECRETSECRET"), "{dbg}");
    assert_eq!(c.telegram.token.masked(), "********CRET");
}

#[test]
fn business_hours_and_sla_are_checked() {
    for (text, key) in [
        (
            "[business_hours]\ndays = [\"mon\", \"funday\"]\n",
            "business_hours.days",
        ),
        ("[business_hours]\ndays = []\n", "business_hours.days"),
        (
            "[business_hours]\nstart = \"18:00\"\nend = \"09:00\"\n",
            "business_hours.end",
        ),
        (
            "[business_hours]\nholidays = [\"2027-02-30\"]\n",
            "business_hours.holidays",
        ),
        ("[sla]\nremind_at_percent = 0\n", "sla.remind_at_percent"),
        (
            "[sla]\nhigh_resolve_minutes = 10\n",
            "sla.high_resolve_minutes",
        ),
        (
            "[reports]\ndigest_times = [\"25:00\"]\n",
            "reports.digest_times",
        ),
        (
            "[health]\ninterval_minutes = 0\n",
            "health.interval_minutes",
        ),
    ] {
        let e = err(text);
        assert!(e.contains(key), "{text:?}: {e}");
    }
    // Overlapping holiday lists are fine.
    let c = parse("[business_hours]\nholidays = [\"2027-01-01\", \"2027-01-01\"]\n").unwrap();
    assert_eq!(c.sla.unwrap().calendar.holidays.len(), 1);
    assert!(parse("[sla]\nenabled = false\n").unwrap().sla.is_none());
    let c = parse_env(
        "",
        &[("HELPDESK_BUSINESS_HOURS_HOLIDAYS", "2027-01-01, 2027-01-07")],
    )
    .unwrap();
    assert_eq!(c.sla.unwrap().calendar.holidays.len(), 2);
}

#[test]
fn miniapp_max_age_defaults_to_a_day_and_is_bounded() {
    assert_eq!(parse("").unwrap().web.miniapp_max_age, 86_400);
    assert_eq!(
        parse("[web]\nminiapp_max_age = 3600\n")
            .unwrap()
            .web
            .miniapp_max_age,
        3600
    );
    let e = err("[web]\nminiapp_max_age = 5\n");
    assert!(
        e.contains("line 2") && e.contains("web.miniapp_max_age"),
        "{e}"
    );
    let e = err("[web]\nminiapp_max_age = 9999999\n");
    assert!(e.contains("web.miniapp_max_age"), "{e}");
    let c = parse_env("", &[("HELPDESK_WEB_MINIAPP_MAX_AGE", "600")]).unwrap();
    assert_eq!(c.web.miniapp_max_age, 600);
}

#[test]
fn webhook_mode_keys_are_checked() {
    const T: &str = "token = \"123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n";
    let c = parse("").unwrap();
    assert_eq!(c.telegram.mode, BotMode::Polling);
    assert!(c.telegram.webhook_secret.is_empty());
    let c = parse(&format!(
        "[web]\npublic_url = \"https://help.example.org\"\n[telegram]\n{T}mode = \"webhook\"\nwebhook_secret = \"s3cret_-X\"\n"
    ))
    .unwrap();
    assert_eq!(c.telegram.mode, BotMode::Webhook);
    assert_eq!(c.telegram.webhook_secret.expose(), "s3cret_-X");
    assert!(!format!("{c:?}").contains("s3cret_-X"), "never printed");
    // The secret from the environment.
    let c = parse_env(
        &format!("[web]\npublic_url = \"https://h.example\"\n[telegram]\n{T}mode = \"webhook\"\n"),
        &[("HELPDESK_TELEGRAM_WEBHOOK_SECRET", "from_env")],
    )
    .unwrap();
    assert_eq!(c.telegram.webhook_secret.expose(), "from_env");
    // Loopback http is the one exception to https (local tests).
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:2",
    ] {
        let c = parse(&format!("[web]\npublic_url = \"{ok}\"\n")).unwrap();
        assert!(c.web.public_url.is_some(), "{ok}");
    }
    let cases = [
        (
            format!("[telegram]\n{T}mode = \"push\"\n"),
            "telegram.mode",
            3,
        ),
        (
            format!("[telegram]\n{T}mode = \"webhook\"\n"),
            "telegram.mode",
            3,
        ),
        (
            "[telegram]\nwebhook_secret = \"has space\"\n".to_string(),
            "telegram.webhook_secret",
            2,
        ),
        (
            format!("[telegram]\nwebhook_secret = \"{}\"\n", "a".repeat(257)),
            "telegram.webhook_secret",
            2,
        ),
        (
            "[web]\npublic_url = \"http://10.0.0.5\"\n".to_string(),
            "web.public_url",
            2,
        ),
    ];
    for (text, key, line) in cases {
        let e = err(&text);
        assert!(e.contains(key), "{text:?}: {e}");
        assert!(e.contains(&format!("line {line}")), "{text:?}: {e}");
    }
    assert!(err(&format!("[telegram]\n{T}mode = \"webhook\"\n")).contains("web.public_url"));
}

#[test]
fn a_world_readable_config_with_any_secret_is_warned_about_without_quoting_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    for (text, secret) in [
        (
            "[telegram]\nwebhook_secret = \"only_this_one\"\n",
            "only_this_one",
        ),
        ("[smtp]\npassword = \"pw-123456\"\n", "pw-123456"),
        (
            "[onec]\nurl = \"http://1c.local/ut\"\nusername = \"u\"\npassword = \"1c-pass-789\"\n",
            "1c-pass-789",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cfg = parse(text).unwrap();
        let w = super::permission_warning(&path, &cfg).expect("a warning");
        assert!(w.contains("chmod 600") && !w.contains(secret), "{w}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(super::permission_warning(&path, &cfg).is_none());
    }
}

/// Found by `tests/fuzz.rs` (config_text_and_env): a value with a line break (from the
/// environment, or a TOML escape) was quoted as is and the error took several lines.
#[test]
fn fuzz_regression_errors_stay_on_one_line() {
    let e = parse_env("", &[("HELPDESK_SMTP_ENABLED", "yes\nno")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "environment variable HELPDESK_SMTP_ENABLED: smtp.enabled: 'yes\\nno' is not true or false"
    );
    let e = parse("[web]\nlisten = \"0.0.0.0\\n\\t:80\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        !e.contains('\n') && !e.contains('\t') && e.contains("web.listen"),
        "{e}"
    );
}

/// Found by `tests/fuzz.rs` (config_text_and_env): a key written on its section header's line
/// (`[telegram] token = "…"`) made the whole line the section's name, and the syntax error
/// quoted it, secret included.
#[test]
fn fuzz_regression_header_line_with_a_secret_is_not_quoted() {
    let e = parse("[telegram] token = \"1:SeCrEt0123456789\"\n")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("SeCrEt"), "{e}");
    assert!(e.contains("line 1"), "{e}");
    let e = parse("[telegramtoken = \"1:SeCrEt0123456789\"\n")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("SeCrEt"), "{e}");
    // A key missing its '=' on a line that has one further on.
    let e = parse("[telegram]\nwebhook_secret  \"SeCrEt0123456789\" mode = \"webhook\"\n")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("SeCrEt") && e.contains("line 2"), "{e}");
}
