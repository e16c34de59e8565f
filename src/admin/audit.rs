//! `/api/v1/tenants/{tid}/audit-log`: who changed what.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{Admin, TenantScope};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppQuery, Page, PageParams};
use crate::store::audit::AuditEntry;
use crate::store::{self, clamp_limit};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The tenant's audit log, newest first (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/audit-log", tag = "audit",
    params(("tid" = i64, Path, description = "tenant id"), PageParams),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(page): AppQuery<PageParams>,
) -> ApiResult<AppJson<Page<AuditEntry>>> {
    let limit = clamp_limit(page.limit);
    let items =
        store::audit::list_audit(&state.store, scope.id(), page.cursor_id()?, limit).await?;
    Ok(AppJson(Page::new(items, limit, |e| e.id)))
}
