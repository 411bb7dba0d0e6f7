//! The records the domain keeps. Times are UTC; JSON columns are `serde_json::Value`.

use crate::ids::{ApiKeyId, OrgId, SecretId, SessionId, UserId, VaultId};
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
