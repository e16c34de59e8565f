//! Queues of a tenant and their ordered members. Routing options are kept as a JSON document
//! that the routing module validates; the store only keeps it.

use chrono::{DateTime, Utc};

use super::{BeginWrite, ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::{TenantId, UserId};

/// A stored queue.
#[derive(Debug, Clone)]
pub struct QueueRecord {
    /// Queue id.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Unique name within the tenant.
    pub name: String,
    /// Routing options (JSON object).
    pub settings: serde_json::Value,
    /// Members in configured order.
    pub members: Vec<QueueMemberRecord>,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

/// One member of a queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueMemberRecord {
    /// The agent (a member of the tenant).
    pub user_id: i64,
    /// Penalty tier, 0 = preferred.
    pub penalty: i64,
    /// Wrap-up override, seconds.
    pub wrapup_secs: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    id: i64,
    tenant_id: i64,
    name: String,
    settings: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl QueueRow {
    fn into_record(self, members: Vec<QueueMemberRecord>) -> Result<QueueRecord, StoreError> {
        Ok(QueueRecord {
            id: self.id,
            tenant_id: TenantId(self.tenant_id),
            name: self.name,
            settings: serde_json::from_str(&self.settings)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            members,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Creates a queue with no members. A taken name is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_queue(
    store: &Store,
    tenant: TenantId,
    name: &str,
    settings: &serde_json::Value,
) -> Result<QueueRecord, StoreError> {
    const SQL: &str = "insert into queues (tenant_id, name, settings, created_at, updated_at) values ($1, $2, $3, $4, $4) \
                       returning id, tenant_id, name, settings, created_at, updated_at";
    let row: QueueRow = on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(name)
        .bind(settings.to_string())
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique("a queue with this name")?;
    store.caches.queues.forget(tenant);
    row.into_record(Vec::new())
}

async fn members_of(
    store: &Store,
    tenant: TenantId,
    queue: i64,
) -> Result<Vec<QueueMemberRecord>, StoreError> {
    const SQL: &str = "select user_id, penalty, wrapup_secs from queue_members \
                       where tenant_id = $1 and queue_id = $2 order by position";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(queue).fetch_all(p).await)?)
}

/// One queue with its members.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, queue.id = queue))]
pub async fn find_queue(
    store: &Store,
    tenant: TenantId,
    queue: i64,
) -> Result<Option<QueueRecord>, StoreError> {
    const SQL: &str = "select id, tenant_id, name, settings, created_at, updated_at from queues where tenant_id = $1 and id = $2";
    let row: Option<QueueRow> = on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(queue).fetch_optional(p).await)?;
    match row {
        Some(r) => {
            let members = members_of(store, tenant, r.id).await?;
            Ok(Some(r.into_record(members)?))
        }
        None => Ok(None),
    }
}

/// One queue, or `NotFound`.
pub async fn get_queue(
    store: &Store,
    tenant: TenantId,
    queue: i64,
) -> Result<QueueRecord, StoreError> {
    find_queue(store, tenant, queue)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Every queue of a tenant with its members, by name.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_queues(store: &Store, tenant: TenantId) -> Result<Vec<QueueRecord>, StoreError> {
    const SQL: &str = "select id, tenant_id, name, settings, created_at, updated_at from queues where tenant_id = $1 order by name, id";
    const MEMBERS: &str = "select queue_id, user_id, penalty, wrapup_secs from queue_members \
                           where tenant_id = $1 order by queue_id, position";
    #[derive(sqlx::FromRow)]
    struct MemberRow {
        queue_id: i64,
        #[sqlx(flatten)]
        member: QueueMemberRecord,
    }
    let rows: Vec<QueueRow> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?;
    let members: Vec<MemberRow> =
        on_pool!(store, p => sqlx::query_as(MEMBERS).bind(tenant.get()).fetch_all(p).await)?;
    rows.into_iter()
        .map(|r| {
            let mine = members
                .iter()
                .filter(|m| m.queue_id == r.id)
                .map(|m| m.member.clone())
                .collect();
            r.into_record(mine)
        })
        .collect()
}

/// `list_queues` for the call path (each queued call finds its queue by name): a copy at most
/// a couple of seconds old, forgotten at once by this store's own writes (see `cache`).
pub async fn list_queues_cached(
    store: &Store,
    tenant: TenantId,
) -> Result<std::sync::Arc<Vec<QueueRecord>>, StoreError> {
    store
        .caches
        .queues
        .get_or_load(tenant, list_queues(store, tenant))
        .await
}

/// Renames a queue and/or replaces its settings.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, queue.id = queue))]
pub async fn update_queue(
    store: &Store,
    tenant: TenantId,
    queue: i64,
    name: &str,
    settings: &serde_json::Value,
) -> Result<(), StoreError> {
    const SQL: &str = "update queues set name = $3, settings = $4, updated_at = $5 where tenant_id = $1 and id = $2";
    let done = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(queue)
        .bind(name)
        .bind(settings.to_string())
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .on_unique("a queue with this name")?;
    store.caches.queues.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces a queue's members, in this order, in one transaction. A user who is not a member
/// of the tenant fails the whole change (`NotFound`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, queue.id = queue))]
pub async fn replace_members(
    store: &Store,
    tenant: TenantId,
    queue: i64,
    members: &[QueueMemberRecord],
) -> Result<(), StoreError> {
    let replaced = replace_members_now(store, tenant, queue, members).await;
    store.caches.queues.forget(tenant);
    replaced
}

async fn replace_members_now(
    store: &Store,
    tenant: TenantId,
    queue: i64,
    members: &[QueueMemberRecord],
) -> Result<(), StoreError> {
    const EXISTS: &str = "select count(*) from queues where tenant_id = $1 and id = $2";
    const CLEAR: &str = "delete from queue_members where tenant_id = $1 and queue_id = $2";
    const ADD: &str = "insert into queue_members (queue_id, tenant_id, user_id, position, penalty, wrapup_secs) \
                       values ($1, $2, $3, $4, $5, $6)";
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        let n: i64 = sqlx::query_scalar(EXISTS).bind(tenant.get()).bind(queue).fetch_one(&mut *tx).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(CLEAR).bind(tenant.get()).bind(queue).execute(&mut *tx).await?;
        for (i, m) in members.iter().enumerate() {
            sqlx::query(ADD)
                .bind(queue)
                .bind(tenant.get())
                .bind(m.user_id)
                .bind(i as i64)
                .bind(m.penalty)
                .bind(m.wrapup_secs)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        StoreError::Conflict("the same agent twice in the queue".into())
                    }
                    _ => StoreError::Database(e),
                })?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await)
}

/// Deletes a queue and its memberships.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, queue.id = queue))]
pub async fn delete_queue(store: &Store, tenant: TenantId, queue: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from queues where tenant_id = $1 and id = $2";
    let done = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(queue).execute(p).await.map(|r| r.rows_affected()))?;
    store.caches.queues.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The queues a user serves in a tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn queues_of_member(
    store: &Store,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<i64>, StoreError> {
    const SQL: &str = "select queue_id from queue_members where tenant_id = $1 and user_id = $2 order by queue_id";
    Ok(
        on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).bind(user.get()).fetch_all(p).await)?,
    )
}
