//! HS256 JWTs both ways (spec §2.2–2.3): verify what Magento sends, mint what Magento verifies.
//!
//! jsonwebtoken checks the signature, `alg` and the presence and values of `iss`, `aud` and `sub`; the
//! time rules (integer claims, `0 < exp − iat ≤ 300`, `iat` and `nbf` not in the future, `exp` not past)
//! are checked here by hand with checked arithmetic against a clock that is always passed in, so the
//! spec's test vector is verified at its own time.
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::Value;

/// The longest lifetime (`exp − iat`) either side accepts.
pub const MAX_TTL_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm must be HS256")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("claim `{0}` is missing or not an integer")]
    Claim(&'static str),
    #[error("wrong issuer or audience")]
    IssuerAudience,
    #[error("token subject does not match the tenant")]
    Subject,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token lifetime (exp − iat) must be 1 to 300 seconds")]
    Lifetime,
    #[error("token has no jti")]
    NoJti,
}

/// What the ledger keeps of a verified Magento token: enough to enforce single use of `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundClaims {
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Verifies a token minted by Magento for `tenant` (its `sub`) at unix time `now`, allowing `skew`
/// seconds of clock difference.
pub fn verify_outbound(
    token: &str,
    key: &[u8; 32],
    tenant: &str,
    now: i64,
    skew: i64,
) -> Result<OutboundClaims, JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
    if header.alg != Algorithm::HS256 {
        return Err(JwtError::Algorithm);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    // Time claims are checked below against the injected clock; jsonwebtoken would read the system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // Only present claims are compared, so their presence is required explicitly.
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    validation.set_issuer(&["magento"]);
    validation.set_audience(&["byte8-ledger"]);
    validation.sub = Some(tenant.to_owned());
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(key), &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => JwtError::Signature,
            K::InvalidAlgorithm | K::InvalidAlgorithmName => JwtError::Algorithm,
            K::InvalidIssuer | K::InvalidAudience => JwtError::IssuerAudience,
            K::InvalidSubject => JwtError::Subject,
            K::MissingRequiredClaim(c) if c == "sub" => JwtError::Subject,
            K::MissingRequiredClaim(_) => JwtError::IssuerAudience,
            _ => JwtError::Malformed,
        }
    })?;
    let claims = data.claims;
    let int = |name: &'static str| -> Result<i64, JwtError> {
        match claims.get(name) {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.as_i64().ok_or(JwtError::Claim(name)),
            _ => Err(JwtError::Claim(name)),
        }
    };
    let iat = int("iat")?;
    let nbf = int("nbf")?;
    let exp = int("exp")?;
    // Claims are attacker-chosen integers: no arithmetic on them may wrap. Together with `exp` not
    // being past, a lifetime of at most 300 s keeps `iat` within 300 s + skew of now.
    if !exp.checked_sub(iat).is_some_and(|ttl| (1..=MAX_TTL_SECS).contains(&ttl)) {
        return Err(JwtError::Lifetime);
    }
    if exp.saturating_add(skew) <= now {
        return Err(JwtError::Expired);
    }
    if nbf.saturating_sub(skew) > now || iat.saturating_sub(skew) > now {
        return Err(JwtError::NotYetValid);
    }
    let jti = match claims.get("jti") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => s.clone(),
        _ => return Err(JwtError::NoJti),
    };
    Ok(OutboundClaims { jti, iat, exp })
}

/// What can be read from a token before verifying it: only to pick the key to verify with, and to
/// judge whether a cached key can be older than the token. Never trusted otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedClaims {
    pub sub: Option<String>,
    pub iat: Option<i64>,
}

/// Reads `sub` and `iat` without checking the signature (`None` for a token that is not even JWS).
pub fn peek(token: &str) -> Option<UnverifiedClaims> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    Some(UnverifiedClaims {
        sub: value.get("sub").and_then(Value::as_str).map(str::to_owned),
        iat: value.get("iat").and_then(Value::as_i64),
    })
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
}

fn sign(claims: &Claims<'_>, key: &[u8; 32]) -> String {
    // HS256 with a 32-byte key over a plain struct cannot fail to encode.
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(key)).unwrap_or_default()
}

/// A fresh token for one request to Magento. Magento allows no skew on `nbf`, so it is back-dated a
/// minute; `exp − iat` stays at 240 s, under Magento's 300 s limit.
pub fn mint_inbound(key: &[u8; 32], tenant: &str, now: i64) -> String {
    let jti = uuid::Uuid::new_v4().to_string();
    sign(
        &Claims {
            iss: "byte8-ledger",
            sub: tenant,
            aud: "magento",
            iat: now,
            nbf: now - 60,
            exp: now + 240,
            jti: &jti,
        },
        key,
    )
}

/// A token as the Magento module mints it (for the load generator and tests).
pub fn mint_outbound(key: &[u8; 32], tenant: &str, now: i64, jti: &str) -> String {
    sign(&Claims { iss: "magento", sub: tenant, aud: "byte8-ledger", iat: now, nbf: now, exp: now + 60, jti }, key)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;
    use crate::keys::TenantKeys;

    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJtYWdlbnRvIiwic3ViIjoiMTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1IiwiYXVkIjoiYnl0ZTgtbGVkZ2VyIiwiaWF0IjoxNzY3MjI1NjAwLCJuYmYiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNTY2MCwianRpIjoiMGY4ZmFkNWItZDljYi00NjlmLWExNjUtNzA4Njc3Mjg5NTBlIn0.61TdFbOSWhQcNcLzSJppqshAsDk51iROzAYUfFrBYZg";
    const ISSUED: i64 = 1_767_225_600;

    fn keys() -> TenantKeys {
        TenantKeys::derive("byte8_lk_example_master_key")
    }

    /// Signs arbitrary header and claims JSON by hand, to build tokens jsonwebtoken would refuse to make.
    fn raw(header: &str, claims: &str, key: &[u8]) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn claims(iat: &str, nbf: &str, exp: &str) -> String {
        format!(
            r#"{{"iss":"magento","sub":"{TENANT}","aud":"byte8-ledger","iat":{iat},"nbf":{nbf},"exp":{exp},"jti":"j1"}}"#
        )
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn spec_vector_verifies_at_its_own_time() {
        let c = verify_outbound(VECTOR, &keys().outbound, TENANT, ISSUED + 10, 5).unwrap();
        assert_eq!(c.jti, "0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!((c.iat, c.exp), (ISSUED, ISSUED + 60));
        // Same bytes, hand-signed: our raw signer agrees with the vector.
        let parts: Vec<&str> = VECTOR.split('.').collect();
        let header = String::from_utf8(B64.decode(parts[0]).unwrap()).unwrap();
        let body = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(raw(&header, &body, &keys().outbound), VECTOR);
    }

    #[test]
    fn spec_vector_rejected_outside_its_window() {
        let k = keys().outbound;
        assert_eq!(verify_outbound(VECTOR, &k, TENANT, ISSUED + 66, 5), Err(JwtError::Expired));
        assert_eq!(verify_outbound(VECTOR, &k, TENANT, ISSUED - 6, 5), Err(JwtError::NotYetValid));
        assert!(verify_outbound(VECTOR, &k, TENANT, ISSUED - 4, 5).is_ok());
        assert_eq!(
            verify_outbound(VECTOR, &k, "22222222-2222-3333-4444-555555555555", ISSUED, 5),
            Err(JwtError::Subject)
        );
        assert_eq!(verify_outbound(VECTOR, &keys().inbound, TENANT, ISSUED, 5), Err(JwtError::Signature));
    }

    #[test]
    fn rejects_forged_and_odd_tokens() {
        let k = keys().outbound;
        let ok = claims("1767225600", "1767225600", "1767225660");
        assert!(verify_outbound(&raw(HS256, &ok, &k), &k, TENANT, ISSUED, 5).is_ok());
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), B64.encode(&ok));
        assert!(matches!(
            verify_outbound(&none, &k, TENANT, ISSUED, 5),
            Err(JwtError::Malformed | JwtError::Algorithm)
        ));
        for alg in ["HS512", "RS256", "HS384"] {
            let t = raw(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), &ok, &k);
            assert_eq!(verify_outbound(&t, &k, TENANT, ISSUED, 5), Err(JwtError::Algorithm), "{alg}");
        }
        let float = claims("1767225600", "1767225600", "1767225660.0");
        assert_eq!(verify_outbound(&raw(HS256, &float, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Claim("exp")));
        let string = claims("\"1767225600\"", "1767225600", "1767225660");
        assert_eq!(verify_outbound(&raw(HS256, &string, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Claim("iat")));
        let long = claims("1767225600", "1767225600", "1767225901");
        assert_eq!(verify_outbound(&raw(HS256, &long, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Lifetime));
        let future_nbf = claims("1767225600", "1767229200", "1767225660");
        assert_eq!(verify_outbound(&raw(HS256, &future_nbf, &k), &k, TENANT, ISSUED, 5), Err(JwtError::NotYetValid));
        let wrong_aud = ok.replace("byte8-ledger", "magento");
        assert_eq!(verify_outbound(&raw(HS256, &wrong_aud, &k), &k, TENANT, ISSUED, 5), Err(JwtError::IssuerAudience));
        let no_jti = ok.replace(r#","jti":"j1""#, "");
        assert_eq!(verify_outbound(&raw(HS256, &no_jti, &k), &k, TENANT, ISSUED, 5), Err(JwtError::NoJti));
        assert_eq!(verify_outbound("not a token", &k, TENANT, ISSUED, 5), Err(JwtError::Malformed));
    }

    #[test]
    fn tokens_without_iss_aud_or_sub_are_refused() {
        let k = keys().outbound;
        let ok = claims("1767225600", "1767225600", "1767225660");
        let sub = format!(r#""sub":"{TENANT}","#);
        for (claim, cut, expected) in [
            ("iss", r#""iss":"magento","#, JwtError::IssuerAudience),
            ("aud", r#""aud":"byte8-ledger","#, JwtError::IssuerAudience),
            ("sub", sub.as_str(), JwtError::Subject),
        ] {
            let without = ok.replace(cut, "");
            assert!(!without.contains(&format!("\"{claim}\"")), "{claim} removed");
            assert_eq!(verify_outbound(&raw(HS256, &without, &k), &k, TENANT, ISSUED, 5), Err(expected), "no {claim}");
        }
    }

    #[test]
    fn time_claims_cannot_overflow_or_run_backwards() {
        let k = keys().outbound;
        let min = i64::MIN.to_string();
        let max = i64::MAX.to_string();
        let exp = (ISSUED + 60).to_string();
        let issued = ISSUED.to_string();
        // exp − iat would wrap to a negative lifetime and pass a plain `> 300` check.
        let wrapped = claims(&min, &issued, &exp);
        assert_eq!(verify_outbound(&raw(HS256, &wrapped, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Lifetime));
        let far_exp = claims(&issued, &issued, &max);
        assert_eq!(verify_outbound(&raw(HS256, &far_exp, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Lifetime));
        let nbf_min = claims(&issued, &min, &exp);
        assert!(verify_outbound(&raw(HS256, &nbf_min, &k), &k, TENANT, ISSUED, 5).is_ok(), "nbf far past is fine");
        // exp before iat: a token that expired before it was issued, still inside the skew.
        let backwards = claims(&(ISSUED + 5).to_string(), &issued, &(ISSUED + 1).to_string());
        assert_eq!(verify_outbound(&raw(HS256, &backwards, &k), &k, TENANT, ISSUED, 5), Err(JwtError::Lifetime));
        // At the edges of i64 the clock itself cannot make the checks wrap either.
        let c = claims(&issued, &issued, &exp);
        assert_eq!(verify_outbound(&raw(HS256, &c, &k), &k, TENANT, i64::MAX, 5), Err(JwtError::Expired));
        assert_eq!(verify_outbound(&raw(HS256, &c, &k), &k, TENANT, i64::MIN, 5), Err(JwtError::NotYetValid));
    }

    #[test]
    fn peek_reads_sub_and_iat_without_verifying() {
        let p = peek(VECTOR).unwrap();
        assert_eq!(p.sub.as_deref(), Some(TENANT));
        assert_eq!(p.iat, Some(ISSUED));
        assert_eq!(peek("nope"), None);
    }

    #[test]
    fn minted_tokens_have_the_promised_shape() {
        let k = keys();
        let t = mint_inbound(&k.inbound, TENANT, ISSUED);
        let parts: Vec<&str> = t.split('.').collect();
        let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
        let c: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(c["iss"], "byte8-ledger");
        assert_eq!(c["aud"], "magento");
        assert_eq!(c["sub"], TENANT);
        assert_eq!(c["nbf"].as_i64().unwrap(), ISSUED - 60);
        assert!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() <= MAX_TTL_SECS);
        assert!(c["iat"].is_i64() && c["exp"].is_i64());
        assert_ne!(mint_inbound(&k.inbound, TENANT, ISSUED), t, "every token gets a fresh jti");
        let out = mint_outbound(&k.outbound, TENANT, ISSUED, "x");
        assert!(verify_outbound(&out, &k.outbound, TENANT, ISSUED, 5).is_ok());
    }
}
