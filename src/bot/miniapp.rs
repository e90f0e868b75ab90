//! The Mini App's entry points in Telegram, when `web.public_url` is set: the chat menu button
//! (`setChatMenuButton` with a `web_app`, set once at start-up for every private chat) and an
//! inline "My tickets" button sent with the main menu. With no public URL nothing changes.

use teloxide::prelude::*;
use teloxide::types::{MenuButton, WebAppInfo};

use crate::domain::texts::default_text;
use crate::domain::{Button, Language, Markup};

/// The Mini App's address: `<web.public_url>/app`.
pub fn app_url(public_url: Option<&url::Url>) -> Option<String> {
    public_url.map(|u| format!("{}/app", u.as_str().trim_end_matches('/')))
}

/// Sets the bot's default menu button to open the Mini App (start-up; failures are logged,
/// the bot works on without it).
pub async fn set_menu_button(bot: &Bot, app_url: &str, lang: Language) {
    let Ok(url) = url::Url::parse(app_url) else {
        tracing::error!("web.public_url gives no valid Mini App URL ({app_url})");
        return;
    };
    let button = MenuButton::WebApp {
        text: default_text(lang, "btn.open_app").to_string(),
        web_app: WebAppInfo { url },
    };
    match bot.set_chat_menu_button().menu_button(button).await {
        Ok(_) => tracing::info!(%app_url, "menu button opens the Mini App"),
        Err(e) => tracing::warn!("cannot set the Mini App menu button: {e}"),
    }
}

/// The inline button that opens the Mini App, under `label`.
pub fn open_button(app_url: &str, label: String) -> Markup {
    Markup::Inline(vec![vec![Button::web_app(label, app_url)]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_url_follows_the_public_url() {
        assert_eq!(app_url(None), None);
        let u = url::Url::parse("https://help.example.com").unwrap();
        assert_eq!(
            app_url(Some(&u)).as_deref(),
            Some("https://help.example.com/app")
        );
        let u = url::Url::parse("https://help.example.com/").unwrap();
        assert_eq!(
            app_url(Some(&u)).as_deref(),
            Some("https://help.example.com/app")
        );
        match open_button("https://h.example/app", "Open".into()) {
            Markup::Inline(rows) => assert!(rows[0][0].is_web_app()),
            other => panic!("{other:?}"),
        }
    }
}
