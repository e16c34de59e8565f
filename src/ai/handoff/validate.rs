//! Checking a rule before it is stored, with errors that name the offending field the way
//! the JSON spells it ("condition.at_most"), so the admin UI can point at it.

use thiserror::Error;

use crate::ai::signals::words;

use super::model::{Condition, HandoffRule};

/// Longest rule name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest customer message template, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest keyword, phrase or intent name, in characters.
pub const MAX_ENTRY_CHARS: usize = 100;
/// Most keywords or intents in one rule.
pub const MAX_ENTRIES: usize = 200;

/// Why a rule cannot be stored. `field` is the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RuleError {
    /// A required text or list is empty or only whitespace.
    #[error("{field} must not be empty")]
    Empty {
        /// e.g. "name", "condition.words".
        field: &'static str,
    },
    /// One entry of a list is blank, or has no letter or digit to match on.
    #[error("{field}[{index}] must contain a letter or digit")]
    BlankEntry {
        /// e.g. "condition.words".
        field: &'static str,
        /// Position in the list, from 0.
        index: usize,
    },
    /// A text or list is longer than allowed.
    #[error("{field} is too long: {len}, at most {max}")]
    TooLong {
        /// e.g. "message".
        field: &'static str,
        /// Its length in characters (or entries, for a list).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A number is outside its range, or not a number.
    #[error("{field} must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// e.g. "condition.at_most".
        field: &'static str,
        /// The value given.
        value: f64,
        /// Lowest allowed.
        min: f64,
        /// Highest allowed.
        max: f64,
    },
    /// A count or duration is zero.
    #[error("{field} must be at least 1")]
    Zero {
        /// e.g. "condition.secs".
        field: &'static str,
    },
}

impl RuleError {
    /// The JSON path of the offending value.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Empty { field }
            | Self::BlankEntry { field, .. }
            | Self::TooLong { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::Zero { field } => field,
        }
    }
}

/// Checks `rule` and reports the first problem found; ids, queues and priorities are the
/// store's and the routing module's to check.
pub fn validate(rule: &HandoffRule) -> Result<(), RuleError> {
    let name_len = rule.name.chars().count();
    if rule.name.trim().is_empty() {
        return Err(RuleError::Empty { field: "name" });
    }
    if name_len > MAX_NAME_CHARS {
        return Err(RuleError::TooLong {
            field: "name",
            len: name_len,
            max: MAX_NAME_CHARS,
        });
    }
    if let Some(message) = &rule.message {
        let len = message.chars().count();
        if message.trim().is_empty() {
            // An empty message would show the customer nothing; None means "the default".
            return Err(RuleError::Empty { field: "message" });
        }
        if len > MAX_MESSAGE_CHARS {
            return Err(RuleError::TooLong {
                field: "message",
                len,
                max: MAX_MESSAGE_CHARS,
            });
        }
    }
    match &rule.condition {
        Condition::Keyword { words } => entries("condition.words", words),
        Condition::Intent { intents } => entries("condition.intents", intents),
        Condition::Sentiment {
            at_most,
            consecutive,
        } => {
            in_range("condition.at_most", *at_most, -1.0, 1.0)?;
            at_least_one("condition.consecutive", u64::from(*consecutive))
        }
        Condition::Inactivity { secs } => at_least_one("condition.secs", *secs),
        Condition::Confidence { below } => in_range("condition.below", *below, 0.0, 1.0),
        Condition::MaxBotTurns { turns } => at_least_one("condition.turns", u64::from(*turns)),
        Condition::ExplicitRequest => Ok(()),
    }
}

fn entries(field: &'static str, list: &[String]) -> Result<(), RuleError> {
    if list.is_empty() {
        return Err(RuleError::Empty { field });
    }
    if list.len() > MAX_ENTRIES {
        return Err(RuleError::TooLong {
            field,
            len: list.len(),
            max: MAX_ENTRIES,
        });
    }
    for (index, entry) in list.iter().enumerate() {
        // An entry with no word in it ("!!!") could never match anything.
        if words(entry).is_empty() {
            return Err(RuleError::BlankEntry { field, index });
        }
        let len = entry.chars().count();
        if len > MAX_ENTRY_CHARS {
            return Err(RuleError::TooLong {
                field,
                len,
                max: MAX_ENTRY_CHARS,
            });
        }
    }
    Ok(())
}

fn in_range(field: &'static str, value: f64, min: f64, max: f64) -> Result<(), RuleError> {
    // `contains` is false for NaN, which is what we want.
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(RuleError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

fn at_least_one(field: &'static str, value: u64) -> Result<(), RuleError> {
    if value == 0 {
        Err(RuleError::Zero { field })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(condition: Condition) -> HandoffRule {
        HandoffRule {
            id: 1,
            name: "Escalate".into(),
            condition,
            priority: 0,
            queue_id: None,
            route_priority: None,
            message: None,
            active: true,
        }
    }

    fn field_of(rule: &HandoffRule) -> Option<&'static str> {
        validate(rule).err().map(|e| e.field())
    }

    #[test]
    fn a_sound_rule_of_every_kind_passes() {
        for condition in [
            Condition::Keyword {
                words: vec!["lawyer".into(), "legal action".into()],
            },
            Condition::Intent {
                intents: vec!["cancel".into()],
            },
            Condition::Sentiment {
                at_most: -1.0,
                consecutive: 3,
            },
            Condition::Inactivity { secs: 1 },
            Condition::Confidence { below: 1.0 },
            Condition::MaxBotTurns { turns: 1 },
            Condition::ExplicitRequest,
        ] {
            assert_eq!(validate(&with(condition.clone())), Ok(()), "{condition:?}");
        }
    }

    #[test]
    fn empty_or_blank_keywords_are_rejected() {
        assert_eq!(
            validate(&with(Condition::Keyword { words: vec![] })),
            Err(RuleError::Empty {
                field: "condition.words"
            })
        );
        let blank = with(Condition::Keyword {
            words: vec!["ok".into(), "  ".into()],
        });
        assert_eq!(
            validate(&blank),
            Err(RuleError::BlankEntry {
                field: "condition.words",
                index: 1
            })
        );
        let punctuation = with(Condition::Keyword {
            words: vec!["!!!".into()],
        });
        assert_eq!(field_of(&punctuation), Some("condition.words"));
        let too_long = with(Condition::Keyword {
            words: vec!["x".repeat(MAX_ENTRY_CHARS + 1)],
        });
        assert_eq!(field_of(&too_long), Some("condition.words"));
    }

    #[test]
    fn empty_intents_are_rejected() {
        assert_eq!(
            field_of(&with(Condition::Intent { intents: vec![] })),
            Some("condition.intents")
        );
    }

    #[test]
    fn sentiment_thresholds_outside_minus_one_to_one_are_rejected() {
        for at_most in [-1.01, 1.5, f64::NAN, f64::INFINITY] {
            let rule = with(Condition::Sentiment {
                at_most,
                consecutive: 1,
            });
            assert_eq!(field_of(&rule), Some("condition.at_most"), "{at_most}");
        }
        let zero = with(Condition::Sentiment {
            at_most: -0.5,
            consecutive: 0,
        });
        assert_eq!(
            validate(&zero),
            Err(RuleError::Zero {
                field: "condition.consecutive"
            })
        );
    }

    #[test]
    fn confidence_outside_zero_to_one_is_rejected() {
        for below in [-0.1, 1.1] {
            assert_eq!(
                field_of(&with(Condition::Confidence { below })),
                Some("condition.below")
            );
        }
    }

    #[test]
    fn zero_seconds_or_turns_are_rejected() {
        assert_eq!(
            field_of(&with(Condition::Inactivity { secs: 0 })),
            Some("condition.secs")
        );
        assert_eq!(
            field_of(&with(Condition::MaxBotTurns { turns: 0 })),
            Some("condition.turns")
        );
    }

    #[test]
    fn names_must_be_present_and_short() {
        let mut rule = with(Condition::ExplicitRequest);
        rule.name = "   ".into();
        assert_eq!(field_of(&rule), Some("name"));
        rule.name = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(validate(&rule), Ok(()), "the limit counts characters");
        rule.name.push('x');
        assert_eq!(field_of(&rule), Some("name"));
    }

    #[test]
    fn messages_are_limited_to_500_characters() {
        let mut rule = with(Condition::ExplicitRequest);
        rule.message = Some("ñ".repeat(500));
        assert_eq!(validate(&rule), Ok(()));
        rule.message = Some("ñ".repeat(501));
        assert_eq!(
            validate(&rule),
            Err(RuleError::TooLong {
                field: "message",
                len: 501,
                max: 500
            })
        );
        rule.message = Some(String::new());
        assert_eq!(field_of(&rule), Some("message"));
    }

    #[test]
    fn errors_read_well_and_name_the_field() {
        let err = validate(&with(Condition::Sentiment {
            at_most: 2.0,
            consecutive: 1,
        }));
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("condition.at_most must be between -1 and 1, got 2".to_owned())
        );
    }
}
