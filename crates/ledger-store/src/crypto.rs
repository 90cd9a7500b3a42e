//! The secrets keyring: AES-256-GCM with the key id inside every ciphertext, one active key for writes.
//!
//! Ciphertext layout: `0x01 | id_len (1 byte) | id | nonce (12) | sealed (plaintext + 16-byte tag)`.
//! The caller's `context` (e.g. `tenant:<id>:api_key`) is bound as associated data, so a ciphertext
//! copied onto another row does not decrypt.
use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("crypto.keys is empty: configure at least one key")]
    NoKeys,
    #[error("crypto key `{0}` must be 32 bytes of base64")]
    BadKey(String),
    #[error("crypto key id `{0}` must be 1-32 characters of [A-Za-z0-9_-]")]
    BadKeyId(String),
    #[error("crypto.active_key `{0}` is not among crypto.keys")]
    UnknownActive(String),
    #[error("ciphertext was written with key `{0}`, which is not configured")]
    MissingKey(String),
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext failed authentication (wrong key or context)")]
    Authentication,
}

pub struct Keyring {
    keys: BTreeMap<String, Aes256Gcm>,
    active: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("ids", &self.keys.keys()).field("active", &self.active).finish()
    }
}

impl Keyring {
    /// Builds the keyring from `id → base64 key`; `active` names the key new ciphertexts use
    /// (default: the greatest id, so `k2` wins over `k1`).
    pub fn new(keys: &BTreeMap<String, SecretString>, active: Option<&str>) -> Result<Self, CryptoError> {
        let mut ring = BTreeMap::new();
        for (id, key) in keys {
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(CryptoError::BadKeyId(id.clone()));
            }
            let raw = B64.decode(key.expose_secret().trim()).map_err(|_| CryptoError::BadKey(id.clone()))?;
            let cipher = Aes256Gcm::new_from_slice(&raw).map_err(|_| CryptoError::BadKey(id.clone()))?;
            ring.insert(id.clone(), cipher);
        }
        let active = match active {
            Some(a) if ring.contains_key(a) => a.to_owned(),
            Some(a) => return Err(CryptoError::UnknownActive(a.to_owned())),
            None => ring.keys().next_back().cloned().ok_or(CryptoError::NoKeys)?,
        };
        Ok(Self { keys: ring, active })
    }

    /// A fresh random key in the configuration's encoding (base64 of 32 bytes).
    pub fn generate_key() -> SecretString {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        SecretString::from(B64.encode(raw))
    }

    pub fn active_id(&self) -> &str {
        &self.active
    }

    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let id = self.active.as_bytes();
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let cipher = &self.keys[&self.active];
        // AES-GCM encryption only fails for inputs beyond 64 GiB.
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(2 + id.len() + 12 + sealed.len());
        out.push(VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, blob: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = blob.split_first().ok_or(CryptoError::Malformed)?;
        let (&id_len, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
        if version != VERSION || rest.len() < id_len as usize + 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (nonce, sealed) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let id = std::str::from_utf8(id).map_err(|_| CryptoError::Malformed)?;
        let cipher = self.keys.get(id).ok_or_else(|| CryptoError::MissingKey(id.to_owned()))?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Authentication)
    }

    /// Key id a ciphertext was written with (for rotation reports).
    pub fn key_id_of(blob: &[u8]) -> Option<&str> {
        let id_len = *blob.get(1)? as usize;
        std::str::from_utf8(blob.get(2..2 + id_len)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str], active: Option<&str>) -> Keyring {
        let keys = ids.iter().map(|id| (id.to_string(), Keyring::generate_key())).collect();
        Keyring::new(&keys, active).unwrap()
    }

    #[test]
    fn round_trip_binds_context_and_key_id() {
        let r = ring(&["k1"], None);
        let c = r.encrypt(b"secret", "tenant:a:api_key");
        assert_eq!(Keyring::key_id_of(&c), Some("k1"));
        assert_eq!(r.decrypt(&c, "tenant:a:api_key").unwrap(), b"secret");
        assert_eq!(r.decrypt(&c, "tenant:b:api_key"), Err(CryptoError::Authentication));
        let mut tampered = c.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(r.decrypt(&tampered, "tenant:a:api_key"), Err(CryptoError::Authentication));
        assert_eq!(r.decrypt(&c[..10], "x"), Err(CryptoError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let k1 = Keyring::generate_key();
        let old = Keyring::new(&BTreeMap::from([("k1".to_string(), k1.clone())]), None).unwrap();
        let c = old.encrypt(b"x", "ctx");
        let both =
            Keyring::new(&BTreeMap::from([("k1".to_string(), k1), ("k2".to_string(), Keyring::generate_key())]), None)
                .unwrap();
        assert_eq!(both.active_id(), "k2");
        assert_eq!(both.decrypt(&c, "ctx").unwrap(), b"x");
        assert_eq!(Keyring::key_id_of(&both.encrypt(b"y", "ctx")), Some("k2"));
        let other = ring(&["k3"], None);
        assert_eq!(other.decrypt(&c, "ctx"), Err(CryptoError::MissingKey("k1".into())));
    }

    #[test]
    fn bad_configuration_is_named() {
        let bad = BTreeMap::from([("k1".to_string(), SecretString::from("c2hvcnQ="))]);
        assert_eq!(Keyring::new(&bad, None).unwrap_err(), CryptoError::BadKey("k1".into()));
        assert_eq!(Keyring::new(&BTreeMap::new(), None).unwrap_err(), CryptoError::NoKeys);
        let keys = BTreeMap::from([("k1".to_string(), Keyring::generate_key())]);
        assert_eq!(Keyring::new(&keys, Some("k9")).unwrap_err(), CryptoError::UnknownActive("k9".into()));
    }
}
