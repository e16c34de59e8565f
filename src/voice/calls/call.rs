//! One call: the task that owns its state, runs the IVR interpreter over ARI, waits in a
//! queue as a routing contact, rings agents' phones and bridges the answering one.
//!
//! Everything about a call happens here, one input at a time: ARI events for its channels,
//! bridges, playbacks and recordings; routing decisions about its contact; its own timers.
//! A REST error concerns this call only: 404 means the channel is already gone (the events
//! saying so follow), anything else is logged on the call's timeline and the call carries on
//! down the flow's failure path, so the caller never sits in dead air.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Input, Shared};
use crate::domain::TenantId;
use crate::ivr::interp::{
    self, Action, Destination, DirectoryOutcome, EnqueueRequest, Greeting, HangupReason, PlayItem,
    PlaybackId, QueueOutcome, Session, SessionConfig, TimerId, TransferOutcome, TransferRequest,
    VoicemailRequest,
};
use crate::ivr::service::Published;
use crate::routing::{AgentId, Command, ContactId, Event as RoutingEvent, OverflowReason};
use crate::store::{self, calls::NewCall};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Timer {
    Ivr(TimerId),
    QueueMaxWait,
    Announce,
    CallbackOffer,
    CallbackDue,
}

/// How the call is doing, for the row and the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Ivr,
    Queued,
    Transferring,
    Connected,
    Voicemail,
    /// The caller hung up after asking to be called back; the contact keeps its place.
    Callback,
    Ended,
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
    agent: Option<i64>,
    contact: Option<i64>,
    recording: Option<(i64, String)>,
    voicemail: Option<Voicemail>,
    seq: u32,
    caller_gone: bool,
    end_reason: Option<&'static str>,
    // The number to call back, once the caller accepted a callback.
    callback: Option<String>,
    // Events for the interpreter, fed in order by `drain`.
    pending: VecDeque<interp::Event>,
    // Taken up after a restart: the flow's place is lost, so leaving the queue ends the call.
    adopted: bool,
    // Prompts with personal data, rendered for this call only; deleted when it ends.
    scratch: Vec<crate::tts::ScratchFile>,
    // Dialled from an agent's phone: no flow; failures hang up with their cause.
    internal: bool,
}

#[derive(Debug, Clone)]
struct Voicemail {
    request: VoicemailRequest,
    greeting: Option<String>,
    recording: Option<(i64, String)>,
}

/// Runs an inbound call from its `StasisStart` to its end.
pub(crate) async fn run_inbound(
    shared: Arc<Shared>,
    wiring: Wiring,
    channel: Channel,
    did: String,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let chan = channel.id.clone();
    let Some((tenant, published, route)) = shared.deps.flows.route_did(&did) else {
        tracing::warn!(%did, channel = %chan, "call to a number no tenant routes");
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    };
    shared.set_tenant(&wiring.key, tenant);
    let store = &shared.deps.store;
    let tenant_row = match store::tenants::find_tenant(store, tenant).await {
        Ok(Some(t)) => t,
        other => {
            tracing::error!(tenant.id = %tenant, result = ?other.map(|_| ()), "tenant of a routed DID unavailable");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    if !tenant_row.features.voice {
        tracing::warn!(tenant.id = %tenant, %did, "voice is off for the tenant; call refused");
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    }
    // 0 means unlimited; this call is already counted.
    let limit = usize::try_from(tenant_row.limits.max_concurrent_calls.max(0)).unwrap_or(0);
    if limit > 0 && shared.tenant_calls(tenant) > limit {
        tracing::warn!(tenant.id = %tenant, limit, "concurrent call limit reached; call refused");
        refuse(
            &wiring.client,
            &chan,
            "sound:all-circuits-busy-now",
            Cause::Congestion,
        )
        .await;
        return;
    }
    let now = Utc::now();
    let row = match store::calls::insert_call(
        store,
        tenant,
        NewCall {
            server: &wiring.server_name,
            channel_id: &chan,
            direction: "inbound",
            did: &did,
            caller: &channel.caller.number,
            flow: Some(&route.flow),
        },
        now,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(tenant.id = %tenant, error = %e, "cannot record the call; refusing it");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    let config = session_config(&shared, tenant, &published).await;
    let mut call = Call::new(
        shared.clone(),
        wiring,
        tenant,
        tenant_row.slug.clone(),
        &row,
        published,
        config,
    );
    call.caller_name = channel.caller.name.clone();
    call.event(
        "entered",
        json!({"did": did, "caller": call.caller, "flow": route.flow, "asterisk": call.wiring.server_name}),
    )
    .await;
    if let Err(e) = call.wiring.client.answer(&chan).await {
        if !e.is_not_found() {
            tracing::warn!(channel = %chan, error = %e, "answer failed");
        }
        call.caller_left("caller_hangup").await;
        return;
    }
    let started = interp::Event::Started {
        flow: None,
        did,
        caller: call.caller.clone(),
        channel: "voice".into(),
        vars: BTreeMap::new(),
    };
    call.feed(started);
    call.drain().await;
    call.run(rx).await;
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
    },
    /// The caller asked to be called back and hung up; the contact still waits.
    Callback { contact: i64, queue: String },
    /// Anywhere else (the flow, voicemail, a transfer ringing): the flow starts again.
    Restart,
}

/// Takes up a call that was in progress when our service stopped. The caller hears an
/// apology (except when already talking to someone) and carries on where that is possible.
pub(crate) async fn run_adopted(
    shared: Arc<Shared>,
    wiring: Wiring,
    row: store::calls::CallRecord,
    adoption: Adoption,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let tenant = TenantId(row.tenant_id);
    shared.set_tenant(&wiring.key, tenant);
    let store = shared.deps.store.clone();
    let flows = shared.deps.flows.live(tenant).await;
    let (Ok(Some(tenant_row)), Ok(Some(published))) =
        (store::tenants::find_tenant(&store, tenant).await, flows)
    else {
        tracing::warn!(
            call.id = row.id,
            "call cannot be taken up: tenant or flows gone"
        );
        let _ = wiring
            .client
            .hangup(&row.channel_id, Some(Cause::Failure))
            .await;
        let _ =
            store::calls::set_ended(&store, tenant, row.id, "service_restart", Utc::now()).await;
        return;
    };
    let config = session_config(&shared, tenant, &published).await;
    let mut call = Call::new(
        shared.clone(),
        wiring,
        tenant,
        tenant_row.slug.clone(),
        &row,
        published,
        config,
    );
    call.adopted = true;
    call.event("resumed", json!({"as": format!("{adoption:?}")}))
        .await;
    shared.claim(call.wiring.server, &call.wiring.key, &call.channel);
    let language = call
        .published
        .catalog
        .flow(row.flow.as_deref().unwrap_or_default())
        .and_then(|f| f.default_language().map(str::to_owned))
        .unwrap_or_else(|| "en-US".into());
    let apology = PlayItem::Tts {
        speech: interp::Speech::Text(
            "We are sorry, we had a problem on our side. Please stay on the line.".into(),
        ),
        voice: None,
        fallback_voice: None,
        language,
        cacheable: true,
    };
    match adoption {
        Adoption::Queued { contact, queue } => {
            let (media, _) = call.media(&[apology]).await;
            call.rejoin_queue(contact, &queue, media).await;
        }
        Adoption::Connected {
            contact,
            agent,
            peer,
            talk,
        } => {
            for id in [&peer, &talk] {
                shared.claim(call.wiring.server, &call.wiring.key, id);
            }
            call.legs.insert(
                peer.clone(),
                Leg {
                    kind: match agent {
                        Some(agent) => LegKind::Offer { agent },
                        None => LegKind::Transfer,
                    },
                    answered: true,
                    dropped: false,
                },
            );
            call.peer = Some(peer);
            call.talk_bridge = Some(talk);
            call.agent = agent;
            call.contact = contact;
            if let Some(c) = contact {
                shared.claim_contact(tenant, c, &call.wiring.key);
            }
            call.stage = Stage::Connected;
        }
        Adoption::Callback { contact, queue } => {
            call.caller_gone = true;
            call.callback = Some(row.caller.clone());
            call.contact = Some(contact);
            shared.claim_contact(tenant, contact, &call.wiring.key);
            call.queued = Some(Queued {
                contact,
                queue_id: row.queue_id.unwrap_or_default(),
                request: plain_request(&queue),
                record: false,
                holding: String::new(),
            });
            call.stage = Stage::Callback;
        }
        Adoption::Restart => {
            call.play_side_items(vec![apology]).await;
            call.feed(interp::Event::Started {
                flow: None,
                did: row.did.clone(),
                caller: row.caller.clone(),
                channel: "voice".into(),
                vars: BTreeMap::new(),
            });
            call.drain().await;
        }
    }
    call.run(rx).await;
}

/// A call an agent places from the inbox: the agent's phone rings first; once they pick up,
/// the customer is dialled and the two are bridged (the callback path, without a queue).
pub(crate) async fn run_outbound(
    shared: Arc<Shared>,
    wiring: Wiring,
    row: store::calls::CallRecord,
    slug: String,
    agent: i64,
    endpoint: String,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let tenant = TenantId(row.tenant_id);
    let published = match shared.deps.flows.live(tenant).await {
        Ok(Some(p)) => p,
        // No flows published: nothing of them is needed to place a call.
        _ => Arc::new(Published::empty()),
    };
    let config = session_config(&shared, tenant, &published).await;
    let leg = row.channel_id.clone();
    let to = row.caller.clone();
    let mut call = Call::new(shared, wiring, tenant, slug, &row, published, config);
    // Nobody is on the line until the customer answers.
    call.channel = String::new();
    call.caller_gone = true;
    call.callback = Some(to.clone());
    call.stage = Stage::Callback;
    call.legs.insert(
        leg.clone(),
        Leg {
            kind: LegKind::Dialer { agent },
            answered: false,
            dropped: false,
        },
    );
    call.event(
        "dialing_agent",
        json!({"agent_id": agent, "to": mask_number(&to)}),
    )
    .await;
    let originate = Originate {
        endpoint,
        app_args: vec!["leg".into(), call.wiring.key.clone()],
        caller_id: Some(format!("\"Call to\" <{to}>")),
        timeout_secs: Some(30),
        channel_id: Some(leg.clone()),
        formats: vec!["ulaw".into(), "alaw".into()],
        ..Originate::default()
    };
    if let Err(e) = call.client().originate(&originate).await {
        let why = if e.status() == Some(500) {
            "the agent's phone is not registered".to_owned()
        } else {
            e.to_string()
        };
        call.event("agent_no_answer", json!({"agent_id": agent, "why": why}))
            .await;
        call.legs.clear();
        call.end_reason = Some("agent_unreachable");
        call.end().await;
        return;
    }
    call.run(rx).await;
}

/// The tenant and extension number of an agent's phone channel (`PJSIP/acme-1001-0000002a`).
fn phone_of(channel_name: &str) -> Option<(String, String)> {
    let endpoint = channel_name.strip_prefix("PJSIP/")?.rsplit_once('-')?.0;
    let (slug, number) = endpoint.rsplit_once('-')?;
    (!slug.is_empty() && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
        .then(|| (slug.to_owned(), number.to_owned()))
}

/// A call dialled from an agent's phone (`Stasis(switchboard,internal,NUMBER)`): another
/// extension of the tenant, or an outside E.164 number through `voice.outbound_endpoint` with
/// the tenant's number as caller id. Anything else is refused; the dialplan never reaches the
/// trunk by itself.
pub(crate) async fn run_internal(
    shared: Arc<Shared>,
    wiring: Wiring,
    channel: Channel,
    dialled: String,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let chan = channel.id.clone();
    let store = shared.deps.store.clone();
    let from = match phone_of(&channel.name) {
        Some((slug, number)) => match store::tenants::find_tenant_by_slug(&store, &slug).await {
            Ok(Some(t)) => {
                match store::extensions::find_extension_by_number(&store, t.id, &number).await {
                    Ok(Some(x)) if x.enabled => Some((t, x)),
                    _ => None,
                }
            }
            _ => None,
        },
        None => None,
    };
    let Some((tenant, extension)) = from else {
        tracing::warn!(channel = %channel.name, "a call from a phone that is no extension of ours");
        refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Rejected).await;
        return;
    };
    shared.set_tenant(&wiring.key, tenant.id);
    let published = match shared.deps.flows.live(tenant.id).await {
        Ok(Some(p)) => p,
        _ => Arc::new(Published::empty()),
    };
    let target = if crate::ivr::is_e164(&dialled) {
        let presented = published
            .catalog
            .dids()
            .next()
            .map(str::to_owned)
            .unwrap_or_default();
        Some((
            shared.deps.outbound_endpoint.replace("{number}", &dialled),
            presented,
        ))
    } else {
        match store::extensions::find_extension_by_number(&store, tenant.id, &dialled).await {
            Ok(Some(x)) if x.enabled && !x.dnd && x.number != extension.number => Some((
                format!(
                    "PJSIP/{}",
                    crate::voice::provision::object_id(&tenant.slug, &x.number)
                ),
                format!(
                    "\"{}\" <{}>",
                    extension.display_name.replace('"', ""),
                    extension.number
                ),
            )),
            _ => None,
        }
    };
    let Some((endpoint, caller_id)) = target else {
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    };
    let row = match store::calls::insert_call(
        &store,
        tenant.id,
        NewCall {
            server: &wiring.server_name,
            channel_id: &chan,
            direction: "internal",
            did: &dialled,
            caller: &extension.number,
            flow: None,
        },
        Utc::now(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot record an internal call");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    let config = session_config(&shared, tenant.id, &published).await;
    let mut call = Call::new(
        shared.clone(),
        wiring,
        tenant.id,
        tenant.slug.clone(),
        &row,
        published,
        config,
    );
    call.internal = true;
    call.agent = extension.user_id;
    call.event(
        "entered",
        json!({"from_extension": extension.number, "dialled": dialled}),
    )
    .await;
    // The phone hears ringing until the other side answers.
    let _ = call.client().ring(&chan).await;
    let request = TransferRequest {
        to: Destination::Sip(String::new()),
        caller_id,
        ring_timeout_ms: 30_000,
        whisper: Vec::new(),
    };
    if call.dial_leg(endpoint, &request).await.is_some() {
        call.end_reason = Some("unreachable");
        call.hang_up_caller(Cause::Unallocated).await;
        return;
    }
    call.run(rx).await;
}

/// Plays a short explanation and hangs up a call we cannot take.
async fn refuse(client: &AriClient, channel: &str, media: &str, cause: Cause) {
    // Answering first lets the caller hear why; a failure here still ends in a hangup.
    let _ = client.answer(channel).await;
    let _ = client.play(channel, &Play::media(media)).await;
    // The announcement is short; give it time before the hangup cuts it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Err(e) = client.hangup(channel, Some(cause)).await
        && !e.is_not_found()
    {
        tracing::warn!(%channel, error = %e, "cannot hang up a refused call");
    }
}

async fn session_config(shared: &Shared, tenant: TenantId, published: &Published) -> SessionConfig {
    let directory = match store::extensions::list_extensions(&shared.deps.store, tenant).await {
        Ok(list) => list
            .into_iter()
            .filter(|x| x.enabled)
            .map(|x| {
                let mut words = x.display_name.split_whitespace();
                let first = words.next().unwrap_or_default().to_owned();
                let last = words.collect::<Vec<_>>().join(" ");
                interp::DirectoryEntry {
                    first_name: first,
                    last_name: last,
                    extension: x.number,
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!(tenant.id = %tenant, error = %e, "directory unavailable for this call");
            Vec::new()
        }
    };
    SessionConfig {
        http_allow_hosts: shared
            .deps
            .http_allowlist
            .clone()
            .unwrap_or_else(|| crate::ivr::simulate::http_hosts(&published.catalog)),
        directory,
        schedule_force: BTreeMap::new(),
    }
}

/// A queue request for a contact that did not come through a flow's `queue` node (a
/// standalone callback, a call adopted after a restart).
fn plain_request(queue: &str) -> EnqueueRequest {
    EnqueueRequest {
        queue: queue.to_owned(),
        priority: 5,
        skills: Vec::new(),
        hold_music: None,
        announce_position_every_ms: None,
        announce_estimated_wait: false,
        announce_prompt: Vec::new(),
        callback: None,
        max_wait_ms: None,
        exit_keys: Vec::new(),
    }
}

/// The engine's priority (0–9, higher first) for the flow's (1 most urgent … 10).
fn engine_priority(flow_priority: u8) -> i64 {
    i64::from(10u8.saturating_sub(flow_priority.clamp(1, 10)))
}

/// `billing` or `billing:7` → (name, minimum level).
fn skill_levels(skills: &[String]) -> BTreeMap<String, i64> {
    skills
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| match s.rsplit_once(':') {
            Some((name, level)) if level.parse::<i64>().is_ok() => {
                (name.trim().to_owned(), level.parse::<i64>().unwrap_or(1))
            }
            _ => (s.trim().to_owned(), 1),
        })
        .collect()
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
            agent: None,
            contact: None,
            recording: None,
            voicemail: None,
            seq: 0,
            caller_gone: false,
            end_reason: None,
            callback: None,
            pending: VecDeque::new(),
            adopted: false,
            scratch: Vec::new(),
            internal: false,
            wiring,
        }
    }

    /// Back into a lobby after a restart, in the contact's original place (routing kept it).
    async fn rejoin_queue(&mut self, contact: i64, queue: &str, apology: Vec<String>) {
        let holding = format!("{}-hold", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &holding);
        let bridge = NewBridge {
            types: vec![BridgeType::Holding],
            bridge_id: Some(holding.clone()),
            name: Some(format!("queue {queue}")),
        };
        let joined = match self.client().create_bridge(&bridge).await {
            Ok(_) => {
                self.client()
                    .add_channels(&holding, &[&self.channel], &AddChannel::default())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = joined {
            self.rest_failed("rejoin the lobby", &e).await;
        }
        let _ = self.client().start_bridge_moh(&holding, None).await;
        self.shared
            .claim_contact(self.tenant, contact, &self.wiring.key);
        self.contact = Some(contact);
        let queue_id = store::calls::find_call(&self.shared.deps.store, self.tenant, self.call_id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.queue_id)
            .unwrap_or_default();
        self.queued = Some(Queued {
            contact,
            queue_id,
            request: plain_request(queue),
            record: false,
            holding,
        });
        self.stage = Stage::Queued;
        self.play_side(apology).await;
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
            Input::Resync(alive) => self.resync(&alive).await,
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
            Action::Transfer(request) => self.transfer(request).await,
            Action::Voicemail(request) => self.voicemail(request).await,
            Action::Callback(request) => {
                // A callback without waiting on the line: register it in the queue now, then
                // the flow says goodbye.
                self.event(
                    "callback_requested",
                    json!({"queue": request.queue, "not_before": request.not_before}),
                )
                .await;
                let ok = self
                    .register_callback(&request.queue, &request.number, request.not_before)
                    .await;
                Some(interp::Event::CallbackDone { ok })
            }
            Action::Directory(request) => {
                self.event(
                    "directory_unavailable",
                    json!({"directory": request.directory, "why": "dial-by-name is not available on calls yet"}),
                )
                .await;
                Some(interp::Event::DirectoryResult(DirectoryOutcome::Exit))
            }
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

    async fn enqueue(&mut self, request: EnqueueRequest) -> Option<interp::Event> {
        let store = self.shared.deps.store.clone();
        let queue = match store::queues::list_queues(&store, self.tenant).await {
            Ok(list) => list.into_iter().find(|q| q.name == request.queue),
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "queues unavailable");
                None
            }
        };
        let Some(queue) = queue else {
            self.event(
                "queue_failed",
                json!({"queue": request.queue, "why": "no such queue"}),
            )
            .await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        };
        let routing = self.shared.deps.routing.clone();
        if !routing.queue_staffed(self.tenant, queue.id).await {
            self.event(
                "queue_failed",
                json!({"queue": request.queue, "why": "no agent is logged in"}),
            )
            .await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        let holding = format!("{}-hold", self.wiring.key);
        let bridge = NewBridge {
            types: vec![BridgeType::Holding],
            bridge_id: Some(holding.clone()),
            name: Some(format!("queue {}", queue.name)),
        };
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &holding);
        if let Err(e) = self.client().create_bridge(&bridge).await {
            self.rest_failed("create holding bridge", &e).await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        if let Err(e) = self
            .client()
            .add_channels(&holding, &[&self.channel], &AddChannel::default())
            .await
        {
            self.rest_failed("join holding bridge", &e).await;
            self.destroy_bridge(&holding).await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        if let Err(e) = self
            .client()
            .start_bridge_moh(&holding, request.hold_music.as_deref())
            .await
        {
            self.rest_failed("music on hold", &e).await;
        }
        let skills =
            serde_json::to_string(&skill_levels(&request.skills)).unwrap_or_else(|_| "{}".into());
        let stored = match store::routed_contacts::insert_routed_contact(
            &store,
            self.tenant,
            store::routed_contacts::NewRoutedContact {
                queue_id: queue.id,
                medium: "voice",
                channel: "voice",
                priority: engine_priority(request.priority),
                required_skills: &skills,
                enqueued_at: Utc::now(),
                callback: false,
            },
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "cannot queue the call");
                self.destroy_bridge(&holding).await;
                return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
            }
        };
        self.shared
            .claim_contact(self.tenant, stored.id, &self.wiring.key);
        self.contact = Some(stored.id);
        let record = queue
            .settings
            .get("record_calls")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.queued = Some(Queued {
            contact: stored.id,
            queue_id: queue.id,
            request: request.clone(),
            record,
            holding,
        });
        self.stage = Stage::Queued;
        if let Err(e) =
            store::calls::set_queued(&store, self.tenant, self.call_id, stored.id, queue.id).await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call row not updated");
        }
        let state = routing.enqueue_stored(self.tenant, &stored).await;
        let (position, ewt) = match &state {
            Ok(s) => (s.position, s.ewt_secs),
            Err(_) => (None, None),
        };
        self.event(
            "queued",
            json!({"queue": queue.name, "queue_id": queue.id, "contact_id": stored.id,
                   "priority": request.priority, "skills": request.skills, "position": position, "ewt_secs": ewt}),
        )
        .await;
        if let Err(e) = state {
            tracing::error!(call.id = self.call_id, error = %e, "routing refused the call");
        }
        let now = Instant::now();
        if let Some(ms) = request.max_wait_ms {
            self.timers
                .insert(Timer::QueueMaxWait, now + Duration::from_millis(ms));
        }
        if let Some(ms) = request.announce_position_every_ms {
            self.timers
                .insert(Timer::Announce, now + Duration::from_millis(ms));
        }
        if let Some(cb) = &request.callback {
            let after = cb.offer_after_ms.unwrap_or(0);
            self.timers
                .insert(Timer::CallbackOffer, now + Duration::from_millis(after));
        }
        None
    }

    /// Says the caller's position (and wait), from the engine's command or our own timer.
    async fn announce_position(&mut self, told: Option<(u32, u32)>) {
        let Some(q) = self.queued.clone() else { return };
        if self.stage != Stage::Queued {
            return;
        }
        let figures = match told {
            Some(f) => Some(f),
            None => self
                .shared
                .deps
                .routing
                .contact_state(self.tenant, q.contact)
                .await
                .ok()
                .and_then(|s| Some((s.position?, s.ewt_secs.unwrap_or(0)))),
        };
        if let Some((position, ewt)) = figures {
            // Asterisk's own queue prompts (app_queue's), in the caller's language.
            let mut media = vec![];
            if position <= 1 {
                media.push("sound:queue-youarenext".to_owned());
            } else {
                media.push("sound:queue-thereare".to_owned());
                media.push(format!("number:{}", position - 1));
                media.push("sound:queue-callswaiting".to_owned());
            }
            if q.request.announce_estimated_wait && ewt >= 60 {
                media.push("sound:queue-holdtime".to_owned());
                media.push(format!("number:{}", ewt.div_ceil(60)));
                media.push("sound:queue-minutes".to_owned());
            }
            let (extra, _) = self.media(&q.request.announce_prompt).await;
            media.extend(extra);
            self.event("announced", json!({"position": position, "ewt_secs": ewt}))
                .await;
            self.play_side(media).await;
        }
        if told.is_none()
            && let Some(ms) = q.request.announce_position_every_ms
        {
            self.timers
                .insert(Timer::Announce, Instant::now() + Duration::from_millis(ms));
        }
    }

    async fn offer_callback(&mut self) {
        let Some(q) = self.queued.clone() else { return };
        let Some(cb) = q.request.callback.clone() else {
            return;
        };
        if self.stage != Stage::Queued {
            return;
        }
        let (media, _) = self.media(&cb.prompt).await;
        self.event("callback_offered", json!({"key": cb.key.to_string()}))
            .await;
        self.play_side(media).await;
        if let Some(every) = cb.offer_every_ms {
            self.timers.insert(
                Timer::CallbackOffer,
                Instant::now() + Duration::from_millis(every),
            );
        }
    }

    /// The caller leaves the queue by the flow's rule (max wait, exit key, overflow): the
    /// contact is withdrawn and the flow continues on the matching exit.
    async fn leave_queue(&mut self, outcome: QueueOutcome, why: &str) {
        let Some(q) = self.queued.take() else { return };
        if self.stage != Stage::Queued {
            self.queued = Some(q);
            return;
        }
        self.clear_queue_timers();
        self.drop_ringing_legs(Cause::NoAnswer).await;
        if let Err(e) = self
            .shared
            .deps
            .routing
            .withdraw(self.tenant, q.contact)
            .await
        {
            tracing::debug!(call.id = self.call_id, error = %e, "contact already gone from routing");
        }
        self.shared.release_contact(self.tenant, q.contact);
        self.contact = None;
        self.stop_side_playbacks().await;
        self.destroy_bridge(&q.holding).await;
        self.event("left_queue", json!({"why": why})).await;
        if self.adopted {
            // The flow's exits are unknown for a call taken up after a restart.
            self.end_reason.get_or_insert("left_queue");
            self.hang_up_caller(Cause::Normal).await;
            return;
        }
        self.stage = Stage::Ivr;
        if let Err(e) =
            store::calls::set_state(&self.shared.deps.store, self.tenant, self.call_id, "ivr").await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call row not updated");
        }
        self.feed(interp::Event::QueueResult(outcome));
    }

    fn clear_queue_timers(&mut self) {
        for t in [Timer::QueueMaxWait, Timer::Announce, Timer::CallbackOffer] {
            self.timers.remove(&t);
        }
    }

    /// The caller accepted the callback: the contact keeps its place, marked as a callback,
    /// and the flow says goodbye. The call is then answered by calling the agent first.
    async fn accept_callback(&mut self) {
        let Some(q) = self.queued.clone() else { return };
        let number = q
            .request
            .callback
            .as_ref()
            .map(|c| c.number.clone())
            .unwrap_or_else(|| self.caller.clone());
        self.timers.remove(&Timer::CallbackOffer);
        self.timers.remove(&Timer::Announce);
        self.timers.remove(&Timer::QueueMaxWait);
        let store = self.shared.deps.store.clone();
        if let Err(e) = store::routed_contacts::mark_callback(&store, self.tenant, q.contact).await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "callback flag not stored");
        }
        self.event(
            "callback_accepted",
            json!({"contact_id": q.contact, "number": mask_number(&number)}),
        )
        .await;
        self.callback = Some(number);
        self.stop_side_playbacks().await;
        // Out of the lobby, to hear the flow's confirmation.
        if let Err(e) = self
            .client()
            .remove_channels(&q.holding, &[&self.channel])
            .await
            && !e.is_not_found()
        {
            self.rest_failed("leave holding bridge", &e).await;
        }
        self.stage = Stage::Ivr;
        self.feed(interp::Event::QueueResult(QueueOutcome::CallbackAccepted));
    }

    /// The standalone `callback` node: the contact joins the queue without the caller on
    /// the line (from `not_before` on), and this task stays to call back when an agent takes
    /// it, exactly as for a callback accepted while waiting.
    async fn register_callback(
        &mut self,
        queue_name: &str,
        number: &str,
        not_before: Option<chrono::DateTime<Utc>>,
    ) -> bool {
        let store = self.shared.deps.store.clone();
        let Ok(queues) = store::queues::list_queues(&store, self.tenant).await else {
            return false;
        };
        let Some(queue) = queues.into_iter().find(|q| q.name == queue_name) else {
            return false;
        };
        let stored = store::routed_contacts::insert_routed_contact(
            &store,
            self.tenant,
            store::routed_contacts::NewRoutedContact {
                queue_id: queue.id,
                medium: "voice",
                channel: "callback",
                priority: engine_priority(5),
                required_skills: "{}",
                enqueued_at: Utc::now(),
                callback: true,
            },
        )
        .await;
        let Ok(stored) = stored else { return false };
        self.shared
            .claim_contact(self.tenant, stored.id, &self.wiring.key);
        self.contact = Some(stored.id);
        self.callback = Some(number.to_owned());
        self.queued = Some(Queued {
            contact: stored.id,
            queue_id: queue.id,
            request: plain_request(queue_name),
            record: queue
                .settings
                .get("record_calls")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            holding: String::new(),
        });
        let _ =
            store::calls::set_queued(&store, self.tenant, self.call_id, stored.id, queue.id).await;
        self.event(
            "callback_registered",
            json!({"contact_id": stored.id, "queue": queue_name, "number": mask_number(number), "not_before": not_before}),
        )
        .await;
        let wait = not_before
            .map(|t| (t - Utc::now()).num_milliseconds())
            .filter(|ms| *ms > 0);
        match wait {
            // Joins the queue at opening time; until then nobody is offered it.
            Some(ms) => {
                self.timers.insert(
                    Timer::CallbackDue,
                    Instant::now() + Duration::from_millis(ms as u64),
                );
                true
            }
            None => self.release_callback().await,
        }
    }

    /// Puts a registered callback in front of agents.
    async fn release_callback(&mut self) -> bool {
        let Some(contact) = self.contact else {
            return false;
        };
        let store = self.shared.deps.store.clone();
        let stored =
            match store::routed_contacts::find_routed_contact(&store, self.tenant, contact).await {
                Ok(Some(s)) => s,
                _ => return false,
            };
        self.shared
            .deps
            .routing
            .enqueue_stored(self.tenant, &stored)
            .await
            .is_ok()
    }

    // ---------------------------------------------------------------- offers

    async fn on_routing(&mut self, command: Command) {
        match command {
            Command::Offer {
                contact,
                agents,
                deadline,
            } if Some(contact.0 as i64) == self.contact => {
                for agent in agents {
                    self.ring_agent(agent.0 as i64, deadline.0).await;
                }
            }
            Command::WithdrawOffers { agents, .. } => {
                let agents: HashSet<i64> = agents.iter().map(|a| a.0 as i64).collect();
                let legs: Vec<String> = self
                    .legs
                    .iter()
                    .filter(|(_, l)| {
                        !l.answered
                            && !l.dropped
                            && matches!(l.kind, LegKind::Offer { agent } if agents.contains(&agent))
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in legs {
                    let cause = if self.agent.is_some() {
                        Cause::AnsweredElsewhere
                    } else {
                        Cause::NoAnswer
                    };
                    self.drop_leg(&id, cause).await;
                }
            }
            Command::Assigned { agent, .. } => {
                let agent = agent.0 as i64;
                if self.agent == Some(agent) {
                    return;
                }
                let answered = self
                    .legs
                    .iter()
                    .find(|(_, l)| l.answered && l.kind == LegKind::Offer { agent })
                    .map(|(id, _)| id.clone());
                match answered {
                    Some(leg) => self.connect(agent, leg).await,
                    // An auto-assigning queue connects without an offer: ring the agent now.
                    None if self.agent.is_none() => {
                        let deadline = Utc::now().timestamp_millis() + 30_000;
                        self.ring_agent(agent, deadline).await;
                    }
                    None => {}
                }
            }
            Command::AnnouncePosition {
                position, ewt_secs, ..
            } => {
                // A flow that sets its own rhythm wins over the queue's.
                let own = self
                    .queued
                    .as_ref()
                    .is_some_and(|q| q.request.announce_position_every_ms.is_some());
                if !own {
                    self.announce_position(Some((position, ewt_secs))).await;
                }
            }
            Command::Overflow {
                target,
                reason,
                keeps_waiting,
                ..
            } => {
                self.event(
                    "overflow",
                    json!({"target": target, "reason": reason, "keeps_waiting": keeps_waiting}),
                )
                .await;
                match target {
                    // The engine moved the contact; the caller keeps waiting where they are.
                    crate::routing::OverflowTarget::Queue { queue } => {
                        if let Some(q) = &mut self.queued {
                            q.queue_id = queue.0 as i64;
                        }
                    }
                    _ if keeps_waiting => {}
                    _ => self.contact_left_routing(reason).await,
                }
            }
            Command::Rejected { reason, .. } => {
                self.event("rejected", json!({"reason": reason})).await;
                self.contact_left_routing(reason).await;
            }
            _ => {}
        }
    }

    /// Routing ended the contact (overflow out, rejection): the flow takes over.
    async fn contact_left_routing(&mut self, reason: OverflowReason) {
        let outcome = match reason {
            OverflowReason::MaxWait => QueueOutcome::MaxWait,
            OverflowReason::Full => QueueOutcome::Full,
            _ => QueueOutcome::NoAgents,
        };
        if let Some(q) = &self.queued {
            // The engine already forgot it; nothing to withdraw.
            self.shared.release_contact(self.tenant, q.contact);
        }
        self.leave_queue(outcome, "routing").await;
    }

    async fn ring_agent(&mut self, agent: i64, deadline_ms: i64) {
        let Some(contact) = self.contact else { return };
        let store = self.shared.deps.store.clone();
        let phone = match store::extensions::list_extensions(&store, self.tenant).await {
            Ok(list) => list
                .into_iter()
                .find(|x| x.enabled && !x.dnd && x.user_id == Some(agent)),
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "extensions unavailable");
                None
            }
        };
        let Some(phone) = phone else {
            self.event(
                "offer_failed",
                json!({"agent_id": agent, "why": "the agent has no phone (or it is on do-not-disturb)"}),
            )
            .await;
            self.decline(contact, agent).await;
            return;
        };
        let leg = format!("{}-a{agent}-{}", self.wiring.key, {
            self.seq += 1;
            self.seq
        });
        let ring_secs = ((deadline_ms - Utc::now().timestamp_millis()) / 1000).max(1) + 2;
        let (name, number) = match &self.callback {
            Some(number) => ("Callback".to_owned(), number.clone()),
            None if self.caller_name.is_empty() => (self.caller.clone(), self.caller.clone()),
            None => (self.caller_name.clone(), self.caller.clone()),
        };
        let waiting_caller = (!self.caller_gone).then(|| self.channel.clone());
        let originate = Originate {
            endpoint: format!(
                "PJSIP/{}",
                crate::voice::provision::object_id(&self.slug, &phone.number)
            ),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(format!("\"{}\" <{number}>", name.replace('"', ""))),
            timeout_secs: Some(ring_secs),
            channel_id: Some(leg.clone()),
            // With nobody on the line (a callback) the agent leg picks its own codecs.
            formats: if waiting_caller.is_none() {
                vec!["ulaw".into(), "alaw".into()]
            } else {
                Vec::new()
            },
            originator: waiting_caller,
            ..Originate::default()
        };
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &leg);
        self.legs.insert(
            leg.clone(),
            Leg {
                kind: LegKind::Offer { agent },
                answered: false,
                dropped: false,
            },
        );
        match self.client().originate(&originate).await {
            Ok(_) => {
                self.event(
                    "offered",
                    json!({"agent_id": agent, "extension": phone.number}),
                )
                .await;
                self.notify_agent(agent, "call_offer").await;
            }
            Err(e) => {
                self.legs.remove(&leg);
                self.shared.release(self.wiring.server, &leg);
                let why = if e.status() == Some(500) {
                    "the phone is not registered".to_owned()
                } else {
                    format!("{e}")
                };
                self.event(
                    "offer_failed",
                    json!({"agent_id": agent, "extension": phone.number, "why": why}),
                )
                .await;
                self.decline(contact, agent).await;
            }
        }
    }

    async fn decline(&self, contact: i64, agent: i64) {
        let event = RoutingEvent::OfferDeclined {
            contact: ContactId(contact as u64),
            agent: AgentId(agent as u64),
        };
        if let Err(e) = self.shared.deps.routing.apply(self.tenant, event).await {
            tracing::warn!(call.id = self.call_id, error = %e, "decline not applied");
        }
    }

    async fn drop_leg(&mut self, id: &str, cause: Cause) {
        if let Some(leg) = self.legs.get_mut(id) {
            leg.dropped = true;
        }
        if let Err(e) = self.client().hangup(id, Some(cause)).await
            && !e.is_not_found()
        {
            tracing::warn!(leg = %id, error = %e, "cannot hang up a leg");
        }
    }

    async fn drop_ringing_legs(&mut self, cause: Cause) {
        let ringing: Vec<String> = self
            .legs
            .iter()
            .filter(|(_, l)| !l.dropped)
            .filter(|(id, _)| self.peer.as_deref() != Some(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ringing {
            self.drop_leg(&id, cause).await;
        }
    }

    /// An agent leg or transfer leg answered (its `StasisStart`).
    async fn leg_answered(&mut self, id: &str) {
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        if leg.dropped {
            return;
        }
        leg.answered = true;
        let kind = leg.kind.clone();
        // Nobody is on the line any more, except for a callback, where that is the point.
        if self.caller_gone && self.stage != Stage::Callback {
            self.drop_leg(id, Cause::Normal).await;
            return;
        }
        match kind {
            LegKind::Dialer { agent } => {
                self.call_customer(agent, id.to_owned()).await;
            }
            LegKind::Offer { agent } => {
                let Some(contact) = self.contact else {
                    self.drop_leg(id, Cause::AnsweredElsewhere).await;
                    return;
                };
                let event = RoutingEvent::OfferAccepted {
                    contact: ContactId(contact as u64),
                    agent: AgentId(agent as u64),
                };
                let won = match self.shared.deps.routing.apply(self.tenant, event).await {
                    Ok(commands) => commands.iter().any(|c| {
                        matches!(c, Command::Assigned { contact: c_id, agent: a }
                            if c_id.0 as i64 == contact && a.0 as i64 == agent)
                    }),
                    Err(e) => {
                        tracing::warn!(call.id = self.call_id, error = %e, "accept not applied");
                        false
                    }
                };
                if won {
                    self.connect(agent, id.to_owned()).await;
                } else if self.agent != Some(agent) {
                    // Another agent was faster, or the offer expired as the phone answered.
                    self.drop_leg(id, Cause::AnsweredElsewhere).await;
                }
            }
            LegKind::Customer => {
                // The callback is answered: the customer becomes the call's caller.
                self.legs.remove(id);
                self.channel = id.to_owned();
                self.caller_gone = false;
                let ringback: Vec<String> = self.side_playbacks.drain().collect();
                for pb in ringback {
                    self.stop_playback(&pb).await;
                }
                if let Some(talk) = self.talk_bridge.clone()
                    && let Err(e) = self
                        .client()
                        .add_channels(&talk, &[id], &AddChannel::default())
                        .await
                {
                    self.rest_failed("bridge the callback", &e).await;
                }
                self.stage = Stage::Connected;
                self.event("callback_answered", json!({})).await;
            }
            LegKind::Transfer => {
                self.stop_side_playbacks().await;
                if self.internal {
                    let channel = self.channel.clone();
                    if let Err(e) = self.client().answer(&channel).await
                        && !e.is_not_found()
                    {
                        self.rest_failed("answer", &e).await;
                    }
                }
                if self.bridge_with(id).await {
                    self.stage = Stage::Connected;
                    self.peer = Some(id.to_owned());
                    self.event("transferred", json!({"answered": true})).await;
                    let _ = store::calls::set_state(
                        &self.shared.deps.store,
                        self.tenant,
                        self.call_id,
                        "connected",
                    )
                    .await;
                    self.feed(interp::Event::TransferResult(TransferOutcome::Answered));
                } else {
                    self.drop_leg(id, Cause::Failure).await;
                    self.stage = Stage::Ivr;
                    self.feed(interp::Event::TransferResult(TransferOutcome::Failed));
                }
            }
        }
    }

    /// Puts the caller and `leg` in a new mixing bridge (leaving the lobby).
    async fn bridge_with(&mut self, leg: &str) -> bool {
        let talk = format!("{}-talk", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &talk);
        let bridge = NewBridge {
            types: vec![BridgeType::Mixing],
            bridge_id: Some(talk.clone()),
            name: Some(format!("call {}", self.call_id)),
        };
        if let Err(e) = self.client().create_bridge(&bridge).await {
            self.rest_failed("create call bridge", &e).await;
            return false;
        }
        self.talk_bridge = Some(talk.clone());
        if let Err(e) = self
            .client()
            .add_channels(&talk, &[&self.channel, leg], &AddChannel::default())
            .await
        {
            self.rest_failed("bridge the call", &e).await;
            return false;
        }
        true
    }

    async fn connect(&mut self, agent: i64, leg: String) {
        let Some(q) = self.queued.clone() else {
            self.drop_leg(&leg, Cause::Normal).await;
            return;
        };
        if self.stage == Stage::Callback {
            self.call_customer(agent, leg).await;
            return;
        }
        self.clear_queue_timers();
        self.stop_side_playbacks().await;
        if !self.bridge_with(&leg).await {
            // The agent is connected in routing; end it so they are not stuck busy.
            self.drop_leg(&leg, Cause::Failure).await;
            let _ = self.shared.deps.routing.end(self.tenant, q.contact).await;
            self.end_reason.get_or_insert("failed");
            self.hang_up_caller(Cause::Failure).await;
            return;
        }
        self.destroy_bridge(&q.holding).await;
        if let Some(q) = &mut self.queued {
            q.holding.clear();
        }
        self.agent = Some(agent);
        self.peer = Some(leg.clone());
        self.stage = Stage::Connected;
        self.drop_ringing_legs(Cause::AnsweredElsewhere).await;
        let store = self.shared.deps.store.clone();
        if let Err(e) =
            store::calls::set_connected(&store, self.tenant, self.call_id, agent, Utc::now()).await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call row not updated");
        }
        self.event("answered", json!({"agent_id": agent})).await;
        if q.record
            && let Some(talk) = self.talk_bridge.clone()
        {
            // No `/` in names: Asterisk would make sub-folders and URLs would need escaping.
            let name = format!("t{}-call-{}", self.tenant, self.call_id);
            let record = Record {
                name: name.clone(),
                format: "wav".into(),
                if_exists: Some("overwrite".into()),
                ..Record::default()
            };
            match self.client().record_bridge(&talk, &record).await {
                Ok(_) => {
                    match store::calls::insert_recording(
                        &store,
                        self.tenant,
                        self.call_id,
                        store::calls::NewRecording {
                            kind: "recording",
                            name: &name,
                            format: "wav",
                            mailbox: None,
                        },
                        Utc::now(),
                    )
                    .await
                    {
                        Ok(id) => self.recording = Some((id, name.clone())),
                        Err(e) => tracing::warn!(error = %e, "recording row not stored"),
                    }
                    self.event("recording", json!({"name": name})).await;
                }
                Err(e) => self.rest_failed("record", &e).await,
            }
        }
        self.notify_agent(agent, "call_connected").await;
        self.feed(interp::Event::QueueResult(QueueOutcome::Connected));
    }

    /// A callback taken by `agent` (on `leg`): the agent waits in the call bridge hearing
    /// ringback while we dial the customer.
    async fn call_customer(&mut self, agent: i64, leg: String) {
        let Some(number) = self.callback.clone() else {
            return;
        };
        self.agent = Some(agent);
        self.peer = Some(leg.clone());
        let talk = format!("{}-talk", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &talk);
        let bridge = NewBridge {
            types: vec![BridgeType::Mixing],
            bridge_id: Some(talk.clone()),
            name: Some(format!("callback {}", self.call_id)),
        };
        let bridged = match self.client().create_bridge(&bridge).await {
            Ok(_) => {
                self.talk_bridge = Some(talk.clone());
                self.client()
                    .add_channels(&talk, &[&leg], &AddChannel::default())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = bridged {
            self.rest_failed("callback bridge", &e).await;
            self.end_reason = Some("failed");
            self.finish_connected().await;
            self.end().await;
            return;
        }
        let store = self.shared.deps.store.clone();
        let _ =
            store::calls::set_connected(&store, self.tenant, self.call_id, agent, Utc::now()).await;
        self.event(
            "callback_dialing",
            json!({"agent_id": agent, "number": mask_number(&number)}),
        )
        .await;
        self.notify_agent(agent, "call_connected").await;
        let customer = self.next_id("c");
        let originate = Originate {
            endpoint: self
                .shared
                .deps
                .outbound_endpoint
                .replace("{number}", &number),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(self.did.clone()),
            timeout_secs: Some(30),
            channel_id: Some(customer.clone()),
            originator: Some(leg.clone()),
            ..Originate::default()
        };
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &customer);
        self.legs.insert(
            customer.clone(),
            Leg {
                kind: LegKind::Customer,
                answered: false,
                dropped: false,
            },
        );
        // Ringback for the agent while the customer's phone rings.
        let playback = self.next_id("r");
        let play = Play {
            playback_id: Some(playback.clone()),
            ..Play::media("tone:ring")
        };
        if self.client().play(&leg, &play).await.is_ok() {
            self.side_playbacks.insert(playback);
        }
        if let Err(e) = self.client().originate(&originate).await {
            self.legs.remove(&customer);
            self.event("callback_failed", json!({"why": e.to_string()}))
                .await;
            self.end_reason = Some("callback_failed");
            self.finish_connected().await;
            self.end().await;
        }
    }

    // ---------------------------------------------------------------- transfer, voicemail

    async fn transfer(&mut self, request: TransferRequest) -> Option<interp::Event> {
        let endpoint = match &request.to {
            Destination::Extension(number) => Some(format!(
                "PJSIP/{}",
                crate::voice::provision::object_id(&self.slug, number)
            )),
            Destination::Number(number) => Some(
                self.shared
                    .deps
                    .outbound_endpoint
                    .replace("{number}", number),
            ),
            Destination::Sip(_) => None,
        };
        let Some(endpoint) = endpoint else {
            self.event(
                "transfer_failed",
                json!({"why": "transfers to SIP URIs are not supported"}),
            )
            .await;
            return Some(interp::Event::TransferResult(TransferOutcome::Failed));
        };
        self.dial_leg(endpoint, &request).await
    }

    /// Rings `endpoint` for the caller (a transfer, or a call from an agent's phone); the
    /// caller is bridged when it answers.
    async fn dial_leg(
        &mut self,
        endpoint: String,
        request: &TransferRequest,
    ) -> Option<interp::Event> {
        let leg = self.next_id("x");
        let originate = Originate {
            endpoint: endpoint.clone(),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(request.caller_id.clone()).filter(|c| !c.is_empty()),
            timeout_secs: Some(((request.ring_timeout_ms / 1000).max(1)) as i64),
            channel_id: Some(leg.clone()),
            originator: Some(self.channel.clone()),
            ..Originate::default()
        };
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &leg);
        self.legs.insert(
            leg.clone(),
            Leg {
                kind: LegKind::Transfer,
                answered: false,
                dropped: false,
            },
        );
        self.stage = Stage::Transferring;
        match self.client().originate(&originate).await {
            Ok(_) => {
                self.event("transferring", json!({"to": endpoint})).await;
                // Ringback while the destination rings (a phone's own call hears its 180).
                if !self.internal {
                    self.play_side(vec!["tone:ring".into()]).await;
                }
                None
            }
            Err(e) => {
                self.legs.remove(&leg);
                self.shared.release(self.wiring.server, &leg);
                self.stage = Stage::Ivr;
                self.event(
                    "transfer_failed",
                    json!({"to": endpoint, "why": e.to_string()}),
                )
                .await;
                Some(interp::Event::TransferResult(TransferOutcome::Failed))
            }
        }
    }

    async fn voicemail(&mut self, request: VoicemailRequest) -> Option<interp::Event> {
        self.stage = Stage::Voicemail;
        let _ = store::calls::set_state(
            &self.shared.deps.store,
            self.tenant,
            self.call_id,
            "voicemail",
        )
        .await;
        let media = match &request.greeting {
            Greeting::Prompt(items) => self.media(items).await.0,
            Greeting::Unavailable => vec!["sound:vm-nobodyavail".into()],
            Greeting::Busy => vec!["sound:vm-isonphone".into()],
        };
        self.voicemail = Some(Voicemail {
            request,
            greeting: None,
            recording: None,
        });
        if media.is_empty() {
            self.start_voicemail_recording().await;
            return None;
        }
        let playback = self.next_id("g");
        let play = Play {
            media,
            lang: Some(self.session.language().to_owned()).filter(|l| !l.is_empty()),
            playback_id: Some(playback.clone()),
            ..Play::default()
        };
        match self.client().play(&self.channel, &play).await {
            Ok(_) => {
                if let Some(vm) = &mut self.voicemail {
                    vm.greeting = Some(playback);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.rest_failed("voicemail greeting", &e).await;
                self.start_voicemail_recording().await;
            }
        }
        None
    }

    async fn start_voicemail_recording(&mut self) {
        let Some(vm) = self.voicemail.clone() else {
            return;
        };
        let name = format!("t{}-vm-{}", self.tenant, self.call_id);
        let record = Record {
            name: name.clone(),
            format: "wav".into(),
            max_duration_secs: vm
                .request
                .max_length_ms
                .map(|ms| u32::try_from(ms / 1000).unwrap_or(u32::MAX).max(1)),
            max_silence_secs: Some(10),
            if_exists: Some("overwrite".into()),
            beep: Some(vm.request.beep),
            terminate_on: Some("#".into()),
        };
        match self.client().record(&self.channel, &record).await {
            Ok(_) => {
                let id = store::calls::insert_recording(
                    &self.shared.deps.store,
                    self.tenant,
                    self.call_id,
                    store::calls::NewRecording {
                        kind: "voicemail",
                        name: &name,
                        format: "wav",
                        mailbox: Some(&vm.request.mailbox),
                    },
                    Utc::now(),
                )
                .await;
                match id {
                    Ok(id) => {
                        if let Some(v) = &mut self.voicemail {
                            v.recording = Some((id, name.clone()));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "voicemail row not stored"),
                }
                self.event(
                    "voicemail",
                    json!({"mailbox": vm.request.mailbox, "name": name}),
                )
                .await;
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.rest_failed("voicemail record", &e).await;
                self.voicemail = None;
                self.stage = Stage::Ivr;
                self.feed(interp::Event::VoicemailDone);
            }
        }
    }

    async fn voicemail_recorded(&mut self, name: &str) {
        let Some(vm) = self.voicemail.take() else {
            return;
        };
        if let Some((id, rec)) = &vm.recording
            && rec == name
        {
            self.save_recording(*id, rec.clone());
            self.notify_team(
                "voicemail",
                json!({"call_id": self.call_id, "recording_id": id, "mailbox": vm.request.mailbox}),
            )
            .await;
        }
        if !self.caller_gone {
            self.stage = Stage::Ivr;
            self.feed(interp::Event::VoicemailDone);
        }
    }

    /// Fetches a finished recording from Asterisk into the data dir, in the background (it
    /// may take Asterisk a moment to close the file).
    fn save_recording(&self, id: i64, name: String) {
        let client = self.client().clone();
        let store = self.shared.deps.store.clone();
        let dir = self.shared.deps.recordings_dir.clone();
        let tenant = self.tenant;
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            for _ in 0..8 {
                match client.stored_recording_file(&name).await {
                    Ok(bytes) => {
                        let rel = format!("{tenant}/{name}.wav");
                        let path = dir.join(&rel);
                        let written = async {
                            if let Some(parent) = path.parent() {
                                tokio::fs::create_dir_all(parent).await?;
                            }
                            let tmp = path.with_extension("wav.partial");
                            tokio::fs::write(&tmp, &bytes).await?;
                            tokio::fs::rename(&tmp, &path).await
                        }
                        .await;
                        if let Err(e) = written {
                            tracing::error!(recording = %name, error = %e, "cannot store a recording");
                            return;
                        }
                        let secs = wav_seconds(&bytes);
                        if let Err(e) =
                            store::calls::set_recording_file(&store, tenant, id, &rel, secs).await
                        {
                            tracing::error!(recording = %name, error = %e, "recording row not updated");
                        }
                        // Asterisk's copy is no longer needed.
                        let _ = client.delete_stored_recording(&name).await;
                        return;
                    }
                    Err(e) if e.is_not_found() => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                    Err(e) => {
                        tracing::warn!(recording = %name, error = %e, "recording not fetched; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
            tracing::error!(recording = %name, "recording never became available in Asterisk");
        });
    }

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
                if let Some(pid) = self.playing.remove(&id) {
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
                        self.stage = Stage::Ivr;
                        self.feed(interp::Event::VoicemailDone);
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
        if self.peer.as_deref() == Some(id) {
            // The agent (or transfer target) hung up: the call is over.
            self.peer = None;
            self.end_reason.get_or_insert(match leg.kind {
                LegKind::Offer { .. } | LegKind::Customer | LegKind::Dialer { .. } => {
                    "agent_hangup"
                }
                LegKind::Transfer => "transfer_hangup",
            });
            self.finish_connected().await;
            self.hang_up_caller(Cause::Normal).await;
            // With nobody answered yet (a callback or outbound call still ringing the
            // customer) there was no caller to hang up: end here.
            self.end().await;
            return;
        }
        match leg.kind {
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
                self.end_reason = Some("agent_no_answer");
                self.end().await;
            }
            LegKind::Customer => {
                self.event(
                    "callback_failed",
                    json!({"cause": cause, "why": cause_text(cause)}),
                )
                .await;
                self.end_reason = Some("callback_failed");
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
                if self.internal {
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
                    self.feed(interp::Event::TransferResult(outcome));
                }
            }
        }
    }

    /// The caller is gone: everything of the call ends.
    async fn caller_left(&mut self, why: &'static str) {
        self.caller_gone = true;
        self.end_reason.get_or_insert(why);
        // A registered callback still joins the queue at its time.
        self.timers.retain(|t, _| *t == Timer::CallbackDue);
        self.playing.clear();
        self.side_playbacks.clear();
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
            Stage::Ivr => {
                self.ivr_hangup().await;
            }
            Stage::Callback => return,
            Stage::Queued => {
                if let Some(q) = self.queued.take() {
                    self.drop_ringing_legs(Cause::NoAnswer).await;
                    let _ = self
                        .shared
                        .deps
                        .routing
                        .withdraw(self.tenant, q.contact)
                        .await;
                    self.shared.release_contact(self.tenant, q.contact);
                    self.contact = None;
                    self.destroy_bridge(&q.holding).await;
                    self.end_reason = Some("abandoned");
                    self.event("abandoned", json!({"contact_id": q.contact}))
                        .await;
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
                    && let Some((id, name)) = vm.recording
                {
                    let _ = self.client().stop_recording(&name).await;
                    self.save_recording(id, name);
                    self.notify_team(
                        "voicemail",
                        json!({"call_id": self.call_id, "recording_id": id, "mailbox": vm.request.mailbox}),
                    )
                    .await;
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
            self.notify_agent(agent, "call_ended").await;
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
        let reason = self.end_reason.unwrap_or("caller_hangup");
        self.event("ended", json!({"reason": reason})).await;
        if let Err(e) = store::calls::set_ended(
            &self.shared.deps.store,
            self.tenant,
            self.call_id,
            reason,
            Utc::now(),
        )
        .await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call row not ended");
        }
    }

    async fn resync(&mut self, alive: &HashSet<String>) {
        if !self.caller_gone && !alive.contains(&self.channel) {
            tracing::info!(
                call.id = self.call_id,
                "caller left while the events socket was down"
            );
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
        for id in gone {
            self.channel_gone(&id, Some(16)).await;
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
        if let Err(e) = store::calls::add_event(
            &self.shared.deps.store,
            self.tenant,
            self.call_id,
            kind,
            &detail,
            Utc::now(),
        )
        .await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call event not stored");
        }
    }

    /// Tells one agent's inbox about the call (ringing, connected, ended).
    async fn notify_agent(&self, agent: i64, kind: &str) {
        let payload = self.summary();
        if let Err(e) = self
            .shared
            .deps
            .events
            .publish(self.tenant, kind, Some(agent), payload)
            .await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "agent not notified");
        }
    }

    async fn notify_team(&self, kind: &str, payload: Value) {
        if let Err(e) = self
            .shared
            .deps
            .events
            .publish(self.tenant, kind, None, payload)
            .await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "team not notified");
        }
    }

    fn summary(&self) -> Value {
        json!({
            "call_id": self.call_id,
            "contact_id": self.contact,
            "caller": self.caller,
            "caller_name": self.caller_name,
            "did": self.did,
            "queue_id": self.queued.as_ref().map(|q| q.queue_id),
            "language": self.session.language(),
        })
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

/// Seconds of a PCM WAV file, from its header.
fn wav_seconds(bytes: &[u8]) -> Option<i64> {
    let cursor = std::io::Cursor::new(bytes);
    let reader = hound::WavReader::new(cursor).ok()?;
    let spec = reader.spec();
    Some(i64::from(reader.duration() / spec.sample_rate.max(1)))
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
    fn numbers_are_masked_but_the_last_four() {
        assert_eq!(mask_number("+14155550100"), "+*******0100");
        assert_eq!(mask_number("123"), "123");
    }
}
