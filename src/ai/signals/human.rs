//! Whether a customer explicitly asks for a person, in English, Spanish, French, German and
//! Portuguese.
//!
//! TTS-AND-LLM.md §7 hands off on an explicit request without asking the model, so this
//! must be precise as well as quick: "agent" alone is a request, "my agent code" is not.
//! A message counts as a request when either
//! - it, or one of its clauses, is nothing but a word for a person plus politeness
//!   ("agent please", "operador", "a human!", "You are useless. HUMAN."), or
//! - one clause pairs a request or contact verb with a word for a person in the shape a
//!   request takes ("can I speak to someone", "get me a real person", "quiero hablar con
//!   una persona", "parler à un conseiller", "mit einem Menschen sprechen", "falar com um
//!   atendente"), or uses a phrase that only ever means staff ("live agent", "persona
//!   real").
//!
//! Three checks keep out the look-alikes: a negation just before the request ("I don't
//! want to talk to a human"), a person word that is really the first half of a compound
//! ("agent code", "human resources"), and questions about the bot itself ("are you a real
//! person?"), which the bot should answer honestly rather than treat as a request.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{clauses, words};

/// Whether `text` asks to be put through to a person.
pub fn asks_for_human(text: &str) -> bool {
    // A bare request may also be one sentence of several: "You are useless. HUMAN."
    is_bare_request(&words(text))
        || clauses(text)
            .iter()
            .any(|c| is_bare_request(c) || clause_requests(c))
}

/// A message of at most this many words may be a bare request ("I want a human please").
const BARE_MAX_WORDS: usize = 8;

/// Words for a person at the other end, any of which alone makes a bare request.
const PERSON_WORDS: &[&str] = &[
    "agent",
    "agents",
    "human",
    "humans",
    "representative",
    "rep",
    "operator",
    "person",
    "someone",
    "somebody",
    "supervisor",
    "manager",
    "operador",
    "operadora",
    "agente",
    "asesor",
    "asesora",
    "humano",
    "humana",
    "persona",
    "representante",
    "ejecutivo",
    "conseiller",
    "conseillere",
    "humain",
    "operateur",
    "operatrice",
    "mensch",
    "menschen",
    "mitarbeiter",
    "mitarbeiterin",
    "berater",
    "beraterin",
    "kundenberater",
    "kundendienst",
    "kundenservice",
    "atendente",
    "pessoa",
    "atendimento",
];

/// Words that may surround a person word in a bare request but are not one themselves.
const BARE_COMPANIONS: &[&str] = &[
    "please",
    "pls",
    "plz",
    "now",
    "asap",
    "right",
    "just",
    "a",
    "an",
    "one",
    "ok",
    "okay",
    "real",
    "live",
    "actual",
    "customer",
    "service",
    "support",
    "care",
    "i",
    "want",
    "need",
    "me",
    "get",
    "give",
    "yes",
    "yeah",
    "hello",
    "hi",
    "hey",
    "por",
    "favor",
    "porfa",
    "ahora",
    "un",
    "una",
    "ya",
    "quiero",
    "si",
    "servicio",
    "cliente",
    "al",
    "atencion",
    "svp",
    "stp",
    "s",
    "il",
    "vous",
    "te",
    "plait",
    "une",
    "vrai",
    "vraie",
    "maintenant",
    "oui",
    "client",
    "bitte",
    "jetzt",
    "sofort",
    "einen",
    "eine",
    "ein",
    "echten",
    "echter",
    "ja",
    "um",
    "uma",
    "agora",
    "sim",
    "de",
    "verdade",
    "humano",
];

/// Words that turn a preceding person word into a compound noun ("agent code").
const COMPOUND_HEADS: &[&str] = &[
    "code",
    "codes",
    "id",
    "number",
    "login",
    "portal",
    "app",
    "account",
    "name",
    "license",
    "licence",
    "fee",
    "fees",
    "commission",
    "resources",
    "rights",
    "error",
    "nature",
    "body",
    "discount",
    "program",
    "programme",
    "software",
    "tool",
    "mode",
    "dashboard",
];

/// Words that, up to four words before a request, negate it.
const NEGATORS: &[&str] = &[
    "not", "never", "dont", "no", "nao", "pas", "nicht", "kein", "keine", "keinen", "nunca",
    "jamas", "jamais", "nem", "ni", "nie",
];
/// First halves of English contractions whose "t" negates ("don't" → `don`, `t`). "can't"
/// is left out: "why can't I talk to a human" is a request.
const NEGATING_CONTRACTIONS: &[&str] = &["don", "doesn", "didn", "won", "wouldn", "shouldn"];

fn is_bare_request(words: &[String]) -> bool {
    words.len() <= BARE_MAX_WORDS
        && words.iter().any(|w| PERSON_WORDS.contains(&w.as_str()))
        && words
            .iter()
            .all(|w| PERSON_WORDS.contains(&w.as_str()) || BARE_COMPANIONS.contains(&w.as_str()))
}

fn clause_requests(words: &[String]) -> bool {
    let line = words.join(" ");
    if ASKS_ABOUT_THE_BOT.is_match(&line) {
        return false;
    }
    REQUESTS.iter().any(|re| {
        re.find_iter(&line).any(|m| {
            let start = line[..m.start()].matches(' ').count();
            let next = line[m.end()..].split_whitespace().next();
            !negated(&words[..start]) && !next.is_some_and(|n| COMPOUND_HEADS.contains(&n))
        })
    })
}

fn negated(before: &[String]) -> bool {
    let window = &before[before.len().saturating_sub(4)..];
    window.iter().enumerate().any(|(i, w)| {
        NEGATORS.contains(&w.as_str())
            || (w == "t" && i > 0 && NEGATING_CONTRACTIONS.contains(&window[i - 1].as_str()))
    })
}

/// Builds a regex from a literal pattern below; they are fixed, so a failure is a bug that
/// every test run would show.
fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("request pattern must compile")
}

/// "Are you a real person?", "¿eres un bot?", "bist du ein Mensch?" and the like.
static ASKS_ABOUT_THE_BOT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"^(?:",
        r"(?:are you|r u|is this|is it|am i (?:talking|speaking|chatting) (?:to|with)) (?:a |an )?(?:real|live|actual|human|bot|robot|machine|ai|person)",
        r"|(?:eres|es usted|eres tu|estoy hablando con|hablo con) (?:un |una )?(?:persona|humano|humana|bot|robot|maquina|real)",
        r"|(?:etes vous|es tu|tu es|vous etes|est ce que je parle a|je parle a) (?:un |une )?(?:humain|robot|bot|vrai|vraie|personne|machine)",
        r"|(?:bist du|sind sie|spreche ich mit|rede ich mit|ist das) (?:ein |eine |einem |einer )?(?:echter |echten |echte )?(?:mensch|menschen|bot|roboter|maschine|person)",
        r"|(?:voce e|vc e|voce eh|estou falando com|to falando com|falo com) (?:um |uma )?(?:humano|humana|robo|bot|pessoa|maquina|real)",
        r")\b",
    ))
});

static REQUESTS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let mut sources = english();
    sources.extend(spanish());
    sources.extend(french());
    sources.extend(german());
    sources.extend(portuguese());
    sources.iter().map(|s| pattern(s)).collect()
});

fn english() -> Vec<String> {
    let noun = "(?:customer service representative|customer service rep|customer service agent\
                |customer service|customer support|customer care|support agent|support team\
                |staff member|team member|human being|humans|human|person|people|agents|agent\
                |representative|rep|operator|supervisor|manager|employee|staff|associate\
                |advisor|adviser)";
    let adjective = "(?:(?:real|live|actual|human|proper|another|other|different) )?";
    let anyone = "(?:someone|somebody|anyone|anybody)";
    let boss = "(?:(?:the|your) (?:manager|supervisor|boss|support team|customer service|customer support))";
    vec![
        // talk / speak / chat to or with …
        format!(
            r"\b(?:talk|speak|chat) (?:to|with) (?:(?:a|an|some|any|your|one of your|one of the|another) )?{adjective}{noun}\b"
        ),
        format!(r"\b(?:talk|speak|chat) (?:to|with) (?:{anyone}|{boss})\b"),
        // want / need / get me / connect me to … a person
        format!(
            r"\b(?:want|need|get|give|connect|transfer|put|pass|forward|escalate|would like|d like|prefer|request|requesting)(?: me| us| this| it| my call| my chat)?(?: to| with| through to| over to| through)? (?:(?:a|an|some|another|one of your) {adjective}{noun}|{boss}|customer service|customer support|customer care)\b"
        ),
        format!(
            r"\b(?:get|connect|transfer|put|pass) (?:me|us) (?:(?:to|with|through to|over to) )?{anyone}\b"
        ),
        // is there a human (I can talk to)?
        format!(
            r"\b(?:is|are) there (?:a |an |any )?{adjective}(?:humans|human|person|people|agents|agent|representative|operator|{anyone})(?: (?:there|available|around|online|here|(?:i|we) (?:can|could) (?:talk|speak|chat)(?: to| with)?|to (?:talk|speak|chat)(?: to| with)?))?$"
        ),
        format!(r"\b{anyone} (?:i|we) (?:can|could) (?:talk|speak|chat) (?:to|with)\b"),
        // phrases that only ever mean staff
        r"\b(?:real|live|actual) (?:humans|human|person|people|agent|representative|operator)\b"
            .to_owned(),
        r"\bhuman (?:agent|representative|operator|support|assistance)\b".to_owned(),
        r"\bcustomer (?:service|support|care) (?:rep|representative|agent|person)\b".to_owned(),
    ]
}

fn spanish() -> Vec<String> {
    let noun = "(?:persona|personas|ser humano|humano|humana|agente|agentes|asesor|asesora\
                |asesores|operador|operadora|representante|ejecutivo|ejecutiva|supervisor\
                |supervisora|encargado|encargada|gerente|empleado|empleada|alguien|especialista)";
    let after = "(?: (?:real|humano|humana|de verdad|de carne y hueso))?";
    let boss = "(?:(?:el|la) (?:supervisor|supervisora|encargado|encargada|gerente|jefe|jefa|responsable))";
    vec![
        format!(
            r"\b(?:hablar|hablo|hable|comunicarme|comunicarse|comunicar|contactar|contactarme|chatear|conversar|platicar|pasame|paseme|pasar|pasarme|pasenme|comunicame|comuniqueme|comuniquenme|transfiereme|transfierame|transfieranme|transferirme|transferir|conectame|conecteme|conectenme|conectarme|ponme|pongame|ponganme|derivame|derivar|derivarme) (?:(?:con|a|al) )?(?:(?:(?:un|una|algun|alguna|alguno|otro|otra|uno de sus|una de sus) )?{noun}{after}|{boss})\b"
        ),
        format!(
            r"\b(?:quiero|necesito|quisiera|prefiero|pido|solicito|exijo|dame|deme|denme|busco|requiero) (?:un|una|algun|alguna|otro|otra) {noun}{after}\b"
        ),
        r"\balguien con (?:quien|el que|la que) (?:pueda|puedo|podria) hablar\b".to_owned(),
        format!(r"\b(?:me )?(?:puede|pueden|podria|podrian|quiero que me|necesito que me) atender(?:me)? (?:(?:un|una|algun|alguna) )?{noun}{after}\b"),
        r"\b(?:hay|existe) (?:un |una |algun |alguna )?(?:persona|humano|agente|asesor|operador|alguien)(?: real)?(?: disponible)?$".to_owned(),
        r"\b(?:persona real|personas reales|agente humano|asesor humano|operador humano|operadora humana|atencion humana|de carne y hueso)\b".to_owned(),
    ]
}

fn french() -> Vec<String> {
    let noun = "(?:conseillere|conseillers|conseiller|agents|agent|etre humain|humains|humain\
                |personne|operateur|operatrice|interlocuteur|interlocutrice|quelqu un\
                |technicien|technicienne|superviseur)";
    let boss = "(?:(?:le|la|l|au|du) (?:responsable|superviseur|manager|service client))";
    vec![
        format!(
            r"\b(?:parler|discuter|echanger|joindre|contacter|avoir|passer|passez moi|passe moi|transferer|transferez moi|transfere moi|mettre en relation|mettez moi en relation|mets moi en relation|rediriger|redirigez moi) (?:(?:a|avec|aupres d) )?(?:(?:(?:un|une|votre|un de vos|une de vos) )?(?:(?:vrai|vraie) )?{noun}|{boss})\b"
        ),
        format!(
            r"\b(?:veux|voudrais|souhaite|souhaiterais|aimerais|besoin d|besoin de|demande|exige) (?:un|une) (?:(?:vrai|vraie) )?{noun}\b"
        ),
        r"\b(?:vrai humain|vraie personne|conseiller humain|agent humain|personne reelle|personne physique)\b".to_owned(),
    ]
}

fn german() -> Vec<String> {
    let noun = "(?:menschen|mensch|mitarbeiterin|mitarbeiter|mitarbeitenden|beraterin|berater\
                |kundenberaterin|kundenberater|agentin|agenten|agent|person|jemandem|jemand\
                |support|kundendienst|kundenservice|sachbearbeiterin|sachbearbeiter|vorgesetzten\
                |servicemitarbeiter|ansprechpartnerin|ansprechpartner)";
    let det = "(?:(?:einem ihrer|einer ihrer|einem|einer|einen|eine|ein|ihrem|ihrer|dem|der) )?";
    let adjective = "(?:(?:echten|echter|echte|richtigen|richtiger|menschlichen|menschlicher|realen|lebenden) )?";
    let verb = "(?:sprechen|reden|verbinden|verbunden|chatten|telefonieren|schreiben)";
    let accusative = "(?:menschen|mitarbeiterin|mitarbeiter|beraterin|berater|kundenberater\
                      |ansprechpartner|agenten|person|sachbearbeiter)";
    vec![
        // German puts the verb last: "… mit einem Menschen sprechen".
        format!(r"\bmit {det}{adjective}{noun}(?: \w+){{0,3}} {verb}\b"),
        format!(
            r"\b(?:sprechen|reden|verbinden|verbinde|spreche|rede|chatten)(?: \w+){{0,3}} mit {det}{adjective}{noun}\b"
        ),
        format!(
            r"\b(?:will|mochte|mochten|brauche|brauchen|hatte gern|hatte gerne|wunsche|verlange) (?:einen|eine|ein) {adjective}{accusative}\b"
        ),
        // "Kann ich einen Menschen sprechen?" — jemanden sprechen needs no "mit".
        format!(
            r"\b(?:(?:einen|eine) {adjective}{accusative}|jemanden)(?: \w+){{0,2}} (?:sprechen|erreichen)\b"
        ),
        r"\b(?:echten menschen|echter mensch|echte person|echten person|menschlichen mitarbeiter|menschlichen berater|lebenden menschen)\b".to_owned(),
    ]
}

fn portuguese() -> Vec<String> {
    let noun = "(?:atendimento humano|atendentes|atendente|ser humano|humano|humana|pessoa\
                |agente|operador|operadora|representante|alguem|consultor|consultora\
                |especialista|supervisor|supervisora|gerente|funcionario|funcionaria)";
    let after = "(?: (?:real|humano|humana|de verdade|de carne e osso))?";
    let boss = "(?:(?:o|a) (?:supervisor|supervisora|gerente|responsavel))";
    vec![
        format!(
            r"\b(?:falar|conversar|chatear|falo|fale|conectar|conecta|conecte|transferir|transfere|transfira|passar|passa|passe|encaminhar|encaminha|encaminhe)(?: (?:me|comigo))? (?:(?:com|para|pra|ao) )?(?:(?:(?:um|uma|algum|alguma|outro|outra|seu|sua) )?{noun}{after}|{boss})\b"
        ),
        format!(
            r"\b(?:quero|preciso de|preciso|queria|gostaria de|prefiro|exijo|solicito) (?:um|uma|algum|alguma) {noun}{after}\b"
        ),
        r"\b(?:pessoa real|atendente humano|atendimento humano|atendente real|de carne e osso|agente humano)\b".to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_pattern_compiles() {
        assert!(REQUESTS.len() > 20);
        assert!(!ASKS_ABOUT_THE_BOT.is_match("hello"));
    }

    #[test]
    fn english_requests_are_recognised() {
        for text in [
            "talk to a person",
            "I want a human",
            "agent please",
            "Agent!",
            "can I speak to someone",
            "Representative",
            "real person please",
            "customer service rep",
            "this bot is useless, get me a real person",
            "I'd like to speak with an agent",
            "Can you connect me to a live agent?",
            "transfer me to a representative",
            "let me talk to your supervisor",
            "is there a human I can talk to?",
            "I need to speak to somebody about my bill",
            "put me through to customer service",
            "why can't I talk to a human?!",
            "HUMAN",
            "I want to chat with one of your agents",
            "speak to a human being",
            "I don't want a bot. I want a human",
            "You are useless. HUMAN.",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn spanish_requests_are_recognised() {
        for text in [
            "quiero hablar con una persona",
            "hablar con un agente",
            "Operador",
            "agente por favor",
            "¿Puedo hablar con alguien?",
            "pásame con un asesor",
            "necesito un agente humano",
            "quiero una persona real",
            "comuníqueme con el supervisor",
            "¿hay alguien con quien pueda hablar?",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn french_german_and_portuguese_requests_are_recognised() {
        for text in [
            "parler à un conseiller",
            "je voudrais parler à quelqu'un",
            "Je veux un vrai humain",
            "mettez-moi en relation avec un conseiller",
            "mit einem Menschen sprechen",
            "Kann ich bitte mit einem Mitarbeiter sprechen?",
            "verbinden Sie mich mit einem echten Menschen",
            "Kann ich einen Menschen sprechen?",
            "ich möchte einen Berater",
            "Mitarbeiter bitte",
            "falar com um atendente",
            "quero falar com alguém",
            "me transfere para um atendente humano",
            "atendente por favor",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn look_alikes_in_english_are_not_requests() {
        for text in [
            "my agent code doesn't work",
            "I need my agent code",
            "I want an agent code",
            "the person who delivered it was rude",
            "is a human needed to assemble it?",
            "the delivery person left it at the door",
            "my travel agent booked this",
            "human resources sent me a letter",
            "I spoke to your agent yesterday and he said a refund is coming",
            "the representative said I would get a refund",
            "I don't want to talk to a human, just tell me the price",
            "I do not need an agent",
            "are you a real person?",
            "am I talking to a real person",
            "I want a humane solution",
            "I want to speak Spanish",
            "talk to you later",
            "who is my account representative?",
            "can a person under 18 order?",
            "no human please",
            "I like your agent login page",
        ] {
            assert!(!asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn look_alikes_in_other_languages_are_not_requests() {
        for text in [
            "no necesito hablar con un agente",
            "mi agente de seguros me lo recomendó",
            "la persona que lo entregó fue grosera",
            "el operador logístico perdió mi paquete",
            "¿eres una persona real?",
            "la personne qui a livré le colis",
            "je ne veux pas parler à un conseiller",
            "der Mensch an der Tür war unfreundlich",
            "ich habe gestern mit einem Mitarbeiter gesprochen",
            "ich will nicht mit einem Menschen sprechen",
            "bist du ein Mensch?",
            "ich habe einen Menschen an der Tür gesehen",
            "a pessoa que entregou foi grosseira",
            "o atendente foi muito educado, obrigado",
            "não quero falar com um atendente",
        ] {
            assert!(!asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn a_negation_in_an_earlier_clause_does_not_cancel_a_request() {
        assert!(asks_for_human("No, I want an agent"));
        assert!(asks_for_human("no, quiero hablar con una persona"));
    }

    #[test]
    fn hidden_characters_do_not_hide_a_request() {
        assert!(asks_for_human("talk to a hu\u{200B}man"));
    }
}
