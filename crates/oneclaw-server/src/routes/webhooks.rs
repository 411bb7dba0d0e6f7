//! `/v1/webhooks`: org owners and admins register, list, change and remove event webhooks and
//! read each one's delivery log (see `oneclaw_core::services::webhooks`).

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use oneclaw_core::ports::store::DeliveryRecord;
use oneclaw_core::services::WebhookDraft;
use oneclaw_core::webhooks::Webhook;
use oneclaw_types::SecretString;
use oneclaw_types::webhooks::{
    WebhookCreatedResponse, WebhookDeliveryListResponse, WebhookDeliveryResponse, WebhookListResponse, WebhookRequest,
    WebhookResponse,
};
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/{webhook_id}", get(show).patch(update).delete(remove))
        .route("/v1/webhooks/{webhook_id}/deliveries", get(deliveries))
}

fn view(webhook: &Webhook) -> WebhookResponse {
    WebhookResponse {
        id: webhook.id.to_string(),
        url: webhook.url.clone(),
        events: webhook.events.clone(),
        is_active: webhook.is_active,
        description: webhook.description.clone(),
        created_at: webhook.created_at,
    }
}

fn delivery(record: &DeliveryRecord) -> WebhookDeliveryResponse {
    WebhookDeliveryResponse {
        event_id: record.event_id.to_string(),
        event_type: record.event_type.clone(),
        status: record.status.clone(),
        attempts: record.attempts,
        last_status: record.last_status,
        last_error: record.last_error.clone(),
        next_attempt_at: record.next_attempt_at,
        created_at: record.created_at,
        delivered_at: record.delivered_at,
    }
}

fn draft(request: WebhookRequest) -> WebhookDraft {
    WebhookDraft {
        url: request.url,
        events: request.events,
        description: request.description,
        is_active: request.is_active,
        secret: request.secret.map(SecretString::new),
    }
}

fn id(path: &RawPathParams) -> ApiResult<Uuid> {
    params::uuid(path, "webhook_id")
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<WebhookRequest>,
) -> ApiResult<(StatusCode, Json<WebhookCreatedResponse>)> {
    let (webhook, secret) = state.core.webhooks().create(&caller, draft(body.required()?)).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreatedResponse {
            id: webhook.id.to_string(),
            url: webhook.url,
            events: webhook.events,
            secret: secret.expose().to_owned(),
            created_at: webhook.created_at,
        }),
    ))
}

async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<WebhookListResponse>> {
    let webhooks = state.core.webhooks().list(&caller).await?;
    Ok(Json(WebhookListResponse { webhooks: webhooks.iter().map(view).collect() }))
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(Json(view(&state.core.webhooks().get(&caller, id(&path)?).await?)))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<WebhookRequest>,
) -> ApiResult<Json<WebhookResponse>> {
    let changed = state.core.webhooks().update(&caller, id(&path)?, draft(body.required()?)).await?;
    Ok(Json(view(&changed)))
}

async fn remove(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.webhooks().delete(&caller, id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deliveries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<WebhookDeliveryListResponse>> {
    let found = state.core.webhooks().deliveries(&caller, id(&path)?).await?;
    Ok(Json(WebhookDeliveryListResponse { deliveries: found.iter().map(delivery).collect() }))
}
