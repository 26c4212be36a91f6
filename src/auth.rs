//! Token verification (and minting, for dev mode and `huddle token`): turns a partner's JWT into a
//! verified [`Identity`] plus meeting id, or a refusal. The algorithm list is pinned by config and
//! never taken from the token.

use crate::limits::{MAX_JWT_LEEWAY_SECS, MAX_NAME_CHARS};
use crate::meeting::Identity;
use crate::protocol::{MeetingKind, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The claims Huddle reads. `iss`, `aud`, `exp` and `nbf` are checked by the validator; the rest
/// are ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The partner's opaque user id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Meeting id.
    pub meeting: String,
    pub role: Role,
    /// `drop_in` for a peer support room run by mentors (absent: a clinician's session). The
    /// meeting takes it from the token of whoever starts it, unless the partner's settings say.
    #[serde(default, skip_serializing_if = "MeetingKind::is_session")]
    pub kind: MeetingKind,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at; with `exp` it gives the token's whole lifetime (see `max_token_lifetime_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// The claims of a server API token (`aud` = `api_audience`): who calls, with which scopes. No
/// meeting, name or role: an API token is never a person in a meeting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiClaims {
    pub iss: String,
    pub aud: String,
    /// The calling system (a service name, not a person).
    pub sub: String,
    /// Space-separated scopes, e.g. `"meetings:read moderation"`.
    #[serde(default)]
    pub scope: String,
    /// The token's id, for the audit line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// A verified server API caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCaller {
    pub iss: String,
    pub sub: String,
    pub jti: Option<String>,
    pub scopes: Vec<String>,
}

impl ApiCaller {
    /// The audit line of a server API action: the calling system (`iss`, `sub`, `jti`), never a
    /// person's name or chat; `refused` when it was not carried out.
    pub fn audit(&self, meeting: &str, action: &str, refused: Option<crate::protocol::ErrorCode>) {
        tracing::info!(
            target: "audit",
            meeting,
            api_iss = self.iss,
            api_sub = self.sub,
            api_jti = self.jti,
            action,
            refused = ?refused,
            "server API action"
        );
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Which algorithm family a deployment uses. One only: HS256 with a shared secret, or one
/// asymmetric algorithm with the partner's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    Hs256,
    Rs256,
    Es256,
    EdDsa,
}

impl TokenAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "HS256" => Some(Self::Hs256),
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EDDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

/// Why a token was refused. Only for the log at debug level; the client always gets
/// `unauthorized` with a generic message, so a probe learns nothing about the key.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token rejected: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    #[error("token is for another meeting")]
    WrongMeeting,
    #[error("invalid meeting id in token")]
    BadMeetingId,
    #[error("empty subject")]
    EmptySubject,
    #[error("token lives longer than max_token_lifetime_secs allows")]
    TooLong,
    #[error("the server API is not configured")]
    NoApi,
}

impl AuthError {
    /// A token whose signature held but whose `exp` has passed (the signature is checked
    /// first, so only a token made with our key gets here).
    pub fn is_expired(&self) -> bool {
        matches!(self, AuthError::Jwt(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature)
    }
}

/// A verified token: who, in which meeting, until when.
#[derive(Debug, Clone)]
pub struct Admission {
    pub meeting: String,
    pub identity: Identity,
    pub expires_at: u64,
    /// The meeting kind the token asks for (used only by whoever starts the meeting).
    pub kind: MeetingKind,
}

/// Verifies tokens with one pinned algorithm and key.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    /// The same key, algorithm and issuer for server API tokens, with the API audience.
    api_validation: Option<Validation>,
    /// Longest lifetime a token may have, seconds (0: no limit). A leaked token is only as
    /// dangerous as it is long-lived.
    max_lifetime_secs: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Verifier")
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

/// Key material for verification.
pub enum VerifyKey<'a> {
    Secret(&'a [u8]),
    PublicPem(&'a [u8]),
}

impl Verifier {
    pub fn new(
        algorithm: TokenAlgorithm,
        key: VerifyKey<'_>,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
    ) -> Result<Self, String> {
        let key = match (algorithm, key) {
            (TokenAlgorithm::Hs256, VerifyKey::Secret(s)) => {
                if s.len() < 32 {
                    return Err("the HS256 secret must be at least 32 bytes".into());
                }
                DecodingKey::from_secret(s)
            }
            (TokenAlgorithm::Rs256, VerifyKey::PublicPem(p)) => {
                DecodingKey::from_rsa_pem(p).map_err(|e| format!("RSA public key: {e}"))?
            }
            (TokenAlgorithm::Es256, VerifyKey::PublicPem(p)) => {
                DecodingKey::from_ec_pem(p).map_err(|e| format!("EC public key: {e}"))?
            }
            (TokenAlgorithm::EdDsa, VerifyKey::PublicPem(p)) => {
                DecodingKey::from_ed_pem(p).map_err(|e| format!("Ed25519 public key: {e}"))?
            }
            (TokenAlgorithm::Hs256, VerifyKey::PublicPem(_)) => {
                return Err("HS256 needs a shared secret, not a public key".into())
            }
            (_, VerifyKey::Secret(_)) => {
                return Err("RS256/ES256/EdDSA need a public key PEM, not a secret".into())
            }
        };
        let mut validation = Validation::new(algorithm.jwt());
        validation.algorithms = vec![algorithm.jwt()];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = leeway_secs.min(MAX_JWT_LEEWAY_SECS);
        Ok(Verifier {
            key,
            validation,
            api_validation: None,
            max_lifetime_secs: 0,
        })
    }

    /// Refuses tokens whose `exp − iat` (without `iat`: `exp − now`) is over `secs` (0: no limit).
    pub fn with_max_lifetime(mut self, secs: u64) -> Self {
        self.max_lifetime_secs = secs;
        self
    }

    /// Accepts server API tokens for `audience` (which must differ from the client audience,
    /// so that neither kind of token is ever taken for the other).
    pub fn with_api_audience(mut self, audience: &str) -> Result<Self, String> {
        if self
            .validation
            .aud
            .as_ref()
            .is_some_and(|a| a.contains(audience))
        {
            return Err(
                "api_audience must differ from jwt_audience: otherwise a client token \
                        would open the server API"
                    .into(),
            );
        }
        let mut validation = self.validation.clone();
        validation.set_audience(&[audience]);
        self.api_validation = Some(validation);
        Ok(self)
    }

    /// Refuses tokens living longer than `max_lifetime_secs` (`exp − iat`, or `exp − now`).
    fn check_lifetime(&self, exp: u64, iat: Option<u64>) -> Result<(), AuthError> {
        let from = iat.unwrap_or_else(unix_now);
        if self.max_lifetime_secs > 0 && exp.saturating_sub(from) > self.max_lifetime_secs {
            return Err(AuthError::TooLong);
        }
        Ok(())
    }

    /// Verifies a server API token.
    pub fn verify_api(&self, token: &str) -> Result<ApiCaller, AuthError> {
        let validation = self.api_validation.as_ref().ok_or(AuthError::NoApi)?;
        let claims = jsonwebtoken::decode::<ApiClaims>(token, &self.key, validation)?.claims;
        if claims.sub.is_empty() {
            return Err(AuthError::EmptySubject);
        }
        self.check_lifetime(claims.exp, claims.iat)?;
        Ok(ApiCaller {
            iss: claims.iss,
            sub: claims.sub,
            jti: claims.jti,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        })
    }

    /// Verifies `token`; if `meeting` is given it must match the token's meeting.
    pub fn verify(&self, token: &str, meeting: Option<&str>) -> Result<Admission, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)?;
        let claims = data.claims;
        if !valid_meeting_id(&claims.meeting) {
            return Err(AuthError::BadMeetingId);
        }
        if meeting.is_some_and(|m| m != claims.meeting) {
            return Err(AuthError::WrongMeeting);
        }
        if claims.sub.is_empty() {
            return Err(AuthError::EmptySubject);
        }
        self.check_lifetime(claims.exp, claims.iat)?;
        Ok(Admission {
            meeting: claims.meeting,
            identity: Identity {
                sub: claims.sub,
                name: clean_name(&claims.name),
                role: claims.role,
            },
            expires_at: claims.exp,
            kind: claims.kind,
        })
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Meeting ids: 1–128 characters of `A–Z a–z 0–9 . _ : -`.
pub fn valid_meeting_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Trims a display name, drops control characters and caps its length; an empty result
/// becomes "Guest".
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_or_reordering(*c))
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "Guest".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Characters that let one name pass for another on screen: bidirectional embeddings, overrides
/// and isolates (a name that renders reversed), zero-width and other invisible format characters
/// (`Dr.\u{200B} Rivera` looks like the therapist), and the BOM.
fn is_invisible_or_reordering(c: char) -> bool {
    matches!(c,
        '\u{061C}'                 // Arabic letter mark
        | '\u{115F}' | '\u{1160}' // Hangul fillers
        | '\u{180E}'               // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, (non-)joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, isolates, deprecated
        | '\u{3164}'               // Hangul filler
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'               // BOM / zero-width no-break space
        | '\u{FFA0}'               // halfwidth Hangul filler
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// A fresh random HS256 secret (64 hex characters) for dev mode and tests.
pub fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    hex(&bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 of `text` with `key`, as hex (the cluster's node proofs and resume tokens).
pub(crate) fn hmac_hex(key: &[u8], text: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(text);
    hex(&mac.finalize().into_bytes())
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ (for
/// comparing a MAC someone sent with the one it should be).
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Mints tokens (dev mode, `huddle token`, tests, the load generator).
pub struct Minter {
    algorithm: TokenAlgorithm,
    key: EncodingKey,
    pub issuer: String,
    pub audience: String,
}

/// Key material for signing.
pub enum SignKey<'a> {
    Secret(&'a [u8]),
    PrivatePem(&'a [u8]),
}

impl Minter {
    pub fn new(
        algorithm: TokenAlgorithm,
        key: SignKey<'_>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, String> {
        let key = match (algorithm, key) {
            (TokenAlgorithm::Hs256, SignKey::Secret(s)) => EncodingKey::from_secret(s),
            (TokenAlgorithm::Rs256, SignKey::PrivatePem(p)) => {
                EncodingKey::from_rsa_pem(p).map_err(|e| format!("RSA private key: {e}"))?
            }
            (TokenAlgorithm::Es256, SignKey::PrivatePem(p)) => {
                EncodingKey::from_ec_pem(p).map_err(|e| format!("EC private key: {e}"))?
            }
            (TokenAlgorithm::EdDsa, SignKey::PrivatePem(p)) => {
                EncodingKey::from_ed_pem(p).map_err(|e| format!("Ed25519 private key: {e}"))?
            }
            (TokenAlgorithm::Hs256, SignKey::PrivatePem(_)) => {
                return Err("HS256 signs with the shared secret".into())
            }
            (_, SignKey::Secret(_)) => {
                return Err(
                    "RS256/ES256/EdDSA tokens need the private key PEM (--private-key)".into(),
                )
            }
        };
        Ok(Minter {
            algorithm,
            key,
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    /// A token for `sub` in `meeting`, valid from now for `ttl`.
    pub fn mint(
        &self,
        meeting: &str,
        sub: &str,
        name: &str,
        role: Role,
        ttl: Duration,
    ) -> Result<String, String> {
        let now = unix_now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: sub.into(),
            name: name.into(),
            meeting: meeting.into(),
            role,
            kind: MeetingKind::Session,
            exp: now.saturating_add(ttl.as_secs()),
            nbf: Some(now.saturating_sub(1)),
            iat: Some(now),
        };
        self.sign(&claims)
    }

    /// A server API token for the calling system `sub` with `scope` (space-separated), for
    /// `audience` (the hub's `api_audience`), valid from now for `ttl`.
    pub fn mint_api(
        &self,
        audience: &str,
        sub: &str,
        scope: &str,
        ttl: Duration,
    ) -> Result<String, String> {
        use rand::Rng;
        let now = unix_now();
        let jti: [u8; 12] = rand::rng().random();
        let jti = hex(&jti);
        let claims = ApiClaims {
            iss: self.issuer.clone(),
            aud: audience.into(),
            sub: sub.into(),
            scope: scope.into(),
            jti: Some(jti),
            exp: now.saturating_add(ttl.as_secs()),
            nbf: Some(now.saturating_sub(1)),
            iat: Some(now),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests use this for deliberately bad tokens).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(self.algorithm.jwt()), claims, &self.key)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn pair() -> (Minter, Verifier) {
        let m = Minter::new(TokenAlgorithm::Hs256, SignKey::Secret(SECRET), "iss", "aud").unwrap();
        let v = Verifier::new(
            TokenAlgorithm::Hs256,
            VerifyKey::Secret(SECRET),
            "iss",
            "aud",
            5,
        )
        .unwrap();
        (m, v)
    }

    #[test]
    fn names_cannot_hide_or_reverse_characters() {
        assert_eq!(clean_name("Dr.\u{200B} Rivera"), "Dr. Rivera");
        assert_eq!(clean_name("\u{202E}areviR .rD"), "areviR .rD");
        assert_eq!(clean_name("Sam\u{2066}\u{FEFF}\u{200D}"), "Sam");
        assert_eq!(clean_name("\u{200B}\u{200B}"), "Guest");
        // Letters of every script stay.
        assert_eq!(clean_name("José Müller 李雷 محمد"), "José Müller 李雷 محمد");
    }

    #[test]
    fn round_trip_and_meeting_pin() {
        let (m, v) = pair();
        let t = m
            .mint(
                "m1",
                "alice",
                "  Alice\u{7}  ",
                Role::Host,
                Duration::from_secs(60),
            )
            .unwrap();
        let a = v.verify(&t, None).unwrap();
        assert_eq!(a.meeting, "m1");
        assert_eq!(a.identity.name, "Alice");
        assert!(v.verify(&t, Some("m1")).is_ok());
        assert!(matches!(
            v.verify(&t, Some("m2")),
            Err(AuthError::WrongMeeting)
        ));
    }

    #[test]
    fn short_secret_refused() {
        assert!(Verifier::new(
            TokenAlgorithm::Hs256,
            VerifyKey::Secret(b"short"),
            "i",
            "a",
            0
        )
        .is_err());
    }

    #[test]
    fn meeting_ids() {
        assert!(valid_meeting_id("group-7.tuesday"));
        assert!(!valid_meeting_id(""));
        assert!(!valid_meeting_id("a b"));
        assert!(!valid_meeting_id(&"x".repeat(129)));
    }
}
