//! What Asterisk plays for the interpreter's [`PlayItem`]s: ARI media URIs.
//!
//! - TTS is rendered into the TTS cache (once per distinct prompt, then reused) and played as
//!   `sound:{media_url}/media/tts/ab/ab12….sln16`: Asterisk fetches it over HTTP into its
//!   media cache, so it need not share our disk (ARI.md §3.1).
//! - A prompt with personal data (a `pii` variable in it) is never cached: it is rendered into
//!   the scratch folder under a random name, served as `/media/scratch/<uuid>.sln16` (not
//!   guessable, `no-store`), and deleted when the call ends.
//! - A recorded sound is looked up in the tenant's `sounds/` folder in the call's language
//!   order, as Asterisk would; found, it is served to Asterisk by `/media/sounds/…`; not found,
//!   it is left to Asterisk's own sound tree (`sound:queue-thereare`, `lang=` set).
//! - Digits and numbers are Asterisk's own `digits:` and `number:`; pauses are its
//!   `silence/N` files (whole seconds, at least one).

use std::path::{Path, PathBuf};

use crate::config::TtsProvider;
use crate::ivr::interp::{PlayItem, Speech};
use crate::ivr::prerender::{self, Job, Plan, RenderOptions, Voice};
use crate::ivr::{Catalog, SOUND_EXTENSIONS};
use crate::tts::{
    AudioFormat, EspeakConfig, EspeakSynth, PollySynth, Prompt, ScratchFile, SpeechInput, TtsCache,
    TtsError,
};

/// Renders and locates prompts for calls.
#[derive(Clone)]
pub struct Media {
    cache: std::sync::Arc<TtsCache>,
    cache_dir: PathBuf,
    options: RenderOptions,
    provider: TtsProvider,
    media_url: String,
    ivr_root: PathBuf,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("media_url", &self.media_url)
            .finish_non_exhaustive()
    }
}

/// A prompt that could not be made playable (it is skipped; the call goes on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MediaError(pub String);

impl Media {
    /// Media for calls: `cache_dir` and `scratch_dir` of `tts.*`, Polly when the provider is
    /// Polly, `media_url` as Asterisk reaches us, `ivr_root` the tenants' flow folders.
    pub fn new(
        cache_dir: PathBuf,
        scratch_dir: PathBuf,
        provider: TtsProvider,
        polly: Option<PollySynth>,
        media_url: String,
        ivr_root: PathBuf,
    ) -> Self {
        Media {
            cache: std::sync::Arc::new(TtsCache::new(&cache_dir, scratch_dir)),
            cache_dir,
            options: RenderOptions {
                polly,
                formats: vec![AudioFormat::Sln16],
                concurrency: 1,
                ..RenderOptions::default()
            },
            provider,
            media_url,
            ivr_root,
        }
    }

    /// The media URIs for `items`, in order. Items that cannot be made playable are left out
    /// and reported, so one bad prompt never leaves the caller in silence for the rest.
    /// Personal renditions are added to `scratch`; the caller keeps them while Asterisk may
    /// play them.
    pub async fn uris(
        &self,
        catalog: &Catalog,
        tenant_slug: &str,
        items: &[PlayItem],
        scratch: &mut Vec<ScratchFile>,
    ) -> (Vec<String>, Vec<MediaError>) {
        let mut uris = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            match self.uri(catalog, tenant_slug, item, scratch).await {
                Ok(Some(uri)) => uris.push(uri),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        (uris, errors)
    }

    async fn uri(
        &self,
        catalog: &Catalog,
        tenant_slug: &str,
        item: &PlayItem,
        scratch: &mut Vec<ScratchFile>,
    ) -> Result<Option<String>, MediaError> {
        Ok(Some(match item {
            PlayItem::Digits(d) if d.is_empty() => return Ok(None),
            PlayItem::Digits(d) => format!("digits:{d}"),
            PlayItem::Number(n) => format!("number:{n}"),
            PlayItem::Pause(ms) => format!("sound:silence/{}", (ms / 1000).clamp(1, 10)),
            PlayItem::Sound { name, languages } => {
                match find_sound(&self.ivr_root.join(tenant_slug), name, languages) {
                    Some(rel) => format!(
                        "sound:{}/media/sounds/{tenant_slug}/{}",
                        self.media_url,
                        rel.to_string_lossy()
                    ),
                    None => format!("sound:{name}"),
                }
            }
            PlayItem::Tts {
                speech,
                voice,
                language,
                cacheable,
                ..
            } => {
                let plan = self.plan(catalog, voice.as_deref(), language)?;
                let input = match speech {
                    Speech::Text(t) => SpeechInput::Text(t.clone()),
                    Speech::Ssml(s) => SpeechInput::Ssml(s.clone()),
                };
                if *cacheable {
                    self.tts(plan, input, language).await?
                } else {
                    let file = self.personal(&plan, &input, language).await?;
                    let name = file
                        .path()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    scratch.push(file);
                    format!("sound:{}/media/scratch/{name}", self.media_url)
                }
            }
        }))
    }

    fn plan(
        &self,
        catalog: &Catalog,
        voice: Option<&str>,
        language: &str,
    ) -> Result<Plan, MediaError> {
        Ok(match catalog.voices() {
            Some(voices) => prerender::choose_plan(voices, None, voice, language, self.provider)
                .map_err(MediaError)?,
            // No voices.yaml: the offline voice of the language.
            None => Plan {
                primary: Voice::Espeak {
                    voice: language.to_ascii_lowercase(),
                    speed_wpm: 175,
                },
                fallback: None,
            },
        })
    }

    /// A personal rendition in the scratch folder (the fallback voice when the first fails).
    async fn personal(
        &self,
        plan: &Plan,
        input: &SpeechInput,
        language: &str,
    ) -> Result<ScratchFile, MediaError> {
        let first = self.scratch_with(&plan.primary, input, language).await;
        let result = match (first, &plan.fallback) {
            (Err(_), Some(fallback)) => self.scratch_with(fallback, input, language).await,
            (r, _) => r,
        };
        match result {
            Ok(Prompt::Scratch(file)) => Ok(file),
            Ok(Prompt::Cached(_)) => Err(MediaError(
                "a personal prompt was cached; it is not played".into(),
            )),
            Err(e) => Err(MediaError(e.to_string())),
        }
    }

    async fn scratch_with(
        &self,
        voice: &Voice,
        input: &SpeechInput,
        language: &str,
    ) -> Result<Prompt, TtsError> {
        let mut req = voice.request(input, language);
        req.pii = true;
        match voice {
            Voice::Polly { .. } => {
                let polly = self.options.polly.as_ref().ok_or_else(|| {
                    TtsError::InvalidRequest("a Polly voice needs tts.provider = polly".into())
                })?;
                self.cache
                    .get_or_render(&req, polly, AudioFormat::Sln16)
                    .await
            }
            Voice::Espeak { voice, speed_wpm } => {
                let espeak = EspeakSynth::new(EspeakConfig {
                    program: self.options.espeak_program.clone(),
                    voice: Some(voice.clone()),
                    speed_wpm: *speed_wpm,
                    ..EspeakConfig::default()
                });
                self.cache
                    .get_or_render(&req, &espeak, AudioFormat::Sln16)
                    .await
            }
        }
    }

    async fn tts(
        &self,
        plan: Plan,
        input: SpeechInput,
        language: &str,
    ) -> Result<String, MediaError> {
        let job = Job {
            input,
            language: language.to_owned(),
            plan,
            uses: Vec::new(),
        };
        let result =
            prerender::render_job(&job, AudioFormat::Sln16, &self.cache, &self.options).await;
        let path = match (result.path, result.outcome) {
            (Some(p), _) => p,
            (None, prerender::Outcome::Failed { reason }) => return Err(MediaError(reason)),
            (None, _) => return Err(MediaError("the prompt was not rendered".into())),
        };
        let rel = path
            .strip_prefix(&self.cache_dir)
            .map_err(|_| MediaError(format!("{} is outside the TTS cache", path.display())))?;
        Ok(format!(
            "sound:{}/media/tts/{}",
            self.media_url,
            rel.to_string_lossy()
        ))
    }
}

/// `sounds/<lang>/<name>.<ext>` for each language, then `sounds/<name>.<ext>`, relative to
/// `sounds/`; `None` when the tenant has no such file.
pub fn find_sound(tenant_dir: &Path, name: &str, languages: &[String]) -> Option<PathBuf> {
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return None;
    }
    let sounds = tenant_dir.join("sounds");
    let folders = languages
        .iter()
        .map(|l| PathBuf::from(l.as_str()))
        .chain(std::iter::once(PathBuf::new()));
    for folder in folders {
        for ext in SOUND_EXTENSIONS {
            let rel = folder.join(format!("{name}.{ext}"));
            if sounds.join(&rel).is_file() {
                return Some(rel);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sounds_are_found_in_language_order_then_neutral() {
        let dir = tempfile::tempdir().unwrap();
        let sounds = dir.path().join("sounds");
        std::fs::create_dir_all(sounds.join("es-US/acme")).unwrap();
        std::fs::create_dir_all(sounds.join("acme")).unwrap();
        std::fs::write(sounds.join("es-US/acme/welcome.sln16"), b"x").unwrap();
        std::fs::write(sounds.join("acme/welcome.wav"), b"x").unwrap();
        let langs = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            find_sound(dir.path(), "acme/welcome", &langs(&["es-US", "en-US"])),
            Some(PathBuf::from("es-US/acme/welcome.sln16"))
        );
        assert_eq!(
            find_sound(dir.path(), "acme/welcome", &langs(&["en-US"])),
            Some(PathBuf::from("acme/welcome.wav"))
        );
        assert_eq!(
            find_sound(dir.path(), "acme/missing", &langs(&["en-US"])),
            None
        );
        assert_eq!(find_sound(dir.path(), "../acme/welcome", &langs(&[])), None);
    }
}
