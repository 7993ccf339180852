//! The library's flow on the bundled example: a DestinationRule in, a ready client, its plan
//! and its report out; then 200 concurrent requests to a local server standing in for the
//! service, none of them above the sidecar's admission.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use sidecar_tuner::upstream::{Upstream, UpstreamOptions};
use sidecar_tuner::{AlignedClient, ClientPlan, Report, Tuner};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tuned = Tuner::from_path("fixtures/reviews.yaml")?
        .host("reviews") // a short name is taken in the client's namespace, like cluster DNS
        .namespace("bookinfo") // the client's namespace
        .port(9080) // selects portLevelSettings (none for 9080 here)
        .headroom(0.95)
        .build()?;
    let client: AlignedClient = tuned.client;
    let report: Report = tuned.report;
    let plan: ClientPlan = tuned.plan;

    println!("plan: {}", serde_json::to_string_pretty(&plan)?);
    println!("\nreport:\n{report}");

    let server =
        Upstream::start(UpstreamOptions::default().latency(Duration::from_millis(5))).await?;
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            let url = server.url();
            tokio::spawn(async move { client.get(url).send().await?.bytes().await })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        ok += usize::from(call.await?.is_ok());
    }
    let stats = server.stats();
    println!(
        "200 calls: {ok} ok; at most {} in flight at the server (ceiling {:?}); limit now {:?}",
        stats.max_concurrent,
        plan.max_in_flight,
        client.limit()
    );
    Ok(())
}
