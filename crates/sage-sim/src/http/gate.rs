//! The API gate: bearer auth, app budget and concurrency cap, `X-Business`, role/MSE switches, faults, call log.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, status_or};
use crate::state::{Sim, lock};

/// Who is calling and for which business; handlers read it from the request extensions.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub business: String,
    pub user_id: String,
}

/// Decrements the in-flight counter however the request ends (including client disconnects).
struct InFlight<'a>(&'a Sim);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.limits.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts one business's request (and create) in flight while it is held.
struct BusinessInFlight<'a> {
    sim: &'a Sim,
    business: String,
    create: bool,
}

impl<'a> BusinessInFlight<'a> {
    fn enter(sim: &'a Sim, business: &str, create: bool) -> Self {
        let mut all = lock(&sim.limits.per_business);
        let c = all.entry(business.to_owned()).or_default();
        c.in_flight += 1;
        c.peak = c.peak.max(c.in_flight);
        if create {
            c.creates_in_flight += 1;
            c.creates_peak = c.creates_peak.max(c.creates_in_flight);
        }
        Self { sim, business: business.to_owned(), create }
    }
}

impl Drop for BusinessInFlight<'_> {
    fn drop(&mut self) {
        if let Some(c) = lock(&self.sim.limits.per_business).get_mut(&self.business) {
            c.in_flight = c.in_flight.saturating_sub(1);
            if self.create {
                c.creates_in_flight = c.creates_in_flight.saturating_sub(1);
            }
        }
    }
}

/// Records every non-control call in the call log, by route template.
pub async fn record(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let mut resp = next.run(req).await;
    let status = if resp.extensions().get::<Dropped>().is_some() { 0 } else { resp.status().as_u16() };
    sim.record_call(&method, &route, status);
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()) {
        resp.headers_mut().insert("x_request_id", v);
    }
    resp
}

/// Marks a response whose connection is dropped instead (the call log shows status 0).
#[derive(Debug, Clone, Copy)]
struct Dropped;

/// A response that never reaches the client: its body fails before the status line is written, so
/// the server closes the connection (the client sees a connection error, as when a link drops).
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sage-sim: connection dropped after commit",
        ))
    });
    let mut resp = Response::new(axum::body::Body::from_stream(failing));
    resp.extensions_mut().insert(Dropped);
    resp
}

fn area(route: &str) -> &'static str {
    let seg = route.trim_start_matches("/v3.1/").split('/').next().unwrap_or_default();
    match seg {
        "contacts" => "contacts",
        "sales_invoices" | "sales_credit_notes" | "contact_allocations" => "sales",
        "contact_payments" | "bank_accounts" => "bank",
        "products" | "services" | "stock_items" | "stock_movements" => "products",
        _ => "settings",
    }
}

fn is_write(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::DELETE | Method::PATCH)
}

/// Sleep for `d`, waking early when the simulator shuts down.
async fn pause(sim: &Sim, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = sim.shutdown.cancelled() => {}
    }
}

/// Per-app daily budget (UTC day); `true` when this request fits.
fn within_budget(sim: &Sim) -> bool {
    let today = u64::try_from(chrono::Utc::now().timestamp().div_euclid(86_400)).unwrap_or(0);
    let l = &sim.limits;
    if l.day.swap(today, Ordering::AcqRel) != today {
        l.day_count.store(0, Ordering::Release);
    }
    l.day_count.fetch_add(1, Ordering::AcqRel) < sim.config.daily_budget
}

/// The gate for everything under `/v3.1`.
pub async fn api(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());

    // 1. Bearer token.
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default();
    let grant = {
        let auth = lock(&sim.auth);
        auth.access.get(token).filter(|t| Instant::now() < t.expires).cloned()
    };
    let Some(grant) = grant else { return ApiError::unauthorized().into_response() };

    // 2. Per-app budget and concurrency cap.
    if !within_budget(&sim) {
        return ApiError::too_many(sim.config.rate_limit_retry_after).into_response();
    }
    let in_flight = sim.limits.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
    let _guard = InFlight(&sim);
    sim.limits.peak.fetch_max(in_flight, Ordering::AcqRel);
    if in_flight > sim.config.concurrency_cap {
        return ApiError::too_many(sim.config.rate_limit_retry_after).into_response();
    }

    // 3. Business: the header, or the user's lead business.
    let user = sim.user();
    let requested = req.headers().get("x-business").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let business = match requested {
        Some(b) if user.businesses.contains(&b) && grant.user_id == user.id => b,
        Some(_) => {
            return ApiError::new(
                status_or(sim.config.invalid_business_status, axum::http::StatusCode::FORBIDDEN),
                "AccessDenied",
                "You do not have access to the requested business.",
                "X-Business",
            )
            .into_response();
        }
        None => user.businesses.first().cloned().unwrap_or_default(),
    };
    let create = method == Method::POST && !route.ends_with("/release");
    let _business_guard = BusinessInFlight::enter(&sim, &business, create);
    let echo = !(route.starts_with("/v3.1/businesses") || route.starts_with("/v3.1/user"));
    let with_header = |mut resp: Response| {
        if echo && let Ok(v) = HeaderValue::from_str(&business) {
            resp.headers_mut().insert("x-business", v);
        }
        resp
    };

    // 4. Subscription, role and per-business rate switches.
    let verdict = sim.business(&business).map(|biz| {
        let mut b = lock(&biz);
        if b.mse {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "AuthorizationFailure",
                "No active subscription. (MSE)",
                "",
            ));
        }
        if let Some(areas) = &b.denied_areas
            && (areas.is_empty() || areas.iter().any(|a| a == area(&route)))
        {
            return Err(ApiError::access_denied_role());
        }
        if let Some(cap) = sim.config.per_business_per_minute {
            let minute = chrono::Utc::now().timestamp().div_euclid(60);
            if b.minute_window.0 != minute {
                b.minute_window = (minute, 0);
            }
            b.minute_window.1 += 1;
            if b.minute_window.1 > cap {
                let wait = 60 - chrono::Utc::now().timestamp().rem_euclid(60);
                return Err(ApiError::too_many(Some(u64::try_from(wait).unwrap_or(60))));
            }
        }
        Ok(())
    });
    if let Some(Err(e)) = verdict {
        return with_header(e.into_response());
    }
    if grant.scope == "readonly" && is_write(&method) {
        return with_header(ApiError::access_denied_role().into_response());
    }

    // 5. Injected faults.
    let roll = lock(&sim.faults).roll(&business);
    if roll.latency_ms > 0 {
        pause(&sim, Duration::from_millis(roll.latency_ms)).await;
    }
    if roll.hang {
        pause(&sim, sim.config.hang_duration).await;
        return with_header(ApiError::unavailable().into_response());
    }
    if let Some(retry) = roll.too_many {
        return with_header(ApiError::too_many(retry).into_response());
    }
    if roll.unavailable {
        return with_header(ApiError::unavailable().into_response());
    }

    req.extensions_mut().insert(Ctx { business: business.clone(), user_id: grant.user_id });
    let resp = next.run(req).await;
    // Both after-commit faults apply to successful writes only: a read has nothing to commit.
    let committed = is_write(&method) && resp.status().is_success();
    if let Some(hold_ms) = roll.hang_after_commit
        && committed
    {
        pause(&sim, hold_ms.map_or(sim.config.hang_duration, Duration::from_millis)).await;
        return dropped_connection();
    }
    if roll.fail_after_commit && committed {
        return with_header(ApiError::unexpected().into_response());
    }
    with_header(resp)
}
