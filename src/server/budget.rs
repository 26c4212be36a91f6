//! A read budget on a connection's bytes, for the time between the WebSocket upgrade and a valid
//! `hello`: a socket without a login may make the hub read (and buffer) only a few KiB, however
//! large a frame it announces. The accept loop wraps every connection in [`Metered`]; the upgrade
//! arms the budget; the connection lifts it once `hello` is admitted. Plain HTTP is not metered
//! (hyper bounds request heads itself).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes a connection may still read; `usize::MAX` when not metered. Shared between the
/// connection's IO (which spends it) and the tasks that arm and lift it.
#[derive(Debug)]
pub struct ReadBudget(AtomicUsize);

impl ReadBudget {
    pub fn unlimited() -> Arc<Self> {
        Arc::new(ReadBudget(AtomicUsize::new(usize::MAX)))
    }

    /// From now on, at most `bytes` more may be read.
    pub fn arm(&self, bytes: usize) {
        self.0.store(bytes, Ordering::Release);
    }

    pub fn lift(&self) {
        self.0.store(usize::MAX, Ordering::Release);
    }

    /// Whether the budget ran out (reads now fail).
    pub fn exhausted(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }

    /// Spends `n` bytes; false if they were not there (the budget is then empty).
    fn spend(&self, n: usize) -> bool {
        let mut left = self.0.load(Ordering::Acquire);
        loop {
            if left == usize::MAX {
                return true;
            }
            let (next, ok) = if n <= left {
                (left - n, true)
            } else {
                (0, false)
            };
            match self
                .0
                .compare_exchange_weak(left, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return ok,
                Err(actual) => left = actual,
            }
        }
    }
}

/// An IO whose reads spend a [`ReadBudget`]; a read past it fails, which ends the connection.
pub struct Metered<I> {
    inner: I,
    budget: Arc<ReadBudget>,
}

impl<I> Metered<I> {
    pub fn new(inner: I, budget: Arc<ReadBudget>) -> Self {
        Metered { inner, budget }
    }

    pub fn get_ref(&self) -> &I {
        &self.inner
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Metered<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.budget.exhausted() {
            return Poll::Ready(Err(io::Error::other("read budget before hello exhausted")));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = buf.filled().len() - before;
            if !self.budget.spend(read) {
                return Poll::Ready(Err(io::Error::other("read budget before hello exhausted")));
            }
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Metered<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_past_the_budget_empties_it() {
        let budget = ReadBudget::unlimited();
        assert!(budget.spend(1 << 30), "unlimited until armed");
        budget.arm(100);
        assert!(budget.spend(60));
        assert!(!budget.spend(60));
        assert!(budget.exhausted());
        budget.lift();
        assert!(budget.spend(1 << 30) && !budget.exhausted());
    }
}
