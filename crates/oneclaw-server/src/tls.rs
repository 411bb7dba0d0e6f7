//! HTTPS served directly (`ONECLAW_TLS_CERT_FILE`, `ONECLAW_TLS_KEY_FILE`): rustls with the ring
//! provider, TLS 1.2 and 1.3, HTTP/1.1. The certificate and key are read again on SIGHUP; a
//! pair that does not load is logged and the one in use kept. Each request carries
//! `ServedOverTls`, so the scheme is https (Secure cookies) without any proxy header, and the
//! peer's address as `ConnectInfo`, as the plain listener gives it.

use crate::config::TlsFiles;
use axum::Router;
use oneclaw_core::{Error, Result};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Marks a request that reached the server over its own TLS.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverTls;

/// Largest certificate chain or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// How long a reload may take before it is given up (a file on a hung network mount).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = crate::listener::HEADER_TIMEOUT;

/// The certificate chain and key, checked to go together.
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>> {
    let unreadable = |what: &str, path: &std::path::Path, err: &dyn std::fmt::Display| {
        Error::invalid(format!("cannot read the TLS {what} {}: {err}", path.display()))
    };
    for path in [&files.cert, &files.key] {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_PEM_BYTES => {}
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} is not a regular file of at most {MAX_PEM_BYTES} bytes",
                    path.display()
                )));
            }
            Err(err) => return Err(unreadable("file", path, &err)),
        }
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|err| unreadable("certificate", &files.cert, &err))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|err| unreadable("certificate", &files.cert, &err))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("{} holds no PEM certificate", files.cert.display())));
    }
    // A PEM parse error may quote a line of the file: for the key, only an I/O error's words
    // are passed on, never the parser's.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| match err {
        rustls::pki_types::pem::Error::Io(io) => unreadable("key", &files.key, &io),
        _ => Error::invalid(format!(
            "cannot read the TLS key {}: not a PEM private key (PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        )),
    })?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Internal(format!("TLS versions: {err}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| Error::invalid(format!("the TLS certificate and key do not go together: {err}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` over TLS until `shutdown` completes, then lets the requests in flight
/// finish (for up to `DRAIN_TIMEOUT`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    files: TlsFiles,
    initial: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let current = Arc::new(RwLock::new(initial));
    let reloader = tokio::spawn(reload_on_hangup(files, Arc::clone(&current)));
    let handshake = move |tcp: tokio::net::TcpStream| {
        let config = match current.read() {
            Ok(config) => Arc::clone(&config),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        let acceptor = TlsAcceptor::from(config);
        async move { tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await.ok()?.ok() }
    };
    let mark = |request: &mut hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ServedOverTls);
    };
    let served = crate::listener::serve(listener, router, shutdown, handshake, mark).await;
    reloader.abort();
    served
}

/// On each SIGHUP, loads the files again and serves new connections with them.
async fn reload_on_hangup(files: TlsFiles, current: Arc<RwLock<Arc<ServerConfig>>>) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => signal,
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch SIGHUP: the TLS certificate is read at start only");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        // Read off the runtime's threads: a file that blocks must not stop the server serving.
        let reading = files.clone();
        let loaded =
            match tokio::time::timeout(RELOAD_TIMEOUT, tokio::task::spawn_blocking(move || load(&reading))).await {
                Ok(Ok(loaded)) => loaded,
                Ok(Err(_)) => Err(Error::Internal("reading the TLS files panicked".to_owned())),
                Err(_) => {
                    Err(Error::Unavailable(format!("reading the TLS files took over {} s", RELOAD_TIMEOUT.as_secs())))
                }
            };
        match loaded {
            Ok(config) => {
                if let Ok(mut slot) = current.write() {
                    *slot = config;
                }
                tracing::info!(cert = %files.cert.display(), "reloaded the TLS certificate");
            }
            Err(err) => tracing::error!(error = %err, "kept the TLS certificate in use: the new one did not load"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_regular_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("chain.pem");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let files = TlsFiles { cert: fifo.clone(), key: fifo };
        // Opening a FIFO would wait for a writer forever; it is refused before that.
        let refused = load(&files);
        assert!(matches!(&refused, Err(Error::Invalid { .. })), "{refused:?}");
    }

    #[test]
    fn a_broken_key_file_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        let secret_line = "-----BEGIN PRIVATE KEY-----c2VjcmV0LWtleS1tYXRlcmlhbA==";
        std::fs::write(&key, format!("{secret_line}\n")).unwrap();
        let refused = load(&TlsFiles { cert, key }).unwrap_err().to_string();
        // Neither as text nor as the byte list the parser's error prints.
        let as_bytes: Vec<String> = b"c2VjcmV0".iter().map(u8::to_string).collect();
        assert!(!refused.contains("c2VjcmV0") && !refused.contains(&as_bytes.join(", ")), "{refused}");
        assert!(refused.contains("not a PEM private key"), "{refused}");
    }
}
