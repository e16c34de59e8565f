//! `/api/v1/tenants/{tid}/ai`: the tenant's AI agent settings and token usage.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::audit;
use crate::ai::config::AiSettings;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppQuery};
use crate::store::{self, ai::KeyChange};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(usage))
}

/// The settings as admins see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AiSettingsView {
    /// Settings.
    pub settings: AiSettings,
    /// An API key is stored (it is never returned).
    pub api_key_set: bool,
    /// Tokens used this calendar month (UTC).
    pub tokens_this_month: u64,
}

/// New settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettingsUpdate {
    /// The whole settings (omitted fields take their defaults).
    pub settings: serde_json::Value,
    /// A new API key; `""` removes the stored one; absent keeps it.
    pub api_key: Option<String>,
}

async fn view(state: &AppState, scope: &TenantScope<Admin>) -> ApiResult<AiSettingsView> {
    let t = state.ai.tenant(scope.id()).await?;
    Ok(AiSettingsView {
        settings: t.settings,
        api_key_set: t.api_key.is_some(),
        tokens_this_month: state.ai.tokens_this_month(scope.id()).await?,
    })
}

/// The tenant's AI agent settings.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/ai", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = AiSettingsView), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<AiSettingsView>> {
    Ok(AppJson(view(&state, &scope).await?))
}

/// Replaces the tenant's AI agent settings (and optionally its API key).
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/ai", tag = "ai", request_body = AiSettingsUpdate,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = AiSettingsView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<AiSettingsUpdate>,
) -> ApiResult<AppJson<AiSettingsView>> {
    let settings: AiSettings = serde_path_to_error::deserialize(&req.settings).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(&format!("settings.{path}"), e.into_inner().to_string())
    })?;
    let stored = state.ai.tenant(scope.id()).await?;
    let key = match req.api_key.as_deref().map(str::trim) {
        None => KeyChange::Keep,
        Some("") => KeyChange::Clear,
        Some(k) if k.chars().count() > 500 => {
            return Err(ApiError::validation(
                "api_key",
                "must be at most 500 characters",
            ));
        }
        Some(_) => KeyChange::Keep,
    };
    let has_key = match (&key, req.api_key.as_deref().map(str::trim)) {
        (KeyChange::Clear, _) => false,
        (_, Some(k)) if !k.is_empty() => true,
        _ => stored.api_key.is_some(),
    };
    settings.check(has_key).map_err(|e| {
        let field = if e.field == "api_key" {
            e.field.clone()
        } else {
            format!("settings.{}", e.field)
        };
        ApiError::validation(&field, e.message)
    })?;
    let sealed = req
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| state.ai.master_key().seal(k));
    let key = match &sealed {
        Some(s) => KeyChange::Set(s),
        None => key,
    };
    let doc = serde_json::to_string(&settings).map_err(ApiError::internal)?;
    store::ai::save_ai_config(&state.store, scope.id(), &doc, key).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "ai.update",
        "ai",
        scope.id().get(),
        // The key itself never reaches the audit log.
        json!({"settings": settings, "api_key_changed": req.api_key.is_some()}),
    )
    .await?;
    Ok(AppJson(view(&state, &scope).await?))
}

/// Which month.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `YYYY-MM` (default: this month, UTC).
    pub month: Option<String>,
}

/// Token usage of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelUsage {
    /// Model (`local` for the embedded bot).
    pub model: String,
    /// Requests.
    pub requests: i64,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Estimated cost in millionths of the currency unit.
    pub cost_micros: i64,
}

/// A month's usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// `YYYY-MM`.
    pub month: String,
    /// Per model.
    pub models: Vec<ModelUsage>,
    /// Tokens in all.
    pub tokens: i64,
    /// The monthly budget, if any.
    pub budget: Option<u64>,
}

/// Token usage of a month.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/ai/usage", tag = "ai", params(("tid" = i64, Path, description = "tenant id"), UsageQuery),
    responses((status = 200, body = Usage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn usage(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<UsageQuery>,
) -> ApiResult<AppJson<Usage>> {
    let month = match q.month {
        Some(m) => {
            if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() {
                return Err(ApiError::validation("month", "must be YYYY-MM"));
            }
            m
        }
        None => crate::ai::service::usage_month(),
    };
    let rows = store::ai::month_usage(&state.store, scope.id(), &month).await?;
    let tokens = rows.iter().map(|r| r.input_tokens + r.output_tokens).sum();
    let budget = state
        .ai
        .tenant(scope.id())
        .await?
        .settings
        .monthly_token_budget;
    Ok(AppJson(Usage {
        month,
        tokens,
        budget,
        models: rows
            .into_iter()
            .map(|r| ModelUsage {
                model: r.model,
                requests: r.requests,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cost_micros: r.cost_micros,
            })
            .collect(),
    }))
}
