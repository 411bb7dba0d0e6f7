//! A binding's config and guardrails, parsed and checked, and the one call an execution asks
//! for, held to them. The defaults allow the least: https, GET, the base URL's host, read-only
//! SELECTs. Unknown keys are refused, so a misspelt guardrail never silently allows more.

use super::CallLimits;
use crate::ports::PgTls;
use crate::services::is_public;
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::net::IpAddr;
use url::Url;

const MIB: i64 = 1024 * 1024;
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const STATEMENT_KINDS: &[&str] =
    &["select", "with", "values", "table", "show", "explain", "insert", "update", "delete", "merge"];
/// Headers an agent may not set: the server owns them (or the credential rides in them).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "proxy-authorization",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    // Answers come back uncompressed, so the credential can be found in them.
    "accept-encoding",
    // Headers that make a server or proxy treat the call as another method, path, host or
    // client than the guardrails checked, or slice the answer so redaction sees only pieces.
    "forwarded",
    "x-forwarded",
    "via",
    "max-forwards",
    "proxy-connection",
    "expect",
    "destination",
    "x-host",
    "x-http-destination-url",
    "range",
    "if-range",
];

/// Parts of header names that mark a method, path, host or client override (`X-HTTP-Method-
/// Override`, `X-Original-URL`, `X-Rewrite-URI`, `True-Client-IP`, `CF-Connecting-IP`, …).
const RESERVED_NAME_PARTS: &[&str] = &[
    "forwarded-",
    "override",
    "-method",
    "original-",
    "rewrite-",
    "client-ip",
    "real-ip",
    "connecting-ip",
    "originating-ip",
    "remote-addr",
    "remote-ip",
    "proxyuser",
];

/// Whether a header is the server's own, never the agent's to set.
fn reserved_header(lower: &str) -> bool {
    RESERVED_HEADERS.contains(&lower) || RESERVED_NAME_PARTS.iter().any(|part| lower.contains(part))
}

/// Spellings in a path that a service may decode after the guardrails judged it: encoded
/// slashes, backslashes, dots and percent signs (double encoding), NUL, and `;` parameters.
const HIDDEN_IN_PATHS: &[&str] = &["%2f", "%5c", "%2e", "%25", "%00", ";"];

/// A path a service reads as the guardrails do, or 400: none of `HIDDEN_IN_PATHS`, every `%`
/// a well-formed escape, decoding to printable ASCII (no overlong or fullwidth dots, no
/// control characters), and no segment of dots and spaces but the `.` and `..` the URL
/// resolves before the guardrails look.
fn checked_path(path: &str) -> Result<()> {
    let bad = |why: String| {
        Err(Error::invalid_field(
            "params.path",
            format!("{why}: a service could read the path differently than the guardrails did"),
        ))
    };
    let lower = path.to_ascii_lowercase();
    if let Some(hidden) = HIDDEN_IN_PATHS.iter().find(|hidden| lower.contains(*hidden)) {
        return bad(format!("must not hold {hidden}"));
    }
    let bytes = path.as_bytes();
    for (at, _) in path.match_indices('%') {
        if !bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            return bad("every % must begin an escape of two hex digits".to_owned());
        }
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    if !decoded.iter().all(|b| (0x20..0x7f).contains(b)) {
        return bad("must decode to printable ASCII".to_owned());
    }
    let decoded = String::from_utf8_lossy(&decoded);
    if decoded.split('/').any(|segment| {
        !segment.is_empty() && segment != "." && segment != ".." && segment.trim_matches(['.', ' ']).is_empty()
    }) {
        return bad("must not hold a segment of only dots and spaces".to_owned());
    }
    Ok(())
}

/// The field frameworks (Rails, Laravel, Symfony) read as the real method of a POST.
const METHOD_OVERRIDE: &str = "_method";

/// How the credential goes into an HTTP call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injection {
    /// `Authorization: Bearer <credential>` (the default).
    Bearer,
    /// `<name>: <prefix><credential>`.
    Header { name: String, prefix: String },
    /// `Authorization: Basic base64(<username>:<credential>)`.
    Basic { username: String },
    /// `?<name>=<credential>` added to the URL.
    Query { name: String },
}

/// What an HTTP binding may reach, and how.
#[derive(Debug, Clone)]
pub struct HttpRules {
    pub base_url: Url,
    pub injection: Injection,
    pub allowed_hosts: Vec<String>,
    pub allowed_schemes: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_paths: Vec<String>,
    /// Private hosts this binding may reach when the server allows private targets at all.
    pub allow_private_hosts: Vec<String>,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    pub timeout_ms: u64,
    pub limits: CallLimits,
}

/// What a PostgreSQL binding connects to and may run.
#[derive(Debug, Clone)]
pub struct PgRules {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub tls: PgTls,
    pub ca_cert: Option<String>,
    pub read_only: bool,
    pub allowed_statements: Vec<String>,
    pub allow_private_hosts: Vec<String>,
    pub max_rows: usize,
    pub max_response_bytes: usize,
    pub statement_timeout_ms: u64,
    pub timeout_ms: u64,
    pub limits: CallLimits,
}

/// One HTTP call, held to the rules (the credential not yet in it).
#[derive(Debug, Clone)]
pub struct HttpIntent {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One SQL statement, held to the rules.
#[derive(Debug, Clone)]
pub struct SqlIntent {
    pub query: String,
    /// `select`, `insert`, …: the statement's first keyword.
    pub kind: String,
    pub params: Vec<Value>,
}

/// A JSON object's fields, read with clear errors that name the field.
struct Fields {
    field: &'static str,
    map: Map<String, Value>,
}

impl Fields {
    fn of(field: &'static str, value: &Value, known: &[&str]) -> Result<Self> {
        let map = match value {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            _ => return Err(Error::invalid_field(field, "must be an object")),
        };
        if let Some(unknown) = map.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(Error::invalid_field(field, format!("unknown key {unknown:?}; known: {}", known.join(", "))));
        }
        Ok(Self { field, map })
    }

    fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.field)
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.len() <= 2048 && !text.chars().any(char::is_control) => {
                Ok(Some(text.clone()))
            }
            Some(_) => {
                Err(Error::invalid_field(&self.name(key), "must be a string of at most 2048 printable characters"))
            }
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| Error::invalid_field(&self.name(key), "is required"))
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(value) = self.map.get(key).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let bad = || Error::invalid_field(&self.name(key), "must be a list of at most 100 strings");
        let items = value.as_array().filter(|items| items.len() <= 100).ok_or_else(bad)?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .filter(|s| s.len() <= 512 && !s.chars().any(char::is_control))
                    .map(str::to_owned)
                    .ok_or_else(bad)
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn int(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => value.as_i64().filter(|n| (min..=max).contains(n)).ok_or_else(|| {
                Error::invalid_field(&self.name(key), format!("must be a whole number from {min} to {max}"))
            }),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(Error::invalid_field(&self.name(key), "must be true or false")),
        }
    }
}

const SHARED_GUARDRAILS: &[&str] = &["timeout_ms", "max_calls_per_minute", "max_calls_per_day", "allow_private_hosts"];
const HTTP_GUARDRAILS: &[&str] = &[
    "allowed_hosts",
    "allowed_schemes",
    "allowed_methods",
    "allowed_paths",
    "max_request_bytes",
    "max_response_bytes",
];
const PG_GUARDRAILS: &[&str] =
    &["read_only", "allowed_statements", "max_rows", "max_response_bytes", "statement_timeout_ms"];

fn guardrail_keys(extra: &[&'static str]) -> Vec<&'static str> {
    SHARED_GUARDRAILS.iter().chain(extra).copied().collect()
}

/// Checks a binding's config and guardrails for its type (on create and update).
pub fn checked_guardrails(binding_type: super::BindingType, config: &Value, guardrails: &Value) -> Result<()> {
    match binding_type {
        super::BindingType::Http => HttpRules::parse(config, guardrails).map(|_| ()),
        super::BindingType::Postgres => PgRules::parse(config, guardrails).map(|_| ()),
    }
}

fn limits(fields: &Fields) -> Result<CallLimits> {
    Ok(CallLimits {
        per_minute: fields.int("max_calls_per_minute", 60, 1, 10_000)?,
        per_day: fields.int("max_calls_per_day", 10_000, 1, 1_000_000)?,
    })
}

fn hosts(fields: &Fields, key: &str) -> Result<Vec<String>> {
    let list = fields.strings(key)?.unwrap_or_default();
    list.into_iter()
        .map(|host| {
            let host = host.trim().to_ascii_lowercase();
            let bare = host.strip_prefix("*.").unwrap_or(&host);
            let ok = !bare.is_empty()
                && bare.len() <= 253
                && bare.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
            if ok {
                Ok(host)
            } else {
                Err(Error::invalid_field(&fields.name(key), format!("{host:?} is not a host name or address")))
            }
        })
        .collect()
}

impl HttpRules {
    pub fn parse(config: &Value, guardrails: &Value) -> Result<Self> {
        let config = Fields::of("config", config, &["base_url", "auth"])?;
        let base_url = config.required("base_url")?;
        let base_url =
            Url::parse(&base_url).map_err(|_| Error::invalid_field("config.base_url", "must be an absolute URL"))?;
        if !matches!(base_url.scheme(), "https" | "http")
            || base_url.host_str().is_none()
            || !base_url.username().is_empty()
            || base_url.password().is_some()
            || base_url.query().is_some()
            || base_url.fragment().is_some()
        {
            return Err(Error::invalid_field(
                "config.base_url",
                "must be an http(s) URL with a host and no user name, password, query or fragment",
            ));
        }
        let injection = Self::injection(config.map.get("auth").unwrap_or(&Value::Null))?;
        let rails = Fields::of("guardrails", guardrails, &guardrail_keys(HTTP_GUARDRAILS))?;
        let base_host = host_of(&base_url);
        let mut allowed_hosts = hosts(&rails, "allowed_hosts")?;
        if allowed_hosts.is_empty() {
            allowed_hosts.push(base_host.clone());
        }
        if !host_allowed(&base_host, &allowed_hosts) {
            return Err(Error::invalid_field("guardrails.allowed_hosts", "must allow the host of config.base_url"));
        }
        let allowed_schemes = rails.strings("allowed_schemes")?.unwrap_or_else(|| vec!["https".to_owned()]);
        if let Some(bad) = allowed_schemes.iter().find(|s| !matches!(s.as_str(), "https" | "http")) {
            return Err(Error::invalid_field("guardrails.allowed_schemes", format!("{bad:?}: only https and http")));
        }
        if !allowed_schemes.iter().any(|s| s == base_url.scheme()) {
            return Err(Error::invalid_field(
                "guardrails.allowed_schemes",
                format!("must allow {}, the scheme of config.base_url (https is the default)", base_url.scheme()),
            ));
        }
        let allowed_methods: Vec<String> = rails
            .strings("allowed_methods")?
            .unwrap_or_else(|| vec!["GET".to_owned()])
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        if let Some(bad) = allowed_methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
            return Err(Error::invalid_field(
                "guardrails.allowed_methods",
                format!("{bad:?}; known: {}", METHODS.join(", ")),
            ));
        }
        let allowed_paths = rails.strings("allowed_paths")?.unwrap_or_else(|| vec!["/".to_owned()]);
        if let Some(bad) = allowed_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(Error::invalid_field("guardrails.allowed_paths", format!("{bad:?} must start with /")));
        }
        Ok(Self {
            injection,
            allowed_hosts,
            allowed_schemes,
            allowed_methods,
            allowed_paths,
            allow_private_hosts: hosts(&rails, "allow_private_hosts")?,
            max_request_bytes: usize::try_from(rails.int("max_request_bytes", MIB, 0, 10 * MIB)?).unwrap_or(0),
            max_response_bytes: usize::try_from(rails.int("max_response_bytes", MIB, 1, 10 * MIB)?).unwrap_or(1),
            timeout_ms: rails.int("timeout_ms", 10_000, 100, 60_000)?.unsigned_abs(),
            limits: limits(&rails)?,
            base_url,
        })
    }

    fn injection(auth: &Value) -> Result<Injection> {
        let auth = Fields::of("config.auth", auth, &["type", "name", "prefix", "username"])?;
        let header_name = |key: &str| -> Result<String> {
            let name = auth.required(key)?;
            let lower = name.to_ascii_lowercase();
            // Authorization is a reserved header the agent cannot set, but a binding may put
            // its credential there (`Authorization: Token …`).
            if !is_token(&name) || (reserved_header(&lower) && lower != "authorization") {
                return Err(Error::invalid_field(&auth.name(key), "must be a header or parameter name"));
            }
            Ok(name)
        };
        match auth.string("type")?.as_deref().unwrap_or("bearer") {
            "bearer" => Ok(Injection::Bearer),
            "header" => {
                Ok(Injection::Header { name: header_name("name")?, prefix: auth.string("prefix")?.unwrap_or_default() })
            }
            "basic" => {
                let username = auth.required("username")?;
                if username.contains(':') {
                    return Err(Error::invalid_field("config.auth.username", "must not contain ':'"));
                }
                Ok(Injection::Basic { username })
            }
            "query" => Ok(Injection::Query { name: header_name("name")? }),
            other => {
                Err(Error::invalid_field("config.auth.type", format!("{other:?}; use bearer, header, basic or query")))
            }
        }
    }

    /// The call the agent's `params` ask for, or why the guardrails refuse it (403: nothing is
    /// sent). `allow_private` is the server's `ONECLAW_EXECUTE_ALLOW_PRIVATE`.
    pub fn intent(&self, params: &Value, allow_private: bool) -> Result<HttpIntent> {
        let params = Fields::of("params", params, &["method", "path", "query", "headers", "body"])?;
        let method = params.string("method")?.unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase();
        if !self.allowed_methods.contains(&method) {
            return Err(refused(format!(
                "method {method} is not allowed (allowed: {})",
                self.allowed_methods.join(", ")
            )));
        }
        let path = params.string("path")?.unwrap_or_else(|| "/".to_owned());
        if !path.starts_with('/') || path.contains(['?', '#', '\\']) {
            return Err(Error::invalid_field(
                "params.path",
                "must start with / and hold no ?, # or \\ (use params.query)",
            ));
        }
        checked_path(&path)?;
        let mut url = self.base_url.clone();
        url.set_path(&format!("{}{path}", self.base_url.path().trim_end_matches('/')));
        if let Some(query) = params.map.get("query").filter(|q| !q.is_null()) {
            let query = query.as_object().ok_or_else(|| Error::invalid_field("params.query", "must be an object"))?;
            if let Injection::Query { name } = &self.injection
                && query.keys().any(|key| key.eq_ignore_ascii_case(name))
            {
                return Err(Error::invalid_field("params.query", format!("{name:?} cannot be set by the agent")));
            }
            if query.keys().any(|key| key.eq_ignore_ascii_case(METHOD_OVERRIDE)) {
                return Err(Error::invalid_field("params.query", "_method cannot be set: the method is params.method"));
            }
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                let value = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => {
                        return Err(Error::invalid_field(
                            "params.query",
                            "values must be strings, numbers or booleans",
                        ));
                    }
                };
                pairs.append_pair(key, &value);
            }
        }
        self.check_target(&url, allow_private)?;
        let mut headers = Vec::new();
        if let Some(given) = params.map.get("headers").filter(|h| !h.is_null()) {
            let given = given.as_object().ok_or_else(|| Error::invalid_field("params.headers", "must be an object"))?;
            for (name, value) in given {
                let lower = name.to_ascii_lowercase();
                let injected = match &self.injection {
                    Injection::Header { name, .. } => name.eq_ignore_ascii_case(&lower),
                    _ => false,
                };
                if !is_token(name) || reserved_header(&lower) || injected {
                    return Err(Error::invalid_field("params.headers", format!("{name:?} cannot be set by the agent")));
                }
                let value = value
                    .as_str()
                    .filter(|v| v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)))
                    .ok_or_else(|| {
                        Error::invalid_field("params.headers", format!("{name}: must be a string of printable ASCII"))
                    })?;
                headers.push((name.clone(), value.to_owned()));
            }
        }
        let body = match params.map.get("body") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(text)) => text.clone().into_bytes(),
            Some(json) => {
                if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                }
                serde_json::to_vec(json).map_err(|_| Error::invalid_field("params.body", "could not be encoded"))?
            }
        };
        if !body.is_empty() && matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            return Err(Error::invalid_field("params.body", format!("a {method} call carries no body")));
        }
        if body.windows(METHOD_OVERRIDE.len()).any(|w| w.eq_ignore_ascii_case(METHOD_OVERRIDE.as_bytes())) {
            return Err(Error::invalid_field("params.body", "_method cannot be set: the method is params.method"));
        }
        if body.len() > self.max_request_bytes {
            return Err(refused(format!(
                "the body is {} bytes; the binding allows {}",
                body.len(),
                self.max_request_bytes
            )));
        }
        Ok(HttpIntent { method, url, headers, body })
    }

    fn check_target(&self, url: &Url, allow_private: bool) -> Result<()> {
        if !self.allowed_schemes.iter().any(|s| s == url.scheme()) {
            return Err(refused(format!("scheme {} is not allowed", url.scheme())));
        }
        let host = host_of(url);
        if !host_allowed(&host, &self.allowed_hosts) {
            return Err(refused(format!("host {host} is not allowed")));
        }
        let path = url.path();
        if !self.allowed_paths.iter().any(|prefix| path_allowed(path, prefix)) {
            return Err(refused(format!("path {path} is outside the allowed paths")));
        }
        private_target_check(&host, allow_private && self.private_host_allowed(&host))
    }

    /// Whether the binding names this host among the private ones it may reach.
    pub fn private_host_allowed(&self, host: &str) -> bool {
        self.allow_private_hosts.iter().any(|allowed| allowed == host)
    }
}

impl PgRules {
    pub fn parse(config: &Value, guardrails: &Value) -> Result<Self> {
        let config = Fields::of("config", config, &["host", "port", "database", "user", "sslmode", "ca_cert"])?;
        let rails = Fields::of("guardrails", guardrails, &guardrail_keys(PG_GUARDRAILS))?;
        let host = config.required("host")?.trim().to_ascii_lowercase();
        let tls = match config.string("sslmode")?.as_deref().unwrap_or("verify-full") {
            "verify-full" => PgTls::VerifyFull,
            "require" => PgTls::Require,
            "disable" => PgTls::Disable,
            other => {
                return Err(Error::invalid_field(
                    "config.sslmode",
                    format!("{other:?}; use verify-full (the default), require or disable"),
                ));
            }
        };
        let ca_cert = match config.map.get("ca_cert") {
            None | Some(Value::Null) => None,
            Some(Value::String(pem))
                if pem.len() <= 64 * 1024 && pem.trim_start().starts_with("-----BEGIN CERTIFICATE-----") =>
            {
                Some(pem.clone())
            }
            Some(_) => {
                return Err(Error::invalid_field(
                    "config.ca_cert",
                    "must be PEM certificates (-----BEGIN CERTIFICATE-----), at most 64 KiB",
                ));
            }
        };
        if ca_cert.is_some() && tls != PgTls::VerifyFull {
            return Err(Error::invalid_field("config.ca_cert", "is used only with sslmode verify-full"));
        }
        let allowed_statements: Vec<String> = rails
            .strings("allowed_statements")?
            .unwrap_or_else(|| vec!["select".to_owned(), "with".to_owned()])
            .into_iter()
            .map(|kind| kind.to_ascii_lowercase())
            .collect();
        if let Some(bad) = allowed_statements.iter().find(|kind| !STATEMENT_KINDS.contains(&kind.as_str())) {
            return Err(Error::invalid_field(
                "guardrails.allowed_statements",
                format!("{bad:?}; allowed kinds: {}", STATEMENT_KINDS.join(", ")),
            ));
        }
        Ok(Self {
            port: u16::try_from(config.int("port", 5432, 1, 65_535)?).unwrap_or(5432),
            database: config.required("database")?,
            user: config.required("user")?,
            tls,
            ca_cert,
            read_only: rails.bool("read_only", true)?,
            allowed_statements,
            allow_private_hosts: hosts(&rails, "allow_private_hosts")?,
            max_rows: usize::try_from(rails.int("max_rows", 1000, 1, 10_000)?).unwrap_or(1),
            max_response_bytes: usize::try_from(rails.int("max_response_bytes", MIB, 1, 10 * MIB)?).unwrap_or(1),
            statement_timeout_ms: rails.int("statement_timeout_ms", 5_000, 1, 60_000)?.unsigned_abs(),
            timeout_ms: rails.int("timeout_ms", 10_000, 100, 60_000)?.unsigned_abs(),
            limits: limits(&rails)?,
            host,
        })
    }

    /// The statement the agent's `params` ask for, or why the guardrails refuse it.
    pub fn intent(&self, params: &Value, allow_private: bool) -> Result<SqlIntent> {
        let params = Fields::of("params", params, &["query", "params"])?;
        let query = match params.map.get("query") {
            Some(Value::String(query)) if !query.trim().is_empty() && query.len() <= 100_000 => query.clone(),
            _ => {
                return Err(Error::invalid_field(
                    "params.query",
                    "is required: one SQL statement of at most 100,000 bytes",
                ));
            }
        };
        let kind: String =
            query.trim_start().chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_lowercase();
        if kind.is_empty() {
            return Err(Error::invalid_field(
                "params.query",
                "must begin with its statement's keyword (no comment first)",
            ));
        }
        if !self.allowed_statements.contains(&kind) {
            return Err(refused(format!(
                "{} statements are not allowed (allowed: {})",
                kind.to_ascii_uppercase(),
                self.allowed_statements.join(", ")
            )));
        }
        let values = match params.map.get("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values))
                if values.len() <= 100 && values.iter().all(|v| !v.is_array() && !v.is_object()) =>
            {
                values.clone()
            }
            Some(_) => {
                return Err(Error::invalid_field("params.params", "must be a list of at most 100 scalar values"));
            }
        };
        private_target_check(&self.host, allow_private && self.private_host_allowed(&self.host))?;
        Ok(SqlIntent { query, kind, params: values })
    }

    pub fn private_host_allowed(&self, host: &str) -> bool {
        self.allow_private_hosts.iter().any(|allowed| allowed == host)
    }
}

/// An address literal (or `localhost`) that is not public is refused unless allowed; a name is
/// checked again by the runner after it resolves (rebinding).
fn private_target_check(host: &str, allowed: bool) -> Result<()> {
    if allowed {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let private = match bare.parse::<IpAddr>() {
        Ok(ip) => !is_public(ip),
        Err(_) => bare == "localhost" || bare.ends_with(".localhost"),
    };
    if private {
        return Err(refused(format!(
            "{host} is a private, loopback or link-local address (a binding reaches one only when it names it in \
             guardrails.allow_private_hosts and the server sets ONECLAW_EXECUTE_ALLOW_PRIVATE=true)"
        )));
    }
    Ok(())
}

fn refused(why: String) -> Error {
    Error::Forbidden(format!("Outside the binding's guardrails, nothing was sent: {why}"))
}

/// The host as guardrails name it: lower-case, an IPv6 address in brackets.
pub fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

fn host_allowed(host: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|pattern| match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1 && host.ends_with(suffix) && host[..host.len() - suffix.len()].ends_with('.')
        }
        None => pattern == host,
    })
}

/// `/v1` allows `/v1` and `/v1/…`, not `/v1evil`; `/v1/` allows what is under it.
fn path_allowed(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && (prefix.ends_with('/') || path[prefix.len()..].starts_with('/')))
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(guardrails: Value) -> HttpRules {
        HttpRules::parse(&json!({"base_url": "https://api.example.com/v1"}), &guardrails).unwrap()
    }

    #[test]
    fn defaults_allow_get_to_the_base_host_over_https_only() {
        let rules = rules(Value::Null);
        let intent = rules.intent(&json!({"path": "/charges", "query": {"limit": 3}}), false).unwrap();
        assert_eq!(intent.url.as_str(), "https://api.example.com/v1/charges?limit=3");
        assert!(matches!(rules.intent(&json!({"method": "POST", "path": "/x"}), false), Err(Error::Forbidden(_))));
    }

    #[test]
    fn a_path_cannot_climb_out_of_the_allowed_prefix_or_change_host() {
        let rules = rules(json!({"allowed_paths": ["/v1/charges"]}));
        assert!(rules.intent(&json!({"path": "/charges/ch_1"}), false).is_ok());
        for path in ["/../admin", "/charges/../../admin", "/chargesevil", "//evil.com/x"] {
            let got = rules.intent(&json!({ "path": path }), false);
            assert!(matches!(got, Err(Error::Forbidden(_))), "{path}: {got:?}");
        }
    }

    #[test]
    fn wildcard_hosts_match_subdomains_only() {
        let hosts = vec!["*.example.com".to_owned()];
        assert!(host_allowed("api.example.com", &hosts));
        assert!(!host_allowed("example.com", &hosts));
        assert!(!host_allowed("evilexample.com", &hosts));
    }

    #[test]
    fn private_literals_are_refused_unless_named_and_allowed() {
        let config = json!({"base_url": "http://127.0.0.1:9/"});
        let named = json!({"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]});
        let rules = HttpRules::parse(&config, &named).unwrap();
        assert!(matches!(rules.intent(&json!({}), false), Err(Error::Forbidden(_))));
        assert!(rules.intent(&json!({}), true).is_ok());
        let unnamed = HttpRules::parse(&config, &json!({"allowed_schemes": ["http"]})).unwrap();
        assert!(matches!(unnamed.intent(&json!({}), true), Err(Error::Forbidden(_))));
        let metadata = HttpRules::parse(&json!({"base_url": "https://169.254.169.254/"}), &Value::Null).unwrap();
        assert!(matches!(metadata.intent(&json!({}), true), Err(Error::Forbidden(_))));
    }

    #[test]
    fn unknown_keys_and_reserved_headers_are_refused() {
        assert!(HttpRules::parse(&json!({"base_url": "https://a.example"}), &json!({"allowed_host": ["x"]})).is_err());
        let rules = rules(Value::Null);
        assert!(matches!(rules.intent(&json!({"headers": {"Authorization": "x"}}), false), Err(Error::Invalid { .. })));
        assert!(matches!(rules.intent(&json!({"headers": {"Host": "evil"}}), false), Err(Error::Invalid { .. })));
        for name in [
            "X-HTTP-Method-Override",
            "x-forwarded-host",
            "X-Forwarded",
            "Forwarded",
            "X-Original-URL",
            "X-Rewrite-URI",
            "True-Client-IP",
            "CF-Connecting-IP",
            "X-Remote-Addr",
            "Range",
            "If-Range",
            "Via",
            "Expect",
            "Destination",
        ] {
            let got = rules.intent(&json!({"headers": {name: "x"}}), false);
            assert!(matches!(got, Err(Error::Invalid { .. })), "{name}: {got:?}");
        }
    }

    #[test]
    fn encoded_separators_in_paths_are_refused() {
        let rules = rules(json!({"allowed_paths": ["/v1/charges"]}));
        for path in ["/charges/%2e%2e/admin", "/charges/..%2Fadmin", "/charges%5c..", "/charges/%252e", "/charges;x=1"]
        {
            let got = rules.intent(&json!({ "path": path }), false);
            assert!(matches!(got, Err(Error::Invalid { .. })), "{path}: {got:?}");
        }
        assert!(rules.intent(&json!({"path": "/charges/ch%201"}), false).is_ok());
    }

    #[test]
    fn method_overrides_and_bodies_on_reads_are_refused() {
        let rules = rules(json!({"allowed_methods": ["GET", "POST"]}));
        for params in [
            json!({"query": {"_method": "DELETE"}}),
            json!({"method": "POST", "body": "a=1&_method=DELETE"}),
            json!({"method": "POST", "body": {"_METHOD": "DELETE"}}),
            json!({"method": "GET", "body": "x"}),
        ] {
            let got = rules.intent(&params, false);
            assert!(matches!(got, Err(Error::Invalid { .. })), "{params}: {got:?}");
        }
        assert!(rules.intent(&json!({"method": "POST", "body": {"amount": 1}}), false).is_ok());
    }

    #[test]
    fn the_agent_cannot_add_the_credential_parameter() {
        let config = json!({"base_url": "https://api.example.com/", "auth": {"type": "query", "name": "api_key"}});
        let rules = HttpRules::parse(&config, &Value::Null).unwrap();
        assert!(rules.intent(&json!({"query": {"q": "x"}}), false).is_ok());
        let got = rules.intent(&json!({"query": {"API_KEY": "mine"}}), false);
        assert!(matches!(got, Err(Error::Invalid { .. })), "{got:?}");
    }

    #[test]
    fn statements_are_held_to_their_kinds() {
        let config = json!({"host": "db.example.com", "database": "app", "user": "reader"});
        let rules = PgRules::parse(&config, &Value::Null).unwrap();
        assert!(rules.read_only);
        assert_eq!(rules.tls, PgTls::VerifyFull);
        assert_eq!(rules.intent(&json!({"query": "  SELECT 1"}), false).unwrap().kind, "select");
        assert!(matches!(rules.intent(&json!({"query": "DELETE FROM t"}), false), Err(Error::Forbidden(_))));
        assert!(matches!(rules.intent(&json!({"query": "/* x */ DELETE FROM t"}), false), Err(Error::Invalid { .. })));
        assert!(PgRules::parse(&config, &json!({"allowed_statements": ["set"]})).is_err());
    }
}
