//! Contacts entering and leaving queues, and the agents' answers to offers.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enqueue_contact))
        .routes(routes!(get_contact, withdraw_contact))
        .routes(routes!(accept_offer))
        .routes(routes!(decline_offer))
        .routes(routes!(end_contact))
}

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
pub(super) async fn enqueue_contact(
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
pub(super) async fn get_contact(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ContactState>> {
    Ok(AppJson(
        state
            .routing
            .contact_state(scope.id(), path.1)
            .await
            .map_err(contact_missing)?,
    ))
}

/// The customer left: abandoned if waiting, ended if connected.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/routing/contacts/{cid}", tag = "routing",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "contact id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn withdraw_contact(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    state
        .routing
        .withdraw(scope.id(), path.1)
        .await
        .map_err(contact_missing)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn offered_to_me(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    cid: i64,
) -> ApiResult<UserId> {
    // Unknown here (or another tenant's) is a 404, like every other id.
    state
        .routing
        .contact_state(scope.id(), cid)
        .await
        .map_err(contact_missing)?;
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
pub(super) async fn accept_offer(
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
pub(super) async fn decline_offer(
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
pub(super) async fn end_contact(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let current = state
        .routing
        .contact_state(scope.id(), path.1)
        .await
        .map_err(contact_missing)?;
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

/// A routing contact that is not (or no longer) known in this tenant is a 404.
fn contact_missing(e: RoutingError) -> ApiError {
    match e {
        RoutingError::Store(StoreError::NotFound) => ApiError::not_found("contact"),
        other => other.into(),
    }
}
