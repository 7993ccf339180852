//! Peers (feature `peers`): generic adaptive concurrency limiters from the `tower-acc` crate
//! (Netflix concurrency-limits style), layered on the `default` client as a user would layer
//! them, so that the bench measures what knowing the sidecar's rule is worth. Each takes its
//! algorithm's defaults (Vegas: start 20, at most 1000; AIMD: start and floor 20, at most 200,
//! backoff 0.9) and counts a `5xx` answer as a failure, as the crate's docs advise for an HTTP
//! client (its default counts only transport errors, and would never see a `503`).

use std::future::poll_fn;

use tower::{Layer, Service};
use tower_acc::{Aimd, Classifier, ConcurrencyLimit, ConcurrencyLimitLayer, Vegas};

/// A generic adaptive limiter the bench runs beside the clients that know the sidecar's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `tower_acc::Vegas`: grows while the round trip stays near its minimum.
    Vegas,
    /// `tower_acc::Aimd`: grows by one per answer, cuts by 10% on a failure.
    Aimd,
}

impl Peer {
    /// Both, in report order.
    pub const ALL: [Peer; 2] = [Peer::Vegas, Peer::Aimd];

    /// The name in reports and on the command line: `acc-vegas`, `acc-aimd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Peer::Vegas => "acc-vegas",
            Peer::Aimd => "acc-aimd",
        }
    }

    /// One line for `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            Peer::Vegas => "tower-acc's Vegas limiter with its defaults on the default client",
            Peer::Aimd => "tower-acc's AIMD limiter with its defaults on the default client",
        }
    }
}

/// A `5xx` answer or a transport error is a failure to the limiter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerErrors;

impl Classifier<reqwest::Response, reqwest::Error> for ServerErrors {
    fn is_server_error(&self, result: &Result<reqwest::Response, reqwest::Error>) -> bool {
        result
            .as_ref()
            .map_or(true, |response| response.status().is_server_error())
    }
}

/// The default client behind a peer's limiter.
pub(crate) enum PeerClient {
    Vegas(ConcurrencyLimit<reqwest::Client, Vegas, ServerErrors>),
    Aimd(ConcurrencyLimit<reqwest::Client, Aimd, ServerErrors>),
}

impl PeerClient {
    pub(crate) fn new(peer: Peer, http: reqwest::Client) -> Self {
        match peer {
            Peer::Vegas => PeerClient::Vegas(
                ConcurrencyLimitLayer::with_classifier(Vegas::default(), ServerErrors).layer(http),
            ),
            Peer::Aimd => PeerClient::Aimd(
                ConcurrencyLimitLayer::with_classifier(Aimd::default(), ServerErrors).layer(http),
            ),
        }
    }

    /// Sends `request` once the limiter admits it; clones share the limiter.
    pub(crate) async fn send(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, reqwest::Error> {
        match self {
            PeerClient::Vegas(limited) => oneshot(limited.clone(), request).await,
            PeerClient::Aimd(limited) => oneshot(limited.clone(), request).await,
        }
    }
}

/// `tower::ServiceExt::oneshot` without tower's `util` feature.
async fn oneshot<S: Service<R>, R>(mut service: S, request: R) -> Result<S::Response, S::Error> {
    poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}
