//! Routing engine benchmark (a plain program, `harness = false`): 1,000 agents, 10,000
//! waiting contacts, 20 queues with mixed skills, strategies and media.
//!
//! Steady state: every agent is fully loaded and 10,000 contacts wait. One cycle ends a
//! random connected contact, which frees its agent; the engine picks the agent's next
//! contact across the agent's queues and offers it (the **decision**); the agent accepts;
//! a new contact arrives to keep the queues at 10,000 waiting. Each `handle` call is
//! timed on its own; the figures are for one core.
//!
//! Run: `cargo bench --bench routing` (optionally `-- CYCLES`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use switchboard::routing::{
    AgentConfig, AgentId, Capacity, Command, ContactId, Engine, Event, Medium, Member, NewContact,
    Presence, QueueConfig, QueueId, Strategy, TenantId, Timestamp,
};

const AGENTS: u64 = 1_000;
const QUEUES: u64 = 20;
const WAITING: usize = 10_000;
const QUEUES_PER_AGENT: usize = 3;
const LANGS: [&str; 4] = ["en", "de", "fr", "es"];
const TOPICS: [&str; 4] = ["billing", "tech", "sales", "claims"];
const STRATEGIES: [Strategy; 9] = [
    Strategy::RingAll,
    Strategy::RoundRobin,
    Strategy::RoundRobinOrdered,
    Strategy::LeastRecent,
    Strategy::FewestContacts,
    Strategy::Random,
    Strategy::Linear,
    Strategy::WeightedRandom,
    Strategy::SkillsBest,
];

/// xorshift64*: the benchmark only needs std.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Bench {
    engine: Engine,
    rng: Rng,
    now: i64,
    next_contact: u64,
    connected: Vec<ContactId>,
    pending: Vec<Command>,
}

impl Bench {
    fn handle(&mut self, ev: Event) -> Duration {
        self.now += 1;
        let t0 = Instant::now();
        let cmds = self.engine.handle(ev, Timestamp(self.now));
        let dt = t0.elapsed();
        self.pending.extend(cmds);
        dt
    }

    /// A contact of queue `q`: the queue's language at level 1 or 3 and, for two thirds
    /// of contacts, one of four topics at level 1 or 4 (18 requirement classes per
    /// queue and medium); 30% chats, 10% priority 5.
    fn contact(&mut self, q: u64) -> NewContact {
        self.next_contact += 1;
        let mut required = BTreeMap::new();
        let lang_min = if self.rng.below(2) == 0 { 1 } else { 3 };
        required.insert(LANGS[(q % 4) as usize].to_string(), lang_min);
        if self.rng.below(3) > 0 {
            let topic_min = if self.rng.below(2) == 0 { 1 } else { 4 };
            required.insert(TOPICS[self.rng.below(4) as usize].to_string(), topic_min);
        }
        let chat = self.rng.below(10) < 3;
        NewContact {
            id: ContactId(self.next_contact),
            tenant: TenantId(1),
            medium: if chat { Medium::Chat } else { Medium::Voice },
            channel: if chat {
                "whatsapp".into()
            } else {
                "pjsip".into()
            },
            queue: QueueId(q),
            priority: if self.rng.below(10) == 0 { 5 } else { 0 },
            required_skills: required,
            enqueued_at: Timestamp(self.now),
            joined_at: None,
            callback: false,
        }
    }

    /// Accepts every offer produced so far (first agent of a ring-all offer), timing the
    /// accepts into `accepts`.
    fn accept_all(&mut self, accepts: &mut Vec<Duration>) {
        while let Some(cmd) = self.pending.pop() {
            match cmd {
                Command::Offer {
                    contact, agents, ..
                } => {
                    if let Some(&agent) = agents.first() {
                        accepts.push(self.handle(Event::OfferAccepted { contact, agent }));
                    }
                }
                Command::Assigned { contact, .. } => self.connected.push(contact),
                _ => {}
            }
        }
    }
}

fn setup() -> Bench {
    let mut b = Bench {
        engine: Engine::new(7),
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        now: 0,
        next_contact: 0,
        connected: Vec::new(),
        pending: Vec::new(),
    };
    let mut members: Vec<Vec<Member>> = vec![Vec::new(); QUEUES as usize];
    for a in 0..AGENTS {
        // Two languages (a "home" one and a second, possibly the same) and two topics.
        let home = a % 4;
        let second = b.rng.below(4);
        let mut skills = BTreeMap::new();
        skills.insert(LANGS[home as usize].to_string(), 3 + b.rng.below(8) as u8);
        skills.insert(
            LANGS[second as usize].to_string(),
            1 + b.rng.below(10) as u8,
        );
        for _ in 0..2 {
            skills.insert(
                TOPICS[b.rng.below(4) as usize].to_string(),
                1 + b.rng.below(10) as u8,
            );
        }
        let agent = AgentConfig {
            id: AgentId(a),
            skills,
            capacity: Capacity { voice: 1, chat: 3 },
            block_chats_during_call: a % 5 == 0,
            wrapup_secs: None,
        };
        b.handle(Event::AgentAdded {
            agent,
            presence: Presence::Available,
        });
        // Queue q serves language q % 4: the agent joins queues of its languages.
        let mut qs = Vec::new();
        while qs.len() < QUEUES_PER_AGENT {
            let lang = if b.rng.below(2) == 0 { home } else { second };
            let q = lang + 4 * b.rng.below(QUEUES / 4);
            if !qs.contains(&q) {
                qs.push(q);
            }
        }
        for q in qs {
            let penalty = b.rng.below(3) as u32;
            members[q as usize].push(Member {
                agent: AgentId(a),
                penalty,
                wrapup_secs: None,
            });
        }
    }
    for (q, m) in members.into_iter().enumerate() {
        let mut cfg = QueueConfig::new(QueueId(q as u64));
        cfg.strategy = STRATEGIES[q % STRATEGIES.len()];
        cfg.members = m;
        cfg.weight = (q % 3) as u32;
        cfg.offer_timeout_secs = 30;
        b.handle(Event::QueueConfigured(cfg));
    }
    let mut sink = Vec::new();
    while b.engine.waiting_count() < WAITING {
        let q = b.rng.below(QUEUES);
        let c = b.contact(q);
        b.handle(Event::ContactEnqueued(c));
        b.accept_all(&mut sink);
    }
    b
}

fn pct(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_nanos()
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let total: Duration = v.iter().sum();
    let per_sec = v.len() as f64 / total.as_secs_f64().max(1e-12);
    println!(
        "{name:<34} {:>9} calls  {:>12.0} /s  p50 {:>6} ns  p99 {:>6} ns  p99.9 {:>7} ns  max {:>8} ns",
        v.len(),
        per_sec,
        pct(&v, 0.50),
        pct(&v, 0.99),
        pct(&v, 0.999),
        pct(&v, 1.0),
    );
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let cycles: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300_000);
    let t_setup = Instant::now();
    let mut b = setup();
    println!(
        "routing benchmark: {AGENTS} agents, {QUEUES} queues ({QUEUES_PER_AGENT} per agent, all 9 strategies), \
         {} waiting, {} connected; setup {:.2?}",
        b.engine.waiting_count(),
        b.connected.len(),
        t_setup.elapsed()
    );
    let mut decisions = Vec::with_capacity(cycles);
    let mut accepts = Vec::with_capacity(cycles);
    let mut arrivals = Vec::with_capacity(cycles);
    let mut idle_ends = 0usize;
    let wall = Instant::now();
    for _ in 0..cycles {
        if b.connected.is_empty() {
            break;
        }
        let i = b.rng.below(b.connected.len() as u64) as usize;
        let contact = b.connected.swap_remove(i);
        let dt = b.handle(Event::ContactEnded { contact });
        if b.pending.iter().any(|c| matches!(c, Command::Offer { .. })) {
            decisions.push(dt);
        } else {
            idle_ends += 1; // nothing this agent can take right now (skills / medium)
        }
        b.accept_all(&mut accepts);
        while b.engine.waiting_count() < WAITING {
            let q = b.rng.below(QUEUES);
            let c = b.contact(q);
            arrivals.push(b.handle(Event::ContactEnqueued(c)));
            b.accept_all(&mut accepts);
        }
    }
    let wall = wall.elapsed();
    let events = decisions.len() + idle_ends + accepts.len() + arrivals.len();
    println!(
        "decision = one ContactEnded handled: the freed agent's next contact is chosen across its queues and offered"
    );
    summary("decisions (contact ended → offer)", decisions.clone());
    summary("offer accepted → assigned", accepts);
    summary("contact enqueued (all agents busy)", arrivals);
    println!(
        "ends with nothing to offer: {idle_ends}; all events: {events} in {:.2?} wall = {:.0} events/s including driver",
        wall,
        events as f64 / wall.as_secs_f64()
    );
    let mut d = decisions;
    d.sort_unstable();
    let goal_rate = d.len() as f64 / d.iter().sum::<Duration>().as_secs_f64().max(1e-12);
    println!(
        "goal: ≥ 1,000,000 decisions/s and p99 < 10,000 ns → {:.0}/s, p99 {} ns: {}",
        goal_rate,
        pct(&d, 0.99),
        if goal_rate >= 1e6 && pct(&d, 0.99) < 10_000 {
            "met"
        } else {
            "NOT met"
        }
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak memory: /proc/self/status not readable"),
    }
}
