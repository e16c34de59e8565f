//! On-demand questions about the engine's state: a contact's position and expected wait,
//! a queue's live statistics, a snapshot of waiting contacts for persistence, the next
//! timer deadline, and an invariant checker used by the property tests.

use serde::{Deserialize, Serialize};

use super::Engine;
use super::state::Status;
use crate::routing::model::{
    AgentCounts, AgentId, ContactId, Medium, NewContact, Position, Presence, QueueId, QueueStats,
    Timestamp,
};

/// A contact as the engine sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ContactView {
    /// Waiting with no outstanding offer.
    Waiting {
        /// Its queue.
        queue: QueueId,
    },
    /// Waiting and being offered.
    Offered {
        /// Its queue.
        queue: QueueId,
    },
    /// Connected to an agent.
    Assigned {
        /// Its queue.
        queue: QueueId,
        /// The agent.
        agent: AgentId,
    },
}

/// What an agent is doing now, for supervisors' live views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentState {
    /// `offline`, `away`, `ringing`, `wrapup`, `busy` or `available` (the first that applies,
    /// in the order [`AgentCounts`] uses).
    pub state: &'static str,
    /// Connected calls.
    pub voice_contacts: u8,
    /// Connected chats.
    pub chat_contacts: u8,
    /// The contact being offered, if any.
    pub offered: Option<ContactId>,
    /// Seconds of wrap-up left.
    pub wrapup_secs_left: u32,
    /// Missed offers in a row (autopause counts these).
    pub missed_in_a_row: u32,
}

impl Engine {
    /// What an agent is doing now; `None` for an unknown or removed agent.
    pub fn agent_state(&self, id: AgentId) -> Option<AgentState> {
        let &ai = self.agent_index.get(&id)?;
        let ag = self.agents.get(ai as usize).filter(|a| !a.removed)?;
        let in_wrapup = self.now < ag.wrapup_until;
        let state = match ag.presence {
            Presence::Offline => "offline",
            Presence::Away { .. } => "away",
            Presence::Available if ag.offer.is_some() => "ringing",
            Presence::Available if in_wrapup => "wrapup",
            Presence::Available if ag.active.iter().any(|&n| n > 0) => "busy",
            Presence::Available => "available",
        };
        Some(AgentState {
            state,
            voice_contacts: ag.active[Medium::Voice.index()],
            chat_contacts: ag.active[Medium::Chat.index()],
            offered: ag.offer,
            wrapup_secs_left: if in_wrapup {
                secs(ag.wrapup_until.since(self.now))
            } else {
                0
            },
            missed_in_a_row: ag.missed_in_a_row,
        })
    }

    /// The engine's clock: the latest `now` it was given.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The earliest pending timer (offer expiry, max wait, wrap-up end, retry window end,
    /// announcement): send an [`crate::routing::model::Event::Tick`] then. Some deadlines
    /// may turn out to have nothing left to do; that is harmless.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// Where a contact is, or `None` once it left the engine (answered and ended,
    /// abandoned, overflowed, rejected) or was never known.
    pub fn contact(&self, id: ContactId) -> Option<ContactView> {
        let c = self.contacts.get(&id)?;
        let queue = self.queues[c.queue as usize].as_ref().map(|q| q.cfg.id)?;
        Some(match c.status {
            Status::Ready => ContactView::Waiting { queue },
            Status::Offered => ContactView::Offered { queue },
            Status::Assigned { agent, .. } => ContactView::Assigned {
                queue,
                agent: self.agents[agent as usize].id,
            },
        })
    }

    /// The medium of a contact the engine holds (waiting, offered or assigned).
    pub fn medium(&self, id: ContactId) -> Option<Medium> {
        self.contacts.get(&id).map(|c| c.info.medium)
    }

    /// Position (1 = next) and expected wait of a waiting contact. EWT is
    /// `position × mean handle time ÷ agents serving`, where agents serving are members
    /// whose presence is available (at least one is assumed, so EWT stays finite).
    pub fn position(&self, id: ContactId) -> Option<Position> {
        let c = self.contacts.get(&id)?;
        if matches!(c.status, Status::Assigned { .. }) {
            return None;
        }
        let q = self.queues[c.queue as usize].as_ref()?;
        let ahead = q.waiting.range(..c.key()).count();
        let position = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
        let serving = q
            .members
            .iter()
            .filter(|m| self.agents[m.agent as usize].presence == Presence::Available)
            .count()
            .max(1);
        let ewt = f64::from(position) * q.aht_ms / 1000.0 / serving as f64;
        Some(Position {
            queue: q.cfg.id,
            position,
            ewt_secs: ewt.round().min(f64::from(u32::MAX)) as u32,
            waited_secs: secs(self.now.since(c.info.enqueued_at)),
        })
    }

    /// Live statistics of a queue.
    pub fn queue_stats(&self, id: QueueId) -> Option<QueueStats> {
        let &qi = self.queue_index.get(&id)?;
        let q = self.queues[qi as usize].as_ref()?;
        let oldest = q
            .waiting
            .iter()
            .map(|k| k.1)
            .min()
            .map_or(0, |t| self.now.since(t));
        let mut agents = AgentCounts::default();
        for m in &q.members {
            let ag = &self.agents[m.agent as usize];
            let slot = match ag.presence {
                Presence::Offline => &mut agents.offline,
                Presence::Away { .. } => &mut agents.away,
                Presence::Available if ag.offer.is_some() => &mut agents.ringing,
                Presence::Available if self.now < ag.wrapup_until => &mut agents.wrapup,
                Presence::Available if ag.active.iter().any(|&n| n > 0) => &mut agents.busy,
                Presence::Available => &mut agents.available,
            };
            *slot += 1;
        }
        let k = q.counters;
        let offered = k.answered + k.abandoned;
        Some(QueueStats {
            queue: id,
            waiting: u32::try_from(q.waiting.len()).unwrap_or(u32::MAX),
            longest_wait_secs: secs(oldest),
            answered: k.answered,
            answered_within_sl: k.within_sl,
            abandoned: k.abandoned,
            overflowed: k.overflowed,
            service_level: (offered > 0).then(|| k.within_sl as f64 / offered as f64),
            mean_handle_secs: q.aht_ms / 1000.0,
            agents,
        })
    }

    /// The waiting contacts of every queue, in queue order, with `joined_at` filled in.
    ///
    /// Restart recovery: persist these (the adapter usually already has them in its store),
    /// and after a restart replay `AgentAdded`, `QueueConfigured`, then one
    /// `ContactEnqueued` per contact. Because order is by original `enqueued_at`, positions
    /// come back as they were. Connected contacts are restored with
    /// [`Engine::resume_connected`].
    pub fn snapshot(&self) -> Vec<NewContact> {
        let mut out = Vec::new();
        for q in self.queues.iter().flatten() {
            for k in &q.waiting {
                if let Some(c) = self.contacts.get(&k.2) {
                    out.push(self.expand(c));
                }
            }
        }
        out
    }

    /// Checks the engine's invariants; used by tests and available to debug builds of the
    /// adapter. Returns a description of the first violation.
    ///
    /// - no agent holds more contacts of a medium than its capacity;
    /// - every waiting contact is in its queue's order set, and ready ones in a class set;
    /// - work conservation: no ready contact has a member who is free for its medium,
    ///   qualified, and not inside a retry window for it.
    pub fn check_invariants(&self) -> Result<(), String> {
        let now = self.now;
        let mut load = vec![[0u8; 2]; self.agents.len()];
        for (id, c) in self.contacts.iter() {
            let q = self.queues[c.queue as usize].as_ref();
            match c.status {
                Status::Assigned { agent, .. } => {
                    let l = &mut load[agent as usize][c.info.medium.index()];
                    *l = l.saturating_add(1);
                }
                Status::Ready | Status::Offered => {
                    let q = q.ok_or_else(|| format!("contact {id} waits in a removed queue"))?;
                    if !q.waiting.contains(&c.key()) {
                        return Err(format!("contact {id} missing from its queue order"));
                    }
                }
            }
            if c.status != Status::Ready {
                continue;
            }
            let Some(q) = q else { continue };
            let in_ready = q.ready.get(&c.class).is_some_and(|s| s.contains(&c.key()))
                && q.heads[c.info.medium.index()]
                    .iter()
                    .any(|&(k, cl)| cl == c.class && k <= c.key());
            if !in_ready {
                return Err(format!("ready contact {id} missing from its class set"));
            }
            let class = &self.classes[c.class as usize];
            for m in &q.members {
                let ag = &self.agents[m.agent as usize];
                if ag.ready_at(now)
                    && ag.has_room(class.medium)
                    && ag.qualifies(&class.reqs)
                    && !c.has_missed(m.agent, now)
                {
                    return Err(format!(
                        "agent {} idles while contact {id} it could take waits",
                        ag.id
                    ));
                }
            }
        }
        for (a, ag) in self.agents.iter().enumerate() {
            for m in Medium::ALL {
                let l = load[a][m.index()];
                if l != ag.active[m.index()] {
                    return Err(format!("agent {} load mismatch", ag.id));
                }
            }
        }
        Ok(())
    }

    /// Agents holding more contacts of a medium than their capacity (empty when sound;
    /// capacity lowered by configuration while connected is the only legitimate cause).
    pub fn over_capacity(&self) -> Vec<AgentId> {
        self.agents
            .iter()
            .filter(|ag| !ag.removed && (0..2).any(|m| ag.active[m] > ag.capacity[m]))
            .map(|ag| ag.id)
            .collect()
    }

    /// Number of contacts currently waiting (ready or offered) across all queues.
    pub fn waiting_count(&self) -> usize {
        self.queues.iter().flatten().map(|q| q.waiting.len()).sum()
    }
}

fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}
