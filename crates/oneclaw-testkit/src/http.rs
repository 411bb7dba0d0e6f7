//! HTTP helpers: JSON requests through reqwest, and raw-path requests through hyper for the
//! cases reqwest would normalise away (`..`, `//`, odd encodings).

use crate::TestApp;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use reqwest::Method;
use serde_json::{Value, json};

/// A response, with the body read and parsed when it is JSON.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Response {
    /// `detail` of a ProblemDetails body.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

/// Fails the calling test when a JSON answer would break a strict 1claw client (see
/// `conformance`). Answers that are not JSON (pages, redirects, empty bodies) are not its
/// business.
fn conforms(method: &str, path: &str, request: Option<&Value>, response: &Response) {
    let is_json = response
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json && !response.text.trim().is_empty() {
        return;
    }
    let exchange = crate::conformance::Exchange {
        method,
        path,
        request,
        status: response.status,
        body: &response.body,
        text: &response.text,
    };
    if let Err(problem) = crate::conformance::check(&exchange) {
        panic!("{problem}");
    }
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let method_name = method.as_str().to_owned();
        let method_name = method_name.as_str();
        let mut request = self.http.request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = Self::read(request.send().await.expect("request sent")).await;
        conforms(method_name, path, body.as_ref(), &response);
        response
    }

    /// Sends raw bytes as the body with a given content type.
    pub async fn call_bytes(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Response {
        let request_json: Option<Value> = serde_json::from_slice(&body).ok();
        let method_name = method.as_str().to_owned();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = Self::read(request.send().await.expect("request sent")).await;
        conforms(&method_name, path, request_json.as_ref(), &response);
        response
    }

    pub async fn read(response: reqwest::Response) -> Response {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response { status, headers, text, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends a request whose path is used byte for byte, without any normalisation.
    pub async fn raw(&self, method: &str, raw_path: &str, token: Option<&str>, body: Option<&str>) -> Response {
        let body_text = body;
        let stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(raw_path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default().to_owned()))).expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in response.headers() {
            if let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
                reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.insert(name, value);
            }
        }
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let response = Response { status, headers, text, body };
        let request_json: Option<Value> = body_text.and_then(|b| serde_json::from_str(b).ok());
        conforms(method, raw_path, request_json.as_ref(), &response);
        response
    }

    /// Signs up a new user (and so a new org) and returns its credentials.
    pub async fn signup(&self, email: &str) -> Account {
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        let response = self
            .post("/v1/auth/signup", None, json!({"email": email, "password": password, "display_name": "Test"}))
            .await;
        assert_eq!(response.status, 200, "signup failed: {}", response.text);
        self.signed_in(email, password, &response).await
    }

    /// The account a sign-up made: its token from the answer, or, from a server that sends
    /// mail (it signs nobody in at sign-up, and a new account signs in once its address is
    /// confirmed), confirmed the operator's way and signed in (the mail tests follow the link).
    async fn signed_in(&self, email: &str, password: String, response: &Response) -> Account {
        let token = match response.body["access_token"].as_str() {
            Some(token) => token.to_owned(),
            None => {
                let meta = oneclaw_core::principal::RequestMeta::internal(oneclaw_core::principal::Surface::Cli);
                self.core.accounts().mark_verified(&meta, email).await.expect("mark the address verified");
                let signed = self.post("/v1/auth/token", None, json!({"email": email, "password": password})).await;
                assert_eq!(signed.status, 200, "sign-in after sign-up failed: {}", signed.text);
                signed.body["access_token"].as_str().expect("access_token").to_owned()
            }
        };
        Account { email: email.to_owned(), password, token }
    }

    /// Creates a vault and returns its id.
    pub async fn create_vault(&self, token: &str, name: &str) -> String {
        let response = self.post("/v1/vaults", Some(token), json!({"name": name})).await;
        assert_eq!(response.status, 201, "vault create failed: {}", response.text);
        response.body["id"].as_str().expect("vault id").to_owned()
    }

    /// Stores a secret value and returns the response.
    pub async fn put_secret(&self, token: &str, vault: &str, path: &str, value: &str) -> Response {
        self.put(&format!("/v1/vaults/{vault}/secrets/{path}"), token, json!({"value": value})).await
    }

    /// Every audit event of the org of `token`'s user, newest first (read from the store).
    pub async fn audit_events(&self, org_of: &Account) -> Vec<oneclaw_core::audit::AuditEvent> {
        let me = self.get("/v1/auth/me", &org_of.token).await;
        let user = self
            .core
            .deps()
            .store
            .user(oneclaw_core::ids::UserId(me.body["id"].as_str().unwrap().parse().unwrap()))
            .await;
        let org = user.unwrap().unwrap().org_id;
        let query = oneclaw_core::ports::AuditQuery { limit: 10_000, ..Default::default() };
        self.core.deps().store.audit_events(org, &query).await.unwrap()
    }
}

/// A registered agent and its key.
#[derive(Debug, Clone)]
pub struct TestAgent {
    pub id: String,
    pub key: String,
}

impl TestApp {
    /// The user id behind a user token.
    pub async fn user_id(&self, token: &str) -> String {
        let me = self.get("/v1/auth/me", token).await;
        me.body["id"].as_str().expect("user id").to_owned()
    }

    /// Registers an agent with the given extra settings (merged into `{"name": name}`).
    pub async fn register_agent(&self, token: &str, name: &str, extra: Value) -> TestAgent {
        let mut body = json!({"name": name});
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        let response = self.post("/v1/agents", Some(token), body).await;
        assert_eq!(response.status, 201, "agent create failed: {}", response.text);
        TestAgent {
            id: response.body["agent"]["id"].as_str().expect("agent id").to_owned(),
            key: response.body["api_key"].as_str().expect("api_key").to_owned(),
        }
    }

    /// Exchanges an agent key for a token.
    pub async fn agent_token(&self, agent: &TestAgent) -> String {
        let response =
            self.post("/v1/auth/agent-token", None, json!({"api_key": agent.key, "agent_id": agent.id})).await;
        assert_eq!(response.status, 200, "agent token failed: {}", response.text);
        response.body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// Creates a policy; `extra` is merged into the body.
    pub async fn grant(
        &self,
        token: &str,
        vault: &str,
        principal: (&str, &str),
        pattern: &str,
        permissions: &[&str],
        extra: Value,
    ) -> Response {
        let mut body = json!({
            "principal_type": principal.0,
            "principal_id": principal.1,
            "secret_path_pattern": pattern,
            "permissions": permissions,
        });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        self.post(&format!("/v1/vaults/{vault}/policies"), Some(token), body).await
    }

    /// Invites an email into the org of `token` and signs it up with the invitation's token;
    /// returns the new member.
    pub async fn invite_and_join(&self, token: &str, email: &str, role: &str) -> Account {
        let invite_token = self.invite(token, email, role).await;
        self.signup_invited(email, &invite_token).await
    }

    /// Invites an email into the org of `token`; the invitation's token.
    pub async fn invite(&self, token: &str, email: &str, role: &str) -> String {
        let invited = self.post("/v1/org/invites", Some(token), json!({"email": email, "role": role})).await;
        assert_eq!(invited.status, 201, "invite failed: {}", invited.text);
        invited.body["invite_token"].as_str().expect("invite_token").to_owned()
    }

    /// Signs up with an invitation's token.
    pub async fn signup_invited(&self, email: &str, invite_token: &str) -> Account {
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        let response = self
            .post(
                "/v1/auth/signup",
                None,
                json!({"email": email, "password": password, "display_name": "Test", "invite_token": invite_token}),
            )
            .await;
        assert_eq!(response.status, 200, "invited signup failed: {}", response.text);
        self.signed_in(email, password, &response).await
    }
}
