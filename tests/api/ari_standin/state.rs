//! What the stand-in knows: channels, bridges, playbacks, recordings, agent phones, and the
//! log of requests, answers and events. Every change and the events it causes happen under
//! one lock, so events leave in the order Asterisk would send them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, watch};

use super::events::{self, destroyed, event, timestamp};

/// How an agent phone reacts to a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Registered; rings, then answers after this long.
    Answers { after: Duration },
    /// Registered; rejects with 486 Busy Here.
    Busy,
    /// Registered; rings until the dial timeout.
    NoAnswer,
    /// No registered contact: originate fails with `500 Allocation failed`.
    Unregistered,
}

/// One REST request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The full path, `/ari/…`.
    pub path: String,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Sent as a `RESTRequest` frame on the events socket rather than over HTTP.
    pub over_socket: bool,
}

impl Request {
    /// A query parameter (first occurrence).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One REST answer, kept for validation against the API description.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Option<Value>,
}

/// Delays the stand-in plays out; short so tests stay quick.
#[derive(Debug, Clone)]
pub struct Timings {
    /// Length of each media item of a playback.
    pub playback: Duration,
    /// From dial to 486 for a busy phone.
    pub busy_after: Duration,
}

/// The RTP statistics Asterisk sets on a channel that had media as it hangs up, in order
/// (values as captured from a call without RTP loss or jitter).
const RTP_QOS: [(&str, &str); 5] = [
    (
        "RTPAUDIOQOS",
        "ssrc=131836989;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount=0;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000",
    ),
    (
        "RTPAUDIOQOSJITTER",
        "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;",
    ),
    (
        "RTPAUDIOQOSLOSS",
        "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;",
    ),
    (
        "RTPAUDIOQOSRTT",
        "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;",
    ),
    (
        "RTPAUDIOQOSMES",
        "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;",
    ),
];

#[derive(Debug, Clone)]
pub struct Chan {
    pub id: String,
    pub name: String,
    pub state: String,
    pub protocol_id: String,
    pub caller: (String, String),
    pub connected: (String, String),
    pub context: String,
    pub exten: String,
    pub app_data: String,
    pub creationtime: String,
    pub vars: BTreeMap<String, String>,
    pub bridge: Option<String>,
    pub in_stasis: bool,
    /// The agent extension for an outbound leg.
    pub ext: Option<String>,
    /// `appArgs` of an originate: `StasisStart` comes with them on answer.
    pub pending_args: Option<Vec<String>>,
    pub dialled: bool,
    /// The music-on-hold class playing, which Asterisk shows in no event or object.
    pub moh: Option<String>,
}

impl Chan {
    pub fn json(&self) -> Value {
        let app_name = if self.app_data.is_empty() {
            ""
        } else {
            "Stasis"
        };
        json!({
            "id": self.id, "name": self.name, "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller.0, "number": self.caller.1},
            "connected": {"name": self.connected.0, "number": self.connected.1},
            "accountcode": "",
            "dialplan": {"context": self.context, "exten": self.exten, "priority": 1,
                         "app_name": app_name, "app_data": self.app_data},
            "creationtime": self.creationtime, "language": "en",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Bridge {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub channels: Vec<String>,
    pub creationtime: String,
    pub moh: Option<String>,
}

impl Bridge {
    pub fn json(&self) -> Value {
        let technology = match (self.kind.as_str(), self.channels.len()) {
            ("holding", _) => "holding_bridge",
            (_, 2) => "native_rtp",
            _ => "simple_bridge",
        };
        json!({
            "id": self.id, "technology": technology, "bridge_type": self.kind,
            "bridge_class": "stasis", "creator": "Stasis", "name": self.name,
            "channels": self.channels, "creationtime": self.creationtime, "video_mode": "talker",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Playback {
    pub id: String,
    pub media: Vec<String>,
    pub index: usize,
    pub target_uri: String,
    pub state: String,
    /// Bridge playbacks were delivered twice by Asterisk 22.10.1; so are ours.
    pub copies: usize,
    /// When it was asked for: a target plays its playbacks one after another, in this order.
    pub order: u64,
}

impl Playback {
    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "media_uri": self.media[self.index],
            "target_uri": self.target_uri, "language": "en", "state": self.state,
        });
        if let Some(next) = self.media.get(self.index + 1)
            && self.state != "done"
        {
            v["next_media_uri"] = next.as_str().into();
        }
        v
    }
}

#[derive(Debug, Clone)]
pub struct Recording {
    pub name: String,
    pub format: String,
    pub target_uri: String,
    pub channel: Option<String>,
    pub state: String,
    pub started: tokio::time::Instant,
    pub terminate_on: Option<String>,
}

impl Recording {
    pub fn json(&self) -> Value {
        json!({"name": self.name, "format": self.format, "state": self.state,
               "target_uri": self.target_uri})
    }
}

pub struct World {
    pub app: String,
    pub timings: Timings,
    pub channels: BTreeMap<String, Chan>,
    pub bridges: BTreeMap<String, Bridge>,
    pub playbacks: BTreeMap<String, Playback>,
    pub recordings: BTreeMap<String, Recording>,
    /// Finished recordings by name: (format, seconds), as `GET /recordings/stored` lists them.
    pub stored: BTreeMap<String, (String, u64)>,
    pub phones: BTreeMap<String, Behaviour>,
    /// Devices the app subscribed to (`deviceState:NAME`): only these send `DeviceStateChanged`.
    pub device_subs: BTreeSet<String>,
    /// The last device state of each agent endpoint, as Asterisk caches it.
    pub devices: BTreeMap<String, &'static str>,
    /// `res_pjsip` objects pushed over dynamic configuration: (type, id) → attributes.
    pub config: BTreeMap<(String, String), BTreeMap<String, String>>,
    pub globals: BTreeMap<String, String>,
    pub requests: Vec<Request>,
    pub exchanges: Vec<Exchange>,
    pub emitted: Vec<Value>,
    /// The app's event filter (`PUT applications/{app}/eventFilter`): types sent only if
    /// listed (an empty list allows all) and types never sent (these win).
    pub events_allowed: Vec<String>,
    pub events_disallowed: Vec<String>,
    /// An Asterisk without event filters (before 13.26 / 16.3).
    pub event_filter_refused: bool,
    /// Requests to refuse once each, as Asterisk refuses one channel's operation while
    /// answering the others: (method, path, status, message).
    pub failures: Vec<(String, String, u16, String)>,
    counter: u64,
    /// When this Asterisk (last) started, as `GET /asterisk/info` reports it.
    pub started: chrono::DateTime<chrono::Utc>,
    /// Orders playbacks per target (FIFO, as Asterisk queues them).
    pub playback_order: u64,
    epoch: i64,
    events: broadcast::Sender<String>,
}

pub struct Shared {
    pub world: Mutex<World>,
    pub events: broadcast::Sender<String>,
    /// Bumped to make every open events socket close.
    pub drop_ws: watch::Sender<u64>,
    pub request_seen: Notify,
    pub connections: Mutex<u64>,
    /// Events sockets open now.
    pub open: Mutex<u64>,
    /// Whether `RESTRequest` frames on the events socket are answered (Asterisk 20.14, 21.9,
    /// 22.4 and later); an older Asterisk ignores them.
    pub rest_over_socket: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub fn new(app: &str, timings: Timings) -> Arc<Self> {
        let (events, _) = broadcast::channel(4096);
        let (drop_ws, _) = watch::channel(0);
        Arc::new(Shared {
            world: Mutex::new(World {
                app: app.into(),
                timings,
                channels: BTreeMap::new(),
                bridges: BTreeMap::new(),
                playbacks: BTreeMap::new(),
                recordings: BTreeMap::new(),
                stored: BTreeMap::new(),
                phones: BTreeMap::new(),
                device_subs: BTreeSet::new(),
                devices: BTreeMap::new(),
                config: BTreeMap::new(),
                globals: BTreeMap::new(),
                requests: Vec::new(),
                exchanges: Vec::new(),
                emitted: Vec::new(),
                events_allowed: Vec::new(),
                events_disallowed: Vec::new(),
                event_filter_refused: false,
                failures: Vec::new(),
                counter: 0,
                started: chrono::Utc::now(),
                playback_order: 0,
                epoch: chrono::Utc::now().timestamp(),
                events: events.clone(),
            }),
            events,
            drop_ws,
            request_seen: Notify::new(),
            connections: Mutex::new(0),
            open: Mutex::new(0),
            rest_over_socket: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Asterisk stops and starts again. Everything in progress is gone without an event (the
    /// process that would have sent them died): channels, bridges, playbacks, recordings. So
    /// is what it kept only in memory: the app's device subscriptions and event filter, global
    /// variables, cached device states, and the objects pushed over dynamic configuration (as
    /// with a `memory` sorcery wizard). Finished recordings stay on disk; the phones, being
    /// devices, register again at once. The events sockets close.
    pub fn restart(&self) {
        {
            let mut w = self.lock();
            w.channels.clear();
            w.bridges.clear();
            w.playbacks.clear();
            w.recordings.clear();
            w.device_subs.clear();
            w.devices.clear();
            w.config.clear();
            w.globals.clear();
            w.events_allowed.clear();
            w.events_disallowed.clear();
            let now = chrono::Utc::now();
            w.started = now.max(w.started + chrono::TimeDelta::milliseconds(1));
            // Channel ids are `{start}.{n}`: a new start, new ids.
            w.epoch = w.epoch.max(now.timestamp()) + 1;
        }
        self.drop_ws.send_modify(|n| *n += 1);
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }
}

/// Runs `f` on the world after `delay`, as Asterisk's own timers would.
pub fn later(
    shared: &Arc<Shared>,
    delay: Duration,
    f: impl FnOnce(&mut World, &Arc<Shared>) + Send + 'static,
) {
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut world = shared.lock();
        f(&mut world, &shared);
    });
}

impl World {
    /// Sends an event to the connected app (dropped when none is, as Asterisk does) and logs it.
    /// An event the app's filter keeps out is neither sent nor logged.
    pub fn emit(&mut self, kind: &str, fields: Value) {
        let listed = |list: &[String]| list.iter().any(|t| t == kind);
        if listed(&self.events_disallowed)
            || (!self.events_allowed.is_empty() && !listed(&self.events_allowed))
        {
            return;
        }
        let ev = event(&self.app, kind, fields);
        let _ = self.events.send(ev.to_string());
        self.emitted.push(ev);
    }

    /// Sets a channel variable as Asterisk does itself (BRIDGEPEER, RTPAUDIOQOS…): the app
    /// hears a `ChannelVarset` while the channel is in Stasis (it is subscribed to its
    /// channels only then; the captures, taken with `subscribeAll=true`, show more).
    fn varset(&mut self, id: &str, variable: &str, value: &str) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        c.vars.insert(variable.to_owned(), value.to_owned());
        if c.in_stasis {
            let channel = c.json();
            self.emit(
                "ChannelVarset",
                json!({"variable": variable, "value": value, "channel": channel}),
            );
        }
    }

    /// The one other channel in `id`'s mixing bridge, if it has exactly one.
    fn bridge_peer(&self, id: &str) -> Option<String> {
        let bridge = self
            .bridges
            .get(self.channels.get(id)?.bridge.as_deref()?)?;
        if bridge.kind != "mixing" {
            return None;
        }
        let mut others = bridge.channels.iter().filter(|c| *c != id);
        match (others.next(), others.next()) {
            (Some(peer), None) => Some(peer.clone()),
            _ => None,
        }
    }

    /// The app's event filter as `Application.events_allowed` / `events_disallowed`.
    pub fn event_filter_json(&self) -> (Value, Value) {
        let list = |l: &[String]| l.iter().map(|t| json!({"type": t})).collect::<Vec<_>>();
        (
            Value::Array(list(&self.events_allowed)),
            Value::Array(list(&self.events_disallowed)),
        )
    }

    fn next_ids(&mut self, tech_resource: &str) -> (String, String) {
        let n = self.counter;
        self.counter += 1;
        (
            format!("{}.{n}", self.epoch),
            format!("PJSIP/{tech_resource}-{n:08x}"),
        )
    }

    pub fn chan_json(&self, id: &str) -> Value {
        self.channels[id].json()
    }

    /// An agent's phone `ext` dialling `number`: `Stasis(app,internal,NUMBER)` from the
    /// `from-agents` context.
    pub fn agent_dials(&mut self, ext: &str, number: &str) -> String {
        let (id, name) = self.next_ids(ext);
        let chan = Chan {
            id: id.clone(),
            name,
            state: "Ring".into(),
            protocol_id: format!("{}-{}@127.0.0.1", self.counter, std::process::id()),
            caller: (format!("Agent {ext}"), ext.into()),
            connected: ("".into(), "".into()),
            context: "from-agents".into(),
            exten: number.into(),
            app_data: format!("{},internal,{number}", self.app),
            creationtime: timestamp(),
            vars: BTreeMap::new(),
            bridge: None,
            in_stasis: true,
            ext: Some(ext.into()),
            pending_args: None,
            dialled: false,
            moh: None,
        };
        self.channels.insert(id.clone(), chan);
        let channel = self.chan_json(&id);
        self.emit(
            "StasisStart",
            json!({"args": ["internal", number], "channel": channel}),
        );
        self.device_changed(ext);
        id
    }

    /// A trunk call entering `Stasis(app,inbound,DID)`.
    pub fn inbound(&mut self, did: &str, caller: &str) -> String {
        let (id, name) = self.next_ids("trunk");
        let now = timestamp();
        let chan = Chan {
            id: id.clone(),
            name,
            state: "Ring".into(),
            protocol_id: format!("{}-{}@127.0.0.1", self.counter, std::process::id()),
            caller: ("".into(), caller.into()),
            connected: ("".into(), "".into()),
            context: "from-trunk".into(),
            exten: did.into(),
            app_data: format!("{},inbound,{did}", self.app),
            creationtime: now,
            vars: BTreeMap::from([
                ("CALLERID(num)".into(), caller.into()),
                ("CALLERID(name)".into(), "".into()),
            ]),
            bridge: None,
            in_stasis: true,
            ext: None,
            pending_args: None,
            dialled: false,
            moh: None,
        };
        self.channels.insert(id.clone(), chan);
        let channel = self.chan_json(&id);
        self.emit(
            "StasisStart",
            json!({"args": ["inbound", did], "channel": channel}),
        );
        id
    }

    /// A new leg towards an agent phone, not dialled yet.
    pub fn agent_leg(
        &mut self,
        ext: &str,
        id: Option<String>,
        args: Vec<String>,
        originator: Option<&str>,
        caller_id: Option<(String, String)>,
        in_stasis: bool,
    ) -> String {
        let (uid, name) = self.next_ids(ext);
        let id = id.unwrap_or(uid);
        let connected = originator
            .and_then(|o| self.channels.get(o))
            .map(|o| o.caller.clone())
            .unwrap_or_default();
        let app_data = format!("{},{}", self.app, args.join(","));
        let chan = Chan {
            id: id.clone(),
            name,
            state: "Down".into(),
            protocol_id: uuid::Uuid::new_v4().to_string(),
            caller: caller_id.unwrap_or_else(|| (format!("Agent {ext}"), ext.into())),
            connected,
            context: "from-agents".into(),
            exten: "s".into(),
            app_data: if in_stasis { app_data } else { String::new() },
            creationtime: timestamp(),
            vars: BTreeMap::new(),
            bridge: None,
            in_stasis,
            ext: Some(ext.into()),
            pending_args: (!in_stasis).then_some(args.clone()),
            dialled: false,
            moh: None,
        };
        self.channels.insert(id.clone(), chan);
        if in_stasis {
            let channel = self.chan_json(&id);
            self.emit("StasisStart", json!({"args": args, "channel": channel}));
        }
        self.device_changed(ext);
        id
    }

    pub fn set_state(&mut self, id: &str, state: &str) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        if c.state == state {
            return;
        }
        c.state = state.into();
        let channel = c.json();
        let ext = c.ext.clone();
        self.emit("ChannelStateChange", json!({"channel": channel}));
        if let Some(ext) = ext {
            self.device_changed(&ext);
        }
    }

    fn dial_event(&mut self, id: &str, status: &str) {
        let c = &self.channels[id];
        let fields = json!({"dialstatus": status, "forward": "",
                            "dialstring": c.ext.clone().unwrap_or_default(), "peer": c.json()});
        self.emit("Dial", fields);
    }

    /// Rings the agent leg `id` and plays out its phone's behaviour. `timeout` 0 rings for ever.
    pub fn ring_out(&mut self, shared: &Arc<Shared>, id: &str, timeout_secs: u64) {
        let Some(chan) = self.channels.get_mut(id) else {
            return;
        };
        chan.dialled = true;
        let ext = chan.ext.clone().unwrap_or_default();
        self.dial_event(id, "");
        self.set_state(id, "Ringing");
        self.dial_event(id, "RINGING");
        let behaviour = self
            .phones
            .get(&ext)
            .cloned()
            .unwrap_or(Behaviour::NoAnswer);
        let timeout = (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs));
        let id = id.to_owned();
        match behaviour {
            Behaviour::Answers { after } if timeout.is_none_or(|t| after < t) => {
                later(shared, after, move |w, _| w.agent_answers(&id));
            }
            Behaviour::Busy => {
                let delay = self.timings.busy_after;
                later(shared, delay, move |w, _| {
                    if w.is_ringing(&id) {
                        let req = json!({"cause": 17, "tech_cause": 486});
                        w.end(&id, req, None, 17, Some(486));
                    }
                });
            }
            _ => {
                if let Some(t) = timeout {
                    later(shared, t, move |w, _| {
                        if w.is_ringing(&id) {
                            let req = json!({"cause": 32, "soft": true});
                            w.end(&id, req, None, 19, Some(480));
                        }
                    });
                }
            }
        }
    }

    fn is_ringing(&self, id: &str) -> bool {
        self.channels.get(id).is_some_and(|c| c.state == "Ringing")
    }

    /// The ringing phone of leg `id` is picked up.
    pub fn agent_answers(&mut self, id: &str) {
        if !self.is_ringing(id) {
            return;
        }
        self.set_state(id, "Up");
        self.dial_event(id, "ANSWER");
        let c = self.channels.get_mut(id).unwrap();
        if let Some(args) = c.pending_args.take() {
            c.in_stasis = true;
            c.app_data = format!("{},{}", self.app, args.join(","));
            let channel = c.json();
            self.emit("StasisStart", json!({"args": args, "channel": channel}));
        }
    }

    /// Ends a channel: `request` is the first `ChannelHangupRequest`'s fields, `second` the
    /// cause of the one Asterisk adds after `StasisEnd` when the app hung up an unbridged
    /// channel (scenario a).
    pub fn end(
        &mut self,
        id: &str,
        request: Value,
        second: Option<i64>,
        cause: i64,
        tech: Option<i64>,
    ) {
        let Some(c) = self.channels.get(id).cloned() else {
            return;
        };
        // A channel with media reports its RTP statistics as it goes, and its bridged peer
        // the same figures as `…BRIDGED` (captured scenarios a, c, k).
        if c.state == "Up" {
            let peer = self.bridge_peer(id);
            for (variable, value) in RTP_QOS {
                self.varset(id, variable, value);
                if let Some(peer) = &peer {
                    self.varset(peer, &format!("{variable}BRIDGED"), value);
                }
            }
        }
        let mut fields = request;
        fields["channel"] = self.chan_json(id);
        self.emit("ChannelHangupRequest", fields);
        let bridged = c.bridge.is_some();
        if let Some(bridge) = c.bridge.clone() {
            self.leave_bridge(id, &bridge);
        }
        let stasis = self.channels[id].in_stasis;
        if stasis {
            let channel = self.chan_json(id);
            self.emit("StasisEnd", json!({"channel": channel}));
            if let (Some(cause), false) = (second, bridged) {
                let channel = self.chan_json(id);
                self.emit(
                    "ChannelHangupRequest",
                    json!({"cause": cause, "soft": true, "channel": channel}),
                );
            }
        }
        let mut c = self.channels.remove(id).unwrap();
        c.app_data.clear();
        self.emit("ChannelDestroyed", destroyed(c.json(), cause, tech));
        if let Some(ext) = &c.ext {
            self.device_changed(ext);
        }
        self.playbacks
            .retain(|_, p| p.target_uri != format!("channel:{id}"));
        let mut finished = Vec::new();
        for r in self.recordings.values_mut() {
            if r.channel.as_deref() == Some(id) && r.state == "recording" {
                finished.push(r.name.clone());
            }
        }
        for name in finished {
            self.finish_recording(&name);
        }
    }

    /// The far end hung up (a SIP BYE).
    pub fn remote_hangup(&mut self, id: &str) {
        self.end(id, json!({}), None, 16, None);
    }

    pub fn app_hangup(&mut self, id: &str, cause: i64) {
        self.end(
            id,
            json!({"cause": 32, "soft": true}),
            Some(cause),
            cause,
            None,
        );
    }

    pub fn enter_bridge(&mut self, id: &str, bridge: &str) {
        if let Some(old) = self.channels[id].bridge.clone() {
            if old == bridge {
                return;
            }
            self.leave_bridge(id, &old);
        }
        let b = self.bridges.get_mut(bridge).unwrap();
        b.channels.push(id.into());
        let bridge_json = b.json();
        let c = self.channels.get_mut(id).unwrap();
        c.bridge = Some(bridge.into());
        let channel = c.json();
        self.emit(
            "ChannelEnteredBridge",
            json!({"bridge": bridge_json, "channel": channel}),
        );
        // Two parties in a mixing bridge: each learns the other (captured scenario c: three
        // rounds, the newcomer first).
        if let Some(peer) = self.bridge_peer(id) {
            let me = (
                self.channels[id].name.clone(),
                self.channels[id].protocol_id.clone(),
            );
            let them = (
                self.channels[&peer].name.clone(),
                self.channels[&peer].protocol_id.clone(),
            );
            for _ in 0..3 {
                self.varset(id, "BRIDGEPEER", &them.0);
                self.varset(id, "BRIDGEPVTCALLID", &them.1);
                self.varset(&peer, "BRIDGEPEER", &me.0);
                self.varset(&peer, "BRIDGEPVTCALLID", &me.1);
            }
        }
    }

    pub fn leave_bridge(&mut self, id: &str, bridge: &str) {
        if !self.bridges.contains_key(bridge) {
            return;
        }
        if self
            .channels
            .get(id)
            .and_then(|c| c.vars.get("BRIDGEPEER"))
            .is_some_and(|p| !p.is_empty())
        {
            self.varset(id, "BRIDGEPEER", "");
            self.varset(id, "BRIDGEPVTCALLID", "");
        }
        let Some(b) = self.bridges.get_mut(bridge) else {
            return;
        };
        b.channels.retain(|c| c != id);
        let bridge_json = b.json();
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        c.bridge = None;
        let channel = c.json();
        self.emit(
            "ChannelLeftBridge",
            json!({"bridge": bridge_json, "channel": channel}),
        );
    }

    pub fn destroy_bridge(&mut self, bridge: &str) {
        let members = self.bridges[bridge].channels.clone();
        for id in members {
            self.leave_bridge(&id, bridge);
        }
        let b = self.bridges.remove(bridge).unwrap();
        self.playbacks
            .retain(|_, p| p.target_uri != format!("bridge:{bridge}"));
        // Asterisk closes a bridge's recordings with it.
        let recording: Vec<String> = self
            .recordings
            .values()
            .filter(|r| r.target_uri == format!("bridge:{bridge}") && r.state == "recording")
            .map(|r| r.name.clone())
            .collect();
        for name in recording {
            self.finish_recording(&name);
        }
        self.emit("BridgeDestroyed", json!({"bridge": b.json()}));
    }

    fn playback_event(&mut self, kind: &str, id: &str) {
        let p = &self.playbacks[id];
        let (body, copies) = (p.json(), p.copies);
        for _ in 0..copies {
            self.emit(kind, json!({"playback": body}));
        }
    }

    /// Starts a queued playback: `PlaybackStarted` now, then one step per media item.
    pub fn start_playback(&mut self, shared: &Arc<Shared>, id: &str) {
        self.playbacks.get_mut(id).unwrap().state = "playing".into();
        self.playback_event("PlaybackStarted", id);
        self.schedule_step(shared, id);
    }

    fn schedule_step(&mut self, shared: &Arc<Shared>, id: &str) {
        let index = self.playbacks[id].index;
        // A tone plays until it is stopped (`DELETE /playbacks/{id}`); what is queued after
        // it on the same target waits until then.
        if self.playbacks[id].media[index].starts_with("tone:") {
            return;
        }
        let id = id.to_owned();
        later(shared, self.timings.playback, move |w, shared| {
            let Some(p) = w.playbacks.get_mut(&id) else {
                return;
            };
            if p.index != index || p.state != "playing" {
                return;
            }
            if p.index + 1 < p.media.len() {
                p.state = "continuing".into();
                w.playback_event("PlaybackContinuing", &id);
                let p = w.playbacks.get_mut(&id).unwrap();
                p.index += 1;
                p.state = "playing".into();
                w.playback_event("PlaybackStarted", &id);
                w.schedule_step(shared, &id);
            } else {
                w.finish_playback(shared, &id);
            }
        });
    }

    pub fn finish_playback(&mut self, shared: &Arc<Shared>, id: &str) {
        let Some(p) = self.playbacks.get_mut(id) else {
            return;
        };
        let was_playing = p.state != "queued";
        p.state = "done".into();
        self.playback_event("PlaybackFinished", id);
        let target = self.playbacks.remove(id).map(|p| p.target_uri);
        if let Some(target) = target.filter(|_| was_playing) {
            self.start_next_playback(shared, &target);
        }
    }

    /// Whether `target` is playing something now (a new playback then waits its turn).
    pub fn target_busy(&self, target: &str) -> bool {
        self.playbacks
            .values()
            .any(|p| p.target_uri == target && p.state != "queued")
    }

    /// The oldest playback waiting on `target` starts.
    fn start_next_playback(&mut self, shared: &Arc<Shared>, target: &str) {
        let next = self
            .playbacks
            .values()
            .filter(|p| p.target_uri == target && p.state == "queued")
            .min_by_key(|p| p.order)
            .map(|p| p.id.clone());
        if let Some(next) = next {
            self.start_playback(shared, &next);
        }
    }

    pub fn finish_recording(&mut self, name: &str) {
        let Some(r) = self.recordings.get_mut(name) else {
            return;
        };
        if r.state != "recording" {
            return;
        }
        r.state = "done".into();
        let mut body = r.json();
        let secs = r.started.elapsed().as_secs();
        body["duration"] = secs.into();
        let format = r.format.clone();
        self.stored.insert(name.to_owned(), (format, secs));
        self.emit("RecordingFinished", json!({"recording": body}));
    }

    pub fn dtmf(&mut self, id: &str, digit: &str) {
        let Some(c) = self.channels.get(id) else {
            return;
        };
        let channel = c.json();
        self.emit(
            "ChannelDtmfReceived",
            json!({"digit": digit, "duration_ms": 280, "channel": channel}),
        );
        let stops: Vec<String> = self
            .recordings
            .values()
            .filter(|r| {
                r.channel.as_deref() == Some(id)
                    && r.state == "recording"
                    && r.terminate_on
                        .as_deref()
                        .is_some_and(|t| t == "any" || t == digit)
            })
            .map(|r| r.name.clone())
            .collect();
        for name in stops {
            self.finish_recording(&name);
        }
    }

    /// Agent endpoints Asterisk knows: those the test set a phone for and those pushed over
    /// dynamic configuration.
    pub fn endpoints(&self) -> Vec<String> {
        let mut all: Vec<String> = self.phones.keys().cloned().collect();
        for (kind, id) in self.config.keys() {
            if kind == "endpoint" && !all.contains(id) {
                all.push(id.clone());
            }
        }
        all.sort();
        all
    }

    pub fn endpoint_json(&self, ext: &str) -> Value {
        let online = !matches!(self.phones.get(ext), Some(Behaviour::Unregistered) | None);
        let ids: Vec<&String> = self
            .channels
            .values()
            .filter(|c| c.ext.as_deref() == Some(ext))
            .map(|c| &c.id)
            .collect();
        json!({"technology": "PJSIP", "resource": ext,
               "state": if online { "online" } else { "offline" }, "channel_ids": ids})
    }

    pub fn set_phone(&mut self, ext: &str, behaviour: Behaviour) {
        let was = self.endpoint_json(ext)["state"].clone();
        self.phones.insert(ext.into(), behaviour);
        let now = self.endpoint_json(ext);
        if now["state"] != was {
            self.emit("EndpointStateChange", json!({"endpoint": now}));
        }
        self.device_changed(ext);
    }

    /// chan_pjsip's device state of endpoint `ext` (`chan_pjsip_devicestate`): INVALID when
    /// unknown, UNAVAILABLE when offline, NOT_INUSE when online, else the aggregate of its
    /// channels' states (`ast_devstate_aggregate_add`: the highest in Asterisk's order, ringing
    /// and in use together RINGINUSE), and BUSY once `device_state_busy_at` calls are up.
    pub fn device_state(&self, ext: &str) -> &'static str {
        if !self.endpoints().iter().any(|e| e == ext) {
            return "INVALID";
        }
        let online = !matches!(self.phones.get(ext), Some(Behaviour::Unregistered) | None);
        let base = if online { "NOT_INUSE" } else { "UNAVAILABLE" };
        let order = |s: &str| match s {
            "INVALID" => 0,
            "UNKNOWN" => 1,
            "UNAVAILABLE" => 2,
            "NOT_INUSE" => 3,
            "ONHOLD" => 4,
            "RINGING" => 5,
            "INUSE" => 6,
            "BUSY" => 7,
            _ => 8, // RINGINUSE
        };
        let (mut aggregate, mut ringing, mut in_use, mut up) = ("INVALID", false, false, 0);
        for c in self
            .channels
            .values()
            .filter(|c| c.ext.as_deref() == Some(ext))
        {
            // ast_state_chan2dev
            let s = match c.state.as_str() {
                "Down" => "NOT_INUSE",
                "Ringing" | "Pre-ring" => "RINGING",
                "Busy" => "BUSY",
                "Unknown" => "UNKNOWN",
                _ => "INUSE",
            };
            if s == "RINGING" {
                ringing = true;
            } else if matches!(s, "INUSE" | "ONHOLD" | "BUSY") {
                in_use = true;
            }
            if ringing && in_use {
                aggregate = "RINGINUSE";
            } else if order(s) > order(aggregate) {
                aggregate = s;
            }
            if matches!(c.state.as_str(), "Up" | "Ring" | "Busy") {
                up += 1;
            }
        }
        let busy_at = self
            .config
            .get(&("endpoint".to_owned(), ext.to_owned()))
            .and_then(|a| a.get("device_state_busy_at"))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if busy_at > 0 && up == busy_at {
            "BUSY"
        } else if aggregate != "INVALID" {
            aggregate
        } else {
            base
        }
    }

    /// Asterisk's device state cache: a change of endpoint `ext`'s state sends
    /// `DeviceStateChanged` to an app subscribed to `deviceState:PJSIP/ext`.
    pub fn device_changed(&mut self, ext: &str) {
        let now = self.device_state(ext);
        if self.devices.get(ext) == Some(&now) {
            return;
        }
        self.devices.insert(ext.to_owned(), now);
        let name = format!("PJSIP/{ext}");
        if self.device_subs.contains(&name) {
            self.emit(
                "DeviceStateChanged",
                json!({"device_state": {"name": name, "state": now}}),
            );
        }
    }
}

pub use events::reason_cause;
