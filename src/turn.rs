//! TURN REST credentials (coturn's `use-auth-secret`, draft-uberti-behave-turn-rest): each
//! person's `welcome` carries a username `<expiry>:<pseudonym>` and its password
//! `base64(HMAC-SHA1(secret, username))`, which the TURN server checks with the same secret. No
//! static password is handed to every participant, and the username names nobody: TURN servers
//! log usernames, so the pseudonym is a keyed hash of `sub` (keyed with the TURN secret, so it is
//! the same on every hub node and across restarts), never the `sub` or a name.

use crate::protocol::IceServer;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The TURN servers and the secret shared with them.
#[derive(Clone)]
pub struct TurnConfig {
    urls: Vec<String>,
    secret: String,
    ttl_secs: u64,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TurnConfig {
    /// `urls` are `turn:` / `turns:` URLs; the secret is coturn's `static-auth-secret`.
    pub fn new(urls: Vec<String>, secret: String, ttl_secs: u64) -> Result<TurnConfig, String> {
        if urls.is_empty() {
            return Err("turn_secret is set: also set turn_urls (turn:host:3478, …)".into());
        }
        if let Some(bad) = urls
            .iter()
            .find(|u| !(u.starts_with("turn:") || u.starts_with("turns:")))
        {
            return Err(format!("turn_urls: {bad:?} is not a turn: or turns: URL"));
        }
        if secret.len() < 16 {
            return Err("turn_secret must be at least 16 bytes".into());
        }
        if !(60..=7 * 86_400).contains(&ttl_secs) {
            return Err("turn_ttl_secs is between 60 and 604800".into());
        }
        Ok(TurnConfig {
            urls,
            secret,
            ttl_secs,
        })
    }

    /// The name `sub` goes by at the TURN server: 20 hex digits of a keyed hash.
    pub fn pseudonym(&self, sub: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"huddle turn user\0");
        mac.update(sub.as_bytes());
        crate::auth::hex(&mac.finalize().into_bytes()[..10])
    }

    /// Credentials for `sub` at `now_ms` (ms since the epoch), valid for the configured time.
    pub fn credentials(&self, sub: &str, now_ms: u64) -> IceServer {
        let expiry = now_ms / 1000 + self.ttl_secs;
        let username = format!("{expiry}:{}", self.pseudonym(sub));
        IceServer {
            urls: self.urls.clone(),
            credential: Some(password(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// coturn's password for `username`: base64 of HMAC-SHA1 with the shared secret.
pub fn password(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_coturns() {
        // The same value `openssl dgst -sha1 -hmac s3cret -binary | base64` gives.
        assert_eq!(
            password("s3cret", "1700000000:x"),
            "CPKEUCLjV4a/ztXHoxlj5yV2UMQ="
        );
    }

    #[test]
    fn usernames_carry_an_expiry_and_a_pseudonym_never_the_sub() {
        let turn = TurnConfig::new(
            vec!["turn:turn.example.org:3478".into()],
            "a secret of sixteen+".into(),
            3600,
        )
        .unwrap();
        let server = turn.credentials("patient-123", 1_800_000_000_500);
        let username = server.username.unwrap();
        let (expiry, pseudonym) = username.split_once(':').unwrap();
        assert_eq!(expiry, "1800003600");
        assert_eq!(pseudonym.len(), 20);
        assert!(!username.contains("patient"));
        assert_eq!(pseudonym, turn.pseudonym("patient-123"));
        assert_ne!(pseudonym, turn.pseudonym("patient-124"));
        assert_eq!(
            server.credential.unwrap(),
            password("a secret of sixteen+", &username)
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let ok = || vec!["turn:127.0.0.1:3478".to_owned()];
        assert!(TurnConfig::new(vec![], "sixteen bytes ok!".into(), 3600).is_err());
        assert!(TurnConfig::new(vec!["stun:x".into()], "sixteen bytes ok!".into(), 3600).is_err());
        assert!(TurnConfig::new(ok(), "short".into(), 3600).is_err());
        assert!(TurnConfig::new(ok(), "sixteen bytes ok!".into(), 10).is_err());
        assert!(TurnConfig::new(ok(), "sixteen bytes ok!".into(), 3600).is_ok());
    }
}
