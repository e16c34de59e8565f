//! Calls end to end against the ARI stand-in: a trunk call to a DID runs the tenant's IVR
//! flow (TTS prompts rendered and served by URL, keys pressed), waits in a queue as a voice
//! contact of the routing engine, rings the agent's PJSIP phone, is bridged and recorded,
//! and ends into wrap-up; ring timeouts, abandons, voicemail, transfer, callbacks, dial-by-name,
//! a dropped events socket and a blended agent, each as a caller and an agent would live it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::config::AsteriskConfig;

use crate::ari_standin::{AriStandIn, Behaviour, Request};
use crate::helpers::{Client, TestApp, spawn_app_with};

const DID: &str = "+15550001000";
const CALLER: &str = "+14155551234";

const FLOW: &str = r#"version: 1
id: main
name: Test line
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  input: { timeout: "4s", max_attempts: 2 }
variables:
  account: { type: digits, pii: true }
start: menu
nodes:
  menu:
    type: menu
    prompt: "For sales, press 1. To leave a message, press 2. For the front desk, press 3."
    options: { "1": q_sales, "2": vm, "3": front_desk, "4": q_callback, "5": call_me, "6": account, "7": staff }
    max_attempts: 2
    on_max_attempts: goodbye
  q_sales:
    type: queue
    queue: sales
    exit_keys: { "0": vm }
    on_no_agents: vm
    on_max_wait: vm
    on_full: vm
  q_callback:
    type: queue
    queue: sales
    callback:
      offer_after: "1s"
      key: "1"
      prompt: "To be called back, press 1."
      keep_position: true
      next: callback_done
    on_no_agents: vm
    on_max_wait: vm
    on_full: vm
  account:
    type: gather
    prompt: "Please enter your four-digit account number."
    into: account
    min_digits: 4
    max_digits: 4
    max_attempts: 2
    next: read_back
    on_max_attempts: goodbye
  read_back:
    type: say
    prompt: "You entered {{account | digits}}."
    next: goodbye
  call_me:
    type: callback
    queue: sales
    number: caller
    max_attempts: 2
    retry_delay: "1m"
    next: callback_done
    on_error: vm
  front_desk:
    type: transfer
    to: { extension: "1002" }
    caller_id: caller
    ring_timeout: "5s"
    on_no_answer: vm
    on_busy: vm
    on_failure: vm
  staff:
    type: directory
    directory: staff
    on_not_found: nobody
    on_exit: goodbye
    on_operator: front_desk
  nobody:
    type: hangup
    prompt: "Sorry, nobody here has that name."
  vm:
    type: voicemail
    mailbox: "sales"
    greeting: "Please leave a message after the tone."
    max_length: "60s"
    next: "@hangup"
  callback_done:
    type: hangup
    prompt: "Thanks. We will call you back."
  goodbye:
    type: hangup
    prompt: "Goodbye."
"#;

struct Line {
    app: TestApp,
    ari: AriStandIn,
    tid: i64,
    op: Client,
    queue: i64,
}

struct Agent {
    id: i64,
    client: Client,
    phone: String,
}

async fn line(queue_settings: Value) -> Line {
    let ari = AriStandIn::start().await;
    let config = ari.config();
    line_on(queue_settings, ari, vec![config]).await
}

/// [`line`] whose calls come in on `ari`, one of the Asterisk servers `servers` (its config
/// first).
async fn line_on(queue_settings: Value, ari: AriStandIn, servers: Vec<AsteriskConfig>) -> Line {
    ari.set_playback_duration(Duration::from_millis(60));
    let app = spawn_app_with(move |c| {
        c.voice.asterisk = servers;
        c.voice.outbound_endpoint = "PJSIP/{number}@trunk".into();
        c.voice.sip_uri_endpoint = "PJSIP/trunk/{uri}".into();
    })
    .await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "voice").await;
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": "sales", "settings": queue_settings}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let queue = r.body["id"].as_i64().unwrap();
    // The flow's front desk must exist to publish (IVR015); tests that need a person behind it
    // give it to an agent (`Line::agent_named`).
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/extensions"),
            json!({"number": "1002", "display_name": "Front desk"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for (path, text) in [
        ("flows/main.yaml", FLOW.to_owned()),
        (
            "routes.yaml",
            format!("version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n"),
        ),
    ] {
        let r = op
            .post(
                &format!("/api/v1/tenants/{tid}/flows/publish"),
                json!({"path": path, "text": text}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "publishing {path}: {}", r.body);
    }
    Line {
        app,
        ari,
        tid,
        op,
        queue,
    }
}

impl Line {
    /// A logged-in agent in the queue with phone `number`.
    async fn agent(&self, number: &str, behaviour: Behaviour) -> Agent {
        self.agent_named(number, &format!("Agent {number}"), behaviour)
            .await
    }

    /// [`Self::agent`] whose extension shows (and the directory finds) `name`.
    async fn agent_named(&self, number: &str, name: &str, behaviour: Behaviour) -> Agent {
        let (id, client) = self.app.member(&self.op, self.tid, "agent").await;
        let extensions = format!("/api/v1/tenants/{}/extensions", self.tid);
        let existing = self.op.get(&extensions).await.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|x| x["number"] == number).cloned());
        let r = match existing {
            // The front desk `line` made: this agent sits at it now.
            Some(x) => {
                self.op
                    .patch(
                        &format!("{extensions}/{}", x["id"]),
                        json!({"display_name": name, "user_id": id}),
                    )
                    .await
            }
            None => {
                self.op
                    .post(
                        &extensions,
                        json!({"number": number, "display_name": name, "user_id": id}),
                    )
                    .await
            }
        };
        assert!(r.status.is_success(), "{}", r.body);
        let phone = format!("voice-{number}");
        self.ari.phone(&phone, behaviour);
        let members = self
            .op
            .get(&format!(
                "/api/v1/tenants/{}/queues/{}",
                self.tid, self.queue
            ))
            .await
            .body["members"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut members: Vec<Value> = members;
        members.push(json!({"user_id": id}));
        let r = self
            .op
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/tenants/{}/queues/{}/members", self.tid, self.queue),
                Some(Value::Array(members)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        Agent { id, client, phone }
    }

    /// Publishes flow files into the tenant's folder, in order; each must be accepted.
    async fn publish(&self, files: Vec<(&str, String)>) {
        for (path, text) in files {
            let r = self
                .op
                .post(
                    &format!("/api/v1/tenants/{}/flows/publish", self.tid),
                    json!({"path": path, "text": text}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "publishing {path}: {}", r.body);
        }
    }

    /// The id of extension `number`.
    async fn extension_id(&self, number: &str) -> i64 {
        let list = self
            .op
            .get(&format!("/api/v1/tenants/{}/extensions", self.tid))
            .await;
        list.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|x| x["number"] == number))
            .and_then(|x| x["id"].as_i64())
            .unwrap_or_else(|| panic!("no extension {number}: {}", list.body))
    }

    async fn available(&self, agent: &Agent) {
        let r = agent
            .client
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/tenants/{}/me/presence", self.tid),
                Some(json!({"state": "available"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    /// The caller on `channel` is recorded, ends the message with `#` and is hung up. Returns
    /// the record request and the call once it ended with the message stored.
    async fn leaves_a_message(&self, channel: &str) -> (Request, Value) {
        let record = self
            .request("record the message", |r| {
                r.path == format!("/ari/channels/{channel}/record")
            })
            .await;
        self.ari.press(channel, '#');
        self.request("hang up after the message", |r| {
            r.method == "DELETE" && r.path == format!("/ari/channels/{channel}")
        })
        .await;
        let call = self
            .call_until("ended with the message stored", |c| {
                c["state"] == "ended" && c["recordings"][0]["available"] == true
            })
            .await;
        (record, call)
    }

    async fn request(&self, what: &str, pred: impl Fn(&Request) -> bool) -> Request {
        self.ari
            .wait_for_request(pred, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "Switchboard never asked Asterisk to {what}; it asked:\n{}",
                    self.ari
                        .requests()
                        .iter()
                        .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
    }

    /// Waits for the n-th (1-based) prompt played to `channel`.
    async fn prompt(&self, channel: &str, n: usize) -> Request {
        let path = format!("/ari/channels/{channel}/play");
        self.ari
            .wait_for_request(
                |r| {
                    self.ari
                        .requests()
                        .iter()
                        .filter(|r| r.method == "POST" && r.path.starts_with(&path))
                        .count()
                        >= n
                        && r.path.starts_with(&path)
                },
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|| panic!("prompt {n} never played to {channel}"));
        self.ari
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.starts_with(&path))
            .nth(n - 1)
            .unwrap()
    }

    async fn calls(&self) -> Vec<Value> {
        let r = self
            .op
            .get(&format!("/api/v1/tenants/{}/calls", self.tid))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Polls the only call until `pred` holds.
    async fn call_until(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100 {
            if let Some(c) = self.calls().await.first() {
                let id = c["id"].as_i64().unwrap();
                let detail = self
                    .op
                    .get(&format!("/api/v1/tenants/{}/calls/{id}", self.tid))
                    .await
                    .body;
                if pred(&detail) {
                    return detail;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let calls = self.calls().await;
        let detail = match calls.first() {
            Some(c) => {
                self.op
                    .get(&format!(
                        "/api/v1/tenants/{}/calls/{}",
                        self.tid,
                        c["id"].as_i64().unwrap()
                    ))
                    .await
                    .body
            }
            None => Value::Null,
        };
        panic!("the call never became {what}: {detail:#}");
    }

    /// [`Self::call_until`] for call `id`, when another call came in since.
    async fn call_id_until(&self, id: i64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let url = format!("/api/v1/tenants/{}/calls/{id}", self.tid);
        for _ in 0..100 {
            let detail = self.op.get(&url).await.body;
            if pred(&detail) {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let detail = self.op.get(&url).await.body;
        panic!("call {id} never became {what}: {detail:#}");
    }

    /// Waits until `agent`'s routing state is `state`; returns the last one seen.
    async fn agent_state_until(&self, agent: &Agent, state: &str) -> String {
        let mut seen = String::new();
        for _ in 0..50 {
            seen = self.agent_state(agent).await;
            if seen == state {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    }

    /// The queue's figures of today (answered, abandoned …).
    async fn queue_stats(&self) -> Value {
        self.op
            .get(&format!(
                "/api/v1/tenants/{}/queues/{}/live",
                self.tid, self.queue
            ))
            .await
            .body["stats"]
            .clone()
    }

    /// The routing outcome of contact `id` (`ended`, `abandoned`, `lost` …).
    async fn contact_outcome(&self, id: &Value) -> Value {
        self.op
            .get(&format!(
                "/api/v1/tenants/{}/routing/contacts/{id}",
                self.tid
            ))
            .await
            .body["outcome"]
            .clone()
    }

    /// Polls the queue's live view until `n` contacts wait in it.
    async fn waiting_until(&self, n: usize) -> Value {
        let path = format!("/api/v1/tenants/{}/queues/{}/live", self.tid, self.queue);
        for _ in 0..100 {
            let live = self.op.get(&path).await.body;
            if live["waiting"].as_array().map(Vec::len) == Some(n) {
                return live;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} never waiting: {}", self.op.get(&path).await.body);
    }

    /// What the routing engine sees the agent doing: available, ringing, busy, wrapup …
    /// Alex: agent 1001, whose phone answers after 100 ms, signed in to routing.
    async fn alex(&self) -> Agent {
        let alex = self
            .agent(
                "1001",
                Behaviour::Answers {
                    after: Duration::from_millis(100),
                },
            )
            .await;
        self.available(&alex).await;
        alex
    }

    /// Alex (agent 1001, whose phone behaves as `alex_phone`) and Bo (1002, whose phone
    /// answers after 100 ms), both signed in to routing, in that order.
    async fn alex_and_bo(&self, alex_phone: Behaviour) -> (Agent, Agent) {
        let alex = self.agent("1001", alex_phone).await;
        let bo = self
            .agent(
                "1002",
                Behaviour::Answers {
                    after: Duration::from_millis(100),
                },
            )
            .await;
        self.available(&alex).await;
        self.available(&bo).await;
        (alex, bo)
    }

    /// A customer's number that answers after 100 ms when dialled through the trunk.
    fn customer_answers(&self, number: &str) {
        self.ari.phone(
            &format!("{number}@trunk"),
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        );
    }

    async fn agent_state(&self, agent: &Agent) -> String {
        let r = agent
            .client
            .get(&format!("/api/v1/tenants/{}/me/presence", self.tid))
            .await;
        r.body["routing_state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The call queued again after being taken up: read from the timeline, since the state
/// `queued` may last only until Alex's phone answers again.
fn queued_after_resuming(call: &Value) -> bool {
    let kinds = kinds(call);
    kinds
        .iter()
        .position(|k| k == "resumed")
        .is_some_and(|at| kinds[at..].iter().any(|k| k == "queued"))
}

fn kinds(call: &Value) -> Vec<String> {
    call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The media URIs of a play request, in order.
fn media_of(r: &Request) -> Vec<String> {
    if let Some(list) = r.body.as_ref().and_then(|b| b["media"].as_array()) {
        return list
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
    }
    r.param("media")
        .map(|m| m.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A request to play something to `channel` that includes `uri`.
fn plays(r: &Request, channel: &str, uri: &str) -> bool {
    r.method == "POST"
        && r.path.starts_with(&format!("/ari/channels/{channel}/play"))
        && media_of(r).iter().any(|m| m == uri)
}

fn timeline_entry(call: &Value, kind: &str) -> Value {
    call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(call)))["detail"]
        .clone()
}

fn originates_to(r: &Request, phone: &str) -> bool {
    r.method == "POST"
        && r.path.starts_with("/ari/channels")
        && r.param("endpoint") == Some(&format!("PJSIP/{phone}"))
}

#[tokio::test]
async fn a_caller_picks_sales_waits_is_bridged_to_the_agent_recorded_and_the_agent_wraps_up() {
    let line = line(json!({"wrapup_secs": 30, "record_calls": true})).await;
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(150),
            },
        )
        .await;
    line.available(&alex).await;

    let caller = line.ari.inbound_call(DID, CALLER);
    line.request("answer the caller", |r| {
        r.path == format!("/ari/channels/{caller}/answer")
    })
    .await;
    // The menu is synthesised offline and fetched by Asterisk from our media URL.
    let menu = line.prompt(&caller, 1).await;
    let media = menu.param("media").unwrap().to_owned();
    assert!(
        media.starts_with(&format!("sound:{}/media/tts/", line.app.base)),
        "{media}"
    );
    let audio = reqwest::get(media.trim_start_matches("sound:"))
        .await
        .unwrap();
    assert_eq!(audio.status(), StatusCode::OK);
    assert!(audio.bytes().await.unwrap().len() > 8000, "a real prompt");
    line.ari.press(&caller, '1');

    let ring = line
        .request("ring Alex's phone", |r| originates_to(r, &alex.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    assert_eq!(
        ring.param("callerId"),
        Some(format!("\"{CALLER}\" <{CALLER}>").as_str())
    );
    let leg = ring.param("channelId").unwrap().to_owned();
    assert_eq!(ring.param("app"), Some("switchboard"));

    // Alex answers: the caller leaves the lobby for a mixing bridge with Alex, recorded.
    let add = line
        .request("bridge caller and agent", |r| {
            r.path.ends_with("/addChannel")
                && r.path.contains("-talk")
                && r.param("channel").is_some_and(|c| c.contains(&leg))
        })
        .await;
    assert!(add.param("channel").unwrap().contains(&caller));
    line.request("record the call", |r| {
        r.path.contains("-talk/record") && r.param("format") == Some("wav")
    })
    .await;
    let call = line
        .call_until("connected", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], alex.id);
    assert_eq!(call["did"], DID);
    assert_eq!(call["caller"], CALLER);
    assert_eq!(call["flow"], "main");
    assert_eq!(line.agent_state(&alex).await, "busy");

    line.ari.agent_hangs_up(&leg);
    line.request("hang up the caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
    })
    .await;
    let call = line
        .call_until("ended with its recording stored", |c| {
            c["state"] == "ended" && c["recordings"][0]["available"] == true
        })
        .await;
    assert_eq!(call["end_reason"], "agent_hangup");
    let kinds = kinds(&call);
    for k in [
        "entered",
        "ivr_node",
        "queued",
        "offered",
        "answered",
        "recording",
        "ended",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k} missing from {kinds:?}");
    }
    let menu_node = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ivr_node" && e["detail"]["node"] == "menu")
        .unwrap();
    assert_eq!(menu_node["detail"]["exit"], "options.1");
    assert_eq!(line.agent_state(&alex).await, "wrapup");

    // The recording plays for a supervisor, not for another agent.
    let rec = &call["recordings"][0];
    let url = rec["audio_url"].as_str().unwrap();
    let (_, sup) = line.app.member(&line.op, line.tid, "supervisor").await;
    let got = sup
        .raw()
        .get(format!("{}{url}", line.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "audio/wav");
    assert_eq!(got.headers()["content-disposition"], "inline");
    let saved = sup
        .raw()
        .get(format!("{}{url}?download=1", line.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let id = rec["id"].as_i64().unwrap();
    assert_eq!(
        saved.headers()["content-disposition"],
        format!("attachment; filename=\"recording-{id}.wav\"").as_str()
    );
    let (_, other) = line.app.member(&line.op, line.tid, "agent").await;
    let denied = other.get(url).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    let own = alex.client.get(url).await;
    assert_eq!(own.status, StatusCode::OK);
}

/// `Assigned`, ringing, busy … as the caller's timeline says, in order.
fn offered_agents(call: &Value) -> Vec<i64> {
    call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "offered")
        .map(|e| e["detail"]["agent_id"].as_i64().unwrap())
        .collect()
}

/// A caller who picks the menu's callback option (5) and is thanked and hung up on, the
/// callback registered for their number.
async fn asks_for_a_callback(line: &Line) -> String {
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '5');
    line.request("say thanks and hang up", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
    })
    .await;
    caller
}

async fn into_queue(line: &Line) -> String {
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '1');
    caller
}

#[tokio::test]
async fn an_unanswered_phone_rings_out_and_the_next_agent_gets_the_call() {
    let line = line(json!({"strategy": "linear", "offer_timeout_secs": 1, "retry_secs": 60})).await;
    let (alex, bo) = line.alex_and_bo(Behaviour::NoAnswer).await;

    let caller = into_queue(&line).await;
    let first = line
        .request("ring Alex first", |r| originates_to(r, &alex.phone))
        .await;
    let alex_leg = first.param("channelId").unwrap().to_owned();
    // The offer expires after the queue's 1 s: Alex's phone stops ringing, Bo's rings.
    let stop = line
        .request("stop ringing Alex", |r| {
            r.method == "DELETE" && r.path == format!("/ari/channels/{alex_leg}")
        })
        .await;
    assert_eq!(stop.param("reason"), Some("no_answer"));
    line.request("ring Bo next", |r| originates_to(r, &bo.phone))
        .await;
    let call = line
        .call_until("connected to Bo", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], bo.id);
    assert_eq!(offered_agents(&call), vec![alex.id, bo.id]);
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
}

#[tokio::test]
async fn a_busy_phone_is_skipped_at_once() {
    let line =
        line(json!({"strategy": "linear", "offer_timeout_secs": 20, "retry_secs": 60})).await;
    let (alex, bo) = line.alex_and_bo(Behaviour::Busy).await;
    into_queue(&line).await;
    let call = line
        .call_until("connected to Bo", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], bo.id);
    let failed = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "offer_failed")
        .expect("Alex's busy phone is on the timeline");
    assert_eq!(failed["detail"]["agent_id"], alex.id);
    assert_eq!(failed["detail"]["why"], "busy");
}

#[tokio::test]
async fn a_caller_who_hangs_up_in_the_queue_is_counted_as_abandoned_and_the_phone_stops() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.agent("1001", Behaviour::NoAnswer).await;
    line.available(&alex).await;
    let caller = into_queue(&line).await;
    let ring = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    line.ari.caller_hangs_up(&caller);
    line.request("stop ringing Alex", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{leg}")
    })
    .await;
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "abandoned");
    let contact = call["contact_id"].as_i64().unwrap();
    let c = line
        .op
        .get(&format!(
            "/api/v1/tenants/{}/routing/contacts/{contact}",
            line.tid
        ))
        .await;
    assert_eq!(c.body["status"], "ended");
    assert_eq!(c.body["outcome"], "abandoned");
    let live = line
        .op
        .get(&format!(
            "/api/v1/tenants/{}/queues/{}/live",
            line.tid, line.queue
        ))
        .await;
    assert_eq!(live.body["stats"]["abandoned"], 1, "{}", live.body);
    assert_eq!(line.agent_state(&alex).await, "available");
    // The lobby is cleaned up: no bridge is left behind in Asterisk.
    assert!(line.ari.bridges().is_empty(), "{:?}", line.ari.bridges());
}

#[tokio::test]
async fn the_agent_whose_phone_rings_reads_the_call_and_its_ivr_path_but_not_its_recordings() {
    let line = line(json!({"offer_timeout_secs": 30, "record_calls": true})).await;
    let alex = line.agent("1001", Behaviour::NoAnswer).await;
    line.available(&alex).await;
    let caller = into_queue(&line).await;
    line.request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    let id = line
        .call_until("offered", |c| kinds(c).contains(&"offered".to_owned()))
        .await["id"]
        .as_i64()
        .unwrap();
    let url = format!("/api/v1/tenants/{}/calls/{id}", line.tid);

    let seen = alex.client.get(&url).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(seen.body["caller"], CALLER);
    let menu = seen.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ivr_node" && e["detail"]["node"] == "menu")
        .expect("the IVR path is on the timeline");
    assert_eq!(menu["detail"]["exit"], "options.1");
    assert_eq!(seen.body["recordings"], json!([]));
    // Ringing is not taking: the call log still lists only the calls Alex took.
    let list = alex
        .client
        .get(&format!("/api/v1/tenants/{}/calls", line.tid))
        .await;
    assert_eq!(list.body["items"], json!([]), "{}", list.body);
    let (_, other) = line.app.member(&line.op, line.tid, "agent").await;
    assert_eq!(other.get(&url).await.status, StatusCode::NOT_FOUND);
    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;
}

#[tokio::test]
async fn a_blended_agent_on_a_call_gets_no_second_call_but_the_next_caller_waits() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    into_queue(&line).await;
    line.call_until("connected", |c| c["state"] == "connected")
        .await;
    // A chat may still reach Alex (chat capacity), but a second call waits.
    let second = line.ari.inbound_call(DID, "+14155559999");
    line.prompt(&second, 1).await;
    line.ari.press(&second, '1');
    line.request("put the second caller in the lobby", |r| {
        r.path.ends_with("/addChannel")
            && r.path.contains("-hold")
            && r.param("channel") == Some(second.as_str())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rings = line
        .ari
        .requests()
        .iter()
        .filter(|r| originates_to(r, &alex.phone))
        .count();
    assert_eq!(rings, 1, "Alex's phone rang again during the call");
    line.waiting_until(1).await;
    assert_eq!(line.app.state.voice.active_calls(), 2);
}

#[tokio::test]
async fn a_waiting_caller_hears_their_place_and_leaves_by_key_or_after_the_longest_wait() {
    // The queue tells waiting callers their place every 10 s (its shortest period).
    let line = line(json!({"offer_timeout_secs": 30, "announce_position_secs": 10})).await;
    let waiting = r#"version: 1
id: waiting
name: Waiting line
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
start: q
nodes:
  q:
    type: queue
    queue: sales
    announce: { estimated_wait: true }
    exit_keys: { "0": vm }
    on_no_agents: bye
    on_max_wait: bye
    on_full: bye
  q_short:
    type: queue
    queue: sales
    max_wait: "3s"
    on_no_agents: bye
    on_max_wait: too_long
    on_full: bye
  vm:
    type: voicemail
    mailbox: "sales"
    greeting: "Leave a message."
    max_length: "30s"
    next: "@hangup"
  too_long:
    type: hangup
    prompt: "Sorry for the wait. Please call again later."
  bye:
    type: hangup
    prompt: "Goodbye."
"#;
    let short = waiting
        .replace("id: waiting", "id: short")
        .replace("start: q\n", "start: q_short\n")
        .replace("  q:\n", "  unused:\n");
    let (wait_did, short_did) = ("+15550003000", "+15550003001");
    line.publish(vec![
        (
            "flows/waiting.yaml",
            waiting.replace("  q_short:", "  unused_short:"),
        ),
        ("flows/short.yaml", short),
        (
            "routes.yaml",
            format!(
                "version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n  - match: {{ did: \"{wait_did}\" }}\n    flow: waiting\n  - match: {{ did: \"{short_did}\" }}\n    flow: short\n"
            ),
        ),
    ])
    .await;
    // Alex takes a first caller: the next ones wait.
    line.alex().await;
    into_queue(&line).await;
    line.call_until("connected", |c| c["state"] == "connected")
        .await;

    // Next in line: told so with Asterisk's queue prompts, then leaves with 0 for voicemail.
    let second = line.ari.inbound_call(wait_did, "+14155559999");
    let told = line
        .ari
        .wait_for_request(
            |r| {
                r.path.starts_with(&format!("/ari/channels/{second}/play"))
                    && r.param("media")
                        .is_some_and(|m| m.starts_with("sound:queue-youarenext"))
            },
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|| {
            panic!(
                "the caller is never told they are next; asked:\n{}",
                line.ari
                    .requests()
                    .iter()
                    .filter(|r| r.path.contains(&second)
                        || r.param("channel").is_some_and(|c| c.contains(&second)))
                    .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert!(
        told.param("media")
            .unwrap()
            .contains("sound:queue-holdtime"),
        "the wait is said too: {:?}",
        told.param("media")
    );
    line.ari.press(&second, '0');
    line.request("record a message instead", |r| {
        r.path == format!("/ari/channels/{second}/record")
    })
    .await;
    line.ari.caller_hangs_up(&second);

    // The next caller waits out the flow's longest wait and is told so.
    let third = line.ari.inbound_call(short_did, "+14155558888");
    line.request("apologise for the wait", |r| {
        r.path.starts_with(&format!("/ari/channels/{third}/play"))
            && r.param("media").is_some_and(|m| m.contains("/media/tts/"))
    })
    .await;
    line.request("hang up after the apology", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{third}")
    })
    .await;
    let calls = line.calls().await;
    let third_call = calls
        .iter()
        .find(|c| c["caller"] == "+14155558888")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let call = line
        .call_id_until(third_call, "ended", |c| c["state"] == "ended")
        .await;
    let exits: Vec<&str> = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ivr_node" && e["detail"]["node"] == "q_short")
        .filter_map(|e| e["detail"]["exit"].as_str())
        .collect();
    assert_eq!(exits, ["on_max_wait"], "{}", call["timeline"]);
}

#[tokio::test]
async fn asterisk_refusing_one_calls_answer_ends_that_call_and_the_next_caller_is_served() {
    let line = line(json!({})).await;
    line.ari.fail_once(
        "POST",
        "/ari/channels/*/answer",
        500,
        "Internal Server Error",
    );
    let first = line.ari.inbound_call(DID, CALLER);
    // Not left ringing with nobody behind it: the call is ended for the caller.
    line.request("hang up the call that could not be answered", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{first}")
    })
    .await;
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "failed");
    // The next caller is answered and hears the menu as usual.
    let second = line.ari.inbound_call(DID, "+14155550000");
    line.prompt(&second, 1).await;
    assert!(
        line.ari
            .requests()
            .iter()
            .any(|r| r.path == format!("/ari/channels/{second}/answer")),
        "the second call was answered"
    );
}

#[tokio::test]
async fn a_phone_asterisk_refuses_to_ring_is_passed_over_and_the_next_agent_gets_the_call() {
    let line = line(json!({"strategy": "linear", "offer_timeout_secs": 30})).await;
    let (alex, bo) = line
        .alex_and_bo(Behaviour::Answers {
            after: Duration::from_millis(100),
        })
        .await;
    line.ari.fail_once(
        "POST",
        "/ari/channels",
        400,
        "Invalid parameters for originating a channel.",
    );
    let caller = into_queue(&line).await;
    line.request("try Alex's phone first", |r| originates_to(r, &alex.phone))
        .await;
    let ring = line
        .request("ring Bo instead", |r| originates_to(r, &bo.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    let call = line
        .call_until("connected to Bo", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], bo.id);
    let refused = timeline_entry(&call, "offer_failed");
    assert_eq!(refused["agent_id"], alex.id);
    assert!(
        refused["why"]
            .as_str()
            .is_some_and(|w| w.contains("Invalid parameters for originating a channel")),
        "{refused}"
    );
    // Alex was not left ringing or busy: free for the next caller.
    assert_eq!(line.agent_state(&alex).await, "available");
}

#[tokio::test]
async fn asterisk_refusing_to_bridge_an_answered_call_puts_the_caller_back_in_line_for_the_next_agent()
 {
    let line = line(json!({"strategy": "linear", "offer_timeout_secs": 30, "retry_secs": 60, "wrapup_secs": 30})).await;
    let (alex, bo) = line
        .alex_and_bo(Behaviour::Answers {
            after: Duration::from_millis(100),
        })
        .await;
    line.ari.fail_once(
        "POST",
        "/ari/bridges/*-talk/addChannel",
        422,
        "Channel not in Stasis application",
    );
    let caller = into_queue(&line).await;
    let leg = line
        .request("ring Alex first", |r| originates_to(r, &alex.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    // Alex answers, but Asterisk will not put the two in one bridge: Alex's phone is hung up,
    // and the caller, still in the lobby, is the next agent's to answer.
    line.request("hang up Alex's phone", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{leg}")
    })
    .await;
    let ring = line
        .request("ring Bo next", |r| originates_to(r, &bo.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    let bo_leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with Bo", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&bo_leg) && c.contains(&caller))
    })
    .await;
    let call = line
        .call_until("connected to Bo", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], bo.id);
    assert_eq!(
        offered_agents(&call),
        vec![alex.id, bo.id],
        "{:#}",
        call["timeline"]
    );
    let error = timeline_entry(&call, "asterisk_error");
    assert_eq!(error["request"], "bridge the call");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("Channel not in Stasis application")),
        "{error}"
    );
    assert_eq!(timeline_entry(&call, "requeued")["agent_id"], alex.id);
    let timeline = kinds(&call);
    let at = |kind: &str| timeline.iter().position(|k| k == kind).unwrap();
    assert!(at("requeued") < at("answered"), "{timeline:?}");
    // Nobody hung up on the caller, and the lobby (with its music) stayed until Bo answered.
    let requests = line.ari.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")),
        "the caller was hung up"
    );
    // Alex talked to nobody: free at once, with no wrap-up, for the next caller.
    assert_eq!(line.agent_state(&alex).await, "available");
    // One answer in the queue's figures (Bo's), nobody abandoned.
    let stats = line.queue_stats().await;
    assert_eq!(
        (stats["answered"].as_u64(), stats["abandoned"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
}

#[tokio::test]
async fn a_queue_that_assigns_without_offering_rings_the_assigned_agent_and_connects() {
    let line = line(json!({"auto_assign": true})).await;
    let alex = line.alex().await;
    let caller = into_queue(&line).await;
    let ring = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    let call = line
        .call_until("connected to Alex", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], alex.id);
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_the_assigned_phone_rings_is_abandoned_not_answered() {
    let line = line(json!({"auto_assign": true, "strategy": "linear", "wrapup_secs": 30})).await;
    let (alex, bo) = line.alex_and_bo(Behaviour::NoAnswer).await;
    let caller = into_queue(&line).await;
    line.request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "abandoned");
    assert_eq!(line.contact_outcome(&call["contact_id"]).await, "abandoned");
    let stats = line.queue_stats().await;
    assert_eq!(
        (stats["answered"].as_u64(), stats["abandoned"].as_u64()),
        (Some(0), Some(1)),
        "{stats}"
    );
    // Routing had connected Alex before the phone rang; with no call there is no wrap-up,
    // and the call was not handed to Bo on its way out.
    assert_eq!(line.agent_state(&alex).await, "available");
    assert_eq!(line.agent_state(&bo).await, "available");
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &bo.phone)),
        "Bo's phone rang for a caller who had gone"
    );
}

#[tokio::test]
async fn a_queue_that_assigns_without_offering_moves_on_when_the_assigned_phone_is_busy() {
    let line = line(json!({"auto_assign": true, "strategy": "linear", "retry_secs": 60})).await;
    let (alex, bo) = line.alex_and_bo(Behaviour::Busy).await;
    into_queue(&line).await;
    let call = line
        .call_until("connected to Bo", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], bo.id);
    assert_eq!(timeline_entry(&call, "offer_failed")["agent_id"], alex.id);
    // Alex was connected by routing before the phone said busy: that is undone, and Alex is
    // free, not stuck on a call that never was.
    assert_eq!(line.agent_state(&alex).await, "available");
    let stats = line.queue_stats().await;
    assert_eq!(stats["answered"].as_u64(), Some(1), "{stats}");
}

#[tokio::test]
async fn a_prompt_asterisk_refuses_to_play_is_logged_and_the_caller_can_still_choose() {
    let line = line(json!({})).await;
    let alex = line.alex().await;
    line.ari.fail_once(
        "POST",
        "/ari/channels/*/play*",
        500,
        "Internal Server Error",
    );
    let caller = line.ari.inbound_call(DID, CALLER);
    line.request("try to play the menu", |r| {
        r.method == "POST" && r.path.starts_with(&format!("/ari/channels/{caller}/play"))
    })
    .await;
    // No prompt, but no dead end either: the menu takes the caller's key.
    line.ari.press(&caller, '1');
    line.request("ring Alex for the caller", |r| {
        originates_to(r, &alex.phone)
    })
    .await;
    let call = line
        .call_until("the error on the timeline", |c| {
            kinds(c).contains(&"asterisk_error".to_owned())
        })
        .await;
    assert_eq!(timeline_entry(&call, "asterisk_error")["request"], "play");
}

#[tokio::test]
async fn a_message_is_recorded_after_the_greeting_and_shown_as_voicemail() {
    let line = line(json!({})).await;
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '2');
    // The greeting, then the recording with a beep; `#` ends it.
    line.prompt(&caller, 2).await;
    let (record, call) = line.leaves_a_message(&caller).await;
    assert_eq!(record.param("beep"), Some("true"));
    assert_eq!(record.param("terminateOn"), Some("#"));
    assert_eq!(record.param("maxDurationSeconds"), Some("60"));
    assert_eq!(call["recordings"][0]["kind"], "voicemail");
    assert_eq!(call["recordings"][0]["mailbox"], "sales");
    let (_, agent) = line.app.member(&line.op, line.tid, "agent").await;
    let list = agent
        .get(&format!("/api/v1/tenants/{}/voicemails", line.tid))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let vm = &list.body[0];
    assert_eq!(vm["call_id"], call["id"]);
    assert_eq!(
        vm["owner_user_id"],
        Value::Null,
        "a flow's box is the team's"
    );
    let audio = agent.get(vm["audio_url"].as_str().unwrap()).await;
    assert_eq!(audio.status, StatusCode::OK);
    assert_eq!(audio.headers["content-type"], "audio/wav");
}

#[tokio::test]
async fn a_caller_transferred_to_a_busy_desk_falls_back_to_voicemail_and_to_a_free_desk_is_bridged()
{
    let line = line(json!({})).await;
    let desk = line.agent("1002", Behaviour::Busy).await;
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    line.request("ring the front desk", |r| originates_to(r, &desk.phone))
        .await;
    // Busy: the flow's on_busy leads to voicemail.
    line.request("record a message instead", |r| {
        r.path == format!("/ari/channels/{caller}/record")
    })
    .await;
    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;

    line.ari.phone(
        &desk.phone,
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    let caller = line.ari.inbound_call(DID, "+14155550000");
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    let ring = line
        .request("ring the front desk again", |r| {
            originates_to(r, &desk.phone) && r.param("originator") == Some(caller.as_str())
        })
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with the desk", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    // No agent took it, yet the caller talked: answered by the desk.
    let call = line
        .call_until("put through to the desk", |c| {
            c["transferred_to"] == "extension 1002 (Agent 1002)"
        })
        .await;
    assert!(call["answered_at"].is_string(), "{call}");
    assert_eq!(call["agent_id"], Value::Null);
    line.ari.agent_hangs_up(&leg);
    line.request("hang up the caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
    })
    .await;
}

/// A flow that gives up on a caller who keeps asking to hear it again: its step budget runs
/// out and it has no `on_error`, so the platform would apologise and hang up.
const FRAGILE: &str = r#"version: 1
id: fragile
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
limits: { max_steps: 3 }
start: menu
nodes:
  menu:
    type: menu
    prompt: "Press 1 to hear this again."
    options: { "1": again, "2": bye }
    max_attempts: 1
    on_max_attempts: bye
  again:
    type: say
    prompt: "Once more."
    next: menu
  bye:
    type: hangup
"#;

#[tokio::test]
async fn a_numbers_name_is_shown_with_its_calls_and_a_flow_that_gives_up_sends_callers_to_its_failover()
 {
    const SPARE: &str = "+15550001001";
    let line = line(json!({})).await;
    line.publish(vec![
        ("flows/fragile.yaml", FRAGILE.to_owned()),
        (
            "routes.yaml",
            format!(
                "version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n    caller_id_name: Acme Sales\n    emergency_notes: \"911 address on file with the carrier\"\n  - match: {{ did: \"{SPARE}\" }}\n    flow: fragile\n    caller_id_name: Acme Spare\n    failover: {{ extension: \"1002\" }}\n"
            ),
        ),
    ])
    .await;
    let dids = line
        .op
        .get(&format!("/api/v1/tenants/{}/dids", line.tid))
        .await;
    let main = &dids.body["routes"][0];
    assert_eq!(main["caller_id_name"], "Acme Sales", "{}", dids.body);
    assert_eq!(
        main["emergency_notes"],
        "911 address on file with the carrier"
    );
    assert_eq!(main["failover"], Value::Null);
    assert_eq!(dids.body["routes"][1]["failover"], "extension 1002");

    // The agent's phone shows the line before the caller, so they know how to answer.
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    line.available(&alex).await;
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '1');
    let ring = line
        .request("ring Alex's phone", |r| originates_to(r, &alex.phone))
        .await;
    assert_eq!(
        ring.param("callerId"),
        Some(format!("\"Acme Sales: {CALLER}\" <{CALLER}>").as_str())
    );
    let call = line
        .call_until("connected", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["line"], "Acme Sales");
    assert_eq!(timeline_entry(&call, "entered")["line"], "Acme Sales");
    line.ari.agent_hangs_up(ring.param("channelId").unwrap());
    line.call_until("ended", |c| c["state"] == "ended").await;

    // The spare number's flow gives up on a silent caller: the front desk rings instead of
    // the apology, with the line's name before the caller.
    let desk = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let caller = line.ari.inbound_call(SPARE, "+14155550000");
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '1');
    line.prompt(&caller, 3).await; // "Once more.", then the menu again
    line.ari.press(&caller, '1');
    let ring = line
        .request("ring the failover desk", |r| {
            originates_to(r, &desk.phone) && r.param("originator") == Some(caller.as_str())
        })
        .await;
    assert_eq!(
        ring.param("callerId"),
        Some("\"Acme Spare: +14155550000\" <+14155550000>")
    );
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with the desk", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    // Before the desk rang, nothing but the flow's three prompts was played: no apology.
    let requests = line.ari.requests();
    let rang_at = requests
        .iter()
        .position(|r| originates_to(r, &desk.phone))
        .unwrap();
    let played = requests[..rang_at]
        .iter()
        .filter(|r| {
            r.method == "POST" && r.path.starts_with(&format!("/ari/channels/{caller}/play"))
        })
        .count();
    assert_eq!(played, 3);
    let calls = line.calls().await;
    let id = calls
        .iter()
        .find(|c| c["did"] == SPARE)
        .and_then(|c| c["id"].as_i64())
        .unwrap();
    let call = line
        .call_id_until(id, "put through to the failover", |c| {
            c["transferred_to"] == "extension 1002 (Agent 1002)"
        })
        .await;
    assert_eq!(timeline_entry(&call, "failover")["to"], "extension 1002");
    line.ari.agent_hangs_up(&leg);
    line.request("hang up the caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
    })
    .await;
}

#[tokio::test]
async fn a_callback_keeps_its_place_and_the_agent_is_called_before_the_customer() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    // Alex is on a first call, so the next callers wait.
    let first = into_queue(&line).await;
    line.call_until("connected", |c| c["state"] == "connected")
        .await;
    let first_leg = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned();

    // The second caller takes the callback offer (made after 1 s) and hangs up.
    let second = line.ari.inbound_call(DID, "+14155552222");
    line.prompt(&second, 1).await;
    line.ari.press(&second, '4');
    line.prompt(&second, 2).await; // the menu, then the callback offer after 1 s
    line.ari.press(&second, '1');
    line.request("say goodbye and hang up", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{second}")
    })
    .await;
    // A third caller waits behind the callback.
    let third = line.ari.inbound_call(DID, "+14155553333");
    line.prompt(&third, 1).await;
    line.ari.press(&third, '1');
    line.request("third caller in the lobby", |r| {
        r.path.ends_with("/addChannel") && r.param("channel") == Some(third.as_str())
    })
    .await;
    line.waiting_until(2).await;

    // Alex finishes the first call: the callback comes first.
    line.ari.phone(
        "+14155552222@trunk",
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    line.ari.agent_hangs_up(&first_leg);
    drop(first);
    let agent_ring = line
        .request("ring Alex for the callback", |r| {
            originates_to(r, &alex.phone)
                && r.param("callerId")
                    .is_some_and(|c| c.contains("+14155552222"))
        })
        .await;
    assert_eq!(
        agent_ring.param("originator"),
        None,
        "nobody is on the line yet"
    );
    let customer = line
        .request("then dial the customer", |r| {
            originates_to(r, "+14155552222@trunk")
        })
        .await;
    assert_eq!(customer.param("callerId"), Some(DID));
    let customer_leg = customer.param("channelId").unwrap().to_owned();
    line.request("bridge the customer with Alex", |r| {
        r.path.ends_with("/addChannel") && r.param("channel") == Some(customer_leg.as_str())
    })
    .await;
    // The third caller still waits, now first.
    let live = line.waiting_until(1).await;
    assert_eq!(live["waiting"][0]["position"], 1, "{live}");
}

#[tokio::test]
async fn a_dropped_events_socket_is_recovered_and_a_caller_who_left_meanwhile_is_cleaned_up() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.agent("1001", Behaviour::NoAnswer).await;
    line.available(&alex).await;
    let caller = into_queue(&line).await;
    let ring = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    let before = line.ari.connections();
    line.ari.drop_websocket();
    line.ari.wait_until_deaf().await;
    // Deaf: the caller's hangup events are lost.
    line.ari.caller_hangs_up(&caller);
    // Reconnected, we list the channels, see the caller gone, stop Alex's phone, and free
    // the contact.
    line.request("stop ringing Alex after the resync", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{leg}")
    })
    .await;
    assert!(line.ari.connections() > before);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "abandoned");
    // A new call is handled as usual.
    let next = line.ari.inbound_call(DID, CALLER);
    line.prompt(&next, 1).await;
}

#[tokio::test]
async fn an_asterisk_restart_ends_its_calls_frees_queue_and_agent_and_pushes_the_phones_again() {
    let line = line(json!({"offer_timeout_secs": 30, "wrapup_secs": 0})).await;
    let alex = line.alex().await;
    into_queue(&line).await;
    let talking = line
        .call_until("connected", |c| c["state"] == "connected")
        .await;
    let waiting = line.ari.inbound_call(DID, "+14155559999");
    line.prompt(&waiting, 1).await;
    line.ari.press(&waiting, '1');
    line.waiting_until(1).await;
    assert!(line.ari.has_config("endpoint", &alex.phone));
    let before = line.ari.connections();

    // Asterisk dies and comes back: both callers, Alex's leg and the pushed phones are gone,
    // and no event says so.
    line.ari.restart();
    assert!(!line.ari.has_config("endpoint", &alex.phone));
    for (id, what, outcome) in [
        (
            talking["id"].as_i64().unwrap(),
            "the call with Alex",
            "answered",
        ),
        (
            line.calls().await[0]["id"].as_i64().unwrap(),
            "the waiting call",
            "lost",
        ),
    ] {
        let call = line
            .call_id_until(id, &format!("{what} ended"), |c| c["state"] == "ended")
            .await;
        assert_eq!(call["end_reason"], "asterisk_restart", "{what}: {call:#}");
        assert!(
            !kinds(&call).contains(&"abandoned".to_owned()),
            "{what}: lost with Asterisk is not abandoned"
        );
        assert_eq!(
            line.contact_outcome(&call["contact_id"]).await,
            outcome,
            "{what}"
        );
    }
    // Neither counts in the queue's abandoned figure.
    assert_eq!(line.queue_stats().await["abandoned"], 0);
    assert!(line.ari.connections() > before, "the events socket is back");
    // No contact is left in the engine: nobody waits, and Alex is free for the next caller.
    line.waiting_until(0).await;
    assert_eq!(
        line.agent_state_until(&alex, "available").await,
        "available"
    );
    for _ in 0..50 {
        if line.app.state.voice.active_calls() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        line.app.state.voice.active_calls(),
        0,
        "a call task is left"
    );
    // The phones are pushed again, as at start.
    for _ in 0..100 {
        if line.ari.has_config("endpoint", &alex.phone) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for kind in ["auth", "aor", "endpoint"] {
        assert!(
            line.ari.has_config(kind, &alex.phone),
            "{kind} not pushed again"
        );
    }
    // The next caller reaches Alex as usual.
    let next = into_queue(&line).await;
    let ring = line
        .request("ring Alex for the next caller", |r| {
            originates_to(r, &alex.phone) && r.param("originator") == Some(next.as_str())
        })
        .await;
    assert!(ring.param("channelId").is_some());
}

/// Two Asterisk servers: calls come in on `pbx1`, Alex's phone is registered with `pbx2`.
/// `interconnect` is pbx1's way to reach pbx2's phones.
async fn two_servers(interconnect: Option<&str>) -> (Line, AriStandIn, Agent) {
    let pbx1 = AriStandIn::start().await;
    let pbx2 = AriStandIn::start().await;
    let servers = vec![
        AsteriskConfig {
            name: "pbx1".into(),
            interconnect: interconnect.map(str::to_owned),
            ..pbx1.config()
        },
        AsteriskConfig {
            name: "pbx2".into(),
            ..pbx2.config()
        },
    ];
    let line = line_on(json!({"offer_timeout_secs": 30}), pbx1, servers).await;
    let alex = line.alex().await;
    registered_only_on(&line, &pbx2, &alex, "1001").await;
    (line, pbx2, alex)
}

/// Moves `agent`'s phone (extension `number`) to `pbx2`: pbx1 has it (pushed to every server)
/// but unregistered. Each server is heard saying so before the next step.
async fn registered_only_on(line: &Line, pbx2: &AriStandIn, agent: &Agent, number: &str) {
    let endpoint = format!(
        "/api/v1/tenants/{}/extensions/{}",
        line.tid,
        line.extension_id(number).await
    );
    let registration_until = |state: &'static str| {
        let (op, endpoint) = (&line.op, &endpoint);
        async move {
            for _ in 0..100 {
                if op.get(endpoint).await.body["registration"]["state"] == state {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the phone never became {state}");
        }
    };
    line.ari.phone(&agent.phone, Behaviour::Unregistered);
    registration_until("offline").await;
    pbx2.phone(
        &agent.phone,
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    registration_until("online").await;
}

#[tokio::test]
async fn an_agent_whose_phone_is_on_another_asterisk_is_rung_through_the_interconnect() {
    let (line, pbx2, alex) = two_servers(Some("PJSIP/{endpoint}@{server}")).await;
    line.ari.phone(
        &format!("{}@pbx2", alex.phone),
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    let caller = into_queue(&line).await;
    // Rung from the caller's server, over the trunk to pbx2, so both legs share one bridge.
    let ring = line
        .request("ring Alex's phone through pbx2", |r| {
            originates_to(r, &format!("{}@pbx2", alex.phone))
        })
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with Alex", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    let call = line
        .call_until("connected", |c| c["state"] == "connected")
        .await;
    assert_eq!(call["agent_id"], alex.id);
    assert_eq!(call["asterisk"], "pbx1");
    assert!(
        !pbx2
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/ari/channels") && r.method == "POST"),
        "nothing is originated on pbx2"
    );
}

#[tokio::test]
async fn a_flow_transfer_to_a_desk_on_another_asterisk_goes_through_the_interconnect() {
    let (line, pbx2, _alex) = two_servers(Some("PJSIP/{endpoint}@{server}")).await;
    let answers = Behaviour::Answers {
        after: Duration::from_millis(100),
    };
    let desk = line.agent("1002", answers.clone()).await;
    registered_only_on(&line, &pbx2, &desk, "1002").await;
    line.ari.phone(&format!("{}@pbx2", desk.phone), answers);
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    let ring = line
        .request("ring the desk through pbx2", |r| {
            originates_to(r, &format!("{}@pbx2", desk.phone))
        })
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with the desk", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    line.call_until("put through to the desk", |c| {
        c["transferred_to"] == "extension 1002 (Agent 1002)"
    })
    .await;
}

#[tokio::test]
async fn without_an_interconnect_a_phone_on_another_asterisk_is_passed_over_with_the_reason() {
    let (line, _pbx2, alex) = two_servers(None).await;
    into_queue(&line).await;
    let call = line
        .call_until("offer failed", |c| {
            c["timeline"]
                .as_array()
                .is_some_and(|t| t.iter().any(|e| e["kind"] == "offer_failed"))
        })
        .await;
    let failed = timeline_entry(&call, "offer_failed");
    assert_eq!(failed["agent_id"], alex.id);
    assert_eq!(
        failed["why"],
        "the phone is registered with Asterisk `pbx2`, which this call's Asterisk `pbx1` has no interconnect to"
    );
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &alex.phone)),
        "pbx1 does not try a phone it cannot reach"
    );
}

#[tokio::test]
async fn a_number_no_tenant_routes_hears_why_and_is_hung_up() {
    let line = line(json!({})).await;
    let caller = line.ari.inbound_call("+19995550000", CALLER);
    let play = line
        .request("explain", |r| {
            r.path.starts_with(&format!("/ari/channels/{caller}/play"))
        })
        .await;
    assert_eq!(play.param("media"), Some("sound:ss-noservice"));
    let hangup = line
        .request("hang up", |r| {
            r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
        })
        .await;
    assert_eq!(hangup.param("reason"), Some("unallocated"));
    assert!(line.calls().await.is_empty());
}

#[tokio::test]
async fn a_number_belongs_to_one_tenant_and_within_its_limit() {
    let line = line(json!({})).await;
    let other = line.app.create_tenant(&line.op, "voice-two").await;
    let publish = |tid: i64, path: &'static str, text: String| {
        let op = line.op.clone();
        async move {
            op.post(
                &format!("/api/v1/tenants/{tid}/flows/publish"),
                json!({"path": path, "text": text}),
            )
            .await
        }
    };
    let q = line
        .op
        .post(
            &format!("/api/v1/tenants/{other}/queues"),
            json!({"name": "sales"}),
        )
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    let desk = line
        .op
        .post(
            &format!("/api/v1/tenants/{other}/extensions"),
            json!({"number": "1002", "display_name": "Front desk"}),
        )
        .await;
    assert_eq!(desk.status, StatusCode::CREATED, "{}", desk.body);
    let r = publish(other, "flows/main.yaml", FLOW.to_owned()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = publish(
        other,
        "routes.yaml",
        format!("version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["report"]["errors"][0]["code"], "IVR024");
    assert_eq!(
        r.body["report"]["errors"][0]["message"],
        format!("DID {DID} is routed by another tenant")
    );

    let r = line
        .op
        .patch(
            &format!("/api/v1/tenants/{other}"),
            json!({"limits": {"max_dids": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let two = "version: 1\nroutes:\n  - match: { did: \"+15550002000\" }\n    flow: main\n  - match: { did: \"+15550002001\" }\n    flow: main\n";
    let r = publish(other, "routes.yaml", two.to_owned()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["report"]["errors"][0]["message"],
        "2 numbers routed; the tenant may route 1 (limits.max_dids)"
    );
    let r = publish(
        other,
        "routes.yaml",
        "version: 1\nroutes:\n  - match: { did: \"+15550002000\" }\n    flow: main\n".to_owned(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Calls to it reach the second tenant.
    let caller = line.ari.inbound_call("+15550002000", CALLER);
    line.prompt(&caller, 1).await;
    let calls = line.op.get(&format!("/api/v1/tenants/{other}/calls")).await;
    assert_eq!(calls.body["items"][0]["did"], "+15550002000");
    assert!(line.calls().await.is_empty(), "not the first tenant's call");
}

#[tokio::test]
async fn a_callback_asked_for_in_the_menu_is_dialled_once_an_agent_takes_it() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    line.ari.phone(
        &format!("{CALLER}@trunk"),
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    asks_for_a_callback(&line).await;
    line.request("ring Alex for the callback", |r| {
        originates_to(r, &alex.phone) && r.param("callerId").is_some_and(|c| c.contains(CALLER))
    })
    .await;
    let customer = line
        .request("dial the customer back", |r| {
            originates_to(r, &format!("{CALLER}@trunk"))
        })
        .await;
    let leg = customer.param("channelId").unwrap().to_owned();
    line.request("bridge them", |r| {
        r.path.ends_with("/addChannel") && r.param("channel") == Some(leg.as_str())
    })
    .await;
    // The row says connected from the agent's answer; the customer's comes after the bridge.
    let call = line
        .call_until("the customer answered", |c| {
            c["state"] == "connected" && kinds(c).iter().any(|k| k == "callback_answered")
        })
        .await;
    assert_eq!(call["agent_id"], alex.id);
    let kinds = kinds(&call);
    for k in [
        "callback_registered",
        "waiting_for_callback",
        "callback_dialing",
        "callback_answered",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k} missing from {kinds:?}");
    }
    line.ari.caller_hangs_up(&leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
    assert_eq!(line.agent_state(&alex).await, "available");
}

#[tokio::test]
async fn a_customer_busy_at_the_first_callback_frees_the_agent_and_is_queued_again_for_later() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    let customer_phone = format!("{CALLER}@trunk");
    line.ari.phone(&customer_phone, Behaviour::Busy);
    asks_for_a_callback(&line).await;
    line.request("dial the customer a first time", |r| {
        originates_to(r, &customer_phone)
    })
    .await;
    let call = line
        .call_until("the busy customer queued again", |c| {
            // The state says "queued" from the first registration on, so only the
            // second registration tells that the retry is in place.
            kinds(c)
                .iter()
                .filter(|k| *k == "callback_registered")
                .count()
                == 2
                && c["state"] == "queued"
        })
        .await;
    let timeline = call["timeline"].as_array().unwrap();
    let failed = timeline
        .iter()
        .find(|e| e["kind"] == "callback_failed")
        .unwrap();
    assert_eq!(failed["detail"]["attempt"], 1, "{failed}");
    assert_eq!(failed["detail"]["of"], 2, "{failed}");
    assert_eq!(failed["detail"]["retry_in_secs"], 60, "{failed}");
    // Registered again, due a minute later (the flow's retry_delay), not offered before.
    let again = timeline
        .iter()
        .filter(|e| e["kind"] == "callback_registered")
        .nth(1)
        .unwrap_or_else(|| panic!("no second registration in {timeline:?}"));
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(again["detail"]["not_before"].clone()).unwrap();
    let wait = due - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(50) && wait <= chrono::Duration::seconds(60),
        "{again}"
    );
    assert_ne!(call["end_reason"], "callback_failed");
    // Alex's phone was let go and Alex is free for other calls meanwhile.
    assert_eq!(line.agent_state(&alex).await, "available");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dialled = line
        .ari
        .requests()
        .iter()
        .filter(|r| originates_to(r, &customer_phone))
        .count();
    assert_eq!(
        dialled, 1,
        "the customer is not dialled again before the delay"
    );
}

#[tokio::test]
async fn a_callback_being_dialled_when_asterisk_restarts_is_tried_again_without_using_an_attempt() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    let customer_phone = format!("{CALLER}@trunk");
    line.ari.phone(&customer_phone, Behaviour::NoAnswer);
    asks_for_a_callback(&line).await;
    line.request("dial the customer", |r| originates_to(r, &customer_phone))
        .await;
    // Asterisk restarts while the customer's phone rings: Alex's leg and the customer's go.
    line.ari.restart();
    let call = line
        .call_until("the callback registered again", |c| {
            kinds(c)
                .iter()
                .filter(|k| *k == "callback_registered")
                .count()
                == 2
        })
        .await;
    let failed = timeline_entry(&call, "callback_failed");
    assert_eq!(failed["why"], "Asterisk restarted", "{failed}");
    assert_eq!(failed["attempt"], 0, "not an attempt: {failed}");
    assert_eq!(failed["of"], 2, "{failed}");
    assert_eq!(
        call["end_reason"],
        Value::Null,
        "the callback goes on: {call:#}"
    );
    assert_ne!(call["state"], "ended");
    assert_eq!(
        line.agent_state_until(&alex, "available").await,
        "available"
    );
}

#[tokio::test]
async fn calls_in_progress_survive_a_restart_of_the_service() {
    let mut line = line(json!({"offer_timeout_secs": 30})).await;
    let alex = line.alex().await;
    // One caller talks to Alex, a second waits in the queue.
    let talking = into_queue(&line).await;
    line.call_until("connected", |c| c["state"] == "connected")
        .await;
    let alex_leg = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    let waiting = line.ari.inbound_call(DID, "+14155557777");
    line.prompt(&waiting, 1).await;
    line.ari.press(&waiting, '1');
    line.waiting_until(1).await;
    // A third caller hangs up while the service is down.
    let leaving = line.ari.inbound_call(DID, "+14155558888");
    line.prompt(&leaving, 1).await;
    line.ari.press(&leaving, '1');
    line.waiting_until(2).await;

    let before = line.ari.requests().len();
    line.app.restart().await;
    // The restarted service listens on a new port; the sessions are still valid.
    line.op.base = line.app.base.clone();
    line.ari.caller_hangs_up(&leaving);

    // The waiting caller hears an apology and is back in a lobby, in its place.
    line.request("put the waiting caller in a new lobby", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel") == Some(waiting.as_str())
            && line.ari.requests().len() > before
    })
    .await;
    line.request("apologise to the waiting caller", |r| {
        r.path.starts_with(&format!("/ari/channels/{waiting}/play"))
    })
    .await;
    let live = line.waiting_until(1).await;
    assert_eq!(live["waiting"][0]["position"], 1, "{live}");

    // The call in progress is still Alex's: when Alex hangs up, the caller is hung up and
    // Alex is offered the waiting caller.
    line.ari.agent_hangs_up(&alex_leg);
    line.request("hang up the first caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{talking}")
    })
    .await;
    line.request("ring Alex for the waiting caller", |r| {
        originates_to(r, &alex.phone) && r.param("originator") == Some(waiting.as_str())
    })
    .await;
    let calls = line.calls().await;
    let lost = calls
        .iter()
        .find(|c| c["caller"] == "+14155558888")
        .unwrap();
    assert_eq!(lost["state"], "ended");
    assert_eq!(lost["end_reason"], "lost_during_restart");
    let first = calls.iter().find(|c| c["caller"] == CALLER).unwrap();
    assert_eq!(first["end_reason"], "agent_hangup");
}

#[tokio::test]
async fn an_agent_places_a_call_from_the_inbox_their_phone_first_then_the_customer() {
    let line = line(json!({})).await;
    let alex = line.alex().await;
    let customer = "+14155550123";
    line.customer_answers(customer);
    let path = format!("/api/v1/tenants/{}/calls", line.tid);
    let bad = alex.client.post(&path, json!({"to": "12345"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let r = alex.client.post(&path, json!({"to": customer})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["direction"], "outbound");
    assert_eq!(r.body["caller"], customer);
    // The customer sees the tenant's number.
    assert_eq!(r.body["did"], DID);
    let id = r.body["id"].as_i64().unwrap();

    let ring = line
        .request("ring Alex's phone first", |r| originates_to(r, &alex.phone))
        .await;
    assert_eq!(
        ring.param("callerId"),
        Some(format!("\"Call to\" <{customer}>").as_str())
    );
    let dial = line
        .request("then dial the customer", |r| {
            originates_to(r, &format!("{customer}@trunk"))
        })
        .await;
    assert_eq!(dial.param("callerId"), Some(DID));
    let leg = dial.param("channelId").unwrap().to_owned();
    line.request("bridge them", |r| {
        r.path.ends_with("/addChannel") && r.param("channel") == Some(leg.as_str())
    })
    .await;
    let own = |c: &Value| c["id"] == id;
    let call = alex.client.get(&format!("{path}/{id}")).await.body;
    assert!(own(&call), "{call}");
    // The call holds Alex's voice capacity: busy for routing, no second call placed.
    assert_eq!(line.agent_state(&alex).await, "busy");
    let again = alex.client.post(&path, json!({"to": customer})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.message().contains("already on a call"),
        "{}",
        again.body
    );
    line.ari.caller_hangs_up(&leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
    let mut state = line.agent_state(&alex).await;
    for _ in 0..50 {
        if state != "busy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = line.agent_state(&alex).await;
    }
    assert!(state == "available" || state == "wrapup", "{state}");
    let kinds = kinds(&call);
    for k in [
        "dialing_agent",
        "callback_dialing",
        "callback_answered",
        "ended",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k} missing from {kinds:?}");
    }

    // Without a phone, the agent is told so.
    let (_, nophone) = line.app.member(&line.op, line.tid, "agent").await;
    let r = nophone.post(&path, json!({"to": customer})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.message().contains("no phone"), "{}", r.body);
}

#[tokio::test]
async fn a_prompt_with_personal_data_is_never_cached_and_is_gone_after_the_call() {
    let line = line(json!({})).await;
    line.ari.set_playback_duration(Duration::from_millis(400));
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '6');
    line.prompt(&caller, 2).await;
    for d in ['4', '7', '1', '9'] {
        line.ari.press(&caller, d);
    }
    let read_back = line.prompt(&caller, 3).await;
    let media = read_back.param("media").unwrap().to_owned();
    let url = media.trim_start_matches("sound:").to_owned();
    assert!(
        url.starts_with(&format!("{}/media/scratch/", line.app.base)) && url.ends_with(".sln16"),
        "{media}"
    );
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["cache-control"], "no-store");
    assert!(got.bytes().await.unwrap().len() > 8000, "a real prompt");
    // Nothing in the shared cache says the number.
    let cache = line.app.state.config.tts_cache_dir();
    for entry in walk(&cache) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains("4 7 1 9") && !text.contains("4719"),
            "{}",
            entry.display()
        );
    }
    line.call_until("ended", |c| c["state"] == "ended").await;
    let gone = reqwest::get(&url).await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    let entered = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["detail"]["node"] == "account")
        .unwrap();
    assert_eq!(entered["detail"]["digits"], "****");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn agents_call_each_other_and_outside_numbers_from_their_phones() {
    let line = line(json!({})).await;
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let bo = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let from = line.ari.agent_dials(&alex.phone, "1002");
    let ring = line
        .request("ring Bo's phone", |r| originates_to(r, &bo.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(from.as_str()));
    assert_eq!(ring.param("callerId"), Some("\"Agent 1001\" <1001>"));
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("answer Alex's call once Bo picks up", |r| {
        r.path == format!("/ari/channels/{from}/answer")
    })
    .await;
    line.request("bridge Alex and Bo", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&from))
    })
    .await;
    line.ari.agent_hangs_up(&leg);
    line.request("hang up Alex's phone", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{from}")
    })
    .await;
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["direction"], "internal");
    assert_eq!(call["caller"], "1001");
    assert_eq!(call["did"], "1002");

    // An outside number goes out through the trunk with the tenant's number.
    let customer = "+14155550123";
    line.ari
        .phone(&format!("{customer}@trunk"), Behaviour::Busy);
    let from = line.ari.agent_dials(&alex.phone, customer);
    let out = line
        .request("dial out through the trunk", |r| {
            originates_to(r, &format!("{customer}@trunk"))
        })
        .await;
    assert_eq!(out.param("callerId"), Some(DID));
    let busy = line
        .request("tell Alex the line is busy", |r| {
            r.method == "DELETE" && r.path == format!("/ari/channels/{from}")
        })
        .await;
    assert_eq!(busy.param("reason"), Some("busy"));

    // A number that is nobody's is refused.
    let from = line.ari.agent_dials(&alex.phone, "1999");
    let refused = line
        .request("refuse an unknown number", |r| {
            r.method == "DELETE" && r.path == format!("/ari/channels/{from}")
        })
        .await;
    assert_eq!(refused.param("reason"), Some("unallocated"));
}

#[tokio::test]
async fn a_colleague_who_is_busy_or_does_not_disturb_takes_a_message_in_their_mailbox() {
    let line = line(json!({})).await;
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let bo = line.agent("1002", Behaviour::Busy).await;
    let bo_extension = format!(
        "/api/v1/tenants/{}/extensions/{}",
        line.tid,
        line.extension_id("1002").await
    );
    let r = line
        .op
        .patch(&bo_extension, json!({"voicemail_box": "1002"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A box is one phone's: Alex's cannot be Bo's too.
    let alex_extension = format!(
        "/api/v1/tenants/{}/extensions/{}",
        line.tid,
        line.extension_id("1001").await
    );
    let r = line
        .op
        .patch(&alex_extension, json!({"voicemail_box": "1002"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("extension 1002"),
        "{}",
        r.body
    );

    // Bo's phone is busy: Alex hears that Bo is on the phone, a beep, and leaves a message.
    let from = line.ari.agent_dials(&alex.phone, "1002");
    line.request("ring Bo's phone", |r| originates_to(r, &bo.phone))
        .await;
    line.request("stop the ringback Alex hears", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{from}/ring")
    })
    .await;
    line.request("answer Alex for the message", |r| {
        r.path == format!("/ari/channels/{from}/answer")
    })
    .await;
    let greeting = line.prompt(&from, 1).await;
    assert_eq!(media_of(&greeting), ["sound:vm-isonphone"]);
    let (record, call) = line.leaves_a_message(&from).await;
    assert_eq!(record.param("beep"), Some("true"));
    assert_eq!(call["direction"], "internal");
    assert_eq!(call["end_reason"], "voicemail");
    assert_eq!(call["recordings"][0]["kind"], "voicemail");
    assert_eq!(call["recordings"][0]["mailbox"], "1002");

    // The message is Bo's: Bo hears it, Alex (who left it) and the rest of the team do not;
    // supervisors hear every box.
    let voicemails = format!("/api/v1/tenants/{}/voicemails", line.tid);
    let mine = bo.client.get(&voicemails).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body[0]["call_id"], call["id"], "{}", mine.body);
    assert_eq!(mine.body[0]["owner_user_id"], bo.id, "{}", mine.body);
    let audio_url = mine.body[0]["audio_url"].as_str().unwrap().to_owned();
    assert_eq!(bo.client.get(&audio_url).await.status, StatusCode::OK);
    let theirs = alex.client.get(&voicemails).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert_eq!(theirs.body, json!([]));
    assert_eq!(
        alex.client.get(&audio_url).await.status,
        StatusCode::NOT_FOUND
    );
    let all = line.op.get(&voicemails).await;
    assert_eq!(all.body[0]["call_id"], call["id"], "{}", all.body);

    // Bo does not disturb: no ringing at all, straight to the mailbox with "not available".
    let r = line.op.patch(&bo_extension, json!({"dnd": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rings = line
        .ari
        .requests()
        .iter()
        .filter(|r| originates_to(r, &bo.phone))
        .count();
    let from = line.ari.agent_dials(&alex.phone, "1002");
    let greeting = line.prompt(&from, 1).await;
    assert_eq!(media_of(&greeting), ["sound:vm-nobodyavail"]);
    line.request("record the second message", |r| {
        r.path == format!("/ari/channels/{from}/record")
    })
    .await;
    // Hanging up ends a message as well as `#` does.
    line.ari.caller_hangs_up(&from);
    let call = line
        .call_until("the second call ended", |c| {
            c["state"] == "ended"
                && c["recordings"][0]["mailbox"] == "1002"
                && c["id"] != call["id"]
        })
        .await;
    assert_eq!(call["end_reason"], "voicemail");
    assert!(
        kinds(&call).contains(&"do_not_disturb".to_owned()),
        "{:?}",
        kinds(&call)
    );
    assert_eq!(
        line.ari
            .requests()
            .iter()
            .filter(|r| originates_to(r, &bo.phone))
            .count(),
        rings,
        "Bo's phone rang"
    );
}

#[tokio::test]
async fn the_extensions_page_shows_whether_each_phone_is_registered() {
    let line = line(json!({})).await;
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let path = format!("/api/v1/tenants/{}/extensions", line.tid);
    let registration = || async {
        line.op.get(&path).await.body["items"][0]["registration"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for _ in 0..100 {
        if registration().await == "online" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(registration().await, "online");
    line.ari.phone(&alex.phone, Behaviour::Unregistered);
    for _ in 0..100 {
        if registration().await == "offline" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(registration().await, "offline");
    line.request("subscribe to phone registrations", |r| {
        r.path == "/ari/applications/switchboard/subscription"
            && r.param("eventSource") == Some("endpoint:PJSIP")
    })
    .await;
}

#[tokio::test]
async fn the_extensions_page_shows_each_phones_calls_and_device_state_as_asterisk_reports_them() {
    let line = line(json!({})).await;
    let alex = line.agent("1001", Behaviour::NoAnswer).await;
    line.request("follow the phone's device state", |r| {
        r.path == "/ari/applications/switchboard/subscription"
            && r.param("eventSource") == Some("deviceState:PJSIP/voice-1001")
    })
    .await;
    let path = format!("/api/v1/tenants/{}/extensions", line.tid);
    let phone = || async {
        let body = line.op.get(&path).await.body;
        let x = &body["items"][0];
        (
            x["device_state"].as_str().unwrap_or("null").to_owned(),
            x["active_calls"].as_i64().unwrap_or(-1),
        )
    };
    let until = |state: &'static str, calls: i64| {
        let phone = &phone;
        async move {
            let mut now = phone().await;
            for _ in 0..100 {
                if now == (state.to_owned(), calls) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                now = phone().await;
            }
            panic!("the phone never showed {state} with {calls} calls: {now:?}");
        }
    };
    until("idle", 0).await;
    line.available(&alex).await;
    let caller = into_queue(&line).await;
    let ring = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    until("ringing", 1).await;
    line.ari.agent_answers(&leg);
    until("in_use", 1).await;
    // The count is Asterisk's: the channels on the endpoint, read while a phone is busy.
    line.request("count the phone's channels", |r| {
        r.method == "GET" && r.path == "/ari/endpoints/PJSIP"
    })
    .await;
    line.ari.caller_hangs_up(&caller);
    until("idle", 0).await;
    // Each state came from Asterisk's device state events, not only from our own legs.
    let states: Vec<String> = line
        .ari
        .emitted()
        .iter()
        .filter(|e| {
            e["type"] == "DeviceStateChanged" && e["device_state"]["name"] == "PJSIP/voice-1001"
        })
        .map(|e| {
            e["device_state"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        states.ends_with(&["RINGING".into(), "INUSE".into(), "NOT_INUSE".into()]),
        "{states:?}"
    );
}

#[tokio::test]
async fn every_member_reads_the_phone_directory_without_anything_secret() {
    let line = line(json!({})).await;
    let alex = line
        .agent(
            "1001",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    line.agent_named(
        "1002",
        "Front Desk",
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    )
    .await;
    let extensions = format!("/api/v1/tenants/{}/extensions", line.tid);
    for (number, extra) in [
        ("1003", json!({"dnd": true})),
        ("1004", json!({"enabled": false})),
    ] {
        let mut body = json!({"number": number, "display_name": format!("Phone {number}")});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = line.op.post(&extensions, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // Agents may not list extensions (they hold SIP settings) but read the directory.
    assert_eq!(
        alex.client.get(&extensions).await.status,
        StatusCode::FORBIDDEN
    );
    let path = format!("/api/v1/tenants/{}/phone-directory", line.tid);
    let mut body = Value::Null;
    for _ in 0..100 {
        let r = alex.client.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        body = r.body;
        if body["items"][1]["available"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = body["items"].as_array().unwrap();
    let numbers: Vec<&str> = items
        .iter()
        .map(|x| x["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["1001", "1002", "1003"],
        "enabled extensions only: {body}"
    );
    for x in items {
        let mut keys: Vec<&str> = x.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "agent_name",
                "available",
                "display_name",
                "mine",
                "number",
                "status"
            ],
            "nothing about SIP, passwords or forwarding: {x}"
        );
    }
    let desk = &items[1];
    assert_eq!(desk["display_name"], "Front Desk");
    assert_eq!(desk["agent_name"], "Test agent");
    assert_eq!(
        (&desk["available"], &desk["status"], &desk["mine"]),
        (&json!(true), &json!("available"), &json!(false))
    );
    assert_eq!(items[0]["mine"], true, "Alex's own phone");
    assert_eq!(
        (&items[2]["available"], &items[2]["status"]),
        (&json!(false), &json!("dnd"))
    );
    assert_eq!(items[2]["agent_name"], Value::Null);
    // Another tenant's members see nothing of it.
    let other = line.app.create_tenant(&line.op, "elsewhere").await;
    let (_, stranger) = line.app.member(&line.op, other, "agent").await;
    assert_eq!(stranger.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_agent_hands_a_caller_on_to_a_queue_and_to_an_extension() {
    let line = line(json!({"wrapup_secs": 30, "strategy": "linear"})).await;
    let alex = line.alex().await;
    let caller = into_queue(&line).await;
    let call = line
        .call_until("connected to Alex", |c| c["state"] == "connected")
        .await;
    let id = call["id"].as_i64().unwrap();
    let transfer = format!("/api/v1/tenants/{}/calls/{id}/transfer", line.tid);
    // Bo joins the queue now; Alex sends the caller back to it.
    let bo = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    line.available(&bo).await;
    let (_, other) = line.app.member(&line.op, line.tid, "agent").await;
    let r = other.post(&transfer, json!({"queue": "sales"})).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "not the other agent's call"
    );
    let r = alex.client.post(&transfer, json!({"queue": "nope"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "no queue nope");
    let r = alex.client.post(&transfer, json!({"queue": "sales"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("ring Bo for the transferred caller", |r| {
        originates_to(r, &bo.phone) && r.param("originator") == Some(caller.as_str())
    })
    .await;
    let call = line
        .call_until("connected to Bo", |c| {
            c["agent_id"] == bo.id && c["state"] == "connected"
        })
        .await;
    assert!(kinds(&call).contains(&"transferred_by_agent".to_owned()));
    assert_eq!(line.agent_state(&alex).await, "wrapup");

    // Bo hands the caller to the front desk's extension.
    let desk = line
        .agent(
            "1003",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let r = bo
        .client
        .post(&transfer, json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let ring = line
        .request("ring the desk", |r| {
            originates_to(r, &desk.phone) && r.param("originator") == Some(caller.as_str())
        })
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with the desk", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    // The call log says whom the caller is with now, beside the agent who answered.
    let call = line
        .call_until("put through to the desk", |c| {
            c["transferred_to"] == "extension 1003 (Agent 1003)"
        })
        .await;
    assert_eq!(call["agent_id"], bo.id);
    assert_eq!(call["state"], "connected");
    line.ari.agent_hangs_up(&leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "transfer_hangup");
    assert_eq!(call["transferred_to"], "extension 1003 (Agent 1003)");
    let r = bo.client.post(&transfer, json!({"queue": "sales"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

/// Into the staff directory from the menu, up to its intro.
async fn into_directory(line: &Line) -> String {
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '7');
    line.request("ask the caller to spell a name", |r| {
        plays(r, &caller, "sound:dir-intro")
    })
    .await;
    caller
}

#[tokio::test]
async fn a_caller_spells_a_last_name_hears_it_presses_1_and_is_put_through_to_that_agent() {
    let line = line(json!({})).await;
    let answers = Behaviour::Answers {
        after: Duration::from_millis(100),
    };
    let alex = line
        .agent_named("1001", "Alex Smith", answers.clone())
        .await;
    let bo = line.agent_named("1002", "Bo Jones", answers).await;
    let caller = into_directory(&line).await;

    // S-M-I: only Alex Smith; the name is said, then how to choose it.
    for key in ['7', '6', '4'] {
        line.ari.press(&caller, key);
    }
    let offer = line
        .request("offer Alex Smith", |r| plays(r, &caller, "sound:dir-instr"))
        .await;
    let media = media_of(&offer);
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(
        media[0].starts_with(&format!("sound:{}/media/tts/", line.app.base)),
        "the name, spoken: {media:?}"
    );
    let name = reqwest::get(media[0].trim_start_matches("sound:"))
        .await
        .unwrap();
    assert_eq!(name.status(), StatusCode::OK);
    line.ari.press(&caller, '1');

    let ring = line
        .request("ring Alex's extension", |r| originates_to(r, &alex.phone))
        .await;
    assert_eq!(ring.param("originator"), Some(caller.as_str()));
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with Alex", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    let call = line
        .call_until("connected to Alex", |c| c["state"] == "connected")
        .await;
    assert_eq!(
        timeline_entry(&call, "directory_search"),
        json!({"digits": 3, "matches": 1})
    );
    assert_eq!(
        timeline_entry(&call, "directory_result"),
        json!({"outcome": "selected", "extension": "1001"})
    );
    let staff = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ivr_node" && e["detail"]["node"] == "staff")
        .unwrap();
    assert_eq!(staff["detail"]["exit"], "selected");
    assert_eq!(staff["detail"]["detail"], "1001");
    let kinds = kinds(&call);
    for k in [
        "directory_search",
        "directory_result",
        "transferring",
        "transferred",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k} missing from {kinds:?}");
    }
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &bo.phone)),
        "Bo's phone never rang"
    );

    line.ari.agent_hangs_up(&leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "transfer_hangup");
}

#[tokio::test]
async fn letters_that_match_nobody_are_regretted_and_the_flow_takes_its_not_found_branch() {
    let line = line(json!({})).await;
    line.agent_named(
        "1001",
        "Alex Smith",
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    )
    .await;
    let caller = into_directory(&line).await;

    for key in ['9', '9', '9'] {
        line.ari.press(&caller, key);
    }
    line.request("say nobody matches", |r| {
        plays(r, &caller, "sound:dir-nomatch")
    })
    .await;
    // The flow's on_not_found says sorry and hangs up.
    line.request("hang up the caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{caller}")
    })
    .await;
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "flow_hangup");
    assert_eq!(
        timeline_entry(&call, "directory_search"),
        json!({"digits": 3, "matches": 0})
    );
    assert_eq!(
        timeline_entry(&call, "directory_result"),
        json!({"outcome": "not_found", "extension": null})
    );
    let exits: Vec<(String, String)> = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ivr_node")
        .map(|e| {
            (
                e["detail"]["node"].as_str().unwrap().to_owned(),
                e["detail"]["exit"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        exits.contains(&("staff".into(), "on_not_found".into())),
        "{exits:?}"
    );
    assert!(exits.iter().any(|(node, _)| node == "nobody"), "{exits:?}");
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| plays(r, &caller, "sound:dir-instr")),
        "no name was offered"
    );
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| r.param("endpoint").is_some()),
        "nobody was rung"
    );
}

#[tokio::test]
async fn zero_in_the_directory_reaches_the_operator() {
    let line = line(json!({})).await;
    let desk = line
        .agent_named(
            "1002",
            "Front Desk",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let caller = into_directory(&line).await;
    line.ari.press(&caller, '0');
    // The flow's on_operator is the front desk.
    line.request("ring the front desk", |r| originates_to(r, &desk.phone))
        .await;
    let call = line
        .call_until("connected to the desk", |c| c["state"] == "connected")
        .await;
    assert_eq!(
        timeline_entry(&call, "directory_result"),
        json!({"outcome": "operator", "extension": null})
    );
    assert!(!kinds(&call).contains(&"directory_search".to_owned()));
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_spelling_ends_the_call_cleanly() {
    let line = line(json!({})).await;
    let caller = into_directory(&line).await;
    line.ari.press(&caller, '7');
    line.ari.press(&caller, '6');
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
    let kinds = kinds(&call);
    assert!(!kinds.contains(&"directory_result".to_owned()), "{kinds:?}");
    let staff = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ivr_node" && e["detail"]["node"] == "staff")
        .unwrap_or_else(|| panic!("the directory node is on the timeline: {kinds:?}"));
    assert_eq!(staff["detail"]["exit"], "caller_hangup");
}

#[tokio::test]
async fn a_caller_still_in_the_directory_at_the_flows_time_limit_is_taken_out_of_it() {
    let line = line(json!({})).await;
    let did = "+15550002000";
    let quick = r#"version: 1
id: quick
name: Directory first
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  on_error: too_long
limits: { max_ivr_time: "2s" }
start: staff
nodes:
  staff:
    type: directory
    directory: staff
    on_not_found: too_long
  too_long:
    type: hangup
    prompt: "Please call again."
"#;
    let routes = format!(
        "version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n  - match: {{ did: \"{did}\" }}\n    flow: quick\n"
    );
    for (path, text) in [
        ("flows/quick.yaml", quick.to_owned()),
        ("routes.yaml", routes),
    ] {
        let r = line
            .op
            .post(
                &format!("/api/v1/tenants/{}/flows/publish", line.tid),
                json!({"path": path, "text": text}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "publishing {path}: {}", r.body);
    }
    let caller = line.ari.inbound_call(did, CALLER);
    line.request("ask the caller to spell a name", |r| {
        plays(r, &caller, "sound:dir-intro")
    })
    .await;
    line.ari.press(&caller, '7');

    // Two seconds in, the flow's limit sends the caller to its on_error, which says goodbye.
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "flow_hangup");
    assert_eq!(
        timeline_entry(&call, "directory_result"),
        json!({"outcome": "interrupted", "extension": null})
    );
    let staff = timeline_entry(&call, "ivr_node");
    assert_eq!(staff["node"], "staff");
    assert_eq!(staff["exit"], "max_ivr_time");
    assert!(!kinds(&call).contains(&"directory_search".to_owned()));
}

/// A connected call with Alex (wrap-up 30 s), and Alex's leg.
async fn connected_to_alex(line: &Line) -> (Agent, String, String, i64) {
    let alex = line.alex().await;
    let caller = into_queue(line).await;
    let ring = line
        .request("ring Alex", |r| originates_to(r, &alex.phone))
        .await;
    let alex_leg = ring.param("channelId").unwrap().to_owned();
    let call = line
        .call_until("connected to Alex", |c| c["state"] == "connected")
        .await;
    (alex, caller, alex_leg, call["id"].as_i64().unwrap())
}

/// Alex `action`s (`consult` or `transfer`) the call `id` to extension 1003, a desk phone
/// behaving as `behaviour`: returns the desk and the leg ringing it.
async fn alex_rings_the_desk(
    line: &Line,
    alex: &Agent,
    id: i64,
    action: &str,
    behaviour: Behaviour,
) -> (Agent, String) {
    let desk = line.agent("1003", behaviour).await;
    let desk_leg = alex_rings(line, alex, id, action, &desk).await;
    (desk, desk_leg)
}

/// Extension 1003, a desk phone behaving as `behaviour`, whose agent (in the queue) is
/// signed in to routing.
async fn signed_in_desk(line: &Line, behaviour: Behaviour) -> Agent {
    let desk = line.agent("1003", behaviour).await;
    line.available(&desk).await;
    desk
}

/// Alex `action`s (`consult` or `transfer`) the call `id` to `desk` (extension 1003): returns
/// the leg ringing it.
async fn alex_rings(line: &Line, alex: &Agent, id: i64, action: &str, desk: &Agent) -> String {
    let r = alex
        .client
        .post(
            &format!("/api/v1/tenants/{}/calls/{id}/{action}", line.tid),
            json!({"extension": "1003"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("ring the desk", |r| originates_to(r, &desk.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned()
}

/// Alex consults extension 1003, whose agent is signed in to routing and answers: returns the
/// desk and its leg once its agent is held.
async fn alex_consults_a_signed_in_desk(line: &Line, alex: &Agent, id: i64) -> (Agent, String) {
    let answers = Behaviour::Answers {
        after: Duration::from_millis(100),
    };
    let desk = signed_in_desk(line, answers).await;
    let desk_leg = alex_rings(line, alex, id, "consult", &desk).await;
    line.call_until("the desk's agent held", |c| {
        kinds(c).contains(&"colleague_held".to_owned())
    })
    .await;
    (desk, desk_leg)
}

/// Alex consults extension 1003, which answers: returns the desk's leg, in the call bridge.
async fn alex_consults_the_desk(line: &Line, alex: &Agent, id: i64) -> String {
    let answers = Behaviour::Answers {
        after: Duration::from_millis(100),
    };
    let (_, desk_leg) = alex_rings_the_desk(line, alex, id, "consult", answers).await;
    line.call_until("the desk answered", |c| {
        kinds(c).contains(&"consult_answered".to_owned())
    })
    .await;
    desk_leg
}

/// A call Switchboard places for Alex (from the inbox, or a callback): Alex's phone rings
/// first, then `customer` is dialled and the two are bridged. Returns both legs.
async fn alex_then_the_customer(line: &Line, alex: &Agent, customer: &str) -> (String, String) {
    let alex_leg = line
        .request("ring Alex's phone first", |r| originates_to(r, &alex.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    let customer_leg = line
        .request("then dial the customer", |r| {
            originates_to(r, &format!("{customer}@trunk"))
        })
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    bridged_until(line, &customer_leg, vec![&alex_leg, &customer_leg]).await;
    (alex_leg, customer_leg)
}

/// `channel` hears ringback while the desk's phone (`desk_leg`) rings, and Switchboard
/// restarts: the desk's phone is hung up and the ringback (a tone, which plays until stopped)
/// is stopped. Returns the ringback's id and how many events the stand-in had sent before.
async fn restart_while_the_desk_rings(
    line: &mut Line,
    channel: &str,
    desk_leg: &str,
) -> (String, usize) {
    let ringback = format!("{channel}-ringback");
    line.request("ringback while the desk rings", |r| {
        r.path == format!("/ari/channels/{channel}/play/{ringback}")
    })
    .await;
    let seen = line.ari.emitted().len();
    line.app.restart().await;
    line.op.base = line.app.base.clone();
    line.request("stop the old ringback", |r| {
        r.method == "DELETE" && r.path == format!("/ari/playbacks/{ringback}")
    })
    .await;
    line.request("hang up the desk's ringing phone", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    (ringback, seen)
}

/// Switchboard asked Asterisk to hang up none of `channels`.
fn assert_not_hung_up(line: &Line, channels: &[&str]) {
    for channel in channels {
        assert!(
            !line
                .ari
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path == format!("/ari/channels/{channel}")),
            "{channel} was hung up"
        );
    }
}

/// The channels in the bridge `leg` is in.
fn bridge_of(line: &Line, leg: &str) -> Vec<String> {
    line.ari
        .bridges()
        .iter()
        .find(|b| {
            b["channels"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == leg))
        })
        .map(|b| {
            let mut list: Vec<String> = b["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            list.sort();
            list
        })
        .unwrap_or_default()
}

/// Polls the stand-in until the bridge of `leg` holds exactly `expected`.
async fn bridged_until(line: &Line, leg: &str, expected: Vec<&str>) {
    let expected = sorted(expected);
    for _ in 0..100 {
        if bridge_of(line, leg) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{leg} never bridged with {expected:?}: {:?}",
        line.ari.bridges()
    );
}

fn sorted(mut list: Vec<&str>) -> Vec<String> {
    list.sort();
    list.into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn an_agent_consults_a_colleague_while_the_caller_holds_then_hands_the_caller_over() {
    let line = line(json!({"wrapup_secs": 30})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let desk = line
        .agent(
            "1003",
            Behaviour::Answers {
                after: Duration::from_millis(300),
            },
        )
        .await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);

    let r = alex
        .client
        .post(&format!("{calls}/consult/complete"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "there is no consultation on this call");
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"queue": "sales"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1001"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "that is your own phone");
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

    // The caller hears music on hold, out of the bridge; the desk rings from Alex's phone, which
    // hears ringback meanwhile.
    line.request("take the caller out of the bridge", |r| {
        r.path.ends_with("/removeChannel") && r.param("channel") == Some(caller.as_str())
    })
    .await;
    let ring = line
        .request("ring the desk", |r| {
            originates_to(r, &desk.phone) && r.param("originator") == Some(alex_leg.as_str())
        })
        .await;
    // Asked for before the desk was rung.
    assert_eq!(line.ari.moh(&caller).as_deref(), Some("default"));
    assert_eq!(ring.param("callerId"), Some("\"Agent 1001\" <1001>"));
    let desk_leg = ring.param("channelId").unwrap().to_owned();
    line.request("ringback for Alex", |r| plays(r, &alex_leg, "tone:ring"))
        .await;
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "complete or cancel the consultation first");
    let r = alex
        .client
        .post(&format!("{calls}/transfer"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // The desk answers: Alex and the desk talk, the caller still holds.
    line.call_until("the desk answered", |c| {
        kinds(c).contains(&"consult_answered".to_owned())
    })
    .await;
    assert_eq!(
        bridge_of(&line, &alex_leg),
        sorted(vec![&alex_leg, &desk_leg])
    );
    assert_eq!(line.ari.moh(&caller).as_deref(), Some("default"));
    assert_eq!(line.agent_state(&alex).await, "busy");

    // Alex completes: the caller is with the desk, Alex's phone hangs up, wrap-up starts.
    let r = alex
        .client
        .post(&format!("{calls}/consult/complete"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("hang up Alex", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{alex_leg}")
    })
    .await;
    let call = line
        .call_until("with the desk", |c| {
            kinds(c).contains(&"transferred".to_owned()) && c["state"] == "connected"
        })
        .await;
    assert_eq!(bridge_of(&line, &caller), sorted(vec![&caller, &desk_leg]));
    assert_eq!(line.ari.moh(&caller), None, "no music once put through");
    let by = timeline_entry(&call, "transferred_by_agent");
    assert_eq!(by["attended"], true, "{by}");
    assert_eq!(by["agent_id"], alex.id, "{by}");
    assert_eq!(call["transferred_to"], "extension 1003 (Agent 1003)");
    assert_eq!(
        call["agent_id"], alex.id,
        "the agent who answered stays on record"
    );
    assert_eq!(line.agent_state(&alex).await, "wrapup");
    line.ari.agent_hangs_up(&desk_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "transfer_hangup");
}

#[tokio::test]
async fn a_busy_colleague_or_a_cancelled_consultation_brings_the_caller_back_to_the_agent() {
    let line = line(json!({})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);
    let busy = line.agent("1003", Behaviour::Busy).await;
    let desk = line
        .agent(
            "1004",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let back_with_alex = || bridge_of(&line, &alex_leg) == sorted(vec![&alex_leg, &caller]);

    // Hold and resume on their own.
    let r = alex.client.post(&format!("{calls}/hold"), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("music for the caller", |r| {
        r.method == "POST" && r.path == format!("/ari/channels/{caller}/moh")
    })
    .await;
    assert_eq!(bridge_of(&line, &alex_leg), vec![alex_leg.clone()]);
    let r = alex
        .client
        .post(&format!("{calls}/resume"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert!(back_with_alex(), "{:?}", line.ari.bridges());
    assert_eq!(line.ari.moh(&caller), None);

    // A busy colleague: the caller is back with Alex at once.
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let call = line
        .call_until("the consultation failed", |c| {
            kinds(c).contains(&"consult_failed".to_owned())
        })
        .await;
    assert_eq!(timeline_entry(&call, "consult_failed")["why"], "busy");
    line.request("ring the busy phone", |r| originates_to(r, &busy.phone))
        .await;
    bridged_until(&line, &alex_leg, vec![&alex_leg, &caller]).await;
    assert_eq!(line.ari.moh(&caller), None);

    // Another colleague answers, Alex thinks better of it and cancels.
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1004"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let ring = line
        .request("ring the desk", |r| originates_to(r, &desk.phone))
        .await;
    let desk_leg = ring.param("channelId").unwrap().to_owned();
    line.call_until("the desk answered", |c| {
        kinds(c).contains(&"consult_answered".to_owned())
    })
    .await;
    let r = alex
        .client
        .post(&format!("{calls}/consult/cancel"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("hang up the desk", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    assert!(back_with_alex(), "{:?}", line.ari.bridges());
    let call = line
        .call_until("cancelled", |c| {
            kinds(c).contains(&"consult_cancelled".to_owned())
        })
        .await;
    assert_eq!(call["state"], "connected");
    assert_eq!(call["agent_id"], alex.id);
    for k in ["on_hold", "off_hold", "consulting"] {
        assert!(
            kinds(&call).contains(&k.to_owned()),
            "{k}: {:?}",
            kinds(&call)
        );
    }
    line.ari.agent_hangs_up(&alex_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "agent_hangup");
}

#[tokio::test]
async fn an_agent_who_hangs_up_while_the_colleague_rings_leaves_the_caller_with_them() {
    let line = line(json!({})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let (_desk, desk_leg) = alex_rings_the_desk(
        &line,
        &alex,
        id,
        "consult",
        Behaviour::Answers {
            after: Duration::from_millis(800),
        },
    )
    .await;
    // Alex hangs up before the desk answers: the caller hears the desk ringing, then talks
    // to it.
    line.ari.agent_hangs_up(&alex_leg);
    line.request("ringback for the caller", |r| {
        plays(r, &caller, "tone:ring")
    })
    .await;
    let call = line
        .call_until("with the desk", |c| {
            kinds(c).contains(&"transferred".to_owned()) && c["state"] == "connected"
        })
        .await;
    assert_eq!(bridge_of(&line, &caller), sorted(vec![&caller, &desk_leg]));
    let by = timeline_entry(&call, "transferred_by_agent");
    assert_eq!(by["answered"], false, "{by}");
    assert_eq!(line.ari.moh(&caller), None);
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
}

#[tokio::test]
async fn a_caller_holding_while_the_agent_consults_is_back_with_the_agent_after_a_restart() {
    let mut line = line(json!({})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let desk_leg = alex_consults_the_desk(&line, &alex, id).await;

    line.app.restart().await;
    line.op.base = line.app.base.clone();
    // The consultation is lost with the service's memory; the caller is not: back with Alex.
    line.request("hang up the desk", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    line.request("bring the caller back to Alex", |r| {
        r.path.ends_with("/addChannel") && r.param("channel") == Some(caller.as_str())
    })
    .await;
    bridged_until(&line, &alex_leg, vec![&alex_leg, &caller]).await;
    assert_eq!(line.ari.moh(&caller), None);
    line.ari.agent_hangs_up(&alex_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "agent_hangup");
}

#[tokio::test]
async fn a_transfer_that_could_not_ring_or_queue_is_refused_and_the_agent_keeps_the_caller() {
    let line = line(json!({})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);
    // The desk's phone registered, then dropped off (Asterisk says so).
    let desk = line
        .agent(
            "1003",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let extensions = format!("/api/v1/tenants/{}/extensions", line.tid);
    let desk_registration = || async {
        let list = line.op.get(&extensions).await.body["items"].clone();
        list.as_array()
            .and_then(|l| l.iter().find(|x| x["number"] == "1003").cloned())
            .map(|x| {
                x["registration"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    for want in ["online", "offline"] {
        if want == "offline" {
            line.ari.phone(&desk.phone, Behaviour::Unregistered);
        }
        for _ in 0..100 {
            if desk_registration().await == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(desk_registration().await, want);
    }
    for action in ["transfer", "consult"] {
        let r = alex
            .client
            .post(&format!("{calls}/{action}"), json!({"extension": "1003"}))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{action}: {}", r.body);
        assert_eq!(r.message(), "the phone of extension 1003 is not registered");
    }
    // A queue nobody is logged in to would turn the caller away at once.
    let q = line
        .op
        .post(
            &format!("/api/v1/tenants/{}/queues", line.tid),
            json!({"name": "billing"}),
        )
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    let r = alex
        .client
        .post(&format!("{calls}/transfer"), json!({"queue": "billing"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "nobody in queue billing can take calls now");
    // Alex still has the caller: nothing was hung up, and Alex is not in wrap-up.
    assert_eq!(bridge_of(&line, &caller), sorted(vec![&alex_leg, &caller]));
    assert_eq!(line.agent_state(&alex).await, "busy");
    let call = line.op.get(&calls).await.body;
    assert_eq!(call["state"], "connected");
    assert!(
        !kinds(&call).contains(&"transferred_by_agent".to_owned()),
        "{call}"
    );
}

#[tokio::test]
async fn an_agent_consulting_a_ringing_colleague_at_a_restart_talks_to_the_caller_again_without_ringing()
 {
    let mut line = line(json!({})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let (_desk, desk_leg) =
        alex_rings_the_desk(&line, &alex, id, "consult", Behaviour::NoAnswer).await;
    // The tone would play on through Alex's talk with the caller: it is stopped.
    let (ringback, _) = restart_while_the_desk_rings(&mut line, &alex_leg, &desk_leg).await;
    assert!(
        line.ari
            .emitted()
            .iter()
            .any(|e| e["type"] == "PlaybackFinished" && e["playback"]["id"] == ringback.as_str()),
        "Alex's ringback still plays"
    );
    bridged_until(&line, &caller, vec![&caller, &alex_leg]).await;
}

#[tokio::test]
async fn a_caller_whose_agent_left_a_consultation_while_the_service_was_down_goes_to_the_colleague()
{
    let mut line = line(json!({"wrapup_secs": 0})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let (desk, desk_leg) = alex_consults_a_signed_in_desk(&line, &alex, id).await;
    line.app.stop().await;
    // Alex hangs up while nobody listens: live, that would complete the consultation.
    line.ari.agent_hangs_up(&alex_leg);
    line.app.start_again().await;
    line.op.base = line.app.base.clone();
    let mut desk = desk;
    desk.client.base = line.app.base.clone();

    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    bridged_until(&line, &caller, vec![&caller, &desk_leg]).await;
    assert_not_hung_up(&line, &[&caller, &desk_leg]);
    // The desk's agent is on the customer's call now: held as after a completed consultation.
    let call = line
        .call_until("the desk's agent held again", |c| {
            kinds(c).iter().filter(|k| *k == "colleague_held").count() == 2
        })
        .await;
    let again = call["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "colleague_held")
        .unwrap();
    assert_eq!(again["detail"]["agent_id"], desk.id, "{again}");
    assert_eq!(again["detail"]["after_restart"], true, "{again}");
    assert_eq!(line.agent_state(&desk).await, "busy", "{call}");
    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(
        line.agent_state_until(&desk, "available").await,
        "available"
    );
}

#[tokio::test]
async fn a_caller_put_through_after_a_consultation_stays_with_the_colleague_across_a_restart() {
    let mut line = line(json!({})).await;
    let (alex, caller, _, id) = connected_to_alex(&line).await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);
    let desk_leg = alex_consults_the_desk(&line, &alex, id).await;
    let r = alex
        .client
        .post(&format!("{calls}/consult/complete"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.call_until("with the desk", |c| {
        c["transferred_to"] == "extension 1003 (Agent 1003)"
    })
    .await;
    bridged_until(&line, &caller, vec![&caller, &desk_leg]).await;
    // Alex let go of the call: Alex may not hold or move the others' talk.
    let r = alex.client.post(&format!("{calls}/hold"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        r.message(),
        "the call was handed on to extension 1003 (Agent 1003)"
    );

    line.app.restart().await;
    line.op.base = line.app.base.clone();
    // Taken up as the caller's talk with the desk: neither is hung up.
    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_not_hung_up(&line, &[&caller, &desk_leg]);
    assert_eq!(bridge_of(&line, &caller), sorted(vec![&caller, &desk_leg]));
    line.ari.agent_hangs_up(&desk_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "transfer_hangup");
    assert_eq!(call["transferred_to"], "extension 1003 (Agent 1003)");
}

#[tokio::test]
async fn a_caller_whose_transfer_was_ringing_at_a_restart_hears_an_apology_and_starts_again() {
    let mut line = line(json!({})).await;
    let (alex, caller, _, id) = connected_to_alex(&line).await;
    let (_desk, desk_leg) =
        alex_rings_the_desk(&line, &alex, id, "transfer", Behaviour::NoAnswer).await;
    // The ringback plays until stopped (a tone): stopped, the apology and the menu play.
    let (ringback, seen) = restart_while_the_desk_rings(&mut line, &caller, &desk_leg).await;
    let played = |line: &Line| {
        line.ari.emitted()[seen..]
            .iter()
            .filter(|e| {
                e["type"] == "PlaybackFinished"
                    && e["playback"]["target_uri"] == format!("channel:{caller}")
                    && e["playback"]["id"] != ringback.as_str()
            })
            .count()
    };
    for _ in 0..100 {
        if played(&line) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        played(&line) >= 2,
        "the apology and the greeting did not play"
    );
    assert_not_hung_up(&line, &[&caller]);
    // Back in the menu: the caller queues again.
    line.ari.press(&caller, '1');
    let call = line.call_until("queued again", queued_after_resuming).await;
    assert!(kinds(&call).contains(&"resumed".to_owned()), "{call}");
}

#[tokio::test]
async fn a_caller_left_alone_while_the_service_was_down_hears_an_apology_and_starts_again() {
    let mut line = line(json!({})).await;
    let (mut alex, caller, alex_leg, _) = connected_to_alex(&line).await;
    line.app.stop().await;
    // Alex's phone hangs up while nobody listens to Asterisk's events.
    line.ari.agent_hangs_up(&alex_leg);
    line.app.start_again().await;
    line.op.base = line.app.base.clone();
    alex.client.base = line.app.base.clone();

    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    line.request("let go of the call's bridge", |r| {
        r.method == "DELETE" && r.path.starts_with("/ari/bridges/") && r.path.ends_with("-talk")
    })
    .await;
    line.request("apologise to the caller", |r| {
        r.path.starts_with(&format!("/ari/channels/{caller}/play"))
    })
    .await;
    // Alex's part is over: Alex is no longer on the call.
    for _ in 0..50 {
        if line.agent_state(&alex).await != "busy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(line.agent_state(&alex).await, "busy");
    assert_not_hung_up(&line, &[&caller]);
    // Back in the menu: the caller queues again.
    line.prompt(&caller, 2).await;
    line.ari.press(&caller, '1');
    line.call_until("queued again", queued_after_resuming).await;
}

#[tokio::test]
async fn a_colleague_who_answers_a_transfer_is_on_a_call_to_routing_until_it_ends() {
    let mut line = line(json!({"wrapup_secs": 0})).await;
    let (alex, caller, _, id) = connected_to_alex(&line).await;
    let queued_as = line
        .call_until("connected", |c| c["state"] == "connected")
        .await["contact_id"]
        .clone();
    assert!(queued_as.is_i64(), "{queued_as}");
    let desk = signed_in_desk(
        &line,
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    )
    .await;
    let desk_leg = alex_rings(&line, &alex, id, "transfer", &desk).await;
    bridged_until(&line, &caller, vec![&caller, &desk_leg]).await;
    // The desk's agent takes the customer: routing offers them nothing else meanwhile.
    let call = line
        .call_until("the desk's agent held", |c| {
            kinds(c).contains(&"colleague_held".to_owned())
        })
        .await;
    assert_eq!(timeline_entry(&call, "colleague_held")["agent_id"], desk.id);
    // The call still names the contact it was queued as (the hold is apart).
    assert_eq!(call["contact_id"], queued_as);
    assert_eq!(line.agent_state(&desk).await, "busy");

    // The hold survives a restart with the call.
    line.app.restart().await;
    line.op.base = line.app.base.clone();
    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    let mut desk = desk;
    desk.client.base = line.app.base.clone();
    assert_eq!(line.agent_state(&desk).await, "busy");

    // The call ends: the desk's agent is free again.
    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;
    for _ in 0..50 {
        if line.agent_state(&desk).await == "available" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(line.agent_state(&desk).await, "available");
}

#[tokio::test]
async fn a_consulted_colleague_is_on_a_call_to_routing_until_the_consultation_or_the_call_ends() {
    let mut line = line(json!({"wrapup_secs": 0})).await;
    let (alex, caller, _, id) = connected_to_alex(&line).await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);
    let (desk, desk_leg) = alex_consults_a_signed_in_desk(&line, &alex, id).await;
    let call = line.call_until("read", |_| true).await;
    assert_eq!(timeline_entry(&call, "colleague_held")["agent_id"], desk.id);
    assert_eq!(line.agent_state(&desk).await, "busy");

    // Cancelled: the desk's phone is free, and so is its agent.
    let r = alex
        .client
        .post(&format!("{calls}/consult/cancel"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    line.request("hang up the desk", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    assert_eq!(
        line.agent_state_until(&desk, "available").await,
        "available"
    );

    // Consulted again and put through: the desk's agent stays held with the caller, across a
    // restart of ours too, until the call ends.
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let again = line
        .request("ring the desk again", |r| {
            originates_to(r, &desk.phone) && r.param("channelId") != Some(desk_leg.as_str())
        })
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    line.call_until("the desk answered again", |c| {
        kinds(c).iter().filter(|k| *k == "consult_answered").count() == 2
    })
    .await;
    assert_eq!(line.agent_state(&desk).await, "busy");
    let r = alex
        .client
        .post(&format!("{calls}/consult/complete"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let call = line
        .call_until("with the desk", |c| {
            kinds(c).contains(&"transferred".to_owned()) && c["state"] == "connected"
        })
        .await;
    let held = kinds(&call)
        .iter()
        .filter(|k| *k == "colleague_held")
        .count();
    assert_eq!(held, 2, "the consultation's hold is the transfer's: {call}");
    bridged_until(&line, &caller, vec![&caller, &again]).await;
    assert_eq!(line.agent_state(&desk).await, "busy");
    assert_eq!(
        line.agent_state_until(&alex, "available").await,
        "available"
    );

    line.app.restart().await;
    line.op.base = line.app.base.clone();
    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    let mut desk = desk;
    desk.client.base = line.app.base.clone();
    assert_eq!(line.agent_state(&desk).await, "busy");

    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(
        line.agent_state_until(&desk, "available").await,
        "available"
    );
}

#[tokio::test]
async fn a_colleague_held_by_a_consultation_is_free_again_after_a_restart_lets_it_go() {
    let mut line = line(json!({"wrapup_secs": 0})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let (desk, desk_leg) = alex_consults_a_signed_in_desk(&line, &alex, id).await;
    assert_eq!(line.agent_state(&desk).await, "busy");

    line.app.restart().await;
    line.op.base = line.app.base.clone();
    let mut desk = desk;
    desk.client.base = line.app.base.clone();
    // The consultation is let go with the service's memory: the caller is back with Alex,
    // and the desk's agent is nobody's any more.
    line.request("hang up the desk", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    bridged_until(&line, &alex_leg, vec![&alex_leg, &caller]).await;
    assert_eq!(
        line.agent_state_until(&desk, "available").await,
        "available"
    );
}

#[tokio::test]
async fn a_colleague_rung_for_a_queue_call_who_picks_up_a_transfer_instead_lets_the_queue_call_go_on()
 {
    // Alex is in wrap-up once he lets go of his call: nobody else can take the second caller.
    let line = line(json!({"wrapup_secs": 60, "offer_timeout_secs": 60})).await;
    let (alex, first, _, first_id) = connected_to_alex(&line).await;
    // The desk rings for a second caller (Alex is busy) and does not pick up.
    let desk = signed_in_desk(&line, Behaviour::NoAnswer).await;
    let second = line.ari.inbound_call(DID, "+14155552222");
    line.prompt(&second, 1).await;
    line.ari.press(&second, '1');
    let offer_leg = line
        .request("ring the desk for the second caller", |r| {
            originates_to(r, &desk.phone) && r.param("originator") == Some(second.as_str())
        })
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    assert_eq!(line.agent_state(&desk).await, "ringing");

    // Alex transfers the first caller to the desk, whose agent picks that call up instead.
    let r = alex
        .client
        .post(
            &format!("/api/v1/tenants/{}/calls/{first_id}/transfer", line.tid),
            json!({"extension": "1003"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let transfer_leg = line
        .request("ring the desk with the transfer", |r| {
            originates_to(r, &desk.phone) && r.param("channelId") != Some(offer_leg.as_str())
        })
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    line.ari.agent_answers(&transfer_leg);
    bridged_until(&line, &first, vec![&first, &transfer_leg]).await;
    let call = line
        .call_id_until(first_id, "the desk's agent held", |c| {
            kinds(c).contains(&"colleague_held".to_owned())
        })
        .await;
    assert_eq!(timeline_entry(&call, "colleague_held")["agent_id"], desk.id);

    // The queue call stops ringing the desk and waits for the next agent.
    line.request("stop ringing the desk for the second caller", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{offer_leg}")
    })
    .await;
    assert_eq!(line.agent_state(&desk).await, "busy");
    assert_eq!(line.agent_state(&alex).await, "wrapup");
    let live = line.waiting_until(1).await;
    assert_eq!(live["waiting"][0]["status"], "waiting", "{live}");
    assert_eq!(live["waiting"][0]["offered_to"], json!([]), "{live}");
}

#[tokio::test]
async fn an_agent_whose_phone_is_on_a_call_routing_did_not_give_is_skipped_unless_the_queue_rings_in_use()
 {
    let line = line(json!({})).await;
    let bo = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    line.available(&bo).await;
    // Bo calls a customer from his phone (not through the inbox): routing does not know.
    let customer = "+14155550123";
    line.customer_answers(customer);
    let from = line.ari.agent_dials(&bo.phone, customer);
    let out_leg = line
        .request("dial the customer", |r| {
            originates_to(r, &format!("{customer}@trunk"))
        })
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    bridged_until(&line, &from, vec![&from, &out_leg]).await;
    assert_eq!(line.agent_state(&bo).await, "available");

    // A second caller queues: Bo is free to routing, but his phone is on the first call.
    let second = line.ari.inbound_call(DID, "+14155552222");
    line.prompt(&second, 1).await;
    line.ari.press(&second, '1');
    let call = line
        .call_until("Bo skipped", |c| {
            c["caller"] == "+14155552222" && kinds(c).contains(&"offer_failed".to_owned())
        })
        .await;
    let failed = timeline_entry(&call, "offer_failed");
    assert_eq!(
        failed["why"], "the agent's phone is on another call",
        "{failed}"
    );
    assert_eq!(failed["agent_id"], bo.id, "{failed}");
    let rung_for_second = || {
        line.ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &bo.phone) && r.param("originator") == Some(second.as_str()))
    };
    assert!(!rung_for_second(), "Bo's busy phone was rung");

    // The queue rings phones in use (app_queue's ringinuse): after the retry window (5 s),
    // Bo's phone rings for the second caller too.
    let r = line
        .op
        .patch(
            &format!("/api/v1/tenants/{}/queues/{}", line.tid, line.queue),
            json!({"settings": {"ring_in_use": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    line.request("ring Bo for the second caller", |r| {
        originates_to(r, &bo.phone) && r.param("originator") == Some(second.as_str())
    })
    .await;
}

#[tokio::test]
async fn a_call_placed_from_the_inbox_is_taken_up_after_a_restart_with_the_customer_as_the_caller()
{
    let mut line = line(json!({})).await;
    let mut alex = line.alex().await;
    let customer = "+14155550123";
    line.customer_answers(customer);
    let path = format!("/api/v1/tenants/{}/calls", line.tid);
    let r = alex.client.post(&path, json!({"to": customer})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let (alex_leg, customer_leg) = alex_then_the_customer(&line, &alex, customer).await;

    line.app.restart().await;
    line.op.base = line.app.base.clone();
    alex.client.base = line.app.base.clone();
    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    // Hold puts the customer on music, not Alex.
    let hold = format!("{path}/{id}/hold");
    let mut r = alex.client.post(&hold, json!({})).await;
    for _ in 0..50 {
        if r.status == StatusCode::ACCEPTED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = alex.client.post(&hold, json!({})).await;
    }
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    for _ in 0..50 {
        if line.ari.moh(&customer_leg).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(line.ari.moh(&customer_leg).as_deref(), Some("default"));
    assert_eq!(line.ari.moh(&alex_leg), None);
    assert_eq!(bridge_of(&line, &alex_leg), sorted(vec![&alex_leg]));
    // Alex hanging up ends the call as the agent's hangup.
    line.ari.agent_hangs_up(&alex_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "agent_hangup");
}

#[tokio::test]
async fn a_callback_in_progress_is_taken_up_after_a_restart_with_the_customer_and_the_agent_talking()
 {
    let mut line = line(json!({})).await;
    let alex = line.alex().await;
    let number = "+14155552222";
    line.customer_answers(number);
    // The caller asks to be called back; Alex is free, so the callback starts at once.
    let caller = line.ari.inbound_call(DID, number);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '5');
    let (alex_leg, customer_leg) = alex_then_the_customer(&line, &alex, number).await;
    line.call_until("the customer answered", |c| {
        c["state"] == "connected" && kinds(c).contains(&"callback_answered".to_owned())
    })
    .await;

    let hangups = |line: &Line| {
        line.ari
            .requests()
            .iter()
            .filter(|r| {
                r.method == "DELETE"
                    && (r.path == format!("/ari/channels/{alex_leg}")
                        || r.path == format!("/ari/channels/{customer_leg}"))
            })
            .count()
    };
    let before = hangups(&line);
    line.app.restart().await;
    line.op.base = line.app.base.clone();
    line.call_until("taken up", |c| kinds(c).contains(&"resumed".to_owned()))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hangups(&line), before, "nobody was hung up");
    assert_eq!(
        bridge_of(&line, &customer_leg),
        sorted(vec![&alex_leg, &customer_leg])
    );
    line.ari.agent_hangs_up(&alex_leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "agent_hangup");
}

#[tokio::test]
async fn a_flow_transfers_a_caller_to_a_sip_uri_through_the_trunk() {
    let line = line(json!({})).await;
    let partner = "sip:desk@partner.example.com";
    let flow = r#"version: 1
id: partner
name: Partner desk
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
start: to_partner
nodes:
  to_partner:
    type: transfer
    to: { sip: "sip:desk@partner.example.com" }
    caller_id: caller
    ring_timeout: "5s"
    on_no_answer: goodbye
    on_busy: goodbye
    on_failure: goodbye
  goodbye:
    type: hangup
    prompt: "Goodbye."
"#;
    let did = "+15550002000";
    line.publish(vec![
        ("flows/partner.yaml", flow.to_owned()),
        (
            "routes.yaml",
            format!(
                "version: 1\nroutes:\n  - match: {{ did: \"{DID}\" }}\n    flow: main\n  - match: {{ did: \"{did}\" }}\n    flow: partner\n"
            ),
        ),
    ])
    .await;
    line.ari.phone(
        &format!("trunk/{partner}"),
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    let caller = line.ari.inbound_call(did, CALLER);
    let ring = line
        .request("dial the SIP URI through the trunk", |r| {
            originates_to(r, &format!("trunk/{partner}"))
        })
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    line.request("bridge the caller with the partner", |r| {
        r.path.ends_with("/addChannel")
            && r.param("channel")
                .is_some_and(|c| c.contains(&leg) && c.contains(&caller))
    })
    .await;
    let call = line
        .call_until("connected", |c| c["state"] == "connected")
        .await;
    assert!(kinds(&call).contains(&"transferred".to_owned()));
    line.ari.agent_hangs_up(&leg);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "transfer_hangup");
}

#[tokio::test]
async fn the_agent_joins_the_caller_into_a_three_way_call_then_leaves_the_other_two_talking() {
    let line = line(json!({"wrapup_secs": 30})).await;
    let (alex, caller, alex_leg, id) = connected_to_alex(&line).await;
    let desk = line
        .agent(
            "1003",
            Behaviour::Answers {
                after: Duration::from_millis(300),
            },
        )
        .await;
    let calls = format!("/api/v1/tenants/{}/calls/{id}", line.tid);
    let r = alex
        .client
        .post(&format!("{calls}/consult/conference"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = alex
        .client
        .post(&format!("{calls}/consult"), json!({"extension": "1003"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let desk_leg = line
        .request("ring the desk", |r| originates_to(r, &desk.phone))
        .await
        .param("channelId")
        .unwrap()
        .to_owned();
    // Before the desk answers there is nobody to join.
    let r = alex
        .client
        .post(&format!("{calls}/consult/conference"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.message(), "the colleague has not answered yet");
    line.call_until("the desk answered", |c| {
        kinds(c).contains(&"consult_answered".to_owned())
    })
    .await;

    let r = alex
        .client
        .post(&format!("{calls}/consult/conference"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        bridge_of(&line, &caller),
        sorted(vec![&caller, &alex_leg, &desk_leg])
    );
    assert_eq!(
        line.ari.moh(&caller),
        None,
        "no music in the three-way call"
    );

    // Alex hangs up: the caller and the desk go on.
    line.ari.agent_hangs_up(&alex_leg);
    let call = line
        .call_until("with the desk", |c| {
            kinds(c).contains(&"transferred".to_owned()) && c["state"] == "connected"
        })
        .await;
    bridged_until(&line, &caller, vec![&caller, &desk_leg]).await;
    let by = timeline_entry(&call, "transferred_by_agent");
    assert_eq!(by["conference"], true, "{by}");
    assert!(kinds(&call).contains(&"conference".to_owned()));
    assert_eq!(line.agent_state(&alex).await, "wrapup");
    line.ari.caller_hangs_up(&caller);
    line.request("hang up the desk", |r| {
        r.method == "DELETE" && r.path == format!("/ari/channels/{desk_leg}")
    })
    .await;
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
}

#[tokio::test]
async fn a_flow_transfer_to_a_desk_on_do_not_disturb_takes_the_busy_branch_without_ringing() {
    let line = line(json!({})).await;
    let desk = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let xid = line.extension_id("1002").await;
    let r = line
        .op
        .patch(
            &format!("/api/v1/tenants/{}/extensions/{xid}", line.tid),
            json!({"dnd": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    // The flow's on_busy: voicemail.
    line.request("record a message instead", |r| {
        r.path == format!("/ari/channels/{caller}/record")
    })
    .await;
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &desk.phone)),
        "a phone on do-not-disturb is not rung"
    );
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(
        timeline_entry(&call, "transfer_failed")["why"],
        "the extension is on do-not-disturb"
    );
}

#[tokio::test]
async fn a_caller_who_wrote_from_their_number_before_is_shown_as_that_customer() {
    let line = line(json!({})).await;
    let tenant = switchboard::domain::TenantId(line.tid);
    // The caller once wrote on WhatsApp, whose ids are the number without `+`.
    let contact = switchboard::store::contacts::find_or_create_by_identity(
        &line.app.store,
        tenant,
        "whatsapp",
        CALLER.trim_start_matches('+'),
    )
    .await
    .unwrap();
    switchboard::store::contacts::update_contact_details(
        &line.app.store,
        tenant,
        contact.id,
        &switchboard::store::contacts::ContactDetails {
            name: Some("Dana Customer"),
            email: Some("dana@example.com"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    let call = line.call_until("in the IVR", |c| c["state"] == "ivr").await;
    assert_eq!(
        call["customer"],
        json!({"id": contact.id, "name": "Dana Customer", "email": "dana@example.com"})
    );
    line.ari.caller_hangs_up(&caller);
    line.call_until("ended", |c| c["state"] == "ended").await;
    // A number nobody wrote from is nobody known.
    let stranger = line.ari.inbound_call(DID, "+14155550000");
    line.prompt(&stranger, 1).await;
    let calls = line.calls().await;
    let newest = calls[0]["id"].as_i64().unwrap();
    let detail = line
        .op
        .get(&format!("/api/v1/tenants/{}/calls/{newest}", line.tid))
        .await;
    assert_eq!(detail.body["caller"], "+14155550000");
    assert_eq!(detail.body["customer"], Value::Null);
}

#[tokio::test]
async fn a_desk_that_forwards_sends_the_caller_to_its_target_extension_or_number() {
    let line = line(json!({})).await;
    let desk = line
        .agent(
            "1002",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let bo = line
        .agent_named(
            "1003",
            "Bo Jones",
            Behaviour::Answers {
                after: Duration::from_millis(100),
            },
        )
        .await;
    let extensions = format!("/api/v1/tenants/{}/extensions", line.tid);
    let desk_id = line.extension_id("1002").await;
    let forward = |to: &'static str| {
        let op = line.op.clone();
        let path = format!("{extensions}/{desk_id}");
        async move {
            let r = op.patch(&path, json!({"forward_to": to})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };

    // To another extension: Bo's phone rings, the front desk's does not, even though Bo's
    // forwards back to the desk (one hop: no loop).
    forward("1003").await;
    let bo_id = line.extension_id("1003").await;
    let r = line
        .op
        .patch(
            &format!("{extensions}/{bo_id}"),
            json!({"forward_to": "1002"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    let ring = line
        .request("ring Bo's phone", |r| originates_to(r, &bo.phone))
        .await;
    let leg = ring.param("channelId").unwrap().to_owned();
    let call = line
        .call_until("put through to Bo", |c| {
            c["transferred_to"] == "extension 1003 (Bo Jones)"
        })
        .await;
    assert_eq!(
        timeline_entry(&call, "forwarded"),
        json!({"from": "extension 1002", "to": "extension 1003"})
    );
    assert!(
        !line
            .ari
            .requests()
            .iter()
            .any(|r| originates_to(r, &desk.phone)),
        "the forwarding desk is not rung"
    );
    line.ari.agent_hangs_up(&leg);
    line.call_until("ended", |c| c["state"] == "ended").await;

    // To an outside number: dialled through the trunk.
    forward("+14155550199").await;
    line.ari.phone(
        "+14155550199@trunk",
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    let caller = line.ari.inbound_call(DID, "+14155550000");
    line.prompt(&caller, 1).await;
    line.ari.press(&caller, '3');
    line.request("dial the mobile through the trunk", |r| {
        originates_to(r, "+14155550199@trunk")
    })
    .await;
    let call = line
        .call_until("put through to the mobile", |c| {
            c["transferred_to"] == "+14155550199"
        })
        .await;
    assert_eq!(timeline_entry(&call, "forwarded")["to"], "+14155550199");
}

#[tokio::test]
async fn switchboard_asks_asterisk_not_to_send_the_events_it_does_not_read_on_every_connect() {
    let line = line(json!({})).await;
    let filter = line
        .request("filter the app's events", |r| {
            r.method == "PUT" && r.path == "/ari/applications/switchboard/eventFilter"
        })
        .await;
    let body = filter.body.expect("a body");
    assert_eq!(body["allowed"], json!([]), "{body}");
    let disallowed: Vec<&str> = body["disallowed"]
        .as_array()
        .expect("a disallowed list")
        .iter()
        .map(|t| t["type"].as_str().expect("a type"))
        .collect();
    for kind in ["ChannelVarset", "ChannelDialplan", "ChannelConnectedLine"] {
        assert!(disallowed.contains(&kind), "{disallowed:?}");
    }
    // What the app must hear is never filtered out.
    for kind in [
        "StasisStart",
        "ChannelDestroyed",
        "ChannelEnteredBridge",
        "Dial",
    ] {
        assert!(!disallowed.contains(&kind), "{disallowed:?}");
    }

    // The filter belongs to the app, which Asterisk may have dropped with the socket: set
    // again on every connect.
    let filters = || {
        line.ari
            .requests()
            .iter()
            .filter(|r| r.path == "/ari/applications/switchboard/eventFilter")
            .count()
    };
    let before = filters();
    line.ari.drop_websocket();
    line.ari.wait_until_deaf().await;
    for _ in 0..200 {
        if filters() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        filters() > before,
        "the filter was not set again after the reconnect"
    );
    // Calls go on as before.
    let caller = line.ari.inbound_call(DID, CALLER);
    line.prompt(&caller, 1).await;
}

#[tokio::test]
async fn calls_go_through_an_asterisk_without_event_filters_which_sends_every_variable() {
    let line = line(json!({"offer_timeout_secs": 30})).await;
    line.request("filter the app's events", |r| {
        r.path.ends_with("/eventFilter")
    })
    .await;
    // Asterisk comes back as a version before 13.26 / 16.3: no filter, every variable sent.
    line.ari.refuse_event_filter();
    let before = line.ari.connections();
    line.ari.drop_websocket();
    line.ari.wait_until_deaf().await;
    for _ in 0..200 {
        if line.ari.connections() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(line.ari.connections() > before, "never reconnected");
    let alex = line.alex().await;
    let caller = into_queue(&line).await;
    line.call_until("connected", |c| c["state"] == "connected")
        .await;
    let peers = |line: &Line| {
        line.ari
            .emitted()
            .iter()
            .filter(|e| e["type"] == "ChannelVarset" && e["variable"] == "BRIDGEPEER")
            .count()
    };
    assert!(peers(&line) > 0, "the stand-in sent no variables");
    line.ari.caller_hangs_up(&caller);
    let call = line.call_until("ended", |c| c["state"] == "ended").await;
    assert_eq!(call["end_reason"], "caller_hangup");
    assert_eq!(call["agent_id"], alex.id);
}
