//! The agents' side of conversations: list and filter, read a thread, reply, private notes,
//! typing and read receipts, accept or decline an offered conversation, resolve and reopen.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::channels::conversation::Body;
use crate::domain::{Role, TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::routing::model::{AgentId, ContactId, Event};
use crate::store::conversations::{ConversationFilter, ConversationRecord, MessageRecord};
use crate::store::{self, Store, clamp_limit};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(post_message))
        .routes(routes!(post_typing))
        .routes(routes!(post_read))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(resolve))
        .routes(routes!(transfer))
        .routes(routes!(set_labels))
        .routes(routes!(snooze))
        .routes(routes!(reopen))
}

/// A customer as the inbox shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBrief {
    /// Contact id.
    pub id: i64,
    /// Name, when known.
    pub name: Option<String>,
    /// Email, when known.
    pub email: Option<String>,
}

/// A message as the inbox shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Message id.
    pub id: i64,
    /// Position in the conversation.
    pub seq: i64,
    /// `customer`, `agent`, `bot` or `system`.
    pub sender: String,
    /// The agent who wrote it.
    pub sender_id: Option<i64>,
    /// That agent's name.
    pub sender_name: Option<String>,
    /// Text.
    pub content: String,
    /// A private note.
    pub private: bool,
    /// `text`, `image` or `file`.
    pub kind: String,
    /// For images and files: `url`, `filename`, `content_type`, `size_bytes`.
    #[schema(value_type = Option<Object>)]
    pub attachment: Option<serde_json::Value>,
    /// `sent`, `delivered`, `read` or `failed`.
    pub delivery_status: String,
    /// Read by the other side.
    pub read_at: Option<DateTime<Utc>>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// What the customer wants (customer messages): a knowledge-base category or `agent`.
    pub intent: Option<String>,
    /// Sentiment of a customer message, -1 to 1.
    pub sentiment: Option<f64>,
}

fn message_view(m: MessageRecord, names: &BTreeMap<i64, String>) -> MessageView {
    MessageView {
        sender_name: m.sender_id.and_then(|id| names.get(&id).cloned()),
        id: m.id,
        seq: m.seq,
        sender: m.sender,
        sender_id: m.sender_id,
        content: m.content,
        private: m.private,
        kind: m.kind,
        attachment: m
            .media
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        delivery_status: m.delivery_status,
        read_at: m.read_at,
        created_at: m.created_at,
        intent: m.intent,
        sentiment: m.sentiment,
    }
}

/// The last message of a conversation, for the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessage {
    /// Position.
    pub seq: i64,
    /// Sender kind.
    pub sender: String,
    /// Text.
    pub content: String,
    /// A private note.
    pub private: bool,
}

/// A conversation as the inbox lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    /// Conversation id.
    pub id: i64,
    /// Channel.
    pub channel: String,
    /// `bot`, `queued`, `agent` or `closed`.
    pub status: String,
    /// The customer.
    pub contact: ContactBrief,
    /// The agent handling it.
    pub assigned_agent_id: Option<i64>,
    /// Its queue.
    pub queue_id: Option<i64>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// First agent reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Last activity.
    pub last_message_at: DateTime<Utc>,
    /// The latest message.
    pub last_message: Option<LastMessage>,
    /// Labels.
    pub labels: Vec<LabelView>,
    /// Snoozed until (hidden from the open list until then or until the customer writes).
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Customer messages the signed-in agent has not read yet.
    pub unread: Option<i64>,
    /// The customer's language, when known.
    pub language: Option<String>,
    /// Replies the bot gave.
    pub bot_turns: i64,
    /// Why the bot handed over, when it did.
    pub handoff_reason: Option<String>,
    /// The bot's handoff record (reason, summary, intent, sentiment trend, collected fields),
    /// shown first to the agent.
    #[schema(value_type = Option<Object>)]
    pub handoff: Option<serde_json::Value>,
}

/// A label.
#[derive(Debug, Serialize, ToSchema)]
pub struct LabelView {
    /// Label id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
}

pub(crate) async fn conversation_view(
    store: &Store,
    tenant: TenantId,
    c: ConversationRecord,
    viewer: Option<UserId>,
) -> ApiResult<ConversationView> {
    let contact = store::contacts::find_contact(store, tenant, c.contact_id).await?;
    let last =
        store::conversations::list_messages(store, tenant, c.id, (c.last_seq - 1).max(0), 1, true)
            .await?
            .pop();
    Ok(ConversationView {
        id: c.id,
        channel: c.channel,
        status: c.status,
        contact: ContactBrief {
            id: c.contact_id,
            name: contact.as_ref().and_then(|x| x.name.clone()),
            email: contact.as_ref().and_then(|x| x.email.clone()),
        },
        assigned_agent_id: c.assigned_agent_id,
        queue_id: c.queue_id,
        started_at: c.started_at,
        first_response_at: c.first_response_at,
        closed_at: c.closed_at,
        last_message_at: c.last_message_at,
        labels: store::labels::labels_of(store, tenant, c.id)
            .await?
            .into_iter()
            .map(|l| LabelView {
                id: l.id,
                name: l.name,
                colour: l.colour,
            })
            .collect(),
        snoozed_until: c.snoozed_until,
        language: c.language.clone(),
        bot_turns: c.bot_turns,
        handoff_reason: c.handoff_reason.clone(),
        handoff: c
            .handoff
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok()),
        unread: match viewer {
            Some(u) => {
                Some(store::conversations::unread_count(store, tenant, c.id, u.get()).await?)
            }
            None => None,
        },
        last_message: last.map(|m| LastMessage {
            seq: m.seq,
            sender: m.sender,
            content: m.content,
            private: m.private,
        }),
    })
}

/// A page of conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    /// Newest first.
    pub items: Vec<ConversationView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Filters of the conversation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open` (default: everything but closed), `queued`, `agent`, `closed` or `all`.
    pub status: Option<String>,
    /// Only mine.
    #[serde(default)]
    pub mine: bool,
    /// Only unassigned.
    #[serde(default)]
    pub unassigned: bool,
    /// Only this queue.
    pub queue: Option<i64>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only conversations with this label.
    pub label: Option<i64>,
    /// Search the customer's name and email and the messages (case-insensitive).
    pub q: Option<String>,
    /// Page size (1–200).
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<i64>,
}

/// Conversations across every channel, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/conversations", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ListParams),
    responses((status = 200, body = ConversationList), (status = 404, body = ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<ListParams>,
) -> ApiResult<AppJson<ConversationList>> {
    let status = match q.status.as_deref() {
        None | Some("open") => Some("open".to_owned()),
        Some("all") => None,
        Some(s @ ("queued" | "agent" | "closed" | "bot" | "snoozed")) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::validation(
                "status",
                format!("unknown status `{other}`"),
            ));
        }
    };
    let filter = ConversationFilter {
        status,
        assigned_agent_id: if q.mine {
            scope.principal.user_id().map(UserId::get)
        } else {
            None
        },
        unassigned: q.unassigned,
        queue_id: q.queue,
        channel: q.channel,
        visible_to: agent_scope(&scope),
        label_id: q.label,
        search: q.q.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    let limit = clamp_limit(q.limit);
    let rows = store::conversations::list_conversations(
        &state.store,
        scope.id(),
        &filter,
        q.cursor,
        limit,
    )
    .await?;
    let next_cursor = if rows.len() as i64 >= limit {
        rows.last().map(|c| c.id.to_string())
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        items
            .push(conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?);
    }
    Ok(AppJson(ConversationList { items, next_cursor }))
}

/// A conversation with its customer and every message (private notes included).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetail {
    /// The conversation.
    pub conversation: ConversationView,
    /// The customer.
    pub contact: ContactBrief,
    /// Messages in order.
    pub messages: Vec<MessageView>,
}

/// The agent whose view limits what is shown (supervisors and API keys see everything).
pub(super) fn agent_scope(scope: &TenantScope<AnyMember>) -> Option<i64> {
    if scope.role >= Role::Supervisor {
        None
    } else {
        scope.principal.user_id().map(UserId::get)
    }
}

/// A conversation the caller may see (DESIGN §7: agents see their own and their queues', plus
/// those a colleague @mentioned them in), else 404 as if it did not exist.
pub(crate) async fn load_visible(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    id: i64,
) -> ApiResult<ConversationRecord> {
    let c = load(state, scope.id(), id).await?;
    let Some(agent) = agent_scope(scope) else {
        return Ok(c);
    };
    let visible = c.assigned_agent_id == Some(agent)
        || (c.assigned_agent_id.is_none() && c.queue_id.is_none())
        || match c.queue_id {
            Some(q) => store::queues::queues_of_member(&state.store, scope.id(), UserId(agent))
                .await?
                .contains(&q),
            None => false,
        }
        || store::conversations::is_participant(&state.store, scope.id(), c.id, agent).await?;
    if visible {
        Ok(c)
    } else {
        Err(ApiError::not_found("conversation"))
    }
}

pub(super) async fn load(
    state: &AppState,
    tenant: TenantId,
    id: i64,
) -> ApiResult<ConversationRecord> {
    store::conversations::find_conversation(&state.store, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

pub(super) async fn names(store: &Store, tenant: TenantId) -> ApiResult<BTreeMap<i64, String>> {
    Ok(store::users::list_members(store, tenant, None, i64::MAX)
        .await?
        .into_iter()
        .map(|m| (m.id.get(), m.name))
        .collect())
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/conversations/{cid}", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationDetail), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ConversationDetail>> {
    let c = load_visible(&state, &scope, path.1).await?;
    let names = names(&state.store, scope.id()).await?;
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page =
            store::conversations::list_messages(&state.store, scope.id(), c.id, after, 500, true)
                .await?;
        let full = page.len() == 500;
        after = page.last().map_or(after, |m| m.seq);
        messages.extend(page.into_iter().map(|m| message_view(m, &names)));
        if !full {
            break;
        }
    }
    let conversation =
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?;
    let contact = ContactBrief {
        id: conversation.contact.id,
        name: conversation.contact.name.clone(),
        email: conversation.contact.email.clone(),
    };
    Ok(AppJson(ConversationDetail {
        conversation,
        contact,
        messages,
    }))
}

/// A reply or a private note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// Text (1–4000 characters).
    pub content: String,
    /// A private note for agents only.
    #[serde(default)]
    pub private: bool,
    /// Idempotency key: a retried request with the same key is stored once.
    pub client_id: Option<String>,
    /// Members to notify (private notes only).
    #[serde(default)]
    pub mentions: Vec<i64>,
}

fn me(scope: &TenantScope<AnyMember>) -> ApiResult<i64> {
    scope
        .principal
        .user_id()
        .map(UserId::get)
        .ok_or_else(|| ApiError::forbidden("replies are written by people"))
}

/// Replies to the customer (or adds a private note).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/messages", tag = "inbox", request_body = NewReply,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 201, body = MessageView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<NewReply>,
) -> ApiResult<(StatusCode, AppJson<MessageView>)> {
    let agent = me(&scope)?;
    let c = load_visible(&state, &scope, path.1).await?;
    // An agent replies to conversations assigned to them; supervisors may step into any.
    if !req.private && c.assigned_agent_id != Some(agent) && scope.role < Role::Supervisor {
        return Err(ApiError::forbidden(
            "only the assigned agent (or a supervisor) may reply; add a private note instead",
        ));
    }
    if !req.mentions.is_empty() && !req.private {
        return Err(ApiError::validation(
            "mentions",
            "only private notes mention colleagues",
        ));
    }
    for (i, uid) in req.mentions.iter().enumerate() {
        if store::users::find_member(&state.store, scope.id(), UserId(*uid))
            .await?
            .is_none()
        {
            return Err(ApiError::validation(
                &format!("mentions[{i}]"),
                format!("user {uid} is not a member of this tenant"),
            ));
        }
    }
    let m = state
        .chat
        .agent_message(
            scope.id(),
            c.id,
            agent,
            Body::text(&req.content),
            req.private,
            req.client_id.as_deref(),
        )
        .await?;
    let names = names(&state.store, scope.id()).await?;
    let excerpt: String = m.content.chars().take(140).collect();
    for uid in &req.mentions {
        store::conversations::add_participant(&state.store, scope.id(), c.id, *uid, Some(agent))
            .await?;
        let payload = serde_json::json!({"conversation_id": c.id, "user_id": uid, "by": agent, "by_name": names.get(&agent), "excerpt": excerpt, "seq": m.seq});
        state
            .events
            .publish(scope.id(), "mention", Some(*uid), payload)
            .await?;
    }
    Ok((StatusCode::CREATED, AppJson(message_view(m, &names))))
}

/// Typing on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypingState {
    /// Typing now.
    pub on: bool,
}

/// Tells the customer the agent is typing.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/typing", tag = "inbox", request_body = TypingState,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn post_typing(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<TypingState>,
) -> ApiResult<StatusCode> {
    let c = load_visible(&state, &scope, path.1).await?;
    state.chat.typing(scope.id(), c.id, false, req.on).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read up to a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    /// The last message seen.
    pub seq: i64,
}

/// Marks the customer's messages read up to `seq` (the customer sees the receipt).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/read", tag = "inbox", request_body = ReadUpTo,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn post_read(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<ReadUpTo>,
) -> ApiResult<StatusCode> {
    let c = load_visible(&state, &scope, path.1).await?;
    state.chat.read(scope.id(), c.id, false, req.seq).await?;
    if let Some(u) = scope.principal.user_id() {
        store::conversations::set_read_marker(&state.store, scope.id(), c.id, u.get(), req.seq)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn offered_contact(
    state: &AppState,
    scope: &TenantScope<AnyMember>,
    cid: i64,
) -> ApiResult<(i64, i64)> {
    let agent = me(scope)?;
    let c = load_visible(state, scope, cid).await?;
    let rc = c.routing_contact_id.ok_or_else(|| ApiError::Conflict {
        code: "no_offer",
        message: "this conversation is not being offered".into(),
    })?;
    state
        .routing
        .offer_deadline(scope.id(), rc, agent)
        .await
        .ok_or_else(|| ApiError::Conflict {
            code: "no_offer",
            message: "this conversation is not offered to you (any more)".into(),
        })?;
    Ok((rc, agent))
}

/// Takes an offered conversation (the first accept wins).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/accept", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ConversationView>> {
    let (rc, agent) = offered_contact(&state, &scope, path.1).await?;
    state
        .routing
        .apply(
            scope.id(),
            Event::OfferAccepted {
                contact: ContactId(rc as u64),
                agent: AgentId(agent as u64),
            },
        )
        .await?;
    let st = state.routing.contact_state(scope.id(), rc).await?;
    if st.agent_id != Some(agent) {
        return Err(ApiError::Conflict {
            code: "no_offer",
            message: "another agent took this conversation".into(),
        });
    }
    // The routing decision is applied to the conversation by the conversation service; do it
    // here as well so the answer already shows the assignment.
    store::conversations::set_assigned(&state.store, scope.id(), path.1, agent).await?;
    let c = load(&state, scope.id(), path.1).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}

/// Declines an offered conversation; it goes to the next agent.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/decline", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let (rc, agent) = offered_contact(&state, &scope, path.1).await?;
    state
        .routing
        .apply(
            scope.id(),
            Event::OfferDeclined {
                contact: ContactId(rc as u64),
                agent: AgentId(agent as u64),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn may_manage(scope: &TenantScope<AnyMember>, c: &ConversationRecord) -> ApiResult<()> {
    let mine = c.assigned_agent_id.is_some()
        && c.assigned_agent_id == scope.principal.user_id().map(UserId::get);
    if mine || scope.role >= Role::Supervisor {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the assigned agent (or a supervisor) may do this",
        ))
    }
}

/// Resolves a conversation; the agent enters wrap-up.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/resolve", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resolve(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ConversationView>> {
    let c = load_visible(&state, &scope, path.1).await?;
    may_manage(&scope, &c)?;
    state.chat.resolve(scope.id(), c.id).await?;
    let c = load(&state, scope.id(), path.1).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}

/// Reopens a resolved conversation with the same agent.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/reopen", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reopen(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ConversationView>> {
    let c = load_visible(&state, &scope, path.1).await?;
    may_manage(&scope, &c)?;
    state.chat.reopen(scope.id(), c.id).await?;
    let c = load(&state, scope.id(), path.1).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}

/// Where to transfer a conversation: a queue, or one agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The queue that takes it over.
    pub queue_id: Option<i64>,
    /// Or the agent who takes it over (offered through that agent's own queue).
    pub agent_id: Option<i64>,
    /// A note for the next agent (kept private).
    pub note: Option<String>,
}

/// Name of the queue through which conversations are transferred to one agent (Amazon
/// Connect calls these agent queues): it routes with the engine's usual rules, so the agent's
/// capacity, presence and offer timeout all apply.
pub const AGENT_QUEUE_PREFIX: &str = "agent:";

pub(crate) async fn agent_queue(state: &AppState, tenant: TenantId, agent: i64) -> ApiResult<i64> {
    let name = format!("{AGENT_QUEUE_PREFIX}{agent}");
    if let Some(q) = store::queues::list_queues(&state.store, tenant)
        .await?
        .into_iter()
        .find(|q| q.name == name)
    {
        return Ok(q.id);
    }
    let settings =
        serde_json::json!({"strategy": "ring_all", "offer_timeout_secs": 30, "retry_secs": 0});
    let q = store::queues::insert_queue(&state.store, tenant, &name, &settings).await?;
    let member = store::queues::QueueMemberRecord {
        user_id: agent,
        penalty: 0,
        wrapup_secs: None,
    };
    store::queues::replace_members(&state.store, tenant, q.id, &[member]).await?;
    state.routing.queue_changed(tenant, q.id).await?;
    Ok(q.id)
}

/// Transfers a conversation to another queue or to one agent, with a note; it keeps its place
/// by start time.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/transfer", tag = "inbox", request_body = TransferRequest,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<TransferRequest>,
) -> ApiResult<AppJson<ConversationView>> {
    let by = me(&scope)?;
    let c = load_visible(&state, &scope, path.1).await?;
    may_manage(&scope, &c)?;
    if req
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 1000)
    {
        return Err(ApiError::validation(
            "note",
            "must be at most 1000 characters",
        ));
    }
    let queue = match (req.queue_id, req.agent_id) {
        (Some(q), None) => {
            if store::queues::find_queue(&state.store, scope.id(), q)
                .await?
                .is_none()
            {
                return Err(ApiError::validation(
                    "queue_id",
                    format!("no queue {q} in this tenant"),
                ));
            }
            q
        }
        (None, Some(a)) => {
            if store::users::find_member(&state.store, scope.id(), UserId(a))
                .await?
                .is_none_or(|m| !m.active)
            {
                return Err(ApiError::validation(
                    "agent_id",
                    format!("user {a} is not an active member of this tenant"),
                ));
            }
            agent_queue(&state, scope.id(), a).await?
        }
        _ => {
            return Err(ApiError::validation(
                "queue_id",
                "give either queue_id or agent_id",
            ));
        }
    };
    state
        .chat
        .transfer(scope.id(), c.id, queue, by, req.note.as_deref())
        .await?;
    let c = load(&state, scope.id(), path.1).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}

/// Replaces a conversation's labels.
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/conversations/{cid}/labels", tag = "inbox", request_body = Vec<i64>,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_labels(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(labels): AppJson<Vec<i64>>,
) -> ApiResult<AppJson<ConversationView>> {
    let c = load_visible(&state, &scope, path.1).await?;
    store::labels::set_conversation_labels(&state.store, scope.id(), c.id, &labels)
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound => {
                ApiError::validation("labels", "every label must be one of this tenant's")
            }
            other => other.into(),
        })?;
    let c = load(&state, scope.id(), c.id).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}

/// Until when to snooze (null wakes it now).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// A future time, or null to wake the conversation.
    pub until: Option<DateTime<Utc>>,
}

/// Snoozes a conversation until a time (the customer writing wakes it sooner), or wakes it.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/snooze", tag = "inbox", request_body = SnoozeRequest,
    params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn snooze(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<SnoozeRequest>,
) -> ApiResult<AppJson<ConversationView>> {
    let c = load_visible(&state, &scope, path.1).await?;
    may_manage(&scope, &c)?;
    if req.until.is_some_and(|u| u <= Utc::now()) {
        return Err(ApiError::validation("until", "must be in the future"));
    }
    store::conversations::set_snoozed(&state.store, scope.id(), c.id, req.until).await?;
    let c = load(&state, scope.id(), c.id).await?;
    Ok(AppJson(
        conversation_view(&state.store, scope.id(), c, scope.principal.user_id()).await?,
    ))
}
