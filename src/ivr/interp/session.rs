//! The per-call session: event dispatch, node entry, exits and the termination guards.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::http::Pending;
use super::input::Input;
use super::*;
use crate::ivr::catalog::{Catalog, FlowDef};
use crate::ivr::expr::{Expr, Value};
use crate::ivr::model::*;
use crate::ivr::parse_duration_ms;
use crate::schedule::Status;

/// Defaults of IVR-FLOWS.md §3 `limits`.
const DEFAULT_MAX_STEPS: u32 = 200;
const DEFAULT_MAX_VISITS: u32 = 10;
const DEFAULT_MAX_IVR_MS: u64 = 20 * 60_000;
/// Steps allowed after the step budget sent the call to `defaults.on_error`, so that node
/// can still reach a human.
const GRACE_STEPS: u32 = 20;
const DEFAULT_RING_MS: u64 = 30_000;
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
        let flow_id = match flow {
            Some(f) => Some(f),
            None => cat.route(&self.did).map(|m| {
                for (k, v) in m.vars {
                    vars.entry(k).or_insert(v);
                }
                m.flow
            }),
        };
        let Some(def) = flow_id.as_deref().and_then(|id| cat.flow(id)) else {
            // Unrouted: the unmatched prompt, then hang up.
            // No flow means no declared language; the unmatched prompt is the platform's.
            self.language = "en-US".to_owned();
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
        self.go(cat, start, now, out);
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

    fn goodbye(&mut self, items: Vec<PlayItem>, reason: HangupReason, out: &mut Vec<Action>) {
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
    fn finish(&mut self, out: &mut Vec<Action>) {
        if let Some(id) = self.guard_timer.take() {
            out.push(Action::CancelTimer { id });
        }
        self.wait = Wait::Done;
    }

    fn apologize(&mut self, out: &mut Vec<Action>) {
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
                    None => {
                        target = self.escalate(cat);
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

    /// Runs the current node: instant nodes record their exit and return where to go.
    fn run_node(
        &mut self,
        cat: &Catalog,
        node: &FlowNode,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) -> Step {
        match &node.kind {
            NodeKind::Say(s) => {
                let items =
                    self.render_prompt(cat, &s.prompt, s.voice.as_deref(), s.language.as_deref());
                let playback = self.play(items, out);
                self.wait = Wait::Say {
                    playback,
                    interruptible: s.interruptible,
                    next: s.next.clone(),
                };
                Step::Wait
            }
            NodeKind::Menu(_) | NodeKind::Gather(_) => self.enter_input(cat, now, out),
            NodeKind::Schedule(s) => {
                let force = self
                    .config
                    .schedule_force
                    .get(&s.schedule)
                    .copied()
                    .unwrap_or_default();
                let status = cat
                    .schedules()
                    .get(&s.schedule)
                    .map_or(Status::Closed, |c| c.status_with(now, force));
                let (leave, target) = match status {
                    Status::Open => (Leave::exit("open"), s.open.clone()),
                    Status::Closed => (Leave::exit("closed"), s.closed.clone()),
                    Status::Holiday(name) => (
                        Leave::exit("holiday").detail(name),
                        s.holiday.clone().unwrap_or_else(|| s.closed.clone()),
                    ),
                };
                self.record(cat, now, out, leave);
                Step::Go(Some(target))
            }
            NodeKind::Branch(b) => {
                let lookup = |name: &str| self.lookup(name);
                let mut chosen = None;
                for (i, case) in b.cases.iter().enumerate() {
                    match Expr::parse(&case.when) {
                        Ok(expr) if expr.eval(&lookup) => {
                            chosen =
                                Some((Leave::exit(format!("cases.{i}")), Some(case.goto.clone())));
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            chosen = Some((
                                Leave::exit("on_error").detail(format!("case {i}: {}", e.message)),
                                None,
                            ));
                            break;
                        }
                    }
                }
                let (leave, target) =
                    chosen.unwrap_or_else(|| (Leave::exit("default"), Some(b.default.clone())));
                self.record(cat, now, out, leave);
                Step::Go(target)
            }
            NodeKind::Set(s) => {
                let def = self.flow(cat);
                let mut values = Vec::new();
                for (name, template) in &s.vars {
                    let (text, _) = self.render_text(template, prompts::Mode::Plain);
                    let kind = def
                        .and_then(|d| d.var_type(name))
                        .unwrap_or(VarType::String);
                    match Value::coerce(kind, &text) {
                        Ok(v) => values.push((name.clone(), v)),
                        Err(e) => {
                            self.record(
                                cat,
                                now,
                                out,
                                Leave::exit("on_error").detail(format!("{name}: {e}")),
                            );
                            return Step::Go(None);
                        }
                    }
                }
                self.frame_mut().vars.extend(values);
                self.record(cat, now, out, Leave::exit("next"));
                Step::Go(Some(s.next.clone()))
            }
            NodeKind::SetLanguage(s) => {
                self.language = s.language.clone();
                if let Some(v) = s
                    .voice
                    .as_deref()
                    .or_else(|| cat.default_voice(&s.language))
                {
                    self.voice = Some(v.to_owned());
                }
                self.record(cat, now, out, Leave::exit("next"));
                Step::Go(Some(s.next.clone()))
            }
            NodeKind::Queue(q) => {
                let request = self.enqueue_request(cat, q);
                out.push(Action::Enqueue(request));
                self.wait = Wait::Queue;
                Step::Wait
            }
            NodeKind::Callback(c) => {
                let not_before = c.not_before.as_ref().and_then(|nb| {
                    let s = cat.schedules().get(&nb.schedule)?;
                    if s.status_at(now).is_open() {
                        None
                    } else {
                        s.next_open(now)
                    }
                });
                out.push(Action::Callback(CallbackRequest {
                    queue: c.queue.clone(),
                    number: self.number_of(c.number.as_ref()),
                    confirm_number: c.confirm_number,
                    keep_position: c.keep_position,
                    not_before,
                    max_attempts: c.max_attempts,
                    retry_delay_ms: c.retry_delay.as_deref().and_then(parse_duration_ms),
                }));
                self.wait = Wait::Callback;
                Step::Wait
            }
            NodeKind::Transfer(t) => {
                let to = if let Some(e) = &t.to.extension {
                    Destination::Extension(e.clone())
                } else if let Some(n) = &t.to.number {
                    Destination::Number(n.clone())
                } else {
                    Destination::Sip(t.to.sip.clone().unwrap_or_default())
                };
                let caller_id = match t.caller_id.as_deref() {
                    None | Some("caller") => self.caller.clone(),
                    Some("did") => self.did.clone(),
                    Some(other) => other.to_owned(),
                };
                let whisper = t
                    .whisper
                    .as_ref()
                    .map(|p| self.render_prompt(cat, p, None, None))
                    .unwrap_or_default();
                out.push(Action::Transfer(TransferRequest {
                    to,
                    caller_id,
                    ring_timeout_ms: t
                        .ring_timeout
                        .as_deref()
                        .and_then(parse_duration_ms)
                        .unwrap_or(DEFAULT_RING_MS),
                    whisper,
                }));
                self.wait = Wait::Transfer { direct: false };
                Step::Wait
            }
            NodeKind::Voicemail(v) => {
                let greeting = match &v.greeting {
                    None => Greeting::Unavailable,
                    Some(Prompt::Text(t)) if t == "unavailable" => Greeting::Unavailable,
                    Some(Prompt::Text(t)) if t == "busy" => Greeting::Busy,
                    Some(p) => Greeting::Prompt(self.render_prompt(cat, p, None, None)),
                };
                out.push(Action::Voicemail(VoicemailRequest {
                    mailbox: v.mailbox.clone(),
                    greeting,
                    max_length_ms: v.max_length.as_deref().and_then(parse_duration_ms),
                    beep: v.beep.unwrap_or(true),
                    transcribe: v.transcribe.unwrap_or(false),
                }));
                self.wait = Wait::Voicemail;
                Step::Wait
            }
            NodeKind::Directory(d) => {
                out.push(Action::Directory(DirectoryRequest {
                    directory: d.directory.clone(),
                    search: d.search.clone().unwrap_or_else(|| "last_name".into()),
                    min_digits: d.min_digits.unwrap_or(3),
                    max_results: d.max_results.unwrap_or(5),
                    confirm_match: d.confirm_match.unwrap_or(true),
                    announce_extension: d.announce_extension.unwrap_or(false),
                    entries: self.config.directory.clone(),
                }));
                self.wait = Wait::Directory;
                Step::Wait
            }
            NodeKind::AiAgent(a) => {
                let greeting = a
                    .greeting
                    .as_ref()
                    .map(|p| self.render_prompt(cat, p, None, None))
                    .unwrap_or_default();
                let context = a
                    .context
                    .iter()
                    .flat_map(|c| &c.vars)
                    .map(|name| {
                        let text = self.lookup(name).map(|v| v.to_text()).unwrap_or_default();
                        (name.clone(), text)
                    })
                    .collect();
                out.push(Action::AiAgent(AiRequest {
                    agent: a.agent.clone(),
                    greeting,
                    context,
                    max_duration_ms: a.max_duration.as_deref().and_then(parse_duration_ms),
                    max_turns: a.max_turns,
                    escape_key: a.escape_key.as_deref().and_then(|k| k.chars().next()),
                }));
                self.wait = Wait::Ai;
                Step::Wait
            }
            NodeKind::Http(h) => self.enter_http(cat, h, now, out),
            NodeKind::Goto(g) => {
                if let Some(t) = &g.target {
                    self.record(cat, now, out, Leave::exit("target"));
                    return Step::Go(Some(t.clone()));
                }
                let flow_id = g.flow.clone().unwrap_or_default();
                self.record(cat, now, out, Leave::exit("flow").detail(flow_id.clone()));
                let Some(def) = cat.flow(&flow_id) else {
                    return Step::Go(Some("@apology".into()));
                };
                // A tail call: the new flow replaces this one; the return stack stays.
                let frame = new_frame(def, &BTreeMap::new());
                *self.frame_mut() = frame;
                Step::Go(def.header.start.clone())
            }
            NodeKind::Subflow(s) => {
                self.record(cat, now, out, Leave::exit("call").detail(s.flow.clone()));
                let Some(def) = cat.flow(&s.flow) else {
                    return Step::Go(None);
                };
                let params: BTreeMap<String, String> = s
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), self.render_text(v, prompts::Mode::Plain).0))
                    .collect();
                self.frames.push(new_frame(def, &params));
                Step::Go(def.header.start.clone())
            }
            NodeKind::Return(r) => {
                self.record(cat, now, out, Leave::exit("return").detail(r.value.clone()));
                if self.frames.len() < 2 {
                    return Step::Go(Some("@hangup".into()));
                }
                self.frames.pop();
                let target = match self.node(cat).map(|n| &n.kind) {
                    Some(NodeKind::Subflow(s)) => s.returns.get(&r.value).cloned(),
                    _ => None,
                };
                if target.is_some() {
                    let exit = format!("returns.{}", r.value);
                    self.record(cat, now, out, Leave::exit(exit));
                } else {
                    self.record(
                        cat,
                        now,
                        out,
                        Leave::exit("on_error")
                            .detail(format!("no target for return value '{}'", r.value)),
                    );
                }
                Step::Go(target)
            }
            NodeKind::Hangup(h) => {
                self.record(cat, now, out, Leave::exit("hangup"));
                let items = h
                    .prompt
                    .as_ref()
                    .map(|p| self.render_prompt(cat, p, None, None))
                    .unwrap_or_default();
                self.goodbye(items, HangupReason::Flow, out);
                Step::Wait
            }
        }
    }

    fn number_of(&self, number: Option<&ValueOrFrom>) -> String {
        match number {
            None => self.caller.clone(),
            Some(ValueOrFrom::Value(v)) if v == "caller" => self.caller.clone(),
            Some(ValueOrFrom::Value(v)) => v.clone(),
            Some(ValueOrFrom::From { from }) => {
                self.lookup(from).map(|v| v.to_text()).unwrap_or_default()
            }
        }
    }

    fn enqueue_request(&self, cat: &Catalog, q: &crate::ivr::model::Queue) -> EnqueueRequest {
        let priority = match &q.priority {
            None => 5,
            Some(ValueOrFrom::Value(v)) => v.trim().parse().unwrap_or(5),
            Some(ValueOrFrom::From { from }) => match self.lookup(from) {
                Some(Value::Int(i)) => i,
                Some(v) => v.to_text().trim().parse().unwrap_or(5),
                None => 5,
            },
        }
        .clamp(1, 10) as u8;
        let callback = q.callback.as_ref().map(|c| CallbackOffer {
            key: c
                .key
                .as_deref()
                .and_then(|k| k.chars().next())
                .unwrap_or('1'),
            prompt: c
                .prompt
                .as_ref()
                .map(|p| self.render_prompt(cat, p, None, None))
                .unwrap_or_default(),
            offer_after_ms: c.offer_after.as_deref().and_then(parse_duration_ms),
            offer_every_ms: c.offer_every.as_deref().and_then(parse_duration_ms),
            keep_position: c.keep_position,
            confirm_number: c.confirm_number,
            number: self.number_of(c.number.as_ref()),
            max_attempts: c.max_attempts,
            retry_delay_ms: c.retry_delay.as_deref().and_then(parse_duration_ms),
        });
        let announce = q.announce.clone().unwrap_or_default();
        EnqueueRequest {
            queue: q.queue.clone(),
            priority,
            skills: q
                .skills
                .iter()
                .map(|s| self.render_text(s, prompts::Mode::Plain).0)
                .filter(|s| !s.is_empty())
                .collect(),
            hold_music: q.hold_music.clone(),
            announce_position_every_ms: announce
                .position_every
                .as_deref()
                .and_then(parse_duration_ms),
            announce_estimated_wait: announce.estimated_wait,
            announce_prompt: announce
                .prompt
                .as_ref()
                .map(|p| self.render_prompt(cat, p, None, None))
                .unwrap_or_default(),
            callback,
            max_wait_ms: q.max_wait.as_deref().and_then(parse_duration_ms),
            exit_keys: q
                .exit_keys
                .keys()
                .filter_map(|k| k.chars().next())
                .collect(),
        }
    }

    // ---- events ----

    fn on_playback(
        &mut self,
        cat: &Catalog,
        id: PlaybackId,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        match &self.wait {
            Wait::Say { playback, next, .. } if *playback == id => {
                let next = next.clone();
                self.leave(cat, now, out, Leave::exit("next"), Some(next));
            }
            Wait::Goodbye { playback, reason } if *playback == id => {
                out.push(Action::Hangup { reason: *reason });
                self.wait = Wait::Done;
            }
            Wait::Input(_) => self.input_playback_done(cat, id, out),
            Wait::Http(p) if p.filler_playback == Some(id) => {
                if let Wait::Http(p) = &mut self.wait {
                    p.filler_playback = None;
                }
            }
            _ => {}
        }
    }

    fn on_dtmf(&mut self, cat: &Catalog, digit: char, now: DateTime<Utc>, out: &mut Vec<Action>) {
        match &self.wait {
            Wait::Say {
                playback,
                interruptible: true,
                next,
            } => {
                let (playback, next) = (*playback, next.clone());
                out.push(Action::StopPlayback { id: playback });
                self.buffer.push(digit);
                self.leave(
                    cat,
                    now,
                    out,
                    Leave::exit("next").detail("interrupted"),
                    Some(next),
                );
            }
            Wait::Input(_) => self.input_digit(cat, digit, now, out),
            _ => {}
        }
    }

    fn on_timer(&mut self, cat: &Catalog, id: TimerId, now: DateTime<Utc>, out: &mut Vec<Action>) {
        match &self.wait {
            Wait::Input(i) if i.timer == Some(id) => self.input_timeout(cat, now, out),
            Wait::Http(p) if p.filler_timer == Some(id) => self.http_filler(cat, out),
            _ => {}
        }
    }

    fn on_transfer(
        &mut self,
        cat: &Catalog,
        r: TransferOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let Wait::Transfer { direct } = self.wait else {
            return;
        };
        if r == TransferOutcome::Answered {
            if !direct {
                self.record(cat, now, out, Leave::exit("answered"));
            }
            self.finish(out);
            return;
        }
        let exit = match r {
            TransferOutcome::NoAnswer => "on_no_answer",
            TransferOutcome::Busy => "on_busy",
            _ => "on_failure",
        };
        let target = match (direct, self.node(cat).map(|n| &n.kind)) {
            (false, Some(NodeKind::Transfer(t))) => match r {
                TransferOutcome::NoAnswer => t.on_no_answer.clone(),
                TransferOutcome::Busy => t.on_busy.clone(),
                _ => t.on_failure.clone(),
            },
            _ => None,
        };
        if direct {
            self.go(cat, target, now, out);
        } else {
            self.leave(cat, now, out, Leave::exit(exit), target);
        }
    }

    fn on_queue(
        &mut self,
        cat: &Catalog,
        r: QueueOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait != Wait::Queue {
            return;
        }
        let Some(NodeKind::Queue(q)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (exit, target) = match r {
            QueueOutcome::Connected => {
                self.record(cat, now, out, Leave::exit("connected"));
                self.finish(out);
                return;
            }
            QueueOutcome::MaxWait => ("on_max_wait".to_owned(), q.on_max_wait.clone()),
            QueueOutcome::NoAgents => ("on_no_agents".to_owned(), q.on_no_agents.clone()),
            QueueOutcome::Full => ("on_full".to_owned(), q.on_full.clone()),
            QueueOutcome::ExitKey(k) => (
                format!("exit_keys.{k}"),
                q.exit_keys.get(&k.to_string()).cloned(),
            ),
            QueueOutcome::CallbackAccepted => (
                "callback.next".to_owned(),
                Some(
                    q.callback
                        .as_ref()
                        .and_then(|c| c.next.clone())
                        .unwrap_or_else(|| "@hangup".into()),
                ),
            ),
        };
        self.leave(cat, now, out, Leave::exit(exit), target);
    }

    fn on_directory(
        &mut self,
        cat: &Catalog,
        r: DirectoryOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait != Wait::Directory {
            return;
        }
        let Some(NodeKind::Directory(d)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (exit, target) = match r {
            DirectoryOutcome::Selected(extension) => {
                self.record(
                    cat,
                    now,
                    out,
                    Leave::exit("selected").detail(extension.clone()),
                );
                out.push(Action::Transfer(TransferRequest {
                    to: Destination::Extension(extension),
                    caller_id: self.caller.clone(),
                    ring_timeout_ms: DEFAULT_RING_MS,
                    whisper: Vec::new(),
                }));
                self.wait = Wait::Transfer { direct: true };
                return;
            }
            DirectoryOutcome::NotFound => ("on_not_found", d.on_not_found.clone()),
            DirectoryOutcome::Exit => ("on_exit", d.on_exit.clone()),
            DirectoryOutcome::Operator => ("on_operator", d.on_operator.clone()),
        };
        self.leave(cat, now, out, Leave::exit(exit), target);
    }

    fn on_ai(&mut self, cat: &Catalog, r: AiOutcome, now: DateTime<Utc>, out: &mut Vec<Action>) {
        if self.wait != Wait::Ai {
            return;
        }
        let Some(NodeKind::AiAgent(a)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (leave, target) = match r {
            AiOutcome::Handoff(reason) => {
                let target = match &a.on_handoff {
                    Some(Handoff::Target(t)) => Some(t.clone()),
                    Some(Handoff::ByReason(map)) => {
                        map.get(&reason).or_else(|| map.get("default")).cloned()
                    }
                    None => None,
                };
                (
                    Leave::exit("on_handoff").detail(reason),
                    target.or_else(|| a.on_error.clone()),
                )
            }
            AiOutcome::Done => (
                Leave::exit("on_done"),
                Some(a.on_done.clone().unwrap_or_else(|| "@hangup".into())),
            ),
            AiOutcome::Error => (Leave::exit("on_error"), a.on_error.clone()),
        };
        self.leave(cat, now, out, leave, target);
    }
}

/// A frame at a flow's start: declared defaults, then the given values (typed; a value that
/// does not fit its type is dropped rather than failing the call).
fn new_frame(def: &FlowDef, given: &BTreeMap<String, String>) -> Frame {
    let mut vars = BTreeMap::new();
    for (name, decl) in &def.header.variables {
        let value = given
            .get(name)
            .or(decl.default.as_ref())
            .and_then(|text| Value::coerce(decl.kind, text).ok())
            .unwrap_or(Value::Null);
        vars.insert(name.clone(), value);
    }
    Frame {
        flow: def.id.clone(),
        node: def.header.start.clone().unwrap_or_default(),
        vars,
        menus: Vec::new(),
        pii: def
            .header
            .variables
            .iter()
            .filter(|(_, v)| v.pii)
            .map(|(k, _)| k.clone())
            .collect(),
    }
}
