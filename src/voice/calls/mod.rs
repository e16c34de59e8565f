//! Calls over ARI: one task per call, fed by one event reader per Asterisk server.
//!
//! - [`VoiceService::start`] opens the events socket of every `[[voice.asterisk]]` server
//!   and follows the routing engine's decisions.
//! - The reader never waits on a call: it only looks up which call an event is about (by
//!   channel, bridge, playback target or recording target) and hands it over on an unbounded
//!   channel, so Asterisk's 100 ms write timeout never drops us (ARI.md §1.1).
//! - A `StasisStart` with `["inbound", DID]` starts a call task ([`call`]); one with
//!   `["leg", KEY]` is an agent or transfer leg we originated and goes to its call.
//! - Routing commands about a voice contact (offers, withdrawals, assignment, position
//!   announcements, overflow) go to the call holding the contact.
//! - Dial-by-name is a pure dialog (`directory`) the call task runs like the interpreter.
//! - After the socket comes back, every call is told which channels still exist, so a call
//!   whose caller left while we were deaf ends cleanly and a missed `PlaybackFinished` is
//!   recovered (ARI.md §1.2).
//! - Agents' phones are followed too: registration from endpoint, peer and contact events,
//!   device state and calls per phone in [`phones`].

mod call;
mod directory;
pub mod http;
pub mod media;
mod phones;
mod timeline;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::{broadcast, mpsc};

pub use media::{Media, MediaError, find_sound};
pub use phones::{DeviceState, PhoneActivity};

use super::ari::{self, AriClient, EventStream, StreamEvent, StreamOptions};
use crate::config::AsteriskConfig;
use crate::domain::TenantId;
use crate::inbox::EventHub;
use crate::ivr::service::FlowService;
use crate::routing::Command;
use crate::routing::service::{DeskHold, HoldOutcome, RoutingNotice, RoutingService};
use crate::store::{self, Store};

/// What calls need from the rest of the service.
#[derive(Clone)]
pub struct VoiceDeps {
    /// Database.
    pub store: Store,
    /// The routing adapter (calls are contacts of medium voice).
    pub routing: RoutingService,
    /// Tenants' published flows and DID routes.
    pub flows: Arc<FlowService>,
    /// Agents' real-time streams.
    pub events: EventHub,
    /// Prompts as media URIs.
    pub media: Media,
    /// Where recordings and voicemails are kept.
    pub recordings_dir: PathBuf,
    /// `voice.outbound_endpoint`.
    pub outbound_endpoint: String,
    /// `ivr.http_allowlist`.
    pub http_allowlist: Option<Vec<String>>,
    /// `voice.outbound_caller_id`.
    pub outbound_caller_id: Option<String>,
    /// `voice.sip_uri_endpoint`.
    pub sip_uri_endpoint: String,
}

/// Why voice could not start, or a call could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// No Asterisk is configured.
    #[error("no Asterisk server is configured (voice.asterisk)")]
    NotConfigured,
    /// The agent has no enabled phone.
    #[error("you have no phone: ask an admin for an extension (or turn off do-not-disturb)")]
    NoPhone,
    /// The agent is on a call (or their phone is ringing with one).
    #[error("you are already on a call")]
    OnACall,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Routing state could not be read or changed.
    #[error(transparent)]
    Routing(#[from] crate::routing::service::RoutingError),
    /// A configured server is unusable.
    #[error("voice.asterisk `{server}`: {source}")]
    Server {
        /// Its name.
        server: String,
        /// Why.
        source: ari::AriError,
    },
}

struct Server {
    client: AriClient,
    config: AsteriskConfig,
    /// Asterisk's `startup_time` when we last connected: a new one on reconnecting means
    /// Asterisk restarted (and lost every call), not just that the socket dropped.
    started: StdMutex<Option<String>>,
}

/// What the reader hands a call task.
#[derive(Debug)]
pub(crate) enum Input {
    /// An ARI event about one of the call's channels, bridges, playbacks or recordings.
    Ari(Box<ari::Event>),
    /// A routing decision about the call's contact.
    Routing(Command),
    /// The events socket is back: these channels still exist in Asterisk, which restarted
    /// meanwhile (`true`) or only dropped the socket.
    Resync(Arc<HashSet<String>>, bool),
    /// The agent does something with the connected call; the answer says whether it could.
    Agent {
        action: CallAction,
        reply: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
}

/// What the agent on a connected call (or a supervisor) does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// Hand the caller on at once (blind transfer).
    Transfer(TransferTarget),
    /// Hold the caller and ring a colleague first (attended transfer).
    Consult(TransferTarget),
    /// Put the caller through to the consulted colleague; the agent leaves.
    CompleteConsult,
    /// Hang up the colleague; the caller is back with the agent.
    CancelConsult,
    /// The caller joins the agent and the consulted colleague (a three-way call).
    Conference,
    /// Music on hold for the caller.
    Hold,
    /// Back to talking.
    Resume,
}

/// Where an agent sends a connected caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferTarget {
    /// Another extension of the tenant.
    Extension(String),
    /// A queue of the tenant, by name: the caller waits there again.
    Queue(String),
    /// An outside E.164 number, through `voice.outbound_endpoint`.
    Number(String),
}

/// What a call task holds from its first moment.
#[derive(Default)]
struct Claims {
    resources: Vec<String>,
    tenant: Option<TenantId>,
    call_id: Option<i64>,
    contact: Option<(TenantId, i64)>,
}

impl Claims {
    fn channel(id: &str) -> Self {
        Claims {
            resources: vec![id.to_owned()],
            ..Claims::default()
        }
    }
}

struct CallHandle {
    tenant: Option<TenantId>,
    call_id: Option<i64>,
    tx: mpsc::UnboundedSender<Input>,
}

#[derive(Default)]
struct Registry {
    calls: HashMap<String, CallHandle>,
    // Channel and bridge ids (per server) → call key.
    resources: HashMap<(usize, String), String>,
    // Voice contacts → call key.
    contacts: HashMap<(TenantId, i64), String>,
}

pub(crate) struct Shared {
    deps: VoiceDeps,
    servers: Vec<Server>,
    registry: StdMutex<Registry>,
    // Call keys are `{boot}-{n}`: unique across restarts, so a leg originated by an earlier
    // run is never taken for one of ours.
    boot: String,
    next: AtomicU64,
    // Every task we spawned, so a stopping service lets go of Asterisk at once.
    tasks: StdMutex<Vec<tokio::task::AbortHandle>>,
    // Whether each PJSIP endpoint's phone is registered, and since when, per server.
    phones: StdMutex<phones::Registrations>,
    // Device states and the phones' channels: what each phone is doing.
    devices: phones::Devices,
    timeline: timeline::Timeline,
    restarts: tokio::sync::broadcast::Sender<String>,
}

/// How long a list waits for Asterisk's count of each phone's channels before it makes do
/// with what the events said.
const ENDPOINTS_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Event types Asterisk sends for our channels that nothing here reads, and so asks it not
/// to send (see `VoiceService::filter_events`).
pub const UNREAD_EVENTS: &[&str] = &[
    "ChannelVarset",
    "ChannelDialplan",
    "ChannelConnectedLine",
    "ChannelCallerId",
];

/// Device states subscribed per request (each source is a query item; this keeps the URL short).
const SUBSCRIBE_CHUNK: usize = 50;

/// Whether an agent's phone is registered, as Asterisk last said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PhoneState {
    /// `online` (a registered, reachable contact) or `offline`.
    pub state: &'static str,
    /// When that was learned (UTC).
    pub since: chrono::DateTime<chrono::Utc>,
}

/// The voice side of the service; cheap to clone.
#[derive(Clone)]
pub struct VoiceService(Arc<Shared>);

impl std::fmt::Debug for VoiceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceService")
            .field("servers", &self.0.servers.len())
            .finish_non_exhaustive()
    }
}

impl VoiceService {
    /// A service for `servers` (nothing connects until [`Self::start`]).
    pub fn new(servers: &[AsteriskConfig], deps: VoiceDeps) -> Result<Self, VoiceError> {
        let servers = servers
            .iter()
            .map(|config| {
                Ok(Server {
                    client: AriClient::new(config).map_err(|source| VoiceError::Server {
                        server: config.name.clone(),
                        source,
                    })?,
                    config: config.clone(),
                    started: StdMutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, VoiceError>>()?;
        let (restarts, _) = tokio::sync::broadcast::channel(16);
        let boot = format!("{:x}", chrono::Utc::now().timestamp_millis());
        Ok(VoiceService(Arc::new(Shared {
            deps,
            servers,
            registry: StdMutex::new(Registry::default()),
            boot,
            next: AtomicU64::new(1),
            tasks: StdMutex::new(Vec::new()),
            phones: StdMutex::new(phones::Registrations::default()),
            devices: phones::Devices::default(),
            timeline: timeline::Timeline::new(),
            restarts,
        })))
    }

    /// Names of Asterisk servers found restarted on reconnecting, as they are found: what
    /// Asterisk kept only in memory (pushed extensions with a `memory` wizard) is gone.
    pub fn restarts(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.0.restarts.subscribe()
    }

    /// Whether any Asterisk server is configured.
    pub fn is_configured(&self) -> bool {
        !self.0.servers.is_empty()
    }

    /// Whether the phone of PJSIP endpoint `id` (`<slug>-<number>`) is registered; `None`
    /// when Asterisk has said nothing about it (no Asterisk, or not connected yet).
    pub fn phone_state(&self, id: &str) -> Option<PhoneState> {
        self.0
            .phones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
    }

    /// What the phone of PJSIP endpoint `id` is doing, from what is known now (Asterisk's
    /// device state, else the phone's calls we see); `call_limit` is the extension's.
    pub fn phone_activity(&self, id: &str, call_limit: i64) -> PhoneActivity {
        self.activity(id, call_limit, None)
    }

    fn activity(&self, id: &str, call_limit: i64, channels: Option<usize>) -> PhoneActivity {
        let registered = self.phone_state(id).map(|p| p.state == "online");
        let limit = u32::try_from(call_limit).unwrap_or(0);
        self.0.devices.activity(id, registered, limit, channels)
    }

    /// [`Self::phone_activity`] of several phones (`(id, call_limit)`), with the number of
    /// calls each is on read from Asterisk (the channels on each endpoint) when any phone is
    /// on a call: device state says only *that* a phone is in use, and Asterisk also sees the
    /// calls that never pass through us. Asterisk not answering within a moment leaves the
    /// counts to our own channels.
    pub async fn phone_activities(&self, phones: &[(String, i64)]) -> Vec<PhoneActivity> {
        let now: Vec<PhoneActivity> = phones
            .iter()
            .map(|(id, limit)| self.phone_activity(id, *limit))
            .collect();
        if now.iter().all(|a| a.active_calls == 0) {
            return now;
        }
        let Some(channels) = self.endpoint_channels().await else {
            return now;
        };
        phones
            .iter()
            .map(|(id, limit)| {
                let n = channels.get(id.as_str()).copied().unwrap_or(0);
                self.activity(id, *limit, Some(n))
            })
            .collect()
    }

    /// Channels per PJSIP endpoint over every server; `None` unless all of them answered.
    async fn endpoint_channels(&self) -> Option<HashMap<String, usize>> {
        let reads = self.0.servers.iter().map(|s| {
            tokio::time::timeout(ENDPOINTS_WAIT, s.client.list_endpoints_by_tech("PJSIP"))
        });
        let mut counts: HashMap<String, usize> = HashMap::new();
        for read in futures::future::join_all(reads).await {
            match read {
                Ok(Ok(list)) => {
                    for e in list {
                        *counts.entry(e.resource).or_default() += e.channel_ids.len();
                    }
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "phones' channels not read");
                    return None;
                }
                Err(_) => {
                    tracing::debug!("phones' channels not read in time");
                    return None;
                }
            }
        }
        Some(counts)
    }

    /// Follows the device state of PJSIP endpoint `id` (an extension just pushed) on every
    /// server, in the background. A server not connected yet subscribes it when it connects.
    pub fn watch_phone(&self, id: &str) {
        for server in 0..self.0.servers.len() {
            let client = self.0.servers[server].client.clone();
            let source = format!("deviceState:PJSIP/{id}");
            self.0.spawn(async move {
                if let Err(e) = client.subscribe(&[source.as_str()]).await {
                    tracing::debug!(%source, error = %e, "device state not subscribed yet");
                }
            });
        }
    }

    /// Returns once every call timeline entry this service produced so far is stored.
    pub async fn flush_timeline(&self) {
        self.0.timeline.flush().await;
    }

    /// Calls in progress (all tenants).
    pub fn active_calls(&self) -> usize {
        self.0.registry().calls.len()
    }

    /// Opens every server's events socket and follows routing decisions, in the background.
    /// `routing` must be subscribed before any call can be queued.
    pub fn start(&self, routing: broadcast::Receiver<RoutingNotice>) -> Result<(), VoiceError> {
        self.0.timeline.start(self.0.deps.store.clone());
        for (index, server) in self.0.servers.iter().enumerate() {
            let mut options = StreamOptions::from_config(&server.config);
            if server.config.rest_over_websocket {
                options = options.requests_for(&server.client);
            }
            // Events are handed to their calls on the reader task itself: a call brings a
            // few dozen, and a task in between would wake for each.
            let voice = self.clone();
            let mut connected_before = false;
            let stream = EventStream::spawn_with(options, move |item| {
                voice.on_stream(index, item, &mut connected_before)
            })
            .map_err(|source| VoiceError::Server {
                server: server.config.name.clone(),
                source,
            })?;
            self.0.spawn(stream.join());
        }
        self.0.spawn(self.clone().follow_routing(routing));
        Ok(())
    }

    /// Places a call from the inbox: `agent`'s phone rings first, then `to` (E.164) is dialled
    /// through `voice.outbound_endpoint`. Returns the call's id at once; the call goes on in
    /// the background (its timeline tells how it went).
    pub async fn click_to_call(
        &self,
        tenant: &crate::store::tenants::Tenant,
        agent: i64,
        to: &str,
    ) -> Result<i64, VoiceError> {
        if self.0.servers.is_empty() {
            return Err(VoiceError::NotConfigured);
        }
        let store = &self.0.deps.store;
        let phone = store::extensions::list_extensions(store, tenant.id)
            .await?
            .into_iter()
            .find(|x| x.enabled && !x.dnd && x.user_id == Some(agent))
            .ok_or(VoiceError::NoPhone)?;
        let phone_id = crate::voice::provision::object_id(&tenant.slug, &phone.number);
        // Placed on the server the agent's phone is registered with, which dials it directly.
        let server = self
            .0
            .registered_on(&phone_id)
            .first()
            .copied()
            .unwrap_or(0);
        let srv = &self.0.servers[server];
        // The call holds the agent's voice capacity through one of their queues (its reports
        // count it there); an agent in no queue is not routed calls anyway.
        let queues =
            store::queues::queues_of_member(store, tenant.id, crate::domain::UserId(agent)).await?;
        let held = match queues.first() {
            Some(&queue) => {
                match self
                    .0
                    .deps
                    .routing
                    .hold_desk(tenant.id, agent, queue, DeskHold::Outbound)
                    .await?
                {
                    HoldOutcome::Held(contact) => Some(contact),
                    HoldOutcome::OnACall => return Err(VoiceError::OnACall),
                    HoldOutcome::NotRouted => None,
                }
            }
            None => None,
        };
        // The customer sees the configured number, else the tenant's first DID.
        let presented = match &self.0.deps.outbound_caller_id {
            Some(id) => id.clone(),
            None => self
                .0
                .deps
                .flows
                .live(tenant.id)
                .await
                .ok()
                .flatten()
                .and_then(|p| p.catalog.dids().next().map(str::to_owned))
                .unwrap_or_default(),
        };
        let key = self.0.new_key();
        let leg = format!("{key}-d{agent}");
        let row = store::calls::insert_call(
            store,
            tenant.id,
            store::calls::NewCall {
                server: &srv.config.name,
                channel_id: &leg,
                direction: "outbound",
                did: &presented,
                caller: to,
                flow: None,
            },
            chrono::Utc::now(),
        )
        .await?;
        let endpoint = format!("PJSIP/{phone_id}");
        let id = row.id;
        let slug = tenant.slug.clone();
        let claims = Claims {
            resources: vec![leg],
            tenant: Some(tenant.id),
            call_id: Some(row.id),
            contact: held.map(|c| (tenant.id, c)),
        };
        self.launch(server, key, claims, move |shared, wiring, rx| {
            let outbound = call::Outbound {
                row,
                slug,
                agent,
                endpoint,
                held,
            };
            call::run_outbound(shared, wiring, outbound, rx)
        });
        Ok(id)
    }

    /// Does `action` on a connected call in progress here (transfer, consult, hold …).
    /// Fails, with a reason for the agent, when the call is not in progress here, not
    /// connected, or the action does not fit its state.
    pub async fn act(
        &self,
        tenant: TenantId,
        call_id: i64,
        action: CallAction,
    ) -> Result<(), String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = {
            let reg = self.0.registry();
            reg.calls
                .values()
                .find(|h| h.tenant == Some(tenant) && h.call_id == Some(call_id))
                .map(|h| h.tx.send(Input::Agent { action, reply }).is_ok())
        };
        if sent != Some(true) {
            return Err("the call is not in progress".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the call ended meanwhile".into()))
    }

    /// Stops reading events and drops every call task (the calls stay up in Asterisk, where
    /// the next start takes them up again).
    pub fn stop(&self) {
        for task in self
            .0
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }

    /// What the events reader of `server` read; never waits.
    fn on_stream(&self, server: usize, item: StreamEvent, connected_before: &mut bool) {
        match item {
            StreamEvent::Connected => {
                let name = &self.0.servers[server].config.name;
                tracing::info!(asterisk = %name, "ARI events connected");
                let filter = self.clone();
                self.0
                    .spawn(async move { filter.filter_events(server).await });
                let phones = self.clone();
                self.0
                    .spawn(async move { phones.watch_phones(server).await });
                let me = self.clone();
                if *connected_before {
                    self.0.spawn(async move { me.resync(server).await });
                } else {
                    // Calls of an earlier run of ours may still be up in Asterisk.
                    self.0.spawn(async move { me.recover(server).await });
                }
                *connected_before = true;
            }
            StreamEvent::Disconnected { reason } => {
                let name = &self.0.servers[server].config.name;
                tracing::warn!(asterisk = %name, %reason, "ARI events lost; reconnecting");
                self.0
                    .phones
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .forget(server);
                self.0.devices.forget_server(server);
            }
            StreamEvent::Event(message) => self.dispatch(server, message.event),
        }
    }

    /// Asks Asterisk not to send the event types no call or phone here reads. A bridged call
    /// alone brings 31 `ChannelVarset` (BRIDGEPEER and BRIDGEPVTCALLID while two parties share
    /// a bridge, five RTPAUDIOQOS statistics per leg at hangup and the peer's copies) and 2
    /// `ChannelConnectedLine`: 33 of the 46 events on its channels in Asterisk 22's captures
    /// (`asterisk-ari/captured/c_*`, `k_*`). Each would cost Asterisk, the socket and us a
    /// message for nothing. Sent on every connect, since Asterisk may have dropped the app and
    /// its filter meanwhile. An Asterisk that refuses the filter still works: we ignore those
    /// events as before.
    async fn filter_events(&self, server: usize) {
        let client = &self.0.servers[server].client;
        if let Err(e) = client.filter_events(UNREAD_EVENTS).await {
            tracing::warn!(error = %e, "ARI event filter not set; unread events will still come");
        }
    }

    /// Subscribes to every PJSIP endpoint's state (registrations arrive as `PeerStatusChange`
    /// and `ContactStatusChange` on a real Asterisk, ARI.md §11) and to the device state of
    /// every enabled extension (`DeviceStateChanged` comes only per subscribed device, and not
    /// for the trunk, whose every call would be an event more), then reads their state now.
    /// Subscriptions belong to the app and are lost with it: this runs on every connect.
    async fn watch_phones(&self, server: usize) {
        let client = &self.0.servers[server].client;
        if let Err(e) = client.subscribe(&["endpoint:PJSIP"]).await {
            tracing::warn!(error = %e, "phone registrations not subscribed");
        }
        // The phones whose device state Asterisk will tell us from now on.
        let mut watched: HashSet<String> = HashSet::new();
        match store::extensions::list_enabled_phones(&self.0.deps.store).await {
            Ok(phones) => {
                let ids: Vec<String> = phones
                    .iter()
                    .map(|(slug, number)| crate::voice::provision::object_id(slug, number))
                    .collect();
                for chunk in ids.chunks(SUBSCRIBE_CHUNK) {
                    let sources: Vec<String> = chunk
                        .iter()
                        .map(|id| format!("deviceState:PJSIP/{id}"))
                        .collect();
                    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
                    if let Err(e) = client.subscribe(&sources).await {
                        tracing::warn!(error = %e, "phones' device states not subscribed");
                        break;
                    }
                    watched.extend(chunk.iter().cloned());
                }
            }
            Err(e) => tracing::warn!(error = %e, "phones to watch not read"),
        }
        match client.list_endpoints_by_tech("PJSIP").await {
            Ok(list) => {
                for e in list {
                    let online = e.state == Some(ari::models::EndpointState::Online);
                    self.0.set_phone(server, &e.resource, online);
                    // Only where events will follow: a first state nobody updates would
                    // outweigh what our own calls say for ever.
                    if watched.contains(&e.resource) {
                        self.0.devices.seed(server, &e);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "phone registrations not read"),
        }
    }

    /// Hands one event to its call (or starts a call).
    fn dispatch(&self, server: usize, event: ari::Event) {
        match &event {
            ari::Event::EndpointStateChange(e) if e.endpoint.technology == "PJSIP" => {
                let online = e.endpoint.state == Some(ari::models::EndpointState::Online);
                self.0.set_phone(server, &e.endpoint.resource, online);
                return;
            }
            ari::Event::PeerStatusChange(e) if e.endpoint.technology == "PJSIP" => {
                let online = e.peer.peer_status == "Reachable";
                self.0.set_phone(server, &e.endpoint.resource, online);
                return;
            }
            ari::Event::ContactStatusChange(e) if e.endpoint.technology == "PJSIP" => {
                let status = e.contact_info.contact_status.as_str();
                if status == "Reachable" || status == "Unreachable" || status == "Removed" {
                    self.0
                        .set_phone(server, &e.endpoint.resource, status == "Reachable");
                }
                return;
            }
            ari::Event::DeviceStateChanged(e) => {
                self.0
                    .devices
                    .set_device(server, &e.device_state.name, &e.device_state.state);
                return;
            }
            _ => {}
        }
        self.0.devices.observe(server, &event);
        if let ari::Event::StasisStart(start) = &event {
            let args: Vec<&str> = start.args.iter().map(String::as_str).collect();
            match args.as_slice() {
                ["inbound", did, ..] => {
                    let did = did.to_string();
                    self.start_inbound(server, start.channel.clone(), did);
                    return;
                }
                ["internal", dialled, ..] => {
                    let dialled = dialled.to_string();
                    self.start_internal(server, start.channel.clone(), dialled);
                    return;
                }
                ["leg", key, ..] => {
                    let key = key.to_string();
                    let id = start.channel.id.clone();
                    if self.0.forward_key(server, &key, Some(id.clone()), event) {
                        return;
                    }
                    // A leg of a call that is gone (or of an earlier run): nobody wants it.
                    self.0.hang_up_stray(server, id);
                    return;
                }
                _ => {
                    let id = start.channel.id.clone();
                    tracing::warn!(channel = %id, args = ?start.args, "unexpected channel in the Stasis app; hanging up");
                    self.0.hang_up_stray(server, id);
                    return;
                }
            }
        }
        let ids = resource_ids(&event);
        let key = {
            let reg = self.0.registry();
            ids.iter()
                .find_map(|id| reg.resources.get(&(server, id.clone())).cloned())
        };
        if let Some(key) = key {
            self.0.forward_key(server, &key, None, event);
        }
    }

    fn start_internal(&self, server: usize, channel: ari::models::Channel, dialled: String) {
        let claims = Claims::channel(&channel.id);
        self.launch(
            server,
            self.0.new_key(),
            claims,
            move |shared, wiring, rx| call::run_internal(shared, wiring, channel, dialled, rx),
        );
    }

    fn start_inbound(&self, server: usize, channel: ari::models::Channel, did: String) {
        let claims = Claims::channel(&channel.id);
        self.launch(
            server,
            self.0.new_key(),
            claims,
            move |shared, wiring, rx| call::run_inbound(shared, wiring, channel, did, rx),
        );
    }

    /// Registers a call task's claims (before it runs: the reader may route its events at
    /// once), then runs it; the registry forgets it when it ends.
    fn launch<F, Fut>(&self, server: usize, key: String, claims: Claims, run: F)
    where
        F: FnOnce(Arc<Shared>, call::Wiring, mpsc::UnboundedReceiver<Input>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut reg = self.0.registry();
            for id in claims.resources {
                reg.resources.insert((server, id), key.clone());
            }
            if let Some(contact) = claims.contact {
                reg.contacts.insert(contact, key.clone());
            }
            reg.calls.insert(
                key.clone(),
                CallHandle {
                    tenant: claims.tenant,
                    call_id: claims.call_id,
                    tx,
                },
            );
        }
        let wiring = call::Wiring {
            server,
            server_name: self.0.servers[server].config.name.clone(),
            client: self.0.servers[server].client.clone(),
            key: key.clone(),
        };
        let task = run(self.0.clone(), wiring, rx);
        let shared = self.0.clone();
        self.0.spawn(async move {
            task.await;
            shared.forget(&key);
        });
    }

    async fn follow_routing(self, mut notices: broadcast::Receiver<RoutingNotice>) {
        loop {
            match notices.recv().await {
                Ok(notice) => {
                    let Some(contact) = notice.command.contact() else {
                        continue;
                    };
                    let key = self
                        .0
                        .registry()
                        .contacts
                        .get(&(notice.tenant, contact.0 as i64))
                        .cloned();
                    if let Some(key) = key {
                        self.0.send(&key, Input::Routing(notice.command));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::error!(
                        missed,
                        "voice fell behind routing decisions; offers may be missed"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// After our own start: takes up the calls an earlier run left in Asterisk (see
    /// [`call::Adoption`]), ends the rows of calls that are gone (freeing their contacts, so
    /// none is stuck in routing), and hangs up or destroys what nobody owns any more.
    async fn recover(&self, server: usize) {
        // The startup time this run first sees, to tell a later restart by.
        let startup = self.startup_time(server).await;
        self.remember_startup(server, startup);
        let srv = &self.0.servers[server];
        let store = &self.0.deps.store;
        let routing = &self.0.deps.routing;
        let rows = match store::calls::list_unfinished_on(store, &srv.config.name).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "calls to recover cannot be read");
                return;
            }
        };
        let (channels, bridges) = match (
            srv.client.list_channels().await,
            srv.client.list_bridges().await,
        ) {
            (Ok(c), Ok(b)) => (c, b),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot list Asterisk's calls; recovery skipped");
                return;
            }
        };
        let prefix = format!("{},", srv.config.app);
        let in_app: HashSet<String> = channels
            .iter()
            .filter(|c| c.dialplan.app_name == "Stasis" && c.dialplan.app_data.starts_with(&prefix))
            .map(|c| c.id.clone())
            .collect();
        let mut kept: HashSet<String> = HashSet::new();
        let mut adopted = 0usize;
        for row in rows {
            if self
                .0
                .registry()
                .resources
                .contains_key(&(server, row.channel_id.clone()))
            {
                continue;
            }
            let tenant = TenantId(row.tenant_id);
            // A call put through to an agent's desk holds that agent's capacity: that
            // contact is the call's now, not the one it was queued as.
            let contact = match row.held_contact_id.or(row.routed_contact_id) {
                Some(c) => routing.contact_state(tenant, c).await.ok(),
                None => None,
            };
            let waiting = contact
                .as_ref()
                .filter(|c| c.status == "waiting" || c.status == "offered");
            let queue_name = match waiting {
                Some(c) => store::queues::find_queue(store, tenant, c.queue_id)
                    .await
                    .ok()
                    .flatten()
                    .map(|q| q.name),
                None => None,
            };
            let alive = in_app.contains(&row.channel_id);
            let mut caller_channel: Option<String> = None;
            let adoption = match (row.state.as_str(), waiting, queue_name) {
                ("callback", Some(c), Some(queue)) => Some(call::Adoption::Callback {
                    contact: c.id,
                    queue,
                }),
                (_, _, _) if !alive => None,
                ("queued", Some(c), Some(queue)) => Some(call::Adoption::Queued {
                    contact: c.id,
                    queue,
                }),
                ("connected", _, _) => {
                    // The call's own bridge: with the caller and the agent; without the caller
                    // when they were on hold; with a consulted colleague too (whose leg is let
                    // go).
                    let talk = bridges
                        .iter()
                        .find(|b| b.name == call::talk_bridge_name(row.id))
                        .or_else(|| {
                            bridges.iter().find(|b| {
                                b.channels.contains(&row.channel_id) && b.channels.len() == 2
                            })
                        });
                    // Put through to a colleague (after a consultation too, on the consulted
                    // leg): the caller talks to whoever is with them; no agent's call any more.
                    let handed_on = row.transferred_to.is_some();
                    let with_someone = talk.and_then(|b| {
                        let other = b.channels.iter().find(|c| {
                            **c != row.channel_id && (handed_on || !call::is_consult_leg(c))
                        })?;
                        // A call placed from the inbox names the agent's leg (rung first): the
                        // customer on the other side is the caller.
                        let (caller, peer) = if call::is_routed_agent_leg(&row.channel_id) {
                            (other.clone(), row.channel_id.clone())
                        } else {
                            (row.channel_id.clone(), other.clone())
                        };
                        let held = !b.channels.contains(&caller);
                        caller_channel = Some(caller);
                        Some(call::Adoption::Connected {
                            contact: contact
                                .as_ref()
                                .filter(|c| c.status == "connected")
                                .map(|c| c.id),
                            agent: if handed_on { None } else { row.agent_id },
                            peer,
                            talk: b.id.clone(),
                            held,
                        })
                    });
                    // A customer's call: one placed from the inbox or from a phone has no
                    // flow of its own to start again.
                    let inbound =
                        row.direction == "inbound" && !call::is_routed_agent_leg(&row.channel_id);
                    // The agent's leg went while we were down but a consulted colleague is
                    // still in the call's bridge: the caller goes to them, as the agent
                    // hanging up during a consultation does.
                    let colleague = talk.and_then(|b| {
                        b.channels
                            .iter()
                            .find(|c| **c != row.channel_id && call::is_consult_leg(c))
                            .map(|leg| (b, leg.clone()))
                    });
                    // Nobody with the caller but maybe a colleague; or nobody at all: a
                    // transfer was ringing (the agent had let go), or the other side hung up
                    // while we were down. Either way the agent's part is over (wrap-up).
                    if with_someone.is_none()
                        && inbound
                        && let Some(c) = contact.as_ref().filter(|c| c.status == "connected")
                        && let Err(e) = routing.end(tenant, c.id).await
                    {
                        tracing::warn!(contact = c.id, error = %e, "contact of a call starting again not freed");
                    }
                    match (with_someone, colleague) {
                        (Some(adoption), _) => Some(adoption),
                        (None, _) if !inbound => None,
                        (None, Some((b, peer))) => {
                            caller_channel = Some(row.channel_id.clone());
                            let held = self.hold_consulted_again(&row).await;
                            Some(call::Adoption::Connected {
                                contact: held,
                                agent: None,
                                peer,
                                talk: b.id.clone(),
                                held: !b.channels.contains(&row.channel_id),
                            })
                        }
                        // Alone, the caller starts again with an apology rather than being
                        // dropped, out of the bridge (let go first).
                        (None, None) => {
                            if let Some(b) = talk {
                                let _ = srv.client.destroy_bridge(&b.id).await;
                            }
                            Some(call::Adoption::Restart)
                        }
                    }
                }
                _ => Some(call::Adoption::Restart),
            };
            let Some(adoption) = adoption else {
                // Gone while we were down (or its other half is): end it and free its contact.
                if alive {
                    let _ = srv.client.hangup(&row.channel_id, None).await;
                }
                if let Some(c) = &contact {
                    let freed = match c.status.as_str() {
                        "connected" => routing.end(tenant, c.id).await,
                        // Asterisk may have stayed up and the caller hung up meanwhile: we
                        // cannot tell, so it counts as abandoned, as before.
                        "waiting" | "offered" => routing.withdraw(tenant, c.id).await,
                        _ => Ok(()),
                    };
                    if let Err(e) = freed {
                        tracing::warn!(contact = c.id, error = %e, "contact of a lost call not freed");
                    }
                }
                let _ = store::calls::add_event(
                    store,
                    tenant,
                    row.id,
                    "ended",
                    &serde_json::json!({"reason": "lost_during_restart"}),
                    chrono::Utc::now(),
                )
                .await;
                let _ = store::calls::set_ended(
                    store,
                    tenant,
                    row.id,
                    "lost_during_restart",
                    chrono::Utc::now(),
                )
                .await;
                continue;
            };
            let mut row = row;
            if let Some(caller) = caller_channel {
                row.channel_id = caller;
            }
            kept.insert(row.channel_id.clone());
            if let call::Adoption::Connected { peer, talk, .. } = &adoption {
                kept.insert(peer.clone());
                kept.insert(talk.clone());
            }
            adopted += 1;
            self.start_adopted(server, row, adoption);
        }
        // What no call owns any more: ringing legs and lobbies of the earlier run.
        for id in in_app.iter().filter(|id| !kept.contains(*id)) {
            if self
                .0
                .registry()
                .resources
                .contains_key(&(server, id.clone()))
            {
                continue;
            }
            let _ = srv.client.hangup(id, None).await;
        }
        // Legs an earlier run was ringing (a transfer, an offer, a consultation): a leg enters
        // the app only once answered, so the loop above does not see them, and nobody will
        // bridge them now. Left alone, the phone would ring on until its timeout.
        for c in channels.iter().filter(|c| {
            !in_app.contains(&c.id) && !kept.contains(&c.id) && earlier_run_leg(&c.id, &self.0.boot)
        }) {
            let _ = srv.client.hangup(&c.id, None).await;
        }
        for b in bridges.iter().filter(|b| !kept.contains(&b.id)) {
            let ours = b.id.ends_with("-hold") || b.id.ends_with("-talk");
            if ours && !b.id.starts_with(&self.0.boot) {
                let _ = srv.client.destroy_bridge(&b.id).await;
            }
        }
        tracing::info!(asterisk = %srv.config.name, adopted, "calls of the previous run recovered");
    }

    /// The caller of `row` goes to the colleague their agent was consulting (the agent left
    /// while we were down). That colleague's hold was let go with the consultation when routing
    /// loaded; they are on the customer's call now, so they are held again, as after a
    /// completed consultation, and the row says so for the next restart.
    async fn hold_consulted_again(&self, row: &store::calls::CallRecord) -> Option<i64> {
        let tenant = TenantId(row.tenant_id);
        let routing = &self.0.deps.routing;
        let earlier = routing
            .contact_state(tenant, row.consult_contact_id?)
            .await
            .ok()?;
        let held = match routing
            .hold_desk(
                tenant,
                earlier.agent_id?,
                earlier.queue_id,
                DeskHold::Transfer,
            )
            .await
        {
            Ok(HoldOutcome::Held(contact)) => contact,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(call.id = row.id, error = %e, "consulted colleague not held again");
                return None;
            }
        };
        let store = &self.0.deps.store;
        if let Err(e) = store::calls::set_held_contact(store, tenant, row.id, Some(held)).await {
            tracing::warn!(call.id = row.id, error = %e, "colleague's hold not named on the call");
        }
        let _ = store::calls::add_event(
            store,
            tenant,
            row.id,
            "colleague_held",
            &serde_json::json!({"agent_id": earlier.agent_id, "contact_id": held, "after_restart": true}),
            chrono::Utc::now(),
        )
        .await;
        Some(held)
    }

    fn start_adopted(
        &self,
        server: usize,
        row: store::calls::CallRecord,
        adoption: call::Adoption,
    ) {
        let tenant = TenantId(row.tenant_id);
        let mut claims = Claims::channel(&row.channel_id);
        claims.tenant = Some(tenant);
        claims.call_id = Some(row.id);
        // Claimed now, not when the task gets to it: routing may offer the contact at once.
        let contact = match &adoption {
            call::Adoption::Queued { contact, .. } | call::Adoption::Callback { contact, .. } => {
                Some(*contact)
            }
            call::Adoption::Connected {
                contact,
                peer,
                talk,
                ..
            } => {
                claims.resources.extend([peer.clone(), talk.clone()]);
                *contact
            }
            call::Adoption::Restart => None,
        };
        claims.contact = contact.map(|c| (tenant, c));
        self.launch(
            server,
            self.0.new_key(),
            claims,
            move |shared, wiring, rx| call::run_adopted(shared, wiring, row, adoption, rx),
        );
    }

    /// Asterisk's startup time (`None` when it cannot be read): a different one than at the
    /// last connection means Asterisk restarted while we were away.
    async fn startup_time(&self, server: usize) -> Option<String> {
        let srv = &self.0.servers[server];
        match srv.client.asterisk_info(&["status"]).await {
            Ok(info) => info
                .status
                .map(|s| s.startup_time)
                .filter(|t| !t.is_empty()),
            Err(e) => {
                tracing::warn!(asterisk = %srv.config.name, error = %e, "cannot read Asterisk's startup time");
                None
            }
        }
    }

    /// Keeps `startup` as the startup time to tell a later restart by (an unknown one keeps
    /// the last known).
    fn remember_startup(&self, server: usize, startup: Option<String>) {
        if let Some(startup) = startup {
            *self.0.servers[server]
                .started
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(startup);
        }
    }

    async fn resync(&self, server: usize) {
        let startup = self.startup_time(server).await;
        let restarted = {
            let seen = self.0.servers[server]
                .started
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            matches!((&*seen, &startup), (Some(before), Some(now)) if before != now)
        };
        if restarted {
            // At once, whatever happens to the listing below: phones cannot register with a
            // restarted Asterisk that lost them (pushing twice is harmless).
            let name = &self.0.servers[server].config.name;
            tracing::warn!(asterisk = %name, "Asterisk restarted: its calls are gone; ending them and pushing extensions again");
            let _ = self.0.restarts.send(name.clone());
        }
        let client = &self.0.servers[server].client;
        let channels = match client.list_channels().await {
            Ok(list) => list.into_iter().map(|c| c.id).collect::<HashSet<_>>(),
            Err(e) => {
                // The startup time is not taken as seen yet: the next reconnect still tells
                // the restart and ends its calls.
                tracing::warn!(error = %e, "cannot list channels after reconnecting");
                return;
            }
        };
        self.0.devices.keep_only(server, &channels);
        let alive = Arc::new(channels);
        let keys: Vec<String> = {
            let reg = self.0.registry();
            let mut keys: Vec<String> = reg
                .resources
                .iter()
                .filter(|((s, _), _)| *s == server)
                .map(|(_, k)| k.clone())
                .collect();
            keys.sort();
            keys.dedup();
            keys
        };
        for key in keys {
            self.0.send(&key, Input::Resync(alive.clone(), restarted));
        }
        self.remember_startup(server, startup);
    }
}

impl Shared {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether Asterisk said the phone of `endpoint` is not registered (unknown is not
    /// offline).
    pub(crate) fn phone_offline(&self, endpoint: &str) -> bool {
        self.phones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(endpoint)
            .is_some_and(|p| p.state == "offline")
    }

    /// The servers the phone of `endpoint` is registered with now (usually one; none when no
    /// server has it, or none said).
    pub(crate) fn registered_on(&self, endpoint: &str) -> Vec<usize> {
        self.phones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .online_on(endpoint)
    }

    /// How server `here` dials the phone of PJSIP `endpoint`: directly when the phone is
    /// registered with it (or with no server we know of: Asterisk then says why it cannot),
    /// else through `here`'s `interconnect` to a server it is registered with. An agent's
    /// phone on another server is otherwise out of reach: the reason says so.
    pub(crate) fn phone_dial(&self, here: usize, endpoint: &str) -> Result<String, String> {
        let on = self.registered_on(endpoint);
        let Some(&there) = on.first().filter(|_| !on.contains(&here)) else {
            return Ok(format!("PJSIP/{endpoint}"));
        };
        let (from, to) = (&self.servers[here].config, &self.servers[there].config);
        match &from.interconnect {
            Some(dial) => Ok(dial
                .replace("{endpoint}", endpoint)
                .replace("{server}", &to.name)),
            None => Err(format!(
                "the phone is registered with Asterisk `{}`, which this call's Asterisk `{}` has no interconnect to",
                to.name, from.name
            )),
        }
    }

    fn set_phone(&self, server: usize, endpoint: &str, online: bool) {
        self.phones.lock().unwrap_or_else(|p| p.into_inner()).set(
            server,
            endpoint,
            online,
            chrono::Utc::now(),
        );
    }

    /// A key no other call of this run or an earlier one has.
    fn new_key(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.boot)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task).abort_handle();
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    fn send(&self, key: &str, input: Input) -> bool {
        let reg = self.registry();
        match reg.calls.get(key) {
            Some(handle) => handle.tx.send(input).is_ok(),
            None => false,
        }
    }

    /// Forwards to call `key`, first registering `channel` as one of its resources.
    fn forward_key(
        &self,
        server: usize,
        key: &str,
        channel: Option<String>,
        event: ari::Event,
    ) -> bool {
        let mut reg = self.registry();
        if !reg.calls.contains_key(key) {
            return false;
        }
        if let Some(channel) = channel {
            reg.resources.insert((server, channel), key.to_owned());
        }
        reg.calls
            .get(key)
            .is_some_and(|h| h.tx.send(Input::Ari(Box::new(event))).is_ok())
    }

    fn hang_up_stray(&self, server: usize, channel: String) {
        let client = self.servers[server].client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.hangup(&channel, None).await
                && !e.is_not_found()
            {
                tracing::warn!(%channel, error = %e, "cannot hang up a stray channel");
            }
        });
    }

    /// Tells the reader which resources belong to a call.
    pub(crate) fn claim(&self, server: usize, key: &str, resource: &str) {
        self.registry()
            .resources
            .insert((server, resource.to_owned()), key.to_owned());
    }

    pub(crate) fn release(&self, server: usize, resource: &str) {
        self.registry()
            .resources
            .remove(&(server, resource.to_owned()));
    }

    pub(crate) fn claim_contact(&self, tenant: TenantId, contact: i64, key: &str) {
        self.registry()
            .contacts
            .insert((tenant, contact), key.to_owned());
    }

    pub(crate) fn release_contact(&self, tenant: TenantId, contact: i64) {
        self.registry().contacts.remove(&(tenant, contact));
    }

    pub(crate) fn set_tenant(&self, key: &str, tenant: TenantId) {
        if let Some(h) = self.registry().calls.get_mut(key) {
            h.tenant = Some(tenant);
        }
    }

    pub(crate) fn set_call_id(&self, key: &str, call_id: i64) {
        if let Some(h) = self.registry().calls.get_mut(key) {
            h.call_id = Some(call_id);
        }
    }

    /// Calls of a tenant in progress (for `max_concurrent_calls`).
    pub(crate) fn tenant_calls(&self, tenant: TenantId) -> usize {
        self.registry()
            .calls
            .values()
            .filter(|h| h.tenant == Some(tenant))
            .count()
    }

    fn forget(&self, key: &str) {
        let mut reg = self.registry();
        reg.calls.remove(key);
        reg.resources.retain(|_, k| k != key);
        reg.contacts.retain(|_, k| k != key);
    }
}

/// The ids an event is about: its channel, and the bridge, playback or recording target.
fn resource_ids(event: &ari::Event) -> Vec<String> {
    let target = |uri: &str| {
        uri.split_once(':')
            .map(|(_, id)| id.to_owned())
            .unwrap_or_default()
    };
    let mut ids = Vec::new();
    if let Some(c) = event.channel() {
        ids.push(c.id.clone());
    }
    match event {
        ari::Event::PlaybackStarted(e) => ids.push(target(&e.playback.target_uri)),
        ari::Event::PlaybackContinuing(e) => ids.push(target(&e.playback.target_uri)),
        ari::Event::PlaybackFinished(e) => ids.push(target(&e.playback.target_uri)),
        ari::Event::RecordingStarted(e) => ids.push(target(&e.recording.target_uri)),
        ari::Event::RecordingFinished(e) => ids.push(target(&e.recording.target_uri)),
        ari::Event::RecordingFailed(e) => ids.push(target(&e.recording.target_uri)),
        ari::Event::ChannelEnteredBridge(e) => ids.push(e.bridge.id.clone()),
        ari::Event::ChannelLeftBridge(e) => ids.push(e.bridge.id.clone()),
        ari::Event::BridgeDestroyed(e) => ids.push(e.bridge.id.clone()),
        _ => {}
    }
    ids
}

/// Whether `id` is a leg we originated (`{boot}-{n}-{kind}…`, see `Calls::new_key`) in
/// another run than `boot`.
fn earlier_run_leg(id: &str, boot: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    let (Some(run), Some(n), Some(leg)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let mut kind = leg.chars();
    // A boot is a millisecond timestamp in hex (11 digits until 2527); a UUID's first group,
    // as other applications name channels, has 8.
    run != boot
        && run.len() >= 10
        && run.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && kind.next().is_some_and(|c| c.is_ascii_lowercase())
        && kind.next().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod earlier_run_tests {
    use super::earlier_run_leg;

    #[test]
    fn only_our_legs_of_another_run_are_taken_for_an_earlier_runs() {
        let boot = "1a24c4058d1";
        for leg in [
            "1a24c40246c-1-x3",
            "1a24c40246c-12-a2-2",
            "1a24c40246c-3-k4",
            "1a24c40246c-3-d17",
        ] {
            assert!(earlier_run_leg(leg, boot), "{leg}");
        }
        for other in [
            // Ours, this run.
            "1a24c4058d1-1-x3",
            // Asterisk's own ids, another application's UUIDs, our bridges.
            "1796575614.0",
            "550e8400-1234-a1b2-c3d4-446655440000",
            "550e8400-e29b-41d4-a716-446655440000",
            "1a24c40246c-1-talk",
        ] {
            assert!(!earlier_run_leg(other, boot), "{other}");
        }
    }
}

#[cfg(test)]
mod event_filter_tests {
    use super::UNREAD_EVENTS;
    use crate::voice::ari::Event;

    #[test]
    fn the_events_filtered_out_are_event_types_asterisk_sends() {
        // A misspelt type would filter nothing, and Asterisk would not say so.
        for kind in UNREAD_EVENTS {
            assert!(Event::MODELED.contains(kind), "{kind}");
        }
    }
}
