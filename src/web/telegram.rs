//! `POST /telegram/webhook`: Telegram's updates in webhook mode. The secret header is checked
//! (in constant time) before anything is read; the update goes to the bot's dispatcher.
//! Answers: 200 taken, 401 missing or wrong secret, 404 when the bot is not in webhook mode,
//! 503 when the bot cannot take it now (Telegram sends it again).

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::AppState;
use crate::bot::{WEBHOOK_MAX_BODY, WebhookRefusal};

/// The header Telegram sends the webhook's `secret_token` back in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path!("telegram" / "webhook")
        .and(warp::post())
        .and(warp::header::optional::<String>(SECRET_HEADER))
        .and(warp::body::content_length_limit(WEBHOOK_MAX_BODY))
        .and(warp::body::bytes())
        .map(
            move |secret: Option<String>, body: warp::hyper::body::Bytes| {
                let Some(inbox) = &state.webhook else {
                    return StatusCode::NOT_FOUND.into_response();
                };
                let status = match inbox.accept(secret.as_deref(), &body) {
                    Ok(()) => StatusCode::OK,
                    Err(WebhookRefusal::Unauthorized) => StatusCode::UNAUTHORIZED,
                    Err(WebhookRefusal::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
                };
                warp::reply::with_status(warp::reply(), status).into_response()
            },
        )
        .boxed()
}
