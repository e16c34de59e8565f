//! The routing API: queues and their members, agents' skills, capacity and presence, contacts
//! entering and leaving queues, offers accepted and declined, and the supervisors' live view.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AgentId, ContactId, Event, OverflowTarget, QueueConfig, QueueId};
use super::service::{ContactState, RoutingError};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, AnyMember, Supervisor, TenantScope};
use crate::domain::{Role, TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store::agents::{AgentProfile, RoutingSettings};
use crate::store::queues::{QueueMemberRecord, QueueRecord};
use crate::store::routed_contacts::NewRoutedContact;
use crate::store::{self, StoreError};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues, create_queue))
        .routes(routes!(get_queue, update_queue, delete_queue))
        .routes(routes!(set_members))
        .routes(routes!(live_queue))
        .routes(routes!(list_agents))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(set_agent_presence))
        .routes(routes!(set_my_presence))
        .routes(routes!(enqueue_contact))
        .routes(routes!(get_contact, withdraw_contact))
        .routes(routes!(accept_offer))
        .routes(routes!(decline_offer))
        .routes(routes!(end_contact))
}

impl From<RoutingError> for ApiError {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

fn not_found(what: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

// ---------------------------------------------------------------- queues

/// A member of a queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueMemberView {
    /// The agent (a member of the tenant).
    pub user_id: i64,
    /// Penalty tier, 0 = preferred (0–1000).
    #[serde(default)]
    pub penalty: i64,
    /// Wrap-up seconds overriding the queue's (0–3600); null = the queue's.
    #[serde(default)]
    pub wrapup_secs: Option<i64>,
}

/// A queue with its routing settings and members.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    /// Queue id.
    pub id: i64,
    /// Name, unique in the tenant.
    pub name: String,
    /// Routing settings: `strategy` (ring_all, round_robin, round_robin_ordered, least_recent,
    /// fewest_contacts, random, linear, weighted_random, skills_best), `offer_timeout_secs`,
    /// `retry_secs`, `max_wait_secs`, `max_len`, `overflow`, `wrapup_secs`, `sl_threshold_secs`,
    /// `join_empty`, `leave_empty`, `weight`, `announce_position_secs`, `autopause_after`,
    /// `default_handle_secs`, `auto_assign`.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Members in the order `linear` and `round_robin_ordered` walk.
    pub members: Vec<QueueMemberView>,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<QueueRecord> for QueueView {
    fn from(q: QueueRecord) -> Self {
        QueueView {
            id: q.id,
            name: q.name,
            settings: q.settings,
            members: q
                .members
                .into_iter()
                .map(|m| QueueMemberView {
                    user_id: m.user_id,
                    penalty: m.penalty,
                    wrapup_secs: m.wrapup_secs,
                })
                .collect(),
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// A list of queues.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueList {
    /// Queues by name.
    pub items: Vec<QueueView>,
}

/// A queue to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQueue {
    /// Name, unique in the tenant.
    pub name: String,
    /// Routing settings (see `QueueView.settings`); omitted ones take their defaults.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Option<Value>,
    /// Members in order.
    #[serde(default)]
    pub members: Vec<QueueMemberView>,
}

/// Changes to a queue; omitted fields, and settings not named, stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueuePatch {
    /// New name.
    pub name: Option<String>,
    /// Settings to change.
    #[schema(value_type = Object)]
    pub settings: Option<Value>,
}

// The settings a queue document may hold (everything of QueueConfig but what the service owns).
const SERVICE_OWNED: [&str; 3] = ["id", "members", "open"];

/// Merges `patch` into `base`, checks names, types and ranges, and returns the stored form.
async fn checked_settings(
    state: &AppState,
    tenant: TenantId,
    this_queue: Option<i64>,
    base: &Value,
    patch: Option<&Value>,
) -> ApiResult<Value> {
    let defaults =
        serde_json::to_value(QueueConfig::new(QueueId(0))).map_err(ApiError::internal)?;
    let mut doc = defaults.as_object().cloned().unwrap_or_default();
    for src in [Some(base), patch].into_iter().flatten() {
        let Some(obj) = src.as_object() else {
            return Err(ApiError::validation("settings", "must be an object"));
        };
        for (k, v) in obj {
            if SERVICE_OWNED.contains(&k.as_str())
                || !defaults.as_object().is_some_and(|d| d.contains_key(k))
            {
                return Err(ApiError::validation(
                    &format!("settings.{k}"),
                    "is not a queue setting",
                ));
            }
            doc.insert(k.clone(), v.clone());
        }
    }
    let value = Value::Object(doc);
    let cfg: QueueConfig = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(&format!("settings.{path}"), e.into_inner().to_string())
    })?;
    let range = |field: &str, v: u32, lo: u32, hi: u32| -> ApiResult<()> {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(ApiError::validation(
                &format!("settings.{field}"),
                format!("must be between {lo} and {hi}"),
            ))
        }
    };
    range("offer_timeout_secs", cfg.offer_timeout_secs, 1, 600)?;
    range("retry_secs", cfg.retry_secs, 0, 3600)?;
    range("wrapup_secs", cfg.wrapup_secs, 0, 3600)?;
    range("sl_threshold_secs", cfg.sl_threshold_secs, 1, 3600)?;
    range("default_handle_secs", cfg.default_handle_secs, 1, 86_400)?;
    range("weight", cfg.weight, 0, 1000)?;
    if let Some(v) = cfg.max_wait_secs {
        range("max_wait_secs", v, 1, 86_400)?;
    }
    if let Some(v) = cfg.max_len {
        range("max_len", v, 1, 100_000)?;
    }
    if let Some(v) = cfg.announce_position_secs {
        range("announce_position_secs", v, 10, 3600)?;
    }
    if let Some(v) = cfg.autopause_after {
        range("autopause_after", v, 1, 100)?;
    }
    if let Some(OverflowTarget::Queue { queue }) = &cfg.overflow {
        let target = queue.0 as i64;
        if Some(target) == this_queue {
            return Err(ApiError::validation(
                "settings.overflow.queue",
                "a queue cannot overflow into itself",
            ));
        }
        if store::queues::find_queue(&state.store, tenant, target)
            .await?
            .is_none()
        {
            return Err(ApiError::validation(
                "settings.overflow.queue",
                format!("no queue {target} in this tenant"),
            ));
        }
    }
    let mut stored = value;
    if let Some(obj) = stored.as_object_mut() {
        for k in SERVICE_OWNED {
            obj.remove(k);
        }
    }
    Ok(stored)
}

fn check_queue_name(name: &str) -> ApiResult<String> {
    crate::admin::check_name("name", name)
}

fn checked_members(members: &[QueueMemberView]) -> ApiResult<Vec<QueueMemberRecord>> {
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if !(0..=1000).contains(&m.penalty) {
                return Err(ApiError::validation(
                    &format!("members[{i}].penalty"),
                    "must be between 0 and 1000",
                ));
            }
            if m.wrapup_secs.is_some_and(|w| !(0..=3600).contains(&w)) {
                return Err(ApiError::validation(
                    &format!("members[{i}].wrapup_secs"),
                    "must be between 0 and 3600",
                ));
            }
            Ok(QueueMemberRecord {
                user_id: m.user_id,
                penalty: m.penalty,
                wrapup_secs: m.wrapup_secs,
            })
        })
        .collect()
}

async fn save_members(
    state: &AppState,
    tenant: TenantId,
    queue: i64,
    members: &[QueueMemberView],
) -> ApiResult<()> {
    let records = checked_members(members)?;
    store::queues::replace_members(&state.store, tenant, queue, &records)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::validation("members", "every member must be a user of this tenant")
            }
            other => other.into(),
        })
}

/// Lists the tenant's queues.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/queues", tag = "queues",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = QueueList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_queues(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
) -> ApiResult<AppJson<QueueList>> {
    let items = store::queues::list_queues(&state.store, scope.id())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(AppJson(QueueList { items }))
}

/// Creates a queue.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/queues", tag = "queues", request_body = NewQueue,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = QueueView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_queue(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewQueue>,
) -> ApiResult<(StatusCode, AppJson<QueueView>)> {
    let name = check_queue_name(&req.name)?;
    let settings =
        checked_settings(&state, scope.id(), None, &json!({}), req.settings.as_ref()).await?;
    checked_members(&req.members)?;
    let q = store::queues::insert_queue(&state.store, scope.id(), &name, &settings).await?;
    if let Err(e) = save_members(&state, scope.id(), q.id, &req.members).await {
        // Keep create atomic from the caller's view: no half-made queue stays behind.
        store::queues::delete_queue(&state.store, scope.id(), q.id).await?;
        return Err(e);
    }
    state.routing.queue_changed(scope.id(), q.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "queue.create",
        "queue",
        q.id,
        json!({"name": name, "settings": settings}),
    )
    .await?;
    let q = store::queues::get_queue(&state.store, scope.id(), q.id).await?;
    Ok((StatusCode::CREATED, AppJson(q.into())))
}

/// One queue.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/queues/{qid}", tag = "queues",
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 200, body = QueueView), (status = 404, body = ErrorBody)))]
async fn get_queue(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(not_found("queue"))?;
    Ok(AppJson(q.into()))
}

/// Renames a queue or changes some of its settings.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/queues/{qid}", tag = "queues", request_body = QueuePatch,
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 200, body = QueueView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_queue(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<QueuePatch>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(not_found("queue"))?;
    let name = match &req.name {
        Some(n) => check_queue_name(n)?,
        None => q.name.clone(),
    };
    let settings = checked_settings(
        &state,
        scope.id(),
        Some(q.id),
        &q.settings,
        req.settings.as_ref(),
    )
    .await?;
    store::queues::update_queue(&state.store, scope.id(), q.id, &name, &settings).await?;
    state.routing.queue_changed(scope.id(), q.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "queue.update",
        "queue",
        q.id,
        json!({"name": req.name, "settings": req.settings}),
    )
    .await?;
    Ok(AppJson(
        store::queues::get_queue(&state.store, scope.id(), q.id)
            .await?
            .into(),
    ))
}

/// Deletes a queue; contacts still waiting in it are rejected.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/queues/{qid}", tag = "queues",
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_queue(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(not_found("queue"))?;
    store::queues::delete_queue(&state.store, scope.id(), q.id).await?;
    state.routing.queue_changed(scope.id(), q.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "queue.delete",
        "queue",
        q.id,
        json!({"name": q.name}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a queue's members (in order, with penalties).
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/queues/{qid}/members", tag = "queues", request_body = Vec<QueueMemberView>,
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 200, body = QueueView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_members(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(members): AppJson<Vec<QueueMemberView>>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(not_found("queue"))?;
    save_members(&state, scope.id(), q.id, &members).await?;
    state.routing.queue_changed(scope.id(), q.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "queue.members",
        "queue",
        q.id,
        json!({"members": members}),
    )
    .await?;
    Ok(AppJson(
        store::queues::get_queue(&state.store, scope.id(), q.id)
            .await?
            .into(),
    ))
}

/// A queue right now: statistics, waiting contacts, members by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveQueue {
    /// Queue id.
    pub queue_id: i64,
    /// Queue name.
    pub name: String,
    /// Waiting count, longest wait, answered, abandoned, overflowed, service level today,
    /// mean handle time, members by state.
    #[schema(value_type = Object)]
    pub stats: super::model::QueueStats,
    /// Waiting contacts in queue order.
    pub waiting: Vec<ContactState>,
    /// Members with what each is doing now.
    pub agents: Vec<LiveAgent>,
}

/// A queue member as the live view shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveAgent {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// `offline`, `away`, `ringing`, `wrapup`, `busy` or `available`.
    pub state: String,
    /// Presence as set (with the away reason).
    pub presence: PresenceView,
    /// Since when (UTC).
    pub presence_changed_at: Option<DateTime<Utc>>,
    /// Connected calls.
    pub voice_contacts: u8,
    /// Connected chats.
    pub chat_contacts: u8,
    /// The contact being offered.
    pub offered_contact: Option<i64>,
    /// Seconds of wrap-up left.
    pub wrapup_secs_left: u32,
}

/// The supervisors' live view of a queue.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/queues/{qid}/live", tag = "queues",
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 200, body = LiveQueue), (status = 404, body = ErrorBody)))]
async fn live_queue(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<LiveQueue>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(not_found("queue"))?;
    let (stats, waiting) = state
        .routing
        .live(scope.id(), q.id)
        .await?
        .ok_or_else(|| ApiError::not_found("queue"))?;
    let members: Vec<i64> = q.members.iter().map(|m| m.user_id).collect();
    let states = state.routing.agent_states(scope.id(), &members).await?;
    let agents = store::agents::list_agents(&state.store, scope.id())
        .await?
        .into_iter()
        .filter_map(|a| {
            let (_, st) = states.iter().find(|(id, _)| *id == a.user_id.get())?;
            Some(LiveAgent {
                user_id: a.user_id.get(),
                name: a.name,
                state: st.state.to_owned(),
                presence: PresenceView {
                    state: a.presence,
                    reason: a.away_reason,
                },
                presence_changed_at: a.presence_changed_at,
                voice_contacts: st.voice_contacts,
                chat_contacts: st.chat_contacts,
                offered_contact: st.offered.map(|c| c.0 as i64),
                wrapup_secs_left: st.wrapup_secs_left,
            })
        })
        .collect();
    Ok(AppJson(LiveQueue {
        queue_id: q.id,
        name: q.name,
        stats,
        waiting,
        agents,
    }))
}

// ---------------------------------------------------------------- agents

/// Contacts an agent can hold at once.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityView {
    /// Calls (0–10).
    pub voice: i64,
    /// Chats (0–50).
    pub chat: i64,
}

/// Presence as shown and set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceView {
    /// `available`, `away` or `offline`.
    pub state: String,
    /// Why away (e.g. `lunch`, `training`, `autopause`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// An agent's routing profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role in the tenant.
    #[schema(value_type = String)]
    pub role: String,
    /// Active member.
    pub active: bool,
    /// Capacity per medium.
    pub capacity: CapacityView,
    /// No chats offered while on a call.
    pub block_chats_during_call: bool,
    /// Skill name → level 1–10.
    pub skills: BTreeMap<String, i64>,
    /// Presence.
    pub presence: PresenceView,
    /// When presence last changed (UTC).
    pub presence_changed_at: Option<DateTime<Utc>>,
    /// Queues the agent serves.
    pub queues: Vec<i64>,
}

fn agent_view(a: AgentProfile, queues: &[QueueRecord]) -> AgentView {
    let uid = a.user_id.get();
    AgentView {
        user_id: uid,
        queues: queues
            .iter()
            .filter(|q| q.members.iter().any(|m| m.user_id == uid))
            .map(|q| q.id)
            .collect(),
        name: a.name,
        email: a.email,
        role: a.role,
        active: a.active,
        capacity: CapacityView {
            voice: a.voice_capacity,
            chat: a.chat_capacity,
        },
        block_chats_during_call: a.block_chats_during_call,
        skills: a.skills,
        presence: PresenceView {
            state: a.presence,
            reason: a.away_reason,
        },
        presence_changed_at: a.presence_changed_at,
    }
}

/// A list of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    /// Every member of the tenant with their routing profile.
    pub items: Vec<AgentView>,
}

/// Lists the tenant's agents (every member) with skills, capacity and presence.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/agents", tag = "agents",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = AgentList), (status = 403, body = ErrorBody)))]
async fn list_agents(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
) -> ApiResult<AppJson<AgentList>> {
    let queues = store::queues::list_queues(&state.store, scope.id()).await?;
    let items = store::agents::list_agents(&state.store, scope.id())
        .await?
        .into_iter()
        .map(|a| agent_view(a, &queues))
        .collect();
    Ok(AppJson(AgentList { items }))
}

async fn load_agent(state: &AppState, tenant: TenantId, uid: i64) -> ApiResult<AgentView> {
    let a = store::agents::find_agent(&state.store, tenant, UserId(uid))
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let queues = store::queues::list_queues(&state.store, tenant).await?;
    Ok(agent_view(a, &queues))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/agents/{uid}", tag = "agents",
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<AgentView>> {
    Ok(AppJson(load_agent(&state, scope.id(), path.1).await?))
}

/// Changes to an agent's routing profile; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    /// Capacity per medium.
    pub capacity: Option<CapacityView>,
    /// No chats while on a call.
    pub block_chats_during_call: Option<bool>,
    /// Skill name (lowercase letters, digits, `_`, `-`) → level 1–10; replaces all skills.
    pub skills: Option<BTreeMap<String, i64>>,
}

/// Sets an agent's skills, capacity per medium and cross-channel rule.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/agents/{uid}", tag = "agents", request_body = AgentPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<AgentPatch>,
) -> ApiResult<AppJson<AgentView>> {
    let current = load_agent(&state, scope.id(), path.1).await?;
    let capacity = req.capacity.unwrap_or(current.capacity);
    if !(0..=10).contains(&capacity.voice) {
        return Err(ApiError::validation(
            "capacity.voice",
            "must be between 0 and 10",
        ));
    }
    if !(0..=50).contains(&capacity.chat) {
        return Err(ApiError::validation(
            "capacity.chat",
            "must be between 0 and 50",
        ));
    }
    let skills = req.skills.clone().unwrap_or(current.skills);
    for (name, level) in &skills {
        let ok_name = (1..=40).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok_name {
            return Err(ApiError::validation(
                &format!("skills.{name}"),
                "skill names use 1–40 lowercase letters, digits, `_` or `-`",
            ));
        }
        if !(1..=10).contains(level) {
            return Err(ApiError::validation(
                &format!("skills.{name}"),
                "level must be between 1 and 10",
            ));
        }
    }
    let settings = RoutingSettings {
        voice_capacity: capacity.voice,
        chat_capacity: capacity.chat,
        block_chats_during_call: req
            .block_chats_during_call
            .unwrap_or(current.block_chats_during_call),
        skills,
    };
    let uid = UserId(path.1);
    store::agents::save_routing_settings(&state.store, scope.id(), uid, &settings)
        .await
        .map_err(not_found("agent"))?;
    state.routing.agent_changed(scope.id(), uid).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "agent.update",
        "user",
        uid,
        json!({"capacity": req.capacity, "block_chats_during_call": req.block_chats_during_call, "skills": req.skills}),
    )
    .await?;
    Ok(AppJson(load_agent(&state, scope.id(), path.1).await?))
}

async fn change_presence(
    state: &AppState,
    tenant: TenantId,
    uid: i64,
    p: &PresenceView,
) -> ApiResult<AgentView> {
    let reason = match p.state.as_str() {
        "available" | "offline" => None,
        "away" => Some(
            p.reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("away"),
        ),
        _ => {
            return Err(ApiError::validation(
                "state",
                "must be available, away or offline",
            ));
        }
    };
    if reason.is_some_and(|r| r.chars().count() > 60) {
        return Err(ApiError::validation(
            "reason",
            "must be at most 60 characters",
        ));
    }
    store::agents::set_presence(&state.store, tenant, UserId(uid), &p.state, reason)
        .await
        .map_err(not_found("agent"))?;
    let payload = json!({"user_id": uid, "state": p.state, "reason": reason});
    state
        .events
        .publish(tenant, "presence", None, payload)
        .await?;
    state.routing.agent_changed(tenant, UserId(uid)).await?;
    load_agent(state, tenant, uid).await
}

/// Sets an agent's presence (supervisors, or the agent).
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/agents/{uid}/presence", tag = "agents", request_body = PresenceView,
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_agent_presence(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<PresenceView>,
) -> ApiResult<AppJson<AgentView>> {
    if scope.role < Role::Supervisor && scope.principal.user_id() != Some(UserId(path.1)) {
        return Err(ApiError::forbidden(
            "agents may set only their own presence",
        ));
    }
    Ok(AppJson(
        change_presence(&state, scope.id(), path.1, &req).await?,
    ))
}

/// Sets the caller's own presence.
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/me/presence", tag = "agents", request_body = PresenceView,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody)))]
async fn set_my_presence(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppJson(req): AppJson<PresenceView>,
) -> ApiResult<AppJson<AgentView>> {
    let uid = scope
        .principal
        .user_id()
        .ok_or_else(|| ApiError::forbidden("API keys have no presence"))?;
    Ok(AppJson(
        change_presence(&state, scope.id(), uid.get(), &req).await?,
    ))
}

// ---------------------------------------------------------------- contacts

/// A contact entering a queue (from a channel adapter, the IVR, or an integration).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// Queue to wait in.
    pub queue_id: i64,
    /// `voice` or `chat`.
    pub medium: String,
    /// Channel name (`pjsip`, `widget`, `whatsapp`, …).
    pub channel: String,
    /// 0–9, higher first.
    #[serde(default)]
    pub priority: i64,
    /// Skill name → minimum level 1–10.
    #[serde(default)]
    pub required_skills: BTreeMap<String, i64>,
    /// Original enqueue time when the contact already waited elsewhere (keeps its place).
    #[serde(default)]
    pub enqueued_at: Option<DateTime<Utc>>,
    /// Asked for a callback.
    #[serde(default)]
    pub callback: bool,
}

/// Puts a contact in a queue; it is persisted before this answers.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/routing/contacts", tag = "routing", request_body = EnqueueRequest,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = ContactState), (status = 422, body = ErrorBody)))]
async fn enqueue_contact(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<EnqueueRequest>,
) -> ApiResult<(StatusCode, AppJson<ContactState>)> {
    if !matches!(req.medium.as_str(), "voice" | "chat") {
        return Err(ApiError::validation("medium", "must be voice or chat"));
    }
    if !(0..=9).contains(&req.priority) {
        return Err(ApiError::validation("priority", "must be between 0 and 9"));
    }
    if req.channel.trim().is_empty() || req.channel.len() > 40 {
        return Err(ApiError::validation("channel", "must be 1–40 characters"));
    }
    if let Some((k, _)) = req
        .required_skills
        .iter()
        .find(|(_, v)| !(1..=10).contains(*v))
    {
        return Err(ApiError::validation(
            &format!("required_skills.{k}"),
            "level must be between 1 and 10",
        ));
    }
    if store::queues::find_queue(&state.store, scope.id(), req.queue_id)
        .await?
        .is_none()
    {
        return Err(ApiError::validation(
            "queue_id",
            format!("no queue {} in this tenant", req.queue_id),
        ));
    }
    let skills = serde_json::to_string(&req.required_skills).map_err(ApiError::internal)?;
    let state_now = state
        .routing
        .enqueue(
            scope.id(),
            NewRoutedContact {
                queue_id: req.queue_id,
                medium: &req.medium,
                channel: req.channel.trim(),
                priority: req.priority,
                required_skills: &skills,
                enqueued_at: req.enqueued_at.unwrap_or_else(Utc::now),
                callback: req.callback,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, AppJson(state_now)))
}

/// Where a contact stands: status, position and expected wait, offers, outcome.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 200, body = ContactState), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ContactState>> {
    Ok(AppJson(
        state
            .routing
            .contact_state(scope.id(), path.1)
            .await
            .map_err(|e| match e {
                RoutingError::Store(StoreError::NotFound) => ApiError::not_found("contact"),
                other => other.into(),
            })?,
    ))
}

/// The customer left: abandoned if waiting, ended if connected.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn withdraw_contact(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    state
        .routing
        .withdraw(scope.id(), path.1)
        .await
        .map_err(|e| match e {
            RoutingError::Store(StoreError::NotFound) => ApiError::not_found("contact"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn offered_to_me(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    cid: i64,
) -> ApiResult<UserId> {
    // Unknown here (or another tenant's) is a 404, like every other id.
    state
        .routing
        .contact_state(scope.id(), cid)
        .await
        .map_err(|e| match e {
            RoutingError::Store(StoreError::NotFound) => ApiError::not_found("contact"),
            other => other.into(),
        })?;
    let me = scope
        .principal
        .user_id()
        .ok_or_else(|| ApiError::forbidden("offers are answered by people"))?;
    state
        .routing
        .offer_deadline(scope.id(), cid, me.get())
        .await
        .ok_or_else(|| ApiError::Conflict {
            code: "no_offer",
            message: "this contact is not offered to you (any more)".into(),
        })?;
    Ok(me)
}

/// Accepts an offered contact (the first accept wins).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}/accept", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 200, body = ContactState), (status = 409, body = ErrorBody)))]
async fn accept_offer(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ContactState>> {
    let me = offered_to_me(&state, &scope, path.1).await?;
    state
        .routing
        .apply(
            scope.id(),
            Event::OfferAccepted {
                contact: ContactId(path.1 as u64),
                agent: AgentId(me.get() as u64),
            },
        )
        .await?;
    let now = state.routing.contact_state(scope.id(), path.1).await?;
    if now.agent_id != Some(me.get()) {
        return Err(ApiError::Conflict {
            code: "no_offer",
            message: "another agent took this contact".into(),
        });
    }
    Ok(AppJson(now))
}

/// Declines an offered contact; it goes to the next agent.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}/decline", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 204), (status = 409, body = ErrorBody)))]
async fn decline_offer(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let me = offered_to_me(&state, &scope, path.1).await?;
    state
        .routing
        .apply(
            scope.id(),
            Event::OfferDeclined {
                contact: ContactId(path.1 as u64),
                agent: AgentId(me.get() as u64),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a connected contact (its agent, or a supervisor); the agent enters wrap-up.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}/end", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn end_contact(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let current = state
        .routing
        .contact_state(scope.id(), path.1)
        .await
        .map_err(|e| match e {
            RoutingError::Store(StoreError::NotFound) => ApiError::not_found("contact"),
            other => other.into(),
        })?;
    let mine = current.agent_id.is_some()
        && current.agent_id == scope.principal.user_id().map(UserId::get);
    if !mine && scope.role < Role::Supervisor {
        return Err(ApiError::forbidden(
            "only the contact's agent or a supervisor may end it",
        ));
    }
    state
        .routing
        .end(scope.id(), path.1)
        .await
        .map_err(|e| match e {
            RoutingError::Store(StoreError::NotFound) => ApiError::Conflict {
                code: "not_connected",
                message: "the contact is not connected".into(),
            },
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
