//! A processor for tests of everything around the sync (callbacks, ordering, retries, deadlines,
//! panics): it does what a test scripts per event name, standing in for the sync engine.
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_domain::processing::BoxFuture;
use ledger_domain::{ClaimedEvent, EventProcessor, RunFailure, RunOutcome, RunResult, SyncReport};

/// What a scripted event does when run.
#[derive(Debug, Clone)]
enum Script {
    Return(RunResult),
    /// One result per run, in order; the last repeats.
    Turns(Vec<RunResult>),
    /// Never finishes (until the worker's deadline drops it).
    Hang,
    Panic,
}

#[derive(Default)]
pub struct Scripted {
    scripts: Mutex<HashMap<String, Script>>,
    /// Runs so far per event name (for `Turns`).
    turns: Mutex<HashMap<String, usize>>,
    runs: AtomicUsize,
}

impl Scripted {
    /// Every event named `event` ends with `outcome` (`{entity}` in a synced id is replaced by the
    /// Magento entity id).
    pub fn on(self, event: &str, outcome: RunOutcome) -> Self {
        self.script(event, Script::Return(Ok(outcome)))
    }

    /// Every event named `event` fails with `failure`.
    pub fn failing(self, event: &str, failure: RunFailure) -> Self {
        self.script(event, Script::Return(Err(failure)))
    }

    /// Events named `event` end with `results` in turn, one per run (across entities); the last repeats.
    pub fn in_turn(self, event: &str, results: Vec<RunResult>) -> Self {
        assert!(!results.is_empty(), "in_turn needs at least one result");
        self.script(event, Script::Turns(results))
    }

    /// Every event named `event` runs forever.
    pub fn hanging(self, event: &str) -> Self {
        self.script(event, Script::Hang)
    }

    /// Every event named `event` panics.
    pub fn panicking(self, event: &str) -> Self {
        self.script(event, Script::Panic)
    }

    /// How many runs started.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn script(self, event: &str, script: Script) -> Self {
        self.scripts.lock().unwrap_or_else(|p| p.into_inner()).insert(event.to_owned(), script);
        self
    }
}

impl EventProcessor for Scripted {
    fn process<'a>(&'a self, event: &'a ClaimedEvent) -> BoxFuture<'a, RunResult> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let script = match self.scripts.lock().unwrap_or_else(|p| p.into_inner()).get(event.name.as_str()).cloned() {
            Some(Script::Turns(results)) => {
                let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
                let turn = turns.entry(event.name.as_str().to_owned()).or_default();
                let result = results[(*turn).min(results.len() - 1)].clone();
                *turn += 1;
                Some(Script::Return(result))
            }
            other => other,
        };
        let entity = event.envelope.magento_entity_id.to_string();
        Box::pin(async move {
            match script {
                Some(Script::Return(Ok(RunOutcome::Synced(report)))) => Ok(RunOutcome::Synced(SyncReport {
                    provider_entity_id: report.provider_entity_id.map(|id| id.replace("{entity}", &entity)),
                    ..report
                })),
                Some(Script::Return(result)) => result,
                Some(Script::Turns(_)) => unreachable!("turns are resolved to a result above"),
                Some(Script::Hang) => std::future::pending().await,
                Some(Script::Panic) => panic!("scripted panic"),
                None => Ok(RunOutcome::received("not scripted")),
            }
        })
    }
}
