//! Contacts held by the routing engine (waiting or connected), persisted so a restart
//! rebuilds the queues with every contact's original place.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A contact the engine holds, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RoutedContact {
    /// Contact id (the engine's id).
    pub id: i64,
    /// Tenant.
    pub tenant_id: i64,
    /// Queue it waits in (or was answered from).
    pub queue_id: i64,
    /// `voice` or `chat`.
    pub medium: String,
    /// Channel name.
    pub channel: String,
    /// 0–9, higher first.
    pub priority: i64,
    /// Skill name → minimum level, JSON object.
    pub required_skills: String,
    /// First time it started waiting anywhere.
    pub enqueued_at: DateTime<Utc>,
    /// When it joined its current queue.
    pub joined_at: DateTime<Utc>,
    /// Asked for a callback.
    pub callback: bool,
    /// `waiting`, `connected` or `ended`.
    pub status: String,
    /// The agent, once connected.
    pub agent_id: Option<i64>,
    /// How it ended.
    pub outcome: Option<String>,
}

/// What a new contact carries.
#[derive(Debug, Clone)]
pub struct NewRoutedContact<'a> {
    /// Queue.
    pub queue_id: i64,
    /// `voice` or `chat`.
    pub medium: &'a str,
    /// Channel name.
    pub channel: &'a str,
    /// 0–9.
    pub priority: i64,
    /// JSON object of skill → minimum level.
    pub required_skills: &'a str,
    /// Original enqueue time.
    pub enqueued_at: DateTime<Utc>,
    /// Asked for a callback.
    pub callback: bool,
}

macro_rules! columns {
    () => {
        "id, tenant_id, queue_id, medium, channel, priority, required_skills, enqueued_at, joined_at, \
         callback, status, agent_id, outcome"
    };
}

/// A new contact's insert, up to its `returning` list: $1 tenant, $2 queue, $3 medium,
/// $4 channel, $5 priority, $6 skills, $7 enqueued at, $8 now, $9 callback.
macro_rules! insert {
    () => {
        "insert into routing_contacts (tenant_id, queue_id, medium, channel, priority, \
         required_skills, enqueued_at, joined_at, callback, status, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', $8, $8) returning "
    };
}

/// Binds `insert!`'s nine values, in its order.
macro_rules! bind_new {
    ($query:expr, $tenant:expr, $c:expr, $now:expr) => {
        $query
            .bind($tenant.get())
            .bind($c.queue_id)
            .bind($c.medium)
            .bind($c.channel)
            .bind($c.priority)
            .bind($c.required_skills)
            .bind($c.enqueued_at)
            .bind($now)
            .bind($c.callback)
    };
}

/// Records a contact that starts waiting; returns it with its id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_routed_contact(
    store: &Store,
    tenant: TenantId,
    c: NewRoutedContact<'_>,
) -> Result<RoutedContact, StoreError> {
    const SQL: &str = concat!(insert!(), columns!());
    Ok(
        on_write!(store, p => bind_new!(sqlx::query_as(SQL), tenant, c, Utc::now())
        .fetch_one(p)
        .await)?,
    )
}

/// Records a contact already connected to `agent` (a call outside routing holding their
/// capacity): one statement, and never a row a restart would take for a waiting customer.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_connected(
    store: &Store,
    tenant: TenantId,
    c: NewRoutedContact<'_>,
    agent: i64,
) -> Result<RoutedContact, StoreError> {
    const SQL: &str = concat!(
        "insert into routing_contacts (tenant_id, queue_id, medium, channel, priority, \
         required_skills, enqueued_at, joined_at, callback, status, agent_id, outcome, \
         created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'connected', $10, 'answered', $8, $8) \
         returning ",
        columns!()
    );
    Ok(
        on_write!(store, p => bind_new!(sqlx::query_as(SQL), tenant, c, Utc::now())
        .bind(agent)
        .fetch_one(p)
        .await)?,
    )
}

/// Queues a call: records its routing contact, as [`insert_routed_contact`] does, and marks the
/// call's row queued with it, in one round trip to the database instead of two (a call setup's
/// database work is mostly round trips). A failed update of the call row is logged, not
/// returned: the contact is stored and routing goes on, as when these were two statements.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = call))]
pub async fn insert_for_call(
    store: &Store,
    tenant: TenantId,
    call: i64,
    c: NewRoutedContact<'_>,
) -> Result<RoutedContact, StoreError> {
    // Two statements in one command: the insert commits, then the update names its row.
    const SQLITE: &str = concat!(
        insert!(),
        columns!(),
        "; update calls set state = 'queued', queue_id = $2, transferred_to = null, \
         held_contact_id = null, routed_contact_id = last_insert_rowid() \
         where tenant_id = $1 and id = $10"
    );
    // One statement: both changes or neither.
    const POSTGRES: &str = concat!(
        "with c as (",
        insert!(),
        columns!(),
        "), q as (update calls set state = 'queued', queue_id = $2, transferred_to = null, \
         held_contact_id = null, routed_contact_id = (select id from c) \
         where tenant_id = $1 and id = $10) select ",
        columns!(),
        " from c"
    );
    let now = Utc::now();
    // Both backends' statements take the new contact's values, then the call.
    macro_rules! bound {
        ($query:expr) => {
            bind_new!($query, tenant, c, now).bind(call)
        };
    }
    match &store.pool {
        super::Pool::Sqlite { write, .. } => {
            use futures::TryStreamExt;
            use sqlx::{Executor, FromRow};
            let query = bound!(sqlx::query(SQLITE));
            let mut steps = write.fetch_many(query);
            let mut stored = None;
            loop {
                match steps.try_next().await {
                    Ok(Some(sqlx::Either::Right(row))) if stored.is_none() => {
                        stored = Some(RoutedContact::from_row(&row)?)
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => match stored {
                        None => return Err(e.into()),
                        Some(_) => {
                            tracing::warn!(error = %e, "call row not updated");
                            break;
                        }
                    },
                }
            }
            stored.ok_or(StoreError::NotFound)
        }
        super::Pool::Postgres(p) => Ok(bound!(sqlx::query_as(POSTGRES)).fetch_one(p).await?),
    }
}

/// Renames the channel a contact came in on (a consultation's hold kept for the transfer).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn set_channel(
    store: &Store,
    tenant: TenantId,
    id: i64,
    channel: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "update routing_contacts set channel = $3, updated_at = $4 \
                       where tenant_id = $1 and id = $2 and status <> 'ended'";
    affected(
        on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(channel).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// The customer asked to be called back: the contact keeps its place, without them on the line.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn mark_callback(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "update routing_contacts set callback = $3, updated_at = $4 \
                       where tenant_id = $1 and id = $2 and status <> 'ended'";
    affected(
        on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(true).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// A contact connected to `agent` waits again (the connection could not be made): no agent,
/// no outcome yet, its enqueue time (its place) kept. NotFound if it is not connected to
/// `agent`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn mark_waiting_again(
    store: &Store,
    tenant: TenantId,
    id: i64,
    agent: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "update routing_contacts set status = 'waiting', agent_id = null, outcome = null, updated_at = $4 \
                       where tenant_id = $1 and id = $2 and status = 'connected' and agent_id = $3";
    affected(
        on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(agent).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// Moves a waiting contact to another queue (overflow), keeping its original enqueue time.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn mark_moved(
    store: &Store,
    tenant: TenantId,
    id: i64,
    queue: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "update routing_contacts set queue_id = $3, joined_at = $4, updated_at = $4 \
                       where tenant_id = $1 and id = $2 and status = 'waiting'";
    affected(
        on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(queue).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// Ends a contact with its outcome (`abandoned`, `lost`, `overflowed`, `rejected`, `ended`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn mark_ended(
    store: &Store,
    tenant: TenantId,
    id: i64,
    outcome: &str,
) -> Result<(), StoreError> {
    // An answered contact keeps `answered` as its outcome when it ends.
    const SQL: &str = "update routing_contacts set status = 'ended', outcome = coalesce(outcome, $3), updated_at = $4 \
                       where tenant_id = $1 and id = $2 and status <> 'ended'";
    affected(
        on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(outcome).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// One contact.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, contact.id = id))]
pub async fn find_routed_contact(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<RoutedContact>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from routing_contacts where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// Contacts of a tenant still waiting or connected, oldest first (for rebuilding the engine).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_live_contacts(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<RoutedContact>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from routing_contacts where tenant_id = $1 and status in ('waiting', 'connected') order by enqueued_at, id"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

fn affected(n: u64) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
