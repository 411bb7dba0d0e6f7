//! The records the domain keeps. Times are UTC; JSON columns are `serde_json::Value`.

use crate::ids::{AgentId, ApiKeyId, InviteId, IpRuleId, OrgId, SecretId, SessionId, ShareId, UserId, VaultId};
use crate::principal::PrincipalRef;
use time::OffsetDateTime;

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Parses a stored role name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// An organization: the boundary of every resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A human user, member of one org.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    /// Lower-cased.
    pub email: String,
    pub display_name: String,
    /// Argon2id PHC string; `None` for accounts without a password (e.g. Google sign-in).
    pub password_hash: Option<String>,
    pub role: Role,
    pub auth_method: String,
    pub email_verified: bool,
    pub marketing_emails: bool,
    pub totp_enabled: bool,
    pub created_at: OffsetDateTime,
    /// Set when the user was removed from the org; they can no longer sign in.
    pub disabled_at: Option<OffsetDateTime>,
    /// Bumped on password change, TOTP change and removal; every user token carries the
    /// generation it was issued under, and older ones stop working.
    pub credential_generation: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A vault. Its current key-encryption key is `kek_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    pub id: VaultId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub created_by: PrincipalRef,
    /// The human answerable for the vault: its creator, or the creator of the agent that made it.
    pub owner_user_id: UserId,
    pub created_at: OffsetDateTime,
    pub kek_version: i64,
}

/// One version of a secret, without its value.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretVersion {
    pub secret_id: SecretId,
    pub vault_id: VaultId,
    pub path: String,
    pub version: i64,
    pub secret_type: String,
    pub metadata: serde_json::Value,
    pub rotation_policy: Option<serde_json::Value>,
    pub expires_at: Option<OffsetDateTime>,
    pub max_access_count: Option<i64>,
    pub access_count: i64,
    pub is_disabled: bool,
    /// Set when the secret was deleted; the version is kept but can no longer be read.
    pub deleted_at: Option<OffsetDateTime>,
    pub created_by: PrincipalRef,
    pub created_at: OffsetDateTime,
}

/// An encrypted value as stored: AES-256-GCM ciphertext and its wrapped data key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// nonce || ciphertext || tag.
    pub ciphertext: Vec<u8>,
    /// The DEK, wrapped by the vault KEK; starts with a header naming mechanism and KEK version.
    pub wrapped_dek: Vec<u8>,
    pub kek_version: i64,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("ciphertext_len", &self.ciphertext.len())
            .field("kek_version", &self.kek_version)
            .finish_non_exhaustive()
    }
}

/// A personal API key: only its keyed digest is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub name: String,
    /// The first characters of the key, in clear, to find it.
    pub key_prefix: String,
    pub digest: Vec<u8>,
    pub scopes: Vec<String>,
    pub is_active: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("key_prefix", &self.key_prefix)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// A login session. Refresh tokens renew it; sign-out and password changes revoke it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub refresh_digest: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// An agent: a non-human principal with an `ocv_` key, registered by a human.
#[derive(Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub auth_method: String,
    /// Explicit path-glob scopes; `None` derives them from the agent's policies at token issue.
    pub scopes: Option<Vec<String>>,
    pub is_active: bool,
    pub token_ttl_seconds: Option<i64>,
    /// Vaults its tokens are limited to; empty means every vault of the org.
    pub vault_ids: Vec<uuid::Uuid>,
    pub expires_at: Option<OffsetDateTime>,
    pub api_key_expires_at: Option<OffsetDateTime>,
    pub intents_api_enabled: bool,
    /// The environment its env-var `resolve` defaults to (and is held to).
    pub environment: Option<String>,
    /// The human who registered it.
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub last_active_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub key_prefix: String,
    pub key_digest: Vec<u8>,
    /// Bumped whenever tokens already issued must stop working (disable, key rotation, scope
    /// change, deletion); tokens carry the generation they were issued under.
    pub token_generation: i64,
    /// Bumped by every change: an update applies only to the revision it was read at, so a
    /// stale write can never undo a concurrent deletion or key rotation.
    pub revision: i64,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("is_active", &self.is_active)
            .field("token_generation", &self.token_generation)
            .finish_non_exhaustive()
    }
}

/// An invitation: whoever presents its token (shown to the inviter once) joins the org with
/// the role, once, before it expires. The email says whom it was meant for; it admits nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: InviteId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    /// When it stops working (7 days after it was made).
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Invite {
    /// True while it can still be accepted.
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at.is_some_and(|at| at > now)
    }
}

/// Whether an IP rule allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRuleType {
    Allow,
    Deny,
}

impl IpRuleType {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

/// An org-wide IP rule, applied to every authenticated request of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRule {
    pub id: IpRuleId,
    pub org_id: OrgId,
    pub rule_type: IpRuleType,
    pub cidr: ipnet::IpNet,
    pub label: String,
    /// `all`, `users` or `agents`.
    pub applies_to: String,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
}

/// Who a share is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientType {
    User,
    Agent,
    ExternalEmail,
    AnyoneWithLink,
    Creator,
}

impl RecipientType {
    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Self::User),
            "agent" => Some(Self::Agent),
            "external_email" => Some(Self::ExternalEmail),
            "anyone_with_link" => Some(Self::AnyoneWithLink),
            "creator" => Some(Self::Creator),
            _ => None,
        }
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Agent => "agent",
            Self::ExternalEmail => "external_email",
            Self::AnyoneWithLink => "anyone_with_link",
            Self::Creator => "creator",
        }
    }
}

/// A share of a secret (its latest version at access time).
#[derive(Clone, PartialEq)]
pub struct Share {
    pub id: ShareId,
    pub org_id: OrgId,
    pub secret_id: SecretId,
    /// The shared secret's path (read from the secret; not stored with the share).
    pub secret_path: String,
    pub created_by: PrincipalRef,
    pub recipient_type: RecipientType,
    /// The recipient user or agent (for `creator`, the human the agent resolves to).
    pub recipient_id: Option<uuid::Uuid>,
    pub recipient_email: Option<String>,
    pub permissions: Vec<String>,
    pub expires_at: OffsetDateTime,
    pub max_access_count: Option<i64>,
    pub access_count: i64,
    /// Argon2id PHC of the passphrase, when there is one.
    pub passphrase_hash: Option<String>,
    pub ip_allowlist: Option<Vec<ipnet::IpNet>>,
    pub failed_attempts: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub accepted_at: Option<OffsetDateTime>,
    pub declined_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// For link shares: the keyed digest of the link's token, the only thing that opens it.
    pub link_digest: Option<Vec<u8>>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("id", &self.id)
            .field("recipient_type", &self.recipient_type)
            .field("access_count", &self.access_count)
            .finish_non_exhaustive()
    }
}

/// Where a device-flow login code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Used,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Used => "used",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "used" => Self::Used,
            _ => return None,
        })
    }
}

/// A device-flow login code: the CLI holds the device code (stored only as its keyed digest),
/// its human types the user code.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_digest: Vec<u8>,
    pub user_code: String,
    pub client_id: String,
    /// Only this account may approve it.
    pub email: String,
    pub status: DeviceStatus,
    /// Who approved (or denied) it.
    pub user_id: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_polled_at: Option<OffsetDateTime>,
}
