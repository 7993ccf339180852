//! Clients built from a [`ClientPlan`]: a pre-set [`reqwest::ClientBuilder`], a hyper-util
//! client, the [`AlignedClient`] (reqwest with adaptive admission and overload retry), and the
//! [`AlignLayer`] that gives any tower `Service` the same admission.
//!
//! Admission keeps requests in flight under the plan's ceiling `max_in_flight`, so the sidecar
//! never answers `503` with `x-envoy-overloaded`: the limit starts at the sidecar's pending
//! queue (with headroom), and while every slot is busy it grows by that whole queue (the
//! plan's `slow_start_step`) per round trip, halved when the round trips show a sidecar that
//! does not keep up, once the requests of the last increase (the only ones that can wait for a
//! new upstream connection) are answered; it falls by a quarter on each overload answer and
//! grows by one per round trip after it, and starts over when the sidecar cannot be reached,
//! since a restarted sidecar is cold. [`AdaptiveLimit`] states the rule, why it cannot
//! overflow the pending queue, and what that assumes (a sidecar that keeps up with its
//! requests). A slot is held until the response body is read to its end or dropped, because an
//! HTTP/1.1 connection is busy until then.

mod admission;
mod align;
mod aligned;
mod limit;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use admission::{AlignOptions, OVERLOADED_HEADER, is_idempotent, is_overload};
pub use align::{AlignLayer, AlignService, PermitBody, ResponseFuture};
pub use aligned::{AlignedClient, RequestBuilder, Response};
pub use limit::AdaptiveLimit;

use crate::plan::ClientPlan;

/// The idle bound to give a pool: the plan's, never 0 (reqwest and hyper-util take 0 as "no
/// pooling at all"); none is `usize::MAX`, their default.
fn idle_bound(plan: &ClientPlan) -> usize {
    plan.pool_max_idle_per_host.map_or(usize::MAX, |n| n.max(1))
}

/// A [`reqwest::ClientBuilder`] with the plan's pool, protocol, timeouts and keep-alive set:
/// add TLS roots, proxies or default headers, then `build()`.
///
/// Sets `pool_max_idle_per_host`, `pool_idle_timeout`, `http1_only`, `connect_timeout`,
/// `tcp_keepalive` (with interval and retries when the rule sets them) and `tcp_nodelay`.
/// reqwest has no cap on connections per host: only admission ([`AlignedClient`]) bounds them.
pub fn reqwest_builder(plan: &ClientPlan) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        // Never 0: reqwest takes 0 as "no pooling at all".
        .pool_max_idle_per_host(idle_bound(plan))
        .pool_idle_timeout(plan.pool_idle_timeout)
        .connect_timeout(plan.connect_timeout)
        .tcp_keepalive(plan.tcp_keepalive)
        .tcp_keepalive_interval(plan.tcp_keepalive_interval)
        .tcp_keepalive_retries(plan.tcp_keepalive_retries)
        .tcp_nodelay(true);
    if plan.http1_only {
        builder.http1_only()
    } else {
        builder
    }
}

/// A hyper-util client with the plan's pool, connect timeout and keep-alive, speaking HTTP/1.1.
///
/// Its [`HttpConnector`] has the plan's connect timeout, keep-alive (time, interval, probes)
/// and `TCP_NODELAY`; its pool the plan's idle bound and idle timeout. Wrap it in
/// [`AlignLayer`] to bound requests in flight.
pub fn hyper_util_client<B>(plan: &ClientPlan) -> Client<HttpConnector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(plan.connect_timeout));
    connector.set_keepalive(plan.tcp_keepalive);
    connector.set_keepalive_interval(plan.tcp_keepalive_interval);
    connector.set_keepalive_retries(plan.tcp_keepalive_retries);
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(plan.pool_idle_timeout)
        .pool_max_idle_per_host(idle_bound(plan))
        .build(connector)
}
