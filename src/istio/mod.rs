//! Istio's DestinationRule (and the `Sidecar` resource): the YAML layer, the model, loading
//! with validation, and resolution of the policy that applies to one destination
//! ([`resolve`]) or to a server workload's inbound side ([`inbound`]), and whether a client's
//! Sidecar imports the destination at all.

pub mod duration;
pub mod inbound;
pub mod load;
pub mod mesh;
pub mod model;
pub mod protocol;
pub mod resolve;
pub(crate) mod schema;
pub(crate) mod scope;
mod validate;
pub(crate) mod yaml;

pub use load::{LoadOptions, Loaded, load_paths};
pub use mesh::MeshConfig;
pub use model::{DestinationRule, Located, Sidecar};
pub use validate::{API_VERSIONS, validate_wildcard_domain};
