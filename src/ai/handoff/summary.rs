//! What goes with a handoff besides the reason: an offline summary, the facts the customer
//! already gave, and the message the customer is shown.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::ai::signals::{clean_customer_text, small_talk, words};

/// Replies that carry nothing for a summary on their own.
const ACKNOWLEDGEMENTS: &[&str] = &[
    "ok", "okay", "k", "yes", "yeah", "yep", "no", "nope", "sure", "alright", "si", "vale", "oui",
    "non", "ja", "nein", "sim", "nao",
];

/// An extractive summary of the conversation for the human agent, at most `max_chars`
/// characters, written without a model.
///
/// It quotes the first substantive customer message (not small talk or a bare "ok") and
/// the latest substantive one, each trimmed to fit, for example
/// `Customer asked about order status: Where is order #123? Latest: I want a human now.`
/// Greetings and thanks are skipped because the agent gains nothing from them.
pub fn summarise(customer_turns: &[&str], intent: Option<&str>, max_chars: usize) -> String {
    let substantive: Vec<String> = customer_turns
        .iter()
        .filter(|t| is_substantive(t))
        .map(|t| one_line(t))
        .collect();
    let subject = match intent.map(str::trim).filter(|i| !i.is_empty()) {
        Some(intent) => format!("Customer asked about {}: ", intent.replace('_', " ")),
        None => "Customer asked: ".to_owned(),
    };
    let summary = match substantive.as_slice() {
        [] if customer_turns.is_empty() => "No customer messages.".to_owned(),
        [] => "Customer sent only greetings or acknowledgements.".to_owned(),
        [only] => {
            let room = max_chars.saturating_sub(subject.chars().count());
            format!("{subject}{}", truncate(&sentence(only), room))
        }
        [first, .., latest] => {
            const LATEST: &str = " Latest: ";
            let (first, latest) = (sentence(first), sentence(latest));
            let frame = subject.chars().count() + LATEST.chars().count();
            let room = max_chars.saturating_sub(frame);
            // Each quote gets half the room; what a shorter one leaves goes to the other.
            let latest_share = latest.chars().count().min(room / 2);
            let first_room = first.chars().count().min(room - latest_share);
            let latest_room = room - first_room;
            format!(
                "{subject}{}{LATEST}{}",
                truncate(&first, first_room),
                truncate(&latest, latest_room)
            )
        }
    };
    truncate(&summary, max_chars)
}

fn is_substantive(turn: &str) -> bool {
    let words = words(turn);
    !words.is_empty()
        && small_talk(turn).is_none()
        && !words.iter().all(|w| ACKNOWLEDGEMENTS.contains(&w.as_str()))
}

/// The turn cleaned as for a prompt, on one line.
fn one_line(turn: &str) -> String {
    clean_customer_text(turn, usize::MAX)
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` ending in sentence punctuation.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// At most `max` characters; a cut text ends in "…" (counted in `max`).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{}…", kept.trim_end())
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}\b",
    )
});

/// "#12345", "order 12345", "order number: A-1234", "pedido nº 12345", "commande 12345",
/// "Bestellung Nr. 12345", "encomenda 12345". The number is the capture.
static ORDER: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)(?:\b(?:order|pedido|orden|commande|bestellung|bestellnummer|encomenda)\b(?:\s+(?:number|num|no|nr|n|numero|número|nummer|id|ref|reference|referencia|de))?\.?\s*(?:[:#º°]\s*)?|#\s?)([a-z0-9][a-z0-9-]{2,24})\b",
    )
});

/// A candidate phone number: an optional "+" or "00", then digits with the usual
/// separators. Digit counts are checked afterwards.
static PHONE: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?:\+|\b00)?\d[\d ().-]{5,22}\d\b"));

/// Dates look like phone numbers to `PHONE`, so they are blanked out first.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b")
});

fn pattern(source: &str) -> Regex {
    // The patterns are literals exercised by the tests: a failure here is a bug, not input.
    Regex::new(source).expect("field pattern must compile")
}

/// Facts the customer already gave, so the agent does not ask again: `email`, `phone`
/// (as "+" and digits, or digits only without a country code) and `order_number`.
///
/// Turns are read oldest first and a later value replaces an earlier one, since customers
/// correct themselves ("sorry, it's order 12346").
pub fn collect_fields(customer_turns: &[&str]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for turn in customer_turns {
        let mut rest = clean_customer_text(turn, usize::MAX);
        if let Some(email) = EMAIL.find_iter(&rest).last() {
            fields.insert("email".to_owned(), email.as_str().to_owned());
        }
        rest = EMAIL.replace_all(&rest, " ").into_owned();
        let order = ORDER
            .captures_iter(&rest)
            .filter_map(|c| c.get(1))
            .filter(|m| m.as_str().chars().any(|c| c.is_ascii_digit()))
            .last();
        if let Some(order) = order {
            fields.insert("order_number".to_owned(), order.as_str().to_owned());
        }
        rest = ORDER.replace_all(&rest, " ").into_owned();
        rest = DATE.replace_all(&rest, " ").into_owned();
        if let Some(phone) = PHONE
            .find_iter(&rest)
            .filter_map(|m| phone(m.as_str()))
            .last()
        {
            fields.insert("phone".to_owned(), phone);
        }
    }
    fields
}

/// A candidate as "+" and digits (8–15 of them, E.164's limit) when it has a country code,
/// or digits only (10–15) when it has none; shorter runs are more likely other numbers.
fn phone(candidate: &str) -> Option<String> {
    let international = candidate.starts_with('+') || candidate.starts_with("00");
    // "+49 (0)30 …": the bracketed trunk prefix is dialled only from inside the country.
    let candidate = if international {
        candidate.replace("(0)", "")
    } else {
        candidate.to_owned()
    };
    let mut digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    if candidate.starts_with("00") {
        digits.drain(..2);
    }
    let range = if international { 8..=15 } else { 10..=15 };
    range.contains(&digits.len()).then(|| {
        if international {
            format!("+{digits}")
        } else {
            digits
        }
    })
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| pattern(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}"));

/// `template` with each `{{name}}` (spaces inside the braces allowed) replaced by
/// `vars[name]`, or by nothing when there is no such variable.
///
/// One pass: a value that itself contains `{{…}}` is inserted as it is, never expanded.
pub fn render_message(template: &str, vars: &BTreeMap<&str, String>) -> String {
    PLACEHOLDER
        .replace_all(template, |caps: &Captures<'_>| {
            vars.get(&caps[1]).cloned().unwrap_or_default()
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_quotes_the_first_substantive_and_the_latest_message() {
        let turns = [
            "hi!",
            "Where is my order #123? It was due Monday",
            "ok",
            "It's been two weeks",
            "This is ridiculous, I want a human",
            "thanks",
        ];
        assert_eq!(
            summarise(&turns, Some("order_status"), 500),
            "Customer asked about order status: Where is my order #123? It was due Monday. \
             Latest: This is ridiculous, I want a human."
        );
    }

    #[test]
    fn a_single_substantive_message_is_quoted_once() {
        assert_eq!(
            summarise(
                &["hello", "I need to change my delivery address"],
                None,
                500
            ),
            "Customer asked: I need to change my delivery address."
        );
    }

    #[test]
    fn a_conversation_without_substance_says_so() {
        assert_eq!(
            summarise(&["hola", "ok"], None, 500),
            "Customer sent only greetings or acknowledgements."
        );
        assert_eq!(summarise(&[], None, 500), "No customer messages.");
    }

    #[test]
    fn a_summary_fits_in_max_chars_and_keeps_both_quotes() {
        let first =
            "My parcel arrived completely crushed and the glass inside is broken ".repeat(5);
        let latest = "Please refund me to the original card as soon as possible ".repeat(5);
        let summary = summarise(&[&first, &latest], Some("refund"), 200);
        assert!(summary.chars().count() <= 200, "{summary}");
        assert!(
            summary.starts_with("Customer asked about refund: My parcel"),
            "{summary}"
        );
        assert!(summary.contains(" Latest: Please refund"), "{summary}");
        assert!(summary.ends_with('…'), "{summary}");
    }

    #[test]
    fn a_short_first_message_leaves_its_room_to_the_latest() {
        let latest = "x".repeat(300);
        let summary = summarise(&["Refund?", &latest], None, 120);
        assert!(
            summary.starts_with("Customer asked: Refund? Latest: xxx"),
            "{summary}"
        );
        assert_eq!(summary.chars().count(), 120);
    }

    #[test]
    fn a_summary_flattens_lines_and_drops_hidden_characters() {
        assert_eq!(
            summarise(&["line one\n\nline\u{200B} two"], None, 100),
            "Customer asked: line one line two."
        );
    }

    #[test]
    fn a_tiny_budget_still_returns_at_most_that_many_characters() {
        let summary = summarise(&["Where is my order?"], None, 10);
        assert!(summary.chars().count() <= 10, "{summary}");
        assert_eq!(summarise(&["Where is my order?"], None, 0), "");
    }

    fn field(turns: &[&str], key: &str) -> Option<String> {
        collect_fields(turns).get(key).cloned()
    }

    #[test]
    fn emails_are_collected() {
        assert_eq!(
            field(
                &["my email is Ana.Lopez+shop@Example.co.uk, thanks"],
                "email"
            ),
            Some("Ana.Lopez+shop@Example.co.uk".into())
        );
        assert_eq!(field(&["write to me @ home"], "email"), None);
    }

    #[test]
    fn order_numbers_are_collected_in_several_languages() {
        for (text, expected) in [
            ("where is #12345?", "12345"),
            ("my order 98765 is late", "98765"),
            ("Order number: A-2024-77", "A-2024-77"),
            ("order #55555", "55555"),
            ("mi pedido 12345 no llegó", "12345"),
            ("pedido nº 4321", "4321"),
            ("ma commande 777123", "777123"),
            ("Bestellung Nr. 334455", "334455"),
            ("a minha encomenda 101010", "101010"),
        ] {
            assert_eq!(
                field(&[text], "order_number").as_deref(),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn words_after_order_are_not_order_numbers() {
        for text in [
            "my order is late",
            "order has not arrived",
            "I ordered 2 items",
            "order 12",
        ] {
            assert_eq!(field(&[text], "order_number"), None, "{text}");
        }
    }

    #[test]
    fn phone_numbers_are_collected_in_e164_style() {
        for (text, expected) in [
            ("call me on +34 612 345 678", "+34612345678"),
            ("my number is (555) 123-4567", "5551234567"),
            ("tel 0049 30 1234567", "+49301234567"),
            ("+1-202-555-0143 please", "+12025550143"),
            ("Tel. +49 (0)30 1234567", "+49301234567"),
        ] {
            assert_eq!(field(&[text], "phone").as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn order_numbers_dates_and_short_numbers_are_not_phones() {
        for text in [
            "order 1234567890",
            "it was due 2026-05-06",
            "delivered on 06/05/2026",
            "I paid 125.50 euros",
            "code 1234",
        ] {
            assert_eq!(field(&[text], "phone"), None, "{text}");
        }
    }

    #[test]
    fn later_turns_override_earlier_values() {
        let fields = collect_fields(&[
            "order #11111, email a@example.com",
            "sorry, it's order #22222",
            "phone +44 20 7946 0958",
        ]);
        assert_eq!(
            fields,
            BTreeMap::from([
                ("email".to_owned(), "a@example.com".to_owned()),
                ("order_number".to_owned(), "22222".to_owned()),
                ("phone".to_owned(), "+442079460958".to_owned()),
            ])
        );
    }

    #[test]
    fn templates_substitute_known_variables_and_blank_unknown_ones() {
        let vars = BTreeMap::from([
            ("position", "3".to_owned()),
            ("wait", "5 minutes".to_owned()),
            ("queue", "Billing".to_owned()),
        ]);
        assert_eq!(
            render_message(
                "You are number {{position}} in {{ queue }}, about {{wait}}.{{missing}}",
                &vars
            ),
            "You are number 3 in Billing, about 5 minutes."
        );
    }

    #[test]
    fn template_values_are_never_expanded_again() {
        let vars = BTreeMap::from([
            ("queue", "{{position}}".to_owned()),
            ("position", "1".to_owned()),
        ]);
        assert_eq!(render_message("{{queue}}", &vars), "{{position}}");
        assert_eq!(render_message("{{ unclosed", &vars), "{{ unclosed");
    }
}
