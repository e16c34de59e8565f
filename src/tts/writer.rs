//! Writers for the files Asterisk plays, each written atomically: Asterisk may open a prompt at
//! any moment, so it must never see a half-written file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Audio, TtsError};

/// A playable file format. Asterisk's `format_wav` only takes 8 kHz in `.wav` and does not
/// resample, so each format pins its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// Headerless s16le mono at 8 kHz.
    Sln,
    /// Headerless s16le mono at 16 kHz.
    Sln16,
    /// RIFF PCM 16-bit mono at 8 kHz.
    Wav,
}

impl AudioFormat {
    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Sln => "sln",
            AudioFormat::Sln16 => "sln16",
            AudioFormat::Wav => "wav",
        }
    }

    pub fn sample_rate(self) -> super::SampleRate {
        match self {
            AudioFormat::Sln | AudioFormat::Wav => super::SampleRate::Hz8000,
            AudioFormat::Sln16 => super::SampleRate::Hz16000,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TtsError + '_ {
    move |source| TtsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `audio` to `path` in `format`: into a uniquely named temporary file in the same
/// directory (rename is only atomic within one filesystem), fsync, then rename over `path`.
pub fn write_atomic(path: &Path, audio: &Audio, format: AudioFormat) -> Result<(), TtsError> {
    let want = format.sample_rate().hz();
    if audio.sample_rate != want {
        return Err(TtsError::InvalidRequest(format!(
            ".{} needs {want} Hz audio, got {} Hz",
            format.extension(),
            audio.sample_rate
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A leading dot keeps the temp file out of Asterisk's and ops' globs.
    let tmp: PathBuf = dir.join(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4()));
    let result = write_file(&tmp, audio, format)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if result.is_err() {
        // Best effort: the original error matters more than a failed cleanup.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write arbitrary bytes (the cache's JSON sidecars) with the same temp + rename discipline.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), TtsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
    let result = File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(io_err(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_file(tmp: &Path, audio: &Audio, format: AudioFormat) -> Result<(), TtsError> {
    match format {
        AudioFormat::Sln | AudioFormat::Sln16 => {
            let mut f = File::create(tmp).map_err(io_err(tmp))?;
            f.write_all(&audio.to_le_bytes()).map_err(io_err(tmp))?;
            f.sync_all().map_err(io_err(tmp))?;
        }
        AudioFormat::Wav => {
            let wav_err = |source| TtsError::Wav {
                path: tmp.to_path_buf(),
                source,
            };
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: audio.sample_rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(tmp, spec).map_err(wav_err)?;
            for &s in &audio.samples {
                w.write_sample(s).map_err(wav_err)?;
            }
            w.finalize().map_err(wav_err)?;
            File::open(tmp)
                .and_then(|f| f.sync_all())
                .map_err(io_err(tmp))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(rate: u32) -> Audio {
        Audio {
            sample_rate: rate,
            samples: vec![0, 1, -1, i16::MAX, i16::MIN],
            provider: "test",
        }
    }

    #[test]
    fn sln_is_raw_little_endian() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sln");
        write_atomic(&p, &audio(8000), AudioFormat::Sln).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes, vec![0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80]);
        let p16 = dir.path().join("a.sln16");
        write_atomic(&p16, &audio(16000), AudioFormat::Sln16).unwrap();
        assert_eq!(std::fs::read(&p16).unwrap().len(), 10);
    }

    #[test]
    fn wav_is_8k_mono_pcm16_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.wav");
        write_atomic(&p, &audio(8000), AudioFormat::Wav).unwrap();
        let r = hound::WavReader::open(&p).unwrap();
        let spec = r.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 8000, 16)
        );
        let s: Vec<i16> = r.into_samples().collect::<Result<_, _>>().unwrap();
        assert_eq!(s, audio(8000).samples);
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.wav")]);
    }

    #[test]
    fn rate_mismatch_is_refused_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        assert!(matches!(
            write_atomic(&p, &audio(16000), AudioFormat::Wav),
            Err(TtsError::InvalidRequest(_))
        ));
        assert!(!p.exists());
    }

    #[test]
    fn overwrite_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sln");
        std::fs::write(&p, vec![9u8; 1000]).unwrap();
        write_atomic(&p, &audio(8000), AudioFormat::Sln).unwrap();
        assert_eq!(std::fs::read(&p).unwrap().len(), 10);
    }
}
