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
//! - After the socket comes back, every call is told which channels still exist, so a call
//!   whose caller left while we were deaf ends cleanly and a missed `PlaybackFinished` is
//!   recovered (ARI.md §1.2).

mod call;
pub mod http;
pub mod media;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::{broadcast, mpsc};

pub use media::{Media, MediaError, find_sound};

use super::ari::{self, AriClient, EventStream, StreamEvent, StreamOptions};
use crate::config::AsteriskConfig;
use crate::domain::TenantId;
use crate::inbox::EventHub;
use crate::ivr::service::FlowService;
use crate::routing::service::{RoutingNotice, RoutingService};
use crate::routing::{Command, ContactId};
use crate::store::Store;

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
}

/// Why voice could not start.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
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
}

/// What the reader hands a call task.
#[derive(Debug)]
pub(crate) enum Input {
    /// An ARI event about one of the call's channels, bridges, playbacks or recordings.
    Ari(Box<ari::Event>),
    /// A routing decision about the call's contact.
    Routing(Command),
    /// The events socket is back: these channels still exist in Asterisk.
    Resync(Arc<HashSet<String>>),
}

struct CallHandle {
    tenant: Option<TenantId>,
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
                })
            })
            .collect::<Result<Vec<_>, VoiceError>>()?;
        let boot = format!("{:x}", chrono::Utc::now().timestamp_millis());
        Ok(VoiceService(Arc::new(Shared {
            deps,
            servers,
            registry: StdMutex::new(Registry::default()),
            boot,
            next: AtomicU64::new(1),
        })))
    }

    /// Whether any Asterisk server is configured.
    pub fn is_configured(&self) -> bool {
        !self.0.servers.is_empty()
    }

    /// Calls in progress (all tenants).
    pub fn active_calls(&self) -> usize {
        self.0.registry().calls.len()
    }

    /// Opens every server's events socket and follows routing decisions, in the background.
    /// `routing` must be subscribed before any call can be queued.
    pub fn start(&self, routing: broadcast::Receiver<RoutingNotice>) -> Result<(), VoiceError> {
        for (index, server) in self.0.servers.iter().enumerate() {
            let stream = EventStream::spawn(StreamOptions::from_config(&server.config)).map_err(
                |source| VoiceError::Server {
                    server: server.config.name.clone(),
                    source,
                },
            )?;
            tokio::spawn(self.clone().read_events(index, stream));
        }
        tokio::spawn(self.clone().follow_routing(routing));
        Ok(())
    }

    async fn read_events(self, server: usize, mut stream: EventStream) {
        let name = self.0.servers[server].config.name.clone();
        let mut connected_before = false;
        while let Some(item) = stream.recv().await {
            match item {
                StreamEvent::Connected => {
                    tracing::info!(asterisk = %name, "ARI events connected");
                    if connected_before {
                        let me = self.clone();
                        tokio::spawn(async move { me.resync(server).await });
                    }
                    connected_before = true;
                }
                StreamEvent::Disconnected { reason } => {
                    tracing::warn!(asterisk = %name, %reason, "ARI events lost; reconnecting");
                }
                StreamEvent::Event(message) => self.dispatch(server, message.event),
            }
        }
    }

    /// Hands one event to its call (or starts a call).
    fn dispatch(&self, server: usize, event: ari::Event) {
        if let ari::Event::StasisStart(start) = &event {
            let args: Vec<&str> = start.args.iter().map(String::as_str).collect();
            match args.as_slice() {
                ["inbound", did, ..] => {
                    let did = did.to_string();
                    self.start_inbound(server, start.channel.clone(), did);
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

    fn start_inbound(&self, server: usize, channel: ari::models::Channel, did: String) {
        let n = self.0.next.fetch_add(1, Ordering::Relaxed);
        let key = format!("{}-{n}", self.0.boot);
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut reg = self.0.registry();
            reg.resources
                .insert((server, channel.id.clone()), key.clone());
            reg.calls
                .insert(key.clone(), CallHandle { tenant: None, tx });
        }
        let shared = self.0.clone();
        let client = self.0.servers[server].client.clone();
        let server_name = self.0.servers[server].config.name.clone();
        tokio::spawn(async move {
            call::run_inbound(
                shared.clone(),
                call::Wiring {
                    server,
                    server_name,
                    client,
                    key: key.clone(),
                },
                channel,
                did,
                rx,
            )
            .await;
            shared.forget(&key);
        });
    }

    async fn follow_routing(self, mut notices: broadcast::Receiver<RoutingNotice>) {
        loop {
            match notices.recv().await {
                Ok(notice) => {
                    let Some(contact) = contact_of(&notice.command) else {
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

    async fn resync(&self, server: usize) {
        let client = &self.0.servers[server].client;
        let channels = match client.list_channels().await {
            Ok(list) => list.into_iter().map(|c| c.id).collect::<HashSet<_>>(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list channels after reconnecting");
                return;
            }
        };
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
            self.0.send(&key, Input::Resync(alive.clone()));
        }
    }
}

impl Shared {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
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

fn contact_of(command: &Command) -> Option<ContactId> {
    match command {
        Command::Offer { contact, .. }
        | Command::WithdrawOffers { contact, .. }
        | Command::Assigned { contact, .. }
        | Command::AnnouncePosition { contact, .. }
        | Command::Overflow { contact, .. }
        | Command::Rejected { contact, .. } => Some(*contact),
        Command::AgentAutoPaused { .. } => None,
    }
}
