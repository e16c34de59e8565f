//! Per-message sentiment in VADER's compound scale, −1 (most negative) to 1.
//!
//! English goes to VADER (`vader-parity`, exact parity with Python vaderSentiment 3.3.2).
//! VADER is English-only (TTS-AND-LLM.md §9), so Spanish gets a small hand-built lexicon
//! scored with VADER's own rules in miniature: negation flips and damps a word, boosters
//! strengthen it, "pero" shifts the weight to what follows it, and the sum is squashed the
//! way VADER squashes it. Other languages are scored by VADER only when the text is
//! essentially ASCII (most likely English typed into another locale), otherwise not at all.

use std::collections::HashSet;
use std::sync::LazyLock;

use vader_parity::SentimentIntensityAnalyzer;

use super::text::words;

/// A compound at or above this is positive (the vaderSentiment README's threshold).
pub const POSITIVE_THRESHOLD: f64 = 0.05;
/// A compound at or below this is negative; anything strictly between is neutral.
pub const NEGATIVE_THRESHOLD: f64 = -0.05;

/// Building the analyser parses VADER's lexicons, so it is done once per process.
static VADER: LazyLock<SentimentIntensityAnalyzer> = LazyLock::new(SentimentIntensityAnalyzer::new);

/// The sentiment of one customer message in `language` (a BCP 47 tag such as `en-US`,
/// `es-MX` or `es`), as a compound in −1..=1.
///
/// Read it with [`POSITIVE_THRESHOLD`] (≥ 0.05 positive) and [`NEGATIVE_THRESHOLD`]
/// (≤ −0.05 negative). `None` means "not measured": the language has no analyser and the
/// text is not plain ASCII. Handoff rules treat a missing value as no evidence.
pub fn sentiment(text: &str, language: &str) -> Option<f64> {
    match primary_subtag(language).as_str() {
        "en" => Some(english(text)),
        "es" => Some(spanish(text)),
        _ if is_asciiish(text) => Some(english(text)),
        _ => None,
    }
}

/// "es-MX" → "es", "EN_us" → "en".
fn primary_subtag(language: &str) -> String {
    language
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn english(text: &str) -> f64 {
    VADER.polarity_scores(text).compound
}

/// Whether at most 5% of the letters are outside ASCII. Emoji, digits and punctuation are
/// not letters, so "thanks 🙏" is ASCII-ish and "très déçu" is not.
fn is_asciiish(text: &str) -> bool {
    let (mut letters, mut foreign) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if !c.is_ascii() {
            foreign += 1;
        }
    }
    foreign * 20 <= letters
}

/// Spanish words and phrases with valences on VADER's −4..=4 scale, accents folded.
/// Feminine and plural forms are listed where customers actually write them.
const SPANISH_LEXICON: &[(&str, f64)] = &[
    // Positive.
    ("gracias", 1.6),
    ("muchas gracias", 2.4),
    ("mil gracias", 2.6),
    ("excelente", 3.0),
    ("genial", 2.8),
    ("perfecto", 2.6),
    ("perfecta", 2.6),
    ("bien", 1.4),
    ("bueno", 1.6),
    ("buena", 1.6),
    ("buenisimo", 2.8),
    ("maravilloso", 3.0),
    ("maravillosa", 3.0),
    ("de maravilla", 2.8),
    ("fantastico", 3.0),
    ("estupendo", 2.8),
    ("increible", 2.4),
    ("encantado", 2.4),
    ("encantada", 2.4),
    ("me encanta", 3.0),
    ("me gusta", 2.0),
    ("feliz", 2.6),
    ("contento", 2.2),
    ("contenta", 2.2),
    ("satisfecho", 2.0),
    ("satisfecha", 2.0),
    ("agradecido", 2.2),
    ("agradecida", 2.2),
    ("amable", 2.0),
    ("util", 1.6),
    ("rapido", 1.2),
    ("resuelto", 1.6),
    ("solucionado", 1.8),
    ("funciona", 1.0),
    ("recomiendo", 2.0),
    ("ayuda", 1.0),
    ("claro", 0.8),
    // Negative.
    ("horrible", -3.0),
    ("pesimo", -3.2),
    ("pesima", -3.2),
    ("terrible", -3.0),
    ("fatal", -2.8),
    ("malo", -2.2),
    ("mala", -2.2),
    ("mal", -1.8),
    ("peor", -2.4),
    ("lo peor", -3.0),
    ("enojado", -2.6),
    ("enojada", -2.6),
    ("enfadado", -2.6),
    ("enfadada", -2.6),
    ("molesto", -2.0),
    ("molesta", -2.0),
    ("furioso", -3.0),
    ("furiosa", -3.0),
    ("harto", -2.6),
    ("harta", -2.6),
    ("frustrado", -2.2),
    ("frustrada", -2.2),
    ("decepcionado", -2.4),
    ("decepcionada", -2.4),
    ("decepcion", -2.4),
    ("triste", -2.0),
    ("preocupado", -1.4),
    ("preocupada", -1.4),
    ("no funciona", -2.4),
    ("no sirve", -2.4),
    ("no llega", -2.0),
    ("no llego", -2.0),
    ("sin respuesta", -2.0),
    ("estafa", -3.0),
    ("una estafa", -3.2),
    ("fraude", -3.0),
    ("robo", -3.0),
    ("me robaron", -3.0),
    ("inaceptable", -2.8),
    ("ridiculo", -2.0),
    ("basura", -2.8),
    ("desastre", -3.0),
    ("verguenza", -2.6),
    ("una verguenza", -2.8),
    ("asco", -2.8),
    ("odio", -3.0),
    ("inutil", -2.6),
    ("incompetentes", -2.8),
    ("incompetente", -2.8),
    ("grosero", -2.4),
    ("mentira", -2.2),
    ("mentirosos", -2.6),
    ("defectuoso", -2.0),
    ("roto", -1.8),
    ("rota", -1.8),
    ("danado", -1.8),
    ("lento", -1.2),
    ("retraso", -1.4),
    ("problema", -1.0),
    ("problemas", -1.0),
    ("queja", -1.6),
    ("reclamo", -1.2),
    ("perdida de tiempo", -2.6),
];

/// Words that negate what follows them within three words (VADER's window).
const NEGATORS: &[&str] = &["no", "nunca", "jamas", "tampoco", "ni", "sin", "nada"];
/// "nunca llega" is a complaint even with nothing left for "nunca" to negate.
const NEGATIVE_ON_THEIR_OWN: &[(&str, f64)] = &[("nunca", -1.6), ("jamas", -1.6)];
const BOOSTERS: &[&str] = &[
    "muy",
    "super",
    "tan",
    "demasiado",
    "realmente",
    "totalmente",
    "bastante",
    "extremadamente",
    "sumamente",
    "completamente",
    "absolutamente",
];
const DAMPENERS: &[&str] = &["poco", "algo", "apenas", "medio"];
/// Emoji VADER would have translated; folded text has no emoji, so they are scored apart.
const EMOJI: &[(char, f64)] = &[
    ('😡', -3.0),
    ('🤬', -3.2),
    ('😠', -2.6),
    ('😤', -2.0),
    ('😞', -2.0),
    ('😢', -2.0),
    ('😭', -2.4),
    ('👎', -2.0),
    ('🙂', 1.6),
    ('😊', 2.2),
    ('😀', 2.2),
    ('😍', 2.8),
    ('👍', 1.8),
    ('🙏', 1.4),
    ('❤', 2.6),
];

// VADER's constants (vaderSentiment.py): B_INCR, N_SCALAR, the "but" weights, the
// exclamation increment and the normalisation alpha.
const BOOST: f64 = 0.293;
const NEGATION_SCALE: f64 = -0.74;
const BEFORE_BUT: f64 = 0.5;
const AFTER_BUT: f64 = 1.5;
const EXCLAMATION: f64 = 0.292;
const ALPHA: f64 = 15.0;

/// The lexicon as word lists, longest phrase first so "no funciona" wins over "funciona".
static SPANISH_PHRASES: LazyLock<Vec<(Vec<String>, f64)>> = LazyLock::new(|| {
    let mut phrases: Vec<(Vec<String>, f64)> = SPANISH_LEXICON
        .iter()
        .map(|(phrase, valence)| (words(phrase), *valence))
        .collect();
    phrases.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    phrases
});

fn spanish(text: &str) -> f64 {
    let mut sum = 0.0;
    // A sentence is the scope of "pero"; a clause within it the scope of a negation.
    for sentence in text.split(['.', ';', '!', '?', '¡', '¿', '\n']) {
        sum += spanish_sentence(sentence);
    }
    for (emoji, valence) in EMOJI {
        sum += valence * text.matches(*emoji).count() as f64;
    }
    if sum != 0.0 {
        let bangs = text.matches('!').count().min(4) as f64;
        sum += sum.signum() * bangs * EXCLAMATION;
    }
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

fn spanish_sentence(sentence: &str) -> f64 {
    let clauses: Vec<Vec<String>> = sentence
        .split([',', ':', '…'])
        .map(words)
        .filter(|c| !c.is_empty())
        .collect();
    // Where the first "pero" is, as (clause, word) — everything after it weighs more.
    let but_at = clauses.iter().enumerate().find_map(|(ci, c)| {
        c.iter()
            .position(|w| w == "pero" || w == "sino")
            .map(|wi| (ci, wi))
    });
    let weight = |ci: usize, wi: usize| match but_at {
        None => 1.0,
        Some(at) if (ci, wi) < at => BEFORE_BUT,
        Some(_) => AFTER_BUT,
    };

    let mut sum = 0.0;
    for (ci, clause) in clauses.iter().enumerate() {
        let mut used_negators = HashSet::new();
        let mut i = 0;
        while i < clause.len() {
            let Some((len, mut valence)) = phrase_at(clause, i) else {
                i += 1;
                continue;
            };
            if let Some(prev) = i.checked_sub(1).map(|p| clause[p].as_str()) {
                if BOOSTERS.contains(&prev) {
                    valence += valence.signum() * BOOST;
                } else if DAMPENERS.contains(&prev) {
                    valence -= valence.signum() * BOOST;
                }
            }
            let window = i.saturating_sub(3)..i;
            let negator = window
                .rev()
                .find(|&j| NEGATORS.contains(&clause[j].as_str()));
            if let Some(j) = negator {
                valence *= NEGATION_SCALE;
                used_negators.insert(j);
            }
            sum += valence * weight(ci, i);
            i += len;
        }
        for (j, word) in clause.iter().enumerate() {
            if used_negators.contains(&j) {
                continue;
            }
            if let Some((_, valence)) = NEGATIVE_ON_THEIR_OWN.iter().find(|(w, _)| w == word) {
                sum += valence * weight(ci, j);
            }
        }
    }
    sum
}

/// The longest lexicon phrase starting at word `i`, as (its length in words, valence).
fn phrase_at(clause: &[String], i: usize) -> Option<(usize, f64)> {
    SPANISH_PHRASES
        .iter()
        .find(|(phrase, _)| clause[i..].starts_with(phrase))
        .map(|(phrase, valence)| (phrase.len(), *valence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str, language: &str) -> f64 {
        sentiment(text, language).unwrap_or(f64::NAN)
    }

    #[test]
    fn english_positive_and_negative_messages_get_the_right_sign() {
        assert!(score("Thank you so much, that was great!", "en") >= POSITIVE_THRESHOLD);
        assert!(score("This is terrible, I am really angry", "en-US") <= NEGATIVE_THRESHOLD);
        assert!(score("Where is my order?", "en").abs() < POSITIVE_THRESHOLD);
    }

    #[test]
    fn english_negation_flips_the_sign() {
        assert!(score("the service is good", "en") > 0.0);
        assert!(score("the service is not good", "en") < 0.0);
    }

    #[test]
    fn the_english_analyser_matches_vader_reference_output() {
        // From vaderSentiment's own README.
        let c = score("VADER is smart, handsome, and funny.", "en");
        assert!((c - 0.8316).abs() < 1e-4, "{c}");
    }

    #[test]
    fn spanish_positive_messages_are_positive() {
        for text in [
            "Muchas gracias, excelente servicio",
            "¡Genial! Todo perfecto",
            "estoy muy contento con la compra",
            "me encanta, gracias",
        ] {
            assert!(score(text, "es-MX") >= POSITIVE_THRESHOLD, "{text}");
        }
    }

    #[test]
    fn spanish_negative_messages_are_negative() {
        for text in [
            "Esto es horrible, un servicio pésimo",
            "estoy muy enojado, el producto no funciona",
            "Es una estafa",
            "nunca llega mi pedido",
            "qué desastre 😡",
        ] {
            assert!(score(text, "es") <= NEGATIVE_THRESHOLD, "{text}");
        }
    }

    #[test]
    fn spanish_negation_flips_the_sign() {
        assert!(score("el servicio es bueno", "es") > 0.0);
        assert!(score("el servicio no es bueno", "es") < 0.0);
        assert!(score("no estoy contento", "es") < 0.0);
        assert!(score("no es malo", "es") > 0.0);
    }

    #[test]
    fn spanish_negation_does_not_cross_a_comma() {
        assert!(score("no, gracias", "es") > 0.0);
    }

    #[test]
    fn spanish_pero_shifts_weight_to_what_follows() {
        assert!(score("gracias, pero sigue sin funcionar y es horrible", "es") < 0.0);
        assert!(score("tuve un problema pero ya está solucionado, genial", "es") > 0.0);
    }

    #[test]
    fn spanish_boosters_and_exclamations_strengthen() {
        assert!(score("muy malo", "es") < score("malo", "es"));
        assert!(score("malo!!!", "es") < score("malo", "es"));
    }

    #[test]
    fn spanish_compound_is_squashed_into_range() {
        let c = score(&"horrible ".repeat(50), "es");
        assert!((-1.0..=-0.99).contains(&c), "{c}");
        assert_eq!(score("¿dónde está mi pedido?", "es"), 0.0);
    }

    #[test]
    fn other_languages_use_vader_only_for_ascii_text() {
        assert!(score("this is awful", "fr") < 0.0);
        assert!(score("thanks 🙏", "de") >= 0.0);
        assert_eq!(sentiment("c'est très décevant", "fr"), None);
        assert_eq!(
            sentiment("das ist schrecklich, völlig enttäuscht", "de-AT"),
            None
        );
        assert_eq!(sentiment("ужасный сервис", "ru"), None);
    }

    #[test]
    fn language_tags_are_read_by_their_primary_subtag() {
        assert_eq!(primary_subtag("es-MX"), "es");
        assert_eq!(primary_subtag("EN_us"), "en");
        assert_eq!(primary_subtag(""), "");
        assert!(sentiment("pésimo", "ES-419").is_some_and(|c| c < 0.0));
    }
}
