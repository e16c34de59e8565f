//! The serde types: rules as tenants store and edit them, what one turn tells the rules,
//! and what a handoff passes to the human agent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One per-tenant rule: when `condition` holds, hand the conversation to a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct HandoffRule {
    /// The store's id; built-in rules from [`super::default_rules`] use negative ids so they
    /// can never collide with a stored rule.
    #[serde(default)]
    pub id: i64,
    /// Shown to admins and in the handoff record; 1 to [`super::MAX_NAME_CHARS`] characters.
    pub name: String,
    /// When the rule fires.
    pub condition: Condition,
    /// Lower is checked first; the first active rule that matches wins. Ties go to the
    /// lower id.
    #[serde(default)]
    pub priority: i32,
    /// The queue to route to; `None` means the AI agent's default handoff target.
    #[serde(default)]
    pub queue_id: Option<i64>,
    /// The routing priority the contact gets in that queue; `None` keeps the queue's default.
    #[serde(default)]
    pub route_priority: Option<i64>,
    /// What the customer is told, a template that may use `{{position}}`, `{{wait}}` and
    /// `{{queue}}` (see [`super::render_message`]); `None` means the channel's localised
    /// default. At most [`super::MAX_MESSAGE_CHARS`] characters.
    #[serde(default)]
    pub message: Option<String>,
    /// Inactive rules are kept but never evaluated.
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

/// When a rule fires. Serialised with its kind in a `kind` field:
/// `{"kind": "sentiment", "at_most": -0.5, "consecutive": 2}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The customer's message contains one of these words or phrases, ignoring case and
    /// accents, on word boundaries ("sue" does not match "issue").
    Keyword {
        /// Words or phrases; at least one, none blank.
        words: Vec<String>,
    },
    /// The detected intent is one of these (compared ignoring case).
    Intent {
        /// Intent names; at least one, none blank.
        intents: Vec<String>,
    },
    /// The last `consecutive` customer messages all scored at most `at_most`.
    Sentiment {
        /// A VADER compound in −1..=1; −0.5 is clearly negative, −0.8 is angry.
        at_most: f64,
        /// How many customer messages in a row; 1 means this message alone.
        #[serde(default = "one")]
        consecutive: u32,
    },
    /// The customer has been silent this long; checked by [`super::evaluate_inactivity`]
    /// from a timer, never on a message.
    Inactivity {
        /// At least 1.
        secs: u64,
    },
    /// The bot's confidence in its would-be answer is below this (0..=1).
    Confidence {
        /// In 0..=1.
        below: f64,
    },
    /// The bot has already replied this many times, so the customer's next message goes
    /// to a person instead of another bot reply.
    MaxBotTurns {
        /// At least 1.
        turns: u32,
    },
    /// The customer asked for a person ([`crate::ai::signals::asks_for_human`]).
    ExplicitRequest,
}

fn one() -> u32 {
    1
}

/// What the rules look at for one customer message. The caller computes the signals
/// (see [`crate::ai::signals`]) once and passes them here.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurnSignals<'a> {
    /// The customer's message.
    pub text: &'a str,
    /// The detected intent, if any.
    pub intent: Option<&'a str>,
    /// Sentiment of the customer's messages so far, oldest first, including this one.
    /// Messages whose sentiment was not measured are left out.
    pub sentiments: &'a [f64],
    /// Bot replies already given in this conversation.
    pub bot_turns: u32,
    /// The bot's confidence in the answer it would give, if known.
    pub confidence: Option<f64>,
    /// Whether the message explicitly asks for a person.
    pub asks_for_human: bool,
}

/// Why a conversation went to a human. Rules produce the first seven; the agent's runtime
/// produces the rest. Serialised as `{"kind": "keyword", "detail": "lawyer"}` or
/// `{"kind": "manual"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer asked for a person.
    ExplicitRequest,
    /// A keyword rule matched; the word or phrase as the rule spells it.
    Keyword(String),
    /// An intent rule matched; the intent as detected.
    Intent(String),
    /// The customer's sentiment stayed at or below a rule's threshold.
    NegativeSentiment,
    /// The customer went quiet for longer than a rule allows.
    Inactivity,
    /// The bot was not confident enough in its answer.
    LowConfidence,
    /// The bot used up its replies.
    MaxBotTurns,
    /// The model called its `handoff` tool.
    ModelRequested,
    /// The model or a tool failed, timed out, or returned invalid arguments twice.
    ProviderFailure,
    /// The question is outside what the bot may answer.
    OutOfScope,
    /// A person took the conversation over.
    Manual,
    /// The conversation's turn, time or cost budget ran out.
    BudgetExhausted,
}

impl HandoffReason {
    /// A stable code for metrics labels and database columns, the same as the serialised
    /// `kind` ("explicit_request", "keyword", …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ExplicitRequest => "explicit_request",
            Self::Keyword(_) => "keyword",
            Self::Intent(_) => "intent",
            Self::NegativeSentiment => "negative_sentiment",
            Self::Inactivity => "inactivity",
            Self::LowConfidence => "low_confidence",
            Self::MaxBotTurns => "max_bot_turns",
            Self::ModelRequested => "model_requested",
            Self::ProviderFailure => "provider_failure",
            Self::OutOfScope => "out_of_scope",
            Self::Manual => "manual",
            Self::BudgetExhausted => "budget_exhausted",
        }
    }
}

/// The outcome of a rule that fired: what to do with the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct HandoffDecision {
    /// The rule that fired; `None` for handoffs decided outside the rules.
    pub rule_id: Option<i64>,
    /// Why.
    pub reason: HandoffReason,
    /// The rule's queue, if it names one.
    pub queue_id: Option<i64>,
    /// The rule's routing priority, if it sets one.
    pub route_priority: Option<i64>,
    /// The rule's message template, still unrendered: the queue position and wait are only
    /// known once routing has the contact.
    pub message: Option<String>,
}

/// What the human agent receives with the conversation, so they need not ask again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct HandoffRecord {
    /// Why the conversation was handed off.
    pub reason: HandoffReason,
    /// The rule that fired, if a rule did.
    pub rule_id: Option<i64>,
    /// A short summary ([`super::summarise`] or the model's).
    pub summary: String,
    /// The last detected intent.
    pub intent: Option<String>,
    /// Sentiment of each customer message, oldest first.
    pub sentiment_trend: Vec<f64>,
    /// Facts already collected, such as `email`, `phone`, `order_number`
    /// ([`super::collect_fields`]).
    pub fields: BTreeMap<String, String>,
    /// Bot replies given before the handoff.
    pub bot_turns: u32,
    /// The customer's language, e.g. "es".
    pub language: Option<String>,
    /// When the handoff happened.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rule_reads_from_admin_json_with_defaults() {
        let rule: HandoffRule = serde_json::from_value(json!({
            "id": 12,
            "name": "Angry twice",
            "condition": {"kind": "sentiment", "at_most": -0.5, "consecutive": 2},
            "priority": 5,
            "queue_id": 3,
            "message": "You are number {{position}} in line."
        }))
        .expect("valid rule");
        assert_eq!(
            rule,
            HandoffRule {
                id: 12,
                name: "Angry twice".into(),
                condition: Condition::Sentiment {
                    at_most: -0.5,
                    consecutive: 2
                },
                priority: 5,
                queue_id: Some(3),
                route_priority: None,
                message: Some("You are number {{position}} in line.".into()),
                active: true,
            }
        );
    }

    #[test]
    fn every_condition_kind_round_trips_with_a_snake_case_kind_tag() {
        for (condition, kind) in [
            (
                Condition::Keyword {
                    words: vec!["lawyer".into()],
                },
                "keyword",
            ),
            (
                Condition::Intent {
                    intents: vec!["cancel".into()],
                },
                "intent",
            ),
            (
                Condition::Sentiment {
                    at_most: -0.8,
                    consecutive: 1,
                },
                "sentiment",
            ),
            (Condition::Inactivity { secs: 300 }, "inactivity"),
            (Condition::Confidence { below: 0.4 }, "confidence"),
            (Condition::MaxBotTurns { turns: 8 }, "max_bot_turns"),
            (Condition::ExplicitRequest, "explicit_request"),
        ] {
            let value = serde_json::to_value(&condition).expect("serialises");
            assert_eq!(value["kind"], kind);
            let back: Condition = serde_json::from_value(value).expect("deserialises");
            assert_eq!(back, condition);
        }
    }

    #[test]
    fn a_sentiment_condition_defaults_to_one_turn() {
        let c: Condition =
            serde_json::from_value(json!({"kind": "sentiment", "at_most": -0.8})).expect("valid");
        assert_eq!(
            c,
            Condition::Sentiment {
                at_most: -0.8,
                consecutive: 1
            }
        );
    }

    #[test]
    fn misspelt_fields_and_unknown_kinds_are_rejected() {
        let typo = json!({"kind": "inactivity", "seconds": 60});
        assert!(serde_json::from_value::<Condition>(typo).is_err());
        let unknown = json!({"kind": "moon_phase"});
        assert!(serde_json::from_value::<Condition>(unknown).is_err());
        let rule_typo = json!({"name": "x", "condition": {"kind": "explicit_request"}, "queue": 1});
        assert!(serde_json::from_value::<HandoffRule>(rule_typo).is_err());
    }

    #[test]
    fn reasons_serialise_as_a_kind_with_an_optional_detail() {
        assert_eq!(
            serde_json::to_value(HandoffReason::Keyword("lawyer".into())).ok(),
            Some(json!({"kind": "keyword", "detail": "lawyer"}))
        );
        assert_eq!(
            serde_json::to_value(HandoffReason::BudgetExhausted).ok(),
            Some(json!({"kind": "budget_exhausted"}))
        );
        let back: HandoffReason =
            serde_json::from_value(json!({"kind": "intent", "detail": "cancel"})).expect("valid");
        assert_eq!(back, HandoffReason::Intent("cancel".into()));
    }

    #[test]
    fn a_reasons_code_is_its_serialised_kind() {
        for reason in [
            HandoffReason::ExplicitRequest,
            HandoffReason::Keyword("x".into()),
            HandoffReason::Intent("x".into()),
            HandoffReason::NegativeSentiment,
            HandoffReason::Inactivity,
            HandoffReason::LowConfidence,
            HandoffReason::MaxBotTurns,
            HandoffReason::ModelRequested,
            HandoffReason::ProviderFailure,
            HandoffReason::OutOfScope,
            HandoffReason::Manual,
            HandoffReason::BudgetExhausted,
        ] {
            let value = serde_json::to_value(&reason).expect("serialises");
            assert_eq!(value["kind"], reason.code());
        }
    }

    #[test]
    fn a_handoff_record_round_trips() {
        let record = HandoffRecord {
            reason: HandoffReason::NegativeSentiment,
            rule_id: Some(-4),
            summary: "Customer asked: where is my order?".into(),
            intent: Some("order_status".into()),
            sentiment_trend: vec![0.0, -0.6, -0.7],
            fields: BTreeMap::from([("order_number".into(), "12345".into())]),
            bot_turns: 2,
            language: Some("en".into()),
            at: Utc
                .with_ymd_and_hms(2026, 6, 1, 10, 0, 0)
                .single()
                .expect("valid time"),
        };
        let json = serde_json::to_string(&record).expect("serialises");
        let back: HandoffRecord = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, record);
    }
}
