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

/// A routing contact's new status, stored with the event that tells it (see
/// [`append_events`]): the row and the log change in the same round trip to the database.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactChange {
    /// Connected to an agent (outcome `answered`).
    Connected {
        /// The contact.
        id: i64,
        /// The agent.
        agent: i64,
    },
    /// Ended; an answered contact keeps `answered` as its outcome.
    Ended {
        /// The contact.
        id: i64,
        /// `ended`, `abandoned` …
        outcome: String,
    },
}

// A batch's contact changes, as SQLite statements run before its events' insert in the same
// command: the connections first (a contact may connect and end within one batch). Both are
// no-ops on an ended contact, so running them again (a batch retried event by event) is
// harmless. $1 is the tenant; the arguments name the connections, the ends and the instant.
// The unary `+` keeps SQLite's planner off the tenant's index, which it would otherwise scan
// for each change instead of looking the contact up by its id.
macro_rules! sqlite_contacts {
    ($connected:literal, $ended:literal, $now:literal) => {
        concat!(
            "update routing_contacts set status = 'connected', \
             agent_id = c.value ->> '$.agent', outcome = 'answered', updated_at = ",
            $now,
            " from json_each(",
            $connected,
            ") c \
             where +routing_contacts.tenant_id = $1 and routing_contacts.id = c.value ->> '$.id' \
             and +routing_contacts.status <> 'ended'; \
             update routing_contacts set status = 'ended', \
             outcome = coalesce(routing_contacts.outcome, c.value ->> '$.outcome'), updated_at = ",
            $now,
            " from json_each(",
            $ended,
            ") c \
             where +routing_contacts.tenant_id = $1 and routing_contacts.id = c.value ->> '$.id' \
             and +routing_contacts.status <> 'ended'; "
        )
    };
}
const POSTGRES_CONNECTED: &str = "update routing_contacts set status = 'connected', \
    agent_id = (c.value->>'agent')::bigint, outcome = 'answered', updated_at = $3 \
    from jsonb_array_elements($2::jsonb) c \
    where routing_contacts.tenant_id = $1 and routing_contacts.id = (c.value->>'id')::bigint \
    and routing_contacts.status <> 'ended'";
const POSTGRES_ENDED: &str = "update routing_contacts set status = 'ended', \
    outcome = coalesce(routing_contacts.outcome, c.value->>'outcome'), updated_at = $3 \
    from jsonb_array_elements($2::jsonb) c \
    where routing_contacts.tenant_id = $1 and routing_contacts.id = (c.value->>'id')::bigint \
    and routing_contacts.status <> 'ended'";

/// The changes as the statements above take them: (connections, ends), JSON arrays.
fn contact_lists<'a>(changes: impl Iterator<Item = &'a ContactChange>) -> (String, String) {
    let (mut connected, mut ended) = (Vec::new(), Vec::new());
    for change in changes {
        match change {
            ContactChange::Connected { id, agent } => {
                connected.push(serde_json::json!({"id": id, "agent": agent}))
            }
            ContactChange::Ended { id, outcome } => {
                ended.push(serde_json::json!({"id": id, "outcome": outcome}))
            }
        }
    }
    (
        serde_json::Value::Array(connected).to_string(),
        serde_json::Value::Array(ended).to_string(),
    )
}

/// PostgreSQL takes the changes as statements of their own, before the events' insert.
async fn postgres_contacts(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    (connected, ended): &(String, String),
) -> Result<(), sqlx::Error> {
    for (sql, list) in [(POSTGRES_CONNECTED, connected), (POSTGRES_ENDED, ended)] {
        if list != "[]" {
            sqlx::query(sql)
                .bind(tenant.get())
                .bind(list)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Appends an event with the tenant's next sequence number and returns it; `contact` is
/// stored with it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, kind))]
pub async fn append_event(
    store: &Store,
    tenant: TenantId,
    kind: &str,
    user_id: Option<i64>,
    payload: &serde_json::Value,
    contact: Option<&ContactChange>,
) -> Result<EventRecord, StoreError> {
    // The next number is computed in the insert itself; two writers racing for the same
    // number meet the primary key, and the loser simply tries the next one.
    macro_rules! insert {
        () => {
            "insert into tenant_events (tenant_id, seq, kind, user_id, payload, created_at) \
             select $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5 from tenant_events where tenant_id = $1 \
             returning seq, kind, user_id, payload, created_at"
        };
    }
    const SQL: &str = insert!();
    const SQLITE_WITH_CONTACT: &str = concat!(sqlite_contacts!("$6", "$7", "$5"), insert!());
    let text = payload.to_string();
    let lists = contact.map(|c| contact_lists(std::iter::once(c)));
    let mut attempts = 0;
    loop {
        let now = Utc::now();
        let res: Result<EventRecord, sqlx::Error> = match (&store.pool, &lists) {
            (super::Pool::Sqlite { write, .. }, Some((connected, ended))) => {
                sqlx::query_as(SQLITE_WITH_CONTACT)
                    .bind(tenant.get())
                    .bind(kind)
                    .bind(user_id)
                    .bind(&text)
                    .bind(now)
                    .bind(connected)
                    .bind(ended)
                    .fetch_one(write)
                    .await
            }
            (pool, lists) => {
                async {
                    if let (super::Pool::Postgres(p), Some(lists)) = (pool, lists) {
                        postgres_contacts(p, tenant, lists).await?;
                    }
                    on_write!(store, p => sqlx::query_as(SQL)
                        .bind(tenant.get())
                        .bind(kind)
                        .bind(user_id)
                        .bind(&text)
                        .bind(now)
                        .fetch_one(p)
                        .await)
                }
                .await
            }
        };
        match res {
            Ok(r) => return Ok(r),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() && attempts < 20 => {
                attempts += 1
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// An event for [`append_events`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Event kind.
    pub kind: String,
    /// The one user it is for, or `None` for every member.
    pub user_id: Option<i64>,
    /// JSON payload, as text.
    pub payload: String,
    /// The routing contact change it tells, stored with it.
    pub contact: Option<ContactChange>,
}

/// Appends several events of one tenant with consecutive sequence numbers in one statement
/// and returns them in order; the contact changes they carry are stored in the same round
/// trip. A writer racing for the same numbers (another instance) fails the whole batch with a
/// conflict; the caller then appends them one by one.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, n = events.len()))]
pub async fn append_events(
    store: &Store,
    tenant: TenantId,
    events: &[NewEvent],
) -> Result<Vec<EventRecord>, StoreError> {
    // SQLite buffers an insert whose select reads the target table before writing, so the
    // base number is read once, before the first new row.
    macro_rules! sqlite_insert {
        () => {
            "with base(s) as (select coalesce(max(seq), 0) from tenant_events where tenant_id = $1) \
            insert into tenant_events (tenant_id, seq, kind, user_id, payload, created_at) \
            select $1, base.s + e.key + 1, e.value ->> '$.kind', e.value ->> '$.user_id', \
                   e.value ->> '$.payload', e.value ->> '$.at' \
            from base, json_each($2) e order by e.key \
            returning seq, kind, user_id, payload, created_at"
        };
    }
    const SQLITE: &str = sqlite_insert!();
    const SQLITE_WITH_CONTACTS: &str =
        concat!(sqlite_contacts!("$3", "$4", "$5"), sqlite_insert!());
    const POSTGRES: &str = "with base as (select coalesce(max(seq), 0) as s from tenant_events where tenant_id = $1) \
        insert into tenant_events (tenant_id, seq, kind, user_id, payload, created_at) \
        select $1, base.s + e.n, e.value->>'kind', (e.value->>'user_id')::bigint, e.value->>'payload', \
               (e.value->>'at')::timestamptz \
        from base, jsonb_array_elements($2::jsonb) with ordinality as e(value, n) \
        returning seq, kind, user_id, payload, created_at";
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // One instant for the batch, in the text sqlx binds for a SQLite timestamp.
    let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let batch: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::json!({"kind": e.kind, "user_id": e.user_id, "payload": e.payload, "at": at}))
        .collect();
    let batch = serde_json::Value::Array(batch).to_string();
    let changes = events.iter().filter_map(|e| e.contact.as_ref());
    let lists = (changes.clone().next().is_some()).then(|| contact_lists(changes));
    let mut rows: Vec<EventRecord> = match (&store.pool, &lists) {
        (super::Pool::Sqlite { write, .. }, Some((connected, ended))) => {
            sqlx::query_as(SQLITE_WITH_CONTACTS)
                .bind(tenant.get())
                .bind(&batch)
                .bind(connected)
                .bind(ended)
                .bind(Utc::now())
                .fetch_all(write)
                .await
        }
        (super::Pool::Sqlite { write, .. }, None) => {
            sqlx::query_as(SQLITE)
                .bind(tenant.get())
                .bind(&batch)
                .fetch_all(write)
                .await
        }
        (super::Pool::Postgres(p), lists) => {
            async {
                if let Some(lists) = lists {
                    postgres_contacts(p, tenant, lists).await?;
                }
                sqlx::query_as(POSTGRES)
                    .bind(tenant.get())
                    .bind(&batch)
                    .fetch_all(p)
                    .await
            }
            .await
        }
    }
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("event sequence numbers taken meanwhile".into())
        }
        _ => StoreError::from(e),
    })?;
    rows.sort_by_key(|r| r.seq);
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::super::tests::assert_looked_up_by_key;

    #[tokio::test]
    async fn batched_contact_changes_look_each_contact_up_by_its_id() {
        assert_looked_up_by_key(sqlite_contacts!("$3", "$4", "$5"), "routing_contacts").await;
    }
}
