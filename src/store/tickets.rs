//! Tickets: follow-up work opened from a conversation by an agent or the AI agent.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TicketRecord {
    /// Ticket id.
    pub id: i64,
    /// The conversation it came from.
    pub conversation_id: Option<i64>,
    /// The customer.
    pub contact_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `low`, `normal`, `high`, `urgent`.
    pub priority: String,
    /// `open`, `pending`, `solved`, `closed`.
    pub status: String,
    /// The agent working on it.
    pub assignee_id: Option<i64>,
    /// Who opened it (none: the AI agent).
    pub created_by: Option<i64>,
    /// Opened (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, conversation_id, contact_id, title, description, priority, status, assignee_id, created_by, created_at, updated_at"
    };
}

/// What a new ticket carries.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    /// The conversation it came from.
    pub conversation_id: Option<i64>,
    /// The customer.
    pub contact_id: Option<i64>,
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Priority.
    pub priority: &'a str,
    /// Who opened it.
    pub created_by: Option<i64>,
}

/// Opens a ticket.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_ticket(
    store: &Store,
    tenant: TenantId,
    t: NewTicket<'_>,
) -> Result<TicketRecord, StoreError> {
    const SQL: &str = concat!(
        "insert into tickets (tenant_id, conversation_id, contact_id, title, description, priority, status, created_by, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8) returning ",
        columns!()
    );
    Ok(on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(t.conversation_id)
        .bind(t.contact_id)
        .bind(t.title)
        .bind(t.description)
        .bind(t.priority)
        .bind(t.created_by)
        .bind(Utc::now())
        .fetch_one(p)
        .await)?)
}

/// One ticket.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_ticket(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<TicketRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from tickets where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// Tickets, newest first, optionally of one status or conversation, before the cursor id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_tickets(
    store: &Store,
    tenant: TenantId,
    status: Option<&str>,
    conversation: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<TicketRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from tickets where tenant_id = $1 and id < $2 and ($3 is null or status = $3) \
         and ($4 is null or conversation_id = $4) order by id desc limit $5"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(before.unwrap_or(i64::MAX))
        .bind(status)
        .bind(conversation)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// Changes a ticket's title, description, priority, status or assignee.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_ticket(
    store: &Store,
    tenant: TenantId,
    t: &TicketRecord,
) -> Result<TicketRecord, StoreError> {
    const SQL: &str = concat!(
        "update tickets set title = $3, description = $4, priority = $5, status = $6, assignee_id = $7, updated_at = $8 \
         where tenant_id = $1 and id = $2 returning ",
        columns!()
    );
    on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(t.id)
        .bind(&t.title)
        .bind(&t.description)
        .bind(&t.priority)
        .bind(&t.status)
        .bind(t.assignee_id)
        .bind(Utc::now())
        .fetch_optional(p)
        .await)?
    .ok_or(StoreError::NotFound)
}
