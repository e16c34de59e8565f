//! The audit log: who changed what, in which tenant, when.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::{TenantId, UserId};

/// One recorded change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Entry id (newest is highest).
    pub id: i64,
    /// The acting user, when a person acted (absent for API keys and the CLI).
    pub actor_user_id: Option<i64>,
    /// Who acted: an email, `api-key:<name>` or `cli`.
    pub actor_email: String,
    /// What happened, e.g. `user.create`.
    pub action: String,
    /// Kind of the changed thing, e.g. `user`.
    pub target_type: String,
    /// Id of the changed thing.
    pub target_id: String,
    /// Changed fields (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    actor_user_id: Option<i64>,
    actor_label: String,
    action: String,
    target_type: String,
    target_id: String,
    details: String,
    created_at: DateTime<Utc>,
}

/// Who performed an audited action.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The person, if one acted.
    pub user: Option<UserId>,
    /// Readable name kept even when the user or key is gone.
    pub label: String,
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// Tenant the change belongs to.
    pub tenant: TenantId,
    /// Who did it.
    pub actor: &'a Actor,
    /// What was done.
    pub action: &'a str,
    /// Kind of target.
    pub target_type: &'a str,
    /// Target id.
    pub target_id: String,
    /// Changed fields.
    pub details: serde_json::Value,
}

/// Appends one entry.
#[tracing::instrument(skip_all, fields(tenant.id = %r.tenant, action = r.action))]
pub async fn insert_audit(store: &Store, r: AuditRecord<'_>) -> Result<(), StoreError> {
    const SQL: &str = "insert into audit_log (tenant_id, actor_user_id, actor_label, action, target_type, target_id, details, created_at) \
                       values ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_write!(store, p => sqlx::query(SQL)
        .bind(r.tenant.get())
        .bind(r.actor.user.map(UserId::get))
        .bind(&r.actor.label)
        .bind(r.action)
        .bind(r.target_type)
        .bind(&r.target_id)
        .bind(r.details.to_string())
        .bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A tenant's entries, newest first, older than the cursor id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_audit(
    store: &Store,
    tenant: TenantId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    const SQL: &str = "select id, actor_user_id, actor_label, action, target_type, target_id, details, created_at \
                       from audit_log where tenant_id = $1 and id < $2 order by id desc limit $3";
    let rows: Vec<AuditRow> = on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            actor_user_id: r.actor_user_id,
            actor_email: r.actor_label,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            created_at: r.created_at,
        })
        .collect())
}
