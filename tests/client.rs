//! The clients against a real local server: every setting observed from the wire or the live
//! socket, admission counted by the server, permits followed through bodies, errors and
//! cancellations.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::upstream;

use sidecar_tuner::client::RequestBuilder;
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};
use sidecar_tuner::{AlignedClient, ErrorKind, Tuner};

/// A rule for host `svc` with the given `connectionPool` body (YAML flow mappings).
fn tuner(pool: &str) -> Tuner {
    let yaml = format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: svc}}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool: {pool}\n"
    );
    Tuner::from_yaml_str(&yaml).unwrap().host("svc")
}

/// maxConnections 5 + pending 5: `max_in_flight` = floor(0.95 x 10) = 9, starting at 4.
const NINE_IN_FLIGHT: &str = "{tcp: {maxConnections: 5}, http: {http1MaxPendingRequests: 5}}";

async fn get_all(client: &AlignedClient, url: &str, n: usize) -> Vec<u16> {
    let calls = (0..n).map(|_| {
        let client = client.clone();
        let url = url.to_owned();
        async move {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            assert_eq!(response.text().await.unwrap(), "ok");
            status
        }
    });
    join_all(calls.collect()).await
}

/// Runs the futures at once, each in its own task; their outputs in order.
async fn join_all<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_callers_never_put_more_than_nine_in_flight() {
    let tuned = tuner(NINE_IN_FLIGHT).build().unwrap();
    assert_eq!(tuned.plan.max_in_flight, Some(9));
    let server = upstream(Duration::from_millis(20)).await;
    let statuses = get_all(&tuned.client, &server.url(), 60).await;
    assert_eq!(statuses, vec![200; 60]);
    let stats = server.stats();
    assert_eq!(stats.requests, 60);
    assert!(stats.max_concurrent <= 9, "{stats:?}");
    assert!(
        stats.max_concurrent > 4,
        "the limit grew from its start of 4: {stats:?}"
    );
    assert_eq!(tuned.client.in_flight(), 0);
    assert_eq!(tuned.client.queued(), 0);
    assert_eq!(tuned.client.limit(), Some(9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_limit_starts_at_the_ceiling() {
    let tuned = tuner(NINE_IN_FLIGHT).fixed_limit(true).build().unwrap();
    assert_eq!(tuned.client.limit(), Some(9));
    let server = upstream(Duration::from_millis(50)).await;
    get_all(&tuned.client, &server.url(), 18).await;
    assert_eq!(server.stats().max_concurrent, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_body_holds_its_slot_until_dropped() {
    let tuned = tuner(NINE_IN_FLIGHT).build().unwrap();
    let server = upstream(Duration::ZERO).await;
    let client = tuned.client;
    let held = client.get(server.url()).send().await.unwrap();
    let mut streamed = client.get(server.url()).send().await.unwrap();
    assert_eq!(client.in_flight(), 2);
    drop(held);
    assert_eq!(client.in_flight(), 1);
    assert_eq!(streamed.chunk().await.unwrap().as_deref(), Some(&b"ok"[..]));
    assert_eq!(streamed.chunk().await.unwrap(), None);
    assert_eq!(client.in_flight(), 0, "the end of the body frees the slot");
}

/// A server that answers one request per connection by its path, byte by byte as written
/// here: `/chunks` a chunked body of three chunks sent apart, `/empty` an empty body, `/missing`
/// a 404, `/json` a JSON object, `/cut` 4 of the 10 bytes it announces before closing, `/stall`
/// 2 of 10 before going silent (for at most 5 s).
async fn scripted_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let ok = "HTTP/1.1 200 OK\r\nconnection: close\r\n";
                let parts: Vec<String> = match path.as_str() {
                    "/chunks" => vec![
                        format!("{ok}transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"),
                        "3\r\ndef\r\n".into(),
                        "3\r\nghi\r\n0\r\n\r\n".into(),
                    ],
                    "/empty" => vec![format!("{ok}content-length: 0\r\n\r\n")],
                    "/missing" => vec![
                        "HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
                            .into(),
                    ],
                    "/json" => vec![format!("{ok}content-length: 11\r\n\r\n{{\"a\":[1,2]}}")],
                    "/cut" => vec![format!("{ok}content-length: 10\r\n\r\nabcd")],
                    _ => vec![format!("{ok}content-length: 10\r\n\r\nab")],
                };
                for part in parts {
                    stream.write_all(part.as_bytes()).await.unwrap();
                    stream.flush().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if path == "/stall" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
    });
    url
}

/// `Response::bytes` and `json` read the whole body, however it is framed, and free the slot
/// whether the body arrives, breaks off or times out; a body that breaks off, or is not the
/// JSON expected, is a request error that names the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_is_read_whole_and_its_slot_freed_however_it_ends() {
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    let url = scripted_server().await;

    let response = client.get(format!("{url}/chunks")).send().await.unwrap();
    assert_eq!(client.in_flight(), 1, "the body is still to come");
    assert_eq!(response.bytes().await.unwrap(), &b"abcdefghi"[..]);
    assert_eq!(client.in_flight(), 0);

    let response = client.get(format!("{url}/empty")).send().await.unwrap();
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(client.in_flight(), 0);

    let response = client.get(format!("{url}/json")).send().await.unwrap();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json, serde_json::json!({"a": [1, 2]}));
    assert_eq!(client.in_flight(), 0);

    let response = client.get(format!("{url}/chunks")).send().await.unwrap();
    let err = response.json::<serde_json::Value>().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Request);
    assert_eq!(err.to_string(), format!("request to {url}/chunks failed"));
    assert_eq!(client.in_flight(), 0);

    let response = client.get(format!("{url}/cut")).send().await.unwrap();
    let err = response.bytes().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Request);
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), format!("request to {url}/cut failed"));
    assert_eq!(client.in_flight(), 0);

    let started = Instant::now();
    let response = client
        .get(format!("{url}/stall"))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap();
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the request's timeout bounds the body"
    );
    assert_eq!(client.in_flight(), 0);
}

/// `error_for_status` turns a 4xx or 5xx into an error that carries the status, as reqwest's
/// does (the `_ref` form keeps the response and its slot); a 2xx passes, and errors of other
/// kinds have no status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_or_server_error_status_becomes_an_error_with_it() {
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    let url = scripted_server().await;

    let response = client.get(format!("{url}/missing")).send().await.unwrap();
    let err = response.error_for_status_ref().unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(client.in_flight(), 1, "the response, kept, holds its slot");
    let err = response.error_for_status().unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::Request, Some(http::StatusCode::NOT_FOUND))
    );
    assert_eq!(err.to_string(), format!("request to {url}/missing failed"));
    assert_eq!(client.in_flight(), 0);

    let response = client.get(format!("{url}/json")).send().await.unwrap();
    let json: serde_json::Value = response.error_for_status().unwrap().json().await.unwrap();
    assert_eq!(json, serde_json::json!({"a": [1, 2]}));

    let response = client.get(format!("{url}/cut")).send().await.unwrap();
    let err = response.bytes().await.unwrap_err();
    assert_eq!(err.status(), None, "{err:?}");
    assert_eq!(client.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_slot_leaks_after_errors_timeouts_or_cancellation() {
    let tuned = tuner(NINE_IN_FLIGHT).build().unwrap();
    let client = tuned.client;
    let slow = upstream(Duration::from_millis(2_000)).await;

    // Cancelled: the caller drops the future mid-flight.
    let cancelled =
        tokio::time::timeout(Duration::from_millis(100), client.get(slow.url()).send()).await;
    assert!(cancelled.is_err());
    assert_eq!(client.in_flight(), 0);

    // Timed out by the request timeout.
    let err = client
        .get(slow.url())
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(client.in_flight(), 0);

    // Refused: nothing listens on the port any more.
    let closed = {
        let gone = upstream(Duration::ZERO).await;
        gone.url()
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = client.get(&closed).send().await.unwrap_err();
    assert!(!err.is_saturated() && !err.is_timeout(), "{err:?}");
    assert!(
        err.to_string().starts_with("request to http://127.0.0.1"),
        "{err}"
    );
    assert_eq!(client.in_flight(), 0);

    // Cancelled while queued: the queue count comes back too.
    let holders: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            let url = slow.url();
            tokio::spawn(async move { client.get(url).send().await })
        })
        .collect();
    while client.in_flight() < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queued =
        tokio::time::timeout(Duration::from_millis(50), client.get(slow.url()).send()).await;
    assert!(queued.is_err());
    assert_eq!(client.queued(), 0);
    for holder in &holders {
        holder.abort();
    }
    for holder in holders {
        let _ = holder.await;
    }
    assert_eq!(client.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_ends_in_saturated_after_queue_timeout() {
    let tuned = tuner("{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}")
        .queue_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert_eq!(tuned.plan.max_in_flight, Some(1));
    let server = upstream(Duration::from_millis(1_000)).await;
    let client = tuned.client;
    let busy = {
        let client = client.clone();
        let url = server.url();
        tokio::spawn(async move { client.get(url).send().await })
    };
    while client.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let start = Instant::now();
    let err = client.get(server.url()).send().await.unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Saturated, "{err:?}");
    assert!(err.is_saturated() && !err.is_request());
    assert!(waited < Duration::from_millis(600), "{waited:?}");
    // The message names the limit and how long the request waited (at least queue_timeout).
    let message = err.to_string();
    assert!(message.contains("all 1 slots"), "{message}");
    let ms: u64 = message
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    assert!((100..600).contains(&ms), "{message}");
    busy.abort();
    let _ = busy.await;
    assert_eq!(
        client.in_flight(),
        0,
        "the aborted request gave its slot back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_are_retried_for_get_but_not_for_post() {
    let overloaded = || Upstream::start(UpstreamOptions::default().overloaded_first(2));
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;

    let server = overloaded().await.unwrap();
    let response = client.get(server.url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.stats().requests, 3);
    assert_eq!(client.overloaded_responses(), 2);
    assert_eq!(client.limit(), Some(2), "4 cut to 3, then to 2");
    drop(response);

    let server = overloaded().await.unwrap();
    let response = client.post(server.url()).body("x").send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("x-envoy-overloaded"));
    assert_eq!(server.stats().requests, 1);

    let server = overloaded().await.unwrap();
    let no_retries = tuner(NINE_IN_FLIGHT).overload_retries(0).build().unwrap();
    let response = no_retries.client.get(server.url()).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.stats().requests, 1);

    // A sidecar that keeps refusing: the first attempt and the 2 retries, then its answer.
    let server = Upstream::start(UpstreamOptions::default().overloaded_first(5))
        .await
        .unwrap();
    let fresh = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    let response = fresh.get(server.url()).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.stats().requests, 3, "no more than overload_retries");
}

/// A server that records each request's method, path and query, version and `x-request-id`; it
/// redirects `/old` to `/new` (302) and answers the first `overloaded` other requests `503` with
/// `x-envoy-overloaded`, as an overflowing sidecar does, and the rest `200`.
async fn recording_server(overloaded: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let refused = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (log, refused) = (Arc::clone(&log), Arc::clone(&refused));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    let id = req.headers().get("x-request-id");
                    let id = id.map_or("-", |id| id.to_str().unwrap());
                    let line = format!("{} {} {:?} {id}", req.method(), req.uri(), req.version());
                    log.lock().unwrap().push(line);
                    let response = http::Response::builder();
                    let response = if req.uri().path() == "/old" {
                        response.status(302).header("location", "/new")
                    } else if refused.fetch_add(1, Ordering::SeqCst) < overloaded {
                        response.status(503).header("x-envoy-overloaded", "true")
                    } else {
                        response.status(200)
                    };
                    let response = response.body(String::from("ok")).unwrap();
                    async { Ok::<_, std::convert::Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

/// An overload retry is the request as sent: a `GET` without headers (whose retry is made from
/// the answer, not copied ahead), over HTTP/1.0 too, one with a header (copied ahead), a
/// `DELETE` and a `HEAD`; after a redirect, the retry goes where the redirect led, as following
/// it again would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_retry_sends_the_request_again_as_it_was_sent() {
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    let http = client.reqwest_client().clone();
    type Build<'a> = Box<dyn Fn(&str) -> reqwest::RequestBuilder + 'a>;
    let cases: [(&str, Build, [&str; 3]); 6] = [
        (
            "/items?id=7",
            Box::new(|url| http.get(url)),
            ["GET /items?id=7 HTTP/1.1 -"; 3],
        ),
        (
            "/items",
            Box::new(|url| http.get(url).version(http::Version::HTTP_10)),
            ["GET /items HTTP/1.0 -"; 3],
        ),
        (
            "/items",
            Box::new(|url| http.get(url).header("x-request-id", "42")),
            ["GET /items HTTP/1.1 42"; 3],
        ),
        (
            "/items/7",
            Box::new(|url| http.delete(url)),
            ["DELETE /items/7 HTTP/1.1 -"; 3],
        ),
        (
            "/items",
            Box::new(|url| http.head(url)),
            ["HEAD /items HTTP/1.1 -"; 3],
        ),
        (
            "/old",
            Box::new(|url| http.get(url)),
            [
                "GET /old HTTP/1.1 -",
                "GET /new HTTP/1.1 -",
                "GET /new HTTP/1.1 -",
            ],
        ),
    ];
    for (path, request, expected) in cases {
        let (url, seen) = recording_server(if path == "/old" { 1 } else { 2 }).await;
        let request = request(&format!("{url}{path}")).build().unwrap();
        let response = client.execute(request).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        drop(response);
        assert_eq!(*seen.lock().unwrap(), expected, "{path}");
    }
    assert_eq!(client.in_flight(), 0);
}

/// The AlignedClient's own builders are reqwest's, with its retry rule: a `HEAD` answered with an
/// overload is sent again (RFC 9110 9.2.2: idempotent), a `PATCH` is not (RFC 5789 2: "PATCH is
/// neither safe nor idempotent") and its caller gets the sidecar's 503; a request's version is
/// kept by its retries; a cloned builder sends the same request again, and an invalid one cannot
/// be cloned, as `reqwest::RequestBuilder::try_clone` says. A response tells where it came from
/// and takes changes to its headers and extensions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_patch_version_and_clones_are_reqwest_s_with_the_retry_rule() {
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    type Build = fn(&AlignedClient, &str) -> RequestBuilder;
    let cases: [(Build, u16, &[&str]); 3] = [
        (
            |client, url| client.head(format!("{url}/items")),
            200,
            &["HEAD /items HTTP/1.1 -"; 3],
        ),
        (
            |client, url| client.patch(format!("{url}/items/7")).body("{}"),
            503,
            &["PATCH /items/7 HTTP/1.1 -"],
        ),
        (
            |client, url| {
                let request = client.get(format!("{url}/items"));
                request.version(http::Version::HTTP_10)
            },
            200,
            &["GET /items HTTP/1.0 -"; 3],
        ),
    ];
    for (request, status, expected) in cases {
        let (url, seen) = recording_server(2).await;
        let response = request(&client, &url).send().await.unwrap();
        assert_eq!(response.status(), status, "{expected:?}");
        let overloaded = response.headers().contains_key("x-envoy-overloaded");
        assert_eq!(
            overloaded,
            status == 503,
            "the sidecar's answer is passed on"
        );
        drop(response);
        assert_eq!(*seen.lock().unwrap(), expected);
    }

    let (url, seen) = recording_server(0).await;
    let put = client
        .put(format!("{url}/items/7"))
        .header("x-request-id", "9")
        .body("v");
    let again = put
        .try_clone()
        .expect("a builder with a bytes body can be cloned");
    let address: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    for request in [put, again] {
        let mut response = request.send().await.unwrap();
        assert_eq!(response.remote_addr(), Some(address));
        response
            .headers_mut()
            .insert("x-seen", "1".parse().unwrap());
        assert_eq!(response.headers()["x-seen"], "1");
        response.extensions_mut().insert(7u8);
        assert_eq!(response.extensions().get::<u8>(), Some(&7));
    }
    assert_eq!(*seen.lock().unwrap(), ["PUT /items/7 HTTP/1.1 9"; 2]);
    let invalid = client.get(&url).header("x-request-id", "a\nb");
    assert!(
        invalid.try_clone().is_none(),
        "an invalid request is not cloned"
    );
    assert_eq!(client.in_flight(), 0);
}

/// A request takes a free slot when it is sent, as reqwest's `send` builds its request when
/// called (nothing goes out before the first poll), and gives it back if dropped unpolled; with
/// every slot taken it waits for one when first polled, not when sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_takes_a_free_slot_when_sent_and_waits_for_one_when_polled() {
    let client = tuner(NINE_IN_FLIGHT).build().unwrap().client;
    assert_eq!(client.limit(), Some(4));
    let server = upstream(Duration::ZERO).await;
    let unpolled = client.get(server.url()).send();
    assert_eq!(client.in_flight(), 1);
    drop(unpolled);
    assert_eq!(client.in_flight(), 0);

    let holding: Vec<_> = (0..4).map(|_| client.get(server.url()).send()).collect();
    assert_eq!(client.in_flight(), 4);
    let fifth = client.get(server.url()).send();
    assert_eq!((client.in_flight(), client.queued()), (4, 0));
    let fifth = tokio::spawn(fifth);
    assert!(common::eventually(Duration::from_secs(5), || client.queued() == 1).await);
    assert_eq!(server.stats().requests, 0, "nothing was sent before a poll");
    drop(holding);
    let response = fifth.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!((client.in_flight(), client.queued()), (1, 0));
    drop(response);
    assert_eq!(client.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_speaks_http1_to_a_server_that_offers_h2c() {
    use hyper_util::server::conn::auto;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    seen.send(req.version()).unwrap();
                    async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
                    }
                });
                let _ = auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let url = format!("http://{addr}/");
    let tuned = tuner(NINE_IN_FLIGHT).build().unwrap();
    tuned
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let hyper_util =
        Tuner::hyper_util_client::<http_body_util::Empty<bytes::Bytes>>(&tuner(NINE_IN_FLIGHT))
            .unwrap();
    hyper_util.get(url.parse().unwrap()).await.unwrap();
    assert_eq!(seen_rx.recv().await, Some(http::Version::HTTP_11));
    assert_eq!(seen_rx.recv().await, Some(http::Version::HTTP_11));
    // The wire shows HTTP/1.1 whatever the builder says while this crate compiles reqwest
    // without `http2`; an application whose own reqwest turns `http2` on (Cargo unifies the
    // features) keeps HTTP/1.1 only through `http1_only`, so the builder must carry it.
    let builder = format!("{:?}", tuner(NINE_IN_FLIGHT).reqwest_builder().unwrap());
    assert!(builder.contains("http1_only: true"), "{builder}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_idle_connections_survive_than_the_idle_bound() {
    // maxConnections 4: idle bound floor(0.95 x 4) = 3.
    let tuner = tuner("{tcp: {maxConnections: 4}, http: {http1MaxPendingRequests: 100}}");
    assert_eq!(tuner.plan().unwrap().pool_max_idle_per_host, Some(3));
    let client = tuner.reqwest_builder().unwrap().build().unwrap();
    let server = upstream(Duration::from_millis(100)).await;
    let requests: Vec<_> = (0..8).map(|_| client.get(server.url()).send()).collect();
    for response in join_all(requests).await {
        response.unwrap().bytes().await.unwrap();
    }
    assert_eq!(server.stats().connections, 8);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats().open_connections > 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.stats().open_connections, 3);
}

async fn get_ok(client: &AlignedClient, server: &Upstream) {
    let response = client.get(server.url()).send().await.unwrap();
    response.bytes().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_past_the_pool_idle_timeout_is_not_reused() {
    // idleTimeout 1s: pool_idle_timeout = 0.9 x 1s.
    let tuner = tuner("{tcp: {maxConnections: 4}, http: {idleTimeout: 1s}}");
    assert_eq!(
        tuner.plan().unwrap().pool_idle_timeout,
        Duration::from_millis(900)
    );
    let client = tuner.build().unwrap().client;
    let server = upstream(Duration::ZERO).await;
    get_ok(&client, &server).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    get_ok(&client, &server).await;
    assert_eq!(
        server.stats().connections,
        1,
        "reused within the idle timeout"
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    get_ok(&client, &server).await;
    assert_eq!(server.stats().connections, 2, "a new connection after it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_bounds_a_connect_that_hangs() {
    // A listener whose accept queue is full drops new SYNs, so connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(100), connect).await {
            fillers.push(stream);
        }
    }
    let tuner = tuner("{tcp: {maxConnections: 4, connectTimeout: 300ms}}");
    let client = tuner.build().unwrap().client;
    let start = Instant::now();
    let err = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

/// Reads TCP options from the live client socket connected to `port`, found through
/// `/proc/net/tcp` and this process's file descriptors.
#[cfg(target_os = "linux")]
mod socket {
    use std::os::fd::RawFd;

    pub struct Options {
        pub nodelay: bool,
        pub keepalive: bool,
        pub idle_s: i32,
        pub interval_s: i32,
        pub probes: i32,
    }

    fn inode_of_connection_to(port: u16) -> Option<String> {
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        table.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = u16::from_str_radix(fields[2].split(':').nth(1)?, 16).ok()?;
            // State 01 is ESTABLISHED.
            (remote_port == port && fields[3] == "01").then(|| fields[9].to_owned())
        })
    }

    fn fd_of_inode(inode: &str) -> Option<RawFd> {
        let wanted = format!("socket:[{inode}]");
        std::fs::read_dir("/proc/self/fd").ok()?.find_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            (target.to_str()? == wanted).then(|| entry.file_name().to_str()?.parse().ok())?
        })
    }

    fn get(fd: RawFd, level: i32, name: i32) -> i32 {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `fd` is an open socket of this process; value and len are valid for writes.
        let rc =
            unsafe { libc::getsockopt(fd, level, name, (&raw mut value).cast(), &raw mut len) };
        assert_eq!(rc, 0, "getsockopt({name})");
        value
    }

    pub fn client_options(port: u16) -> Options {
        let inode = inode_of_connection_to(port).expect("an established connection");
        let fd = fd_of_inode(&inode).expect("the socket is this process's");
        Options {
            nodelay: get(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY) != 0,
            keepalive: get(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE) != 0,
            idle_s: get(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
            interval_s: get(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
            probes: get(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
        }
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_and_nodelay_are_set_on_the_live_socket() {
    let with =
        tuner("{tcp: {maxConnections: 4, tcpKeepalive: {time: 300s, interval: 30s, probes: 3}}}");
    let without = tuner("{tcp: {maxConnections: 4}}");
    for (tuner, keepalive) in [(with, true), (without, false)] {
        let expect = |port| {
            let options = socket::client_options(port);
            assert!(options.nodelay);
            assert_eq!(options.keepalive, keepalive);
            if keepalive {
                let probes = (options.idle_s, options.interval_s, options.probes);
                assert_eq!(probes, (300, 30, 3));
            }
        };
        let server = upstream(Duration::ZERO).await;
        let client = tuner.build().unwrap().client;
        let response = client.get(server.url()).send().await.unwrap();
        expect(server.addr().port());
        drop(response);

        let server = upstream(Duration::ZERO).await;
        let hyper_util =
            Tuner::hyper_util_client::<http_body_util::Empty<bytes::Bytes>>(&tuner).unwrap();
        hyper_util.get(server.url().parse().unwrap()).await.unwrap();
        expect(server.addr().port());
    }
}
