//! Which of two options offered in order ("do you mean A or B?") a short reply picks by
//! position: "the first one", "2", "la segunda", "the latter", "both", in the languages the
//! other detectors read (English, Spanish, French, German, Portuguese).

use super::text::words;

/// A reply's pick among two options offered in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The first option.
    First,
    /// The second option.
    Second,
    /// Both.
    Both,
}

const FIRST: &[&str] = &[
    "1st", "first", "former", "primera", "primero", "primer", "premiere", "premier", "erste",
    "ersten", "erstes", "primeira", "primeiro",
];
const SECOND: &[&str] = &[
    "2nd", "second", "latter", "segunda", "segundo", "seconde", "deuxieme", "zweite", "zweiten",
    "zweites",
];
const BOTH: &[&str] = &["both", "ambas", "ambos", "beide", "beides"];
const BOTH_PHRASES: &[&str] = &["los dos", "las dos", "les deux", "os dois", "as duas"];

/// Longer replies are taken as new messages, not as an answer to the question.
const MAX_WORDS: usize = 5;
/// A bare digit or "both" picks only in a reply this short ("2", "option 2", "both please"):
/// in a longer one they are more likely quantities ("I ordered 2 tents", "both arrived
/// broken").
const MAX_WORDS_LOOSE: usize = 3;

/// The option `reply` picks by position, if it is a short answer naming exactly one.
pub fn choice(reply: &str) -> Option<Choice> {
    let words = words(reply);
    if words.is_empty() || words.len() > MAX_WORDS {
        return None;
    }
    let loose = words.len() <= MAX_WORDS_LOOSE;
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let digit = |d: &str| loose && words.iter().any(|w| w == d);
    let joined = format!(" {} ", words.join(" "));
    if loose
        && (has(BOTH)
            || BOTH_PHRASES
                .iter()
                .any(|p| joined.contains(&format!(" {p} "))))
    {
        return Some(Choice::Both);
    }
    match (has(FIRST) || digit("1"), has(SECOND) || digit("2")) {
        (true, false) => Some(Choice::First),
        (false, true) => Some(Choice::Second),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_replies_pick_by_position_in_each_language() {
        for (reply, want) in [
            ("The first one", Choice::First),
            ("1", Choice::First),
            ("the 1st please", Choice::First),
            ("option 1", Choice::First),
            ("I mean the second one", Choice::Second),
            ("the former", Choice::First),
            ("La primera, gracias", Choice::First),
            ("le premier", Choice::First),
            ("Die erste", Choice::First),
            ("2", Choice::Second),
            ("second!", Choice::Second),
            ("the latter", Choice::Second),
            ("la segunda", Choice::Second),
            ("o segundo", Choice::Second),
            ("both", Choice::Both),
            ("Las dos", Choice::Both),
            ("beide bitte", Choice::Both),
        ] {
            assert_eq!(choice(reply), Some(want), "{reply}");
        }
    }

    #[test]
    fn replies_naming_no_single_position_or_too_long_pick_nothing() {
        for reply in [
            "",
            "yes",
            "the second, not the first",
            "the one about shipping",
            "I ordered 2 tents",
            "both of them arrived broken",
            "My first order arrived broken and I want to know what to do about it now",
        ] {
            assert_eq!(choice(reply), None, "{reply}");
        }
    }
}
