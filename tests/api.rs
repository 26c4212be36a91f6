//! The server API over real HTTP on 127.0.0.1: API tokens (audience and scopes, both ways),
//! problem+json errors, and every endpoint acting on a real meeting whose members are real
//! WebSocket clients.

mod common;

use common::*;
use huddle::auth::{Minter, SignKey, TokenAlgorithm};
use huddle::protocol::{CloseCode, Role};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_AUDIENCE: &str = "huddle-api";

struct Reply {
    status: u16,
    content_type: String,
    body: Value,
    /// The body as it came (for CSV).
    text: String,
}

/// One HTTP/1.1 request over a fresh connection.
async fn http(
    hub: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let addr = hub.server.local_addr();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut raw))
        .await
        .expect("reply in time")
        .expect("read");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
    }
}

fn api_token(hub: &TestServer, scope: &str) -> String {
    hub.minter
        .mint_api(
            API_AUDIENCE,
            "partner-backend",
            scope,
            Duration::from_secs(300),
        )
        .expect("mint")
}

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["code"], code, "{:?}", r.body);
    assert_eq!(r.body["status"], status);
}

#[tokio::test]
async fn client_and_api_tokens_are_never_taken_for_each_other_and_scopes_are_enforced() {
    let hub = start_server().await;
    let _host = hub.join("m", "host", Role::Host).await;

    assert_problem(
        &http(&hub, "GET", "/v1/meetings", None, None).await,
        401,
        "unauthorized",
    );
    // A client token (even a host's) does not open the API.
    let client = hub.token("m", "host", "Host", Role::Host);
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&client), None).await,
        401,
        "unauthorized",
    );
    // An API token signed with another key.
    let stranger = Minter::new(
        TokenAlgorithm::Hs256,
        SignKey::Secret(huddle::auth::random_secret().as_bytes()),
        &hub.minter.issuer,
        API_AUDIENCE,
    )
    .unwrap()
    .mint_api(API_AUDIENCE, "x", "meetings:read", Duration::from_secs(60))
    .unwrap();
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&stranger), None).await,
        401,
        "unauthorized",
    );

    // Each route wants its scope, and only that one.
    let read = api_token(&hub, "meetings:read");
    let moderation = api_token(&hub, "moderation");
    assert_eq!(
        http(&hub, "GET", "/v1/meetings", Some(&read), None)
            .await
            .status,
        200
    );
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&moderation), None).await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(
            &hub,
            "GET",
            "/v1/meetings/m/participants",
            Some(&moderation),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(&hub, "POST", "/v1/meetings/m/end", Some(&read), None).await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/m/broadcast",
            Some(&read),
            Some(json!({"text": "hi"})),
        )
        .await,
        403,
        "forbidden",
    );

    // An API token is not a ticket into a meeting.
    let mut c = connect(&hub.url).await;
    c.hello(&read).await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(CloseCode::Unauthorized.code()));

    // The OpenAPI document needs no token.
    let doc = http(&hub, "GET", "/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/v1/meetings/{meeting}/participants/{sub}/remove"].is_object());
}

#[tokio::test]
async fn the_hub_refuses_to_start_when_the_api_audience_is_the_client_audience() {
    let config = huddle::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(huddle::auth::random_secret()),
        jwt_audience: "same".into(),
        api_audience: "same".into(),
        ..huddle::Config::default()
    };
    let err = huddle::Server::start(config).await.err().expect("refused");
    assert!(err.contains("api_audience"), "{err}");
}

#[tokio::test]
async fn every_endpoint_acts_on_the_meeting_through_its_actor() {
    let hub = start_server().await;
    let read = api_token(&hub, "meetings:read");
    let moderate = api_token(&hub, "moderation");
    let mut host = hub.join("g1", "therapist", Role::Host).await;
    let mut p1 = hub.join("g1", "alex", Role::Participant).await;
    host.wait_joined(p1.id).await;

    // Reading.
    let list = http(&hub, "GET", "/v1/meetings", Some(&read), None).await;
    assert_eq!(
        list.body["meetings"],
        json!([{"meeting": "g1", "active": true}])
    );
    let m = http(&hub, "GET", "/v1/meetings/g1", Some(&read), None).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["breakouts_open"], false);
    let counts = m.body["members"].as_array().unwrap();
    assert!(counts.contains(&json!({"role": "host", "count": 1})));
    assert!(counts.contains(&json!({"role": "participant", "count": 1})));
    let people = http(
        &hub,
        "GET",
        "/v1/meetings/g1/participants",
        Some(&read),
        None,
    )
    .await;
    let people = people.body["participants"].as_array().unwrap().clone();
    assert_eq!(people.len(), 2);
    let alex = people
        .iter()
        .find(|p| p["sub"] == "alex")
        .expect("alex listed");
    assert_eq!(alex["peer"], p1.id);
    assert_eq!(alex["room"], "main");
    assert_eq!(alex["state"], "joined");
    assert!(alex["joined_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(alex.get("name").is_none(), "no names in the API");
    assert_problem(
        &http(&hub, "GET", "/v1/meetings/nobody-here", Some(&read), None).await,
        404,
        "not_found",
    );
    assert_problem(
        &http(&hub, "GET", "/v1/meetings/bad%20id", Some(&read), None).await,
        400,
        "bad_request",
    );

    // Breakouts: open (manual), move back, close.
    let open = json!({"strategy": "manual", "rooms": [{"name": "Pairs", "members": [p1.id]}]});
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/breakouts",
        Some(&moderate),
        Some(open),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let moved = p1.recv_type("room_changed").await;
    assert_ne!(moved["room"], "main");
    let again = json!({"strategy": "even", "count": 1});
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/breakouts",
            Some(&moderate),
            Some(again),
        )
        .await,
        409,
        "conflict",
    );
    assert_eq!(
        http(&hub, "GET", "/v1/meetings/g1", Some(&read), None)
            .await
            .body["breakouts_open"],
        true
    );
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/participants/alex/move",
        Some(&moderate),
        Some(json!({"room": "main"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(p1.recv_type("room_changed").await["room"], "main");
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/alex/move",
            Some(&moderate),
            Some(json!({"to": "main"})),
        )
        .await,
        400,
        "bad_request",
    );
    let r = http(
        &hub,
        "DELETE",
        "/v1/meetings/g1/breakouts",
        Some(&moderate),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        http(&hub, "GET", "/v1/meetings/g1", Some(&read), None)
            .await
            .body["breakouts_open"],
        false
    );

    // A broadcast from the partner's system (peer 0), and its audit notice to the hosts.
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/broadcast",
        Some(&moderate),
        Some(json!({"text": "Five minutes left"})),
    )
    .await;
    assert_eq!(r.status, 204);
    let b = p1.recv_type("broadcast").await;
    assert_eq!(b["from"], 0);
    assert_eq!(b["text"], "Five minutes left");
    let audit = host
        .recv_until(|v| v["type"] == "audit" && v["action"] == "broadcast")
        .await;
    assert_eq!(audit["by"], 0);

    // The waiting room: admit one, deny another.
    host.request(json!({"type": "set_lobby", "enabled": true}))
        .await;
    let mut p2 = connect(&hub.url).await;
    p2.hello(&hub.token("g1", "sam", "Sam", Role::Participant))
        .await;
    p2.recv_type("waiting").await;
    let people = http(
        &hub,
        "GET",
        "/v1/meetings/g1/participants",
        Some(&read),
        None,
    )
    .await;
    let sam = people.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sub"] == "sam")
        .cloned()
        .expect("sam listed");
    assert_eq!(sam["state"], "waiting");
    assert!(sam.get("room").is_none());
    assert_eq!(
        http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/sam/admit",
            Some(&moderate),
            None
        )
        .await
        .status,
        204
    );
    p2.recv_type("welcome").await;
    let mut p3 = connect(&hub.url).await;
    p3.hello(&hub.token("g1", "kim", "Kim", Role::Participant))
        .await;
    p3.recv_type("waiting").await;
    assert_eq!(
        http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/kim/deny",
            Some(&moderate),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(p3.expect_close().await.code, Some(CloseCode::Denied.code()));

    // Remove with a ban: gone, and kept out.
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/participants/sam/remove",
        Some(&moderate),
        Some(json!({"ban": true})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        p2.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );
    let mut back = connect(&hub.url).await;
    back.hello(&hub.token("g1", "sam", "Sam", Role::Participant))
        .await;
    assert_eq!(
        back.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/nobody/remove",
            Some(&moderate),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // End: everyone out.
    assert_eq!(
        http(&hub, "POST", "/v1/meetings/g1/end", Some(&moderate), None)
            .await
            .status,
        204
    );
    assert_eq!(
        p1.expect_close().await.code,
        Some(CloseCode::MeetingEnded.code())
    );
    assert_eq!(
        host.expect_close().await.code,
        Some(CloseCode::MeetingEnded.code())
    );
}

/// Attendance holds one session across a drop and resume and across a second-tab takeover,
/// starts a new one after a leave and rejoin, and the event log has every change in the
/// meeting's order with per-meeting `seq`.
#[tokio::test]
async fn attendance_and_the_event_log_follow_a_session_through_resume_takeover_and_rejoin() {
    let hub = start_server().await;
    let mut host = hub.join("g2", "therapist", Role::Host).await;
    let alex = hub.join("g2", "alex", Role::Participant).await;
    host.wait_joined(alex.id).await;

    // A drop and a resume: the same session.
    let resume_token = alex.welcome["resume_token"].as_str().unwrap().to_owned();
    let alex_id = alex.id;
    alex.drop_connection();
    host.recv_until(|v| v["type"] == "peer_reconnecting").await;
    let token = hub.token("g2", "alex", "Alex", Role::Participant);
    let mut back = connect(&hub.url).await;
    back.hello_resume(&token, &resume_token, "main", 0).await;
    assert_eq!(back.recv_type("welcome").await["resumed"], true);
    // A second tab takes the seat over: still the same session.
    let tab = hub.join("g2", "alex", Role::Participant).await;
    assert_eq!(tab.id, alex_id);
    back.expect_close().await;
    // Leave, then come back: a second session.
    tab.close().await;
    host.recv_until(|v| v["type"] == "peer_left").await;
    let again = hub.join("g2", "alex", Role::Participant).await;
    host.wait_joined(again.id).await;
    again.close().await;
    host.recv_until(|v| v["type"] == "peer_left").await;

    let read = api_token(&hub, "attendance:read");
    let a = http(&hub, "GET", "/v1/meetings/g2/attendance", Some(&read), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["meeting"], "g2");
    assert!(a.body["started_at"].is_string());
    assert!(a.body["ended_at"].is_null(), "the host is still there");
    assert_eq!(a.body["max_concurrent"], 2);
    let present = a.body["host_present"].as_array().unwrap();
    assert_eq!(present.len(), 1);
    assert!(present[0]["to"].is_null());
    let people = a.body["people"].as_array().unwrap();
    let alex = people.iter().find(|p| p["sub"] == "alex").expect("alex");
    let sessions = alex["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        2,
        "resume and takeover keep one session: {sessions:?}"
    );
    assert_eq!(sessions[0]["reason"], "left");
    assert!(sessions[0]["left_at"].is_string() && sessions[1]["left_at"].is_string());
    assert!(a.body.to_string().find("Alex").is_none(), "no names");

    // The host leaves: the meeting has ended; attendance stays readable.
    host.close().await;
    until_no_meeting_runs(&hub).await;
    let a = http(&hub, "GET", "/v1/meetings/g2/attendance", Some(&read), None).await;
    assert!(a.body["ended_at"].is_string());
    assert!(a.body["host_present"][0]["to"].is_string());
    let csv = http(
        &hub,
        "GET",
        "/v1/meetings/g2/attendance?format=csv",
        Some(&read),
        None,
    )
    .await;
    assert!(csv.content_type.starts_with("text/csv"));
    let rows: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        rows[0],
        "meeting,sub,joined_at,left_at,reason,in_meeting_seconds,waiting_seconds"
    );
    assert_eq!(
        rows.len(),
        1 + 3,
        "the therapist's session and alex's two: {rows:?}"
    );
    assert_problem(
        &http(
            &hub,
            "GET",
            "/v1/meetings/g2/attendance",
            Some(&api_token(&hub, "meetings:read")),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(
            &hub,
            "GET",
            "/v1/meetings/never/attendance",
            Some(&read),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // The event log, in the meeting's order.
    let events = http(
        &hub,
        "GET",
        "/v1/events",
        Some(&api_token(&hub, "events:read")),
        None,
    )
    .await;
    assert_eq!(events.status, 200);
    let list: Vec<&Value> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["meeting"] == "g2")
        .collect();
    let kinds: Vec<&str> = list.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "meeting.started",
            "participant.joined",
            "participant.joined",
            "participant.resumed",
            "participant.left",
            "participant.joined",
            "participant.left",
            "participant.left",
            "meeting.ended",
            "attendance.finalized",
        ]
    );
    let seqs: Vec<u64> = list
        .iter()
        .map(|e| e["data"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    // The billing record is complete: when it ran, how many at most, how many people.
    let finalized = &list[9]["data"];
    assert!(finalized["started_at"].is_string() && finalized["ended_at"].is_string());
    assert_eq!(finalized["max_concurrent"], 2);
    assert_eq!(finalized["people"], 2);
    let left = list[4];
    assert_eq!(left["data"]["sub"], "alex");
    assert_eq!(left["data"]["peer"], alex_id);
    assert_eq!(left["data"]["reason"], "left");
    assert!(left["data"]["session_seconds"].is_u64());
    assert!(left["id"].as_str().unwrap().starts_with("evt_"));
    // Paging with the cursor.
    let after = list[6]["id"].as_str().unwrap();
    let page = http(
        &hub,
        "GET",
        &format!("/v1/events?after={after}"),
        Some(&api_token(&hub, "events:read")),
        None,
    )
    .await;
    let rest: Vec<&str> = page.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        ["participant.left", "meeting.ended", "attendance.finalized"]
    );
    assert_problem(
        &http(
            &hub,
            "GET",
            "/v1/events?after=zzz",
            Some(&api_token(&hub, "events:read")),
            None,
        )
        .await,
        400,
        "bad_request",
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_scheduled_meeting_opens_on_time_warns_and_ends_by_itself() {
    let hub = start_server_with(|c| c.session_ending_warning_secs = 2).await;
    let write = api_token(&hub, "meetings:write meetings:read");
    let read_only = api_token(&hub, "meetings:read");
    let at = huddle::events::rfc3339;
    let now = now_ms();
    let later = json!({
        "starts_at": at(now + 3_600_000),
        "ends_at": at(now + 7_200_000),
        "early_join_secs": 600,
        "metadata": {"series": "tuesday-iop"},
    });
    let path = "/v1/meetings/sched";
    assert_problem(
        &http(&hub, "PUT", path, Some(&read_only), Some(later.clone())).await,
        403,
        "forbidden",
    );
    for bad in [
        json!({"starts_at": at(now + 2_000), "ends_at": at(now + 1_000)}),
        json!({"ends_at": "next tuesday"}),
        json!({"metadata": ["not", "an", "object"]}),
        json!({"max_members": 0}),
        json!({"surprise": true}),
    ] {
        let r = http(&hub, "PUT", path, Some(&write), Some(bad.clone())).await;
        assert_problem(&r, 400, "bad_request");
    }
    let r = http(&hub, "PUT", path, Some(&write), Some(later.clone())).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["metadata"]["series"], "tuesday-iop");
    // Offsets are accepted and come back in UTC.
    assert!(r.body["starts_at"].as_str().unwrap().ends_with('Z'));
    let r = http(&hub, "GET", path, Some(&write), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["settings"]["early_join_secs"], 600);
    let r = http(&hub, "GET", "/v1/meetings", Some(&write), None).await;
    assert!(r.body["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["meeting"] == "sched" && m["active"] == false && m["ends_at"].is_string()));

    // Before the window: participants are refused with not_started; the host may come early.
    let mut early = connect(&hub.url).await;
    early
        .hello(&hub.token("sched", "alex", "Alex", Role::Participant))
        .await;
    let closed = early.expect_close().await;
    assert_eq!(closed.code, Some(CloseCode::NotStarted.code()));
    assert_eq!(closed.frames[0]["code"], "not_started");
    let mut host = hub.join("sched", "therapist", Role::Host).await;
    let ends_at = host.welcome["ends_at"].as_u64().expect("welcome.ends_at");
    assert_eq!(ends_at / 1000, (now + 7_200_000) / 1000);

    // The partner moves the session to now, ending in 4 s: it opens, the host hears of the new
    // end, the notice comes 2 s before, and at the end everyone is out.
    let now = now_ms();
    let soon = json!({"starts_at": at(now - 60_000), "ends_at": at(now + 4_000)});
    let r = http(&hub, "PUT", path, Some(&write), Some(soon)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let moved = host.recv_type("session_rescheduled").await;
    let ends_at = moved["ends_at"].as_u64().expect("the new end");
    assert!(ends_at.abs_diff(now + 4_000) < 1_000, "{moved}");
    let mut alex = hub.join("sched", "alex", Role::Participant).await;
    assert_eq!(alex.welcome["ends_at"].as_u64(), Some(ends_at));
    for who in [&mut host, &mut alex] {
        let notice = who.recv_type("session_ending").await;
        assert_eq!(notice["at"].as_u64(), Some(ends_at));
        assert!(notice["seconds"].as_u64().unwrap() <= 2, "{notice}");
    }
    for who in [&mut host, &mut alex] {
        assert_eq!(
            who.expect_close().await.code,
            Some(CloseCode::MeetingEnded.code())
        );
    }
    // After the end participants stay out.
    let mut late = connect(&hub.url).await;
    late.hello(&hub.token("sched", "sam", "Sam", Role::Participant))
        .await;
    let closed = late.expect_close().await;
    assert_eq!(closed.code, Some(CloseCode::MeetingEnded.code()));
}

#[tokio::test]
async fn the_partner_sets_the_group_agreement_and_its_kind() {
    let hub = start_server().await;
    let write = api_token(&hub, "meetings:write");
    let path = "/v1/meetings/alumni-night";
    let too_long = json!({"agreement": "x".repeat(8 * 1024 + 1)});
    assert_problem(
        &http(&hub, "PUT", path, Some(&write), Some(too_long)).await,
        413,
        "too_large",
    );
    let settings = json!({"agreement": "What is said here stays here.", "kind": "drop_in"});
    let r = http(&hub, "PUT", path, Some(&write), Some(settings)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["kind"], "drop_in");
    // The meeting starts from them: a participant (no host needed in a drop-in) reads first.
    let mut pat = connect(&hub.url).await;
    pat.hello(&hub.token("alumni-night", "pat", "Pat", Role::Participant))
        .await;
    let asked = pat.recv().await;
    assert_eq!(asked["type"], "agreement_required", "{asked}");
    pat.send(json!({"type": "accept_agreement", "version": asked["version"]}))
        .await;
    let welcome = pat.recv_type("welcome").await;
    assert_eq!(welcome["kind"], "drop_in");
}
