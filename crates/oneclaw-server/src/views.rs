//! Domain records to wire types. Optional fields that do not apply are left out, not null.

use oneclaw_core::model::{ApiKey, SecretVersion, User, Vault};
use oneclaw_core::services::{IssuedToken, RevealedSecret};
use oneclaw_types::auth::{ApiKeyResponse, TokenResponse, UserProfileResponse};
use oneclaw_types::secrets::{SecretMetadataResponse, SecretResponse};
use oneclaw_types::vaults::VaultResponse;

pub fn vault(vault: &Vault) -> VaultResponse {
    VaultResponse {
        id: vault.id.0,
        name: vault.name.clone(),
        description: vault.description.clone(),
        created_by: vault.created_by.id.to_string(),
        created_by_type: vault.created_by.kind.as_str().to_owned(),
        created_at: vault.created_at,
        cmek_enabled: false,
    }
}

/// Metadata of a version; `with_disabled` adds `is_disabled` (the versions list only).
pub fn secret_metadata(version: &SecretVersion, with_disabled: bool) -> SecretMetadataResponse {
    SecretMetadataResponse {
        id: version.secret_id.0,
        path: version.path.clone(),
        secret_type: version.secret_type.clone(),
        version: version.version,
        metadata: version.metadata.clone(),
        created_at: version.created_at,
        expires_at: version.expires_at,
        is_disabled: with_disabled.then_some(version.is_disabled || version.deleted_at.is_some()),
    }
}

pub fn secret(revealed: RevealedSecret) -> SecretResponse {
    let RevealedSecret { version, value } = revealed;
    SecretResponse {
        id: version.secret_id.0,
        path: version.path,
        secret_type: version.secret_type,
        value,
        version: version.version,
        metadata: version.metadata,
        created_by: version.created_by.prefixed(),
        created_at: version.created_at,
        expires_at: version.expires_at,
    }
}

pub fn user_profile(user: &User) -> UserProfileResponse {
    UserProfileResponse {
        id: user.id.0,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        auth_method: user.auth_method.clone(),
        role: user.role.as_str().to_owned(),
        email_verified: user.email_verified,
        marketing_emails: user.marketing_emails,
        totp_enabled: user.totp_enabled,
        created_at: user.created_at,
    }
}

pub fn api_key(key: &ApiKey) -> ApiKeyResponse {
    ApiKeyResponse {
        id: key.id.0,
        name: key.name.clone(),
        key_prefix: key.key_prefix.clone(),
        scopes: key.scopes.clone(),
        is_active: key.is_active,
        created_at: key.created_at,
        expires_at: key.expires_at,
        last_used_at: key.last_used_at,
    }
}

pub fn token(issued: IssuedToken) -> TokenResponse {
    TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token,
    }
}
