//! Prompts (§2) to [`PlayItem`]s: language maps, voices, sounds with language fallback,
//! and `{{var | filter}}` templates.

use super::*;
use crate::ivr::catalog::Catalog;
use crate::ivr::model::{Prompt, PromptPart};
use crate::ivr::parse_duration_ms;

/// Where a rendered template goes; decides how values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Plain TTS text, variable values, skills: inserted as they are.
    Plain,
    /// SSML markup: values are escaped so data cannot inject markup.
    Ssml,
    /// A URL: values are percent-encoded so data cannot change the path or host.
    Url,
    /// HTTP headers: `{{secret.x}}` stays for the adapter to fill in.
    Header,
}

/// Escapes text for SSML (`&`, `<`, `>`, quotes).
pub fn escape_ssml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The Luhn check digit test (account and card numbers).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.len() < 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A name as telephone keypad digits (`Smith` → `76484`), for dial-by-name searches.
pub fn t9_digits(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            Some(match c.to_ascii_lowercase() {
                'a'..='c' => '2',
                'd'..='f' => '3',
                'g'..='i' => '4',
                'j'..='l' => '5',
                'm'..='o' => '6',
                'p'..='s' => '7',
                't'..='v' => '8',
                'w'..='z' => '9',
                _ => return None,
            })
        })
        .collect()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn spaced(text: &str, keep: impl Fn(char) -> bool) -> String {
    text.chars()
        .filter(|c| keep(*c))
        .map(|c| c.to_uppercase().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn apply_filter(value: &str, filter: &str) -> String {
    match filter {
        "digits" => spaced(value, |c| c.is_ascii_alphanumeric()),
        "spell" => spaced(value, |c| !c.is_whitespace()),
        "number" => {
            let trimmed = value.trim().trim_start_matches('0');
            if trimmed.is_empty() && !value.trim().is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            }
        }
        "date" => chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map(|d| d.format("%B %-d, %Y").to_string())
            .unwrap_or_else(|_| value.to_owned()),
        _ => value.to_owned(),
    }
}

impl Session {
    /// Renders `{{name | filter}}` templates. Returns the text and whether a PII variable
    /// went into it.
    pub(super) fn render_text(&self, template: &str, mode: Mode) -> (String, bool) {
        let mut out = String::new();
        let mut pii = false;
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let inner = &after[..close];
            rest = &after[close + 2..];
            let mut parts = inner.split('|').map(str::trim);
            let name = parts.next().unwrap_or("");
            if name.starts_with("secret.") {
                if mode == Mode::Header {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
                continue;
            }
            if self.frames.last().is_some_and(|f| f.pii.contains(name)) {
                pii = true;
            }
            let mut value = self.lookup(name).map(|v| v.to_text()).unwrap_or_default();
            for filter in parts {
                value = apply_filter(&value, filter);
            }
            match mode {
                Mode::Ssml => out.push_str(&escape_ssml(&value)),
                Mode::Url => out.push_str(&percent_encode(&value)),
                Mode::Plain | Mode::Header => out.push_str(&value),
            }
        }
        out.push_str(rest);
        (out, pii)
    }

    /// Renders a prompt in the call's language. `voice` and `language` come from the node
    /// (`say.voice`, `say.language`) and beat the session's.
    pub(super) fn render_prompt(
        &self,
        cat: &Catalog,
        prompt: &Prompt,
        voice: Option<&str>,
        language: Option<&str>,
    ) -> Vec<PlayItem> {
        let mut out = Vec::new();
        self.render_into(cat, prompt, voice, language, &mut out);
        out
    }

    fn render_into(
        &self,
        cat: &Catalog,
        prompt: &Prompt,
        voice: Option<&str>,
        language: Option<&str>,
        out: &mut Vec<PlayItem>,
    ) {
        match prompt {
            Prompt::Text(text) => out.push(self.tts(cat, text, false, voice, language)),
            Prompt::List(items) => {
                for item in items {
                    self.render_into(cat, item, voice, language, out);
                }
            }
            Prompt::Languages(map) => {
                let language = language.unwrap_or(&self.language);
                let default = self.flow(cat).and_then(|f| f.default_language());
                let chosen = map
                    .get(language)
                    .or_else(|| default.and_then(|d| map.get(d)))
                    .or_else(|| map.values().next());
                if let Some(p) = chosen {
                    self.render_into(cat, p, voice, language.into(), out);
                }
            }
            Prompt::Part(part) => self.render_part(cat, part, voice, language, out),
        }
    }

    fn render_part(
        &self,
        cat: &Catalog,
        part: &PromptPart,
        voice: Option<&str>,
        language: Option<&str>,
        out: &mut Vec<PlayItem>,
    ) {
        let voice = part.voice.as_deref().or(voice);
        let language = part.language.as_deref().or(language);
        if let Some(text) = &part.text {
            out.push(self.tts(cat, text, false, voice, language));
        }
        if let Some(ssml) = &part.ssml {
            out.push(self.tts(cat, ssml, true, voice, language));
        }
        if let Some(name) = &part.sound {
            let mut languages = vec![language.unwrap_or(&self.language).to_owned()];
            if let Some(d) = self.flow(cat).and_then(|f| f.default_language())
                && !languages.iter().any(|l| l == d)
            {
                languages.push(d.to_owned());
            }
            out.push(PlayItem::Sound {
                name: name.clone(),
                languages,
            });
        }
        if let Some(digits) = &part.digits {
            let (text, _) = self.render_text(digits, Mode::Plain);
            out.push(PlayItem::Digits(
                text.chars().filter(|c| c.is_ascii_digit()).collect(),
            ));
        }
        if let Some(number) = &part.number {
            let (text, _) = self.render_text(number, Mode::Plain);
            match text.trim().parse() {
                Ok(n) => out.push(PlayItem::Number(n)),
                Err(_) => out.push(self.tts(cat, &text, false, voice, language)),
            }
        }
        if let Some(pause) = &part.pause {
            out.push(PlayItem::Pause(parse_duration_ms(pause).unwrap_or(0)));
        }
    }

    fn tts(
        &self,
        cat: &Catalog,
        template: &str,
        ssml: bool,
        voice: Option<&str>,
        language: Option<&str>,
    ) -> PlayItem {
        let language = language.unwrap_or(&self.language).to_owned();
        // A prompt in another language than the call's takes that language's voice.
        let voice = voice
            .map(str::to_owned)
            .or_else(|| {
                (language != self.language)
                    .then(|| cat.default_voice(&language).map(str::to_owned))
                    .flatten()
            })
            .or_else(|| self.voice.clone());
        let (text, pii) = self.render_text(template, if ssml { Mode::Ssml } else { Mode::Plain });
        PlayItem::Tts {
            speech: if ssml {
                Speech::Ssml(text)
            } else {
                Speech::Text(text)
            },
            voice,
            fallback_voice: cat.fallback_voice(&language).map(str::to_owned),
            language,
            cacheable: !pii,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_keypad() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(luhn_valid("12345674"));
        assert!(!luhn_valid("12345678"));
        assert_eq!(t9_digits("Smith"), "76484");
        assert_eq!(t9_digits("O'Neil"), "66345");
    }

    #[test]
    fn filters_and_escaping() {
        assert_eq!(apply_filter("12345", "digits"), "1 2 3 4 5");
        assert_eq!(apply_filter("ab c", "spell"), "A B C");
        assert_eq!(apply_filter("007", "number"), "7");
        assert_eq!(apply_filter("000", "number"), "0");
        assert_eq!(apply_filter("2026-12-06", "date"), "December 6, 2026");
        assert_eq!(escape_ssml("<b>&'\""), "&lt;b&gt;&amp;&apos;&quot;");
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
    }
}
