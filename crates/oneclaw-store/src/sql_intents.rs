//! Queries of bindings and their executions, generic over the backend. An execution's
//! reservation takes the binding's row (an update), then counts the last minute's and day's
//! executions: on PostgreSQL the row lock, on SQLite the single writer, make count-then-insert
//! atomic across racing requests and nodes.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::ids::{AgentId, OrgId, UserId, VaultId};
use oneclaw_core::intents::{Binding, BindingType, CallLimits, CredentialSource, Execution};
use oneclaw_core::ports::store::Reservation;
use oneclaw_core::{Error, Result};
use serde_json::Value;
use sqlx::Pool;
use uuid::Uuid;

macro_rules! binding_cols {
    () => {
        "id, org_id, agent_id, name, binding_type, config, guardrails, is_active, vault_id, credential_source, \
         credential_path, created_by, created_at, updated_at"
    };
}

macro_rules! execution_cols {
    () => {
        "id, org_id, agent_id, binding_id, intent_type, status, request_summary, result_summary, error_message, \
         duration_ms, redactions_applied, created_at"
    };
}

fn json_column(row: &impl Columns, column: &str) -> Result<Value> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|err| Error::Internal(format!("stored {column}: {err}")))
}

fn binding_from(row: &impl Columns) -> Result<Binding> {
    let source: Option<String> = get(row, "credential_source")?;
    let path: Option<String> = get(row, "credential_path")?;
    let credential = match (source.as_deref(), path) {
        (None, _) => CredentialSource::None,
        (Some("inline"), _) => CredentialSource::Inline,
        (Some("vault_ref"), Some(path)) => CredentialSource::VaultRef { path },
        (Some(other), _) => return Err(Error::Internal(format!("stored credential source {other:?}"))),
    };
    let binding_type: String = get(row, "binding_type")?;
    Ok(Binding {
        id: get(row, "id")?,
        org_id: OrgId(get(row, "org_id")?),
        agent_id: AgentId(get(row, "agent_id")?),
        name: get(row, "name")?,
        binding_type: BindingType::parse(&binding_type)
            .map_err(|_| Error::Internal(format!("stored binding type {binding_type:?}")))?,
        config: json_column(row, "config")?,
        guardrails: json_column(row, "guardrails")?,
        is_active: get(row, "is_active")?,
        vault_id: VaultId(get(row, "vault_id")?),
        credential,
        created_by: UserId(get(row, "created_by")?),
        created_at: from_ms(get(row, "created_at")?)?,
        updated_at: from_ms(get(row, "updated_at")?)?,
    })
}

fn execution_from(row: &impl Columns) -> Result<Execution> {
    let result: Option<String> = get(row, "result_summary")?;
    Ok(Execution {
        id: get(row, "id")?,
        org_id: OrgId(get(row, "org_id")?),
        agent_id: AgentId(get(row, "agent_id")?),
        binding_id: get(row, "binding_id")?,
        intent_type: get(row, "intent_type")?,
        status: get(row, "status")?,
        request_summary: json_column(row, "request_summary")?,
        result_summary: result
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|err| Error::Internal(format!("stored result_summary: {err}")))?,
        error_message: get(row, "error_message")?,
        duration_ms: get(row, "duration_ms")?,
        redactions_applied: get(row, "redactions_applied")?,
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

fn path_of(binding: &Binding) -> Option<&str> {
    match &binding.credential {
        CredentialSource::VaultRef { path } => Some(path),
        _ => None,
    }
}

pub(super) async fn list<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, agent: AgentId) -> Result<Vec<Binding>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        binding_cols!(),
        " FROM bindings WHERE org_id = $1 AND agent_id = $2 ORDER BY name"
    ))
    .arg(org.0)
    .arg(agent.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(binding_from).collect()
}

pub(super) async fn by_id<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, id: Uuid) -> Result<Option<Binding>> {
    let row = sqlx::query(concat!("SELECT ", binding_cols!(), " FROM bindings WHERE id = $1 AND org_id = $2"))
        .arg(id)
        .arg(org.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(binding_from).transpose()
}

pub(super) async fn by_name<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    agent: AgentId,
    name: &str,
) -> Result<Option<Binding>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        binding_cols!(),
        " FROM bindings WHERE org_id = $1 AND agent_id = $2 AND name = $3"
    ))
    .arg(org.0)
    .arg(agent.0)
    .arg(name)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(binding_from).transpose()
}

pub(super) async fn credential<DB: SqlBackend>(pool: &Pool<DB>, id: Uuid) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT credential_sealed FROM bindings WHERE id = $1")
        .arg(id)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    match row {
        Some(row) => get(&row, "credential_sealed"),
        None => Ok(None),
    }
}

pub(super) async fn executions<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    agent: AgentId,
    limit: i64,
    offset: i64,
) -> Result<Vec<Execution>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        execution_cols!(),
        " FROM executions WHERE org_id = $1 AND agent_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .arg(org.0)
    .arg(agent.0)
    .arg(limit)
    .arg(offset)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(execution_from).collect()
}

pub(super) async fn insert<DB: SqlBackend>(tx: &mut Tx<DB>, binding: &Binding, sealed: Option<&[u8]>) -> Result<bool> {
    let taken: Option<Uuid> = sqlx::query("SELECT id FROM bindings WHERE agent_id = $1 AND name = $2")
        .arg(binding.agent_id.0)
        .arg(binding.name.as_str())
        .fetch_optional_scalar_on(&mut *tx)
        .await
        .map_err(db_error)?;
    if taken.is_some() {
        return Ok(false);
    }
    sqlx::query(concat!(
        "INSERT INTO bindings (",
        binding_cols!(),
        ", credential_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .arg(binding.id)
    .arg(binding.org_id.0)
    .arg(binding.agent_id.0)
    .arg(binding.name.as_str())
    .arg(binding.binding_type.as_str())
    .arg(binding.config.to_string())
    .arg(binding.guardrails.to_string())
    .arg(binding.is_active)
    .arg(binding.vault_id.0)
    .arg(binding.credential.type_name())
    .arg(path_of(binding))
    .arg(binding.created_by.0)
    .arg(to_ms(binding.created_at))
    .arg(to_ms(binding.updated_at))
    .arg(sealed)
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(true)
}

pub(super) async fn update<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    binding: &Binding,
    sealed: Option<Option<&[u8]>>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE bindings SET config = $1, guardrails = $2, is_active = $3, credential_source = $4, \
         credential_path = $5, updated_at = $6, created_by = $7 WHERE id = $8 AND org_id = $9",
    )
    .arg(binding.config.to_string())
    .arg(binding.guardrails.to_string())
    .arg(binding.is_active)
    .arg(binding.credential.type_name())
    .arg(path_of(binding))
    .arg(to_ms(binding.updated_at))
    .arg(binding.created_by.0)
    .arg(binding.id)
    .arg(binding.org_id.0)
    .execute_on(&mut *tx)
    .await
    .map_err(db_error)?;
    if done == 1
        && let Some(sealed) = sealed
    {
        sqlx::query("UPDATE bindings SET credential_sealed = $1 WHERE id = $2")
            .arg(sealed)
            .arg(binding.id)
            .execute_on(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    Ok(done == 1)
}

pub(super) async fn delete<DB: SqlBackend>(tx: &mut Tx<DB>, org: OrgId, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM bindings WHERE id = $1 AND org_id = $2")
        .arg(id)
        .arg(org.0)
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn reserve<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    execution: &Execution,
    limits: CallLimits,
) -> Result<Reservation> {
    let now = to_ms(execution.created_at);
    // The binding's row, locked until commit: the counts below cannot race another reservation.
    let held = sqlx::query("UPDATE bindings SET last_execution_at = $1 WHERE id = $2 AND is_active = $3")
        .arg(now)
        .arg(execution.binding_id)
        .arg(true)
        .execute_on(&mut *tx)
        .await
        .map_err(db_error)?;
    if held != 1 {
        return Ok(Reservation::Unavailable);
    }
    let count = |since: i64| {
        sqlx::query("SELECT COUNT(*) FROM executions WHERE binding_id = $1 AND created_at > $2")
            .arg(execution.binding_id)
            .arg(since)
    };
    let last_minute: i64 = count(now - 60_000).fetch_scalar_on(&mut *tx).await.map_err(db_error)?;
    if last_minute >= limits.per_minute {
        return Ok(Reservation::PerMinuteReached);
    }
    let last_day: i64 = count(now - 86_400_000).fetch_scalar_on(&mut *tx).await.map_err(db_error)?;
    if last_day >= limits.per_day {
        return Ok(Reservation::PerDayReached);
    }
    sqlx::query(concat!(
        "INSERT INTO executions (",
        execution_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .arg(execution.id)
    .arg(execution.org_id.0)
    .arg(execution.agent_id.0)
    .arg(execution.binding_id)
    .arg(execution.intent_type.as_str())
    .arg(execution.status.as_str())
    .arg(execution.request_summary.to_string())
    .arg(execution.result_summary.as_ref().map(Value::to_string))
    .arg(execution.error_message.as_deref())
    .arg(execution.duration_ms)
    .arg(execution.redactions_applied)
    .arg(now)
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(Reservation::Reserved)
}

pub(super) async fn finish<DB: SqlBackend>(tx: &mut Tx<DB>, execution: &Execution) -> Result<()> {
    sqlx::query(
        "UPDATE executions SET status = $1, result_summary = $2, error_message = $3, duration_ms = $4, \
         redactions_applied = $5 WHERE id = $6",
    )
    .arg(execution.status.as_str())
    .arg(execution.result_summary.as_ref().map(Value::to_string))
    .arg(execution.error_message.as_deref())
    .arg(execution.duration_ms)
    .arg(execution.redactions_applied)
    .arg(execution.id)
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}
