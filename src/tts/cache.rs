//! Content-addressed TTS cache: `<dir>/<first 2 hex>/<sha256>.<ext>` plus a `<sha256>.json`
//! [`Sidecar`], so a prompt is synthesized once per (provider, voice, text, format) and
//! Asterisk plays the file directly.
//!
//! Concurrency: within this process, callers of the same key wait on one per-key lock and the
//! first one renders. Across processes two renders of one key can race; both write through
//! temp file + rename, so the loser just replaces an identical file.
//!
//! PII: requests with `pii: true` never touch the cache directory. They are rendered into
//! `scratch_dir` under a random name and returned as [`Prompt::Scratch`], whose
//! [`ScratchFile`] deletes the file when dropped. We chose a file over in-memory audio because
//! Asterisk can only play files; the caller holds the `ScratchFile` until playback ends.
//! Keeping scratch apart from the cache means cache backups and audits never see personal data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::writer::{AudioFormat, write_atomic, write_bytes_atomic};
use super::{Audio, SpeechRequest, Synthesizer, TtsError};

/// Bump when the key's inputs or the rendering pipeline change in a way that makes old files
/// wrong (for example a resampler change).
const KEY_VERSION: u32 = 1;

/// A playable prompt file.
#[derive(Debug)]
pub enum Prompt {
    /// Shared, long-lived cache file.
    Cached(PathBuf),
    /// Personal-data rendition; deleted when dropped.
    Scratch(ScratchFile),
}

impl Prompt {
    pub fn path(&self) -> &Path {
        match self {
            Prompt::Cached(p) => p,
            Prompt::Scratch(s) => &s.path,
        }
    }

    /// The path without extension, the form ARI `sound:` and `Playback` expect: Asterisk
    /// picks the cheapest of the renditions sharing that base name.
    pub fn playback_name(&self) -> PathBuf {
        self.path().with_extension("")
    }
}

/// A file that is removed when this value is dropped.
#[derive(Debug)]
pub struct ScratchFile {
    path: PathBuf,
}

impl ScratchFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not delete PII prompt");
        }
    }
}

#[derive(Debug)]
pub struct TtsCache {
    dir: PathBuf,
    scratch_dir: PathBuf,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The fields that make two renditions differ, serialised in a fixed order.
#[derive(Serialize)]
struct KeyInput<'a> {
    v: u32,
    provider: &'a str,
    engine: &'a str,
    voice: &'a str,
    language: &'a str,
    text_type: &'a str,
    text: String,
    sample_rate: u32,
    format: &'a str,
}

/// `<key>.json` beside each cached file: what was said, by whom, and how long it is, for audits
/// and for a festival-style collision check (the text is stored, so a hit can be verified).
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Sidecar {
    pub key_version: u32,
    pub provider: String,
    pub engine: String,
    pub voice: String,
    pub language: String,
    pub text_type: String,
    pub text: String,
    pub format: String,
    pub sample_rate: u32,
    pub samples: usize,
    pub duration_ms: u64,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// NFC and collapsed whitespace, so cosmetic edits to a flow's text do not re-render.
pub fn normalize_text(text: &str) -> String {
    text.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hex SHA-256 cache key. The sample rate is the format's, which is what gets rendered.
pub fn cache_key(provider: &str, req: &SpeechRequest, format: AudioFormat) -> String {
    let input = KeyInput {
        v: KEY_VERSION,
        provider,
        engine: req.engine.as_str(),
        voice: &req.voice,
        language: &req.language,
        text_type: req.input.kind(),
        text: normalize_text(req.input.as_str()),
        sample_rate: format.sample_rate().hz(),
        format: format.extension(),
    };
    // Serialising a struct of strings and integers cannot fail; fall back to the text alone regardless.
    let bytes = serde_json::to_vec(&input).unwrap_or_else(|_| input.text.clone().into_bytes());
    hex::encode(Sha256::digest(bytes))
}

impl TtsCache {
    pub fn new(dir: impl Into<PathBuf>, scratch_dir: impl Into<PathBuf>) -> Self {
        TtsCache {
            dir: dir.into(),
            scratch_dir: scratch_dir.into(),
            locks: Mutex::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_for(&self, key: &str, format: AudioFormat) -> PathBuf {
        let shard = key.get(..2).unwrap_or("00");
        self.dir
            .join(shard)
            .join(format!("{key}.{}", format.extension()))
    }

    /// Return a playable file for `req` in `format`, rendering with `synth` only on a miss.
    /// The request's `sample_rate` is replaced by the format's (a `.sln` is 8 kHz by
    /// definition).
    pub async fn get_or_render<S: Synthesizer>(
        &self,
        req: &SpeechRequest,
        synth: &S,
        format: AudioFormat,
    ) -> Result<Prompt, TtsError> {
        let mut req = req.clone();
        req.sample_rate = format.sample_rate();
        if req.pii {
            let audio = synth.synthesize(&req).await?;
            let path =
                self.scratch_dir
                    .join(format!("{}.{}", uuid::Uuid::new_v4(), format.extension()));
            write_blocking(path.clone(), audio, format).await?;
            return Ok(Prompt::Scratch(ScratchFile { path }));
        }
        let key = cache_key(synth.provider(), &req, format);
        let path = self.path_for(&key, format);
        if exists(&path) {
            return Ok(Prompt::Cached(path));
        }
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.clone()).or_default().clone()
        };
        let result = async {
            let _guard = lock.lock().await;
            // Whoever held the lock before us may have rendered it.
            if exists(&path) {
                return Ok(Prompt::Cached(path.clone()));
            }
            let audio = synth.synthesize(&req).await?;
            // A fallback voice answered: file it under its own key, so the next call retries the
            // real provider instead of serving robotic audio forever.
            let target = if audio.provider == synth.provider() {
                path.clone()
            } else {
                self.path_for(&cache_key(audio.provider, &req, format), format)
            };
            let sidecar = Sidecar {
                key_version: KEY_VERSION,
                provider: audio.provider.to_owned(),
                engine: req.engine.as_str().to_owned(),
                voice: req.voice.clone(),
                language: req.language.clone(),
                text_type: req.input.kind().to_owned(),
                text: normalize_text(req.input.as_str()),
                format: format.extension().to_owned(),
                sample_rate: audio.sample_rate,
                samples: audio.samples.len(),
                duration_ms: u64::try_from(audio.duration().as_millis()).unwrap_or(u64::MAX),
                created: chrono::Utc::now(),
            };
            let json = serde_json::to_vec_pretty(&sidecar)
                .map_err(|e| TtsError::BadAudio(e.to_string()))?;
            let sidecar_path = target.with_extension("json");
            // Sidecar first: the audio file's appearance is the commit point, so whoever sees
            // the audio can also read its metadata.
            tokio::task::spawn_blocking(move || write_bytes_atomic(&sidecar_path, &json))
                .await
                .map_err(|e| TtsError::Join(e.to_string()))??;
            write_blocking(target.clone(), audio, format).await?;
            Ok(Prompt::Cached(target))
        }
        .await;
        // Waiters still hold their clone of the lock and re-check the file, so dropping the
        // entry here is safe.
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        result
    }
}

/// Whether a rendered prompt is on disk. Asked on every prompt a call plays, so it is a plain
/// `stat` of a local file (about a microsecond), not `tokio::fs`, whose trip through the
/// blocking pool costs two thread switches per prompt.
pub(crate) fn exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok()
}

async fn write_blocking(path: PathBuf, audio: Audio, format: AudioFormat) -> Result<(), TtsError> {
    tokio::task::spawn_blocking(move || write_atomic(&path, &audio, format))
        .await
        .map_err(|e| TtsError::Join(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::{Engine, SpeechInput};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts renders; answers as `answer_as` to simulate a fallback voice.
    struct Counting {
        calls: AtomicUsize,
        answer_as: &'static str,
    }

    impl Counting {
        fn new(answer_as: &'static str) -> Self {
            Counting {
                calls: AtomicUsize::new(0),
                answer_as,
            }
        }
    }

    impl Synthesizer for Counting {
        fn provider(&self) -> &'static str {
            "polly"
        }
        async fn synthesize(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            // Long enough for concurrent callers to pile up on the lock.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Audio {
                sample_rate: req.sample_rate.hz(),
                samples: vec![7; 800],
                provider: self.answer_as,
            })
        }
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.extend(files_under(&p))
                } else {
                    out.push(p)
                }
            }
        }
        out
    }

    #[test]
    fn key_covers_every_field_and_ignores_cosmetic_whitespace() {
        let base = SpeechRequest::text("Welcome  to\tAcme ", "Joanna", "en-US");
        let k = cache_key("polly", &base, AudioFormat::Sln);
        assert_eq!(k.len(), 64);
        assert_eq!(
            k,
            cache_key(
                "polly",
                &SpeechRequest::text("Welcome to Acme", "Joanna", "en-US"),
                AudioFormat::Sln
            )
        );
        let variants = [
            cache_key("espeak-ng", &base, AudioFormat::Sln),
            cache_key("polly", &base, AudioFormat::Sln16),
            cache_key("polly", &base, AudioFormat::Wav),
            cache_key(
                "polly",
                &SpeechRequest {
                    voice: "Matthew".into(),
                    ..base.clone()
                },
                AudioFormat::Sln,
            ),
            cache_key(
                "polly",
                &SpeechRequest {
                    language: "en-GB".into(),
                    ..base.clone()
                },
                AudioFormat::Sln,
            ),
            cache_key(
                "polly",
                &SpeechRequest {
                    engine: Engine::Neural,
                    ..base.clone()
                },
                AudioFormat::Sln,
            ),
            cache_key(
                "polly",
                &SpeechRequest {
                    input: SpeechInput::Ssml("Welcome to Acme".into()),
                    ..base.clone()
                },
                AudioFormat::Sln,
            ),
        ];
        for v in &variants {
            assert_ne!(&k, v);
        }
        // NFC: a precomposed and a decomposed "é" are the same prompt.
        assert_eq!(
            cache_key(
                "polly",
                &SpeechRequest::text("caf\u{e9}", "Lupe", "es-US"),
                AudioFormat::Sln
            ),
            cache_key(
                "polly",
                &SpeechRequest::text("cafe\u{301}", "Lupe", "es-US"),
                AudioFormat::Sln
            )
        );
    }

    #[tokio::test]
    async fn concurrent_callers_of_one_key_render_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::new(dir.path().join("cache"), dir.path().join("scratch"));
        let synth = Counting::new("polly");
        let req = SpeechRequest::text("Press one for sales", "Joanna", "en-US");
        let results = futures::future::join_all(
            (0..8).map(|_| cache.get_or_render(&req, &synth, AudioFormat::Sln)),
        )
        .await;
        let paths: Vec<PathBuf> = results
            .into_iter()
            .map(|r| r.unwrap().path().to_path_buf())
            .collect();
        assert_eq!(synth.calls.load(Ordering::SeqCst), 1);
        assert!(paths.iter().all(|p| p == &paths[0]));
        assert_eq!(std::fs::read(&paths[0]).unwrap().len(), 1600);
        // A later call is a hit too.
        cache
            .get_or_render(&req, &synth, AudioFormat::Sln)
            .await
            .unwrap();
        assert_eq!(synth.calls.load(Ordering::SeqCst), 1);
        // Only the final file and its sidecar exist: no temp files were left behind.
        let mut files = files_under(&dir.path().join("cache"));
        files.sort();
        let sidecar = paths[0].with_extension("json");
        assert_eq!(files, vec![sidecar.clone(), paths[0].clone()]);
        let meta: Sidecar = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
        assert_eq!(
            (
                meta.text.as_str(),
                meta.provider.as_str(),
                meta.samples,
                meta.duration_ms
            ),
            ("Press one for sales", "polly", 800, 100)
        );
        assert!(cache.locks.lock().unwrap().is_empty());
        assert_eq!(
            paths[0],
            cache.path_for(
                &cache_key("polly", &req, AudioFormat::Sln),
                AudioFormat::Sln
            )
        );
    }

    #[tokio::test]
    async fn pii_is_never_written_to_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::new(dir.path().join("cache"), dir.path().join("scratch"));
        let synth = Counting::new("polly");
        let req = SpeechRequest {
            pii: true,
            ..SpeechRequest::text("Your account 12345", "Joanna", "en-US")
        };
        let a = cache
            .get_or_render(&req, &synth, AudioFormat::Sln16)
            .await
            .unwrap();
        let b = cache
            .get_or_render(&req, &synth, AudioFormat::Sln16)
            .await
            .unwrap();
        assert_eq!(
            synth.calls.load(Ordering::SeqCst),
            2,
            "PII is rendered every time"
        );
        assert!(matches!(a, Prompt::Scratch(_)));
        assert_ne!(a.path(), b.path());
        assert!(a.path().starts_with(dir.path().join("scratch")));
        assert_eq!(std::fs::read(a.path()).unwrap().len(), 1600);
        assert!(files_under(&dir.path().join("cache")).is_empty());
        let p = a.path().to_path_buf();
        drop(a);
        assert!(!p.exists(), "scratch file removed on drop");
    }

    #[tokio::test]
    async fn fallback_audio_is_filed_under_the_fallback_provider() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::new(dir.path().join("cache"), dir.path().join("scratch"));
        let synth = Counting::new("espeak-ng");
        let req = SpeechRequest::text("One moment", "Joanna", "en-US");
        let p = cache
            .get_or_render(&req, &synth, AudioFormat::Wav)
            .await
            .unwrap();
        assert_eq!(
            p.path(),
            cache.path_for(
                &cache_key("espeak-ng", &req, AudioFormat::Wav),
                AudioFormat::Wav
            )
        );
        assert!(
            !cache
                .path_for(
                    &cache_key("polly", &req, AudioFormat::Wav),
                    AudioFormat::Wav
                )
                .exists()
        );
        assert_eq!(p.playback_name(), p.path().with_extension(""));
        // The next call tries the real provider again.
        cache
            .get_or_render(&req, &synth, AudioFormat::Wav)
            .await
            .unwrap();
        assert_eq!(synth.calls.load(Ordering::SeqCst), 2);
    }
}
