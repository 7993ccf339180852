//! [`AlignLayer`]: the admission of [`AlignedClient`](super::AlignedClient) for any tower
//! `Service<http::Request<B>>`, such as the hyper-util client. Split as tower splits its
//! concurrency limit: layer, service, response future, and the body that holds the slot.

mod body;
mod future;
mod layer;
mod service;

pub use body::PermitBody;
pub use future::ResponseFuture;
pub use layer::AlignLayer;
pub use service::AlignService;
