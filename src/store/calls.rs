//! Calls: one row per call with its timeline (`call_events`) and its recordings and
//! voicemails (`call_recordings`). Written by the voice call tasks, read by the inbox,
//! the API and reports.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A call as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallRecord {
    /// Call id.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: i64,
    /// The Asterisk server's name.
    pub server: String,
    /// The caller's channel id on that server.
    pub channel_id: String,
    /// `inbound`, `outbound` or `callback`.
    pub direction: String,
    /// The number dialled.
    pub did: String,
    /// The caller's number.
    pub caller: String,
    /// The IVR flow it ran.
    pub flow: Option<String>,
    /// `ivr`, `queued`, `ringing`, `connected`, `voicemail` or `ended`.
    pub state: String,
    /// Its routing contact, once queued.
    pub routed_contact_id: Option<i64>,
    /// The queue it waited in.
    pub queue_id: Option<i64>,
    /// The agent who took it.
    pub agent_id: Option<i64>,
    /// Entered Switchboard.
    pub started_at: DateTime<Utc>,
    /// Answered by an agent.
    pub answered_at: Option<DateTime<Utc>>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Whom a transfer put the caller through to ("extension 1002 (Bob Lee)", a number or a
    /// SIP URI); unset while the caller never left the agent who answered.
    pub transferred_to: Option<String>,
    /// The routing contact holding the capacity of the agent a transfer put the caller
    /// through to, while that talk lasts.
    pub held_contact_id: Option<i64>,
    /// The routing contact holding the capacity of a colleague the agent is consulting, once
    /// they answered, while the consultation lasts.
    pub consult_contact_id: Option<i64>,
}

/// What a new call carries.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    /// Asterisk server name.
    pub server: &'a str,
    /// Caller channel id.
    pub channel_id: &'a str,
    /// `inbound`, `outbound` or `callback`.
    pub direction: &'a str,
    /// Number dialled.
    pub did: &'a str,
    /// Caller's number.
    pub caller: &'a str,
    /// Flow, when known.
    pub flow: Option<&'a str>,
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallEvent {
    /// Event id (orders the timeline).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: String,
    /// JSON object with the facts.
    pub detail: String,
}

/// A recording or voicemail.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecordingRecord {
    /// Recording id.
    pub id: i64,
    /// Its call.
    pub call_id: i64,
    /// `recording` or `voicemail`.
    pub kind: String,
    /// ARI recording name.
    pub name: String,
    /// File under the data dir, once fetched from Asterisk.
    pub path: Option<String>,
    /// File format (`wav`).
    pub format: String,
    /// Length.
    pub duration_secs: Option<i64>,
    /// Voicemail box.
    pub mailbox: Option<String>,
    /// The agent whose own box a voicemail was left in (none: the team's).
    pub owner_user_id: Option<i64>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, server, channel_id, direction, did, caller, flow, state, routed_contact_id, \
         queue_id, agent_id, started_at, answered_at, ended_at, end_reason, transferred_to, \
         held_contact_id, consult_contact_id"
    };
}

/// Records a call entering Switchboard; returns it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_call(
    store: &Store,
    tenant: TenantId,
    c: NewCall<'_>,
    started_at: DateTime<Utc>,
) -> Result<CallRecord, StoreError> {
    const SQL: &str = concat!(
        "insert into calls (tenant_id, server, channel_id, direction, did, caller, flow, state, started_at) \
         values ($1, $2, $3, $4, $5, $6, $7, 'ivr', $8) returning ",
        columns!()
    );
    Ok(on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(c.server)
        .bind(c.channel_id)
        .bind(c.direction)
        .bind(c.did)
        .bind(c.caller)
        .bind(c.flow)
        .bind(started_at)
        .fetch_one(p)
        .await)?)
}

/// Moves a call to another state (`queued`, `ringing`, `voicemail` …).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_state(
    store: &Store,
    tenant: TenantId,
    id: i64,
    state: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "update calls set state = $3 where tenant_id = $1 and id = $2 and state <> 'ended'";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(state).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The call's caller is now on `channel` (a callback or a call placed from the inbox: the
/// customer's leg once answered), so that a restart finds the call by its caller.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_caller_channel(
    store: &Store,
    tenant: TenantId,
    id: i64,
    channel: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "update calls set channel_id = $3 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(channel).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// A transfer answered at `at`: the caller talks to `to` now. A call a flow put through
/// (no agent before) counts as answered from then. `contact` is the routing contact holding
/// the answering agent's capacity, if any (`held_contact_id`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_transferred(
    store: &Store,
    tenant: TenantId,
    id: i64,
    to: &str,
    contact: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str = "update calls set state = 'connected', transferred_to = $3, \
                       answered_at = coalesce(answered_at, $4), \
                       held_contact_id = $5, consult_contact_id = null \
                       where tenant_id = $1 and id = $2 and state <> 'ended'";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(to).bind(at).bind(contact).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The contact holding the capacity of the colleague being consulted (`None`: the
/// consultation is over).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_consult_contact(
    store: &Store,
    tenant: TenantId,
    id: i64,
    contact: Option<i64>,
) -> Result<(), StoreError> {
    const SQL: &str = "update calls set consult_contact_id = $3 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(contact).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The caller is with the colleague who was being consulted (their agent left while we were
/// down): `contact` holds that colleague's capacity now, and no consultation is under way.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_held_contact(
    store: &Store,
    tenant: TenantId,
    id: i64,
    contact: Option<i64>,
) -> Result<(), StoreError> {
    const SQL: &str = "update calls set held_contact_id = $3, consult_contact_id = null \
                       where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(contact).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// The call ended (the first reason recorded wins).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn set_ended(
    store: &Store,
    tenant: TenantId,
    id: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str = "update calls set state = 'ended', end_reason = $3, ended_at = $4 \
                       where tenant_id = $1 and id = $2 and state <> 'ended'";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(reason).bind(at).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Appends to a call's timeline.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = call, kind))]
pub async fn add_event(
    store: &Store,
    tenant: TenantId,
    call: i64,
    kind: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into call_events (call_id, tenant_id, at, kind, detail) \
                       select id, tenant_id, $3, $4, $5 from calls where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(call)
        .bind(at)
        .bind(kind)
        .bind(detail.to_string())
        .execute(p)
        .await.map(|_| ()))?;
    Ok(())
}

/// A timeline entry for [`add_events`].
#[derive(Debug, Clone)]
pub struct NewCallEvent {
    /// The call (of the tenant passed with it).
    pub call: i64,
    /// What happened.
    pub kind: String,
    /// Its facts, as JSON text.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change of a call's row for [`add_events`], stored after the entries it comes with.
#[derive(Debug, Clone)]
pub enum CallChange {
    /// An agent answered and the call is connected.
    Connected {
        /// The call.
        call: i64,
        /// The agent.
        agent: i64,
        /// When.
        at: DateTime<Utc>,
    },
    /// The call ended (the first reason recorded wins).
    Ended {
        /// The call.
        call: i64,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

// A batch's row changes, after its entries in the same SQLite command: connections first (a
// call may connect and end within one batch). $1 is the tenant, $3 the connections, $4 the ends.
// The unary `+` keeps SQLite's planner off the tenant's index: it would scan every call of the
// tenant for each change instead of looking each one up by its id.
macro_rules! sqlite_changes {
    () => {
        "update calls set state = 'connected', \
         agent_id = c.value ->> '$.agent', answered_at = c.value ->> '$.at', \
         transferred_to = null, held_contact_id = null \
         from json_each($3) c where +calls.tenant_id = $1 and calls.id = c.value ->> '$.call'; \
         update calls set state = 'ended', end_reason = c.value ->> '$.reason', \
         ended_at = c.value ->> '$.at' \
         from json_each($4) c where +calls.tenant_id = $1 and calls.id = c.value ->> '$.call' \
         and +calls.state <> 'ended';"
    };
}
const POSTGRES_CONNECTED: &str = "update calls set state = 'connected', \
    agent_id = (c.value->>'agent')::bigint, answered_at = (c.value->>'at')::timestamptz, \
    transferred_to = null, held_contact_id = null \
    from jsonb_array_elements($2::jsonb) c \
    where calls.tenant_id = $1 and calls.id = (c.value->>'call')::bigint";
const POSTGRES_ENDED: &str = "update calls set state = 'ended', end_reason = c.value->>'reason', \
    ended_at = (c.value->>'at')::timestamptz \
    from jsonb_array_elements($2::jsonb) c \
    where calls.tenant_id = $1 and calls.id = (c.value->>'call')::bigint \
    and calls.state <> 'ended'";

/// The text sqlx itself binds for a SQLite timestamp, so batched values read back exactly like
/// single ones; PostgreSQL parses it.
fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Appends entries to the timelines of a tenant's calls, in order, in one statement (the
/// entries travel as one JSON array; entries of calls the tenant does not own are dropped),
/// then makes `changes` to their rows, in the same round trip to the database: whoever reads
/// a row connected or ended finds the entries that came before.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, n = events.len(), changes = changes.len()))]
pub async fn add_events(
    store: &Store,
    tenant: TenantId,
    events: &[NewCallEvent],
    changes: &[CallChange],
) -> Result<(), StoreError> {
    // The tenant check is a lookup by primary key per entry: as a join, SQLite's planner may
    // scan the tenant's calls for every entry instead.
    macro_rules! sqlite_entries {
        () => {
            "insert into call_events (call_id, tenant_id, at, kind, detail) \
            select e.value ->> '$.call', $1, e.value ->> '$.at', e.value ->> '$.kind', e.value ->> '$.detail' \
            from json_each($2) e \
            where exists (select 1 from calls c where c.id = e.value ->> '$.call' and c.tenant_id = $1) \
            order by e.key"
        };
    }
    const SQLITE: &str = sqlite_entries!();
    const SQLITE_WITH_CHANGES: &str = concat!(sqlite_entries!(), "; ", sqlite_changes!());
    const POSTGRES: &str = "insert into call_events (call_id, tenant_id, at, kind, detail) \
        select (e.value->>'call')::bigint, $1, (e.value->>'at')::timestamptz, e.value->>'kind', e.value->>'detail' \
        from jsonb_array_elements($2::jsonb) with ordinality as e(value, n) \
        where exists (select 1 from calls c where c.id = (e.value->>'call')::bigint and c.tenant_id = $1) \
        order by e.n";
    if events.is_empty() && changes.is_empty() {
        return Ok(());
    }
    let batch: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({"call": e.call, "kind": e.kind, "detail": e.detail, "at": stamp(&e.at)})
        })
        .collect();
    let batch = serde_json::Value::Array(batch).to_string();
    let (mut connected, mut ended) = (Vec::new(), Vec::new());
    for change in changes {
        match change {
            CallChange::Connected { call, agent, at } => {
                connected.push(serde_json::json!({"call": call, "agent": agent, "at": stamp(at)}))
            }
            CallChange::Ended { call, reason, at } => {
                ended.push(serde_json::json!({"call": call, "reason": reason, "at": stamp(at)}))
            }
        }
    }
    let connected = serde_json::Value::Array(connected).to_string();
    let ended = serde_json::Value::Array(ended).to_string();
    match &store.pool {
        super::Pool::Sqlite { write, .. } if changes.is_empty() => {
            sqlx::query(SQLITE)
                .bind(tenant.get())
                .bind(&batch)
                .execute(write)
                .await?;
        }
        super::Pool::Sqlite { write, .. } => {
            sqlx::query(SQLITE_WITH_CHANGES)
                .bind(tenant.get())
                .bind(&batch)
                .bind(&connected)
                .bind(&ended)
                .execute(write)
                .await?;
        }
        super::Pool::Postgres(p) => {
            if !events.is_empty() {
                sqlx::query(POSTGRES)
                    .bind(tenant.get())
                    .bind(&batch)
                    .execute(p)
                    .await?;
            }
            for (sql, list) in [(POSTGRES_CONNECTED, &connected), (POSTGRES_ENDED, &ended)] {
                if list != "[]" {
                    sqlx::query(sql)
                        .bind(tenant.get())
                        .bind(list)
                        .execute(p)
                        .await?;
                }
            }
        }
    }
    Ok(())
}

/// One call of the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = id))]
pub async fn find_call(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<CallRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from calls where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// The call that routing contact `contact` belongs to.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_by_contact(
    store: &Store,
    tenant: TenantId,
    contact: i64,
) -> Result<Option<CallRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from calls where tenant_id = $1 and routed_contact_id = $2 order by id desc limit 1"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(contact).fetch_optional(p).await)?,
    )
}

/// Filters for [`list_calls`].
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Only calls before this id (paging, newest first).
    pub before: Option<i64>,
    /// Only calls in this state (`ended`, or `live` for every other state).
    pub state: Option<String>,
    /// Only calls taken by this agent.
    pub agent_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// The tenant's calls, newest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_calls(
    store: &Store,
    tenant: TenantId,
    f: &CallFilter,
) -> Result<Vec<CallRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from calls where tenant_id = $1 and ($2 is null or id < $2) \
         and ($3 is null or ($3 = 'live' and state <> 'ended') or state = $3) \
         and ($4 is null or agent_id = $4) order by id desc limit $5"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(f.before)
        .bind(f.state.as_deref())
        .bind(f.agent_id)
        .bind(f.limit)
        .fetch_all(p)
        .await)?)
}

/// Calls a server was carrying that are not ended, across tenants: recovery after a restart
/// of our service must see every one of them (each row still carries its tenant).
#[tracing::instrument(skip_all)]
pub async fn list_unfinished_on(
    store: &Store,
    server: &str,
) -> Result<Vec<CallRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from calls where server = $1 and state <> 'ended' order by id"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(server).fetch_all(p).await)?)
}

/// A call's timeline, oldest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = call))]
pub async fn list_events(
    store: &Store,
    tenant: TenantId,
    call: i64,
) -> Result<Vec<CallEvent>, StoreError> {
    const SQL: &str = "select id, at, kind, detail from call_events \
                       where tenant_id = $1 and call_id = $2 order by id";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(call).fetch_all(p).await)?)
}

/// What a new recording carries.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    /// `recording` or `voicemail`.
    pub kind: &'a str,
    /// ARI recording name.
    pub name: &'a str,
    /// Format.
    pub format: &'a str,
    /// Voicemail box.
    pub mailbox: Option<&'a str>,
}

/// A recording's row, as [`insert_recording`] stored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRecording {
    /// Its id.
    pub id: i64,
    /// The agent whose own box a voicemail was left in (see [`MailboxReader`]); `None`: the
    /// team's.
    pub owner_user_id: Option<i64>,
}

/// Records a recording being made for a call. A voicemail in the box of an extension a member
/// uses (`voicemail_box`, as is or as `box@<tenant slug>`) becomes that member's, for good.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = call))]
pub async fn insert_recording(
    store: &Store,
    tenant: TenantId,
    call: i64,
    r: NewRecording<'_>,
    at: DateTime<Utc>,
) -> Result<StoredRecording, StoreError> {
    const SQL: &str = "insert into call_recordings \
                       (call_id, tenant_id, kind, name, format, mailbox, owner_user_id, created_at) \
                       select c.id, c.tenant_id, $3, $4, $5, $6, \
                         (select min(e.user_id) from extensions e \
                          join memberships m on m.tenant_id = e.tenant_id and m.user_id = e.user_id \
                          join tenants t on t.id = e.tenant_id \
                          where e.tenant_id = c.tenant_id and $3 = 'voicemail' \
                            and ($6 = e.voicemail_box or $6 = e.voicemail_box || '@' || t.slug)), \
                         $7 \
                       from calls c where c.tenant_id = $1 and c.id = $2 \
                       returning id, owner_user_id";
    let row: Option<(i64, Option<i64>)> = on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(call)
        .bind(r.kind)
        .bind(r.name)
        .bind(r.format)
        .bind(r.mailbox)
        .bind(at)
        .fetch_optional(p)
        .await)?;
    row.map(|(id, owner_user_id)| StoredRecording { id, owner_user_id })
        .ok_or(StoreError::NotFound)
}

/// The recording's file is in place (`path` under the data dir) and lasts `duration_secs`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, recording.id = id))]
pub async fn set_recording_file(
    store: &Store,
    tenant: TenantId,
    id: i64,
    path: &str,
    duration_secs: Option<i64>,
) -> Result<(), StoreError> {
    const SQL: &str =
        "update call_recordings set path = $3, duration_secs = $4 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(path).bind(duration_secs).execute(p).await.map(|_| ()))?;
    Ok(())
}

macro_rules! recording_columns {
    () => {
        "id, call_id, kind, name, path, format, duration_secs, mailbox, owner_user_id, created_at"
    };
}

/// Whose messages a reader may hear. A voicemail left in an agent's own box (stored with its
/// `owner_user_id`, see [`insert_recording`]) is that agent's; every other message is the
/// team's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxReader {
    /// Supervisors and above: every message.
    Everyone,
    /// An agent: the team's messages and their own.
    Agent(i64),
    /// A reader who is nobody (an API key): the team's messages.
    Team,
}

impl MailboxReader {
    /// The two values bound in `readable_by_reader!`'s condition: every message, and whose.
    fn bound(self) -> (bool, Option<i64>) {
        match self {
            MailboxReader::Everyone => (true, None),
            MailboxReader::Agent(u) => (false, Some(u)),
            MailboxReader::Team => (false, None),
        }
    }
}

/// The condition on `r` (a `call_recordings` row) for the reader `MailboxReader::bound` at
/// `$3` (every message) and `$4` (whose own): a message nobody owns, or the reader's.
macro_rules! readable_by_reader {
    () => {
        "($3 or r.owner_user_id is null or r.owner_user_id = $4)"
    };
}

/// A call's recordings and voicemails that `reader` may hear.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = call))]
pub async fn list_recordings(
    store: &Store,
    tenant: TenantId,
    call: i64,
    reader: MailboxReader,
) -> Result<Vec<RecordingRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        recording_columns!(),
        " from call_recordings r where r.tenant_id = $1 and r.call_id = $2 and ",
        readable_by_reader!(),
        " order by r.id"
    );
    let (every, own) = reader.bound();
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(call).bind(every).bind(own).fetch_all(p).await)?,
    )
}

/// The voicemails `reader` may hear, newest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_voicemails(
    store: &Store,
    tenant: TenantId,
    reader: MailboxReader,
    limit: i64,
) -> Result<Vec<RecordingRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        recording_columns!(),
        " from call_recordings r where r.tenant_id = $1 and r.kind = 'voicemail' and ",
        readable_by_reader!(),
        " order by r.id desc limit $2"
    );
    let (every, own) = reader.bound();
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(limit).bind(every).bind(own).fetch_all(p).await)?,
    )
}

/// One recording of the tenant, if `reader` may hear it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, recording.id = id))]
pub async fn find_recording(
    store: &Store,
    tenant: TenantId,
    id: i64,
    reader: MailboxReader,
) -> Result<Option<RecordingRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        recording_columns!(),
        " from call_recordings r where r.tenant_id = $1 and r.id = $2 and ",
        readable_by_reader!()
    );
    let (every, own) = reader.bound();
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).bind(every).bind(own).fetch_optional(p).await)?,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_looked_up_by_key;
    use super::*;
    use crate::domain::{Email, Role, Slug};
    use crate::store::extensions::{ExtensionFields, insert_extension, update_extension};
    use crate::store::tenants::{TenantFeatures, TenantLimits, insert_tenant};
    use crate::store::users::{insert_membership, insert_user};

    /// A message in `mailbox` of a call in `tenant`.
    async fn message(store: &Store, tenant: TenantId, mailbox: &str) -> StoredRecording {
        static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let call = insert_call(
            store,
            tenant,
            NewCall {
                server: "pbx",
                channel_id: &format!("chan-{n}"),
                direction: "inbound",
                did: "+15550100",
                caller: "+15550199",
                flow: Some("main"),
            },
            Utc::now(),
        )
        .await
        .unwrap();
        let rec = NewRecording {
            kind: "voicemail",
            name: mailbox,
            format: "wav",
            mailbox: Some(mailbox),
        };
        insert_recording(store, tenant, call.id, rec, Utc::now())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_agents_own_box_is_theirs_in_either_spelling_and_stays_theirs_when_it_changes_hands()
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("boxes.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let slug = Slug::parse("acme").unwrap();
        let tenant = insert_tenant(
            &store,
            "Acme",
            &slug,
            TenantLimits::default(),
            TenantFeatures::default(),
        )
        .await
        .unwrap()
        .id;
        let mut agents = Vec::new();
        for name in ["bo", "cy"] {
            let email = Email::parse(&format!("{name}@acme.test")).unwrap();
            let user = insert_user(&store, &email, name, "x", false).await.unwrap();
            insert_membership(&store, tenant, user.id, Role::Agent)
                .await
                .unwrap();
            agents.push(user.id.get());
        }
        let (bo, cy) = (agents[0], agents[1]);
        let phone = |number: &str, user: Option<i64>| ExtensionFields {
            number: number.into(),
            display_name: number.into(),
            user_id: user,
            codecs: vec!["ulaw".into()],
            nat: true,
            call_limit: 2,
            voicemail_box: Some(number.into()),
            forward_to: None,
            dnd: false,
            enabled: true,
        };
        let bos_phone = insert_extension(&store, tenant, &phone("1002", Some(bo)), "sealed")
            .await
            .unwrap();
        // A front desk nobody sits at: its box is the team's.
        insert_extension(&store, tenant, &phone("4000", None), "sealed")
            .await
            .unwrap();
        let plain = message(&store, tenant, "1002").await;
        let asterisk_form = message(&store, tenant, "1002@acme").await;
        let desk = message(&store, tenant, "4000").await;
        let sales = message(&store, tenant, "sales@acme").await;
        assert_eq!(plain.owner_user_id, Some(bo));
        assert_eq!(asterisk_form.owner_user_id, Some(bo));
        assert_eq!(desk.owner_user_id, None);
        assert_eq!(sales.owner_user_id, None);

        let heard = |reader| {
            let store = store.clone();
            async move {
                list_voicemails(&store, tenant, reader, 100)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<i64>>()
            }
        };
        let (plain, asterisk_form, desk, sales) = (plain.id, asterisk_form.id, desk.id, sales.id);
        assert_eq!(
            heard(MailboxReader::Agent(bo)).await,
            [sales, desk, asterisk_form, plain]
        );
        assert_eq!(heard(MailboxReader::Agent(cy)).await, [sales, desk]);
        assert_eq!(heard(MailboxReader::Team).await, [sales, desk]);
        assert_eq!(
            heard(MailboxReader::Everyone).await,
            [sales, desk, asterisk_form, plain]
        );
        let playable = |id, reader| {
            let store = store.clone();
            async move {
                find_recording(&store, tenant, id, reader)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(!playable(plain, MailboxReader::Agent(cy)).await);
        assert!(playable(plain, MailboxReader::Agent(bo)).await);

        // Cy takes over Bo's phone: Bo's messages stay Bo's; what is left from now on is Cy's.
        update_extension(&store, tenant, bos_phone.id, &phone("1002", Some(cy)))
            .await
            .unwrap();
        let later = message(&store, tenant, "1002").await;
        assert_eq!(later.owner_user_id, Some(cy));
        assert_eq!(
            heard(MailboxReader::Agent(cy)).await,
            [later.id, sales, desk]
        );
        assert_eq!(
            heard(MailboxReader::Agent(bo)).await,
            [sales, desk, asterisk_form, plain]
        );
    }

    #[tokio::test]
    async fn batched_row_changes_look_each_call_up_by_its_id() {
        assert_looked_up_by_key(sqlite_changes!(), "calls").await;
    }
}
