use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::client::admission::Permit;

pin_project! {
    /// A response body that holds its request's slot until the body ends, fails or is dropped.
    #[derive(Debug)]
    pub struct PermitBody<B> {
        #[pin]
        inner: B,
        permit: Permit,
    }
}

impl<B> PermitBody<B> {
    pub(crate) fn new(inner: B, permit: Permit) -> Self {
        Self { inner, permit }
    }

    /// The wrapped body; the slot is freed.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for PermitBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        // Free the slot at the end, on error, or with the last frame: some readers stop as
        // soon as the body says it has ended.
        if !matches!(frame, Some(Ok(_))) || this.inner.is_end_stream() {
            this.permit.release();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
