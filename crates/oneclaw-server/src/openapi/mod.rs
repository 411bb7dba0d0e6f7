//! The served OpenAPI 3.1 document (`GET /v1/openapi.json` and `/v1/openapi.yaml`). Its schemas
//! are generated from the wire types the handlers take and answer (utoipa's `ToSchema`, derived
//! in `oneclaw-types`), and its operations come from the table in `operations.rs`, one line per
//! route. It cannot drift unnoticed: the test kit checks every answer of the API suite against
//! it and fails on a route it does not describe, and a test asks the server for every operation
//! it lists.

mod operations;

use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneclaw_types::problem::ErrorCode;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use utoipa::ToSchema;

/// The document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = Doc::default();
        operations::describe(&mut doc);
        doc.finish()
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(as_json)).route("/v1/openapi.yaml", get(as_yaml))
}

/// Both forms are written once and served from memory: anyone may ask, and writing the YAML
/// costs tens of milliseconds.
async fn as_json() -> Response {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    let bytes = JSON.get_or_init(|| Bytes::from(serde_json::to_vec(document()).unwrap_or_default()));
    ([(header::CONTENT_TYPE, "application/json")], bytes.clone()).into_response()
}

async fn as_yaml() -> Response {
    static YAML: OnceLock<Option<Bytes>> = OnceLock::new();
    let yaml = YAML.get_or_init(|| match yaml_serde::to_string(document()) {
        Ok(text) => Some(Bytes::from(text)),
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI document does not convert to YAML");
            None
        }
    });
    match yaml {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/yaml")], bytes.clone()).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The HTTP methods the table uses.
#[derive(Clone, Copy)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }
}

/// What a route answers on success.
pub(crate) enum Answer {
    /// A JSON body of this schema.
    Json(Value),
    /// No body (204, or a status whose body is nothing to read).
    Empty,
    /// A body that is not JSON, with its media type.
    Text(&'static str),
    /// A structured document in another media type (YAML): an object once parsed.
    Document(&'static str),
    /// A redirect to a page (the answer is read by a browser).
    Redirect,
}

/// The document under construction.
#[derive(Default)]
pub(crate) struct Doc {
    paths: BTreeMap<String, Map<String, Value>>,
    // Behind a RefCell so a table line can ask for schemas while it adds its route.
    schemas: RefCell<BTreeMap<String, Value>>,
}

impl Doc {
    /// The schema of `T`, registered with every schema it refers to; a reference to it.
    pub(crate) fn schema<T: ToSchema>(&self) -> Value {
        let mut found = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut found);
        for (name, schema) in found {
            let value = serde_json::to_value(schema).unwrap_or(Value::Null);
            self.schemas.borrow_mut().entry(name).or_insert(value);
        }
        json!({"$ref": format!("#/components/schemas/{}", T::name())})
    }

    /// A route: `body` is its request's schema (from `schema`), if it takes one.
    pub(crate) fn route(
        &mut self,
        method: Method,
        path: &str,
        summary: &str,
        body: Option<Value>,
        status: u16,
        answer: Answer,
    ) {
        let tag = tag_of(path);
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": operation_id(method, path),
            "parameters": path_parameters(path),
            "responses": responses(status, answer),
        });
        // A health route answers 503 with its own body when what it watches is down.
        if path.starts_with("/v1/health") {
            let success = operation["responses"][status.to_string()].clone();
            operation["responses"]["503"] = success;
            operation["responses"]["503"]["description"] = json!("Down: what the route watches is failing");
        }
        if let Some(body) = body {
            // A share's passphrase may come in the body of its GET: optional there.
            let required = !matches!(method, Method::Get);
            operation["requestBody"] = json!({"required": required, "content": {"application/json": {"schema": body}}});
        }
        if is_public(method, path) {
            operation["security"] = json!([]);
        }
        self.paths.entry(path.to_owned()).or_default().insert(method.as_str().to_owned(), operation);
    }

    fn finish(self) -> Value {
        let mut schemas = self.schemas.into_inner();
        schemas.insert("ProblemDetails".to_owned(), problem_schema());
        schemas.insert("PaymentRequirements".to_owned(), payment_schema());
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "oneclaw",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Self-hosted, HSM-backed secrets manager for humans and AI agents. Speaks \
                                the 1claw API; routes 1claw lacks are oneclaw's own. The MCP endpoint \
                                (/mcp) speaks the Model Context Protocol and is described in docs/MCP.md.",
            },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
            "security": [{"BearerAuth": []}],
        })
    }
}

/// Every route answers errors as RFC 7807 problems (issue 11); a paid route past the allowance
/// answers 402 with x402 payment terms.
fn responses(status: u16, answer: Answer) -> Value {
    let success = match answer {
        Answer::Json(schema) => json!({"description": "Success", "content": {"application/json": {"schema": schema}}}),
        Answer::Empty => json!({"description": "Success, no body"}),
        Answer::Text(media) => json!({"description": "Success", "content": {media: {"schema": {"type": "string"}}}}),
        Answer::Document(media) => {
            json!({"description": "Success", "content": {media: {"schema": {"type": "object"}}}})
        }
        Answer::Redirect => json!({"description": "A redirect to a page"}),
    };
    let problem = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}});
    json!({
        status.to_string(): success,
        "402": {"description": "Past the free allowance: x402 payment terms (or a problem when payment is off)",
                "content": {"application/json": {"schema": {"anyOf": [
                    {"$ref": "#/components/schemas/PaymentRequirements"},
                    {"$ref": "#/components/schemas/ProblemDetails"}]}}}},
        "4XX": problem("A request error: validation, authentication, permission, absence, conflict, rate"),
        "5XX": problem("A fault: the database or key provider is unavailable, or an internal error"),
    })
}

fn problem_schema() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    json!({
        "type": "object",
        "description": "RFC 7807 problem: every error answer",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "enum": codes, "description": "A stable error code"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Per-field messages of a validation error"},
            "request_id": {"type": "string", "description": "As in the X-Request-Id header and the log"},
            "approval_request_id": {"type": "string", "description": "With approval_required: the request a human decides"},
        },
    })
}

fn payment_schema() -> Value {
    json!({
        "type": "object",
        "description": "x402 payment terms (the x402 protocol's own fields)",
        "required": ["x402Version", "accepts"],
        "properties": {
            "x402Version": {"type": "integer"},
            "accepts": {"type": "array", "items": {"type": "object"}},
            "error": {"type": "string"},
        },
    })
}

/// Path parameters, from the template; `{*path}` (axum's catch-all) is `{path}` in OpenAPI.
fn path_parameters(path: &str) -> Value {
    let parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = if name.ends_with("_id") && name != "share_id" && name != "user_id" {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    Value::Array(parameters)
}

fn operation_id(method: Method, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches('/')
        .split(['/', '-', '.'])
        .filter(|word| !word.is_empty() && *word != "v1")
        .map(|word| word.trim_matches(['{', '}']).to_owned())
        .collect();
    format!("{}_{}", method.as_str(), words.join("_"))
}

fn tag_of(path: &str) -> String {
    let mut segments = path.trim_start_matches('/').split('/').filter(|s| *s != "v1");
    let first = segments.next().unwrap_or_default();
    match (first, segments.next(), segments.next()) {
        ("vaults", Some(_), Some(rest)) if rest.starts_with("secret") => "secrets".to_owned(),
        ("vaults", Some(_), Some(rest)) if rest.starts_with("env") => "env-vars".to_owned(),
        ("vaults", Some(_), Some("policies")) => "policies".to_owned(),
        ("agents", Some(_), Some("bindings" | "execute" | "executions")) => "intents".to_owned(),
        ("shares" | "share" | "secrets", _, _) => "sharing".to_owned(),
        (".well-known", _, _) => "auth".to_owned(),
        (first, _, _) => first.to_owned(),
    }
}

/// Operations that take no bearer token.
fn is_public(method: Method, path: &str) -> bool {
    if matches!(method, Method::Delete) {
        return false;
    }
    const PUBLIC: &[&str] = &[
        "/v1/health",
        "/.well-known/jwks.json",
        "/v1/auth/jwt-public-key",
        "/v1/auth/signup",
        "/v1/auth/token",
        "/v1/auth/refresh",
        "/v1/auth/agent-token",
        "/v1/auth/api-key-token",
        "/v1/auth/google",
        "/v1/auth/mfa/verify",
        "/v1/auth/device/code",
        "/v1/auth/device/token",
        "/v1/auth/device/session",
        "/v1/auth/forgot-password",
        "/v1/auth/reset-password",
        "/v1/audit/scheme",
        "/v1/openapi.json",
        "/v1/openapi.yaml",
        "/v1/share/{share_id}",
        "/v1/auth/device/code/{user_code}",
    ];
    PUBLIC.contains(&path) || path.starts_with("/v1/health/")
}
