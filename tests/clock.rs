//! The meeting actor keeps time on the monotonic clock: its deadlines follow tokio's clock (paused
//! and advanced here), not the wall clock, which does not move in this test. On the wall clock, a
//! step (NTP, an operator) would expire every held seat at once; here, held seats expire exactly
//! when the monotonic clock says so. The real actor and directory, with in-process connections.

use huddle::meeting::{
    outbound_queue, ConnHandle, Directory, Identity, KillSwitch, MeetingConfig, OutboundRx,
    SessionEnd,
};
use huddle::protocol::{PeerId, Role};
use huddle::pseudonym::Pseudonyms;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn person(id: u64, role: Role) -> (ConnHandle, OutboundRx, Identity) {
    let (tx, rx) = outbound_queue(256, 1 << 20);
    let conn = ConnHandle {
        id: PeerId(id),
        tx,
        kill: Arc::new(KillSwitch::default()),
    };
    let identity = Identity {
        sub: format!("s{id}"),
        name: format!("N{id}"),
        role,
    };
    (conn, rx, identity)
}

async fn next_of(rx: &mut OutboundRx, kind: &str) -> Value {
    loop {
        let frame = rx.recv().await.expect("the actor is running");
        let value: Value = serde_json::from_str(&frame).unwrap();
        if value["type"] == kind {
            return value;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_held_seat_expires_on_the_monotonic_clock() {
    let directory = Directory::new(
        MeetingConfig {
            resume_grace_ms: 30_000,
            ..MeetingConfig::default()
        },
        Arc::new(Pseudonyms::random()),
        None,
        Arc::new(huddle::events::Events::new(std::time::Duration::from_secs(
            60,
        ))),
        Arc::new(huddle::metrics::Metrics::new()),
    );
    let (host, mut host_rx, host_id) = person(1, Role::Host);
    let (guest, _guest_rx, guest_id) = person(2, Role::Participant);
    let (meeting, _) = directory
        .join("m", PeerId(1), host_id, (None, Default::default()), host)
        .await
        .unwrap();
    directory
        .join("m", PeerId(2), guest_id, (None, Default::default()), guest)
        .await
        .unwrap();
    next_of(&mut host_rx, "peer_joined").await;
    meeting
        .leave(PeerId(2), PeerId(2), SessionEnd::Dropped)
        .await;
    next_of(&mut host_rx, "peer_reconnecting").await;
    let started = tokio::time::Instant::now();
    // Paused time advances on its own while everyone waits: 30 s of it, not of the wall clock.
    let left = tokio::time::timeout(Duration::from_secs(120), next_of(&mut host_rx, "peer_left"))
        .await
        .expect("the held seat was given up on the monotonic clock");
    assert_eq!(left["reason"], "timeout");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "given up after the grace, not before: {waited:?}"
    );
}
