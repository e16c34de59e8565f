//! The routing adapter: feeds each tenant's [`Engine`] from the store and the API, executes
//! its commands (persisting every change before it is acknowledged), and fires its timers.
//!
//! One engine per tenant, loaded on first use from the store (agents, queues, and the
//! contacts still waiting or connected, with their original enqueue times), so a restart
//! puts every contact back in its place. Decisions for a tenant are serialised by that
//! tenant's lock: this is the single writer of DESIGN §6. On one node that is all it takes;
//! several nodes need the per-tenant lease described there (not built yet), so run one
//! instance per database until then.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, Notify, broadcast};

use super::engine::{AgentState, ContactView, Engine};
use super::model::{
    AgentConfig, AgentId, Capacity, Command, ContactId, Event, Medium, Member, NewContact,
    OverflowTarget, Presence, QueueConfig, QueueId, QueueStats, Timestamp,
};
use crate::domain::{TenantId, UserId};
use crate::inbox::Queued;
use crate::store::agents::AgentProfile;
use crate::store::events::ContactChange;
use crate::store::queues::QueueRecord;
use crate::store::routed_contacts::{NewRoutedContact, RoutedContact};
use crate::store::{self, Store, StoreError};

/// What can go wrong routing.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored queue's settings no longer parse.
    #[error("queue {queue} has invalid settings: {message}")]
    BadQueue {
        /// Queue id.
        queue: i64,
        /// What is wrong.
        message: String,
    },
}

/// A routing command as published to the rest of the service (inbox, voice, channels).
#[derive(Debug, Clone, Serialize)]
pub struct RoutingNotice {
    /// The tenant it concerns.
    pub tenant: TenantId,
    /// What the engine decided.
    pub command: Command,
    /// The medium of the contact the command is about, while the engine still holds it
    /// (followers of one medium skip the others' decisions without a lookup).
    pub medium: Option<Medium>,
}

/// What [`RoutingService::hold_desk`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// This contact, connected to the agent, holds their voice capacity until it ends.
    Held(i64),
    /// The agent is on a call or being offered one.
    OnACall,
    /// The agent is not in routing (signed out): nothing to hold.
    NotRouted,
}

/// Why a call outside routing holds an agent's voice capacity (the held contact's channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskHold {
    /// A call the agent places themselves.
    Outbound,
    /// A customer's call transferred to the agent's phone.
    Transfer,
    /// A colleague consulting the agent while their caller holds.
    Consultation,
}

impl DeskHold {
    fn channel(self) -> &'static str {
        match self {
            DeskHold::Outbound | DeskHold::Transfer => "outbound",
            DeskHold::Consultation => CONSULTATION_CHANNEL,
        }
    }
}

/// The channel of a consultation's hold. A consultation does not outlive our process (a
/// restart lets the consulted leg go), so its hold is ended when routing loads.
const CONSULTATION_CHANNEL: &str = "consultation";

/// Where a contact stands, for the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactState {
    /// Contact id.
    pub id: i64,
    /// `waiting`, `offered`, `connected` or `ended`.
    pub status: String,
    /// Queue it is in (or was answered from).
    pub queue_id: i64,
    /// The agent, once connected.
    pub agent_id: Option<i64>,
    /// 1-based position while waiting.
    pub position: Option<u32>,
    /// Expected wait while waiting, seconds.
    pub ewt_secs: Option<u32>,
    /// Seconds waited since the original enqueue time.
    pub waited_secs: Option<u32>,
    /// Agents currently offered the contact.
    pub offered_to: Vec<i64>,
    /// How it ended.
    pub outcome: Option<String>,
}

struct TenantRouter {
    engine: Engine,
    // Outstanding offers by contact, kept from the commands so the API can show them.
    offers: HashMap<ContactId, (Vec<AgentId>, Timestamp)>,
}

struct Shared {
    store: Store,
    events: crate::inbox::EventHub,
    tenants: StdMutex<HashMap<TenantId, Arc<Mutex<TenantRouter>>>>,
    notices: broadcast::Sender<RoutingNotice>,
    wake: Notify,
}

/// Handle to the routing adapter; cheap to clone.
#[derive(Clone)]
pub struct RoutingService(Arc<Shared>);

fn now_ts() -> Timestamp {
    Timestamp(Utc::now().timestamp_millis())
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t.timestamp_millis())
}

fn to_utc(t: Timestamp) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn clamp_u8(v: i64) -> u8 {
    u8::try_from(v.clamp(0, 255)).unwrap_or(u8::MAX)
}

/// The engine's view of a stored queue.
pub fn queue_config(q: &QueueRecord) -> Result<QueueConfig, RoutingError> {
    let mut doc = q.settings.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("id".into(), serde_json::json!(q.id));
    }
    let mut cfg: QueueConfig = serde_json::from_value(doc).map_err(|e| RoutingError::BadQueue {
        queue: q.id,
        message: e.to_string(),
    })?;
    cfg.members = q
        .members
        .iter()
        .map(|m| Member {
            agent: AgentId(m.user_id as u64),
            penalty: u32::try_from(m.penalty.max(0)).unwrap_or(u32::MAX),
            wrapup_secs: m
                .wrapup_secs
                .map(|w| u32::try_from(w.max(0)).unwrap_or(u32::MAX)),
        })
        .collect();
    Ok(cfg)
}

/// The engine's view of a stored agent profile.
pub fn agent_config(a: &AgentProfile) -> AgentConfig {
    AgentConfig {
        id: AgentId(a.user_id.get() as u64),
        skills: a
            .skills
            .iter()
            .map(|(k, v)| (k.clone(), clamp_u8(*v)))
            .collect(),
        capacity: Capacity {
            voice: clamp_u8(a.voice_capacity),
            chat: clamp_u8(a.chat_capacity),
        },
        block_chats_during_call: a.block_chats_during_call,
        ..AgentConfig::new(AgentId(a.user_id.get() as u64))
    }
}

/// The engine's presence for a stored profile (inactive members are offline).
pub fn presence_of(a: &AgentProfile) -> Presence {
    match (a.active, a.presence.as_str()) {
        (false, _) => Presence::Offline,
        (true, "available") => Presence::Available,
        (true, "away") => Presence::Away {
            reason: a.away_reason.clone().unwrap_or_default(),
        },
        _ => Presence::Offline,
    }
}

fn new_contact(c: &RoutedContact) -> NewContact {
    NewContact {
        id: ContactId(c.id as u64),
        tenant: super::model::TenantId(c.tenant_id),
        medium: if c.medium == "voice" {
            Medium::Voice
        } else {
            Medium::Chat
        },
        channel: c.channel.clone(),
        queue: QueueId(c.queue_id as u64),
        priority: clamp_u8(c.priority),
        required_skills: serde_json::from_str::<BTreeMap<String, i64>>(&c.required_skills)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, clamp_u8(v)))
            .collect(),
        enqueued_at: ts(c.enqueued_at),
        joined_at: Some(ts(c.joined_at)),
        callback: c.callback,
    }
}

impl RoutingService {
    /// A service over `store`; tenants load lazily.
    pub fn new(store: Store, events: crate::inbox::EventHub) -> Self {
        let (notices, _) = broadcast::channel(1024);
        RoutingService(Arc::new(Shared {
            store,
            events,
            tenants: StdMutex::new(HashMap::new()),
            notices,
            wake: Notify::new(),
        }))
    }

    /// Every routing decision, as it is executed.
    pub fn subscribe(&self) -> broadcast::Receiver<RoutingNotice> {
        self.0.notices.subscribe()
    }

    async fn router(&self, tenant: TenantId) -> Result<Arc<Mutex<TenantRouter>>, RoutingError> {
        if let Some(r) = self
            .0
            .tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
        {
            return Ok(r.clone());
        }
        let (router, commands, stale) = self.load(tenant).await?;
        let entry = {
            let mut map = self.0.tenants.lock().unwrap_or_else(|p| p.into_inner());
            // Another request may have loaded it meanwhile; the first one wins.
            if let Some(existing) = map.get(&tenant) {
                return Ok(existing.clone());
            }
            let entry = Arc::new(Mutex::new(router));
            map.insert(tenant, entry.clone());
            entry
        };
        // Only the load that won ends what it found stale: a losing one may have read the
        // contacts before a hold was taken through the winner.
        for contact in stale {
            if let Err(e) =
                store::routed_contacts::mark_ended(&self.0.store, tenant, contact, "ended").await
            {
                tracing::warn!(tenant.id = %tenant, contact, error = %e, "stale contact not ended");
            }
        }
        let pending = {
            let mut r = entry.lock().await;
            self.execute(tenant, &mut r, commands).await?
        };
        self.0.wake.notify_one();
        all_stored(pending).await?;
        Ok(entry)
    }

    /// Rebuilds a tenant's engine from the store; also returns the stored contacts that cannot
    /// be taken up (to be ended).
    async fn load(
        &self,
        tenant: TenantId,
    ) -> Result<(TenantRouter, Vec<Command>, Vec<i64>), RoutingError> {
        let store = &self.0.store;
        let mut engine = Engine::new(tenant.get() as u64 ^ 0x5eed);
        let now = now_ts();
        let mut commands = Vec::new();
        let mut stale = Vec::new();
        for a in store::agents::list_agents(store, tenant).await? {
            commands.extend(engine.handle(
                Event::AgentAdded {
                    agent: agent_config(&a),
                    presence: presence_of(&a),
                },
                now,
            ));
        }
        for q in store::queues::list_queues(store, tenant).await? {
            commands.extend(engine.handle(Event::QueueConfigured(queue_config(&q)?), now));
        }
        for c in store::routed_contacts::list_live_contacts(store, tenant).await? {
            match (c.status.as_str(), c.agent_id) {
                _ if c.channel == CONSULTATION_CHANNEL => stale.push(c.id),
                ("connected", Some(agent)) => {
                    if !engine.resume_connected(new_contact(&c), AgentId(agent as u64), now) {
                        // Its agent or queue is gone: the contact cannot be resumed.
                        stale.push(c.id);
                    }
                }
                _ => commands.extend(engine.handle(Event::ContactEnqueued(new_contact(&c)), now)),
            }
        }
        tracing::info!(tenant.id = %tenant, "routing engine loaded");
        Ok((
            TenantRouter {
                engine,
                offers: HashMap::new(),
            },
            commands,
            stale,
        ))
    }

    /// Applies one event for a tenant and executes the resulting commands.
    pub async fn apply(
        &self,
        tenant: TenantId,
        event: Event,
    ) -> Result<Vec<Command>, RoutingError> {
        let router = self.router(tenant).await?;
        let mut r = router.lock().await;
        let commands = r.engine.handle(event, now_ts());
        let pending = self.execute(tenant, &mut r, commands.clone()).await?;
        drop(r);
        self.0.wake.notify_one();
        all_stored(pending).await?;
        Ok(commands)
    }

    async fn execute(
        &self,
        tenant: TenantId,
        r: &mut TenantRouter,
        commands: Vec<Command>,
    ) -> Result<Vec<Queued>, RoutingError> {
        let store = &self.0.store;
        let mut pending = Vec::new();
        for command in commands {
            match &command {
                Command::Offer {
                    contact,
                    agents,
                    deadline,
                } => {
                    r.offers.insert(*contact, (agents.clone(), *deadline));
                }
                Command::WithdrawOffers { contact, agents } => {
                    if let Some((offered, _)) = r.offers.get_mut(contact) {
                        offered.retain(|a| !agents.contains(a));
                        if offered.is_empty() {
                            r.offers.remove(contact);
                        }
                    }
                }
                // Its row changes with its event (see `publish`).
                Command::Assigned { contact, .. } => {
                    r.offers.remove(contact);
                }
                Command::AnnouncePosition { .. } => {}
                Command::Overflow {
                    contact,
                    target,
                    keeps_waiting,
                    ..
                } => {
                    r.offers.remove(contact);
                    match target {
                        OverflowTarget::Queue { queue } => {
                            store::routed_contacts::mark_moved(
                                store,
                                tenant,
                                contact.0 as i64,
                                queue.0 as i64,
                            )
                            .await?
                        }
                        _ if *keeps_waiting => {}
                        _ => {
                            store::routed_contacts::mark_ended(
                                store,
                                tenant,
                                contact.0 as i64,
                                "overflowed",
                            )
                            .await?
                        }
                    }
                }
                Command::Rejected { contact, .. } => {
                    r.offers.remove(contact);
                    store::routed_contacts::mark_ended(store, tenant, contact.0 as i64, "rejected")
                        .await?;
                }
                Command::AgentAutoPaused { agent } => {
                    store::agents::set_presence(
                        store,
                        tenant,
                        UserId(agent.0 as i64),
                        "away",
                        Some(super::AUTOPAUSE_REASON),
                    )
                    .await?;
                }
            }
            self.publish(tenant, &command, &mut pending);
            let medium = command.contact().and_then(|c| r.engine.medium(c));
            // Nobody listening is fine: the decision is already persisted.
            let _ = self.0.notices.send(RoutingNotice {
                tenant,
                command,
                medium,
            });
        }
        Ok(pending)
    }

    /// Puts a decision on the tenant's event stream (agents' inboxes, supervisors' views), in
    /// order with every other event. The router is not held while it is stored (that took a
    /// database round trip per event under the tenant's lock, and kept the events of
    /// concurrent calls from sharing statements): callers wait for `pending` once they let
    /// go of it, so an answer still comes after its events are in the log.
    fn publish(&self, tenant: TenantId, command: &Command, pending: &mut Vec<Queued>) {
        let ev = &self.0.events;
        match command {
            Command::Offer {
                contact,
                agents,
                deadline,
            } => {
                for a in agents {
                    let payload = serde_json::json!({"contact_id": contact.0, "agent_id": a.0, "deadline": to_utc(*deadline)});
                    pending.push(ev.queue(tenant, "offer", Some(a.0 as i64), payload));
                }
            }
            Command::WithdrawOffers { contact, agents } => {
                for a in agents {
                    let payload = serde_json::json!({"contact_id": contact.0, "agent_id": a.0});
                    pending.push(ev.queue(tenant, "offer_withdrawn", Some(a.0 as i64), payload));
                }
            }
            Command::Assigned { contact, agent } => {
                pending.push(ev.queue_with_contact(
                    tenant,
                    "assigned",
                    None,
                    serde_json::json!({"contact_id": contact.0, "agent_id": agent.0}),
                    ContactChange::Connected {
                        id: contact.0 as i64,
                        agent: agent.0 as i64,
                    },
                ));
            }
            Command::Overflow {
                contact,
                target,
                reason,
                keeps_waiting,
            } => {
                let payload = serde_json::json!({"contact_id": contact.0, "target": target, "reason": reason, "keeps_waiting": keeps_waiting});
                pending.push(ev.queue(tenant, "overflow", None, payload));
            }
            Command::Rejected { contact, reason } => {
                pending.push(ev.queue(
                    tenant,
                    "rejected",
                    None,
                    serde_json::json!({"contact_id": contact.0, "reason": reason}),
                ));
            }
            Command::AgentAutoPaused { agent } => {
                let payload = serde_json::json!({"user_id": agent.0, "state": "away", "reason": super::AUTOPAUSE_REASON});
                pending.push(ev.queue(tenant, "presence", None, payload));
            }
            // Position announcements are for the waiting customer (voice prompt, chat message),
            // not for the agents' stream.
            Command::AnnouncePosition { .. } => {}
        }
    }

    /// Persists a new contact, then queues it. Returns its state (position and wait).
    pub async fn enqueue(
        &self,
        tenant: TenantId,
        c: NewRoutedContact<'_>,
    ) -> Result<ContactState, RoutingError> {
        let stored =
            store::routed_contacts::insert_routed_contact(&self.0.store, tenant, c).await?;
        self.enqueue_stored(tenant, &stored).await
    }

    /// Queues a contact already persisted (by a caller that had to link it first).
    pub async fn enqueue_stored(
        &self,
        tenant: TenantId,
        stored: &RoutedContact,
    ) -> Result<ContactState, RoutingError> {
        self.apply(tenant, Event::ContactEnqueued(new_contact(stored)))
            .await?;
        self.contact_state(tenant, stored.id).await
    }

    /// A call outside routing takes `agent`'s voice capacity as a routed call would, until it
    /// ends (into wrap-up like any other), counted in `queue`. For a call the agent places
    /// themselves (click-to-call) an agent with an offer ringing is refused as on a call. A
    /// call picked up on their phone (a transfer, a colleague's consultation) is a fact: a
    /// queue call ringing them meanwhile goes on to the next agent at once (counted as
    /// declined by them, who chose the other call); a chat offer stands.
    pub async fn hold_desk(
        &self,
        tenant: TenantId,
        agent: i64,
        queue: i64,
        why: DeskHold,
    ) -> Result<HoldOutcome, RoutingError> {
        let store = &self.0.store;
        let router = self.router(tenant).await?;
        let mut r = router.lock().await;
        let id = AgentId(agent as u64);
        // The offer to give up for the call picked up instead, if any.
        let give_up = match r.engine.agent_state(id) {
            // Signed out of routing: offered nothing, so nothing to hold.
            None => return Ok(HoldOutcome::NotRouted),
            Some(s) if s.voice_contacts > 0 => return Ok(HoldOutcome::OnACall),
            Some(s) => match s.offered {
                Some(_) if why == DeskHold::Outbound => return Ok(HoldOutcome::OnACall),
                Some(c) if r.engine.medium(c) == Some(Medium::Voice) => Some(c),
                _ => None,
            },
        };
        let stored = store::routed_contacts::insert_connected(
            store,
            tenant,
            NewRoutedContact {
                queue_id: queue,
                medium: "voice",
                channel: why.channel(),
                priority: 5,
                required_skills: "{}",
                enqueued_at: Utc::now(),
                callback: false,
            },
            agent,
        )
        .await?;
        // Busy first, so that the offer given up below is not followed by another to them.
        if !r
            .engine
            .resume_connected(new_contact(&stored), id, now_ts())
        {
            store::routed_contacts::mark_ended(store, tenant, stored.id, "ended").await?;
            return Ok(HoldOutcome::NotRouted);
        }
        let mut pending = Vec::new();
        if let Some(contact) = give_up {
            let mut commands = vec![Command::WithdrawOffers {
                contact,
                agents: vec![id],
            }];
            commands.extend(
                r.engine
                    .handle(Event::OfferDeclined { contact, agent: id }, now_ts()),
            );
            // The hold stands whatever happens to the offer's bookkeeping: the caller of this
            // has no other way to end it.
            match self.execute(tenant, &mut r, commands).await {
                Ok(queued) => pending = queued,
                Err(e) => {
                    tracing::warn!(tenant.id = %tenant, error = %e, "offer given up for a held agent not stored")
                }
            }
        }
        drop(r);
        self.0.wake.notify_one();
        if let Err(e) = all_stored(pending).await {
            tracing::warn!(tenant.id = %tenant, error = %e, "offer given up for a held agent not logged");
        }
        Ok(HoldOutcome::Held(stored.id))
    }

    /// A consultation's hold becomes a transfer's (the attended transfer was completed): it
    /// lasts as long as the call from now on, across a restart of ours too.
    pub async fn keep_hold(&self, tenant: TenantId, contact: i64) -> Result<(), RoutingError> {
        store::routed_contacts::set_channel(
            &self.0.store,
            tenant,
            contact,
            DeskHold::Transfer.channel(),
        )
        .await?;
        Ok(())
    }

    /// The customer left (hung up, closed the chat): abandoned if waiting, ended if connected.
    pub async fn withdraw(&self, tenant: TenantId, contact: i64) -> Result<(), RoutingError> {
        self.take_out(tenant, contact, true).await
    }

    /// The contact is lost by no choice of the customer's (their Asterisk restarted, or we
    /// ended the call while it waited): `lost` if waiting, not counted as abandoned; ended if
    /// connected.
    pub async fn lose(&self, tenant: TenantId, contact: i64) -> Result<(), RoutingError> {
        self.take_out(tenant, contact, false).await
    }

    async fn take_out(
        &self,
        tenant: TenantId,
        contact: i64,
        abandoned: bool,
    ) -> Result<(), RoutingError> {
        let router = self.router(tenant).await?;
        let r = router.lock().await;
        self.take_out_locked(tenant, r, contact, abandoned).await
    }

    /// [`take_out`](Self::take_out) under a lock already held.
    async fn take_out_locked(
        &self,
        tenant: TenantId,
        mut r: tokio::sync::MutexGuard<'_, TenantRouter>,
        contact: i64,
        abandoned: bool,
    ) -> Result<(), RoutingError> {
        let id = ContactId(contact as u64);
        let outcome = match r.engine.contact(id) {
            Some(ContactView::Assigned { .. }) => "ended",
            Some(_) if abandoned => "abandoned",
            Some(_) => "lost",
            None => return Err(StoreError::NotFound.into()),
        };
        let event = if abandoned {
            Event::ContactWithdrawn { contact: id }
        } else {
            Event::ContactLost { contact: id }
        };
        let commands = r.engine.handle(event, now_ts());
        r.offers.remove(&id);
        self.ended(tenant, r, contact, outcome, commands).await
    }

    /// Carries out the engine's decisions after a contact's end, and stores the end with its
    /// `contact_ended` event (in order with the event, and row change, of its connection).
    async fn ended(
        &self,
        tenant: TenantId,
        mut r: tokio::sync::MutexGuard<'_, TenantRouter>,
        contact: i64,
        outcome: &str,
        commands: Vec<Command>,
    ) -> Result<(), RoutingError> {
        // The end is stored even if a decision that followed fails: the engine has let go of
        // the contact, and a row still live would come back at the next load.
        let (mut pending, failed) = match self.execute(tenant, &mut r, commands).await {
            Ok(pending) => (pending, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let payload = serde_json::json!({"contact_id": contact, "outcome": outcome});
        pending.push(self.0.events.queue_with_contact(
            tenant,
            "contact_ended",
            None,
            payload,
            ContactChange::Ended {
                id: contact,
                outcome: outcome.to_owned(),
            },
        ));
        drop(r);
        let stored = all_stored(pending).await;
        match failed {
            Some(e) => Err(e),
            None => stored,
        }
    }

    /// The connection of an assigned contact could not be made (Asterisk refused to bridge
    /// the caller with the agent who answered): the contact waits again in its original
    /// place and is offered to the next agent; the agent is free at once, without wrap-up.
    pub async fn requeue(&self, tenant: TenantId, contact: i64) -> Result<(), RoutingError> {
        let router = self.router(tenant).await?;
        let mut r = router.lock().await;
        let id = ContactId(contact as u64);
        let Some(ContactView::Assigned { agent, .. }) = r.engine.contact(id) else {
            return Err(StoreError::NotFound.into());
        };
        let commands = r
            .engine
            .handle(Event::ConnectFailed { contact: id }, now_ts());
        // Announced before the offers it leads to, so a view sees them in that order.
        let payload = serde_json::json!({"contact_id": contact, "agent_id": agent.0});
        let mut pending = vec![self.0.events.queue(tenant, "requeued", None, payload)];
        pending.extend(self.execute(tenant, &mut r, commands).await?);
        drop(r);
        self.0.wake.notify_one();
        all_stored(pending).await?;
        self.undo_stored_connection(tenant, contact, agent).await
    }

    /// Sets the row of a contact whose assignment to `agent` was undone back to waiting. Done
    /// last, once the caller's events are stored: the connection travels with the `assigned`
    /// event, which may still be on its way to the database when the assignment is undone
    /// (a queue that assigns without offering); the one writer has stored it once the events
    /// queued after it are. Only this agent's connection is undone: the next agent may have
    /// taken the contact meanwhile.
    async fn undo_stored_connection(
        &self,
        tenant: TenantId,
        contact: i64,
        agent: AgentId,
    ) -> Result<(), RoutingError> {
        match store::routed_contacts::mark_waiting_again(
            &self.0.store,
            tenant,
            contact,
            agent.0 as i64,
        )
        .await
        {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The customer leaves before talking to anyone (`abandoned`: their doing; else lost):
    /// as [`withdraw`](Self::withdraw) or [`lose`](Self::lose) for a waiting contact. One
    /// that routing holds as connected to an agent whose phone has not answered yet (a queue
    /// that assigns without offering) has that assignment undone in the same step: it ends
    /// `abandoned` or `lost`, not answered, is offered to nobody else, and the agent is free
    /// without wrap-up.
    pub async fn leave_unconnected(
        &self,
        tenant: TenantId,
        contact: i64,
        abandoned: bool,
    ) -> Result<(), RoutingError> {
        let router = self.router(tenant).await?;
        let mut r = router.lock().await;
        let id = ContactId(contact as u64);
        let Some(ContactView::Assigned { agent, .. }) = r.engine.contact(id) else {
            return self.take_out_locked(tenant, r, contact, abandoned).await;
        };
        let outcome = if abandoned { "abandoned" } else { "lost" };
        let commands = r.engine.handle(
            Event::UnconnectedLeft {
                contact: id,
                abandoned,
            },
            now_ts(),
        );
        r.offers.remove(&id);
        let mut pending = self.execute(tenant, &mut r, commands).await?;
        let payload = serde_json::json!({"contact_id": contact, "outcome": outcome});
        pending.push(self.0.events.queue(tenant, "contact_ended", None, payload));
        drop(r);
        self.0.wake.notify_one();
        all_stored(pending).await?;
        self.undo_stored_connection(tenant, contact, agent).await?;
        store::routed_contacts::mark_ended(&self.0.store, tenant, contact, outcome).await?;
        Ok(())
    }

    /// A connected contact finished; its agent goes into wrap-up.
    pub async fn end(&self, tenant: TenantId, contact: i64) -> Result<(), RoutingError> {
        let router = self.router(tenant).await?;
        let mut r = router.lock().await;
        if !matches!(
            r.engine.contact(ContactId(contact as u64)),
            Some(ContactView::Assigned { .. })
        ) {
            return Err(StoreError::NotFound.into());
        }
        let commands = r.engine.handle(
            Event::ContactEnded {
                contact: ContactId(contact as u64),
            },
            now_ts(),
        );
        self.ended(tenant, r, contact, "ended", commands).await
    }

    /// Where a contact stands now.
    pub async fn contact_state(
        &self,
        tenant: TenantId,
        contact: i64,
    ) -> Result<ContactState, RoutingError> {
        let router = self.router(tenant).await?;
        let r = router.lock().await;
        let id = ContactId(contact as u64);
        let view = r.engine.contact(id);
        let pos = r.engine.position(id);
        let offered_to = r
            .offers
            .get(&id)
            .map(|(a, _)| a.iter().map(|a| a.0 as i64).collect())
            .unwrap_or_default();
        drop(r);
        // Only a contact the engine no longer holds needs its stored row (its outcome); live
        // ones are asked for on every queued call, so they cost no query.
        let mut outcome = None;
        let (status, queue_id, agent_id) = match view {
            Some(ContactView::Waiting { queue }) => ("waiting", queue.0 as i64, None),
            Some(ContactView::Offered { queue }) => ("offered", queue.0 as i64, None),
            Some(ContactView::Assigned { queue, agent }) => {
                ("connected", queue.0 as i64, Some(agent.0 as i64))
            }
            None => {
                let stored =
                    store::routed_contacts::find_routed_contact(&self.0.store, tenant, contact)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                outcome = stored.outcome;
                ("ended", stored.queue_id, stored.agent_id)
            }
        };
        Ok(ContactState {
            id: contact,
            status: status.into(),
            queue_id,
            agent_id,
            position: pos.map(|p| p.position),
            ewt_secs: pos.map(|p| p.ewt_secs),
            waited_secs: pos.map(|p| p.waited_secs),
            offered_to,
            outcome,
        })
    }

    /// The outstanding offer of a contact to an agent, if any (with its deadline).
    pub async fn offer_deadline(
        &self,
        tenant: TenantId,
        contact: i64,
        agent: i64,
    ) -> Option<DateTime<Utc>> {
        let router = self.router(tenant).await.ok()?;
        let r = router.lock().await;
        let (agents, deadline) = r.offers.get(&ContactId(contact as u64))?;
        agents
            .contains(&AgentId(agent as u64))
            .then(|| to_utc(*deadline))
    }

    /// Live statistics and the waiting contacts of a queue.
    pub async fn live(
        &self,
        tenant: TenantId,
        queue: i64,
    ) -> Result<Option<(QueueStats, Vec<ContactState>)>, RoutingError> {
        let router = self.router(tenant).await?;
        let r = router.lock().await;
        let Some(stats) = r.engine.queue_stats(QueueId(queue as u64)) else {
            return Ok(None);
        };
        let mut waiting: Vec<ContactState> = r
            .engine
            .snapshot()
            .into_iter()
            .filter(|c| c.queue == QueueId(queue as u64))
            .filter_map(|c| {
                let p = r.engine.position(c.id)?;
                let offered = r
                    .offers
                    .get(&c.id)
                    .map(|(a, _)| a.iter().map(|a| a.0 as i64).collect())
                    .unwrap_or_default();
                Some(ContactState {
                    id: c.id.0 as i64,
                    status:
                        if matches!(r.engine.contact(c.id), Some(ContactView::Offered { .. })) {
                            "offered"
                        } else {
                            "waiting"
                        }
                        .into(),
                    queue_id: queue,
                    agent_id: None,
                    position: Some(p.position),
                    ewt_secs: Some(p.ewt_secs),
                    waited_secs: Some(p.waited_secs),
                    offered_to: offered,
                    outcome: None,
                })
            })
            .collect();
        waiting.sort_by_key(|c| c.position);
        Ok(Some((stats, waiting)))
    }

    /// Whether any member of the queue is logged in (available, ringing, busy or in wrap-up):
    /// what a customer may be told before waiting in it. Errors count as nobody.
    pub async fn queue_staffed(&self, tenant: TenantId, queue: i64) -> bool {
        let router = match self.router(tenant).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(tenant.id = %tenant, error = %e, "routing state unavailable");
                return false;
            }
        };
        let r = router.lock().await;
        r.engine
            .queue_stats(QueueId(queue as u64))
            .is_some_and(|stats| {
                stats.agents.available
                    + stats.agents.busy
                    + stats.agents.ringing
                    + stats.agents.wrapup
                    > 0
            })
    }

    /// What each of these agents is doing now (unknown agents are left out).
    pub async fn agent_states(
        &self,
        tenant: TenantId,
        agents: &[i64],
    ) -> Result<Vec<(i64, AgentState)>, RoutingError> {
        let router = self.router(tenant).await?;
        let r = router.lock().await;
        Ok(agents
            .iter()
            .filter_map(|&a| Some((a, r.engine.agent_state(AgentId(a as u64))?)))
            .collect())
    }

    /// Re-reads a queue from the store (after an admin change) and reconfigures or removes it.
    pub async fn queue_changed(&self, tenant: TenantId, queue: i64) -> Result<(), RoutingError> {
        let event = match store::queues::find_queue(&self.0.store, tenant, queue).await? {
            Some(q) => Event::QueueConfigured(queue_config(&q)?),
            None => Event::QueueRemoved {
                queue: QueueId(queue as u64),
            },
        };
        self.apply(tenant, event).await.map(|_| ())
    }

    /// Re-reads an agent from the store (after an admin change) and updates, adds or removes it.
    pub async fn agent_changed(&self, tenant: TenantId, user: UserId) -> Result<(), RoutingError> {
        let event = match store::agents::find_agent(&self.0.store, tenant, user).await? {
            Some(a) => Event::AgentAdded {
                agent: agent_config(&a),
                presence: presence_of(&a),
            },
            None => Event::AgentRemoved {
                agent: AgentId(user.get() as u64),
            },
        };
        self.apply(tenant, event).await.map(|_| ())
    }

    /// Fires due timers (offer expiry, max wait, wrap-up ends, announcements) until `stop`.
    pub async fn run_timers(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut today = Utc::now().date_naive();
        loop {
            // "Today" for fewest_contacts and the service-level figures ends at midnight UTC
            // (per-tenant time zones arrive with business hours).
            let date = Utc::now().date_naive();
            if date != today {
                today = date;
                let tenants: Vec<TenantId> = self
                    .0
                    .tenants
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .keys()
                    .copied()
                    .collect();
                for tenant in tenants {
                    if let Err(e) = self.apply(tenant, Event::DailyReset).await {
                        tracing::error!(tenant.id = %tenant, error = %e, "daily routing reset failed");
                    }
                }
            }
            let routers: Vec<(TenantId, Arc<Mutex<TenantRouter>>)> = self
                .0
                .tenants
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(t, r)| (*t, r.clone()))
                .collect();
            let now = now_ts();
            let mut next: Option<Timestamp> = None;
            for (tenant, router) in routers {
                let due = router.lock().await.engine.next_deadline();
                match due {
                    Some(d) if d <= now => {
                        if let Err(e) = self.apply(tenant, Event::Tick).await {
                            tracing::error!(tenant.id = %tenant, error = %e, "routing tick failed");
                        }
                        next = Some(now);
                    }
                    Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                    None => {}
                }
            }
            // Sleep until the earliest deadline (at most a second, so day changes and
            // leave-empty checks still happen), or until an event changes the deadlines.
            let wait_ms = next.map_or(1000, |n| n.0.saturating_sub(now_ts().0).clamp(0, 1000));
            tokio::select! {
                _ = &mut stop => return,
                _ = self.0.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            }
        }
    }
}

/// Waits until events handed to the writer are stored (in order, so the last one would do;
/// each is awaited to report the first failure).
async fn all_stored(pending: Vec<Queued>) -> Result<(), RoutingError> {
    for event in pending {
        event.stored().await?;
    }
    Ok(())
}
