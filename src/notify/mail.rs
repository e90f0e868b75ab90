//! E-mail delivery through SMTP with lettre: STARTTLS, implicit TLS or plain, with or without
//! authentication.

use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Outcome;
use crate::config::{SmtpConfig, SmtpSecurity};
use crate::domain::{EmailAttachment, OutboxMessage, OutboxRow};

/// A configured SMTP sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    /// Builds the transport from the config (no connection is made yet).
    pub fn new(cfg: &SmtpConfig) -> Result<Mailer, String> {
        let from = cfg
            .from
            .parse()
            .map_err(|e| format!("smtp.from '{}': {e}", cfg.from))?;
        let mut b = match cfg.security {
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(|e| e.to_string())?
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                    .map_err(|e| e.to_string())?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            }
        }
        .port(cfg.port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        if !cfg.username.is_empty() {
            b = b.credentials(Credentials::new(
                cfg.username.clone(),
                cfg.password.expose().to_string(),
            ));
        }
        Ok(Mailer {
            transport: b.build(),
            from,
        })
    }

    /// Checks the SMTP server answers (connects and says NOOP).
    pub async fn ping(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer NOOP".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends a message with a plain-text body, an optional HTML body and attachments. The
    /// error says whether retrying can help (`false`) or not (`true`).
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
        attachments: &[EmailAttachment],
    ) -> Result<String, (bool, String)> {
        let to = to
            .parse()
            .map_err(|e| (true, format!("bad recipient '{to}': {e}")))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject);
        let body = match html {
            Some(h) => MultiPart::alternative_plain_html(text.to_string(), h.to_string()),
            None => MultiPart::mixed().singlepart(SinglePart::plain(text.to_string())),
        };
        let msg = if attachments.is_empty() && html.is_none() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(text.to_string())
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in attachments {
                let ct = ContentType::parse(&a.mime)
                    .unwrap_or(ContentType::parse("application/octet-stream").expect("static"));
                mixed = mixed.singlepart(Attachment::new(a.name.clone()).body(a.data.clone(), ct));
            }
            builder.multipart(mixed)
        }
        .map_err(|e| (true, e.to_string()))?;
        match self.transport.send(msg).await {
            Ok(resp) => Ok(resp.message().collect::<Vec<_>>().join(" ")),
            // 5xx answers (recipient refused …) will not change on retry.
            Err(e) if e.is_permanent() => Err((true, e.to_string())),
            Err(e) => Err((false, e.to_string())),
        }
    }

    /// Delivers an e-mail outbox row.
    pub async fn deliver(&self, row: &OutboxRow) -> Outcome {
        let OutboxMessage::Email {
            to,
            subject,
            text,
            html,
            attachments,
        } = &row.message
        else {
            return Outcome::Permanent {
                error: "not an e-mail".into(),
            };
        };
        match self
            .send(to, subject, text, html.as_deref(), attachments)
            .await
        {
            Ok(_) => Outcome::Delivered {
                chat_id: 0,
                text: format!("e-mail to {to}: {subject}"),
            },
            Err((true, error)) => Outcome::Permanent { error },
            Err((false, error)) => Outcome::Retry {
                error,
                retry_at: None,
            },
        }
    }
}
