use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::Service;

use super::{PermitBody, ResponseFuture};
use crate::client::admission::{Admission, Permit, Resend, Transport};
use crate::error::{BoxError, Error};

type Acquiring = Pin<Box<dyn Future<Output = Result<Permit, Error>> + Send>>;

/// A service under admission; made by [`AlignLayer`](super::AlignLayer).
///
/// `poll_ready` waits for a slot (at most `queue_timeout`), `call` takes it; the slot moves
/// into the response body ([`PermitBody`]). A clone shares the limit and starts without a slot.
pub struct AlignService<S> {
    inner: S,
    admission: Admission,
    acquiring: Option<Acquiring>,
    permit: Option<Permit>,
}

impl<S> AlignService<S> {
    pub(super) fn new(inner: S, admission: Admission) -> Self {
        Self {
            inner,
            admission,
            acquiring: None,
            permit: None,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Clone> Clone for AlignService<S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.admission.clone())
    }
}

impl<S: fmt::Debug> fmt::Debug for AlignService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignService")
            .field("inner", &self.inner)
            .field("has_slot", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AlignService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    ReqBody: Clone + Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<PermitBody<ResBody>>;
    type Error = Error;
    type Future = ResponseFuture<ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.permit.is_some() {
            return Poll::Ready(Ok(()));
        }
        let acquiring = self.acquiring.get_or_insert_with(|| {
            let admission = self.admission.clone();
            Box::pin(async move { admission.acquire().await })
        });
        let permit = std::task::ready!(acquiring.as_mut().poll(cx));
        self.acquiring = None;
        self.permit = Some(permit?);
        Poll::Ready(Ok(()))
    }

    /// Sends the request. Without a prior `poll_ready` the slot is awaited inside the future.
    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let first = self.permit.take();
        let admission = self.admission.clone();
        let inner = self.inner.clone();
        ResponseFuture::new(async move {
            let resend = Resend {
                retries: admission.retries(request.method()),
                transport: Tower(inner),
            };
            let (response, permit) = admission.send(first, request, resend).await?;
            Ok(response.map(|body| PermitBody::new(body, permit)))
        })
    }
}

/// A tower service as admission's transport: an attempt is a call on a clone of the service
/// once it is ready, a retry's copy a clone of the request.
struct Tower<S>(S);

impl<S, ReqBody, ResBody> Transport<http::Request<ReqBody>> for Tower<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
    ReqBody: Clone,
{
    type Response = http::Response<ResBody>;
    type Error = Error;

    fn send(
        &mut self,
        request: http::Request<ReqBody>,
    ) -> impl Future<Output = Result<Self::Response, Error>> + use<S, ReqBody, ResBody> {
        let mut service = self.0.clone();
        async move {
            let uri = request.uri().clone();
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|e| Error::request(&uri, e))?;
            service
                .call(request)
                .await
                .map_err(|e| Error::request(&uri, e))
        }
    }

    fn copy(&self, request: &http::Request<ReqBody>) -> Option<http::Request<ReqBody>> {
        Some(request.clone())
    }
}
