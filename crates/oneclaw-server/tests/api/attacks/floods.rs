//! Item 7: no brute-force limit. Sign-in, key exchanges, MFA and share passphrases could be
//! guessed at line speed. (The memory half of the item is a benchmark, not a test:
//! `bench` `login-flood`, see bench/RESULTS.md.)

use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn one_account_gets_ten_guesses_then_429_even_for_the_right_password_until_the_window_passes() {
    let app = spawn_app().await;
    let victim = app.signup("guessed@example.com").await;
    for n in 0..10 {
        let wrong =
            app.post("/v1/auth/token", None, json!({"email": victim.email, "password": format!("guess-{n}")})).await;
        assert_eq!(wrong.status, 401, "guess {n}: {}", wrong.text);
    }
    let limited = app.post("/v1/auth/token", None, json!({"email": victim.email, "password": victim.password})).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    let retry: i64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    app.clock.advance(time::Duration::minutes(16));
    let later = app.post("/v1/auth/token", None, json!({"email": victim.email, "password": victim.password})).await;
    assert_eq!(later.status, 200, "the window passed: {}", later.text);
}

#[tokio::test]
async fn one_address_gets_a_burst_of_credential_checks_then_429() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for n in 0..40 {
        let guess = app.post("/v1/auth/agent-token", None, json!({"api_key": format!("ocv_guess_{n:040}")})).await;
        statuses.push(guess.status);
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    let key = app.post("/v1/auth/api-key-token", None, json!({"api_key": "1ck_guess"})).await;
    assert_eq!(key.status, 429, "one budget for every credential check of an address");
}

#[tokio::test]
async fn a_stolen_token_cannot_guess_the_current_password_without_limit() {
    let app = spawn_app().await;
    let victim = app.signup("change-guess@example.com").await;
    let mut statuses = Vec::new();
    for n in 0..11 {
        let guess = app
            .post(
                "/v1/auth/change-password",
                Some(&victim.token),
                json!({"current_password": format!("guess-{n}"), "new_password": "the thief's password"}),
            )
            .await;
        statuses.push(guess.status);
    }
    assert!(statuses[..10].iter().all(|s| *s == 400) && statuses[10] == 429, "{statuses:?}");
    let login = app.post("/v1/auth/token", None, json!({"email": victim.email, "password": victim.password})).await;
    assert_eq!(login.status, 429, "the same budget as sign-in");
}

/// Red-team finding (issue 19's pass): a client that sent half a request kept its connection,
/// and a few hundred such clients used up the server's file descriptors (slowloris). Now each
/// connection has a deadline for its request headers; a whole request still gets its answer.
#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    // Generous next to the 10 s deadline: a connection kept open fails here.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request's connection was still open after 30 s");
    assert_eq!(app.call(reqwest::Method::GET, "/v1/health", None, None).await.status, 200);
}
