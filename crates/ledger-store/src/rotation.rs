//! Key rotation: every stored secret re-sealed under the keyring's active key, online and in small
//! batches, and a count of which keys the stored secrets use.
//!
//! Each batch locks its rows (`FOR UPDATE`), so a refresh or a pairing that rewrites a value at the same
//! time either finishes first (and the batch reads its new value) or waits for the batch; nothing is
//! rewritten from a stale read. Values stay readable throughout: the keyring reads every configured key.
use std::collections::BTreeMap;

use ledger_domain::TenantId;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use crate::crypto::Keyring;
use crate::error::StoreError;
use crate::{credentials, oauth_states, tenants};

/// One encrypted column, with the associated data its values are sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretColumn {
    TenantApiKey,
    TenantPendingApiKey,
    SageAccessToken,
    SageRefreshToken,
    OAuthPkceVerifier,
}

/// How a row's primary key is read as text and matched again from it.
struct Key {
    select: &'static str,
    matches: &'static str,
    order: &'static str,
}

fn uuid_key(select: &'static str, matches: &'static str) -> Key {
    Key { select, matches, order: select }
}

impl SecretColumn {
    pub const ALL: [Self; 5] = [
        Self::TenantApiKey,
        Self::TenantPendingApiKey,
        Self::SageAccessToken,
        Self::SageRefreshToken,
        Self::OAuthPkceVerifier,
    ];

    /// `table.column`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TenantApiKey => "tenants.api_key_enc",
            Self::TenantPendingApiKey => "tenants.pending_api_key_enc",
            Self::SageAccessToken => "binding_credentials.access_token_enc",
            Self::SageRefreshToken => "binding_credentials.refresh_token_enc",
            Self::OAuthPkceVerifier => "oauth_states.pkce_verifier_enc",
        }
    }

    fn table_and_column(self) -> (&'static str, &'static str) {
        let (table, column) = self.name().split_once('.').unwrap_or_default();
        (table, column)
    }

    fn key(self) -> Key {
        match self {
            Self::TenantApiKey | Self::TenantPendingApiKey => uuid_key("id::text", "id = $2::uuid"),
            Self::SageAccessToken | Self::SageRefreshToken => uuid_key("binding_id::text", "binding_id = $2::uuid"),
            Self::OAuthPkceVerifier => Key {
                select: "encode(state_hash, 'hex')",
                matches: "state_hash = decode($2, 'hex')",
                order: "state_hash",
            },
        }
    }

    /// The associated data of the value on the row whose key reads `key`.
    fn context(self, key: &str) -> Result<String, StoreError> {
        let uuid = || Uuid::parse_str(key).map_err(|_| StoreError::Corrupt("secret row key"));
        Ok(match self {
            Self::TenantApiKey | Self::TenantPendingApiKey => tenants::context(TenantId(uuid()?)),
            Self::SageAccessToken => credentials::context(uuid()?, "access_token"),
            Self::SageRefreshToken => credentials::context(uuid()?, "refresh_token"),
            Self::OAuthPkceVerifier => {
                oauth_states::context(&hex::decode(key).map_err(|_| StoreError::Corrupt("oauth state hash"))?)
            }
        })
    }
}

/// How many stored values each key seals, per column (`column → key id → count`).
pub type KeyUsage = BTreeMap<&'static str, BTreeMap<String, i64>>;

/// Counts the stored secrets by the key that sealed them.
pub async fn usage(pool: &PgPool) -> Result<KeyUsage, StoreError> {
    let mut out = KeyUsage::new();
    for col in SecretColumn::ALL {
        let (table, column) = col.table_and_column();
        // Table and column names come from `SecretColumn`, never from input.
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT ledger_secret_key_id({column}), count(*) FROM {table} WHERE {column} IS NOT NULL GROUP BY 1"
        )))
        .fetch_all(pool)
        .await?;
        out.insert(col.name(), rows.into_iter().map(|(id, n)| (id.unwrap_or_else(|| "?".into()), n)).collect());
    }
    Ok(out)
}

/// What one rotation did.
#[derive(Debug, Default, Serialize)]
pub struct Rotation {
    /// The key every value now uses.
    pub active_key: String,
    /// Values re-sealed, per column.
    pub resealed: BTreeMap<&'static str, u64>,
}

impl Rotation {
    pub fn total(&self) -> u64 {
        self.resealed.values().sum()
    }
}

/// Re-seals every stored secret that another key sealed under the keyring's active key, `batch` rows
/// per transaction; `progress` hears each batch (column, rows in it). A value sealed by a key that is no
/// longer configured stops the rotation with `CryptoError::MissingKey`: put the key back, rotate, then
/// remove it.
pub async fn rotate(
    pool: &PgPool,
    keyring: &Keyring,
    batch: u32,
    mut progress: impl FnMut(SecretColumn, u64),
) -> Result<Rotation, StoreError> {
    let active = keyring.active_id().to_owned();
    let mut report = Rotation { active_key: active.clone(), resealed: BTreeMap::new() };
    for col in SecretColumn::ALL {
        let (table, column) = col.table_and_column();
        let key = col.key();
        // Names come from `SecretColumn`, values are bound.
        let select = format!(
            "SELECT {sel}, {column} FROM {table}
              WHERE {column} IS NOT NULL AND ledger_secret_key_id({column}) IS DISTINCT FROM $1
              ORDER BY {order} LIMIT $2 FOR UPDATE",
            sel = key.select,
            order = key.order,
        );
        let update = format!("UPDATE {table} SET {column} = $1 WHERE {}", key.matches);
        let mut done = 0u64;
        loop {
            let mut tx = pool.begin().await?;
            let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(select.as_str()))
                .bind(&active)
                .bind(i64::from(batch.max(1)))
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len() as u64;
            for (row_key, blob) in rows {
                let context = col.context(&row_key)?;
                let plain = keyring.decrypt(&blob, &context)?;
                let sealed = keyring.encrypt(&plain, &context);
                sqlx::query(AssertSqlSafe(update.as_str())).bind(sealed).bind(&row_key).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            done += n;
            progress(col, n);
        }
        report.resealed.insert(col.name(), done);
    }
    Ok(report)
}
