//! Handing a conversation from the AI agent to a human: per-tenant rules, their pure
//! evaluation, and what the human agent receives (TTS-AND-LLM.md §7).
//!
//! Pure: no I/O and no clock. The caller computes one message's signals with
//! [`crate::ai::signals`], asks [`evaluate`] before any model call, asks
//! [`evaluate_inactivity`] from its own timer, and on a decision builds a
//! [`HandoffRecord`] with [`summarise`] and [`collect_fields`].
//!
//! - `model.rs`: the serde types: [`HandoffRule`], [`Condition`], [`TurnSignals`],
//!   [`HandoffReason`], [`HandoffDecision`], [`HandoffRecord`].
//! - `evaluate.rs`: [`evaluate`], [`evaluate_inactivity`] and the built-in
//!   [`default_rules`].
//! - `validate.rs`: [`validate`] and [`RuleError`].
//! - `summary.rs`: [`summarise`], [`collect_fields`] and [`render_message`].

mod evaluate;
mod model;
mod summary;
mod validate;

pub use evaluate::{default_rules, evaluate, evaluate_inactivity};
pub use model::{
    Condition, HandoffDecision, HandoffReason, HandoffRecord, HandoffRule, TurnSignals,
};
pub use summary::{collect_fields, render_message, summarise};
pub use validate::{
    MAX_ENTRIES, MAX_ENTRY_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, RuleError, validate,
};
