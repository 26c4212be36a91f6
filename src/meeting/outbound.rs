//! One connection's outbound queue, bounded twice: in frames and in bytes. A count alone let a
//! slow reader hold 4,096 relayed 64 KiB signals, 256 MiB; the byte bound keeps it to
//! `outbound_queue_bytes`. The meeting actor sends with `try_send` and never waits; a full queue
//! makes the reader a slow consumer.
//!
//! Ours rather than a tokio channel because of idle memory (#17): a tokio channel allocates its
//! first block of 32 slots and its state up front, about 1.5 KiB per connection whether anything
//! is queued or not. Here an empty queue is a small shared struct; the frames' storage exists
//! while frames are waiting and is given back when a burst has drained. One uncontended lock
//! per send and per receive (the actor and the connection are the only two parties).

use super::actor::Outbound;
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// Over the frame or byte bound: the reader is too slow.
    Full,
    /// The connection task has ended.
    Closed,
}

/// Past this many slots, a drained queue gives its storage back (a burst — a welcome, a room
/// change — should not leave every idle connection holding the burst's worth of slots).
const KEPT_SLOTS: usize = 4;

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Outbound>,
    bytes: usize,
    /// The connection task has ended: nothing will be read.
    reader_gone: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// The connection task waiting in `recv`.
    reader: AtomicWaker,
    /// Live [`OutboundTx`] clones; at zero, `recv` ends.
    senders: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding it; a poisoned lock still holds a consistent queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The actor's end.
#[derive(Debug)]
pub struct OutboundTx {
    shared: Arc<Shared>,
}

/// The connection's end.
#[derive(Debug)]
pub struct OutboundRx {
    shared: Arc<Shared>,
}

/// A queue of at most `frames` frames and `max_bytes` bytes. One frame larger than `max_bytes`
/// still fits an empty queue: the byte bound limits a backlog, not a message (those have their
/// own limits).
pub fn outbound_queue(frames: usize, max_bytes: usize) -> (OutboundTx, OutboundRx) {
    let shared = Arc::new(Shared {
        queue: Mutex::default(),
        reader: AtomicWaker::new(),
        senders: AtomicUsize::new(1),
        max_frames: frames.max(1),
        max_bytes,
    });
    (
        OutboundTx {
            shared: Arc::clone(&shared),
        },
        OutboundRx { shared },
    )
}

impl Clone for OutboundTx {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        OutboundTx {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for OutboundTx {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.reader.wake();
        }
    }
}

impl OutboundTx {
    /// Queues `frame` unless that would pass a bound or the connection is gone. Never waits.
    pub fn try_send(&self, frame: Outbound) -> Result<(), QueueError> {
        let len = frame.len();
        {
            let mut queue = self.shared.lock();
            if queue.reader_gone {
                return Err(QueueError::Closed);
            }
            if queue.frames.len() >= self.shared.max_frames
                || (queue.bytes > 0 && queue.bytes.saturating_add(len) > self.shared.max_bytes)
            {
                return Err(QueueError::Full);
            }
            queue.bytes += len;
            queue.frames.push_back(frame);
        }
        self.shared.reader.wake();
        Ok(())
    }

    /// Bytes queued and not yet taken by the connection.
    pub fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }
}

impl OutboundRx {
    /// The next frame; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Outbound> {
        std::future::poll_fn(|cx| {
            // Register first, then look: a frame queued in between wakes us.
            self.shared.reader.register(cx.waker());
            match self.try_recv() {
                Some(frame) => Poll::Ready(Some(frame)),
                None if self.shared.senders.load(Ordering::Acquire) == 0 => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        let mut queue = self.shared.lock();
        let frame = queue.frames.pop_front()?;
        queue.bytes -= frame.len();
        if queue.frames.is_empty() && queue.frames.capacity() > KEPT_SLOTS {
            queue.frames = VecDeque::new();
        }
        Some(frame)
    }
}

impl Drop for OutboundRx {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.reader_gone = true;
        queue.frames = VecDeque::new();
        queue.bytes = 0;
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

    #[tokio::test]
    async fn recv_ends_when_every_sender_is_gone_and_the_queue_is_empty() {
        let (tx, mut rx) = outbound_queue(8, 1_000);
        let second = tx.clone();
        tx.try_send(frame(3)).unwrap();
        drop(tx);
        second.try_send(frame(4)).unwrap();
        drop(second);
        assert_eq!(rx.recv().await.map(|f| f.len()), Some(3));
        assert_eq!(rx.recv().await.map(|f| f.len()), Some(4));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_send_from_another_task() {
        let (tx, mut rx) = outbound_queue(8, 1_000);
        let reader = tokio::spawn(async move { rx.recv().await.map(|f| f.len()) });
        tokio::task::yield_now().await;
        tx.try_send(frame(7)).unwrap();
        assert_eq!(reader.await.unwrap(), Some(7));
    }

    #[test]
    fn a_drained_burst_gives_its_storage_back() {
        let (tx, mut rx) = outbound_queue(100, 100_000);
        for _ in 0..40 {
            tx.try_send(frame(10)).unwrap();
        }
        assert!(rx.shared.lock().frames.capacity() >= 40);
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.lock().frames.capacity(), 0);
        assert_eq!(tx.queued_bytes(), 0);
    }
}
