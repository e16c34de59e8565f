//! The IVR interpreter (IVR-FLOWS.md §4, §8): a pure state machine per call.
//!
//! `(catalog, session, event, now) -> actions`. [`Session::handle`] takes one [`Event`] and
//! the current instant and returns the [`Action`]s the voice adapter executes: prompts to
//! play, timers to start, an HTTP request to make, a queue to join. It does no I/O, reads no
//! clock and draws no random numbers, so every path of a flow can be driven in a unit test.
//!
//! - `session.rs`: the session, the event dispatch, node entry and the guards (step budget,
//!   visit caps, `max_ivr_time`).
//! - `nodes.rs`: what each node type does on entry.
//! - `results.rs`: playback, key, timer, transfer, queue, directory and AI results.
//! - `input.rs`: `menu` and `gather` (attempts, tapered re-prompts, direct dial, validation,
//!   confirmation).
//! - `prompts.rs`: prompts to [`PlayItem`]s, templates and their filters.
//! - `http.rs`: the `http` node (egress rules, response cap, JSONPath `extract`).
//!
//! Ids: every playback and timer gets a fresh id, and events that carry a stale one are
//! ignored, so a `PlaybackFinished` racing a barge-in cannot advance the flow twice.
//!
//! Decisions where IVR-FLOWS.md leaves room:
//! - Prompts play to the end before the input timeout starts; any key stops a `menu` or
//!   `gather` prompt. Keys pressed during an `interruptible` `say` are kept for the next
//!   `menu`/`gather`, which then skips its prompt.
//! - A menu failure (timeout, wrong key) counts an attempt and plays the n-th tapered
//!   `on_timeout`/`on_invalid` prompt followed by `reprompt` (else the prompt); `@repeat`
//!   replays the full prompt without counting. A `gather`'s "no" to the read-back, or
//!   silence after it, counts an attempt and asks again without a complaint.
//! - Template values go into plain TTS text as they are (it is sent as text, so no markup is
//!   parsed) and are escaped in `ssml` prompts and percent-encoded in URLs. A prompt with a
//!   PII value is marked not cacheable; node events carry gathered digits masked.
//! - `{{secret.x}}` in HTTP headers is left for the adapter to fill in from its secret store.
//! - Guards: a visit cap goes to the node's `on_max_visits`; otherwise a breach (visit cap,
//!   step budget, `max_ivr_time`) goes to `defaults.on_error` once (with 20 extra steps so it
//!   can reach a person), and any later breach plays the apology and hangs up.
//!   `max_ivr_time` counts from the call's start, is checked on every event while the call is
//!   in the IVR (not while queued, ringing or recording), and a timer is started so a silent
//!   call is checked too.

mod http;
mod input;
mod nodes;
mod prompts;
mod results;
mod session;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::schedule::Force;

pub use prompts::{escape_ssml, luhn_valid, t9_digits};
pub use session::Session;

/// Largest HTTP response body the interpreter accepts (IVR-FLOWS.md §4 "HTTP node safety").
pub const MAX_HTTP_BODY: usize = 64 * 1024;
/// Longest extracted value kept from an HTTP response, in characters.
pub const MAX_EXTRACT_CHARS: usize = 500;

/// Platform settings a session runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionConfig {
    /// Egress allowlist for `http` nodes: exact host names, or `.example.com` for any
    /// subdomain of `example.com`.
    pub http_allow_hosts: Vec<String>,
    /// The tenant's extensions for dial-by-name.
    pub directory: Vec<DirectoryEntry>,
    /// Admin switches that beat a schedule (emergency closure, staying open late).
    pub schedule_force: BTreeMap<String, Force>,
}

/// One person in the dial-by-name directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Extension dialled on selection.
    pub extension: String,
}

/// Id of a playback, to match `PlaybackFinished` and `StopPlayback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PlaybackId(pub u32);

/// Id of a timer, to match `TimerFired` and `CancelTimer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TimerId(pub u32);

/// What the adapter reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A call arrived. `flow: None` resolves the flow from `did` through `routes.yaml`.
    Started {
        /// Flow to run, or `None` to route by DID.
        flow: Option<String>,
        /// Dialled number.
        did: String,
        /// Caller's number.
        caller: String,
        /// `voice` or a chat channel name.
        channel: String,
        /// Initial variables (the route's `set` is added when routing by DID).
        vars: BTreeMap<String, String>,
    },
    /// A `Play` ended by itself.
    PlaybackFinished(PlaybackId),
    /// A key was pressed.
    Dtmf(char),
    /// A timer ran out.
    TimerFired(TimerId),
    /// The HTTP request got a response (after any retries).
    HttpDone {
        /// Status code.
        status: u16,
        /// Response body, as received (the interpreter enforces the size cap).
        body: Vec<u8>,
    },
    /// The HTTP request failed without a response.
    HttpFailed {
        /// The timeout ran out (else a connection or TLS error).
        timed_out: bool,
    },
    /// Result of a `Transfer`.
    TransferResult(TransferOutcome),
    /// Result of an `Enqueue`.
    QueueResult(QueueOutcome),
    /// The voicemail was recorded (or the caller stopped).
    VoicemailDone,
    /// Result of a `Callback` registration.
    CallbackDone {
        /// Registered.
        ok: bool,
    },
    /// Result of a `Directory` search.
    DirectoryResult(DirectoryOutcome),
    /// Result of an `AiAgent` hand-over.
    AiResult(AiOutcome),
    /// The caller hung up.
    CallerHangup,
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// Connected: the call left the IVR.
    Answered,
    /// Rang out.
    NoAnswer,
    /// Busy.
    Busy,
    /// Could not be placed.
    Failed,
}

/// How waiting in a queue ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOutcome {
    /// An agent answered: the call left the IVR.
    Connected,
    /// `max_wait` passed.
    MaxWait,
    /// No agent is logged in.
    NoAgents,
    /// The queue is full.
    Full,
    /// The caller pressed one of `exit_keys`.
    ExitKey(char),
    /// The caller accepted the callback offer.
    CallbackAccepted,
}

/// How a directory search ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryOutcome {
    /// The caller chose this extension.
    Selected(String),
    /// Nobody matched.
    NotFound,
    /// The caller left the directory.
    Exit,
    /// The caller asked for the operator.
    Operator,
}

/// How an AI agent hand-over ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AiOutcome {
    /// The agent hands the caller to a human, with a reason.
    Handoff(String),
    /// The agent finished the conversation.
    Done,
    /// The agent failed.
    Error,
}

/// Text for TTS: plain text is sent as text (the provider parses no markup in it); SSML
/// has every template value escaped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speech {
    /// Plain text.
    Text(String),
    /// `<speak>…</speak>`.
    Ssml(String),
}

impl Speech {
    /// The text or markup.
    pub fn as_str(&self) -> &str {
        match self {
            Speech::Text(s) | Speech::Ssml(s) => s,
        }
    }
}

/// One piece of audio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlayItem {
    /// Synthesized speech.
    Tts {
        /// Text or SSML.
        speech: Speech,
        /// Voice profile (`voices.yaml`).
        voice: Option<String>,
        /// Offline profile for provider errors.
        fallback_voice: Option<String>,
        /// Language tag.
        language: String,
        /// False when a PII variable was substituted: such audio is never cached.
        cacheable: bool,
    },
    /// A recorded sound, tried as `sounds/<language>/<name>.*` for each language in order,
    /// then `sounds/<name>.*`.
    Sound {
        /// Name without extension, e.g. `acme/welcome`.
        name: String,
        /// Languages in fallback order.
        languages: Vec<String>,
    },
    /// Spoken digit by digit (ARI `digits:`).
    Digits(String),
    /// Spoken as a number (ARI `number:`).
    Number(i64),
    /// Silence, in milliseconds.
    Pause(u64),
}

/// An HTTP lookup for the adapter to perform. Already checked: https, allow-listed host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Rendered URL.
    pub url: String,
    /// Rendered headers; `{{secret.x}}` references are left for the adapter to fill from the
    /// secret store, so secrets never enter the session or its logs.
    pub headers: Vec<(String, String)>,
    /// Rendered body.
    pub body: Option<String>,
    /// Timeout, at most 10 s.
    pub timeout_ms: u64,
    /// Retries (0–1, GET only).
    pub retries: u32,
    /// Bodies above this are an error; the adapter may stop reading there.
    pub max_body_bytes: usize,
}

/// `callback` offer of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackOffer {
    /// Key that accepts.
    pub key: char,
    /// Offer prompt.
    pub prompt: Vec<PlayItem>,
    /// First offer after.
    pub offer_after_ms: Option<u64>,
    /// Repeat every.
    pub offer_every_ms: Option<u64>,
    /// Keep the queue position.
    pub keep_position: bool,
    /// Read the number back.
    pub confirm_number: bool,
    /// Number to call back.
    pub number: String,
    /// Dial attempts.
    pub max_attempts: Option<u32>,
    /// Between dial attempts.
    pub retry_delay_ms: Option<u64>,
}

/// Join an ACD queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnqueueRequest {
    /// Queue name.
    pub queue: String,
    /// 1 (most urgent) … 10.
    pub priority: u8,
    /// Required skills (rendered).
    pub skills: Vec<String>,
    /// Music on hold class.
    pub hold_music: Option<String>,
    /// Say the position this often.
    pub announce_position_every_ms: Option<u64>,
    /// Say the estimated wait.
    pub announce_estimated_wait: bool,
    /// Extra announcement.
    pub announce_prompt: Vec<PlayItem>,
    /// Callback offer.
    pub callback: Option<CallbackOffer>,
    /// Longest wait.
    pub max_wait_ms: Option<u64>,
    /// Keys that leave the queue.
    pub exit_keys: Vec<char>,
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Internal extension.
    Extension(String),
    /// E.164 number.
    Number(String),
    /// SIP URI.
    Sip(String),
}

/// Transfer the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferRequest {
    /// Destination.
    pub to: Destination,
    /// Caller id to present.
    pub caller_id: String,
    /// Ring time.
    pub ring_timeout_ms: u64,
    /// Played to the answering party.
    pub whisper: Vec<PlayItem>,
}

/// Voicemail greeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Greeting {
    /// The mailbox's unavailable greeting.
    Unavailable,
    /// The mailbox's busy greeting.
    Busy,
    /// A flow prompt.
    Prompt(Vec<PlayItem>),
}

/// Record a voicemail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoicemailRequest {
    /// Mailbox.
    pub mailbox: String,
    /// Greeting.
    pub greeting: Greeting,
    /// Longest message.
    pub max_length_ms: Option<u64>,
    /// Beep first.
    pub beep: bool,
    /// Transcribe.
    pub transcribe: bool,
}

/// Register a callback (the standalone `callback` node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackRequest {
    /// Queue the callback joins.
    pub queue: String,
    /// Number to call.
    pub number: String,
    /// Read the number back first.
    pub confirm_number: bool,
    /// Keep the queue position.
    pub keep_position: bool,
    /// Do not dial before this instant (the next opening of `not_before.schedule`).
    pub not_before: Option<DateTime<Utc>>,
    /// Dial attempts.
    pub max_attempts: Option<u32>,
    /// Between attempts.
    pub retry_delay_ms: Option<u64>,
}

/// Dial-by-name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryRequest {
    /// Directory name.
    pub directory: String,
    /// `last_name`, `first_name` or `both`.
    pub search: String,
    /// Digits before searching.
    pub min_digits: u32,
    /// Matches read out.
    pub max_results: u32,
    /// Confirm the match.
    pub confirm_match: bool,
    /// Say the extension.
    pub announce_extension: bool,
    /// The tenant's entries, from [`SessionConfig::directory`]; search them with
    /// [`t9_digits`].
    pub entries: Vec<DirectoryEntry>,
}

/// Hand the caller to an AI voice agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AiRequest {
    /// Agent name.
    pub agent: String,
    /// Opening prompt.
    pub greeting: Vec<PlayItem>,
    /// Variables passed in (PII included: the agent needs them; it is not a log).
    pub context: Vec<(String, String)>,
    /// Longest session.
    pub max_duration_ms: Option<u64>,
    /// Most turns.
    pub max_turns: Option<u32>,
    /// Key that leaves the agent.
    pub escape_key: Option<char>,
}

/// Why the interpreter hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupReason {
    /// A `hangup` node or `@hangup`.
    Flow,
    /// The DID has no route.
    Unrouted,
    /// A guard tripped with nowhere left to go; the apology was played.
    Guard,
}

/// The structured record of one executed node (§8 observability).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeEvent {
    /// Flow id.
    pub flow: String,
    /// Catalog version.
    pub version: String,
    /// Node id.
    pub node: String,
    /// Node type.
    pub node_type: String,
    /// The exit taken, e.g. `next`, `options.2`, `on_status.404`, `connected`.
    pub exit: String,
    /// Time spent in the node.
    pub duration_ms: u64,
    /// Digits entered, masked (`*` per digit) when they went into a PII variable.
    pub digits: Option<String>,
    /// Extra fact, e.g. an HTTP status or why a request was refused.
    pub detail: Option<String>,
}

/// A command for the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Play these items in order; report `PlaybackFinished(id)` at the end.
    Play {
        /// Playback id.
        id: PlaybackId,
        /// Items.
        items: Vec<PlayItem>,
    },
    /// Stop a playback (barge-in); no `PlaybackFinished` is expected for it.
    StopPlayback {
        /// Playback id.
        id: PlaybackId,
    },
    /// Start a timer; report `TimerFired(id)`.
    StartTimer {
        /// Timer id.
        id: TimerId,
        /// Delay.
        after_ms: u64,
    },
    /// Cancel a timer.
    CancelTimer {
        /// Timer id.
        id: TimerId,
    },
    /// Perform an HTTP request; report `HttpDone` or `HttpFailed`.
    Http(HttpRequest),
    /// Join a queue; report `QueueResult`.
    Enqueue(EnqueueRequest),
    /// Transfer; report `TransferResult`.
    Transfer(TransferRequest),
    /// Record a voicemail; report `VoicemailDone`.
    Voicemail(VoicemailRequest),
    /// Register a callback; report `CallbackDone`.
    Callback(CallbackRequest),
    /// Run dial-by-name; report `DirectoryResult`.
    Directory(DirectoryRequest),
    /// Hand over to an AI agent; report `AiResult`.
    AiAgent(AiRequest),
    /// End the call.
    Hangup {
        /// Why.
        reason: HangupReason,
    },
    /// Log this node record.
    NodeEvent(NodeEvent),
}
