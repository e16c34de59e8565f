//! Parameters of the channel operations: what to originate, play, record, snoop on, and why
//! to hang up.

use std::collections::BTreeMap;

/// Where an originated channel goes once answered: our app (the default) or the dialplan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialplanTarget {
    /// Context.
    pub context: Option<String>,
    /// Extension.
    pub extension: Option<String>,
    /// Priority.
    pub priority: Option<i64>,
    /// Label (instead of priority).
    pub label: Option<String>,
}

/// `POST /channels`: create a channel and dial it at once. `StasisStart` arrives on answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Originate {
    /// Endpoint to call (`PJSIP/1001`).
    pub endpoint: String,
    /// Arguments given to the app in `StasisStart.args` (sent comma-joined, so no item may
    /// contain a comma).
    pub app_args: Vec<String>,
    /// Send the answered channel to the dialplan instead of our app.
    pub dialplan: Option<DialplanTarget>,
    /// Caller id shown to the callee: `"Name" <number>`.
    pub caller_id: Option<String>,
    /// Seconds to ring (Asterisk's default 30; -1 for none).
    pub timeout_secs: Option<i64>,
    /// Our id for the new channel (predictable ids survive a restart of our service).
    pub channel_id: Option<String>,
    /// Id of the second channel of a Local channel pair.
    pub other_channel_id: Option<String>,
    /// The caller's channel: ties codecs and linkedid to it.
    pub originator: Option<String>,
    /// Formats when there is no originator (`ulaw`, `alaw` …).
    pub formats: Vec<String>,
    /// Channel variables (dialplan functions such as `CALLERID(name)` work too).
    pub variables: BTreeMap<String, String>,
}

/// `POST /channels/create`: a channel in our app, not dialled yet (`StasisStart` at once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateChannel {
    /// Endpoint to call later with [`AriClient::dial`](super::AriClient::dial).
    pub endpoint: String,
    /// Arguments given to the app.
    pub app_args: Vec<String>,
    /// Our id for the channel.
    pub channel_id: Option<String>,
    /// Id of the second channel of a Local channel pair.
    pub other_channel_id: Option<String>,
    /// The caller's channel.
    pub originator: Option<String>,
    /// Formats when there is no originator.
    pub formats: Vec<String>,
    /// Channel variables (`CALLERID(num)` here: create has no caller id parameter).
    pub variables: BTreeMap<String, String>,
}

/// What to play and how (`play` on a channel or a bridge).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Play {
    /// Media URIs played in order: `sound:…`, `recording:…`, `tone:…`, `digits:…`,
    /// `sound:https://…`.
    pub media: Vec<String>,
    /// Language for `sound:` lookup and `number:`/`digits:`.
    pub lang: Option<String>,
    /// Start this far into the first media.
    pub offset_ms: Option<u32>,
    /// Skip length for forward/reverse control.
    pub skip_ms: Option<u32>,
    /// Our id for the playback (to stop it on DTMF without waiting for the answer).
    pub playback_id: Option<String>,
}

impl Play {
    /// One media URI with defaults.
    pub fn media(uri: impl Into<String>) -> Self {
        Play {
            media: vec![uri.into()],
            ..Play::default()
        }
    }
}

/// How to record (`record` on a channel or a bridge).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Recording name (may contain `/` for sub-folders).
    pub name: String,
    /// File format (`wav`).
    pub format: String,
    /// Stop after this many seconds (0: no limit).
    pub max_duration_secs: Option<u32>,
    /// Stop after this much silence (0: no limit).
    pub max_silence_secs: Option<u32>,
    /// `fail`, `overwrite` or `append`.
    pub if_exists: Option<String>,
    /// Play a beep first.
    pub beep: Option<bool>,
    /// `none`, `any`, `*` or `#`.
    pub terminate_on: Option<String>,
}

/// Audio direction for mute and snoop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Neither.
    None,
    /// Both ways.
    Both,
    /// Towards Asterisk (what the channel says).
    In,
    /// From Asterisk (what the channel hears).
    Out,
}

impl Direction {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::None => "none",
            Direction::Both => "both",
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// `POST /channels/{id}/snoop`: a channel that listens to (spy) or talks into (whisper)
/// another one, entering our app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snoop {
    /// What to hear.
    pub spy: Direction,
    /// Where to speak.
    pub whisper: Direction,
    /// Arguments given to the app.
    pub app_args: Vec<String>,
    /// Our id for the snoop channel.
    pub snoop_id: Option<String>,
}

/// `POST /channels/externalMedia`: a channel streaming audio to and from an outside engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalMedia {
    /// Our id for the channel.
    pub channel_id: Option<String>,
    /// `HOST:PORT` to stream to (or a `websocket_client.conf` id).
    pub external_host: String,
    /// Audio format (`ulaw`, `slin16` …).
    pub format: String,
    /// `rtp`, `audiosocket` or `none`.
    pub encapsulation: Option<String>,
    /// `udp`, `tcp` or `websocket`.
    pub transport: Option<String>,
    /// `client` or `server`.
    pub connection_type: Option<String>,
    /// `both`, `in` or `out`.
    pub direction: Option<String>,
    /// Extra data (AudioSocket UUID …).
    pub data: Option<String>,
    /// Transport data.
    pub transport_data: Option<String>,
    /// Channel variables.
    pub variables: BTreeMap<String, String>,
}

/// Why we hang up a channel (sent as `reason`; Asterisk turns it into a Q.850 cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupReason {
    /// 16.
    Normal,
    /// 17.
    Busy,
    /// 34.
    Congestion,
    /// 19.
    NoAnswer,
    /// 18.
    Timeout,
    /// 21.
    Rejected,
    /// 1.
    Unallocated,
    /// 31.
    NormalUnspecified,
    /// 28.
    NumberIncomplete,
    /// 58.
    CodecMismatch,
    /// 127.
    Interworking,
    /// 38.
    Failure,
    /// 26: another agent answered first.
    AnsweredElsewhere,
}

impl HangupReason {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupReason::Normal => "normal",
            HangupReason::Busy => "busy",
            HangupReason::Congestion => "congestion",
            HangupReason::NoAnswer => "no_answer",
            HangupReason::Timeout => "timeout",
            HangupReason::Rejected => "rejected",
            HangupReason::Unallocated => "unallocated",
            HangupReason::NormalUnspecified => "normal_unspecified",
            HangupReason::NumberIncomplete => "number_incomplete",
            HangupReason::CodecMismatch => "codec_mismatch",
            HangupReason::Interworking => "interworking",
            HangupReason::Failure => "failure",
            HangupReason::AnsweredElsewhere => "answered_elsewhere",
        }
    }
}
