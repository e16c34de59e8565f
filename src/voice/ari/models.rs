//! The ARI data models we read and write, transcribed from `asterisk-ari/api-docs/*.json`.
//!
//! Every struct is `#[serde(default)]` and ignores unknown keys: Asterisk omits optional keys,
//! adds new ones in minor releases, and a missing field must never cost us a whole event.
//! Enumerated strings live in `states`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::states::{
    ChannelState, DeviceStateValue, EndpointState, PlaybackState, RecordingState,
};

/// `CallerID`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallerId {
    /// Display name.
    pub name: String,
    /// Number.
    pub number: String,
}

/// `DialplanCEP`: where a channel is in the dialplan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DialplanCep {
    /// Context.
    pub context: String,
    /// Extension.
    pub exten: String,
    /// Priority.
    pub priority: i64,
    /// Application running (`Stasis` while the channel is ours).
    pub app_name: String,
    /// Its arguments (`switchboard,inbound,…`).
    pub app_data: String,
}

/// `Channel`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    /// Unique id (Asterisk's uniqueid or the id we chose).
    pub id: String,
    /// Protocol id (the SIP Call-ID for PJSIP).
    pub protocol_id: String,
    /// Name, e.g. `PJSIP/trunk-00000007`.
    pub name: String,
    /// State.
    pub state: ChannelState,
    /// Caller id.
    pub caller: CallerId,
    /// Connected line.
    pub connected: CallerId,
    /// Account code.
    pub accountcode: String,
    /// Dialplan location.
    pub dialplan: DialplanCep,
    /// Creation time (`%FT%T.%q%z`).
    pub creationtime: String,
    /// Language.
    pub language: String,
    /// Variables configured in `ari.conf channelvars` or set with `report_events`.
    pub channelvars: Option<Map<String, Value>>,
    /// Redirecting number, when set.
    pub caller_rdnis: Option<String>,
    /// Tenant id, when set.
    pub tenantid: Option<String>,
}

/// `Bridge`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bridge {
    /// Unique id.
    pub id: String,
    /// Technology (`simple_bridge`, `softmix`, `native_rtp`, `holding_bridge`).
    pub technology: String,
    /// `mixing` or `holding`.
    pub bridge_type: String,
    /// Class (`stasis`).
    pub bridge_class: String,
    /// Creator.
    pub creator: String,
    /// Name given at creation.
    pub name: String,
    /// Ids of the channels in the bridge.
    pub channels: Vec<String>,
    /// Video mode.
    pub video_mode: Option<String>,
    /// Video source channel.
    pub video_source_id: Option<String>,
    /// Creation time.
    pub creationtime: String,
    /// Bridge variables, when set with `report_events`.
    pub bridgevars: Option<Map<String, Value>>,
}

/// `Playback`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Playback {
    /// Id (ours when given).
    pub id: String,
    /// The URI playing now.
    pub media_uri: String,
    /// The next URI of a list, while more are queued.
    pub next_media_uri: Option<String>,
    /// `channel:ID` or `bridge:ID`.
    pub target_uri: String,
    /// Language.
    pub language: Option<String>,
    /// State.
    pub state: PlaybackState,
}

/// `LiveRecording`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveRecording {
    /// Name (may contain `/`).
    pub name: String,
    /// File format.
    pub format: String,
    /// `channel:ID` or `bridge:ID`.
    pub target_uri: String,
    /// State.
    pub state: RecordingState,
    /// Seconds, once known.
    pub duration: Option<i64>,
    /// Seconds of talk (only with `maxSilenceSeconds`).
    pub talking_duration: Option<i64>,
    /// Seconds of silence (only with `maxSilenceSeconds`).
    pub silence_duration: Option<i64>,
    /// Why it failed.
    pub cause: Option<String>,
}

/// `StoredRecording`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredRecording {
    /// Name.
    pub name: String,
    /// Format.
    pub format: String,
}

/// `Endpoint`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// Technology (`PJSIP`).
    pub technology: String,
    /// Resource (the endpoint id, e.g. `1001`).
    pub resource: String,
    /// State, when the technology reports one.
    pub state: Option<EndpointState>,
    /// Channels on this endpoint.
    pub channel_ids: Vec<String>,
}

/// `DeviceState`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceState {
    /// Device name (`PJSIP/1001`, `Stasis:agent-42`).
    pub name: String,
    /// State.
    pub state: DeviceStateValue,
}

/// `Variable`: one variable's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    /// Value.
    pub value: String,
}

/// `ConfigTuple`: one attribute of a dynamic configuration object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigTuple {
    /// Attribute name (`auth_type`, `max_contacts` …).
    pub attribute: String,
    /// Value.
    pub value: String,
}

impl ConfigTuple {
    /// A tuple from two strings.
    pub fn new(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            attribute: attribute.into(),
            value: value.into(),
        }
    }
}

/// `AsteriskInfo` (`GET /asterisk/info`); each part is absent when `only=` excludes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AsteriskInfo {
    /// Build.
    pub build: Option<BuildInfo>,
    /// System.
    pub system: Option<SystemInfo>,
    /// Configuration.
    pub config: Option<ConfigInfo>,
    /// Status (startup time tells an Asterisk restart from a reconnect).
    pub status: Option<StatusInfo>,
}

/// `BuildInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildInfo {
    /// OS.
    pub os: String,
    /// Kernel.
    pub kernel: String,
    /// Build options.
    pub options: String,
    /// Machine.
    pub machine: String,
    /// Build date.
    pub date: String,
    /// Build user.
    pub user: String,
}

/// `SystemInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemInfo {
    /// Asterisk version.
    pub version: String,
    /// Entity id (the `asterisk_id` of events).
    pub entity_id: String,
}

/// `ConfigInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigInfo {
    /// System name.
    pub name: String,
    /// Default language.
    pub default_language: String,
    /// Channel limit.
    pub max_channels: Option<i64>,
    /// Open file limit.
    pub max_open_files: Option<i64>,
    /// Load limit.
    pub max_load: Option<f64>,
    /// Run-as user and group.
    pub setid: SetId,
}

/// `SetId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetId {
    /// User.
    pub user: String,
    /// Group.
    pub group: String,
}

/// `StatusInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusInfo {
    /// When Asterisk started.
    pub startup_time: String,
    /// When it last reloaded.
    pub last_reload_time: String,
}

/// `AsteriskPing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AsteriskPing {
    /// Entity id.
    pub asterisk_id: String,
    /// Always `pong`.
    pub ping: String,
    /// Asterisk's time.
    pub timestamp: String,
}

/// `Module`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Module {
    /// File name (`res_ari.so`).
    pub name: String,
    /// Description.
    pub description: String,
    /// Use count.
    pub use_count: i64,
    /// Status (`Running`).
    pub status: String,
    /// Support level.
    pub support_level: String,
}

/// `Sound`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sound {
    /// Id (file name without extension).
    pub id: String,
    /// Text, when indexed.
    pub text: Option<String>,
    /// Formats and languages available.
    pub formats: Vec<FormatLangPair>,
}

/// `FormatLangPair`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormatLangPair {
    /// Language.
    pub language: String,
    /// Format (`slin`, `gsm` …).
    pub format: String,
}

/// `Application`: what an app is subscribed to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Application {
    /// App name.
    pub name: String,
    /// Subscribed channels.
    pub channel_ids: Vec<String>,
    /// Subscribed bridges.
    pub bridge_ids: Vec<String>,
    /// Subscribed endpoints.
    pub endpoint_ids: Vec<String>,
    /// Subscribed devices.
    pub device_names: Vec<String>,
    /// Event filter: allowed.
    pub events_allowed: Vec<Value>,
    /// Event filter: disallowed.
    pub events_disallowed: Vec<Value>,
}

/// `RTPstat`: the counters we look at (the rest of the object is ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RtpStat {
    /// Packets sent.
    pub txcount: i64,
    /// Packets received.
    pub rxcount: i64,
    /// Packets lost, sent side.
    pub txploss: i64,
    /// Packets lost, received side.
    pub rxploss: i64,
    /// Jitter, sent side.
    pub txjitter: Option<f64>,
    /// Jitter, received side.
    pub rxjitter: Option<f64>,
    /// Round-trip time.
    pub rtt: Option<f64>,
    /// Our SSRC.
    pub local_ssrc: i64,
    /// Their SSRC.
    pub remote_ssrc: i64,
    /// Octets sent.
    pub txoctetcount: i64,
    /// Octets received.
    pub rxoctetcount: i64,
    /// The channel.
    pub channel_uniqueid: String,
}

/// `ContactInfo` (in `ContactStatusChange`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactInfo {
    /// Contact URI.
    pub uri: String,
    /// `Reachable`, `Unreachable`, `NonQualified`, `Removed`, `Unknown`.
    pub contact_status: String,
    /// AOR.
    pub aor: String,
    /// Qualify round trip (a string on the wire).
    pub roundtrip_usec: Option<String>,
}

/// `Peer` (in `PeerStatusChange`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Peer {
    /// `Reachable`, `Unreachable` …
    pub peer_status: String,
    /// Cause.
    pub cause: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Port.
    pub port: Option<String>,
    /// Time.
    pub time: Option<String>,
}

impl Playback {
    /// The channel id when this playback targets a channel.
    pub fn channel_id(&self) -> Option<&str> {
        self.target_uri.strip_prefix("channel:")
    }

    /// The bridge id when this playback targets a bridge.
    pub fn bridge_id(&self) -> Option<&str> {
        self.target_uri.strip_prefix("bridge:")
    }
}

impl LiveRecording {
    /// The channel id when this recording targets a channel.
    pub fn channel_id(&self) -> Option<&str> {
        self.target_uri.strip_prefix("channel:")
    }
}

#[cfg(test)]
pub(crate) mod spec_samples {
    //! Every model with its spec name, serialised from `Default` so the drift test can read
    //! the field names serde really uses.
    use super::*;

    pub(crate) fn all() -> Vec<(&'static str, Value)> {
        fn v<T: Serialize + Default>(name: &'static str) -> (&'static str, Value) {
            (
                name,
                serde_json::to_value(T::default()).expect("model serialises"),
            )
        }
        vec![
            v::<CallerId>("CallerID"),
            v::<DialplanCep>("DialplanCEP"),
            v::<Channel>("Channel"),
            v::<Bridge>("Bridge"),
            v::<Playback>("Playback"),
            v::<LiveRecording>("LiveRecording"),
            v::<StoredRecording>("StoredRecording"),
            v::<Endpoint>("Endpoint"),
            v::<DeviceState>("DeviceState"),
            v::<Variable>("Variable"),
            v::<ConfigTuple>("ConfigTuple"),
            v::<AsteriskInfo>("AsteriskInfo"),
            v::<BuildInfo>("BuildInfo"),
            v::<SystemInfo>("SystemInfo"),
            v::<ConfigInfo>("ConfigInfo"),
            v::<SetId>("SetId"),
            v::<StatusInfo>("StatusInfo"),
            v::<AsteriskPing>("AsteriskPing"),
            v::<Module>("Module"),
            v::<Sound>("Sound"),
            v::<FormatLangPair>("FormatLangPair"),
            v::<Application>("Application"),
            v::<RtpStat>("RTPstat"),
            v::<ContactInfo>("ContactInfo"),
            v::<Peer>("Peer"),
        ]
    }
}
