//! What Asterisk plays for the interpreter's [`PlayItem`]s: ARI media URIs.
//!
//! - TTS is rendered into the TTS cache (once per distinct prompt, then reused) and played as
//!   `sound:{media_url}/media/tts/ab/ab12….sln16`: Asterisk fetches it over HTTP into its
//!   media cache, so it need not share our disk (ARI.md §3.1).
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
use crate::tts::{AudioFormat, PollySynth, SpeechInput, TtsCache};

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
    pub async fn uris(
        &self,
        catalog: &Catalog,
        tenant_slug: &str,
        items: &[PlayItem],
    ) -> (Vec<String>, Vec<MediaError>) {
        let mut uris = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            match self.uri(catalog, tenant_slug, item).await {
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
                ..
            } => {
                self.tts(catalog, speech, voice.as_deref(), language)
                    .await?
            }
        }))
    }

    async fn tts(
        &self,
        catalog: &Catalog,
        speech: &Speech,
        voice: Option<&str>,
        language: &str,
    ) -> Result<String, MediaError> {
        let plan = match catalog.voices() {
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
        };
        let input = match speech {
            Speech::Text(t) => SpeechInput::Text(t.clone()),
            Speech::Ssml(s) => SpeechInput::Ssml(s.clone()),
        };
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
