//! Dial-by-name on the call: runs the [`DirectoryDialog`] over ARI (its prompts, its timer,
//! the caller's keys) and hands its outcome back to the flow, which rings the person chosen.

use super::*;
use crate::voice::calls::directory::{DirectoryCommand, DirectoryDialog, PromptId, Speaker};

/// The directory dialog of a call and the playback of its current prompt.
pub(super) struct Directory {
    dialog: DirectoryDialog,
    // Our ARI playback id and the dialog's prompt it plays.
    playback: Option<(String, PromptId)>,
}

impl Call {
    /// The flow asked for dial-by-name: the caller hears the intro and starts spelling.
    pub(super) async fn open_directory(
        &mut self,
        request: DirectoryRequest,
    ) -> Option<interp::Event> {
        let language = self.session.language().to_owned();
        let speaker = Speaker {
            fallback_voice: self
                .published
                .catalog
                .fallback_voice(&language)
                .map(str::to_owned),
            voice: self.session.voice().map(str::to_owned),
            language,
        };
        let (dialog, commands) = DirectoryDialog::start(request, speaker);
        self.directory = Some(Directory {
            dialog,
            playback: None,
        });
        self.stage = Stage::Directory;
        self.run_directory(commands).await
    }

    pub(super) async fn directory_key(&mut self, digit: char) {
        let Some(d) = &mut self.directory else { return };
        let commands = d.dialog.on_key(digit, now());
        self.directory_done(commands).await;
    }

    /// True when `playback` plays the directory's current prompt.
    pub(super) fn is_directory_prompt(&self, playback: &str) -> bool {
        self.directory
            .as_ref()
            .and_then(|d| d.playback.as_ref())
            .is_some_and(|(id, _)| id == playback)
    }

    /// The directory's prompt `playback` played to its end.
    pub(super) async fn directory_prompt_finished(&mut self, playback: &str) {
        let Some(d) = &mut self.directory else { return };
        let Some((_, prompt)) = d.playback.take_if(|(id, _)| id == playback) else {
            return;
        };
        let commands = d.dialog.on_prompt_finished(prompt, now());
        self.directory_done(commands).await;
    }

    pub(super) async fn directory_timer(&mut self) {
        let Some(d) = &mut self.directory else { return };
        let commands = d.dialog.on_timer(now());
        self.directory_done(commands).await;
    }

    /// After a restart of the events socket: a prompt whose end was missed is over.
    pub(super) async fn resync_directory(&mut self) {
        let Some((playback, _)) = self.directory.as_ref().and_then(|d| d.playback.clone()) else {
            return;
        };
        if matches!(self.client().get_playback(&playback).await, Err(e) if e.is_not_found()) {
            self.directory_prompt_finished(&playback).await;
        }
    }

    /// The flow left the directory by another way (its `max_ivr_time`): the dialog is
    /// dropped, its prompt stopped.
    pub(super) async fn abandon_directory(&mut self) {
        self.timers.remove(&Timer::Directory);
        if let Some(Directory {
            playback: Some((playback, _)),
            ..
        }) = self.directory.take()
        {
            self.stop_playback(&playback).await;
        }
        self.stage = Stage::Ivr;
        self.event(
            "directory_result",
            json!({"outcome": "interrupted", "extension": null}),
        )
        .await;
    }

    /// Runs the dialog's commands; its outcome goes to the flow.
    async fn directory_done(&mut self, commands: Vec<DirectoryCommand>) {
        if let Some(result) = self.run_directory(commands).await {
            self.feed(result);
        }
    }

    async fn run_directory(&mut self, commands: Vec<DirectoryCommand>) -> Option<interp::Event> {
        let mut commands = VecDeque::from(commands);
        while let Some(command) = commands.pop_front() {
            match command {
                DirectoryCommand::Play { prompt, items } => {
                    if !self.play_directory(prompt, &items).await
                        && let Some(d) = &mut self.directory
                    {
                        // Nothing could be played: the dialog goes on as if it had been heard.
                        commands.extend(d.dialog.on_prompt_finished(prompt, now()));
                    }
                }
                DirectoryCommand::StopPlayback(_) => {
                    if let Some((playback, _)) =
                        self.directory.as_mut().and_then(|d| d.playback.take())
                    {
                        self.stop_playback(&playback).await;
                    }
                }
                DirectoryCommand::SetTimer(at) => {
                    self.timers.insert(Timer::Directory, Instant::from_std(at));
                }
                DirectoryCommand::ClearTimer => {
                    self.timers.remove(&Timer::Directory);
                }
                DirectoryCommand::Searched { digits, matches } => {
                    self.event(
                        "directory_search",
                        json!({"digits": digits, "matches": matches}),
                    )
                    .await;
                }
                DirectoryCommand::Finish(outcome) => {
                    let (name, extension) = match &outcome {
                        DirectoryOutcome::Selected(x) => ("selected", Some(x.clone())),
                        DirectoryOutcome::NotFound => ("not_found", None),
                        DirectoryOutcome::Exit => ("exit", None),
                        DirectoryOutcome::Operator => ("operator", None),
                    };
                    self.event(
                        "directory_result",
                        json!({"outcome": name, "extension": extension}),
                    )
                    .await;
                    self.directory = None;
                    self.timers.remove(&Timer::Directory);
                    self.stage = Stage::Ivr;
                    return Some(interp::Event::DirectoryResult(outcome));
                }
            }
        }
        None
    }

    /// Plays a prompt of the dialog; false when nothing of it could be played.
    async fn play_directory(&mut self, prompt: PromptId, items: &[PlayItem]) -> bool {
        let (media, errors) = self.media(items).await;
        for e in &errors {
            tracing::warn!(call.id = self.call_id, error = %e, "prompt skipped");
            self.event("prompt_failed", json!({"error": e.0})).await;
        }
        if media.is_empty() || self.caller_gone {
            return false;
        }
        let playback = self.next_id("d");
        let play = Play {
            media,
            lang: Some(self.session.language().to_owned()).filter(|l| !l.is_empty()),
            playback_id: Some(playback.clone()),
            ..Play::default()
        };
        if let Some(d) = &mut self.directory {
            d.playback = Some((playback.clone(), prompt));
        }
        match self.client().play(&self.channel, &play).await {
            Ok(_) => true,
            // The caller is gone; the hangup that follows ends the call.
            Err(e) if e.is_not_found() => true,
            Err(e) => {
                if let Some(d) = &mut self.directory {
                    d.playback = None;
                }
                self.rest_failed("play", &e).await;
                false
            }
        }
    }
}

/// The dialog's clock is the one the call's timers run on.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}
