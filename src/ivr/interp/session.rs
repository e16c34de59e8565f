//! The per-call session: event dispatch, node entry, exits and the termination guards.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::http::Pending;
use super::input::Input;
use super::nodes::{DEFAULT_RING_MS, new_frame};
use super::*;
use crate::ivr::catalog::{Catalog, FlowDef};
use crate::ivr::expr::Value;
use crate::ivr::model::*;
use crate::ivr::parse_duration_ms;

/// Defaults of IVR-FLOWS.md §3 `limits`.
const DEFAULT_MAX_STEPS: u32 = 200;
const DEFAULT_MAX_VISITS: u32 = 10;
const DEFAULT_MAX_IVR_MS: u64 = 20 * 60_000;
/// Steps allowed after the step budget sent the call to `defaults.on_error`, so that node
/// can still reach a human.
const GRACE_STEPS: u32 = 20;
/// The platform's last word when every guard is spent.
pub(super) const APOLOGY: &str =
    "We're sorry, we can't complete your call right now. Please call again later. Goodbye.";

/// One flow on the call stack (sub-flows push one).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    pub(super) flow: String,
    pub(super) node: String,
    pub(super) vars: BTreeMap<String, Value>,
    /// Menus that led here, for `@return`.
    pub(super) menus: Vec<String>,
    /// Variables declared `pii: true`.
    pub(super) pii: std::collections::BTreeSet<String>,
}

/// What the session waits for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Wait {
    NotStarted,
    Say {
        playback: PlaybackId,
        interruptible: bool,
        next: String,
    },
    Input(Input),
    Http(Pending),
    Queue,
    /// `direct`: dialled from a menu or picked in the directory, so failures take
    /// `defaults.on_error` rather than a transfer node's exits.
    Transfer {
        direct: bool,
    },
    Voicemail,
    Callback,
    Directory,
    Ai,
    /// Ringing the DID's `failover` after the flow gave up.
    Failover,
    Goodbye {
        playback: PlaybackId,
        reason: HangupReason,
    },
    Done,
}

/// How a node's run ended: it waits for an event, or it left towards a target (`None`: an
/// unset failure exit, which takes `defaults.on_error`).
pub(super) enum Step {
    Wait,
    Go(Option<String>),
}

/// The record of leaving a node.
#[derive(Debug, Clone, Default)]
pub(super) struct Leave {
    pub(super) exit: String,
    pub(super) digits: Option<String>,
    pub(super) detail: Option<String>,
}

impl Leave {
    pub(super) fn exit(exit: impl Into<String>) -> Leave {
        Leave {
            exit: exit.into(),
            ..Leave::default()
        }
    }
    pub(super) fn detail(mut self, detail: impl Into<String>) -> Leave {
        self.detail = Some(detail.into());
        self
    }
}

/// The state of one call in the IVR.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub(super) config: SessionConfig,
    pub(super) version: String,
    pub(super) frames: Vec<Frame>,
    pub(super) did: String,
    pub(super) caller: String,
    pub(super) channel: String,
    pub(super) language: String,
    pub(super) voice: Option<String>,
    pub(super) visits: BTreeMap<(String, String), u32>,
    pub(super) steps: u32,
    pub(super) max_steps: u32,
    pub(super) max_visits: u32,
    pub(super) max_ivr_ms: u64,
    pub(super) started_at: DateTime<Utc>,
    pub(super) node_started: DateTime<Utc>,
    pub(super) wait: Wait,
    /// DTMF pressed during an interruptible prompt, for the next `menu` or `gather`.
    pub(super) buffer: String,
    pub(super) next_id: u32,
    pub(super) http_status: Option<u16>,
    /// A guard already sent the call to `defaults.on_error`; the next breach apologizes.
    pub(super) escalated: bool,
    pub(super) guard_timer: Option<TimerId>,
    /// The DID's `failover`, until used: where the call goes instead of the apology.
    pub(super) failover: Option<Destination>,
}

impl Session {
    /// A session waiting for [`Event::Started`].
    pub fn new(config: SessionConfig) -> Session {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        Session {
            config,
            version: String::new(),
            frames: Vec::new(),
            did: String::new(),
            caller: String::new(),
            channel: String::new(),
            language: String::new(),
            voice: None,
            visits: BTreeMap::new(),
            steps: 0,
            max_steps: DEFAULT_MAX_STEPS,
            max_visits: DEFAULT_MAX_VISITS,
            max_ivr_ms: DEFAULT_MAX_IVR_MS,
            started_at: epoch,
            node_started: epoch,
            wait: Wait::NotStarted,
            buffer: String::new(),
            next_id: 0,
            http_status: None,
            escalated: false,
            guard_timer: None,
            failover: None,
        }
    }

    /// True once the call has left the IVR (connected, voicemail, hung up).
    pub fn is_finished(&self) -> bool {
        self.wait == Wait::Done
    }

    /// The flow and node the call is in.
    pub fn position(&self) -> Option<(&str, &str)> {
        self.frames
            .last()
            .map(|f| (f.flow.as_str(), f.node.as_str()))
    }

    /// A variable of the current flow.
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.frames.last()?.vars.get(name)
    }

    /// The call's current language.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The voice profile in effect (`set_language`'s `voice`, else the flow's default).
    pub fn voice(&self) -> Option<&str> {
        self.voice.as_deref()
    }

    /// True while the DID's `failover` rings because the flow gave up on the caller.
    pub fn failing_over(&self) -> bool {
        self.wait == Wait::Failover
    }

    /// True while the session waits for a [`Event::DirectoryResult`].
    pub fn awaits_directory(&self) -> bool {
        self.wait == Wait::Directory
    }

    /// Handles one event at `now` and returns what the adapter must do.
    pub fn handle(&mut self, cat: &Catalog, event: Event, now: DateTime<Utc>) -> Vec<Action> {
        let mut out = Vec::new();
        if self.wait == Wait::Done {
            return out;
        }
        if let Event::Started {
            flow,
            did,
            caller,
            channel,
            vars,
        } = event
        {
            if self.wait == Wait::NotStarted {
                self.start(cat, flow, did, caller, channel, vars, now, &mut out);
            }
            return out;
        }
        if self.wait == Wait::NotStarted {
            return out;
        }
        if event == Event::CallerHangup {
            self.record(cat, now, &mut out, Leave::exit("caller_hangup"));
            self.wait = Wait::Done;
            return out;
        }
        if self.in_ivr() && self.ivr_time_exceeded(now) {
            self.stop_waiting(&mut out);
            let limit = self.max_ivr_ms;
            self.record(
                cat,
                now,
                &mut out,
                Leave::exit("max_ivr_time").detail(format!("over {limit}ms in the IVR")),
            );
            let target = self.escalate(cat);
            self.go(cat, target, now, &mut out);
            return out;
        }
        match event {
            Event::PlaybackFinished(id) => self.on_playback(cat, id, now, &mut out),
            Event::Dtmf(digit) => self.on_dtmf(cat, digit, now, &mut out),
            Event::TimerFired(id) => self.on_timer(cat, id, now, &mut out),
            Event::HttpDone { status, body } => {
                self.http_result(cat, Ok((status, body)), now, &mut out)
            }
            Event::HttpFailed { timed_out } => self.http_result(cat, Err(timed_out), now, &mut out),
            Event::TransferResult(r) => self.on_transfer(cat, r, now, &mut out),
            Event::QueueResult(r) => self.on_queue(cat, r, now, &mut out),
            Event::VoicemailDone => {
                if self.wait == Wait::Voicemail {
                    let next = match &self.node(cat).map(|n| &n.kind) {
                        Some(NodeKind::Voicemail(v)) => v.next.clone(),
                        _ => None,
                    };
                    self.leave(
                        cat,
                        now,
                        &mut out,
                        Leave::exit("next"),
                        Some(next.unwrap_or_else(|| "@hangup".into())),
                    );
                }
            }
            Event::CallbackDone { ok } => {
                if self.wait == Wait::Callback
                    && let Some(NodeKind::Callback(c)) = self.node(cat).map(|n| &n.kind)
                {
                    let (leave, target) = if ok {
                        (Leave::exit("next"), Some(c.next.clone()))
                    } else {
                        (Leave::exit("on_error"), c.on_error.clone())
                    };
                    self.leave(cat, now, &mut out, leave, target);
                }
            }
            Event::DirectoryResult(r) => self.on_directory(cat, r, now, &mut out),
            Event::AiResult(r) => self.on_ai(cat, r, now, &mut out),
            Event::Started { .. } | Event::CallerHangup => {}
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        cat: &Catalog,
        flow: Option<String>,
        did: String,
        caller: String,
        channel: String,
        mut vars: BTreeMap<String, String>,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        self.version = cat.version().to_owned();
        self.started_at = now;
        self.node_started = now;
        self.did = did;
        self.caller = caller;
        self.channel = channel;
        let route = cat.route(&self.did);
        self.failover = route
            .as_ref()
            .and_then(|m| m.failover.as_ref())
            .map(super::nodes::destination);
        let mut unrouted = false;
        let flow_id = match flow {
            Some(f) => Some(f),
            None => match route {
                Some(m) => {
                    for (k, v) in m.vars {
                        vars.entry(k).or_insert(v);
                    }
                    Some(m.flow)
                }
                // `unmatched.then` may name a flow that takes unrouted calls.
                None => {
                    unrouted = true;
                    cat.unmatched_then()
                        .filter(|then| *then != "hangup")
                        .map(str::to_owned)
                }
            },
        };
        let Some(def) = flow_id.as_deref().and_then(|id| cat.flow(id)) else {
            // No flow means no declared language; the unmatched prompt is the platform's.
            self.language = "en-US".to_owned();
            self.voice = cat.default_voice(&self.language).map(str::to_owned);
            let items = cat
                .unmatched_prompt()
                .map(|p| self.render_prompt(cat, p, None, None))
                .unwrap_or_default();
            self.goodbye(items, HangupReason::Unrouted, out);
            return;
        };
        self.language = def.default_language().unwrap_or("en-US").to_owned();
        self.voice = def
            .header
            .defaults
            .as_ref()
            .and_then(|d| d.voice.clone())
            .or_else(|| cat.default_voice(&self.language).map(str::to_owned));
        if let Some(limits) = &def.header.limits {
            self.max_steps = limits.max_steps.unwrap_or(DEFAULT_MAX_STEPS);
            self.max_visits = limits.max_visits_per_node.unwrap_or(DEFAULT_MAX_VISITS);
            self.max_ivr_ms = limits
                .max_ivr_time
                .as_deref()
                .and_then(parse_duration_ms)
                .unwrap_or(DEFAULT_MAX_IVR_MS);
        }
        let frame = new_frame(def, &vars);
        self.frames.push(frame);
        let id = self.timer(self.max_ivr_ms, out);
        self.guard_timer = Some(id);
        let start = def.header.start.clone();
        let begin = out.len();
        self.go(cat, start, now, out);
        if unrouted && let Some(prompt) = cat.unmatched_prompt() {
            // The unmatched prompt leads the fallback flow's first prompt.
            let intro = self.render_prompt(cat, prompt, None, None);
            match out[begin..]
                .iter_mut()
                .find(|a| matches!(a, Action::Play { .. }))
            {
                Some(Action::Play { items, .. }) => {
                    items.splice(0..0, intro);
                }
                _ => {
                    let id = PlaybackId(self.fresh_id());
                    out.insert(begin, Action::Play { id, items: intro });
                }
            }
        }
    }

    // ---- helpers shared by the node modules ----

    pub(super) fn frame(&self) -> &Frame {
        self.frames.last().expect("a started session has a frame")
    }

    pub(super) fn frame_mut(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("a started session has a frame")
    }

    pub(super) fn flow<'c>(&self, cat: &'c Catalog) -> Option<&'c FlowDef> {
        cat.flow(&self.frames.last()?.flow)
    }

    pub(super) fn node<'c>(&self, cat: &'c Catalog) -> Option<&'c FlowNode> {
        self.flow(cat)?.nodes.get(&self.frames.last()?.node)
    }

    pub(super) fn fresh_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn play(&mut self, items: Vec<PlayItem>, out: &mut Vec<Action>) -> PlaybackId {
        let id = PlaybackId(self.fresh_id());
        out.push(Action::Play { id, items });
        id
    }

    pub(super) fn timer(&mut self, after_ms: u64, out: &mut Vec<Action>) -> TimerId {
        let id = TimerId(self.fresh_id());
        out.push(Action::StartTimer { id, after_ms });
        id
    }

    /// Values for templates and expressions: declared variables, `call.*`, `http.status`.
    pub(super) fn lookup(&self, name: &str) -> Option<Value> {
        match name.split_once('.') {
            Some(("call", field)) => Some(Value::Str(match field {
                "caller_number" => self.caller.clone(),
                "did" => self.did.clone(),
                "language" => self.language.clone(),
                "channel" => self.channel.clone(),
                "started_at" => self.started_at.to_rfc3339(),
                _ => return None,
            })),
            Some(("http", "status")) => self.http_status.map(|s| Value::Int(s.into())),
            Some(_) => None,
            None => self.frames.last()?.vars.get(name).cloned(),
        }
    }

    /// Why a value did not fit its variable's type, without the value when it is PII.
    pub(super) fn type_error(&self, name: &str, error: String) -> String {
        if self.frames.last().is_some_and(|f| f.pii.contains(name)) {
            format!("{name}: the value does not fit the variable's type (value masked: PII)")
        } else {
            format!("{name}: {error}")
        }
    }

    /// Emits the node event for leaving the current node.
    pub(super) fn record(
        &mut self,
        cat: &Catalog,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
        leave: Leave,
    ) {
        let Some(frame) = self.frames.last() else {
            return;
        };
        let node_type = self
            .node(cat)
            .map_or("unknown", |n| n.kind.type_name())
            .to_owned();
        out.push(Action::NodeEvent(NodeEvent {
            flow: frame.flow.clone(),
            version: self.version.clone(),
            node: frame.node.clone(),
            node_type,
            exit: leave.exit,
            duration_ms: (now - self.node_started).num_milliseconds().max(0) as u64,
            digits: leave.digits,
            detail: leave.detail,
        }));
        self.node_started = now;
    }

    /// Records the exit and goes to `target` (`None`: the flow's `defaults.on_error`).
    pub(super) fn leave(
        &mut self,
        cat: &Catalog,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
        leave: Leave,
        target: Option<String>,
    ) {
        self.record(cat, now, out, leave);
        self.go(cat, target, now, out);
    }

    /// Where a guard breach goes: `defaults.on_error` the first time, the apology after.
    fn escalate(&mut self, cat: &Catalog) -> Option<String> {
        if self.escalated {
            return Some("@apology".into());
        }
        self.escalated = true;
        Some(
            self.flow(cat)
                .and_then(FlowDef::on_error)
                .map_or_else(|| "@apology".to_owned(), str::to_owned),
        )
    }

    fn in_ivr(&self) -> bool {
        matches!(
            self.wait,
            Wait::Say { .. } | Wait::Input(_) | Wait::Http(_) | Wait::Callback | Wait::Directory
        )
    }

    fn ivr_time_exceeded(&self, now: DateTime<Utc>) -> bool {
        (now - self.started_at).num_milliseconds() >= self.max_ivr_ms as i64
    }

    /// Stops whatever the current node has running (prompt, timers).
    fn stop_waiting(&mut self, out: &mut Vec<Action>) {
        match &self.wait {
            Wait::Say { playback, .. } => out.push(Action::StopPlayback { id: *playback }),
            Wait::Input(i) => {
                if let Some(id) = i.playback {
                    out.push(Action::StopPlayback { id });
                }
                if let Some(id) = i.timer {
                    out.push(Action::CancelTimer { id });
                }
            }
            Wait::Http(p) => {
                if let Some(id) = p.filler_playback {
                    out.push(Action::StopPlayback { id });
                }
                if let Some(id) = p.filler_timer {
                    out.push(Action::CancelTimer { id });
                }
            }
            _ => {}
        }
    }

    pub(super) fn goodbye(
        &mut self,
        items: Vec<PlayItem>,
        reason: HangupReason,
        out: &mut Vec<Action>,
    ) {
        if let Some(id) = self.guard_timer.take() {
            out.push(Action::CancelTimer { id });
        }
        if items.is_empty() {
            out.push(Action::Hangup { reason });
            self.wait = Wait::Done;
        } else {
            let playback = self.play(items, out);
            self.wait = Wait::Goodbye { playback, reason };
        }
    }

    /// The call leaves the IVR (connected to a person or a mailbox).
    pub(super) fn finish(&mut self, out: &mut Vec<Action>) {
        if let Some(id) = self.guard_timer.take() {
            out.push(Action::CancelTimer { id });
        }
        self.wait = Wait::Done;
    }

    /// The flow gave up on the caller: the DID's failover takes them (once), else the
    /// platform's apology and hang-up.
    fn apologize(&mut self, out: &mut Vec<Action>) {
        if let Some(to) = self.failover.take() {
            if let Some(id) = self.guard_timer.take() {
                out.push(Action::CancelTimer { id });
            }
            out.push(Action::Transfer(TransferRequest {
                to,
                caller_id: self.caller.clone(),
                ring_timeout_ms: DEFAULT_RING_MS,
                whisper: Vec::new(),
            }));
            self.wait = Wait::Failover;
            return;
        }
        let item = PlayItem::Tts {
            speech: Speech::Text(APOLOGY.into()),
            voice: self.voice.clone(),
            fallback_voice: None,
            language: self.language.clone(),
            cacheable: true,
        };
        self.goodbye(vec![item], HangupReason::Guard, out);
    }

    /// Goes to a target and runs nodes until one waits for an event.
    pub(super) fn go(
        &mut self,
        cat: &Catalog,
        target: Option<String>,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let mut target = target;
        loop {
            let id = match target.take() {
                None => match self.flow(cat).and_then(FlowDef::on_error) {
                    Some(t) => t.to_owned(),
                    None => "@apology".to_owned(),
                },
                Some(t) => t,
            };
            let id = match id.as_str() {
                "@hangup" => {
                    self.goodbye(Vec::new(), HangupReason::Flow, out);
                    return;
                }
                "@apology" => {
                    self.apologize(out);
                    return;
                }
                "@return" => match self.frames.last_mut().and_then(|f| f.menus.pop()) {
                    Some(menu) => menu,
                    // No menu led here (IVR027 warns about this): `defaults.on_error`.
                    None => {
                        target = None;
                        continue;
                    }
                },
                "@repeat" => self.frame().node.clone(),
                _ => id,
            };
            self.frame_mut().node = id.clone();
            self.node_started = now;
            self.steps += 1;
            let flow_id = self.frame().flow.clone();
            let visits = self.visits.entry((flow_id, id.clone())).or_insert(0);
            *visits += 1;
            let visits = *visits;
            let Some(node) = self.node(cat) else {
                self.apologize(out);
                return;
            };
            let budget = self.max_steps + if self.escalated { GRACE_STEPS } else { 0 };
            if self.steps > budget {
                self.record(
                    cat,
                    now,
                    out,
                    Leave::exit("max_steps")
                        .detail(format!("step budget {} spent", self.max_steps)),
                );
                target = self.escalate(cat);
                continue;
            }
            let cap = node.max_visits.unwrap_or(self.max_visits);
            if visits > cap {
                self.record(
                    cat,
                    now,
                    out,
                    Leave::exit("on_max_visits").detail(format!("visit cap {cap} reached")),
                );
                target = match &node.on_max_visits {
                    Some(t) => Some(t.clone()),
                    None => self.escalate(cat),
                };
                continue;
            }
            match self.run_node(cat, node, now, out) {
                Step::Wait => return,
                Step::Go(next) => target = next,
            }
        }
    }
}
