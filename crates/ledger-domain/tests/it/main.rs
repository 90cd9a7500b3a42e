//! The mapping end to end over both simulators: the seeded store's invoices, payments, credit memos
//! and products, mapped by `ledger_domain::mapping` and accepted by sage-sim, with Sage's totals
//! equal to what the customers paid.
mod flow;
mod magento;
mod sage;
mod seeded;
