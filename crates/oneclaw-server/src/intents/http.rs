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
    let encoding = answer.headers().get(reqwest::header::CONTENT_ENCODING).map(|v| v.as_bytes().to_ascii_lowercase());
    if encoding.is_some_and(|e| e != b"identity") {
        return Err(failed(
            "the service answered compressed although asked not to: it cannot be redacted, so it is not passed on"
                .to_owned(),
        ));
    }
    let headers =
        answer.headers().iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
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
