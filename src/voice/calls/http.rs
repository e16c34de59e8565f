//! Calls over HTTP: the call log with each call's timeline, recordings and voicemails
//! (listened to and downloaded by authorised roles only), and the tenants' recorded prompts
//! served to Asterisk.
//!
//! Who sees what: supervisors and above see every call of the tenant and may play every
//! recording; an agent sees the calls they took, and their recordings. An agent whose phone a
//! call rang also sees that call and its timeline (the IVR path their incoming-call card
//! shows), without its recordings. Voicemails are the team's: every member sees them.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::domain::Role;
use crate::http::error::{ApiError, ApiResult, ErrorBody, envelope};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store;
use crate::store::calls::{CallFilter, CallRecord, RecordingRecord};
use crate::voice::calls::CallAction;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calls, place_call))
        .routes(routes!(get_call))
        .routes(routes!(transfer_call))
        .routes(routes!(consult_call))
        .routes(routes!(complete_consult))
        .routes(routes!(cancel_consult))
        .routes(routes!(conference_consult))
        .routes(routes!(hold_call))
        .routes(routes!(resume_call))
        .routes(routes!(recording_audio))
        .routes(routes!(list_voicemails))
        // A plain route: the path below `sounds/` has slashes, which OpenAPI paths cannot say.
        .route(
            "/media/sounds/{slug}/{*path}",
            axum::routing::get(tenant_sound),
        )
        .route("/media/scratch/{file}", axum::routing::get(personal_prompt))
}

/// A call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    /// Call id.
    pub id: i64,
    /// `inbound`, `outbound` or `callback`.
    pub direction: String,
    /// The number dialled.
    pub did: String,
    /// The caller's number.
    pub caller: String,
    /// The IVR flow it ran.
    pub flow: Option<String>,
    /// `ivr`, `queued`, `callback`, `connected`, `voicemail` or `ended`.
    pub state: String,
    /// Its routing contact.
    pub contact_id: Option<i64>,
    /// The queue it waited in.
    pub queue_id: Option<i64>,
    /// The agent who took it.
    pub agent_id: Option<i64>,
    /// Entered (UTC).
    pub started_at: DateTime<Utc>,
    /// Answered by an agent (UTC).
    pub answered_at: Option<DateTime<Utc>>,
    /// Ended (UTC).
    pub ended_at: Option<DateTime<Utc>>,
    /// `caller_hangup`, `agent_hangup`, `abandoned`, `flow_hangup`, `voicemail` …
    pub end_reason: Option<String>,
    /// The Asterisk server.
    pub asterisk: String,
    /// Whom a transfer put the caller through to: `extension 1002 (Bob Lee)`, a number or a
    /// SIP URI (a transfer to a queue shows as the next agent instead).
    pub transferred_to: Option<String>,
}

impl From<CallRecord> for CallView {
    fn from(c: CallRecord) -> Self {
        CallView {
            id: c.id,
            direction: c.direction,
            did: c.did,
            caller: c.caller,
            flow: c.flow,
            state: c.state,
            contact_id: c.routed_contact_id,
            queue_id: c.queue_id,
            agent_id: c.agent_id,
            started_at: c.started_at,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            end_reason: c.end_reason,
            asterisk: c.server,
            transferred_to: c.transferred_to,
        }
    }
}

/// One entry of a call's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallEventView {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// `entered`, `ivr_node`, `queued`, `offered`, `offer_failed`, `answered`, `recording`,
    /// `voicemail`, `abandoned`, `ended` …
    pub kind: String,
    /// The facts of the event.
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// A recording or voicemail.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    /// Recording id.
    pub id: i64,
    /// Its call.
    pub call_id: i64,
    /// `recording` or `voicemail`.
    pub kind: String,
    /// Voicemail box.
    pub mailbox: Option<String>,
    /// The agent whose own box a voicemail was left in, who (with supervisors) alone hears it;
    /// null: the team's.
    pub owner_user_id: Option<i64>,
    /// Length in seconds, once stored.
    pub duration_secs: Option<i64>,
    /// Stored and playable.
    pub available: bool,
    /// Where to play or download it (with the caller's session).
    pub audio_url: String,
    /// Made (UTC).
    pub created_at: DateTime<Utc>,
}

fn recording_view(tid: i64, r: RecordingRecord) -> RecordingView {
    RecordingView {
        audio_url: format!("/api/v1/tenants/{tid}/recordings/{}/audio", r.id),
        id: r.id,
        call_id: r.call_id,
        kind: r.kind,
        mailbox: r.mailbox,
        owner_user_id: r.owner_user_id,
        duration_secs: r.duration_secs,
        available: r.path.is_some(),
        created_at: r.created_at,
    }
}

/// Who a caller is, from the contacts (the inbox opens the rest from `id`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// Contact id.
    pub id: i64,
    /// Name, when known.
    pub name: Option<String>,
    /// Email, when known.
    pub email: Option<String>,
}

/// A call with its timeline and recordings.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallDetail {
    /// The call.
    #[serde(flatten)]
    pub call: CallView,
    /// The customer the caller's number belongs to, when they wrote or called from it before.
    pub customer: Option<CustomerView>,
    /// The name of the line the caller dialled (the DID's `caller_id_name` when the call
    /// came in).
    pub line: Option<String>,
    /// What happened, oldest first.
    pub timeline: Vec<CallEventView>,
    /// Recordings and voicemails.
    pub recordings: Vec<RecordingView>,
}

/// A page of calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    /// Newest first.
    pub items: Vec<CallView>,
    /// Pass as `before` for the next page.
    pub next_before: Option<i64>,
}

/// Filters for the call log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallQuery {
    /// `live` (not ended) or one state.
    pub state: Option<String>,
    /// Calls taken by this agent.
    pub agent_id: Option<i64>,
    /// Calls with a smaller id (paging).
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

fn sees_all(role: Role) -> bool {
    role >= Role::Supervisor
}

/// Whose voicemails the caller may hear: supervisors every one; an agent the team's and
/// their own; an API key with the agent role, which is nobody, the team's.
fn mailbox_reader(scope: &TenantScope<AnyMember>) -> store::calls::MailboxReader {
    use store::calls::MailboxReader;
    if sees_all(scope.role) {
        return MailboxReader::Everyone;
    }
    match scope.principal.user_id() {
        Some(user) => MailboxReader::Agent(user.get()),
        None => MailboxReader::Team,
    }
}

/// The tenant's calls, newest first (agents: the calls they took).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/calls", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), CallQuery),
    responses((status = 200, body = CallList), (status = 422, body = ErrorBody)))]
async fn list_calls(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<CallQuery>,
) -> ApiResult<AppJson<CallList>> {
    const STATES: [&str; 8] = [
        "live",
        "ivr",
        "queued",
        "callback",
        "connected",
        "voicemail",
        "ended",
        "ringing",
    ];
    if let Some(s) = &q.state
        && !STATES.contains(&s.as_str())
    {
        return Err(ApiError::validation(
            "state",
            format!("one of {}", STATES.join(", ")),
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "between 1 and 200"));
    }
    let agent_id = if sees_all(scope.role) {
        q.agent_id
    } else {
        Some(own_id(&scope)?)
    };
    let filter = CallFilter {
        before: q.before,
        state: q.state,
        agent_id,
        limit,
    };
    let items: Vec<CallView> = store::calls::list_calls(&state.store, scope.id(), &filter)
        .await?
        .into_iter()
        .map(CallView::from)
        .collect();
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(AppJson(CallList { items, next_before }))
}

/// A call to place from the inbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    /// The customer's number, E.164 (`+14155550100`).
    pub to: String,
}

/// Places a call: the signed-in agent's phone rings first; when they pick up, the customer is
/// dialled and the two are connected. Answers with the call at once (state `callback` while
/// it rings); its timeline tells how it went. 409 when voice is off for the tenant, the agent
/// has no phone, or is already on a call (the call holds their voice capacity until it ends).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls", tag = "calls", request_body = NewCall,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = CallView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn place_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppJson(req): AppJson<NewCall>,
) -> ApiResult<(StatusCode, AppJson<CallView>)> {
    let to = req.to.trim();
    if !crate::ivr::is_e164(to) {
        return Err(ApiError::validation(
            "to",
            "an E.164 number: + then 2–15 digits, e.g. +14155550100",
        ));
    }
    if !scope.tenant.features.voice {
        return Err(ApiError::Conflict {
            code: "voice_off",
            message: "calls are not enabled for this tenant".into(),
        });
    }
    let me = own_id(&scope)?;
    let id = state
        .voice
        .click_to_call(&scope.tenant, me, to)
        .await
        .map_err(|e| match e {
            crate::voice::calls::VoiceError::Store(e) => ApiError::from(e),
            crate::voice::calls::VoiceError::Routing(e) => ApiError::from(e),
            other => ApiError::Conflict {
                code: "cannot_call",
                message: other.to_string(),
            },
        })?;
    let call = store::calls::find_call(&state.store, scope.id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    Ok((StatusCode::CREATED, AppJson(call.into())))
}

fn own_id(scope: &TenantScope<AnyMember>) -> ApiResult<i64> {
    scope.principal.user_id().map(|u| u.get()).ok_or_else(|| {
        ApiError::forbidden("calls are shown to people, not API keys with the agent role")
    })
}

async fn visible_call(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    id: i64,
) -> ApiResult<CallRecord> {
    let call = store::calls::find_call(&state.store, scope.id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    if !sees_all(scope.role) && call.agent_id != Some(own_id(scope)?) {
        return Err(ApiError::not_found("call"));
    }
    Ok(call)
}

/// One call with its timeline and recordings (an agent it was only offered to gets no
/// recordings).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/calls/{id}", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 200, body = CallDetail), (status = 404, body = ErrorBody)))]
async fn get_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<CallDetail>> {
    let (tid, id) = path;
    state.voice.flush_timeline().await;
    let call = store::calls::find_call(&state.store, scope.id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    let timeline: Vec<CallEventView> = store::calls::list_events(&state.store, scope.id(), id)
        .await?
        .into_iter()
        .map(|e| CallEventView {
            at: e.at,
            kind: e.kind,
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
        })
        .collect();
    let took = sees_all(scope.role) || call.agent_id == Some(own_id(&scope)?);
    // While their phone rings the agent has not taken the call yet, but their card needs the
    // IVR path; a call offered to them stays readable, its recordings stay theirs who took it.
    let offered = || {
        let me = scope.principal.user_id().map(|u| u.get());
        timeline
            .iter()
            .any(|e| e.kind == "offered" && e.detail["agent_id"].as_i64() == me)
    };
    if !took && !offered() {
        return Err(ApiError::not_found("call"));
    }
    let recordings = if took {
        store::calls::list_recordings(&state.store, scope.id(), id, mailbox_reader(&scope))
            .await?
            .into_iter()
            .map(|r| recording_view(tid, r))
            .collect()
    } else {
        Vec::new()
    };
    // The number of the customer: the caller, or whom an outbound call or callback dialled.
    let customer = if crate::ivr::is_e164(&call.caller) {
        store::contacts::find_by_phone(&state.store, scope.id(), &call.caller)
            .await?
            .map(|c| CustomerView {
                id: c.id,
                name: c.name,
                email: c.email,
            })
    } else {
        None
    };
    let line = timeline
        .iter()
        .find(|e| e.kind == "entered")
        .and_then(|e| e.detail["line"].as_str())
        .map(str::to_owned);
    Ok(AppJson(CallDetail {
        call: call.into(),
        customer,
        line,
        timeline,
        recordings,
    }))
}

/// Hands a connected call on (blind transfer): `{"extension": "1002"}`, `{"queue": "sales"}`
/// or `{"number": "+14155550100"}`. The agent on the call (or a supervisor) may; the agent's
/// phone is hung up and wrap-up starts at once. `202`: the caller is being transferred (its
/// timeline tells how it went); `409` when the call is not connected here.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/transfer", tag = "calls",
    request_body = crate::voice::calls::TransferTarget,
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "transferring"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn transfer_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(to): AppJson<crate::voice::calls::TransferTarget>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(
        &state,
        &scope,
        path.1,
        CallAction::Transfer(to),
        "transferring",
    )
    .await
}

/// Attended transfer, first step: the caller hears music on hold while the colleague
/// (`{"extension": "1002"}` or `{"number": "+1…"}`) is rung from the agent's phone; once they
/// answer, agent and colleague talk. Then `…/consult/complete` or `…/consult/cancel`. `409`
/// when the call is not connected, already consulting, or the colleague cannot be called.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/consult", tag = "calls",
    request_body = crate::voice::calls::TransferTarget,
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "consulting"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn consult_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(to): AppJson<crate::voice::calls::TransferTarget>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(
        &state,
        &scope,
        path.1,
        CallAction::Consult(to),
        "consulting",
    )
    .await
}

/// Attended transfer, done: the caller is put through to the consulted colleague (still
/// ringing: when they answer), the agent's phone hangs up and wrap-up starts.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/consult/complete", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "transferring"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn complete_consult(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(
        &state,
        &scope,
        path.1,
        CallAction::CompleteConsult,
        "transferring",
    )
    .await
}

/// Attended transfer, called off: the colleague is hung up, the caller is back with the agent.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/consult/cancel", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "back with the caller"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_consult(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(
        &state,
        &scope,
        path.1,
        CallAction::CancelConsult,
        "connected",
    )
    .await
}

/// Attended transfer, all three together: the held caller joins the agent and the consulted
/// colleague. Then the agent leaves with `…/consult/complete` (the other two talk on), drops
/// the colleague with `…/consult/cancel`, or hangs up (which completes). `409` before the
/// colleague answered.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/consult/conference", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "three-way call"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn conference_consult(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(&state, &scope, path.1, CallAction::Conference, "conference").await
}

/// Music on hold for the caller; the agent's phone stays on the call.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/hold", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "on hold"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn hold_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(&state, &scope, path.1, CallAction::Hold, "on_hold").await
}

/// The caller off hold, talking to the agent again.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/calls/{id}/resume", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "call id")),
    responses((status = 202, description = "connected"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resume_call(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    act(&state, &scope, path.1, CallAction::Resume, "connected").await
}

/// What the agent on the call (or a supervisor) asks of it; others do not see the call.
async fn act(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    id: i64,
    action: CallAction,
    status: &'static str,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let call = store::calls::find_call(&state.store, scope.id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    if !sees_all(scope.role) && call.agent_id != Some(own_id(scope)?) {
        return Err(ApiError::not_found("call"));
    }
    state
        .voice
        .act(scope.id(), call.id, action)
        .await
        .map_err(|message| ApiError::Conflict {
            code: "call_action_refused",
            message,
        })?;
    Ok((
        StatusCode::ACCEPTED,
        AppJson(serde_json::json!({ "status": status })),
    ))
}

/// The voicemails the caller may hear, newest first: the team's boxes, and for an agent their
/// own box (a box that is a colleague's extension's stays theirs; supervisors hear every box).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/voicemails", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = Vec<RecordingView>)))]
async fn list_voicemails(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(tid): AppPath<i64>,
) -> ApiResult<AppJson<Vec<RecordingView>>> {
    Ok(AppJson(
        store::calls::list_voicemails(&state.store, scope.id(), mailbox_reader(&scope), 100)
            .await?
            .into_iter()
            .map(|r| recording_view(tid, r))
            .collect(),
    ))
}

/// The audio of a recording or voicemail (`audio/wav`); `?download=1` saves it as a file.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/recordings/{id}/audio", tag = "calls",
    params(("tid" = i64, Path, description = "tenant id"), ("id" = i64, Path, description = "recording id"),
        ("download" = Option<bool>, Query, description = "as an attachment")),
    responses((status = 200, description = "the audio"), (status = 404, body = ErrorBody)))]
async fn recording_audio(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppQuery(q): AppQuery<DownloadQuery>,
) -> ApiResult<Response> {
    let rec =
        store::calls::find_recording(&state.store, scope.id(), path.1, mailbox_reader(&scope))
            .await?
            .ok_or_else(|| ApiError::not_found("recording"))?;
    // Voicemails are their box's (above); call recordings follow the call's visibility.
    if rec.kind != "voicemail" {
        visible_call(&state, &scope, rec.call_id).await?;
    }
    let Some(rel) = rec.path.as_deref() else {
        return Err(ApiError::not_found("recording (still being stored)"));
    };
    let path = state.config.recordings_dir().join(rel);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found("recording"))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let disposition = if q.download.unwrap_or(false) {
        format!("attachment; filename=\"{}-{}.wav\"", rec.kind, rec.id)
    } else {
        "inline".to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// `?download=1`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    /// As an attachment (`1` or `true`).
    #[serde(default, deserialize_with = "flag")]
    pub download: Option<bool>,
}

/// A query flag as links write it: `1`/`0` as well as `true`/`false`.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "`{other}` is not 1, 0, true or false"
        ))),
    }
}

/// A tenant's recorded prompt (`sounds/…` of its flow folder), for Asterisk to play as
/// `sound:http://…/media/sounds/{slug}/{path}`. No login: Asterisk's media cache cannot send
/// one, and prompts are what every caller hears anyway.
async fn tenant_sound(
    State(state): State<AppState>,
    AppPath((slug, path)): AppPath<(String, String)>,
) -> Response {
    let not_found = || envelope(StatusCode::NOT_FOUND, "not_found", "no such sound");
    let safe = |s: &str| {
        !s.is_empty()
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
    };
    if !safe(&slug) || !safe(&path) {
        return not_found();
    }
    let extension = path.rsplit('.').next().unwrap_or_default();
    let content_type = match extension {
        "wav" => "audio/wav",
        e if crate::ivr::SOUND_EXTENSIONS.contains(&e) => "application/octet-stream",
        _ => return not_found(),
    };
    let file = state.flows.tenant_dir(&slug).join("sounds").join(&path);
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return not_found();
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Admins may replace a prompt under the same name: let Asterisk revalidate.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// A prompt rendered for one call with personal data in it (`/media/scratch/<uuid>.sln16`):
/// the random name is the only key, nothing is cached on the way, and the file is deleted
/// when its call ends.
async fn personal_prompt(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
) -> Response {
    let not_found = || envelope(StatusCode::NOT_FOUND, "not_found", "no such prompt");
    let Some((stem, "sln16")) = file.split_once('.') else {
        return not_found();
    };
    if uuid::Uuid::parse_str(stem).is_err() || stem.len() != 36 {
        return not_found();
    }
    let Ok(bytes) = tokio::fs::read(state.config.tts_scratch_dir().join(&file)).await else {
        return not_found();
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
