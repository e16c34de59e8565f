//! `/api/v1/tenants/{tid}/api-keys`: keys for scripts and integrations.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use super::tenants::check_name;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope, hash_token, new_api_key};
use crate::domain::{ApiKeyId, ApiKeyRole, Role};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store::api_keys::ApiKey;
use crate::store::{self};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for.
    pub name: String,
    /// The role it acts with (admin, supervisor or agent).
    pub role: ApiKeyRole,
}

/// The created key and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    pub api_key: ApiKey,
    /// Send as `Authorization: Bearer <secret>`; it cannot be shown again.
    pub secret: String,
}

/// The tenant's keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Keys, newest first, revoked ones included.
    pub items: Vec<ApiKey>,
}

/// Lists the tenant's API keys.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/api-keys", tag = "api-keys",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = ApiKeyList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<ApiKeyList>> {
    Ok(AppJson(ApiKeyList {
        items: store::api_keys::list_api_keys(&state.store, scope.id()).await?,
    }))
}

/// Creates an API key; the secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/api-keys", tag = "api-keys", request_body = NewApiKey,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewApiKey>,
) -> ApiResult<(StatusCode, AppJson<CreatedApiKey>)> {
    let name = check_name("name", &req.name)?;
    if Role::from(req.role) > scope.role {
        return Err(ApiError::forbidden(format!(
            "you cannot create a key with the {} role",
            req.role.as_str()
        )));
    }
    let (secret, prefix) = new_api_key();
    let key = store::api_keys::insert_api_key(
        &state.store,
        scope.id(),
        &name,
        req.role,
        &prefix,
        &hash_token(&secret),
        scope.principal.user_id(),
    )
    .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "api_key.create",
        "api_key",
        key.id,
        json!({"name": name, "role": req.role}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(CreatedApiKey {
            api_key: key,
            secret,
        }),
    ))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/api-keys/{kid}", tag = "api-keys",
    params(("tid" = i64, Path, description = "tenant id"), ("kid" = i64, Path, description = "key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let key = store::api_keys::revoke_api_key(&state.store, scope.id(), ApiKeyId(path.1))
        .await
        .map_err(ApiError::missing("API key"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "api_key.revoke",
        "api_key",
        key.id,
        json!({"name": key.name}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
