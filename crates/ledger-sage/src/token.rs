//! The token endpoint's answer (spec §1.4). Lifetimes are read from each response, never assumed.
use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: SecretString,
    pub refresh_token_expires_in: u64,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub requested_by_id: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
