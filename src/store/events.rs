//! The per-tenant event log: each event takes the tenant's next sequence number, so clients
//! that reconnect can ask for everything after the last number they saw.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// One stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventRecord {
    /// Per-tenant sequence number, gapless and increasing.
    pub seq: i64,
    /// Event kind, e.g. `offer`.
    pub kind: String,
    /// The one user it is for, or `None` for every member.
    pub user_id: Option<i64>,
    /// JSON payload.
    pub payload: String,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
}

/// Appends an event with the tenant's next sequence number and returns it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, kind))]
pub async fn append_event(
    store: &Store,
    tenant: TenantId,
    kind: &str,
    user_id: Option<i64>,
    payload: &serde_json::Value,
) -> Result<EventRecord, StoreError> {
    // The next number is computed in the insert itself; two writers racing for the same
    // number meet the primary key, and the loser simply tries the next one.
    const SQL: &str = "insert into tenant_events (tenant_id, seq, kind, user_id, payload, created_at) \
                       select $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5 from tenant_events where tenant_id = $1 \
                       returning seq, kind, user_id, payload, created_at";
    let text = payload.to_string();
    let mut attempts = 0;
    loop {
        let res: Result<EventRecord, sqlx::Error> = on_write!(store, p => sqlx::query_as(SQL)
            .bind(tenant.get())
            .bind(kind)
            .bind(user_id)
            .bind(&text)
            .bind(Utc::now())
            .fetch_one(p)
            .await);
        match res {
            Ok(r) => return Ok(r),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() && attempts < 20 => {
                attempts += 1
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Events after `since`, oldest first, at most `limit`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_events_since(
    store: &Store,
    tenant: TenantId,
    since: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    const SQL: &str = "select seq, kind, user_id, payload, created_at from tenant_events \
                       where tenant_id = $1 and seq > $2 order by seq limit $3";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(since).bind(limit).fetch_all(p).await)?,
    )
}

/// The tenant's latest sequence number (0 before the first event).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn latest_seq(store: &Store, tenant: TenantId) -> Result<i64, StoreError> {
    const SQL: &str = "select coalesce(max(seq), 0) from tenant_events where tenant_id = $1";
    Ok(on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).fetch_one(p).await)?)
}
