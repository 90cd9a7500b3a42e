//! The local secrets key of embedded mode: `secret.key` beside the private cluster's data directory.
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger_store::Keyring;
use secrecy::{ExposeSecret, SecretString};

/// Where the key lives for a given data directory: its parent, so backups of `.ledger/` hold both.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("secret.key")
}

/// Reads the key at `path`, or generates one into a new 0600 file.
pub fn read_or_create(path: &Path) -> anyhow::Result<SecretString> {
    use std::io::Write;
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SecretString::from(text.trim().to_owned())),
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

/// Opens (creating with mode 0600, and its parent directory) a file that holds a secret.
fn create_secret_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}
