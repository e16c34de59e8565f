//! Evaluating a tenant's rules against one customer message or a silence, and the rules a
//! new tenant starts with.

use crate::ai::signals::words;

use super::model::{Condition, HandoffDecision, HandoffReason, HandoffRule, TurnSignals};

/// The first active rule, in priority order, that one customer message triggers.
///
/// Rules are tried by ascending `priority`, ties by ascending `id`; inactive rules and
/// [`Condition::Inactivity`] rules (see [`evaluate_inactivity`]) are skipped. Call it
/// before asking the model, so an explicit request or a policy keyword never waits on one.
pub fn evaluate(rules: &[HandoffRule], s: &TurnSignals<'_>) -> Option<HandoffDecision> {
    // Folded once here rather than once per keyword rule.
    let text_words = words(s.text);
    in_order(rules).find_map(|rule| {
        let reason = match &rule.condition {
            Condition::Keyword { words } => words
                .iter()
                .find(|w| contains_phrase(&text_words, w))
                .map(|w| HandoffReason::Keyword(w.clone())),
            Condition::Intent { intents } => s
                .intent
                .filter(|detected| {
                    intents
                        .iter()
                        .any(|i| i.trim().eq_ignore_ascii_case(detected))
                })
                .map(|detected| HandoffReason::Intent(detected.to_owned())),
            Condition::Sentiment {
                at_most,
                consecutive,
            } => sustained_at_most(s.sentiments, *at_most, *consecutive)
                .then_some(HandoffReason::NegativeSentiment),
            Condition::Inactivity { .. } => None,
            Condition::Confidence { below } => s
                .confidence
                .is_some_and(|c| c < *below)
                .then_some(HandoffReason::LowConfidence),
            Condition::MaxBotTurns { turns } => {
                (s.bot_turns >= *turns).then_some(HandoffReason::MaxBotTurns)
            }
            Condition::ExplicitRequest => {
                s.asks_for_human.then_some(HandoffReason::ExplicitRequest)
            }
        };
        reason.map(|reason| decision(rule, reason))
    })
}

/// The first active inactivity rule, in priority order, whose limit `idle_secs` of customer
/// silence has reached. The caller's timer supplies `idle_secs`; nothing here reads a clock.
pub fn evaluate_inactivity(rules: &[HandoffRule], idle_secs: u64) -> Option<HandoffDecision> {
    in_order(rules).find_map(|rule| match rule.condition {
        Condition::Inactivity { secs } if idle_secs >= secs => {
            Some(decision(rule, HandoffReason::Inactivity))
        }
        _ => None,
    })
}

/// Active rules by ascending priority, then id, so the order never depends on how the
/// store happened to return them.
fn in_order(rules: &[HandoffRule]) -> impl Iterator<Item = &HandoffRule> {
    let mut active: Vec<&HandoffRule> = rules.iter().filter(|r| r.active).collect();
    active.sort_by_key(|r| (r.priority, r.id));
    active.into_iter()
}

fn decision(rule: &HandoffRule, reason: HandoffReason) -> HandoffDecision {
    HandoffDecision {
        rule_id: Some(rule.id),
        reason,
        queue_id: rule.queue_id,
        route_priority: rule.route_priority,
        message: rule.message.clone(),
    }
}

/// Whether the words of `phrase` occur, in order and adjacent, among `text_words`.
fn contains_phrase(text_words: &[String], phrase: &str) -> bool {
    let phrase = words(phrase);
    !phrase.is_empty()
        && text_words
            .windows(phrase.len())
            .any(|w| w == phrase.as_slice())
}

/// Whether the last `n` values (at least one) exist and are all at most `at_most`.
fn sustained_at_most(sentiments: &[f64], at_most: f64, n: u32) -> bool {
    let n = usize::try_from(n.max(1)).unwrap_or(usize::MAX);
    sentiments.len() >= n
        && sentiments[sentiments.len() - n..]
            .iter()
            .all(|&v| v <= at_most)
}

/// The rules a new tenant starts with (TTS-AND-LLM.md §7), which admins may then edit,
/// deactivate or outrank.
///
/// Built-ins have negative ids (−1 to −5), so they can be told apart from stored rules and
/// can never collide with one. Each leaves `queue_id`, `route_priority` and `message` unset:
/// the AI agent's default handoff queue and the channel's localised message apply.
///
/// | id | priority | fires when |
/// |----|----------|------------|
/// | −1 | 10 | the customer asks for a person |
/// | −2 | 20 | a legal threat, chargeback, dispute or account cancellation is mentioned |
/// | −3 | 30 | one message scores ≤ −0.8 |
/// | −4 | 31 | two messages in a row score ≤ −0.5 |
/// | −5 | 90 | the bot has already replied 8 times |
/// | −6 | 21 | fraud, account security, a double charge, a complaint or a policy exception |
pub fn default_rules() -> Vec<HandoffRule> {
    let rule = |id, name: &str, priority, condition| HandoffRule {
        id,
        name: name.to_owned(),
        condition,
        priority,
        queue_id: None,
        route_priority: None,
        message: None,
        active: true,
    };
    vec![
        rule(
            -1,
            "Customer asks for a person",
            10,
            Condition::ExplicitRequest,
        ),
        rule(
            -2,
            "Legal, payment dispute or cancellation",
            20,
            Condition::Keyword {
                words: [
                    "lawyer",
                    "attorney",
                    "legal action",
                    "sue",
                    "lawsuit",
                    "chargeback",
                    "dispute",
                    "cancel my account",
                    "abogado",
                    "demanda",
                    "denuncia",
                    "cancelar mi cuenta",
                ]
                .map(str::to_owned)
                .to_vec(),
            },
        ),
        rule(
            -6,
            "Fraud, security, complaints and exceptions",
            21,
            Condition::Keyword {
                words: [
                    "stolen",
                    "stole",
                    "fraud",
                    "fraudulent",
                    "scam",
                    "hacked",
                    "unauthorized",
                    "unauthorised",
                    "identity theft",
                    "didn't make",
                    "did not make",
                    "didn't place",
                    "never placed",
                    "never cancelled",
                    "never canceled",
                    "charged twice",
                    "double charged",
                    "small claims",
                    "court",
                    "complaint",
                    "as an exception",
                    "robado",
                    "robaron",
                    "fraude",
                    "estafa",
                    "queja",
                    "reclamación",
                ]
                .map(str::to_owned)
                .to_vec(),
            },
        ),
        rule(
            -3,
            "Very angry customer",
            30,
            Condition::Sentiment {
                at_most: -0.8,
                consecutive: 1,
            },
        ),
        rule(
            -4,
            "Customer stays unhappy",
            31,
            Condition::Sentiment {
                at_most: -0.5,
                consecutive: 2,
            },
        ),
        rule(
            -5,
            "Bot reply limit",
            90,
            Condition::MaxBotTurns { turns: 8 },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, priority: i32, condition: Condition) -> HandoffRule {
        HandoffRule {
            id,
            name: format!("rule {id}"),
            condition,
            priority,
            queue_id: Some(100 + id),
            route_priority: Some(id * 10),
            message: Some(format!("message {id}")),
            active: true,
        }
    }

    fn keywords(list: &[&str]) -> Condition {
        Condition::Keyword {
            words: list.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    fn text(text: &str) -> TurnSignals<'_> {
        TurnSignals {
            text,
            ..TurnSignals::default()
        }
    }

    fn reason(rules: &[HandoffRule], s: &TurnSignals<'_>) -> Option<HandoffReason> {
        evaluate(rules, s).map(|d| d.reason)
    }

    #[test]
    fn a_keyword_rule_fires_on_whole_words_ignoring_case_and_accents() {
        let rules = [rule(1, 0, keywords(&["sue", "abogado", "legal action"]))];
        assert_eq!(
            reason(&rules, &text("I will SUE you")),
            Some(HandoffReason::Keyword("sue".into()))
        );
        assert_eq!(
            reason(&rules, &text("Voy a llamar a mi Abogádo")),
            Some(HandoffReason::Keyword("abogado".into()))
        );
        assert_eq!(
            reason(&rules, &text("we'll take legal   action!")),
            Some(HandoffReason::Keyword("legal action".into()))
        );
        assert_eq!(
            reason(&rules, &text("there is an issue with my order")),
            None
        );
        assert_eq!(reason(&rules, &text("the action was not legal")), None);
    }

    #[test]
    fn a_keyword_rule_keeps_the_rules_queue_priority_and_message() {
        let rules = [rule(7, 0, keywords(&["chargeback"]))];
        let decision = evaluate(&rules, &text("I filed a chargeback"));
        assert_eq!(
            decision,
            Some(HandoffDecision {
                rule_id: Some(7),
                reason: HandoffReason::Keyword("chargeback".into()),
                queue_id: Some(107),
                route_priority: Some(70),
                message: Some("message 7".into()),
            })
        );
    }

    #[test]
    fn an_intent_rule_fires_on_a_listed_intent_ignoring_case() {
        let rules = [rule(
            1,
            0,
            Condition::Intent {
                intents: vec!["billing".into(), "cancel".into()],
            },
        )];
        let s = TurnSignals {
            intent: Some("Cancel"),
            ..text("I want to leave")
        };
        assert_eq!(
            reason(&rules, &s),
            Some(HandoffReason::Intent("Cancel".into()))
        );
        let other = TurnSignals {
            intent: Some("order_status"),
            ..text("where is it")
        };
        assert_eq!(reason(&rules, &other), None);
        assert_eq!(reason(&rules, &text("no intent detected")), None);
    }

    #[test]
    fn a_single_turn_sentiment_rule_looks_at_the_latest_message_only() {
        let rules = [rule(
            1,
            0,
            Condition::Sentiment {
                at_most: -0.8,
                consecutive: 1,
            },
        )];
        let angry = TurnSignals {
            sentiments: &[0.2, -0.9],
            ..text("x")
        };
        assert_eq!(
            reason(&rules, &angry),
            Some(HandoffReason::NegativeSentiment)
        );
        let calmed = TurnSignals {
            sentiments: &[-0.9, 0.1],
            ..text("x")
        };
        assert_eq!(reason(&rules, &calmed), None);
        let exactly = TurnSignals {
            sentiments: &[-0.8],
            ..text("x")
        };
        assert_eq!(
            reason(&rules, &exactly),
            Some(HandoffReason::NegativeSentiment)
        );
    }

    #[test]
    fn a_consecutive_sentiment_rule_needs_every_one_of_the_last_n_turns() {
        let rules = [rule(
            1,
            0,
            Condition::Sentiment {
                at_most: -0.5,
                consecutive: 2,
            },
        )];
        let fires = |sentiments: &[f64]| {
            evaluate(
                &rules,
                &TurnSignals {
                    sentiments,
                    ..text("x")
                },
            )
            .is_some()
        };
        assert!(fires(&[0.3, -0.6, -0.7]));
        assert!(!fires(&[-0.6, 0.0, -0.7]));
        assert!(!fires(&[-0.9]), "one turn is not two in a row");
        assert!(!fires(&[]));
        assert!(!fires(&[-0.6, f64::NAN]));
    }

    #[test]
    fn a_confidence_rule_fires_only_below_a_known_confidence() {
        let rules = [rule(1, 0, Condition::Confidence { below: 0.4 })];
        let low = TurnSignals {
            confidence: Some(0.39),
            ..text("x")
        };
        assert_eq!(reason(&rules, &low), Some(HandoffReason::LowConfidence));
        let at = TurnSignals {
            confidence: Some(0.4),
            ..text("x")
        };
        assert_eq!(reason(&rules, &at), None);
        assert_eq!(reason(&rules, &text("unknown confidence")), None);
    }

    #[test]
    fn a_max_bot_turns_rule_fires_once_the_bot_has_replied_that_often() {
        let rules = [rule(1, 0, Condition::MaxBotTurns { turns: 3 })];
        let after = |bot_turns| TurnSignals {
            bot_turns,
            ..text("x")
        };
        assert_eq!(reason(&rules, &after(2)), None);
        assert_eq!(reason(&rules, &after(3)), Some(HandoffReason::MaxBotTurns));
        assert_eq!(reason(&rules, &after(9)), Some(HandoffReason::MaxBotTurns));
    }

    #[test]
    fn an_explicit_request_rule_follows_the_signal() {
        let rules = [rule(1, 0, Condition::ExplicitRequest)];
        let asks = TurnSignals {
            asks_for_human: true,
            ..text("agent please")
        };
        assert_eq!(reason(&rules, &asks), Some(HandoffReason::ExplicitRequest));
        // The rule trusts the caller's signal, not its own reading of the text.
        assert_eq!(reason(&rules, &text("agent please")), None);
    }

    #[test]
    fn inactivity_rules_fire_only_from_evaluate_inactivity() {
        let rules = [
            rule(1, 5, Condition::Inactivity { secs: 600 }),
            rule(2, 1, Condition::Inactivity { secs: 300 }),
            rule(3, 0, keywords(&["hello"])),
        ];
        assert_eq!(reason(&rules, &text("nothing matches")), None);
        assert_eq!(evaluate_inactivity(&rules, 299), None);
        let at_300 = evaluate_inactivity(&rules, 300);
        assert_eq!(at_300.as_ref().and_then(|d| d.rule_id), Some(2));
        assert_eq!(at_300.map(|d| d.reason), Some(HandoffReason::Inactivity));
        assert_eq!(
            evaluate_inactivity(&rules, 10_000).and_then(|d| d.rule_id),
            Some(2),
            "the higher-priority rule wins even when both limits are reached"
        );
    }

    #[test]
    fn rules_are_tried_by_priority_then_id_whatever_their_order() {
        let rules = [
            rule(5, 20, Condition::ExplicitRequest),
            rule(9, 10, keywords(&["refund"])),
            rule(3, 10, keywords(&["refund"])),
        ];
        let s = TurnSignals {
            asks_for_human: true,
            ..text("refund, and get me a human")
        };
        assert_eq!(evaluate(&rules, &s).and_then(|d| d.rule_id), Some(3));
    }

    #[test]
    fn inactive_rules_are_skipped() {
        let mut first = rule(1, 0, keywords(&["refund"]));
        first.active = false;
        let rules = [first, rule(2, 1, keywords(&["refund"]))];
        assert_eq!(
            evaluate(&rules, &text("refund")).and_then(|d| d.rule_id),
            Some(2)
        );
        let mut idle = rule(3, 0, Condition::Inactivity { secs: 1 });
        idle.active = false;
        assert_eq!(evaluate_inactivity(&[idle], 100), None);
    }

    #[test]
    fn no_rules_means_no_handoff() {
        let s = TurnSignals {
            asks_for_human: true,
            ..text("human!")
        };
        assert_eq!(evaluate(&[], &s), None);
    }

    #[test]
    fn the_default_rules_cover_the_documented_policy() {
        let rules = default_rules();
        assert!(rules.iter().all(|r| r.id < 0 && r.active));
        assert!(rules.iter().all(|r| super::super::validate(r).is_ok()));

        let asks = TurnSignals {
            asks_for_human: true,
            sentiments: &[-0.9],
            ..text("I'll sue, get me a human")
        };
        assert_eq!(reason(&rules, &asks), Some(HandoffReason::ExplicitRequest));
        assert_eq!(
            reason(&rules, &text("I want to cancel my account")),
            Some(HandoffReason::Keyword("cancel my account".into()))
        );
        assert_eq!(
            reason(&rules, &text("hablaré con mi abogado")),
            Some(HandoffReason::Keyword("abogado".into()))
        );
        assert_eq!(
            reason(&rules, &text("Someone placed orders I didn't make")),
            Some(HandoffReason::Keyword("didn't make".into()))
        );
        assert_eq!(
            reason(&rules, &text("How do I close my account?")),
            None,
            "self-service"
        );
        let furious = TurnSignals {
            sentiments: &[-0.85],
            ..text("x")
        };
        assert_eq!(evaluate(&rules, &furious).and_then(|d| d.rule_id), Some(-3));
        let unhappy = TurnSignals {
            sentiments: &[-0.6, -0.55],
            ..text("x")
        };
        assert_eq!(evaluate(&rules, &unhappy).and_then(|d| d.rule_id), Some(-4));
        let long = TurnSignals {
            bot_turns: 8,
            sentiments: &[0.5],
            ..text("and another thing")
        };
        assert_eq!(reason(&rules, &long), Some(HandoffReason::MaxBotTurns));
        let fine = TurnSignals {
            bot_turns: 7,
            sentiments: &[-0.6, 0.2],
            ..text("where is my order?")
        };
        assert_eq!(reason(&rules, &fine), None);
    }
}
