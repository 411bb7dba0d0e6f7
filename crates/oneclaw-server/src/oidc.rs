//! OpenID Connect sign-in ("Sign in with Google", or any issuer in the configuration): the
//! provider's discovery document and keys, the authorization-code flow with PKCE for the
//! dashboard, and verification of ID tokens (signature by one of the issuer's published keys,
//! issuer, audience = our client id, expiry, nonce for the browser flow, verified email) for
//! both the dashboard and `POST /v1/auth/google`.

use crate::config::ServerConfig;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oneclaw_core::{Error, Result};
use oneclaw_types::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::RwLock;

/// The provider's endpoints, from `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The configured identity provider.
pub struct Oidc {
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Option<JwkSet>>,
    /// When the key set was last fetched: a token naming an unknown key refetches it at most
    /// once a minute, so forged `kid`s cannot make us hammer the issuer.
    fetched_at: RwLock<Option<std::time::Instant>>,
}

/// How often an unknown `kid` may trigger a new fetch of the issuer's keys.
const KEY_REFETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// What a verified ID token says of its person.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub email: String,
    pub subject: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    nonce: Option<String>,
}

/// What the browser keeps between the redirect to the provider and the way back.
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refused(why: impl Into<String>) -> Error {
    Error::Unauthenticated(format!("Sign-in with the identity provider failed: {}", why.into()))
}

fn unreachable(err: reqwest::Error) -> Error {
    // The innermost cause says why: a refused connection, an untrusted certificate…
    let err = err.without_url();
    let cause =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).last().map(|e| e.to_string());
    Error::Unavailable(format!("the identity provider could not be reached ({})", cause.unwrap_or_default()))
}

impl Oidc {
    /// The provider of the configuration, if a client id is set.
    pub fn from_config(config: &ServerConfig) -> Option<Arc<Self>> {
        let client_id = config.oidc_client_id.clone()?;
        let client_secret = std::env::var("ONECLAW_OIDC_CLIENT_SECRET").ok().map(SecretString::new);
        oneclaw_types::tls::install_provider();
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap_or_default();
        Some(Arc::new(Self {
            issuer: config.oidc_issuer.clone(),
            client_id,
            client_secret,
            http,
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
            fetched_at: RwLock::new(None),
        }))
    }

    async fn discovery(&self) -> Result<Discovery> {
        if let Some(found) = self.discovery.read().await.clone() {
            return Ok(found);
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let found: Discovery =
            self.http.get(url).send().await.map_err(unreachable)?.json().await.map_err(unreachable)?;
        *self.discovery.write().await = Some(found.clone());
        Ok(found)
    }

    /// The issuer's keys; fetched again when a token names a key we do not have (rotation).
    async fn key_set(&self, refresh: bool) -> Result<JwkSet> {
        let recent = self.fetched_at.read().await.is_some_and(|at| at.elapsed() < KEY_REFETCH_INTERVAL);
        if (!refresh || recent)
            && let Some(keys) = self.keys.read().await.clone()
        {
            return Ok(keys);
        }
        let uri = self.discovery().await?.jwks_uri;
        *self.fetched_at.write().await = Some(std::time::Instant::now());
        let keys: JwkSet = self.http.get(uri).send().await.map_err(unreachable)?.json().await.map_err(unreachable)?;
        *self.keys.write().await = Some(keys.clone());
        Ok(keys)
    }

    /// Starts the browser flow: where to send it, and what to keep for the way back.
    pub async fn begin(&self, redirect_uri: &str) -> Result<(String, Pending)> {
        let pending = Pending { state: random_text(), nonce: random_text(), verifier: random_text() };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&self.discovery().await?.authorization_endpoint).map_err(|_| {
            Error::Unavailable("the identity provider's authorization endpoint is not a URL".to_owned())
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.to_string(), pending))
    }

    /// Finishes the browser flow: the code for tokens (with the PKCE verifier), then the ID
    /// token verified with the nonce we sent.
    pub async fn finish(&self, code: &str, redirect_uri: &str, pending: &Pending) -> Result<VerifiedIdentity> {
        let endpoint = self.discovery().await?.token_endpoint;
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("client_id", self.client_id.clone()),
            ("code_verifier", pending.verifier.clone()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose().to_owned()));
        }
        let response = self.http.post(endpoint).form(&form).send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(refused(format!("the provider refused the code ({})", response.status().as_u16())));
        }
        let answer: serde_json::Value = response.json().await.map_err(unreachable)?;
        let id_token = answer["id_token"].as_str().ok_or_else(|| refused("the provider sent no ID token"))?;
        self.verify(id_token, Some(&pending.nonce)).await
    }

    /// Checks an ID token: signed by one of the issuer's keys (RS256 or ES256), for us, by the
    /// issuer, not expired, with our nonce (browser flow), for a verified email.
    pub async fn verify(&self, id_token: &str, nonce: Option<&str>) -> Result<VerifiedIdentity> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| refused("the ID token is malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(refused("the ID token's algorithm is not accepted"));
        }
        let kid = header.kid.ok_or_else(|| refused("the ID token names no key"))?;
        let jwk = match self.key_set(false).await?.find(&kid) {
            Some(jwk) => jwk.clone(),
            None => self
                .key_set(true)
                .await?
                .find(&kid)
                .cloned()
                .ok_or_else(|| refused("the ID token's key is not the issuer's"))?,
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| refused("the issuer's key is unusable"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|err| refused(format!("the ID token is not valid for this server ({:?})", err.kind())))?
            .claims;
        if let Some(expected) = nonce
            && claims.nonce.as_deref() != Some(expected)
        {
            return Err(refused("the ID token does not answer this sign-in (nonce)"));
        }
        let verified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&claims.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        let email =
            claims.email.filter(|_| verified).ok_or_else(|| refused("the provider did not vouch for an email"))?;
        Ok(VerifiedIdentity { email, subject: claims.sub })
    }
}
