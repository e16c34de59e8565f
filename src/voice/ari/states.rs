//! Enumerated strings of the ARI models (channel, playback, recording, endpoint and device
//! states). Values this version does not know are kept in `Other` rather than failing, since
//! Asterisk adds states in minor releases.

use serde::{Deserialize, Serialize};

/// Declares a string enumeration that round-trips unknown values through `Other`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know (kept as sent).
            Other(String),
        }

        impl $name {
            /// The wire text.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from(s.as_str()))
            }
        }
    };
}

string_enum! {
    /// `Channel.state`.
    ChannelState {
        /// Not off hook yet (created, not dialled).
        Down = "Down",
        /// Reserved.
        Rsrved = "Rsrved",
        /// Off hook.
        OffHook = "OffHook",
        /// Digits being dialled.
        Dialing = "Dialing",
        /// Inbound, ringing on our side (before answer).
        Ring = "Ring",
        /// Outbound, the far end is ringing.
        Ringing = "Ringing",
        /// Answered.
        Up = "Up",
        /// Line busy.
        Busy = "Busy",
        /// Off hook while dialling.
        DialingOffhook = "Dialing Offhook",
        /// Before ringing.
        PreRing = "Pre-ring",
        /// Asterisk does not know.
        Unknown = "Unknown",
    }
}

string_enum! {
    /// `Playback.state`.
    PlaybackState {
        /// Waiting behind another playback on the same channel.
        Queued = "queued",
        /// Playing.
        Playing = "playing",
        /// Moving on to the next URI of a list.
        Continuing = "continuing",
        /// Finished or stopped.
        Done = "done",
        /// The media could not be played.
        Failed = "failed",
    }
}

string_enum! {
    /// `LiveRecording.state`.
    RecordingState {
        /// Waiting for media (e.g. the beep).
        Queued = "queued",
        /// Recording.
        Recording = "recording",
        /// Paused.
        Paused = "paused",
        /// Stopped and kept.
        Done = "done",
        /// Failed.
        Failed = "failed",
        /// Cancelled and discarded.
        Canceled = "canceled",
    }
}

string_enum! {
    /// `Endpoint.state`.
    EndpointState {
        /// Not known (non-PJSIP technologies).
        Unknown = "unknown",
        /// No reachable contact.
        Offline = "offline",
        /// At least one reachable contact.
        Online = "online",
    }
}

string_enum! {
    /// `DeviceState.state`.
    DeviceStateValue {
        /// Unknown.
        Unknown = "UNKNOWN",
        /// Idle: can take a call.
        NotInuse = "NOT_INUSE",
        /// On a call.
        Inuse = "INUSE",
        /// Busy.
        Busy = "BUSY",
        /// No such device.
        Invalid = "INVALID",
        /// Not reachable (offline endpoint).
        Unavailable = "UNAVAILABLE",
        /// Ringing.
        Ringing = "RINGING",
        /// On a call and ringing.
        RingInuse = "RINGINUSE",
        /// On hold.
        OnHold = "ONHOLD",
    }
}
