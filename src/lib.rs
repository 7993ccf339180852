//! sidecar-tuner: align HTTP clients with the Istio sidecar that enforces a DestinationRule.
//!
//! In an Istio mesh every outbound request goes through the Envoy sidecar, which enforces the
//! destination's `connectionPool`: a client with more requests in flight than the sidecar
//! admits (connections plus pending queue, capped by max requests) gets `503` responses with
//! `x-envoy-overloaded` although nothing is wrong with the service. This crate reads the
//! DestinationRule, resolves the policy that applies to one destination exactly as Istio
//! merges it, derives the client settings that stay within it, and builds the client.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = sidecar_tuner::upstream::Upstream::start(Default::default()).await?;
//! # let url = server.url(); // a local server standing in for the reviews service
//! let tuned = sidecar_tuner::Tuner::from_path("fixtures/reviews.yaml")?
//!     .host("reviews")
//!     .namespace("bookinfo")
//!     .build()?;
//! // maxConnections 100, http1MaxPendingRequests 10, headroom 0.95:
//! assert_eq!(tuned.plan.pool_max_idle_per_host, Some(95));
//! assert_eq!(tuned.plan.max_in_flight, Some(104));
//! assert!(tuned.plan.http1_only);
//! println!("{}", tuned.report); // findings, and each setting with the lines it comes from
//!
//! let client = tuned.client; // cheap to clone; every clone shares the limit
//! let response = client.get(&url).send().await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(client.in_flight(), 1); // the slot is held until the body is read
//! assert_eq!(response.text().await?, "ok");
//! assert_eq!(client.in_flight(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! One module per stage of the data flow, pure in the middle, I/O at the edges; each uses only
//! those above it in this list, so there is no import cycle:
//!
//! - [`diag`]: the leaf every stage reports through: positions, locations, findings and their
//!   stable codes. Uses nothing else of the crate.
//! - [`istio`]: [`istio::load`] (files, folders, stdin, Kubernetes Services, the `istio`
//!   ConfigMap; validation as Istio's webhook does it), [`istio::mesh`] (MeshConfig) and
//!   [`istio::resolve`] (the rules indexed per namespace as Istio's control plane does, the
//!   lookup for one client, the effective policy).
//! - [`settings`]: the client settings a team runs today, one vocabulary per library.
//! - [`plan`]: the client settings derived from the effective policy.
//! - [`check`]: rule lints, resolution findings and client mismatches; [`check::run`] is the
//!   whole `check`, for the CLI and [`Tuner`] alike.
//! - [`client`]: reqwest and hyper-util clients, [`AlignedClient`] and the tower layer.
//! - [`envoy`]: the bootstrap Istio would give the sidecar.
//! - [`report`]: text with snippets, JSON, SARIF and `--emit`.
//! - [`Tuner`]: all of it for one destination, ending in a ready client.
//! - `sidecar`, `upstream`, `bench` (feature `sidecar`): the real Envoy, a local upstream and
//!   the bench. The command-line tool is the binary (feature `cli`), over this public API.
//!
//! # Errors and options
//!
//! [`Error`] is opaque, as reqwest's is: [`Error::kind`] and `is_*` queries say what happened,
//! [`Error::help`] how to fix it. Option structs are `#[non_exhaustive]`: start from their
//! default (or `new`) and chain setters, e.g. `PlanOptions::default().headroom(0.9)`.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "sidecar")]
#[cfg_attr(docsrs, doc(cfg(feature = "sidecar")))]
pub mod bench;
pub mod check;
pub mod client;
pub mod diag;
pub mod envoy;
mod error;
pub mod istio;
pub mod plan;
pub mod report;
pub mod settings;
#[cfg(feature = "sidecar")]
#[cfg_attr(docsrs, doc(cfg(feature = "sidecar")))]
pub mod sidecar;
mod tuner;
#[cfg(feature = "sidecar")]
#[cfg_attr(docsrs, doc(cfg(feature = "sidecar")))]
pub mod upstream;

pub use client::AlignedClient;
pub use diag::{Code, Finding, Severity};
pub use error::{BoxError, Error, ErrorKind};
pub use plan::{ClientPlan, Plan, PlanOptions};
pub use report::Report;
pub use tuner::{Tuned, Tuner};
