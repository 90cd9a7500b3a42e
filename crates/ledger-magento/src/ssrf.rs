//! The SSRF guard for URLs merchants type: the outbound policy, what it refuses and why, and the guarded client.
//!
//! Two checks, both required. Before a request, [`OutboundPolicy::check_url`] refuses bad schemes, userinfo and
//! disallowed IP-literal hosts (the `url` crate has already normalised spellings like `127.1` or `0x7f000001`).
//! At connect time, the client's DNS resolver ([`resolve::GuardResolver`]) drops disallowed addresses, so a name
//! that changes its answer between the check and the connection (DNS rebinding) still cannot reach them.
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use ledger_domain::error_class::ErrorClass;
use url::{Host, Url};

mod http;
mod ip;
pub mod resolve;

pub use http::{GuardedHttp, build_client, read_capped};
pub use ip::forbidden_reason;
pub use resolve::{HostResolver, TokioResolver};

/// Where and how the ledger may call merchant-supplied URLs.
#[derive(Clone, Debug)]
pub struct OutboundPolicy {
    /// Allow plain `http://` (development and tests only).
    pub allow_http: bool,
    /// Networks exempt from the address rules (e.g. `127.0.0.0/8` for a local simulator).
    pub allow_cidrs: Vec<IpNet>,
    pub connect_timeout: Duration,
    /// Total time for one request, body included.
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_cidrs: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

/// A URL or address the policy will not call. The message says what and how to allow it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("refused: the `{0}` scheme is not allowed; use an https:// URL")]
    Scheme(String),
    #[error("refused: plain http is not allowed; use an https:// URL (or set outbound.allow_http for development)")]
    PlainHttp,
    #[error("refused: URLs with a user name or password are not allowed")]
    UserInfo,
    #[error("refused: the URL has no host")]
    NoHost,
    #[error("refused: {ip} is {reason}; set outbound.allow_cidrs to allow it")]
    Address { ip: IpAddr, reason: String },
    #[error("refused: {host} resolves to {ip}, {reason}; set outbound.allow_cidrs to allow it")]
    Resolved { host: String, ip: IpAddr, reason: String },
}

/// A name the resolver could not turn into addresses (not a refusal: the store may simply be down).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not resolve {host}: {message}")]
pub struct ResolveFailure {
    pub host: String,
    pub message: String,
}

/// Transport failures of a guarded call, before any HTTP status is seen.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Resolve(#[from] ResolveFailure),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("TLS failure: {0}")]
    Tls(String),
    #[error("response body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("HTTP transport error: {0}")]
    Transport(String),
    #[error("could not build the HTTP client: {0}")]
    Build(String),
}

impl HttpError {
    /// Refusals and TLS failures need a person to fix the URL or the certificate, so they are not retried:
    /// `Permission` is the closest non-retryable class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Refused(_) | Self::Tls(_) => ErrorClass::Permission,
            Self::Resolve(_) | Self::Connect(_) | Self::Timeout | Self::Transport(_) => ErrorClass::Transient,
            Self::TooLarge { .. } => ErrorClass::Validation,
            Self::Build(_) => ErrorClass::Internal,
        }
    }
}

impl OutboundPolicy {
    /// Whether `ip` may be called: inside `allow_cidrs`, or a public unicast address. Err carries the reason.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let canonical = ip.to_canonical();
        if self.allow_cidrs.iter().any(|net| net.contains(&ip) || net.contains(&canonical)) {
            return Ok(());
        }
        forbidden_reason(ip).map_or(Ok(()), Err)
    }

    /// The checks that need no DNS: scheme, userinfo, and IP-literal hosts.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::PlainHttp),
            other => return Err(Refusal::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo);
        }
        let ip = match url.host() {
            None => return Err(Refusal::NoHost),
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        };
        self.check_ip(ip).map_err(|reason| Refusal::Address { ip, reason })
    }

    /// Keeps the allowed addresses of `host`; refuses (naming the first bad address) when none is left.
    pub fn filter_resolved(&self, host: &str, ips: Vec<IpAddr>) -> Result<Vec<IpAddr>, Refusal> {
        let mut first_refusal = None;
        let mut allowed = Vec::with_capacity(ips.len());
        for ip in ips {
            match self.check_ip(ip) {
                Ok(()) => allowed.push(ip),
                Err(reason) => {
                    first_refusal.get_or_insert(Refusal::Resolved { host: host.to_owned(), ip, reason });
                }
            }
        }
        match (allowed.is_empty(), first_refusal) {
            (true, Some(refusal)) => Err(refusal),
            _ => Ok(allowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    fn check(p: &OutboundPolicy, s: &str) -> Result<(), Refusal> {
        p.check_url(&Url::parse(s).unwrap())
    }

    #[test]
    fn loopback_spellings_are_normalised_then_refused() {
        for s in [
            "https://127.0.0.1/",
            "https://127.1/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0x7f.0.0.1/",
            "https://017700000001/",
            "https://0177.0.0.1/",
            "https://127.0.0.1./",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
        ] {
            let err = check(&policy(), s).unwrap_err();
            assert!(err.to_string().contains("loopback"), "{s}: {err}");
        }
        assert_eq!(
            check(&policy(), "https://127.1:8443/x").unwrap_err().to_string(),
            "refused: 127.0.0.1 is a loopback address; set outbound.allow_cidrs to allow it"
        );
    }

    #[test]
    fn other_forbidden_literals_are_refused() {
        for (s, word) in [
            ("https://0.0.0.0/", "unspecified"),
            ("https://[::]/", "unspecified"),
            ("https://169.254.169.254/latest/meta-data", "metadata"),
            ("https://10.0.0.1/", "private"),
            ("https://[fe80::1]/", "link-local"),
            ("https://[fd00::1]/", "unique local"),
            ("https://100.64.1.1/", "CGNAT"),
            ("https://[::ffff:169.254.169.254]/", "metadata"),
        ] {
            let err = check(&policy(), s).unwrap_err();
            assert!(err.to_string().contains(word), "{s}: {err}");
        }
    }

    #[test]
    fn schemes_and_userinfo() {
        assert_eq!(check(&policy(), "ftp://shop.example/"), Err(Refusal::Scheme("ftp".into())));
        assert_eq!(check(&policy(), "file:///etc/passwd"), Err(Refusal::Scheme("file".into())));
        assert_eq!(check(&policy(), "gopher://shop.example/"), Err(Refusal::Scheme("gopher".into())));
        assert_eq!(check(&policy(), "http://shop.example/"), Err(Refusal::PlainHttp));
        assert_eq!(check(&policy(), "https://user:pw@shop.example/"), Err(Refusal::UserInfo));
        assert_eq!(check(&policy(), "https://user@shop.example/"), Err(Refusal::UserInfo));
        assert_eq!(check(&policy(), "https://shop.example/"), Ok(()));
        assert_eq!(check(&policy(), "https://8.8.8.8/"), Ok(()));
        let dev = OutboundPolicy { allow_http: true, ..policy() };
        assert_eq!(check(&dev, "http://shop.example/"), Ok(()));
    }

    #[test]
    fn allow_cidrs_exempts_addresses_and_their_mapped_forms() {
        let p = OutboundPolicy { allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()], ..policy() };
        assert_eq!(check(&p, "https://127.0.0.1:9/"), Ok(()));
        assert_eq!(check(&p, "https://[::ffff:127.0.0.1]/"), Ok(()));
        assert!(check(&p, "https://[::1]/").is_err());
        assert!(check(&p, "https://10.0.0.1/").is_err());
    }

    #[test]
    fn filter_resolved_keeps_only_allowed_addresses() {
        let p = policy();
        let ips = vec!["127.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap()];
        assert_eq!(p.filter_resolved("h", ips), Ok(vec!["8.8.8.8".parse().unwrap()]));
        let err = p.filter_resolved("evil.example", vec!["127.0.0.1".parse().unwrap()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused: evil.example resolves to 127.0.0.1, a loopback address; set outbound.allow_cidrs to allow it"
        );
        assert_eq!(p.filter_resolved("h", vec![]), Ok(vec![]));
    }
}
