//! The routing engine's vocabulary: identifiers, time, configuration of queues and agents,
//! and the events that go in and the commands that come out of [`super::Engine::handle`].
//!
//! Everything here is plain data with serde derives, so the admin API and the adapter can
//! reuse these types on the wire. Nothing here knows how routing decisions are made.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since an epoch chosen by the caller (the adapter uses Unix time in ms, the
/// simulator uses simulated time). The engine only ever compares and subtracts timestamps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// A timestamp from whole seconds.
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// This timestamp plus `secs` seconds (saturating, so bad configuration cannot overflow).
    pub fn plus_secs(self, secs: u32) -> Self {
        Timestamp(self.0.saturating_add(i64::from(secs) * 1000))
    }

    /// Milliseconds elapsed from `earlier` to `self`, never negative.
    pub fn since(self, earlier: Timestamp) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A waiting or connected contact (a call or a chat conversation).
    ContactId,
    u64
);
id_type!(
    /// An agent (a user who takes contacts).
    AgentId,
    u64
);
id_type!(
    /// A queue.
    QueueId,
    u64
);
id_type!(
    /// The tenant a contact belongs to (carried through, never used to decide).
    TenantId,
    i64
);

/// How a contact reaches the agent. Capacity is counted per medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// A phone call.
    Voice,
    /// A chat conversation on any channel.
    Chat,
}

impl Medium {
    /// Both media, in index order.
    pub const ALL: [Medium; 2] = [Medium::Voice, Medium::Chat];

    /// Index into per-medium arrays.
    pub fn index(self) -> usize {
        match self {
            Medium::Voice => 0,
            Medium::Chat => 1,
        }
    }
}

/// An agent's presence as set by the agent (or by the engine's autopause).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    /// Logged out: never offered anything.
    Offline,
    /// Ready to be offered contacts.
    Available,
    /// Logged in but paused, with a reason ("lunch", "autopause", …).
    Away {
        /// Free text shown to supervisors.
        reason: String,
    },
}

/// How a queue picks among eligible agents (DESIGN §5, ARI §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Offer to every eligible agent of the lowest penalty tier; first to accept wins.
    #[default]
    RingAll,
    /// Queue-wide pointer resuming after the agent offered last (rrmemory). Members are
    /// walked in ascending agent-id order, the engine's equivalent of app_queue's container
    /// order, which need not match the configured order.
    RoundRobin,
    /// Like `round_robin`, but walking exactly the configured member order (rrordered).
    RoundRobinOrdered,
    /// The agent whose last contact of this medium ended longest ago; never-used agents first.
    LeastRecent,
    /// The agent with the fewest contacts completed from this queue since the last daily reset.
    FewestContacts,
    /// Uniformly at random within the lowest tier.
    Random,
    /// Walks the configured member order with a pointer per contact, starting at the first.
    Linear,
    /// No tiers: each agent draws `rand % ((1 + penalty) * 1000)`, lowest draw wins.
    WeightedRandom,
    /// Highest summed skill level over the contact's required skills; ties by least recent.
    SkillsBest,
}

/// A queue member with its penalty (lower tiers are tried first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The agent.
    pub agent: AgentId,
    /// Penalty tier, 0 = preferred.
    #[serde(default)]
    pub penalty: u32,
    /// Per-member wrap-up seconds overriding the queue's (app_queue's member wrapuptime).
    #[serde(default)]
    pub wrapup_secs: Option<u32>,
}

/// Where a contact goes when it cannot (or can no longer) wait in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OverflowTarget {
    /// Another queue of this engine: the engine moves the contact itself, keeping its
    /// original `enqueued_at`, and the target queue's own admission rules apply.
    Queue {
        /// The target queue.
        queue: QueueId,
    },
    /// Leave a voicemail in this mailbox (voice).
    Voicemail {
        /// Mailbox name or id, opaque to the engine.
        mailbox: String,
    },
    /// Continue in an IVR flow at this node (voice).
    IvrNode {
        /// Flow node reference, opaque to the engine.
        node: String,
    },
    /// Send this message and keep waiting (chat). Keeps the contact in the queue for the
    /// `max_wait` and `closed` reasons; for the other reasons the contact cannot stay.
    Message {
        /// Text for the adapter to send.
        text: String,
    },
}

/// Why a contact was overflowed or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowReason {
    /// Waited longer than the queue's `max_wait_secs`.
    MaxWait,
    /// Arrived at a queue holding `max_len` contacts.
    Full,
    /// Arrived while the queue was closed (business hours).
    Closed,
    /// Arrived while every member was unavailable under `join_empty`.
    JoinEmpty,
    /// Every member became unavailable under `leave_empty` while waiting.
    LeaveEmpty,
    /// The queue does not exist (or was removed while the contact waited).
    UnknownQueue,
    /// Overflow between queues went round in a loop.
    OverflowLoop,
    /// A contact with this id is already known to the engine.
    Duplicate,
}

/// A condition under which a member counts as unavailable for `join_empty` / `leave_empty`
/// (the subset of app_queue's list that has a meaning here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberCondition {
    /// Presence away.
    Paused,
    /// Presence offline.
    Unavailable,
    /// No free capacity in the contact's medium.
    InUse,
    /// Holding an offer.
    Ringing,
    /// In wrap-up.
    Wrapup,
}

/// A queue's configuration, upserted whole by [`Event::QueueConfigured`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// The queue.
    pub id: QueueId,
    /// How eligible agents are picked.
    #[serde(default)]
    pub strategy: Strategy,
    /// Members in configured order (the order `linear` and `round_robin_ordered` walk).
    #[serde(default)]
    pub members: Vec<Member>,
    /// Seconds an offer rings before it expires (app_queue `timeout`).
    #[serde(default = "defaults::offer_timeout")]
    pub offer_timeout_secs: u32,
    /// Seconds an agent who declined or missed a contact is not offered it again (`retry`);
    /// at least [`MIN_RETRY_SECS`] in effect (see [`QueueConfig::retry_window_secs`]).
    #[serde(default = "defaults::retry")]
    pub retry_secs: u32,
    /// Longest wait in this queue before overflow; `None` = wait forever.
    #[serde(default)]
    pub max_wait_secs: Option<u32>,
    /// Most contacts waiting at once; `None` = unlimited.
    #[serde(default)]
    pub max_len: Option<u32>,
    /// Where contacts go on max wait, full, closed, join/leave empty; `None` = rejected.
    #[serde(default)]
    pub overflow: Option<OverflowTarget>,
    /// Seconds an agent is ineligible after finishing a contact from this queue.
    #[serde(default)]
    pub wrapup_secs: u32,
    /// Answered within this many seconds counts toward the service level.
    #[serde(default = "defaults::sl_threshold")]
    pub sl_threshold_secs: u32,
    /// Open for new contacts (the adapter sets it from business hours).
    #[serde(default = "defaults::yes")]
    pub open: bool,
    /// If non-empty: a contact may not join when every member is unavailable by these.
    #[serde(default)]
    pub join_empty: Vec<MemberCondition>,
    /// If non-empty: waiting contacts leave when every member is unavailable by these
    /// (checked on [`Event::Tick`]).
    #[serde(default)]
    pub leave_empty: Vec<MemberCondition>,
    /// Preference of this queue for agents serving several queues (higher wins more).
    #[serde(default)]
    pub weight: u32,
    /// Seconds between position/EWT announcements per contact; `None` = off.
    #[serde(default)]
    pub announce_position_secs: Option<u32>,
    /// Set an agent away after this many missed offers in a row; `None` = never.
    #[serde(default)]
    pub autopause_after: Option<u32>,
    /// Handle time assumed for EWT before any contact has been handled.
    #[serde(default = "defaults::handle")]
    pub default_handle_secs: u32,
    /// Connect the picked agent at once (`Assigned`, no `Offer`), e.g. chat queues that
    /// push conversations into agents' inboxes.
    #[serde(default)]
    pub auto_assign: bool,
    /// Record voice calls answered from this queue (the engine ignores it; the voice adapter
    /// records the call's bridge).
    #[serde(default)]
    pub record_calls: bool,
    /// Ring a member whose phone is already on a call Switchboard did not route to them (a
    /// transfer, a direct call): app_queue's `ringinuse`. Off, such a phone is skipped and the
    /// next agent is tried (the engine ignores it; the voice adapter reads the phone's state).
    #[serde(default)]
    pub ring_in_use: bool,
}

mod defaults {
    pub(super) fn offer_timeout() -> u32 {
        15
    }
    pub(super) fn retry() -> u32 {
        5
    }
    pub(super) fn sl_threshold() -> u32 {
        20
    }
    pub(super) fn yes() -> bool {
        true
    }
    pub(super) fn handle() -> u32 {
        180
    }
}

impl QueueConfig {
    /// A queue with app_queue's defaults (ring_all, 15 s offer timeout, 5 s retry), open,
    /// with no members.
    pub fn new(id: QueueId) -> Self {
        QueueConfig {
            id,
            strategy: Strategy::default(),
            members: Vec::new(),
            offer_timeout_secs: defaults::offer_timeout(),
            retry_secs: defaults::retry(),
            max_wait_secs: None,
            max_len: None,
            overflow: None,
            wrapup_secs: 0,
            sl_threshold_secs: defaults::sl_threshold(),
            open: true,
            join_empty: Vec::new(),
            leave_empty: Vec::new(),
            weight: 0,
            announce_position_secs: None,
            autopause_after: None,
            default_handle_secs: defaults::handle(),
            auto_assign: false,
            record_calls: false,
            ring_in_use: false,
        }
    }

    /// How long an agent who declined, missed or could not take a contact is passed over for
    /// it: `retry_secs`, but never less than [`MIN_RETRY_SECS`].
    pub fn retry_window_secs(&self) -> u32 {
        self.retry_secs.max(MIN_RETRY_SECS)
    }
}

/// The shortest retry window. A phone that is busy, or a connection Asterisk refuses, fails in
/// milliseconds: with no window at all, a queue whose `retry_secs` is 0 would offer the same
/// agent the same contact again at once, over and over (one originate per round trip), for as
/// long as nobody else is free. app_queue's ring cycle has the same floor in practice: a full
/// cycle that fails is followed by its `retry` pause before ringing again.
pub const MIN_RETRY_SECS: u32 = 1;

/// How many contacts of each medium an agent can hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Simultaneous calls (default 1).
    pub voice: u8,
    /// Simultaneous chats (default 3).
    pub chat: u8,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity { voice: 1, chat: 3 }
    }
}

impl Capacity {
    /// Capacity for one medium.
    pub fn of(&self, medium: Medium) -> u8 {
        match medium {
            Medium::Voice => self.voice,
            Medium::Chat => self.chat,
        }
    }
}

/// An agent's routing-relevant profile (presence travels separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// The agent.
    pub id: AgentId,
    /// Skill name → level 1–10 (levels outside are clamped).
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Capacity per medium.
    #[serde(default)]
    pub capacity: Capacity,
    /// No chat offers while the agent is on a call (cross-channel rule).
    #[serde(default)]
    pub block_chats_during_call: bool,
    /// Wrap-up seconds for this agent in every queue, unless the queue membership
    /// overrides it ([`Member::wrapup_secs`]); `None` = the queue's.
    #[serde(default)]
    pub wrapup_secs: Option<u32>,
}

impl AgentConfig {
    /// An agent with no skills and default capacity (1 call, 3 chats).
    pub fn new(id: AgentId) -> Self {
        AgentConfig {
            id,
            skills: BTreeMap::new(),
            capacity: Capacity::default(),
            block_chats_during_call: false,
            wrapup_secs: None,
        }
    }
}

/// A contact entering a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    /// The contact.
    pub id: ContactId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Voice or chat.
    pub medium: Medium,
    /// Channel name ("pjsip", "whatsapp", …), carried through.
    pub channel: String,
    /// The queue to wait in.
    pub queue: QueueId,
    /// 0–9, higher first (values above 9 are clamped).
    #[serde(default)]
    pub priority: u8,
    /// Skill name → minimum level.
    #[serde(default)]
    pub required_skills: BTreeMap<String, u8>,
    /// When the contact first started waiting anywhere: orders FIFO, kept across overflow,
    /// callback and restart.
    pub enqueued_at: Timestamp,
    /// When it joined this queue (for `max_wait_secs`); `None` = now. Set it when rebuilding
    /// after a restart.
    #[serde(default)]
    pub joined_at: Option<Timestamp>,
    /// The contact asked for a callback (carried through).
    #[serde(default)]
    pub callback: bool,
}

/// What the adapter tells the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A contact starts waiting (or is re-enqueued with its original time after a restart).
    ContactEnqueued(NewContact),
    /// The customer left: abandon if waiting, end if connected.
    ContactWithdrawn {
        /// The contact.
        contact: ContactId,
    },
    /// The contact is gone by no choice of the customer's (the platform failed them, e.g.
    /// their Asterisk restarted): like a withdrawal, but a waiting contact is not counted as
    /// abandoned.
    ContactLost {
        /// The contact.
        contact: ContactId,
    },
    /// An agent accepted an offer (the first accept wins).
    OfferAccepted {
        /// The contact.
        contact: ContactId,
        /// The accepting agent.
        agent: AgentId,
    },
    /// An agent declined an offer.
    OfferDeclined {
        /// The contact.
        contact: ContactId,
        /// The declining agent.
        agent: AgentId,
    },
    /// The platform could not connect an assigned contact with its agent (Asterisk refused
    /// to bridge the two): the contact goes back to waiting in its original place, not
    /// counted as answered; the agent is free again without wrap-up, and skipped for this
    /// contact for the queue's retry time.
    ConnectFailed {
        /// The contact.
        contact: ContactId,
    },
    /// The customer left (`abandoned`) or was lost while assigned to an agent whose
    /// connection was never made (a queue that assigns without offering, the agent's phone
    /// still ringing): the assignment is undone as by `ConnectFailed`, and the contact leaves
    /// as a waiting one would, without being offered to anyone else.
    UnconnectedLeft {
        /// The contact.
        contact: ContactId,
        /// Counted as abandoned (the customer gave up), or lost (the platform's doing).
        abandoned: bool,
    },
    /// A connected contact finished; the agent enters wrap-up.
    ContactEnded {
        /// The contact.
        contact: ContactId,
    },
    /// An agent's presence changed.
    AgentPresenceChanged {
        /// The agent.
        agent: AgentId,
        /// The new presence.
        presence: Presence,
    },
    /// A new agent (idempotent: an existing agent is updated).
    AgentAdded {
        /// Profile.
        agent: AgentConfig,
        /// Initial presence.
        presence: Presence,
    },
    /// An agent's skills, capacity or cross-channel rule changed.
    AgentUpdated(AgentConfig),
    /// An agent was deleted: outstanding offers are withdrawn, connected contacts stay.
    AgentRemoved {
        /// The agent.
        agent: AgentId,
    },
    /// Create or replace a queue's configuration; waiting contacts are kept.
    QueueConfigured(QueueConfig),
    /// Delete a queue: its waiting contacts are rejected with `unknown_queue`.
    QueueRemoved {
        /// The queue.
        queue: QueueId,
    },
    /// Business hours opened or closed the queue.
    QueueOpenChanged {
        /// The queue.
        queue: QueueId,
        /// Open?
        open: bool,
    },
    /// Time passed. Expired offers, max waits, wrap-up ends, retry windows and
    /// announcements are processed at the start of every `handle` call, so a Tick is only
    /// needed when nothing else happens; [`super::Engine::next_deadline`] says when.
    Tick,
    /// A new day began: resets `fewest_contacts` counters and the per-queue statistics.
    DailyReset,
}

/// What the engine asks the adapter to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Ring / show the contact to these agents until `deadline`.
    Offer {
        /// The contact.
        contact: ContactId,
        /// One agent, or several for `ring_all`.
        agents: Vec<AgentId>,
        /// When the offer expires if nobody accepts.
        deadline: Timestamp,
    },
    /// Stop ringing these agents for this contact.
    WithdrawOffers {
        /// The contact.
        contact: ContactId,
        /// The agents to stop offering to.
        agents: Vec<AgentId>,
    },
    /// Connect the contact with the agent.
    Assigned {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// Tell the waiting contact its position (1 = next) and expected wait.
    AnnouncePosition {
        /// The contact.
        contact: ContactId,
        /// 1-based position in its queue.
        position: u32,
        /// Expected wait in seconds.
        ewt_secs: u32,
    },
    /// The contact leaves (or, for a `Message` target, is told something while it keeps
    /// waiting: `keeps_waiting`). For a `Queue` target the engine has already moved it.
    Overflow {
        /// The contact.
        contact: ContactId,
        /// Where it goes.
        target: OverflowTarget,
        /// Why.
        reason: OverflowReason,
        /// The contact stays in its queue.
        keeps_waiting: bool,
    },
    /// The contact could not wait and the queue has no overflow target: end it politely.
    Rejected {
        /// The contact.
        contact: ContactId,
        /// Why.
        reason: OverflowReason,
    },
    /// The agent missed too many offers in a row and is now away ("autopause").
    AgentAutoPaused {
        /// The agent.
        agent: AgentId,
    },
}

impl Command {
    /// The contact the command is about, if it is about one.
    pub fn contact(&self) -> Option<ContactId> {
        match self {
            Command::Offer { contact, .. }
            | Command::WithdrawOffers { contact, .. }
            | Command::Assigned { contact, .. }
            | Command::AnnouncePosition { contact, .. }
            | Command::Overflow { contact, .. }
            | Command::Rejected { contact, .. } => Some(*contact),
            Command::AgentAutoPaused { .. } => None,
        }
    }
}

/// Where a waiting contact stands, computed on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Its queue.
    pub queue: QueueId,
    /// 1-based position (1 = next).
    pub position: u32,
    /// Expected wait in seconds.
    pub ewt_secs: u32,
    /// Waited so far in this queue order (since `enqueued_at`), seconds.
    pub waited_secs: u32,
}

/// Agents of a queue by state (each member counted once, first matching state wins in
/// the order offline, away, ringing, wrap-up, busy, available).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentCounts {
    /// Presence offline.
    pub offline: u32,
    /// Presence away.
    pub away: u32,
    /// Holding an offer.
    pub ringing: u32,
    /// In wrap-up.
    pub wrapup: u32,
    /// Available and connected to at least one contact (a blended agent on a call may
    /// still take chats).
    pub busy: u32,
    /// Available and idle.
    pub available: u32,
}

/// A queue's live figures, computed on demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueStats {
    /// The queue.
    pub queue: QueueId,
    /// Contacts waiting (including those being offered).
    pub waiting: u32,
    /// Longest current wait, seconds (since `enqueued_at`).
    pub longest_wait_secs: u32,
    /// Answered (assigned) since the last daily reset.
    pub answered: u64,
    /// Answered within `sl_threshold_secs`.
    pub answered_within_sl: u64,
    /// Abandoned while waiting.
    pub abandoned: u64,
    /// Overflowed or rejected out of this queue.
    pub overflowed: u64,
    /// `answered_within_sl / (answered + abandoned)`; `None` before the first.
    pub service_level: Option<f64>,
    /// Rolling mean handle time, seconds.
    pub mean_handle_secs: f64,
    /// Members by state.
    pub agents: AgentCounts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error;

    fn from_str<'de, T: Deserialize<'de>>(s: &'de str) -> T {
        match T::deserialize(IntoDeserializer::<Error>::into_deserializer(s)) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn enums_read_their_snake_case_names_from_config() {
        assert_eq!(
            from_str::<Strategy>("round_robin_ordered"),
            Strategy::RoundRobinOrdered
        );
        assert_eq!(
            from_str::<Strategy>("weighted_random"),
            Strategy::WeightedRandom
        );
        assert_eq!(from_str::<Strategy>("skills_best"), Strategy::SkillsBest);
        assert_eq!(from_str::<Medium>("chat"), Medium::Chat);
        assert_eq!(
            from_str::<MemberCondition>("in_use"),
            MemberCondition::InUse
        );
        assert_eq!(
            from_str::<OverflowReason>("leave_empty"),
            OverflowReason::LeaveEmpty
        );
    }

    #[test]
    fn timestamps_saturate_instead_of_overflowing() {
        assert_eq!(Timestamp(i64::MAX).plus_secs(10), Timestamp(i64::MAX));
        assert_eq!(Timestamp(5).since(Timestamp(10)), 0);
        assert_eq!(Timestamp::from_secs(2).since(Timestamp(500)), 1500);
    }
}
