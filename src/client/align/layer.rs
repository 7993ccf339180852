use tower::Layer;

use super::AlignService;
use crate::client::admission::{Admission, AlignOptions};
use crate::plan::ClientPlan;

/// Bounds requests in flight through the wrapped service under the plan's adaptive limit, holds
/// each slot until the response body ends or is dropped, and retries overloaded idempotent
/// requests.
///
/// Every service this layer wraps shares one limit: they talk to one sidecar.
///
/// ```
/// use http_body_util::Empty;
/// use bytes::Bytes;
/// use sidecar_tuner::client::{AlignLayer, AlignOptions, hyper_util_client};
/// use sidecar_tuner::ClientPlan;
/// use tower::Layer;
///
/// let plan = ClientPlan::default();
/// let client = hyper_util_client::<Empty<Bytes>>(&plan);
/// let service = AlignLayer::new(&plan, AlignOptions::default()).layer(client);
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
pub struct AlignLayer {
    admission: Admission,
}

impl AlignLayer {
    /// A layer with the plan's ceiling and starting limit.
    pub fn new(plan: &ClientPlan, options: AlignOptions) -> Self {
        Self {
            admission: Admission::new(plan, options),
        }
    }

    crate::client::admission::counters!();
}

impl<S> Layer<S> for AlignLayer {
    type Service = AlignService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AlignService::new(inner, self.admission.clone())
    }
}
