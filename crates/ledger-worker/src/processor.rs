//! What a claimed event is turned into. The Sage mapping plugs in here; until it exists the
//! [`ReceiveOnly`] processor marks events `received`, and nothing pretends to sync.
use std::future::Future;
use std::pin::Pin;

use ledger_store::runs::{Claim, Outcome};

pub trait EventProcessor: Send + Sync + 'static {
    fn process<'a>(&'a self, claim: &'a Claim) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct ReceiveOnly;

impl EventProcessor for ReceiveOnly {
    fn process<'a>(&'a self, _claim: &'a Claim) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>> {
        Box::pin(async { Outcome::received("no sync configured yet") })
    }
}
