//! Collection envelope, paging, `attributes` projection and the shared date filters.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use crate::config::{OverMaxPage, SimConfig};
use crate::error::{ApiError, ApiResult};
use crate::model::Meta;

pub const MAX_PER_PAGE: usize = 200;
const DEFAULT_PER_PAGE: usize = 20;

/// The query string of a list request, order kept so `$next` can echo it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        Self { pairs }
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }
    fn usize_param(&self, key: &str, default: usize) -> ApiResult<usize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ApiError::invalid(key, "is not a number")),
        }
    }
    /// Parse an optional date parameter (`from_date`, `to_date`).
    pub fn date(&self, key: &str) -> ApiResult<Option<NaiveDate>> {
        self.get(key)
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ApiError::invalid(key, "is not a valid date"))
            })
            .transpose()
    }
    /// Parse an optional timestamp parameter (`updated_or_created_since`, `deleted_since`).
    pub fn since(&self, key: &str) -> ApiResult<Option<DateTime<Utc>>> {
        self.get(key)
            .map(|v| parse_since(v).ok_or_else(|| ApiError::invalid(key, "is not a valid date-time")))
            .transpose()
    }
}

/// Accept `YYYY-MM-DDThh:mm(:ss)?(Z|±hh:mm)`, a naive time (UTC) or a bare date.
pub fn parse_since(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(d) = DateTime::parse_from_str(v, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(v, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

/// The record-level filters every collection shares: live records changed since (inclusive),
/// or deleted records deleted after `deleted_since` (exclusive).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    updated_since: Option<DateTime<Utc>>,
    deleted_since: Option<DateTime<Utc>>,
}

impl Window {
    pub fn from(params: &Params) -> ApiResult<Self> {
        Ok(Self {
            updated_since: params.since("updated_or_created_since")?,
            deleted_since: params.since("deleted_since")?,
        })
    }
    pub fn admits(&self, meta: &Meta) -> bool {
        match (self.deleted_since, meta.deleted_at) {
            (Some(since), Some(at)) => at > since,
            (Some(_), None) => false,
            (None, Some(_)) => false,
            (None, None) => self.updated_since.is_none_or(|s| meta.updated_at >= s),
        }
    }
}

/// Which page to show: (page, per_page, start index), clamped to the last page.
pub fn page_of(params: &Params, total: usize, config: &SimConfig) -> ApiResult<(usize, usize, usize)> {
    let mut per = params.usize_param("items_per_page", DEFAULT_PER_PAGE)?.max(1);
    if per > MAX_PER_PAGE {
        if config.over_max_page == OverMaxPage::Reject {
            return Err(ApiError::invalid("items_per_page", format!("must be less than or equal to {MAX_PER_PAGE}")));
        }
        per = MAX_PER_PAGE;
    }
    let last = total.div_ceil(per).max(1);
    let page = params.usize_param("page", 1)?.clamp(1, last);
    Ok((page, per, (page - 1) * per))
}

/// A relative link to another page of this collection, keeping every other query parameter.
fn link(collection: &str, params: &Params, page: usize, per: usize) -> String {
    let mut pairs: Vec<(String, String)> =
        params.pairs.iter().filter(|(k, _)| k != "page" && k != "items_per_page").cloned().collect();
    pairs.insert(0, ("items_per_page".to_owned(), per.to_string()));
    pairs.insert(0, ("page".to_owned(), page.to_string()));
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("/{collection}?{q}")
}

/// Project a full record to the attributes the caller asked for (default: id, displayed_as, $path).
pub fn project(full: Value, attributes: Option<&str>) -> Value {
    let Value::Object(map) = full else { return full };
    if attributes == Some("all") {
        return Value::Object(map);
    }
    let wanted: Vec<&str> = attributes.map(|a| a.split(',').map(str::trim).collect()).unwrap_or_default();
    let keep = |k: &str| matches!(k, "id" | "displayed_as" | "$path") || wanted.contains(&k);
    Value::Object(map.into_iter().filter(|(k, _)| keep(k)).collect::<Map<String, Value>>())
}

/// Build the envelope for already-filtered records, rendering only the requested page.
pub fn envelope<T>(
    collection: &str,
    params: &Params,
    config: &SimConfig,
    records: &[T],
    render: impl Fn(&T) -> Value,
) -> ApiResult<Value> {
    let total = records.len();
    let (page, per, start) = page_of(params, total, config)?;
    let attrs = params.get("attributes");
    let items: Vec<Value> = records.iter().skip(start).take(per).map(|r| project(render(r), attrs)).collect();
    let last = total.div_ceil(per).max(1);
    let next = (page < last).then(|| link(collection, params, page + 1, per));
    let back = (page > 1).then(|| link(collection, params, page - 1, per));
    Ok(json!({
        "$total": total,
        "$page": page,
        "$next": next,
        "$back": back,
        "$itemsPerPage": per,
        "$items": items,
    }))
}
