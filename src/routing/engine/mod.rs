//! The routing engine: a pure state machine `(state, event, now) -> commands`.
//!
//! This file owns the [`Engine`] type and turns each [`Event`] into state changes;
//! `dispatch.rs` decides who gets offered what, `query.rs` answers on-demand questions
//! (position, statistics, snapshot, invariants) and `state.rs` holds the bookkeeping.
//!
//! Time: every call passes `now`; the engine never reads a clock. Timers (offer expiry,
//! max wait, end of wrap-up, end of a retry window, announcements) are processed at the
//! start of every `handle` call whose `now` has reached them, so offers expire on the next
//! event or [`Event::Tick`] after their deadline; [`Engine::next_deadline`] tells the
//! adapter when to send that Tick. There is no `OfferTimedOut` event.

mod dispatch;
#[cfg(test)]
mod proptests;
mod query;
mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::model::{
    AgentConfig, AgentId, Command, ContactId, Event, Medium, NewContact, OverflowReason, Presence,
    QueueConfig, QueueId, Timestamp,
};
use super::strategy::Candidate;
use state::{AgentSt, ClassSt, ContactSt, ContactTable, IdMap, QueueSt, Status, Timer, Work};

pub use query::{AgentState, ContactView};

/// Reason given to an agent the engine set away after too many missed offers.
pub const AUTOPAUSE_REASON: &str = "autopause";

/// Overflow moves between queues allowed for one contact in one decision before it is
/// rejected as a loop.
const MAX_OVERFLOW_HOPS: u8 = 8;

/// The routing engine for one tenant (or any set of queues that share agents).
#[derive(Debug)]
pub struct Engine {
    rng: SmallRng,
    now: Timestamp,
    contacts: ContactTable,
    agents: Vec<AgentSt>,
    agent_index: IdMap<AgentId, u32>,
    queues: Vec<Option<QueueSt>>,
    queue_index: IdMap<QueueId, u32>,
    classes: Vec<ClassSt>,
    /// Class key: `(u16::MAX, medium)` followed by the sorted (skill, minimum) pairs.
    class_index: IdMap<Vec<(u16, u8)>, u32>,
    skill_index: IdMap<String, u16>,
    skill_names: Vec<String>,
    channel_index: IdMap<String, u16>,
    channel_names: Vec<String>,
    scratch_key: Vec<(u16, u8)>,
    timers: BTreeSet<(Timestamp, Timer)>,
    work: Vec<Work>,
    out: Vec<Command>,
    scratch_cands: Vec<Candidate>,
    scratch_pick: Vec<u32>,
}

impl Engine {
    /// An empty engine whose random strategies draw from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_rng(SmallRng::seed_from_u64(seed))
    }

    /// An empty engine drawing from the given generator (`random`, `weighted_random`).
    pub fn with_rng(rng: SmallRng) -> Self {
        Engine {
            rng,
            now: Timestamp(i64::MIN),
            contacts: ContactTable::default(),
            agents: Vec::new(),
            agent_index: IdMap::default(),
            queues: Vec::new(),
            queue_index: IdMap::default(),
            classes: Vec::new(),
            class_index: IdMap::default(),
            skill_index: IdMap::default(),
            skill_names: Vec::new(),
            channel_index: IdMap::default(),
            channel_names: Vec::new(),
            scratch_key: Vec::new(),
            timers: BTreeSet::new(),
            work: Vec::new(),
            out: Vec::new(),
            scratch_cands: Vec::new(),
            scratch_pick: Vec::new(),
        }
    }

    /// Applies one event at time `now` and returns what the adapter must do, in order.
    ///
    /// `now` never moves the engine's clock backwards: an earlier value is treated as the
    /// latest one seen. Events naming unknown contacts, agents or queues are ignored
    /// (they are usually late duplicates), except a contact enqueued to an unknown queue,
    /// which is rejected with `unknown_queue`.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Command> {
        if now > self.now {
            self.now = now;
        }
        self.fire_timers();
        match event {
            Event::ContactEnqueued(c) => self.on_enqueued(c),
            Event::ContactWithdrawn { contact } => self.on_withdrawn(contact, true),
            Event::ContactLost { contact } => self.on_withdrawn(contact, false),
            Event::OfferAccepted { contact, agent } => self.on_accepted(contact, agent),
            Event::OfferDeclined { contact, agent } => self.on_declined(contact, agent),
            Event::ConnectFailed { contact } => {
                if let Some(a) = self.unassign(contact) {
                    self.pass_over(contact, a);
                    self.work.push(Work::Contact(contact));
                }
            }
            Event::UnconnectedLeft { contact, abandoned } => {
                if self.unassign(contact).is_some() {
                    self.on_withdrawn(contact, abandoned);
                }
            }
            Event::ContactEnded { contact } => self.on_ended(contact),
            Event::AgentPresenceChanged { agent, presence } => self.on_presence(agent, presence),
            Event::AgentAdded { agent, presence } => self.on_agent_added(agent, presence),
            Event::AgentUpdated(cfg) => self.on_agent_updated(cfg),
            Event::AgentRemoved { agent } => self.on_agent_removed(agent),
            Event::QueueConfigured(cfg) => self.on_queue_configured(cfg),
            Event::QueueRemoved { queue } => self.on_queue_removed(queue),
            Event::QueueOpenChanged { queue, open } => {
                // Closing only affects arrivals: contacts already waiting keep being served.
                if let Some(q) = self.queue_mut_by_id(queue) {
                    q.cfg.open = open;
                }
            }
            Event::Tick => self.check_leave_empty(),
            Event::DailyReset => {
                for q in self.queues.iter_mut().flatten() {
                    q.handled.clear();
                    q.counters = state::Counters::default();
                }
            }
        }
        self.settle();
        std::mem::take(&mut self.out)
    }

    /// Restores a contact that was already connected to `agent` before a restart, so it
    /// counts against the agent's capacity until its `ContactEnded`. Returns false if the
    /// contact id is already known or the agent or queue is unknown.
    pub fn resume_connected(
        &mut self,
        contact: NewContact,
        agent: AgentId,
        now: Timestamp,
    ) -> bool {
        if now > self.now {
            self.now = now;
        }
        let (Some(&a), Some(&q)) = (
            self.agent_index.get(&agent),
            self.queue_index.get(&contact.queue),
        ) else {
            return false;
        };
        if self.contacts.contains_key(&contact.id) {
            return false;
        }
        let class = self.intern_class(contact.medium, &contact.required_skills);
        let m = contact.medium.index();
        let info = self.compact(&contact);
        let st = ContactSt {
            queue: q,
            class,
            priority: contact.priority.min(9),
            joined_at: contact.joined_at.unwrap_or(self.now),
            status: Status::Assigned {
                agent: a,
                at: self.now,
                counted: false,
            },
            offers: Vec::new(),
            deadline: self.now,
            missed: Vec::new(),
            linear_next: 0,
            max_wait_at: None,
            next_announce: None,
            info,
        };
        self.contacts.insert(st.info.id, st);
        let ag = &mut self.agents[a as usize];
        ag.active[m] = ag.active[m].saturating_add(1);
        self.refresh_agent(a);
        true
    }

    fn queue_mut_by_id(&mut self, id: QueueId) -> Option<&mut QueueSt> {
        let &q = self.queue_index.get(&id)?;
        self.queues.get_mut(q as usize)?.as_mut()
    }

    fn on_enqueued(&mut self, c: NewContact) {
        // Idempotent: a re-sent enqueue for a known contact changes nothing.
        if self.contacts.contains_key(&c.id) {
            return;
        }
        self.admit(c, 0);
    }

    /// A waiting contact leaves the queue (`abandoned`: the customer gave up, counted as
    /// such); a connected one ends.
    fn on_withdrawn(&mut self, id: ContactId, abandoned: bool) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        if matches!(c.status, Status::Assigned { .. }) {
            self.on_ended(id);
            return;
        }
        if let Some(c) = self.remove_waiting(id)
            && abandoned
            && let Some(q) = self.queues[c.queue as usize].as_mut()
        {
            q.counters.abandoned += 1;
        }
    }

    pub(super) fn on_accepted(&mut self, id: ContactId, agent: AgentId) {
        let Some(&a) = self.agent_index.get(&agent) else {
            return;
        };
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        if c.status != Status::Offered || !c.offers.contains(&a) {
            return; // too late: expired, withdrawn or won by someone else
        }
        let medium = c.info.medium;
        if !self.agents[a as usize].has_room(medium) {
            // Capacity was lowered while ringing: treat as a decline, never overfill.
            self.on_declined(id, agent);
            return;
        }
        let others: Vec<u32> = c.offers.iter().copied().filter(|&o| o != a).collect();
        // Freed now, while hot, rather than when the contact ends.
        c.offers = Vec::new();
        c.status = Status::Assigned {
            agent: a,
            at: self.now,
            counted: true,
        };
        let (q, key, deadline, enq) = (c.queue, c.key(), c.deadline, c.info.enqueued_at);
        self.timers.remove(&(deadline, Timer::OfferExpiry(id)));
        if !others.is_empty() {
            self.withdraw_agents(id, &others);
        }
        let now = self.now;
        if let Some(qs) = self.queues[q as usize].as_mut() {
            qs.waiting.remove(&key);
            qs.counters.answered += 1;
            if qs.within_sl(enq, now) {
                qs.counters.within_sl += 1;
            }
        }
        let ag = &mut self.agents[a as usize];
        ag.offer = None;
        ag.active[medium.index()] = ag.active[medium.index()].saturating_add(1);
        ag.missed_in_a_row = 0;
        self.refresh_agent(a);
        self.out.push(Command::Assigned { contact: id, agent });
    }

    fn on_declined(&mut self, id: ContactId, agent: AgentId) {
        let Some(&a) = self.agent_index.get(&agent) else {
            return;
        };
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        if c.status != Status::Offered || !c.offers.contains(&a) {
            return;
        }
        // A decline is a deliberate answer: it opens the retry window but does not count
        // toward autopause, which is about unanswered offers.
        self.drop_offer(id, a, true);
    }

    /// Undoes an assignment the adapter could not carry out: the contact waits again under
    /// its original key (so its place in the queue), the answer is taken back from the day's
    /// figures, and the agent is free again without wrap-up. Returns the agent, or None if
    /// the contact is not assigned.
    fn unassign(&mut self, id: ContactId) -> Option<u32> {
        let now = self.now;
        let c = self.contacts.get_mut(&id)?;
        let Status::Assigned {
            agent: a,
            at,
            counted,
        } = c.status
        else {
            return None;
        };
        c.status = Status::Ready;
        let (q, class, medium, key, enq) =
            (c.queue, c.class, c.info.medium, c.key(), c.info.enqueued_at);
        // Timers that came due while it was connected were dropped: arm them again, no
        // earlier than now.
        if let Some(t) = c.max_wait_at {
            let t = t.max(now);
            c.max_wait_at = Some(t);
            self.timers.insert((t, Timer::MaxWait(id)));
        }
        if let Some(t) = c.next_announce {
            let t = t.max(now);
            c.next_announce = Some(t);
            self.timers.insert((t, Timer::Announce(id)));
        }
        if let Some(qs) = self.queues[q as usize].as_mut() {
            qs.waiting.insert(key);
            qs.ready_insert(class, medium, key);
            if counted {
                qs.counters.answered = qs.counters.answered.saturating_sub(1);
                if qs.within_sl(enq, at) {
                    qs.counters.within_sl = qs.counters.within_sl.saturating_sub(1);
                }
            }
        }
        let ag = &mut self.agents[a as usize];
        ag.active[medium.index()] = ag.active[medium.index()].saturating_sub(1);
        self.refresh_agent(a);
        self.work.push(Work::Agent(a));
        Some(a)
    }

    fn on_ended(&mut self, id: ContactId) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        let Status::Assigned { agent: a, at, .. } = c.status else {
            // Ended while still waiting: the customer left.
            self.on_withdrawn(id, true);
            return;
        };
        let (m, queue) = (c.info.medium.index(), c.queue);
        self.contacts.discard(&id);
        let now = self.now;
        let mut wrapup = 0;
        if let Some(q) = self.queues.get_mut(queue as usize).and_then(Option::as_mut) {
            q.record_handle(now.since(at));
            if q.handled.len() <= a as usize {
                q.handled.resize(a as usize + 1, 0);
            }
            q.handled[a as usize] = q.handled[a as usize].saturating_add(1);
            // Precedence: the member's override, then the agent's, then the queue's.
            wrapup = q
                .member(a)
                .and_then(|mem| mem.wrapup)
                .or(self.agents[a as usize].wrapup_override)
                .unwrap_or(q.cfg.wrapup_secs);
        }
        let ag = &mut self.agents[a as usize];
        if ag.removed {
            return;
        }
        ag.active[m] = ag.active[m].saturating_sub(1);
        ag.last_ended[m] = Some(now);
        if wrapup > 0 {
            let until = now.plus_secs(wrapup).max(ag.wrapup_until);
            ag.wrapup_until = until;
            self.timers.insert((until, Timer::WrapupEnd(a)));
        }
        self.refresh_agent(a);
    }

    fn on_presence(&mut self, agent: AgentId, presence: Presence) {
        let Some(&a) = self.agent_index.get(&agent) else {
            return;
        };
        self.set_presence(a, presence);
        self.work.push(Work::Agent(a));
    }

    fn set_presence(&mut self, a: u32, presence: Presence) {
        let ag = &mut self.agents[a as usize];
        ag.presence = presence;
        ag.missed_in_a_row = 0;
        if ag.presence != Presence::Available
            && let Some(c) = ag.offer
        {
            // Stepping away while ringing withdraws the offer without counting a miss.
            self.drop_offer(c, a, false);
            self.out.push(Command::WithdrawOffers {
                contact: c,
                agents: vec![self.agents[a as usize].id],
            });
        }
        self.refresh_agent(a);
    }

    fn on_agent_added(&mut self, cfg: AgentConfig, presence: Presence) {
        if let Some(&a) = self.agent_index.get(&cfg.id) {
            self.on_agent_updated(cfg);
            self.set_presence(a, presence);
            return;
        }
        let a = self.agents.len() as u32;
        let id = cfg.id;
        self.agents.push(AgentSt {
            id,
            skills: Vec::new(),
            capacity: [0, 0],
            block_chats: false,
            presence,
            wrapup_until: Timestamp(i64::MIN),
            wrapup_override: None,
            active: [0, 0],
            offer: None,
            missed: Vec::new(),
            missed_in_a_row: 0,
            last_ended: [None, None],
            queues: Vec::new(),
            removed: false,
            free: [false, false],
        });
        self.agent_index.insert(id, a);
        self.apply_agent_config(a, &cfg);
        let wanted: Vec<u32> = self
            .queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.as_ref().map(|q| (i, q)))
            .filter(|(_, q)| q.cfg.members.iter().any(|m| m.agent == id))
            .map(|(i, _)| i as u32)
            .collect();
        for q in wanted {
            self.rebuild_members(q);
        }
        self.refresh_agent(a);
        self.work.push(Work::Agent(a));
    }

    fn on_agent_updated(&mut self, cfg: AgentConfig) {
        let Some(&a) = self.agent_index.get(&cfg.id) else {
            return;
        };
        self.apply_agent_config(a, &cfg);
        self.refresh_agent(a);
        self.work.push(Work::Agent(a));
    }

    fn apply_agent_config(&mut self, a: u32, cfg: &AgentConfig) {
        let mut skills = Vec::new();
        for (name, &level) in &cfg.skills {
            let s = usize::from(self.intern_skill(name));
            if skills.len() <= s {
                skills.resize(s + 1, 0);
            }
            skills[s] = level.clamp(1, 10);
        }
        let ag = &mut self.agents[a as usize];
        ag.skills = skills;
        ag.capacity = [cfg.capacity.voice, cfg.capacity.chat];
        ag.block_chats = cfg.block_chats_during_call;
        ag.wrapup_override = cfg.wrapup_secs;
        let ag = &self.agents[a as usize];
        for class in &mut self.classes {
            class.qualified.set(a, ag.qualifies(&class.reqs));
        }
    }

    fn on_agent_removed(&mut self, agent: AgentId) {
        let Some(a) = self.agent_index.remove(&agent) else {
            return;
        };
        if let Some(c) = self.agents[a as usize].offer {
            self.drop_offer(c, a, false);
            self.out.push(Command::WithdrawOffers {
                contact: c,
                agents: vec![agent],
            });
        }
        self.agents[a as usize].removed = true;
        let queues = std::mem::take(&mut self.agents[a as usize].queues);
        for q in queues {
            self.rebuild_members(q);
        }
        for class in &mut self.classes {
            class.qualified.set(a, false);
        }
    }

    fn on_queue_configured(&mut self, cfg: QueueConfig) {
        let q = match self.queue_index.get(&cfg.id) {
            Some(&q) => {
                let Some(qs) = self.queues[q as usize].as_mut() else {
                    return;
                };
                let strategy_changed = qs.cfg.strategy != cfg.strategy;
                let timing_changed = qs.cfg.max_wait_secs != cfg.max_wait_secs
                    || qs.cfg.announce_position_secs != cfg.announce_position_secs;
                qs.cfg = cfg;
                if strategy_changed {
                    qs.rr_last = None;
                }
                if timing_changed {
                    self.reschedule_queue_timers(q);
                }
                q
            }
            None => {
                let q = self.queues.len() as u32;
                self.queue_index.insert(cfg.id, q);
                self.queues.push(Some(QueueSt::new(cfg)));
                q
            }
        };
        self.rebuild_members(q);
        self.work.push(Work::Queue(q));
    }

    fn reschedule_queue_timers(&mut self, q: u32) {
        let Some(qs) = self.queues[q as usize].as_ref() else {
            return;
        };
        let (max_wait, announce) = (qs.cfg.max_wait_secs, qs.cfg.announce_position_secs);
        let ids: Vec<ContactId> = qs.waiting.iter().map(|k| k.2).collect();
        for id in ids {
            let Some(c) = self.contacts.get_mut(&id) else {
                continue;
            };
            c.max_wait_at = max_wait.map(|s| c.joined_at.plus_secs(s));
            c.next_announce = announce.filter(|&s| s > 0).map(|s| self.now.plus_secs(s));
            if let Some(t) = c.max_wait_at {
                self.timers.insert((t, Timer::MaxWait(id)));
            }
            if let Some(t) = c.next_announce {
                self.timers.insert((t, Timer::Announce(id)));
            }
        }
    }

    fn on_queue_removed(&mut self, queue: QueueId) {
        let Some(&q) = self.queue_index.get(&queue) else {
            return;
        };
        let waiting: Vec<ContactId> = self.queues[q as usize]
            .as_ref()
            .map(|qs| qs.waiting.iter().map(|k| k.2).collect())
            .unwrap_or_default();
        for id in waiting {
            if self.remove_waiting(id).is_some() {
                self.out.push(Command::Rejected {
                    contact: id,
                    reason: OverflowReason::UnknownQueue,
                });
            }
        }
        if let Some(qs) = self.queues[q as usize].take() {
            for m in qs.members {
                self.agents[m.agent as usize].queues.retain(|&x| x != q);
            }
        }
        self.queue_index.remove(&queue);
    }

    fn intern_skill(&mut self, name: &str) -> u16 {
        if let Some(&s) = self.skill_index.get(name) {
            return s;
        }
        // More than 65,535 distinct skill names is not a real configuration; saturate.
        let s = u16::try_from(self.skill_index.len()).unwrap_or(u16::MAX);
        self.skill_index.insert(name.to_owned(), s);
        if usize::from(s) == self.skill_names.len() {
            self.skill_names.push(name.to_owned());
        }
        s
    }

    /// The compact identity of a contact; channel names are interned (they are a handful
    /// of fixed strings; past 65,535 distinct ones the last slot is shared).
    fn compact(&mut self, c: &NewContact) -> state::ContactInfo {
        let channel = match self.channel_index.get(c.channel.as_str()) {
            Some(&ch) => ch,
            None => {
                let ch = u16::try_from(self.channel_names.len()).unwrap_or(u16::MAX);
                if usize::from(ch) == self.channel_names.len() {
                    self.channel_names.push(c.channel.clone());
                    self.channel_index.insert(c.channel.clone(), ch);
                }
                ch
            }
        };
        state::ContactInfo {
            id: c.id,
            tenant: c.tenant,
            medium: c.medium,
            channel,
            enqueued_at: c.enqueued_at,
            callback: c.callback,
        }
    }

    /// Rebuilds the public description of a known contact (snapshot, overflow moves).
    fn expand(&self, c: &ContactSt) -> NewContact {
        let name = |i: u16| {
            self.skill_names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_default()
        };
        let required_skills = self.classes[c.class as usize]
            .reqs
            .iter()
            .map(|&(s, min)| (name(s), min))
            .collect();
        NewContact {
            id: c.info.id,
            tenant: c.info.tenant,
            medium: c.info.medium,
            channel: self
                .channel_names
                .get(usize::from(c.info.channel))
                .cloned()
                .unwrap_or_default(),
            queue: self.queues[c.queue as usize]
                .as_ref()
                .map_or(QueueId(0), |q| q.cfg.id),
            priority: c.priority,
            required_skills,
            enqueued_at: c.info.enqueued_at,
            joined_at: Some(c.joined_at),
            callback: c.info.callback,
        }
    }

    fn intern_class(
        &mut self,
        medium: Medium,
        required: &std::collections::BTreeMap<String, u8>,
    ) -> u32 {
        // Built in a reused buffer so the common case (a known class) does not allocate.
        let mut key = std::mem::take(&mut self.scratch_key);
        key.clear();
        key.push((u16::MAX, medium.index() as u8));
        for (name, &min) in required {
            let s = self.intern_skill(name);
            key.push((s, min.min(10)));
        }
        key[1..].sort_unstable();
        let c = match self.class_index.get(key.as_slice()) {
            Some(&c) => c,
            None => {
                let mut class = ClassSt {
                    medium,
                    reqs: key[1..].to_vec(),
                    qualified: Default::default(),
                };
                for (a, ag) in self.agents.iter().enumerate() {
                    if !ag.removed && ag.qualifies(&class.reqs) {
                        class.qualified.set(a as u32, true);
                    }
                }
                let c = self.classes.len() as u32;
                self.classes.push(class);
                self.class_index.insert(key.clone(), c);
                c
            }
        };
        self.scratch_key = key;
        c
    }
}
