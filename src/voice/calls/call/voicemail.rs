//! Voicemail: greeting, recording, and fetching recordings from Asterisk into the data dir.

use super::*;

/// Longest message a caller may leave a colleague (a flow's `voicemail` node sets its own).
const COLLEAGUE_MESSAGE_MS: u64 = 180_000;

/// Seconds of a PCM WAV file, from its header.
pub(super) fn wav_seconds(bytes: &[u8]) -> Option<i64> {
    let cursor = std::io::Cursor::new(bytes);
    let reader = hound::WavReader::new(cursor).ok()?;
    let spec = reader.spec();
    Some(i64::from(reader.duration() / spec.sample_rate.max(1)))
}

impl Call {
    /// A call between phones that the colleague's phone did not take (busy, no answer, or do
    /// not disturb): the caller hears the colleague's mailbox's greeting ("is on the phone" or
    /// "is not available"), a beep, and leaves a message there; the call ends after it.
    pub(super) async fn colleague_voicemail(&mut self, mailbox: String, busy: bool) {
        let channel = self.channel.clone();
        // The ringing the caller heard while the colleague's phone rang ends first, so no
        // phone that plays it in-band rings over the greeting.
        let _ = self.client().ring_stop(&channel).await;
        if let Err(e) = self.client().answer(&channel).await {
            // Gone already: the caller hung up, and the hang-up's event ends the call.
            if !e.is_not_found() {
                self.rest_failed("answer", &e).await;
                self.end_reason.get_or_insert("failed");
                self.hang_up_caller(Cause::Failure).await;
            }
            return;
        }
        self.voicemail(VoicemailRequest {
            mailbox,
            greeting: if busy {
                Greeting::Busy
            } else {
                Greeting::Unavailable
            },
            max_length_ms: Some(COLLEAGUE_MESSAGE_MS),
            beep: true,
            transcribe: false,
        })
        .await;
    }

    /// After a message (`left`) or a recording that failed: a flow goes on; a call between
    /// phones ends, *Voicemail left* only if there is one.
    pub(super) async fn voicemail_done(&mut self, left: bool) {
        if self.internal {
            self.end_reason
                .get_or_insert(if left { "voicemail" } else { "failed" });
            self.hang_up_caller(Cause::Normal).await;
            return;
        }
        self.stage = Stage::Ivr;
        self.feed(interp::Event::VoicemailDone);
    }

    pub(super) async fn voicemail(&mut self, request: VoicemailRequest) -> Option<interp::Event> {
        self.stage = Stage::Voicemail;
        let _ = store::calls::set_state(
            &self.shared.deps.store,
            self.tenant,
            self.call_id,
            "voicemail",
        )
        .await;
        let media = match &request.greeting {
            Greeting::Prompt(items) => self.media(items).await.0,
            Greeting::Unavailable => vec!["sound:vm-nobodyavail".into()],
            Greeting::Busy => vec!["sound:vm-isonphone".into()],
        };
        self.voicemail = Some(Voicemail {
            request,
            greeting: None,
            recording: None,
        });
        if media.is_empty() {
            self.start_voicemail_recording().await;
            return None;
        }
        let playback = self.next_id("g");
        let play = Play {
            media,
            lang: Some(self.session.language().to_owned()).filter(|l| !l.is_empty()),
            playback_id: Some(playback.clone()),
            ..Play::default()
        };
        match self.client().play(&self.channel, &play).await {
            Ok(_) => {
                if let Some(vm) = &mut self.voicemail {
                    vm.greeting = Some(playback);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.rest_failed("voicemail greeting", &e).await;
                self.start_voicemail_recording().await;
            }
        }
        None
    }

    pub(super) async fn start_voicemail_recording(&mut self) {
        let Some(vm) = self.voicemail.clone() else {
            return;
        };
        let name = format!("t{}-vm-{}", self.tenant, self.call_id);
        let record = Record {
            name: name.clone(),
            format: "wav".into(),
            max_duration_secs: vm
                .request
                .max_length_ms
                .map(|ms| u32::try_from(ms / 1000).unwrap_or(u32::MAX).max(1)),
            max_silence_secs: Some(10),
            if_exists: Some("overwrite".into()),
            beep: Some(vm.request.beep),
            terminate_on: Some("#".into()),
        };
        match self.client().record(&self.channel, &record).await {
            Ok(_) => {
                let id = store::calls::insert_recording(
                    &self.shared.deps.store,
                    self.tenant,
                    self.call_id,
                    store::calls::NewRecording {
                        kind: "voicemail",
                        name: &name,
                        format: "wav",
                        mailbox: Some(&vm.request.mailbox),
                    },
                    Utc::now(),
                )
                .await;
                match id {
                    Ok(row) => {
                        if let Some(v) = &mut self.voicemail {
                            v.recording = Some((row, name.clone()));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "voicemail row not stored"),
                }
                self.event(
                    "voicemail",
                    json!({"mailbox": vm.request.mailbox, "name": name}),
                )
                .await;
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.rest_failed("voicemail record", &e).await;
                self.voicemail = None;
                self.voicemail_done(false).await;
            }
        }
    }

    pub(super) async fn voicemail_recorded(&mut self, name: &str) {
        let Some(vm) = self.voicemail.take() else {
            return;
        };
        let left = vm.recording.as_ref().is_some_and(|(_, rec)| rec == name);
        if let Some((row, rec)) = &vm.recording
            && rec == name
        {
            self.save_recording(row.id, rec.clone());
            self.announce_voicemail(*row, &vm.request.mailbox);
        }
        if !self.caller_gone {
            self.voicemail_done(left).await;
        }
    }

    /// Tells whom a new message concerns: a message in an agent's own box that agent (and
    /// supervisors, who see every event), any other the team.
    pub(super) fn announce_voicemail(&self, row: store::calls::StoredRecording, mailbox: &str) {
        let payload = json!({"call_id": self.call_id, "recording_id": row.id, "mailbox": mailbox});
        match row.owner_user_id {
            Some(owner) => self.shared.deps.events.publish_detached(
                self.tenant,
                "voicemail",
                Some(owner),
                payload,
            ),
            None => self.notify_team("voicemail", payload),
        }
    }

    /// Fetches a finished recording from Asterisk into the data dir, in the background (it
    /// may take Asterisk a moment to close the file).
    pub(super) fn save_recording(&self, id: i64, name: String) {
        let client = self.client().clone();
        let store = self.shared.deps.store.clone();
        let dir = self.shared.deps.recordings_dir.clone();
        let tenant = self.tenant;
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            for _ in 0..8 {
                match client.stored_recording_file(&name).await {
                    Ok(bytes) => {
                        let rel = format!("{tenant}/{name}.wav");
                        let path = dir.join(&rel);
                        let written = async {
                            if let Some(parent) = path.parent() {
                                tokio::fs::create_dir_all(parent).await?;
                            }
                            let tmp = path.with_extension("wav.partial");
                            tokio::fs::write(&tmp, &bytes).await?;
                            tokio::fs::rename(&tmp, &path).await
                        }
                        .await;
                        if let Err(e) = written {
                            tracing::error!(recording = %name, error = %e, "cannot store a recording");
                            return;
                        }
                        let secs = wav_seconds(&bytes);
                        if let Err(e) =
                            store::calls::set_recording_file(&store, tenant, id, &rel, secs).await
                        {
                            tracing::error!(recording = %name, error = %e, "recording row not updated");
                        }
                        // Asterisk's copy is no longer needed.
                        let _ = client.delete_stored_recording(&name).await;
                        return;
                    }
                    Err(e) if e.is_not_found() => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                    Err(e) => {
                        tracing::warn!(recording = %name, error = %e, "recording not fetched; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
            tracing::error!(recording = %name, "recording never became available in Asterisk");
        });
    }
}
