//! Queues: CRUD, ordered members with penalties, and the supervisors' live view.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues, create_queue))
        .routes(routes!(get_queue, update_queue, delete_queue))
        .routes(routes!(set_members))
        .routes(routes!(live_queue))
}

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
    /// `default_handle_secs`, `auto_assign`, `record_calls` (voice calls answered from the
    /// queue are recorded), `ring_in_use` (ring an agent whose phone is already on a call
    /// that was not routed to them; off by default).
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
pub(super) const SERVICE_OWNED: [&str; 3] = ["id", "members", "open"];

/// Merges `patch` into `base`, checks names, types and ranges, and returns the stored form.
pub(super) async fn checked_settings(
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

pub(super) fn check_queue_name(name: &str) -> ApiResult<String> {
    crate::admin::check_name("name", name)
}

pub(super) fn checked_members(members: &[QueueMemberView]) -> ApiResult<Vec<QueueMemberRecord>> {
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

pub(super) async fn save_members(
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

/// Lists the tenant's queues (every member: agents pick transfer targets from it).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/queues", tag = "queues",
    params(("tid" = i64, Path, description = "tenant id"), QueueListParams),
    responses((status = 200, body = QueueList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn list_queues(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<QueueListParams>,
) -> ApiResult<AppJson<QueueList>> {
    let items = store::queues::list_queues(&state.store, scope.id())
        .await?
        .into_iter()
        // Agent queues (transfers to one agent) are plumbing; listed only on request.
        .filter(|queue| q.include_agent_queues || !queue.name.starts_with("agent:"))
        .map(Into::into)
        .collect();
    Ok(AppJson(QueueList { items }))
}

/// Options of the queue list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueListParams {
    /// Also list the per-agent queues used for transfers to one agent.
    #[serde(default)]
    pub include_agent_queues: bool,
}

/// Creates a queue.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/queues", tag = "queues", request_body = NewQueue,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = QueueView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_queue(
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
pub(super) async fn get_queue(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("queue"))?;
    Ok(AppJson(q.into()))
}

/// Renames a queue or changes some of its settings.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/queues/{qid}", tag = "queues", request_body = QueuePatch,
    params(("tid" = i64, Path, description = "tenant id"), ("qid" = i64, Path, description = "queue id")),
    responses((status = 200, body = QueueView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_queue(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<QueuePatch>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("queue"))?;
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
pub(super) async fn delete_queue(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("queue"))?;
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
pub(super) async fn set_members(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(members): AppJson<Vec<QueueMemberView>>,
) -> ApiResult<AppJson<QueueView>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("queue"))?;
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
    pub stats: crate::routing::model::QueueStats,
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
pub(super) async fn live_queue(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<LiveQueue>> {
    let q = store::queues::get_queue(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("queue"))?;
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
