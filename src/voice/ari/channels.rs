//! Channel operations (`/channels…`); their parameter types are in `params.rs`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::AriError;
use super::models::{Channel, LiveRecording, Playback, RtpStat, Variable};
use super::ops;
use super::params::{
    CreateChannel, DialplanTarget, Direction, ExternalMedia, HangupReason, Originate, Play, Record,
    Snoop,
};
use super::rest::AriClient;

fn variables_json(vars: &BTreeMap<String, String>) -> Value {
    Value::Object(
        vars.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

impl AriClient {
    /// Channels in Asterisk (all of them, not only ours).
    pub async fn list_channels(&self) -> Result<Vec<Channel>, AriError> {
        self.call(&ops::CHANNELS_LIST, &[]).json().await
    }

    /// One channel.
    pub async fn get_channel(&self, id: &str) -> Result<Channel, AriError> {
        self.call(&ops::CHANNELS_GET, &[id]).json().await
    }

    /// Creates and dials a channel. `500 Allocation failed` means the endpoint has no
    /// registered contact; a taken `channel_id` is a 409.
    pub async fn originate(&self, o: &Originate) -> Result<Channel, AriError> {
        let mut call = self
            .call(&ops::CHANNELS_ORIGINATE, &[])
            .query("endpoint", &o.endpoint);
        match &o.dialplan {
            Some(d) => {
                call = call
                    .query_opt("context", d.context.as_ref())
                    .query_opt("extension", d.extension.as_ref())
                    .query_opt("priority", d.priority)
                    .query_opt("label", d.label.as_ref());
            }
            None => {
                call = call.query("app", self.app());
                if !o.app_args.is_empty() {
                    call = call.query("appArgs", o.app_args.join(","));
                }
            }
        }
        call = call
            .query_opt("callerId", o.caller_id.as_ref())
            .query_opt("timeout", o.timeout_secs)
            .query_opt("channelId", o.channel_id.as_ref())
            .query_opt("otherChannelId", o.other_channel_id.as_ref())
            .query_opt("originator", o.originator.as_ref())
            .query_list("formats", &o.formats);
        if !o.variables.is_empty() {
            call = call.body("variables", variables_json(&o.variables));
        }
        call.json().await
    }

    /// Creates a channel in our app without dialling it.
    pub async fn create_channel(&self, c: &CreateChannel) -> Result<Channel, AriError> {
        let mut call = self
            .call(&ops::CHANNELS_CREATE, &[])
            .query("endpoint", &c.endpoint)
            .query("app", self.app());
        if !c.app_args.is_empty() {
            call = call.query("appArgs", c.app_args.join(","));
        }
        call = call
            .query_opt("channelId", c.channel_id.as_ref())
            .query_opt("otherChannelId", c.other_channel_id.as_ref())
            .query_opt("originator", c.originator.as_ref())
            .query_list("formats", &c.formats);
        if !c.variables.is_empty() {
            call = call.body("variables", variables_json(&c.variables));
        }
        call.json().await
    }

    /// Dials a created channel. `caller` is the calling channel's id; `timeout_secs`
    /// defaults to 0 in Asterisk, meaning ring forever.
    pub async fn dial(
        &self,
        id: &str,
        caller: Option<&str>,
        timeout_secs: Option<u32>,
    ) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_DIAL, &[id])
            .query_opt("caller", caller)
            .query_opt("timeout", timeout_secs)
            .void()
            .await
    }

    /// Hangs up a channel.
    pub async fn hangup(&self, id: &str, reason: Option<HangupReason>) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_HANGUP, &[id])
            .query_opt("reason", reason.map(HangupReason::as_str))
            .void()
            .await
    }

    /// Hangs up with a Q.850 cause number.
    pub async fn hangup_with_code(&self, id: &str, cause: u16) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_HANGUP, &[id])
            .query("reason_code", cause)
            .void()
            .await
    }

    /// Leaves our app and continues in the dialplan (at the next priority when empty).
    pub async fn continue_in_dialplan(
        &self,
        id: &str,
        to: &DialplanTarget,
    ) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_CONTINUE, &[id])
            .query_opt("context", to.context.as_ref())
            .query_opt("extension", to.extension.as_ref())
            .query_opt("priority", to.priority)
            .query_opt("label", to.label.as_ref())
            .void()
            .await
    }

    /// Moves the channel to another Stasis app.
    pub async fn move_channel(&self, id: &str, app: &str, args: &[String]) -> Result<(), AriError> {
        let call = self.call(&ops::CHANNELS_MOVE, &[id]).query("app", app);
        let call = if args.is_empty() {
            call
        } else {
            call.query("appArgs", args.join(","))
        };
        call.void().await
    }

    /// Redirects to another endpoint of the same technology (302 or REFER for PJSIP).
    pub async fn redirect(&self, id: &str, endpoint: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_REDIRECT, &[id])
            .query("endpoint", endpoint)
            .void()
            .await
    }

    /// Answers.
    pub async fn answer(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_ANSWER, &[id]).void().await
    }

    /// Sends ringing (180) to an unanswered channel.
    pub async fn ring(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_RING, &[id]).void().await
    }

    /// Stops ringing.
    pub async fn ring_stop(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_RING_STOP, &[id]).void().await
    }

    /// Sends progress (183).
    pub async fn progress(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_PROGRESS, &[id]).void().await
    }

    /// Sends DTMF digits, `between_ms` apart, each `duration_ms` long.
    pub async fn send_dtmf(
        &self,
        id: &str,
        digits: &str,
        between_ms: Option<u32>,
        duration_ms: Option<u32>,
    ) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_DTMF, &[id])
            .query("dtmf", digits)
            .query_opt("between", between_ms)
            .query_opt("duration", duration_ms)
            .void()
            .await
    }

    /// Mutes a channel.
    pub async fn mute(&self, id: &str, direction: Direction) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_MUTE, &[id])
            .query("direction", direction.as_str())
            .void()
            .await
    }

    /// Unmutes a channel.
    pub async fn unmute(&self, id: &str, direction: Direction) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_UNMUTE, &[id])
            .query("direction", direction.as_str())
            .void()
            .await
    }

    /// Sends a hold indication (not music).
    pub async fn hold(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_HOLD, &[id]).void().await
    }

    /// Ends the hold indication.
    pub async fn unhold(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_UNHOLD, &[id]).void().await
    }

    /// Starts music on hold. A later `play` on an unbridged channel stops it.
    pub async fn start_moh(&self, id: &str, class: Option<&str>) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_MOH_START, &[id])
            .query_opt("mohClass", class)
            .void()
            .await
    }

    /// Stops music on hold.
    pub async fn stop_moh(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_MOH_STOP, &[id]).void().await
    }

    /// Plays silence.
    pub async fn start_silence(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_SILENCE_START, &[id]).void().await
    }

    /// Stops the silence.
    pub async fn stop_silence(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_SILENCE_STOP, &[id]).void().await
    }

    /// Plays media to a channel (queued behind its other playbacks). Playback does not stop
    /// on DTMF: barge-in is the caller's job ([`AriClient::stop_playback`]).
    pub async fn play(&self, id: &str, play: &Play) -> Result<Playback, AriError> {
        let call = match &play.playback_id {
            Some(pb) => self.call(&ops::CHANNELS_PLAY_WITH_ID, &[id, pb]),
            None => self.call(&ops::CHANNELS_PLAY, &[id]),
        };
        call.with_play(play).json().await
    }

    /// Records a channel (409 while it is bridged with others: record the bridge instead).
    pub async fn record(&self, id: &str, r: &Record) -> Result<LiveRecording, AriError> {
        self.call(&ops::CHANNELS_RECORD, &[id])
            .with_record(r)
            .json()
            .await
    }

    /// Reads a channel variable or dialplan function (`PJSIP_HEADER(read,X-Foo)`); 404 when
    /// unset.
    pub async fn get_variable(&self, id: &str, name: &str) -> Result<String, AriError> {
        let v: Variable = self
            .call(&ops::CHANNELS_GET_VAR, &[id])
            .query("variable", name)
            .json()
            .await?;
        Ok(v.value)
    }

    /// Sets a channel variable or dialplan function.
    pub async fn set_variable(&self, id: &str, name: &str, value: &str) -> Result<(), AriError> {
        self.call(&ops::CHANNELS_SET_VAR, &[id])
            .query("variable", name)
            .query("value", value)
            .void()
            .await
    }

    /// Starts snooping on a channel; the snoop channel enters our app.
    pub async fn snoop(&self, id: &str, s: &Snoop) -> Result<Channel, AriError> {
        let call = self
            .call(&ops::CHANNELS_SNOOP, &[id])
            .query("spy", s.spy.as_str())
            .query("whisper", s.whisper.as_str())
            .query("app", self.app());
        let call = if s.app_args.is_empty() {
            call
        } else {
            call.query("appArgs", s.app_args.join(","))
        };
        call.query_opt("snoopId", s.snoop_id.as_ref()).json().await
    }

    /// Creates an external media channel in our app.
    pub async fn external_media(&self, m: &ExternalMedia) -> Result<Channel, AriError> {
        let mut call = self
            .call(&ops::CHANNELS_EXTERNAL_MEDIA, &[])
            .query("app", self.app())
            .query_opt("channelId", m.channel_id.as_ref())
            .query("external_host", &m.external_host)
            .query("format", &m.format)
            .query_opt("encapsulation", m.encapsulation.as_ref())
            .query_opt("transport", m.transport.as_ref())
            .query_opt("connection_type", m.connection_type.as_ref())
            .query_opt("direction", m.direction.as_ref())
            .query_opt("data", m.data.as_ref())
            .query_opt("transport_data", m.transport_data.as_ref());
        if !m.variables.is_empty() {
            call = call.body("variables", variables_json(&m.variables));
        }
        call.json().await
    }

    /// RTP statistics of a channel.
    pub async fn rtp_statistics(&self, id: &str) -> Result<RtpStat, AriError> {
        self.call(&ops::CHANNELS_RTP_STATS, &[id]).json().await
    }
}
