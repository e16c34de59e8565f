//! `/api/v1/tenants/{tid}/handoff-rules`: when the bot hands a conversation to people.
//! A tenant without rules of its own uses the built-in ones; saving the first rule replaces
//! them (the list shows the built-ins until then, so an admin starts from them).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::audit;
use crate::ai::handoff::{self, Condition, HandoffRule};
use crate::app::AppState;
use crate::auth::{Admin, Supervisor, TenantScope};
use crate::domain::TenantId;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store::{self, ai::HandoffRuleRecord, ai::NewHandoffRule};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
}

/// A rule as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    /// Id (negative for built-in rules).
    pub id: i64,
    /// Name.
    pub name: String,
    /// When it fires: `{"kind": "keyword", "words": [...]}`, `intent` (`intents`),
    /// `sentiment` (`at_most`, `consecutive`), `inactivity` (`secs`), `confidence` (`below`),
    /// `max_bot_turns` (`turns`) or `explicit_request`.
    #[schema(value_type = Object)]
    pub condition: Condition,
    /// Lower is checked first.
    pub priority: i32,
    /// Queue the conversation goes to (None: its own).
    pub queue_id: Option<i64>,
    /// Routing priority given to it.
    pub route_priority: Option<i64>,
    /// What the customer is told (`{{position}}`, `{{wait}}`).
    pub message: Option<String>,
    /// Checked at all.
    pub active: bool,
}

impl From<HandoffRule> for RuleView {
    fn from(r: HandoffRule) -> Self {
        RuleView {
            id: r.id,
            name: r.name,
            condition: r.condition,
            priority: r.priority,
            queue_id: r.queue_id,
            route_priority: r.route_priority,
            message: r.message,
            active: r.active,
        }
    }
}

fn from_record(r: HandoffRuleRecord) -> Option<HandoffRule> {
    Some(HandoffRule {
        id: r.id,
        name: r.name,
        condition: serde_json::from_str(&r.rule).ok()?,
        priority: r.priority as i32,
        queue_id: r.queue_id,
        route_priority: r.route_priority,
        message: r.message,
        active: r.active,
    })
}

/// The rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    /// By priority.
    pub items: Vec<RuleView>,
    /// True while the tenant has no rules of its own and these are the built-in ones.
    pub built_in: bool,
}

/// Lists the rules in force.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/handoff-rules", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = RuleList), (status = 403, body = ErrorBody)))]
async fn list_rules(
    State(state): State<AppState>,
    scope: TenantScope<Supervisor>,
) -> ApiResult<AppJson<RuleList>> {
    let stored: Vec<HandoffRule> = store::ai::list_handoff_rules(&state.store, scope.id())
        .await?
        .into_iter()
        .filter_map(from_record)
        .collect();
    let built_in = stored.is_empty();
    let rules = if built_in {
        handoff::default_rules()
    } else {
        stored
    };
    Ok(AppJson(RuleList {
        items: rules.into_iter().map(RuleView::from).collect(),
        built_in,
    }))
}

/// A rule to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Name.
    pub name: String,
    /// When it fires (see `RuleView.condition`).
    #[schema(value_type = Object)]
    pub condition: Condition,
    /// Lower is checked first (default 100).
    pub priority: Option<i32>,
    /// Queue.
    pub queue_id: Option<i64>,
    /// Routing priority.
    pub route_priority: Option<i64>,
    /// Customer message template.
    pub message: Option<String>,
    /// Checked at all (default true).
    pub active: Option<bool>,
}

async fn checked(
    state: &AppState,
    tenant: TenantId,
    input: RuleInput,
) -> ApiResult<NewHandoffRule> {
    let rule = HandoffRule {
        id: 0,
        name: input.name.trim().to_owned(),
        condition: input.condition,
        priority: input.priority.unwrap_or(100),
        queue_id: input.queue_id,
        route_priority: input.route_priority,
        message: input
            .message
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty()),
        active: input.active.unwrap_or(true),
    };
    handoff::validate(&rule).map_err(|e| ApiError::validation(e.field(), e.to_string()))?;
    if let Some(q) = rule.queue_id
        && store::queues::find_queue(&state.store, tenant, q)
            .await?
            .is_none()
    {
        return Err(ApiError::validation(
            "queue_id",
            format!("no queue {q} in this tenant"),
        ));
    }
    if rule.route_priority.is_some_and(|p| !(0..=100).contains(&p)) {
        return Err(ApiError::validation("route_priority", "must be 0–100"));
    }
    Ok(NewHandoffRule {
        name: rule.name,
        rule: serde_json::to_string(&rule.condition).map_err(ApiError::internal)?,
        priority: i64::from(rule.priority),
        queue_id: rule.queue_id,
        route_priority: rule.route_priority,
        message: rule.message,
        active: rule.active,
    })
}

/// The first stored rule replaces the built-in ones: they are stored with it so nothing the
/// admin saw in the list silently disappears.
async fn materialise_built_ins(state: &AppState, tenant: TenantId) -> ApiResult<()> {
    if !store::ai::list_handoff_rules(&state.store, tenant)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    for r in handoff::default_rules() {
        let new = NewHandoffRule {
            name: r.name,
            rule: serde_json::to_string(&r.condition).map_err(ApiError::internal)?,
            priority: i64::from(r.priority),
            queue_id: None,
            route_priority: None,
            message: None,
            active: r.active,
        };
        store::ai::insert_handoff_rule(&state.store, tenant, &new).await?;
    }
    Ok(())
}

/// The stored id of rule `id`: a built-in rule (negative id) is first stored as the tenant's
/// own, with the rest of the built-in set, and found by its name.
async fn stored_id(state: &AppState, tenant: TenantId, id: i64) -> ApiResult<i64> {
    if id >= 0 {
        return Ok(id);
    }
    let builtin = handoff::default_rules()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("handoff rule"))?;
    materialise_built_ins(state, tenant).await?;
    store::ai::list_handoff_rules(&state.store, tenant)
        .await?
        .iter()
        .find(|s| s.name == builtin.name)
        .map(|s| s.id)
        .ok_or_else(|| ApiError::not_found("handoff rule"))
}

/// Adds a rule.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/handoff-rules", tag = "ai", request_body = RuleInput,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = RuleView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(input): AppJson<RuleInput>,
) -> ApiResult<(StatusCode, AppJson<RuleView>)> {
    let new = checked(&state, scope.id(), input).await?;
    materialise_built_ins(&state, scope.id()).await?;
    let r = store::ai::insert_handoff_rule(&state.store, scope.id(), &new).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "handoff_rule.create",
        "handoff_rule",
        r.id,
        json!({"name": r.name, "rule": r.rule}),
    )
    .await?;
    let view = from_record(r)
        .map(RuleView::from)
        .ok_or_else(|| ApiError::internal("stored rule unreadable"))?;
    Ok((StatusCode::CREATED, AppJson(view)))
}

/// Replaces a rule (built-in ones, with negative ids, are stored as the tenant's own first).
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/handoff-rules/{rid}", tag = "ai", request_body = RuleInput,
    params(("tid" = i64, Path, description = "tenant id"), ("rid" = i64, Path, description = "rule id")),
    responses((status = 200, body = RuleView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_rule(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(input): AppJson<RuleInput>,
) -> ApiResult<AppJson<RuleView>> {
    let new = checked(&state, scope.id(), input).await?;
    let id = stored_id(&state, scope.id(), path.1).await?;
    let r = store::ai::update_handoff_rule(&state.store, scope.id(), id, &new)
        .await
        .map_err(ApiError::missing("handoff rule"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "handoff_rule.update",
        "handoff_rule",
        r.id,
        json!({"name": r.name, "rule": r.rule}),
    )
    .await?;
    let view = from_record(r)
        .map(RuleView::from)
        .ok_or_else(|| ApiError::internal("stored rule unreadable"))?;
    Ok(AppJson(view))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/handoff-rules/{rid}", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id"), ("rid" = i64, Path, description = "rule id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = stored_id(&state, scope.id(), path.1).await?;
    store::ai::delete_handoff_rule(&state.store, scope.id(), id)
        .await
        .map_err(ApiError::missing("handoff rule"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "handoff_rule.delete",
        "handoff_rule",
        path.1,
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
