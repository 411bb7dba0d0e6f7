//! Webhooks: org owners and admins register URLs for event types; the signing secret is shown
//! once and stored sealed by the key provider. Deliveries are enqueued by the store with each
//! audit record (see `ports::store::webhooks`) and sent by the server's worker.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::AuditEvent;
use crate::ports::store::DeliveryRecord;
use crate::principal::Caller;
use crate::tokens::random_credential;
use crate::webhooks::{EVENT_TYPES, Webhook};
use crate::{Error, Result};
use oneclaw_types::SecretString;
use std::net::IpAddr;
use uuid::Uuid;

/// The prefix of a generated signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// What a registration asks for.
#[derive(Debug, Clone, Default)]
pub struct WebhookDraft {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    /// A caller-chosen signing secret (the SDK allows one); generated when absent.
    pub secret: Option<SecretString>,
}

/// The key-provider purpose a webhook's secret is sealed under (its AAD).
pub fn secret_purpose(id: Uuid) -> String {
    format!("webhook-secret:{id}")
}

/// Webhooks service.
pub struct Webhooks<'a> {
    deps: &'a Deps,
}

impl<'a> Webhooks<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    async fn admin(&self, caller: &Caller) -> Result<crate::ids::UserId> {
        let user =
            caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans manage webhooks".to_owned()))?;
        if !Access::new(self.deps).is_admin(caller).await? {
            return Err(Error::Forbidden("Only org owners and admins manage webhooks".to_owned()));
        }
        Ok(user)
    }

    /// Registers a webhook; returns it with its signing secret (shown this once).
    pub async fn create(&self, caller: &Caller, draft: WebhookDraft) -> Result<(Webhook, SecretString)> {
        let user = self.admin(caller).await?;
        let url = self.checked_url(draft.url.as_deref().unwrap_or_default())?;
        let events = checked_events(draft.events.unwrap_or_default())?;
        let description = checked_description(draft.description.as_deref())?;
        let secret = match draft.secret {
            Some(secret) if secret.expose().len() >= 16 && secret.expose().len() <= 256 => secret,
            Some(_) => return Err(Error::invalid_field("secret", "must be 16 to 256 characters")),
            None => random_credential(SECRET_PREFIX),
        };
        let now = self.deps.clock.now();
        let webhook = Webhook {
            id: Uuid::now_v7(),
            org_id: caller.org_id(),
            url,
            events,
            description,
            is_active: draft.is_active.unwrap_or(true),
            created_by: user,
            created_at: now,
        };
        let sealed = self.deps.keys.seal_system_secret(&secret_purpose(webhook.id), secret.expose().as_bytes()).await?;
        // The URL is the caller's and may carry a token in its query: the record keeps the host.
        let event = AuditEvent::by(caller, "webhook.create", "webhook", now)
            .resource(webhook.id)
            .detail("host", host_of(&webhook.url))
            .detail("events", webhook.events.clone());
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_webhook(&webhook, &sealed).await?;
        change.commit([event]).await?;
        Ok((webhook, secret))
    }

    pub async fn list(&self, caller: &Caller) -> Result<Vec<Webhook>> {
        self.admin(caller).await?;
        self.deps.store.webhooks(caller.org_id()).await
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Webhook> {
        self.admin(caller).await?;
        self.deps.store.webhook(caller.org_id(), id).await?.ok_or_else(not_found)
    }

    /// Changes URL, events, description or the active flag.
    pub async fn update(&self, caller: &Caller, id: Uuid, draft: WebhookDraft) -> Result<Webhook> {
        let mut webhook = self.get(caller, id).await?;
        if let Some(url) = draft.url.as_deref() {
            webhook.url = self.checked_url(url)?;
        }
        if let Some(events) = draft.events {
            webhook.events = checked_events(events)?;
        }
        if let Some(description) = draft.description.as_deref() {
            webhook.description = checked_description(Some(description))?;
        }
        if let Some(active) = draft.is_active {
            webhook.is_active = active;
        }
        let now = self.deps.clock.now();
        let event = AuditEvent::by(caller, "webhook.update", "webhook", now)
            .resource(webhook.id)
            .detail("host", host_of(&webhook.url))
            .detail("events", webhook.events.clone())
            .detail("is_active", webhook.is_active);
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().update_webhook(&webhook).await? {
            return Err(not_found());
        }
        change.commit([event]).await?;
        Ok(webhook)
    }

    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<()> {
        self.admin(caller).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_webhook(caller.org_id(), id, now).await? {
            return Err(not_found());
        }
        change.commit([AuditEvent::by(caller, "webhook.delete", "webhook", now).resource(id)]).await
    }

    /// The webhook's latest deliveries: status, attempts, last error.
    pub async fn deliveries(&self, caller: &Caller, id: Uuid) -> Result<Vec<DeliveryRecord>> {
        let webhook = self.get(caller, id).await?;
        self.deps.store.deliveries(webhook.id, 100).await
    }

    /// An `https` URL (or `http` where private targets are allowed, for local receivers) whose
    /// host, when an address, is public unless private targets are allowed. Names are checked
    /// again after resolution, at each delivery.
    fn checked_url(&self, url: &str) -> Result<String> {
        let bad = |why: &str| Error::invalid_field("url", why);
        let url = url.trim();
        if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("must be a URL of at most 2048 characters"));
        }
        let allow_private = self.deps.settings.webhook_allow_private;
        let rest = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => rest,
            (None, Some(rest)) if allow_private => rest,
            _ => return Err(bad("must start with https://")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') || authority.contains('%') {
            return Err(bad("must name a host (and no user name or IPv6 zone)"));
        }
        let host = host_of(url);
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>()
            && !allow_private
            && !is_public(ip)
        {
            return Err(bad(
                "must not be a private, loopback or link-local address (ONECLAW_WEBHOOK_ALLOW_PRIVATE=true allows it)",
            ));
        }
        if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
            return Err(bad("must not be localhost"));
        }
        Ok(url.to_owned())
    }
}

/// The host of a URL this module accepted (`[v6]` keeps its brackets), lower-cased.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    };
    host.to_ascii_lowercase()
}

/// True for an address a webhook may reach without `ONECLAW_WEBHOOK_ALLOW_PRIVATE`: not
/// loopback, private, link-local (cloud metadata), shared (CGNAT), unspecified, multicast or
/// broadcast.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                // Carrier-grade NAT, IETF protocol assignments, benchmarking, reserved (240/4).
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let first = segments[0];
            // IPv4 inside IPv6 (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16)
            // reaches that IPv4 address on networks that translate: judged as it.
            let embedded = |high: u16, low: u16| {
                let [a, b] = high.to_be_bytes();
                let [c, d] = low.to_be_bytes();
                IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
            };
            if segments[..6].iter().all(|s| *s == 0) && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(embedded(segments[6], segments[7]));
            }
            // NAT64 and IPv4-translated ::ffff:0:a.b.c.d (SIIT) are judged as their IPv4
            // address; local-use NAT64 (64:ff9b:1::/48) is private by definition.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return is_public(embedded(segments[6], segments[7]));
            }
            if segments[..3] == [0x64, 0xff9b, 1] {
                return false;
            }
            if first == 0x2002 {
                return is_public(embedded(segments[1], segments[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0)
        }
    }
}

fn checked_events(events: Vec<String>) -> Result<Vec<String>> {
    if events.is_empty() {
        return Err(Error::invalid_field("events", "name at least one event type"));
    }
    let mut checked: Vec<String> = Vec::new();
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(Error::invalid_field(
                "events",
                format!("unknown event type {event:?}; supported: {}", EVENT_TYPES.join(", ")),
            ));
        }
        if !checked.contains(&event) {
            checked.push(event);
        }
    }
    Ok(checked)
}

fn checked_description(description: Option<&str>) -> Result<String> {
    let description = description.unwrap_or_default().trim();
    if description.chars().count() > 500 || description.chars().any(char::is_control) {
        return Err(Error::invalid_field("description", "must be at most 500 printable characters"));
    }
    Ok(description.to_owned())
}

fn not_found() -> Error {
    Error::NotFound("Webhook not found".to_owned())
}
