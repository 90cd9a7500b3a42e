//! Prometheus metrics through a real `ledger serve` synced against the simulators: `/metrics` refuses without the operator bearer, counters and sampled gauges move with traffic, `metrics.bind` serves them without a bearer, and every `ledger_*` series that `deploy/alerts.yml` or the Grafana dashboard names is exported (drift between the rules and the code fails here).
use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{eventually, http_client};

use crate::connect_sim::Served;
use crate::magento::control;
use crate::processes::free_port;

const OPERATOR: &str = "metrics-operator-token-0001";

/// The value of one series (`name{labels}` exactly as rendered, or a bare name) in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Every metric family name a scrape exports (from its sample lines).
fn exported(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect()
}

/// Every `ledger_*` name a file mentions.
fn named_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("ledger_") {
        let start = i + at;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(text.len() - start);
        if boundary {
            names.insert(text[start..end].to_owned());
        }
        i = end;
    }
    names
}

async fn scrape(http: &reqwest::Client, url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut req = http.get(url);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_bearer_move_with_traffic_and_cover_every_alert_and_panel() {
    let http = http_client();
    let w = Served::connect(60.0).await;
    let (sage_url, store_url, db, port) = (w.sage.base_url(), w.store.base_url(), &w.db, w.port);
    let bind = format!("127.0.0.1:{port}");
    let metrics_bind = format!("127.0.0.1:{}", free_port());
    let tokens = format!("[\"{OPERATOR}\"]");
    let _ledger = w.serve(
        &[
            ("LEDGER_ADMIN__TOKENS", &tokens),
            ("LEDGER_METRICS__SAMPLE_SECS", "1"),
            ("LEDGER_METRICS__BIND", &metrics_bind),
        ],
        "ledger-metrics.log",
    );
    crate::processes::wait_ready(&http, port).await;
    let url = format!("http://{bind}/metrics");

    // The labels name tenants: no bearer, or a wrong one, is refused as problem+json.
    assert_eq!(scrape(&http, &url, None).await.0, 401);
    assert_eq!(scrape(&http, &url, Some("not-the-operator-token-0000")).await.0, 401);
    let (status, before) = scrape(&http, &url, Some(OPERATOR)).await;
    assert_eq!(status, 200);
    assert_eq!(value(&before, r#"ledger_ingest_requests_total{outcome="accepted"}"#), Some(0.0), "{before}");

    // Three invoices from the store, synced to Sage.
    let entities = format!("{store_url}/_sim/entities");
    for _ in 0..3 {
        control(&http, Method::POST, entities.clone(), Some(json!({"action": "create_invoice", "paid": false}))).await;
    }
    let sent = control(&http, Method::POST, format!("{store_url}/_sim/drain"), None).await;
    let accepted = sent["sent"].as_array().unwrap().iter().filter(|d| d["status_code"] == 202).count();
    assert!(accepted >= 3, "{sent}");
    let synced = eventually("the runs are synced and sampled", Duration::from_secs(90), || async {
        let (_, now) = scrape(&http, &url, Some(OPERATOR)).await;
        let synced = value(&now, r#"ledger_events{state="synced"}"#)?;
        (synced >= 3.0 && value(&now, r#"ledger_events{state="pending"}"#) == Some(0.0)).then_some(now)
    })
    .await;
    let in_db: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE state = 'synced'").fetch_one(&db.pool).await.unwrap();
    assert_eq!(value(&synced, r#"ledger_events{state="synced"}"#), Some(in_db as f64));
    assert_eq!(
        value(&synced, r#"ledger_ingest_requests_total{outcome="accepted"}"#),
        Some(accepted as f64),
        "one count per accepted webhook"
    );
    let sync_attempts = value(&synced, r#"ledger_attempts_total{outcome="synced",error_class="none"}"#).unwrap();
    assert!(sync_attempts >= in_db as f64, "{synced}");
    assert!(value(&synced, r#"ledger_ingest_duration_seconds_count{outcome="accepted"}"#).unwrap() >= 3.0);
    assert!(
        value(&synced, r#"ledger_sage_calls_total{class="2xx",status="200"}"#).unwrap_or(0.0)
            + value(&synced, r#"ledger_sage_calls_total{class="2xx",status="201"}"#).unwrap_or(0.0)
            >= 3.0,
        "{synced}"
    );
    assert!(value(&synced, "ledger_sage_budget_used_requests").unwrap() >= 3.0, "{synced}");
    assert_eq!(value(&synced, "ledger_sage_budget_daily_requests"), Some(1_296_000.0));

    // The separate listener answers without a bearer.
    let (status, open) = scrape(&http, &format!("http://{metrics_bind}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(value(&open, r#"ledger_events{state="synced"}"#).is_some(), "{open}");

    // Sage now answers 429 to everything: a fourth invoice waits, parked for the rate limit (which
    // counts as backlog), and its tenant is named among the oldest backlogs.
    let faults = json!({"business": null, "rate_429": 1.0, "retry_after_s": 60});
    control(&http, Method::PUT, format!("{sage_url}/_sim/faults"), Some(faults)).await;
    control(&http, Method::POST, entities.clone(), Some(json!({"action": "create_invoice", "paid": false}))).await;
    control(&http, Method::POST, format!("{store_url}/_sim/drain"), None).await;
    let tenant = w.tenant;
    let tenant_series = format!("ledger_tenant_oldest_pending_age_seconds{{tenant_id=\"{tenant}\"}}");
    let throttled = eventually("the throttled run waits and is sampled", Duration::from_secs(90), || async {
        let (_, now) = scrape(&http, &url, Some(OPERATOR)).await;
        let waiting = value(&now, &tenant_series)? > 0.0 && value(&now, "ledger_sage_throttled_total")? >= 1.0;
        waiting.then_some(now)
    })
    .await;
    assert!(value(&throttled, "ledger_oldest_pending_age_seconds").unwrap() > 0.0, "{throttled}");
    assert_eq!(value(&throttled, r#"ledger_events{state="pending"}"#), Some(1.0), "{throttled}");
    assert!(value(&throttled, r#"ledger_sage_calls_total{class="429",status="429"}"#).unwrap() >= 1.0);
    assert_eq!(value(&throttled, r#"ledger_events_parked{reason="rate_limited"}"#), Some(1.0), "{throttled}");

    // Drift: every series the rules and the dashboard use is exported by the running app (a histogram
    // by its _bucket/_sum/_count series).
    let mut families = exported(&synced);
    families.extend(exported(&throttled));
    for histogram in families.clone().iter().filter_map(|f| f.strip_suffix("_bucket")) {
        families.insert(histogram.to_owned());
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");
    let alerts = std::fs::read_to_string(format!("{root}/alerts.yml")).unwrap();
    let dashboard = std::fs::read_to_string(format!("{root}/grafana/ledger.json")).unwrap();
    let panels: Value = serde_json::from_str(&dashboard).unwrap();
    assert!(panels["panels"].as_array().is_some_and(|p| p.len() > 10), "the dashboard parses and has its panels");
    let (in_alerts, in_dashboard) = (named_in(&alerts), named_in(&dashboard));
    assert!(in_alerts.len() >= 10 && in_dashboard.len() >= 15, "{in_alerts:?} {in_dashboard:?}");
    for name in in_alerts.iter().chain(&in_dashboard) {
        assert!(families.contains(name), "{name} is used by deploy/ but not exported; exported: {families:?}");
    }
}

#[test]
fn names_are_read_whole_from_rule_text() {
    let names = named_in("expr: max(ledger_a_total{x=\"y\"}) / rate(ledger_b_seconds_bucket[5m]) and not_ledger_c");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["ledger_a_total", "ledger_b_seconds_bucket"]);
}
