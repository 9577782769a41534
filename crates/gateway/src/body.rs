//! Bodies streaming through the gateway. Each frame is passed on as it arrives; a tap counts
//! its bytes and copies the body's first `body_inspect_bytes_max` bytes for the record. No
//! body is ever held whole.

use crate::record::BodyPrefix;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Errors of bodies of any origin.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body of every answer to a client, proxied or made here.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;
/// Body of every request to an upstream (proxied or a health probe).
pub(crate) type UpstreamBody = UnsyncBoxBody<Bytes, BoxError>;

/// A body of known bytes.
pub(crate) fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// An empty body.
pub(crate) fn empty() -> ResponseBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// Counts a body's bytes and keeps its first `limit` bytes.
#[derive(Debug)]
pub(crate) struct Tap {
    limit: usize,
    prefix: BytesMut,
    /// The first chunk, when it alone filled the prefix: kept by reference, not copied.
    whole_chunk: Option<Bytes>,
    bytes: u64,
}

impl Tap {
    pub fn new(limit: usize) -> Self {
        Tap { limit, prefix: BytesMut::new(), whole_chunk: None, bytes: 0 }
    }

    fn observe(&mut self, chunk: &Bytes) {
        self.bytes += chunk.len() as u64;
        let kept = self.whole_chunk.as_ref().map_or(self.prefix.len(), Bytes::len);
        let room = self.limit - kept.min(self.limit);
        if room == 0 || chunk.is_empty() {
            return;
        }
        if kept == 0 && chunk.len() >= self.limit {
            self.whole_chunk = Some(chunk.slice(..self.limit));
            return;
        }
        let take = room.min(chunk.len());
        if self.prefix.capacity() == 0 {
            // A body's first chunk usually tells its size class; do not reserve 64 KiB for
            // a 200-byte JSON answer.
            self.prefix.reserve(take.max(chunk.len().min(self.limit)));
        }
        self.prefix.extend_from_slice(&chunk[..take]);
    }

    /// A tap that kept nothing and saw `bytes` (a tunnel's bytes, copied outside any body).
    pub fn counted(bytes: u64) -> Self {
        Tap { limit: 0, prefix: BytesMut::new(), whole_chunk: None, bytes }
    }

    /// Bytes seen so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The kept prefix, and whether the body was longer.
    pub fn prefix(&self) -> BodyPrefix {
        let bytes = match &self.whole_chunk {
            Some(b) => b.clone(),
            None => self.prefix.clone().freeze(),
        };
        BodyPrefix { truncated: self.bytes > bytes.len() as u64, bytes }
    }
}

/// The request body on its way to the upstream; its tap is shared with the call's end, which
/// may come before the upstream has read it all.
pub(crate) struct TappedRequest<B> {
    inner: B,
    tap: Arc<Mutex<Tap>>,
}

impl<B> TappedRequest<B> {
    pub fn new(inner: B, tap: Arc<Mutex<Tap>>) -> Self {
        TappedRequest { inner, tap }
    }
}

impl<B> Body for TappedRequest<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                lock(&self.tap).observe(data);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Called once with the response's tap when its body ends, fails or is dropped (the client
/// went away): the call is over.
pub(crate) type OnEnd = Box<dyn FnOnce(Tap) + Send>;

/// The response body on its way to the client.
pub(crate) struct TappedResponse<B> {
    inner: B,
    tap: Option<Tap>,
    on_end: Option<OnEnd>,
}

impl<B> TappedResponse<B> {
    pub fn new(inner: B, limit: usize, on_end: OnEnd) -> Self {
        TappedResponse { inner, tap: Some(Tap::new(limit)), on_end: Some(on_end) }
    }

    fn end(&mut self) {
        if let (Some(tap), Some(on_end)) = (self.tap.take(), self.on_end.take()) {
            on_end(tap);
        }
    }
}

impl<B> Body for TappedResponse<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(tap)) = (frame.data_ref(), self.tap.as_mut()) {
                    tap.observe(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.end();
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TappedResponse<B> {
    fn drop(&mut self) {
        // Hyper drops a body without a last poll when `is_end_stream` said it was done, and
        // when the client went away: either way the call is over.
        self.end();
    }
}

/// Locks a tap; a panic elsewhere while holding it leaves counts that are still usable.
pub(crate) fn lock(tap: &Mutex<Tap>) -> std::sync::MutexGuard<'_, Tap> {
    tap.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tap_keeps_only_the_prefix_and_counts_everything() {
        let mut t = Tap::new(10);
        t.observe(&Bytes::from_static(b"hello "));
        t.observe(&Bytes::from_static(b"world, again"));
        assert_eq!(t.bytes(), 18);
        let p = t.prefix();
        assert_eq!(&p.bytes[..], b"hello worl");
        assert!(p.truncated);
        let mut t = Tap::new(4);
        t.observe(&Bytes::from_static(b"abcdefgh"));
        assert_eq!(&t.prefix().bytes[..], b"abcd");
        let mut t = Tap::new(4);
        t.observe(&Bytes::from_static(b"ab"));
        assert!(!t.prefix().truncated);
    }
}
