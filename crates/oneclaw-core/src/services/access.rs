//! The one access check for vaults and secrets. Every service calls `authorize`; nothing else
//! decides who may touch a vault.
//!
//! Order: org (the store only returns the caller's org) -> the token's `vault_ids` -> owner.
//! Policies (next issue) slot in before the owner bypass.

use crate::model::Vault;
use crate::principal::Caller;
use crate::{Error, Result};

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permission {
    Read,
    Write,
    Delete,
    Rotate,
    Manage,
}

pub(crate) fn authorize(caller: &Caller, vault: &Vault, _permission: Permission) -> Result<()> {
    let principal = &caller.principal;
    if !principal.vault_ids.is_empty() && !principal.vault_ids.contains(&vault.id.0) {
        return Err(Error::Forbidden("This token is not valid for that vault".to_owned()));
    }
    if vault.created_by == principal.who {
        return Ok(());
    }
    // Not yours: answer as if it did not exist, so ids cannot be probed.
    Err(vault_not_found())
}

pub(crate) fn vault_not_found() -> Error {
    Error::NotFound("Vault not found".to_owned())
}
