//! The MCP server: the 15 vault tools and the `vault://secrets` resource, over any
//! `VaultBackend`. Each call finds out who it acts as (`AgentSession`): over stdio a fixed
//! session from the environment, over hosted HTTP the one the server's auth layer put into that
//! very request. Values are fetched on every call, held only in locals, never logged.

use crate::args::*;
use crate::backend::{BackendError, ErrorCode, VaultBackend};
use crate::format;
use oneclaw_types::SecretString;
use oneclaw_types::policies::PolicyRequest;
use oneclaw_types::secrets::{PutSecretRequest, RotateSecretRequest, SecretMetadataResponse};
use oneclaw_types::sharing::CreateShareRequest;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// How long a share lasts when `share_secret` is given no expiry.
const DEFAULT_SHARE_DAYS: i64 = 7;

/// The one resource.
pub const SECRETS_RESOURCE: &str = "vault://secrets";

const INSTRUCTIONS: &str = "oneclaw vault tools. Secrets are fetched just in time: call get_secret right \
before the API call that needs the value, use the value at once, and never repeat it in your answer, store \
it, write it to a file or put it in a summary. Use list_secrets or describe_secret to see what exists \
without revealing values.";

/// Who the tools act as, and the vault they work in.
#[derive(Clone)]
pub struct AgentSession {
    pub backend: Arc<dyn VaultBackend>,
    /// The vault of the secret tools (`ONECLAW_VAULT_ID` / `X-Vault-ID`).
    pub vault_id: Uuid,
}

/// The MCP server handler.
#[derive(Clone)]
pub struct VaultTools {
    fixed: Option<AgentSession>,
}

impl VaultTools {
    /// For stdio: every call acts as this session.
    pub fn for_session(session: AgentSession) -> Self {
        Self { fixed: Some(session) }
    }

    /// For hosted HTTP: every call acts as the `AgentSession` the auth layer put into the
    /// extensions of the HTTP request that carried it.
    pub fn per_request() -> Self {
        Self { fixed: None }
    }

    fn session(&self, ctx: &RequestContext<RoleServer>) -> Result<AgentSession, CallToolResult> {
        if let Some(session) = &self.fixed {
            return Ok(session.clone());
        }
        ctx.extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<AgentSession>())
            .cloned()
            .ok_or_else(|| error_text("Not authenticated. Provide Authorization and X-Vault-ID headers."))
    }
}

fn text(text: String) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
}

fn error_text(text: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.to_owned())])
}

fn failed(tool: &str, path: Option<&str>, err: &BackendError) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::error(vec![ContentBlock::text(format::failure(tool, path, err))]))
}

/// Runs a tool body; a refusal becomes an `isError` result the model can read.
macro_rules! session_or_refuse {
    ($self:ident, $ctx:ident) => {
        match $self.session(&$ctx) {
            Ok(session) => session,
            Err(refused) => return Ok(refused),
        }
    };
}

fn require(field: &str, value: &str) -> Result<(), CallToolResult> {
    if value.trim().is_empty() { Err(error_text(&format!("{field} must not be empty."))) } else { Ok(()) }
}

macro_rules! check {
    ($result:expr) => {
        if let Err(refused) = $result {
            return Ok(refused);
        }
    };
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, CallToolResult> {
    value
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                error_text(&format!("{field} must be an ISO 8601 date-time such as 2025-12-31T23:59:59Z."))
            })
        })
        .transpose()
}

fn parse_uuid(field: &str, value: &str) -> Result<Uuid, CallToolResult> {
    value.parse().map_err(|_| error_text(&format!("{field} must be a UUID.")))
}

#[tool_router]
impl VaultTools {
    #[tool(
        description = "List the secrets in the vault: paths, types, versions and expiry, never values. Use it to \
                       discover what exists before fetching a secret.",
        annotations(read_only_hint = true)
    )]
    async fn list_secrets(
        &self,
        Parameters(args): Parameters<ListSecretsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        match session.backend.list_secrets(session.vault_id).await {
            Ok(secrets) => {
                let prefix = args.prefix.unwrap_or_default();
                let shown: Vec<SecretMetadataResponse> =
                    secrets.into_iter().filter(|s| s.path.starts_with(&prefix)).collect();
                text(format::secret_list(&shown))
            }
            Err(err) => failed("list_secrets", None, &err),
        }
    }

    #[tool(
        description = "Fetch the decrypted value of a secret by path, right before the API call that needs it. \
                       Use the value at once; never repeat it in your reply, store it, log it or put it in a \
                       summary. Each call is a fresh, audited read.",
        annotations(read_only_hint = true)
    )]
    async fn get_secret(
        &self,
        Parameters(args): Parameters<GetSecretArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        match session.backend.get_secret(session.vault_id, &args.path).await {
            Ok(secret) => {
                tracing::debug!(path = %args.path, "secret accessed");
                text(format::secret_value(&secret))
            }
            Err(err) => failed("get_secret", Some(&args.path), &err),
        }
    }

    #[tool(
        description = "Create or update a secret. Every call stores a new version. Optional expiry (ISO 8601) and \
                       maximum number of reads. Do not echo the value back to the user.",
        annotations(destructive_hint = false)
    )]
    async fn put_secret(
        &self,
        Parameters(args): Parameters<PutSecretArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        check!(require("value", &args.value));
        let expires_at = match parse_time("expires_at", args.expires_at.as_deref()) {
            Ok(at) => at,
            Err(refused) => return Ok(refused),
        };
        if args.max_access_count.is_some_and(|n| n < 1) {
            return Ok(error_text("max_access_count must be greater than 0."));
        }
        let request = PutSecretRequest {
            secret_type: Some(args.secret_type.as_str().to_owned()),
            value: SecretString::new(args.value),
            metadata: args.metadata.map(serde_json::Value::Object),
            expires_at,
            rotation_policy: None,
            max_access_count: args.max_access_count,
        };
        match session.backend.put_secret(session.vault_id, &args.path, request).await {
            Ok(stored) => {
                tracing::debug!(path = %args.path, "secret stored");
                text(format::stored(&stored))
            }
            Err(err) => failed("put_secret", None, &err),
        }
    }

    #[tool(
        description = "Soft-delete a secret: every version becomes unreadable. An admin can reverse it.",
        annotations(destructive_hint = true)
    )]
    async fn delete_secret(
        &self,
        Parameters(args): Parameters<DeleteSecretArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        match session.backend.delete_secret(session.vault_id, &args.path).await {
            Ok(()) => {
                tracing::debug!(path = %args.path, "secret deleted");
                text(format::deleted(&args.path))
            }
            Err(err) if err.kind == ErrorCode::NotFound => failed("delete_secret", Some(&args.path), &err),
            Err(err) => failed("delete_secret", None, &err),
        }
    }

    #[tool(
        description = "Describe a secret without its value: type, version, metadata, creation time and expiry.",
        annotations(read_only_hint = true)
    )]
    async fn describe_secret(
        &self,
        Parameters(args): Parameters<DescribeSecretArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        let listed = match session.backend.list_secrets(session.vault_id).await {
            Ok(secrets) => secrets.into_iter().find(|s| s.path == args.path),
            Err(err) => return failed("describe_secret", Some(&args.path), &err),
        };
        // Not in the list (the agent may read it but not list the vault): its versions say the
        // same without reading, and so without spending an access.
        let found = match listed {
            Some(found) => found,
            None => match session.backend.list_versions(session.vault_id, &args.path).await {
                Ok(versions) => match versions.into_iter().last() {
                    Some(latest) => latest,
                    None => return failed("describe_secret", Some(&args.path), &not_found()),
                },
                Err(err) => return failed("describe_secret", Some(&args.path), &err),
            },
        };
        text(format::description(&found))
    }

    #[tool(
        description = "Store a new value for an existing secret (after you rotated the credential at its \
                       provider) and return the new version number.",
        annotations(destructive_hint = false)
    )]
    async fn rotate_and_store(
        &self,
        Parameters(args): Parameters<RotateAndStoreArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        check!(require("value", &args.value));
        let request = PutSecretRequest {
            secret_type: Some(args.secret_type.unwrap_or_default().as_str().to_owned()),
            value: SecretString::new(args.value),
            metadata: None,
            expires_at: None,
            rotation_policy: None,
            max_access_count: None,
        };
        match session.backend.put_secret(session.vault_id, &args.path, request).await {
            Ok(stored) => {
                tracing::debug!(path = %args.path, "secret rotated");
                text(format::rotated(&stored))
            }
            Err(err) => failed("rotate_and_store", Some(&args.path), &err),
        }
    }

    #[tool(
        description = "Fetch an env_bundle secret (KEY=VALUE lines) as a JSON object of variables. Use the values \
                       at once; never repeat them.",
        annotations(read_only_hint = true)
    )]
    async fn get_env_bundle(
        &self,
        Parameters(args): Parameters<GetEnvBundleArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        match session.backend.get_secret(session.vault_id, &args.path).await {
            Ok(secret) if secret.secret_type != "env_bundle" => Ok(error_text(&format!(
                "Secret at '{}' is type '{}', not 'env_bundle'.",
                args.path, secret.secret_type
            ))),
            Ok(secret) => {
                tracing::debug!(path = %args.path, "env_bundle accessed");
                text(format::env_bundle(secret.value.expose()))
            }
            Err(err) => failed("get_env_bundle", Some(&args.path), &err),
        }
    }

    #[tool(
        description = "List the vault's environment variables this agent may read: keys, environments, versions. \
                       Never values; use resolve_env for those.",
        annotations(read_only_hint = true)
    )]
    async fn list_env_vars(
        &self,
        Parameters(args): Parameters<ListEnvVarsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        let environment = args.environment.as_deref().filter(|e| !e.is_empty());
        match session.backend.list_env_vars(session.vault_id, environment).await {
            Ok(vars) => text(format::env_vars(&vars)),
            Err(err) => failed("list_env_vars", None, &err),
        }
    }

    #[tool(
        description = "Resolve an environment (org-shared, then vault, then git-branch overrides) into a JSON object \
                       of variables this agent may read. Use the values at once; never repeat them.",
        annotations(read_only_hint = true)
    )]
    async fn resolve_env(
        &self,
        Parameters(args): Parameters<ResolveEnvArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        let environment = args.environment.as_deref().filter(|e| !e.is_empty());
        let branch = args.git_branch.as_deref().filter(|b| !b.is_empty());
        match session.backend.resolve_env(session.vault_id, environment, branch).await {
            Ok(resolved) => {
                tracing::debug!(environment = %resolved.environment, count = resolved.vars.len(), "environment resolved");
                text(format::resolved_env(&resolved))
            }
            Err(err) => failed("resolve_env", None, &err),
        }
    }

    #[tool(description = "Create a vault owned by this agent. It is automatically shared with the human who \
                       registered the agent.")]
    async fn create_vault(
        &self,
        Parameters(args): Parameters<CreateVaultArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("name", &args.name));
        match session.backend.create_vault(&args.name, args.description.as_deref().unwrap_or_default()).await {
            Ok(vault) => text(format::vault_created(&vault)),
            Err(err) => failed("create_vault", None, &err),
        }
    }

    #[tool(
        description = "List the vaults this agent can see (its own and those shared with it): IDs, names, creators.",
        annotations(read_only_hint = true)
    )]
    async fn list_vaults(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        match session.backend.list_vaults().await {
            Ok(vaults) => text(format::vault_list(&vaults)),
            Err(err) => failed("list_vaults", None, &err),
        }
    }

    #[tool(description = "Grant a user or agent access to a vault through a policy (path pattern and permissions). \
                       Only works on vaults this agent created.")]
    async fn grant_access(
        &self,
        Parameters(args): Parameters<GrantAccessArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        let vault = match parse_uuid("vault_id", &args.vault_id) {
            Ok(vault) => vault,
            Err(refused) => return Ok(refused),
        };
        check!(parse_uuid("principal_id", &args.principal_id));
        let request = PolicyRequest {
            secret_path_pattern: Some(args.secret_path_pattern),
            principal_type: Some(match args.principal_type {
                PrincipalKind::User => "user".to_owned(),
                PrincipalKind::Agent => "agent".to_owned(),
            }),
            principal_id: Some(args.principal_id),
            permissions: Some(
                args.permissions
                    .iter()
                    .map(|p| match p {
                        GrantPermission::Read => "read".to_owned(),
                        GrantPermission::Write => "write".to_owned(),
                        GrantPermission::Delete => "delete".to_owned(),
                    })
                    .collect(),
            ),
            ..PolicyRequest::default()
        };
        match session.backend.create_policy(vault, request).await {
            Ok(policy) => text(format::granted(&policy)),
            Err(err) => failed("grant_access", None, &err),
        }
    }

    #[tool(description = "Share a secret with a user, another agent, an email address or anyone with the link. The \
                       answer holds a share link, never the value; share only when your human asked you to.")]
    async fn share_secret(
        &self,
        Parameters(args): Parameters<ShareSecretArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        // The MCP server is a client of the API: it has no server clock, and the server checks
        // every expiry against its own.
        #[allow(clippy::disallowed_methods)]
        let default_expiry = || OffsetDateTime::now_utc() + time::Duration::days(DEFAULT_SHARE_DAYS);
        let expires_at = match parse_time("expires_at", args.expires_at.as_deref()) {
            Ok(at) => at.unwrap_or_else(default_expiry),
            Err(refused) => return Ok(refused),
        };
        // The share API takes the secret's id; its listing gives it without reading the value.
        let secret_id = match session.backend.list_versions(session.vault_id, &args.path).await {
            Ok(versions) => match versions.last() {
                Some(latest) => latest.id,
                None => return failed("share_secret", Some(&args.path), &not_found()),
            },
            Err(err) => return failed("share_secret", Some(&args.path), &err),
        };
        let request = CreateShareRequest {
            recipient_type: match args.recipient_type {
                ShareRecipient::User => "user",
                ShareRecipient::Agent => "agent",
                ShareRecipient::ExternalEmail => "external_email",
                ShareRecipient::AnyoneWithLink => "anyone_with_link",
            }
            .to_owned(),
            recipient_id: args.recipient_id,
            email: args.email,
            max_access_count: args.max_access_count,
            expires_at: Some(expires_at),
            ..CreateShareRequest::default()
        };
        match session.backend.share_secret(secret_id, request).await {
            Ok(share) => text(format::shared(&args.path, &share)),
            Err(err) => failed("share_secret", None, &err),
        }
    }

    #[tool(
        description = "Rotate a secret to a new value that the server generates (8 to 1024 characters of hex, \
                       base64, alphanumeric or ascii). The value is not returned.",
        annotations(destructive_hint = false)
    )]
    async fn rotate_generate(
        &self,
        Parameters(args): Parameters<RotateGenerateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        let request = RotateSecretRequest {
            length: args.length,
            charset: args.charset.map(|c| c.as_str().to_owned()),
            secret_type: None,
        };
        match session.backend.rotate_generate(session.vault_id, &args.path, request).await {
            Ok(stored) => {
                tracing::debug!(path = %args.path, "secret rotated to a generated value");
                text(format::generated(&stored))
            }
            Err(err) => failed("rotate_generate", Some(&args.path), &err),
        }
    }

    #[tool(
        description = "Check whether a human has decided an approval request (the id an 'approval required' \
                       answer named): pending, approved, rejected or expired. Once approved, retry the call \
                       that asked for it.",
        annotations(read_only_hint = true)
    )]
    async fn check_approval(
        &self,
        Parameters(args): Parameters<CheckApprovalArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        let id = match parse_uuid("approval_id", args.approval_id.trim()) {
            Ok(id) => id,
            Err(refused) => return Ok(refused),
        };
        match session.backend.approval(id).await {
            Ok(approval) => text(format::approval(&approval)),
            Err(err) => failed("check_approval", None, &err),
        }
    }

    #[tool(
        description = "List the bindings this agent may execute intents through: each names an outside service \
                       (an HTTP API or a PostgreSQL database) whose credential the server holds and injects. \
                       Never shows a credential.",
        annotations(read_only_hint = true)
    )]
    async fn list_bindings(
        &self,
        Parameters(_args): Parameters<ListBindingsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        match session.backend.list_bindings().await {
            Ok(bindings) => text(format::bindings(&bindings)),
            Err(err) => failed("list_bindings", None, &err),
        }
    }

    #[tool(
        description = "Call an API or run a SQL statement through a binding without ever seeing its \
                       credential: the server injects it, makes the call inside the binding's guardrails, \
                       and answers with every trace of the credential replaced by [REDACTED]. For an http \
                       binding give params {method, path, query, headers, body}; for a postgres binding \
                       {query, params}.",
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn execute_intent(
        &self,
        Parameters(args): Parameters<ExecuteIntentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("binding", &args.binding));
        let params = args.params.unwrap_or_default();
        // Without a type, a statement means SQL; anything else is an HTTP call.
        let intent_type = args.intent_type.unwrap_or_else(|| {
            if params.contains_key("query") && !params.contains_key("path") { "sql_query" } else { "http_request" }
                .to_owned()
        });
        let request = oneclaw_types::intents::ExecuteRequest {
            binding: args.binding.trim().to_owned(),
            intent_type,
            execution_mode: None,
            params: Some(serde_json::Value::Object(params)),
        };
        match session.backend.execute_intent(request).await {
            Ok(done) => text(format::executed(&args.binding, &done)),
            Err(err) => failed("execute_intent", None, &err),
        }
    }

    #[tool(
        description = "List every version of a secret (number, type, creation time, disabled), never values.",
        annotations(read_only_hint = true)
    )]
    async fn list_versions(
        &self,
        Parameters(args): Parameters<ListVersionsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = session_or_refuse!(self, ctx);
        check!(require("path", &args.path));
        match session.backend.list_versions(session.vault_id, &args.path).await {
            Ok(versions) => text(format::versions(&args.path, &versions)),
            Err(err) => failed("list_versions", Some(&args.path), &err),
        }
    }
}

fn not_found() -> BackendError {
    BackendError::new(ErrorCode::NotFound, "not found")
}

#[tool_handler]
impl ServerHandler for VaultTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("1claw", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resource = Resource::new(SECRETS_RESOURCE, "Vault secrets")
            .with_description(
                "Browsable listing of all secret paths in the configured vault (metadata only, no values).",
            )
            .with_mime_type("application/json");
        Ok(ListResourcesResult::with_all_items(vec![resource]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != SECRETS_RESOURCE {
            return Err(ErrorData::resource_not_found(format!("no resource {}", request.uri), None));
        }
        let session = self.session(&ctx).map_err(|_| {
            ErrorData::invalid_request("Not authenticated. Provide Authorization and X-Vault-ID headers.", None)
        })?;
        let secrets = session
            .backend
            .list_secrets(session.vault_id)
            .await
            .map_err(|err| ErrorData::invalid_request(format::failure("vault://secrets", None, &err), None))?;
        let listing = format::resource_listing(&secrets);
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(listing, SECRETS_RESOURCE).with_mime_type("application/json"),
        ])
        .into())
    }
}
