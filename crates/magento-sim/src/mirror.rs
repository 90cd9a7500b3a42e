//! The mirror table `byte8_entity_sync_state`: enqueue write-through and the sync-state callback.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::wire::mysql;

/// Entity types the mirror knows.
pub const ENTITY_TYPES: [&str; 4] = ["invoice", "creditmemo", "customer", "product"];
/// Terminal statuses the ledger may report.
pub const CALLBACK_STATUSES: [&str; 3] = ["synced", "skipped", "failed"];

/// One mirror row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorRow {
    pub entity_id: u64,
    pub entity_type: String,
    pub magento_id: u64,
    pub provider: String,
    pub sync_status: String,
    pub provider_entity_id: Option<String>,
    pub provider_reference: Option<String>,
    pub skip_reason: Option<String>,
    pub error_code: Option<String>,
    /// As MySQL reads it back: `YYYY-MM-DD HH:MM:SS` (UTC).
    pub last_sync_at: String,
}

/// Why a sync-state callback was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncStateError {
    /// 400, Magento's generic "required" error for an absent field.
    #[error("\"{0}\" is required. Enter and try again.")]
    Required(&'static str),
    /// 400 with a message.
    #[error("{0}")]
    Invalid(String),
    /// 500: the database refused the row.
    #[error("Could not upsert sync state.")]
    Database,
}

/// The table.
#[derive(Debug, Clone, Default)]
pub struct Mirror {
    rows: Vec<MirrorRow>,
    index: HashMap<(String, u64, String), usize>,
}

fn text<'a>(body: &'a Map<String, Value>, key: &'static str) -> Result<Option<&'a str>, SyncStateError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SyncStateError::Invalid(format!("{key} must be a string."))),
    }
}

fn limited(body: &Map<String, Value>, key: &'static str, max: usize) -> Result<Option<String>, SyncStateError> {
    match text(body, key)? {
        Some(s) if s.chars().count() > max => {
            Err(SyncStateError::Invalid(format!("{key} must be at most {max} characters.")))
        }
        Some(s) => Ok(Some(s.to_owned())),
        None => Ok(None),
    }
}

/// Parses a `last_sync_at` the way a MySQL TIMESTAMP column would take it. `strict` refuses
/// the `T…Z` form (spec open question 4).
fn parse_timestamp(s: &str, strict: bool) -> Option<DateTime<Utc>> {
    let plain = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok();
    if strict {
        return plain.map(|n| n.and_utc());
    }
    plain
        .map(|n| n.and_utc())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc)))
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok().map(|n| n.and_utc()))
}

impl Mirror {
    /// Writer 1: a pending row if none exists; otherwise only `last_sync_at` moves.
    pub fn write_through(&mut self, entity_type: &str, magento_id: u64, provider: &str, now: DateTime<Utc>) {
        let key = (entity_type.to_owned(), magento_id, provider.to_owned());
        if let Some(&i) = self.index.get(&key) {
            if let Some(r) = self.rows.get_mut(i) {
                r.last_sync_at = mysql(now);
            }
            return;
        }
        self.insert(MirrorRow {
            entity_id: 0,
            entity_type: entity_type.to_owned(),
            magento_id,
            provider: provider.to_owned(),
            sync_status: "pending".to_owned(),
            provider_entity_id: None,
            provider_reference: None,
            skip_reason: None,
            error_code: None,
            last_sync_at: mysql(now),
        });
    }

    fn insert(&mut self, mut row: MirrorRow) {
        let key = (row.entity_type.clone(), row.magento_id, row.provider.clone());
        if let Some(&i) = self.index.get(&key)
            && let Some(slot) = self.rows.get_mut(i)
        {
            row.entity_id = slot.entity_id;
            *slot = row;
            return;
        }
        row.entity_id = self.rows.len() as u64 + 1;
        self.rows.push(row);
        self.index.insert(key, self.rows.len() - 1);
    }

    /// Writer 2: validates a sync-state callback body and upserts it (every column overwritten).
    pub fn callback(&mut self, body: &Value, now: DateTime<Utc>, strict_ts: bool) -> Result<MirrorRow, SyncStateError> {
        let Some(body) = body.as_object() else {
            return Err(SyncStateError::Invalid("Request body must be a JSON object.".into()));
        };
        let entity_type = text(body, "entity_type")?.ok_or(SyncStateError::Required("entity_type"))?;
        if !ENTITY_TYPES.contains(&entity_type) {
            return Err(SyncStateError::Invalid(format!(
                "Invalid entity_type \"{entity_type}\"; expected one of invoice, creditmemo, customer, product."
            )));
        }
        let magento_id = match body.get("magento_entity_id") {
            None | Some(Value::Null) => return Err(SyncStateError::Required("magento_entity_id")),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n > 0)
                .ok_or_else(|| SyncStateError::Invalid("magento_entity_id must be a positive integer.".into()))?,
        };
        let provider = text(body, "provider")?.ok_or(SyncStateError::Required("provider"))?;
        if provider.is_empty() || provider.chars().count() > 32 {
            return Err(SyncStateError::Invalid("provider must be 1 to 32 characters.".into()));
        }
        let status = text(body, "sync_status")?.ok_or(SyncStateError::Required("sync_status"))?;
        if !CALLBACK_STATUSES.contains(&status) {
            return Err(SyncStateError::Invalid(format!(
                "Invalid sync_status \"{status}\"; expected one of synced, skipped, failed."
            )));
        }
        let last_sync_at = match text(body, "last_sync_at")? {
            None | Some("") => mysql(now),
            Some(s) => mysql(parse_timestamp(s, strict_ts).ok_or(SyncStateError::Database)?),
        };
        let row = MirrorRow {
            entity_id: 0,
            entity_type: entity_type.to_owned(),
            magento_id,
            provider: provider.to_owned(),
            sync_status: status.to_owned(),
            provider_entity_id: limited(body, "provider_entity_id", 64)?,
            provider_reference: limited(body, "provider_reference", 64)?,
            skip_reason: limited(body, "skip_reason", 64)?,
            error_code: limited(body, "error_code", 64)?,
            last_sync_at,
        };
        self.insert(row.clone());
        let key = (row.entity_type.clone(), row.magento_id, row.provider.clone());
        Ok(self.index.get(&key).and_then(|&i| self.rows.get(i)).cloned().unwrap_or(row))
    }

    /// All rows in insertion order.
    pub fn rows(&self) -> &[MirrorRow] {
        &self.rows
    }
}
