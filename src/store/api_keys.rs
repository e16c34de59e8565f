//! Tenant API keys. The secret is shown once; only its SHA-256 is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::{ApiKeyId, ApiKeyRole, TenantId, UserId};

/// An API key as listed (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    /// Key id.
    #[schema(value_type = i64)]
    pub id: ApiKeyId,
    /// Owning tenant.
    #[schema(value_type = i64)]
    pub tenant_id: TenantId,
    /// What the key is for.
    pub name: String,
    /// Role the key acts with.
    pub role: ApiKeyRole,
    /// First characters of the secret, to tell keys apart.
    pub prefix: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last authenticated request (UTC).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked (UTC), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    tenant_id: i64,
    name: String,
    role: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            id: ApiKeyId(r.id),
            tenant_id: TenantId(r.tenant_id),
            name: r.name,
            role: ApiKeyRole::parse(&r.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

macro_rules! columns {
    () => {
        "id, tenant_id, name, role, prefix, created_at, last_used_at, revoked_at"
    };
}

/// Stores a new key.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_api_key(
    store: &Store,
    tenant: TenantId,
    name: &str,
    role: ApiKeyRole,
    prefix: &str,
    key_hash: &str,
    created_by: Option<UserId>,
) -> Result<ApiKey, StoreError> {
    let sql: &str = concat!(
        "insert into api_keys (tenant_id, name, role, prefix, key_hash, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning ",
        columns!()
    );
    let row: ApiKeyRow = on_write!(store, p => sqlx::query_as(sql)
        .bind(tenant.get())
        .bind(name)
        .bind(role.as_str())
        .bind(prefix)
        .bind(key_hash)
        .bind(created_by.map(UserId::get))
        .bind(Utc::now())
        .fetch_one(p)
        .await)?;
    row.try_into()
}

/// A tenant's keys, newest first (revoked ones included, marked).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_api_keys(store: &Store, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
    let sql: &str = concat!(
        "select ",
        columns!(),
        " from api_keys where tenant_id = $1 order by id desc"
    );
    let rows: Vec<ApiKeyRow> =
        on_pool!(store, p => sqlx::query_as(sql).bind(tenant.get()).fetch_all(p).await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// The live key with this hash, if its tenant is live too.
#[tracing::instrument(skip_all)]
pub async fn find_live_api_key(
    store: &Store,
    key_hash: &str,
) -> Result<Option<ApiKey>, StoreError> {
    const SQL: &str = "select k.id, k.tenant_id, k.name, k.role, k.prefix, k.created_at, k.last_used_at, k.revoked_at \
         from api_keys k join tenants t on t.id = k.tenant_id \
         where k.key_hash = $1 and k.revoked_at is null and t.deleted_at is null";
    let row: Option<ApiKeyRow> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(key_hash).fetch_optional(p).await)?;
    row.map(TryInto::try_into).transpose()
}

/// Records that a key was used.
pub async fn touch_api_key(store: &Store, key: ApiKeyId) -> Result<(), StoreError> {
    const SQL: &str = "update api_keys set last_used_at = $2 where id = $1";
    on_write!(store, p => sqlx::query(SQL).bind(key.get()).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes a key of this tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn revoke_api_key(
    store: &Store,
    tenant: TenantId,
    key: ApiKeyId,
) -> Result<ApiKey, StoreError> {
    let sql: &str = concat!(
        "update api_keys set revoked_at = $3 where tenant_id = $1 and id = $2 and revoked_at is null returning ",
        columns!()
    );
    let row: Option<ApiKeyRow> = on_write!(store, p => sqlx::query_as(sql)
        .bind(tenant.get())
        .bind(key.get())
        .bind(Utc::now())
        .fetch_optional(p)
        .await)?;
    row.ok_or(StoreError::NotFound)?.try_into()
}
