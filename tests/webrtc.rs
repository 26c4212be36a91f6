//! Two real WebRTC peers (`webrtc` crate) negotiate through the hub — offer, answer and trickle
//! ICE relayed as `signal` — connect on loopback and exchange data-channel messages.

mod common;
#[path = "common/rtc.rs"]
mod rtc;

use common::*;
use huddle::protocol::Role;
use rtc::{RtcEvent, RtcNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webrtc_peers_connect_through_the_hub() {
    let hub = start_server().await;
    let a = hub.join("therapy", "a", Role::Host).await;
    let b = hub.join("therapy", "b", Role::Participant).await;
    let (a_id, b_id) = (a.id, b.id);
    let mut a = RtcNode::start(a);
    let mut b = RtcNode::start(b);

    a.until_open_with(&[b_id]).await;
    b.until_open_with(&[a_id]).await;

    a.send(b_id, "hello from a");
    let got = b.until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(a_id, "hello from a".into()));
    b.send(a_id, "hello from b");
    let got = a.until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(b_id, "hello from b".into()));
}
