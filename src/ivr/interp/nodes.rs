//! Running each node type: instant nodes compute their exit, the others issue their
//! action and wait for its result (see `results.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::session::{Frame, Leave, Step, Wait};
use super::*;
use crate::ivr::catalog::{Catalog, FlowDef};
use crate::ivr::expr::{Expr, Value};
use crate::ivr::model::*;
use crate::ivr::parse_duration_ms;
use crate::schedule::Status;

pub(super) const DEFAULT_RING_MS: u64 = 30_000;

impl Session {
    /// Runs the current node: instant nodes record their exit and return where to go.
    pub(super) fn run_node(
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
                            let why = self.type_error(name, e);
                            self.record(cat, now, out, Leave::exit("on_error").detail(why));
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
                let to = destination(&t.to);
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
}

/// A frame at a flow's start: declared defaults, then the given values (typed; a value that
/// does not fit its type is dropped rather than failing the call).
pub(super) fn new_frame(def: &FlowDef, given: &BTreeMap<String, String>) -> Frame {
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

/// A transfer's `to` (or a DID's `failover`), validated to hold exactly one of the three.
pub(super) fn destination(to: &TransferTo) -> Destination {
    if let Some(e) = &to.extension {
        Destination::Extension(e.clone())
    } else if let Some(n) = &to.number {
        Destination::Number(n.clone())
    } else {
        Destination::Sip(to.sip.clone().unwrap_or_default())
    }
}
