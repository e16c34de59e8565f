//! One call: the task that owns its state, runs the IVR interpreter over ARI, waits in a
//! queue as a routing contact, rings agents' phones and bridges the answering one.
//!
//! Everything about a call happens here, one input at a time: ARI events for its channels,
//! bridges, playbacks and recordings; routing decisions about its contact; its own timers.
//! A REST error concerns this call only: 404 means the channel is already gone (the events
//! saying so follow), anything else is logged on the call's timeline and the call carries on
//! down the flow's failure path, so the caller never sits in dead air.
//!
//! - `start.rs`: how a call begins (trunk, agent's phone, click-to-call, taken up after a
//!   restart).
//! - `queue.rs`: the lobby, announcements, exit keys, callbacks, routing's decisions.
//! - `legs.rs`: agents' phones, transfer targets, the customer of a callback; bridging.
//! - `voicemail.rs`: greeting, recording, fetching recordings into the data dir.
//! - `dial_by_name.rs`: the directory dialog over ARI (prompts, keys, its timer).
//! - `consult.rs`: what the agent does with a connected call (hold, blind and attended
//!   transfers, three-way calls).
//! - here: the task's loop, the interpreter's actions, prompts, events, hangups, the end.

mod consult;
mod dial_by_name;
mod forward;
mod legs;
mod queue;
mod start;
mod voicemail;

#[cfg(test)]
use start::phone_of;
pub(crate) use start::{Outbound, run_adopted, run_inbound, run_internal, run_outbound};
use start::{engine_priority, plain_request, skill_levels};

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{CallAction, Input, Shared, TransferTarget};
use crate::domain::TenantId;
use crate::ivr::interp::{
    self, Action, Destination, DirectoryOutcome, DirectoryRequest, EnqueueRequest, Greeting,
    HangupReason, PlayItem, PlaybackId, QueueOutcome, Session, SessionConfig, TimerId,
    TransferOutcome, TransferRequest, VoicemailRequest,
};
use crate::ivr::service::Published;
use crate::routing::service::{DeskHold, HoldOutcome};
use crate::routing::{AgentId, Command, ContactId, Event as RoutingEvent, OverflowReason};
use crate::store;
use crate::store::calls::{CallChange, NewCall};
use crate::voice::ari::models::Channel;
use crate::voice::ari::{
    self, AddChannel, AriClient, AriError, BridgeType, HangupReason as Cause, NewBridge, Originate,
    Play, Record,
};

/// Which server and key a call runs under.
pub(crate) struct Wiring {
    pub server: usize,
    pub server_name: String,
    pub client: AriClient,
    pub key: String,
}

/// What a leg we originated is for.
#[derive(Debug, Clone, PartialEq)]
enum LegKind {
    /// Ringing an agent for the queued caller.
    Offer { agent: i64 },
    /// A transfer destination.
    Transfer,
    /// The customer, called back once an agent took the callback (or called from the inbox).
    Customer,
    /// The agent's own phone, rung first for a call the agent places from the inbox.
    Dialer { agent: i64 },
    /// A colleague the agent consults while the caller holds.
    Consult,
}

#[derive(Debug, Clone)]
struct Leg {
    kind: LegKind,
    answered: bool,
    // We hung it up (withdrawn offer, lost race, call over): its end needs no reaction.
    dropped: bool,
}

#[derive(Debug, Clone)]
struct Queued {
    contact: i64,
    queue_id: i64,
    request: EnqueueRequest,
    record: bool,
    holding: String,
}

/// How long an offer to an agent whose phone was not rung (none, do-not-disturb,
/// unregistered, on another call) is held before it is declined. Routing's retry window (at
/// least a second) keeps this caller from that agent afterwards, but not the other callers
/// waiting: declined at once, the agent would be offered each of them in turn, straight away,
/// for nothing.
const PHONE_BUSY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Timer {
    Ivr(TimerId),
    QueueMaxWait,
    Announce,
    CallbackOffer,
    CallbackDue,
    Directory,
    // Decline the offer to this agent, whose phone was not rung (after a pause, so that a
    // queue with no retry window does not offer it again at once, in a loop).
    PhoneBusy(i64),
}

/// How the call is doing, for the row and the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Ivr,
    /// Dial-by-name: keys, prompts and the timer belong to the directory dialog.
    Directory,
    Queued,
    Transferring,
    Connected,
    Voicemail,
    /// The caller hung up after asking to be called back; the contact keeps its place.
    Callback,
    Ended,
}

/// How often a callback's customer is dialled before giving up, and how long apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CallbackTries {
    made: u32,
    max: u32,
    apart: Duration,
}

impl Default for CallbackTries {
    fn default() -> Self {
        CallbackTries {
            made: 0,
            max: 1,
            apart: Duration::from_secs(300),
        }
    }
}

impl CallbackTries {
    /// From a flow's `max_attempts` and `retry_delay` (5 minutes when only attempts are set).
    fn from_flow(max_attempts: Option<u32>, retry_delay_ms: Option<u64>) -> Self {
        let default = CallbackTries::default();
        CallbackTries {
            made: 0,
            max: max_attempts.unwrap_or(1).max(1),
            apart: retry_delay_ms.map_or(default.apart, Duration::from_millis),
        }
    }
}

struct Call {
    shared: Arc<Shared>,
    wiring: Wiring,
    tenant: TenantId,
    slug: String,
    call_id: i64,
    channel: String,
    caller: String,
    caller_name: String,
    did: String,
    /// The DID's line name (`caller_id_name` in routes.yaml).
    line_name: Option<String>,
    published: Arc<Published>,
    session: Session,
    stage: Stage,
    // Our playback id → the interpreter's.
    playing: HashMap<String, PlaybackId>,
    // Announcements and ringback we play ourselves (not the interpreter's).
    side_playbacks: HashSet<String>,
    timers: BTreeMap<Timer, Instant>,
    queued: Option<Queued>,
    legs: HashMap<String, Leg>,
    talk_bridge: Option<String>,
    // The agent (or transfer) leg the caller talks to.
    peer: Option<String>,
    // Whom a transfer under way rings, as the call log names it.
    transfer_to: Option<String>,
    // The extension a transfer under way rings, if it rings one: an agent's desk.
    transfer_extension: Option<String>,
    agent: Option<i64>,
    contact: Option<i64>,
    recording: Option<(i64, String)>,
    voicemail: Option<Voicemail>,
    directory: Option<dial_by_name::Directory>,
    seq: u32,
    caller_gone: bool,
    end_reason: Option<&'static str>,
    // The number to call back, once the caller accepted a callback.
    callback: Option<String>,
    callback_tries: CallbackTries,
    // Events for the interpreter, fed in order by `drain`.
    pending: VecDeque<interp::Event>,
    // Taken up after a restart: the flow's place is lost, so leaving the queue ends the call.
    adopted: bool,
    // Prompts with personal data, rendered for this call only; deleted when it ends.
    scratch: Vec<crate::tts::ScratchFile>,
    // Dialled from an agent's phone: no flow; failures hang up with their cause.
    internal: bool,
    // A call between phones to an extension with a voicemail box: where the caller may leave a
    // message when that phone is busy, does not answer or does not disturb.
    colleague_mailbox: Option<String>,
    // Out of the call bridge, hearing music on hold (held by the agent, or consulting).
    held: bool,
    consult: Option<consult::Consult>,
}

#[derive(Debug, Clone)]
struct Voicemail {
    request: VoicemailRequest,
    greeting: Option<String>,
    /// The stored row and the ARI recording's name, once recording.
    recording: Option<(store::calls::StoredRecording, String)>,
}

/// How a call found in Asterisk after a restart of our service is taken up again.
#[derive(Debug, Clone)]
pub(crate) enum Adoption {
    /// Its contact still waits: back to a lobby, in its place.
    Queued { contact: i64, queue: String },
    /// Talking to an agent (or a transfer target) on `peer` in bridge `talk`.
    Connected {
        contact: Option<i64>,
        agent: Option<i64>,
        peer: String,
        talk: String,
        /// The caller was on hold (or holding during a consultation), out of the bridge.
        held: bool,
    },
    /// The caller asked to be called back and hung up; the contact still waits.
    Callback { contact: i64, queue: String },
    /// Anywhere else (the flow, voicemail, a transfer ringing): the flow starts again.
    Restart,
}

impl Call {
    fn new(
        shared: Arc<Shared>,
        wiring: Wiring,
        tenant: TenantId,
        slug: String,
        row: &store::calls::CallRecord,
        published: Arc<Published>,
        config: SessionConfig,
    ) -> Self {
        Call {
            shared,
            tenant,
            slug,
            call_id: row.id,
            channel: row.channel_id.clone(),
            caller: row.caller.clone(),
            caller_name: String::new(),
            did: row.did.clone(),
            // Also for a call taken up after a restart, whose route is not at hand.
            line_name: (row.direction == "inbound")
                .then(|| published.catalog.route(&row.did))
                .flatten()
                .and_then(|m| m.caller_id_name),
            published,
            session: Session::new(config),
            stage: Stage::Ivr,
            playing: HashMap::new(),
            side_playbacks: HashSet::new(),
            timers: BTreeMap::new(),
            queued: None,
            legs: HashMap::new(),
            talk_bridge: None,
            peer: None,
            transfer_to: row.transferred_to.clone(),
            transfer_extension: None,
            agent: None,
            contact: None,
            recording: None,
            voicemail: None,
            directory: None,
            seq: 0,
            caller_gone: false,
            end_reason: None,
            callback: None,
            callback_tries: CallbackTries::default(),
            pending: VecDeque::new(),
            adopted: false,
            scratch: Vec::new(),
            internal: false,
            colleague_mailbox: None,
            held: false,
            consult: None,
            wiring,
        }
    }

    /// Media URIs for prompts; personal renditions are kept until the call ends (Asterisk
    /// fetches them while it plays them) and deleted with it.
    async fn media(&mut self, items: &[PlayItem]) -> (Vec<String>, Vec<super::MediaError>) {
        let catalog = self.published.catalog.clone();
        self.shared
            .deps
            .media
            .uris(&catalog, &self.slug, items, &mut self.scratch)
            .await
    }

    async fn play_side_items(&mut self, items: Vec<PlayItem>) {
        let (media, _) = self.media(&items).await;
        self.play_side(media).await;
    }

    /// A call of `row` with the session settings of its tenant.
    async fn open(
        shared: Arc<Shared>,
        wiring: Wiring,
        tenant: TenantId,
        slug: String,
        row: &store::calls::CallRecord,
        published: Arc<Published>,
    ) -> Self {
        let config = start::session_config(&shared, tenant, &published).await;
        Call::new(shared, wiring, tenant, slug, row, published, config)
    }

    /// Runs the tenant's flow for the number called, from its start.
    async fn start_flow(&mut self) {
        self.feed(interp::Event::Started {
            flow: None,
            did: self.did.clone(),
            caller: self.caller.clone(),
            channel: "voice".into(),
            vars: BTreeMap::new(),
        });
        self.drain().await;
    }

    fn client(&self) -> &AriClient {
        &self.wiring.client
    }

    fn next_id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("{}-{what}{}", self.wiring.key, self.seq)
    }

    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        while self.stage != Stage::Ended || self.legs.values().any(|l| !l.dropped) {
            let next = self.timers.values().min().copied();
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    None => break,
                },
                _ = async move {
                    match next {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => self.fire_timers().await,
            }
            if self.stage == Stage::Ended {
                // Legs we hung up are not waited for.
                self.legs.retain(|_, l| !l.dropped);
            }
        }
    }

    async fn on_input(&mut self, input: Input) {
        match input {
            Input::Ari(event) => self.on_ari(*event).await,
            Input::Routing(command) => self.on_routing(command).await,
            Input::Resync(alive, restarted) => self.resync(&alive, restarted).await,
            Input::Agent { action, reply } => {
                let result = self.on_agent_action(action).await;
                let _ = reply.send(result);
            }
        }
        self.drain().await;
    }

    async fn fire_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, _)| *t)
            .collect();
        for timer in due {
            self.timers.remove(&timer);
            match timer {
                Timer::Ivr(id) => self.feed(interp::Event::TimerFired(id)),
                Timer::QueueMaxWait => self.leave_queue(QueueOutcome::MaxWait, "max_wait").await,
                Timer::Announce => self.announce_position(None).await,
                Timer::CallbackOffer => self.offer_callback().await,
                Timer::Directory => self.directory_timer().await,
                Timer::PhoneBusy(agent) => {
                    if let Some(contact) = self.contact {
                        self.decline(contact, agent).await;
                    }
                }
                Timer::CallbackDue => {
                    if !self.release_callback().await {
                        self.event("callback_failed", json!({"why": "the queue refused it"}))
                            .await;
                    }
                }
            }
        }
        self.drain().await;
    }

    /// Feeds the interpreter and executes what it asks, until it waits for something.
    /// Queues an event for the interpreter; [`Self::drain`] feeds it. Nothing calls the
    /// interpreter re-entrantly, so an action that ends in another event (a failed transfer,
    /// leaving a queue) simply queues it.
    fn feed(&mut self, event: interp::Event) {
        self.pending.push_back(event);
    }

    /// Feeds the interpreter and executes what it asks, until it waits for something.
    async fn drain(&mut self) {
        while let Some(event) = self.pending.pop_front() {
            let catalog = self.published.catalog.clone();
            let actions = self.session.handle(&catalog, event, Utc::now());
            if self.stage == Stage::Directory && !self.session.awaits_directory() {
                self.abandon_directory().await;
            }
            for action in actions {
                if let Some(follow) = self.execute(action).await {
                    self.pending.push_back(follow);
                }
            }
        }
    }

    /// The caller hung up while in the IVR: the interpreter only records where.
    async fn ivr_hangup(&mut self) {
        let catalog = self.published.catalog.clone();
        let actions = self
            .session
            .handle(&catalog, interp::Event::CallerHangup, Utc::now());
        for action in actions {
            if let Action::NodeEvent(node) = action {
                let detail = serde_json::to_value(&node).unwrap_or(Value::Null);
                self.event("ivr_node", detail).await;
            }
        }
    }

    async fn execute(&mut self, action: Action) -> Option<interp::Event> {
        match action {
            Action::Play { id, items } => self.play(id, &items).await,
            Action::StopPlayback { id } => {
                let ours: Vec<String> = self
                    .playing
                    .iter()
                    .filter(|(_, p)| **p == id)
                    .map(|(k, _)| k.clone())
                    .collect();
                for pb in ours {
                    self.playing.remove(&pb);
                    self.stop_playback(&pb).await;
                }
                None
            }
            Action::StartTimer { id, after_ms } => {
                self.timers.insert(
                    Timer::Ivr(id),
                    Instant::now() + Duration::from_millis(after_ms),
                );
                None
            }
            Action::CancelTimer { id } => {
                self.timers.remove(&Timer::Ivr(id));
                None
            }
            Action::Http(request) => Some(self.http(request).await),
            Action::Enqueue(request) => self.enqueue(request).await,
            Action::Transfer(request) => {
                if self.session.failing_over() {
                    // Why the caller is being put through elsewhere: the flow gave up.
                    self.event("failover", json!({"to": describe_destination(&request.to)}))
                        .await;
                }
                self.transfer(request).await
            }
            Action::Voicemail(request) => self.voicemail(request).await,
            Action::Callback(request) => {
                // A callback without waiting on the line: register it in the queue now, then
                // the flow says goodbye.
                self.event(
                    "callback_requested",
                    json!({"queue": request.queue, "not_before": request.not_before}),
                )
                .await;
                self.callback_tries =
                    CallbackTries::from_flow(request.max_attempts, request.retry_delay_ms);
                let ok = self
                    .register_callback(&request.queue, &request.number, request.not_before)
                    .await;
                Some(interp::Event::CallbackDone { ok })
            }
            Action::Directory(request) => self.open_directory(request).await,
            Action::AiAgent(request) => {
                self.event(
                    "ai_unavailable",
                    json!({"agent": request.agent, "why": "no voice AI agent is connected"}),
                )
                .await;
                Some(interp::Event::AiResult(interp::AiOutcome::Error))
            }
            Action::Hangup { reason } => {
                let why = match reason {
                    HangupReason::Flow => "flow_hangup",
                    HangupReason::Unrouted => "unrouted",
                    HangupReason::Guard => "ivr_guard",
                };
                self.end_reason.get_or_insert(why);
                self.hang_up_caller(Cause::Normal).await;
                None
            }
            Action::NodeEvent(node) => {
                let detail = serde_json::to_value(&node).unwrap_or(Value::Null);
                self.event("ivr_node", detail).await;
                None
            }
        }
    }

    // ---------------------------------------------------------------- prompts

    async fn play(&mut self, id: PlaybackId, items: &[PlayItem]) -> Option<interp::Event> {
        let (media, errors) = self.media(items).await;
        for e in &errors {
            tracing::warn!(call.id = self.call_id, error = %e, "prompt skipped");
            self.event("prompt_failed", json!({"error": e.0})).await;
        }
        if media.is_empty() {
            return Some(interp::Event::PlaybackFinished(id));
        }
        let playback = self.next_id("p");
        let play = Play {
            media,
            lang: Some(self.session.language().to_owned()).filter(|l| !l.is_empty()),
            playback_id: Some(playback.clone()),
            ..Play::default()
        };
        self.playing.insert(playback.clone(), id);
        match self.client().play(&self.channel, &play).await {
            Ok(_) => None,
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                self.playing.remove(&playback);
                self.rest_failed("play", &e).await;
                Some(interp::Event::PlaybackFinished(id))
            }
        }
    }

    async fn play_side(&mut self, media: Vec<String>) {
        if media.is_empty() || self.caller_gone {
            return;
        }
        let playback = self.next_id("s");
        let play = Play {
            media,
            lang: Some(self.session.language().to_owned()).filter(|l| !l.is_empty()),
            playback_id: Some(playback.clone()),
            ..Play::default()
        };
        match self.client().play(&self.channel, &play).await {
            Ok(_) => {
                self.side_playbacks.insert(playback);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => self.rest_failed("play", &e).await,
        }
    }

    async fn stop_playback(&self, id: &str) {
        if let Err(e) = self.client().stop_playback(id).await
            && !e.is_not_found()
        {
            tracing::warn!(playback = %id, error = %e, "cannot stop a playback");
        }
    }

    /// Ringback for the caller while a transfer rings.
    async fn play_ringback(&mut self) {
        if self.caller_gone {
            return;
        }
        let channel = self.channel.clone();
        self.play_ringback_to(&channel).await;
    }

    /// Ringback on `channel` (the caller's, or an agent's while a colleague or customer rings).
    /// A tone plays until stopped, so it has an id a later run can name ([`ringback_id`]):
    /// after a restart of our service the ringing must be stopped, or the caller's prompts
    /// would queue behind it and the agent would hear it through the talk.
    async fn play_ringback_to(&mut self, channel: &str) {
        let playback = ringback_id(channel);
        if self.side_playbacks.remove(&playback) {
            self.stop_playback(&playback).await;
        }
        let play = Play {
            playback_id: Some(playback.clone()),
            ..Play::media("tone:ring")
        };
        match self.client().play(channel, &play).await {
            Ok(_) => {
                self.side_playbacks.insert(playback);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => self.rest_failed("ringback", &e).await,
        }
    }

    async fn stop_side_playbacks(&mut self) {
        for pb in std::mem::take(&mut self.side_playbacks) {
            self.stop_playback(&pb).await;
        }
    }

    // ---------------------------------------------------------------- HTTP

    async fn http(&mut self, request: interp::HttpRequest) -> interp::Event {
        if request.headers.iter().any(|(_, v)| v.contains("{{secret.")) {
            self.event(
                "http_failed",
                json!({"url": request.url, "why": "the flow names a secret; secrets for flows are not configurable yet"}),
            )
            .await;
            return interp::Event::HttpFailed { timed_out: false };
        }
        let attempts = request.retries + 1;
        let mut last = interp::Event::HttpFailed { timed_out: false };
        for _ in 0..attempts {
            last = http_once(&request).await;
            if matches!(last, interp::Event::HttpDone { status, .. } if status < 500) {
                break;
            }
        }
        last
    }

    // ---------------------------------------------------------------- queue

    // ---------------------------------------------------------------- offers

    // ---------------------------------------------------------------- transfer, voicemail

    // ---------------------------------------------------------------- events

    async fn on_ari(&mut self, event: ari::Event) {
        match &event {
            ari::Event::StasisStart(s) if self.legs.contains_key(&s.channel.id) => {
                let id = s.channel.id.clone();
                self.leg_answered(&id).await;
            }
            ari::Event::ChannelDtmfReceived(d) if d.channel.id == self.channel => {
                if let Some(digit) = d.digit.chars().next() {
                    self.on_dtmf(digit).await;
                }
            }
            ari::Event::PlaybackFinished(p) => {
                let id = p.playback.id.clone();
                if self.is_directory_prompt(&id) {
                    self.directory_prompt_finished(&id).await;
                } else if let Some(pid) = self.playing.remove(&id) {
                    self.feed(interp::Event::PlaybackFinished(pid));
                } else if self
                    .voicemail
                    .as_ref()
                    .is_some_and(|v| v.greeting.as_deref() == Some(id.as_str()))
                {
                    if let Some(v) = &mut self.voicemail {
                        v.greeting = None;
                    }
                    self.start_voicemail_recording().await;
                } else {
                    self.side_playbacks.remove(&id);
                }
            }
            ari::Event::RecordingFinished(r) => {
                let name = r.recording.name.clone();
                self.voicemail_recorded(&name).await;
            }
            ari::Event::RecordingFailed(r) => {
                let name = r.recording.name.clone();
                self.event("recording_failed", json!({"name": name})).await;
                if self.voicemail.is_some() {
                    self.voicemail = None;
                    if !self.caller_gone {
                        self.voicemail_done(false).await;
                    }
                }
            }
            ari::Event::StasisEnd(e) => {
                let id = e.channel.id.clone();
                self.channel_gone(&id, None).await;
            }
            ari::Event::ChannelDestroyed(e) => {
                let id = e.channel.id.clone();
                self.channel_gone(&id, Some(e.cause)).await;
                self.shared.release(self.wiring.server, &id);
            }
            _ => {}
        }
    }

    async fn on_dtmf(&mut self, digit: char) {
        match self.stage {
            Stage::Queued => {
                let Some(q) = self.queued.clone() else { return };
                if q.request.callback.as_ref().is_some_and(|c| c.key == digit) {
                    self.accept_callback().await;
                } else if q.request.exit_keys.contains(&digit) {
                    self.leave_queue(QueueOutcome::ExitKey(digit), "exit_key")
                        .await;
                }
            }
            Stage::Ivr => self.feed(interp::Event::Dtmf(digit)),
            Stage::Directory => self.directory_key(digit).await,
            // The recording itself stops on `#`.
            Stage::Voicemail
            | Stage::Transferring
            | Stage::Connected
            | Stage::Callback
            | Stage::Ended => {}
        }
    }

    /// A channel of the call left (hung up, or left our app).
    async fn channel_gone(&mut self, id: &str, cause: Option<i64>) {
        if id == self.channel {
            if !self.caller_gone {
                self.caller_gone = true;
                self.caller_left("caller_hangup").await;
            }
            return;
        }
        let Some(leg) = self.legs.get(id).cloned() else {
            return;
        };
        if cause.is_none() && !leg.answered {
            // `StasisEnd` of a leg that never answered cannot happen; wait for the destroy.
            return;
        }
        self.legs.remove(id);
        if leg.dropped {
            return;
        }
        if self.peer.as_deref() == Some(id) && self.consult.is_some() {
            // The agent hung up while consulting: the caller goes to the colleague.
            self.peer = None;
            self.complete_consult().await;
            return;
        }
        if self.peer.as_deref() == Some(id) {
            // The agent (or transfer target) hung up: the call is over.
            self.peer = None;
            self.end_reason.get_or_insert(match leg.kind {
                LegKind::Offer { .. } | LegKind::Customer | LegKind::Dialer { .. } => {
                    "agent_hangup"
                }
                LegKind::Transfer | LegKind::Consult => "transfer_hangup",
            });
            self.finish_connected().await;
            self.hang_up_caller(Cause::Normal).await;
            // With nobody answered yet (a callback or outbound call still ringing the
            // customer) there was no caller to hang up: end here.
            self.end().await;
            return;
        }
        match leg.kind {
            LegKind::Consult => {
                if self.consult.as_ref().is_some_and(|c| c.leg == id) {
                    self.consult_leg_gone(cause).await;
                }
            }
            LegKind::Offer { agent } => {
                // The phone rejected, was busy, or rang out before the engine's deadline.
                self.event(
                    "offer_failed",
                    json!({"agent_id": agent, "cause": cause, "why": cause_text(cause)}),
                )
                .await;
                if let Some(contact) = self.contact
                    && self.agent.is_none()
                {
                    self.decline(contact, agent).await;
                }
            }
            LegKind::Dialer { agent } => {
                self.event(
                    "agent_no_answer",
                    json!({"agent_id": agent, "cause": cause, "why": cause_text(cause)}),
                )
                .await;
                self.end_reason.get_or_insert("agent_no_answer");
                self.end().await;
            }
            LegKind::Customer => {
                // Lost with a restarting Asterisk, the customer was not really tried.
                let lost = self.end_reason == Some("asterisk_restart");
                if !lost {
                    self.callback_tries.made += 1;
                }
                let tries = self.callback_tries;
                let again = tries.made < tries.max;
                let why = if lost {
                    "Asterisk restarted"
                } else {
                    cause_text(cause)
                };
                self.event(
                    "callback_failed",
                    json!({"cause": cause, "why": why, "attempt": tries.made, "of": tries.max,
                           "retry_in_secs": again.then_some(tries.apart.as_secs())}),
                )
                .await;
                if again && self.retry_callback().await {
                    if lost {
                        self.end_reason = None;
                    }
                    return;
                }
                self.end_reason.get_or_insert("callback_failed");
                self.finish_connected().await;
                self.end().await;
            }
            LegKind::Transfer => {
                self.stop_side_playbacks().await;
                let outcome = match cause {
                    Some(17) => TransferOutcome::Busy,
                    Some(18 | 19) => TransferOutcome::NoAnswer,
                    _ => TransferOutcome::Failed,
                };
                self.event(
                    "transfer_failed",
                    json!({"cause": cause, "why": cause_text(cause)}),
                )
                .await;
                if self.adopted && !self.internal {
                    // Handed on by an agent (or taken up after a restart): no flow to go back
                    // to.
                    self.end_reason = Some("transfer_failed");
                    self.hang_up_caller(Cause::Normal).await;
                } else if self.internal
                    // Busy, no answer, not registered (20) or declined (21).
                    && (outcome != TransferOutcome::Failed || matches!(cause, Some(20 | 21)))
                    && let Some(mailbox) = self.colleague_mailbox.take()
                {
                    let busy = outcome == TransferOutcome::Busy;
                    self.colleague_voicemail(mailbox, busy).await;
                } else if self.internal {
                    self.end_reason = Some(match outcome {
                        TransferOutcome::Busy => "busy",
                        TransferOutcome::NoAnswer => "no_answer",
                        _ => "failed",
                    });
                    let cause = match outcome {
                        TransferOutcome::Busy => Cause::Busy,
                        TransferOutcome::NoAnswer => Cause::NoAnswer,
                        _ => Cause::Failure,
                    };
                    self.hang_up_caller(cause).await;
                } else if self.stage == Stage::Transferring {
                    self.stage = Stage::Ivr;
                    self.transfer_to = None;
                    self.transfer_extension = None;
                    self.feed(interp::Event::TransferResult(outcome));
                }
            }
        }
    }

    /// The caller is gone: everything of the call ends.
    async fn caller_left(&mut self, why: &'static str) {
        self.caller_gone = true;
        // Ended for a reason of ours (Asterisk failed, restarted): not the caller's doing.
        let decided = self.end_reason.is_some();
        // Hanging up is how most callers end a message to a colleague.
        if self.internal
            && self.stage == Stage::Voicemail
            && self
                .voicemail
                .as_ref()
                .is_some_and(|v| v.recording.is_some())
        {
            self.end_reason.get_or_insert("voicemail");
        }
        self.end_reason.get_or_insert(why);
        // A registered callback still joins the queue at its time.
        self.timers.retain(|t, _| *t == Timer::CallbackDue);
        self.playing.clear();
        self.side_playbacks.clear();
        self.directory = None;
        match self.stage {
            Stage::Ivr if self.callback.is_some() && self.queued.is_some() => {
                self.ivr_hangup().await;
                // The contact stays queued; this task now stands for the customer.
                if let Some(q) = &self.queued {
                    let holding = q.holding.clone();
                    self.destroy_bridge(&holding).await;
                }
                self.stage = Stage::Callback;
                self.end_reason = None;
                let _ = store::calls::set_state(
                    &self.shared.deps.store,
                    self.tenant,
                    self.call_id,
                    "callback",
                )
                .await;
                self.event("waiting_for_callback", json!({})).await;
                return;
            }
            Stage::Ivr | Stage::Directory => {
                self.ivr_hangup().await;
            }
            Stage::Callback => return,
            Stage::Queued => {
                if let Some(q) = self.queued.take() {
                    self.drop_ringing_legs(Cause::NoAnswer).await;
                    // Only a caller who hung up gave up waiting: neither the queue's figures
                    // nor the call count a call we ended (or lost with Asterisk) as abandoned.
                    self.leave_routing(q.contact, !decided).await;
                    self.shared.release_contact(self.tenant, q.contact);
                    self.contact = None;
                    self.destroy_bridge(&q.holding).await;
                    if !decided {
                        self.end_reason = Some("abandoned");
                        self.event("abandoned", json!({"contact_id": q.contact}))
                            .await;
                    }
                }
            }
            Stage::Connected => {
                self.finish_connected().await;
            }
            Stage::Transferring => {
                self.drop_ringing_legs(Cause::Normal).await;
            }
            Stage::Voicemail => {
                // Hanging up is how most callers end a message: keep it.
                if let Some(vm) = self.voicemail.take()
                    && let Some((row, name)) = vm.recording
                {
                    let _ = self.client().stop_recording(&name).await;
                    self.save_recording(row.id, name);
                    self.announce_voicemail(row, &vm.request.mailbox);
                }
            }
            Stage::Ended => {}
        }
        self.end().await;
    }

    /// Ends the connected part: the agent goes to wrap-up, the bridge and recording close.
    async fn finish_connected(&mut self) {
        if let Some(peer) = self.peer.take() {
            self.drop_leg(&peer, Cause::Normal).await;
        }
        if let Some(contact) = self.contact.take() {
            if let Err(e) = self.shared.deps.routing.end(self.tenant, contact).await {
                tracing::debug!(call.id = self.call_id, error = %e, "contact already ended");
            }
            self.shared.release_contact(self.tenant, contact);
        }
        if let Some((id, name)) = self.recording.take() {
            if let Err(e) = self.client().stop_recording(&name).await
                && !e.is_not_found()
            {
                tracing::warn!(recording = %name, error = %e, "cannot stop a recording");
            }
            self.save_recording(id, name);
        }
        if let Some(talk) = self.talk_bridge.take() {
            self.destroy_bridge(&talk).await;
        }
        if let Some(agent) = self.agent {
            self.notify_agent(agent, "call_ended");
        }
    }

    async fn hang_up_caller(&mut self, cause: Cause) {
        if self.caller_gone {
            return;
        }
        self.caller_gone = true;
        if let Err(e) = self.client().hangup(&self.channel, Some(cause)).await
            && !e.is_not_found()
        {
            tracing::warn!(call.id = self.call_id, error = %e, "cannot hang up the caller");
        }
        self.caller_left("flow_hangup").await;
    }

    async fn end(&mut self) {
        if self.stage == Stage::Ended {
            return;
        }
        self.stage = Stage::Ended;
        if let Some(q) = self.queued.take() {
            self.destroy_bridge(&q.holding).await;
        }
        if let Some(talk) = self.talk_bridge.take() {
            self.destroy_bridge(&talk).await;
        }
        self.drop_ringing_legs(Cause::Normal).await;
        if let Some(consult) = self.consult.take() {
            self.release_consult_hold(consult.hold).await;
        }
        // No contact outlives its call in routing (a click-to-call whose agent never answered
        // still holds the agent's capacity here).
        if let Some(contact) = self.contact.take() {
            let routing = &self.shared.deps.routing;
            if routing.end(self.tenant, contact).await.is_err() {
                let _ = routing.withdraw(self.tenant, contact).await;
            }
            self.shared.release_contact(self.tenant, contact);
        }
        let reason = self.end_reason.unwrap_or("caller_hangup");
        self.event("ended", json!({"reason": reason})).await;
        // After the whole timeline: whoever sees the call ended finds all of it.
        let change = CallChange::Ended {
            call: self.call_id,
            reason: reason.to_owned(),
            at: Utc::now(),
        };
        self.shared.timeline.change_row(self.tenant, change).await;
    }

    async fn resync(&mut self, alive: &HashSet<String>, restarted: bool) {
        if !self.caller_gone && !alive.contains(&self.channel) {
            // A restarted Asterisk took the caller's channel with it: nobody is left to
            // apologise to, so the call ends and its contact leaves the queue or the agent.
            tracing::info!(
                call.id = self.call_id,
                restarted,
                "caller's channel gone while the events socket was down"
            );
            if restarted {
                self.end_reason = Some("asterisk_restart");
            }
            self.caller_gone = true;
            self.caller_left("caller_hangup").await;
            return;
        }
        let gone: Vec<String> = self
            .legs
            .keys()
            .filter(|id| !alive.contains(*id))
            .cloned()
            .collect();
        let mut gone = gone;
        let before = self.end_reason;
        if restarted && !gone.is_empty() {
            // Whatever ends now (a callback or a call from the inbox, with no caller on the
            // line to lose) ends because Asterisk restarted, not by anyone's doing.
            self.end_reason.get_or_insert("asterisk_restart");
            // A callback's customer first: it is tried again (the agent's leg with it), where
            // the agent's leg first would end the call.
            gone.sort_by_key(|id| {
                !matches!(self.legs.get(id).map(|l| &l.kind), Some(LegKind::Customer))
            });
        }
        for id in gone {
            self.channel_gone(&id, Some(16)).await;
        }
        if self.stage != Stage::Ended {
            // The call goes on (a callback tried again, offers declined): the restart is not
            // its end reason.
            self.end_reason = before;
        }
        // A prompt that ended while we were deaf: its PlaybackFinished is lost for good.
        let playing: Vec<(String, PlaybackId)> =
            self.playing.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for (pb, pid) in playing {
            if matches!(self.client().get_playback(&pb).await, Err(e) if e.is_not_found()) {
                self.playing.remove(&pb);
                self.feed(interp::Event::PlaybackFinished(pid));
            }
        }
        self.resync_directory().await;
    }

    async fn destroy_bridge(&self, id: &str) {
        if id.is_empty() {
            return;
        }
        if let Err(e) = self.client().destroy_bridge(id).await
            && !e.is_not_found()
        {
            tracing::warn!(bridge = %id, error = %e, "cannot destroy a bridge");
        }
        self.shared.release(self.wiring.server, id);
    }

    async fn rest_failed(&self, what: &str, e: &AriError) {
        tracing::warn!(call.id = self.call_id, %what, error = %e, "ARI request failed");
        self.event(
            "asterisk_error",
            json!({"request": what, "error": e.to_string()}),
        )
        .await;
    }

    async fn event(&self, kind: &str, detail: Value) {
        self.shared
            .timeline
            .add(self.tenant, self.call_id, kind, &detail, Utc::now());
    }

    /// Tells one agent's inbox about the call (ringing, connected, ended). The call goes on
    /// without waiting for the notice to be stored: nothing it does depends on it.
    fn notify_agent(&self, agent: i64, kind: &str) {
        let payload = self.summary();
        self.shared
            .deps
            .events
            .publish_detached(self.tenant, kind, Some(agent), payload);
    }

    fn notify_team(&self, kind: &str, payload: Value) {
        self.shared
            .deps
            .events
            .publish_detached(self.tenant, kind, None, payload);
    }

    /// The caller's name as agents' phones show it: after the line's name when the DID has
    /// one (`Support: Jane Doe`), so the agent knows which number was dialled.
    fn caller_label(&self, name: &str) -> String {
        let name = if name.trim().is_empty() {
            &self.caller
        } else {
            name
        };
        match &self.line_name {
            Some(line) => format!("{line}: {name}"),
            None => name.to_owned(),
        }
    }

    /// The caller ID `number` as presented on a leg we ring: named after the line when the
    /// DID has a `caller_id_name` (the caller with the line before their name; the DID with
    /// the line's name, as customers see us); as given otherwise.
    fn presented(&self, number: &str) -> String {
        if self.line_name.is_none() {
            return number.to_owned();
        }
        if number == self.caller {
            return caller_id(&self.caller_label(&self.caller_name), number);
        }
        match &self.line_name {
            Some(line) if number == self.did => caller_id(line, number),
            _ => number.to_owned(),
        }
    }

    fn summary(&self) -> Value {
        json!({
            "call_id": self.call_id,
            "contact_id": self.contact,
            "caller": self.caller,
            "caller_name": self.caller_name,
            "did": self.did,
            "line": self.line_name,
            "queue_id": self.queued.as_ref().map(|q| q.queue_id),
            "language": self.session.language(),
            "on_hold": self.held,
            "consult": self.consult.as_ref().map(|c| json!({"to": c.to, "answered": c.answered, "joined": c.joined})),
        })
    }
}

/// `text` fit for the name part of a caller ID (`"name" <number>`): the caller's own display
/// name comes from outside, and a quote, backslash or angle bracket in it would change what
/// Asterisk parses.
fn caller_id_text(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '"' | '\\' | '<' | '>') && !c.is_control())
        .collect()
}

/// The caller ID `"name" <number>` Asterisk presents, with the name made safe.
fn caller_id(name: &str, number: &str) -> String {
    format!("\"{}\" <{number}>", caller_id_text(name))
}

/// A flow's destination in words, for the timeline.
fn describe_destination(to: &Destination) -> String {
    match to {
        Destination::Extension(n) => format!("extension {n}"),
        Destination::Number(n) | Destination::Sip(n) => n.clone(),
    }
}

async fn http_once(request: &interp::HttpRequest) -> interp::Event {
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return interp::Event::HttpFailed { timed_out: false };
    };
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(request.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(_) => return interp::Event::HttpFailed { timed_out: false },
    };
    let mut builder = client.request(method, &request.url);
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    match builder.send().await {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let mut body = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        body.extend_from_slice(&chunk);
                        // One byte over the cap is enough for the interpreter to refuse it.
                        if body.len() > request.max_body_bytes {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return interp::Event::HttpFailed {
                            timed_out: e.is_timeout(),
                        };
                    }
                }
            }
            interp::Event::HttpDone { status, body }
        }
        Err(e) => interp::Event::HttpFailed {
            timed_out: e.is_timeout(),
        },
    }
}

/// The name of a call's mixing bridge, by which a restart finds the agent of a held caller.
/// The id of the ringback a channel hears while someone else rings (one at a time each).
pub(crate) fn ringback_id(channel: &str) -> String {
    format!("{channel}-ringback")
}

pub(crate) fn talk_bridge_name(call_id: i64) -> String {
    format!("call {call_id}")
}

/// Whether a channel id is a leg routing gave an agent: an offer (`<key>-a<agent>-<n>`) or
/// the agent's leg of a click-to-call (`<key>-d<agent>`).
pub(crate) fn is_routed_agent_leg(id: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some((head, tail)) = id.rsplit_once('-') else {
        return false;
    };
    // `{key}-d{agent}`: click-to-call rings the agent first (routing holds their capacity).
    if tail.strip_prefix('d').is_some_and(digits) {
        return true;
    }
    // `{key}-a{agent}-{n}`: an offer to the agent.
    digits(tail)
        && head
            .rsplit_once('-')
            .is_some_and(|(_, a)| a.strip_prefix('a').is_some_and(digits))
}

/// Whether `id` is a consultation leg (`{key}-k{n}`).
pub(crate) fn is_consult_leg(id: &str) -> bool {
    id.rsplit_once('-').is_some_and(|(_, tail)| {
        tail.strip_prefix('k')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The last four digits only, for the timeline.
fn mask_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    let keep = digits.len().saturating_sub(4);
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep && c.is_ascii_digit() {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

fn cause_text(cause: Option<i64>) -> &'static str {
    match cause {
        Some(17) => "busy",
        Some(18 | 19) => "no answer",
        Some(21) => "rejected",
        Some(26) => "answered elsewhere",
        Some(16) => "hung up",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_id_name_cannot_change_what_asterisk_parses() {
        assert_eq!(
            caller_id("Acme Support: Jane \"JD\" <Doe>\\", "+14155550100"),
            "\"Acme Support: Jane JD Doe\" <+14155550100>"
        );
        assert_eq!(caller_id("Line\r\nX", "1001"), "\"LineX\" <1001>");
    }

    #[test]
    fn flow_priorities_map_onto_the_engine_scale() {
        assert_eq!(engine_priority(1), 9);
        assert_eq!(engine_priority(5), 5);
        assert_eq!(engine_priority(10), 0);
        assert_eq!(engine_priority(0), 9);
    }

    #[test]
    fn skills_take_an_optional_level() {
        let s = skill_levels(&["billing".into(), "spanish:7".into(), " ".into()]);
        assert_eq!(
            s,
            BTreeMap::from([("billing".into(), 1), ("spanish".into(), 7)])
        );
    }

    #[test]
    fn an_agent_phone_channel_names_its_tenant_and_extension() {
        assert_eq!(
            phone_of("PJSIP/acme-1001-0000002a"),
            Some(("acme".into(), "1001".into()))
        );
        assert_eq!(
            phone_of("PJSIP/big-co-2001-00000001"),
            Some(("big-co".into(), "2001".into()))
        );
        assert_eq!(phone_of("PJSIP/trunk-00000001"), None);
        assert_eq!(phone_of("SIP/acme-1001-00000001"), None);
    }

    #[test]
    fn consultation_legs_are_told_from_agents_phones_by_their_id() {
        assert!(is_consult_leg("b1c2-17-k4"));
        assert!(!is_consult_leg("b1c2-17-a3-4"));
        assert!(!is_consult_leg("b1c2-17-x5"));
        assert!(!is_consult_leg("b1c2-17-k"));
        assert!(!is_consult_leg("PJSIP/acme-1001-0000002a"));
    }

    #[test]
    fn legs_routing_gave_an_agent_are_told_from_transfers_and_direct_calls() {
        assert!(is_routed_agent_leg("b1c2-17-a3-4"));
        assert!(is_routed_agent_leg("b1c2-17-d3"));
        assert!(!is_routed_agent_leg("b1c2-17-k4"), "a consultation");
        assert!(!is_routed_agent_leg("b1c2-17-x5"), "a transfer");
        assert!(
            !is_routed_agent_leg("1796564537.12"),
            "a call the phone placed"
        );
        assert!(!is_routed_agent_leg("b1c2-17-a-4"));
        assert!(!is_routed_agent_leg("b1c2-17-d"));
    }

    #[test]
    fn numbers_are_masked_but_the_last_four() {
        assert_eq!(mask_number("+14155550100"), "+*******0100");
        assert_eq!(mask_number("123"), "123");
    }
}
