//! Events from the ARI events WebSocket, transcribed from `asterisk-ari/api-docs/events.json`.
//!
//! [`EventMessage::parse`] never fails on a well-formed JSON object: a `type` we do not model,
//! or a modelled one whose payload does not fit (a newer Asterisk changing a field), becomes
//! [`Event::Other`] with the raw JSON, so one odd frame never stops the stream.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::models::Channel;
pub use super::payloads::*;

/// One frame of the events socket: the fields every event carries, and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMessage {
    /// The Stasis application it was sent to.
    pub application: String,
    /// Asterisk's time of the event (`%FT%T.%q%z`).
    pub timestamp: String,
    /// The Asterisk entity id, which tells servers apart.
    pub asterisk_id: Option<String>,
    /// The event.
    pub event: Event,
}

impl EventMessage {
    /// Parses one text frame. Fails only when the frame is not a JSON object.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        if let Some(message) = Self::parse_modelled(text) {
            return Ok(message);
        }
        let value: Value = serde_json::from_str(text)?;
        if !value.is_object() {
            return Err(serde::de::Error::custom(
                "an ARI event frame is a JSON object",
            ));
        }
        Ok(Self::from_value(value))
    }

    /// The common case, a modelled event that fits its model, read straight from the text:
    /// the envelope first (the rest skipped without allocating), then the event's own type.
    /// Going through a `Value` and serde's tagged-enum buffer copied each frame twice, and a
    /// call brings a few dozen frames. Anything else is left to the general path.
    fn parse_modelled(text: &str) -> Option<Self> {
        if !text.trim_start().starts_with('{') {
            return None;
        }
        let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
        let event = Event::typed_from_str(envelope.kind.as_deref()?, text)?.ok()?;
        let owned = |field: Option<Cow<'_, str>>| field.map(Cow::into_owned);
        Some(EventMessage {
            application: owned(envelope.application).unwrap_or_default(),
            timestamp: owned(envelope.timestamp).unwrap_or_default(),
            asterisk_id: owned(envelope.asterisk_id),
            event,
        })
    }

    /// Splits an already parsed frame.
    pub fn from_value(value: Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        EventMessage {
            application: text("application").unwrap_or_default(),
            timestamp: text("timestamp").unwrap_or_default(),
            asterisk_id: text("asterisk_id"),
            event: Event::from_value(value),
        }
    }
}

/// The fields every frame carries; the event's own fields are skipped.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    application: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    asterisk_id: Option<Cow<'a, str>>,
}

/// Declares [`Event`] from one list, so the modelled type names, the parser and the
/// spec samples cannot disagree.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, )+) => {
        /// An ARI event.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant(Box<$variant>), )+
            /// A type we do not model, or a modelled type whose payload did not fit, as received.
            Other {
                /// The `type` field.
                kind: String,
                /// The whole frame.
                raw: Value,
            },
        }

        #[derive(Deserialize)]
        #[serde(tag = "type")]
        enum Typed {
            $( #[serde(rename = $tag)] $variant(Box<$variant>), )+
        }

        #[derive(Serialize)]
        #[serde(tag = "type")]
        enum TypedRef<'a> {
            $( #[serde(rename = $tag)] $variant(&'a $variant), )+
        }

        impl Event {
            /// The `type` names that have a typed variant.
            pub const MODELED: &'static [&'static str] = &[$($tag),+];

            /// The event's `type`.
            pub fn kind(&self) -> &str {
                match self {
                    $( Event::$variant(_) => $tag, )+
                    Event::Other { kind, .. } => kind,
                }
            }

            /// The modelled event named `kind`, read from the whole frame's text (its
            /// envelope fields are ignored); `None` for a kind we do not model.
            fn typed_from_str(kind: &str, text: &str) -> Option<Result<Self, serde_json::Error>> {
                match kind {
                    $( $tag => Some(serde_json::from_str::<$variant>(text).map(|e| Event::$variant(Box::new(e)))), )+
                    _ => None,
                }
            }

            fn from_typed(typed: Typed) -> Self {
                match typed {
                    $( Typed::$variant(e) => Event::$variant(e), )+
                }
            }

            fn as_typed(&self) -> Option<TypedRef<'_>> {
                match self {
                    $( Event::$variant(e) => Some(TypedRef::$variant(e)), )+
                    Event::Other { .. } => None,
                }
            }
        }

        /// Every modelled event with its spec name, serialised from `Default`, so the drift
        /// test reads the field names serde really uses.
        #[cfg(test)]
        pub(crate) fn spec_samples() -> Vec<(&'static str, Value)> {
            vec![$( ($tag, serde_json::to_value($variant::default()).expect("event serialises")), )+]
        }
    };
}

events! {
    /// A channel entered the app.
    StasisStart = "StasisStart",
    /// A channel left the app (hangup, continue, move, redirect).
    StasisEnd = "StasisEnd",
    /// A channel was created.
    ChannelCreated = "ChannelCreated",
    /// A channel's state changed.
    ChannelStateChange = "ChannelStateChange",
    /// A DTMF digit ended.
    ChannelDtmfReceived = "ChannelDtmfReceived",
    /// A hangup was requested.
    ChannelHangupRequest = "ChannelHangupRequest",
    /// The last event of a channel, with the hangup cause.
    ChannelDestroyed = "ChannelDestroyed",
    /// A channel joined a bridge.
    ChannelEnteredBridge = "ChannelEnteredBridge",
    /// A channel left a bridge.
    ChannelLeftBridge = "ChannelLeftBridge",
    /// A channel variable was set (or a global one, without channel).
    ChannelVarset = "ChannelVarset",
    /// A channel moved in the dialplan.
    ChannelDialplan = "ChannelDialplan",
    /// Caller id changed.
    ChannelCallerId = "ChannelCallerId",
    /// Connected line changed.
    ChannelConnectedLine = "ChannelConnectedLine",
    /// The far end put the channel on hold.
    ChannelHold = "ChannelHold",
    /// The far end took the channel off hold.
    ChannelUnhold = "ChannelUnhold",
    /// Talk detection: talking started.
    ChannelTalkingStarted = "ChannelTalkingStarted",
    /// Talk detection: talking finished.
    ChannelTalkingFinished = "ChannelTalkingFinished",
    /// A tone was detected.
    ChannelToneDetected = "ChannelToneDetected",
    /// A user event.
    ChannelUserevent = "ChannelUserevent",
    /// A playback started.
    PlaybackStarted = "PlaybackStarted",
    /// A playback moved to the next media of its list.
    PlaybackContinuing = "PlaybackContinuing",
    /// A playback finished, was stopped or failed.
    PlaybackFinished = "PlaybackFinished",
    /// A recording started.
    RecordingStarted = "RecordingStarted",
    /// A recording finished.
    RecordingFinished = "RecordingFinished",
    /// A recording failed.
    RecordingFailed = "RecordingFailed",
    /// Dial progress of a leg.
    Dial = "Dial",
    /// A bridge was created.
    BridgeCreated = "BridgeCreated",
    /// A bridge was destroyed.
    BridgeDestroyed = "BridgeDestroyed",
    /// Two bridges were merged.
    BridgeMerged = "BridgeMerged",
    /// A blind transfer (e.g. a SIP REFER from a phone).
    BridgeBlindTransfer = "BridgeBlindTransfer",
    /// An attended transfer.
    BridgeAttendedTransfer = "BridgeAttendedTransfer",
    /// An endpoint snapshot changed.
    EndpointStateChange = "EndpointStateChange",
    /// A device state changed.
    DeviceStateChanged = "DeviceStateChanged",
    /// A peer's reachability changed.
    PeerStatusChange = "PeerStatusChange",
    /// A contact's status changed (register, unregister, qualify).
    ContactStatusChange = "ContactStatusChange",
    /// Another connection took over this app.
    ApplicationReplaced = "ApplicationReplaced",
    /// The app was registered (outbound WebSockets).
    ApplicationRegistered = "ApplicationRegistered",
    /// The app was unregistered.
    ApplicationUnregistered = "ApplicationUnregistered",
    /// Moving a channel to another app failed.
    ApplicationMoveFailed = "ApplicationMoveFailed",
    /// The answer to a REST request sent over the events socket.
    RestResponse = "RESTResponse",
}

impl Event {
    /// Reads a parsed frame. Unknown or unfitting payloads become [`Event::Other`].
    pub fn from_value(value: Value) -> Self {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if Self::MODELED.contains(&kind.as_str()) {
            match Typed::deserialize(&value) {
                Ok(typed) => return Self::from_typed(typed),
                // Kept rather than dropped: the call layer may still act on the raw frame.
                Err(e) => {
                    tracing::warn!(
                        ari.event = %kind,
                        error = %super::rest::without_values(&e.to_string()),
                        "ARI event did not match its model"
                    )
                }
            }
        }
        Event::Other { kind, raw: value }
    }

    /// The event as JSON (with `type`, without the envelope fields).
    pub fn to_value(&self) -> Value {
        match (self, self.as_typed()) {
            (_, Some(typed)) => serde_json::to_value(typed).unwrap_or(Value::Null),
            (Event::Other { raw, .. }, None) => raw.clone(),
            (_, None) => Value::Null,
        }
    }

    /// The channel the event is about, when it names one (the dialled `peer` for `Dial`).
    pub fn channel(&self) -> Option<&Channel> {
        match self {
            Event::StasisStart(e) => Some(&e.channel),
            Event::StasisEnd(e) => Some(&e.channel),
            Event::ChannelCreated(e) => Some(&e.channel),
            Event::ChannelStateChange(e) => Some(&e.channel),
            Event::ChannelDtmfReceived(e) => Some(&e.channel),
            Event::ChannelHangupRequest(e) => Some(&e.channel),
            Event::ChannelDestroyed(e) => Some(&e.channel),
            Event::ChannelEnteredBridge(e) => e.channel.as_ref(),
            Event::ChannelLeftBridge(e) => Some(&e.channel),
            Event::ChannelVarset(e) => e.channel.as_ref(),
            Event::ChannelDialplan(e) => Some(&e.channel),
            Event::ChannelCallerId(e) => Some(&e.channel),
            Event::ChannelConnectedLine(e) => Some(&e.channel),
            Event::ChannelHold(e) => Some(&e.channel),
            Event::ChannelUnhold(e) => Some(&e.channel),
            Event::ChannelTalkingStarted(e) => Some(&e.channel),
            Event::ChannelTalkingFinished(e) => Some(&e.channel),
            Event::ChannelToneDetected(e) => Some(&e.channel),
            Event::ChannelUserevent(e) => e.channel.as_ref(),
            Event::Dial(e) => Some(&e.peer),
            Event::BridgeBlindTransfer(e) => Some(&e.channel),
            Event::ApplicationMoveFailed(e) => Some(&e.channel),
            _ => None,
        }
    }
}
