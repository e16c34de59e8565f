//! IVR013: recorded prompts (`{sound: acme/welcome}`) against the files below `sounds/`.
//!
//! The validator stays pure: [`load_sounds`] reads the folder once into a [`SoundIndex`]
//! (relative paths, and the header of each `.wav`/`.wav16`), and the rule only looks names up.
//! Lookup follows Asterisk: `sounds/<lang>/<name>.<ext>` for each of its formats, then the
//! language-neutral `sounds/<name>.*`.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::diag::{escape_segment, nearest};
use super::flow::Flow;
use super::model::*;
use super::templates::node_prompts;
use super::yaml::Sink;

/// Extensions Asterisk plays, in the order it prefers them for a 16 kHz channel.
pub const SOUND_EXTENSIONS: &[&str] = &[
    "sln16", "sln", "wav16", "wav", "g722", "ulaw", "alaw", "gsm",
];

/// The header of a `.wav` / `.wav16` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 = mono.
    pub channels: u16,
    /// Bits per sample.
    pub bits: u16,
    /// IEEE float samples instead of integer PCM.
    pub float: bool,
}

/// What the loader learned about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundInfo {
    /// A `.wav` / `.wav16` whose header was read.
    Wav(WavFormat),
    /// A `.wav` / `.wav16` whose header could not be read.
    Unreadable(String),
    /// Any other file (raw formats have no header to check).
    Other,
}

/// The files below a `sounds/` folder, by relative path with `/` separators
/// (`en-US/acme/welcome.sln16`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoundIndex {
    files: BTreeMap<String, SoundInfo>,
}

impl SoundIndex {
    /// Adds (or replaces) one file.
    pub fn insert(&mut self, path: impl Into<String>, info: SoundInfo) {
        self.files.insert(path.into(), info);
    }

    /// What is known about one relative path.
    pub fn get(&self, path: &str) -> Option<&SoundInfo> {
        self.files.get(path)
    }

    /// Every relative path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the folder held no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Files named `<stem>.<ext>` (stem like `en-US/acme/welcome`), as (extension, info).
    fn variants<'a>(&'a self, stem: &'a str) -> impl Iterator<Item = (&'a str, &'a SoundInfo)> {
        let prefix = format!("{stem}.");
        self.files
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.starts_with(&prefix))
            .filter_map(move |(path, info)| {
                let ext = &path[stem.len() + 1..];
                (!ext.contains(['/', '.'])).then_some((ext, info))
            })
    }
}

/// Reads a `sounds/` folder: every file's relative path, and the header of `.wav`/`.wav16`
/// files (hidden files such as `.gitkeep` are skipped; symlinked folders are not followed).
pub fn load_sounds(dir: &Path) -> io::Result<SoundIndex> {
    let mut index = SoundIndex::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            // Real folders only: a symlink to a parent folder would make the walk endless.
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            if !path.is_file() {
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let is_wav = path.extension().is_some_and(|e| e == "wav" || e == "wav16");
            let info = if is_wav {
                match hound::WavReader::open(&path) {
                    Ok(reader) => {
                        let spec = reader.spec();
                        SoundInfo::Wav(WavFormat {
                            sample_rate: spec.sample_rate,
                            channels: spec.channels,
                            bits: spec.bits_per_sample,
                            float: spec.sample_format == hound::SampleFormat::Float,
                        })
                    }
                    Err(e) => SoundInfo::Unreadable(e.to_string()),
                }
            } else {
                SoundInfo::Other
            };
            index.insert(relative, info);
        }
    }
    Ok(index)
}

/// `en`, `en-US`, `es_419`: a first path segment that is a language folder, not a sound.
fn is_language_dir(segment: &str) -> bool {
    let mut parts = segment.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && (segment.len() == 2 || segment.contains(['-', '_']))
}

/// Sound names usable for `language`: below its folder, or language-neutral.
fn names_for<'a>(index: &'a SoundIndex, language: Option<&str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = index
        .paths()
        .filter_map(|path| {
            let stem = path.rsplit_once('.').map_or(path, |(s, _)| s);
            match (stem.split_once('/'), language) {
                (Some((first, rest)), Some(l)) if first == l => Some(rest),
                (Some((first, _)), _) if is_language_dir(first) => None,
                _ => Some(stem),
            }
        })
        .collect();
    out.dedup();
    out
}

/// Problems of the files found for one sound.
fn check_files(found: &[(&str, &SoundInfo)], stem: &str) -> Vec<(String, Option<String>)> {
    let file_name = |ext: &str| {
        let base = stem.rsplit_once('/').map_or(stem, |(_, b)| b);
        format!("{base}.{ext}")
    };
    let mut out = Vec::new();
    if !found.iter().any(|(ext, _)| SOUND_EXTENSIONS.contains(ext)) {
        let names: Vec<String> = found.iter().map(|(ext, _)| file_name(ext)).collect();
        out.push((
            format!(
                "{} cannot be played: Asterisk plays only .{}",
                names.join(", "),
                SOUND_EXTENSIONS.join(", .")
            ),
            Some(format!(
                "convert with sox: `sox {} -r 16000 -c 1 -b 16 -e signed -t raw {}`, or let the platform transcode on upload",
                names[0],
                file_name("sln16")
            )),
        ));
        return out;
    }
    for (ext, info) in found {
        let rate = match *ext {
            "wav" => 8_000,
            "wav16" => 16_000,
            _ => continue,
        };
        let name = file_name(ext);
        let hint = Some(format!(
            "convert with sox: `sox {name} -r 16000 -c 1 -b 16 -e signed -t raw {}` and remove {name}, or let the platform transcode on upload",
            file_name("sln16")
        ));
        match info {
            SoundInfo::Wav(f)
                if f.sample_rate == rate && f.channels == 1 && f.bits == 16 && !f.float => {}
            SoundInfo::Wav(f) => {
                let mut parts = vec![
                    format!("{} Hz", f.sample_rate),
                    if f.channels == 1 {
                        "1 channel".to_owned()
                    } else {
                        format!("{} channels", f.channels)
                    },
                ];
                if f.bits != 16 || f.float {
                    parts.push(format!(
                        "{}-bit{}",
                        f.bits,
                        if f.float { " float" } else { "" }
                    ));
                }
                out.push((
                    format!(
                        "{name} is {}; Asterisk's format_wav accepts only 16-bit mono PCM at 8000 Hz (.wav) or 16000 Hz (.wav16)",
                        parts.join(", ")
                    ),
                    hint,
                ));
            }
            SoundInfo::Unreadable(e) => {
                out.push((format!("{name} is not a readable WAV file: {e}"), hint))
            }
            SoundInfo::Other => {}
        }
    }
    out
}

/// IVR013 for every `{sound: …}` of a flow, in each language it can play in.
pub(crate) fn check_sounds(sink: &mut Sink<'_>, flow: &Flow, index: &SoundIndex) {
    let Some(header) = &flow.header else { return };
    let flow_languages: Vec<&str> = if header.languages.is_empty() {
        header
            .defaults
            .as_ref()
            .and_then(|d| d.language.as_deref())
            .into_iter()
            .collect()
    } else {
        header.languages.iter().map(String::as_str).collect()
    };
    for (id, node) in &flow.nodes {
        let base = format!("/nodes/{}", escape_segment(id));
        for (suffix, prompt) in node_prompts(&node.kind) {
            let mut uses = Vec::new();
            sound_uses(prompt, format!("{base}{suffix}"), None, &mut uses);
            for (path, sound, language) in uses {
                let languages: Vec<Option<&str>> = match language {
                    Some(l) => vec![Some(l)],
                    None if flow_languages.is_empty() => vec![None],
                    None => flow_languages.iter().copied().map(Some).collect(),
                };
                for language in languages {
                    for (message, hint) in check_one(index, sound, language) {
                        sink.error("IVR013", &path, Some(id), message, hint);
                    }
                }
            }
        }
    }
}

/// (pointer to the `sound` field, sound name, language fixed by a map key or `language:`).
fn sound_uses<'a>(
    prompt: &'a Prompt,
    at: String,
    language: Option<&'a str>,
    out: &mut Vec<(String, &'a str, Option<&'a str>)>,
) {
    match prompt {
        Prompt::Text(_) => {}
        Prompt::List(items) => {
            for (i, item) in items.iter().enumerate() {
                sound_uses(item, format!("{at}/{i}"), language, out);
            }
        }
        Prompt::Languages(map) => {
            for (l, item) in map {
                sound_uses(item, format!("{at}/{}", escape_segment(l)), Some(l), out);
            }
        }
        Prompt::Part(part) => {
            if let Some(sound) = &part.sound {
                out.push((
                    format!("{at}/sound"),
                    sound,
                    part.language.as_deref().or(language),
                ));
            }
        }
    }
}

fn check_one(
    index: &SoundIndex,
    sound: &str,
    language: Option<&str>,
) -> Vec<(String, Option<String>)> {
    if let Some(l) = language {
        let stem = format!("{l}/{sound}");
        let found: Vec<_> = index.variants(&stem).collect();
        if !found.is_empty() {
            return check_files(&found, &stem);
        }
    }
    let found: Vec<_> = index.variants(sound).collect();
    if !found.is_empty() {
        return check_files(&found, sound);
    }
    let (for_language, looked) = match language {
        Some(l) => (
            format!(" for {l}"),
            format!(
                "sounds/{l}/{sound}.{{{}}} and sounds/{sound}.*",
                SOUND_EXTENSIONS.join(",")
            ),
        ),
        None => (String::new(), format!("sounds/{sound}.*")),
    };
    let hint = nearest(sound, names_for(index, language)).map(|n| format!("did you mean '{n}'?"));
    vec![(
        format!("sound '{sound}' not found{for_language} (looked for {looked})"),
        hint.or_else(|| Some("record it, or use text-to-speech".into())),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_dirs() {
        for yes in ["en", "en-US", "es-419", "pt_BR", "zh-Hant-TW"] {
            assert!(is_language_dir(yes), "{yes}");
        }
        for no in ["acme", "system", "ivr", "EN", "digits"] {
            assert!(!is_language_dir(no), "{no}");
        }
    }

    #[test]
    fn variants_stop_at_the_stem() {
        let mut index = SoundIndex::default();
        index.insert("en-US/acme/welcome.sln16", SoundInfo::Other);
        index.insert("en-US/acme/welcome.extra.sln16", SoundInfo::Other);
        index.insert("en-US/acme/welcome2.sln16", SoundInfo::Other);
        index.insert("en-US/acme/welcome/x.sln16", SoundInfo::Other);
        let found: Vec<_> = index
            .variants("en-US/acme/welcome")
            .map(|(e, _)| e)
            .collect();
        assert_eq!(found, ["sln16"]);
        assert_eq!(
            names_for(&index, Some("en-US")),
            [
                "acme/welcome.extra",
                "acme/welcome",
                "acme/welcome/x",
                "acme/welcome2"
            ]
        );
    }
}
