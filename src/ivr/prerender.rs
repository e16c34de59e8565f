//! Pre-rendering of static TTS prompts into the TTS cache (TTS-AND-LLM.md §3, step 3), so a
//! caller never waits for synthesis of a fixed sentence and Polly's 8 TPS neural limit is
//! spent once per prompt, not once per call.
//!
//! "Static" means text or SSML without `{{…}}`: templated prompts depend on the call and are
//! rendered at call time (or, with `pii` variables, never cached), so they are only counted.
//! Sounds, pauses and `digits:`/`number:` parts are not TTS and are left alone.
//!
//! The voice of a prompt, most specific first: the prompt object's `voice`, the node's
//! `voice`, the flow's `defaults.voice` when its language is the prompt's, `voices.yaml`
//! `defaults` for the prompt's language, and last the flow's `defaults.voice` whatever its
//! language (IVR028 warns about that). A Polly profile falls back to `voices.yaml` `fallback`
//! for the language when Polly fails; with `tts.provider = espeak` that offline voice is used
//! straight away. The cache keys on the voice that actually spoke (see `TtsCache`), so a prompt
//! rendered by the fallback is retried with Polly on the next run.

use std::collections::HashMap;
use std::path::PathBuf;

use futures::StreamExt;

use super::diag::escape_segment;
use super::flow::Flow;
use super::model::*;
use super::templates::node_prompts;
use crate::config::TtsProvider;
use crate::tts::cache::cache_key;
use crate::tts::{
    AudioFormat, Engine, EspeakConfig, EspeakSynth, PollySynth, SpeechInput, SpeechRequest,
    Synthesizer, TtsCache, TtsError,
};

/// Where a prompt is written: flow, node and JSON pointer below the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptUse {
    /// Flow id.
    pub flow: String,
    /// Node id.
    pub node: String,
    /// e.g. `/on_timeout/prompts/1`.
    pub pointer: String,
}

impl std::fmt::Display for PromptUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}{}", self.flow, self.node, self.pointer)
    }
}

/// A static prompt as written, before its voice is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    at: PromptUse,
    input: SpeechInput,
    language: Option<String>,
    /// Profile named on the prompt or the node.
    voice: Option<String>,
}

/// A concrete voice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Voice {
    /// Amazon Polly.
    Polly {
        /// e.g. `Joanna`.
        voice_id: String,
        /// Polly engine.
        engine: Engine,
        /// The profile's language (`LanguageCode`).
        language: String,
    },
    /// The offline espeak-ng voice.
    Espeak {
        /// espeak voice, e.g. `en-us` or `es-419`.
        voice: String,
        /// Words per minute.
        speed_wpm: u32,
    },
}

impl Voice {
    /// The request this voice sends for `input` in `language`.
    pub fn request(&self, input: &SpeechInput, language: &str) -> SpeechRequest {
        let (voice, language, engine) = match self {
            Voice::Polly {
                voice_id,
                engine,
                language,
            } => (voice_id.clone(), language.clone(), *engine),
            // espeak ignores the request's voice (its config carries it), so the field holds
            // what makes two espeak renditions differ, speed included, for the cache key.
            Voice::Espeak { voice, speed_wpm } => (
                format!("{voice}@{speed_wpm}wpm"),
                language.to_owned(),
                Engine::Standard,
            ),
        };
        SpeechRequest {
            input: input.clone(),
            voice,
            language,
            sample_rate: crate::tts::SampleRate::Hz16000,
            engine,
            pii: false,
        }
    }

    fn describe(&self) -> String {
        match self {
            Voice::Polly {
                voice_id, engine, ..
            } => format!("polly {voice_id} ({})", engine.as_str()),
            Voice::Espeak { voice, speed_wpm } => format!("espeak-ng {voice} {speed_wpm} wpm"),
        }
    }
}

/// The voice to use and the one to fall back to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plan {
    /// First choice.
    pub primary: Voice,
    /// On a provider failure.
    pub fallback: Option<Voice>,
}

/// One distinct thing to render (identical prompts across nodes and flows are merged).
#[derive(Debug, Clone)]
pub struct Job {
    /// Text or SSML.
    pub input: SpeechInput,
    /// Language tag.
    pub language: String,
    /// Voices.
    pub plan: Plan,
    /// Every place it is used.
    pub uses: Vec<PromptUse>,
}

impl Job {
    /// The first place it is used, and how many more.
    pub fn place(&self) -> String {
        match self.uses.as_slice() {
            [] => String::new(),
            [one] => one.to_string(),
            [one, rest @ ..] => format!("{one} (and {} more)", rest.len()),
        }
    }
}

/// What [`plan`] found in the flows.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// Distinct prompts to render.
    pub jobs: Vec<Job>,
    /// Static prompts found (before merging identical ones).
    pub static_uses: usize,
    /// Prompts with `{{variables}}`, rendered at call time.
    pub templated: Vec<PromptUse>,
    /// Static prompts no voice could be chosen for.
    pub unplanned: Vec<(PromptUse, String)>,
}

/// Finds every static prompt of `flows` and chooses its voices.
pub fn plan<'a>(
    flows: impl IntoIterator<Item = &'a Flow>,
    voices: &VoicesFile,
    provider: TtsProvider,
) -> Planned {
    let mut planned = Planned::default();
    let mut index: HashMap<(String, String, String, Plan), usize> = HashMap::new();
    for flow in flows {
        let (found, templated) = collect(flow);
        planned.templated.extend(templated);
        let flow_voice = flow
            .header
            .as_ref()
            .and_then(|h| h.defaults.as_ref()?.voice.as_deref());
        for f in found {
            planned.static_uses += 1;
            let Some(language) = f.language.clone() else {
                planned.unplanned.push((
                    f.at,
                    "no language: set defaults.language or the prompt's language".into(),
                ));
                continue;
            };
            let chosen = choose_plan(voices, flow_voice, f.voice.as_deref(), &language, provider);
            let plan = match chosen {
                Ok(plan) => plan,
                Err(reason) => {
                    planned.unplanned.push((f.at, reason));
                    continue;
                }
            };
            let key = (
                f.input.kind().to_owned(),
                crate::tts::cache::normalize_text(f.input.as_str()),
                language.clone(),
                plan.clone(),
            );
            match index.get(&key) {
                Some(&i) => planned.jobs[i].uses.push(f.at),
                None => {
                    index.insert(key, planned.jobs.len());
                    planned.jobs.push(Job {
                        input: f.input,
                        language,
                        plan,
                        uses: vec![f.at],
                    });
                }
            }
        }
    }
    planned
}

fn profile_voice(voices: &VoicesFile, name: &str) -> Result<Voice, String> {
    let profile = voices
        .voices
        .get(name)
        .ok_or_else(|| format!("unknown voice profile '{name}'"))?;
    match profile.provider.as_str() {
        "polly" => {
            let engine = match profile.engine.as_deref() {
                None | Some("standard") => Engine::Standard,
                Some("neural") => Engine::Neural,
                Some(other) => {
                    return Err(format!(
                        "voice profile '{name}': Polly engine '{other}' is not supported (standard or neural)"
                    ));
                }
            };
            let voice_id = profile
                .voice_id
                .clone()
                .ok_or_else(|| format!("voice profile '{name}' has no voice_id"))?;
            Ok(Voice::Polly {
                voice_id,
                engine,
                language: profile.language.clone(),
            })
        }
        "espeak-ng" | "espeak" => Ok(Voice::Espeak {
            voice: profile
                .voice
                .clone()
                .unwrap_or_else(|| profile.language.to_ascii_lowercase()),
            speed_wpm: profile.speed_wpm.unwrap_or(160),
        }),
        other => Err(format!(
            "voice profile '{name}': provider '{other}' is not supported (polly or espeak-ng)"
        )),
    }
}

/// The plan for one prompt (see the module documentation for the order).
pub fn choose_plan(
    voices: &VoicesFile,
    flow_voice: Option<&str>,
    explicit: Option<&str>,
    language: &str,
    provider: TtsProvider,
) -> Result<Plan, String> {
    let same_language = |name: &&str| {
        voices
            .voices
            .get(*name)
            .is_some_and(|v| v.language == language)
    };
    let name = explicit
        .or_else(|| flow_voice.filter(same_language))
        .or_else(|| voices.defaults.get(language).map(String::as_str))
        .or(flow_voice)
        .ok_or_else(|| {
            format!(
                "no voice for {language}: set defaults.voice or voices.yaml defaults.{language}"
            )
        })?;
    let primary = profile_voice(voices, name)?;
    let fallback = voices
        .fallback
        .get(language)
        .map(|f| profile_voice(voices, f))
        .transpose()?
        .filter(|f| *f != primary);
    match (primary, provider) {
        (Voice::Polly { .. }, TtsProvider::Espeak) => match fallback {
            Some(offline @ Voice::Espeak { .. }) => Ok(Plan {
                primary: offline,
                fallback: None,
            }),
            _ => Err(format!(
                "voice profile '{name}' needs Polly, tts.provider is espeak, and voices.yaml has no espeak-ng fallback for {language}"
            )),
        },
        (primary, _) => Ok(Plan { primary, fallback }),
    }
}

/// Static prompts and templated prompt uses of one flow.
fn collect(flow: &Flow) -> (Vec<Found>, Vec<PromptUse>) {
    let defaults = flow.header.as_ref().and_then(|h| h.defaults.as_ref());
    let flow_language = defaults
        .and_then(|d| d.language.clone())
        .or_else(|| flow.header.as_ref()?.languages.first().cloned());
    let mut found = Vec::new();
    let mut templated = Vec::new();
    for (id, node) in &flow.nodes {
        let (node_voice, node_language) = match &node.kind {
            NodeKind::Say(s) => (s.voice.clone(), s.language.clone()),
            _ => (None, None),
        };
        for (suffix, prompt) in node_prompts(&node.kind) {
            let mut walk = Walk {
                flow: &flow.id,
                node: id,
                found: &mut found,
                templated: &mut templated,
            };
            walk.prompt(
                prompt,
                suffix,
                node_language.clone().or_else(|| flow_language.clone()),
                node_voice.clone(),
            );
        }
    }
    (found, templated)
}

struct Walk<'a> {
    flow: &'a str,
    node: &'a str,
    found: &'a mut Vec<Found>,
    templated: &'a mut Vec<PromptUse>,
}

impl Walk<'_> {
    fn at(&self, pointer: String) -> PromptUse {
        PromptUse {
            flow: self.flow.to_owned(),
            node: self.node.to_owned(),
            pointer,
        }
    }

    fn text(
        &mut self,
        input: SpeechInput,
        pointer: String,
        language: Option<String>,
        voice: Option<String>,
    ) {
        let at = self.at(pointer);
        if input.as_str().contains("{{") {
            self.templated.push(at);
        } else if !input.as_str().trim().is_empty() {
            self.found.push(Found {
                at,
                input,
                language,
                voice,
            });
        }
    }

    fn prompt(
        &mut self,
        prompt: &Prompt,
        pointer: String,
        language: Option<String>,
        voice: Option<String>,
    ) {
        match prompt {
            Prompt::Text(text) => {
                self.text(SpeechInput::Text(text.clone()), pointer, language, voice)
            }
            Prompt::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.prompt(
                        item,
                        format!("{pointer}/{i}"),
                        language.clone(),
                        voice.clone(),
                    );
                }
            }
            Prompt::Languages(map) => {
                for (tag, item) in map {
                    self.prompt(
                        item,
                        format!("{pointer}/{}", escape_segment(tag)),
                        Some(tag.clone()),
                        voice.clone(),
                    );
                }
            }
            Prompt::Part(part) => {
                let language = part.language.clone().or(language);
                let voice = part.voice.clone().or(voice);
                if let Some(text) = &part.text {
                    self.text(
                        SpeechInput::Text(text.clone()),
                        format!("{pointer}/text"),
                        language.clone(),
                        voice.clone(),
                    );
                }
                if let Some(ssml) = &part.ssml {
                    self.text(
                        SpeechInput::Ssml(ssml.clone()),
                        format!("{pointer}/ssml"),
                        language.clone(),
                        voice.clone(),
                    );
                }
                // Played by Asterisk (`digits:`/`number:`) unless templated, which is call data.
                for (name, value) in [("digits", &part.digits), ("number", &part.number)] {
                    if let Some(value) = value
                        && value.contains("{{")
                    {
                        let at = self.at(format!("{pointer}/{name}"));
                        self.templated.push(at);
                    }
                }
            }
        }
    }
}

/// How one job went in one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Synthesized now.
    Rendered,
    /// The file was already there.
    Cached,
    /// The first voice failed; the fallback voice spoke (now, or on an earlier run).
    Fallback {
        /// Why the first voice failed.
        reason: String,
        /// The fallback rendition was already cached.
        cached: bool,
    },
    /// Nothing playable.
    Failed {
        /// Why.
        reason: String,
    },
}

/// The result of one job in one format.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// Index into the jobs.
    pub job: usize,
    /// The format.
    pub format: AudioFormat,
    /// What happened.
    pub outcome: Outcome,
    /// The playable file, unless it failed.
    pub path: Option<PathBuf>,
}

/// How [`render`] runs.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Set when `tts.provider` is `polly`.
    pub polly: Option<PollySynth>,
    /// The espeak-ng program.
    pub espeak_program: PathBuf,
    /// Formats to write (`.sln16` is what wideband and narrowband calls both play well).
    pub formats: Vec<AudioFormat>,
    /// Requests in flight; keep below the provider's TPS.
    pub concurrency: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            polly: None,
            espeak_program: PathBuf::from("espeak-ng"),
            formats: vec![AudioFormat::Sln16],
            concurrency: 4,
        }
    }
}

/// Renders every job in every format into `cache`; `on_done` is called as each finishes.
pub async fn render(
    jobs: &[Job],
    cache: &TtsCache,
    options: &RenderOptions,
    on_done: &(dyn Fn(&JobResult) + Sync),
) -> Vec<JobResult> {
    let work = jobs
        .iter()
        .enumerate()
        .flat_map(|(i, job)| options.formats.iter().map(move |f| (i, job, *f)));
    futures::stream::iter(work)
        .map(|(i, job, format)| async move {
            let result = render_one(i, job, format, cache, options).await;
            on_done(&result);
            result
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await
}

/// Renders one job in one format (a call's templated prompt, rendered as the call needs it).
pub async fn render_job(
    job: &Job,
    format: AudioFormat,
    cache: &TtsCache,
    options: &RenderOptions,
) -> JobResult {
    render_one(0, job, format, cache, options).await
}

async fn render_one(
    index: usize,
    job: &Job,
    format: AudioFormat,
    cache: &TtsCache,
    options: &RenderOptions,
) -> JobResult {
    let (outcome, path) = match speak(&job.plan.primary, job, format, cache, options).await {
        Ok((cached, path)) => (
            if cached {
                Outcome::Cached
            } else {
                Outcome::Rendered
            },
            Some(path),
        ),
        Err(e) => match (&job.plan.fallback, e) {
            // A malformed request fails the same way with any voice.
            (_, e @ TtsError::InvalidRequest(_)) | (None, e) => (
                Outcome::Failed {
                    reason: format!("{}: {}", job.plan.primary.describe(), chain(&e)),
                },
                None,
            ),
            (Some(fallback), e) => {
                let reason = format!("{}: {}", job.plan.primary.describe(), chain(&e));
                match speak(fallback, job, format, cache, options).await {
                    Ok((cached, path)) => (Outcome::Fallback { reason, cached }, Some(path)),
                    Err(e2) => (
                        Outcome::Failed {
                            reason: format!(
                                "{reason}; fallback {}: {}",
                                fallback.describe(),
                                chain(&e2)
                            ),
                        },
                        None,
                    ),
                }
            }
        },
    };
    JobResult {
        job: index,
        format,
        outcome,
        path,
    }
}

/// The error and its causes: reqwest's message alone ("error sending request") hides the
/// reason an admin can act on ("connection refused", a DNS failure).
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Renders with one voice: `(already cached, path)`.
async fn speak(
    voice: &Voice,
    job: &Job,
    format: AudioFormat,
    cache: &TtsCache,
    options: &RenderOptions,
) -> Result<(bool, PathBuf), TtsError> {
    let req = voice.request(&job.input, &job.language);
    match voice {
        Voice::Polly { .. } => {
            let polly = options.polly.as_ref().ok_or_else(|| {
                TtsError::InvalidRequest("a Polly voice needs tts.provider = polly".into())
            })?;
            cached_or_render(cache, polly, &req, format).await
        }
        Voice::Espeak { voice, speed_wpm } => {
            let espeak = EspeakSynth::new(EspeakConfig {
                program: options.espeak_program.clone(),
                voice: Some(voice.clone()),
                speed_wpm: *speed_wpm,
                ..EspeakConfig::default()
            });
            cached_or_render(cache, &espeak, &req, format).await
        }
    }
}

async fn cached_or_render<S: Synthesizer>(
    cache: &TtsCache,
    synth: &S,
    req: &SpeechRequest,
    format: AudioFormat,
) -> Result<(bool, PathBuf), TtsError> {
    let path = cache.path_for(&cache_key(synth.provider(), req, format), format);
    if crate::tts::cache::exists(&path) {
        return Ok((true, path));
    }
    let prompt = cache.get_or_render(req, synth, format).await?;
    Ok((false, prompt.path().to_path_buf()))
}

/// Totals for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Synthesized now.
    pub rendered: usize,
    /// Already in the cache.
    pub cached: usize,
    /// Spoken by the fallback voice: (place, reason).
    pub fallback: Vec<(String, String)>,
    /// Not playable: (place, reason), including prompts no voice could be chosen for.
    pub failed: Vec<(String, String)>,
    /// Templated prompt uses skipped.
    pub templated: usize,
}

impl Summary {
    /// Totals of a run.
    pub fn of(planned: &Planned, results: &[JobResult]) -> Self {
        let mut summary = Summary {
            templated: planned.templated.len(),
            failed: planned
                .unplanned
                .iter()
                .map(|(at, reason)| (at.to_string(), reason.clone()))
                .collect(),
            ..Summary::default()
        };
        let mut results: Vec<&JobResult> = results.iter().collect();
        results.sort_by_key(|r| (r.job, r.format.extension()));
        for r in results {
            let place = planned
                .jobs
                .get(r.job)
                .map(|j| format!("{} [.{}]", j.place(), r.format.extension()))
                .unwrap_or_default();
            match &r.outcome {
                Outcome::Rendered => summary.rendered += 1,
                Outcome::Cached => summary.cached += 1,
                Outcome::Fallback { reason, .. } => summary.fallback.push((place, reason.clone())),
                Outcome::Failed { reason } => summary.failed.push((place, reason.clone())),
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::{decode_flows, decode_voices, load_dir};
    use axum::http::StatusCode;

    fn example() -> (Vec<Flow>, VoicesFile) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows");
        let sources = load_dir(&dir).unwrap();
        let report = crate::ivr::validate(&sources, chrono::Utc::now());
        assert!(report.valid, "{:#?}", report.errors);
        // Example 1 only: its prompts are the ones listed below.
        let flows = decode_flows(&sources)
            .into_values()
            .filter(|f| f.id == "support-main")
            .collect();
        (flows, decode_voices(&sources).unwrap())
    }

    #[test]
    fn finds_every_static_prompt_and_skips_templates() {
        let (flows, voices) = example();
        let planned = plan(&flows, &voices, TtsProvider::Espeak);
        let pointers: Vec<String> = planned
            .jobs
            .iter()
            .flat_map(|j| j.uses.iter().map(|u| format!("{}{}", u.node, u.pointer)))
            .collect();
        for expected in [
            "main_menu/prompt",
            "main_menu/reprompt",
            "main_menu/on_invalid/prompt",
            "main_menu/on_timeout/prompts/0",
            "main_menu/on_timeout/prompts/1",
            "account_lookup/filler/prompt",
            "q_billing/callback/prompt",
            "goodbye/prompt",
            "billing_account/on_invalid/prompt",
        ] {
            assert!(
                pointers.iter().any(|p| p == expected),
                "{expected} in {pointers:#?}"
            );
        }
        let templated: Vec<String> = planned
            .templated
            .iter()
            .map(|u| format!("{}{}", u.node, u.pointer))
            .collect();
        assert_eq!(
            templated,
            [
                "billing_balance/prompt",
                "order_id_entry/confirm/prompt",
                "order_status_say/prompt"
            ]
        );
        assert!(planned.unplanned.is_empty());
        // Offline: the Polly profile en-US-main gives way to en-US-offline.
        assert!(planned.jobs.iter().all(|j| j.plan
            == Plan {
                primary: Voice::Espeak {
                    voice: "en-us".into(),
                    speed_wpm: 160
                },
                fallback: None
            }));
        // With Polly on, Joanna speaks and espeak is the safety net.
        let online = plan(&flows, &voices, TtsProvider::Polly);
        assert!(matches!(
            &online.jobs[0].plan,
            Plan { primary: Voice::Polly { voice_id, engine: Engine::Neural, .. }, fallback: Some(Voice::Espeak { .. }) } if voice_id == "Joanna"
        ));
    }

    #[test]
    fn voice_choice_prefers_the_prompt_then_the_flow_default_in_its_language() {
        let (_, voices) = example();
        let provider = TtsProvider::Polly;
        let plan_of = |explicit, language| {
            choose_plan(&voices, Some("en-US-main"), explicit, language, provider)
                .map(|p| p.primary)
        };
        let polly = |id: &str, language: &str| Voice::Polly {
            voice_id: id.into(),
            engine: Engine::Neural,
            language: language.into(),
        };
        assert_eq!(plan_of(None, "en-US"), Ok(polly("Joanna", "en-US")));
        // An es-US variant does not speak with the flow's English default.
        assert_eq!(plan_of(None, "es-US"), Ok(polly("Lupe", "es-US")));
        assert_eq!(
            plan_of(Some("es-US-offline"), "es-US"),
            Ok(Voice::Espeak {
                voice: "es-419".into(),
                speed_wpm: 150
            })
        );
        assert!(
            plan_of(Some("nope"), "en-US")
                .unwrap_err()
                .contains("unknown voice profile")
        );
        assert!(
            plan_of(None, "fr-FR").is_ok(),
            "falls back to the flow default"
        );
        assert!(
            choose_plan(&voices, None, None, "fr-FR", provider)
                .unwrap_err()
                .contains("no voice for fr-FR")
        );
    }

    fn files_with_extension(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for shard in std::fs::read_dir(dir).unwrap() {
            for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|e| e == ext) {
                    out.push(p);
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn renders_example_flows_with_espeak_then_finds_them_cached() {
        let (flows, voices) = example();
        let planned = plan(&flows, &voices, TtsProvider::Espeak);
        assert!(planned.jobs.len() >= 20, "{}", planned.jobs.len());
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::new(dir.path().join("cache"), dir.path().join("scratch"));
        let options = RenderOptions::default();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let results = render(&planned.jobs, &cache, &options, &|_| {
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        let summary = Summary::of(&planned, &results);
        assert_eq!(summary.failed, Vec::<(String, String)>::new());
        assert_eq!((summary.rendered, summary.cached), (planned.jobs.len(), 0));
        assert_eq!(summary.templated, 3);
        assert_eq!(done.into_inner(), planned.jobs.len());

        let files = files_with_extension(&dir.path().join("cache"), "sln16");
        assert_eq!(files.len(), planned.jobs.len());
        for r in &results {
            let path = r.path.as_ref().unwrap();
            assert_eq!(path.extension().unwrap(), "sln16");
            let bytes = std::fs::read(path).unwrap();
            assert!(bytes.len() > 3200 && bytes.len() % 2 == 0, "{path:?}");
            // Headerless 16 kHz s16le: the sidecar's length and rate match the file.
            let meta: crate::tts::cache::Sidecar =
                serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap())
                    .unwrap();
            assert_eq!(
                (meta.sample_rate, meta.provider.as_str()),
                (16000, "espeak-ng")
            );
            assert_eq!(meta.samples * 2, bytes.len());
            let expected_ms = (meta.samples as u64 * 1000) / 16000;
            assert!(meta.duration_ms.abs_diff(expected_ms) <= 1, "{meta:?}");
        }

        let again = render(&planned.jobs, &cache, &options, &|_| {}).await;
        let summary = Summary::of(&planned, &again);
        assert_eq!((summary.rendered, summary.cached), (0, planned.jobs.len()));
        assert!(summary.failed.is_empty() && summary.fallback.is_empty());
    }

    #[tokio::test]
    async fn polly_outage_falls_back_to_espeak() {
        let (flows, voices) = example();
        let planned = plan(&flows, &voices, TtsProvider::Polly);
        // Two prompts are enough to see the path; the Polly voice is what matters.
        let jobs: Vec<Job> = planned.jobs.into_iter().take(2).collect();
        let (url, seen) = crate::tts::polly::tests::stand_in(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"{}".to_vec(),
            None,
        )
        .await;
        let config = crate::config::TtsConfig {
            provider: TtsProvider::Polly,
            polly: crate::config::PollySettings {
                region: Some("eu-west-1".into()),
                endpoint: Some(url.to_string()),
                timeout_secs: 5,
            },
            ..crate::config::TtsConfig::default()
        };
        let polly_config = config
            .polly_config(&|k| match k {
                "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
                "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
                _ => None,
            })
            .unwrap();
        let options = RenderOptions {
            polly: Some(PollySynth::new(polly_config).unwrap()),
            ..RenderOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::new(dir.path().join("cache"), dir.path().join("scratch"));
        let results = render(&jobs, &cache, &options, &|_| {}).await;
        assert_eq!(seen.lock().unwrap().len(), 2, "Polly was asked first");
        for r in &results {
            match &r.outcome {
                Outcome::Fallback { reason, cached } => {
                    assert!(!cached);
                    assert!(
                        reason.contains("polly Joanna (neural)") && reason.contains("HTTP 500"),
                        "{reason}"
                    );
                }
                other => panic!("{other:?}"),
            }
            let path = r.path.as_ref().unwrap();
            let meta: crate::tts::cache::Sidecar =
                serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap())
                    .unwrap();
            assert_eq!(
                (meta.provider.as_str(), meta.voice.as_str()),
                ("espeak-ng", "en-us@160wpm")
            );
        }
        // Fallback audio is not filed under Polly: the next run asks Polly again.
        let again = render(&jobs, &cache, &options, &|_| {}).await;
        assert!(
            again
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Fallback { cached: true, .. }))
        );
        assert_eq!(seen.lock().unwrap().len(), 4);
    }
}
