//! Canned responses: a tenant's saved replies, inserted in the reply box with `/shortcut`.

use chrono::{DateTime, Utc};

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A saved reply.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CannedResponse {
    /// Id.
    pub id: i64,
    /// What agents type after `/`.
    pub shortcut: String,
    /// Text with `{{contact.name}}`-style variables.
    pub content: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
}

/// A tenant's saved replies by shortcut.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_canned(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<CannedResponse>, StoreError> {
    const SQL: &str = "select id, shortcut, content, created_at from canned_responses where tenant_id = $1 order by shortcut";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

/// Saves a reply; a taken shortcut is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_canned(
    store: &Store,
    tenant: TenantId,
    shortcut: &str,
    content: &str,
) -> Result<CannedResponse, StoreError> {
    const SQL: &str = "insert into canned_responses (tenant_id, shortcut, content, created_at) values ($1, $2, $3, $4) \
                       returning id, shortcut, content, created_at";
    on_write!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(shortcut).bind(content).bind(Utc::now()).fetch_one(p).await)
        .on_unique("a canned response with this shortcut")
}

/// Changes a saved reply.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_canned(
    store: &Store,
    tenant: TenantId,
    id: i64,
    shortcut: &str,
    content: &str,
) -> Result<CannedResponse, StoreError> {
    const SQL: &str = "update canned_responses set shortcut = $3, content = $4 where tenant_id = $1 and id = $2 \
                       returning id, shortcut, content, created_at";
    on_write!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).bind(shortcut).bind(content).fetch_optional(p).await)
        .on_unique("a canned response with this shortcut")?
        .ok_or(StoreError::NotFound)
}

/// Deletes a saved reply.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn delete_canned(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from canned_responses where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
