//! What agents' phones are doing now: their device state and how many calls they are on.
//!
//! - Asterisk is the authority: `DeviceStateChanged` for `deviceState:PJSIP/<id>` (subscribed
//!   per extension, ARI.md §6) covers every call of the phone, including those that never pass
//!   through our Stasis app (agents calling each other while we are down, a second line).
//!   It is kept per server: a phone registers with one Asterisk and the others call it
//!   unavailable, so the busiest answer wins.
//! - Device state is an aggregate without a count. The count is the number of channels on
//!   the endpoint (`GET /endpoints/PJSIP`, read when a list needs it, see
//!   [`super::VoiceService::phone_activities`]), else the phone's channels we saw ourselves.
//! - The fallback, when Asterisk has said nothing about a device: the channels to and from the
//!   phone that our app sees (legs we originate to `PJSIP/<slug>-<ext>`, calls the phone
//!   places into `Stasis(…,internal,…)`), tracked from their events by channel name.

use std::collections::HashMap;
use std::sync::Mutex as StdMutex;

use serde::Serialize;
use utoipa::ToSchema;

use crate::voice::ari::{self, models::ChannelState, models::DeviceStateValue};

/// What a phone is doing, as Asterisk's device state says (or, failing that, as the calls we
/// see say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Registered and on no call.
    Idle,
    /// Ringing (possibly while on another call).
    Ringing,
    /// On a call.
    InUse,
    /// At its call limit (`device_state_busy_at`): further calls read busy.
    Busy,
    /// Its calls are on hold.
    OnHold,
    /// Not registered or not reachable.
    Unavailable,
}

impl DeviceState {
    /// Whether the phone is on (or being rung for) a call.
    pub fn is_engaged(self) -> bool {
        !matches!(self, DeviceState::Idle | DeviceState::Unavailable)
    }
}

/// A phone's state and its calls now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhoneActivity {
    /// `None` while neither Asterisk nor our own calls say anything about the phone.
    pub device_state: Option<DeviceState>,
    /// Calls the phone is on or rung for.
    pub active_calls: u32,
}

/// A channel of a phone that our app sees.
struct Leg {
    state: ChannelState,
    held: bool,
}

#[derive(Default)]
struct Inner {
    // PJSIP endpoint id → Asterisk's device state on each server that said one.
    asterisk: HashMap<String, HashMap<usize, DeviceStateValue>>,
    // PJSIP endpoint id → its channels we see, by (server, channel id). A channel's name says
    // its endpoint, so its end finds it without an index.
    legs: HashMap<String, HashMap<(usize, String), Leg>>,
}

impl Inner {
    fn set(&mut self, server: usize, id: &str, state: DeviceStateValue) {
        self.asterisk
            .entry(id.to_owned())
            .or_default()
            .insert(server, state);
    }
}

/// Device states and phones' channels; fed by the events reader, read by the API.
#[derive(Default)]
pub(crate) struct Devices {
    inner: StdMutex<Inner>,
}

/// The PJSIP endpoint of a channel name: `PJSIP/acme-1001-0000002a` → `acme-1001` (slugs hold
/// dashes; the suffix after the last one is Asterisk's counter).
fn endpoint_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("PJSIP/")?;
    rest.rsplit_once('-').map(|(endpoint, _)| endpoint)
}

/// How strongly a device state says the phone is engaged, to pick one answer across servers.
fn rank(state: &DeviceStateValue) -> u8 {
    match state {
        DeviceStateValue::Unavailable => 1,
        DeviceStateValue::NotInuse => 2,
        DeviceStateValue::OnHold => 3,
        DeviceStateValue::Inuse => 4,
        DeviceStateValue::Ringing => 5,
        DeviceStateValue::RingInuse => 6,
        DeviceStateValue::Busy => 7,
        // Unknown, Invalid (no such endpoint on that server) and new values say nothing.
        _ => 0,
    }
}

impl Devices {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asterisk says device `name` (`PJSIP/<id>`) is in `state`.
    pub(crate) fn set_device(&self, server: usize, name: &str, state: &DeviceStateValue) {
        let Some(id) = name.strip_prefix("PJSIP/") else {
            return;
        };
        self.lock().set(server, id, state.clone());
    }

    /// Forgets what server `server` said of devices (its events stopped): a dead server's last
    /// "in use" must not outweigh the others for ever.
    pub(crate) fn forget_server(&self, server: usize) {
        self.lock().asterisk.retain(|_, per_server| {
            per_server.remove(&server);
            !per_server.is_empty()
        });
    }

    /// Whether the phone of `id` is on a call we see that routing did not give its agent (a
    /// transfer or consultation to it, a call it placed or received through our app).
    pub(crate) fn on_unrouted_call(&self, id: &str) -> bool {
        self.lock().legs.get(id).is_some_and(|legs| {
            legs.keys()
                .any(|(_, channel)| !super::call::is_routed_agent_leg(channel))
        })
    }

    /// A first device state from an endpoint listing (after connecting, before any
    /// `DeviceStateChanged`): offline, idle, or in use when it has channels.
    pub(crate) fn seed(&self, server: usize, endpoint: &ari::models::Endpoint) {
        let state = match (&endpoint.state, endpoint.channel_ids.is_empty()) {
            (Some(ari::models::EndpointState::Offline), _) => DeviceStateValue::Unavailable,
            (Some(ari::models::EndpointState::Online), true) => DeviceStateValue::NotInuse,
            (Some(ari::models::EndpointState::Online), false) => DeviceStateValue::Inuse,
            _ => return,
        };
        self.lock().set(server, &endpoint.resource, state);
    }

    /// Follows the phones' channels through the events our app gets about them.
    pub(crate) fn observe(&self, server: usize, event: &ari::Event) {
        let gone = match event {
            ari::Event::StasisEnd(_) | ari::Event::ChannelDestroyed(_) => true,
            ari::Event::StasisStart(_)
            | ari::Event::ChannelCreated(_)
            | ari::Event::ChannelStateChange(_)
            | ari::Event::Dial(_)
            | ari::Event::ChannelHold(_)
            | ari::Event::ChannelUnhold(_) => false,
            _ => return,
        };
        let Some(channel) = event.channel() else {
            return;
        };
        let Some(endpoint) = endpoint_of(&channel.name) else {
            return;
        };
        let key = (server, channel.id.clone());
        let mut inner = self.lock();
        if gone {
            if let Some(legs) = inner.legs.get_mut(endpoint) {
                legs.remove(&key);
                if legs.is_empty() {
                    inner.legs.remove(endpoint);
                }
            }
            return;
        }
        let leg = inner
            .legs
            .entry(endpoint.to_owned())
            .or_default()
            .entry(key)
            .or_insert_with(|| Leg {
                state: channel.state.clone(),
                held: false,
            });
        leg.state = channel.state.clone();
        match event {
            ari::Event::ChannelHold(_) => leg.held = true,
            ari::Event::ChannelUnhold(_) => leg.held = false,
            _ => {}
        }
    }

    /// After the events socket comes back: forgets the channels that ended meanwhile.
    pub(crate) fn keep_only(&self, server: usize, alive: &std::collections::HashSet<String>) {
        let mut inner = self.lock();
        for legs in inner.legs.values_mut() {
            legs.retain(|(s, id), _| *s != server || alive.contains(id));
        }
        inner.legs.retain(|_, legs| !legs.is_empty());
    }

    /// What phone `id` is doing. `registered` is its registration (for the fallback),
    /// `call_limit` the calls at which Asterisk reads it busy, `channels` the channels
    /// Asterisk lists on the endpoint when they were read.
    pub(crate) fn activity(
        &self,
        id: &str,
        registered: Option<bool>,
        call_limit: u32,
        channels: Option<usize>,
    ) -> PhoneActivity {
        let inner = self.lock();
        let asterisk = inner
            .asterisk
            .get(id)
            .and_then(|servers| servers.values().max_by_key(|s| rank(s)))
            .filter(|s| rank(s) > 0);
        let own: Vec<(&ChannelState, bool)> = inner
            .legs
            .get(id)
            .map(|legs| legs.values().map(|l| (&l.state, l.held)).collect())
            .unwrap_or_default();
        combine(asterisk, &own, registered, call_limit, channels)
    }
}

/// The phone's state and call count from Asterisk's device state when it has one, else from
/// its channels we see (`own`: state, held).
fn combine(
    asterisk: Option<&DeviceStateValue>,
    own: &[(&ChannelState, bool)],
    registered: Option<bool>,
    call_limit: u32,
    channels: Option<usize>,
) -> PhoneActivity {
    // A created but not yet dialled leg is no call yet (Asterisk reads it idle too).
    let own_calls = own
        .iter()
        .filter(|(s, _)| !matches!(s, ChannelState::Down))
        .count();
    let count = |at_least: usize| channels.unwrap_or(own_calls).max(at_least) as u32;
    if let Some(state) = asterisk {
        let (state, calls) = match state {
            DeviceStateValue::NotInuse => (DeviceState::Idle, 0),
            DeviceStateValue::Unavailable => (DeviceState::Unavailable, 0),
            DeviceStateValue::Ringing => (DeviceState::Ringing, count(1)),
            // Ringing while on a call: two calls at least.
            DeviceStateValue::RingInuse => (DeviceState::Ringing, count(2)),
            DeviceStateValue::OnHold => (DeviceState::OnHold, count(1)),
            DeviceStateValue::Busy => (DeviceState::Busy, count(1)),
            _ => (DeviceState::InUse, count(1)),
        };
        return PhoneActivity {
            device_state: Some(state),
            active_calls: calls,
        };
    }
    let calls = channels.unwrap_or(own_calls) as u32;
    let ringing = own
        .iter()
        .any(|(s, _)| matches!(s, ChannelState::Ringing | ChannelState::PreRing));
    let talking = own.iter().any(|(s, held)| {
        !held
            && !matches!(
                s,
                ChannelState::Down | ChannelState::Ringing | ChannelState::PreRing
            )
    });
    let held = own
        .iter()
        .any(|(s, held)| *held && !matches!(s, ChannelState::Down));
    let state = if ringing {
        Some(DeviceState::Ringing)
    } else if talking && call_limit > 0 && calls >= call_limit {
        Some(DeviceState::Busy)
    } else if talking {
        Some(DeviceState::InUse)
    } else if held {
        Some(DeviceState::OnHold)
    } else if calls > 0 {
        // Calls Asterisk lists that we do not see.
        Some(DeviceState::InUse)
    } else {
        registered.map(|online| {
            if online {
                DeviceState::Idle
            } else {
                DeviceState::Unavailable
            }
        })
    };
    PhoneActivity {
        device_state: state,
        active_calls: calls,
    }
}

/// Whether each phone is registered, as every Asterisk server reports it. A phone registers
/// with one server; the others report it offline, and that must not hide it, whichever
/// report came last.
#[derive(Debug, Default)]
pub(super) struct Registrations(HashMap<String, HashMap<usize, super::PhoneState>>);

impl Registrations {
    /// Server `server` reports the phone of `endpoint` online or offline at `now`; a report
    /// that changes nothing keeps the time of the change.
    pub(super) fn set(
        &mut self,
        server: usize,
        endpoint: &str,
        online: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let state = if online { "online" } else { "offline" };
        let per_server = self.0.entry(endpoint.to_owned()).or_default();
        if per_server.get(&server).is_none_or(|p| p.state != state) {
            per_server.insert(server, super::PhoneState { state, since: now });
        }
    }

    /// Forgets what server `server` said (its events stopped): until it is heard again, its
    /// last word must not keep a phone online.
    pub(super) fn forget(&mut self, server: usize) {
        self.0.retain(|_, per_server| {
            per_server.remove(&server);
            !per_server.is_empty()
        });
    }

    /// The servers that have the phone registered now, in server order.
    pub(super) fn online_on(&self, endpoint: &str) -> Vec<usize> {
        let mut on: Vec<usize> = self
            .0
            .get(endpoint)
            .map(|reports| {
                reports
                    .iter()
                    .filter(|(_, p)| p.state == "online")
                    .map(|(s, _)| *s)
                    .collect()
            })
            .unwrap_or_default();
        on.sort_unstable();
        on
    }

    /// Online (since it first registered) when any server has the phone; otherwise offline
    /// since the last server lost it; `None` when no server said anything.
    pub(super) fn get(&self, endpoint: &str) -> Option<super::PhoneState> {
        let reports = self.0.get(endpoint)?;
        let online = reports
            .values()
            .filter(|p| p.state == "online")
            .min_by_key(|p| p.since);
        online
            .or_else(|| reports.values().max_by_key(|p| p.since))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_registered_with_one_server_is_online_whatever_the_others_say_last() {
        let t = |s: i64| chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let mut r = Registrations::default();
        assert!(r.get("acme-1001").is_none(), "nobody said anything yet");
        r.set(0, "acme-1001", true, t(0));
        r.set(1, "acme-1001", false, t(5));
        let now = r.get("acme-1001").unwrap();
        assert_eq!((now.state, now.since), ("online", t(0)));
        // The same report again keeps the time of the change.
        r.set(0, "acme-1001", true, t(9));
        assert_eq!(r.get("acme-1001").unwrap().since, t(0));
        // It moves to the second server: online all along.
        r.set(1, "acme-1001", true, t(10));
        r.set(0, "acme-1001", false, t(11));
        let now = r.get("acme-1001").unwrap();
        assert_eq!((now.state, now.since), ("online", t(10)));
        // Gone from both: offline since the last one lost it.
        r.set(1, "acme-1001", false, t(20));
        let now = r.get("acme-1001").unwrap();
        assert_eq!((now.state, now.since), ("offline", t(20)));
        assert!(r.get("acme-1002").is_none());
        // A server whose events stopped is forgotten: its "online" no longer counts.
        r.set(1, "acme-1001", true, t(30));
        r.set(0, "acme-1001", false, t(31));
        r.forget(1);
        assert_eq!(r.get("acme-1001").unwrap().state, "offline");
        r.forget(0);
        assert!(r.get("acme-1001").is_none(), "nobody knows any more");
    }

    fn channel(id: &str, name: &str, state: &str) -> ari::models::Channel {
        ari::models::Channel {
            id: id.into(),
            name: name.into(),
            state: state.into(),
            ..Default::default()
        }
    }

    fn event(kind: &str, c: &ari::models::Channel) -> ari::Event {
        let raw = serde_json::json!({"type": kind, "application": "switchboard",
            "timestamp": "2026-11-23T20:29:28.110+0000", "channel": c});
        ari::Event::from_value(raw)
    }

    #[test]
    fn endpoints_are_read_from_channel_names_with_dashed_slugs() {
        assert_eq!(
            endpoint_of("PJSIP/acme-co-1001-0000002a"),
            Some("acme-co-1001")
        );
        assert_eq!(endpoint_of("PJSIP/trunk-00000002"), Some("trunk"));
        assert_eq!(endpoint_of("Local/1001@x-0001;1"), None);
    }

    #[test]
    fn without_asterisk_the_phones_own_channels_give_state_and_count() {
        let d = Devices::default();
        assert_eq!(
            d.activity("a-1001", None, 2, None),
            PhoneActivity::default()
        );
        assert_eq!(
            d.activity("a-1001", Some(true), 2, None).device_state,
            Some(DeviceState::Idle)
        );
        let leg = channel("1.1", "PJSIP/a-1001-00000001", "Down");
        d.observe(0, &event("StasisStart", &leg));
        assert_eq!(d.activity("a-1001", Some(true), 2, None).active_calls, 0);
        let leg = channel("1.1", "PJSIP/a-1001-00000001", "Ringing");
        d.observe(0, &event("ChannelStateChange", &leg));
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::Ringing), 1)
        );
        let leg = channel("1.1", "PJSIP/a-1001-00000001", "Up");
        d.observe(0, &event("ChannelStateChange", &leg));
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::InUse), 1)
        );
        let out = channel("1.2", "PJSIP/a-1001-00000002", "Ring");
        d.observe(0, &event("StasisStart", &out));
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::Busy), 2)
        );
        d.observe(0, &event("ChannelDestroyed", &out));
        d.observe(0, &event("StasisEnd", &leg));
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::Idle), 0)
        );
        // Another phone's channels are not this one's.
        d.observe(
            0,
            &event(
                "StasisStart",
                &channel("1.3", "PJSIP/a-10011-00000003", "Up"),
            ),
        );
        assert_eq!(
            d.activity("a-1001", Some(false), 2, None).device_state,
            Some(DeviceState::Unavailable)
        );
    }

    #[test]
    fn asterisks_device_state_wins_and_the_busiest_server_counts() {
        let d = Devices::default();
        let leg = channel("1.1", "PJSIP/a-1001-00000001", "Up");
        d.observe(0, &event("StasisStart", &leg));
        // Asterisk says idle: our leg is stale (its end was missed).
        d.set_device(0, "PJSIP/a-1001", &DeviceStateValue::NotInuse);
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::Idle), 0)
        );
        // On a call we never saw: one call at least, more when Asterisk lists more channels.
        d.set_device(1, "PJSIP/a-1001", &DeviceStateValue::Unavailable);
        d.set_device(0, "PJSIP/a-1001", &DeviceStateValue::Inuse);
        d.keep_only(0, &Default::default());
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::InUse), 1)
        );
        assert_eq!(d.activity("a-1001", Some(true), 2, Some(3)).active_calls, 3);
        d.set_device(0, "PJSIP/a-1001", &DeviceStateValue::RingInuse);
        let now = d.activity("a-1001", Some(true), 2, None);
        assert_eq!(
            (now.device_state, now.active_calls),
            (Some(DeviceState::Ringing), 2)
        );
        // INVALID (a server that does not know the endpoint) says nothing.
        d.set_device(0, "PJSIP/a-1001", &DeviceStateValue::Invalid);
        assert_eq!(
            d.activity("a-1001", Some(true), 2, None).device_state,
            Some(DeviceState::Unavailable)
        );
        d.set_device(0, "Stasis:agent-1", &DeviceStateValue::Busy);
        assert_eq!(d.activity("agent-1", None, 2, None).device_state, None);
    }
}
