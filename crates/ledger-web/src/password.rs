//! argon2id password hashing, run on the blocking pool so a sign-in never stalls the async workers.
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest and longest password accepted (characters).
pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

/// Why a new password is refused, in words for the form.
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("Use at least {MIN_CHARS} characters."));
    }
    if n > MAX_CHARS {
        return Err(format!("Use at most {MAX_CHARS} characters."));
    }
    Ok(())
}

/// argon2id (the crate's defaults: 19 MiB, 2 passes) with a fresh salt, as a PHC string.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(|e| e.to_string())?
}

fn hash_now(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks `password` against `phc`; with `None` (no such account) it checks against a throwaway hash,
/// so the answer takes as long as for a real account, and answers false.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| DUMMY.get_or_init(|| hash_now("throwaway").unwrap_or_default()).clone());
        let ok = PasswordHash::new(&phc)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

static DUMMY: OnceLock<String> = OnceLock::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("correct horse battery!".into(), Some(phc)).await);
        assert!(!verify("throwaway".into(), None).await, "the throwaway hash never signs anyone in");
    }

    #[test]
    fn length_rules() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough pass").is_ok());
        assert!(check_new(&"x".repeat(129)).is_err());
    }
}
