//! The table of ARI operations the client calls: verb, path template, the query and body
//! parameter names it may send, and what it returns. The client builds every request from
//! this table, and a test checks each row against `asterisk-ari/api-docs/*.json`, so what we
//! send cannot drift from the spec.

/// One ARI operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// `resource.nickname` as in the spec (`channels.originate`).
    pub name: &'static str,
    /// HTTP verb.
    pub method: &'static str,
    /// Path under `/ari`, with `{placeholders}` filled in order.
    pub path: &'static str,
    /// Query parameters the client may send.
    pub query: &'static [&'static str],
    /// Body parameters the client may send (as keys of one JSON object).
    pub body: &'static [&'static str],
    /// The spec's `responseClass` (`Channel`, `List[Channel]`, `void`, `binary`).
    pub returns: &'static str,
}

macro_rules! ops {
    ($( $(#[$doc:meta])* $id:ident = $name:literal, $method:literal $path:literal
        query [$($q:literal),*] body [$($b:literal),*] -> $returns:literal; )+) => {
        $( $(#[$doc])* pub const $id: Op = Op {
            name: $name,
            method: $method,
            path: $path,
            query: &[$($q),*],
            body: &[$($b),*],
            returns: $returns,
        }; )+

        /// Every operation the client uses.
        pub const ALL: &[Op] = &[$($id),+];
    };
}

ops! {
    /// List applications.
    APPLICATIONS_LIST = "applications.list", "GET" "/applications" query [] body [] -> "List[Application]";
    /// Get an application.
    APPLICATIONS_GET = "applications.get", "GET" "/applications/{applicationName}" query [] body [] -> "Application";
    /// Subscribe an application to event sources.
    APPLICATIONS_SUBSCRIBE = "applications.subscribe", "POST" "/applications/{applicationName}/subscription" query ["eventSource"] body [] -> "Application";
    /// Set which event types an application is sent.
    APPLICATIONS_FILTER = "applications.filter", "PUT" "/applications/{applicationName}/eventFilter" query [] body ["filter"] -> "Application";
    /// Unsubscribe an application.
    APPLICATIONS_UNSUBSCRIBE = "applications.unsubscribe", "DELETE" "/applications/{applicationName}/subscription" query ["eventSource"] body [] -> "Application";

    /// Asterisk system information.
    ASTERISK_INFO = "asterisk.getInfo", "GET" "/asterisk/info" query ["only"] body [] -> "AsteriskInfo";
    /// Ping.
    ASTERISK_PING = "asterisk.ping", "GET" "/asterisk/ping" query [] body [] -> "AsteriskPing";
    /// One module.
    ASTERISK_MODULE = "asterisk.getModule", "GET" "/asterisk/modules/{moduleName}" query [] body [] -> "Module";
    /// Read a global variable.
    ASTERISK_GET_VAR = "asterisk.getGlobalVar", "GET" "/asterisk/variable" query ["variable"] body [] -> "Variable";
    /// Set a global variable.
    ASTERISK_SET_VAR = "asterisk.setGlobalVar", "POST" "/asterisk/variable" query ["variable", "value"] body [] -> "void";
    /// Read a dynamic configuration object.
    CONFIG_GET = "asterisk.getObject", "GET" "/asterisk/config/dynamic/{configClass}/{objectType}/{id}" query [] body [] -> "List[ConfigTuple]";
    /// Create or update a dynamic configuration object.
    CONFIG_PUT = "asterisk.updateObject", "PUT" "/asterisk/config/dynamic/{configClass}/{objectType}/{id}" query [] body ["fields"] -> "List[ConfigTuple]";
    /// Delete a dynamic configuration object.
    CONFIG_DELETE = "asterisk.deleteObject", "DELETE" "/asterisk/config/dynamic/{configClass}/{objectType}/{id}" query [] body [] -> "void";

    /// List bridges.
    BRIDGES_LIST = "bridges.list", "GET" "/bridges" query [] body [] -> "List[Bridge]";
    /// Create a bridge.
    BRIDGES_CREATE = "bridges.create", "POST" "/bridges" query ["type", "bridgeId", "name"] body [] -> "Bridge";
    /// Get a bridge.
    BRIDGES_GET = "bridges.get", "GET" "/bridges/{bridgeId}" query [] body [] -> "Bridge";
    /// Destroy a bridge.
    BRIDGES_DESTROY = "bridges.destroy", "DELETE" "/bridges/{bridgeId}" query [] body [] -> "void";
    /// Add channels to a bridge.
    BRIDGES_ADD = "bridges.addChannel", "POST" "/bridges/{bridgeId}/addChannel" query ["channel", "role", "absorbDTMF", "mute", "inhibitConnectedLineUpdates"] body [] -> "void";
    /// Remove channels from a bridge.
    BRIDGES_REMOVE = "bridges.removeChannel", "POST" "/bridges/{bridgeId}/removeChannel" query ["channel"] body [] -> "void";
    /// Start music on hold in a bridge.
    BRIDGES_MOH_START = "bridges.startMoh", "POST" "/bridges/{bridgeId}/moh" query ["mohClass"] body [] -> "void";
    /// Stop music on hold in a bridge.
    BRIDGES_MOH_STOP = "bridges.stopMoh", "DELETE" "/bridges/{bridgeId}/moh" query [] body [] -> "void";
    /// Play media to a bridge.
    BRIDGES_PLAY = "bridges.play", "POST" "/bridges/{bridgeId}/play" query ["media", "lang", "offsetms", "skipms", "announcer_format"] body [] -> "Playback";
    /// Play media to a bridge under our playback id.
    BRIDGES_PLAY_WITH_ID = "bridges.playWithId", "POST" "/bridges/{bridgeId}/play/{playbackId}" query ["media", "lang", "offsetms", "skipms", "announcer_format"] body [] -> "Playback";
    /// Record a bridge.
    BRIDGES_RECORD = "bridges.record", "POST" "/bridges/{bridgeId}/record" query ["name", "format", "recorder_format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep", "terminateOn"] body [] -> "LiveRecording";

    /// List channels.
    CHANNELS_LIST = "channels.list", "GET" "/channels" query [] body [] -> "List[Channel]";
    /// Originate: create and dial at once.
    CHANNELS_ORIGINATE = "channels.originate", "POST" "/channels" query ["endpoint", "extension", "context", "priority", "label", "app", "appArgs", "callerId", "timeout", "channelId", "otherChannelId", "originator", "formats"] body ["variables"] -> "Channel";
    /// Create a channel without dialling it.
    CHANNELS_CREATE = "channels.create", "POST" "/channels/create" query ["endpoint", "app", "appArgs", "channelId", "otherChannelId", "originator", "formats"] body ["variables"] -> "Channel";
    /// Get a channel.
    CHANNELS_GET = "channels.get", "GET" "/channels/{channelId}" query [] body [] -> "Channel";
    /// Hang up a channel.
    CHANNELS_HANGUP = "channels.hangup", "DELETE" "/channels/{channelId}" query ["reason", "reason_code"] body [] -> "void";
    /// Leave Stasis and continue in the dialplan.
    CHANNELS_CONTINUE = "channels.continueInDialplan", "POST" "/channels/{channelId}/continue" query ["context", "extension", "priority", "label"] body [] -> "void";
    /// Move to another Stasis app.
    CHANNELS_MOVE = "channels.move", "POST" "/channels/{channelId}/move" query ["app", "appArgs"] body [] -> "void";
    /// Redirect to another endpoint of the same technology.
    CHANNELS_REDIRECT = "channels.redirect", "POST" "/channels/{channelId}/redirect" query ["endpoint"] body [] -> "void";
    /// Answer.
    CHANNELS_ANSWER = "channels.answer", "POST" "/channels/{channelId}/answer" query [] body [] -> "void";
    /// Send ringing.
    CHANNELS_RING = "channels.ring", "POST" "/channels/{channelId}/ring" query [] body [] -> "void";
    /// Stop ringing.
    CHANNELS_RING_STOP = "channels.ringStop", "DELETE" "/channels/{channelId}/ring" query [] body [] -> "void";
    /// Send progress (183).
    CHANNELS_PROGRESS = "channels.progress", "POST" "/channels/{channelId}/progress" query [] body [] -> "void";
    /// Send DTMF.
    CHANNELS_DTMF = "channels.sendDTMF", "POST" "/channels/{channelId}/dtmf" query ["dtmf", "before", "between", "duration", "after"] body [] -> "void";
    /// Mute.
    CHANNELS_MUTE = "channels.mute", "POST" "/channels/{channelId}/mute" query ["direction"] body [] -> "void";
    /// Unmute.
    CHANNELS_UNMUTE = "channels.unmute", "DELETE" "/channels/{channelId}/mute" query ["direction"] body [] -> "void";
    /// Hold indication.
    CHANNELS_HOLD = "channels.hold", "POST" "/channels/{channelId}/hold" query [] body [] -> "void";
    /// End the hold indication.
    CHANNELS_UNHOLD = "channels.unhold", "DELETE" "/channels/{channelId}/hold" query [] body [] -> "void";
    /// Start music on hold.
    CHANNELS_MOH_START = "channels.startMoh", "POST" "/channels/{channelId}/moh" query ["mohClass"] body [] -> "void";
    /// Stop music on hold.
    CHANNELS_MOH_STOP = "channels.stopMoh", "DELETE" "/channels/{channelId}/moh" query [] body [] -> "void";
    /// Play silence.
    CHANNELS_SILENCE_START = "channels.startSilence", "POST" "/channels/{channelId}/silence" query [] body [] -> "void";
    /// Stop silence.
    CHANNELS_SILENCE_STOP = "channels.stopSilence", "DELETE" "/channels/{channelId}/silence" query [] body [] -> "void";
    /// Play media.
    CHANNELS_PLAY = "channels.play", "POST" "/channels/{channelId}/play" query ["media", "lang", "offsetms", "skipms"] body [] -> "Playback";
    /// Play media under our playback id.
    CHANNELS_PLAY_WITH_ID = "channels.playWithId", "POST" "/channels/{channelId}/play/{playbackId}" query ["media", "lang", "offsetms", "skipms"] body [] -> "Playback";
    /// Record.
    CHANNELS_RECORD = "channels.record", "POST" "/channels/{channelId}/record" query ["name", "format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep", "terminateOn"] body [] -> "LiveRecording";
    /// Read a channel variable (or dialplan function).
    CHANNELS_GET_VAR = "channels.getChannelVar", "GET" "/channels/{channelId}/variable" query ["variable"] body [] -> "Variable";
    /// Set a channel variable.
    CHANNELS_SET_VAR = "channels.setChannelVar", "POST" "/channels/{channelId}/variable" query ["variable", "value"] body [] -> "void";
    /// Snoop (spy/whisper) on a channel.
    CHANNELS_SNOOP = "channels.snoopChannel", "POST" "/channels/{channelId}/snoop" query ["spy", "whisper", "app", "appArgs", "snoopId"] body [] -> "Channel";
    /// Dial a created channel.
    CHANNELS_DIAL = "channels.dial", "POST" "/channels/{channelId}/dial" query ["caller", "timeout"] body [] -> "void";
    /// RTP statistics.
    CHANNELS_RTP_STATS = "channels.rtpstatistics", "GET" "/channels/{channelId}/rtp_statistics" query [] body [] -> "RTPstat";
    /// Create an external media channel.
    CHANNELS_EXTERNAL_MEDIA = "channels.externalMedia", "POST" "/channels/externalMedia" query ["channelId", "app", "external_host", "encapsulation", "transport", "connection_type", "format", "direction", "data", "transport_data"] body ["variables"] -> "Channel";

    /// List `Stasis:` device states.
    DEVICE_STATES_LIST = "deviceStates.list", "GET" "/deviceStates" query [] body [] -> "List[DeviceState]";
    /// Get a device state.
    DEVICE_STATES_GET = "deviceStates.get", "GET" "/deviceStates/{deviceName}" query [] body [] -> "DeviceState";
    /// Set a `Stasis:` device state.
    DEVICE_STATES_PUT = "deviceStates.update", "PUT" "/deviceStates/{deviceName}" query ["deviceState"] body [] -> "void";
    /// Delete a `Stasis:` device state.
    DEVICE_STATES_DELETE = "deviceStates.delete", "DELETE" "/deviceStates/{deviceName}" query [] body [] -> "void";

    /// List endpoints.
    ENDPOINTS_LIST = "endpoints.list", "GET" "/endpoints" query [] body [] -> "List[Endpoint]";
    /// List one technology's endpoints.
    ENDPOINTS_BY_TECH = "endpoints.listByTech", "GET" "/endpoints/{tech}" query [] body [] -> "List[Endpoint]";
    /// Get an endpoint.
    ENDPOINTS_GET = "endpoints.get", "GET" "/endpoints/{tech}/{resource}" query [] body [] -> "Endpoint";

    /// Send a user event to an application.
    EVENTS_USER = "events.userEvent", "POST" "/events/user/{eventName}" query ["application", "source"] body ["variables"] -> "void";

    /// Get a playback.
    PLAYBACKS_GET = "playbacks.get", "GET" "/playbacks/{playbackId}" query [] body [] -> "Playback";
    /// Stop a playback.
    PLAYBACKS_STOP = "playbacks.stop", "DELETE" "/playbacks/{playbackId}" query [] body [] -> "void";
    /// Control a playback.
    PLAYBACKS_CONTROL = "playbacks.control", "POST" "/playbacks/{playbackId}/control" query ["operation"] body [] -> "void";

    /// List stored recordings.
    RECORDINGS_LIST_STORED = "recordings.listStored", "GET" "/recordings/stored" query [] body [] -> "List[StoredRecording]";
    /// Get a stored recording.
    RECORDINGS_GET_STORED = "recordings.getStored", "GET" "/recordings/stored/{recordingName}" query [] body [] -> "StoredRecording";
    /// Delete a stored recording.
    RECORDINGS_DELETE_STORED = "recordings.deleteStored", "DELETE" "/recordings/stored/{recordingName}" query [] body [] -> "void";
    /// Download a stored recording.
    RECORDINGS_FILE = "recordings.getStoredFile", "GET" "/recordings/stored/{recordingName}/file" query [] body [] -> "binary";
    /// Copy a stored recording.
    RECORDINGS_COPY = "recordings.copyStored", "POST" "/recordings/stored/{recordingName}/copy" query ["destinationRecordingName"] body [] -> "StoredRecording";
    /// Get a live recording.
    RECORDINGS_GET_LIVE = "recordings.getLive", "GET" "/recordings/live/{recordingName}" query [] body [] -> "LiveRecording";
    /// Stop a live recording and discard it.
    RECORDINGS_CANCEL = "recordings.cancel", "DELETE" "/recordings/live/{recordingName}" query [] body [] -> "void";
    /// Stop a live recording and keep it.
    RECORDINGS_STOP = "recordings.stop", "POST" "/recordings/live/{recordingName}/stop" query [] body [] -> "void";
    /// Pause a live recording.
    RECORDINGS_PAUSE = "recordings.pause", "POST" "/recordings/live/{recordingName}/pause" query [] body [] -> "void";
    /// Resume a live recording.
    RECORDINGS_UNPAUSE = "recordings.unpause", "DELETE" "/recordings/live/{recordingName}/pause" query [] body [] -> "void";
    /// Mute a live recording.
    RECORDINGS_MUTE = "recordings.mute", "POST" "/recordings/live/{recordingName}/mute" query [] body [] -> "void";
    /// Unmute a live recording.
    RECORDINGS_UNMUTE = "recordings.unmute", "DELETE" "/recordings/live/{recordingName}/mute" query [] body [] -> "void";

    /// List sounds.
    SOUNDS_LIST = "sounds.list", "GET" "/sounds" query ["lang", "format"] body [] -> "List[Sound]";
    /// Get a sound.
    SOUNDS_GET = "sounds.get", "GET" "/sounds/{soundId}" query [] body [] -> "Sound";
}

impl Op {
    /// Whether `path` (under `/ari`, no query) is an instance of this operation's template.
    /// Returns how many segments matched literally, so the most specific template can win
    /// (`/channels/create` over `/channels/{channelId}`).
    pub fn matches(&self, method: &str, path: &str) -> Option<usize> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let template: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        if template.len() != actual.len() {
            return None;
        }
        let mut literal = 0;
        for (t, a) in template.iter().zip(&actual) {
            if t.starts_with('{') {
                continue;
            }
            if t != a {
                return None;
            }
            literal += 1;
        }
        Some(literal)
    }

    /// The operation a request is an instance of, most specific first.
    pub fn find(method: &str, path: &str) -> Option<&'static Op> {
        ALL.iter()
            .filter_map(|op| op.matches(method, path).map(|n| (n, op)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, op)| op)
    }
}
