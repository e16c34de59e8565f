//! Agents: skills, capacity per medium, cross-channel rule, presence.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(set_agent_presence))
        .routes(routes!(get_my_presence, set_my_presence))
}

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
    /// What the routing engine sees now: available, ringing, busy, wrapup, away or offline
    /// (only on the agent's own `GET …/me/presence`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_state: Option<String>,
    /// Seconds of wrap-up left (with `routing_state`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapup_secs_left: Option<u32>,
}

pub(super) fn agent_view(a: AgentProfile, queues: &[QueueRecord]) -> AgentView {
    let uid = a.user_id.get();
    AgentView {
        routing_state: None,
        wrapup_secs_left: None,
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
pub(super) async fn list_agents(
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

pub(super) async fn load_agent(
    state: &AppState,
    tenant: TenantId,
    uid: i64,
) -> ApiResult<AgentView> {
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
pub(super) async fn get_agent(
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
pub(super) async fn update_agent(
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
        .map_err(ApiError::missing("agent"))?;
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

pub(super) async fn change_presence(
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
        .map_err(ApiError::missing("agent"))?;
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
pub(super) async fn set_agent_presence(
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
pub(super) async fn set_my_presence(
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

/// The caller's own routing profile and presence.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/me/presence", tag = "agents",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn get_my_presence(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
) -> ApiResult<AppJson<AgentView>> {
    let uid = scope
        .principal
        .user_id()
        .ok_or_else(|| ApiError::forbidden("API keys have no presence"))?;
    let mut view = load_agent(&state, scope.id(), uid.get()).await?;
    if let Some((_, st)) = state
        .routing
        .agent_states(scope.id(), &[uid.get()])
        .await?
        .pop()
    {
        view.routing_state = Some(st.state.to_owned());
        view.wrapup_secs_left = Some(st.wrapup_secs_left);
    }
    Ok(AppJson(view))
}
