//! The payloads of the events in [`super::events::Event`], one struct per event type,
//! named after it. Optional keys follow the spec; every struct tolerates missing and unknown
//! keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::models::{
    Bridge, Channel, ContactInfo, DeviceState, Endpoint, LiveRecording, Peer, Playback,
};

/// Declares payload structs that hold only a channel.
macro_rules! channel_events {
    ($($name:ident),+) => {$(
        #[doc = concat!("`", stringify!($name), "` payload.")]
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// The channel.
            pub channel: Channel,
        }
    )+};
}

channel_events!(
    StasisEnd,
    ChannelCreated,
    ChannelStateChange,
    ChannelConnectedLine,
    ChannelUnhold,
    ChannelTalkingStarted,
    ChannelToneDetected
);

/// Declares payload structs that hold only a bridge, a playback or a recording.
macro_rules! single_events {
    ($field:ident: $ty:ty => $($name:ident),+) => {$(
        #[doc = concat!("`", stringify!($name), "` payload.")]
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            #[doc = concat!("The ", stringify!($field), ".")]
            pub $field: $ty,
        }
    )+};
}

single_events!(bridge: Bridge => BridgeCreated, BridgeDestroyed);
single_events!(playback: Playback => PlaybackStarted, PlaybackContinuing, PlaybackFinished);
single_events!(recording: LiveRecording => RecordingStarted, RecordingFinished, RecordingFailed);
single_events!(endpoint: Endpoint => EndpointStateChange);
single_events!(device_state: DeviceState => DeviceStateChanged);

/// Declares payload structs with no fields beyond the envelope.
macro_rules! empty_events {
    ($($name:ident),+) => {$(
        #[doc = concat!("`", stringify!($name), "` payload (nothing beyond the envelope).")]
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {}
    )+};
}

empty_events!(
    ApplicationReplaced,
    ApplicationRegistered,
    ApplicationUnregistered
);

/// `StasisStart` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StasisStart {
    /// `Stasis()` arguments after the app name (or `appArgs`).
    pub args: Vec<String>,
    /// The channel.
    pub channel: Channel,
    /// The channel this one replaced (masquerade, transfer).
    pub replace_channel: Option<Channel>,
}

/// `ChannelDtmfReceived` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelDtmfReceived {
    /// `0`-`9`, `A`-`D`, `#`, `*`.
    pub digit: String,
    /// Length of the key press.
    pub duration_ms: i64,
    /// The channel.
    pub channel: Channel,
}

/// `ChannelHangupRequest` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelHangupRequest {
    /// Q.850 cause, when known.
    pub cause: Option<i64>,
    /// Technology cause (SIP status), when known.
    pub tech_cause: Option<i64>,
    /// A soft hangup (e.g. ARI `DELETE`).
    pub soft: Option<bool>,
    /// The channel.
    pub channel: Channel,
}

/// `ChannelDestroyed` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelDestroyed {
    /// Q.850 cause: 16 normal, 17 busy, 19 no answer, 26 answered elsewhere …
    pub cause: i64,
    /// Its text.
    pub cause_txt: String,
    /// Technology cause, when known.
    pub tech_cause: Option<i64>,
    /// The channel.
    pub channel: Channel,
}

/// `ChannelEnteredBridge` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelEnteredBridge {
    /// The bridge after the channel entered.
    pub bridge: Bridge,
    /// The channel.
    pub channel: Option<Channel>,
}

/// `ChannelLeftBridge` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelLeftBridge {
    /// The bridge after the channel left.
    pub bridge: Bridge,
    /// The channel.
    pub channel: Channel,
}

/// `ChannelVarset` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelVarset {
    /// Variable name.
    pub variable: String,
    /// New value.
    pub value: String,
    /// The channel; absent for a global variable.
    pub channel: Option<Channel>,
}

/// `ChannelDialplan` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelDialplan {
    /// The channel.
    pub channel: Channel,
    /// Application now running.
    pub dialplan_app: String,
    /// Its data.
    pub dialplan_app_data: String,
}

/// `ChannelCallerId` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelCallerId {
    /// Presentation number.
    pub caller_presentation: i64,
    /// Presentation text.
    pub caller_presentation_txt: String,
    /// The channel.
    pub channel: Channel,
}

/// `ChannelHold` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelHold {
    /// The channel.
    pub channel: Channel,
    /// Suggested music class.
    pub musicclass: Option<String>,
}

/// `ChannelTalkingFinished` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelTalkingFinished {
    /// The channel.
    pub channel: Channel,
    /// Talk time in ms.
    pub duration: i64,
}

/// `ChannelUserevent` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelUserevent {
    /// Event name.
    pub eventname: String,
    /// Channel, when the event names one.
    pub channel: Option<Channel>,
    /// Bridge, when the event names one.
    pub bridge: Option<Bridge>,
    /// Endpoint, when the event names one.
    pub endpoint: Option<Endpoint>,
    /// The user's variables.
    pub userevent: Map<String, Value>,
}

/// `Dial` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dial {
    /// The calling channel (absent on ARI `/dial` and originate).
    pub caller: Option<Channel>,
    /// The dialled channel.
    pub peer: Channel,
    /// Forwarding target.
    pub forward: Option<String>,
    /// Channel the call was forwarded to.
    pub forwarded: Option<Channel>,
    /// Dial string.
    pub dialstring: Option<String>,
    /// `""` at start, then `RINGING`, `ANSWER`, `BUSY` …
    pub dialstatus: String,
}

/// `BridgeMerged` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeMerged {
    /// The surviving bridge.
    pub bridge: Bridge,
    /// The bridge merged into it.
    pub bridge_from: Bridge,
}

/// `BridgeBlindTransfer` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeBlindTransfer {
    /// The transferring channel.
    pub channel: Channel,
    /// Channel replacing it.
    pub replace_channel: Option<Channel>,
    /// The channel being transferred.
    pub transferee: Option<Channel>,
    /// Destination extension.
    pub exten: String,
    /// Destination context.
    pub context: String,
    /// `Success`, `Fail` …
    pub result: String,
    /// Whether the transfer came from outside Asterisk.
    pub is_external: bool,
    /// The bridge, when bridged.
    pub bridge: Option<Bridge>,
}

/// `BridgeAttendedTransfer` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BridgeAttendedTransfer {
    /// First leg of the transferer.
    pub transferer_first_leg: Channel,
    /// Second leg of the transferer.
    pub transferer_second_leg: Channel,
    /// Channel replacing the transferer.
    pub replace_channel: Option<Channel>,
    /// The channel being transferred.
    pub transferee: Option<Channel>,
    /// The transfer target.
    pub transfer_target: Option<Channel>,
    /// Result.
    pub result: String,
    /// Whether the transfer came from outside Asterisk.
    pub is_external: bool,
    /// Bridge of the first leg.
    pub transferer_first_leg_bridge: Option<Bridge>,
    /// Bridge of the second leg.
    pub transferer_second_leg_bridge: Option<Bridge>,
    /// `bridge`, `application`, `link`, `threeway`, `fail`.
    pub destination_type: String,
    /// Destination bridge id.
    pub destination_bridge: Option<String>,
    /// Destination application.
    pub destination_application: Option<String>,
    /// First link leg.
    pub destination_link_first_leg: Option<Channel>,
    /// Second link leg.
    pub destination_link_second_leg: Option<Channel>,
    /// Three-way channel.
    pub destination_threeway_channel: Option<Channel>,
    /// Three-way bridge.
    pub destination_threeway_bridge: Option<Bridge>,
}

/// `PeerStatusChange` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerStatusChange {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Its peer status.
    pub peer: Peer,
}

/// `ContactStatusChange` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactStatusChange {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The contact.
    pub contact_info: ContactInfo,
}

/// `ApplicationMoveFailed` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationMoveFailed {
    /// The channel.
    pub channel: Channel,
    /// The app it should have moved to.
    pub destination: String,
    /// The arguments.
    pub args: Vec<String>,
}

/// `RESTResponse` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestResponse {
    /// Our transaction id.
    pub transaction_id: String,
    /// Our request id.
    pub request_id: String,
    /// HTTP status.
    pub status_code: i64,
    /// Reason phrase.
    pub reason_phrase: String,
    /// The URI requested.
    pub uri: String,
    /// Body content type.
    pub content_type: Option<String>,
    /// Body, as a string.
    pub message_body: Option<String>,
}
