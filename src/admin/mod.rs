//! Tenant and platform administration over HTTP: tenants, users and roles, API keys, audit log.
//!
//! Every mutation here writes an audit entry naming the actor, tenant, action and target.

mod api_keys;
mod audit;
mod tenants;
mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::domain::TenantId;
use crate::http::error::ApiError;
use crate::store::audit::{Actor, AuditRecord};
use crate::store::{self, Store};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::router())
        .merge(users::router())
        .merge(api_keys::router())
        .merge(audit::router())
}

pub use tenants::check_name;
pub use users::{NewMember, add_member, cli_actor};

/// Appends an audit entry. A failure to audit is a server error: a change must not go unrecorded silently.
pub(crate) async fn audit(
    store: &Store,
    tenant: TenantId,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    store::audit::insert_audit(
        store,
        AuditRecord {
            tenant,
            actor,
            action,
            target_type,
            target_id: target_id.to_string(),
            details,
        },
    )
    .await
    .map_err(ApiError::internal)
}

/// Audit entry for a membership created from the command line.
pub async fn audit_cli(
    store: &Store,
    tenant: TenantId,
    action: &str,
    user: crate::domain::UserId,
    email: &crate::domain::Email,
    role: crate::domain::Role,
) -> Result<(), ApiError> {
    audit(
        store,
        tenant,
        &cli_actor(),
        action,
        "user",
        user,
        serde_json::json!({"email": email, "role": role}),
    )
    .await
}
