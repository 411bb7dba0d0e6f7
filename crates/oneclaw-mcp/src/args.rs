//! The tools' arguments. Their JSON Schemas (derived here) are what `tools/list` shows, and
//! follow the 1claw MCP server's exactly: descriptions, required fields, `minLength`, enums,
//! defaults and `additionalProperties: false`.

use schemars::JsonSchema;
use serde::Deserialize;

/// `list_secrets`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSecretsArgs {
    /// Optional path prefix to filter secrets (e.g. 'api-keys/')
    #[serde(default)]
    pub prefix: Option<String>,
}

/// `get_secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSecretArgs {
    /// Secret path, e.g. 'api-keys/stripe' or 'passwords/db-prod'
    #[schemars(length(min = 1))]
    pub path: String,
}

/// The types a secret may have.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    #[default]
    ApiKey,
    Password,
    PrivateKey,
    Certificate,
    File,
    Note,
    SshKey,
    EnvBundle,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Password => "password",
            Self::PrivateKey => "private_key",
            Self::Certificate => "certificate",
            Self::File => "file",
            Self::Note => "note",
            Self::SshKey => "ssh_key",
            Self::EnvBundle => "env_bundle",
        }
    }
}

/// `put_secret`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecretArgs {
    /// Secret path, e.g. 'api-keys/stripe'
    #[schemars(length(min = 1))]
    pub path: String,
    /// The secret value to store
    #[schemars(length(min = 1))]
    pub value: String,
    /// Secret type: api_key, password, private_key, certificate, file, note, ssh_key, or env_bundle
    #[serde(default, rename = "type")]
    pub secret_type: SecretKind,
    /// Optional JSON metadata to attach to the secret
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Optional ISO 8601 expiry datetime (e.g. '2025-12-31T23:59:59Z')
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Optional maximum number of times the secret can be read before auto-expiring
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_access_count: Option<i64>,
}

/// `delete_secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSecretArgs {
    /// Secret path to delete, e.g. 'api-keys/old-stripe'
    #[schemars(length(min = 1))]
    pub path: String,
}

/// `describe_secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeSecretArgs {
    /// Secret path to describe, e.g. 'api-keys/stripe'
    #[schemars(length(min = 1))]
    pub path: String,
}

/// `rotate_and_store`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateAndStoreArgs {
    /// Secret path to rotate
    #[schemars(length(min = 1))]
    pub path: String,
    /// The new secret value
    #[schemars(length(min = 1))]
    pub value: String,
    /// Optional secret type of the new version (default: the current version's type)
    #[serde(default, rename = "type")]
    pub secret_type: Option<SecretKind>,
}

/// `get_env_bundle`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetEnvBundleArgs {
    /// Path to an env_bundle secret
    #[schemars(length(min = 1))]
    pub path: String,
}

/// `list_env_vars`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEnvVarsArgs {
    /// Only the variables of this environment (production, preview, development or a custom one)
    #[serde(default)]
    pub environment: Option<String>,
}

/// `resolve_env`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveEnvArgs {
    /// Environment to resolve (production, preview, development or a custom one); optional for an agent tagged
    /// with one
    #[serde(default)]
    pub environment: Option<String>,
    /// Git branch whose preview overrides apply (e.g. 'feature/login')
    #[serde(default)]
    pub git_branch: Option<String>,
}

/// `create_vault`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVaultArgs {
    /// Vault name (e.g. 'stripe-production', 'ci-deploy-keys')
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Short description of what this vault is for
    #[serde(default)]
    pub description: Option<String>,
}

/// `list_vaults`: no arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Who a policy is for.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Agent,
}

/// A permission a policy grants.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantPermission {
    Read,
    Write,
    Delete,
}

fn default_permissions() -> Vec<GrantPermission> {
    vec![GrantPermission::Read]
}

fn default_pattern() -> String {
    "**".to_owned()
}

/// `grant_access`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantAccessArgs {
    /// ID of the vault to share
    #[schemars(extend("format" = "uuid"))]
    pub vault_id: String,
    /// Type of principal to grant access to
    pub principal_type: PrincipalKind,
    /// UUID of the user or agent to grant access to
    #[schemars(extend("format" = "uuid"))]
    pub principal_id: String,
    /// Permissions to grant (default: read-only)
    #[serde(default = "default_permissions")]
    pub permissions: Vec<GrantPermission>,
    /// Glob pattern for which secrets the policy covers (default: all)
    #[serde(default = "default_pattern")]
    pub secret_path_pattern: String,
}

/// Who a share is for.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareRecipient {
    User,
    Agent,
    ExternalEmail,
    AnyoneWithLink,
}

/// `share_secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareSecretArgs {
    /// Path of the secret to share, e.g. 'api-keys/stripe'
    #[schemars(length(min = 1))]
    pub path: String,
    /// Who receives it: user, agent, external_email or anyone_with_link
    pub recipient_type: ShareRecipient,
    /// UUID of the user or agent (for recipient_type user or agent)
    #[serde(default)]
    pub recipient_id: Option<String>,
    /// Email address (for recipient_type external_email)
    #[serde(default)]
    pub email: Option<String>,
    /// ISO 8601 time the share stops working (default: in 7 days)
    #[serde(default)]
    pub expires_at: Option<String>,
    /// How many times the share may be opened
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_access_count: Option<i64>,
}

/// Character sets for generated values.
pub use oneclaw_types::charset::Charset;

/// `rotate_generate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateGenerateArgs {
    /// Secret path to rotate, e.g. 'passwords/db-prod'
    #[schemars(length(min = 1))]
    pub path: String,
    /// Length of the generated value (8 to 1024, default 32)
    #[serde(default)]
    #[schemars(range(min = 8, max = 1024))]
    pub length: Option<i64>,
    /// Character set: hex, base64, alphanumeric or ascii (default alphanumeric)
    #[serde(default)]
    pub charset: Option<Charset>,
}

/// `list_versions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListVersionsArgs {
    /// Secret path, e.g. 'api-keys/stripe'
    #[schemars(length(min = 1))]
    pub path: String,
}

/// `check_approval`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckApprovalArgs {
    /// The approval request id an approval_required answer named
    #[schemars(length(min = 1))]
    pub approval_id: String,
}

/// `list_bindings`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBindingsArgs {}

/// `execute_intent`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteIntentArgs {
    /// The binding's name (or id), from list_bindings
    #[schemars(length(min = 1))]
    pub binding: String,
    /// http_request for an http binding, sql_query for a postgres binding (default: the
    /// binding's own)
    #[serde(default)]
    pub intent_type: Option<String>,
    /// For http_request: method, path (under the binding's base URL), query, headers, body.
    /// For sql_query: query (one statement) and params (its $1, $2, … values).
    #[serde(default)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}
