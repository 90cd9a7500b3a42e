//! Configuration: the compiled-in `config/default.toml`, an optional `--config` file, then
//! `LEDGER_<SECTION>__<KEY>` environment variables. Checked at start-up; errors name the bad key.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub database: Database,
    pub worker: Worker,
    pub ingest: Ingest,
    pub log: Log,
    pub outbound: Outbound,
    pub dev: Dev,
    pub sage: Sage,
    pub crypto: Crypto,
    pub admin: Admin,
    pub web: Web,
    pub alerts: Alerts,
    pub metrics: Metrics,
    pub retention: Retention,
    pub mail: Mail,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub bind: SocketAddr,
    pub public_url: Option<url::Url>,
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worker {
    pub concurrency: usize,
    pub tenant_share: u32,
    pub lease_secs: u64,
    pub reconcile_interval_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub shutdown_deadline_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    pub idempotency_window_days: u64,
    pub max_body_bytes: usize,
    pub jwt_skew_secs: u64,
    pub max_in_flight: usize,
    pub request_timeout_ms: u64,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    pub allow_http: bool,
    pub allow_cidrs: Vec<IpNet>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dev {
    pub simulators: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sage {
    pub authorize_url: url::Url,
    pub token_url: url::Url,
    pub revoke_url: url::Url,
    pub api_base: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Where Sage sends the merchant back; default `{server.public_url}/oauth/sage/callback`.
    pub redirect_url: Option<url::Url>,
    /// Refresh an access token this many seconds before it expires (capped at a fifth of its lifetime).
    pub refresh_ahead_secs: u64,
    /// Sage requests per UTC day, shared by every process and merchant (Sage's app limit).
    pub daily_budget: u64,
    /// Sage requests in flight at once, shared by every process and merchant (Sage's app limit).
    pub max_in_flight: u32,
    /// Sage requests in flight at once for one business, so one merchant's backlog cannot starve the rest.
    pub business_max_in_flight: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crypto {
    pub active_key: Option<String>,
    #[serde(default)]
    pub keys: BTreeMap<String, SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub tokens: Vec<SecretString>,
}

/// The mail outbox's sender (`ledger_sync::mail`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    /// Empty: messages go to the log.
    pub smtp_url: SecretString,
    pub from: String,
}

/// Alerts to people (`ledger_sync::alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    pub operator_emails: Vec<String>,
    pub dead_letter_threshold: u32,
    pub check_interval_secs: u64,
    pub webhook_url: String,
    pub webhook_secret: SecretString,
}

/// Prometheus metrics (docs/operations.md, "Metrics").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// A separate listener serving `/metrics` without the operator bearer; `None`: only the main
    /// listener's `/metrics`, behind `admin.tokens`.
    pub bind: Option<SocketAddr>,
    /// How often the database-derived gauges are sampled.
    pub sample_secs: u64,
}

/// How long bodies of finished work are kept (docs/operations.md, "Retention").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub payload_days: u32,
    pub call_body_days: u32,
    pub callbacks_days: u32,
    pub alerts_days: u32,
    pub mail_days: u32,
    pub bulk_days: u32,
    pub interval_mins: u64,
    pub batch_size: u32,
}

/// The merchant dashboard and operator console (`ledger-web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    /// Mark the session cookie `Secure`; turn off only for plain-http development.
    pub secure_cookies: bool,
    pub session_ttl_hours: u64,
    /// Failed sign-ins tolerated per email and per client address within the window.
    pub signin_window_secs: u64,
    pub signin_max_per_account: i64,
    pub signin_max_per_ip: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", describe(.0))]
    Figment(#[from] Box<figment::Error>),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// One line per problem: the key (lower-case, dotted), what is wrong, and where the value came from.
fn describe(errors: &figment::Error) -> String {
    errors
        .clone()
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let source = e.metadata.as_ref().map(|m| m.name.to_string()).unwrap_or_default();
            let key = if key.is_empty() { "configuration".to_owned() } else { format!("configuration key `{key}`") };
            if source.is_empty() { format!("{key}: {}", e.kind) } else { format!("{key}: {} (from {source})", e.kind) }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid {
                    key: "--config",
                    message: format!("{} is not a readable file", path.display()),
                });
            }
            figment = figment.merge(Toml::file(path));
        }
        // LEDGER_ENV is the deployment name, not a key.
        figment = figment.merge(Env::prefixed("LEDGER_").ignore(&["ENV"]).split("__"));
        let mut config: Config = figment.extract().map_err(Box::new)?;
        if std::env::var_os("LEDGER_DATABASE__URL").is_none()
            && let Ok(url) = std::env::var("DATABASE_URL")
            && !url.trim().is_empty()
        {
            config.database.url = Some(SecretString::from(url));
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive = |key, v: u64| {
            if v == 0 { Err(ConfigError::Invalid { key, message: "must be greater than zero".into() }) } else { Ok(()) }
        };
        positive("worker.concurrency", self.worker.concurrency as u64)?;
        positive("worker.tenant_share", u64::from(self.worker.tenant_share))?;
        positive("worker.lease_secs", self.worker.lease_secs)?;
        positive("worker.reconcile_interval_ms", self.worker.reconcile_interval_ms)?;
        positive("worker.heartbeat_interval_ms", self.worker.heartbeat_interval_ms)?;
        positive("ingest.idempotency_window_days", self.ingest.idempotency_window_days)?;
        positive("ingest.max_body_bytes", self.ingest.max_body_bytes as u64)?;
        positive("ingest.max_in_flight", self.ingest.max_in_flight as u64)?;
        positive("database.max_connections", u64::from(self.database.max_connections))?;
        positive("web.session_ttl_hours", self.web.session_ttl_hours)?;
        positive("web.signin_window_secs", self.web.signin_window_secs)?;
        positive("web.signin_max_per_account", self.web.signin_max_per_account.max(0) as u64)?;
        positive("web.signin_max_per_ip", self.web.signin_max_per_ip.max(0) as u64)?;
        positive("sage.daily_budget", self.sage.daily_budget)?;
        positive("sage.max_in_flight", u64::from(self.sage.max_in_flight))?;
        positive("sage.business_max_in_flight", u64::from(self.sage.business_max_in_flight))?;
        if self.sage.business_max_in_flight > self.sage.max_in_flight {
            return Err(ConfigError::Invalid {
                key: "sage.business_max_in_flight",
                message: format!("at most sage.max_in_flight ({})", self.sage.max_in_flight),
            });
        }
        if self.sage.max_in_flight > 100_000 {
            return Err(ConfigError::Invalid { key: "sage.max_in_flight", message: "at most 100000".into() });
        }
        if self.ingest.jwt_skew_secs > 60 {
            return Err(ConfigError::Invalid { key: "ingest.jwt_skew_secs", message: "at most 60 seconds".into() });
        }
        if let Some(url) = &self.server.public_url
            && (!matches!(url.scheme(), "http" | "https") || url.host().is_none())
        {
            return Err(ConfigError::Invalid {
                key: "server.public_url",
                message: "must be an absolute http(s) URL".into(),
            });
        }
        if let Some((i, token)) = self.admin.tokens.iter().enumerate().find(|(_, t)| {
            secrecy::ExposeSecret::expose_secret(*t).chars().count() < ledger_api::operator::MIN_OPERATOR_TOKEN_CHARS
        }) {
            let chars = secrecy::ExposeSecret::expose_secret(token).chars().count();
            return Err(ConfigError::Invalid {
                key: "admin.tokens",
                message: format!(
                    "token {} of {} has {chars} characters; operator tokens need at least {}",
                    i + 1,
                    self.admin.tokens.len(),
                    ledger_api::operator::MIN_OPERATOR_TOKEN_CHARS
                ),
            });
        }
        positive("alerts.dead_letter_threshold", u64::from(self.alerts.dead_letter_threshold))?;
        positive("alerts.check_interval_secs", self.alerts.check_interval_secs)?;
        if let Some(bad) = self.alerts.operator_emails.iter().find(|e| !e.contains('@') || e.trim() != e.as_str()) {
            return Err(ConfigError::Invalid {
                key: "alerts.operator_emails",
                message: format!("{bad:?} is not an e-mail address"),
            });
        }
        if !self.alerts.webhook_url.is_empty() {
            let ok = url::Url::parse(&self.alerts.webhook_url).is_ok_and(|u| {
                u.host().is_some() && (u.scheme() == "https" || (u.scheme() == "http" && self.outbound.allow_http))
            });
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "alerts.webhook_url",
                    message: "must be an absolute https URL (http only with outbound.allow_http)".into(),
                });
            }
            if secrecy::ExposeSecret::expose_secret(&self.alerts.webhook_secret).chars().count() < 16 {
                return Err(ConfigError::Invalid {
                    key: "alerts.webhook_secret",
                    message: "needs at least 16 characters when alerts.webhook_url is set".into(),
                });
            }
        }
        positive("metrics.sample_secs", self.metrics.sample_secs)?;
        positive("retention.payload_days", u64::from(self.retention.payload_days))?;
        positive("retention.call_body_days", u64::from(self.retention.call_body_days))?;
        positive("retention.callbacks_days", u64::from(self.retention.callbacks_days))?;
        positive("retention.alerts_days", u64::from(self.retention.alerts_days))?;
        positive("retention.mail_days", u64::from(self.retention.mail_days))?;
        positive("retention.bulk_days", u64::from(self.retention.bulk_days))?;
        positive("retention.interval_mins", self.retention.interval_mins)?;
        positive("retention.batch_size", u64::from(self.retention.batch_size))?;
        if let Err(e) =
            ledger_sync::mail::Mailer::new(secrecy::ExposeSecret::expose_secret(&self.mail.smtp_url), &self.mail.from)
        {
            let key = if matches!(e, ledger_sync::mail::MailError::From(_)) { "mail.from" } else { "mail.smtp_url" };
            return Err(ConfigError::Invalid { key, message: e.to_string() });
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError::Invalid { key: "log.level", message: e.to_string() })?;
        Ok(())
    }

    /// The OAuth callback registered with Sage: `sage.redirect_url`, else `{public_url}/oauth/sage/callback`.
    pub fn sage_redirect_url(&self) -> String {
        match &self.sage.redirect_url {
            Some(u) => u.as_str().to_owned(),
            None => format!("{}/oauth/sage/callback", self.public_url()),
        }
    }

    /// The URL Magento calls: `server.public_url`, else the bound address.
    pub fn public_url(&self) -> String {
        match &self.server.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.server.bind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_point_at_real_sage() {
        let c: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        c.check().unwrap();
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.sage.api_base.as_str(), "https://api.accounting.sage.com/v3.1");
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
        assert!(!c.outbound.allow_http);
        assert_eq!(c.sage.revoke_url.as_str(), "https://oauth.accounting.sage.com/revoke");
        assert_eq!(c.sage_redirect_url(), "http://127.0.0.1:8080/oauth/sage/callback");
        assert_eq!(c.sage.refresh_ahead_secs, 20);
        assert_eq!((c.sage.daily_budget, c.sage.max_in_flight, c.sage.business_max_in_flight), (1_296_000, 150, 8));
    }

    #[test]
    fn budgets_reach_the_gate_and_a_business_share_above_the_cap_is_refused() {
        let c: Config = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[sage]\ndaily_budget = 500\nmax_in_flight = 20\nbusiness_max_in_flight = 4"))
            .extract()
            .unwrap();
        c.check().unwrap();
        let budget = crate::sage::budget_config(&c);
        assert_eq!((budget.daily_budget, budget.max_in_flight, budget.business_max_in_flight), (500, 20, 4));

        let c: Config = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[sage]\nmax_in_flight = 4\nbusiness_max_in_flight = 5"))
            .extract()
            .unwrap();
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("sage.business_max_in_flight"), "{e}");
    }

    #[test]
    fn refresh_ahead_secs_reaches_custody() {
        let c: Config = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[sage]\nrefresh_ahead_secs = 30"))
            .extract()
            .unwrap();
        let custody = crate::sage::custody_config(&c);
        assert_eq!(custody.refresh_ahead, std::time::Duration::from_secs(30));
        let issued = chrono::Utc::now();
        let expires = issued + chrono::Duration::seconds(300);
        assert_eq!(custody.refresh_at(issued, expires), expires - chrono::Duration::seconds(30));
    }

    #[test]
    fn bad_keys_are_named() {
        let err = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[server]\nbind = \"nope\""))
            .extract::<Config>()
            .unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
        let err = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[outbound]\nallow_cidrs = [\"10.0.0.0/33\"]"))
            .extract::<Config>()
            .unwrap_err();
        assert!(err.to_string().contains("outbound.allow_cidrs"), "{err}");
        let mut c: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        c.worker.concurrency = 0;
        assert!(c.check().unwrap_err().to_string().contains("worker.concurrency"));
        let err = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("[server]\nbindd = \"x\""))
            .extract::<Config>()
            .unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
    }

    #[test]
    fn operator_tokens_need_sixteen_characters() {
        let with = |tokens: &str| {
            Figment::from(Toml::string(DEFAULTS))
                .merge(Toml::string(&format!("[admin]\ntokens = {tokens}")))
                .extract::<Config>()
                .unwrap()
        };
        let err = with(r#"["0123456789abcdef", "op-secret"]"#).check().unwrap_err().to_string();
        assert!(err.contains("admin.tokens") && err.contains("token 2 of 2") && err.contains("16"), "{err}");
        assert!(!err.contains("op-secret"), "the token itself is not echoed: {err}");
        with(r#"["0123456789abcdef"]"#).check().unwrap();
    }
}
