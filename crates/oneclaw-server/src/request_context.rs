//! Every request gets an id of its own: answered as `X-Request-Id`, carried by its
//! ProblemDetails (`request_id`) and by its log lines (a field of the request's span), so a
//! user's error report finds the server's log of it. The id is the server's, never a client's
//! (a client-chosen id could forge or collide with other log lines).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The response header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of a request, in its extensions (for the log span).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being answered on this task, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The outermost layer: names the request, and the answer.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
