//! Text-to-speech: one [`Synthesizer`] trait over Amazon Polly and the offline espeak-ng voice,
//! the writers for the files Asterisk plays (`.sln`, `.sln16`, 8 kHz `.wav`), and a
//! content-addressed cache so that a prompt is synthesized once, not once per call.
//!
//! Every backend returns [`Audio`]: 16-bit signed linear mono PCM at the requested rate (8 or
//! 16 kHz), because that is what Asterisk's `format_sln` plays without conversion
//! (docs: shared/TTS-AND-LLM.md §2).

pub mod aws_profile;
pub mod cache;
pub mod espeak;
pub mod fallback;
pub mod http;
pub mod polly;
pub mod resample;
pub mod sigv4;
pub mod writer;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use cache::{Prompt, ScratchFile, TtsCache};
pub use espeak::{EspeakConfig, EspeakSynth};
pub use fallback::Fallback;
pub use polly::{PollyConfig, PollySynth};
pub use writer::{AudioFormat, write_atomic};

/// The text to speak, plain or SSML. Kept as one enum so a request cannot claim both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechInput {
    Text(String),
    Ssml(String),
}

impl SpeechInput {
    pub fn as_str(&self) -> &str {
        match self {
            SpeechInput::Text(s) | SpeechInput::Ssml(s) => s,
        }
    }

    /// Polly's `TextType` value, also used in the cache key.
    pub fn kind(&self) -> &'static str {
        match self {
            SpeechInput::Text(_) => "text",
            SpeechInput::Ssml(_) => "ssml",
        }
    }
}

/// The two rates Asterisk plays natively as signed linear (`.sln` and `.sln16`) and the only
/// two Polly accepts for `pcm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleRate {
    Hz8000,
    Hz16000,
}

impl SampleRate {
    pub fn hz(self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8000,
            SampleRate::Hz16000 => 16000,
        }
    }
}

/// Polly's engine. espeak-ng ignores it, but it stays in the cache key because the same text
/// sounds different per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    Standard,
    Neural,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Standard => "standard",
            Engine::Neural => "neural",
        }
    }
}

/// One thing to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechRequest {
    pub input: SpeechInput,
    /// Provider voice id, for example Polly's `Joanna`. espeak-ng maps from `language` instead
    /// unless configured with a voice (see [`EspeakConfig`]).
    pub voice: String,
    /// BCP 47 tag such as `en-US`.
    pub language: String,
    pub sample_rate: SampleRate,
    pub engine: Engine,
    /// The text carries personal data (names, account numbers). Such audio is never written to
    /// the shared cache (see [`TtsCache::get_or_render`]).
    pub pii: bool,
}

impl SpeechRequest {
    /// A plain-text, non-PII request; the common case for static prompts.
    pub fn text(
        text: impl Into<String>,
        voice: impl Into<String>,
        language: impl Into<String>,
    ) -> Self {
        SpeechRequest {
            input: SpeechInput::Text(text.into()),
            voice: voice.into(),
            language: language.into(),
            sample_rate: SampleRate::Hz8000,
            engine: Engine::Standard,
            pii: false,
        }
    }
}

/// 16-bit signed linear mono PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
    /// Which backend actually rendered it. With [`Fallback`] this can differ from the provider
    /// that was asked, and the cache must not file espeak audio under Polly's key.
    pub provider: &'static str,
}

impl Audio {
    pub fn duration(&self) -> Duration {
        if self.sample_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.sample_rate))
    }

    /// Little-endian bytes, the layout of `.sln` files and of Polly's `pcm` stream.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}

/// Everything that can go wrong while turning text into audio.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("invalid speech request: {0}")]
    InvalidRequest(String),
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("espeak-ng failed ({status}): {stderr}")]
    EspeakFailed { status: String, stderr: String },
    #[error("speech synthesis timed out after {0:?}")]
    Timeout(Duration),
    #[error("malformed audio from the synthesizer: {0}")]
    BadAudio(String),
    #[error("{provider} throttled the request: {detail}")]
    Throttled {
        provider: &'static str,
        detail: String,
    },
    #[error("{provider} is unavailable (HTTP {status}): {detail}")]
    Unavailable {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{provider} rejected the request (HTTP {status}, {code}): {message}")]
    Rejected {
        provider: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error("HTTP transport error: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing WAV {path}: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error("background task failed: {0}")]
    Join(String),
}

/// A text-to-speech backend.
///
/// `impl Future + Send` in the trait (stable since Rust 1.75) instead of `async-trait`: callers
/// are generic (`Fallback<P, F>`, `TtsCache::get_or_render<S>`), so no boxing or extra
/// dependency is needed.
pub trait Synthesizer: Send + Sync {
    /// Stable name used in cache keys, for example `polly` or `espeak-ng`.
    fn provider(&self) -> &'static str;

    fn synthesize(
        &self,
        req: &SpeechRequest,
    ) -> impl Future<Output = Result<Audio, TtsError>> + Send;
}
