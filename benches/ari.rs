//! Call setups per second through IVR → queue → agent bridge, against the ARI stand-in, and
//! the CPU each side spends per call.
//!
//! The real `switchboard` binary runs as its own process (so its CPU time is its own, read
//! from /proc), talking to the ARI stand-in of `tests/api/ari_standin/` in this process. A
//! call: the trunk call enters the app, Switchboard answers, plays the flow's greeting (TTS,
//! rendered once then served from the cache), queues the caller as a voice contact, the
//! routing engine offers it, Switchboard originates to the agent's PJSIP phone, the phone
//! answers, and the caller and agent are put in a mixing bridge. That moment ends the setup;
//! the caller then hangs up and the agent is free again.
//!
//! `CONCURRENCY` calls are kept in flight (default 32) by as many agents, for `SECS` seconds
//! (default 10) after a warm-up; prompts last 1 ms in the stand-in, so the figure is the
//! signalling cost, not the length of a greeting. With `RATE=n`, calls instead arrive at `n`
//! a second (as callers do, whether or not the last one is through), on `CONCURRENCY` agents:
//! `RATE=200` measures the CPU per call at the issue's goal rate rather than flat out, where
//! Switchboard, the stand-in and this driver compete for the same two cores.
//!
//! Printed: setups/s, setup latency p50/p99, Switchboard's CPU per call, and the stand-in's
//! (with this load driver) CPU per call, beside a stand-in-only pass that replays the same
//! ARI requests without Switchboard. Also Switchboard's thread switches per call and its CPU
//! as a multiple of the stand-in's: on a shared machine both processes slow down together, so
//! the ratio compares builds better than the absolute figure does.
//!
//! REST requests travel over the events socket, as with an Asterisk of 20.14, 21.9, 22.4 or
//! later (the default); `REST_OVER_WEBSOCKET=0` sends them over HTTP on both passes.

mod common;

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/ari_standin/mod.rs"]
mod ari_standin;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::config::AsteriskConfig;
use switchboard::voice::ari::{
    AddChannel, AriClient, BridgeType, EventStream, NewBridge, Originate, Play, StreamOptions,
};
use tokio::sync::oneshot;

use ari_standin::{AriStandIn, Behaviour};
use common::{Api, OPERATOR, Server, env_or, pct, proc_cpu};

const DID: &str = "+15550009000";

const FLOW: &str = r#"version: 1
id: main
name: Bench line
channels: [voice]
languages: [en-US]
defaults: { language: en-US }
start: hello
nodes:
  hello:
    type: say
    prompt: "Thanks for calling."
    next: q
  q:
    type: queue
    queue: sales
    on_no_agents: bye
    on_max_wait: bye
    on_full: bye
  bye:
    type: hangup
    prompt: "Goodbye."
"#;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>;

/// Resolves a waiter when its caller channel enters a `-talk` bridge (bridged with the agent)
/// and when it is destroyed, from the stand-in's own event stream.
fn watch(ari: &AriStandIn, bridged: Waiters, destroyed: Waiters) {
    let mut rx = ari.subscribe();
    tokio::spawn(async move {
        loop {
            let text = match rx.recv().await {
                Ok(t) => t,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("load driver lagged by {n} events");
                    continue;
                }
                Err(_) => return,
            };
            let ev: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let channel = ev["channel"]["id"].as_str().unwrap_or_default();
            match ev["type"].as_str() {
                Some("ChannelEnteredBridge")
                    if ev["bridge"]["id"]
                        .as_str()
                        .is_some_and(|b| b.ends_with("-talk")) =>
                {
                    if let Some(tx) = bridged.lock().unwrap().remove(channel) {
                        let _ = tx.send(());
                    }
                }
                Some("ChannelDestroyed") => {
                    if let Some(tx) = destroyed.lock().unwrap().remove(channel) {
                        let _ = tx.send(());
                    }
                }
                _ => {}
            }
        }
    });
}

/// How calls are started: `Closed` keeps every slot busy (a new call as soon as one ends);
/// `Paced` starts `rate` calls a second whatever their length, as callers arrive, each on a
/// free slot (a slot is one agent's phone; with none free the next call waits for one).
#[derive(Clone, Copy)]
enum Load {
    Closed,
    Paced { rate: f64 },
}

/// Runs calls on `slots` slots under `load` until `deadline`: `call(slot, n)` returns its
/// setup time in ms when it was set up.
async fn drive<F, Fut>(load: Load, slots: usize, deadline: Instant, call: F) -> Vec<f64>
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<f64>> + Send + 'static,
{
    match load {
        Load::Closed => {
            let mut workers = Vec::new();
            for w in 0..slots as u64 {
                let call = call.clone();
                workers.push(tokio::spawn(async move {
                    let mut setups = Vec::new();
                    let mut n = 1_000_000 + w * 1_000_000;
                    while Instant::now() < deadline {
                        n += 1;
                        setups.extend(call(w, n).await);
                    }
                    setups
                }));
            }
            let mut setups = Vec::new();
            for w in workers {
                setups.extend(w.await.expect("worker"));
            }
            setups
        }
        Load::Paced { rate } => {
            let (free_tx, mut free_rx) = tokio::sync::mpsc::unbounded_channel();
            for w in 0..slots as u64 {
                free_tx.send(w).expect("slot");
            }
            // Calls that fell behind (no agent free) are started as soon as one is, so the
            // rate holds over the run; their wait counts in their setup time.
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut calls = Vec::new();
            let mut n = 1_000_000u64;
            let mut waited = 0u64;
            loop {
                let due = tick.tick().await;
                if tokio::time::Instant::now() >= deadline.into() {
                    break;
                }
                let w = match free_rx.try_recv() {
                    Ok(w) => w,
                    Err(_) => {
                        waited += 1;
                        tokio::select! {
                            w = free_rx.recv() => match w {
                                Some(w) => w,
                                None => break,
                            },
                            _ = tokio::time::sleep_until(deadline.into()) => break,
                        }
                    }
                };
                n += 1;
                let (call, free_tx) = (call.clone(), free_tx.clone());
                calls.push(tokio::spawn(async move {
                    let late = due.elapsed().as_secs_f64() * 1000.0;
                    let setup = call(w, n).await.map(|ms| ms + late);
                    let _ = free_tx.send(w);
                    setup
                }));
            }
            if waited > 0 {
                println!(
                    "{waited} of {} calls found all {slots} agents busy and waited (counted in their setup time)",
                    calls.len()
                );
            }
            let mut setups = Vec::new();
            for c in calls {
                setups.extend(c.await.expect("call"));
            }
            setups
        }
    }
}

struct Run {
    setups: Vec<f64>,
    secs: f64,
    ours: Duration,
    standin: Duration,
    /// Switchboard's thread switches (none when it did not run).
    switches: Option<u64>,
}

async fn switchboard_path(
    load: Load,
    concurrency: usize,
    secs: u64,
    warmup: usize,
    socket: bool,
) -> Run {
    let ari = Arc::new(AriStandIn::start().await);
    ari.set_playback_duration(Duration::from_millis(1));
    let asterisk = format!(
        "[{{name=\"standin\",url=\"{}\",username=\"switchboard\",password=\"switchboard\",max_in_flight=64,rest_over_websocket={socket}}}]",
        ari.url()
    );
    let server = Server::start_with(&[("SWITCHBOARD_VOICE__ASTERISK", &asterisk)]);
    let api = Api::login(&server.base, OPERATOR.0, OPERATOR.1).await;
    let t = api
        .post("/api/v1/tenants", json!({"name": "Bench", "slug": "bench"}))
        .await;
    let tid = t["id"].as_i64().expect("tenant");
    let mut members = Vec::new();
    for n in 0..concurrency {
        let email = format!("agent{n}@bench.example");
        let u = api
            .post(
                &format!("/api/v1/tenants/{tid}/users"),
                json!({"email": email, "name": format!("Agent {n}"), "role": "agent", "password": "bench-password-1"}),
            )
            .await;
        let uid = u["user"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("agent: {u}"));
        let number = format!("{}", 2000 + n);
        let x = api
            .post(
                &format!("/api/v1/tenants/{tid}/extensions"),
                json!({"number": number, "display_name": format!("Agent {n}"), "user_id": uid}),
            )
            .await;
        assert!(x["id"].is_i64(), "extension: {x}");
        ari.phone(
            &format!("bench-{number}"),
            Behaviour::Answers {
                after: Duration::ZERO,
            },
        );
        members.push(json!({"user_id": uid}));
    }
    let q = api
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": "sales", "settings": {"strategy": "least_recent", "offer_timeout_secs": 20}, "members": members}),
        )
        .await;
    assert!(q["id"].is_i64(), "queue: {q}");
    for m in &members {
        api.put(
            &format!("/api/v1/tenants/{tid}/agents/{}/presence", m["user_id"]),
            json!({"state": "available"}),
        )
        .await;
    }
    for (path, text) in [
        ("flows/main.yaml", FLOW.to_owned()),
        (
            "routes.yaml",
            format!("version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n"),
        ),
    ] {
        let r = api
            .post(
                &format!("/api/v1/tenants/{tid}/flows/publish"),
                json!({"path": path, "text": text}),
            )
            .await;
        assert!(r["version"].is_i64(), "publish {path}: {r}");
    }

    let bridged: Waiters = Arc::default();
    let destroyed: Waiters = Arc::default();
    watch(&ari, bridged.clone(), destroyed.clone());

    // One call: returns its setup time.
    let call = {
        let ari = ari.clone();
        move |n: u64| {
            let ari = ari.clone();
            let bridged = bridged.clone();
            let destroyed = destroyed.clone();
            async move {
                let (btx, brx) = oneshot::channel();
                let (dtx, drx) = oneshot::channel();
                let start = Instant::now();
                // Register before the call exists: its events may beat us otherwise.
                let channel = {
                    let mut b = bridged.lock().unwrap();
                    let mut d = destroyed.lock().unwrap();
                    let channel = ari.inbound_call(DID, &format!("+1415{n:07}"));
                    b.insert(channel.clone(), btx);
                    d.insert(channel.clone(), dtx);
                    channel
                };
                let ok = tokio::time::timeout(Duration::from_secs(10), brx).await;
                let setup = start.elapsed();
                ari.caller_hangs_up(&channel);
                let _ = tokio::time::timeout(Duration::from_secs(10), drx).await;
                // The agent leg goes down after the caller; give the agent back its phone.
                tokio::time::sleep(Duration::from_millis(5)).await;
                matches!(ok, Ok(Ok(()))).then_some(setup)
            }
        }
    };

    // Warm-up: the greeting is synthesised, caches and connections fill.
    for n in 0..warmup as u64 {
        call(n).await.expect("a warm-up call was not bridged");
    }

    let cpu_ours = server.cpu();
    let switches = server.thread_switches();
    let cpu_standin = proc_cpu("/proc/self/stat");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let setups = drive(load, concurrency, deadline, move |_, n| {
        let call = call.clone();
        async move { call(n).await.map(|d| d.as_secs_f64() * 1000.0) }
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    Run {
        setups,
        secs,
        ours: server.cpu() - cpu_ours,
        standin: proc_cpu("/proc/self/stat") - cpu_standin,
        switches: Some(server.thread_switches().saturating_sub(switches)),
    }
}

/// The same ARI traffic for one call, sent by a bare client instead of Switchboard: what the
/// stand-in and this driver cost without us.
async fn standin_alone(load: Load, concurrency: usize, secs: u64, socket: bool) -> Run {
    let ari = Arc::new(AriStandIn::start().await);
    ari.set_playback_duration(Duration::from_millis(1));
    for n in 0..concurrency {
        ari.phone(
            &format!("bench-{}", 2000 + n),
            Behaviour::Answers {
                after: Duration::ZERO,
            },
        );
    }
    let config = AsteriskConfig {
        max_in_flight: 64,
        ..AsteriskConfig::for_url(&ari.url())
    };
    let client = AriClient::new(&config).expect("client");
    // The events Switchboard asks Asterisk not to send are not sent on this pass either.
    client
        .filter_events(switchboard::voice::calls::UNREAD_EVENTS)
        .await
        .expect("event filter");
    if socket {
        let mut stream =
            EventStream::spawn(StreamOptions::from_config(&config).requests_for(&client))
                .expect("events");
        tokio::spawn(async move { while stream.recv().await.is_some() {} });
        let deadline = Instant::now() + Duration::from_secs(5);
        while !client.rest_over_socket() {
            assert!(
                Instant::now() < deadline,
                "the stand-in takes no requests on its socket"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let cpu = proc_cpu("/proc/self/stat");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let setups = drive(load, concurrency, deadline, move |w, n| {
        let (ari, client) = (ari.clone(), client.clone());
        async move {
            let start = Instant::now();
            let caller = ari.inbound_call(DID, "+14155550000");
            let _ = client.answer(&caller).await;
            let _ = client.play(&caller, &Play::media("sound:hello")).await;
            let hold = format!("w{w}-{n}-hold");
            let _ = client
                .create_bridge(&NewBridge {
                    types: vec![BridgeType::Holding],
                    bridge_id: Some(hold.clone()),
                    name: None,
                })
                .await;
            let _ = client
                .add_channels(&hold, &[&caller], &AddChannel::default())
                .await;
            let _ = client.start_bridge_moh(&hold, None).await;
            let leg = format!("w{w}-{n}-leg");
            let _ = client
                .originate(&Originate {
                    endpoint: format!("PJSIP/bench-{}", 2000 + w),
                    app_args: vec!["leg".into()],
                    channel_id: Some(leg.clone()),
                    originator: Some(caller.clone()),
                    timeout_secs: Some(20),
                    ..Originate::default()
                })
                .await;
            let talk = format!("w{w}-{n}-talk");
            let _ = client
                .create_bridge(&NewBridge {
                    types: vec![BridgeType::Mixing],
                    bridge_id: Some(talk.clone()),
                    name: None,
                })
                .await;
            let _ = client
                .add_channels(&talk, &[&caller, &leg], &AddChannel::default())
                .await;
            let _ = client.destroy_bridge(&hold).await;
            let setup = start.elapsed().as_secs_f64() * 1000.0;
            ari.caller_hangs_up(&caller);
            let _ = client.hangup(&leg, None).await;
            let _ = client.destroy_bridge(&talk).await;
            Some(setup)
        }
    })
    .await;
    Run {
        setups,
        secs: started.elapsed().as_secs_f64(),
        ours: Duration::ZERO,
        standin: proc_cpu("/proc/self/stat") - cpu,
        switches: None,
    }
}

fn report(label: &str, mut run: Run) {
    run.setups.sort_by(|a, b| a.total_cmp(b));
    let calls = run.setups.len().max(1) as f64;
    println!(
        "{label:<40} {:>6} calls  {:>6.0} setups/s  setup p50 {:>6.1} ms  p99 {:>6.1} ms  switchboard CPU {:>5.2} ms/call  stand-in+driver CPU {:>5.2} ms/call",
        run.setups.len(),
        run.setups.len() as f64 / run.secs,
        pct(&run.setups, 0.50),
        pct(&run.setups, 0.99),
        run.ours.as_secs_f64() * 1000.0 / calls,
        run.standin.as_secs_f64() * 1000.0 / calls,
    );
    if let Some(switches) = run.switches {
        println!(
            "{:<40} switchboard thread switches {:>5.1} per call, CPU {:.2}× the stand-in's",
            "",
            switches as f64 / calls,
            run.ours.as_secs_f64() / run.standin.as_secs_f64().max(1e-9),
        );
    }
}

fn main() {
    let concurrency = env_or("CONCURRENCY", 32) as usize;
    let secs = env_or("SECS", 10);
    let socket = env_or("REST_OVER_WEBSOCKET", 1) != 0;
    let load = match env_or("RATE", 0) {
        0 => Load::Closed,
        rate => Load::Paced { rate: rate as f64 },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pace = match load {
            Load::Closed => format!("{concurrency} calls in flight"),
            Load::Paced { rate } => format!("{rate:.0} calls/s arriving on {concurrency} agents"),
        };
        println!(
            "ARI call setup (IVR greeting → queue → agent phone → bridge), {pace}, {secs} s, {} cores, requests over {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            if socket { "the events socket" } else { "HTTP" }
        );
        let run = switchboard_path(load, concurrency, secs, 20, socket).await;
        report("switchboard + ARI stand-in", run);
        let run = standin_alone(load, concurrency, secs, socket).await;
        report("ARI stand-in alone (same requests)", run);
    });
}
