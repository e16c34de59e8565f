//! Words customers use for the same thing, per language. Paraphrases are where keyword search
//! loses most (a customer asks for "money back", the entry says "refund"); a short, general
//! table closes much of that gap without a model. Phrases are matched word by word after the
//! same analysis as the index (stemming, accent folding), so each group lists base forms.

/// Groups of interchangeable words for a language (`en`, `es`, …).
pub fn groups(language: &str) -> &'static [&'static [&'static str]] {
    match language.split(['-', '_']).next().unwrap_or("en") {
        "es" => ES,
        _ => EN,
    }
}

const EN: &[&[&str]] = &[
    &[
        "refund",
        "reimburse",
        "reimbursement",
        "repay",
        "credited",
        "moneyback",
    ],
    &["return", "exchange", "swap", "trade"],
    &[
        "ship", "shipping", "delivery", "deliver", "postage", "dispatch", "courier", "send", "sent",
    ],
    &["package", "parcel", "order", "shipment", "box"],
    &["cost", "price", "fee", "charge", "pay", "much"],
    &["cancel", "cancellation", "stop", "revoke"],
    &["track", "tracking", "trace", "where"],
    &[
        "arrive", "arrival", "come", "get", "receive", "take", "long", "days", "when",
    ],
    &[
        "damaged",
        "broken",
        "defective",
        "faulty",
        "cracked",
        "torn",
        "ripped",
    ],
    &["missing", "lost", "incomplete"],
    &["wrong", "incorrect", "different", "mistake"],
    &["password", "login", "log", "sign", "signin", "locked"],
    &["account", "profile"],
    &["email", "mail", "address", "inbox"],
    &[
        "size", "sizing", "fit", "fits", "small", "large", "tight", "loose",
    ],
    &["warranty", "guarantee", "guaranteed"],
    &["repair", "fix", "mend"],
    &["open", "hours", "opening", "close", "closing", "time"],
    &["store", "shop", "location", "branch", "near"],
    &["phone", "call", "number", "telephone", "contact"],
    &["discount", "coupon", "promo", "code", "voucher", "deal"],
    &["student", "college", "university", "school"],
    &["gift", "present", "voucher"],
    &["card", "visa", "mastercard", "amex", "credit", "debit"],
    &[
        "paypal",
        "apple",
        "klarna",
        "afterpay",
        "installments",
        "instalments",
    ],
    &["declined", "rejected", "refused", "failed", "denied"],
    &["invoice", "receipt", "bill", "vat"],
    &[
        "stock",
        "available",
        "availability",
        "restock",
        "sold",
        "back",
    ],
    &[
        "international",
        "abroad",
        "overseas",
        "country",
        "countries",
        "worldwide",
        "europe",
        "canada",
    ],
    &["newsletter", "unsubscribe", "emails", "marketing", "spam"],
    &["delete", "remove", "erase", "close"],
    &["change", "update", "edit", "modify", "correct"],
    &[
        "wash", "washing", "washer", "clean", "care", "dry", "dryer", "tumble", "laundry",
    ],
    &["rent", "rental", "hire", "borrow"],
    &["pickup", "collect", "pick", "curbside"],
    &["buy", "bought", "purchase", "purchased", "ordered"],
    &[
        "item", "product", "thing", "stuff", "gear", "boots", "jacket", "tent",
    ],
];

const ES: &[&[&str]] = &[
    &["reembolso", "devolucion", "dinero", "reintegro"],
    &["devolver", "devolucion", "regresar", "cambiar", "cambio"],
    &[
        "envio", "entrega", "enviar", "envian", "mandar", "llega", "llegar", "tarda",
    ],
    &["pedido", "orden", "compra"],
    &["costo", "coste", "precio", "cuesta", "cobran", "tarifa"],
    &["cancelar", "anular", "cancelacion"],
    &["contrasena", "clave", "password", "acceso"],
    &[
        "telefono",
        "llamar",
        "numero",
        "contacto",
        "contactar",
        "correo",
        "email",
        "escribir",
    ],
    &["tienda", "local", "sucursal"],
    &["dias", "tiempo", "cuanto", "cuando"],
];

/// Words that carry no topic in customers' questions, beyond the search library's stop words
/// (accents folded, lower case).
pub fn function_words(language: &str) -> &'static [&'static str] {
    match language.split(['-', '_']).next().unwrap_or("en") {
        "es" => ES_FUNCTION,
        _ => EN_FUNCTION,
    }
}

const EN_FUNCTION: &[&str] = &[
    "a",
    "about",
    "all",
    "also",
    "am",
    "an",
    "any",
    "anyone",
    "anything",
    "are",
    "at",
    "be",
    "been",
    "can",
    "could",
    "d",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "for",
    "from",
    "going",
    "got",
    "had",
    "has",
    "have",
    "hello",
    "hey",
    "hi",
    "how",
    "i",
    "im",
    "is",
    "it",
    "its",
    "just",
    "know",
    "let",
    "ll",
    "like",
    "m",
    "may",
    "me",
    "might",
    "my",
    "need",
    "now",
    "ok",
    "okay",
    "one",
    "our",
    "please",
    "pls",
    "plz",
    "re",
    "s",
    "should",
    "so",
    "some",
    "someone",
    "something",
    "t",
    "tell",
    "thank",
    "thanks",
    "that",
    "there",
    "this",
    "u",
    "ur",
    "us",
    "ve",
    "very",
    "want",
    "wanted",
    "was",
    "way",
    "we",
    "were",
    "what",
    "whats",
    "which",
    "who",
    "why",
    "would",
    "yes",
    "you",
    "your",
    "yours",
    "still",
    "really",
    "again",
    "too",
    "if",
    "then",
    "guys",
    "hiya",
    "wondering",
    "question",
    "quick",
    "ask",
];

const ES_FUNCTION: &[&str] = &[
    "hola", "buenas", "buenos", "quiero", "quisiera", "necesito", "puedo", "puedes", "pueden",
    "podria", "podrian", "me", "mi", "mis", "tu", "su", "sus", "que", "como", "donde", "cual",
    "por", "favor", "gracias", "hay", "es", "son", "esta", "estan", "tengo", "tiene", "tienen",
    "saber", "ustedes", "usted", "yo", "lo", "la", "los", "las", "un", "una", "unos", "unas", "el",
    "de", "del", "al", "en", "y", "o", "con", "para", "se", "si", "ya", "pregunta",
];

/// Phrases rewritten to one word before analysis, because their words alone mean something
/// else ("back" in "send it back" is not "back in stock").
pub fn phrases(language: &str) -> &'static [(&'static str, &'static str)] {
    match language.split(['-', '_']).next().unwrap_or("en") {
        "es" => ES_PHRASES,
        _ => EN_PHRASES,
    }
}

const EN_PHRASES: &[(&str, &str)] = &[
    ("money back", "refund"),
    ("my money", "refund"),
    ("send it back", "return"),
    ("send them back", "return"),
    ("send back", "return"),
    ("sending back", "return"),
    ("ship it back", "return"),
    ("ship back", "return"),
    ("bring it back", "return"),
    ("take it back", "return"),
    ("mail it back", "return"),
    ("give back", "return"),
    ("back in stock", "restock"),
    ("in stock", "stock"),
    ("sign in", "login"),
    ("log in", "login"),
    ("call it off", "cancel"),
    ("call off", "cancel"),
    ("get here", "arrive"),
    ("get to me", "arrive"),
    ("show up", "arrive"),
    ("went through", "charged"),
    ("go through", "accepted"),
];

const ES_PHRASES: &[(&str, &str)] = &[
    ("mi dinero", "reembolso"),
    ("devolver el dinero", "reembolso"),
];

/// Spanish verbs carry their object pronouns ("devolverlas" = return them): the stemmer does
/// not take them off, so the verb would not match the entry's "devolver".
fn strip_enclitics(text: &str) -> String {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match RE.get_or_init(|| {
        regex::Regex::new(r"\b(\w{2,}?(?:ar|er|ir))(?:selos|selas|melo|mela|telo|tela|me|te|se|lo|la|los|las|le|les|nos)\b").ok()
    }) {
        Some(re) => re.replace_all(text, "$1").into_owned(),
        None => text.to_owned(),
    }
}

/// Rewrites known phrases in lower-cased text, on word boundaries.
pub fn rewrite(language: &str, text: &str) -> String {
    // Punctuation would hide phrase boundaries ("back?").
    let lower: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let lower = if language.starts_with("es") {
        strip_enclitics(&lower)
    } else {
        lower
    };
    let mut out = format!(" {lower} ");
    for (phrase, word) in phrases(language) {
        let needle = format!(" {phrase} ");
        while let Some(i) = out.find(&needle) {
            out.replace_range(i..i + needle.len(), &format!(" {word} "));
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_become_one_word_and_spanish_verbs_lose_their_pronouns() {
        assert_eq!(rewrite("en", "How do I send them back?"), "how do i return");
        assert_eq!(
            rewrite("en", "when is it back in stock"),
            "when is it restock"
        );
        assert_eq!(
            rewrite("es", "¿estoy a tiempo de devolverlas?"),
            "estoy a tiempo de devolver"
        );
        assert_eq!(rewrite("es", "quiero escribirles"), "quiero escribir");
        assert_eq!(
            rewrite("es", "el collar"),
            "el collar",
            "a noun ending like a verb stays"
        );
    }
}
