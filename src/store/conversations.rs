//! Conversations and their messages. Messages carry a sequence number inside their
//! conversation, so a reconnecting widget resumes exactly after the last one it showed, and an
//! idempotency key (the provider's id, or the widget's client id) so retries never duplicate.

use chrono::{DateTime, Utc};

use super::{BeginWrite, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConversationRecord {
    /// Conversation id.
    pub id: i64,
    /// Tenant.
    pub tenant_id: i64,
    /// The customer.
    pub contact_id: i64,
    /// Channel (`widget`, `whatsapp`, …).
    pub channel: String,
    /// The widget it started on.
    pub widget_id: Option<i64>,
    /// `bot`, `queued`, `agent` or `closed`.
    pub status: String,
    /// Priority 0–9.
    pub priority: i64,
    /// The agent handling it.
    pub assigned_agent_id: Option<i64>,
    /// Its queue.
    pub queue_id: Option<i64>,
    /// The routing engine's contact while queued or connected.
    pub routing_contact_id: Option<i64>,
    /// Started (UTC).
    pub started_at: DateTime<Utc>,
    /// Assigned (UTC).
    pub assigned_at: Option<DateTime<Utc>>,
    /// First agent reply (UTC).
    pub first_response_at: Option<DateTime<Utc>>,
    /// Closed (UTC).
    pub closed_at: Option<DateTime<Utc>>,
    /// Last message (UTC).
    pub last_message_at: DateTime<Utc>,
    /// Highest message sequence number.
    pub last_seq: i64,
    /// Hidden from the open list until then.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The customer's language, when known (`en`, `es`, …).
    pub language: Option<String>,
    /// The bot's confidence in its last answer (0–1).
    pub bot_confidence: Option<f64>,
    /// Why the bot handed over (`explicit_request`, `negative_sentiment`, …).
    pub handoff_reason: Option<String>,
    /// The typed handoff record shown first to the agent (JSON).
    pub handoff: Option<String>,
    /// Replies the bot has given in this conversation.
    pub bot_turns: i64,
}

macro_rules! conversation_columns {
    () => {
        "id, tenant_id, contact_id, channel, widget_id, status, priority, assigned_agent_id, queue_id, \
         routing_contact_id, started_at, assigned_at, first_response_at, closed_at, last_message_at, last_seq, snoozed_until, \
         language, bot_confidence, handoff_reason, handoff, bot_turns"
    };
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MessageRecord {
    /// Message id.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Position in the conversation, from 1.
    pub seq: i64,
    /// `customer`, `agent`, `bot` or `system`.
    pub sender: String,
    /// The agent (for agent messages).
    pub sender_id: Option<i64>,
    /// Text (or caption).
    pub content: String,
    /// `text`, `image`, `file`, …
    pub kind: String,
    /// Attachment details (JSON) for image and file messages.
    pub media: Option<String>,
    /// A private note for agents only.
    pub private: bool,
    /// `sent`, `delivered`, `read` or `failed`.
    pub delivery_status: String,
    /// Read by the other side (UTC).
    pub read_at: Option<DateTime<Utc>>,
    /// Idempotency key (provider id or widget client id).
    pub provider_message_id: Option<String>,
    /// Written (UTC).
    pub created_at: DateTime<Utc>,
    /// What the customer wants (a knowledge-base category or a rule label).
    pub intent: Option<String>,
    /// Sentiment of a customer message, -1 (negative) to 1 (positive).
    pub sentiment: Option<f64>,
}

macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, sender, sender_id, content, kind, media, private, delivery_status, read_at, \
         provider_message_id, created_at, intent, sentiment"
    };
}

/// Starts a conversation.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_conversation(
    store: &Store,
    tenant: TenantId,
    contact_id: i64,
    channel: &str,
    widget_id: Option<i64>,
    status: &str,
    queue_id: Option<i64>,
) -> Result<ConversationRecord, StoreError> {
    const SQL: &str = concat!(
        "insert into conversations (tenant_id, contact_id, channel, widget_id, status, queue_id, started_at, \
         last_message_at, metadata, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7, '{}', $7) returning ",
        conversation_columns!()
    );
    Ok(on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(contact_id)
        .bind(channel)
        .bind(widget_id)
        .bind(status)
        .bind(queue_id)
        .bind(Utc::now())
        .fetch_one(p)
        .await)?)
}

/// One conversation of the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_conversation(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// The customer's latest conversation on a channel that is not closed.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_open_conversation(
    store: &Store,
    tenant: TenantId,
    contact_id: i64,
    channel: &str,
) -> Result<Option<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and contact_id = $2 and channel = $3 and status <> 'closed' \
         order by id desc limit 1"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(contact_id).bind(channel).fetch_optional(p).await)?,
    )
}

/// The customer's open conversation on a channel, or else their latest closed one.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_latest_conversation(
    store: &Store,
    tenant: TenantId,
    contact_id: i64,
    channel: &str,
) -> Result<Option<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and contact_id = $2 and channel = $3 \
         order by case when status = 'closed' then 1 else 0 end, id desc limit 1"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(contact_id).bind(channel).fetch_optional(p).await)?,
    )
}

/// The conversation behind a routing contact.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_by_routing_contact(
    store: &Store,
    tenant: TenantId,
    routing_contact_id: i64,
) -> Result<Option<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and routing_contact_id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(routing_contact_id).fetch_optional(p).await)?,
    )
}

/// Which conversations to list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only this status (`open` = anything but closed).
    pub status: Option<String>,
    /// Only those assigned to this agent.
    pub assigned_agent_id: Option<i64>,
    /// Only unassigned ones.
    pub unassigned: bool,
    /// Only this queue.
    pub queue_id: Option<i64>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only what this agent may see: theirs, their queues', unrouted unassigned ones, and those
    /// they were @mentioned in.
    pub visible_to: Option<i64>,
    /// Only conversations with this label.
    pub label_id: Option<i64>,
    /// Only conversations whose customer or messages contain this text (case-insensitive).
    pub search: Option<String>,
}

/// Conversations, most recently active first; `before` is the id cursor of the previous page.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_conversations(
    store: &Store,
    tenant: TenantId,
    f: &ConversationFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and id < $2 \
         and ($3 is null or ($3 = 'open' and status <> 'closed' and (snoozed_until is null or snoozed_until <= $10)) \
              or ($3 = 'snoozed' and status <> 'closed' and snoozed_until > $10) or status = $3) \
         and ($11 is null or id in (select conversation_id from conversation_labels where label_id = $11)) \
         and ($12 is null or exists (select 1 from messages m where m.conversation_id = conversations.id \
                                     and m.private = false and lower(m.content) like $12) \
              or contact_id in (select c.id from contacts c where c.tenant_id = $1 \
                                and (lower(coalesce(c.name, '')) like $12 or lower(coalesce(c.email, '')) like $12))) \
         and ($4 is null or assigned_agent_id = $4) \
         and ($5 = false or assigned_agent_id is null) \
         and ($6 is null or queue_id = $6) \
         and ($7 is null or channel = $7) \
         and ($9 is null or assigned_agent_id = $9 \
              or queue_id in (select queue_id from queue_members where tenant_id = $1 and user_id = $9) \
              or (assigned_agent_id is null and queue_id is null) \
              or id in (select conversation_id from conversation_participants where tenant_id = $1 and user_id = $9)) \
         order by id desc limit $8"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(before.unwrap_or(i64::MAX))
        .bind(f.status.as_deref())
        .bind(f.assigned_agent_id)
        .bind(f.unassigned)
        .bind(f.queue_id)
        .bind(f.channel.as_deref())
        .bind(limit)
        .bind(f.visible_to)
        .bind(Utc::now())
        .bind(f.label_id)
        .bind(f.search.as_deref().map(|q| format!("%{}%", q.to_lowercase().replace(['%', '_'], ""))))
        .fetch_all(p)
        .await)?)
}

/// A contact's conversations, newest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_for_contact(
    store: &Store,
    tenant: TenantId,
    contact: i64,
    limit: i64,
) -> Result<Vec<ConversationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        conversation_columns!(),
        " from conversations where tenant_id = $1 and contact_id = $2 order by id desc limit $3"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(contact).bind(limit).fetch_all(p).await)?,
    )
}

/// Links a conversation to its routing contact and queue.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_routing(
    store: &Store,
    tenant: TenantId,
    id: i64,
    routing_contact_id: i64,
    queue_id: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set routing_contact_id = $3, queue_id = $4, status = 'queued', updated_at = $5 \
                       where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(routing_contact_id).bind(queue_id).bind(Utc::now()).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Hands a conversation to an agent.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_assigned(
    store: &Store,
    tenant: TenantId,
    id: i64,
    agent: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set status = 'agent', assigned_agent_id = $3, assigned_at = $4, updated_at = $4 \
                       where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(agent).bind(Utc::now()).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Hides a conversation from the open list until `until` (or until the customer writes).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_snoozed(
    store: &Store,
    tenant: TenantId,
    id: i64,
    until: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set snoozed_until = $3, updated_at = $4 where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(until).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Takes a conversation away from its agent and routing contact, back to waiting (a transfer).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_unassigned(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set status = 'queued', assigned_agent_id = null, routing_contact_id = null, \
                       updated_at = $3 where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Closes (resolves) or reopens a conversation.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_status(
    store: &Store,
    tenant: TenantId,
    id: i64,
    status: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set status = $3, \
                       closed_at = case when $3 = 'closed' then $4 else null end, \
                       routing_contact_id = case when $3 = 'closed' then null else routing_contact_id end, \
                       updated_at = $4 where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).bind(status).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// `customer`, `agent`, `bot` or `system`.
    pub sender: &'a str,
    /// The agent, for agent messages.
    pub sender_id: Option<i64>,
    /// Text.
    pub content: &'a str,
    /// A private note (agents only).
    pub private: bool,
    /// Idempotency key.
    pub provider_message_id: Option<&'a str>,
    /// `text`, `image`, `file`, …
    pub kind: &'a str,
    /// Attachment details (JSON), for image and file messages.
    pub media: Option<&'a str>,
}

impl<'a> NewMessage<'a> {
    /// A plain text message.
    pub fn text(sender: &'a str, sender_id: Option<i64>, content: &'a str) -> Self {
        NewMessage {
            sender,
            sender_id,
            content,
            private: false,
            provider_message_id: None,
            kind: "text",
            media: None,
        }
    }
}

/// Appends a message with the conversation's next sequence number, in one transaction.
/// A repeated idempotency key returns the message stored the first time (`true` = duplicate).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn append_message(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    m: NewMessage<'_>,
) -> Result<(MessageRecord, bool), StoreError> {
    const EXISTING: &str = concat!(
        "select ",
        message_columns!(),
        " from messages where tenant_id = $1 and conversation_id = $2 and provider_message_id = $3"
    );
    const BUMP: &str = "update conversations set last_seq = last_seq + 1, last_message_at = $3, updated_at = $3, \
                        first_response_at = case when $4 = 'agent' and first_response_at is null then $3 else first_response_at end, \
                        snoozed_until = case when $4 = 'customer' then null else snoozed_until end \
                        where tenant_id = $1 and id = $2 returning last_seq";
    const INSERT: &str = concat!(
        "insert into messages (tenant_id, conversation_id, seq, sender, sender_id, content, private, provider_message_id, \
         metadata, created_at, kind, media) values ($1, $2, $3, $4, $5, $6, $7, $8, '{}', $9, $10, $11) returning ",
        message_columns!()
    );
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        if let Some(key) = m.provider_message_id {
            let found: Option<MessageRecord> =
                sqlx::query_as(EXISTING).bind(tenant.get()).bind(conversation).bind(key).fetch_optional(&mut *tx).await?;
            if let Some(found) = found {
                return Ok((found, true));
            }
        }
        let now = Utc::now();
        let seq: Option<i64> = sqlx::query_scalar(BUMP)
            .bind(tenant.get())
            .bind(conversation)
            .bind(now)
            .bind(m.sender)
            .fetch_optional(&mut *tx)
            .await?;
        let seq = seq.ok_or(StoreError::NotFound)?;
        let msg: MessageRecord = sqlx::query_as(INSERT)
            .bind(tenant.get())
            .bind(conversation)
            .bind(seq)
            .bind(m.sender)
            .bind(m.sender_id)
            .bind(m.content)
            .bind(m.private)
            .bind(m.provider_message_id)
            .bind(now)
            .bind(m.kind)
            .bind(m.media)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>((msg, false))
    }
    .await)
}

/// Messages after `after_seq`, in order (private notes only when asked for).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn list_messages(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    after_seq: i64,
    limit: i64,
    include_private: bool,
) -> Result<Vec<MessageRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        message_columns!(),
        " from messages where tenant_id = $1 and conversation_id = $2 and seq > $3 and ($4 or private = false) \
         order by seq limit $5"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(after_seq)
        .bind(include_private)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// Remembers how far an agent has read a conversation (never moves backwards).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn set_read_marker(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    user: i64,
    seq: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into conversation_reads (tenant_id, conversation_id, user_id, last_seq) values ($1, $2, $3, $4) \
                       on conflict (conversation_id, user_id) do update set last_seq = \
                       case when excluded.last_seq > conversation_reads.last_seq then excluded.last_seq else conversation_reads.last_seq end";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(conversation).bind(user).bind(seq).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Customer messages an agent has not read yet in a conversation.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn unread_count(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    user: i64,
) -> Result<i64, StoreError> {
    const SQL: &str = "select count(*) from messages m where m.tenant_id = $1 and m.conversation_id = $2 \
                       and m.sender = 'customer' and m.seq > coalesce((select last_seq from conversation_reads r \
                       where r.conversation_id = $2 and r.user_id = $3), 0)";
    Ok(
        on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).bind(conversation).bind(user).fetch_one(p).await)?,
    )
}

/// Marks agent and bot messages up to `seq` as delivered to the customer (a widget showed them).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn mark_delivered(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    seq: i64,
) -> Result<u64, StoreError> {
    const SQL: &str = "update messages set delivery_status = 'delivered', delivered_at = $4 where tenant_id = $1 \
                       and conversation_id = $2 and seq <= $3 and delivery_status = 'sent' and sender <> 'customer' \
                       and private = false";
    Ok(on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(seq)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Marks the other side's messages up to `seq` as read; returns how many changed.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn mark_read(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    reader: &str,
    seq: i64,
) -> Result<u64, StoreError> {
    // A customer reads agent and bot messages; an agent reads customer messages.
    const SQL: &str = "update messages set delivery_status = 'read', read_at = $5 where tenant_id = $1 and conversation_id = $2 \
                       and seq <= $3 and delivery_status <> 'read' and private = false \
                       and ((($4 = 'customer') and sender <> 'customer') or (($4 <> 'customer') and sender = 'customer'))";
    Ok(on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(seq)
        .bind(reader)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Brings a colleague into a conversation (an @mention): they may open and follow it even
/// outside their queues. Adding someone twice is a no-op.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn add_participant(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    user: i64,
    added_by: Option<i64>,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into conversation_participants (tenant_id, conversation_id, user_id, added_by, added_at) \
                       values ($1, $2, $3, $4, $5) on conflict (conversation_id, user_id) do nothing";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(user)
        .bind(added_by)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The conversations a colleague was brought into by an @mention.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn participating_in(
    store: &Store,
    tenant: TenantId,
    user: i64,
) -> Result<Vec<i64>, StoreError> {
    const SQL: &str = "select conversation_id from conversation_participants where tenant_id = $1 and user_id = $2 \
                       order by conversation_id";
    Ok(
        on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).bind(user).fetch_all(p).await)?,
    )
}

/// Whether a colleague was brought into this conversation by an @mention.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn is_participant(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    user: i64,
) -> Result<bool, StoreError> {
    const SQL: &str = "select count(*) from conversation_participants where tenant_id = $1 and conversation_id = $2 \
                       and user_id = $3";
    let n: i64 = on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).bind(conversation).bind(user).fetch_one(p).await)?;
    Ok(n > 0)
}

/// Stores the intent and sentiment worked out for a customer message.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_message_signals(
    store: &Store,
    tenant: TenantId,
    message: i64,
    intent: Option<&str>,
    sentiment: Option<f64>,
) -> Result<(), StoreError> {
    const SQL: &str =
        "update messages set intent = $3, sentiment = $4 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(message).bind(intent).bind(sentiment).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Counts a bot reply and keeps its confidence and the customer's language.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn record_bot_turn(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    confidence: Option<f64>,
    language: Option<&str>,
) -> Result<(), StoreError> {
    const SQL: &str = "update conversations set bot_turns = bot_turns + 1, bot_confidence = coalesce($3, bot_confidence), \
                       language = coalesce($4, language), updated_at = $5 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(conversation).bind(confidence).bind(language).bind(Utc::now()).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Hands a bot conversation to people: status `queued`, with the reason and the record the
/// agent sees first. Only a conversation still with the bot changes (`false` otherwise), so
/// two handoffs racing each other queue it once.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn set_handoff(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    reason: &str,
    record: &str,
    queue: Option<i64>,
    priority: Option<i64>,
) -> Result<bool, StoreError> {
    const SQL: &str = "update conversations set status = 'queued', handoff_reason = $3, handoff = $4, \
                       queue_id = coalesce($5, queue_id), priority = coalesce($6, priority), updated_at = $7 \
                       where tenant_id = $1 and id = $2 and status = 'bot'";
    let n = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(reason)
        .bind(record)
        .bind(queue)
        .bind(priority)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Conversations the bot holds whose last message is the bot's and older than `before`: the
/// customer went quiet after the bot spoke.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn idle_bot_conversations(
    store: &Store,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    const SQL: &str = "select c.id, c.last_message_at from conversations c where c.tenant_id = $1 and c.status = 'bot' \
                       and c.last_message_at < $2 and (select m.sender from messages m where m.conversation_id = c.id \
                       order by m.seq desc limit 1) = 'bot' order by c.id limit 500";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(before).fetch_all(p).await)?,
    )
}
