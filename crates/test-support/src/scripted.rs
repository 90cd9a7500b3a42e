//! A processor for tests of everything around the sync (callbacks, ordering, retries): it answers the
//! outcome a test scripts per event name, standing in for the Sage mapping, which is not built yet.
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use ledger_store::runs::{Claim, Outcome};
use ledger_worker::EventProcessor;

#[derive(Default)]
pub struct Scripted {
    outcomes: Mutex<HashMap<String, Outcome>>,
}

impl Scripted {
    /// Every event named `event` ends with `outcome` (`{entity}` in a synced id is replaced by the
    /// Magento entity id).
    pub fn on(self, event: &str, outcome: Outcome) -> Self {
        self.outcomes.lock().unwrap_or_else(|p| p.into_inner()).insert(event.to_owned(), outcome);
        self
    }
}

impl EventProcessor for Scripted {
    fn process<'a>(&'a self, claim: &'a Claim) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>> {
        let scripted = self.outcomes.lock().unwrap_or_else(|p| p.into_inner()).get(&claim.event_name).cloned();
        let outcome = match scripted {
            Some(Outcome::Done { state, detail, mut sync }) => {
                sync.provider_entity_id =
                    sync.provider_entity_id.map(|id| id.replace("{entity}", &claim.magento_entity_id.to_string()));
                Outcome::Done { state, detail, sync }
            }
            Some(other) => other,
            None => Outcome::received("not scripted"),
        };
        Box::pin(async move { outcome })
    }
}
