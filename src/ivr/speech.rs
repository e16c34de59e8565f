//! Text-to-speech rules: IVR021 (text too long for Polly, invalid SSML), IVR028 (a voice
//! profile speaking another language than the one in effect), and IVR015 for the voice
//! profiles named on nodes and prompts (`defaults.voice` is checked with the header).

use std::collections::BTreeSet;

use super::diag::{Severity, escape_segment, nearest};
use super::flow::Flow;
use super::model::*;
use super::templates::node_prompts;
use super::yaml::Sink;

/// Polly's limit on billed characters (text without SSML tags) per request.
pub const POLLY_MAX_BILLED: usize = 3_000;
/// Polly's limit on all characters, SSML tags included, per request.
pub const POLLY_MAX_TOTAL: usize = 6_000;

/// The billed characters of an SSML document (its text, without tags), or why it is not
/// well-formed SSML (XML with one `<speak>` root). DTDs are refused, so entity expansion
/// cannot blow a short document up.
pub fn ssml_billed_chars(ssml: &str) -> Result<usize, String> {
    let doc = roxmltree::Document::parse(ssml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "speak" {
        return Err(format!(
            "the root element is <{}>, not <speak>",
            root.tag_name().name()
        ));
    }
    Ok(doc
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap_or_default().chars().count())
        .sum())
}

/// Characters of `text` outside `{{…}}` templates: what is known before the call.
fn static_chars(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        count += rest[..open].chars().count();
        match rest[open..].find("}}") {
            Some(close) => rest = &rest[open + close + 2..],
            None => return count + rest[open..].chars().count(),
        }
    }
    count + rest.chars().count()
}

/// An explicit voice (on a node or a prompt) and where it is written.
#[derive(Clone)]
struct VoiceUse<'a> {
    name: &'a str,
    path: String,
}

#[derive(Clone)]
struct Ctx<'a> {
    language: Option<&'a str>,
    voice: Option<VoiceUse<'a>>,
}

struct Speech<'a> {
    voices: Option<&'a VoicesFile>,
    flow_voice: Option<&'a str>,
    node: &'a str,
    /// (voice path, language) pairs already warned about: a node voice covers many prompts.
    warned: BTreeSet<(String, String)>,
}

impl<'a> Speech<'a> {
    fn profile(&self, name: &str) -> Option<&'a Voice> {
        self.voices?.voices.get(name)
    }

    /// IVR015 for a voice named on a node or prompt.
    fn known_voice(&self, sink: &mut Sink<'_>, name: &str, path: &str) -> bool {
        let Some(voices) = self.voices else {
            return true;
        };
        if voices.voices.contains_key(name) {
            return true;
        }
        let hint = nearest(name, voices.voices.keys().map(String::as_str))
            .map(|n| format!("did you mean '{n}'?"));
        sink.error(
            "IVR015",
            path,
            Some(self.node),
            format!("unknown voice profile '{name}'"),
            hint,
        );
        false
    }

    /// IVR028: the profile's language against the language in effect.
    fn voice_language(&mut self, sink: &mut Sink<'_>, voice: &VoiceUse<'_>, language: &str) {
        let Some(profile) = self.profile(voice.name) else {
            return;
        };
        if profile.language == language
            || !self
                .warned
                .insert((voice.path.clone(), language.to_owned()))
        {
            return;
        }
        let suggestion = self.voices.and_then(|v| {
            v.defaults.get(language).cloned().or_else(|| {
                v.voices
                    .iter()
                    .find(|(_, p)| p.language == language)
                    .map(|(n, _)| n.clone())
            })
        });
        let hint = match suggestion {
            Some(s) => format!("use a voice for {language} such as '{s}'"),
            None => format!("add a {language} profile to voices.yaml"),
        };
        sink.at(
            "IVR028",
            Severity::Warning,
            &voice.path,
            Some(self.node),
            format!(
                "voice '{}' speaks {}, but the language here is {language}",
                voice.name, profile.language
            ),
            Some(hint),
        );
    }

    fn walk(&mut self, sink: &mut Sink<'_>, prompt: &'a Prompt, at: String, ctx: &Ctx<'a>) {
        match prompt {
            Prompt::Text(text) => self.leaf(sink, &at, text, false, ctx),
            Prompt::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(sink, item, format!("{at}/{i}"), ctx);
                }
            }
            Prompt::Languages(map) => {
                for (language, item) in map {
                    let inner = Ctx {
                        language: Some(language),
                        voice: ctx.voice.clone(),
                    };
                    self.walk(
                        sink,
                        item,
                        format!("{at}/{}", escape_segment(language)),
                        &inner,
                    );
                }
            }
            Prompt::Part(part) => {
                let mut inner = ctx.clone();
                if let Some(language) = &part.language {
                    inner.language = Some(language);
                }
                if let Some(voice) = &part.voice {
                    let path = format!("{at}/voice");
                    inner.voice = self
                        .known_voice(sink, voice, &path)
                        .then(|| VoiceUse { name: voice, path });
                }
                if let Some(text) = &part.text {
                    self.leaf(sink, &format!("{at}/text"), text, false, &inner);
                }
                if let Some(ssml) = &part.ssml {
                    self.leaf(sink, &format!("{at}/ssml"), ssml, true, &inner);
                }
            }
        }
    }

    /// One piece of TTS text or SSML.
    fn leaf(&mut self, sink: &mut Sink<'_>, path: &str, text: &str, ssml: bool, ctx: &Ctx<'a>) {
        if let (Some(voice), Some(language)) = (&ctx.voice, ctx.language) {
            self.voice_language(sink, voice, language);
        }
        // The provider that will speak it: the explicit voice, else the language's default
        // profile, else the flow's. Unknown means Polly's limits, the stricter ones in use.
        let provider = ctx
            .voice
            .as_ref()
            .map(|v| v.name)
            .or_else(|| {
                let language = ctx.language?;
                self.voices?.defaults.get(language).map(String::as_str)
            })
            .or(self.flow_voice)
            .and_then(|name| self.profile(name))
            .map(|p| p.provider.as_str());
        let polly = provider.is_none_or(|p| p == "polly");
        let node = Some(self.node);
        let (billed, total) = if ssml {
            match ssml_billed_chars(text) {
                Ok(billed) => (billed, text.chars().count()),
                Err(e) => {
                    sink.error(
                        "IVR021",
                        path,
                        node,
                        format!("invalid SSML: {e}"),
                        Some("write well-formed XML inside one <speak>…</speak>; escape & and < as &amp; and &lt;".into()),
                    );
                    return;
                }
            }
        } else {
            let billed = static_chars(text);
            (billed, billed)
        };
        if !polly {
            return;
        }
        let split = "split it into several prompts; a list plays them in order";
        if billed > POLLY_MAX_BILLED {
            sink.error(
                "IVR021",
                path,
                node,
                format!("TTS text is {billed} billed characters; Polly accepts at most {POLLY_MAX_BILLED} per request"),
                Some(split.into()),
            );
        } else if total > POLLY_MAX_TOTAL {
            sink.error(
                "IVR021",
                path,
                node,
                format!("SSML is {total} characters with its tags; Polly accepts at most {POLLY_MAX_TOTAL} per request"),
                Some(split.into()),
            );
        }
    }
}

/// IVR021, IVR028 and node/prompt IVR015 for one flow; `voices` is `voices.yaml` if it decoded.
pub(crate) fn check_speech(sink: &mut Sink<'_>, flow: &Flow, voices: Option<&VoicesFile>) {
    let Some(header) = &flow.header else { return };
    let defaults = header.defaults.as_ref();
    let default_language = defaults.and_then(|d| d.language.as_deref());
    let flow_voice = defaults.and_then(|d| d.voice.as_deref());
    let mut speech = Speech {
        voices,
        flow_voice,
        node: "",
        warned: BTreeSet::new(),
    };
    if let (Some(voice), Some(language)) = (flow_voice, default_language) {
        let use_ = VoiceUse {
            name: voice,
            path: "/defaults/voice".into(),
        };
        speech.voice_language(sink, &use_, language);
    }
    for (id, node) in &flow.nodes {
        let base = format!("/nodes/{}", escape_segment(id));
        speech.node = id;
        let mut ctx = Ctx {
            language: default_language,
            voice: None,
        };
        match &node.kind {
            NodeKind::Say(say) => {
                if let Some(language) = &say.language {
                    ctx.language = Some(language);
                }
                if let Some(voice) = &say.voice {
                    let path = format!("{base}/voice");
                    ctx.voice = speech
                        .known_voice(sink, voice, &path)
                        .then(|| VoiceUse { name: voice, path });
                }
            }
            NodeKind::SetLanguage(set) => {
                if let Some(voice) = &set.voice {
                    let path = format!("{base}/voice");
                    if speech.known_voice(sink, voice, &path) {
                        let use_ = VoiceUse { name: voice, path };
                        speech.voice_language(sink, &use_, &set.language);
                    }
                }
            }
            _ => {}
        }
        for (suffix, prompt) in node_prompts(&node.kind) {
            speech.walk(sink, prompt, format!("{base}{suffix}"), &ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billed_characters_leave_tags_out() {
        assert_eq!(
            ssml_billed_chars("<speak>Hi <break time=\"1s\"/>there &amp; you</speak>"),
            Ok(14)
        );
        let unclosed = ssml_billed_chars("<speak>Hi <emphasis>there</speak>").unwrap_err();
        assert!(unclosed.contains("1:"), "{unclosed}");
        assert_eq!(
            ssml_billed_chars("<p>Hi</p>"),
            Err("the root element is <p>, not <speak>".into())
        );
        assert!(
            ssml_billed_chars("<!DOCTYPE speak [<!ENTITY a \"aaaa\">]><speak>&a;</speak>").is_err()
        );
    }

    #[test]
    fn static_chars_skip_templates() {
        assert_eq!(static_chars("Hi {{name}}!"), 4);
        assert_eq!(static_chars("{{a}}{{b | digits}}"), 0);
        assert_eq!(static_chars("open {{ never closed"), 20);
    }
}
