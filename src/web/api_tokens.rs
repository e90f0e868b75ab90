//! Panel area `/api-tokens` (admins): the REST API's bearer tokens — list with scope, creator,
//! creation, last use and revocation; create (the secret is shown once, on the answer to the
//! form, never in a URL and never again); revoke. Both changes go through the service with
//! their audit entries.

use std::collections::HashMap;

use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{self, allow, csrf, either, field, html as page, redirect};
use super::panel::StaffSession;
use super::{AppState, blocking, views};
use crate::domain::{Action, Actor, ApiScope, ApiToken, Language, Timestamp};

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "API-токены", "API-токени", "API tokens"),
    (
        "intro",
        "Токены для скриптов и интеграций: заголовок «Authorization: Bearer <токен>» в запросах к /api/v1. Описание API:",
        "Токени для скриптів та інтеграцій: заголовок «Authorization: Bearer <токен>» у запитах до /api/v1. Опис API:",
        "Tokens for scripts and integrations: send 'Authorization: Bearer <token>' with requests to /api/v1. API description:",
    ),
    ("name", "Название", "Назва", "Name"),
    ("scope", "Права", "Права", "Scope"),
    ("scope.read", "только чтение", "лише читання", "read only"),
    (
        "scope.read-write",
        "чтение и запись",
        "читання й запис",
        "read and write",
    ),
    ("create", "Создать токен", "Створити токен", "Create token"),
    ("token", "Токен", "Токен", "Token"),
    ("created", "Создан", "Створено", "Created"),
    ("by", "Кем", "Ким", "By"),
    ("last_used", "Использован", "Використано", "Last used"),
    ("state", "Состояние", "Стан", "State"),
    ("active", "действует", "діє", "active"),
    ("revoked", "отозван", "відкликано", "revoked"),
    ("revoke", "Отозвать", "Відкликати", "Revoke"),
    ("never", "никогда", "ніколи", "never"),
    ("none", "Токенов нет.", "Токенів немає.", "No tokens."),
    (
        "shown_once",
        "Скопируйте токен сейчас: он показывается один раз и нигде не хранится.",
        "Скопіюйте токен зараз: він показується один раз і ніде не зберігається.",
        "Copy the token now: it is shown once and stored nowhere.",
    ),
];

fn tr(lang: Language, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, ru, uk, en)| match lang {
            Language::Ru => *ru,
            Language::Uk => *uk,
            Language::En => *en,
        })
        .unwrap_or("?")
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let s = || common::with_state(state.clone()).and(common::session(state.clone()));
    let list = warp::path!("api-tokens")
        .and(warp::get())
        .and(s())
        .then(list);
    let create = warp::path!("api-tokens")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(create);
    let revoke = warp::path!("api-tokens" / "revoke")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(revoke);
    list.or(create).unify().or(revoke).unify().boxed()
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

/// What the page shows besides the list.
#[derive(Default)]
struct Notice<'a> {
    /// A token just created: (name, secret).
    created: Option<(&'a str, &'a str)>,
    error: Option<&'a str>,
    /// The form as typed (after an error).
    form: Option<&'a HashMap<String, String>>,
}

async fn load(state: &AppState, s: &StaffSession) -> Result<Vec<ApiToken>, Response> {
    let svc = state.service.clone();
    let actor = actor(s);
    blocking(move || svc.api_tokens(&actor))
        .await
        .map_err(|e| common::service_error(s, &e))
}

async fn list(state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::ManageApiTokens)?;
            let tokens = load(&state, &s).await?;
            Ok(page(
                view(&s, &tokens, state.tz, Notice::default()),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

async fn create(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageApiTokens)?;
            let name = field(&form, "name").to_string();
            let result = match ApiScope::parse(field(&form, "scope")) {
                None => Err(crate::service::ServiceError::Invalid(
                    crate::domain::ValidationError::new("scope", "choose read or read-write"),
                )),
                Some(scope) => {
                    let svc = state.service.clone();
                    let actor = actor(&s);
                    blocking(move || svc.create_api_token(&actor, &name, scope)).await
                }
            };
            match result {
                Ok((secret, token)) => {
                    let tokens = load(&state, &s).await?;
                    let notice = Notice {
                        created: Some((&token.name, &secret)),
                        ..Default::default()
                    };
                    Ok(page(view(&s, &tokens, state.tz, notice), StatusCode::OK))
                }
                Err(e) if matches!(e.kind(), "invalid" | "conflict") => {
                    let tokens = load(&state, &s).await?;
                    let msg = e.to_string();
                    let notice = Notice {
                        error: Some(&msg),
                        form: Some(&form),
                        ..Default::default()
                    };
                    Err(page(
                        view(&s, &tokens, state.tz, notice),
                        common::status_of(&e),
                    ))
                }
                Err(e) => Err(common::service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn revoke(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            let name = field(&form, "name").to_string();
            let svc = state.service.clone();
            let actor = actor(&s);
            blocking(move || svc.revoke_api_token(&actor, &name))
                .await
                .map_err(|e| common::service_error(&s, &e))?;
            Ok(redirect("/api-tokens"))
        }
        .await,
    )
}

fn fmt_time(t: Option<Timestamp>, tz: chrono_tz::Tz, lang: Language) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| tr(lang, "never").to_string())
}

fn view(s: &StaffSession, tokens: &[ApiToken], tz: chrono_tz::Tz, n: Notice<'_>) -> Markup {
    let lang = s.lang();
    let typed = |k: &str| n.form.and_then(|f| f.get(k)).cloned().unwrap_or_default();
    let body = html! {
        h1 { (tr(lang, "title")) }
        p.muted { (tr(lang, "intro")) " " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } }
        @if let Some((name, secret)) = n.created {
            div.card.notice #new-token {
                p { b { (name) } ": " (tr(lang, "shown_once")) }
                pre #secret { (secret) }
            }
        }
        @if let Some(e) = n.error { p.error role="alert" { (e) } }
        form.card method="post" action="/api-tokens" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="name" { (tr(lang, "name")) }
            input #name type="text" name="name" value=(typed("name")) maxlength="64" required pattern="[A-Za-z0-9._\\-]+";
            label for="scope" { (tr(lang, "scope")) }
            select #scope name="scope" {
                @for sc in ApiScope::ALL {
                    option value=(sc.as_str()) selected[typed("scope") == sc.as_str()] { (tr(lang, &format!("scope.{}", sc.as_str()))) }
                }
            }
            button type="submit" { (tr(lang, "create")) }
        }
        div.card {
            table #tokens {
                thead { tr {
                    th { (tr(lang, "name")) } th { (tr(lang, "scope")) } th { (tr(lang, "token")) }
                    th { (tr(lang, "created")) } th { (tr(lang, "by")) } th { (tr(lang, "last_used")) }
                    th { (tr(lang, "state")) } th {}
                } }
                tbody {
                    @for tk in tokens {
                        tr {
                            td { (tk.name) }
                            td { (tr(lang, &format!("scope.{}", tk.scope.as_str()))) }
                            td { code { (tk.prefix) "…" } }
                            td { (fmt_time(Some(tk.created_at), tz, lang)) }
                            td { (tk.created_by) }
                            td { (fmt_time(tk.last_used_at, tz, lang)) }
                            td {
                                @if let Some(at) = tk.revoked_at {
                                    span.error { (tr(lang, "revoked")) " " (fmt_time(Some(at), tz, lang)) }
                                } @else {
                                    (tr(lang, "active"))
                                }
                            }
                            td {
                                @if tk.revoked_at.is_none() {
                                    form.inline method="post" action="/api-tokens/revoke" {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        input type="hidden" name="name" value=(tk.name);
                                        button type="submit" { (tr(lang, "revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if tokens.is_empty() { p.muted { (tr(lang, "none")) } }
        }
    };
    views::layout(lang, tr(lang, "title"), Some((&s.staff, &s.csrf)), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_there_in_three_languages() {
        let src = include_str!("api_tokens.rs");
        for part in src.split("tr(lang, \"").skip(1) {
            let key = part.split('"').next().unwrap();
            for lang in Language::ALL {
                assert_ne!(tr(lang, key), "?", "missing text {key:?}");
            }
        }
        for sc in ApiScope::ALL {
            assert_ne!(tr(Language::Uk, &format!("scope.{}", sc.as_str())), "?");
        }
    }
}
