//! Dial-by-name on a call (a `directory` node, a menu's `directory_key`), the way Asterisk's
//! app_directory and FreePBX's directory do it: the caller spells the first letters of a name
//! on the keypad, hears the people who match one at a time and presses 1 for the right one.
//!
//! A pure dialog: the call task hands it keys, the ends of its prompts and its timer together
//! with the current instant, and carries out the [`DirectoryCommand`]s it returns. It does no
//! I/O and reads no clock, so every path is unit-tested below.
//!
//! Keys: while spelling, 2–9 are letters, `0` asks for the operator and `#` leaves; `1` and
//! `*` carry no letters and are ignored. While a name is offered, `1` picks it, `*` (or
//! silence) goes on to the next one, `0` and `#` as above. Prompts are Asterisk's core sounds
//! (`dir-intro`, `dir-intro-fn`, `dir-instr`, `dir-nomatch`, `vm-extension`), which a tenant
//! may replace with its own recordings in `sounds/`; names are spoken by TTS.

use std::time::{Duration, Instant};

use crate::ivr::interp::{
    DirectoryEntry, DirectoryOutcome, DirectoryRequest, PlayItem, Speech, t9_digits,
};

/// Silence allowed after the intro before the caller is taken out of the directory.
pub(crate) const FIRST_DIGIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence allowed between two letters.
pub(crate) const INTER_DIGIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Silence after a name is offered before the next one is.
pub(crate) const CHOICE_TIMEOUT: Duration = Duration::from_secs(5);

/// Identifies one prompt of the dialog, so the end of one already stopped is not taken for
/// the end of the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PromptId(pub u32);

/// How names are spoken: the call's language and voice at the time it entered the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Speaker {
    /// Language tag of the call.
    pub language: String,
    /// Voice profile of the call, if the flow chose one.
    pub voice: Option<String>,
    /// Offline voice used when the first one fails.
    pub fallback_voice: Option<String>,
}

/// What the call task must do for the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirectoryCommand {
    /// Play these items to the caller; report [`DirectoryDialog::on_prompt_finished`] when
    /// they end by themselves (at once if they cannot be played).
    Play {
        prompt: PromptId,
        items: Vec<PlayItem>,
    },
    /// Stop this prompt; no end is expected for it.
    StopPlayback(PromptId),
    /// Call [`DirectoryDialog::on_timer`] at this instant (replaces any earlier deadline).
    SetTimer(Instant),
    /// Forget the deadline.
    ClearTimer,
    /// The caller's letters were looked up: how many were typed and how many people match
    /// (before `max_results` cuts the list).
    Searched { digits: usize, matches: usize },
    /// The dialog is over; the flow continues with this outcome.
    Finish(DirectoryOutcome),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Collecting letters.
    Spelling {
        digits: String,
    },
    /// Offering `matches[index]`.
    Choosing {
        matches: Vec<DirectoryEntry>,
        index: usize,
    },
    /// Saying nobody matched before answering `NotFound`.
    Regretting,
    Done,
}

/// One caller's pass through the directory.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryDialog {
    request: DirectoryRequest,
    speaker: Speaker,
    phase: Phase,
    playing: Option<PromptId>,
    deadline: Option<Instant>,
    prompts: u32,
}

impl DirectoryDialog {
    /// Opens the directory: the intro plays and the caller may start spelling at once.
    pub(crate) fn start(
        request: DirectoryRequest,
        speaker: Speaker,
    ) -> (Self, Vec<DirectoryCommand>) {
        let mut dialog = DirectoryDialog {
            request,
            speaker,
            phase: Phase::Spelling {
                digits: String::new(),
            },
            playing: None,
            deadline: None,
            prompts: 0,
        };
        let intro = match dialog.request.search.as_str() {
            "first_name" => "dir-intro-fn",
            _ => "dir-intro",
        };
        let mut out = Vec::new();
        let items = vec![dialog.sound(intro)];
        dialog.play(items, &mut out);
        (dialog, out)
    }

    /// A key the caller pressed.
    pub(crate) fn on_key(&mut self, key: char, now: Instant) -> Vec<DirectoryCommand> {
        let mut out = Vec::new();
        match (&mut self.phase, key) {
            (Phase::Done | Phase::Regretting, _) => {}
            (_, '0') => self.finish(DirectoryOutcome::Operator, &mut out),
            (_, '#') => self.finish(DirectoryOutcome::Exit, &mut out),
            (Phase::Spelling { digits }, '2'..='9') => {
                digits.push(key);
                let enough = digits.len() >= self.request.min_digits.max(1) as usize;
                // The first letter interrupts the intro.
                self.stop_prompt(&mut out);
                if enough {
                    self.search(&mut out);
                } else {
                    self.set_timer(now + INTER_DIGIT_TIMEOUT, &mut out);
                }
            }
            (Phase::Choosing { matches, index }, '1') => {
                let extension = matches[*index].extension.clone();
                self.finish(DirectoryOutcome::Selected(extension), &mut out);
            }
            (Phase::Choosing { .. }, '*') => {
                self.stop_prompt(&mut out);
                self.next(&mut out);
            }
            _ => {}
        }
        out
    }

    /// A prompt ended by itself.
    pub(crate) fn on_prompt_finished(
        &mut self,
        prompt: PromptId,
        now: Instant,
    ) -> Vec<DirectoryCommand> {
        let mut out = Vec::new();
        if self.playing != Some(prompt) {
            return out;
        }
        self.playing = None;
        match &self.phase {
            Phase::Spelling { digits } => {
                let wait = if digits.is_empty() {
                    FIRST_DIGIT_TIMEOUT
                } else {
                    INTER_DIGIT_TIMEOUT
                };
                self.set_timer(now + wait, &mut out);
            }
            Phase::Choosing { .. } => self.set_timer(now + CHOICE_TIMEOUT, &mut out),
            Phase::Regretting => self.finish(DirectoryOutcome::NotFound, &mut out),
            Phase::Done => {}
        }
        out
    }

    /// The deadline of the last [`DirectoryCommand::SetTimer`] came.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Vec<DirectoryCommand> {
        let mut out = Vec::new();
        // A timer replaced or cleared since it was armed is not this one.
        if self.deadline.is_none_or(|at| now < at) {
            return out;
        }
        self.deadline = None;
        match &self.phase {
            Phase::Spelling { .. } => self.finish(DirectoryOutcome::Exit, &mut out),
            Phase::Choosing { .. } => self.next(&mut out),
            Phase::Regretting | Phase::Done => {}
        }
        out
    }

    fn search(&mut self, out: &mut Vec<DirectoryCommand>) {
        let Phase::Spelling { digits } = &self.phase else {
            return;
        };
        let mut matches = matching(&self.request.entries, &self.request.search, digits);
        out.push(DirectoryCommand::Searched {
            digits: digits.len(),
            matches: matches.len(),
        });
        self.clear_timer(out);
        matches.truncate(self.request.max_results.max(1) as usize);
        match matches.as_slice() {
            [] => self.regret(out),
            [only] if !self.request.confirm_match => {
                let extension = only.extension.clone();
                self.finish(DirectoryOutcome::Selected(extension), out);
            }
            _ => {
                self.phase = Phase::Choosing { matches, index: 0 };
                self.offer(out);
            }
        }
    }

    /// Reads out the current match and how to choose it.
    fn offer(&mut self, out: &mut Vec<DirectoryCommand>) {
        let Phase::Choosing { matches, index } = &self.phase else {
            return;
        };
        let entry = &matches[*index];
        let name = full_name(entry);
        let mut items = Vec::new();
        if !name.is_empty() {
            items.push(self.speech(name));
        }
        // Without a name to say, the extension is all that tells people apart.
        if self.request.announce_extension || name_is_blank(entry) {
            items.push(self.sound("vm-extension"));
            items.push(PlayItem::Digits(entry.extension.clone()));
        }
        items.push(self.sound("dir-instr"));
        self.play(items, out);
    }

    fn next(&mut self, out: &mut Vec<DirectoryCommand>) {
        self.clear_timer(out);
        let Phase::Choosing { matches, index } = &mut self.phase else {
            return;
        };
        if *index + 1 < matches.len() {
            *index += 1;
            self.offer(out);
        } else {
            self.regret(out);
        }
    }

    fn regret(&mut self, out: &mut Vec<DirectoryCommand>) {
        self.phase = Phase::Regretting;
        let items = vec![self.sound("dir-nomatch")];
        self.play(items, out);
    }

    fn finish(&mut self, outcome: DirectoryOutcome, out: &mut Vec<DirectoryCommand>) {
        self.stop_prompt(out);
        self.clear_timer(out);
        self.phase = Phase::Done;
        out.push(DirectoryCommand::Finish(outcome));
    }

    fn play(&mut self, items: Vec<PlayItem>, out: &mut Vec<DirectoryCommand>) {
        self.prompts += 1;
        let prompt = PromptId(self.prompts);
        self.playing = Some(prompt);
        out.push(DirectoryCommand::Play { prompt, items });
    }

    fn stop_prompt(&mut self, out: &mut Vec<DirectoryCommand>) {
        if let Some(prompt) = self.playing.take() {
            out.push(DirectoryCommand::StopPlayback(prompt));
        }
    }

    fn set_timer(&mut self, at: Instant, out: &mut Vec<DirectoryCommand>) {
        self.deadline = Some(at);
        out.push(DirectoryCommand::SetTimer(at));
    }

    fn clear_timer(&mut self, out: &mut Vec<DirectoryCommand>) {
        if self.deadline.take().is_some() {
            out.push(DirectoryCommand::ClearTimer);
        }
    }

    fn sound(&self, name: &str) -> PlayItem {
        PlayItem::Sound {
            name: name.to_owned(),
            languages: Some(self.speaker.language.clone())
                .filter(|l| !l.is_empty())
                .into_iter()
                .collect(),
        }
    }

    fn speech(&self, text: String) -> PlayItem {
        PlayItem::Tts {
            speech: Speech::Text(text),
            voice: self.speaker.voice.clone(),
            fallback_voice: self.speaker.fallback_voice.clone(),
            language: self.speaker.language.clone(),
            // Staff names are no secret, and the same few are said again and again.
            cacheable: true,
        }
    }
}

/// The entries whose searched name starts with `digits` on the keypad, in the order they are
/// read out: by last name for `last_name` and `both`, by first name for `first_name`.
fn matching(entries: &[DirectoryEntry], search: &str, digits: &str) -> Vec<DirectoryEntry> {
    let starts = |name: &str| t9_digits(name).starts_with(digits);
    let mut found: Vec<DirectoryEntry> = entries
        .iter()
        .filter(|e| match search {
            "first_name" => starts(&e.first_name),
            "both" => starts(&e.last_name) || starts(&e.first_name),
            _ => starts(&e.last_name),
        })
        .cloned()
        .collect();
    let key = |e: &DirectoryEntry| {
        let (first, last) = (e.first_name.to_lowercase(), e.last_name.to_lowercase());
        match search {
            "first_name" => (first, last, e.extension.clone()),
            _ => (last, first, e.extension.clone()),
        }
    };
    found.sort_by_key(key);
    found
}

fn full_name(entry: &DirectoryEntry) -> String {
    format!("{} {}", entry.first_name.trim(), entry.last_name.trim())
        .trim()
        .to_owned()
}

fn name_is_blank(entry: &DirectoryEntry) -> bool {
    full_name(entry).is_empty()
}

#[cfg(test)]
mod tests;
