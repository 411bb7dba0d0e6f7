//! An execution's HTTP call: no redirects followed (a 3xx is answered as it came), the answer
//! read up to the binding's size limit, errors without the URL (its query may hold the
//! credential), header values marked sensitive.

use super::checked_addresses;
use oneclaw_core::ports::{HttpAnswer, HttpCall, RunFailure};
use reqwest::header::{HeaderName, HeaderValue};

pub(super) async fn send(call: HttpCall) -> Result<HttpAnswer, RunFailure> {
    oneclaw_types::tls::install_provider();
    let failed = |why: String| RunFailure::Failed(why);
    let host = call.url.host_str().unwrap_or_default().to_owned();
    let port = call.url.port_or_known_default().unwrap_or(443);
    let addresses = checked_addresses(&host, port, call.allow_private).await?;
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(call.timeout)
        .resolve_to_addrs(&bare, &addresses)
        .user_agent(concat!("oneclaw-intents/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| failed("the HTTP client could not be built".to_owned()))?;
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|_| failed("bad method".to_owned()))?;
    let mut request = client.request(method, call.url);
    for (name, value) in &call.headers {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| failed("a header name is invalid".to_owned()))?;
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| failed(format!("the value of header {name} is invalid")))?;
        value.set_sensitive(true);
        request = request.header(name, value);
    }
    if !call.body.is_empty() {
        request = request.body(call.body);
    }
    // Uncompressed only: a compressed answer would hide the credential from redaction.
    request = request.header(reqwest::header::ACCEPT_ENCODING, "identity");
    let mut answer = request.send().await.map_err(|err| failed(format!("the call failed: {}", err.without_url())))?;
    let status = answer.status().as_u16();
    if let Some(why) = unredactable_answer(status, answer.headers()) {
        return Err(failed(format!("{why}: it could not be redacted, so it is not passed on")));
    }
    // A repeated header comes back once, its values joined as HTTP lists them.
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in answer.headers() {
        // Lengths of the answer as the service sent it would tell how long what was redacted is.
        if name == reqwest::header::CONTENT_LENGTH || name == reqwest::header::TRANSFER_ENCODING {
            continue;
        }
        match headers.iter_mut().find(|(seen, _)| seen == name.as_str()) {
            Some((_, joined)) => {
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(value.as_bytes());
            }
            None => headers.push((name.as_str().to_owned(), value.as_bytes().to_vec())),
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        answer.chunk().await.map_err(|err| failed(format!("the answer broke off: {}", err.without_url())))?
    {
        if body.len() + chunk.len() > call.max_response_bytes {
            return Err(failed(format!("the answer is larger than the binding's {} bytes", call.max_response_bytes)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpAnswer { status, headers, body })
}

/// Why an answer cannot be redacted, if it cannot: compressed (every `Content-Encoding` and
/// `Transfer-Encoding` value is judged, not just the first), or a slice of a larger whole (206,
/// `multipart/byteranges`): pieces of a credential cut apart would each pass redaction.
fn unredactable_answer(status: u16, headers: &reqwest::header::HeaderMap) -> Option<&'static str> {
    let values = |name: reqwest::header::HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|value| {
                value.to_str().unwrap_or("?").split(',').map(|v| v.trim().to_ascii_lowercase()).collect::<Vec<_>>()
            })
            .collect()
    };
    if values(reqwest::header::CONTENT_ENCODING).iter().any(|v| v != "identity" && !v.is_empty()) {
        return Some("the service answered compressed although asked not to");
    }
    if values(reqwest::header::TRANSFER_ENCODING).iter().any(|v| v != "chunked" && v != "identity" && !v.is_empty()) {
        return Some("the service answered with a transfer coding other than chunked");
    }
    let content_type = values(reqwest::header::CONTENT_TYPE);
    if status == 206 || content_type.iter().any(|v| v.starts_with("multipart/byteranges")) {
        return Some("the service answered a part of a larger answer");
    }
    None
}
