//! `/api/v1/tenants/{tid}/labels`: the labels admins define for conversations.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::LabelView;
use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_labels, create_label))
        .routes(routes!(delete_label))
}

/// The tenant's labels.
#[derive(Debug, Serialize, ToSchema)]
pub struct LabelList {
    /// By name.
    pub items: Vec<LabelView>,
}

/// Lists labels.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/labels", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = LabelList)))]
async fn list_labels(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
) -> ApiResult<AppJson<LabelList>> {
    let items = store::labels::list_labels(&state.store, scope.id())
        .await?
        .into_iter()
        .map(|l| LabelView {
            id: l.id,
            name: l.name,
            colour: l.colour,
        })
        .collect();
    Ok(AppJson(LabelList { items }))
}

/// A label to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLabel {
    /// 1–40 characters.
    pub name: String,
    /// `#rrggbb` (default `#64748b`).
    pub colour: Option<String>,
}

/// Creates a label (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/labels", tag = "inbox", request_body = NewLabel,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = LabelView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_label(
    State(state): State<AppState>,
    scope: TenantScope<crate::auth::Admin>,
    AppJson(req): AppJson<NewLabel>,
) -> ApiResult<(StatusCode, AppJson<LabelView>)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(ApiError::validation("name", "must be 1–40 characters"));
    }
    let colour = req.colour.unwrap_or_else(|| "#64748b".into());
    let hex = colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !hex {
        return Err(ApiError::validation("colour", "must be #rrggbb"));
    }
    let l = store::labels::insert_label(&state.store, scope.id(), name, &colour).await?;
    crate::admin::audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "label.create",
        "label",
        l.id,
        serde_json::json!({"name": l.name}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(LabelView {
            id: l.id,
            name: l.name,
            colour: l.colour,
        }),
    ))
}

/// Deletes a label (admins); it comes off every conversation.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/labels/{lid}", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("lid" = i64, Path, description = "label id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_label(
    State(state): State<AppState>,
    scope: TenantScope<crate::auth::Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    store::labels::delete_label(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("label"))?;
    crate::admin::audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "label.delete",
        "label",
        path.1,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
