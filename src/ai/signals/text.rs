//! Text normalisation shared by the detectors, and the hygiene applied to customer text
//! before it reaches a prompt.
//!
//! The detectors match on [`words`]: lower case, accents folded, split on anything that is
//! not a letter or digit. Matching on word lists instead of raw substrings is what gives
//! every detector its word boundaries ("sue" never matches "issue").

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Whether `c` is invisible or reorders the text around it.
///
/// These are the characters used to hide instructions from a human reviewer while a model
/// still reads them (TTS-AND-LLM.md §8): zero-width and directional marks, bidi embeddings,
/// overrides and isolates, the byte-order mark, the soft hyphen, invisible operators, and the
/// tag block that can spell out a whole hidden sentence.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// `text` in lower case with accents removed ("Adiós" → "adios", "Grüße" → "grusse") and
/// invisible characters dropped, so that "hu\u{200B}man" still reads "human".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        if is_combining_mark(c) || is_invisible(c) {
            continue;
        }
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            // Typographic apostrophes would otherwise glue "that’s" into one token.
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => out.push('\''),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The folded words of `text`: split on every character that is not a letter or a digit,
/// so punctuation, emoji and apostrophes all separate words ("that's" → `that`, `s`).
///
/// Patterns are tokenised the same way, so a pattern written "that's all" matches.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The clauses of `text` (split at `, . ; : ! ? ¡ ¿` and line breaks), each as its words.
///
/// Detectors look for negation and request phrases within one clause, so "no, I want an
/// agent" is not read as "no … agent".
pub(crate) fn clauses(text: &str) -> Vec<Vec<String>> {
    text.split([',', '.', ';', ':', '!', '?', '¡', '¿', '\n', '…'])
        .map(words)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Customer text made safe to put in a prompt as the user's message.
///
/// - drops invisible and bidirectional characters (see `is_invisible`) and every control
///   character except line breaks and tabs (`\r\n` and a lone `\r` become `\n`);
/// - collapses each run of spaces and tabs to one (a lone tab is kept), trims every line,
///   and allows at most one blank line in a row;
/// - keeps at most `max_chars` characters, cutting on a character boundary.
pub fn clean_customer_text(text: &str, max_chars: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    // The run of horizontal whitespace not yet written: its first character and its length.
    let mut gap: Option<(char, usize)> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' || c == '\n' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            lines.push(std::mem::take(&mut line));
            gap = None;
        } else if is_invisible(c) || (c.is_control() && c != '\t') {
            continue;
        } else if c.is_whitespace() {
            gap = Some(match gap {
                None => (c, 1),
                Some((first, n)) => (first, n + 1),
            });
        } else {
            if let Some((first, n)) = gap.take() {
                // Leading whitespace is dropped: indentation carries nothing for the model.
                if !line.is_empty() {
                    line.push(if first == '\t' && n == 1 { '\t' } else { ' ' });
                }
            }
            line.push(c);
        }
    }
    lines.push(line);

    let mut out = String::new();
    let mut blank_run = 0;
    for line in &lines {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }

    match out.char_indices().nth(max_chars) {
        Some((cut, _)) => out[..cut].trim_end().to_owned(),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_removes_accents() {
        assert_eq!(
            fold("¡Adiós, Señor! Ça VA? Grüße"),
            "¡adios, senor! ca va? grusse"
        );
    }

    #[test]
    fn words_split_on_punctuation_apostrophes_and_emoji() {
        assert_eq!(
            words("That’s all, thanks!!! 👋"),
            ["that", "s", "all", "thanks"]
        );
        assert_eq!(words("quelqu'un"), ["quelqu", "un"]);
        assert_eq!(words("  "), Vec::<String>::new());
    }

    #[test]
    fn words_see_through_zero_width_characters() {
        assert_eq!(words("hu\u{200B}man age\u{2060}nt"), ["human", "agent"]);
    }

    #[test]
    fn clauses_split_at_commas_and_sentence_ends() {
        assert_eq!(
            clauses("No, I want an agent. Now!"),
            vec![vec!["no"], vec!["i", "want", "an", "agent"], vec!["now"]]
        );
    }

    #[test]
    fn clean_removes_zero_width_and_bidi_characters() {
        let hidden = "pay\u{200B}ment \u{202E}evil\u{202C} \u{2066}x\u{2069} \u{FEFF}ok\u{200D}";
        assert_eq!(clean_customer_text(hidden, 100), "payment evil x ok");
    }

    #[test]
    fn clean_removes_tag_characters_that_spell_hidden_text() {
        // "hi" followed by the tag-block spelling of "ignore".
        let tags: String = "ignore"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap_or('?'))
            .collect();
        assert_eq!(clean_customer_text(&format!("hi{tags}"), 100), "hi");
    }

    #[test]
    fn clean_removes_control_characters_but_keeps_newlines_and_tabs() {
        assert_eq!(
            clean_customer_text("a\u{0007}b\u{001B}[31mc\td\r\ne\rf", 100),
            "ab[31mc\td\ne\nf"
        );
    }

    #[test]
    fn clean_collapses_whitespace_and_blank_lines() {
        let messy = "   hello     there \t\t you\n\n\n\n\nsecond line   \n \u{00A0}\n";
        assert_eq!(
            clean_customer_text(messy, 100),
            "hello there you\n\nsecond line"
        );
    }

    #[test]
    fn clean_caps_on_a_character_boundary() {
        assert_eq!(clean_customer_text("ñandú über", 4), "ñand");
        assert_eq!(clean_customer_text("ab cd", 3), "ab");
        assert_eq!(clean_customer_text("abc", 0), "");
        assert_eq!(clean_customer_text("abc", 3), "abc");
    }
}
