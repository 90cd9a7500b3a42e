//! HKDF subkeys and the HS256 JWTs of both directions, written by hand to match the module exactly.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

/// HKDF info of the Magento → ledger key.
pub const OUTBOUND_INFO: &str = "byte8-magento-outbound-v1";
/// HKDF info of the ledger → Magento key.
pub const INBOUND_INFO: &str = "byte8-magento-inbound-v1";
/// Issuer Magento puts on its own tokens, and the audience it requires on the ledger's.
pub const MAGENTO: &str = "magento";
/// Issuer the module requires on inbound tokens, and the audience of its outbound ones.
pub const LEDGER: &str = "byte8-ledger";
/// Lifetime of a token Magento mints.
pub const OUTBOUND_TTL_S: i64 = 60;
/// How far in the future `iat` may be.
pub const IAT_SKEW_S: i64 = 30;
/// Largest `exp - iat` accepted.
pub const MAX_TTL_S: i64 = 300;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// base64url that accepts both padded and unpadded input, as PHP's decoder does.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an inbound token was refused (logged, never sent: Magento answers a bare 401).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("token is not three base64url segments")]
    Malformed,
    #[error("header must be alg=HS256 and typ=JWT")]
    BadHeader,
    #[error("signature mismatch")]
    BadSignature,
    #[error("claims are not a JSON object")]
    BadClaims,
    #[error("claim {0} is wrong")]
    Claim(&'static str),
    #[error("claim {0} must be a JSON integer")]
    NotInteger(&'static str),
    #[error("token not yet valid (nbf)")]
    NotYetValid,
    #[error("token issued in the future (iat)")]
    IssuedInFuture,
    #[error("token expired")]
    Expired,
    #[error("token lifetime exceeds {MAX_TTL_S} s")]
    TooLong,
    #[error("jti already used")]
    Replayed,
    #[error("no token")]
    Missing,
    #[error("store is not paired")]
    NotPaired,
}

/// HKDF-SHA256 (empty salt) of the raw api_key bytes, 32 bytes out.
pub fn derive_key(api_key: &str, info: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(None, api_key.as_bytes());
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    if hk.expand(info.as_bytes(), &mut okm).is_err() {
        okm = [0u8; 32];
    }
    okm
}

/// HMAC-SHA256 keyed with a 32-byte subkey. HMAC zero-pads keys shorter than the 64-byte block,
/// so padding here and using the infallible fixed-size constructor gives the identical MAC.
fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// Claims Magento puts on its tokens, serialised in the module's order.
#[derive(Debug, Clone, Serialize)]
pub struct OutboundClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: &'a str,
}

/// Signs `claims_json` with `key` as `header.payload.signature`.
pub fn sign_raw(claims_json: &str, key: &[u8; 32]) -> String {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(claims_json));
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    let sig = m.finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The token Magento sends with every outbound call: iss magento, aud byte8-ledger,
/// iat = nbf = `now`, exp = now + 60.
pub fn mint_outbound(api_key: &str, tenant_id: &str, now: i64, jti: &str) -> String {
    let claims = OutboundClaims {
        iss: MAGENTO,
        sub: tenant_id,
        aud: LEDGER,
        iat: now,
        nbf: now,
        exp: now + OUTBOUND_TTL_S,
        jti,
    };
    let json = serde_json::to_string(&claims).unwrap_or_default();
    sign_raw(&json, &derive_key(api_key, OUTBOUND_INFO))
}

/// What a verified inbound token leaves behind for the replay cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub jti: String,
    pub exp: i64,
}

fn int_claim(claims: &serde_json::Map<String, Value>, name: &'static str) -> Result<i64, JwtError> {
    match claims.get(name) {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().ok_or(JwtError::NotInteger(name)),
        _ => Err(JwtError::NotInteger(name)),
    }
}

fn str_claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &'static str) -> Result<&'a str, JwtError> {
    claims.get(name).and_then(Value::as_str).ok_or(JwtError::Claim(name))
}

/// Verifies a ledger → Magento token the way the module does (replay is checked by the caller).
pub fn verify_inbound(token: &str, api_key: &str, tenant_id: &str, now: i64) -> Result<Verified, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let header: Value =
        LENIENT.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256")
        || header.get("typ").and_then(Value::as_str) != Some("JWT")
    {
        return Err(JwtError::BadHeader);
    }
    let sig = LENIENT.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut m = mac(&derive_key(api_key, INBOUND_INFO));
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    // `verify_slice` compares in constant time.
    m.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;

    let claims: serde_json::Map<String, Value> =
        LENIENT.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::BadClaims)?;
    if str_claim(&claims, "iss")? != LEDGER {
        return Err(JwtError::Claim("iss"));
    }
    if str_claim(&claims, "aud")? != MAGENTO {
        return Err(JwtError::Claim("aud"));
    }
    if str_claim(&claims, "sub")? != tenant_id {
        return Err(JwtError::Claim("sub"));
    }
    let iat = int_claim(&claims, "iat")?;
    let nbf = int_claim(&claims, "nbf")?;
    let exp = int_claim(&claims, "exp")?;
    if nbf > now {
        return Err(JwtError::NotYetValid);
    }
    if iat > now + IAT_SKEW_S {
        return Err(JwtError::IssuedInFuture);
    }
    if exp <= now {
        return Err(JwtError::Expired);
    }
    if exp - iat > MAX_TTL_S {
        return Err(JwtError::TooLong);
    }
    let jti = str_claim(&claims, "jti")?;
    if jti.is_empty() {
        return Err(JwtError::Claim("jti"));
    }
    Ok(Verified { jti: jti.to_owned(), exp })
}

/// Extracts the token from an `Authorization` value (`Bearer ` prefix, any case).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| rest.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;
