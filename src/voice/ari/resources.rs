//! Everything but channels: bridges, playbacks, recordings, endpoints, device states, the
//! Asterisk resource (info, global variables, dynamic configuration), sounds, applications
//! and user events.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::AriError;
use super::models::{
    Application, AsteriskInfo, AsteriskPing, Bridge, ConfigTuple, DeviceState, DeviceStateValue,
    Endpoint, LiveRecording, Module, Playback, Sound, StoredRecording, Variable,
};
use super::ops;
use super::params::{Play, Record};
use super::rest::AriClient;

/// A bridge type or flag for `POST /bridges?type=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeType {
    /// Everyone hears everyone (the default).
    Mixing,
    /// Participants hear only the bridge's music and announcers: a queue lobby.
    Holding,
    /// Keep DTMF events from bridged legs (disables native bridging).
    DtmfEvents,
    /// Media through the core (recording and snooping fidelity).
    ProxyMedia,
}

impl BridgeType {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            BridgeType::Mixing => "mixing",
            BridgeType::Holding => "holding",
            BridgeType::DtmfEvents => "dtmf_events",
            BridgeType::ProxyMedia => "proxy_media",
        }
    }
}

/// `POST /bridges`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewBridge {
    /// Type and flags (empty: mixing).
    pub types: Vec<BridgeType>,
    /// Our id for the bridge (predictable ids let a restarted service find it).
    pub bridge_id: Option<String>,
    /// A name.
    pub name: Option<String>,
}

/// Options for adding channels to a bridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddChannel {
    /// `participant` or `announcer`.
    pub role: Option<String>,
    /// Swallow the channel's DTMF.
    pub absorb_dtmf: Option<bool>,
    /// Mute the channel in the bridge.
    pub mute: Option<bool>,
    /// Do not update connected line.
    pub inhibit_connected_line_updates: Option<bool>,
}

/// `POST /playbacks/{id}/control?operation=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackControl {
    /// From the start.
    Restart,
    /// Pause.
    Pause,
    /// Resume.
    Unpause,
    /// Back by `skipms`.
    Reverse,
    /// Forward by `skipms`.
    Forward,
}

impl PlaybackControl {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaybackControl::Restart => "restart",
            PlaybackControl::Pause => "pause",
            PlaybackControl::Unpause => "unpause",
            PlaybackControl::Reverse => "reverse",
            PlaybackControl::Forward => "forward",
        }
    }
}

impl AriClient {
    /// Bridges in Asterisk.
    pub async fn list_bridges(&self) -> Result<Vec<Bridge>, AriError> {
        self.call(&ops::BRIDGES_LIST, &[]).json().await
    }

    /// Creates a bridge. It lives until destroyed, even when empty.
    pub async fn create_bridge(&self, b: &NewBridge) -> Result<Bridge, AriError> {
        let types: Vec<&str> = b.types.iter().map(|t| t.as_str()).collect();
        self.call(&ops::BRIDGES_CREATE, &[])
            .query_list("type", &types)
            .query_opt("bridgeId", b.bridge_id.as_ref())
            .query_opt("name", b.name.as_ref())
            .json()
            .await
    }

    /// One bridge.
    pub async fn get_bridge(&self, id: &str) -> Result<Bridge, AriError> {
        self.call(&ops::BRIDGES_GET, &[id]).json().await
    }

    /// Destroys a bridge; its channels stay in our app.
    pub async fn destroy_bridge(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::BRIDGES_DESTROY, &[id]).void().await
    }

    /// Adds channels to a bridge (moving them out of any other bridge).
    pub async fn add_channels(
        &self,
        bridge: &str,
        channels: &[&str],
        opts: &AddChannel,
    ) -> Result<(), AriError> {
        self.call(&ops::BRIDGES_ADD, &[bridge])
            .query_list("channel", channels)
            .query_opt("role", opts.role.as_ref())
            .query_opt("absorbDTMF", opts.absorb_dtmf)
            .query_opt("mute", opts.mute)
            .query_opt(
                "inhibitConnectedLineUpdates",
                opts.inhibit_connected_line_updates,
            )
            .void()
            .await
    }

    /// Removes channels from a bridge; they stay in our app.
    pub async fn remove_channels(&self, bridge: &str, channels: &[&str]) -> Result<(), AriError> {
        self.call(&ops::BRIDGES_REMOVE, &[bridge])
            .query_list("channel", channels)
            .void()
            .await
    }

    /// Starts music on hold for the whole bridge.
    pub async fn start_bridge_moh(
        &self,
        bridge: &str,
        class: Option<&str>,
    ) -> Result<(), AriError> {
        self.call(&ops::BRIDGES_MOH_START, &[bridge])
            .query_opt("mohClass", class)
            .void()
            .await
    }

    /// Stops the bridge's music on hold.
    pub async fn stop_bridge_moh(&self, bridge: &str) -> Result<(), AriError> {
        self.call(&ops::BRIDGES_MOH_STOP, &[bridge]).void().await
    }

    /// Plays media to every member of a bridge.
    pub async fn play_to_bridge(&self, bridge: &str, play: &Play) -> Result<Playback, AriError> {
        let call = match &play.playback_id {
            Some(pb) => self.call(&ops::BRIDGES_PLAY_WITH_ID, &[bridge, pb]),
            None => self.call(&ops::BRIDGES_PLAY, &[bridge]),
        };
        call.with_play(play).json().await
    }

    /// Records the bridge's mix.
    pub async fn record_bridge(&self, bridge: &str, r: &Record) -> Result<LiveRecording, AriError> {
        self.call(&ops::BRIDGES_RECORD, &[bridge])
            .with_record(r)
            .json()
            .await
    }

    /// One playback.
    pub async fn get_playback(&self, id: &str) -> Result<Playback, AriError> {
        self.call(&ops::PLAYBACKS_GET, &[id]).json().await
    }

    /// Stops a playback (`PlaybackFinished` with `done` follows).
    pub async fn stop_playback(&self, id: &str) -> Result<(), AriError> {
        self.call(&ops::PLAYBACKS_STOP, &[id]).void().await
    }

    /// Controls a playback (`sound:`, `recording:` and `tone:` only; 409 otherwise).
    pub async fn control_playback(&self, id: &str, op: PlaybackControl) -> Result<(), AriError> {
        self.call(&ops::PLAYBACKS_CONTROL, &[id])
            .query("operation", op.as_str())
            .void()
            .await
    }

    /// One live recording.
    pub async fn get_live_recording(&self, name: &str) -> Result<LiveRecording, AriError> {
        self.call(&ops::RECORDINGS_GET_LIVE, &[name]).json().await
    }

    /// Stops a live recording and keeps the file.
    pub async fn stop_recording(&self, name: &str) -> Result<(), AriError> {
        self.call(&ops::RECORDINGS_STOP, &[name]).void().await
    }

    /// Stops a live recording and discards it.
    pub async fn cancel_recording(&self, name: &str) -> Result<(), AriError> {
        self.call(&ops::RECORDINGS_CANCEL, &[name]).void().await
    }

    /// Pauses (`true`) or resumes a live recording.
    pub async fn pause_recording(&self, name: &str, pause: bool) -> Result<(), AriError> {
        let op = if pause {
            &ops::RECORDINGS_PAUSE
        } else {
            &ops::RECORDINGS_UNPAUSE
        };
        self.call(op, &[name]).void().await
    }

    /// Mutes (`true`) or unmutes a live recording.
    pub async fn mute_recording(&self, name: &str, mute: bool) -> Result<(), AriError> {
        let op = if mute {
            &ops::RECORDINGS_MUTE
        } else {
            &ops::RECORDINGS_UNMUTE
        };
        self.call(op, &[name]).void().await
    }

    /// Stored recordings.
    pub async fn list_stored_recordings(&self) -> Result<Vec<StoredRecording>, AriError> {
        self.call(&ops::RECORDINGS_LIST_STORED, &[]).json().await
    }

    /// One stored recording.
    pub async fn get_stored_recording(&self, name: &str) -> Result<StoredRecording, AriError> {
        self.call(&ops::RECORDINGS_GET_STORED, &[name]).json().await
    }

    /// Deletes a stored recording.
    pub async fn delete_stored_recording(&self, name: &str) -> Result<(), AriError> {
        self.call(&ops::RECORDINGS_DELETE_STORED, &[name])
            .void()
            .await
    }

    /// Copies a stored recording.
    pub async fn copy_stored_recording(
        &self,
        name: &str,
        destination: &str,
    ) -> Result<StoredRecording, AriError> {
        self.call(&ops::RECORDINGS_COPY, &[name])
            .query("destinationRecordingName", destination)
            .json()
            .await
    }

    /// The stored recording's file.
    pub async fn stored_recording_file(&self, name: &str) -> Result<Vec<u8>, AriError> {
        self.call(&ops::RECORDINGS_FILE, &[name]).bytes().await
    }

    /// All endpoints.
    pub async fn list_endpoints(&self) -> Result<Vec<Endpoint>, AriError> {
        self.call(&ops::ENDPOINTS_LIST, &[]).json().await
    }

    /// One technology's endpoints (`PJSIP`).
    pub async fn list_endpoints_by_tech(&self, tech: &str) -> Result<Vec<Endpoint>, AriError> {
        self.call(&ops::ENDPOINTS_BY_TECH, &[tech]).json().await
    }

    /// One endpoint (`PJSIP`, `1001`).
    pub async fn get_endpoint(&self, tech: &str, resource: &str) -> Result<Endpoint, AriError> {
        self.call(&ops::ENDPOINTS_GET, &[tech, resource])
            .json()
            .await
    }

    /// `Stasis:` device states.
    pub async fn list_device_states(&self) -> Result<Vec<DeviceState>, AriError> {
        self.call(&ops::DEVICE_STATES_LIST, &[]).json().await
    }

    /// A device's state (`PJSIP/1001`).
    pub async fn get_device_state(&self, name: &str) -> Result<DeviceState, AriError> {
        self.call(&ops::DEVICE_STATES_GET, &[name]).json().await
    }

    /// Sets a `Stasis:` device's state (409 for other devices).
    pub async fn set_device_state(
        &self,
        name: &str,
        state: &DeviceStateValue,
    ) -> Result<(), AriError> {
        self.call(&ops::DEVICE_STATES_PUT, &[name])
            .query("deviceState", state.as_str())
            .void()
            .await
    }

    /// Deletes a `Stasis:` device state.
    pub async fn delete_device_state(&self, name: &str) -> Result<(), AriError> {
        self.call(&ops::DEVICE_STATES_DELETE, &[name]).void().await
    }

    /// System information; `only` narrows it (`status`, `build`, `system`, `config`).
    pub async fn asterisk_info(&self, only: &[&str]) -> Result<AsteriskInfo, AriError> {
        self.call(&ops::ASTERISK_INFO, &[])
            .query_list("only", only)
            .json()
            .await
    }

    /// Ping.
    pub async fn ping(&self) -> Result<AsteriskPing, AriError> {
        self.call(&ops::ASTERISK_PING, &[]).json().await
    }

    /// One module (`res_ari.so`).
    pub async fn get_module(&self, name: &str) -> Result<Module, AriError> {
        self.call(&ops::ASTERISK_MODULE, &[name]).json().await
    }

    /// Reads a global variable.
    pub async fn get_global_variable(&self, name: &str) -> Result<String, AriError> {
        let v: Variable = self
            .call(&ops::ASTERISK_GET_VAR, &[])
            .query("variable", name)
            .json()
            .await?;
        Ok(v.value)
    }

    /// Sets a global variable.
    pub async fn set_global_variable(&self, name: &str, value: &str) -> Result<(), AriError> {
        self.call(&ops::ASTERISK_SET_VAR, &[])
            .query("variable", name)
            .query("value", value)
            .void()
            .await
    }

    /// Reads a dynamic configuration object (`res_pjsip`, `endpoint`, `1001`): every field,
    /// defaults included.
    pub async fn get_config(
        &self,
        class: &str,
        kind: &str,
        id: &str,
    ) -> Result<Vec<ConfigTuple>, AriError> {
        self.call(&ops::CONFIG_GET, &[class, kind, id]).json().await
    }

    /// Creates or updates (merges into) a dynamic configuration object. 403 means no writable
    /// sorcery wizard takes it (e.g. it is defined in `pjsip.conf`).
    pub async fn put_config(
        &self,
        class: &str,
        kind: &str,
        id: &str,
        fields: &[ConfigTuple],
    ) -> Result<Vec<ConfigTuple>, AriError> {
        let fields = serde_json::to_value(fields).map_err(|e| AriError::Decode(e.to_string()))?;
        self.call(&ops::CONFIG_PUT, &[class, kind, id])
            .body("fields", fields)
            .json()
            .await
    }

    /// Deletes a dynamic configuration object.
    pub async fn delete_config(&self, class: &str, kind: &str, id: &str) -> Result<(), AriError> {
        self.call(&ops::CONFIG_DELETE, &[class, kind, id])
            .void()
            .await
    }

    /// Sounds, optionally for one language and format.
    pub async fn list_sounds(
        &self,
        lang: Option<&str>,
        format: Option<&str>,
    ) -> Result<Vec<Sound>, AriError> {
        self.call(&ops::SOUNDS_LIST, &[])
            .query_opt("lang", lang)
            .query_opt("format", format)
            .json()
            .await
    }

    /// One sound.
    pub async fn get_sound(&self, id: &str) -> Result<Sound, AriError> {
        self.call(&ops::SOUNDS_GET, &[id]).json().await
    }

    /// Registered applications.
    pub async fn list_applications(&self) -> Result<Vec<Application>, AriError> {
        self.call(&ops::APPLICATIONS_LIST, &[]).json().await
    }

    /// Our application: what it is subscribed to (the first step of a resync).
    pub async fn get_application(&self) -> Result<Application, AriError> {
        self.call(&ops::APPLICATIONS_GET, &[self.app()])
            .json()
            .await
    }

    /// Subscribes our app to event sources (`endpoint:PJSIP`, `deviceState:PJSIP/1001`,
    /// `channel:ID`, `bridge:ID`). Subscriptions must be renewed after a reconnect.
    pub async fn subscribe(&self, sources: &[&str]) -> Result<Application, AriError> {
        self.call(&ops::APPLICATIONS_SUBSCRIBE, &[self.app()])
            .query_list("eventSource", sources)
            .json()
            .await
    }

    /// Unsubscribes our app from event sources.
    pub async fn unsubscribe(&self, sources: &[&str]) -> Result<Application, AriError> {
        self.call(&ops::APPLICATIONS_UNSUBSCRIBE, &[self.app()])
            .query_list("eventSource", sources)
            .json()
            .await
    }

    /// Stops Asterisk sending our app events of the `disallowed` types (Asterisk 13.26, 16.3
    /// and later); the allowed list is set empty, which allows everything else (and clears
    /// one another client may have left). The filter belongs to the app and may be gone with
    /// it after a reconnect: set it again then.
    pub async fn filter_events(&self, disallowed: &[&str]) -> Result<Application, AriError> {
        let types: Vec<Value> = disallowed
            .iter()
            .map(|kind| serde_json::json!({ "type": kind }))
            .collect();
        let mut filter = serde_json::Map::new();
        filter.insert("allowed".into(), Value::Array(Vec::new()));
        filter.insert("disallowed".into(), Value::Array(types));
        self.call(&ops::APPLICATIONS_FILTER, &[self.app()])
            .whole_body("filter", filter)
            .json()
            .await
    }

    /// Sends a user event (`ChannelUserevent`) to our app.
    pub async fn user_event(
        &self,
        name: &str,
        sources: &[&str],
        variables: &BTreeMap<String, String>,
    ) -> Result<(), AriError> {
        let mut call = self
            .call(&ops::EVENTS_USER, &[name])
            .query("application", self.app())
            .query_list("source", sources);
        if !variables.is_empty() {
            let vars = variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            call = call.body("variables", Value::Object(vars));
        }
        call.void().await
    }
}
