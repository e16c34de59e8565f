//! Messages that are nothing but a greeting, a thank-you or a goodbye, in English, Spanish,
//! French, German and Portuguese. The agent can answer these from a template without a
//! model call, and a summary can skip them.
//!
//! A message qualifies only when every word belongs to a known phrase, so "hi, where is my
//! order?" is not small talk: "where is my order" is not a phrase of any kind.

use std::sync::LazyLock;

use super::text::words;

/// What a small-talk message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmallTalk {
    /// "hi", "good morning", "hola", "buenas tardes", "bonjour", "guten Tag", "olá".
    Greeting,
    /// "thanks!", "thank you so much", "muchas gracias", "merci", "danke", "obrigado".
    Thanks,
    /// "bye", "that's all, goodbye", "adiós", "au revoir", "tschüss", "tchau".
    Goodbye,
}

const GREETINGS: &[&str] = &[
    // English
    "hi",
    "hello",
    "hey",
    "heya",
    "hiya",
    "howdy",
    "yo",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "morning",
    "evening",
    "how are you",
    "how are you doing",
    "how s it going",
    "how is it going",
    "what s up",
    "sup",
    "anyone there",
    "anybody there",
    "is anyone there",
    "is anybody there",
    "hay alguien",
    "alguien ahi",
    // Spanish
    "hola",
    "buenas",
    "buenos dias",
    "buen dia",
    "buenas tardes",
    "buenas noches",
    "que tal",
    "como estas",
    "como esta",
    "saludos",
    // French
    "bonjour",
    "bonsoir",
    "salut",
    "coucou",
    "ca va",
    // German
    "hallo",
    "guten morgen",
    "guten tag",
    "guten abend",
    "servus",
    "moin",
    "gruss gott",
    "gruezi",
    // Portuguese
    "ola",
    "oi",
    "bom dia",
    "boa tarde",
    "boa noite",
    "tudo bem",
];

const THANKS: &[&str] = &[
    // English
    "thanks",
    "thank you",
    "thank u",
    "thankyou",
    "thx",
    "thnx",
    "ty",
    "tysm",
    "cheers",
    "many thanks",
    "much appreciated",
    "appreciate it",
    "i appreciate it",
    "appreciated",
    "that helped",
    "that helped a lot",
    "that was helpful",
    "that was very helpful",
    "very helpful",
    "super helpful",
    // Spanish
    "gracias",
    "muchas gracias",
    "mil gracias",
    "muy amable",
    "te lo agradezco",
    "se lo agradezco",
    "muchisimas gracias",
    // French
    "merci",
    "merci beaucoup",
    "merci bien",
    "merci mille fois",
    // German
    "danke",
    "danke schon",
    "dankeschon",
    "vielen dank",
    "besten dank",
    "danke sehr",
    // Portuguese
    "obrigado",
    "obrigada",
    "muito obrigado",
    "muito obrigada",
    "valeu",
];

const GOODBYES: &[&str] = &[
    // English
    "bye",
    "bye bye",
    "goodbye",
    "good bye",
    "cya",
    "see you",
    "see ya",
    "see you later",
    "talk to you later",
    "take care",
    "have a nice day",
    "have a good day",
    "have a great day",
    "have a nice evening",
    "good night",
    "that s all",
    "that s it",
    "that is all",
    "that will be all",
    "that s everything",
    "that is everything",
    "nothing else",
    "i m done",
    // Spanish
    "adios",
    "hasta luego",
    "hasta pronto",
    "hasta manana",
    "chao",
    "chau",
    "nos vemos",
    "eso es todo",
    "es todo",
    "nada mas",
    "que tengas buen dia",
    "que tenga buen dia",
    // French
    "au revoir",
    "a bientot",
    "bonne journee",
    "bonne soiree",
    "c est tout",
    // German
    "tschuss",
    "auf wiedersehen",
    "bis bald",
    "bis dann",
    "schonen tag",
    "ciao",
    "das war s",
    "das wars",
    // Portuguese
    "tchau",
    "ate logo",
    "ate mais",
    "e so isso",
];

/// Words that may accompany small talk without changing what it is: addressees,
/// intensifiers and acknowledgements ("hi there", "thanks so much, team", "ok, bye").
/// They never make a message small talk on their own.
const FILLERS: &[&str] = &[
    "there",
    "all",
    "everyone",
    "everybody",
    "guys",
    "team",
    "folks",
    "friend",
    "again",
    "so much",
    "very much",
    "a lot",
    "a bunch",
    "so",
    "ok",
    "okay",
    "k",
    "kk",
    "great",
    "cool",
    "perfect",
    "awesome",
    "nice",
    "oh",
    "ah",
    "well",
    "and",
    "then",
    "too",
    "you too",
    "for now",
    "for your help",
    "for the help",
    "for all your help",
    "for helping",
    "for everything",
    "for that",
    "your help",
    "sir",
    "madam",
    // Spanish
    "y",
    "a todos",
    "equipo",
    "amigo",
    "amiga",
    "perfecto",
    "vale",
    "genial",
    "bueno",
    "de nuevo",
    "otra vez",
    "por todo",
    "por tu ayuda",
    "por su ayuda",
    "por la ayuda",
    "igualmente",
    "tambien",
    "senor",
    "senora",
    // French
    "et",
    "tout le monde",
    "encore",
    "parfait",
    "d accord",
    "pour tout",
    "pour votre aide",
    // German
    "und",
    "nochmal",
    "sehr",
    "super",
    "alles klar",
    "fur alles",
    "fur ihre hilfe",
    // Portuguese
    "e",
    "pessoal",
    "por tudo",
    "pela ajuda",
    "beleza",
];

/// Longest messages still considered small talk, in words ("thank you so much for all your
/// help, have a great day" is 13).
const MAX_WORDS: usize = 16;

/// One phrase of the grammar: its words and what it says (`None` for a filler).
type Phrase = (Vec<String>, Option<SmallTalk>);

static PHRASES: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    let kinds = [
        (GREETINGS, Some(SmallTalk::Greeting)),
        (THANKS, Some(SmallTalk::Thanks)),
        (GOODBYES, Some(SmallTalk::Goodbye)),
        (FILLERS, None),
    ];
    kinds
        .iter()
        .flat_map(|(list, kind)| list.iter().map(move |p| (words(p), *kind)))
        .collect()
});

/// What `text` is when it is only a greeting, thanks or goodbye (or a mix of them), else
/// `None`.
///
/// Case, accents, punctuation and emoji are ignored. A mix is named by its last intent in
/// the conversation: any goodbye makes it [`SmallTalk::Goodbye`] ("thanks, bye"), else any
/// thanks makes it [`SmallTalk::Thanks`] ("hi, thanks"), else a [`SmallTalk::Greeting`].
pub fn small_talk(text: &str) -> Option<SmallTalk> {
    let words = words(text);
    if words.is_empty() || words.len() > MAX_WORDS {
        return None;
    }
    // reached[i]: the kinds seen along some way of reading words[..i] as whole phrases.
    let mut reached: Vec<Option<Kinds>> = vec![None; words.len() + 1];
    reached[0] = Some(Kinds::default());
    for i in 0..words.len() {
        let Some(before) = reached[i] else { continue };
        for (phrase, kind) in PHRASES.iter() {
            if words[i..].starts_with(phrase) {
                let next = &mut reached[i + phrase.len()];
                *next = Some(next.unwrap_or_default().union(before).with(*kind));
            }
        }
    }
    reached[words.len()].and_then(Kinds::verdict)
}

#[derive(Debug, Default, Clone, Copy)]
struct Kinds {
    greeting: bool,
    thanks: bool,
    goodbye: bool,
}

impl Kinds {
    fn with(mut self, kind: Option<SmallTalk>) -> Self {
        match kind {
            Some(SmallTalk::Greeting) => self.greeting = true,
            Some(SmallTalk::Thanks) => self.thanks = true,
            Some(SmallTalk::Goodbye) => self.goodbye = true,
            None => {}
        }
        self
    }

    fn union(self, other: Self) -> Self {
        Self {
            greeting: self.greeting || other.greeting,
            thanks: self.thanks || other.thanks,
            goodbye: self.goodbye || other.goodbye,
        }
    }

    fn verdict(self) -> Option<SmallTalk> {
        if self.goodbye {
            Some(SmallTalk::Goodbye)
        } else if self.thanks {
            Some(SmallTalk::Thanks)
        } else if self.greeting {
            Some(SmallTalk::Greeting)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SmallTalk::{Goodbye, Greeting, Thanks};
    use super::*;

    #[test]
    fn greetings_alone_are_greetings() {
        for text in [
            "hi",
            "Hello there!",
            "hey 👋",
            "Good morning",
            "good evening everyone",
            "hi, how are you?",
            "Hello? Anyone there?",
            "hola",
            "¡Hola! ¿Qué tal?",
            "Buenas tardes",
            "buenos días",
            "Bonjour",
            "salut, ça va ?",
            "Guten Tag",
            "Grüß Gott",
            "Olá, tudo bem?",
            "bom dia",
        ] {
            assert_eq!(small_talk(text), Some(Greeting), "{text}");
        }
    }

    #[test]
    fn thanks_alone_are_thanks() {
        for text in [
            "thanks!",
            "Thank you so much",
            "thank you very much for your help",
            "ok thanks",
            "thx 🙏",
            "gracias",
            "Muchas gracias!!",
            "muchas gracias por tu ayuda",
            "merci beaucoup",
            "Danke schön",
            "vielen Dank für Ihre Hilfe",
            "muito obrigada",
        ] {
            assert_eq!(small_talk(text), Some(Thanks), "{text}");
        }
    }

    #[test]
    fn goodbyes_alone_are_goodbyes() {
        for text in [
            "bye",
            "that's all, goodbye",
            "That’s it, thanks, bye!",
            "see you later",
            "adiós",
            "eso es todo, gracias, hasta luego",
            "au revoir",
            "Tschüss",
            "tchau",
        ] {
            assert_eq!(small_talk(text), Some(Goodbye), "{text}");
        }
    }

    #[test]
    fn a_greeting_with_thanks_is_thanks() {
        assert_eq!(small_talk("hi, thanks"), Some(Thanks));
    }

    #[test]
    fn messages_with_a_request_are_not_small_talk() {
        for text in [
            "hi, where is my order?",
            "hello, I need help",
            "thanks, but it still doesn't work",
            "hola, quiero cancelar mi pedido",
            "gracias pero no me llegó",
            "bonjour, ma commande n'est pas arrivée",
            "hallo, wo ist meine Bestellung",
            "oi, cadê meu pedido?",
            "bye bye money, you charged me twice",
            "hi 12345",
        ] {
            assert_eq!(small_talk(text), None, "{text}");
        }
    }

    #[test]
    fn fillers_emoji_and_empty_text_alone_are_not_small_talk() {
        for text in ["ok", "great", "👍", "", "   ", "!!!", "so"] {
            assert_eq!(small_talk(text), None, "{text:?}");
        }
    }

    #[test]
    fn long_messages_are_never_small_talk() {
        assert_eq!(small_talk(&"thanks ".repeat(MAX_WORDS + 1)), None);
    }

    #[test]
    fn small_talk_serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&Goodbye).ok().as_deref(),
            Some("\"goodbye\"")
        );
    }
}
