//! Deciding who gets offered what: admission (closed, full, join-empty, overflow), timers,
//! and the work-conserving settle loop that runs at the end of every `handle` call.
//!
//! The loop works from "dirty" items only, never from a scan of all contacts:
//! - a contact that became offerable re-checks its (medium, skills) class in its queue;
//! - an agent who became free walks, in each of its queues, the short ordered list of
//!   class heads (the first ready contact of each class) for the media it has room for;
//! - a reconfigured queue is dispatched whole, in queue order.
//!
//! "Who could take this?" is a few word ANDs: each queue keeps a bit set of its free
//! members per medium, each class a bit set of the agents whose skills satisfy it.

use std::collections::BTreeSet;

use super::state::{BitSet, ContactSt, MemberSt, NO_SLOT, OrderKey, Status, Timer, Work};
use super::{AUTOPAUSE_REASON, Engine, MAX_OVERFLOW_HOPS};
use crate::routing::model::{
    Command, ContactId, Medium, MemberCondition, NewContact, OverflowReason, OverflowTarget,
    Presence, Strategy,
};
use crate::routing::strategy::{self, Candidate, Cursor};

impl Engine {
    /// Runs every timer due at or before `now`, in time order.
    pub(super) fn fire_timers(&mut self) {
        while let Some(&(t, timer)) = self.timers.first() {
            if t > self.now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::OfferExpiry(id) => self.expire_offer(id, t),
                Timer::MaxWait(id) => {
                    let due = self.contacts.get(&id).is_some_and(|c| {
                        c.max_wait_at == Some(t) && !matches!(c.status, Status::Assigned { .. })
                    });
                    if due {
                        self.overflow_waiting(id, OverflowReason::MaxWait);
                    }
                }
                Timer::WrapupEnd(a) => {
                    self.refresh_agent(a);
                    self.work.push(Work::Agent(a));
                }
                Timer::RetryEnd(id) => {
                    self.prune_missed(id);
                    self.work.push(Work::Contact(id));
                }
                Timer::Announce(id) => self.announce(id, t),
            }
        }
    }

    /// Offers until no free agent can take a waiting contact (work conservation).
    pub(super) fn settle(&mut self) {
        while let Some(w) = self.work.pop() {
            match w {
                // A contact that became offerable re-evaluates its class in queue order, so
                // an earlier contact of the same class that became offerable in the same
                // event still goes first.
                Work::Contact(id) => {
                    if let Some(c) = self.contacts.get(&id)
                        && c.status == Status::Ready
                    {
                        self.dispatch_class(c.queue, c.class);
                    }
                }
                Work::Agent(a) => self.feed_agent(a),
                Work::Queue(q) => {
                    self.dispatch_queue(q);
                }
            }
        }
    }

    /// Recomputes an agent's free flags and mirrors them into its queues' bit sets.
    /// Marks the agent dirty when it gained a free medium.
    pub(super) fn refresh_agent(&mut self, a: u32) {
        let ag = &self.agents[a as usize];
        let ready = ag.ready_at(self.now);
        let free = [
            ready && ag.has_room(Medium::Voice),
            ready && ag.has_room(Medium::Chat),
        ];
        let old = ag.free;
        if free == old {
            return;
        }
        self.agents[a as usize].free = free;
        for &q in &self.agents[a as usize].queues {
            if let Some(qs) = self.queues[q as usize].as_mut() {
                qs.free[0].set(a, free[0]);
                qs.free[1].set(a, free[1]);
            }
        }
        if (free[0] && !old[0]) || (free[1] && !old[1]) {
            self.work.push(Work::Agent(a));
        }
    }

    /// Tries to offer a ready contact to the eligible free members of its queue.
    /// Returns whether an offer was made.
    pub(super) fn try_offer_contact(&mut self, id: ContactId) -> bool {
        let Some(c) = self.contacts.get(&id) else {
            return false;
        };
        if c.status != Status::Ready {
            return false;
        }
        let Some(q) = self.queues[c.queue as usize].as_ref() else {
            return false;
        };
        let class = &self.classes[c.class as usize];
        let m = class.medium;
        let strategy = q.cfg.strategy;
        let now = self.now;
        let mut cands = std::mem::take(&mut self.scratch_cands);
        cands.clear();
        let agents = &self.agents;
        q.free[m.index()].for_each_and(&class.qualified, |a| {
            if c.has_missed(a, now) {
                return;
            }
            let Some(mem) = q.member(a) else { return };
            let ag = &agents[a as usize];
            cands.push(Candidate {
                agent: a,
                penalty: mem.penalty,
                order: mem.order,
                id_order: mem.id_order,
                last_ended: ag.last_ended[m.index()],
                handled: if strategy == Strategy::FewestContacts {
                    q.handled.get(a as usize).copied().unwrap_or(0)
                } else {
                    0
                },
                skill_sum: if strategy == Strategy::SkillsBest {
                    ag.skill_sum(&class.reqs)
                } else {
                    0
                },
            });
        });
        let cursor = Cursor {
            rr_last: q.rr_last,
            linear_next: c.linear_next,
        };
        let mut picked = std::mem::take(&mut self.scratch_pick);
        strategy::pick(strategy, &cands, cursor, &mut self.rng, &mut picked);
        // The round-robin pointer follows the agent offered last, in the walk's order.
        let qi = c.queue;
        if picked.len() == 1
            && matches!(strategy, Strategy::RoundRobin | Strategy::RoundRobinOrdered)
        {
            let pos = cands
                .iter()
                .find(|c| c.agent == picked[0])
                .map(|c| match strategy {
                    Strategy::RoundRobin => c.id_order,
                    _ => c.order,
                });
            if let Some(qs) = self.queues[qi as usize].as_mut() {
                qs.rr_last = pos;
            }
        }
        let offered = !picked.is_empty();
        let auto = self.queues[qi as usize]
            .as_ref()
            .is_some_and(|q| q.cfg.auto_assign);
        if offered && auto {
            // Auto-assign: no ringing, the first pick is connected at once.
            picked.truncate(1);
            self.make_offer(id, &picked, false);
            let agent = self.agents[picked[0] as usize].id;
            self.on_accepted(id, agent);
        } else if offered {
            self.make_offer(id, &picked, true);
        }
        self.scratch_cands = cands;
        self.scratch_pick = picked;
        offered
    }

    fn make_offer(&mut self, id: ContactId, agents: &[u32], announce: bool) {
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        let Some(q) = self.queues[c.queue as usize].as_mut() else {
            return;
        };
        let deadline = self.now.plus_secs(q.cfg.offer_timeout_secs);
        let key = c.key();
        q.ready_remove(c.class, c.info.medium, &key);
        c.status = Status::Offered;
        c.offers.clear();
        c.offers.extend_from_slice(agents);
        c.deadline = deadline;
        self.timers.insert((deadline, Timer::OfferExpiry(id)));
        let mut ids = Vec::with_capacity(agents.len());
        for &a in agents {
            self.agents[a as usize].offer = Some(id);
            ids.push(self.agents[a as usize].id);
            self.refresh_agent(a);
        }
        if announce {
            self.out.push(Command::Offer {
                contact: id,
                agents: ids,
                deadline,
            });
        }
    }

    /// A free agent looks for work: in each of its queues the first ready contact it can
    /// take, then across queues the one whose wait, multiplied by `1 + weight` of its
    /// queue, is largest (ties: higher priority, earlier enqueue, lower queue index).
    /// The chosen contact then goes through its queue's strategy, which may prefer another
    /// free agent; the loop repeats until this agent is busy or nothing fits.
    pub(super) fn feed_agent(&mut self, a: u32) {
        loop {
            let ag = &mut self.agents[a as usize];
            if !ag.free[0] && !ag.free[1] {
                return;
            }
            let now = self.now;
            ag.missed.retain(|&(_, until)| until > now);
            let ag = &self.agents[a as usize];
            let mut best: Option<(u128, OrderKey, u32)> = None;
            for &q in &ag.queues {
                let Some(qs) = self.queues[q as usize].as_ref() else {
                    continue;
                };
                let mut qbest: Option<OrderKey> = None;
                for m in Medium::ALL {
                    if !ag.free[m.index()] {
                        continue;
                    }
                    for &(head, class) in &qs.heads[m.index()] {
                        if qbest.is_some_and(|b| head >= b) {
                            break; // heads are in queue order: the rest of this medium loses
                        }
                        let cl = &self.classes[class as usize];
                        if !cl.qualified.get(a) {
                            continue;
                        }
                        let first = if ag.has_missed(head.2, now) {
                            qs.ready.get(&class).and_then(|set| {
                                set.iter().find(|k| !ag.has_missed(k.2, now)).copied()
                            })
                        } else {
                            Some(head)
                        };
                        if let Some(k) = first
                            && qbest.is_none_or(|b| k < b)
                        {
                            qbest = Some(k);
                        }
                    }
                }
                let Some(k) = qbest else { continue };
                let score = (u128::from(now.since(k.1)) + 1) * (u128::from(qs.cfg.weight) + 1);
                let better = match &best {
                    None => true,
                    Some((s, bk, _)) => score > *s || (score == *s && k < *bk),
                };
                if better {
                    best = Some((score, k, q));
                }
            }
            let Some((_, key, q)) = best else { return };
            // The only free member able to take the contact simply gets it. Otherwise the
            // queue is dispatched in order, so the strategy's choice of agent never lets
            // a later contact overtake an earlier one.
            let alone = self.contacts.get(&key.2).is_some_and(|c| {
                let cl = &self.classes[c.class as usize];
                self.queues[q as usize]
                    .as_ref()
                    .is_some_and(|qs| qs.free[cl.medium.index()].and_is_only(&cl.qualified, a))
            });
            let progressed = if alone {
                self.try_offer_contact(key.2)
            } else {
                self.dispatch_queue(q)
            };
            if !progressed {
                return;
            }
        }
    }

    /// Re-evaluates a whole queue: offers ready contacts in queue order while some free
    /// member can take them.
    /// Returns whether anything was offered.
    pub(super) fn dispatch_queue(&mut self, q: u32) -> bool {
        let mut offered = false;
        loop {
            let Some(qs) = self.queues[q as usize].as_ref() else {
                return offered;
            };
            if !qs.free[0].any() && !qs.free[1].any() {
                return offered;
            }
            let mut best: Option<OrderKey> = None;
            for m in Medium::ALL {
                if !qs.free[m.index()].any() {
                    continue;
                }
                for &(head, class) in &qs.heads[m.index()] {
                    if best.is_some_and(|b| head >= b) {
                        break;
                    }
                    if let Some(k) = self.first_offerable(q, class, Some(head))
                        && best.is_none_or(|b| k < b)
                    {
                        best = Some(k);
                    }
                }
            }
            let Some(key) = best else { return offered };
            if !self.try_offer_contact(key.2) {
                return offered;
            }
            offered = true;
        }
    }

    /// Offers the ready contacts of one class of queue `q`, in order, while some free
    /// member can take them. Enough after a single contact became ready: by work
    /// conservation nothing else in the queue was offerable before.
    pub(super) fn dispatch_class(&mut self, q: u32, class: u32) {
        while let Some(key) = self.first_offerable(q, class, None) {
            if !self.try_offer_contact(key.2) {
                return;
            }
        }
    }

    /// The first ready contact of `class` in queue `q` that some free, qualified member
    /// has not recently declined or missed. `head` is the class's first ready contact
    /// when the caller already knows it.
    fn first_offerable(&self, q: u32, class: u32, head: Option<OrderKey>) -> Option<OrderKey> {
        let qs = self.queues[q as usize].as_ref()?;
        let cl = &self.classes[class as usize];
        let free = &qs.free[cl.medium.index()];
        if !free.intersects(&cl.qualified) {
            return None;
        }
        let now = self.now;
        let offerable = |k: &OrderKey| {
            let Some(c) = self.contacts.get(&k.2) else {
                return false;
            };
            if c.missed.is_empty() {
                return true;
            }
            let mut any = false;
            free.for_each_and(&cl.qualified, |a| any |= !c.has_missed(a, now));
            any
        };
        if let Some(h) = head
            && offerable(&h)
        {
            return Some(h);
        }
        qs.ready.get(&class)?.iter().copied().find(offerable)
    }

    /// Removes agent `a` from a contact's offers. With `missed`, the agent is skipped for
    /// this contact during the queue's retry window and the linear pointer moves past it.
    /// A contact left with no offers becomes ready again.
    pub(super) fn drop_offer(&mut self, id: ContactId, a: u32, missed: bool) {
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        c.offers.retain(|&x| x != a);
        if missed {
            self.pass_over(id, a);
        }
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        let Some(q) = self.queues[c.queue as usize].as_mut() else {
            return;
        };
        if c.offers.is_empty() && c.status == Status::Offered {
            c.status = Status::Ready;
            self.timers.remove(&(c.deadline, Timer::OfferExpiry(id)));
            let key = c.key();
            q.ready_insert(c.class, c.info.medium, key);
            self.work.push(Work::Contact(id));
        }
        self.agents[a as usize].offer = None;
        self.refresh_agent(a);
    }

    /// Agent `a` missed, declined or could not take contact `id`: the two are kept apart for
    /// the queue's retry window, and a `linear` queue moves past the agent.
    pub(super) fn pass_over(&mut self, id: ContactId, a: u32) {
        let now = self.now;
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        let Some(q) = self.queues[c.queue as usize].as_ref() else {
            return;
        };
        let until = now.plus_secs(q.cfg.retry_window_secs());
        c.missed.retain(|&(x, _)| x != a);
        c.missed.push((a, until));
        if let Some(mem) = q.member(a) {
            c.linear_next = c.linear_next.max(mem.order + 1);
        }
        self.timers.insert((until, Timer::RetryEnd(id)));
        let ag = &mut self.agents[a as usize];
        ag.missed.retain(|&(x, _)| x != id);
        ag.missed.push((id, until));
    }

    /// Withdraws the offers these agents hold for `id` (another agent won, or the contact
    /// left) and tells the adapter.
    pub(super) fn withdraw_agents(&mut self, id: ContactId, agents: &[u32]) {
        let mut ids = Vec::with_capacity(agents.len());
        for &a in agents {
            let ag = &mut self.agents[a as usize];
            if ag.offer == Some(id) {
                ag.offer = None;
            }
            ids.push(ag.id);
            self.refresh_agent(a);
        }
        self.out.push(Command::WithdrawOffers {
            contact: id,
            agents: ids,
        });
    }

    fn expire_offer(&mut self, id: ContactId, t: crate::routing::model::Timestamp) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        if c.status != Status::Offered || c.deadline != t {
            return;
        }
        let agents = c.offers.clone();
        let autopause = self.queues[c.queue as usize]
            .as_ref()
            .and_then(|q| q.cfg.autopause_after);
        let ids: Vec<_> = agents.iter().map(|&a| self.agents[a as usize].id).collect();
        self.out.push(Command::WithdrawOffers {
            contact: id,
            agents: ids,
        });
        for a in agents {
            self.drop_offer(id, a, true);
            let ag = &mut self.agents[a as usize];
            ag.missed_in_a_row += 1;
            if autopause.is_some_and(|n| n > 0 && ag.missed_in_a_row >= n) {
                let agent = ag.id;
                self.set_presence(
                    a,
                    Presence::Away {
                        reason: AUTOPAUSE_REASON.to_owned(),
                    },
                );
                self.out.push(Command::AgentAutoPaused { agent });
            }
        }
    }

    fn prune_missed(&mut self, id: ContactId) {
        let now = self.now;
        if let Some(c) = self.contacts.get_mut(&id) {
            c.missed.retain(|&(_, until)| until > now);
        }
    }

    fn announce(&mut self, id: ContactId, t: crate::routing::model::Timestamp) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        if c.next_announce != Some(t) || matches!(c.status, Status::Assigned { .. }) {
            return;
        }
        let every = self.queues[c.queue as usize]
            .as_ref()
            .and_then(|q| q.cfg.announce_position_secs);
        if let Some(p) = self.position(id) {
            self.out.push(Command::AnnouncePosition {
                contact: id,
                position: p.position,
                ewt_secs: p.ewt_secs,
            });
        }
        if let (Some(s), Some(c)) = (every.filter(|&s| s > 0), self.contacts.get_mut(&id)) {
            // After a long gap (no events for several intervals) announce once, not once
            // per missed interval.
            let mut next = t.plus_secs(s);
            if next <= self.now {
                next = self.now.plus_secs(s);
            }
            c.next_announce = Some(next);
            self.timers.insert((next, Timer::Announce(id)));
        }
    }

    /// Takes a waiting contact out of its queue (withdrawing any offers) and forgets it.
    pub(super) fn remove_waiting(&mut self, id: ContactId) -> Option<ContactSt> {
        let c = self.contacts.get(&id)?;
        if matches!(c.status, Status::Assigned { .. }) {
            return None;
        }
        if c.status == Status::Offered {
            let offers = c.offers.clone();
            self.timers.remove(&(c.deadline, Timer::OfferExpiry(id)));
            self.withdraw_agents(id, &offers);
        }
        let c = self.contacts.remove(&id)?;
        if let Some(q) = self.queues[c.queue as usize].as_mut() {
            let key = c.key();
            q.waiting.remove(&key);
            q.ready_remove(c.class, c.info.medium, &key);
        }
        for &(a, _) in &c.missed {
            self.agents[a as usize].missed.retain(|&(x, _)| x != id);
        }
        Some(c)
    }

    /// Admits a contact to `info.queue`, overflowing it when the queue is closed, full or
    /// empty under `join_empty`.
    pub(super) fn admit(&mut self, info: NewContact, hops: u8) {
        let Some(&q) = self.queue_index.get(&info.queue) else {
            self.out.push(Command::Rejected {
                contact: info.id,
                reason: OverflowReason::UnknownQueue,
            });
            return;
        };
        let Some(qs) = self.queues[q as usize].as_ref() else {
            return;
        };
        let reason = if !qs.cfg.open {
            Some(OverflowReason::Closed)
        } else if qs
            .cfg
            .max_len
            .is_some_and(|n| qs.waiting.len() >= n as usize)
        {
            Some(OverflowReason::Full)
        } else if !qs.cfg.join_empty.is_empty()
            && self.all_unavailable(q, info.medium, &qs.cfg.join_empty)
        {
            Some(OverflowReason::JoinEmpty)
        } else {
            None
        };
        if let Some(reason) = reason
            && !self.overflow(info.clone(), q, reason, hops)
        {
            return;
        }
        self.insert_waiting(info, q);
    }

    fn insert_waiting(&mut self, new: NewContact, q: u32) {
        let class = self.intern_class(new.medium, &new.required_skills);
        let info = self.compact(&new);
        let (priority, joined) = (new.priority, new.joined_at);
        // Dropped here while still hot in cache rather than when the contact leaves.
        drop(new);
        let now = self.now;
        let Some(qs) = self.queues[q as usize].as_mut() else {
            return;
        };
        let joined_at = joined.unwrap_or(now);
        let c = ContactSt {
            queue: q,
            class,
            priority: priority.min(9),
            joined_at,
            status: Status::Ready,
            offers: Vec::new(),
            deadline: now,
            missed: Vec::new(),
            linear_next: 0,
            max_wait_at: qs.cfg.max_wait_secs.map(|s| joined_at.plus_secs(s)),
            next_announce: qs
                .cfg
                .announce_position_secs
                .filter(|&s| s > 0)
                .map(|s| now.plus_secs(s)),
            info,
        };
        let id = c.info.id;
        let key = c.key();
        qs.waiting.insert(key);
        qs.ready_insert(class, c.info.medium, key);
        if let Some(t) = c.max_wait_at {
            self.timers.insert((t, Timer::MaxWait(id)));
        }
        if let Some(t) = c.next_announce {
            self.timers.insert((t, Timer::Announce(id)));
        }
        self.contacts.insert(id, c);
        self.work.push(Work::Contact(id));
    }

    /// Sends a contact that cannot stay in queue `q` to the overflow target. Returns true
    /// when the contact keeps waiting in `q` (a `Message` target for max wait or closed).
    fn overflow(&mut self, mut info: NewContact, q: u32, reason: OverflowReason, hops: u8) -> bool {
        let Some(qs) = self.queues[q as usize].as_mut() else {
            return false;
        };
        let id = info.id;
        let target = qs.cfg.overflow.clone();
        let keeps = matches!(target, Some(OverflowTarget::Message { .. }))
            && matches!(reason, OverflowReason::MaxWait | OverflowReason::Closed);
        if !keeps {
            qs.counters.overflowed += 1;
        }
        match target {
            None => self.out.push(Command::Rejected {
                contact: id,
                reason,
            }),
            Some(target) => {
                let next = match &target {
                    OverflowTarget::Queue { queue } => Some(*queue),
                    _ => None,
                };
                self.out.push(Command::Overflow {
                    contact: id,
                    target,
                    reason,
                    keeps_waiting: keeps,
                });
                if let Some(next) = next {
                    if hops >= MAX_OVERFLOW_HOPS {
                        self.out.push(Command::Rejected {
                            contact: id,
                            reason: OverflowReason::OverflowLoop,
                        });
                    } else {
                        info.queue = next;
                        info.joined_at = None; // max wait restarts in the new queue
                        self.admit(info, hops + 1);
                    }
                }
            }
        }
        keeps
    }

    /// Overflows a waiting contact (max wait, leave empty).
    pub(super) fn overflow_waiting(&mut self, id: ContactId, reason: OverflowReason) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        let q = c.queue;
        let keeps = reason == OverflowReason::MaxWait
            && self.queues[q as usize]
                .as_ref()
                .is_some_and(|qs| matches!(qs.cfg.overflow, Some(OverflowTarget::Message { .. })));
        if keeps {
            // Tell the customer once; they keep their place.
            if let Some(c) = self.contacts.get_mut(&id) {
                c.max_wait_at = None;
            }
            if let Some(c) = self.contacts.get(&id) {
                let info = self.expand(c);
                self.overflow(info, q, reason, 0);
            }
            return;
        }
        if let Some(c) = self.remove_waiting(id) {
            let info = self.expand(&c);
            self.overflow(info, q, reason, 0);
        }
    }

    /// `leave_empty`: on every Tick, queues whose members are all unavailable (under the
    /// configured conditions, per medium) lose their waiting contacts of that medium.
    pub(super) fn check_leave_empty(&mut self) {
        for q in 0..self.queues.len() as u32 {
            let Some(qs) = self.queues[q as usize].as_ref() else {
                continue;
            };
            if qs.cfg.leave_empty.is_empty() || qs.waiting.is_empty() {
                continue;
            }
            let conds = qs.cfg.leave_empty.clone();
            let empty = [
                self.all_unavailable(q, Medium::Voice, &conds),
                self.all_unavailable(q, Medium::Chat, &conds),
            ];
            if !empty[0] && !empty[1] {
                continue;
            }
            let Some(qs) = self.queues[q as usize].as_ref() else {
                continue;
            };
            let leaving: Vec<ContactId> = qs
                .waiting
                .iter()
                .map(|k| k.2)
                .filter(|id| {
                    self.contacts
                        .get(id)
                        .is_some_and(|c| empty[c.info.medium.index()])
                })
                .collect();
            for id in leaving {
                self.overflow_waiting(id, OverflowReason::LeaveEmpty);
            }
        }
    }

    /// Whether every member of `q` is unavailable under `conds` for `medium` (true for a
    /// queue with no members, as app_queue does).
    pub(super) fn all_unavailable(
        &self,
        q: u32,
        medium: Medium,
        conds: &[MemberCondition],
    ) -> bool {
        let Some(qs) = self.queues[q as usize].as_ref() else {
            return true;
        };
        qs.members.iter().all(|m| {
            let ag = &self.agents[m.agent as usize];
            conds.iter().any(|cond| match cond {
                MemberCondition::Paused => matches!(ag.presence, Presence::Away { .. }),
                MemberCondition::Unavailable => ag.presence == Presence::Offline,
                MemberCondition::InUse => !ag.has_room(medium),
                MemberCondition::Ringing => ag.offer.is_some(),
                MemberCondition::Wrapup => self.now < ag.wrapup_until,
            })
        })
    }

    /// Resolves queue `q`'s configured members against known agents and rebuilds its
    /// member tables and free bit sets.
    pub(super) fn rebuild_members(&mut self, q: u32) {
        let Some(qs) = self.queues[q as usize].as_mut() else {
            return;
        };
        for m in std::mem::take(&mut qs.members) {
            self.agents[m.agent as usize].queues.retain(|&x| x != q);
        }
        let mut members: Vec<MemberSt> = Vec::with_capacity(qs.cfg.members.len());
        let mut seen = BTreeSet::new();
        for m in &qs.cfg.members {
            let Some(&a) = self.agent_index.get(&m.agent) else {
                continue;
            };
            if !seen.insert(a) {
                continue; // a member listed twice keeps its first position
            }
            members.push(MemberSt {
                agent: a,
                penalty: m.penalty,
                wrapup: m.wrapup_secs,
                order: members.len() as u32,
                id_order: 0,
            });
        }
        let mut by_id: Vec<usize> = (0..members.len()).collect();
        by_id.sort_by_key(|&i| self.agents[members[i].agent as usize].id);
        for (pos, i) in by_id.into_iter().enumerate() {
            members[i].id_order = pos as u32;
        }
        qs.slot.clear();
        qs.slot.resize(self.agents.len(), NO_SLOT);
        qs.free = [BitSet::default(), BitSet::default()];
        for (i, m) in members.iter().enumerate() {
            let ag = &mut self.agents[m.agent as usize];
            qs.slot[m.agent as usize] = i as u32;
            qs.free[0].set(m.agent, ag.free[0]);
            qs.free[1].set(m.agent, ag.free[1]);
            ag.queues.push(q);
        }
        qs.members = members;
    }
}
