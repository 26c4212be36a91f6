//! The load scenarios. Each takes a [`crate::Target`] and its parameters, is bounded in time and
//! count, and returns a [`crate::report::Report`].

pub mod breakouts;
pub mod chat;
pub mod idle;
pub mod relay;
pub mod sfu;
pub mod webrtc;

use crate::net::{self, Joined};
use crate::Target;
use huddle::protocol::Role;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Joins `who` (meeting, sub, role) with at most `concurrency` joins in flight, keeping order.
pub async fn join_all(
    target: &Arc<Target>,
    who: Vec<(String, String, Role)>,
    concurrency: usize,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<Vec<Joined>, String> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, (meeting, sub, role)) in who.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let target = Arc::clone(target);
        set.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            net::join(&target, &meeting, &sub, role)
                .await
                .map(|j| (i, j))
        });
    }
    let mut joined = Vec::new();
    while let Some(result) = set.join_next().await {
        let (i, j) = result.map_err(|e| e.to_string())??;
        if let Some(bar) = bar {
            bar.inc(1);
        }
        joined.push((i, j));
    }
    joined.sort_by_key(|(i, _)| *i);
    Ok(joined.into_iter().map(|(_, j)| j).collect())
}

/// Reads the decimal number that follows `key` in `text` (cheap: no JSON parse on the hot path).
pub fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}
