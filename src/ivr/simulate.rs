//! `switchboard flows simulate`: a dry run of a flow through the real interpreter. It prints
//! what the caller would hear, each node taken with its exit, and where the call ends.
//!
//! The simulator plays the adapter's part: every prompt plays to its end, `wait` lets the
//! newest timer run out (and moves the clock by its delay), HTTP lookups are answered from
//! fixtures and never performed, and queue, transfer and other results come from tokens.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};

use super::catalog::Catalog;
use super::interp::*;
use super::model::NodeKind;

/// An answer for HTTP requests whose URL starts with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFixture {
    /// URL prefix.
    pub prefix: String,
    /// `Some(status, body)`, or `None` for a timeout.
    pub response: Option<(u16, Vec<u8>)>,
}

/// What the dry run starts with.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Flow id.
    pub flow: String,
    /// Dialled number; its route's `set` variables apply when it routes to `flow`.
    pub did: Option<String>,
    /// Caller's number.
    pub caller: String,
    /// Start instant.
    pub at: DateTime<Utc>,
    /// HTTP answers.
    pub http: Vec<HttpFixture>,
}

/// The tokens a script or the terminal may give.
pub const TOKENS_HELP: &str = "keys (e.g. 2 or 12345674#), wait (let the timeout run out), hangup, \
and results: connected max_wait no_agents full callback exit:K (queue); answered no_answer busy failed \
(transfer); done error (voicemail, callback, AI agent); handoff:REASON (AI agent); selected:EXT \
not_found operator leave (directory)";

/// The hosts of every `http` node, which a dry run treats as allow-listed (nothing is sent).
/// The hosts the flows of `cat` call, for when no egress allow-list is configured.
pub fn http_hosts(cat: &Catalog) -> Vec<String> {
    let mut hosts = Vec::new();
    for id in cat.flow_ids() {
        for node in cat.flow(id).into_iter().flat_map(|f| f.nodes.values()) {
            if let NodeKind::Http(h) = &node.kind
                && let Ok(url) = url::Url::parse(&h.url)
                && let Some(host) = url.host_str()
            {
                hosts.push(host.to_owned());
            }
        }
    }
    hosts
}

fn describe_items(items: &[PlayItem]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            PlayItem::Tts { speech, .. } => format!("\"{}\"", speech.as_str()),
            PlayItem::Sound { name, languages } => {
                format!("[sound {name} ({})]", languages.join(", "))
            }
            PlayItem::Digits(d) => format!("[digits {d}]"),
            PlayItem::Number(n) => format!("[number {n}]"),
            PlayItem::Pause(ms) => format!("[pause {ms}ms]"),
        })
        .collect()
}

fn queue_text(q: &EnqueueRequest) -> String {
    let skills = if q.skills.is_empty() {
        "none".to_owned()
    } else {
        q.skills.join(", ")
    };
    format!(
        "queued to {} (priority {}, skills: {skills})",
        q.queue, q.priority
    )
}

fn destination(to: &Destination) -> String {
    match to {
        Destination::Extension(e) => format!("extension {e}"),
        Destination::Number(n) => format!("number {n}"),
        Destination::Sip(s) => format!("SIP {s}"),
    }
}

/// What the call waits on outside the IVR's own prompts and timers.
enum Pending {
    Queue(String),
    Transfer(String),
    Voicemail(String),
    Callback(String),
    Directory,
    Ai(String),
}

fn result_event(pending: &Pending, token: &str) -> Option<Event> {
    let (word, arg) = token.split_once(':').unwrap_or((token, ""));
    Some(match (pending, word) {
        (Pending::Queue(_), "connected") => Event::QueueResult(QueueOutcome::Connected),
        (Pending::Queue(_), "max_wait") => Event::QueueResult(QueueOutcome::MaxWait),
        (Pending::Queue(_), "no_agents") => Event::QueueResult(QueueOutcome::NoAgents),
        (Pending::Queue(_), "full") => Event::QueueResult(QueueOutcome::Full),
        (Pending::Queue(_), "callback") => Event::QueueResult(QueueOutcome::CallbackAccepted),
        (Pending::Queue(_), "exit") => {
            Event::QueueResult(QueueOutcome::ExitKey(arg.chars().next()?))
        }
        (Pending::Transfer(_), "answered") => Event::TransferResult(TransferOutcome::Answered),
        (Pending::Transfer(_), "no_answer") => Event::TransferResult(TransferOutcome::NoAnswer),
        (Pending::Transfer(_), "busy") => Event::TransferResult(TransferOutcome::Busy),
        (Pending::Transfer(_), "failed") => Event::TransferResult(TransferOutcome::Failed),
        (Pending::Voicemail(_), "done") => Event::VoicemailDone,
        (Pending::Callback(_), "done") => Event::CallbackDone { ok: true },
        (Pending::Callback(_), "error") => Event::CallbackDone { ok: false },
        (Pending::Ai(_), "done") => Event::AiResult(AiOutcome::Done),
        (Pending::Ai(_), "error") => Event::AiResult(AiOutcome::Error),
        (Pending::Ai(_), "handoff") => Event::AiResult(AiOutcome::Handoff(arg.to_owned())),
        (Pending::Directory, "selected") => {
            Event::DirectoryResult(DirectoryOutcome::Selected(arg.to_owned()))
        }
        (Pending::Directory, "not_found") => Event::DirectoryResult(DirectoryOutcome::NotFound),
        (Pending::Directory, "operator") => Event::DirectoryResult(DirectoryOutcome::Operator),
        (Pending::Directory, "leave") => Event::DirectoryResult(DirectoryOutcome::Exit),
        _ => return None,
    })
}

/// The adapter's side of the dry run.
struct Sim<'a> {
    cat: &'a Catalog,
    session: Session,
    now: DateTime<Utc>,
    timers: Vec<(TimerId, u64)>,
    playing: Option<PlaybackId>,
    http: Option<HttpRequest>,
    pending: Option<Pending>,
    outcome: Option<String>,
    out: &'a mut dyn Write,
}

impl Sim<'_> {
    fn send(&mut self, event: Event) -> std::io::Result<()> {
        let actions = self.session.handle(self.cat, event, self.now);
        for action in actions {
            self.show(action)?;
        }
        Ok(())
    }

    fn show(&mut self, action: Action) -> std::io::Result<()> {
        let out = &mut *self.out;
        match action {
            Action::Play { id, items } => {
                self.playing = Some(id);
                for line in describe_items(&items) {
                    writeln!(out, "  hear   {line}")?;
                }
            }
            Action::StopPlayback { id } => {
                if self.playing == Some(id) {
                    self.playing = None;
                }
                writeln!(out, "  (playback stopped)")?;
            }
            Action::StartTimer { id, after_ms } => self.timers.push((id, after_ms)),
            Action::CancelTimer { id } => self.timers.retain(|(t, _)| *t != id),
            Action::Http(request) => {
                writeln!(
                    out,
                    "  http   {} {} (timeout {}ms, retries {})",
                    request.method, request.url, request.timeout_ms, request.retries
                )?;
                self.http = Some(request);
            }
            Action::Enqueue(q) => {
                let text = queue_text(&q);
                writeln!(out, "  queue  {text}")?;
                if let Some(cb) = &q.callback {
                    writeln!(out, "         callback offered on key {}", cb.key)?;
                }
                self.pending = Some(Pending::Queue(text));
            }
            Action::Transfer(t) => {
                let text = format!("transferred to {}", destination(&t.to));
                writeln!(out, "  call   {text} (caller id {})", t.caller_id)?;
                self.pending = Some(Pending::Transfer(text));
            }
            Action::Voicemail(v) => {
                let text = format!("voicemail to mailbox {}", v.mailbox);
                writeln!(out, "  call   {text}")?;
                if let Greeting::Prompt(items) = &v.greeting {
                    for line in describe_items(items) {
                        writeln!(out, "  hear   {line}")?;
                    }
                }
                self.pending = Some(Pending::Voicemail(text));
            }
            Action::Callback(c) => {
                let when = c
                    .not_before
                    .map_or_else(|| "now".to_owned(), |t| t.to_rfc3339());
                let text = format!(
                    "callback to {} via queue {} (not before {when})",
                    c.number, c.queue
                );
                writeln!(out, "  call   {text}")?;
                self.pending = Some(Pending::Callback(text));
            }
            Action::Directory(d) => {
                writeln!(out, "  call   dial-by-name in directory {}", d.directory)?;
                self.pending = Some(Pending::Directory);
            }
            Action::AiAgent(a) => {
                for line in describe_items(&a.greeting) {
                    writeln!(out, "  hear   {line}")?;
                }
                let text = format!("handed to AI agent {}", a.agent);
                writeln!(out, "  call   {text}")?;
                self.pending = Some(Pending::Ai(text));
            }
            Action::Hangup { reason } => {
                let why = match reason {
                    HangupReason::Flow => "the flow ends the call",
                    HangupReason::Unrouted => "the number has no route",
                    HangupReason::Guard => "a runtime guard ran out",
                };
                writeln!(out, "  call   hangup ({why})")?;
                self.outcome = Some(match self.outcome.take() {
                    Some(before) => format!("{before}, then hangup"),
                    None => "hangup".to_owned(),
                });
            }
            Action::NodeEvent(e) => {
                let mut line = format!("node   {} ({}) -> {}", e.node, e.node_type, e.exit);
                if let Some(d) = &e.digits {
                    line.push_str(&format!(" [keys {d}]"));
                }
                if let Some(d) = &e.detail {
                    line.push_str(&format!(" [{d}]"));
                }
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }

    fn answer_http(
        &mut self,
        request: HttpRequest,
        fixtures: &[HttpFixture],
    ) -> std::io::Result<()> {
        let fixture = fixtures.iter().find(|f| request.url.starts_with(&f.prefix));
        let event = match fixture {
            Some(HttpFixture {
                response: Some((status, body)),
                ..
            }) => {
                writeln!(
                    self.out,
                    "  http   answered from fixture: {status}, {} bytes",
                    body.len()
                )?;
                Event::HttpDone {
                    status: *status,
                    body: body.clone(),
                }
            }
            Some(HttpFixture { response: None, .. }) => {
                writeln!(self.out, "  http   fixture: timeout")?;
                Event::HttpFailed { timed_out: true }
            }
            None => {
                writeln!(
                    self.out,
                    "  http   not performed in a dry run and no --http fixture matches: treated as an error"
                )?;
                Event::HttpFailed { timed_out: false }
            }
        };
        self.send(event)
    }
}

/// Runs the dry run; `next_token` gives the caller's next move (`None`: no more input).
/// Returns the outcome line.
pub fn run(
    cat: &Catalog,
    options: &SimulateOptions,
    next_token: &mut dyn FnMut() -> Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<String> {
    let mut vars = BTreeMap::new();
    if let Some(did) = &options.did {
        match cat.route(did) {
            Some(route) if route.flow == options.flow => {
                for (k, v) in &route.vars {
                    writeln!(out, "route  {did} -> {} sets {k} = {v}", route.flow)?;
                }
                vars = route.vars;
            }
            Some(route) => writeln!(
                out,
                "note   {did} routes to '{}'; simulating '{}' as asked",
                route.flow, options.flow
            )?,
            None => writeln!(
                out,
                "note   {did} has no route: real callers would hear the unmatched prompt"
            )?,
        }
    }
    if cat.flow(&options.flow).is_none() {
        anyhow::bail!(
            "unknown flow '{}' (flows: {})",
            options.flow,
            cat.flow_ids().collect::<Vec<_>>().join(", ")
        );
    }
    let config = SessionConfig {
        http_allow_hosts: http_hosts(cat),
        ..SessionConfig::default()
    };
    let mut sim = Sim {
        cat,
        session: Session::new(config),
        now: options.at,
        timers: Vec::new(),
        playing: None,
        http: None,
        pending: None,
        outcome: None,
        out,
    };
    writeln!(
        sim.out,
        "simulate {} (version {}) at {}",
        options.flow,
        cat.version(),
        options.at.to_rfc3339()
    )?;
    sim.send(Event::Started {
        flow: Some(options.flow.clone()),
        did: options.did.clone().unwrap_or_default(),
        caller: options.caller.clone(),
        channel: "voice".into(),
        vars,
    })?;
    while !sim.session.is_finished() {
        if let Some(id) = sim.playing.take() {
            sim.send(Event::PlaybackFinished(id))?;
            continue;
        }
        if let Some(request) = sim.http.take() {
            sim.answer_http(request, &options.http)?;
            continue;
        }
        let Some(token) = next_token() else {
            break;
        };
        let token = token.trim().to_ascii_lowercase();
        if token.is_empty() {
            continue;
        }
        if token == "hangup" {
            writeln!(sim.out, "caller hangs up")?;
            sim.send(Event::CallerHangup)?;
            sim.outcome = Some("the caller hung up".into());
            break;
        }
        if let Some(pending) = &sim.pending
            && let Some(event) = result_event(pending, &token)
        {
            writeln!(sim.out, "result {token}")?;
            let pending = sim.pending.take();
            if let Some(
                Pending::Queue(text)
                | Pending::Transfer(text)
                | Pending::Voicemail(text)
                | Pending::Callback(text)
                | Pending::Ai(text),
            ) = pending
            {
                let connected = matches!(
                    event,
                    Event::QueueResult(QueueOutcome::Connected)
                        | Event::TransferResult(TransferOutcome::Answered)
                );
                sim.outcome = Some(if connected {
                    format!("{text}, connected")
                } else {
                    text
                });
            }
            sim.send(event)?;
            continue;
        }
        if token == "wait" {
            let Some((id, after)) = sim.timers.pop() else {
                writeln!(sim.out, "wait   (no timer is running)")?;
                continue;
            };
            writeln!(sim.out, "wait   {after}ms pass without a key")?;
            sim.now += TimeDelta::milliseconds(after as i64);
            sim.send(Event::TimerFired(id))?;
            continue;
        }
        if token
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            writeln!(sim.out, "press  {token}")?;
            for key in token.chars() {
                sim.send(Event::Dtmf(key))?;
            }
            continue;
        }
        writeln!(
            sim.out,
            "??     '{token}' means nothing here; tokens: {TOKENS_HELP}"
        )?;
    }
    let outcome = match (
        sim.session.is_finished(),
        sim.pending.take(),
        sim.outcome.take(),
    ) {
        (true, _, Some(o)) => o,
        (true, _, None) => "left the IVR".to_owned(),
        (
            false,
            Some(
                Pending::Queue(text)
                | Pending::Transfer(text)
                | Pending::Voicemail(text)
                | Pending::Callback(text)
                | Pending::Ai(text),
            ),
            _,
        ) => text,
        (false, Some(Pending::Directory), _) => "in the dial-by-name directory".to_owned(),
        (false, None, Some(o)) => o,
        (false, None, None) => {
            let (flow, node) = sim.session.position().unwrap_or(("?", "?"));
            format!("still in the IVR at {flow}/{node}, waiting for the caller (input ended)")
        }
    };
    writeln!(sim.out, "outcome: {outcome}")?;
    Ok(outcome)
}
