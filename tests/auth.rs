//! Every kind of bad token is refused with `unauthorized`, a terminal close, and nothing enters
//! the meeting directory; good tokens of each algorithm family get in.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use huddle::auth::{Minter, SignKey, TokenAlgorithm};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("fixtures/rsa_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("fixtures/ed25519_private.pem");
const ED_PUBLIC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ed25519_public.pem"
);
const RSA_PUBLIC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rsa_public.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(hub: &TestServer) -> Value {
    json!({
        "iss": hub.minter.issuer, "aud": hub.minter.audience, "sub": "mallory", "name": "M",
        "meeting": "m1", "role": "participant", "exp": now() + 600,
    })
}

/// Sends `hello` with `token` (and `meeting`, if given) and checks the refusal.
async fn assert_refused(hub: &TestServer, token: &str, meeting: Option<&str>) {
    assert_refused_with(hub, token, meeting, 4001).await;
}

/// As [`assert_refused`], closed with `close`.
async fn assert_refused_with(hub: &TestServer, token: &str, meeting: Option<&str>, close: u16) {
    let mut c = connect(&hub.url).await;
    let mut hello = json!({"type": "hello", "protocol": 1, "token": token});
    if let Some(m) = meeting {
        hello["meeting"] = json!(m);
    }
    c.send(hello).await;
    let closed = c.expect_close().await;
    assert_eq!(
        closed.frames.len(),
        1,
        "exactly one frame before the close: {:?}",
        closed.frames
    );
    assert_eq!(closed.frames[0]["type"], "error");
    assert_eq!(closed.frames[0]["code"], "unauthorized");
    assert_eq!(closed.code, Some(close), "terminal close");
    assert_eq!(
        hub.server.meeting_count(),
        0,
        "nothing entered the registry"
    );
}

/// A minter with the hub's issuer and audience but the given algorithm and key.
fn signer(hub: &TestServer, algorithm: TokenAlgorithm, key: SignKey<'_>) -> Minter {
    Minter::new(algorithm, key, &hub.minter.issuer, &hub.minter.audience).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn hs256_bad_tokens_are_refused() {
    let hub = start_server().await;
    let good = claims(&hub);

    // Forged signature: signed with another secret.
    let other = signer(
        &hub,
        TokenAlgorithm::Hs256,
        SignKey::Secret(b"another-secret-another-secret-123"),
    );
    assert_refused(&hub, &other.sign(&good).unwrap(), None).await;
    // Tampered payload with the original signature.
    let token = hub.minter.sign(&good).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut tampered = good.clone();
    tampered["role"] = json!("host");
    assert_refused(
        &hub,
        &format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]),
        None,
    )
    .await;

    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        hub.minter.sign(&c).unwrap()
    };
    // Expired (beyond the leeway): said so (4006), since our key signed it; the same claims
    // signed with another key are only refused (4001).
    assert_refused_with(&hub, &with(&|c| c["exp"] = json!(now() - 120)), None, 4006).await;
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    assert_refused(&hub, &other.sign(&expired).unwrap(), None).await;
    // Not valid yet.
    assert_refused(&hub, &with(&|c| c["nbf"] = json!(now() + 600)), None).await;
    // Wrong audience, wrong issuer.
    assert_refused(&hub, &with(&|c| c["aud"] = json!("someone-else")), None).await;
    assert_refused(&hub, &with(&|c| c["iss"] = json!("evil-issuer")), None).await;
    // Missing exp; exp as a string.
    assert_refused(
        &hub,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        None,
    )
    .await;
    assert_refused(
        &hub,
        &with(&|c| c["exp"] = json!((now() + 600).to_string())),
        None,
    )
    .await;
    // Missing iss / sub; unknown role.
    assert_refused(
        &hub,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("iss"))),
        None,
    )
    .await;
    assert_refused(
        &hub,
        &with(&|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        None,
    )
    .await;
    assert_refused(&hub, &with(&|c| c["role"] = json!("superuser")), None).await;
    // alg: none, with and without a signature part.
    let none = b64(&json!({"alg": "none", "typ": "JWT"}));
    assert_refused(&hub, &format!("{none}.{}.", b64(&good)), None).await;
    assert_refused(&hub, &format!("{none}.{}", b64(&good)), None).await;
    // Not a JWT at all.
    assert_refused(&hub, "not-a-token", None).await;
    // A token for meeting m1 used to join meeting m2.
    assert_refused(&hub, &hub.minter.sign(&good).unwrap(), Some("m2")).await;

    // The good token itself works (so the refusals above are about what was changed).
    let mut c = connect(&hub.url).await;
    c.send(json!({"type": "hello", "protocol": 1, "token": hub.minter.sign(&good).unwrap(), "meeting": "m1"})).await;
    let welcome = c.recv().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["meeting"], "m1");
}

#[tokio::test]
async fn rs256_deployment_refuses_hs256_signed_with_the_public_key() {
    let hub = start_server_with(|c| {
        c.jwt_secret = None;
        c.jwt_algorithm = Some("RS256".into());
        c.jwt_public_key = Some(RSA_PUBLIC_PATH.into());
    })
    .await;
    let good = claims(&hub);
    // The classic algorithm-confusion attack: HMAC keyed with the public key PEM.
    let confused = signer(&hub, TokenAlgorithm::Hs256, SignKey::Secret(RSA_PUBLIC));
    assert_refused(&hub, &confused.sign(&good).unwrap(), None).await;

    let rsa = signer(
        &hub,
        TokenAlgorithm::Rs256,
        SignKey::PrivatePem(RSA_PRIVATE),
    );
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    assert_refused_with(&hub, &rsa.sign(&expired).unwrap(), None, 4006).await;

    let mut c = connect(&hub.url).await;
    c.hello(&rsa.sign(&good).unwrap()).await;
    assert_eq!(c.recv().await["type"], "welcome");
}

#[tokio::test]
async fn eddsa_deployment_accepts_its_own_tokens_only() {
    let hub = start_server_with(|c| {
        c.jwt_secret = None;
        c.jwt_algorithm = Some("EdDSA".into());
        c.jwt_public_key = Some(ED_PUBLIC.into());
    })
    .await;
    let good = claims(&hub);
    let ed = signer(&hub, TokenAlgorithm::EdDsa, SignKey::PrivatePem(ED_PRIVATE));
    let rsa = signer(
        &hub,
        TokenAlgorithm::Rs256,
        SignKey::PrivatePem(RSA_PRIVATE),
    );
    assert_refused(&hub, &rsa.sign(&good).unwrap(), None).await;
    let mut c = connect(&hub.url).await;
    c.hello(&ed.sign(&good).unwrap()).await;
    assert_eq!(c.recv().await["type"], "welcome");
}

#[tokio::test]
async fn a_hub_without_a_key_refuses_to_start() {
    let config = huddle::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let err = huddle::Server::start(config)
        .await
        .err()
        .expect("must not start");
    assert!(err.contains("HUDDLE_JWT_SECRET"), "clear message: {err}");
    let config = huddle::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some("too-short".into()),
        ..Default::default()
    };
    assert!(huddle::Server::start(config).await.is_err());
}

#[tokio::test]
async fn tokens_that_live_too_long_are_refused() {
    let hub = start_server().await;
    let mut long = claims(&hub);
    long["exp"] = json!(now() + 2 * 86_400);
    assert_refused(&hub, &hub.minter.sign(&long).unwrap(), None).await;
    // With `iat`, the whole lifetime counts, not what is left of it.
    let mut old = claims(&hub);
    old["iat"] = json!(now() - 2 * 86_400);
    assert_refused(&hub, &hub.minter.sign(&old).unwrap(), None).await;
    // A day-long token minted now is fine.
    let mut day = claims(&hub);
    day["iat"] = json!(now());
    day["exp"] = json!(now() + 86_400);
    let mut c = connect(&hub.url).await;
    c.hello(&hub.minter.sign(&day).unwrap()).await;
    c.recv_type("welcome").await;
}

#[tokio::test]
async fn an_exp_near_the_end_of_time_neither_panics_nor_leaves_a_ghost() {
    let hub = start_server_with(|c| c.max_token_lifetime_secs = 0).await;
    let mut forever = claims(&hub);
    forever["exp"] = json!(u64::MAX - 1);
    let mut ghost = connect(&hub.url).await;
    ghost.hello(&hub.minter.sign(&forever).unwrap()).await;
    let id = ghost.recv_type("welcome").await["you"]["id"].clone();
    let mut other = hub.join("m1", "other", huddle::protocol::Role::Host).await;
    ghost.close().await;
    let left = other.recv_type("peer_left").await;
    assert_eq!(left["id"], id, "the connection task lived to say goodbye");
}
