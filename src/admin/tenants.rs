//! `/api/v1/tenants`: the platform operator's tenant management.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use crate::app::AppState;
use crate::auth::{AnyMember, Operator, Owner, TenantScope};
use crate::domain::{Slug, TenantId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery, Page, PageParams};
use crate::store::tenants::{Tenant, TenantChanges, TenantFeatures, TenantLimits};
use crate::store::{self, clamp_limit};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
}

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Short unique name: lowercase letters, digits and dashes.
    pub slug: String,
    /// Resource limits (0 = unlimited); all unlimited when omitted.
    pub limits: Option<TenantLimits>,
    /// Feature flags; all on when omitted.
    pub features: Option<TenantFeatures>,
}

/// Changes to a tenant; omitted fields stay. The slug cannot change (it names the tenant in URLs and the CLI).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// New display name (owners and operators).
    pub name: Option<String>,
    /// Limits to change (operators only); omitted limits stay.
    pub limits: Option<LimitsPatch>,
    /// Feature flags to change (operators only); omitted flags stay.
    pub features: Option<FeaturesPatch>,
}

/// Some of a tenant's limits.
#[derive(Debug, Default, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    /// Active members (0 = unlimited).
    pub max_agents: Option<i64>,
    /// DIDs (0 = unlimited).
    pub max_dids: Option<i64>,
    /// Concurrent calls (0 = unlimited).
    pub max_concurrent_calls: Option<i64>,
    /// Chat integrations (0 = unlimited).
    pub max_chat_integrations: Option<i64>,
}

impl LimitsPatch {
    fn apply(self, to: TenantLimits) -> TenantLimits {
        TenantLimits {
            max_agents: self.max_agents.unwrap_or(to.max_agents),
            max_dids: self.max_dids.unwrap_or(to.max_dids),
            max_concurrent_calls: self.max_concurrent_calls.unwrap_or(to.max_concurrent_calls),
            max_chat_integrations: self
                .max_chat_integrations
                .unwrap_or(to.max_chat_integrations),
        }
    }
}

/// Some of a tenant's feature flags.
#[derive(Debug, Default, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesPatch {
    /// Calls.
    pub voice: Option<bool>,
    /// Chat channels.
    pub chat: Option<bool>,
    /// AI agent.
    pub ai: Option<bool>,
}

impl FeaturesPatch {
    fn apply(self, to: TenantFeatures) -> TenantFeatures {
        TenantFeatures {
            voice: self.voice.unwrap_or(to.voice),
            chat: self.chat.unwrap_or(to.chat),
            ai: self.ai.unwrap_or(to.ai),
        }
    }
}

/// Trims a display name and checks its length, naming `field` when it is wrong.
pub fn check_name(field: &str, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 120 {
        return Err(ApiError::validation(field, "must be 1–120 characters"));
    }
    Ok(n.to_owned())
}

fn check_limits(l: &TenantLimits) -> Result<(), ApiError> {
    for (k, v) in [
        ("limits.max_agents", l.max_agents),
        ("limits.max_dids", l.max_dids),
        ("limits.max_concurrent_calls", l.max_concurrent_calls),
        ("limits.max_chat_integrations", l.max_chat_integrations),
    ] {
        if v < 0 {
            return Err(ApiError::validation(k, "must be 0 (unlimited) or more"));
        }
    }
    Ok(())
}

/// Lists tenants (platform operators).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(PageParams),
    responses((status = 200, body = Page<Tenant>), (status = 403, body = ErrorBody)))]
async fn list_tenants(
    State(state): State<AppState>,
    _op: Operator,
    AppQuery(page): AppQuery<PageParams>,
) -> ApiResult<AppJson<Page<Tenant>>> {
    let limit = clamp_limit(page.limit);
    let items = store::tenants::list_tenants(&state.store, page.cursor_id()?, limit).await?;
    Ok(AppJson(Page::new(items, limit, |t| t.id.get())))
}

/// Creates a tenant (platform operators).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = NewTenant,
    responses((status = 201, body = Tenant), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    Operator(op): Operator,
    AppJson(req): AppJson<NewTenant>,
) -> ApiResult<(StatusCode, AppJson<Tenant>)> {
    let name = check_name("name", &req.name)?;
    let slug = Slug::parse(&req.slug)?;
    let limits = req.limits.unwrap_or_default();
    check_limits(&limits)?;
    let tenant = store::tenants::insert_tenant(
        &state.store,
        &name,
        &slug,
        limits,
        req.features.unwrap_or_default(),
    )
    .await?;
    audit(
        &state.store,
        tenant.id,
        &op.actor(),
        "tenant.create",
        "tenant",
        tenant.id,
        json!({"name": name, "slug": slug}),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(tenant)))
}

/// One tenant (any member of it, or an operator).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}", tag = "tenants",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = Tenant), (status = 404, body = ErrorBody)))]
async fn get_tenant(scope: TenantScope<AnyMember>) -> ApiResult<AppJson<Tenant>> {
    Ok(AppJson(scope.tenant))
}

/// Changes a tenant: owners may rename it; limits and features are the operator's.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}", tag = "tenants", request_body = TenantPatch,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = Tenant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_tenant(
    State(state): State<AppState>,
    scope: TenantScope<Owner>,
    AppJson(req): AppJson<TenantPatch>,
) -> ApiResult<AppJson<Tenant>> {
    if (req.limits.is_some() || req.features.is_some()) && !scope.principal.is_operator() {
        return Err(ApiError::forbidden(
            "only platform operators may change limits or features",
        ));
    }
    let name = req
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let limits = req.limits.map(|l| l.apply(scope.tenant.limits));
    if let Some(l) = &limits {
        check_limits(l)?;
    }
    let features = req.features.map(|f| f.apply(scope.tenant.features));
    let details = json!({"name": name, "limits": req.limits, "features": req.features});
    let tenant = store::tenants::update_tenant(
        &state.store,
        scope.id(),
        TenantChanges {
            name,
            limits,
            features,
        },
    )
    .await?;
    audit(
        &state.store,
        tenant.id,
        &scope.actor(),
        "tenant.update",
        "tenant",
        tenant.id,
        details,
    )
    .await?;
    Ok(AppJson(tenant))
}

/// `?force=true` deletes a tenant that still has members or keys.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete even when the tenant has data.
    #[serde(default)]
    pub force: bool,
}

/// Soft-deletes a tenant (platform operators). Refused with 409 while it has data unless forced.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}", tag = "tenants",
    params(("tid" = i64, Path, description = "tenant id"), DeleteParams),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_tenant(
    State(state): State<AppState>,
    Operator(op): Operator,
    AppPath(tid): AppPath<i64>,
    AppQuery(params): AppQuery<DeleteParams>,
) -> ApiResult<StatusCode> {
    let tid = TenantId(tid);
    store::tenants::find_tenant(&state.store, tid)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    if !params.force && store::tenants::tenant_has_data(&state.store, tid).await? {
        return Err(ApiError::Conflict {
            code: "tenant_has_data",
            message:
                "the tenant still has members or API keys; remove them or delete with ?force=true"
                    .into(),
        });
    }
    store::tenants::soft_delete_tenant(&state.store, tid).await?;
    audit(
        &state.store,
        tid,
        &op.actor(),
        "tenant.delete",
        "tenant",
        tid,
        json!({"force": params.force}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
