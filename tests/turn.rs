//! TURN REST credentials against a real coturn (Debian's `coturn`, which scripts/test installs)
//! started on loopback by the test with `use-auth-secret`: the credentials each `welcome` carries
//! let a relay-only `webrtc`-crate client reach the SFU through coturn (so the hub never sees
//! the client's own address, only the relay's), a credential minted with the wrong secret is
//! refused by coturn, and coturn's log names the person only by pseudonym.

mod common;
#[path = "common/sfu.rs"]
mod sfu;

use common::*;
use huddle::protocol::{IceTransportPolicy, MediaMode, Role};
use serde_json::Value;
use sfu::SfuNode;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;

const SECRET: &str = "coturn-test-secret-0123456789";

/// A coturn on 127.0.0.1, stopped (and its files removed) on drop.
struct Coturn {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Coturn {
    /// Starts `turnserver` in the foreground on a free port, relaying on loopback only, and
    /// waits for its last start-up log line.
    fn start(relay_ports: (u16, u16)) -> Coturn {
        let binary = ["/usr/bin/turnserver", "/usr/local/bin/turnserver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("coturn's turnserver is not installed: scripts/test installs it (apt-get install coturn)");
        let dir = std::env::temp_dir().join(format!(
            "huddle-coturn-{}-{}",
            std::process::id(),
            relay_ports.0
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("turn.log");
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let args = [
            "-n".to_owned(),
            "--listening-ip=127.0.0.1".into(),
            "--relay-ip=127.0.0.1".into(),
            format!("--listening-port={port}"),
            format!("--min-port={}", relay_ports.0),
            format!("--max-port={}", relay_ports.1),
            "--realm=huddle.test".into(),
            "--use-auth-secret".into(),
            format!("--static-auth-secret={SECRET}"),
            "--no-tls".into(),
            "--no-dtls".into(),
            "--no-cli".into(),
            "--fingerprint".into(),
            // The SFU and the test's peers live on 127.0.0.1; coturn refuses loopback peers
            // unless told (a production server must not).
            "--allow-loopback-peers".into(),
            "--no-multicast-peers".into(),
            "--verbose".into(),
            format!("--log-file={}", log.display()),
            "--no-stdout-log".into(),
            "--simple-log".into(),
            "--no-rfc5780".into(),
            "--no-stun-backward-compatibility".into(),
            "--no-software-attribute".into(),
            format!("--pidfile={}", dir.join("turn.pid").display()),
            format!("--userdb={}", dir.join("turndb").display()),
        ];
        let mut child = Command::new(binary)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts");
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("SQLite DB connection success:") {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("turnserver exited at start ({status}):\n{text}");
            }
            assert!(
                std::time::Instant::now() < give_up,
                "turnserver not ready in 10 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Coturn { child, port, dir }
    }

    fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("turn.log")).unwrap_or_default()
    }

    /// Allocates a relay with `username`/`password`: Ok with the relayed address, or coturn's
    /// refusal.
    async fn allocate(&self, username: &str, password: &str) -> Result<String, String> {
        use webrtc::util::Conn;
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = format!("127.0.0.1:{}", self.port);
        let client = webrtc::turn::client::Client::new(webrtc::turn::client::ClientConfig {
            stun_serv_addr: server.clone(),
            turn_serv_addr: server,
            username: username.to_owned(),
            password: password.to_owned(),
            realm: String::new(),
            software: String::new(),
            rto_in_ms: 0,
            conn: Arc::new(socket),
            vnet: None,
        })
        .await
        .map_err(|e| e.to_string())?;
        client.listen().await.map_err(|e| e.to_string())?;
        let relay = tokio::time::timeout(DEADLINE, client.allocate())
            .await
            .map_err(|_| "allocation timed out".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()));
        let answer = relay.and_then(|conn| {
            conn.local_addr()
                .map(|a| a.to_string())
                .map_err(|e| e.to_string())
        });
        let _ = client.close().await;
        answer
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The peer connection settings a browser takes from `welcome`: its ICE servers, relay only.
fn relay_only(welcome: &Value) -> RTCConfiguration {
    assert_eq!(welcome["ice_transport_policy"], "relay");
    let ice_servers = welcome["ice_servers"]
        .as_array()
        .expect("ice_servers")
        .iter()
        .map(|s| RTCIceServer {
            urls: serde_json::from_value(s["urls"].clone()).unwrap(),
            username: s["username"].as_str().unwrap_or_default().to_owned(),
            credential: s["credential"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    RTCConfiguration {
        ice_servers,
        ice_transport_policy: RTCIceTransportPolicy::Relay,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_clients_reach_the_sfu_through_coturn_with_minted_credentials() {
    let coturn = Coturn::start((61000, 61049));
    let url = coturn.url();
    let hub = start_server_with(|c| {
        c.media_mode = MediaMode::Sfu;
        c.turn_urls = vec![url];
        c.turn_secret = Some(SECRET.into());
        c.ice_transport_policy = IceTransportPolicy::Relay;
    })
    .await;
    let host = hub.join("g", "host-sub-1", Role::Host).await;
    let alex = hub.join("g", "alex-sub-2", Role::Participant).await;
    let server = &alex.welcome["ice_servers"][0];
    assert_eq!(server["urls"][0], coturn.url());
    let username = server["username"].as_str().expect("a minted username");
    let credential = server["credential"].as_str().expect("a minted credential");
    let (expiry, pseudonym) = username.split_once(':').expect("expiry:pseudonym");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiry: u64 = expiry.parse().expect("a unix time");
    assert!(expiry > now + 3600, "valid for hours, not minutes");
    assert!(!pseudonym.contains("alex") && !pseudonym.contains("sub"));
    assert_ne!(
        host.welcome["ice_servers"][0]["username"], server["username"],
        "each person has their own"
    );

    // coturn takes the minted credential and refuses one minted with another secret.
    let relayed = coturn.allocate(username, credential).await;
    assert!(
        relayed.is_ok(),
        "coturn refused the minted credential: {relayed:?}"
    );
    let forged = huddle::turn::password("not-the-coturn-secret-0000", username);
    let refused = coturn.allocate(username, &forged).await;
    assert!(
        refused.is_err(),
        "coturn took a credential minted with the wrong secret"
    );
    assert!(
        coturn
            .log()
            .contains(&format!("Cannot find credentials of user <{username}>")),
        "coturn says why it refused"
    );

    // Real media, relay only: each side's only candidates are coturn's relayed addresses.
    let (host_id, alex_id) = (host.id, alex.id);
    let host_username = host.welcome["ice_servers"][0]["username"]
        .as_str()
        .unwrap()
        .to_owned();
    let host_config = relay_only(&host.welcome);
    let alex_config = relay_only(&alex.welcome);
    let mut host = SfuNode::start_with(host.id, host.ws, true, host_config).await;
    let mut alex = SfuNode::start_with(alex.id, alex.ws, true, alex_config).await;
    let seen = alex.until_seen(&[host_id], Duration::from_secs(30)).await;
    println!(
        "alex first saw the host through coturn after {:?}",
        seen[0].1
    );
    host.until_seen(&[alex_id], Duration::from_secs(30)).await;
    let log = coturn.log();
    // The host's credential was used by nothing but its peer connection.
    assert!(
        log.contains(&format!(
            "user <{host_username}>: incoming packet ALLOCATE processed, success"
        )),
        "the host's media went through coturn, under its pseudonym"
    );
    assert!(log.contains("ALLOCATE processed, success"));
    for secret in ["alex-sub-2", "host-sub-1", "Name of"] {
        assert!(!log.contains(secret), "coturn's log holds {secret:?}");
    }
}
