use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::PermitBody;
use crate::error::Error;

type Boxed<B> = Pin<Box<dyn Future<Output = Result<http::Response<PermitBody<B>>, Error>> + Send>>;

/// The response future of [`AlignService`](super::AlignService): sends, retries overload
/// answers of idempotent requests, and yields the response with its slot in the body.
pub struct ResponseFuture<B> {
    inner: Boxed<B>,
}

impl<B> ResponseFuture<B> {
    pub(super) fn new(
        inner: impl Future<Output = Result<http::Response<PermitBody<B>>, Error>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<B> Future for ResponseFuture<B> {
    type Output = Result<http::Response<PermitBody<B>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B> fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
