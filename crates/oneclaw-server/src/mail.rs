//! Outgoing mail over SMTP (lettre, rustls with ring): the `MailSender` the outbox worker
//! hands messages to (the server polls the outbox every `POLL`).

use crate::config::SmtpSettings;
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use oneclaw_core::mail::{MailError, MailSender, Message};
use oneclaw_core::{Error, Result};
use uuid::Uuid;

/// How often the worker looks for mail to send.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends through one SMTP server.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// A sender for the settings; the password is read from `ONECLAW_SMTP_PASSWORD`.
    pub fn new(settings: &SmtpSettings) -> Result<Self> {
        let invalid = |why: &str| Error::invalid(format!("ONECLAW_SMTP_URL {why}"));
        let (scheme, rest) = settings.url.split_once("://").ok_or_else(|| invalid("needs a scheme"))?;
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| invalid("has a bad port"))?),
            None => (authority, if scheme == "smtps" { 465 } else { 25 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|err| Error::invalid(format!("SMTP TLS for {host}: {err}")))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
        builder = match (scheme, query) {
            ("smtps", _) => builder.tls(Tls::Wrapper(tls(host)?)),
            ("smtp", "tls=starttls") => builder.tls(Tls::Required(tls(host)?)),
            ("smtp", _) => builder.tls(Tls::None),
            _ => return Err(invalid("must start with smtp:// or smtps://")),
        };
        if let Some(user) = &settings.username {
            let password = std::env::var("ONECLAW_SMTP_PASSWORD").unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from =
            settings.from.parse::<Mailbox>().map_err(|_| Error::invalid("ONECLAW_SMTP_FROM is not a mail address"))?;
        Ok(Self { transport: builder.timeout(Some(std::time::Duration::from_secs(20))).build(), from })
    }
}

#[async_trait]
impl MailSender for SmtpSender {
    async fn send(&self, id: Uuid, to: &str, message: &Message) -> std::result::Result<(), MailError> {
        let permanent = |reason: String| MailError { permanent: true, reason };
        let to = to.parse::<Mailbox>().map_err(|_| permanent(format!("{to} is not a mail address")))?;
        let mail = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(format!("<{id}@oneclaw>")))
            .multipart(MultiPart::alternative_plain_html(message.text.clone(), message.html.clone()))
            .map_err(|err| permanent(format!("the mail could not be built: {err}")))?;
        self.transport.send(mail).await.map(drop).map_err(|err| MailError {
            permanent: err.is_permanent(),
            // lettre's errors name the server's answer, never the message.
            reason: err.to_string(),
        })
    }
}
