//! Property tests: random configurations and random event sequences, checking the
//! invariants DESIGN §5 names after every event.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::strategy::Strategy as _;

use crate::routing::ContactView;
use crate::routing::model::Strategy;
use crate::routing::model::*;

use super::tests::{Harness, contact};

const QUEUES: u64 = 3;
const AGENTS: u64 = 6;

#[derive(Debug, Clone)]
struct QueueGen {
    strategy: Strategy,
    members: Vec<(u64, u32, bool)>,
    retry: u32,
    max_len: Option<u32>,
    max_wait: Option<u32>,
    overflow: u8,
    autopause: Option<u32>,
    leave_empty: bool,
}

#[derive(Debug, Clone)]
struct AgentGen {
    skills: Vec<(u8, u8)>,
    chat: u8,
    block: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        queue: u64,
        chat: bool,
        priority: u8,
        skill: Option<(u8, u8)>,
        back: i64,
    },
    Withdraw(usize),
    Accept(usize, usize),
    Decline(usize, usize),
    End(usize),
    ConnectFailed(usize),
    LeaveUnconnected(usize, bool),
    Presence(u64, u8),
    Advance(i64),
    Skills(u64, Vec<(u8, u8)>),
    Open(u64, bool),
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    prop_oneof![
        Just(Strategy::RingAll),
        Just(Strategy::RoundRobin),
        Just(Strategy::RoundRobinOrdered),
        Just(Strategy::LeastRecent),
        Just(Strategy::FewestContacts),
        Just(Strategy::Random),
        Just(Strategy::Linear),
        Just(Strategy::WeightedRandom),
        Just(Strategy::SkillsBest),
    ]
}

fn queue_gen() -> impl proptest::strategy::Strategy<Value = QueueGen> {
    (
        strategy(),
        proptest::collection::vec((1..=AGENTS, 0u32..3, any::<bool>()), 0..6),
        0u32..20,
        proptest::option::of(1u32..6),
        proptest::option::of(20u32..120),
        0u8..4,
        proptest::option::of(1u32..3),
        any::<bool>(),
    )
        .prop_map(
            |(strategy, members, retry, max_len, max_wait, overflow, autopause, leave_empty)| {
                QueueGen {
                    strategy,
                    members,
                    retry,
                    max_len,
                    max_wait,
                    overflow,
                    autopause,
                    leave_empty,
                }
            },
        )
}

fn skills() -> impl proptest::strategy::Strategy<Value = Vec<(u8, u8)>> {
    proptest::collection::vec((0u8..2, 1u8..6), 0..3)
}

fn agent_gen() -> impl proptest::strategy::Strategy<Value = AgentGen> {
    (skills(), 1u8..4, any::<bool>()).prop_map(|(skills, chat, block)| AgentGen {
        skills,
        chat,
        block,
    })
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=QUEUES + 1, any::<bool>(), 0u8..3, proptest::option::of((0u8..2, 1u8..6)), 0i64..100)
            .prop_map(|(queue, chat, priority, skill, back)| Op::Enqueue { queue, chat, priority, skill, back }),
        1 => any::<usize>().prop_map(Op::Withdraw),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Accept(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Decline(a, b)),
        3 => any::<usize>().prop_map(Op::End),
        1 => any::<usize>().prop_map(Op::ConnectFailed),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, a)| Op::LeaveUnconnected(i, a)),
        1 => (1..=AGENTS, 0u8..4).prop_map(|(a, p)| Op::Presence(a, p)),
        2 => (0i64..30).prop_map(Op::Advance),
        1 => (1..=AGENTS, skills()).prop_map(|(a, s)| Op::Skills(a, s)),
        1 => (1..=QUEUES, any::<bool>()).prop_map(|(q, o)| Op::Open(q, o)),
    ]
}

fn skill_map(s: &[(u8, u8)]) -> BTreeMap<String, u8> {
    s.iter().map(|&(k, l)| (format!("s{k}"), l)).collect()
}

fn agent_cfg(id: u64, g: &AgentGen) -> AgentConfig {
    AgentConfig {
        id: AgentId(id),
        skills: skill_map(&g.skills),
        capacity: Capacity {
            voice: 1,
            chat: g.chat,
        },
        block_chats_during_call: g.block,
        wrapup_secs: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Abandoned,
    Overflowed,
}

/// What the test has learned from commands.
#[derive(Default)]
struct Ledger {
    created: Vec<NewContact>,
    offers: BTreeMap<u64, BTreeSet<u64>>,
    assigned: BTreeSet<u64>,
    outcome: BTreeMap<u64, Outcome>,
    /// (contact, agent) → until (ms): declines and any withdrawn offer, conservatively.
    missed: BTreeMap<(u64, u64), i64>,
}

impl Ledger {
    fn settle(&mut self, id: u64, o: Outcome) -> Result<(), TestCaseError> {
        prop_assert!(
            self.outcome.insert(id, o).is_none(),
            "contact {id} ended twice"
        );
        Ok(())
    }
}

fn run(queues: Vec<QueueGen>, agents: Vec<AgentGen>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = Harness::new();
    let mut led = Ledger::default();
    let mut retry = BTreeMap::new();
    for (i, g) in agents.iter().enumerate() {
        let id = i as u64 + 1;
        h.send(Event::AgentAdded {
            agent: agent_cfg(id, g),
            presence: Presence::Available,
        });
    }
    for (i, g) in queues.iter().enumerate() {
        let id = i as u64 + 1;
        let mut q = QueueConfig::new(QueueId(id));
        q.strategy = g.strategy;
        q.members = g
            .members
            .iter()
            .map(|&(a, p, w)| Member {
                agent: AgentId(a),
                penalty: p,
                wrapup_secs: w.then_some(3),
            })
            .collect();
        q.offer_timeout_secs = 10;
        q.retry_secs = g.retry;
        q.max_len = g.max_len;
        q.max_wait_secs = g.max_wait;
        q.wrapup_secs = 2;
        q.overflow = match g.overflow {
            0 => None,
            1 => Some(OverflowTarget::Queue {
                queue: QueueId(id % QUEUES + 1),
            }),
            2 => Some(OverflowTarget::Voicemail {
                mailbox: "vm".into(),
            }),
            _ => Some(OverflowTarget::Message {
                text: "later".into(),
            }),
        };
        q.autopause_after = g.autopause;
        if g.leave_empty {
            q.leave_empty = vec![MemberCondition::Unavailable, MemberCondition::Paused];
        }
        retry.insert(id, g.retry);
        h.send(Event::QueueConfigured(q));
    }
    let mut next_id = 1000u64;
    for op in ops {
        let (event, note): (Event, Option<(u64, u64)>) = match op {
            Op::Enqueue {
                queue,
                chat,
                priority,
                skill,
                back,
            } => {
                next_id += 1;
                let mut c = contact(next_id, queue, h.t - back);
                c.priority = priority;
                if chat {
                    c.medium = Medium::Chat;
                }
                if let Some((k, l)) = skill {
                    c.required_skills = skill_map(&[(k, l)]);
                }
                led.created.push(c.clone());
                (Event::ContactEnqueued(c), None)
            }
            Op::Withdraw(i) => {
                if led.created.is_empty() {
                    continue;
                }
                let id = led.created[i % led.created.len()].id;
                if let Some(ContactView::Waiting { .. } | ContactView::Offered { .. }) =
                    h.e.contact(id)
                {
                    led.settle(id.0, Outcome::Abandoned)?;
                }
                (Event::ContactWithdrawn { contact: id }, None)
            }
            Op::Accept(i, k) | Op::Decline(i, k) => {
                let live: Vec<(u64, Vec<u64>)> = led
                    .offers
                    .iter()
                    .filter(|(_, a)| !a.is_empty())
                    .map(|(c, a)| (*c, a.iter().copied().collect()))
                    .collect();
                if live.is_empty() {
                    continue;
                }
                let (c, agents) = &live[i % live.len()];
                let a = agents[k % agents.len()];
                if matches!(op, Op::Accept(..)) {
                    (
                        Event::OfferAccepted {
                            contact: ContactId(*c),
                            agent: AgentId(a),
                        },
                        None,
                    )
                } else {
                    led.offers.entry(*c).or_default().remove(&a);
                    (
                        Event::OfferDeclined {
                            contact: ContactId(*c),
                            agent: AgentId(a),
                        },
                        Some((*c, a)),
                    )
                }
            }
            Op::End(i) => {
                let connected: Vec<u64> = connected(&h, &led).iter().map(|&(c, _)| c).collect();
                if connected.is_empty() {
                    continue;
                }
                (
                    Event::ContactEnded {
                        contact: ContactId(connected[i % connected.len()]),
                    },
                    None,
                )
            }
            Op::ConnectFailed(i) => {
                let connected = connected(&h, &led);
                if connected.is_empty() {
                    continue;
                }
                let (c, a) = connected[i % connected.len()];
                // Back to waiting: no outcome yet, and it may be assigned again.
                led.assigned.remove(&c);
                led.outcome.remove(&c);
                (
                    Event::ConnectFailed {
                        contact: ContactId(c),
                    },
                    Some((c, a)),
                )
            }
            Op::LeaveUnconnected(i, abandoned) => {
                let connected: Vec<u64> = connected(&h, &led).iter().map(|&(c, _)| c).collect();
                if connected.is_empty() {
                    continue;
                }
                let c = connected[i % connected.len()];
                // The answer is taken back: the contact leaves as a waiting one does.
                led.assigned.remove(&c);
                led.outcome.remove(&c);
                led.settle(c, Outcome::Abandoned)?;
                (
                    Event::UnconnectedLeft {
                        contact: ContactId(c),
                        abandoned,
                    },
                    None,
                )
            }
            Op::Presence(a, p) => {
                let presence = match p {
                    0 => Presence::Offline,
                    1 => Presence::Away {
                        reason: "break".into(),
                    },
                    _ => Presence::Available,
                };
                (
                    Event::AgentPresenceChanged {
                        agent: AgentId(a),
                        presence,
                    },
                    None,
                )
            }
            Op::Advance(s) => {
                h.t += s;
                (Event::Tick, None)
            }
            Op::Skills(a, s) => {
                let g = AgentGen {
                    skills: s,
                    ..agents[(a - 1) as usize].clone()
                };
                (Event::AgentUpdated(agent_cfg(a, &g)), None)
            }
            Op::Open(q, open) => (
                Event::QueueOpenChanged {
                    queue: QueueId(q),
                    open,
                },
                None,
            ),
        };
        let now_ms = h.now().0;
        if let Some((c, a)) = note {
            // The contact may have moved queue by overflow: use its current queue's retry.
            let q = current_queue(&h, c).unwrap_or(1);
            led.missed.insert(
                (c, a),
                now_ms + i64::from(retry.get(&q).copied().unwrap_or(0).max(MIN_RETRY_SECS)) * 1000,
            );
        }
        // Harness::send checks `check_invariants` (capacity bookkeeping, set consistency,
        // work conservation) after every event.
        let cmds = h.send(event);
        prop_assert!(
            h.e.over_capacity().is_empty(),
            "over capacity: {:?}",
            h.e.over_capacity()
        );
        for cmd in &cmds {
            match cmd {
                Command::Offer {
                    contact, agents, ..
                } => {
                    led.offers
                        .entry(contact.0)
                        .or_default()
                        .extend(agents.iter().map(|a| a.0));
                    check_fifo(&h, &led, contact.0, agents)?;
                }
                Command::WithdrawOffers { contact, agents } => {
                    let q = current_queue(&h, contact.0);
                    let r = q.and_then(|q| retry.get(&q)).copied().unwrap_or(30);
                    for a in agents {
                        led.offers.entry(contact.0).or_default().remove(&a.0);
                        led.missed
                            .insert((contact.0, a.0), now_ms + i64::from(r.max(20)) * 1000);
                    }
                }
                Command::Assigned { contact, .. } => {
                    prop_assert!(
                        led.assigned.insert(contact.0),
                        "contact {} assigned twice",
                        contact.0
                    );
                    led.offers.remove(&contact.0);
                    led.settle(contact.0, Outcome::Answered)?;
                }
                Command::Rejected { contact, .. } => led.settle(contact.0, Outcome::Overflowed)?,
                Command::Overflow {
                    contact,
                    target,
                    keeps_waiting,
                    ..
                } => {
                    if !keeps_waiting && !matches!(target, OverflowTarget::Queue { .. }) {
                        led.settle(contact.0, Outcome::Overflowed)?;
                    }
                }
                Command::AnnouncePosition { .. } | Command::AgentAutoPaused { .. } => {}
            }
        }
    }
    // Every contact is in exactly one of: answered, abandoned, overflowed, still waiting.
    for c in &led.created {
        let view = h.e.contact(c.id);
        let waiting = matches!(
            view,
            Some(ContactView::Waiting { .. } | ContactView::Offered { .. })
        );
        match led.outcome.get(&c.id.0) {
            None => prop_assert!(waiting, "contact {} vanished without an outcome", c.id),
            Some(Outcome::Answered) => prop_assert!(!waiting),
            Some(_) => prop_assert!(view.is_none(), "contact {} ended but still known", c.id),
        }
    }
    Ok(())
}

/// The contacts the test saw assigned that the engine still holds as connected, with their
/// agents.
fn connected(h: &Harness, led: &Ledger) -> Vec<(u64, u64)> {
    led.assigned
        .iter()
        .filter_map(|&c| match h.e.contact(ContactId(c)) {
            Some(ContactView::Assigned { agent, .. }) => Some((c, agent.0)),
            _ => None,
        })
        .collect()
}

fn current_queue(h: &Harness, c: u64) -> Option<u64> {
    match h.e.contact(ContactId(c))? {
        ContactView::Waiting { queue }
        | ContactView::Offered { queue }
        | ContactView::Assigned { queue, .. } => Some(queue.0),
    }
}

/// FIFO within priority (and priority order): when contact `x` is offered to an agent,
/// no contact ahead of it in the same queue with the same requirements is still waiting
/// un-offered, unless that agent recently declined or missed it.
fn check_fifo(h: &Harness, led: &Ledger, x: u64, agents: &[AgentId]) -> Result<(), TestCaseError> {
    let Some(cx) = led.created.iter().find(|c| c.id.0 == x) else {
        return Ok(());
    };
    let Some(ContactView::Offered { queue }) = h.e.contact(cx.id) else {
        return Ok(());
    };
    let key = |c: &NewContact| (std::cmp::Reverse(c.priority), c.enqueued_at, c.id);
    for y in &led.created {
        if y.medium != cx.medium || y.required_skills != cx.required_skills || key(y) >= key(cx) {
            continue;
        }
        if h.e.contact(y.id) != Some(ContactView::Waiting { queue }) {
            continue;
        }
        for a in agents {
            let missed = led
                .missed
                .get(&(y.id.0, a.0))
                .is_some_and(|&u| u > h.now().0);
            prop_assert!(
                missed,
                "contact {x} offered to {a} while earlier {} waits",
                y.id
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn routing_invariants_hold_for_random_event_sequences(
        queues in proptest::collection::vec(queue_gen(), QUEUES as usize),
        agents in proptest::collection::vec(agent_gen(), AGENTS as usize),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        run(queues, agents, ops)?;
    }
}
