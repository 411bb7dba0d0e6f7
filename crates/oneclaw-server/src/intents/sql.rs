//! An execution's SQL statement on PostgreSQL: one connection to the checked address (by name
//! when the certificate is verified against it), the binding's statement timeout set at
//! connect, one prepared statement (so one statement only) inside a transaction that is
//! read-only when the binding is (the database refuses writes itself) and rolled back unless
//! the binding may write. Nothing of it is logged: not the statement, not the server's notices.

use super::checked_addresses;
use futures_util::TryStreamExt;
use oneclaw_core::ports::{PgTls, RunFailure, SqlAnswer, SqlCall};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgRow, PgSslMode};
use sqlx::{Column, ConnectOptions, Connection, PgConnection, Row, TypeInfo, ValueRef};

/// Statement kinds whose answer is a count, not rows.
const COUNTED: &[&str] = &["insert", "update", "delete", "merge"];

pub(super) async fn run(call: SqlCall) -> Result<SqlAnswer, RunFailure> {
    let addresses = checked_addresses(&call.host, call.port, call.allow_private).await?;
    // Verifying the certificate needs the name it was issued for, so that mode connects by
    // the name just checked; the others connect to the checked address itself.
    let host = match call.tls {
        PgTls::VerifyFull => call.host.clone(),
        PgTls::Require | PgTls::Disable => addresses[0].ip().to_string(),
    };
    let mut options = PgConnectOptions::new()
        .host(&host)
        .port(call.port)
        .database(&call.database)
        .username(&call.user)
        .password(call.password.expose())
        .ssl_mode(match call.tls {
            PgTls::VerifyFull => PgSslMode::VerifyFull,
            PgTls::Require => PgSslMode::Require,
            PgTls::Disable => PgSslMode::Disable,
        })
        .application_name("oneclaw-intents")
        .options([
            ("statement_timeout", call.statement_timeout.as_millis().to_string()),
            // The agent's statement could raise notices carrying what it read into our logs.
            ("client_min_messages", "error".to_owned()),
        ])
        .disable_statement_logging();
    if let Some(pem) = &call.ca_cert {
        options = options.ssl_root_cert_from_pem(pem.clone().into_bytes());
    }
    match tokio::time::timeout(call.timeout, statement(options, &call)).await {
        Ok(answer) => answer.map_err(|err| RunFailure::Failed(database_error(&err))),
        Err(_) => Err(RunFailure::Failed(format!("no answer within {} ms", call.timeout.as_millis()))),
    }
}

async fn statement(options: PgConnectOptions, call: &SqlCall) -> sqlx::Result<SqlAnswer> {
    let mut connection = PgConnection::connect_with(&options).await?;
    let mut tx = connection.begin().await?;
    if call.read_only {
        sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
    }
    // Takes the snapshot: from here the transaction's mode can no longer be changed.
    sqlx::query("SELECT 1").execute(&mut *tx).await?;
    let kind: String = call.query.trim_start().chars().take_while(char::is_ascii_alphabetic).collect();
    // The agent's statement is the point of a SQL binding: held by the binding's guardrails
    // (statement kinds, read-only transaction, timeout), run as one prepared statement.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(call.query.clone())).persistent(false);
    for param in &call.params {
        query = match param {
            Value::Null => query.bind(None::<String>),
            Value::Bool(flag) => query.bind(*flag),
            Value::Number(n) if n.is_i64() => query.bind(n.as_i64()),
            Value::Number(n) => query.bind(n.as_f64()),
            Value::String(text) => query.bind(text.clone()),
            other => query.bind(other.to_string()),
        };
    }
    let mut answer = SqlAnswer { columns: Vec::new(), rows: Vec::new(), truncated: false, rows_affected: 0 };
    if COUNTED.contains(&kind.to_ascii_lowercase().as_str()) {
        answer.rows_affected = query.execute(&mut *tx).await?.rows_affected();
    } else {
        let mut rows = query.fetch(&mut *tx);
        let mut bytes = 0;
        while let Some(row) = rows.try_next().await? {
            if answer.columns.is_empty() {
                answer.columns = row.columns().iter().map(|c| c.name().to_owned()).collect();
            }
            let row_values = values(&row);
            bytes += row_values.iter().map(|value| value.to_string().len() + 1).sum::<usize>();
            if answer.rows.len() == call.max_rows || bytes > call.max_response_bytes {
                answer.truncated = true;
                break;
            }
            answer.rows.push(row_values);
        }
    }
    if call.read_only {
        tx.rollback().await?
    } else {
        tx.commit().await?
    }
    Ok(answer)
}

/// A row's values as JSON; a type without a JSON form says how to get it (a cast to text).
fn values(row: &PgRow) -> Vec<Value> {
    (0..row.columns().len())
        .map(|i| {
            let column = &row.columns()[i];
            if row.try_get_raw(i).map(|raw| raw.is_null()).unwrap_or(true) {
                return Value::Null;
            }
            let type_name = column.type_info().name().to_owned();
            let decoded = match type_name.as_str() {
                "BOOL" => row.try_get::<bool, _>(i).map(Value::from),
                "INT2" => row.try_get::<i16, _>(i).map(Value::from),
                "INT4" => row.try_get::<i32, _>(i).map(Value::from),
                "INT8" => row.try_get::<i64, _>(i).map(Value::from),
                "FLOAT4" => row.try_get::<f32, _>(i).map(Value::from),
                "FLOAT8" => row.try_get::<f64, _>(i).map(Value::from),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => row.try_get::<String, _>(i).map(Value::from),
                "UUID" => row.try_get::<uuid::Uuid, _>(i).map(|id| Value::from(id.to_string())),
                "JSON" | "JSONB" => row.try_get::<Value, _>(i),
                _ => return Value::from(format!("<{type_name}: cast it to text to read it>")),
            };
            decoded.unwrap_or_else(|_| Value::from(format!("<{type_name}: could not be read>")))
        })
        .collect()
}

/// The database's own words (its SQLSTATE and message), never the connection options.
fn database_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => {
            format!("the database refused: {} ({})", db.message(), db.code().unwrap_or_default())
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => "could not connect to the database".to_owned(),
        sqlx::Error::PoolTimedOut => "the database did not answer in time".to_owned(),
        _ => "the statement could not be run".to_owned(),
    }
}
