//! Website chat widgets: the embed's public id, appearance and behaviour settings, the queue
//! new conversations go to, and the sealed secret for identity verification.

use chrono::{DateTime, Utc};

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A stored widget.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WidgetRecord {
    /// Internal id.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: i64,
    /// Id used in the embed snippet.
    pub public_id: String,
    /// Name shown to admins.
    pub name: String,
    /// JSON settings.
    pub settings: String,
    /// Queue new conversations wait in.
    pub queue_id: Option<i64>,
    /// HMAC secret sealed with the master key.
    pub hmac_secret: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, public_id, name, settings, queue_id, hmac_secret, created_at, updated_at"
    };
}

/// Creates a widget.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_widget(
    store: &Store,
    tenant: TenantId,
    public_id: &str,
    name: &str,
    settings: &serde_json::Value,
    queue_id: Option<i64>,
    sealed_secret: &str,
) -> Result<WidgetRecord, StoreError> {
    const SQL: &str = concat!(
        "insert into widgets (tenant_id, public_id, name, settings, queue_id, hmac_secret, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning ",
        columns!()
    );
    on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(public_id)
        .bind(name)
        .bind(settings.to_string())
        .bind(queue_id)
        .bind(sealed_secret)
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique("a widget with this id")
}

/// A tenant's widgets.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_widgets(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<WidgetRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from widgets where tenant_id = $1 order by id"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

/// One widget of a tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_widget(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<WidgetRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from widgets where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// The widget behind an embed's public id, whichever tenant owns it (only if that tenant is live).
/// This is the public entry point of the widget channel, so it is the one lookup not scoped by
/// a tenant the caller already has: the widget's row names its tenant.
#[tracing::instrument(skip_all)]
pub async fn find_widget_by_public_id(
    store: &Store,
    public_id: &str,
) -> Result<Option<WidgetRecord>, StoreError> {
    const SQL: &str = "select w.id, w.tenant_id, w.public_id, w.name, w.settings, w.queue_id, w.hmac_secret, \
                       w.created_at, w.updated_at from widgets w join tenants t on t.id = w.tenant_id \
                       where w.public_id = $1 and t.deleted_at is null";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(public_id).fetch_optional(p).await)?)
}

/// Replaces a widget's name, settings and queue.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_widget(
    store: &Store,
    tenant: TenantId,
    id: i64,
    name: &str,
    settings: &serde_json::Value,
    queue_id: Option<i64>,
) -> Result<(), StoreError> {
    const SQL: &str = "update widgets set name = $3, settings = $4, queue_id = $5, updated_at = $6 \
                       where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(name)
        .bind(settings.to_string())
        .bind(queue_id)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes a widget (its conversations stay).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn delete_widget(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from widgets where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
