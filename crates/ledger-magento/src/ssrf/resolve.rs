//! Name resolution for guarded calls: an injectable resolver, and the reqwest resolver that filters its answers.
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{HttpError, OutboundPolicy, ResolveFailure};

/// Turns a host name into addresses. Injectable so tests can answer anything without real DNS.
pub trait HostResolver: Send + Sync {
    fn resolve(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system resolver, through tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioResolver;

impl HostResolver for TokioResolver {
    fn resolve(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Resolves `host` and applies the policy: the allowed addresses, a refusal, or a resolution failure.
pub(crate) async fn resolve_allowed(
    resolver: &dyn HostResolver,
    policy: &OutboundPolicy,
    host: &str,
) -> Result<Vec<IpAddr>, HttpError> {
    let ips =
        resolver.resolve(host).await.map_err(|e| ResolveFailure { host: host.to_owned(), message: e.to_string() })?;
    let allowed = policy.filter_resolved(host, ips)?;
    if allowed.is_empty() {
        return Err(ResolveFailure { host: host.to_owned(), message: "no addresses".into() }.into());
    }
    Ok(allowed)
}

/// The resolver reqwest calls when it opens a connection. It is the check that decides: whatever a
/// precheck saw, only addresses allowed now are handed to the connector.
pub struct GuardResolver {
    pub(crate) inner: Arc<dyn HostResolver>,
    pub(crate) policy: Arc<OutboundPolicy>,
}

impl Resolve for GuardResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let inner = Arc::clone(&self.inner);
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str();
            match resolve_allowed(inner.as_ref(), &policy, host).await {
                Ok(ips) => {
                    tracing::debug!(host, ?ips, "resolved outbound host");
                    let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                Err(HttpError::Refused(refusal)) => {
                    tracing::warn!(host, %refusal, "outbound connection refused at connect time");
                    Err(refusal.into())
                }
                Err(HttpError::Resolve(failure)) => Err(failure.into()),
                Err(other) => Err(other.to_string().into()),
            }
        })
    }
}
