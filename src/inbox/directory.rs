//! `/api/v1/tenants/{tid}/directory`: who and where a conversation can be handed to.
//!
//! Every member needs this much to transfer a conversation or @mention a colleague; the full
//! member and queue administration stays with supervisors and admins.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::AGENT_QUEUE_PREFIX;
use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::http::error::ApiResult;
use crate::http::extract::AppJson;
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(directory))
}

/// A queue a conversation can be transferred to.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryQueue {
    /// Queue id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A colleague, with just enough to pick them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryMember {
    /// User id.
    pub user_id: i64,
    /// Display name.
    pub name: String,
    /// Role in the tenant.
    pub role: String,
    /// `available`, `away` or `offline`.
    pub presence: String,
}

/// Queues and active colleagues of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Directory {
    /// Queues by name (one agent's own transfer queue is not listed).
    pub queues: Vec<DirectoryQueue>,
    /// Active members by name.
    pub members: Vec<DirectoryMember>,
}

/// Lists the queues and colleagues any member may transfer to or mention.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/directory", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = Directory)))]
async fn directory(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
) -> ApiResult<AppJson<Directory>> {
    let mut queues: Vec<DirectoryQueue> = store::queues::list_queues(&state.store, scope.id())
        .await?
        .into_iter()
        .filter(|q| !q.name.starts_with(AGENT_QUEUE_PREFIX))
        .map(|q| DirectoryQueue {
            id: q.id,
            name: q.name,
        })
        .collect();
    queues.sort_by_key(|q| q.name.to_lowercase());
    let mut members: Vec<DirectoryMember> = store::agents::list_agents(&state.store, scope.id())
        .await?
        .into_iter()
        .filter(|a| a.active)
        .map(|a| DirectoryMember {
            user_id: a.user_id.get(),
            name: a.name,
            role: a.role,
            presence: a.presence,
        })
        .collect();
    members.sort_by_key(|m| m.name.to_lowercase());
    Ok(AppJson(Directory { queues, members }))
}
