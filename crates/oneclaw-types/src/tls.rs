//! The process's TLS provider, installed in one place. reqwest speaks TLS through rustls built
//! without a provider of its own (no aws-lc C build), so ring must be the process's provider
//! before the first HTTPS client is built. Every place that builds one calls this first.

/// Makes ring the process's rustls provider. Idempotent: a second install is refused, harmlessly.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
