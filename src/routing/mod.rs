//! Routing: one queue model for calls and chats.
//!
//! [`Engine`] is a pure state machine (no I/O, no clock, no tokio): the adapter feeds it
//! [`Event`]s with the current [`Timestamp`] and executes the [`Command`]s it returns.
//! Semantics follow DESIGN §5 and Asterisk app_queue (ARI.md §7) in its modern "autofill"
//! form: as many contacts are offered in parallel as there are eligible agents.
//!
//! - [`model`]: ids, configuration, events, commands, statistics (serde on all of them;
//!   enums are snake_case strings, tagged enums use `type` / `kind` / `state`).
//! - `strategy` (internal): how one agent (or a ring-all tier) is picked among eligible
//!   agents, as a pure function over pre-filtered candidates.
//! - [`engine`]: the state machine, positions, statistics, snapshot.
//! - [`erlang`]: the Erlang C formulas, used to check the engine and for staffing.
//! - [`sim`]: a discrete-event simulator that drives the real engine ([`sim::simulate`])
//!   and a staffing search ([`sim::agents_for`]).
//! - [`service`]: the adapter that feeds each tenant's engine from the store and executes
//!   its commands.
//!
//! The rules, in one place:
//! - **Queue order**: priority (0–9) descending, then original `enqueued_at` (kept across
//!   overflow, callback and restart), then contact id.
//! - **Eligible agent** for a contact: member of its queue, presence available, not in
//!   wrap-up, not holding an offer (one offer per agent at a time), free capacity in the
//!   medium (no chat during a call with `block_chats_during_call`), every required skill
//!   at or above the minimum, and not inside the retry window after declining or missing
//!   this contact.
//! - **Penalty tiers**: only the lowest tier among eligible agents is considered, except
//!   for `weighted_random`, where the penalty is only a weight.
//! - **Autofill**: after every event the engine offers until no eligible agent is idle
//!   while a contact it could take waits (checked by [`Engine::check_invariants`]).
//! - **Agents in several queues**: a freed agent takes, from each of its queues, the first
//!   ready contact it can serve, and serves the queue where
//!   `(wait_ms + 1) × (1 + weight)` is largest (ties: higher priority, earlier enqueue).
//!   That contact then goes through its queue's strategy; if another free agent is also
//!   eligible, the queue is dispatched in order so no contact overtakes an earlier one.
//! - **Offers** expire on the first `handle` call at or after their deadline: send
//!   [`Event::Tick`] at [`Engine::next_deadline`] (there is no "timed out" event). The
//!   agent is marked missed for the retry window; after `autopause_after` misses in a row
//!   it is set away ([`AUTOPAUSE_REASON`]) with `AgentAutoPaused`. Declines open the retry
//!   window but do not count toward autopause. Queues with `auto_assign` skip the offer.
//! - **Wrap-up** after `ContactEnded`: the member's override, else the agent's, else the
//!   queue's seconds.
//! - **Overflow**: max wait (from joining this queue), full (`max_len`), closed (business
//!   hours; only arrivals are refused, waiting contacts keep being served), join-empty and
//!   leave-empty (checked on Tick). A `Queue` target is moved by the engine itself; with no
//!   target the contact is `Rejected`; a `Message` target keeps the contact waiting for
//!   max wait and closed.
//! - **Restart**: replay agents and queues, then [`Engine::snapshot`]'s contacts as
//!   `ContactEnqueued` (original `enqueued_at`, `joined_at` set) and connected ones with
//!   [`Engine::resume_connected`].
//! - **Daily reset** ([`Event::DailyReset`]) clears `fewest_contacts` counters and the
//!   statistics of [`Engine::queue_stats`].

pub mod engine;
pub mod erlang;
pub mod http;
pub mod model;
pub mod service;
pub mod sim;
mod strategy;

pub use engine::{AUTOPAUSE_REASON, AgentState, ContactView, Engine};
pub use model::{
    AgentConfig, AgentCounts, AgentId, Capacity, Command, ContactId, Event, Medium, Member,
    MemberCondition, NewContact, OverflowReason, OverflowTarget, Position, Presence, QueueConfig,
    QueueId, QueueStats, Strategy, TenantId, Timestamp,
};
pub use sim::{SimAgent, SimConfig, SimQueue, SimQueueReport, SimReport, agents_for, simulate};
