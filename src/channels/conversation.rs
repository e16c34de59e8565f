//! The conversation service: where customer messages, agent replies and routing decisions meet.
//!
//! Every message is stored (with its sequence number in the conversation) before anyone is
//! told about it. Agents are told through the tenant event stream; the customer's widget
//! sockets through an in-process bus keyed by conversation.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::ai::bot::{BotError, BotJob, BotLink, ConversationPort, Handoff};
use crate::domain::{TenantId, UserId};
use crate::inbox::EventHub;
use crate::routing::model::{Command, OverflowTarget};
use crate::routing::service::{RoutingError, RoutingNotice, RoutingService};
use crate::store::conversations::{ConversationRecord, MessageRecord, NewMessage};
use crate::store::routed_contacts::NewRoutedContact;
use crate::store::{self, Store, StoreError};

/// Longest message a customer or agent may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// What can go wrong in a conversation.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The database failed (or the conversation does not exist: `NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Routing failed.
    #[error(transparent)]
    Routing(#[from] RoutingError),
    /// The message is empty or too long.
    #[error("a message must have 1–{MAX_MESSAGE_CHARS} characters")]
    BadMessage,
    /// The conversation is closed.
    #[error("the conversation is closed")]
    Closed,
}

/// A frame for the widget sockets of one conversation.
#[derive(Debug, Clone)]
pub struct WidgetPush {
    /// The conversation.
    pub conversation_id: i64,
    /// For one visitor only (`{widget}:{visitor}`): tells that visitor's sockets which
    /// conversation they belong to when it was started elsewhere (an upload over HTTP).
    pub visitor: Option<String>,
    /// The JSON frame.
    pub frame: Value,
}

struct Inner {
    store: Store,
    events: EventHub,
    routing: RoutingService,
    widgets: broadcast::Sender<Arc<WidgetPush>>,
    /// The AI agent's worker, once started: it takes new conversations on its channels and
    /// sees every customer message.
    bot: std::sync::OnceLock<BotLink>,
}

/// The name customers see on bot messages.
pub const BOT_NAME: &str = "Assistant";

/// Handle to the conversation service; cheap to clone.
#[derive(Clone)]
pub struct ChatService(Arc<Inner>);

/// The JSON a widget shows for a message.
pub fn widget_message_frame(m: &MessageRecord, sender_name: Option<&str>) -> Value {
    json!({
        "type": "message",
        "seq": m.seq,
        "sender": m.sender,
        "sender_name": sender_name,
        "content": m.content,
        "at": m.created_at,
        "client_id": if m.sender == "customer" { m.provider_message_id.clone() } else { None },
        "kind": m.kind,
        "attachment": m.media.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
    })
}

/// What a message carries: text, or a file with its name as the text.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    /// Text, or the file name.
    pub content: &'a str,
    /// `text`, `image` or `file`.
    pub kind: &'a str,
    /// Attachment details (JSON) for image and file messages.
    pub media: Option<&'a str>,
}

impl<'a> Body<'a> {
    /// A text message.
    pub fn text(content: &'a str) -> Self {
        Body {
            content,
            kind: "text",
            media: None,
        }
    }
}

fn check_text(content: &str) -> Result<&str, ChatError> {
    let t = content.trim();
    if t.is_empty() || t.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ChatError::BadMessage);
    }
    Ok(t)
}

impl ChatService {
    /// A service over the store, the event stream and the routing adapter.
    pub fn new(store: Store, events: EventHub, routing: RoutingService) -> Self {
        let (widgets, _) = broadcast::channel(4096);
        ChatService(Arc::new(Inner {
            store,
            events,
            routing,
            widgets,
            bot: std::sync::OnceLock::new(),
        }))
    }

    /// Connects the AI agent's worker (once, at start-up).
    pub fn attach_bot(&self, link: BotLink) {
        if self.0.bot.set(link).is_err() {
            tracing::warn!("the bot was already attached");
        }
    }

    /// Frames for widget sockets (filter by conversation).
    pub fn subscribe_widgets(&self) -> broadcast::Receiver<Arc<WidgetPush>> {
        self.0.widgets.subscribe()
    }

    fn push(&self, conversation_id: i64, frame: Value) {
        // No widget connected is fine: the message is stored and replayed on connect.
        let _ = self.0.widgets.send(Arc::new(WidgetPush {
            conversation_id,
            visitor: None,
            frame,
        }));
    }

    /// Points a visitor's open sockets at `conversation` (they replay it from the store).
    pub fn point_visitor(&self, visitor: &str, conversation_id: i64) {
        let frame = json!({"type": "conversation", "conversation_id": conversation_id});
        let _ = self.0.widgets.send(Arc::new(WidgetPush {
            conversation_id,
            visitor: Some(visitor.to_owned()),
            frame,
        }));
    }

    async fn agent_name(&self, agent: Option<i64>) -> Option<String> {
        let id = agent?;
        store::users::find_user(&self.0.store, UserId(id))
            .await
            .ok()
            .flatten()
            .map(|u| u.name)
    }

    /// `known` is the conversation when the caller already holds it current (saves a read on
    /// the message path).
    async fn publish_message(
        &self,
        tenant: TenantId,
        known: Option<&ConversationRecord>,
        m: &MessageRecord,
        sender_name: Option<&str>,
    ) -> Result<(), ChatError> {
        let payload = json!({
            "conversation_id": m.conversation_id, "seq": m.seq, "sender": m.sender, "sender_id": m.sender_id,
            "sender_name": sender_name, "content": m.content, "private": m.private, "at": m.created_at,
            "kind": m.kind, "attachment": m.media.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
        });
        self.publish_about(tenant, m.conversation_id, known, "message", payload)
            .await
    }

    /// Publishes an event about a conversation, tagged with its queue and agent so each agent's
    /// socket shows only the conversations that agent may see.
    async fn publish_about(
        &self,
        tenant: TenantId,
        conversation: i64,
        known: Option<&ConversationRecord>,
        kind: &str,
        mut payload: Value,
    ) -> Result<(), ChatError> {
        let c = match known {
            Some(c) => Some(c.clone()),
            None => {
                store::conversations::find_conversation(&self.0.store, tenant, conversation).await?
            }
        };
        if let Some(o) = payload.as_object_mut() {
            o.insert(
                "queue_id".into(),
                json!(c.as_ref().and_then(|c| c.queue_id)),
            );
            o.insert(
                "assigned_agent_id".into(),
                json!(c.as_ref().and_then(|c| c.assigned_agent_id)),
            );
        }
        self.0.events.publish(tenant, kind, None, payload).await?;
        Ok(())
    }

    async fn publish_conversation(
        &self,
        tenant: TenantId,
        conversation: i64,
    ) -> Result<(), ChatError> {
        if let Some(c) =
            store::conversations::find_conversation(&self.0.store, tenant, conversation).await?
        {
            let payload = json!({"conversation_id": c.id, "status": c.status, "assigned_agent_id": c.assigned_agent_id, "queue_id": c.queue_id});
            self.0
                .events
                .publish(tenant, "conversation", None, payload)
                .await?;
        }
        Ok(())
    }

    /// A system line in the conversation, shown to both sides.
    async fn system_message(
        &self,
        tenant: TenantId,
        conversation: i64,
        text: &str,
    ) -> Result<(), ChatError> {
        let new = NewMessage {
            sender: "system",
            sender_id: None,
            content: text,
            private: false,
            provider_message_id: None,
            kind: "text",
            media: None,
        };
        let (m, _) =
            store::conversations::append_message(&self.0.store, tenant, conversation, new).await?;
        self.publish_message(tenant, None, &m, None).await?;
        self.push(conversation, widget_message_frame(&m, None));
        Ok(())
    }

    /// A customer wrote. Finds or starts their open conversation on `channel`, stores the
    /// message (a repeated `client_id` returns the first copy), and queues a new conversation.
    /// Returns the conversation and the message, and whether it was a duplicate.
    pub async fn customer_message(
        &self,
        tenant: TenantId,
        contact_id: i64,
        channel: &str,
        widget: Option<(i64, Option<i64>)>,
        client_id: Option<&str>,
        body: Body<'_>,
    ) -> Result<(ConversationRecord, MessageRecord, bool), ChatError> {
        let text = check_text(body.content)?;
        let store = &self.0.store;
        let (conversation, is_new) =
            match store::conversations::find_open_conversation(store, tenant, contact_id, channel)
                .await?
            {
                Some(c) => (c, false),
                None => {
                    let (widget_id, queue_id) = widget.unzip();
                    let status = match self.0.bot.get() {
                        Some(bot) if bot.takes(tenant, channel, contact_id).await => "bot",
                        _ => "queued",
                    };
                    let c = store::conversations::insert_conversation(
                        store,
                        tenant,
                        contact_id,
                        channel,
                        widget_id,
                        status,
                        queue_id.flatten(),
                    )
                    .await?;
                    (c, true)
                }
            };
        let new = NewMessage {
            sender: "customer",
            sender_id: None,
            content: text,
            private: false,
            provider_message_id: client_id,
            kind: body.kind,
            media: body.media,
        };
        let (m, duplicate) =
            store::conversations::append_message(store, tenant, conversation.id, new).await?;
        if duplicate {
            return Ok((conversation, m, true));
        }
        if is_new {
            self.publish_conversation(tenant, conversation.id).await?;
        }
        self.publish_message(tenant, Some(&conversation), &m, None)
            .await?;
        // Other tabs of the same visitor show it too.
        self.push(conversation.id, widget_message_frame(&m, None));
        if is_new
            && conversation.status == "queued"
            && let Some(queue) = conversation.queue_id
        {
            self.route(tenant, &conversation, queue).await?;
        }
        if let Some(bot) = self.0.bot.get() {
            bot.customer_message(BotJob {
                tenant,
                conversation: conversation.id,
                message: m.id,
                text: m.content.clone(),
            });
        }
        // A new conversation changed on the way (queued, maybe assigned at once): read it back.
        let conversation = if is_new {
            store::conversations::find_conversation(store, tenant, conversation.id)
                .await?
                .unwrap_or(conversation)
        } else {
            conversation
        };
        Ok((conversation, m, false))
    }

    async fn route(
        &self,
        tenant: TenantId,
        c: &ConversationRecord,
        queue: i64,
    ) -> Result<(), ChatError> {
        if store::queues::find_queue(&self.0.store, tenant, queue)
            .await?
            .is_none()
        {
            return Ok(());
        }
        // Link first: a queue with a free agent assigns during the enqueue itself.
        let routed = store::routed_contacts::insert_routed_contact(
            &self.0.store,
            tenant,
            NewRoutedContact {
                queue_id: queue,
                medium: "chat",
                channel: &c.channel,
                priority: c.priority,
                required_skills: "{}",
                enqueued_at: c.started_at,
                callback: false,
            },
        )
        .await?;
        store::conversations::set_routing(&self.0.store, tenant, c.id, routed.id, queue).await?;
        let state = self.0.routing.enqueue_stored(tenant, &routed).await?;
        if let (Some(position), Some(ewt)) = (state.position, state.ewt_secs) {
            self.push(
                c.id,
                json!({"type": "queue", "position": position, "ewt_secs": ewt}),
            );
        }
        Ok(())
    }

    /// An agent (or bot) wrote. Private notes stay in the inbox.
    pub async fn agent_message(
        &self,
        tenant: TenantId,
        conversation: i64,
        agent: i64,
        body: Body<'_>,
        private: bool,
        client_id: Option<&str>,
    ) -> Result<MessageRecord, ChatError> {
        let text = check_text(body.content)?;
        let c = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        if c.status == "closed" && !private {
            return Err(ChatError::Closed);
        }
        let new = NewMessage {
            sender: "agent",
            sender_id: Some(agent),
            content: text,
            private,
            provider_message_id: client_id,
            kind: body.kind,
            media: body.media,
        };
        let (m, duplicate) =
            store::conversations::append_message(&self.0.store, tenant, conversation, new).await?;
        if duplicate {
            return Ok(m);
        }
        let name = self.agent_name(Some(agent)).await;
        self.publish_message(tenant, Some(&c), &m, name.as_deref())
            .await?;
        if !private {
            self.push(conversation, widget_message_frame(&m, name.as_deref()));
        }
        Ok(m)
    }

    /// Typing started or stopped; `by_customer` says which side.
    pub async fn typing(
        &self,
        tenant: TenantId,
        conversation: i64,
        by_customer: bool,
        on: bool,
    ) -> Result<(), ChatError> {
        if by_customer {
            self.publish_about(
                tenant,
                conversation,
                None,
                "typing",
                json!({"conversation_id": conversation, "on": on}),
            )
            .await?;
        } else {
            self.push(conversation, json!({"type": "typing", "on": on}));
        }
        Ok(())
    }

    /// A widget showed the agent's messages up to `seq`: mark them delivered and tell the inbox.
    pub async fn delivered(
        &self,
        tenant: TenantId,
        conversation: i64,
        seq: i64,
    ) -> Result<(), ChatError> {
        let changed =
            store::conversations::mark_delivered(&self.0.store, tenant, conversation, seq).await?;
        if changed > 0 {
            self.publish_about(
                tenant,
                conversation,
                None,
                "delivered",
                json!({"conversation_id": conversation, "seq": seq}),
            )
            .await?;
        }
        Ok(())
    }

    /// One side read the other's messages up to `seq`.
    pub async fn read(
        &self,
        tenant: TenantId,
        conversation: i64,
        by_customer: bool,
        seq: i64,
    ) -> Result<(), ChatError> {
        let reader = if by_customer { "customer" } else { "agent" };
        let changed =
            store::conversations::mark_read(&self.0.store, tenant, conversation, reader, seq)
                .await?;
        if changed > 0 {
            if by_customer {
                self.publish_about(
                    tenant,
                    conversation,
                    None,
                    "read",
                    json!({"conversation_id": conversation, "seq": seq}),
                )
                .await?;
            } else {
                self.push(conversation, json!({"type": "read", "seq": seq}));
            }
        }
        Ok(())
    }

    /// Resolves a conversation: ends (or withdraws) its routing contact and closes it.
    pub async fn resolve(&self, tenant: TenantId, conversation: i64) -> Result<(), ChatError> {
        let c = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        if c.status == "closed" {
            return Ok(());
        }
        if let Some(rc) = c.routing_contact_id {
            let r = if c.status == "agent" {
                self.0.routing.end(tenant, rc).await
            } else {
                self.0.routing.withdraw(tenant, rc).await
            };
            match r {
                Ok(()) | Err(RoutingError::Store(StoreError::NotFound)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        store::conversations::set_status(&self.0.store, tenant, conversation, "closed").await?;
        self.system_message(tenant, conversation, "This conversation was resolved.")
            .await?;
        self.push(conversation, json!({"type": "status", "status": "closed"}));
        self.publish_conversation(tenant, conversation).await
    }

    /// Moves a conversation to another queue, keeping its place by its start time; the agent
    /// who had it goes into wrap-up. The note stays with the agents as a private note.
    pub async fn transfer(
        &self,
        tenant: TenantId,
        conversation: i64,
        queue: i64,
        by: i64,
        note: Option<&str>,
    ) -> Result<(), ChatError> {
        let c = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        if c.status == "closed" {
            return Err(ChatError::Closed);
        }
        let target = store::queues::find_queue(&self.0.store, tenant, queue)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(rc) = c.routing_contact_id {
            let r = if c.status == "agent" {
                self.0.routing.end(tenant, rc).await
            } else {
                self.0.routing.withdraw(tenant, rc).await
            };
            match r {
                Ok(()) | Err(RoutingError::Store(StoreError::NotFound)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        store::conversations::set_unassigned(&self.0.store, tenant, conversation).await?;
        let by_name = self
            .agent_name(Some(by))
            .await
            .unwrap_or_else(|| "an agent".into());
        // An agent queue is named after its agent's id: show the person instead.
        let target_name = match target
            .name
            .strip_prefix("agent:")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(agent) => self
                .agent_name(Some(agent))
                .await
                .unwrap_or_else(|| target.name.clone()),
            None => target.name.clone(),
        };
        let text = match note.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => format!("Transferred to {target_name} by {by_name}: {n}"),
            None => format!("Transferred to {target_name} by {by_name}."),
        };
        let new = NewMessage {
            sender: "agent",
            sender_id: Some(by),
            content: &text,
            private: true,
            provider_message_id: None,
            kind: "text",
            media: None,
        };
        let (m, _) =
            store::conversations::append_message(&self.0.store, tenant, conversation, new).await?;
        self.publish_message(tenant, None, &m, Some(&by_name))
            .await?;
        self.system_message(
            tenant,
            conversation,
            "You are being transferred to a colleague who can help. Please stay with us.",
        )
        .await?;
        self.push(conversation, json!({"type": "status", "status": "queued"}));
        self.route(tenant, &c, queue).await?;
        self.publish_conversation(tenant, conversation).await
    }

    /// Reopens a closed conversation with the agent who had it (or back to its queue).
    pub async fn reopen(&self, tenant: TenantId, conversation: i64) -> Result<(), ChatError> {
        let c = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        if c.status != "closed" {
            return Ok(());
        }
        // A reopened conversation stays with its agent: no bounce back through the queue.
        let status = if c.assigned_agent_id.is_some() {
            "agent"
        } else {
            "queued"
        };
        store::conversations::set_status(&self.0.store, tenant, conversation, status).await?;
        if status == "queued"
            && let Some(q) = c.queue_id
        {
            self.route(tenant, &c, q).await?;
        }
        self.push(conversation, json!({"type": "status", "status": status}));
        self.publish_conversation(tenant, conversation).await
    }

    /// Reacts to routing decisions about conversations until the routing service goes away.
    pub async fn follow_routing(self, mut notices: broadcast::Receiver<RoutingNotice>) {
        loop {
            match notices.recv().await {
                // Calls are the voice service's; only chats (or contacts already gone from the
                // engine, whose medium is unknown) can be conversations.
                Ok(n) if n.medium == Some(crate::routing::model::Medium::Voice) => {}
                Ok(n) => {
                    if let Err(e) = self.on_routing(n.tenant, &n.command).await {
                        tracing::error!(tenant.id = %n.tenant, error = %e, "applying a routing decision to a conversation failed");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // The decisions themselves are persisted by routing; conversations catch up on
                    // their next change. Worth knowing about, as it means the process is overloaded.
                    tracing::warn!(missed, "conversation service fell behind routing decisions");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn on_routing(&self, tenant: TenantId, command: &Command) -> Result<(), ChatError> {
        let store = &self.0.store;
        let conversation_of = |contact: u64| {
            store::conversations::find_by_routing_contact(store, tenant, contact as i64)
        };
        match command {
            Command::Offer {
                contact,
                agents,
                deadline,
            } => {
                let Some(c) = conversation_of(contact.0).await? else {
                    return Ok(());
                };
                let preview = store::conversations::list_messages(
                    store,
                    tenant,
                    c.id,
                    (c.last_seq - 1).max(0),
                    1,
                    false,
                )
                .await?
                .pop()
                .map(|m| m.content.chars().take(200).collect::<String>());
                let deadline = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(deadline.0);
                for a in agents {
                    let payload = json!({"conversation_id": c.id, "contact_id": contact.0, "agent_id": a.0, "deadline": deadline, "preview": preview, "channel": c.channel});
                    self.0
                        .events
                        .publish(tenant, "conversation_offer", Some(a.0 as i64), payload)
                        .await?;
                }
            }
            Command::Assigned { contact, agent } => {
                let Some(c) = conversation_of(contact.0).await? else {
                    return Ok(());
                };
                store::conversations::set_assigned(store, tenant, c.id, agent.0 as i64).await?;
                let name = self
                    .agent_name(Some(agent.0 as i64))
                    .await
                    .unwrap_or_else(|| "An agent".into());
                self.system_message(tenant, c.id, &format!("{name} joined the conversation."))
                    .await?;
                self.push(
                    c.id,
                    json!({"type": "status", "status": "agent", "agent_name": name}),
                );
                self.publish_conversation(tenant, c.id).await?;
                if let Some(queue) = c.queue_id {
                    self.refresh_positions(tenant, queue).await?;
                }
            }
            Command::AnnouncePosition {
                contact,
                position,
                ewt_secs,
            } => {
                if let Some(c) = conversation_of(contact.0).await? {
                    self.push(
                        c.id,
                        json!({"type": "queue", "position": position, "ewt_secs": ewt_secs}),
                    );
                }
            }
            Command::Overflow {
                contact,
                target,
                keeps_waiting,
                ..
            } => {
                let Some(c) = conversation_of(contact.0).await? else {
                    return Ok(());
                };
                match target {
                    OverflowTarget::Message { text } => {
                        self.system_message(tenant, c.id, text).await?
                    }
                    OverflowTarget::Queue { queue } => {
                        store::conversations::set_routing(
                            store,
                            tenant,
                            c.id,
                            contact.0 as i64,
                            queue.0 as i64,
                        )
                        .await?;
                    }
                    _ if !keeps_waiting => self.no_agent(tenant, c.id).await?,
                    _ => {}
                }
            }
            Command::Rejected { contact, .. } => {
                if let Some(c) = conversation_of(contact.0).await? {
                    self.no_agent(tenant, c.id).await?;
                }
            }
            Command::WithdrawOffers { .. } | Command::AgentAutoPaused { .. } => {}
        }
        Ok(())
    }

    /// Everyone still waiting in `queue` moved up: tell their widgets the new place in line.
    async fn refresh_positions(&self, tenant: TenantId, queue: i64) -> Result<(), ChatError> {
        let Some((_, waiting)) = self.0.routing.live(tenant, queue).await? else {
            return Ok(());
        };
        for w in waiting {
            let (Some(position), Some(ewt)) = (w.position, w.ewt_secs) else {
                continue;
            };
            if let Some(c) =
                store::conversations::find_by_routing_contact(&self.0.store, tenant, w.id).await?
            {
                self.push(
                    c.id,
                    json!({"type": "queue", "position": position, "ewt_secs": ewt}),
                );
            }
        }
        Ok(())
    }

    /// Routing gave up on the conversation: it stays open and unassigned for agents to pick up,
    /// and the customer is told truthfully.
    async fn no_agent(&self, tenant: TenantId, conversation: i64) -> Result<(), ChatError> {
        self.system_message(
            tenant,
            conversation,
            "No one is available to chat right now. Leave your message and we will reply here as soon as we can.",
        )
        .await?;
        self.publish_conversation(tenant, conversation).await
    }
}

impl ChatService {
    /// The offline message, with when the team is back when the conversation's widget has
    /// business hours and is closed now ("… We're back Monday 08:00 (America/Los_Angeles).",
    /// in Spanish "… Volvemos el lunes a las 08:00 (America/Los_Angeles).").
    async fn offline_text(
        &self,
        tenant: TenantId,
        c: &ConversationRecord,
        message: &str,
        language: &str,
    ) -> String {
        let Some(widget) = c.widget_id else {
            return message.to_owned();
        };
        let Ok(Some(w)) = store::widgets::find_widget(&self.0.store, tenant, widget).await else {
            return message.to_owned();
        };
        let settings = super::widget::settings::settings_of(&w);
        let now = chrono::Utc::now();
        let (open, opens_at) = settings.open_now(now);
        match (open, opens_at, settings.opening_hours(now)) {
            (false, Some(at), Ok(Some(hours))) => {
                let local = at.with_timezone(&hours.timezone());
                back_at(message, &local, hours.timezone().name(), language)
            }
            _ => message.to_owned(),
        }
    }
}

/// `message` followed by when the team is back, in the customer's language.
fn back_at<Tz: chrono::TimeZone>(
    message: &str,
    at: &chrono::DateTime<Tz>,
    zone: &str,
    language: &str,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::Datelike;
    if crate::ai::kb::base_language(language) == "es" {
        const DAYS: [&str; 7] = [
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
        ];
        let day = DAYS[at.weekday().num_days_from_monday() as usize];
        format!(
            "{message} Volvemos el {day} a las {} ({zone}).",
            at.format("%H:%M")
        )
    } else {
        format!("{message} We're back {} ({zone}).", at.format("%A %H:%M"))
    }
}

impl ConversationPort for ChatService {
    async fn bot_reply(
        &self,
        tenant: TenantId,
        conversation: i64,
        text: &str,
    ) -> Result<(), BotError> {
        let text = check_text(text).map_err(|e| BotError::Conversation(e.to_string()))?;
        let new = NewMessage::text("bot", None, text);
        let (m, _) =
            store::conversations::append_message(&self.0.store, tenant, conversation, new).await?;
        self.publish_message(tenant, None, &m, Some(BOT_NAME))
            .await
            .map_err(|e| BotError::Conversation(e.to_string()))?;
        self.push(conversation, widget_message_frame(&m, Some(BOT_NAME)));
        Ok(())
    }

    fn bot_draft(&self, conversation: i64, text: &str) {
        self.push(
            conversation,
            json!({"type": "draft", "text": text, "sender_name": BOT_NAME}),
        );
    }

    async fn bot_typing(&self, _tenant: TenantId, conversation: i64, on: bool) {
        self.push(conversation, json!({"type": "typing", "on": on}));
    }

    async fn hand_off(
        &self,
        tenant: TenantId,
        conversation: i64,
        handoff: Handoff,
    ) -> Result<(), BotError> {
        let record = crate::ai::bot::record_json(&handoff.record);
        let moved = store::conversations::set_handoff(
            &self.0.store,
            tenant,
            conversation,
            handoff.record.reason.code(),
            &record,
            handoff.queue_id,
            handoff.route_priority,
        )
        .await?;
        if !moved {
            // Someone (an agent, another turn) took it already.
            return Ok(());
        }
        let c = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.push(conversation, json!({"type": "status", "status": "queued"}));
        let mut place = None;
        let mut staffed = false;
        if let Some(queue) = c.queue_id {
            self.route(tenant, &c, queue)
                .await
                .map_err(|e| BotError::Conversation(e.to_string()))?;
            if let Some(rc) =
                store::conversations::find_conversation(&self.0.store, tenant, conversation)
                    .await?
                    .and_then(|c| c.routing_contact_id)
                && let Ok(state) = self.0.routing.contact_state(tenant, rc).await
            {
                place = Some((state.position, state.ewt_secs));
            }
            staffed = self.0.routing.queue_staffed(tenant, queue).await;
        }
        // Truthful about what happens next: a place in line only when someone is there.
        let assigned = store::conversations::find_conversation(&self.0.store, tenant, conversation)
            .await?
            .is_some_and(|c| c.status == "agent");
        let text = if assigned {
            None
        } else if staffed {
            let (position, ewt) = place.unwrap_or((None, None));
            Some(crate::ai::bot::handoff_text(
                &handoff.message,
                position,
                ewt,
                &handoff.message_language,
            ))
        } else {
            Some(
                self.offline_text(
                    tenant,
                    &c,
                    &handoff.offline_message,
                    &handoff.offline_language,
                )
                .await,
            )
        };
        if let Some(text) = text {
            self.bot_reply(tenant, conversation, &text).await?;
        }
        self.publish_conversation(tenant, conversation)
            .await
            .map_err(|e| BotError::Conversation(e.to_string()))?;
        Ok(())
    }
}
