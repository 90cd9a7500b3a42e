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
    /// Never finishes (until the worker's deadline drops it).
    Hang,
    Panic,
}

#[derive(Default)]
pub struct Scripted {
    scripts: Mutex<HashMap<String, Script>>,
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
        let script = self.scripts.lock().unwrap_or_else(|p| p.into_inner()).get(event.name.as_str()).cloned();
        let entity = event.envelope.magento_entity_id.to_string();
        Box::pin(async move {
            match script {
                Some(Script::Return(Ok(RunOutcome::Synced(report)))) => Ok(RunOutcome::Synced(SyncReport {
                    provider_entity_id: report.provider_entity_id.map(|id| id.replace("{entity}", &entity)),
                    ..report
                })),
                Some(Script::Return(result)) => result,
                Some(Script::Hang) => std::future::pending().await,
                Some(Script::Panic) => panic!("scripted panic"),
                None => Ok(RunOutcome::received("not scripted")),
            }
        })
    }
}
