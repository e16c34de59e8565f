//! A cheap guess of the language a customer writes in, so the agent can answer in it.
//!
//! Counts function words that belong to one language only (words common to several, such
//! as "de", "que" or "la", are left out), adds a little for letters only some languages use
//! ("ñ", "ã", "ß", "è"), and answers only when one language clearly leads. A wrong guess
//! costs more than none: the caller keeps the channel's or tenant's language instead.

use super::text::words;

/// Messages shorter than this many words get no guess.
const MIN_WORDS: usize = 3;
/// The leader needs at least this score, and at least twice the runner-up's.
const MIN_SCORE: usize = 2;
/// …and must lead by at least this much.
const MIN_LEAD: usize = 2;

const STOP_WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "are", "were", "to", "of", "my", "i", "you", "it", "this", "that",
            "have", "has", "had", "with", "for", "not", "what", "where", "when", "why", "how",
            "can", "could", "would", "please", "does", "did", "be", "your", "order", "thanks",
            "thank", "hello", "hi", "there", "want", "need", "just", "about", "from", "still",
            "yet", "been", "get", "got", "help", "any", "if", "at", "we", "they", "our", "wrong",
            "should", "which", "who", "arrived", "received",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "del", "y", "una", "mi", "mis", "lo", "pero", "estoy", "tengo",
            "quiero", "donde", "cuando", "gracias", "hola", "muy", "hay", "al", "su", "ya", "yo",
            "usted", "ayuda", "puedo", "necesito", "sin", "ahora", "todavia", "eso", "llego",
            "buenas", "buenos", "tiene", "hace", "hacer", "puede", "cual", "estan", "mucho", "aun",
            "recibi", "pedido", "llegado", "hablar", "con", "favor",
        ],
    ),
    (
        "fr",
        &[
            "le",
            "les",
            "et",
            "est",
            "une",
            "je",
            "vous",
            "pas",
            "pour",
            "qui",
            "dans",
            "ce",
            "il",
            "avec",
            "mon",
            "ma",
            "mes",
            "sur",
            "au",
            "aux",
            "ne",
            "c",
            "j",
            "l",
            "qu",
            "bonjour",
            "merci",
            "commande",
            "oui",
            "suis",
            "votre",
            "nous",
            "elle",
            "ai",
            "sont",
            "plus",
            "tout",
            "ca",
            "cette",
            "peux",
            "fait",
            "toujours",
            "encore",
            "rien",
            "comment",
            "pourquoi",
            "recu",
            "livraison",
        ],
    ),
    (
        "de",
        &[
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "sie",
            "ein",
            "eine",
            "einen",
            "einem",
            "mit",
            "zu",
            "auf",
            "fur",
            "mein",
            "meine",
            "meinen",
            "wo",
            "wie",
            "was",
            "bitte",
            "danke",
            "haben",
            "habe",
            "bin",
            "sind",
            "wir",
            "den",
            "dem",
            "auch",
            "noch",
            "bestellung",
            "hallo",
            "kann",
            "schon",
            "nach",
            "aber",
            "oder",
            "wenn",
            "warum",
            "immer",
            "nichts",
            "keine",
            "kein",
            "hat",
            "mir",
            "mich",
            "dass",
            "ihre",
            "ihnen",
            "heute",
            "leider",
            "bei",
            "vom",
            "zum",
            "zur",
            "erhalten",
        ],
    ),
    (
        "pt",
        &[
            "os", "do", "da", "dos", "em", "um", "uma", "nao", "com", "meu", "minha", "voce", "vc",
            "estou", "tenho", "quero", "onde", "obrigado", "obrigada", "muito", "isso", "ola",
            "ja", "seu", "sua", "na", "e", "o", "ao", "pelo", "pela", "esse", "essa", "ainda",
            "agora", "tambem", "quando", "preciso", "posso", "pode", "tem", "oi", "cade", "bom",
            "boa", "ele", "ela", "foi", "sim", "recebi", "chegou",
        ],
    ),
];

/// Letters that point at a language: (letter, languages, points for each).
const LETTER_HINTS: &[(char, &[&str], usize)] = &[
    ('ñ', &["es"], 2),
    ('¿', &["es"], 2),
    ('¡', &["es"], 2),
    ('ã', &["pt"], 2),
    ('õ', &["pt"], 2),
    ('ç', &["pt", "fr"], 1),
    ('ê', &["pt", "fr"], 1),
    ('â', &["pt", "fr"], 1),
    ('ô', &["pt", "fr"], 1),
    ('è', &["fr"], 2),
    ('ù', &["fr"], 2),
    ('œ', &["fr"], 2),
    ('î', &["fr"], 2),
    ('ß', &["de"], 2),
    ('ä', &["de"], 2),
    ('ö', &["de"], 2),
    ('ü', &["de"], 1),
];

/// The language `text` is written in, as "en", "es", "fr", "de" or "pt", when the text is
/// long enough (three words or more) and one language clearly leads; otherwise `None`.
pub fn guess_language(text: &str) -> Option<&'static str> {
    let words = words(text);
    if words.len() < MIN_WORDS {
        return None;
    }
    let lower = text.to_lowercase();
    let mut scores: Vec<(&'static str, usize)> = STOP_WORDS
        .iter()
        .map(|(language, stop_words)| {
            let hits = words
                .iter()
                .filter(|w| stop_words.contains(&w.as_str()))
                .count();
            let hints: usize = LETTER_HINTS
                .iter()
                .filter(|(letter, languages, _)| {
                    languages.contains(language) && lower.contains(*letter)
                })
                .map(|(_, _, points)| points)
                .sum();
            (*language, hits + hints)
        })
        .collect();
    scores.sort_by_key(|(_, score)| std::cmp::Reverse(*score));
    let (best, best_score) = *scores.first()?;
    let runner_up = scores.get(1).map_or(0, |(_, s)| *s);
    let confident = best_score >= MIN_SCORE
        && best_score >= runner_up * 2
        && best_score - runner_up >= MIN_LEAD;
    confident.then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_messages_are_english() {
        for text in [
            "hi, where is my order?",
            "I want to return the shoes I bought last week",
            "The package arrived damaged and nobody answers",
        ] {
            assert_eq!(guess_language(text), Some("en"), "{text}");
        }
    }

    #[test]
    fn spanish_messages_are_spanish() {
        for text in [
            "hola, ¿dónde está mi pedido?",
            "Quiero devolver los zapatos que compré",
            "todavía no me llegó el paquete y necesito ayuda",
        ] {
            assert_eq!(guess_language(text), Some("es"), "{text}");
        }
    }

    #[test]
    fn french_messages_are_french() {
        for text in [
            "Bonjour, où est ma commande ?",
            "je n'ai toujours pas reçu mon colis",
            "Je voudrais retourner les chaussures",
        ] {
            assert_eq!(guess_language(text), Some("fr"), "{text}");
        }
    }

    #[test]
    fn german_messages_are_german() {
        for text in [
            "Hallo, wo ist meine Bestellung?",
            "Ich habe mein Paket noch nicht erhalten",
            "Das Paket ist leider beschädigt angekommen",
        ] {
            assert_eq!(guess_language(text), Some("de"), "{text}");
        }
    }

    #[test]
    fn portuguese_messages_are_portuguese() {
        for text in [
            "Olá, cadê o meu pedido?",
            "não recebi a minha encomenda ainda",
            "Quero devolver os sapatos que comprei",
        ] {
            assert_eq!(guess_language(text), Some("pt"), "{text}");
        }
    }

    #[test]
    fn short_or_ambiguous_texts_get_no_guess() {
        for text in [
            "hola",
            "ok thanks",
            "",
            "12345 67890 11111",
            "Mario Rossi, Milano",
        ] {
            assert_eq!(guess_language(text), None, "{text:?}");
        }
    }
}
