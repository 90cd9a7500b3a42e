//! The Postgres-backed rate budgets ([`PgCallGate`]): two gates with their own pools stand for two
//! processes on one database, and the calls go to sage-sim over HTTP, whose own view of concurrency
//! (`/_sim/concurrency`) is what the caps are checked against.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ledger_domain::SageBusinessId;
use ledger_domain::clock::Clock;
use ledger_domain::sage::PostContact;
use ledger_sage::{CallGate, CallKind, GateRefusal, SageBusiness, SageClient, SageClientError, SageConfig, SageHttp};
use ledger_store::PgPool;
use ledger_store::sage_budget::{self, Backoff};
use ledger_sync::sage::budget::next_midnight;
use ledger_sync::sage::{BudgetConfig, PgCallGate};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;

use crate::custody::{World, world};

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A clock the test moves by hand (the budget's UTC day).
struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Another "process": its own pool on the same database.
async fn other_pool(w: &World) -> PgPool {
    PgPoolOptions::new().max_connections(10).connect(&w.db.url).await.unwrap()
}

fn gate(pool: &PgPool, config: BudgetConfig) -> Arc<PgCallGate> {
    Arc::new(PgCallGate::new(pool.clone(), config, ledger_domain::clock::system_clock()))
}

fn client(w: &World, custody: &Arc<ledger_sync::sage::Custody>, gate: Arc<PgCallGate>) -> SageClient {
    let api = url::Url::parse(&format!("{}/v3.1", w.sim.base_url())).unwrap();
    let sage = SageHttp::with_client(http(), &SageConfig::new(api));
    SageClient::new(sage, Arc::new(custody.tokens(w.tenant, w.binding)), gate)
}

async fn sim_get(w: &World, path: &str) -> Value {
    http().get(format!("{}{path}", w.sim.base_url())).send().await.unwrap().json().await.unwrap()
}

async fn sim_faults(w: &World, spec: Value) {
    let resp = http().put(format!("{}/_sim/faults", w.sim.base_url())).json(&spec).send().await.unwrap();
    assert!(resp.status().is_success(), "faults: {}", resp.status());
}

/// How many calls to `path` sage-sim answered with `status`.
async fn sim_calls(w: &World, path: &str, status: u64) -> u64 {
    let calls = sim_get(w, "/_sim/calls").await;
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"] == path && c["status"] == status)
        .map(|c| c["count"].as_u64().unwrap())
        .sum()
}

/// Two of the simulated user's businesses.
async fn two_businesses(c: &SageClient) -> (SageBusinessId, SageBusinessId) {
    let all = c.businesses().await.unwrap();
    assert!(all.len() >= 2, "sage-sim seeds several businesses");
    (SageBusinessId::parse(&all[0].id).unwrap(), SageBusinessId::parse(&all[1].id).unwrap())
}

/// Retries a call the gate refused as busy (what the worker does by parking): `f` until it answers
/// something else; returns the answer and how many `Busy` refusals it met.
async fn through<T, F, Fut>(mut f: F) -> (Result<T, SageClientError>, u32)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SageClientError>>,
{
    let mut busy = 0;
    loop {
        match f().await {
            Err(SageClientError::Gate(GateRefusal::Busy)) => busy += 1,
            other => return (other, busy),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_budget_is_shared_by_two_processes_refuses_when_spent_and_admits_the_next_day() {
    let w = world(Duration::from_secs(300)).await;
    let pool_b = other_pool(&w).await;
    let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(Utc.with_ymd_and_hms(2026, 12, 4, 23, 59, 0).unwrap())));
    let config = BudgetConfig { daily_budget: 5, block: 2, ..BudgetConfig::default() };
    let a = PgCallGate::new(w.db.pool.clone(), config.clone(), clock.clone());
    let b = PgCallGate::new(pool_b, config, clock.clone());
    let business = SageBusinessId::parse("biz-1").unwrap();

    // Five calls in all, however the two processes share them (blocks of 2: a, b, then a's last 1).
    let mut admitted = 0;
    for gate in [&a, &b, &a, &b, &a, &b] {
        match gate.admit(&business, CallKind::Read).await {
            Ok(permit) => {
                admitted += 1;
                drop(permit);
            }
            Err(GateRefusal::BudgetExhausted { until }) => {
                assert_eq!(until, Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap(), "waits for the next UTC day");
            }
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(sage_budget::reserved(&w.db.pool, day).await.unwrap(), 5, "the whole budget was reserved, not more");
    // Each gate has spent what it reserved (a: 2 + 1, b: 2), so both refuse now.
    assert_eq!(admitted, 5);
    for gate in [&a, &b] {
        assert!(matches!(gate.admit(&business, CallKind::Create).await, Err(GateRefusal::BudgetExhausted { .. })));
        assert!(matches!(gate.admit_unscoped(CallKind::Read).await, Err(GateRefusal::BudgetExhausted { .. })));
    }

    // The refusal classes as rate_limited, with the wait until midnight as the hint.
    let refused = SageClientError::Gate(GateRefusal::BudgetExhausted { until: next_midnight(day) });
    assert_eq!(refused.class(), ledger_domain::ErrorClass::RateLimited);

    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 1).unwrap();
    a.admit(&business, CallKind::Read).await.expect("a new day, a new budget");
    b.admit(&business, CallKind::Read).await.expect("for every process");
    let next = day.succ_opt().unwrap();
    assert_eq!(sage_budget::reserved(&w.db.pool, next).await.unwrap(), 4, "one block each on the new day");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_in_flight_cap_holds_across_two_processes_as_sage_sim_sees_it() {
    let w = world(Duration::from_secs(300)).await;
    let custody = w.custody();
    let config = BudgetConfig { max_in_flight: 4, business_max_in_flight: 4, ..BudgetConfig::default() };
    let (gate_a, gate_b) = (gate(&w.db.pool, config.clone()), gate(&other_pool(&w).await, config));
    let (biz1, biz2) = two_businesses(&client(&w, &custody, gate_a.clone())).await;
    sim_faults(&w, json!({"latency_ms": [20, 40]})).await;
    http().delete(format!("{}/_sim/concurrency", w.sim.base_url())).send().await.unwrap();

    let mut tasks = Vec::new();
    for (i, gate) in [gate_a, gate_b].into_iter().enumerate() {
        for t in 0..8 {
            let c = client(&w, &custody, gate.clone());
            let business = if (i + t) % 2 == 0 { biz1.clone() } else { biz2.clone() };
            tasks.push(tokio::spawn(async move {
                let b = c.business(business);
                for _ in 0..5 {
                    let (answer, _) = through(|| b.financial_settings()).await;
                    answer.expect("every call ends authorised and served");
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = sim_get(&w, "/_sim/concurrency").await;
    let peak = seen["peak"].as_u64().unwrap();
    assert!(peak <= 4, "sage-sim saw {peak} calls at once, over the cap of 4: {seen}");
    assert!(peak >= 2, "the calls did run side by side: {seen}");
    assert_eq!(sim_calls(&w, "/v3.1/financial_settings", 200).await, 80, "16 tasks x 5 calls");
    assert_eq!(sim_calls(&w, "/v3.1/financial_settings", 429).await, 0);
    // Permits free their slots as they drop, in a statement of their own.
    test_support::eventually("every slot is freed", Duration::from_secs(10), || async {
        (sage_budget::live_slots(&w.db.pool).await.unwrap() == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_of_one_business_never_overlap_while_another_business_creates_alongside() {
    let w = world(Duration::from_secs(300)).await;
    let custody = w.custody();
    let config = BudgetConfig { max_wait: Duration::from_secs(5), ..BudgetConfig::default() };
    let (gate_a, gate_b) = (gate(&w.db.pool, config.clone()), gate(&other_pool(&w).await, config));
    let (biz1, biz2) = two_businesses(&client(&w, &custody, gate_a.clone())).await;
    sim_faults(&w, json!({"latency_ms": [20, 40]})).await;
    http().delete(format!("{}/_sim/concurrency", w.sim.base_url())).send().await.unwrap();

    let mut tasks = Vec::new();
    for (i, gate) in [gate_a, gate_b].into_iter().enumerate() {
        for t in 0..6 {
            let c = client(&w, &custody, gate.clone());
            let business = if t % 2 == 0 { biz1.clone() } else { biz2.clone() };
            tasks.push(tokio::spawn(async move {
                let b: SageBusiness = c.business(business);
                for n in 0..3 {
                    let body = PostContact {
                        name: format!("Budget {i}-{t}-{n}"),
                        contact_type_ids: vec!["CUSTOMER".into()],
                        ..Default::default()
                    };
                    // A read alongside: reads share the business's slots but never wait for a create.
                    let (read, _) = through(|| b.financial_settings()).await;
                    read.unwrap();
                    let (created, _) = through(|| b.create_contact(&body)).await;
                    created.expect("the create went through");
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = sim_get(&w, "/_sim/concurrency").await;
    for biz in [&biz1, &biz2] {
        let c = &seen["businesses"][biz.as_str()];
        assert_eq!(c["creates_peak"], 1, "creates of {biz} overlapped: {seen}");
    }
    assert!(seen["peak"].as_u64().unwrap() >= 2, "the two businesses' calls ran side by side: {seen}");
    assert_eq!(sim_calls(&w, "/v3.1/contacts", 201).await, 36, "12 tasks x 3 creates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_storm_pauses_that_business_in_every_process_and_not_the_others() {
    let w = world(Duration::from_secs(300)).await;
    let custody = w.custody();
    let config = BudgetConfig::default();
    let (gate_a, gate_b) = (gate(&w.db.pool, config.clone()), gate(&other_pool(&w).await, config));
    let (storm, calm) = two_businesses(&client(&w, &custody, gate_a.clone())).await;
    sim_faults(&w, json!({"business": storm.as_str(), "rate_429": 1.0, "retry_after_s": 40})).await;
    let (ca, cb) = (client(&w, &custody, gate_a.clone()), client(&w, &custody, gate_b.clone()));

    // The one 429 Sage answers: rate_limited, with its Retry-After.
    let e = ca.business(storm.clone()).financial_settings().await.unwrap_err();
    assert_eq!(e.class(), ledger_domain::ErrorClass::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(40)));
    let served_429 = sim_calls(&w, "/v3.1/financial_settings", 429).await;
    assert_eq!(served_429, 1);

    // Both processes now refuse the business at once, until about Retry-After from now, sending nothing.
    for c in [&ca, &cb] {
        let started = Instant::now();
        match c.business(storm.clone()).financial_settings().await {
            Err(SageClientError::Gate(GateRefusal::Paused { until })) => {
                let left = (until - Utc::now()).num_seconds();
                assert!((30..=40).contains(&left), "paused for about Retry-After, {left} s left");
            }
            other => panic!("expected a pause, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2), "a paused business is refused without waiting");
    }
    assert_eq!(sim_calls(&w, "/v3.1/financial_settings", 429).await, served_429, "no call reached Sage");

    // The other business is not paused: every call of both processes is served, with no refusal.
    let mut tasks = Vec::new();
    for c in [ca.clone(), cb.clone()] {
        let calm = calm.clone();
        tasks.push(tokio::spawn(async move {
            let b = c.business(calm);
            for _ in 0..10 {
                b.financial_settings().await.expect("the calm business is not held back");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(sim_calls(&w, "/v3.1/financial_settings", 200).await, 20);

    // Without Retry-After: the backoff (30 s), which in-flight 429s of one wave do not escalate.
    let backoff =
        Backoff { base: Duration::from_secs(30), cap: Duration::from_secs(300), streak: Duration::from_secs(600) };
    let first = sage_budget::pause(&w.db.pool, "no-hint", None, backoff).await.unwrap();
    let again = sage_budget::pause(&w.db.pool, "no-hint", None, backoff).await.unwrap();
    assert_eq!(first, again, "a 429 during the pause does not lengthen it");
    let left = (first - Utc::now()).num_seconds();
    assert!((25..=30).contains(&left), "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slots_of_a_killed_process_come_back_when_their_lease_runs_out() {
    let w = world(Duration::from_secs(300)).await;
    let short = BudgetConfig {
        max_in_flight: 2,
        lease: Duration::from_secs(2),
        max_wait: Duration::from_millis(100),
        ..BudgetConfig::default()
    };
    let dying = gate(&w.db.pool, short.clone());
    let survivor_pool = other_pool(&w).await;
    let survivor = gate(&survivor_pool, short);
    let business = SageBusinessId::parse("biz-1").unwrap();

    // The dying process holds both slots and never releases them (killed: no drop runs).
    for _ in 0..2 {
        std::mem::forget(dying.admit(&business, CallKind::Read).await.unwrap());
    }
    drop(dying);
    assert_eq!(survivor.admit(&business, CallKind::Read).await.unwrap_err(), GateRefusal::Busy, "both slots are held");

    // Both leases run out (2 s), and the survivor gets both slots back, holding them at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut held = Vec::new();
    while held.len() < 2 {
        match survivor.admit(&business, CallKind::Read).await {
            Ok(p) => held.push(p),
            Err(GateRefusal::Busy) if Instant::now() < deadline => {}
            Err(e) => panic!("the slots never came back ({} of 2): {e:?}", held.len()),
        }
    }
    assert_eq!(sage_budget::live_slots(&survivor_pool).await.unwrap(), 2);
}

#[tokio::test]
async fn a_late_release_does_not_free_a_slot_claimed_again_after_its_lease() {
    let w = world(Duration::from_secs(300)).await;
    sage_budget::ensure_slots(&w.db.pool, 1).await.unwrap();
    let request = |holder| sage_budget::SlotRequest {
        holder,
        business: Some("biz-1"),
        create: true,
        cap: 1,
        business_cap: 1,
        lease: Duration::from_millis(200),
    };
    let old = sage_budget::claim(&w.db.pool, request(uuid::Uuid::new_v4())).await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        match sage_budget::claim(&w.db.pool, request(uuid::Uuid::new_v4())).await.unwrap() {
            Ok(slot) => break slot,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(r) => panic!("{r:?}"),
        }
    };
    assert_eq!(new.slot, old.slot);
    assert!(!sage_budget::release(&w.db.pool, old).await.unwrap(), "the stale holder's release is refused");
    assert_eq!(sage_budget::live_slots(&w.db.pool).await.unwrap(), 1, "the new claim still holds");
    assert!(sage_budget::release(&w.db.pool, new).await.unwrap());
}

#[tokio::test]
async fn an_unreachable_database_refuses_as_unavailable() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/none")
        .unwrap();
    let g = PgCallGate::new(pool, BudgetConfig::default(), ledger_domain::clock::system_clock());
    let e = g.admit(&SageBusinessId::parse("biz-1").unwrap(), CallKind::Read).await.unwrap_err();
    assert!(matches!(e, GateRefusal::Unavailable(_)), "{e:?}");
    assert_eq!(SageClientError::Gate(e).class(), ledger_domain::ErrorClass::Transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_of_one_business_in_a_process_go_in_arrival_order() {
    // Each release used to wake every waiting create into a race for the business's create slot: the
    // order was luck, and every loser's claim a wasted transaction. They now queue in the process.
    let w = world(Duration::from_secs(300)).await;
    let gate = gate(&w.db.pool, BudgetConfig { max_wait: Duration::from_secs(10), ..BudgetConfig::default() });
    let business = SageBusinessId::parse("biz-queue").unwrap();
    // The gate's first call sets up its slots and pool; the queue is about calls after that.
    drop(gate.admit(&business, CallKind::Read).await.unwrap());
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (gate, business, order) = (gate.clone(), business.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.admit(&business, CallKind::Create).await.expect("admitted within the wait");
            order.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(40)).await;
            drop(permit);
        }));
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>(), "creates were admitted out of their order");
    // A read is not held up behind the queue of creates.
    let held = gate.admit(&business, CallKind::Create).await.unwrap();
    let started = Instant::now();
    drop(gate.admit(&business, CallKind::Read).await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(1), "a read waited for a create");
    drop(held);
}
