//! Strict-client conformance (issue 19): every JSON answer the API suite receives from a route
//! that 1claw's OpenAPI document describes is checked against that route's answer schema with
//! `additionalProperties: false` imposed, and the models the Go SDK decodes strictly
//! (`DisallowUnknownFields`) against their exact field sets (docs/API.md "Strict clients", from the
//! API reference's §2.9). `TestApp::call` and friends run it on every answer, so a field that
//! would break a strict client fails the test that produced it.
//!
//! The spec is vendored as JSON in `compat/spec/` (MIT, with its licence). The checker reads the
//! subset of JSON Schema the spec uses: `$ref`, `type` (also as a list), `properties`,
//! `required`, `items`, `enum`, `allOf`/`oneOf`/`anyOf`, `additionalProperties`, `nullable`.

use serde_json::{Map, Value};
use std::sync::OnceLock;

const SPEC_JSON: &str = include_str!("../../../compat/spec/1claw-openapi.json");

/// The Go SDK's strict models: every field it knows, `*` when it must be present.
const GO_MODELS: &[(&str, &[&str])] = &[
    ("TokenResponse", &["access_token*", "token_type*", "expires_in", "refresh_token"]),
    (
        "VaultResponse",
        &[
            "id*",
            "name*",
            "description",
            "created_by",
            "created_by_type",
            "created_at*",
            "cmek_enabled",
            "cmek_fingerprint",
        ],
    ),
    ("SecretMetadataResponse", &["id*", "path*", "type*", "version*", "metadata", "created_at*", "expires_at"]),
    (
        "SecretResponse",
        &[
            "id*",
            "path*",
            "type*",
            "value*",
            "version*",
            "metadata",
            "created_by",
            "created_at*",
            "expires_at",
            "cmek_encrypted",
        ],
    ),
    (
        "PolicyResponse",
        &[
            "id*",
            "vault_id*",
            "secret_path_pattern*",
            "principal_type*",
            "principal_id*",
            "permissions*",
            "conditions",
            "expires_at",
            "created_by",
            "created_by_type",
            "created_at*",
        ],
    ),
    ("AgentCreatedResponse", &["agent*", "api_key"]),
    (
        "AgentResponse",
        &[
            "id*",
            "name*",
            "description",
            "auth_method*",
            "scopes",
            "is_active*",
            "intents_api_enabled*",
            "tx_to_allowlist",
            "tx_max_value_eth",
            "tx_daily_limit_eth",
            "tx_allowed_chains",
            "token_ttl_seconds",
            "vault_ids",
            "client_cert_fingerprint",
            "oidc_issuer",
            "oidc_client_id",
            "ssh_public_key",
            "ecdh_public_key",
            "shroud_enabled*",
            "shroud_config",
            "created_at*",
            "expires_at",
            "last_active_at",
            "smart_accounts",
        ],
    ),
];

/// Defaults the spec does not write down but the server assumes: a field at its default says
/// nothing, so a strict model must not be made to meet it.
const UNWRITTEN_DEFAULTS: &[(&str, &str, i64)] =
    &[("PolicyResponse", "policy_schema_version", oneclaw_types::policies::DEFAULT_POLICY_SCHEMA_VERSION)];

/// What the checker knows of the request, for the one answer whose shape depends on it.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub request: Option<&'a Value>,
    pub status: u16,
    pub body: &'a Value,
    pub text: &'a str,
}

pub(crate) fn claw() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(SPEC_JSON).expect("the vendored 1claw spec is JSON"))
}

/// Checks one answer against both documents; `Err` says every way it breaks a strict client
/// of 1claw's, or the server's own served document.
pub fn check(exchange: &Exchange<'_>) -> Result<(), String> {
    check_claw(exchange)?;
    check_ours(exchange)
}

/// Against the served document (`GET /v1/openapi.json`): every API route the suite reaches is
/// described there, and its answer fits, no field more.
fn check_ours(exchange: &Exchange<'_>) -> Result<(), String> {
    let doc = oneclaw_server::openapi::document();
    let path = exchange.path.split(['?', '#']).next().unwrap_or_default();
    let Some((template, operation)) = operation(doc, exchange.method, path) else {
        let api = path.starts_with("/v1/") || path.starts_with("/.well-known/");
        let fallback = exchange.status == 405 || (exchange.status == 404 && exchange.text.contains("No such route"));
        if api && !fallback {
            return Err(format!(
                "{} {path} answered {} but the served OpenAPI document has no such operation \
                 (add it to crates/oneclaw-server/src/openapi/operations.rs)",
                exchange.method, exchange.status
            ));
        }
        return Ok(());
    };
    let Some(schema) = answer_schema(doc, template, operation, exchange.status) else {
        let listed = responses(operation);
        if !listed.contains(&exchange.status.to_string()) && !listed.contains(&range(exchange.status)) {
            return Err(format!(
                "{} {template}: status {} is not in the served document ({listed:?})",
                exchange.method, exchange.status
            ));
        }
        return Ok(());
    };
    fits(
        Checker { errors: Vec::new(), exchange, doc, go_models: false },
        &schema,
        template,
        "outside the served OpenAPI document's schema",
    )
}

/// Runs `checker` over the answer; `Err` lists what breaks `schema`, `how` says against what.
fn fits(mut checker: Checker<'_, '_>, schema: &Value, template: &str, how: &str) -> Result<(), String> {
    let exchange = checker.exchange;
    if exchange.text.trim().is_empty() {
        return Ok(());
    }
    checker.value(schema, exchange.body, "$", None);
    if checker.errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} {template} answered {} {how}:\n  {}\nbody: {}",
        exchange.method,
        exchange.status,
        checker.errors.join("\n  "),
        exchange.text
    ))
}

fn range(status: u16) -> String {
    format!("{}XX", status / 100)
}

/// Against 1claw's document, with the Go SDK's field sets.
fn check_claw(exchange: &Exchange<'_>) -> Result<(), String> {
    let doc = claw();
    let path = exchange.path.split(['?', '#']).next().unwrap_or_default();
    let Some((template, operation)) = operation(doc, exchange.method, path) else { return Ok(()) };
    tally(exchange.method, template, exchange.status);
    let listed = responses(operation);
    let Some(schema) = answer_schema(doc, template, operation, exchange.status) else {
        let status = exchange.status.to_string();
        if (200..300).contains(&exchange.status) && !listed.is_empty() && !listed.contains(&status) {
            return Err(format!(
                "{} {template}: status {} is not one the spec lists ({:?})",
                exchange.method, exchange.status, listed
            ));
        }
        return Ok(());
    };
    fits(
        Checker { errors: Vec::new(), exchange, doc, go_models: true },
        &schema,
        template,
        "in a way a strict client rejects",
    )
}

/// With `ONECLAW_CONFORMANCE_TALLY=FILE`, each checked answer appends `METHOD TEMPLATE STATUS`
/// to FILE, to count what the suite covers (`sort FILE | uniq -c`).
fn tally(method: &str, template: &str, status: u16) {
    use std::io::Write;
    if let Some(file) = std::env::var_os("ONECLAW_CONFORMANCE_TALLY")
        && let Ok(mut out) = std::fs::OpenOptions::new().create(true).append(true).open(file)
    {
        let _ = writeln!(out, "{method} {template} {status}");
    }
}

/// The spec operation for a concrete path: literal segments beat parameters, and a last
/// `{path}` parameter may take several segments (a secret's path holds slashes).
fn operation(doc: &'static Value, method: &str, path: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, &'static str, &'static Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let Some(op) = item.get(method.to_ascii_lowercase()) else { continue };
        let parts: Vec<&str> = template.split('/').collect();
        if let Some(score) = matches(&parts, &segments)
            && best.as_ref().is_none_or(|(s, _, _)| score > *s)
        {
            best = Some((score, template.as_str(), op));
        }
    }
    best.map(|(_, template, op)| (template, op))
}

/// How well a template fits: `None` when it does not, else a score that prefers more literal
/// segments and an exact segment count.
fn matches(template: &[&str], path: &[&str]) -> Option<usize> {
    let is_param = |part: &str| part.starts_with('{') && part.ends_with('}');
    let exact = template.len() == path.len();
    let greedy = template.len() < path.len() && template.last() == Some(&"{path}");
    if !exact && !greedy {
        return None;
    }
    let mut literals = 0;
    for (index, part) in template.iter().enumerate() {
        if is_param(part) {
            if path[index].is_empty() {
                return None;
            }
        } else if *part == path[index] {
            literals += 1;
        } else {
            return None;
        }
    }
    Some(literals * 2 + usize::from(exact))
}

fn responses(operation: &Value) -> Vec<String> {
    operation["responses"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default()
}

/// The JSON schema of the answer with this status: the status's own entry, `default`, and
/// for an error the spec does not list, its RFC 7807 body.
fn answer_schema(doc: &'static Value, template: &str, operation: &Value, status: u16) -> Option<Value> {
    let is_health = template.starts_with("/v1/health");
    let responses = operation.get("responses")?;
    let entry =
        responses.get(status.to_string()).or_else(|| responses.get(range(status))).or_else(|| responses.get("default"));
    // A health route answers 503 with its own body when the thing it watches is down (as
    // Vault's sys/health does): probes read the status code, clients the same schema.
    let entry = entry.or_else(|| (status == 503).then(|| responses.get("200")).flatten().filter(|_| is_health));
    let entry = match entry {
        Some(entry) => resolve(doc, entry).clone(),
        None if status >= 400 => return Some(Value::String("#/components/schemas/ProblemDetails".into())),
        None => return None,
    };
    let schema = entry.get("content")?.get("application/json")?.get("schema")?;
    Some(schema.clone())
}

/// Follows `$ref` (within the document) until a schema that is not a reference.
fn resolve<'v>(doc: &'static Value, mut value: &'v Value) -> &'v Value {
    while let Some(target) = value.get("$ref").and_then(Value::as_str) {
        value = lookup(doc, target);
    }
    value
}

fn lookup(doc: &'static Value, pointer: &str) -> &'static Value {
    doc.pointer(pointer.trim_start_matches('#')).unwrap_or(&Value::Null)
}

struct Checker<'a, 'b> {
    errors: Vec<String>,
    exchange: &'a Exchange<'b>,
    /// The document the schemas come from.
    doc: &'static Value,
    /// Whether the Go SDK's strict field sets apply (1claw's document only).
    go_models: bool,
}

impl Checker<'_, '_> {
    /// Checks `value` at `at` against `schema` (a schema, or a bare string naming a component).
    fn value(&mut self, schema: &Value, value: &Value, at: &str, model: Option<&str>) {
        if let Some(pointer) = schema.as_str() {
            return self.value(lookup(self.doc, pointer), value, at, pointer.rsplit('/').next());
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            return self.value(lookup(self.doc, target), value, at, target.rsplit('/').next());
        }
        if value.is_null() && nullable(schema) {
            return;
        }
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            return self.object(&merged(self.doc, branches), value, at, model);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let fits = branches.iter().any(|branch| {
                    let mut probe = Checker {
                        errors: Vec::new(),
                        exchange: self.exchange,
                        doc: self.doc,
                        go_models: self.go_models,
                    };
                    probe.value(branch, value, at, None);
                    probe.errors.is_empty()
                });
                if !fits {
                    self.errors.push(format!("{at}: fits none of the {key} branches"));
                }
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            self.errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if !type_fits(schema, value) {
            self.errors.push(format!("{at}: {value} is not of type {}", schema["type"]));
            return;
        }
        if let (Some(format), Some(text)) = (schema.get("format").and_then(Value::as_str), value.as_str())
            && !format_fits(format, text)
        {
            self.errors.push(format!("{at}: {value} is not a {format}"));
        }
        match value {
            Value::Object(_) => self.object(schema, value, at, model),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        self.value(item_schema, item, &format!("{at}[{index}]"), None);
                    }
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, schema: &Value, value: &Value, at: &str, model: Option<&str>) {
        let Value::Object(fields) = value else {
            self.errors.push(format!("{at}: {value} is not an object"));
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let open = match schema.get("additionalProperties") {
            Some(Value::Bool(open)) => *open,
            Some(Value::Object(_)) => true,
            // A schema without properties is a free-form object. RFC 7807 invites extension
            // members on a problem, and clients ignore them. A 402's terms follow the x402
            // protocol, whose clients need fields the spec's sketch of it leaves out
            // (`maxAmountRequired`, `asset`, …; compat/x402 runs a real x402 client).
            _ => {
                properties.is_none()
                    || matches!(model, Some("ProblemDetails" | "PaymentRequirement" | "PaymentRequirements"))
                    || self.in_payment_terms(at)
            }
        };
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str()
                && !fields.contains_key(name)
            {
                self.errors.push(format!("{at}: required field {name} is missing"));
            }
        }
        let go_model = model.filter(|_| self.go_models).and_then(|m| GO_MODELS.iter().find(|(name, _)| *name == m));
        for (name, field) in fields {
            let field_at = format!("{at}.{name}");
            let property = properties.and_then(|p| p.get(name));
            if let Some((model_name, known)) = go_model {
                let in_go = known.iter().any(|k| k.trim_end_matches('*') == name);
                if !in_go && !self.meaningful_extension(model_name, name, field, property) {
                    self.errors.push(format!(
                        "{field_at}: the Go SDK's {model_name} has no such field, and {field} carries no meaning"
                    ));
                }
            }
            match (property, open) {
                (Some(property), _) => self.value(property, field, &field_at, None),
                (None, true) => {}
                (None, false) if go_model.is_none() => {
                    self.errors.push(format!("{field_at}: the spec's {} has no such field", model.unwrap_or("schema")))
                }
                (None, false) => {}
            }
        }
        if let Some((model_name, known)) = go_model {
            for required in known.iter().filter_map(|k| k.strip_suffix('*')) {
                if !fields.contains_key(required) {
                    self.errors.push(format!("{at}: the Go SDK's {model_name} requires {required}"));
                }
            }
        }
    }

    fn in_payment_terms(&self, at: &str) -> bool {
        self.exchange.status == 402 && at.starts_with("$.accepts")
    }

    /// A field a strict model lacks may appear only when it says something: it is in the spec,
    /// and its value is neither empty nor the default; or it is the agent-token answer's
    /// `agent_id`/`vault_ids` to a request that named no agent (key-only clients need them).
    fn meaningful_extension(&self, model: &str, name: &str, value: &Value, property: Option<&Value>) -> bool {
        if model == "TokenResponse" && ["agent_id", "vault_ids"].contains(&name) {
            let asked_for_agent = self.exchange.request.is_some_and(|r| !r["agent_id"].is_null());
            return self.exchange.path.starts_with("/v1/auth/agent-token") && !asked_for_agent;
        }
        let Some(property) = property.map(|p| resolve(self.doc, p)) else { return false };
        let empty = match value {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
        };
        let unwritten = UNWRITTEN_DEFAULTS
            .iter()
            .any(|(m, field, default)| *m == model && *field == name && value.as_i64() == Some(*default));
        !empty && property.get("default") != Some(value) && !unwritten
    }
}

/// The string formats the spec uses that a client may parse: a wrong one breaks it (Schemathesis
/// found an audit scheme whose `documentation` was a file name, not a URI).
fn format_fits(format: &str, text: &str) -> bool {
    match format {
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "date-time" => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok(),
        "uri" => text.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }),
        _ => true,
    }
}

fn nullable(schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
        || schema["type"].as_array().is_some_and(|types| types.iter().any(|t| t == "null"))
}

fn type_fits(schema: &Value, value: &Value) -> bool {
    let fits = |name: &str| match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    match &schema["type"] {
        Value::String(name) => fits(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(fits),
        _ => true,
    }
}

/// One object schema from `allOf` branches: their properties and required lists together.
fn merged(doc: &'static Value, branches: &[Value]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut open = false;
    for branch in branches {
        let branch = resolve(doc, branch);
        if let Some(props) = branch.get("properties").and_then(Value::as_object) {
            properties.extend(props.clone());
        }
        required.extend(branch.get("required").and_then(Value::as_array).cloned().unwrap_or_default());
        open |= matches!(branch.get("additionalProperties"), Some(Value::Bool(true)) | Some(Value::Object(_)));
    }
    serde_json::json!({"type": "object", "properties": properties, "required": required, "additionalProperties": open})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(method: &str, path: &str, request: Option<&Value>, status: u16, body: Value) -> Result<(), String> {
        let text = body.to_string();
        check_claw(&Exchange { method, path, request, status, body: &body, text: &text })
    }

    fn ours(method: &str, path: &str, status: u16, body: Value) -> Result<(), String> {
        let text = body.to_string();
        check_ours(&Exchange { method, path, request: None, status, body: &body, text: &text })
    }

    #[test]
    fn the_served_document_must_describe_every_api_route_and_its_answer() {
        let health = json!({"status": "healthy", "version": "0.1.0"});
        assert_eq!(ours("GET", "/v1/health", 200, health.clone()), Ok(()));
        let mut extra = health.clone();
        extra["uptime"] = json!(5);
        assert!(ours("GET", "/v1/health", 200, extra).unwrap_err().contains("uptime"));
        let missing = ours("GET", "/v1/not-described", 200, json!({})).unwrap_err();
        assert!(missing.contains("no such operation"), "{missing}");
        let fallback = json!({"type": "not_found", "title": "Not Found", "status": 404, "detail": "No such route"});
        assert_eq!(ours("GET", "/v1/not-described", 404, fallback), Ok(()), "the router's own 404 is not a route");
        assert_eq!(ours("GET", "/dashboard-page", 200, json!({})), Ok(()), "pages are not the API");
    }

    fn vault() -> Value {
        json!({"id": "7f0c7a53-8c1b-4a4f-9a55-0c8f2d3c1e11", "name": "v", "created_at": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn a_field_no_model_knows_is_refused_and_a_known_one_passes() {
        assert!(run("GET", "/v1/vaults/abc", None, 200, vault()).is_ok());
        let mut extra = vault();
        extra["kek_version"] = json!(3);
        let error = run("GET", "/v1/vaults/abc", None, 200, extra).unwrap_err();
        assert!(error.contains("kek_version"), "{error}");
    }

    #[test]
    fn a_string_must_fit_its_format() {
        for (field, bad) in [("id", "not-a-uuid"), ("created_at", "yesterday")] {
            let mut wrong = vault();
            wrong[field] = json!(bad);
            assert!(run("GET", "/v1/vaults/abc", None, 200, wrong).unwrap_err().contains("is not a"), "{field}");
        }
    }

    #[test]
    fn a_missing_required_field_and_a_wrong_type_are_refused() {
        let mut missing = vault();
        missing.as_object_mut().unwrap().remove("created_at");
        assert!(run("GET", "/v1/vaults/abc", None, 200, missing).unwrap_err().contains("created_at"));
        let mut wrong = vault();
        wrong["name"] = json!(5);
        assert!(run("GET", "/v1/vaults/abc", None, 200, wrong).unwrap_err().contains("$.name"));
    }

    #[test]
    fn a_field_the_go_model_lacks_passes_only_when_it_means_something() {
        let policy = |extra: Value| {
            let id = "7f0c7a53-8c1b-4a4f-9a55-0c8f2d3c1e11";
            let mut p = json!({"id": id, "vault_id": id, "secret_path_pattern": "*", "principal_type": "agent",
                "principal_id": id, "permissions": ["read"], "created_at": "2026-01-01T00:00:00Z"});
            p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            p
        };
        let path = "/v1/vaults/v/policies/p";
        assert_eq!(run("PUT", path, None, 200, policy(json!({"effect": "deny", "priority": 5}))), Ok(()));
        assert!(run("PUT", path, None, 200, policy(json!({"effect": "allow"}))).is_err());
        assert!(run("PUT", path, None, 200, policy(json!({"priority": 0}))).is_err());
        assert!(run("PUT", path, None, 200, policy(json!({"policy_schema_version": 2}))).is_err());
        assert!(run("PUT", path, None, 200, policy(json!({"policy_schema_version": 1}))).is_ok());
    }

    #[test]
    fn an_agent_token_names_its_agent_only_to_a_key_only_request() {
        let body = json!({"access_token": "t", "token_type": "Bearer", "expires_in": 60, "agent_id": "a"});
        let key_only = json!({"api_key": "ocv_x"});
        let named = json!({"api_key": "ocv_x", "agent_id": "a"});
        assert!(run("POST", "/v1/auth/agent-token", Some(&key_only), 200, body.clone()).is_ok());
        assert!(run("POST", "/v1/auth/agent-token", Some(&named), 200, body).is_err());
    }

    #[test]
    fn a_secret_path_with_slashes_finds_its_route_and_routes_outside_the_spec_pass() {
        let secret = json!({"id": "s", "path": "a/b/c", "type": "password", "value": "x", "version": 1,
            "created_at": "2026-01-01T00:00:00Z", "is_disabled": false});
        let error = run("GET", "/v1/vaults/v/secrets/a/b/c", None, 200, secret).unwrap_err();
        assert!(error.contains("/v1/vaults/{vault_id}/secrets/{path}") && error.contains("is_disabled"), "{error}");
        assert!(run("GET", "/v1/our-own-route", None, 200, json!({"anything": 1})).is_ok());
    }

    #[test]
    fn an_error_is_a_problem_and_may_carry_extension_members() {
        let problem =
            json!({"type": "not_found", "title": "Not Found", "status": 404, "detail": "x", "request_id": "r"});
        assert!(run("GET", "/v1/vaults/abc", None, 404, problem).is_ok());
        assert!(run("GET", "/v1/vaults/abc", None, 404, json!({"type": "x", "status": "404"})).is_err());
    }
}
