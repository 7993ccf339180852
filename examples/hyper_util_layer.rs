//! For hyper-util users: the plan's client, wrapped in `AlignLayer` with tower's
//! `ServiceBuilder`, against a local server.
//!
//! Run with `cargo run --example hyper_util_layer`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use sidecar_tuner::Tuner;
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};
use tower::{Service, ServiceBuilder};

#[tokio::main]
async fn main() -> Result<(), sidecar_tuner::BoxError> {
    let tuner = Tuner::from_path("fixtures/circuit-breaker.yaml")?.host("httpbin");
    let layer = tuner.align_layer()?; // maxConnections 1 + pending 1: one request in flight
    let client = tuner.hyper_util_client::<Empty<Bytes>>()?;
    let service = ServiceBuilder::new().layer(layer.clone()).service(client);

    let server =
        Upstream::start(UpstreamOptions::default().latency(Duration::from_millis(5))).await?;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut service = service.clone();
            let uri: http::Uri = server.url().parse().expect("a valid URL");
            tokio::spawn(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                let response = service
                    .call(http::Request::get(uri).body(Empty::new())?)
                    .await?;
                // The slot is held until the body is read.
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, sidecar_tuner::BoxError>(body)
            })
        })
        .collect();
    for call in calls {
        call.await??;
    }
    println!(
        "20 calls; at most {} in flight at the server; limit {:?}",
        server.stats().max_concurrent,
        layer.limit()
    );
    Ok(())
}
