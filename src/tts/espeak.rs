//! The offline voice: the `espeak-ng` CLI. Robotic but deterministic and always available, so
//! it backs CI, tests and the fallback when the cloud provider fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{Audio, SpeechInput, SpeechRequest, Synthesizer, TtsError, resample::resample};

/// How to run espeak-ng.
#[derive(Debug, Clone)]
pub struct EspeakConfig {
    pub program: PathBuf,
    /// Force one espeak voice (for example `en-us+f3`). When `None`, the voice is derived from
    /// the request's language, because Polly voice ids such as `Joanna` mean nothing to espeak.
    pub voice: Option<String>,
    /// Words per minute (`-s`); espeak's default is 160.
    pub speed_wpm: u32,
    pub timeout: Duration,
}

impl Default for EspeakConfig {
    fn default() -> Self {
        EspeakConfig {
            program: PathBuf::from("espeak-ng"),
            voice: None,
            speed_wpm: 160,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EspeakSynth {
    config: EspeakConfig,
}

impl EspeakSynth {
    pub fn new(config: EspeakConfig) -> Self {
        EspeakSynth { config }
    }

    /// espeak voices are lowercase language tags (`en-us`, `es-419`).
    fn voice_for(&self, req: &SpeechRequest) -> String {
        self.config
            .voice
            .clone()
            .unwrap_or_else(|| req.language.to_ascii_lowercase())
    }
}

impl Synthesizer for EspeakSynth {
    fn provider(&self) -> &'static str {
        "espeak-ng"
    }

    async fn synthesize(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        let voice = self.voice_for(req);
        // Refuse anything that could be read as an option: the voice goes on the command line.
        if voice.is_empty()
            || !voice
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-+_".contains(c))
            || voice.starts_with('-')
        {
            return Err(TtsError::InvalidRequest(format!(
                "bad espeak voice {voice:?}"
            )));
        }
        let mut cmd = Command::new(&self.config.program);
        cmd.arg("-v")
            .arg(&voice)
            .arg("-s")
            .arg(self.config.speed_wpm.to_string())
            .arg("--stdout")
            // Text on stdin, never argv: a prompt starting with '-' would be parsed as a flag.
            .arg("--stdin");
        if matches!(req.input, SpeechInput::Ssml(_)) {
            cmd.arg("-m");
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // On timeout the future is dropped; this makes sure the process goes with it.
            .kill_on_drop(true);
        let program = self.config.program.display().to_string();
        let mut child = cmd.spawn().map_err(|source| TtsError::Spawn {
            program: program.clone(),
            source,
        })?;
        let text = req.input.as_str().to_owned();
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| TtsError::BadAudio("espeak-ng stdin not captured".into()))?;
        let run = async move {
            stdin
                .write_all(text.as_bytes())
                .await
                .map_err(|source| TtsError::Spawn {
                    program: program.clone(),
                    source,
                })?;
            drop(stdin); // EOF ends espeak's input
            child
                .wait_with_output()
                .await
                .map_err(|source| TtsError::Spawn { program, source })
        };
        let output = tokio::time::timeout(self.config.timeout, run)
            .await
            .map_err(|_| TtsError::Timeout(self.config.timeout))??;
        if !output.status.success() {
            return Err(TtsError::EspeakFailed {
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let (rate, samples) = parse_streamed_wav(output.stdout)?;
        let target = req.sample_rate.hz();
        // Resampling is CPU-bound (~100 taps per output sample); keep it off the reactor.
        let samples = tokio::task::spawn_blocking(move || resample(&samples, rate, target))
            .await
            .map_err(|e| TtsError::Join(e.to_string()))?;
        Ok(Audio {
            sample_rate: target,
            samples,
            provider: self.provider(),
        })
    }
}

/// Parse the WAV espeak-ng writes to stdout. It cannot seek a pipe, so the RIFF and `data`
/// sizes are placeholders (0x7ffff0xx); hound rightly rejects the truncated stream. We patch
/// both sizes to the real length, then let hound validate the format.
pub(crate) fn parse_streamed_wav(mut bytes: Vec<u8>) -> Result<(u32, Vec<i16>), TtsError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(TtsError::BadAudio("not a RIFF/WAVE stream".into()));
    }
    let riff_len =
        u32::try_from(bytes.len() - 8).map_err(|_| TtsError::BadAudio("too long".into()))?;
    bytes[4..8].copy_from_slice(&riff_len.to_le_bytes());
    let mut pos = 12;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(TtsError::BadAudio("no data chunk".into()));
        };
        let id = [header[0], header[1], header[2], header[3]];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if &id == b"data" {
            let mut data_len = bytes.len() - (pos + 8);
            data_len -= data_len % 2; // drop a dangling half sample
            bytes.truncate(pos + 8 + data_len);
            let riff_len = u32::try_from(bytes.len() - 8)
                .map_err(|_| TtsError::BadAudio("too long".into()))?;
            bytes[4..8].copy_from_slice(&riff_len.to_le_bytes());
            bytes[pos + 4..pos + 8].copy_from_slice(&(data_len as u32).to_le_bytes());
            break;
        }
        pos += 8 + size + (size % 2);
    }
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| TtsError::BadAudio(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(TtsError::BadAudio(format!(
            "expected mono s16 PCM, got {spec:?}"
        )));
    }
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TtsError::BadAudio(e.to_string()))?;
    Ok((spec.sample_rate, samples))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::SampleRate;

    fn espeak_available() -> bool {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .is_ok()
    }

    #[test]
    fn streamed_wav_with_placeholder_sizes_parses() {
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&0x7fff_f024u32.to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 1, 0]); // PCM, mono
        b.extend_from_slice(&22_050u32.to_le_bytes());
        b.extend_from_slice(&44_100u32.to_le_bytes());
        b.extend_from_slice(&[2, 0, 16, 0]);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&0x7fff_f000u32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 2, 0, 0xff, 0xff, 7]); // 3 samples + a dangling byte
        let (rate, s) = parse_streamed_wav(b).unwrap();
        assert_eq!((rate, s), (22_050, vec![1, 2, -1]));
        assert!(parse_streamed_wav(b"nope".to_vec()).is_err());
    }

    #[tokio::test]
    async fn espeak_renders_plausible_speech_at_both_rates() {
        assert!(
            espeak_available(),
            "espeak-ng is not installed: `apt-get install espeak-ng` (scripts/test.sh does it)"
        );
        let synth = EspeakSynth::default();
        let mut req = SpeechRequest::text("Welcome to Acme support", "Joanna", "en-US");
        let a8 = synth.synthesize(&req).await.unwrap();
        req.sample_rate = SampleRate::Hz16000;
        let a16 = synth.synthesize(&req).await.unwrap();
        assert_eq!((a8.sample_rate, a16.sample_rate), (8000, 16000));
        let secs = a8.duration().as_secs_f64();
        assert!(
            (0.8..4.0).contains(&secs),
            "4 words at 160 wpm, got {secs} s"
        );
        let peak = a8
            .samples
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(peak > 1000, "speech should not be silence, peak {peak}");
        // espeak is deterministic, so both renditions have the same duration.
        let diff = (a16.samples.len() as i64 / 2 - a8.samples.len() as i64).abs();
        assert!(
            diff <= 2,
            "8k {} vs 16k {}",
            a8.samples.len(),
            a16.samples.len()
        );
    }

    #[tokio::test]
    async fn missing_binary_and_bad_voice_are_errors() {
        let synth = EspeakSynth::new(EspeakConfig {
            program: "/nonexistent/espeak-ng".into(),
            ..EspeakConfig::default()
        });
        let req = SpeechRequest::text("hi", "Joanna", "en-US");
        assert!(matches!(
            synth.synthesize(&req).await,
            Err(TtsError::Spawn { .. })
        ));
        let bad = SpeechRequest::text("hi", "Joanna", "--help");
        assert!(matches!(
            EspeakSynth::default().synthesize(&bad).await,
            Err(TtsError::InvalidRequest(_))
        ));
    }

    #[tokio::test]
    async fn timeout_kills_a_hung_process() {
        // A stand-in that accepts any flags and never answers.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hang.sh");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        let mut perm = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&script, perm).unwrap();
        let synth = EspeakSynth::new(EspeakConfig {
            program: script,
            timeout: Duration::from_millis(200),
            ..EspeakConfig::default()
        });
        let req = SpeechRequest::text("hi", "Joanna", "en-US");
        assert!(matches!(
            synth.synthesize(&req).await,
            Err(TtsError::Timeout(_))
        ));
    }
}
