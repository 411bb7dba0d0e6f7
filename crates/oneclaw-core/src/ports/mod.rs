//! The ports: what the domain needs from the outside world, as traits.

pub mod credentials;
pub mod intents;
pub mod keys;
pub mod payment;
pub mod store;

pub use credentials::{CredentialHasher, TokenSigner, VerifyingKeyInfo};
pub use intents::{HttpAnswer, HttpCall, IntentRunner, PgTls, RunFailure, SqlAnswer, SqlCall};
pub use keys::{DataKey, KekRef, KeyHealth, KeyOperations, KeyProvider, SecretCipher, ValueBinding};
pub use payment::{Charge, CountTicket, Paid, PendingPayment, SettledPayment};
pub use store::{
    AuditJournal, AuditQuery, BatchStats, LeaseRule, LeasedPlaces, MfaState, PoolUse, RequestCount, RequestCounter,
    SecretRead, Store, StoreTx, VaultKeyRecord, WrappedDekRow, append_audit_batch_in_tx,
};
