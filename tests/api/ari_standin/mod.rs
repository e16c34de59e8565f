//! A loopback stand-in for Asterisk's ARI, for tests of our voice code.
//!
//! It behaves like the Asterisk 22.10.1 recorded in `shared/asterisk-ari/captured/` for the
//! calls Switchboard makes: fake trunk calls enter the Stasis app (`StasisStart` with
//! `["inbound", DID]`), the REST surface we use answers with Asterisk's status codes and
//! messages, and events follow in the captured order with short, configurable delays. Agent
//! phones answer, ring out, are busy or unregistered as the test says; the test injects DTMF
//! and hangups from the far end and can drop the events socket. Everything received and sent
//! is logged, so tests can check what our code asked and validate what it was told.
//!
//! Only our app's events are sent, as with `subscribeAll=false`: a channel's events only
//! while it is in Stasis, among them the `ChannelVarset`s Asterisk makes itself (BRIDGEPEER
//! and BRIDGEPVTCALLID while two parties share a mixing bridge, the RTPAUDIOQOS statistics at
//! hangup) but not those of the dialplan before Stasis, which the captures show because the
//! recorder subscribed to everything. `DeviceStateChanged` comes for the agent endpoints the
//! app subscribed to (`deviceState:PJSIP/<id>`), computed as chan_pjsip does. The app's event
//! filter (`PUT applications/{app}/eventFilter`) keeps the types it names out. Events emitted
//! while no socket is open are lost, as Asterisk drops them for an inactive app.

mod events;
mod rest;
mod state;
mod ws;

// The scenario tests belong to the api test binary; `examples/ari_standin.rs` includes this
// module too, as a program to drive by hand or from the browser tests.
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use switchboard::config::AsteriskConfig;

pub use state::{Behaviour, Exchange, Request};
use state::{Shared, Timings};

/// The ARI user (`ari.conf`); the same as [`AsteriskConfig::for_url`]'s default.
pub const USERNAME: &str = "switchboard";
/// Its password.
pub const PASSWORD: &str = "switchboard";
/// The Stasis application the stand-in serves.
pub const APP: &str = "switchboard";

/// A running stand-in; stops when dropped.
pub struct AriStandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for AriStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl AriStandIn {
    /// Binds `127.0.0.1:0` and serves `/ari`.
    pub async fn start() -> Self {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds `addr` and serves `/ari`.
    pub async fn start_at(addr: SocketAddr) -> Self {
        let shared = Shared::new(
            APP,
            Timings {
                playback: Duration::from_millis(150),
                busy_after: Duration::from_millis(100),
            },
        );
        let router = Router::new()
            .route("/ari/events", get(ws::events))
            .fallback(rest::handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Frames on the events socket are small and many: no Nagle delay between them.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        AriStandIn {
            shared,
            addr,
            server,
        }
    }

    /// `http://127.0.0.1:PORT/ari`.
    pub fn url(&self) -> String {
        format!("http://{}/ari", self.addr)
    }

    /// A `[[voice.asterisk]]` entry pointing at the stand-in with its credentials.
    pub fn config(&self) -> AsteriskConfig {
        AsteriskConfig::for_url(&self.url())
    }

    /// Plays an Asterisk older than 20.14/21.9/22.4 (`false`): `RESTRequest` frames on the
    /// events socket go unanswered.
    pub fn set_rest_over_websocket(&self, on: bool) {
        self.shared
            .rest_over_socket
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long each media item of a playback lasts.
    pub fn set_playback_duration(&self, d: Duration) {
        self.shared.lock().timings.playback = d;
    }

    /// A trunk call to `did` from `caller` enters the app; returns its channel id.
    pub fn inbound_call(&self, did: &str, caller: &str) -> String {
        self.shared.lock().inbound(did, caller)
    }

    /// Agent phone `ext` (`PJSIP/ext`) dials `number`; returns its channel id.
    pub fn agent_dials(&self, ext: &str, number: &str) -> String {
        self.shared.lock().agent_dials(ext, number)
    }

    /// The far end sends an RFC 4733 digit.
    pub fn press(&self, channel: &str, digit: char) {
        self.shared.lock().dtmf(channel, &digit.to_string());
    }

    /// The caller hangs up (SIP BYE).
    pub fn caller_hangs_up(&self, channel: &str) {
        self.shared.lock().remote_hangup(channel);
    }

    /// The agent hangs up (SIP BYE from the phone).
    pub fn agent_hangs_up(&self, channel: &str) {
        self.shared.lock().remote_hangup(channel);
    }

    /// The agent picks up the ringing leg `channel` now, whatever its phone's behaviour.
    pub fn agent_answers(&self, channel: &str) {
        self.shared.lock().agent_answers(channel);
    }

    /// Sets how agent phone `ext` (`PJSIP/ext`) behaves; a change of registration emits
    /// `EndpointStateChange`.
    pub fn phone(&self, ext: &str, behaviour: Behaviour) {
        self.shared.lock().set_phone(ext, behaviour);
    }

    /// Refuses the next `method` request to `path` (`/ari/channels/{id}/answer`; each `*`
    /// stands for any run of characters) with `status` and Asterisk's `message`, once; every
    /// other request is answered as usual.
    pub fn fail_once(&self, method: &str, path: &str, status: u16, message: &str) {
        self.shared.lock().failures.push((
            method.to_owned(),
            path.to_owned(),
            status,
            message.to_owned(),
        ));
    }

    /// Plays an Asterisk older than 13.26 / 16.3, which has no event filter: the filter is
    /// cleared and `PUT applications/{app}/eventFilter` is answered 404 from now on.
    pub fn refuse_event_filter(&self) {
        let mut w = self.shared.lock();
        w.event_filter_refused = true;
        w.events_allowed.clear();
        w.events_disallowed.clear();
    }

    /// Closes every open events socket, as Asterisk does with a slow reader.
    pub fn drop_websocket(&self) {
        self.shared.drop_ws.send_modify(|n| *n += 1);
    }

    /// Asterisk restarts: every call in it is gone without an event, and so is what it held
    /// only in memory, pushed extensions included (see `Shared::restart`).
    pub fn restart(&self) {
        self.shared.restart();
    }

    /// Whether dynamic configuration holds `res_pjsip` object `kind`/`id` (pushed and not
    /// lost since).
    pub fn has_config(&self, kind: &str, id: &str) -> bool {
        self.shared
            .lock()
            .config
            .contains_key(&(kind.to_owned(), id.to_owned()))
    }

    /// Events sockets accepted so far.
    pub fn connections(&self) -> u64 {
        *self.shared.connections.lock().unwrap()
    }

    /// Waits until no events socket is open (after [`Self::drop_websocket`]), so what happens
    /// next is surely missed by the client.
    pub async fn wait_until_deaf(&self) {
        for _ in 0..500 {
            if *self.shared.open.lock().unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the events socket never closed");
    }

    /// Every REST request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Every REST answer sent, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.lock().exchanges.clone()
    }

    /// Every event emitted (whether or not a socket was open), in order.
    pub fn emitted(&self) -> Vec<Value> {
        self.shared.lock().emitted.clone()
    }

    /// Waits up to `timeout` for a request matching `pred` (earlier ones count).
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Request) -> bool,
        timeout: Duration,
    ) -> Option<Request> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.request_seen.notified();
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return Some(r);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The music-on-hold class a channel or bridge is playing (invisible in ARI itself).
    pub fn moh(&self, id: &str) -> Option<String> {
        let world = self.shared.lock();
        match world.channels.get(id) {
            Some(c) => c.moh.clone(),
            None => world.bridges.get(id).and_then(|b| b.moh.clone()),
        }
    }

    /// The channels as `GET /channels` would list them.
    pub fn channels(&self) -> Vec<Value> {
        self.shared
            .lock()
            .channels
            .values()
            .map(|c| c.json())
            .collect()
    }

    /// Every event as it is emitted (the JSON text the events socket sends), for load drivers
    /// that react to them (`benches/ari.rs`).
    #[allow(dead_code)]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.shared.events.subscribe()
    }

    /// The bridges as `GET /bridges` would list them.
    pub fn bridges(&self) -> Vec<Value> {
        self.shared
            .lock()
            .bridges
            .values()
            .map(|b| b.json())
            .collect()
    }
}
