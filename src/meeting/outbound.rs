//! One connection's outbound queue, bounded twice: in frames (the channel's length) and in bytes.
//! A count alone let a slow reader hold 4,096 relayed 64 KiB signals, 256 MiB; the byte bound
//! keeps it to `outbound_queue_bytes`. The meeting actor sends with `try_send` and never waits;
//! a full queue makes the reader a slow consumer.

use super::actor::Outbound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// Over the frame or byte bound: the reader is too slow.
    Full,
    /// The connection task has ended.
    Closed,
}

/// The actor's end.
#[derive(Debug, Clone)]
pub struct OutboundTx {
    tx: mpsc::Sender<Outbound>,
    /// Bytes queued and not yet taken by the connection. Shared with [`OutboundRx`]: an atomic
    /// counter, because the two ends run on different tasks and neither may wait for the other.
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The connection's end.
#[derive(Debug)]
pub struct OutboundRx {
    rx: mpsc::Receiver<Outbound>,
    bytes: Arc<AtomicUsize>,
}

/// A queue of at most `frames` frames and `max_bytes` bytes (a frame larger than the whole
/// byte bound is still taken when the queue is empty, so nothing is unsendable).
pub fn outbound_queue(frames: usize, max_bytes: usize) -> (OutboundTx, OutboundRx) {
    let (tx, rx) = mpsc::channel(frames.max(1));
    let bytes = Arc::new(AtomicUsize::new(0));
    (
        OutboundTx {
            tx,
            bytes: Arc::clone(&bytes),
            max_bytes,
        },
        OutboundRx { rx, bytes },
    )
}

impl OutboundTx {
    pub fn try_send(&self, frame: Outbound) -> Result<(), QueueError> {
        let len = frame.len();
        let queued = self.bytes.load(Ordering::Acquire);
        if queued > 0 && queued.saturating_add(len) > self.max_bytes {
            return Err(QueueError::Full);
        }
        // Counted before it is visible to the reader, so the reader never subtracts first.
        self.bytes.fetch_add(len, Ordering::AcqRel);
        match self.tx.try_send(frame) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.bytes.fetch_sub(len, Ordering::AcqRel);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => QueueError::Full,
                    mpsc::error::TrySendError::Closed(_) => QueueError::Closed,
                })
            }
        }
    }

    /// Bytes queued now.
    pub fn queued_bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }
}

impl OutboundRx {
    /// The next frame; `None` when the actor let go of the queue.
    pub async fn recv(&mut self) -> Option<Outbound> {
        let frame = self.rx.recv().await?;
        self.bytes.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }

    /// The next frame if one is queued now.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        let frame = self.rx.try_recv().ok()?;
        self.bytes.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Outbound {
        "x".repeat(len).into()
    }

    #[tokio::test]
    async fn the_byte_bound_holds_and_bytes_come_back_as_frames_are_taken() {
        let (tx, mut rx) = outbound_queue(100, 1_000);
        tx.try_send(frame(600)).unwrap();
        assert_eq!(tx.try_send(frame(600)), Err(QueueError::Full));
        tx.try_send(frame(400)).unwrap();
        assert_eq!(tx.queued_bytes(), 1_000);
        assert_eq!(rx.recv().await.map(|f| f.len()), Some(600));
        tx.try_send(frame(600)).unwrap();
        assert_eq!(rx.try_recv().map(|f| f.len()), Some(400));
        assert_eq!(rx.try_recv().map(|f| f.len()), Some(600));
        assert_eq!(tx.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn the_frame_bound_holds_and_one_big_frame_fits_an_empty_queue() {
        let (tx, mut rx) = outbound_queue(2, 1_000);
        tx.try_send(frame(5_000)).unwrap();
        assert_eq!(tx.try_send(frame(1)), Err(QueueError::Full));
        rx.recv().await.unwrap();
        tx.try_send(frame(1)).unwrap();
        tx.try_send(frame(1)).unwrap();
        assert_eq!(tx.try_send(frame(1)), Err(QueueError::Full));
        let (tx, rx) = outbound_queue(2, 1_000);
        drop(rx);
        assert_eq!(tx.try_send(frame(1)), Err(QueueError::Closed));
        assert_eq!(tx.queued_bytes(), 0);
    }
}
