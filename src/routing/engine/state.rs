//! The engine's internal bookkeeping: compact per-agent, per-queue and per-contact state,
//! a fixed-width bit set over agent indices, and a cheap hasher for integer ids.
//!
//! Agents and queues live in vectors and are referred to by `u32` index on the hot path;
//! the public ids only appear at the edges (events in, commands out).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::routing::model::{
    AgentId, ContactId, Medium, Presence, QueueConfig, TenantId, Timestamp,
};

/// Sentinel for "not a member" in a queue's agent → member slot table.
pub(super) const NO_SLOT: u32 = u32::MAX;

/// Multiplicative hasher for integer keys: ids are not attacker-chosen hash-flooding
/// material inside a single tenant's engine, and SipHash would dominate the hot path.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// A `HashMap` keyed by small integer ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A growable bit set over agent indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub(crate) fn set(&mut self, i: u32, on: bool) {
        let w = (i / 64) as usize;
        if w >= self.words.len() {
            if !on {
                return;
            }
            self.words.resize(w + 1, 0);
        }
        let bit = 1u64 << (i % 64);
        if on {
            self.words[w] |= bit;
        } else {
            self.words[w] &= !bit;
        }
    }

    pub(crate) fn get(&self, i: u32) -> bool {
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// Calls `f` for every index set in both `self` and `other`, in ascending order.
    pub(crate) fn for_each_and(&self, other: &BitSet, mut f: impl FnMut(u32)) {
        for (wi, (a, b)) in self.words.iter().zip(&other.words).enumerate() {
            let mut w = a & b;
            while w != 0 {
                let bit = w.trailing_zeros();
                f(wi as u32 * 64 + bit);
                w &= w - 1;
            }
        }
    }

    /// Whether `i` is the only index set in both `self` and `other`.
    pub(crate) fn and_is_only(&self, other: &BitSet, i: u32) -> bool {
        let wi = (i / 64) as usize;
        self.words
            .iter()
            .zip(&other.words)
            .enumerate()
            .all(|(k, (&a, &b))| {
                let w = a & b;
                if k == wi {
                    w & !(1u64 << (i % 64)) == 0
                } else {
                    w == 0
                }
            })
    }

    /// Whether any index is set.
    pub(crate) fn any(&self) -> bool {
        self.words.iter().any(|&w| w != 0)
    }

    /// Whether `self` and `other` share an index.
    pub(crate) fn intersects(&self, other: &BitSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }
}

/// Queue order: higher priority first, then earlier original enqueue time, then id.
pub(crate) type OrderKey = (Reverse<u8>, Timestamp, ContactId);

/// Where a contact is in its life inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Waiting, with no outstanding offer: can be offered.
    Ready,
    /// Waiting, with outstanding offers (see `ContactSt::offers`).
    Offered,
    /// Connected to an agent until `ContactEnded`. `counted`: this engine counted the answer in
    /// the queue's figures (not so for a contact resumed as connected after a restart, whose
    /// answer was counted before it), so undoing the connection takes it back only then.
    Assigned {
        agent: u32,
        at: Timestamp,
        counted: bool,
    },
}

/// The identity of a contact, compacted: skills live in the class, the channel name in
/// the engine's channel table. No heap data, so forgetting a contact long after it was
/// enqueued does not touch cold memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContactInfo {
    pub id: ContactId,
    pub tenant: TenantId,
    pub medium: Medium,
    pub channel: u16,
    pub enqueued_at: Timestamp,
    pub callback: bool,
}

/// One contact known to the engine.
#[derive(Debug, Clone)]
pub(crate) struct ContactSt {
    /// Identity (rebuilt into a `NewContact` for snapshots and overflow moves).
    pub info: ContactInfo,
    pub queue: u32,
    pub class: u32,
    pub priority: u8,
    pub joined_at: Timestamp,
    pub status: Status,
    /// Agents currently offered this contact.
    pub offers: Vec<u32>,
    pub deadline: Timestamp,
    /// Agents who declined or missed it, and until when they are skipped.
    pub missed: Vec<(u32, Timestamp)>,
    /// `linear`: the configured position to try next.
    pub linear_next: u32,
    pub max_wait_at: Option<Timestamp>,
    pub next_announce: Option<Timestamp>,
}

impl ContactSt {
    pub(crate) fn key(&self) -> OrderKey {
        (Reverse(self.priority), self.info.enqueued_at, self.info.id)
    }

    pub(crate) fn has_missed(&self, agent: u32, now: Timestamp) -> bool {
        self.missed
            .iter()
            .any(|&(a, until)| a == agent && until > now)
    }
}

/// Contacts by id: a small id → slot index map over a slab, so the hash table stays
/// compact (cache-friendly) and contacts do not move when the table grows.
#[derive(Debug, Default)]
pub(crate) struct ContactTable {
    index: IdMap<ContactId, u32>,
    slots: Vec<Option<ContactSt>>,
    vacant: Vec<u32>,
}

impl ContactTable {
    pub(crate) fn get(&self, id: &ContactId) -> Option<&ContactSt> {
        let &i = self.index.get(id)?;
        self.slots.get(i as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: &ContactId) -> Option<&mut ContactSt> {
        let &i = self.index.get(id)?;
        self.slots.get_mut(i as usize)?.as_mut()
    }

    pub(crate) fn contains_key(&self, id: &ContactId) -> bool {
        self.index.contains_key(id)
    }

    /// Inserts a contact whose id is not present (callers check first).
    pub(crate) fn insert(&mut self, id: ContactId, c: ContactSt) {
        let i = match self.vacant.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(c);
                i
            }
            None => {
                self.slots.push(Some(c));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, i);
    }

    pub(crate) fn remove(&mut self, id: &ContactId) -> Option<ContactSt> {
        let i = self.index.remove(id)?;
        let c = self.slots.get_mut(i as usize)?.take();
        self.vacant.push(i);
        c
    }

    /// Forgets a contact in place (no move of the value out of its slot).
    pub(crate) fn discard(&mut self, id: &ContactId) {
        if let Some(i) = self.index.remove(id) {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                *slot = None;
            }
            self.vacant.push(i);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&ContactId, &ContactSt)> {
        self.slots.iter().flatten().map(|c| (&c.info.id, c))
    }
}

/// A distinct (medium, required skills) combination and the agents that satisfy it.
#[derive(Debug, Clone)]
pub(crate) struct ClassSt {
    pub medium: Medium,
    /// (skill index, minimum level), sorted.
    pub reqs: Vec<(u16, u8)>,
    pub qualified: BitSet,
}

/// A resolved queue member.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemberSt {
    pub agent: u32,
    pub penalty: u32,
    pub wrapup: Option<u32>,
    /// Configured position.
    pub order: u32,
    /// Position in ascending agent-id order.
    pub id_order: u32,
}

/// Counters since the last daily reset.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub answered: u64,
    pub within_sl: u64,
    pub abandoned: u64,
    pub overflowed: u64,
}

/// One queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueSt {
    pub cfg: QueueConfig,
    pub members: Vec<MemberSt>,
    /// Agent index → index into `members`, or `NO_SLOT`.
    pub slot: Vec<u32>,
    /// Members free for each medium (see `AgentSt::free`).
    pub free: [BitSet; 2],
    /// Ready contacts per requirement class (classes with none are dropped).
    pub ready: IdMap<u32, BTreeSet<OrderKey>>,
    /// Per medium, the first ready contact of each class, in queue order: a free agent
    /// walks this short list (only for the media it has room for) instead of every class.
    pub heads: [BTreeSet<(OrderKey, u32)>; 2],
    /// Every waiting contact (ready or offered), for positions and length.
    pub waiting: BTreeSet<OrderKey>,
    /// Agent index → contacts completed from this queue since the daily reset.
    pub handled: Vec<u32>,
    /// Round-robin pointer (walk position of the member offered last).
    pub rr_last: Option<u32>,
    pub counters: Counters,
    /// Rolling mean handle time in ms (EWMA) and how many samples fed it.
    pub aht_ms: f64,
    pub aht_samples: u64,
}

impl QueueSt {
    /// Whether a contact that waited from `enqueued` and was answered at `answered` counts
    /// as answered within the queue's service-level threshold.
    pub(crate) fn within_sl(&self, enqueued: Timestamp, answered: Timestamp) -> bool {
        answered.since(enqueued) <= u64::from(self.cfg.sl_threshold_secs) * 1000
    }

    pub(crate) fn new(cfg: QueueConfig) -> Self {
        let aht_ms = f64::from(cfg.default_handle_secs) * 1000.0;
        QueueSt {
            cfg,
            members: Vec::new(),
            slot: Vec::new(),
            free: [BitSet::default(), BitSet::default()],
            ready: IdMap::default(),
            heads: [BTreeSet::new(), BTreeSet::new()],
            waiting: BTreeSet::new(),
            handled: Vec::new(),
            rr_last: None,
            counters: Counters::default(),
            aht_ms,
            aht_samples: 0,
        }
    }

    pub(crate) fn member(&self, agent: u32) -> Option<&MemberSt> {
        let s = *self.slot.get(agent as usize)?;
        self.members.get(s as usize)
    }

    /// Adds a ready contact, keeping `heads` in step.
    pub(crate) fn ready_insert(&mut self, class: u32, medium: Medium, key: OrderKey) {
        let heads = &mut self.heads[medium.index()];
        let set = self.ready.entry(class).or_default();
        let old = set.first().copied();
        set.insert(key);
        if old.is_none_or(|o| key < o) {
            if let Some(o) = old {
                heads.remove(&(o, class));
            }
            heads.insert((key, class));
        }
    }

    /// Removes a ready contact (no-op if absent), keeping `heads` in step.
    pub(crate) fn ready_remove(&mut self, class: u32, medium: Medium, key: &OrderKey) {
        let heads = &mut self.heads[medium.index()];
        let Some(set) = self.ready.get_mut(&class) else {
            return;
        };
        let was_head = set.first() == Some(key);
        if !set.remove(key) {
            return;
        }
        if was_head {
            heads.remove(&(*key, class));
            if let Some(&next) = set.first() {
                heads.insert((next, class));
            }
        }
        if set.is_empty() {
            self.ready.remove(&class);
        }
    }

    /// Feeds one handle time into the rolling mean (EWMA, α = 0.05 ≈ the last 40 contacts).
    pub(crate) fn record_handle(&mut self, ms: u64) {
        let x = ms as f64;
        self.aht_ms = if self.aht_samples == 0 {
            x
        } else {
            self.aht_ms + 0.05 * (x - self.aht_ms)
        };
        self.aht_samples += 1;
    }
}

/// One agent.
#[derive(Debug, Clone)]
pub(crate) struct AgentSt {
    pub id: AgentId,
    /// Level per skill index (0 = lacks the skill).
    pub skills: Vec<u8>,
    pub capacity: [u8; 2],
    pub block_chats: bool,
    pub presence: Presence,
    pub wrapup_until: Timestamp,
    /// Agent-level wrap-up seconds (below a member override, above the queue's).
    pub wrapup_override: Option<u32>,
    /// Connected contacts per medium.
    pub active: [u8; 2],
    /// The contact this agent is being offered (at most one at a time).
    pub offer: Option<ContactId>,
    /// Contacts this agent declined or missed, until when (mirror of `ContactSt::missed`).
    pub missed: Vec<(ContactId, Timestamp)>,
    pub missed_in_a_row: u32,
    pub last_ended: [Option<Timestamp>; 2],
    /// Queue indices this agent is a member of.
    pub queues: Vec<u32>,
    pub removed: bool,
    /// Cached eligibility per medium, mirrored into each queue's `free` bit sets.
    pub free: [bool; 2],
}

impl AgentSt {
    pub(crate) fn level(&self, skill: u16) -> u8 {
        self.skills.get(usize::from(skill)).copied().unwrap_or(0)
    }

    pub(crate) fn qualifies(&self, reqs: &[(u16, u8)]) -> bool {
        reqs.iter().all(|&(s, min)| self.level(s) >= min)
    }

    pub(crate) fn skill_sum(&self, reqs: &[(u16, u8)]) -> u32 {
        reqs.iter().map(|&(s, _)| u32::from(self.level(s))).sum()
    }

    /// Presence available, not removed, not in wrap-up, not holding an offer.
    pub(crate) fn ready_at(&self, now: Timestamp) -> bool {
        !self.removed
            && self.presence == Presence::Available
            && now >= self.wrapup_until
            && self.offer.is_none()
    }

    /// Room for one more contact of `medium`, including the cross-channel rule.
    pub(crate) fn has_room(&self, medium: Medium) -> bool {
        let m = medium.index();
        if self.active[m] >= self.capacity[m] {
            return false;
        }
        !(medium == Medium::Chat && self.block_chats && self.active[0] > 0)
    }

    pub(crate) fn has_missed(&self, contact: ContactId, now: Timestamp) -> bool {
        self.missed
            .iter()
            .any(|&(c, until)| c == contact && until > now)
    }
}

/// Time-driven work, kept in one ordered set and checked lazily when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    OfferExpiry(ContactId),
    MaxWait(ContactId),
    WrapupEnd(u32),
    RetryEnd(ContactId),
    Announce(ContactId),
}

/// Things to re-evaluate before `handle` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Try to offer this ready contact.
    Contact(ContactId),
    /// Find something for this agent, who may have become free.
    Agent(u32),
    /// Re-evaluate a whole queue (configuration changed).
    Queue(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_set_intersection_lists_common_indices_in_order() {
        let mut a = BitSet::default();
        let mut b = BitSet::default();
        for i in [1, 64, 130, 200] {
            a.set(i, true);
        }
        for i in [0, 64, 200, 300] {
            b.set(i, true);
        }
        let mut seen = Vec::new();
        a.for_each_and(&b, |i| seen.push(i));
        assert_eq!(seen, vec![64, 200]);
        assert!(a.intersects(&b));
        a.set(64, false);
        a.set(200, false);
        assert!(!a.intersects(&b));
        assert!(!a.get(5000));
    }
}
