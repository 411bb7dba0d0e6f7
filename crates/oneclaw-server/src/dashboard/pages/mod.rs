//! One module per page (and `common` for what they share).

pub mod account;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod billing;
pub mod bindings;
pub(crate) mod common;
pub mod device;
pub mod environment;
pub mod google;
pub mod home;
pub mod keys;
pub mod security;
pub mod sharing;
pub mod signin;
pub mod team;
mod vault_tree;
pub mod vaults;
