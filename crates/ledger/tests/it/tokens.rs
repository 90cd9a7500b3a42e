//! Hand-made tokens for the rejection tests: signed with any header and claims, the way an attacker or
//! a buggy client could, which a JWT library would refuse to produce.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use test_support::TestTenant;

pub fn raw(header: &str, claims: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac key");
    mac.update(input.as_bytes());
    format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
}

pub const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Claims for `tenant` with raw JSON values for the times, so floats and strings can be tested.
pub fn claims(tenant: &TestTenant, iat: &str, nbf: &str, exp: &str, jti: &str) -> String {
    format!(
        r#"{{"iss":"magento","sub":"{}","aud":"byte8-ledger","iat":{iat},"nbf":{nbf},"exp":{exp},"jti":"{jti}"}}"#,
        tenant.id
    )
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
