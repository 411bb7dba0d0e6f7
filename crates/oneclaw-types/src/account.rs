//! Answers of the account routes: email confirmation and change, password reset, the second
//! factor, and sign-in when it may stop at a second-factor challenge.

use crate::SecretString;
use serde::{Deserialize, Serialize};

/// An answer that is only a sentence for the person (`reset-password`, `set-password`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResponse {
    pub message: String,
}

/// `POST /v1/auth/forgot-password`: always the same, whatever the address (`email_sent`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForgotPasswordResponse {
    pub message: String,
    pub status: String,
}

/// `POST /v1/auth/change-email`: a code went to the new address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailChangeStartedResponse {
    pub message: String,
    pub new_email: String,
    pub expires_in_seconds: i64,
}

/// `POST /v1/auth/verify-email-change`: the address now in use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailChangedResponse {
    pub message: String,
    pub email: String,
}

/// A sign-in (`/v1/auth/token`, `/v1/auth/google`): the tokens, or, for an account with a
/// second factor, `mfa_required` and the `mfa_token` to finish at `/v1/auth/mfa/verify`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<SecretString>,
}

/// `POST /v1/auth/verify-email`: with the password, a sign-in (`LoginResponse`); with the
/// account's session, the address confirmed (`message`, `email_verified`) and no new token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyEmailResponse {
    #[serde(flatten)]
    pub sign_in: LoginResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl LoginResponse {
    /// The second-factor challenge.
    pub fn mfa_challenge(mfa_token: SecretString) -> Self {
        Self { mfa_required: Some(true), mfa_token: Some(mfa_token), ..Self::default() }
    }

    /// Signed in.
    pub fn signed_in(token: crate::auth::TokenResponse) -> Self {
        Self {
            access_token: Some(token.access_token),
            token_type: Some(token.token_type),
            expires_in: Some(token.expires_in),
            refresh_token: token.refresh_token,
            ..Self::default()
        }
    }
}

/// `GET /v1/auth/mfa/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaStatusResponse {
    pub enabled: bool,
}

/// `POST /v1/auth/mfa/setup`: the TOTP secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaSetupResponse {
    pub otpauth_uri: SecretString,
    pub secret: SecretString,
}

/// `POST /v1/auth/mfa/verify-setup`: the recovery codes, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaVerifySetupResponse {
    pub recovery_codes: Vec<SecretString>,
}
