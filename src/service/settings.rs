//! Bot texts edited in the panel. The override of text `key` in `lang` is the setting
//! `text.<key>.<lang>`; [`Service::text`] reads it in place of the default. An override must
//! keep the default's `{placeholders}`, since the code fills them in.

use super::*;
use crate::domain::{texts, validate};

/// Longest text override, in characters (Telegram's message limit).
pub const MAX_TEXT_OVERRIDE: usize = validate::MAX_TEXT;

/// One bot text in one language, as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotText {
    pub key: &'static str,
    pub lang: Language,
    /// The built-in text.
    pub default: &'static str,
    /// What the bot says now: the override, or the default.
    pub value: String,
    /// Whether an override is stored.
    pub custom: bool,
    /// When the override was saved.
    pub updated_at: Option<Timestamp>,
}

/// The `{name}` placeholders of `text` (name: ASCII letters, digits, `_`), each once, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if name_len > 0 && rest[name_len..].starts_with('}') {
            let name = &rest[..name_len];
            if !out.contains(&name) {
                out.push(name);
            }
            rest = &rest[name_len + 1..];
        }
    }
    out
}

/// The known text key equal to `key`.
fn known_key(key: &str) -> Result<&'static str> {
    texts::keys()
        .find(|k| *k == key)
        .ok_or_else(|| ValidationError::new("key", format!("unknown text '{key}'")).into())
}

fn setting_key(key: &str, lang: Language) -> String {
    format!("text.{key}.{}", lang.as_str())
}

/// Checks that `value` uses exactly the placeholders of `default`, naming the first that is
/// missing or unknown.
fn same_placeholders(default: &str, value: &str) -> Result<(), ValidationError> {
    let want = placeholders(default);
    let got = placeholders(value);
    let list = || {
        want.iter()
            .map(|p| format!("{{{p}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(missing) = want.iter().find(|p| !got.contains(p)) {
        return Err(ValidationError::new(
            "text",
            format!(
                "the placeholder {{{missing}}} is missing (this text must keep {})",
                list()
            ),
        ));
    }
    if let Some(unknown) = got.iter().find(|p| !want.contains(p)) {
        let allowed = if want.is_empty() {
            "this text has none".to_string()
        } else {
            format!("allowed: {}", list())
        };
        return Err(ValidationError::new(
            "text",
            format!("unknown placeholder {{{unknown}}} ({allowed})"),
        ));
    }
    Ok(())
}

/// The first `n` characters of `s`, with `…` when cut.
fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

impl Service {
    /// Every bot text (or only `key`'s) in every language, in the order of
    /// [`texts::keys`], with its override when there is one.
    pub fn bot_texts(&self, key: Option<&str>) -> Result<Vec<BotText>> {
        let keys: Vec<&'static str> = match key {
            Some(k) => vec![known_key(k)?],
            None => texts::keys().collect(),
        };
        let tx = self.read()?;
        let mut out = Vec::with_capacity(keys.len() * Language::ALL.len());
        for key in keys {
            for lang in Language::ALL {
                let default = texts::default_text(lang, key);
                let custom = tx.setting(&setting_key(key, lang))?;
                out.push(BotText {
                    key,
                    lang,
                    default,
                    custom: custom.is_some(),
                    updated_at: custom.as_ref().map(|s| s.updated_at),
                    value: custom
                        .map(|s| s.value)
                        .unwrap_or_else(|| default.to_string()),
                });
            }
        }
        Ok(out)
    }

    /// Overrides the bot text `key` in `lang`. The value (1–4096 characters, line ends made
    /// `\n`) must keep the default's placeholders; a value equal to the default removes the
    /// override. Returns the text as it now is.
    pub fn set_text(
        &self,
        actor: &Actor,
        key: &str,
        lang: Language,
        value: &str,
    ) -> Result<BotText> {
        require(actor, Action::EditSettings, None)?;
        let key = known_key(key)?;
        let normalised = value.replace("\r\n", "\n");
        let value = validate::text("text", &normalised, 1, MAX_TEXT_OVERRIDE)?;
        let default = texts::default_text(lang, key);
        same_placeholders(default, &value)?;
        let now = self.now();
        let skey = setting_key(key, lang);
        let mut tx = self.write()?;
        let custom = value != default;
        if custom {
            tx.put_setting(&Setting {
                key: skey.clone(),
                value: value.clone(),
                updated_at: now,
            })?;
        } else {
            tx.delete_setting(&skey)?;
        }
        let detail = if custom {
            excerpt(&value, 200)
        } else {
            "same as the default: override removed".to_string()
        };
        tx.add_audit(now, actor, "text.set", skey, detail)?;
        self.commit(tx)?;
        Ok(BotText {
            key,
            lang,
            default,
            value,
            custom,
            updated_at: custom.then_some(now),
        })
    }

    /// Removes the override of `key` in `lang`, so the bot uses the default again. Returns
    /// whether there was one (when there was none, nothing is written).
    pub fn reset_text(&self, actor: &Actor, key: &str, lang: Language) -> Result<bool> {
        require(actor, Action::EditSettings, None)?;
        let key = known_key(key)?;
        let skey = setting_key(key, lang);
        let now = self.now();
        let mut tx = self.write()?;
        if !tx.delete_setting(&skey)? {
            return Ok(false);
        }
        tx.add_audit(now, actor, "text.reset", skey, String::new())?;
        self.commit(tx)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::service;

    fn admin() -> Actor {
        Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        }
    }

    fn audit_actions(svc: &Service) -> Vec<String> {
        svc.read()
            .unwrap()
            .audit_recent(100)
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect()
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders("Ticket {n}: {subject} {n}"),
            vec!["n", "subject"]
        );
        assert_eq!(placeholders("{} { x} {a-b} {{y}} {z"), vec!["y"]);
        assert!(placeholders("none").is_empty());
    }

    #[test]
    fn every_default_uses_the_same_placeholders_in_every_language() {
        for key in texts::keys() {
            let mut ru = placeholders(texts::default_text(Language::Ru, key));
            ru.sort_unstable();
            for lang in [Language::Uk, Language::En] {
                let mut p = placeholders(texts::default_text(lang, key));
                p.sort_unstable();
                assert_eq!(p, ru, "{key} in {lang:?}");
            }
        }
    }

    #[test]
    fn an_override_is_what_the_bot_says_and_reset_brings_the_default_back() {
        let t = service();
        let svc = &t.svc;
        let v = "Мы — ИТ-отдел. Звоните 123.";
        let r = svc
            .set_text(&admin(), "bot.about", Language::Ru, &format!("  {v}\r\n"))
            .unwrap();
        assert!(r.custom);
        assert_eq!(r.value, v);
        let tx = svc.read().unwrap();
        assert_eq!(svc.text(&tx, Language::Ru, "bot.about").unwrap(), v);
        assert_eq!(
            svc.text(&tx, Language::En, "bot.about").unwrap(),
            texts::default_text(Language::En, "bot.about")
        );
        drop(tx);
        let rows = svc.bot_texts(Some("bot.about")).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter()
                .any(|r| r.lang == Language::Ru && r.custom && r.value == v)
        );
        assert!(
            rows.iter()
                .filter(|r| r.lang != Language::Ru)
                .all(|r| !r.custom)
        );
        assert_eq!(
            svc.bot_texts(None).unwrap().len(),
            texts::keys().count() * 3
        );
        assert_eq!(audit_actions(svc), vec!["text.set"]);

        assert!(svc.reset_text(&admin(), "bot.about", Language::Ru).unwrap());
        let tx = svc.read().unwrap();
        assert_eq!(
            svc.text(&tx, Language::Ru, "bot.about").unwrap(),
            texts::default_text(Language::Ru, "bot.about")
        );
        drop(tx);
        assert_eq!(audit_actions(svc), vec!["text.reset", "text.set"]);
        // Nothing to reset: nothing written.
        assert!(!svc.reset_text(&admin(), "bot.about", Language::Ru).unwrap());
        assert_eq!(audit_actions(svc).len(), 2);
    }

    #[test]
    fn placeholders_must_be_kept() {
        let t = service();
        let svc = &t.svc;
        let e = svc
            .set_text(
                &admin(),
                "ticket_created",
                Language::En,
                "Ticket {n} is here.",
            )
            .unwrap_err();
        assert_eq!(e.kind(), "invalid");
        assert!(e.to_string().contains("{subject}"), "{e}");
        let e = svc
            .set_text(
                &admin(),
                "ticket_created",
                Language::En,
                "Ticket {n}: {subject} by {who}",
            )
            .unwrap_err();
        assert!(e.to_string().contains("{who}"), "{e}");
        let e = svc
            .set_text(&admin(), "bot.about", Language::En, "About {n}")
            .unwrap_err();
        assert!(e.to_string().contains("{n}"), "{e}");
        // Reordered and repeated placeholders are fine.
        svc.set_text(
            &admin(),
            "ticket_created",
            Language::En,
            "{subject} — {n} ({n})",
        )
        .unwrap();
        assert_eq!(audit_actions(svc), vec!["text.set"]);
    }

    #[test]
    fn refuses_bad_input_and_writes_nothing() {
        let t = service();
        let svc = &t.svc;
        let e = svc
            .set_text(&admin(), "no.such.key", Language::En, "x")
            .unwrap_err();
        assert_eq!(e.kind(), "invalid");
        assert!(e.to_string().contains("no.such.key"));
        assert_eq!(
            svc.set_text(&admin(), "bot.about", Language::En, "   ")
                .unwrap_err()
                .kind(),
            "invalid"
        );
        let long = "я".repeat(MAX_TEXT_OVERRIDE + 1);
        let e = svc
            .set_text(&admin(), "bot.about", Language::En, &long)
            .unwrap_err();
        assert!(e.to_string().contains("4096"), "{e}");
        let ok = "я".repeat(MAX_TEXT_OVERRIDE);
        svc.set_text(&admin(), "bot.about", Language::Uk, &ok)
            .unwrap();
        assert_eq!(
            svc.reset_text(&admin(), "nope", Language::En)
                .unwrap_err()
                .kind(),
            "invalid"
        );
        let op = Actor::Staff {
            login: "op".into(),
            role: Role::Operator,
        };
        assert_eq!(
            svc.set_text(&op, "bot.about", Language::En, "Hi")
                .unwrap_err()
                .kind(),
            "forbidden"
        );
        assert_eq!(
            svc.reset_text(&op, "bot.about", Language::Uk)
                .unwrap_err()
                .kind(),
            "forbidden"
        );
        assert_eq!(audit_actions(svc), vec!["text.set"]);
    }

    #[test]
    fn saving_the_default_removes_the_override() {
        let t = service();
        let svc = &t.svc;
        svc.set_text(&admin(), "bot.about", Language::En, "Custom")
            .unwrap();
        let d = texts::default_text(Language::En, "bot.about");
        let r = svc
            .set_text(&admin(), "bot.about", Language::En, d)
            .unwrap();
        assert!(!r.custom);
        assert!(
            svc.read()
                .unwrap()
                .setting("text.bot.about.en")
                .unwrap()
                .is_none()
        );
    }
}
