//! Release-mode bench: the same invoice-creation load as `ledger sage-sim bench`, against an in-process simulator.
//!
//! `cargo run --release -p sage-sim --example sage_bench -- [REQUESTS] [CONNECTIONS]`

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let connections = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let report = sage_sim::run_bench(None, requests, connections).await?;
    println!("{report}");
    Ok(())
}
