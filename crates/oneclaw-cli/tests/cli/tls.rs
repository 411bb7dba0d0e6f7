//! HTTPS served by the binary itself (`--tls-cert-file`, `--tls-key-file`), against throwaway CAs
//! made with openssl: a client that trusts the CA gets answers, one that does not is refused,
//! plain HTTP on the port gets nothing, session cookies are Secure with no proxy header, and
//! SIGHUP swaps the certificate (a broken one is refused and the old one kept).

use super::*;
use std::path::PathBuf;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl").current_dir(dir).args(args).stderr(Stdio::null()).status().unwrap();
    assert!(status.success(), "openssl {args:?}");
}

/// A CA named `name` and a certificate for 127.0.0.1 it signed: (CA, certificate, key) files.
fn issue(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let (ca_key, ca, key, csr, ext, cert) = (
        format!("{name}-ca.key"),
        format!("{name}-ca.pem"),
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
        format!("{name}.pem"),
    );
    let subject = format!("/CN={name} CA");
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend(["-keyout", &ca_key, "-out", &ca, "-days", "1", "-subj", &subject]);
    args.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &args);
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &args);
    std::fs::write(
        dir.join(&ext),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "1",
            "-extfile",
            &ext,
        ],
    );
    (dir.join(ca), dir.join(cert), dir.join(key))
}

/// A client that trusts only `ca`, keeps no connection between requests (each one is a new
/// handshake, so a swapped certificate shows) and follows no redirects.
fn trusting(ca: &Path) -> reqwest::Client {
    oneclaw_types::tls::install_provider();
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn answers(client: &reqwest::Client, url: &str) -> bool {
    client.get(url).send().await.is_ok_and(|response| response.status().is_success())
}

fn hang_up(child: &Child) {
    let status = Command::new("kill").arg("-HUP").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn https_is_served_directly_and_the_certificate_is_swapped_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (first_ca, first_cert, first_key) = issue(dir.path(), "first");
    let (second_ca, second_cert, second_key) = issue(dir.path(), "second");
    let (cert, key) = (dir.path().join("served.pem"), dir.path().join("served.key"));
    std::fs::copy(&first_cert, &cert).unwrap();
    std::fs::copy(&first_key, &key).unwrap();
    let log = dir.path().join("server.log");
    let mut child = oneclaw()
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert-file")
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let password = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("dev exited: {}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        printed.push(line.clone());
        if let Some(password) = line.trim().strip_prefix("password: ") {
            break password.trim().to_owned();
        }
    };
    let base = printed[0].split_whitespace().last().unwrap_or_default().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "dev prints the https address: {printed:?}");
    let server = Server { child, base: base.clone() };
    let health = format!("{base}/v1/health");

    let first = trusting(&first_ca);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers(&first, &health).await {
        assert!(Instant::now() < deadline, "never answered over TLS: {}", std::fs::read_to_string(&log).unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answers(&first, &format!("{base}/v1/health/ready")).await);
    assert!(!answers(&trusting(&second_ca), &health).await, "a client that does not trust the CA is refused");
    let plain = health.replacen("https://", "http://", 1);
    assert!(!answers(&http_client(), &plain).await, "plain HTTP on the TLS port gets no answer");

    // Signing in to the dashboard over the server's own TLS: Secure cookies, no proxy header.
    let signed_in = first
        .post(format!("{base}/signin"))
        .form(&[("email", "admin@oneclaw.local"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookies: Vec<String> =
        signed_in.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");

    // A broken file on SIGHUP: refused, the certificate in use kept.
    std::fs::write(&cert, "not a certificate").unwrap();
    hang_up(&server.child);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(answers(&first, &health).await, "the old certificate is kept");
    // The second pair on SIGHUP: new connections get it.
    std::fs::copy(&second_cert, &cert).unwrap();
    std::fs::copy(&second_key, &key).unwrap();
    hang_up(&server.child);
    let second = trusting(&second_ca);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers(&second, &health).await {
        assert!(
            Instant::now() < deadline,
            "the new certificate never served: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!answers(&first, &health).await, "the old certificate is no longer served");
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("kept the TLS certificate in use") && written.contains("reloaded the TLS certificate"));
}

#[test]
fn one_tls_file_without_the_other_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let output = oneclaw()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert-file")
        .arg(dir.path().join("cert.pem"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ONECLAW_TLS_KEY_FILE"), "{stderr}");
}
