//! Tenants: the businesses using the platform, their limits and feature flags.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::{Slug, TenantId};

/// Resource limits of a tenant; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
pub struct TenantLimits {
    /// Members (people with a login) the tenant may have.
    pub max_agents: i64,
    /// Phone numbers routed to the tenant.
    pub max_dids: i64,
    /// Calls in progress at once.
    pub max_concurrent_calls: i64,
    /// Chat channel integrations.
    pub max_chat_integrations: i64,
}

/// Which parts of the product the tenant may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantFeatures {
    /// Calls over Asterisk.
    pub voice: bool,
    /// Messaging channels and the widget.
    pub chat: bool,
    /// The AI agent.
    pub ai: bool,
}

impl Default for TenantFeatures {
    fn default() -> Self {
        Self {
            voice: true,
            chat: true,
            ai: true,
        }
    }
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tenant {
    /// Id used in every tenant path.
    #[schema(value_type = i64)]
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Short unique name.
    pub slug: String,
    /// Resource limits.
    pub limits: TenantLimits,
    /// Enabled features.
    pub features: TenantFeatures,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: i64,
    name: String,
    slug: String,
    max_agents: i64,
    max_dids: i64,
    max_concurrent_calls: i64,
    max_chat_integrations: i64,
    feature_voice: bool,
    feature_chat: bool,
    feature_ai: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TenantRow> for Tenant {
    fn from(r: TenantRow) -> Self {
        Tenant {
            id: TenantId(r.id),
            name: r.name,
            slug: r.slug,
            limits: TenantLimits {
                max_agents: r.max_agents,
                max_dids: r.max_dids,
                max_concurrent_calls: r.max_concurrent_calls,
                max_chat_integrations: r.max_chat_integrations,
            },
            features: TenantFeatures {
                voice: r.feature_voice,
                chat: r.feature_chat,
                ai: r.feature_ai,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

macro_rules! columns {
    () => {
        "id, name, slug, max_agents, max_dids, max_concurrent_calls, max_chat_integrations, \
     feature_voice, feature_chat, feature_ai, created_at, updated_at"
    };
}

/// Creates a tenant. A taken slug is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.slug = %slug))]
pub async fn insert_tenant(
    store: &Store,
    name: &str,
    slug: &Slug,
    limits: TenantLimits,
    features: TenantFeatures,
) -> Result<Tenant, StoreError> {
    let now = Utc::now();
    let sql: &str = concat!(
        "insert into tenants (name, slug, max_agents, max_dids, max_concurrent_calls, max_chat_integrations, \
         feature_voice, feature_chat, feature_ai, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning ",
        columns!()
    );
    let row: TenantRow = on_write!(store, p => sqlx::query_as(sql)
        .bind(name)
        .bind(slug.as_str())
        .bind(limits.max_agents)
        .bind(limits.max_dids)
        .bind(limits.max_concurrent_calls)
        .bind(limits.max_chat_integrations)
        .bind(features.voice)
        .bind(features.chat)
        .bind(features.ai)
        .bind(now)
        .fetch_one(p)
        .await)
    .on_unique("a tenant with this slug")?;
    Ok(row.into())
}

/// A live (not deleted) tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_tenant(store: &Store, tenant: TenantId) -> Result<Option<Tenant>, StoreError> {
    let sql: &str = concat!(
        "select ",
        columns!(),
        " from tenants where id = $1 and deleted_at is null"
    );
    let row: Option<TenantRow> =
        on_pool!(store, p => sqlx::query_as(sql).bind(tenant.get()).fetch_optional(p).await)?;
    Ok(row.map(Into::into))
}

/// `find_tenant` for paths that read it on every call (voice): a copy at most a couple of
/// seconds old, forgotten at once by this store's own writes (see `cache`).
pub async fn find_tenant_cached(
    store: &Store,
    tenant: TenantId,
) -> Result<Option<Tenant>, StoreError> {
    let copy = store
        .caches
        .tenants
        .get_or_load(tenant, find_tenant(store, tenant))
        .await?;
    Ok((*copy).clone())
}

/// A live tenant, or `NotFound`.
pub async fn get_tenant(store: &Store, tenant: TenantId) -> Result<Tenant, StoreError> {
    find_tenant(store, tenant)
        .await?
        .ok_or(StoreError::NotFound)
}

/// A live tenant by slug.
#[tracing::instrument(skip_all, fields(tenant.slug = %slug))]
pub async fn find_tenant_by_slug(store: &Store, slug: &str) -> Result<Option<Tenant>, StoreError> {
    let sql: &str = concat!(
        "select ",
        columns!(),
        " from tenants where slug = $1 and deleted_at is null"
    );
    let row: Option<TenantRow> =
        on_pool!(store, p => sqlx::query_as(sql).bind(slug).fetch_optional(p).await)?;
    Ok(row.map(Into::into))
}

/// Live tenants in id order, after the cursor id.
#[tracing::instrument(skip_all)]
pub async fn list_tenants(
    store: &Store,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Tenant>, StoreError> {
    let sql = concat!(
        "select ",
        columns!(),
        " from tenants where deleted_at is null and id > $1 order by id limit $2"
    );
    let rows: Vec<TenantRow> = on_pool!(store, p => sqlx::query_as(sql).bind(after.unwrap_or(0)).bind(limit).fetch_all(p).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Fields of a tenant that may change; `None` keeps the stored value.
#[derive(Debug, Default, Clone)]
pub struct TenantChanges {
    /// New display name.
    pub name: Option<String>,
    /// New limits.
    pub limits: Option<TenantLimits>,
    /// New feature flags.
    pub features: Option<TenantFeatures>,
}

/// Applies changes to a live tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_tenant(
    store: &Store,
    tenant: TenantId,
    changes: TenantChanges,
) -> Result<Tenant, StoreError> {
    let current = get_tenant(store, tenant).await?;
    let name = changes.name.unwrap_or(current.name);
    let l = changes.limits.unwrap_or(current.limits);
    let f = changes.features.unwrap_or(current.features);
    let sql: &str = concat!(
        "update tenants set name = $2, max_agents = $3, max_dids = $4, max_concurrent_calls = $5, \
         max_chat_integrations = $6, feature_voice = $7, feature_chat = $8, feature_ai = $9, updated_at = $10 \
         where id = $1 and deleted_at is null returning ",
        columns!()
    );
    let row: Option<TenantRow> = on_write!(store, p => sqlx::query_as(sql)
        .bind(tenant.get())
        .bind(&name)
        .bind(l.max_agents)
        .bind(l.max_dids)
        .bind(l.max_concurrent_calls)
        .bind(l.max_chat_integrations)
        .bind(f.voice)
        .bind(f.chat)
        .bind(f.ai)
        .bind(Utc::now())
        .fetch_optional(p)
        .await)?;
    store.caches.tenants.forget(tenant);
    row.map(Into::into).ok_or(StoreError::NotFound)
}

/// True when the tenant owns anything a careless delete would orphan (members, API keys,
/// queues, contacts).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn tenant_has_data(store: &Store, tenant: TenantId) -> Result<bool, StoreError> {
    const SQL: &str = "select (select count(*) from memberships where tenant_id = $1) \
                     + (select count(*) from api_keys where tenant_id = $1 and revoked_at is null) \
                     + (select count(*) from queues where tenant_id = $1) \
                     + (select count(*) from routing_contacts where tenant_id = $1)";
    let n: i64 =
        on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).fetch_one(p).await)?;
    Ok(n > 0)
}

/// Marks a tenant deleted; its rows stay but no lookup finds it any more.
/// Its slug is freed (suffixed) so a new tenant can take it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn soft_delete_tenant(store: &Store, tenant: TenantId) -> Result<(), StoreError> {
    const SQL: &str = "update tenants set deleted_at = $2, slug = slug || '~deleted-' || cast(id as text) \
                       where id = $1 and deleted_at is null";
    let done = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    store.caches.tenants.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
