//! Hand-built scenarios (Arrange / Act / Assert): the test driver and every strategy here,
//! queue and agent options in `options.rs`. Property tests live in `../proptests.rs`.

mod options;

use std::collections::BTreeMap;

use crate::routing::model::*;
use crate::routing::{ContactView, Engine};

/// A small driver: an engine, a clock in seconds, and builders.
pub(super) struct Harness {
    pub e: Engine,
    pub t: i64,
}

impl Harness {
    pub(super) fn new() -> Self {
        Harness {
            e: Engine::new(42),
            t: 1_000,
        }
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.t)
    }

    pub(super) fn send(&mut self, ev: Event) -> Vec<Command> {
        let now = self.now();
        let out = self.e.handle(ev, now);
        if let Err(e) = self.e.check_invariants() {
            panic!("invariant broken: {e}");
        }
        out
    }

    pub(super) fn advance(&mut self, secs: i64) -> Vec<Command> {
        self.t += secs;
        self.send(Event::Tick)
    }

    pub(super) fn agent(&mut self, id: u64, skills: &[(&str, u8)]) -> Vec<Command> {
        let mut cfg = AgentConfig::new(AgentId(id));
        cfg.skills = skills.iter().map(|(s, l)| (s.to_string(), *l)).collect();
        self.send(Event::AgentAdded {
            agent: cfg,
            presence: Presence::Available,
        })
    }

    pub(super) fn queue(&mut self, cfg: QueueConfig) -> Vec<Command> {
        self.send(Event::QueueConfigured(cfg))
    }

    pub(super) fn enqueue(&mut self, c: NewContact) -> Vec<Command> {
        self.send(Event::ContactEnqueued(c))
    }

    pub(super) fn accept(&mut self, c: u64, a: u64) -> Vec<Command> {
        self.send(Event::OfferAccepted {
            contact: ContactId(c),
            agent: AgentId(a),
        })
    }

    pub(super) fn decline(&mut self, c: u64, a: u64) -> Vec<Command> {
        self.send(Event::OfferDeclined {
            contact: ContactId(c),
            agent: AgentId(a),
        })
    }

    pub(super) fn end(&mut self, c: u64) -> Vec<Command> {
        self.send(Event::ContactEnded {
            contact: ContactId(c),
        })
    }

    pub(super) fn presence(&mut self, a: u64, p: Presence) -> Vec<Command> {
        self.send(Event::AgentPresenceChanged {
            agent: AgentId(a),
            presence: p,
        })
    }

    /// Enqueue and, if offered to one agent, accept: returns that agent.
    pub(super) fn serve(&mut self, c: NewContact) -> Option<u64> {
        let id = c.id.0;
        let agent = offered(&self.enqueue(c), id).first().copied()?;
        self.accept(id, agent);
        Some(agent)
    }
}

pub(super) fn contact(id: u64, queue: u64, at_secs: i64) -> NewContact {
    NewContact {
        id: ContactId(id),
        tenant: TenantId(1),
        medium: Medium::Voice,
        channel: "pjsip".into(),
        queue: QueueId(queue),
        priority: 0,
        required_skills: BTreeMap::new(),
        enqueued_at: Timestamp::from_secs(at_secs),
        joined_at: None,
        callback: false,
    }
}

pub(super) fn chat(id: u64, queue: u64, at: i64) -> NewContact {
    NewContact {
        medium: Medium::Chat,
        channel: "whatsapp".into(),
        ..contact(id, queue, at)
    }
}

pub(super) fn with_skill(mut c: NewContact, s: &str, min: u8) -> NewContact {
    c.required_skills.insert(s.into(), min);
    c
}

pub(super) fn queue(id: u64, strategy: Strategy, members: &[(u64, u32)]) -> QueueConfig {
    let mut q = QueueConfig::new(QueueId(id));
    q.strategy = strategy;
    q.members = members
        .iter()
        .map(|&(a, p)| Member {
            agent: AgentId(a),
            penalty: p,
            wrapup_secs: None,
        })
        .collect();
    q
}

/// Agents a contact was offered to in these commands.
pub(super) fn offered(cmds: &[Command], c: u64) -> Vec<u64> {
    cmds.iter()
        .filter_map(|cmd| match cmd {
            Command::Offer {
                contact, agents, ..
            } if contact.0 == c => Some(agents.iter().map(|a| a.0).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

pub(super) fn has(cmds: &[Command], want: &Command) -> bool {
    cmds.contains(want)
}

#[test]
fn a_contact_arriving_with_a_free_member_is_offered_at_once_with_the_queue_timeout() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RoundRobin, &[(1, 0)]));
    let cmds = h.enqueue(contact(100, 10, h.t));
    assert_eq!(
        cmds,
        vec![Command::Offer {
            contact: ContactId(100),
            agents: vec![AgentId(1)],
            deadline: h.now().plus_secs(15),
        }]
    );
}

#[test]
fn accepting_assigns_the_contact_and_a_second_call_waits_for_capacity() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RoundRobin, &[(1, 0)]));
    h.enqueue(contact(100, 10, h.t));
    let cmds = h.accept(100, 1);
    assert_eq!(
        cmds,
        vec![Command::Assigned {
            contact: ContactId(100),
            agent: AgentId(1)
        }]
    );
    assert!(offered(&h.enqueue(contact(101, 10, h.t)), 101).is_empty());
    assert_eq!(
        h.e.contact(ContactId(101)),
        Some(ContactView::Waiting { queue: QueueId(10) })
    );
    let cmds = h.end(100);
    assert_eq!(offered(&cmds, 101), vec![1]);
}

#[test]
fn ring_all_offers_the_lowest_tier_together_and_withdraws_the_others_when_one_accepts() {
    let mut h = Harness::new();
    for a in 1..=3 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::RingAll, &[(1, 0), (2, 0), (3, 1)]));
    let cmds = h.enqueue(contact(100, 10, h.t));
    assert_eq!(offered(&cmds, 100), vec![1, 2]);
    let cmds = h.accept(100, 2);
    assert!(has(
        &cmds,
        &Command::WithdrawOffers {
            contact: ContactId(100),
            agents: vec![AgentId(1)]
        }
    ));
    assert!(has(
        &cmds,
        &Command::Assigned {
            contact: ContactId(100),
            agent: AgentId(2)
        }
    ));
    // A late accept from the loser changes nothing.
    assert!(h.accept(100, 1).is_empty());
}

#[test]
fn ring_all_moves_to_the_next_tier_only_when_the_lower_tier_is_busy() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::RingAll, &[(1, 0), (2, 1)]));
    h.serve(contact(100, 10, h.t));
    let cmds = h.enqueue(contact(101, 10, h.t));
    assert_eq!(offered(&cmds, 101), vec![2]);
}

#[test]
fn round_robin_resumes_after_the_agent_offered_last() {
    let mut h = Harness::new();
    for a in [3, 1, 2] {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::RoundRobin, &[(3, 0), (1, 0), (2, 0)]));
    // All three free each time (contacts end at once): the walk is by agent id.
    let mut got = Vec::new();
    for c in 0..4 {
        let a = h.serve(contact(100 + c, 10, h.t)).expect("offered");
        h.end(100 + c);
        got.push(a);
    }
    assert_eq!(got, vec![1, 2, 3, 1]);
}

#[test]
fn round_robin_ordered_walks_the_configured_member_order() {
    let mut h = Harness::new();
    for a in [3, 1, 2] {
        h.agent(a, &[]);
    }
    h.queue(queue(
        10,
        Strategy::RoundRobinOrdered,
        &[(3, 0), (1, 0), (2, 0)],
    ));
    let mut got = Vec::new();
    for c in 0..4 {
        let a = h.serve(contact(100 + c, 10, h.t)).expect("offered");
        h.end(100 + c);
        got.push(a);
    }
    assert_eq!(got, vec![3, 1, 2, 3]);
}

#[test]
fn least_recent_offers_the_agent_whose_last_call_ended_longest_ago() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::LeastRecent, &[(1, 0), (2, 0)]));
    h.serve(contact(100, 10, h.t)); // agent 1 (never used, first in order)
    h.serve(contact(101, 10, h.t)); // agent 2
    h.end(101); // agent 2 finishes first…
    h.t += 10;
    h.end(100); // …agent 1 later
    assert_eq!(h.serve(contact(102, 10, h.t)), Some(2));
}

#[test]
fn fewest_contacts_counts_completed_contacts_per_queue_and_resets_daily() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::FewestContacts, &[(1, 0), (2, 0)]));
    assert_eq!(h.serve(contact(100, 10, h.t)), Some(1));
    h.end(100);
    assert_eq!(h.serve(contact(101, 10, h.t)), Some(2));
    h.end(101);
    assert_eq!(h.serve(contact(102, 10, h.t)), Some(1));
    h.end(102); // agent 1: 2 handled, agent 2: 1
    assert_eq!(h.serve(contact(103, 10, h.t)), Some(2));
    h.end(103);
    h.send(Event::DailyReset);
    assert_eq!(
        h.serve(contact(104, 10, h.t)),
        Some(1),
        "ties go to member order after reset"
    );
}

#[test]
fn random_is_reproducible_for_a_seed_and_spreads_over_the_tier() {
    let run = || {
        let mut h = Harness::new();
        for a in 1..=4 {
            h.agent(a, &[]);
        }
        h.queue(queue(
            10,
            Strategy::Random,
            &[(1, 0), (2, 0), (3, 0), (4, 1)],
        ));
        (0..60)
            .map(|c| {
                let a = h.serve(contact(100 + c, 10, h.t)).expect("offered");
                h.end(100 + c);
                a
            })
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(
        !a.contains(&4),
        "penalty-1 agent used while tier 0 was free"
    );
    for agent in 1..=3 {
        assert!(a.contains(&agent));
    }
}

#[test]
fn linear_starts_every_contact_at_the_first_member_and_walks_on_after_a_decline() {
    let mut h = Harness::new();
    for a in 1..=3 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::Linear, &[(2, 0), (1, 0), (3, 0)]));
    assert_eq!(offered(&h.enqueue(contact(100, 10, h.t)), 100), vec![2]);
    assert_eq!(offered(&h.decline(100, 2), 100), vec![1]);
    assert_eq!(offered(&h.decline(100, 1), 100), vec![3]);
    // A new contact starts at the first member again (agent 2, free now).
    assert_eq!(offered(&h.enqueue(contact(101, 10, h.t)), 101), vec![2]);
}

#[test]
fn weighted_random_sometimes_prefers_a_higher_penalty_agent_while_a_lower_one_is_free() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::WeightedRandom, &[(1, 0), (2, 1)]));
    let mut by_two = 0;
    for c in 0..200 {
        if h.serve(contact(100 + c, 10, h.t)) == Some(2) {
            by_two += 1;
        }
        h.end(100 + c);
    }
    // P(agent 2) = P(U[0,2000) < U[0,1000)) = 1/4.
    assert!((25..=75).contains(&by_two), "{by_two}");
}

#[test]
fn skills_best_offers_the_highest_summed_level_over_required_skills() {
    let mut h = Harness::new();
    h.agent(1, &[("es", 5), ("billing", 5)]);
    h.agent(2, &[("es", 9), ("billing", 3)]);
    h.agent(3, &[("es", 2), ("billing", 9), ("fr", 10)]);
    h.queue(queue(10, Strategy::SkillsBest, &[(1, 0), (2, 0), (3, 0)]));
    let c = with_skill(with_skill(contact(100, 10, h.t), "es", 2), "billing", 1);
    assert_eq!(offered(&h.enqueue(c), 100), vec![2]);
}

#[test]
fn agent_state_follows_an_agent_through_ringing_busy_wrap_up_and_away() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.wrapup_secs = 30;
    h.queue(q);
    let state = |h: &Harness| h.e.agent_state(AgentId(1)).unwrap();
    assert_eq!(state(&h).state, "available");
    h.enqueue(contact(100, 10, h.t));
    assert_eq!(
        (state(&h).state, state(&h).offered),
        ("ringing", Some(ContactId(100)))
    );
    h.accept(100, 1);
    assert_eq!((state(&h).state, state(&h).voice_contacts), ("busy", 1));
    h.end(100);
    assert_eq!(
        (state(&h).state, state(&h).wrapup_secs_left),
        ("wrapup", 30)
    );
    h.advance(31);
    assert_eq!(state(&h).state, "available");
    h.presence(
        1,
        Presence::Away {
            reason: "lunch".into(),
        },
    );
    assert_eq!(state(&h).state, "away");
    assert!(h.e.agent_state(AgentId(99)).is_none());
}
