//! The oneclaw domain: who may do what to which vault and secret, and what gets recorded.
//!
//! This crate owns the rules. It defines the ports it needs as traits (`Store`, `KeyProvider`,
//! `SecretCipher`, `TokenSigner`, `CredentialHasher`, `Clock`) and never imports a web framework,
//! a database driver or an HSM library: the server crate composes concrete implementations.

pub mod approvals;
pub mod audit;
pub mod billing;
pub mod clock;
pub mod env_vars;
pub mod error;
pub mod ids;
pub mod intents;
pub mod mail;
pub mod model;
pub mod path;
pub mod policy;
pub mod ports;
pub mod principal;
pub mod revocation;
pub mod services;
pub mod system;
pub mod tokens;
pub mod webhooks;

#[cfg(test)]
mod fuzz_tests;

pub use error::{Error, Result};
pub use services::{Core, CoreSettings, Deps};
