//! The local secrets key of embedded mode: `secret.key` beside the private cluster's data directory.
//! A key file that others could read is refused, not used: whoever reads it decrypts every stored secret.
use std::fs::{File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger_store::Keyring;
use secrecy::{ExposeSecret, SecretString};

/// Where the key lives for a given data directory: its parent, so backups of `.ledger/` hold both.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("secret.key")
}

/// Reads the key at `path` (refusing one readable or writable by group or others), or generates one
/// into a new 0600 file.
pub fn read_or_create(path: &Path) -> anyhow::Result<SecretString> {
    use std::io::Write;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            check_private(path)?;
            Ok(SecretString::from(text.trim().to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keyring::generate_key();
            match create_secret_file(path) {
                Ok(mut file) => {
                    file.write_all(key.expose_secret().as_bytes())?;
                    file.sync_all()?;
                    tracing::info!(path = %path.display(), "generated the local secrets key");
                    Ok(key)
                }
                // Another process created it first.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Ok(SecretString::from(std::fs::read_to_string(path)?.trim().to_owned()))
                }
                Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn check_private(path: &Path) -> anyhow::Result<()> {
    let mode = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{} has mode {:04o}: the secrets key must be readable by its owner only. \
             Run `chmod 600 {}` (and check who could have copied it) before starting again",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
    Ok(())
}

/// Opens (creating with mode 0600, and its parent directory) a file that holds a secret.
fn create_secret_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ledger-keyfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_generated_key_is_private_and_read_back() {
        let dir = temp_dir("new");
        let file = dir.join("secret.key");
        let key = read_or_create(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_or_create(&file).unwrap().expose_secret(), key.expose_secret());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_key_others_can_read_is_refused() {
        let dir = temp_dir("loose");
        let file = dir.join("secret.key");
        read_or_create(&file).unwrap();
        for mode in [0o644, 0o640, 0o606] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_or_create(&file).unwrap_err().to_string();
            assert!(err.contains(&format!("{mode:04o}")) && err.contains("chmod 600"), "{err}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_or_create(&file).is_ok(), "owner-only read is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
