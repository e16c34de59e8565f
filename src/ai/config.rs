//! A tenant's AI agent settings: which provider answers, how it behaves, where it serves, and
//! what it may spend. The provider's API key is stored sealed beside them and never returned.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::kb::base_language;
use super::local::LocalSettings;

/// Who writes the bot's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// The embedded bot: knowledge-base answers, no network.
    #[default]
    Local,
    /// An OpenAI-compatible server (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Simple questions to the local bot or a small model, complex ones to a large model.
    Hybrid,
}

/// The bot's tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Personality {
    /// Warm and informal.
    #[default]
    Friendly,
    /// Courteous and precise.
    Professional,
    /// Relaxed and brief.
    Casual,
}

/// Azure OpenAI addressing (deployment instead of model name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureSettings {
    /// Deployment name.
    pub deployment: String,
    /// API version, e.g. `2024-10-21`.
    pub api_version: String,
}

/// The tenant's order-status lookup used by the `check_order_status` tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLookup {
    /// URL with `{order_number}`, e.g. `https://shop.example/api/orders/{order_number}`.
    pub url: String,
    /// Hosts the lookup may call (the URL's host must be one of them).
    pub allowed_hosts: Vec<String>,
    /// Give up after this long (at most 10 000 ms).
    #[serde(default = "default_lookup_timeout")]
    pub timeout_ms: u64,
}

fn default_lookup_timeout() -> u64 {
    3000
}

/// A tenant's AI agent settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AiSettings {
    /// The bot answers new conversations on its channels.
    pub enabled: bool,
    /// Who writes the replies.
    pub provider: ProviderKind,
    /// OpenAI-compatible base URL (`https://api.openai.com/v1`, `http://localhost:11434/v1`), or
    /// Anthropic's (`https://api.anthropic.com`).
    pub base_url: Option<String>,
    /// Azure OpenAI deployment, when the base URL is an Azure resource.
    pub azure: Option<AzureSettings>,
    /// Model name (the large model for `hybrid`).
    pub model: String,
    /// The small model for `hybrid` (None: simple turns go to the local bot).
    pub small_model: Option<String>,
    /// Embeddings model of the OpenAI-compatible server, combined with BM25 when set.
    pub embeddings_model: Option<String>,
    /// The tenant's instructions (tone, scope, facts), added under the fixed system prompt.
    pub instructions: String,
    /// Tone.
    pub personality: Personality,
    /// The built-in bot answers from the knowledge base only at or above this confidence
    /// (0–1); below it the conversation goes to people (`local`) or to the large model
    /// (`hybrid`). `local.answer_threshold` is the calibrated floor under which nothing counts
    /// as a match at all; this lets a tenant be more careful than that floor (a value under it
    /// changes nothing).
    pub handoff_confidence: f64,
    /// After this many bot replies the conversation goes to people.
    pub max_bot_replies: u32,
    /// Typing shown before a reply, so it does not feel instant and robotic (ms).
    pub response_delay_ms: u64,
    /// Tool rounds allowed per turn.
    pub max_tool_rounds: u32,
    /// How long (seconds) the model may take to start an answer or pause within a streamed
    /// one, and a whole answer that is not streamed (an agent's draft) may take; past it the
    /// request fails, is asked once more, then the customer gets the fallback message and a
    /// person. A model on a CPU (Ollama, llama.cpp) may need more than the default.
    pub model_timeout_secs: u32,
    /// Said when the bot cannot help and hands over.
    pub fallback_message: String,
    /// Said on handing over while agents are available; `{{position}}` and `{{wait}}` work.
    pub handoff_message: String,
    /// Said on handing over when nobody is available.
    pub offline_message: String,
    /// Channels the bot serves (`widget`, `whatsapp`, …).
    pub channels: Vec<String>,
    /// Languages the bot answers in; others go straight to people.
    pub languages: Vec<String>,
    /// Language assumed when a message does not say.
    pub default_language: String,
    /// Tokens per calendar month (UTC); None: no limit.
    pub monthly_token_budget: Option<u64>,
    /// Price of a million prompt tokens of `model`, for the cost recorded per turn and
    /// conversation (your currency; 0 = not tracked).
    pub input_price_per_million: f64,
    /// Price of a million completion tokens of `model`.
    pub output_price_per_million: f64,
    /// Prices of `small_model` (hybrid), the same way.
    pub small_input_price_per_million: f64,
    /// Price of a million completion tokens of `small_model`.
    pub small_output_price_per_million: f64,
    /// The bot takes new conversations only within these hours (`schedules.yaml` shape);
    /// outside them conversations go straight to people. None: always.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<crate::schedule::Schedule>,
    /// The order-status lookup for `check_order_status`.
    pub order_lookup: Option<OrderLookup>,
    /// The embedded bot's thresholds.
    pub local: LocalSettings,
    /// A resolved conversation the customer reopens goes back to the bot (otherwise to people).
    pub reopen_to_bot: bool,
    /// The three messages above in other languages, by language code (`{"es": {…}}`): a
    /// customer writing in that language hears them. Without one, a message the tenant left
    /// at its default is said in Switchboard's own words for the language (Spanish), and a
    /// message the tenant wrote is said as written.
    pub translations: BTreeMap<String, Messages>,
}

/// What the customer is told, in one language; a message left out falls back as
/// [`AiSettings::message`] says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Messages {
    /// When the bot cannot help and hands over.
    pub fallback_message: Option<String>,
    /// On handing over while agents are available; `{{position}}` and `{{wait}}` work.
    pub handoff_message: Option<String>,
    /// On handing over when nobody is available.
    pub offline_message: Option<String>,
}

/// Which of the customer-facing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `fallback_message`.
    Fallback,
    /// `handoff_message`.
    Handoff,
    /// `offline_message`.
    Offline,
}

const DEFAULT_FALLBACK: &str =
    "I'm not sure I can help with that, so I'm passing you to a member of our team.";
const DEFAULT_HANDOFF: &str = "I'm connecting you with a member of our team. You're number {{position}} in line (about {{wait}}).";
const DEFAULT_OFFLINE: &str = "Our team isn't available right now. Leave your message here and we'll reply as soon as we're back.";

/// Switchboard's own wording of the default messages in the languages the bot speaks besides
/// English.
fn built_in(kind: MessageKind, base_language: &str) -> Option<&'static str> {
    match (base_language, kind) {
        ("es", MessageKind::Fallback) => Some(
            "No estoy seguro de poder ayudarte con eso, así que te paso con una persona de nuestro equipo.",
        ),
        ("es", MessageKind::Handoff) => Some(
            "Te paso con una persona de nuestro equipo. Eres el número {{position}} en la fila (espera aproximada: {{wait}}).",
        ),
        ("es", MessageKind::Offline) => Some(
            "Nuestro equipo no está disponible ahora. Deja tu mensaje aquí y te responderemos en cuanto volvamos.",
        ),
        _ => None,
    }
}

impl AiSettings {
    /// The message of `kind` for a customer writing in `language`: the tenant's translation
    /// for the language (`es-MX` finds `es-mx`, then `es`), else Switchboard's own wording
    /// when the tenant left the message at its default, else the tenant's message.
    pub fn message(&self, kind: MessageKind, language: &str) -> String {
        self.message_in(kind, language).0
    }

    /// [`message`](Self::message) and the language it is in (what goes around it, such as
    /// the wait, must be in the same one): the translation's, ours, or the tenant's default
    /// language for the tenant's own message.
    pub fn message_in(&self, kind: MessageKind, language: &str) -> (String, String) {
        let pick = |m: &Messages| match kind {
            MessageKind::Fallback => m.fallback_message.clone(),
            MessageKind::Handoff => m.handoff_message.clone(),
            MessageKind::Offline => m.offline_message.clone(),
        };
        let language = language.to_ascii_lowercase();
        let base = base_language(&language);
        let translated = [language.as_str(), base.as_str()]
            .iter()
            .filter_map(|l| self.translations.get(*l).map(|m| (l, m)))
            .find_map(|(l, m)| {
                pick(m)
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| (t, (*l).to_owned()))
            });
        if let Some(found) = translated {
            return found;
        }
        let (mine, default) = match kind {
            MessageKind::Fallback => (&self.fallback_message, DEFAULT_FALLBACK),
            MessageKind::Handoff => (&self.handoff_message, DEFAULT_HANDOFF),
            MessageKind::Offline => (&self.offline_message, DEFAULT_OFFLINE),
        };
        match built_in(kind, &base) {
            Some(own) if mine == default => (own.to_owned(), base),
            // The defaults are English; a tenant's own message is in its default language.
            _ if mine == default => (mine.clone(), "en".to_owned()),
            _ => (mine.clone(), base_language(&self.default_language)),
        }
    }
}

impl Default for AiSettings {
    fn default() -> Self {
        AiSettings {
            enabled: false,
            provider: ProviderKind::Local,
            base_url: None,
            azure: None,
            model: String::new(),
            small_model: None,
            embeddings_model: None,
            instructions: String::new(),
            personality: Personality::Friendly,
            handoff_confidence: 0.45,
            max_bot_replies: 8,
            response_delay_ms: 600,
            max_tool_rounds: 3,
            model_timeout_secs: 25,
            fallback_message: DEFAULT_FALLBACK.into(),
            handoff_message: DEFAULT_HANDOFF.into(),
            offline_message: DEFAULT_OFFLINE.into(),
            channels: vec!["widget".into()],
            languages: vec!["en".into()],
            default_language: "en".into(),
            monthly_token_budget: None,
            input_price_per_million: 0.0,
            output_price_per_million: 0.0,
            small_input_price_per_million: 0.0,
            small_output_price_per_million: 0.0,
            business_hours: None,
            order_lookup: None,
            local: LocalSettings::default(),
            reopen_to_bot: false,
            translations: BTreeMap::new(),
        }
    }
}

/// A setting that is wrong, with the field to blame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    /// Dotted path of the field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl AiSettings {
    /// Checks the settings as a whole; `has_key` says whether an API key is stored or given.
    pub fn check(&self, has_key: bool) -> Result<(), SettingsError> {
        let needs_model = matches!(
            self.provider,
            ProviderKind::Openai | ProviderKind::Anthropic | ProviderKind::Hybrid
        );
        if needs_model && self.model.trim().is_empty() && self.azure.is_none() {
            return Err(bad("model", "name the model (or the Azure deployment)"));
        }
        if let Some(u) = &self.base_url {
            let ok = url::Url::parse(u)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                return Err(bad("base_url", format!("`{u}` is not an http(s) URL")));
            }
        }
        if self.provider == ProviderKind::Anthropic && !has_key {
            return Err(bad("api_key", "Anthropic needs an API key"));
        }
        if self.provider == ProviderKind::Openai && self.base_url.is_none() && !has_key {
            return Err(bad(
                "api_key",
                "OpenAI needs an API key (or set base_url to a local server such as Ollama)",
            ));
        }
        for (field, v) in [
            ("handoff_confidence", self.handoff_confidence),
            ("local.answer_threshold", self.local.answer_threshold),
            ("local.semantic_threshold", self.local.semantic_threshold),
            ("local.clarify_margin", self.local.clarify_margin),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(field, "must be between 0 and 1"));
            }
        }
        if self.max_bot_replies == 0 || self.max_bot_replies > 100 {
            return Err(bad("max_bot_replies", "must be 1–100"));
        }
        if self.max_tool_rounds > 10 {
            return Err(bad("max_tool_rounds", "must be at most 10"));
        }
        if !(1..=300).contains(&self.model_timeout_secs) {
            return Err(bad("model_timeout_secs", "must be 1–300"));
        }
        if self.response_delay_ms > 10_000 {
            return Err(bad("response_delay_ms", "must be at most 10000"));
        }
        for (field, text, max) in [
            ("instructions", &self.instructions, 4000),
            ("fallback_message", &self.fallback_message, 500),
            ("handoff_message", &self.handoff_message, 500),
            ("offline_message", &self.offline_message, 500),
        ] {
            if text.chars().count() > max {
                return Err(bad(field, format!("must be at most {max} characters")));
            }
        }
        for (language, messages) in &self.translations {
            let code = language.as_bytes();
            // Lower case: customers' language tags are matched lower-cased.
            let well_formed = (2..=8).contains(&code.len())
                && code[..2].iter().all(u8::is_ascii_lowercase)
                && code
                    .iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
            if !well_formed {
                return Err(bad(
                    "translations",
                    format!(
                        "`{language}` is not a lower-case language code such as `es` or `pt-br`"
                    ),
                ));
            }
            for (field, text) in [
                ("fallback_message", &messages.fallback_message),
                ("handoff_message", &messages.handoff_message),
                ("offline_message", &messages.offline_message),
            ] {
                if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
                    return Err(bad(
                        &format!("translations.{language}.{field}"),
                        "must be at most 500 characters",
                    ));
                }
            }
        }
        for (field, v) in [
            ("input_price_per_million", self.input_price_per_million),
            ("output_price_per_million", self.output_price_per_million),
            (
                "small_input_price_per_million",
                self.small_input_price_per_million,
            ),
            (
                "small_output_price_per_million",
                self.small_output_price_per_million,
            ),
        ] {
            if !(0.0..=10_000.0).contains(&v) {
                return Err(bad(field, "must be 0–10000"));
            }
        }
        if let Some(h) = &self.business_hours {
            let (_, problems) = crate::schedule::compile_schedule(
                "business_hours",
                h,
                &std::collections::BTreeMap::new(),
                chrono::Utc::now(),
            );
            if let Some(p) = problems.iter().find(|p| p.is_error()) {
                let hint = p
                    .hint
                    .as_deref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(bad("business_hours", format!("{}{hint}", p.message)));
            }
        }
        if self.languages.is_empty() {
            return Err(bad("languages", "name at least one language"));
        }
        if let Some(l) = &self.order_lookup {
            let url = url::Url::parse(&l.url.replace("{order_number}", "1"))
                .map_err(|_| bad("order_lookup.url", "not a URL"))?;
            if url.scheme() != "https" {
                return Err(bad("order_lookup.url", "must be https"));
            }
            let host = url.host_str().unwrap_or_default();
            if !l.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(bad(
                    "order_lookup.allowed_hosts",
                    format!("must include the URL's host `{host}`"),
                ));
            }
            if !l.url.contains("{order_number}") {
                return Err(bad("order_lookup.url", "must contain {order_number}"));
            }
            if l.timeout_ms == 0 || l.timeout_ms > 10_000 {
                return Err(bad("order_lookup.timeout_ms", "must be 1–10000"));
            }
        }
        Ok(())
    }

    /// Whether the bot takes new conversations on `channel`.
    pub fn serves(&self, channel: &str) -> bool {
        self.enabled && self.channels.iter().any(|c| c == channel)
    }

    /// Whether the bot takes new conversations on `channel` at `now` (its business hours,
    /// when set, are evaluated in their own time zone).
    pub fn serves_at(&self, channel: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
        if !self.serves(channel) {
            return false;
        }
        let Some(hours) = &self.business_hours else {
            return true;
        };
        match crate::schedule::compile_schedule(
            "business_hours",
            hours,
            &std::collections::BTreeMap::new(),
            now,
        ) {
            (Some(s), _) => s.status_at(now).is_open(),
            // Unreadable hours (never stored by the API): serving beats silence.
            (None, _) => true,
        }
    }

    /// Cost in millionths of the currency unit of a model call.
    pub fn cost_micros(&self, small: bool, input_tokens: u64, output_tokens: u64) -> i64 {
        let (i, o) = if small {
            (
                self.small_input_price_per_million,
                self.small_output_price_per_million,
            )
        } else {
            (self.input_price_per_million, self.output_price_per_million)
        };
        // price per million tokens × tokens = millionths of the unit.
        (i * input_tokens as f64 + o * output_tokens as f64).round() as i64
    }

    /// Whether the bot answers in `language` (by base tag: `es-MX` counts as `es`).
    pub fn speaks(&self, language: &str) -> bool {
        let base = super::kb::base_language(language);
        self.languages
            .iter()
            .any(|l| super::kb::base_language(l) == base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_customers_language() {
        let defaults = AiSettings::default();
        // Left at the default: our own Spanish wording, for es and its regions.
        assert!(
            defaults
                .message(MessageKind::Fallback, "es-MX")
                .starts_with("No estoy seguro")
        );
        assert_eq!(
            defaults.message(MessageKind::Offline, "en"),
            DEFAULT_OFFLINE
        );
        // A language we have no wording for hears the tenant's message.
        assert_eq!(
            defaults.message(MessageKind::Handoff, "de"),
            DEFAULT_HANDOFF
        );
        // The tenant's own message is said as written, unless they translated it.
        let mut mine = AiSettings {
            handoff_message: "One of our outfitters will be with you shortly.".into(),
            ..AiSettings::default()
        };
        assert_eq!(
            mine.message(MessageKind::Handoff, "es"),
            "One of our outfitters will be with you shortly."
        );
        mine.translations.insert(
            "es".into(),
            Messages {
                handoff_message: Some("Enseguida te atiende uno de nuestros guías.".into()),
                ..Messages::default()
            },
        );
        assert_eq!(
            mine.message(MessageKind::Handoff, "es-AR"),
            "Enseguida te atiende uno de nuestros guías."
        );
        // What goes around a message is said in the message's language: the tenant's own
        // message in the tenant's default language, ours and translations in theirs.
        let english_shop = AiSettings {
            offline_message: "We're closed.".into(),
            ..AiSettings::default()
        };
        assert_eq!(
            english_shop.message_in(MessageKind::Offline, "es"),
            ("We're closed.".to_owned(), "en".to_owned())
        );
        assert_eq!(defaults.message_in(MessageKind::Offline, "es-MX").1, "es");
        assert_eq!(mine.message_in(MessageKind::Handoff, "es-AR").1, "es");
        // A translation that leaves a message out falls back as if there were none.
        assert!(
            mine.message(MessageKind::Offline, "es")
                .starts_with("Nuestro equipo no está disponible")
        );
    }

    #[test]
    fn translations_need_language_codes_and_short_messages() {
        for key in ["Spanish", "es-MX"] {
            let mut s = AiSettings::default();
            s.translations.insert(key.into(), Messages::default());
            assert_eq!(s.check(true).unwrap_err().field, "translations", "{key}");
        }
        let mut s = AiSettings::default();
        s.translations.insert(
            "pt-br".into(),
            Messages {
                offline_message: Some("x".repeat(501)),
                ..Messages::default()
            },
        );
        assert_eq!(
            s.check(true).unwrap_err().field,
            "translations.pt-br.offline_message"
        );
    }

    #[test]
    fn defaults_are_valid_and_local() {
        let s = AiSettings::default();
        assert!(s.check(false).is_ok());
        assert!(!s.serves("widget"), "off until an admin turns it on");
        assert!(
            AiSettings {
                enabled: true,
                ..s.clone()
            }
            .serves("widget")
        );
        assert!(s.speaks("en-GB") && !s.speaks("es"));
    }

    #[test]
    fn business_hours_limit_when_the_bot_takes_conversations_and_prices_give_costs() {
        use chrono::TimeZone;
        let s = AiSettings {
            enabled: true,
            business_hours: Some(crate::schedule::Schedule {
                timezone: "UTC".into(),
                weekly: [("mon-fri".to_owned(), vec!["09:00-17:00".to_owned()])].into(),
                holidays: None,
                overrides: vec![],
            }),
            input_price_per_million: 0.15,
            output_price_per_million: 0.6,
            ..AiSettings::default()
        };
        assert!(s.check(false).is_ok());
        let monday_noon = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .unwrap();
        let sunday = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .unwrap();
        assert!(s.serves_at("widget", monday_noon));
        assert!(!s.serves_at("widget", sunday));
        assert_eq!(s.cost_micros(false, 1_000, 500), 150 + 300);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let field = |s: AiSettings, key: bool| s.check(key).unwrap_err().field;
        let base = AiSettings::default();
        assert_eq!(
            field(
                AiSettings {
                    provider: ProviderKind::Openai,
                    ..base.clone()
                },
                true
            ),
            "model"
        );
        assert_eq!(
            field(
                AiSettings {
                    provider: ProviderKind::Openai,
                    model: "gpt-4o-mini".into(),
                    ..base.clone()
                },
                false
            ),
            "api_key"
        );
        assert!(
            AiSettings {
                provider: ProviderKind::Openai,
                model: "llama3.1".into(),
                base_url: Some("http://localhost:11434/v1".into()),
                ..base.clone()
            }
            .check(false)
            .is_ok(),
            "Ollama needs no key"
        );
        assert_eq!(
            field(
                AiSettings {
                    handoff_confidence: 1.5,
                    ..base.clone()
                },
                false
            ),
            "handoff_confidence"
        );
        let lookup = |url: &str, hosts: &[&str]| AiSettings {
            order_lookup: Some(OrderLookup {
                url: url.into(),
                allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
                timeout_ms: 2000,
            }),
            ..base.clone()
        };
        assert_eq!(
            field(
                lookup("http://shop.example/o/{order_number}", &["shop.example"]),
                false
            ),
            "order_lookup.url"
        );
        assert_eq!(
            field(
                lookup("https://shop.example/o/{order_number}", &["other.example"]),
                false
            ),
            "order_lookup.allowed_hosts"
        );
        assert!(
            lookup("https://shop.example/o/{order_number}", &["shop.example"])
                .check(false)
                .is_ok()
        );
    }
}
