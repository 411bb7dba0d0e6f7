//! Executing an intent: the binding's own agent asks, the policy on `bindings/<name>` (permission
//! `execute`, approvals included) allows, the guardrails hold the call, and only then is the
//! credential opened, injected into the one call the server makes, and redacted from what the
//! agent gets back. Each execution is reserved against the binding's rate limits before it is
//! made and recorded (`execution.run`) before it is answered; never the credential, never a body.

use super::Deps;
use super::access::{Access, VaultWithPolicies, evaluate};
use super::bindings::credential_purpose;
use super::change::{Change, record_alone};
use super::secrets::{binding as value_binding, open_value, readable};
use crate::audit::{AuditEvent, Outcome};
use crate::billing::PaidOperation;
use crate::ids::AgentId;
use crate::intents::{
    Binding, BindingType, CallLimits, CredentialSource, EXECUTION_RUN, Execution, HttpIntent, HttpRules, Injection,
    PgRules, Redactor, SqlIntent, unredactable,
};
use crate::model::Vault;
use crate::path::SecretPath;
use crate::policy::Operation;
use crate::ports::store::Reservation;
use crate::ports::{HttpCall, RunFailure, SqlCall};
use crate::principal::{Caller, Principal, PrincipalRef};
use crate::{Error, Result};
use base64::Engine;
use oneclaw_types::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What an agent asks to run.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    /// The binding's name or id.
    pub binding: String,
    pub intent_type: String,
    pub execution_mode: Option<String>,
    pub params: Value,
}

/// An execution as answered: its record, the redacted result, or the redacted error.
#[derive(Debug, Clone)]
pub struct ExecuteOutcome {
    pub execution: Execution,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// A connectivity test's answer.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub success: bool,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// The one call an execution makes, held to its binding's rules.
enum Planned {
    Http(Box<(HttpRules, HttpIntent)>),
    Sql(Box<(PgRules, SqlIntent)>),
}

impl Planned {
    fn limits(&self) -> CallLimits {
        match self {
            Self::Http(planned) => planned.0.limits,
            Self::Sql(planned) => planned.0.limits,
        }
    }

    /// What the record keeps of the request: never the credential, the body or the query.
    fn summary(&self) -> Value {
        match self {
            Self::Http(planned) => json!({
                "method": planned.1.method,
                "host": crate::intents::host_of(&planned.1.url),
                "path": planned.1.url.path(),
                "body_bytes": planned.1.body.len(),
            }),
            Self::Sql(planned) => json!({
                "host": planned.0.host,
                "database": planned.0.database,
                "statement": planned.1.kind,
                "read_only": planned.0.read_only,
            }),
        }
    }
}

/// Executions service.
pub struct Executions<'a> {
    deps: &'a Deps,
}

impl<'a> Executions<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    pub async fn execute(&self, caller: &Caller, agent: AgentId, request: ExecuteRequest) -> Result<ExecuteOutcome> {
        if caller.principal.agent_id() != Some(agent) {
            return Err(Error::Forbidden(
                "Only the binding's own agent executes it (humans check a binding with POST …/test)".to_owned(),
            ));
        }
        let binding = self.find(caller, agent, &request.binding).await?;
        let now = self.deps.clock.now();
        let event = AuditEvent::by(caller, EXECUTION_RUN, "binding", now)
            .resource(binding.id)
            .detail("binding", binding.name.as_str())
            .detail("intent_type", request.intent_type.as_str());
        match request.execution_mode.as_deref() {
            None | Some("vault") => {}
            Some("tee") => {
                return Err(Error::invalid_field(
                    "execution_mode",
                    "this server runs intents in the vault only (no TEE)",
                ));
            }
            Some(_) => return Err(Error::invalid_field("execution_mode", "must be vault")),
        }
        if request.intent_type != binding.binding_type.intent_type() {
            return Err(Error::invalid_field(
                "intent_type",
                format!("a {} binding runs {}", binding.binding_type.as_str(), binding.binding_type.intent_type()),
            ));
        }
        if !binding.is_active {
            return Err(self.refuse(event, Error::Forbidden("The binding is inactive".to_owned())).await);
        }
        let vault = match self.allowed(caller, &binding).await {
            Ok(vault) => vault,
            Err(refused) => return Err(self.refuse(event, refused).await),
        };
        let planned = match self.plan(&binding, &request.params) {
            Ok(planned) => planned,
            Err(refused) => return Err(self.refuse(event, refused).await),
        };
        let credential = match self.credential(caller, &binding, &vault).await {
            Ok(credential) => credential,
            Err(refused) => return Err(self.refuse(event, refused).await),
        };
        super::charging::charge_alone(self.deps, caller, PaidOperation::ReadSecret).await?;
        let mut execution = Execution {
            id: Uuid::now_v7(),
            org_id: caller.org_id(),
            agent_id: agent,
            binding_id: binding.id,
            intent_type: request.intent_type.clone(),
            status: "running".to_owned(),
            request_summary: planned.summary(),
            result_summary: None,
            error_message: None,
            duration_ms: 0,
            redactions_applied: 0,
            created_at: now,
        };
        if let Err(refused) = self.reserve(&execution, planned.limits()).await {
            super::charging::uncharge(self.deps, caller).await;
            return Err(self.refuse(event, refused).await);
        }
        let started = Instant::now();
        let ran = self.run(&binding, planned, &credential).await;
        execution.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (result, error) = match ran {
            Ok((result, summary, redactions)) => {
                execution.status = "success".to_owned();
                execution.result_summary = Some(summary);
                execution.redactions_applied = i64::try_from(redactions).unwrap_or(i64::MAX);
                (Some(result), None)
            }
            Err((message, redactions, refused)) => {
                execution.status = if refused { "refused" } else { "error" }.to_owned();
                execution.error_message = Some(message.clone());
                execution.redactions_applied = i64::try_from(redactions).unwrap_or(i64::MAX);
                (None, Some((message, refused)))
            }
        };
        let mut event = event
            .detail("execution_id", execution.id.to_string())
            .detail("request", execution.request_summary.clone())
            .detail("result", execution.result_summary.clone().unwrap_or(Value::Null))
            .detail("status", execution.status.as_str())
            .detail("duration_ms", execution.duration_ms)
            .detail("redactions_applied", execution.redactions_applied);
        match &error {
            Some((_, true)) => event = event.outcome(Outcome::Denied),
            Some((_, false)) => event = event.outcome(Outcome::Failure),
            None => {}
        }
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().finish_execution(&execution).await?;
        change.commit([event]).await?;
        match error {
            // The target resolved to an address the binding may not reach: nothing was sent.
            Some((why, true)) => {
                super::charging::uncharge(self.deps, caller).await;
                Err(Error::Forbidden(format!("Outside the binding's guardrails: {why}")))
            }
            Some((why, false)) => Ok(ExecuteOutcome { execution, result, error: Some(why) }),
            None => Ok(ExecuteOutcome { execution, result, error: None }),
        }
    }

    /// An agent's executions, newest first: for the agent itself or a human of the org.
    pub async fn list(&self, caller: &Caller, agent: AgentId, limit: i64, offset: i64) -> Result<Vec<Execution>> {
        if caller.principal.agent_id().is_some_and(|me| me != agent) {
            return Err(Error::Forbidden("An agent sees only its own executions".to_owned()));
        }
        self.deps.store.executions(caller.org_id(), agent, limit.clamp(1, 200), offset.max(0)).await
    }

    /// Checks that the binding's service answers: for http, a HEAD to its base URL without the
    /// credential; for postgres, `SELECT 1` signed in with it. For humans who manage the vault.
    pub async fn test(
        &self,
        caller: &Caller,
        agent: AgentId,
        id: Uuid,
        timeout_ms: Option<i64>,
    ) -> Result<TestOutcome> {
        let binding = super::bindings::Bindings::new(self.deps).get(caller, agent, id).await?;
        let access = Access::new(self.deps);
        let vault = access.vault(caller, binding.vault_id).await?;
        access.manage(caller, &vault).await?;
        let timeout = Duration::from_millis(timeout_ms.unwrap_or(5_000).clamp(100, 30_000).unsigned_abs());
        let allow_private = self.deps.settings.execute_allow_private;
        let started = Instant::now();
        let outcome = match binding.binding_type {
            BindingType::Http => {
                let rules = HttpRules::parse(&binding.config, &binding.guardrails)?;
                let host = crate::intents::host_of(&rules.base_url);
                let call = HttpCall {
                    method: "HEAD".to_owned(),
                    url: rules.base_url.clone(),
                    headers: Vec::new(),
                    body: Vec::new(),
                    timeout,
                    max_response_bytes: 1,
                    allow_private: allow_private && rules.private_host_allowed(&host),
                };
                match rules.intent(&json!({"method": "GET", "path": "/"}), allow_private).map(|_| ()) {
                    // The guardrails may not allow GET /; the test only needs the host reachable.
                    Err(Error::Forbidden(why)) if why.contains("private") => Err(why),
                    _ => self.deps.intents.http(call).await.map(|_| ()).map_err(failure_text),
                }
            }
            BindingType::Postgres => {
                let rules = PgRules::parse(&binding.config, &binding.guardrails)?;
                let credential = self.credential(caller, &binding, &vault).await?;
                let mut call = sql_call(
                    &rules,
                    SqlIntent { query: "SELECT 1".to_owned(), kind: "select".to_owned(), params: Vec::new() },
                    &credential,
                    allow_private,
                );
                call.timeout = timeout;
                let redactor = Redactor::new(credential.expose(), &[]);
                self.deps.intents.sql(call).await.map(|_| ()).map_err(|f| redactor.redact_text(&failure_text(f)).0)
            }
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let event = super::bindings::audit(caller, "binding.test", &binding, self.deps.clock.now())
            .detail("success", outcome.is_ok());
        self.deps.journal.record(event).await?;
        Ok(TestOutcome { success: outcome.is_ok(), latency_ms, error: outcome.err() })
    }

    async fn find(&self, caller: &Caller, agent: AgentId, name_or_id: &str) -> Result<Binding> {
        let store = self.deps.store.as_ref();
        let found = match Uuid::parse_str(name_or_id) {
            Ok(id) => store.binding(caller.org_id(), id).await?.filter(|b| b.agent_id == agent),
            Err(_) => store.binding_by_name(caller.org_id(), agent, name_or_id).await?,
        };
        found.ok_or_else(|| Error::NotFound(format!("The agent has no binding {name_or_id:?}")))
    }

    /// The policy check on `bindings/<name>` with `execute`, through the approval gate.
    async fn allowed(&self, caller: &Caller, binding: &Binding) -> Result<Vault> {
        let VaultWithPolicies { vault, policies } =
            Access::new(self.deps).vault_access(caller, binding.vault_id).await?;
        let path = SecretPath::parse(&binding.policy_path())?;
        match evaluate(caller, &vault, &policies, &path, Operation::Execute, self.deps.clock.now()) {
            Err(Error::ApprovalRequired { policy: Some(policy), .. }) => {
                super::approvals::Approvals::new(self.deps)
                    .gate(caller, &vault, &policies, &path, Operation::Execute, policy)
                    .await?
            }
            other => other?,
        }
        Ok(vault)
    }

    fn plan(&self, binding: &Binding, params: &Value) -> Result<Planned> {
        let allow_private = self.deps.settings.execute_allow_private;
        Ok(match binding.binding_type {
            BindingType::Http => {
                let rules = HttpRules::parse(&binding.config, &binding.guardrails)?;
                let intent = rules.intent(params, allow_private)?;
                Planned::Http(Box::new((rules, intent)))
            }
            BindingType::Postgres => {
                let rules = PgRules::parse(&binding.config, &binding.guardrails)?;
                let intent = rules.intent(params, allow_private)?;
                Planned::Sql(Box::new((rules, intent)))
            }
        })
    }

    /// The credential, opened: the sealed inline copy, or the latest version of the secret a
    /// `vault_ref` points at, while the human who made the binding is still a member.
    async fn credential(&self, caller: &Caller, binding: &Binding, vault: &Vault) -> Result<SecretString> {
        let credential = match &binding.credential {
            CredentialSource::None => return Err(Error::Conflict("The binding has no credential yet".to_owned())),
            CredentialSource::Inline => {
                let sealed = self.deps.store.binding_credential(binding.id).await?;
                let sealed = sealed.ok_or_else(|| Error::Conflict("The binding has no credential yet".to_owned()))?;
                let opened = self.deps.keys.unseal_system_secret(&credential_purpose(binding.id), &sealed).await?;
                let text = std::str::from_utf8(&opened)
                    .map_err(|_| Error::Internal("a binding credential is not text".to_owned()))?;
                SecretString::new(text.to_owned())
            }
            CredentialSource::VaultRef { path } => {
                if self.deps.store.member_role(binding.org_id, binding.created_by).await?.is_none() {
                    return Err(Error::Forbidden(
                        "The member who made this binding has left the org: a manager must point it at a secret again"
                            .to_owned(),
                    ));
                }
                let path = SecretPath::parse(path)?;
                // Still theirs to read: a policy taken away from them stops the binding too.
                let creator = Caller::new(
                    Principal::bare(PrincipalRef::user(binding.created_by), binding.org_id, i64::MAX),
                    caller.meta.clone(),
                );
                if Access::new(self.deps).secret(&creator, vault.id, &path, Operation::Read).await.is_err() {
                    return Err(Error::Forbidden(
                        "The member who made this binding may no longer read its credential".to_owned(),
                    ));
                }
                let found = self.deps.store.secret_for_read(vault.id, path.as_str(), None).await?;
                let found =
                    found.ok_or_else(|| Error::Conflict(format!("No secret at {path}, the binding's credential")))?;
                readable(&found.version, self.deps.clock.now())?;
                if found.version.max_access_count.is_some() {
                    return Err(Error::Conflict("A secret with an access limit cannot back a binding".to_owned()));
                }
                open_value(self.deps, value_binding(vault, &path, found.version.version), &found).await?
            }
        };
        if let Some(problem) = unredactable(credential.expose()) {
            return Err(Error::Conflict(format!("The credential {problem}: it could not be redacted reliably")));
        }
        Ok(credential)
    }

    async fn reserve(&self, execution: &Execution, limits: CallLimits) -> Result<()> {
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        match change.tx().reserve_execution(execution, limits).await? {
            Reservation::Reserved => change.commit([]).await,
            Reservation::Unavailable => Err(Error::Forbidden("The binding is inactive".to_owned())),
            Reservation::PerMinuteReached => Err(Error::TooManyRequests {
                detail: format!("The binding allows {} executions a minute", limits.per_minute),
                retry_after_secs: 60,
            }),
            Reservation::PerDayReached => Err(Error::TooManyRequests {
                detail: format!("The binding allows {} executions a day", limits.per_day),
                retry_after_secs: 3600,
            }),
        }
    }

    /// Makes the call; the redacted result, its summary and the redaction count, or the
    /// redacted error and its count.
    async fn run(
        &self,
        binding: &Binding,
        planned: Planned,
        credential: &SecretString,
    ) -> std::result::Result<(Value, Value, usize), (String, usize, bool)> {
        let allow_private = self.deps.settings.execute_allow_private;
        match planned {
            Planned::Http(planned) => {
                let (rules, intent) = *planned;
                let (call, redactor) = http_call(&rules, intent, credential, allow_private);
                match self.deps.intents.http(call).await {
                    Ok(answer) => {
                        let redacted = self.off_thread(move || http_result(&redactor, answer)).await;
                        let (result, count) =
                            redacted.ok_or_else(|| ("the answer could not be redacted".to_owned(), 0, false))?;
                        let summary = json!({"status_code": result["status_code"], "body_bytes": result["body"].as_str().map_or(0, str::len)});
                        Ok((result, summary, count))
                    }
                    Err(failure) => Err(failed(&redactor, failure)),
                }
            }
            Planned::Sql(planned) => {
                let (rules, intent) = *planned;
                let redactor = Redactor::new(credential.expose(), &[]);
                let call = sql_call(&rules, intent, credential, allow_private);
                match self.deps.intents.sql(call).await {
                    Ok(answer) => {
                        let rows = answer.rows.len();
                        let result = json!({
                            "columns": answer.columns,
                            "rows": answer.rows,
                            "row_count": rows,
                            "truncated": answer.truncated,
                            "rows_affected": answer.rows_affected,
                        });
                        let Ok(encoded) = serde_json::to_vec(&result) else {
                            return Err(("the rows could not be encoded".to_owned(), 0, false));
                        };
                        let (clean, count) = self
                            .off_thread(move || redactor.redact(&encoded))
                            .await
                            .ok_or_else(|| ("the rows could not be redacted".to_owned(), 0, false))?;
                        match serde_json::from_slice::<Value>(&clean) {
                            Ok(result) => Ok((result, json!({"row_count": rows, "truncated": answer.truncated}), count)),
                            Err(_) => Err(("the rows could not be redacted".to_owned(), count, false)),
                        }
                    }
                    Err(failure) => Err(failed(&redactor, failure)),
                }
            }
        }
        .map_err(|(message, count, refused): (String, usize, bool)| {
            tracing::debug!(binding = %binding.id, error = %message, "an execution failed");
            (message, count, refused)
        })
    }

    /// `work`'s result, computed through the runner's `off_thread` (redaction of a large answer
    /// is CPU-bound); none if it did not finish (it panicked).
    async fn off_thread<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let filled = Arc::clone(&slot);
        self.deps
            .intents
            .off_thread(Box::new(move || {
                let value = work();
                if let Ok(mut slot) = filled.lock() {
                    *slot = Some(value);
                }
            }))
            .await;
        slot.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Records a refused execution with its reason, then hands back the error.
    async fn refuse(&self, event: AuditEvent, error: Error) -> Error {
        let event = event.detail("reason", error.to_string()).outcome(Outcome::Denied);
        record_alone(self.deps.journal.as_ref(), event).await;
        error
    }
}

/// The HTTP call with the credential injected as the binding says, and what to redact.
fn http_call(
    rules: &HttpRules,
    intent: HttpIntent,
    credential: &SecretString,
    allow_private: bool,
) -> (HttpCall, Redactor) {
    let secret = credential.expose();
    let mut url = intent.url;
    let mut headers: Vec<(String, SecretString)> =
        intent.headers.into_iter().map(|(name, value)| (name, SecretString::new(value))).collect();
    let mut sent_as = Vec::new();
    match &rules.injection {
        Injection::Bearer => headers.push(("Authorization".to_owned(), SecretString::new(format!("Bearer {secret}")))),
        Injection::Header { name, prefix } => {
            headers.push((name.clone(), SecretString::new(format!("{prefix}{secret}"))))
        }
        Injection::Basic { username } => {
            let pair = format!("{username}:{secret}");
            let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
            headers.push(("Authorization".to_owned(), SecretString::new(format!("Basic {encoded}"))));
            sent_as.push(pair);
        }
        Injection::Query { name } => {
            url.query_pairs_mut().append_pair(name, secret);
        }
    }
    let sent_as: Vec<&str> = sent_as.iter().map(String::as_str).collect();
    let redactor = Redactor::new(secret, &sent_as);
    let host = crate::intents::host_of(&url);
    let call = HttpCall {
        method: intent.method,
        url,
        headers,
        body: intent.body,
        timeout: Duration::from_millis(rules.timeout_ms),
        max_response_bytes: rules.max_response_bytes,
        allow_private: allow_private && rules.private_host_allowed(&host),
    };
    (call, redactor)
}

fn sql_call(rules: &PgRules, intent: SqlIntent, credential: &SecretString, allow_private: bool) -> SqlCall {
    SqlCall {
        host: rules.host.clone(),
        port: rules.port,
        database: rules.database.clone(),
        user: rules.user.clone(),
        password: credential.clone(),
        tls: rules.tls,
        ca_cert: rules.ca_cert.clone(),
        read_only: rules.read_only,
        statement_timeout: Duration::from_millis(rules.statement_timeout_ms),
        timeout: Duration::from_millis(rules.timeout_ms),
        max_rows: rules.max_rows,
        max_response_bytes: rules.max_response_bytes,
        query: intent.query,
        params: intent.params,
        allow_private: allow_private && rules.private_host_allowed(&rules.host),
    }
}

/// The answer as the agent sees it: status, headers (names and values) and body, every form of
/// the credential replaced; `json` too when the body is JSON. The parsed JSON is checked again
/// as it will be written out, since parsing decodes escapes: what an escape spelled must not
/// come back whole.
fn http_result(redactor: &Redactor, answer: crate::ports::HttpAnswer) -> (Value, usize) {
    let mut count = 0;
    let mut headers = serde_json::Map::new();
    for (name, value) in &answer.headers {
        let (clean_name, n) = redactor.redact_text(name);
        count += n;
        let (clean, n) = redactor.redact(value);
        count += n;
        headers.insert(clean_name, Value::String(String::from_utf8_lossy(&clean).into_owned()));
    }
    let (body, n) = redactor.redact(&answer.body);
    count += n;
    let mut result = json!({
        "status_code": answer.status,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    if let Some(parsed) =
        serde_json::from_slice::<Value>(&body).ok().and_then(|parsed| rechecked(redactor, &body, parsed))
    {
        result["json"] = parsed;
    }
    (result, count)
}

/// Parsed JSON as written out, redacted again: unchanged, or with what it decoded to replaced,
/// or nothing when the replacement would not parse. Parsing changes text only through `\`
/// escapes, so a body without one is not searched twice.
fn rechecked(redactor: &Redactor, body: &[u8], parsed: Value) -> Option<Value> {
    if !body.contains(&b'\\') {
        return Some(parsed);
    }
    let written = serde_json::to_vec(&parsed).ok()?;
    let (clean, count) = redactor.redact(&written);
    if count == 0 { Some(parsed) } else { serde_json::from_slice(&clean).ok() }
}

/// A failure's redacted text, its redaction count, and whether nothing was sent.
fn failed(redactor: &Redactor, failure: RunFailure) -> (String, usize, bool) {
    let refused = matches!(failure, RunFailure::Refused(_));
    let (text, count) = redactor.redact_text(&failure_text(failure));
    (text, count, refused)
}

fn failure_text(failure: RunFailure) -> String {
    match failure {
        RunFailure::Refused(why) => format!("refused, nothing was sent: {why}"),
        RunFailure::Failed(why) => why,
    }
}
