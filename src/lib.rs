//! sidecar-tuner: align HTTP clients with the Istio sidecar that enforces a DestinationRule.
//!
//! In an Istio mesh every outbound request goes through the Envoy sidecar, which enforces the
//! destination's `connectionPool`: a client with more requests in flight than the sidecar
//! admits (connections plus pending queue, capped by max requests) gets `503` responses with
//! `x-envoy-overloaded` although nothing is wrong with the service. This crate reads the
//! DestinationRule, resolves the policy that applies to one destination exactly as Istio
//! merges it, and derives the client settings that stay within it.
//!
//! ```
//! use sidecar_tuner::istio::{load::{LoadOptions, load_str}, resolve::{Destination, resolve}};
//! use sidecar_tuner::plan::{PlanOptions, derive};
//!
//! let yaml = r#"
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! metadata: {name: reviews, namespace: prod}
//! spec:
//!   host: reviews
//!   trafficPolicy:
//!     connectionPool:
//!       tcp: {maxConnections: 100}
//!       http: {http1MaxPendingRequests: 10}
//! "#;
//! let loaded = load_str(yaml, &"reviews.yaml".into(), &LoadOptions::default());
//! let destination = Destination { namespace: "prod".into(), ..Destination::new("reviews") };
//! let resolution = resolve(&loaded.rules, &destination)?;
//! let plan = derive(&resolution.policy, &PlanOptions::default())?;
//! assert_eq!(plan.client.pool_max_idle_per_host, 95);
//! assert_eq!(plan.client.max_in_flight, Some(104)); // floor(0.95 x (100 + 10))
//! assert!(plan.client.http1_only);
//! # Ok::<(), sidecar_tuner::Error>(())
//! ```
//!
//! Stages, one module each: [`istio::load`] (YAML with positions, validation) →
//! [`istio::resolve`] (the effective policy) → [`plan`] (client settings) and [`check`]
//! (findings) → [`report`] (text and JSON).

#![warn(missing_docs)]

pub mod check;
pub mod cli;
mod error;
pub mod istio;
pub mod plan;
pub mod report;

pub use check::{Code, Finding, Severity};
pub use error::Error;
pub use plan::{ClientPlan, Plan, PlanOptions};
