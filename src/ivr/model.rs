//! The serde types admins write: flow files (§3, §4), prompts (§2), `routes.yaml` (§7) and
//! `voices.yaml` (§6). `schedules.yaml` is [`crate::schedule::ScheduleFile`].
//!
//! Durations stay strings here (`"6s"`); the validator parses them, so a bare `30` is
//! reported with its unit problem instead of as a type error.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A flow file's header; `nodes` are decoded one by one (see [`FlowNode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowHeader {
    /// Format version; only `1` exists.
    pub version: u32,
    /// Flow id; equals the file stem (`common/after-hours` for sub-folders).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `voice` and/or `chat`.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Languages every prompt must cover.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Flow-wide defaults.
    #[serde(default)]
    pub defaults: Option<Defaults>,
    /// Runtime guards.
    #[serde(default)]
    pub limits: Option<Limits>,
    /// Declared variables.
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    /// Entry node.
    #[serde(default)]
    pub start: Option<String>,
}

/// Where a flow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Phone calls.
    Voice,
    /// Chat channels.
    Chat,
}

/// `defaults:` of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Starting language.
    pub language: Option<String>,
    /// Voice profile from `voices.yaml`.
    pub voice: Option<String>,
    /// Input defaults for `menu` and `gather`.
    pub input: Option<InputDefaults>,
    /// Node used by every failure exit not given explicitly.
    pub on_error: Option<String>,
}

/// `defaults.input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputDefaults {
    /// Wait for the first digit.
    pub timeout: Option<String>,
    /// Wait between digits.
    pub inter_digit_timeout: Option<String>,
    /// Attempts before `on_max_attempts`.
    pub max_attempts: Option<u32>,
}

/// `limits:` of a flow (§8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Steps per call.
    pub max_steps: Option<u32>,
    /// Visits per node.
    pub max_visits_per_node: Option<u32>,
    /// Time in the IVR.
    pub max_ivr_time: Option<String>,
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Value type.
    #[serde(rename = "type")]
    pub kind: VarType,
    /// Masked in logs, never TTS-cached.
    #[serde(default)]
    pub pii: bool,
    /// Initial value.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    pub default: Option<String>,
}

/// Variable types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    /// Text.
    String,
    /// Digit string (leading zeros kept).
    Digits,
    /// Whole number.
    Integer,
    /// Decimal number.
    Number,
    /// true/false.
    Boolean,
    /// Calendar date.
    Date,
}

/// A prompt (§2): text, an object, a list, or a language map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Prompt {
    /// TTS text with `{{var}}` templates.
    Text(String),
    /// Played in order.
    List(Vec<Prompt>),
    /// `{text|ssml|sound|digits|number|pause: …}`.
    Part(PromptPart),
    /// `{en-US: <prompt>, es-US: <prompt>}`.
    // Language tags start with a 2–3 letter subtag, which no prompt-object key (`text`,
    // `sound`, …) is: without this an editor would accept a misspelt `{txt: …}` as a map.
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$" }))]
    Languages(BTreeMap<String, Prompt>),
}

/// The object forms of a prompt; exactly one of `text`, `ssml`, `sound`, `digits`, `number`,
/// `pause` is meant to be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptPart {
    /// TTS text.
    pub text: Option<String>,
    /// Voice profile for `text`.
    pub voice: Option<String>,
    /// Language tag for `text`.
    pub language: Option<String>,
    /// Raw SSML.
    pub ssml: Option<String>,
    /// Recorded sound, without extension.
    pub sound: Option<String>,
    /// Spoken digit by digit.
    pub digits: Option<String>,
    /// Spoken as a number.
    pub number: Option<String>,
    /// Silence, a duration.
    pub pause: Option<String>,
}

/// `on_timeout` / `on_invalid`: one prompt, or a tapered list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reprompt {
    /// Same prompt every time.
    pub prompt: Option<Prompt>,
    /// One prompt per attempt.
    pub prompts: Option<Vec<Prompt>>,
}

/// A value given literally or read from a variable (`{from: var}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ValueOrFrom {
    /// `{from: var}`.
    From {
        /// Variable name.
        from: String,
    },
    /// Literal text, e.g. `5` or `caller`.
    Value(#[schemars(schema_with = "super::schema::scalar")] String),
}

/// A flow node: shared fields plus its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowNode {
    /// Visit cap for this node (§8).
    pub max_visits: Option<u32>,
    /// Where to go when the cap is hit.
    pub on_max_visits: Option<String>,
    /// The type-specific part.
    pub kind: NodeKind,
}

/// Fields every node type accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Common {
    pub(crate) max_visits: Option<u32>,
    pub(crate) on_max_visits: Option<String>,
}

/// The node catalogue (§4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    /// `say` / `play`.
    Say(Say),
    /// DTMF menu.
    Menu(Menu),
    /// Collect digits.
    Gather(Gather),
    /// Hours check.
    Schedule(ScheduleNode),
    /// Condition.
    Branch(Branch),
    /// Assign variables.
    Set(SetNode),
    /// Switch language.
    SetLanguage(SetLanguage),
    /// ACD queue.
    Queue(Queue),
    /// Standalone callback.
    Callback(Callback),
    /// Transfer out.
    Transfer(Transfer),
    /// Voicemail.
    Voicemail(Voicemail),
    /// Dial-by-name.
    Directory(Directory),
    /// AI voice agent.
    AiAgent(AiAgent),
    /// HTTP lookup.
    Http(Http),
    /// Jump.
    Goto(Goto),
    /// Call a sub-flow.
    Subflow(Subflow),
    /// End a sub-flow.
    Return(Return),
    /// End the call.
    Hangup(Hangup),
}

/// The `type:` names, including the `play` alias.
pub const NODE_TYPES: &[&str] = &[
    "say",
    "play",
    "menu",
    "gather",
    "schedule",
    "branch",
    "set",
    "set_language",
    "queue",
    "callback",
    "transfer",
    "voicemail",
    "directory",
    "ai_agent",
    "http",
    "goto",
    "subflow",
    "return",
    "hangup",
];

/// `say`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Say {
    /// What to play.
    pub prompt: Prompt,
    /// DTMF stops playback and is buffered.
    #[serde(default)]
    pub interruptible: bool,
    /// Voice profile.
    pub voice: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Next node.
    pub next: String,
}

/// `direct_dial` of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectDial {
    /// Ranges such as `4000-4999` or single extensions.
    pub extensions: Vec<String>,
    /// What the digits dial.
    pub target_type: Option<String>,
}

/// `menu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    /// Menu prompt.
    pub prompt: Prompt,
    /// Key to target.
    pub options: BTreeMap<String, String>,
    /// First-digit wait.
    pub timeout: Option<String>,
    /// Between digits.
    pub inter_digit_timeout: Option<String>,
    /// Attempts.
    pub max_attempts: Option<u32>,
    /// Played on timeout.
    pub on_timeout: Option<Reprompt>,
    /// Played on a wrong key.
    pub on_invalid: Option<Reprompt>,
    /// Short re-prompt.
    pub reprompt: Option<Prompt>,
    /// Dial an extension directly.
    pub direct_dial: Option<DirectDial>,
    // `default` keeps it optional in the schema: `schema_with` hides the `Option` from schemars.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    /// Key that opens the directory.
    pub directory_key: Option<String>,
    /// After the last attempt.
    pub on_max_attempts: Option<String>,
}

/// `validate` of a gather.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatherValidate {
    /// Regex the digits must match.
    pub pattern: Option<String>,
    /// Luhn check digit.
    #[serde(default)]
    pub luhn: bool,
    /// Allowed values.
    pub one_of: Option<Vec<String>>,
    /// `"1-31"`.
    pub range: Option<String>,
}

/// `confirm` of a gather.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// Read-back prompt.
    pub prompt: Prompt,
    /// Key that confirms.
    #[schemars(schema_with = "super::schema::scalar")]
    pub yes_key: String,
    /// Key that retries.
    #[schemars(schema_with = "super::schema::scalar")]
    pub no_key: String,
}

/// `gather`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gather {
    /// Prompt.
    pub prompt: Prompt,
    /// Variable to fill.
    pub into: String,
    /// Most digits.
    pub max_digits: u32,
    /// Fewest digits.
    pub min_digits: Option<u32>,
    // `default` keeps it optional in the schema: `schema_with` hides the `Option` from schemars.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    /// Ends input (default `#`).
    pub finish_on_key: Option<String>,
    /// First-digit wait.
    pub timeout: Option<String>,
    /// Between digits.
    pub inter_digit_timeout: Option<String>,
    /// Checks on the digits.
    pub validate: Option<GatherValidate>,
    /// Read back and confirm.
    pub confirm: Option<Confirm>,
    /// Attempts.
    pub max_attempts: Option<u32>,
    /// Played on invalid input.
    pub on_invalid: Option<Reprompt>,
    /// Played on timeout.
    pub on_timeout: Option<Reprompt>,
    /// Next node.
    pub next: String,
    /// After the last attempt.
    pub on_max_attempts: Option<String>,
}

/// `schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleNode {
    /// Name in `schedules.yaml`.
    pub schedule: String,
    /// When open.
    pub open: String,
    /// When closed.
    pub closed: String,
    /// On a holiday (defaults to `closed`).
    pub holiday: Option<String>,
}

/// One `branch` case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Expression.
    pub when: String,
    /// Target when true.
    pub goto: String,
}

/// `branch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Checked in order.
    pub cases: Vec<Case>,
    /// When no case holds.
    pub default: String,
}

/// `set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNode {
    /// Name to template or literal.
    #[schemars(schema_with = "super::schema::scalar_map")]
    pub vars: BTreeMap<String, String>,
    /// Next node.
    pub next: String,
}

/// `set_language`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLanguage {
    /// New language.
    pub language: String,
    /// New voice.
    pub voice: Option<String>,
    /// Next node.
    pub next: String,
}

/// `announce` of a queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    /// Position every so often.
    pub position_every: Option<String>,
    /// Say the estimated wait.
    #[serde(default)]
    pub estimated_wait: bool,
    /// Extra prompt.
    pub prompt: Option<Prompt>,
}

/// `callback` offered while queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueCallback {
    /// First offer after.
    pub offer_after: Option<String>,
    /// Repeat offer.
    pub offer_every: Option<String>,
    // `default` keeps it optional in the schema: `schema_with` hides the `Option` from schemars.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    /// Key to accept.
    pub key: Option<String>,
    /// Offer prompt.
    pub prompt: Option<Prompt>,
    /// Keep the queue position.
    #[serde(default)]
    pub keep_position: bool,
    /// Read the number back.
    #[serde(default)]
    pub confirm_number: bool,
    /// Number to call.
    pub number: Option<ValueOrFrom>,
    /// Dial attempts.
    pub max_attempts: Option<u32>,
    /// Between attempts.
    pub retry_delay: Option<String>,
    /// After accepting.
    pub next: Option<String>,
}

/// One entry of a `queue` node's `skills`, `billing` or `billing:7`: the skill's name and the
/// least level an agent needs (1 when the entry names none).
pub fn skill_requirement(entry: &str) -> (&str, i64) {
    match entry.rsplit_once(':') {
        Some((name, level)) => match level.parse::<i64>() {
            Ok(level) => (name.trim(), level),
            Err(_) => (entry.trim(), 1),
        },
        None => (entry.trim(), 1),
    }
}

/// `queue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Queue name.
    pub queue: String,
    /// 1 (most urgent) … 10, or `{from: var}`.
    pub priority: Option<ValueOrFrom>,
    /// Required skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Music on hold class.
    pub hold_music: Option<String>,
    /// Announcements.
    pub announce: Option<Announce>,
    /// Callback offer.
    pub callback: Option<QueueCallback>,
    /// Longest wait.
    pub max_wait: Option<String>,
    /// Keys that leave the queue.
    #[serde(default)]
    pub exit_keys: BTreeMap<String, String>,
    /// After `max_wait`.
    pub on_max_wait: Option<String>,
    /// No agent logged in.
    pub on_no_agents: Option<String>,
    /// Queue full.
    pub on_full: Option<String>,
}

/// `not_before` of a callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotBefore {
    /// Only dial while this schedule is open.
    pub schedule: String,
}

/// `callback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// Queue the callback joins.
    pub queue: String,
    /// `caller` or `{from: var}`.
    pub number: Option<ValueOrFrom>,
    /// Read the number back.
    #[serde(default)]
    pub confirm_number: bool,
    /// Keep the queue position.
    #[serde(default)]
    pub keep_position: bool,
    /// Dial window.
    pub not_before: Option<NotBefore>,
    /// Dial attempts.
    pub max_attempts: Option<u32>,
    /// Between attempts.
    pub retry_delay: Option<String>,
    /// After registering.
    pub next: String,
    /// Registration failed.
    pub on_error: Option<String>,
}

/// `to` of a transfer: exactly one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferTo {
    // `default` keeps it optional in the schema: `schema_with` hides the `Option` from schemars.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    /// Internal extension.
    pub extension: Option<String>,
    /// E.164 number.
    pub number: Option<String>,
    /// SIP URI.
    pub sip: Option<String>,
}

impl TransferTo {
    /// Exactly one of the three is given, as the format requires.
    pub fn has_one_target(&self) -> bool {
        [&self.extension, &self.number, &self.sip]
            .iter()
            .filter(|v| v.is_some())
            .count()
            == 1
    }
}

/// `transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Destination.
    pub to: TransferTo,
    /// `caller`, `did` or an E.164 number.
    pub caller_id: Option<String>,
    /// Ring time.
    pub ring_timeout: Option<String>,
    /// Played to the answering party.
    pub whisper: Option<Prompt>,
    /// Not answered.
    pub on_no_answer: Option<String>,
    /// Busy.
    pub on_busy: Option<String>,
    /// Failed.
    pub on_failure: Option<String>,
}

/// `voicemail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    /// Mailbox.
    pub mailbox: String,
    /// `unavailable`, `busy` or a prompt.
    pub greeting: Option<Prompt>,
    /// Longest message.
    pub max_length: Option<String>,
    /// Beep before recording.
    pub beep: Option<bool>,
    /// Transcribe the message.
    pub transcribe: Option<bool>,
    /// After recording (default `@hangup`).
    pub next: Option<String>,
}

/// `directory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Directory name.
    pub directory: String,
    /// `last_name`, `first_name` or `both`.
    pub search: Option<String>,
    /// Digits before searching.
    pub min_digits: Option<u32>,
    /// Matches read out.
    pub max_results: Option<u32>,
    /// Confirm the match.
    pub confirm_match: Option<bool>,
    /// Say the extension.
    pub announce_extension: Option<bool>,
    /// Nobody found.
    pub on_not_found: Option<String>,
    /// Caller left.
    pub on_exit: Option<String>,
    /// Caller asked for the operator.
    pub on_operator: Option<String>,
}

/// `on_handoff`: one target, or one per reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Handoff {
    /// One target.
    Target(String),
    /// Reason to target.
    ByReason(BTreeMap<String, String>),
}

/// `context` of an AI agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiContext {
    /// Variables passed to the agent.
    #[serde(default)]
    pub vars: Vec<String>,
}

/// `ai_agent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiAgent {
    /// Agent name.
    pub agent: String,
    /// Opening prompt.
    pub greeting: Option<Prompt>,
    /// Context passed in.
    pub context: Option<AiContext>,
    /// Longest session.
    pub max_duration: Option<String>,
    /// Most turns.
    pub max_turns: Option<u32>,
    // `default` keeps it optional in the schema: `schema_with` hides the `Option` from schemars.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar")]
    /// DTMF key that leaves the agent.
    pub escape_key: Option<String>,
    /// Handoff to a human.
    pub on_handoff: Option<Handoff>,
    /// Agent finished.
    pub on_done: Option<String>,
    /// Agent failed.
    pub on_error: Option<String>,
}

/// `filler` of an http node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filler {
    /// Play after this long.
    pub after: String,
    /// What to play.
    pub prompt: Prompt,
}

/// A request body: text, or fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Body {
    /// Raw text with templates.
    Text(String),
    /// JSON object fields.
    Fields(BTreeMap<String, String>),
}

/// `http`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// HTTP method.
    pub method: HttpMethod,
    /// https URL with templates.
    pub url: String,
    /// Headers; may use `{{secret.x}}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    pub body: Option<Body>,
    /// Default 3s, at most 10s.
    pub timeout: Option<String>,
    /// 0–1, GET only.
    pub retries: Option<u32>,
    /// Variable to JSON path.
    #[serde(default)]
    pub extract: BTreeMap<String, String>,
    /// Played while waiting.
    pub filler: Option<Filler>,
    /// 2xx.
    pub on_success: Option<String>,
    /// Status to target.
    #[serde(default)]
    pub on_status: BTreeMap<String, String>,
    /// Failure.
    pub on_error: Option<String>,
    /// Timeout.
    pub on_timeout: Option<String>,
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// `goto`: `target` or `flow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Goto {
    /// Node in this flow.
    pub target: Option<String>,
    /// Another flow.
    pub flow: Option<String>,
}

/// `subflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subflow {
    /// Flow id.
    pub flow: String,
    /// Parameters.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar_map")]
    pub params: BTreeMap<String, String>,
    /// Return value to target.
    #[serde(default)]
    pub returns: BTreeMap<String, String>,
}

/// `return`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Return {
    /// Value handed to the caller's `returns`.
    pub value: String,
}

/// `hangup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hangup {
    /// Goodbye prompt.
    pub prompt: Option<Prompt>,
}

/// `routes.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    /// Format version.
    pub version: u32,
    /// Entry points.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// What unknown numbers get.
    pub unmatched: Option<Unmatched>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// What it matches.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Flow id.
    pub flow: String,
    /// Initial variables.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::scalar_map")]
    pub set: BTreeMap<String, String>,
    /// The line's name: shown with its calls on agents' phones and in the inbox, and the
    /// caller-ID name when this number is presented on calls out.
    pub caller_id_name: Option<String>,
    /// Where callers go when the flow cannot go on (its error path spent), instead of the
    /// platform's apology and hang-up.
    pub failover: Option<TransferTo>,
    /// Notes for admins on emergency calling for this number (the address registered with
    /// the carrier, who handles emergency calls); shown, never acted on.
    pub emergency_notes: Option<String>,
}

/// `match:` of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// Exact DID.
    pub did: Option<String>,
    /// DID prefix.
    pub did_prefix: Option<String>,
    /// Chat channel.
    pub channel: Option<String>,
    /// Chat inbox.
    pub inbox: Option<String>,
}

/// `unmatched:` of `routes.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unmatched {
    /// Played first.
    pub prompt: Option<Prompt>,
    /// `hangup` or a flow id.
    pub then: String,
}

/// `voices.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoicesFile {
    /// Format version.
    pub version: u32,
    /// Profiles by name.
    pub voices: BTreeMap<String, Voice>,
    /// Language to profile.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// Language to offline profile.
    #[serde(default)]
    pub fallback: BTreeMap<String, String>,
}

/// One TTS voice profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    /// `polly`, `espeak-ng`, …
    pub provider: String,
    /// Provider engine.
    pub engine: Option<String>,
    /// Provider voice id.
    pub voice_id: Option<String>,
    /// Local voice name.
    pub voice: Option<String>,
    /// Speaking rate.
    pub speed_wpm: Option<u32>,
    /// Language tag.
    pub language: String,
}
