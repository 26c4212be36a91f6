//! The server API (PROTOCOL.md "Server API"): JSON over HTTP under `/v1/` for a partner's
//! backend, authenticated with API tokens (the client tokens' key and issuer, `aud` =
//! `api_audience`, a `scope` claim). Every action goes through the meeting's actor as a host's
//! frame would; errors are `application/problem+json` with our stable error `code`. The OpenAPI
//! document is derived from these handlers and types ([`openapi_json`], `proto/openapi.json`).

use super::AppState;
use crate::auth::ApiCaller;
use crate::meeting::{ApiAction, ApiAnswer, PersonAction, PersonState};
use crate::meeting::{MeetingSettings, Schedule};
use crate::protocol::{
    BreakoutRoomSpec, ClientMessage, ErrorCode, PeerId, Role, RoomId, SplitStrategy,
};
use crate::protocol::{MediaMode, MeetingKind};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use utoipa::{OpenApi, ToSchema};

/// Every scope an API token may carry.
pub const SCOPES: [&str; 5] = [
    "meetings:read",
    "meetings:write",
    "moderation",
    "attendance:read",
    "events:read",
];

pub(super) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/meetings", get(list_meetings))
        .route("/v1/meetings/{meeting}", get(get_meeting).put(put_meeting))
        .route("/v1/meetings/{meeting}/end", post(end_meeting))
        .route("/v1/meetings/{meeting}/participants", get(participants))
        .route(
            "/v1/meetings/{meeting}/participants/{sub}/remove",
            post(remove),
        )
        .route(
            "/v1/meetings/{meeting}/participants/{sub}/move",
            post(move_to),
        )
        .route(
            "/v1/meetings/{meeting}/participants/{sub}/admit",
            post(admit),
        )
        .route("/v1/meetings/{meeting}/participants/{sub}/deny", post(deny))
        .route(
            "/v1/meetings/{meeting}/breakouts",
            post(open_breakouts).delete(close_breakouts),
        )
        .route("/v1/meetings/{meeting}/broadcast", post(broadcast))
        .route("/v1/meetings/{meeting}/attendance", get(attendance))
        .route("/v1/events", get(events))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            to_owner,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state, count_request))
}

/// Cluster mode: a request about a meeting another node holds is served by that node (its
/// actor carries it out); one about a meeting nobody holds is served here, with the settings
/// the cluster keeps in Redis. A request another node sent here is served here.
async fn to_owner(
    State(state): State<Arc<AppState>>,
    route: Option<axum::extract::MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return next.run(request).await;
    };
    let meeting = route
        .filter(|r| r.as_str().starts_with("/v1/meetings/{meeting}"))
        .and_then(|_| request.uri().path().split('/').nth(3))
        .filter(|m| crate::auth::valid_meeting_id(m))
        .map(str::to_owned);
    let Some(meeting) = meeting else {
        return next.run(request).await;
    };
    // Only a caller with a valid API token makes this node ask Redis or another node; any
    // other request is answered here (401) by its handler.
    let signed = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| state.verifier.verify_api(token.trim()).is_ok());
    if !signed {
        return next.run(request).await;
    }
    let from_a_node = request
        .headers()
        .get(super::connection::FORWARDED_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proof| cluster.verify(proof));
    if from_a_node {
        return next.run(request).await;
    }
    match cluster.api_owner(&meeting).await {
        Ok(crate::cluster::ApiOwner::Here) => next.run(request).await,
        Ok(crate::cluster::ApiOwner::Nobody) => {
            cluster.sync_settings(&meeting).await;
            next.run(request).await
        }
        Ok(crate::cluster::ApiOwner::Remote(owner)) => {
            match super::forward::api(&cluster, &owner, request).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::warn!(error = e, "cluster: API request not forwarded to the owner");
                    Problem::new(
                        ErrorCode::Internal,
                        "the node that holds this meeting did not answer; try again",
                    )
                    .into_response()
                }
            }
        }
        Err(_) => Problem::new(ErrorCode::Internal, "the cluster cannot be reached (Redis)")
            .into_response(),
    }
}

/// Counts every API request by route template (never the path: it holds ids) and status.
async fn count_request(
    State(state): State<Arc<AppState>>,
    route: Option<axum::extract::MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = route.map_or_else(|| "other".to_owned(), |r| r.as_str().to_owned());
    let response = next.run(request).await;
    state
        .directory
        .metrics()
        .api_request(route, response.status().as_u16());
    response
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Huddle server API",
        version = "1",
        description = "For a partner's backend: read and moderate running meetings. \
            Authenticate with `Authorization: Bearer <JWT>` signed like client tokens but with \
            `aud` = the hub's `api_audience` and a space-separated `scope` claim. Ids are the \
            partner's opaque ids (`meeting`, `sub`); responses never carry names or chat."
    ),
    paths(
        list_meetings,
        get_meeting,
        put_meeting,
        end_meeting,
        participants,
        remove,
        move_to,
        admit,
        deny,
        open_breakouts,
        close_breakouts,
        broadcast,
        attendance,
        events
    ),
    components(schemas(Problem, AttendanceFormat)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document (what `proto/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// An error, as RFC 9457 problem details with our stable error code.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` says what went wrong.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// One of the protocol's error codes (`proto/schema/server.schema.json`).
    pub code: ErrorCode,
    pub detail: String,
}

impl Problem {
    pub(super) fn new(code: ErrorCode, detail: impl Into<String>) -> Problem {
        let status = status_of(code);
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_string(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedProtocol => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized | ErrorCode::ResumeExpired => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::MeetingFull
        | ErrorCode::MeetingLocked
        | ErrorCode::Conflict
        | ErrorCode::MeetingEnded
        | ErrorCode::NotStarted => StatusCode::CONFLICT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

type ApiResult<T> = Result<T, Problem>;

/// Path parameters whose rejection (invalid UTF-8, say) is a problem document like every other
/// error of the API, not axum's plain text.
struct ApiPath<T>(T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e| Problem::new(ErrorCode::BadRequest, e.body_text()))
    }
}

/// The verified caller, if its token is an API token with `scope`: 401 for no or a bad token
/// (a client token included: its audience is not the API's), 403 for a missing scope.
fn authorize(state: &AppState, headers: &HeaderMap, scope: &str) -> ApiResult<ApiCaller> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Problem::new(ErrorCode::Unauthorized, "an API token is required"))?;
    let caller = state.verifier.verify_api(token.trim()).map_err(|e| {
        tracing::debug!(error = %e, "API token refused");
        Problem::new(ErrorCode::Unauthorized, "invalid API token")
    })?;
    if !caller.has_scope(scope) {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            format!("this token lacks the scope {scope}"),
        ));
    }
    Ok(caller)
}

fn check_meeting(meeting: &str) -> ApiResult<()> {
    if crate::auth::valid_meeting_id(meeting) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::BadRequest,
            "meeting ids are 1-128 characters of A-Z a-z 0-9 . _ : -",
        ))
    }
}

/// Runs `action` in the running meeting.
async fn act(
    state: &AppState,
    meeting: &str,
    action: ApiAction,
    caller: ApiCaller,
) -> ApiResult<ApiAnswer> {
    check_meeting(meeting)?;
    match state.directory.api(meeting, action, caller).await {
        Some(Ok(answer)) => Ok(answer),
        Some(Err((code, why))) => Err(Problem::new(code, why)),
        None => Err(Problem::new(
            ErrorCode::NotFound,
            "no such meeting is running (a meeting runs while someone is in it)",
        )),
    }
}

async fn moderate(
    state: &AppState,
    headers: &HeaderMap,
    meeting: &str,
    action: ApiAction,
) -> ApiResult<StatusCode> {
    let caller = authorize(state, headers, "moderation")?;
    act(state, meeting, action, caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b)
        .map_err(|e| Problem::new(ErrorCode::BadRequest, e.body_text()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingList {
    pub meetings: Vec<MeetingSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingSummary {
    pub meeting: String,
    /// Whether the meeting is running now (someone is in it).
    pub active: bool,
    /// The scheduled start (RFC 3339), if the partner set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// The scheduled end (RFC 3339), if the partner set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// A meeting's settings (`PUT` replaces them all; an absent field takes the hub's default).
/// Times are RFC 3339 with any offset; they come back in UTC.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingSettingsDoc {
    /// Participants may enter from `early_join_secs` before this (hosts and cohosts at any
    /// time); earlier they are refused with `not_started`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// The meeting ends for everyone at this time, as `end_meeting` does; everyone is told
    /// `session_ending_warning_secs` before. A host may extend it (`extend_session`), or a new
    /// `PUT` move it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// How long before `starts_at` participants may enter (default 0, at most 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 86400)]
    pub early_join_secs: Option<u64>,
    /// Sessions start with the waiting room on (absent: the hub's `waiting_room`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_room: Option<bool>,
    /// Cap on people (absent: the hub's `max_meeting_members`, also the most allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_members: Option<u32>,
    /// `sfu` or `mesh`, from the meeting's next session (absent: the hub's `media_mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_mode: Option<MediaMode>,
    /// `session` (a clinician's) or `drop_in` (a peer support room run by mentors: no host
    /// needed, never ended for everyone), from the meeting's next start (absent: the `kind`
    /// claim of the token of whoever starts it). An alumni meetup is a scheduled drop-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MeetingKind>,
    /// The group's agreement (plain text, at most 8 KiB) that participants, mentors and
    /// observers accept before entering, from the meeting's next start (absent: the hub's
    /// `agreement_file`). Hosts may still change it in the meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 8192)]
    pub agreement: Option<String>,
    /// The partner's own reference: a JSON object, returned as given, at most 4 KiB. Opaque to the
    /// hub and kept in memory only: put no PHI here (no names, no diagnoses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
}

/// The most `early_join_secs` may be: a day.
const MAX_EARLY_JOIN_SECS: u64 = 86_400;
/// The most `metadata` may be, as JSON text.
const MAX_METADATA_BYTES: usize = 4096;

fn parse_time(field: &str, text: &str) -> ApiResult<u64> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        Problem::new(
            ErrorCode::BadRequest,
            format!("{field} is not an RFC 3339 time"),
        )
    })?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .filter(|ms| *ms < 253_402_300_800_000)
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::BadRequest,
                format!("{field} is outside 1970-9999"),
            )
        })
}

impl MeetingSettingsDoc {
    /// The settings as the hub keeps them, or what is wrong with them.
    fn parse(self, hub_cap: usize) -> ApiResult<MeetingSettings> {
        let starts_at = self
            .starts_at
            .as_deref()
            .map(|t| parse_time("starts_at", t))
            .transpose()?;
        let ends_at = self
            .ends_at
            .as_deref()
            .map(|t| parse_time("ends_at", t))
            .transpose()?;
        if let (Some(start), Some(end)) = (starts_at, ends_at) {
            if end <= start {
                return Err(Problem::new(
                    ErrorCode::BadRequest,
                    "ends_at must be after starts_at",
                ));
            }
        }
        let early_join_secs = self.early_join_secs.unwrap_or(0);
        if early_join_secs > MAX_EARLY_JOIN_SECS {
            return Err(Problem::new(
                ErrorCode::BadRequest,
                "early_join_secs is at most 86400",
            ));
        }
        let max_members = match self.max_members {
            None => None,
            Some(n) if n >= 1 && (n as usize) <= hub_cap => Some(n as usize),
            Some(_) => {
                return Err(Problem::new(
                    ErrorCode::BadRequest,
                    format!("max_members is between 1 and {hub_cap} on this hub"),
                ))
            }
        };
        if self
            .agreement
            .as_ref()
            .is_some_and(|a| a.len() > crate::limits::MAX_AGREEMENT_BYTES)
        {
            return Err(Problem::new(
                ErrorCode::TooLarge,
                "agreement is at most 8 KiB",
            ));
        }
        if let Some(metadata) = &self.metadata {
            if !metadata.is_object() {
                return Err(Problem::new(
                    ErrorCode::BadRequest,
                    "metadata is a JSON object",
                ));
            }
            if serde_json::to_string(metadata).map_or(usize::MAX, |t| t.len()) > MAX_METADATA_BYTES
            {
                return Err(Problem::new(
                    ErrorCode::TooLarge,
                    "metadata is at most 4 KiB of JSON",
                ));
            }
        }
        Ok(MeetingSettings {
            schedule: Schedule {
                starts_at,
                ends_at,
                early_join_ms: early_join_secs * 1000,
            },
            waiting_room: self.waiting_room,
            max_members,
            media_mode: self.media_mode,
            metadata: self.metadata,
            kind: self.kind,
            agreement: self.agreement,
        })
    }

    fn of(s: &MeetingSettings) -> MeetingSettingsDoc {
        MeetingSettingsDoc {
            starts_at: s.schedule.starts_at.map(crate::events::rfc3339),
            ends_at: s.schedule.ends_at.map(crate::events::rfc3339),
            early_join_secs: Some(s.schedule.early_join_ms / 1000),
            waiting_room: s.waiting_room,
            max_members: s.max_members.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            media_mode: s.media_mode,
            metadata: s.metadata.clone(),
            kind: s.kind,
            agreement: s.agreement.clone(),
        }
    }
}

/// A meeting's state (while it runs) and settings (if the partner set any).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    pub meeting: String,
    /// Whether it runs now (someone is in it). If not, the state below is that of a meeting
    /// nobody is in.
    pub active: bool,
    /// The partner's settings (`PUT`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<MeetingSettingsDoc>,
    /// Ended by a host or the API; closed to all but hosts and cohosts for a while.
    pub ended: bool,
    pub locked: bool,
    pub waiting_room: bool,
    pub breakouts_open: bool,
    /// The rooms: `main` and the open breakouts.
    pub rooms: Vec<RoomId>,
    /// People seated (including those reconnecting), by role.
    pub members: Vec<RoleCount>,
    /// People waiting to be admitted.
    pub waiting: usize,
    /// Cluster mode: the node that holds the meeting's lease (runs it), if any node does. The
    /// state above is this node's view: ask the owner (or connect anywhere) for a meeting run
    /// elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_node: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleCount {
    pub role: Role,
    pub count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantList {
    pub participants: Vec<Participant>,
}

/// A person in a meeting: opaque ids only.
#[derive(Debug, Serialize, ToSchema)]
pub struct Participant {
    /// The partner's user id (the token's `sub`).
    pub sub: String,
    /// The hub's id for this person in this meeting.
    pub peer: PeerId,
    pub role: Role,
    /// Their room; absent while waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomId>,
    pub state: ParticipantState,
    /// When they took their seat (RFC 3339); absent while waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    Joined,
    /// Their connection dropped; the seat is held for a resume.
    Reconnecting,
    Waiting,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    /// Keep them out for the rest of the meeting.
    #[serde(default)]
    pub ban: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// `main` or an open breakout room's id.
    pub room: RoomId,
}

/// The same options as the protocol's `split`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakoutsBody {
    pub strategy: SplitStrategy,
    /// Number of rooms (`even`, `random`, `choose`).
    #[serde(default)]
    pub count: Option<u32>,
    /// Per-room name, topic and (for `manual`) members by peer id.
    #[serde(default)]
    pub rooms: Vec<BreakoutRoomSpec>,
    /// Topic for every room without its own (at most 500 characters; 413 over that).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub topic: Option<String>,
    /// Close the breakouts automatically after this many seconds.
    #[serde(default)]
    pub duration_secs: Option<u64>,
    /// Put mentors one per room first (default true).
    #[serde(default)]
    pub spread_mentors: Option<bool>,
    /// Let `even` and `random` leave someone alone in a room (default false: at most one room
    /// per two people).
    #[serde(default)]
    pub allow_solo: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    /// The notice, shown to every room (no PHI: it is a notice, not a chat). At most 8 KiB
    /// (413 over that).
    #[schema(max_length = 8192)]
    pub text: String,
    /// Only to this room (`main` or a breakout's id), and to hosts and cohosts.
    #[serde(default)]
    pub room: Option<RoomId>,
}

/// The meetings that are running or have settings.
#[utoipa::path(get, path = "/v1/meetings", security(("bearer" = [])),
    responses((status = 200, body = MeetingList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_meetings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<MeetingList>> {
    authorize(&state, &headers, "meetings:read")?;
    if let Some(cluster) = &state.cluster {
        // The whole cluster's, from Redis: owners and the settings every node shares.
        let (running, settings) = cluster.meetings().await.map_err(|_| {
            Problem::new(ErrorCode::Internal, "the cluster cannot be reached (Redis)")
        })?;
        // Read, not kept: this node's directory holds only the meetings it serves or was asked about.
        let schedules: std::collections::HashMap<String, Schedule> = settings
            .into_iter()
            .map(|(meeting, s)| (meeting, s.schedule))
            .collect();
        let mut ids = running.clone();
        ids.extend(schedules.keys().cloned());
        ids.sort();
        ids.dedup();
        let schedule_of = |m: &str| schedules.get(m).copied().unwrap_or_default();
        return Ok(Json(summaries(ids, &running, schedule_of)));
    }
    let running = state.directory.running();
    let mut ids = running.clone();
    ids.extend(state.directory.with_settings());
    ids.sort();
    ids.dedup();
    let schedule_of = |m: &str| {
        state
            .directory
            .settings(m)
            .map(|s| s.schedule)
            .unwrap_or_default()
    };
    Ok(Json(summaries(ids, &running, schedule_of)))
}

/// The list of `ids` (sorted), `running` (sorted) being those that run, with their schedules.
fn summaries(
    ids: Vec<String>,
    running: &[String],
    schedule_of: impl Fn(&str) -> Schedule,
) -> MeetingList {
    let meetings = ids
        .into_iter()
        .map(|meeting| {
            let schedule = schedule_of(&meeting);
            MeetingSummary {
                active: running.binary_search(&meeting).is_ok(),
                starts_at: schedule.starts_at.map(crate::events::rfc3339),
                ends_at: schedule.ends_at.map(crate::events::rfc3339),
                meeting,
            }
        })
        .collect();
    MeetingList { meetings }
}

async fn snapshot(
    state: &AppState,
    headers: &HeaderMap,
    meeting: &str,
) -> ApiResult<crate::meeting::MeetingSnapshot> {
    let caller = authorize(state, headers, "meetings:read")?;
    match act(state, meeting, ApiAction::Snapshot, caller).await? {
        ApiAnswer::Snapshot(s) => Ok(s),
        ApiAnswer::Done => Err(Problem::new(ErrorCode::Internal, "no snapshot")),
    }
}

/// One meeting: its state while it runs, its settings if any (404 if neither).
#[utoipa::path(get, path = "/v1/meetings/{meeting}", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    responses((status = 200, body = MeetingView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_meeting(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
) -> ApiResult<Json<MeetingView>> {
    let settings = state.directory.settings(&meeting);
    let owner_node = match &state.cluster {
        Some(cluster) => cluster.owner_of(&meeting).await,
        None => None,
    };
    let s = match snapshot(&state, &headers, &meeting).await {
        Ok(s) => Some(s),
        Err(p) if p.code == ErrorCode::NotFound && (settings.is_some() || owner_node.is_some()) => {
            None
        }
        Err(p) => return Err(p),
    };
    let settings = settings.as_ref().map(MeetingSettingsDoc::of);
    let Some(s) = s else {
        return Ok(Json(MeetingView {
            meeting,
            owner_node,
            active: false,
            settings,
            ended: false,
            locked: false,
            waiting_room: false,
            breakouts_open: false,
            rooms: vec![RoomId::main()],
            members: Vec::new(),
            waiting: 0,
        }));
    };
    let mut members: Vec<RoleCount> = Vec::new();
    for p in s.people.iter().filter(|p| p.state != PersonState::Waiting) {
        match members.iter_mut().find(|c| c.role == p.role) {
            Some(c) => c.count += 1,
            None => members.push(RoleCount {
                role: p.role,
                count: 1,
            }),
        }
    }
    Ok(Json(MeetingView {
        meeting,
        owner_node,
        active: true,
        settings,
        ended: s.ended,
        locked: s.locked,
        waiting_room: s.waiting_room,
        breakouts_open: s.breakouts_open,
        rooms: s.rooms,
        waiting: s
            .people
            .iter()
            .filter(|p| p.state == PersonState::Waiting)
            .count(),
        members,
    }))
}

/// Creates or replaces a meeting's settings: its schedule, waiting room, cap, media mode and
/// metadata. A running meeting takes the schedule and the cap at once (a moved end is
/// announced to everyone), the waiting room and media mode from its next session.
#[utoipa::path(put, path = "/v1/meetings/{meeting}", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    request_body = MeetingSettingsDoc,
    responses((status = 200, body = MeetingSettingsDoc, description = "Replaced"),
        (status = 201, body = MeetingSettingsDoc, description = "Created"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json")))]
async fn put_meeting(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
    payload: Result<Json<MeetingSettingsDoc>, JsonRejection>,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, "meetings:write")?;
    check_meeting(&meeting)?;
    let settings = body(payload)?.parse(state.config.max_meeting_members)?;
    let doc = MeetingSettingsDoc::of(&settings);
    let kept = settings.clone();
    let created = state
        .directory
        .put_settings(&meeting, settings, caller, now_ms())
        .await
        .map_err(|(code, why)| Problem::new(code, why))?;
    if let Some(cluster) = &state.cluster {
        // Every node serves the meeting from these: the next owner, and API reads anywhere.
        cluster
            .save_settings(&meeting, &kept, now_ms())
            .await
            .map_err(|_| {
                Problem::new(
                    ErrorCode::Internal,
                    "the settings were not stored in the cluster (Redis); try again",
                )
            })?;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(doc)).into_response())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The people in a running meeting, seated or waiting.
#[utoipa::path(get, path = "/v1/meetings/{meeting}/participants", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    responses((status = 200, body = ParticipantList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn participants(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
) -> ApiResult<Json<ParticipantList>> {
    let s = snapshot(&state, &headers, &meeting).await?;
    let participants = s
        .people
        .into_iter()
        .map(|p| Participant {
            sub: p.sub,
            peer: p.peer,
            role: p.role,
            room: p.room,
            state: match p.state {
                PersonState::Joined => ParticipantState::Joined,
                PersonState::Reconnecting => ParticipantState::Reconnecting,
                PersonState::Waiting => ParticipantState::Waiting,
            },
            joined_at: p.joined_at.map(crate::events::rfc3339),
        })
        .collect();
    Ok(Json(ParticipantList { participants }))
}

/// Ends the meeting for everyone, as a host's `end_meeting` does.
#[utoipa::path(post, path = "/v1/meetings/{meeting}/end", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    responses((status = 204, description = "Ended"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn end_meeting(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let action = ApiAction::Moderate(ClientMessage::EndMeeting {});
    moderate(&state, &headers, &meeting, action).await
}

async fn about(
    state: &AppState,
    headers: &HeaderMap,
    (meeting, sub): (String, String),
    action: PersonAction,
) -> ApiResult<StatusCode> {
    moderate(state, headers, &meeting, ApiAction::About { sub, action }).await
}

/// Removes a person (seated or waiting), with `ban` for good.
#[utoipa::path(post, path = "/v1/meetings/{meeting}/participants/{sub}/remove", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$"),
        ("sub" = String, Path, description = "The person's user id")),
    request_body(content = RemoveBody, description = "Optional", content_type = "application/json"),
    responses((status = 204, description = "Removed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn remove(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<(String, String)>,
    payload: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<StatusCode> {
    let payload = payload.map_err(|e| Problem::new(ErrorCode::BadRequest, e.body_text()))?;
    // The body is optional: none means no ban.
    let ban = if payload.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<RemoveBody>(&payload)
            .map_err(|e| Problem::new(ErrorCode::BadRequest, e.to_string()))?
            .ban
    };
    about(&state, &headers, path, PersonAction::Remove { ban }).await
}

/// Moves a seated person to a room (`main` or an open breakout).
#[utoipa::path(post, path = "/v1/meetings/{meeting}/participants/{sub}/move", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$"),
        ("sub" = String, Path, description = "The person's user id")),
    request_body = MoveBody,
    responses((status = 204, description = "Moved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn move_to(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<(String, String)>,
    payload: Result<Json<MoveBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let room = body(payload)?.room;
    about(&state, &headers, path, PersonAction::Move { room }).await
}

/// Lets a person in from the waiting room.
#[utoipa::path(post, path = "/v1/meetings/{meeting}/participants/{sub}/admit", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$"),
        ("sub" = String, Path, description = "The person's user id")),
    responses((status = 204, description = "Admitted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn admit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    about(&state, &headers, path, PersonAction::Admit).await
}

/// Turns a person in the waiting room away (they may knock again).
#[utoipa::path(post, path = "/v1/meetings/{meeting}/participants/{sub}/deny", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$"),
        ("sub" = String, Path, description = "The person's user id")),
    responses((status = 204, description = "Denied"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn deny(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    about(&state, &headers, path, PersonAction::Deny).await
}

/// Opens breakout rooms (the protocol's `split`).
#[utoipa::path(post, path = "/v1/meetings/{meeting}/breakouts", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    request_body = BreakoutsBody,
    responses((status = 204, description = "Opened"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn open_breakouts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
    payload: Result<Json<BreakoutsBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let b = body(payload)?;
    let split = ClientMessage::Split {
        strategy: b.strategy,
        count: b.count,
        rooms: b.rooms,
        topic: b.topic,
        duration_secs: b.duration_secs,
        spread_mentors: b.spread_mentors,
        allow_solo: b.allow_solo,
    };
    moderate(&state, &headers, &meeting, ApiAction::Moderate(split)).await
}

/// Closes every breakout room: everyone back to the main room.
#[utoipa::path(delete, path = "/v1/meetings/{meeting}/breakouts", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    responses((status = 204, description = "Closed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn close_breakouts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let merge = ClientMessage::Merge {
        countdown_secs: None,
        rooms: Vec::new(),
    };
    moderate(&state, &headers, &meeting, ApiAction::Moderate(merge)).await
}

/// A notice to every room at once (`broadcast`, from peer 0: the partner's system).
#[utoipa::path(post, path = "/v1/meetings/{meeting}/broadcast", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$")),
    request_body = BroadcastBody,
    responses((status = 204, description = "Sent"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json")))]
async fn broadcast(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
    payload: Result<Json<BroadcastBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let b = body(payload)?;
    let message = ClientMessage::Broadcast {
        text: b.text,
        room: b.room,
    };
    moderate(&state, &headers, &meeting, ApiAction::Moderate(message)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttendanceQuery {
    /// `json` (default) or `csv`.
    pub format: Option<AttendanceFormat>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceFormat {
    Json,
    Csv,
}

/// A meeting's attendance, for billing: start and end, the most people at once, when a host or
/// cohost was present, and each person's sessions (a resume or a second tab continues a
/// session). Kept in memory for `attendance_retention_secs` after the meeting ended.
#[utoipa::path(get, path = "/v1/meetings/{meeting}/attendance", security(("bearer" = [])),
    params(("meeting" = String, Path, description = "The partner's meeting id", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]{1,128}$"), AttendanceQuery),
    responses((status = 200,
            description = "JSON, or with `format=csv` one `text/csv` row per session",
            content((crate::events::Attendance = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn attendance(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiPath(meeting): ApiPath<String>,
    query: Result<axum::extract::Query<AttendanceQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    authorize(&state, &headers, "attendance:read")?;
    check_meeting(&meeting)?;
    let query = query.map_err(|e| Problem::new(ErrorCode::BadRequest, e.body_text()))?;
    let now = now_ms();
    let report = match &state.cluster {
        // Cluster mode, a meeting this node does not run (one that runs elsewhere was sent to
        // its owner): folded from the events every owner of it logged in Redis.
        Some(cluster) if !state.directory.is_running(&meeting) => {
            let logged = cluster.meeting_log(&meeting).await.map_err(|_| {
                Problem::new(ErrorCode::Internal, "the cluster cannot be reached (Redis)")
            })?;
            state
                .directory
                .events()
                .attendance_of_logged(&meeting, &logged, now)
        }
        _ => state.directory.events().attendance(&meeting, now),
    }
    .ok_or_else(|| Problem::new(ErrorCode::NotFound, "no attendance kept for this meeting"))?;
    match query.format {
        None | Some(AttendanceFormat::Json) => Ok(Json(report).into_response()),
        Some(AttendanceFormat::Csv) => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.csv(),
        )
            .into_response()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// An event id (`evt_…`) from an earlier page or webhook: only later events. Absent: from
    /// the oldest kept.
    pub after: Option<String>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<crate::events::Envelope>,
    /// Pass as `after` for the next page (the last event's id, or `after` again if none).
    pub next: String,
}

/// The meeting events (the webhooks' content), oldest first, for replay and reconciliation.
#[utoipa::path(get, path = "/v1/events", security(("bearer" = [])),
    params(EventsQuery),
    responses((status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<EventPage>> {
    authorize(&state, &headers, "events:read")?;
    let query = query.map_err(|e| Problem::new(ErrorCode::BadRequest, e.body_text()))?;
    let limit = query.limit.unwrap_or(1000).clamp(1, 1000);
    if let Some(cluster) = &state.cluster {
        // Cluster mode: the cluster-wide log in Redis, whose ids are stream ids (`evt_{ms}-{n}`).
        let cursor = match query.after.as_deref() {
            None | Some("") | Some("evt_0") => None,
            Some(after) => Some(
                after
                    .strip_prefix("evt_")
                    .filter(|id| {
                        id.split_once('-').is_some_and(|(ms, n)| {
                            [ms, n].iter().all(|p| {
                                !p.is_empty()
                                    && p.len() <= 20
                                    && p.bytes().all(|b| b.is_ascii_digit())
                            })
                        })
                    })
                    .ok_or_else(|| {
                        Problem::new(ErrorCode::BadRequest, "after is an event id (evt_…)")
                    })?,
            ),
        };
        let events = cluster.events_after(cursor, limit).await.map_err(|_| {
            Problem::new(
                ErrorCode::Internal,
                "the cluster's event log cannot be reached (Redis)",
            )
        })?;
        let next = events
            .last()
            .map(|e| e.id.clone())
            .unwrap_or_else(|| cursor.map_or_else(|| "evt_0".to_owned(), |c| format!("evt_{c}")));
        return Ok(Json(EventPage { events, next }));
    }
    let cursor = match query.after.as_deref() {
        None | Some("") => 0,
        Some(after) => after
            .strip_prefix("evt_")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| Problem::new(ErrorCode::BadRequest, "after is an event id (evt_…)"))?,
    };
    let events = state.directory.events().after(cursor, limit);
    let next = events
        .last()
        .map(|e| e.id.clone())
        .unwrap_or_else(|| format!("evt_{cursor}"));
    Ok(Json(EventPage { events, next }))
}
