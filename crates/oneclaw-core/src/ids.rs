//! Typed ids, so an org id can never be passed where a vault id is wanted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(/// An organization.
    OrgId);
id_type!(/// A human user.
    UserId);
id_type!(/// A vault.
    VaultId);
id_type!(/// A secret (stable per path; versions share it).
    SecretId);
id_type!(/// A personal API key.
    ApiKeyId);
id_type!(/// A login session: the unit that refresh tokens renew and sign-out revokes.
    SessionId);
id_type!(/// An audit event.
    AuditEventId);
id_type!(/// An access policy.
    PolicyId);
id_type!(/// An agent.
    AgentId);
id_type!(/// A share of a secret.
    ShareId);

impl ShareId {
    /// A fully random id: share ids appear in URLs and lists, so they reveal no creation time.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}
id_type!(/// An org IP rule.
    IpRuleId);
id_type!(/// An invitation to join an org.
    InviteId);
id_type!(/// An environment variable (of a vault, or shared by the org).
    EnvVarId);
id_type!(/// A request for a human's approval.
    ApprovalId);
id_type!(/// A custom environment of a vault.
    EnvironmentId);
