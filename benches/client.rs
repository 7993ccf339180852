//! Per-request overhead of `AlignedClient` against a bare `reqwest::Client` with the same pool,
//! below the bound, on a local server. Runs alternate so both see the same machine state.
//!
//! `cargo bench --bench client [-- --requests N --callers C --rounds R]`

use std::time::Instant;

use sidecar_tuner::upstream::{Upstream, UpstreamOptions};
use sidecar_tuner::{AlignedClient, Tuner};

struct Args {
    requests: usize,
    callers: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut args = Args {
        requests: 10_000,
        callers: 8,
        rounds: 8,
    };
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        let value = pair[1].parse();
        match (pair[0].as_str(), value) {
            ("--requests", Ok(n)) => args.requests = n,
            ("--callers", Ok(n)) => args.callers = n,
            ("--rounds", Ok(n)) => args.rounds = n,
            _ => {}
        }
    }
    args
}

/// A client the bench can drive.
trait Get: Clone + Send + Sync + 'static {
    fn get_ok(&self, url: &str) -> impl Future<Output = ()> + Send;
}

impl Get for reqwest::Client {
    async fn get_ok(&self, url: &str) {
        let response = self.get(url).send().await.expect("a response");
        response.bytes().await.expect("a body");
    }
}

impl Get for AlignedClient {
    async fn get_ok(&self, url: &str) {
        let response = self.get(url).send().await.expect("a response");
        response.bytes().await.expect("a body");
    }
}

/// Sends `requests` GETs from `callers` tasks, each with its own clone of the client, as an
/// application shares one; returns requests per second.
async fn run(client: &impl Get, url: &str, requests: usize, callers: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|i| {
            let (client, url) = (client.clone(), url.to_owned());
            let share = requests / callers + usize::from(i < requests % callers);
            tokio::spawn(async move {
                for _ in 0..share {
                    client.get_ok(&url).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a caller panicked");
    }
    requests as f64 / start.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = Upstream::start(UpstreamOptions::default()).await.expect("a server");
        let url = server.url();
        // maxConnections 100 + pending 100: ceiling 190, start 95, far above the callers.
        let tuner = Tuner::from_yaml_str(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 100}, http: {http1MaxPendingRequests: 100}}\n",
        )
        .expect("a valid rule")
        .host("svc");
        let aligned = tuner.build().expect("a client").client;
        let bare = tuner.reqwest_builder().expect("a plan").build().expect("a client");

        let bare_run = || run(&bare, &url, args.requests, args.callers);
        let aligned_run = || run(&aligned, &url, args.requests, args.callers);
        // Warm both pools, then pairs in alternating order (AB, BA, ...): the ratio of each
        // pair cancels the machine's drift, and the median of the ratios its outliers.
        bare_run().await;
        aligned_run().await;
        let (mut bare_rps, mut aligned_rps, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..args.rounds {
            let (b, a) = if round % 2 == 0 {
                let b = bare_run().await;
                (b, aligned_run().await)
            } else {
                let a = aligned_run().await;
                (bare_run().await, a)
            };
            bare_rps.push(b);
            aligned_rps.push(a);
            ratios.push(a / b);
        }
        let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = median(ratios.clone());
        println!(
            "{} requests per run, {} pairs, {} callers, 2 worker threads, local HTTP/1.1 server",
            args.requests, args.rounds, args.callers
        );
        println!("bare reqwest::Client   {:>9.0} req/s (median)", median(bare_rps));
        println!("AlignedClient          {:>9.0} req/s (median)", median(aligned_rps));
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        println!("AlignedClient / bare per pair: {}", shown.join(" "));
        println!(
            "AlignedClient / bare   {ratio:.3} median, {worst:.3} worst ({:+.1}% throughput in the worst pair; target: no pair more than 1% lower: {})",
            (worst - 1.0) * 100.0,
            if worst >= 0.99 { "met" } else { "NOT met" }
        );
        assert_eq!(aligned.in_flight(), 0);
    });
}
