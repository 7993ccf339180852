//! Randomized stress of the permit logic: thousands of operations from many tasks on tokio's
//! multi-threaded runtime (send and read, drop the response unread, cancel mid-flight, hold a
//! body, POST, overload answers and their retries, queue timeouts), racing each other. No slot
//! may be lost or counted twice: in flight never exceeds the ceiling, and everything returns to
//! zero at the end.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sidecar_tuner::ClientPlan;
use sidecar_tuner::client::{AlignLayer, AlignOptions, OVERLOADED_HEADER};
use tower::{Layer, Service};

const CEILING: usize = 6;

/// A service that answers after a random pause: mostly 200, sometimes the sidecar's overload
/// answer, sometimes a transport error.
#[derive(Clone)]
struct Flaky {
    seed: Arc<AtomicUsize>,
}

impl Service<http::Request<Full<Bytes>>> for Flaky {
    type Response = http::Response<Full<Bytes>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<Full<Bytes>>) -> Self::Future {
        let mut rng = fastrand::Rng::with_seed(self.seed.fetch_add(1, Ordering::Relaxed) as u64);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_micros(rng.u64(0..1500))).await;
            match rng.u8(0..20) {
                0 => Err(std::io::Error::other("connection reset")),
                1 | 2 => Ok(http::Response::builder()
                    .status(503)
                    .header(OVERLOADED_HEADER, "true")
                    .body(Full::new(Bytes::from_static(b"overflow")))
                    .unwrap()),
                _ => Ok(http::Response::new(Full::new(Bytes::from_static(b"ok")))),
            }
        })
    }
}

/// One random operation; returns whether it ended in [`sidecar_tuner::Error::Saturated`].
async fn one_operation(
    service: &mut sidecar_tuner::client::AlignService<Flaky>,
    rng: &mut fastrand::Rng,
) -> bool {
    let method = if rng.u8(0..5) == 0 {
        http::Method::POST
    } else {
        http::Method::GET
    };
    let request = http::Request::builder()
        .method(method)
        .uri("http://sidecar/")
        .body(Full::new(Bytes::from_static(b"x")))
        .unwrap();
    let send = async {
        poll_fn(|cx| service.poll_ready(cx)).await?;
        service.call(request).await
    };
    let outcome = match rng.u8(0..4) {
        // Cancelled somewhere between queueing and the body.
        0 => {
            let limit = Duration::from_micros(rng.u64(0..2000));
            match tokio::time::timeout(limit, send).await {
                Ok(outcome) => outcome.map(drop),
                Err(_) => return false,
            }
        }
        // Read to the end.
        1 => send.await.map(|response| {
            tokio::spawn(response.into_body().collect());
        }),
        // Held unread for a while, then dropped.
        2 => match send.await {
            Ok(response) => {
                tokio::time::sleep(Duration::from_micros(rng.u64(0..1000))).await;
                drop(response);
                Ok(())
            }
            Err(e) => Err(e),
        },
        // Dropped at once.
        _ => send.await.map(drop),
    };
    outcome.is_err_and(|e| e.is_saturated())
}

fn stress(seed: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let plan = ClientPlan::bounded(CEILING, 2);
        let options = AlignOptions::default()
            .queue_timeout(Duration::from_millis(3))
            .overload_retries(2)
            .fixed_limit(false);
        let layer = AlignLayer::new(&plan, options);
        let inner = Flaky {
            seed: Arc::new(AtomicUsize::new(seed as usize * 1_000_000)),
        };
        let worst = Arc::new(AtomicUsize::new(0));
        let monitor = {
            let (layer, worst) = (layer.clone(), Arc::clone(&worst));
            tokio::spawn(async move {
                loop {
                    worst.fetch_max(layer.in_flight(), Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let tasks: Vec<_> = (0..40)
            .map(|task| {
                let mut service = layer.layer(inner.clone());
                tokio::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(seed * 1000 + task);
                    let mut saturated = 0;
                    for _ in 0..60 {
                        saturated += usize::from(one_operation(&mut service, &mut rng).await);
                    }
                    saturated
                })
            })
            .collect();
        let mut saturated = 0;
        for task in tasks {
            saturated += tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("no operation hangs")
                .unwrap();
        }
        // Let the spawned body reads finish.
        tokio::time::timeout(Duration::from_secs(10), async {
            while layer.in_flight() > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .ok();
        monitor.abort();
        assert!(
            worst.load(Ordering::Relaxed) <= CEILING,
            "seed {seed}: {} in flight, ceiling {CEILING}",
            worst.load(Ordering::Relaxed)
        );
        assert_eq!(layer.in_flight(), 0, "seed {seed}: a slot was lost");
        assert_eq!(layer.queued(), 0, "seed {seed}: a waiter was lost");
        assert!(
            layer.overloaded_responses() > 0,
            "seed {seed}: overloads were exercised"
        );
        assert!(saturated > 0, "seed {seed}: queue timeouts were exercised");
        let limit = layer.limit().unwrap();
        assert!((1..=CEILING).contains(&limit), "seed {seed}: limit {limit}");
    });
}

#[test]
fn no_slot_is_lost_or_counted_twice_under_random_interleavings() {
    for seed in 1..=5 {
        stress(seed);
    }
}
