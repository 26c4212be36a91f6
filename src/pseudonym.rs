//! Keyed pseudonyms of people (`sub`) for log lines: an HMAC-SHA256 of the `sub` with a hub secret
//! (`audit_key`), cut to 64 bits. An operator who has the key can answer "who removed whom" by
//! computing the pseudonym of a `sub` they know; the log itself holds no partner id and no name.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Computes pseudonyms with one key. Cheap to share (`Arc`).
pub struct Pseudonyms {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(<key>)")
    }
}

impl Pseudonyms {
    /// With `key` (any length; the hub asks for at least 16 bytes in its configuration).
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes keys of any length; this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        Pseudonyms { mac }
    }

    /// With a random key: pseudonyms are stable only while this process runs.
    pub fn random() -> Self {
        Self::new(&rand::random::<[u8; 32]>())
    }

    /// The pseudonym of `sub`: 16 hex digits.
    pub fn of(&self, sub: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(sub.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_key_and_different_across_keys_and_people() {
        let a = Pseudonyms::new(b"key one, sixteen+");
        let b = Pseudonyms::new(b"key two, sixteen+");
        assert_eq!(a.of("alice"), a.of("alice"));
        assert_eq!(a.of("alice").len(), 16);
        assert_ne!(a.of("alice"), a.of("bob"));
        assert_ne!(a.of("alice"), b.of("alice"));
        assert!(!a.of("alice").contains("alice"));
    }
}
