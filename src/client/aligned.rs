//! [`AlignedClient`]: reqwest with adaptive admission and overload retry.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::{Either, TryFutureExt};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use reqwest::{IntoUrl, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::admission::{Admission, AlignOptions, AttemptError, Permit, Resend, Transport};
use crate::error::Error;
use crate::plan::ClientPlan;

/// An HTTP client whose requests never overflow the sidecar's admission.
///
/// The surface is reqwest's (`get`, `post`, `head`, `request`, `execute`, ...); each request
/// takes a slot under the adaptive limit when it is sent, or, with none free, waits for one once
/// polled (at most `queue_timeout`, first come, first served), holds it until its response body
/// is read or dropped, and an idempotent request answered `503` + `x-envoy-overloaded` is sent
/// again after a jittered backoff. Cloning is cheap: clones share the pool and the limit.
/// Build one with [`Tuner`](crate::Tuner) or [`AlignedClient::new`].
#[derive(Clone)]
pub struct AlignedClient {
    http: reqwest::Client,
    admission: Admission,
}

impl fmt::Debug for AlignedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedClient")
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

impl AlignedClient {
    /// Wraps `http` (built, for instance, from [`reqwest_builder`](super::reqwest_builder)) with
    /// the plan's admission.
    pub fn new(http: reqwest::Client, plan: &ClientPlan, options: AlignOptions) -> Self {
        Self {
            http,
            admission: Admission::new(plan, options),
        }
    }

    /// A `GET` request to `url`.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` request to `url` (never retried).
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A `PUT` request to `url`.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A `PATCH` request to `url` (never retried: PATCH is not idempotent).
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A `DELETE` request to `url`.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A `HEAD` request to `url`.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A request with any method to `url`.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder {
            admission: self.admission.clone(),
            inner: self.http.request(method, url),
        }
    }

    /// Sends a request built elsewhere, under admission: a free slot is taken now (and given
    /// back if the future is dropped unpolled); nothing is sent before the future is polled.
    ///
    /// # Errors
    /// [`ErrorKind::Saturated`](crate::ErrorKind::Saturated) when no slot frees up within `queue_timeout`;
    /// [`ErrorKind::Request`](crate::ErrorKind::Request) when the transport fails.
    pub fn execute(
        &self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
        execute(self.http.clone(), self.admission.clone(), request)
    }

    crate::client::admission::counters!();

    /// The underlying reqwest client (no admission).
    pub fn reqwest_client(&self) -> &reqwest::Client {
        &self.http
    }
}

/// A request being built; [`send`](RequestBuilder::send) it. Mirrors
/// [`reqwest::RequestBuilder`].
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct RequestBuilder {
    admission: Admission,
    /// Holds the reqwest client, which `send` takes back.
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|b| b.header(key, value))
    }

    /// Adds headers.
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|b| b.headers(headers))
    }

    /// Sets the body.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    /// Sets a JSON body and the `Content-Type: application/json` header.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> Self {
        self.map(|b| b.json(json))
    }

    /// Sets a timeout for this request, from send until the body is read; it overrides the
    /// client's. The wait for a slot has its own bound, `queue_timeout`.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Sets an `Authorization: Bearer` header.
    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    /// Sets an `Authorization: Basic` header.
    pub fn basic_auth(
        self,
        username: impl fmt::Display,
        password: Option<impl fmt::Display>,
    ) -> Self {
        self.map(|b| b.basic_auth(username, password))
    }

    /// Sets the HTTP version of the request; an overload retry keeps it.
    pub fn version(self, version: Version) -> Self {
        self.map(|b| b.version(version))
    }

    /// A copy of this builder, sharing the client's admission; `None` when the request is
    /// invalid (a bad URL or header) or its body is a stream, which cannot be copied.
    pub fn try_clone(&self) -> Option<Self> {
        Some(Self {
            admission: self.admission.clone(),
            inner: self.inner.try_clone()?,
        })
    }

    fn map(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        Self {
            admission: self.admission,
            inner: f(self.inner),
        }
    }

    /// Builds the request without sending it.
    ///
    /// # Errors
    /// [`ErrorKind::Request`](crate::ErrorKind::Request) when the URL, a header or the body is invalid.
    pub fn build(self) -> Result<reqwest::Request, Error> {
        self.inner.build().map_err(from_reqwest)
    }

    /// Sends the request under admission, as [`AlignedClient::execute`] does.
    ///
    /// # Errors
    /// As [`AlignedClient::execute`], and [`ErrorKind::Request`](crate::ErrorKind::Request) when the request is invalid.
    #[inline]
    pub fn send(self) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
        let (http, request) = self.inner.build_split();
        match request {
            Ok(request) => Either::Left(execute(http, self.admission, request)),
            Err(e) => Either::Right(async move { Err(from_reqwest(e)) }),
        }
    }
}

/// The future of a request under admission. With a slot free and nobody waiting, the request
/// takes the slot and goes to reqwest at once, as reqwest's own `send` builds its future when
/// called (nothing is sent before the first poll): the future then holds reqwest's 16-byte
/// future, not the request, and is moved cheaply by every caller. Otherwise the wait and the
/// request are boxed.
fn execute(
    http: reqwest::Client,
    admission: Admission,
    request: reqwest::Request,
) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
    let retries = admission.retries(request.method());
    let wrap = |inner, permit| Response { inner, permit };
    let mut resend = Resend {
        retries,
        transport: Reqwest(http),
    };
    match admission.try_acquire() {
        Ok(permit) => {
            let next = Replay::of(&request, retries);
            let sent = resend.transport.send(request);
            let next = move |answer: &reqwest::Response| next.request(answer);
            Either::Left(Admission::finish(sent, permit, next, resend, wrap))
        }
        Err(admission) => Either::Right(Box::pin(
            admission
                .send(None, request, resend)
                .map_ok(move |(inner, permit)| wrap(inner, permit)),
        )),
    }
}

/// reqwest as admission's transport: an attempt is `Client::execute`, a retry's copy
/// [`copy_request`].
struct Reqwest(reqwest::Client);

impl Transport<reqwest::Request> for Reqwest {
    type Response = reqwest::Response;
    type Error = reqwest::Error;

    fn send(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        self.0.execute(request)
    }

    fn copy(&self, request: &reqwest::Request) -> Option<reqwest::Request> {
        copy_request(request)
    }
}

/// What a first attempt sent at once keeps for an overload retry.
enum Replay {
    /// Not retried.
    Never,
    /// A `GET` or `HEAD` without headers, body or timeout: its retry is a request of the same
    /// method and version to the URL that answered (the request's, or where its redirects led;
    /// neither method changes on a redirect), so nothing is copied unless the sidecar refuses it.
    Rebuild { head: bool, version: Version },
    /// A copy made before sending ([`copy_request`]).
    Copy(Box<reqwest::Request>),
}

impl Replay {
    fn of(request: &reqwest::Request, retries: u32) -> Self {
        if retries == 0 {
            return Self::Never;
        }
        let method = request.method();
        if (method == Method::GET || method == Method::HEAD)
            && request.headers().is_empty()
            && request.body().is_none()
            && request.timeout().is_none()
        {
            return Self::Rebuild {
                head: method == Method::HEAD,
                version: request.version(),
            };
        }
        copy_request(request).map_or(Self::Never, |copy| Self::Copy(Box::new(copy)))
    }

    /// The retry's request, for an overload `answer`.
    fn request(self, answer: &reqwest::Response) -> Option<reqwest::Request> {
        match self {
            Self::Never => None,
            Self::Rebuild { head, version } => {
                let method = if head { Method::HEAD } else { Method::GET };
                let mut request = reqwest::Request::new(method, answer.url().clone());
                *request.version_mut() = version;
                Some(request)
            }
            Self::Copy(copy) => Some(*copy),
        }
    }
}

/// A copy of `request` for an overload retry. It copies what `Request::try_clone` copies, but
/// without a body or timeout it skips re-creating the extensions map, where reqwest keeps
/// nothing else, and an empty header map is not cloned (cloning and dropping one cost 166
/// instructions, a third of the copy): the copy of a request without headers, body or timeout
/// is one allocation, its URL's.
fn copy_request(request: &reqwest::Request) -> Option<reqwest::Request> {
    if request.body().is_some() || request.timeout().is_some() {
        return request.try_clone();
    }
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    if !request.headers().is_empty() {
        *copy.headers_mut() = request.headers().clone();
    }
    *copy.version_mut() = request.version();
    Some(copy)
}

/// A reqwest error, with the URL it carries (no copy of the URL is made per request).
fn from_reqwest(e: reqwest::Error) -> Error {
    let url = e
        .url()
        .map_or_else(|| "an unknown URL".to_owned(), Url::to_string);
    Error::request(url, e)
}

impl AttemptError for reqwest::Error {
    fn into_error(self) -> Error {
        from_reqwest(self)
    }
}

/// A response; it holds its request's slot until the body is read to its end or the response
/// is dropped. Mirrors [`reqwest::Response`].
#[derive(Debug)]
pub struct Response {
    inner: reqwest::Response,
    permit: Permit,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.inner.headers_mut()
    }

    /// The address of the peer the response came from (the sidecar, in a mesh), when known.
    pub fn remote_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.remote_addr()
    }

    /// The response's extensions.
    pub fn extensions(&self) -> &http::Extensions {
        self.inner.extensions()
    }

    /// The response's extensions, to change.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        self.inner.extensions_mut()
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The final URL.
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    /// The response, or an error if its status is a client or server error (4xx, 5xx), as
    /// reqwest's `error_for_status`; the error's [`status`](Error::status) is the response's,
    /// and the slot is freed with the response.
    ///
    /// # Errors
    /// [`ErrorKind::Request`](crate::ErrorKind::Request) for a 4xx or 5xx status.
    pub fn error_for_status(self) -> Result<Self, Error> {
        self.error_for_status_ref()?;
        Ok(self)
    }

    /// As [`Response::error_for_status`], keeping the response (and its slot).
    ///
    /// # Errors
    /// [`ErrorKind::Request`](crate::ErrorKind::Request) for a 4xx or 5xx status.
    pub fn error_for_status_ref(&self) -> Result<&Self, Error> {
        match self.inner.error_for_status_ref() {
            Ok(_) => Ok(self),
            Err(e) => Err(from_reqwest(e)),
        }
    }

    /// The body length, when the server announced it.
    pub fn content_length(&self) -> Option<u64> {
        self.inner.content_length()
    }

    /// The whole body; frees the slot.
    ///
    /// # Errors
    /// [`ErrorKind::Request`](crate::ErrorKind::Request) when reading fails or times out.
    pub fn bytes(self) -> impl Future<Output = Result<Bytes, Error>> + Send + 'static {
        let Self { mut inner, permit } = self;
        async move {
            let read = read_to_end(&mut inner).await;
            drop(permit);
            read
        }
    }

    /// The whole body as text (UTF-8, invalid sequences replaced); frees the slot.
    ///
    /// # Errors
    /// As [`Response::bytes`].
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The whole body as JSON; frees the slot.
    ///
    /// # Errors
    /// As [`Response::bytes`], and [`ErrorKind::Request`](crate::ErrorKind::Request) when the body is not the JSON expected.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let Self { mut inner, permit } = self;
        let read = read_to_end(&mut inner).await;
        drop(permit);
        serde_json::from_slice(&read?).map_err(|e| Error::request(inner.url(), e))
    }

    /// The next chunk of the body, `None` at its end; the slot is freed at the end or on error.
    ///
    /// # Errors
    /// As [`Response::bytes`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let chunk = self.inner.chunk().await;
        if !matches!(chunk, Ok(Some(_))) {
            self.permit.release();
        }
        chunk.map_err(from_reqwest)
    }
}

/// The whole body of `response`, chunk by chunk (a body of one chunk is not copied); an error
/// names the response's URL. reqwest's `bytes` reads the same frames, but moves the response
/// into a future of its own and then into the future that collects the body (each move a copy
/// of the response and its state): per request, about 700 instructions more than a loop over
/// `chunk` (`scripts/instructions.sh`, bare reqwest both ways), as much as admission costs.
async fn read_to_end(response: &mut reqwest::Response) -> Result<Bytes, Error> {
    let read = async {
        let Some(first) = response.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = response.chunk().await? else {
            return Ok(first);
        };
        let mut body = BytesMut::with_capacity(first.len() + second.len());
        body.extend_from_slice(&first);
        body.extend_from_slice(&second);
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
    .await;
    read.map_err(|e: reqwest::Error| from_reqwest(e.with_url(response.url().clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The retry copy is the request as sent: method, URL, headers (none, one, or a repeated
    /// one), version, and with a body or a timeout, both (`Request::try_clone`'s path).
    #[test]
    fn the_retry_copy_is_the_request_as_sent() {
        let client = reqwest::Client::new();
        let parts = |request: &reqwest::Request| {
            (
                request.method().clone(),
                request.url().clone(),
                request.headers().clone(),
                request.version(),
                request.timeout().copied(),
                request
                    .body()
                    .and_then(|body| body.as_bytes().map(<[u8]>::to_vec)),
            )
        };
        let requests = [
            client.get("http://backend:8080/a?b=c"),
            client
                .delete("http://backend/items/1")
                .header("x-request-id", "7")
                .version(Version::HTTP_10),
            client
                .get("http://backend/")
                .header("cookie", "a=1")
                .header("cookie", "b=2")
                .header("accept", "text/plain"),
            client
                .put("http://backend/items/1")
                .header("content-type", "text/plain")
                .body("payload")
                .timeout(Duration::from_secs(3)),
            client
                .get("http://backend/")
                .timeout(Duration::from_millis(250)),
        ];
        for request in requests {
            let request = request.build().unwrap();
            let copy = copy_request(&request).expect("a copy");
            assert_eq!(parts(&copy), parts(&request), "{request:?}");
        }
    }

    /// The builder's authorization helpers write reqwest's headers: RFC 7617's example
    /// credentials (`Aladdin`, `open sesame`) as `Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`, a username
    /// alone as `user:` (`dXNlcjo=`), a token as `Bearer` followed by it.
    #[test]
    fn authorization_headers_are_reqwest_s() {
        let plan = ClientPlan::bounded(10, 2);
        let client = AlignedClient::new(reqwest::Client::new(), &plan, AlignOptions::default());
        let authorization = |builder: RequestBuilder| {
            let request = builder.build().unwrap();
            request.headers()["authorization"]
                .to_str()
                .unwrap()
                .to_owned()
        };
        let url = "http://backend/";
        assert_eq!(
            authorization(client.get(url).basic_auth("Aladdin", Some("open sesame"))),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(
            authorization(client.get(url).basic_auth("user", None::<&str>)),
            "Basic dXNlcjo="
        );
        assert_eq!(
            authorization(client.get(url).bearer_auth("t0k3n")),
            "Bearer t0k3n"
        );
    }

    /// Callers move a request's future (into a task, a `select!`, an outer future), each move a
    /// copy of its bytes. Sent with a slot free, the request is reqwest's at once, and the
    /// future holds reqwest's future, the slot and what a retry needs: smaller than the request
    /// itself, and than the response it resolves to (2,408 bytes with reqwest 0.13 when each
    /// `async` layer kept its own copy of the request, 624 with one copy and its retry copy,
    /// 168 while a request that failed to build kept room for a whole response, 128 now: small
    /// enough to be moved without a call to `memcpy`).
    #[tokio::test]
    async fn a_request_sent_with_a_slot_free_is_held_by_reqwest_not_by_its_future() {
        let plan = ClientPlan::bounded(10, 2);
        let client = AlignedClient::new(reqwest::Client::new(), &plan, AlignOptions::default());
        let sending = client.get("http://127.0.0.1:1/").send();
        let (request, response) = (size_of::<reqwest::Request>(), size_of::<Response>());
        let size = size_of_val(&sending);
        assert!(
            size < request && size < response,
            "{size} bytes; a request {request}, a response {response}"
        );
    }
}
