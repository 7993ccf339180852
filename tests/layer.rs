//! `AlignLayer`: tower's readiness contract with mock services, then the hyper-util client
//! wrapped in it against a real local server.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use sidecar_tuner::Tuner;
use sidecar_tuner::client::{AlignLayer, AlignOptions};
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{Layer, Service};
use tower_test::mock;

fn plan(max_in_flight: usize) -> sidecar_tuner::ClientPlan {
    sidecar_tuner::ClientPlan::bounded(max_in_flight, max_in_flight)
}

type Req = http::Request<Empty<Bytes>>;
type Res = http::Response<Full<Bytes>>;

#[tokio::test]
async fn pending_when_full_and_woken_when_a_body_is_dropped() {
    let layer = AlignLayer::new(&plan(1), AlignOptions::default());
    let (service, mut handle) = mock::pair::<Req, Res>();
    let mut first = mock::Spawn::new(layer.layer(service.clone()));
    let mut second = mock::Spawn::new(layer.layer(service));

    assert_ready_ok!(first.poll_ready());
    assert_pending!(second.poll_ready());
    let response = tokio::spawn(first.call(http::Request::new(Empty::new())));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(http::Response::new(Full::new(Bytes::from_static(b"ok"))));
    let response = response.await.unwrap().unwrap();
    assert_eq!(layer.in_flight(), 1, "the body holds the slot");
    assert_pending!(second.poll_ready());

    drop(response);
    assert!(second.is_woken());
    assert_ready_ok!(second.poll_ready());
    assert_eq!(layer.in_flight(), 1, "the second service holds it now");
}

#[tokio::test]
async fn reading_the_body_to_its_end_frees_the_slot() {
    let layer = AlignLayer::new(&plan(1), AlignOptions::default());
    let (service, mut handle) = mock::pair::<Req, Res>();
    let mut service = mock::Spawn::new(layer.layer(service));
    assert_ready_ok!(service.poll_ready());
    let response = tokio::spawn(service.call(http::Request::new(Empty::new())));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(http::Response::new(Full::new(Bytes::from_static(b"ok"))));
    let response = response.await.unwrap().unwrap();
    let (_, mut body) = response.into_parts();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "ok");
    assert_eq!(
        layer.in_flight(),
        0,
        "freed with the last frame, body still alive"
    );
    drop(body);
    assert_eq!(layer.in_flight(), 0);
}

#[tokio::test]
async fn a_clone_starts_without_a_slot_and_an_error_frees_it() {
    let layer = AlignLayer::new(&plan(1), AlignOptions::default());
    let (service, mut handle) = mock::pair::<Req, Res>();
    let mut service = mock::Spawn::new(layer.layer(service));
    assert_ready_ok!(service.poll_ready());
    let mut clone = mock::Spawn::new(service.get_ref().clone());
    assert_pending!(clone.poll_ready());
    let response = tokio::spawn(service.call(http::Request::new(Empty::new())));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_error("the upstream reset the connection");
    let err = response.await.unwrap().unwrap_err();
    assert!(err.to_string().starts_with("request to /"), "{err}");
    assert!(clone.is_woken(), "the freed slot goes to the waiting clone");
    assert_ready_ok!(clone.poll_ready());
    assert_eq!(layer.in_flight(), 1, "held by the clone now");
    drop(clone);
    assert_eq!(layer.in_flight(), 0);
    assert_eq!(layer.queued(), 0);
}

#[tokio::test]
async fn waiting_for_readiness_ends_in_saturated() {
    let options = AlignOptions::default().queue_timeout(Duration::from_millis(50));
    let layer = AlignLayer::new(&plan(1), options);
    let (service, _handle) = mock::pair::<Req, Res>();
    let mut first = layer.layer(service.clone());
    let mut second = layer.layer(service);
    std::future::poll_fn(|cx| first.poll_ready(cx))
        .await
        .unwrap();
    let err = std::future::poll_fn(|cx| second.poll_ready(cx))
        .await
        .unwrap_err();
    assert!(err.is_saturated(), "{err}");
    assert_eq!(layer.queued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hyper_util_client_under_the_layer_keeps_nine_in_flight() {
    let tuner = Tuner::from_yaml_str(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 5}, http: {http1MaxPendingRequests: 5}}\n",
    )
    .unwrap()
    .host("svc");
    assert_eq!(tuner.plan().unwrap().max_in_flight, Some(9));
    let client = tuner.hyper_util_client::<Empty<Bytes>>().unwrap();
    let layer = tuner.align_layer().unwrap();
    let service = layer.layer(client);
    let server = Upstream::start(
        UpstreamOptions::default()
            .latency(Duration::from_millis(20))
            .overloaded_first(1),
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let mut service = service.clone();
            let uri: http::Uri = server.url().parse().unwrap();
            tokio::spawn(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                let response = service
                    .call(http::Request::get(uri).body(Empty::new()).unwrap())
                    .await?;
                let status = response.status();
                response.into_body().collect().await.unwrap();
                Ok::<_, sidecar_tuner::Error>(status)
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap().unwrap(),
            200,
            "the one overload was retried"
        );
    }
    let stats = server.stats();
    assert_eq!(stats.requests, 61);
    assert!(stats.max_concurrent <= 9, "{stats:?}");
    assert_eq!(layer.in_flight(), 0);
    assert_eq!(layer.overloaded_responses(), 1);
}
