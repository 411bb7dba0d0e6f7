//! Mail the server sends (verification, password reset, invitations, email change): what a
//! message is, its outbox record, the single-use tokens its links carry, and the port that
//! hands a message to a mail server.

use crate::ids::UserId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A message: a subject, a plain-text body and a simple HTML body. The bodies carry links with
/// single-use tokens, so a message is sealed in the outbox and never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// What a mail is for (recorded in the outbox, in clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerifyEmail,
    PasswordReset,
    Invite,
    EmailChange,
    EmailChanged,
    /// Someone signed up with an address that already has an account.
    AccountExists,
    /// A request waits for this approver's decision.
    ApprovalRequest,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::Invite => "invite",
            Self::EmailChange => "email_change",
            Self::EmailChanged => "email_changed",
            Self::AccountExists => "account_exists",
            Self::ApprovalRequest => "approval_request",
        }
    }
}

/// A mail in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: Uuid,
    pub recipient: String,
    pub kind: String,
    /// The `Message` as JSON, sealed by the key provider for this mail's id.
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// What a single-use token in a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Verify,
    Reset,
    Change,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Change => "change",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "verify" => Some(Self::Verify),
            "reset" => Some(Self::Reset),
            "change" => Some(Self::Change),
            _ => None,
        }
    }
}

/// A token mailed to a user, as stored (its keyed digest is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    /// For an email change: the address that becomes the account's.
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// Why a mail was not accepted by the mail server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    /// The server refused it for good (a 5xx), as opposed to being away or busy.
    pub permanent: bool,
    pub reason: String,
}

/// Hands a message to a mail server (SMTP in `oneclaw-server`). `id` is the outbox id; it
/// becomes the Message-ID, so a mail sent twice (a crash between sending and recording it) is
/// recognisably the same mail.
#[async_trait]
pub trait MailSender: Send + Sync + 'static {
    async fn send(&self, id: Uuid, to: &str, message: &Message) -> Result<(), MailError>;
}
