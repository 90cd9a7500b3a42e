//! Sends the mail outbox (password resets, alerts): by SMTP when `mail.smtp_url` is set, else to the
//! log (development). Messages are claimed with a lease, so two processes never send one twice, and
//! retried with backoff before they are given up.
use std::time::Duration;

use ledger_store::resets::{self, Mail, MailDelivery};
use ledger_store::{PgPool, StoreError};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

/// Delays before the 2nd to 6th attempt; after the 6th the message is given up (`failed_at`).
const RETRY: [Duration; 5] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::from_secs(6 * 3600),
];
/// How long a claimed message is held: more than an SMTP exchange may take.
const LEASE: Duration = Duration::from_secs(120);
/// How often the outbox is looked at.
const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail.smtp_url: {0}")]
    Url(String),
    #[error("mail.from is not an address: {0}")]
    From(String),
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// Development: each message is written to the log (a reset link included) and counts as sent.
    Log,
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

impl Mailer {
    /// `smtp_url` empty: the log. Otherwise lettre's URL forms: `smtps://user:pass@host` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtp://host:port` (plain, tests only).
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, MailError> {
        if smtp_url.is_empty() {
            return Ok(Self::Log);
        }
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        let transport = Box::new(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
                .map_err(|e| MailError::Url(e.to_string()))?
                .timeout(Some(Duration::from_secs(30)))
                .build(),
        );
        Ok(Self::Smtp { transport, from })
    }

    pub fn is_log(&self) -> bool {
        matches!(self, Self::Log)
    }

    async fn send(&self, mail: &Mail) -> Result<(), String> {
        match self {
            Self::Log => {
                tracing::info!(outbox_id = mail.id, to = %mail.recipient, subject = %mail.subject, body = %mail.body,
                    "mail (no SMTP configured: logged instead)");
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = mail.recipient.parse().map_err(|e| format!("bad recipient: {e}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body.clone())
                    .map_err(|e| format!("could not build the message: {e}"))?;
                transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
            }
        }
    }
}

/// Sends what is due once; returns how many were sent.
pub async fn send_due(pool: &PgPool, mailer: &Mailer) -> Result<usize, StoreError> {
    let mut sent = 0;
    for mail in resets::claim_mail(pool, 20, LEASE).await? {
        let outcome = match mailer.send(&mail).await {
            Ok(()) => MailDelivery::Sent,
            Err(error) => {
                let attempts = resets::mail_attempts(pool, mail.id).await?;
                match RETRY.get(usize::try_from(attempts).unwrap_or(usize::MAX)) {
                    Some(delay) => MailDelivery::Retry { delay: *delay, error },
                    None => MailDelivery::Failed { error },
                }
            }
        };
        match &outcome {
            MailDelivery::Sent => sent += 1,
            other => tracing::warn!(outbox_id = mail.id, outcome = ?other, "mail not sent"),
        }
        resets::record_mail(pool, mail.id, &outcome).await?;
    }
    Ok(sent)
}

/// Sends the outbox until `shutdown`.
pub async fn run(pool: PgPool, mailer: Mailer, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = send_due(&pool, &mailer).await {
            tracing::warn!(error = %e, "mail sending failed");
        }
    }
}
