//! The stand-in driven by our typed client through the captured scenarios, with every event
//! and answer it produced checked against the API description.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};
use switchboard::voice::ari::ops::Op;
use switchboard::voice::ari::{
    AddChannel, AriClient, AriError, BridgeType, CreateChannel, DialplanTarget, EventStream,
    HangupReason, NewBridge, Originate, Play, Record, StreamEvent, StreamOptions,
};

use super::{AriStandIn, Behaviour};

const DID: &str = "15551230100";
const CALLER: &str = "+15557654321";
const WAIT: Duration = Duration::from_secs(5);

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/asterisk-ari")
}

async fn connect(s: &AriStandIn) -> (AriClient, EventStream) {
    connect_with(s, false).await
}

/// With `over_socket`, the client's requests go over the events socket (once the stand-in
/// has answered the stream's question there, which this waits for).
async fn connect_with(s: &AriStandIn, over_socket: bool) -> (AriClient, EventStream) {
    let config = s.config();
    let client = AriClient::new(&config).unwrap();
    let mut opts = StreamOptions::from_config(&config);
    opts.backoff_initial = Duration::from_millis(50);
    opts.backoff_max = Duration::from_millis(200);
    if over_socket {
        opts = opts.requests_for(&client);
    }
    let mut stream = EventStream::spawn(opts).unwrap();
    let first = tokio::time::timeout(WAIT, stream.recv()).await.unwrap();
    assert_eq!(first, Some(StreamEvent::Connected));
    if over_socket {
        over_socket_soon(&client).await;
    }
    (client, stream)
}

async fn over_socket_soon(client: &AriClient) {
    tokio::time::timeout(WAIT, async {
        while !client.rest_over_socket() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("requests go over the events socket");
}

/// The next event other than `ChannelVarset`, as (type, JSON without the envelope):
/// Asterisk sets BRIDGEPEER and the RTP statistics around most steps, and the scenarios
/// check those on their own (`varsets_of`).
async fn next(stream: &mut EventStream) -> (String, Value) {
    loop {
        let got = tokio::time::timeout(WAIT, stream.recv())
            .await
            .expect("an event within the wait")
            .expect("the stream is open");
        if let StreamEvent::Event(m) = got
            && m.event.kind() != "ChannelVarset"
        {
            return (m.event.kind().to_owned(), m.event.to_value());
        }
    }
}

/// The `(channel id, variable, value)` of each `ChannelVarset` among `events`, in order.
fn varsets_of(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "ChannelVarset")
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&e["channel"]["id"]),
                text(&e["variable"]),
                text(&e["value"]),
            )
        })
        .collect()
}

/// A captured scenario's events as the app hears them with `subscribeAll=false` (the
/// recorder subscribed to everything): a channel's variables only while it is in Stasis.
fn captured_as_heard(scenario: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(reference().join(format!("captured/{scenario}/events.jsonl")))
            .unwrap();
    let mut inside = BTreeSet::new();
    let mut heard = Vec::new();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let channel = e["channel"]["id"].as_str().unwrap_or_default().to_owned();
        match e["type"].as_str() {
            Some("StasisStart") => {
                inside.insert(channel);
            }
            Some("StasisEnd") => {
                inside.remove(&channel);
            }
            Some("ChannelVarset") if !inside.contains(&channel) => continue,
            _ => {}
        }
        heard.push(e);
    }
    heard
}

/// The next events, which must be of these types in this order.
async fn expect(stream: &mut EventStream, kinds: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for want in kinds {
        let (kind, value) = next(stream).await;
        assert_eq!(&kind, want, "after {out:#?}");
        out.push(value);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Validation against api-docs/*.json

struct Spec {
    models: BTreeMap<String, Map<String, Value>>,
    /// `resource.nickname` → responseClass.
    returns: BTreeMap<String, String>,
    events: BTreeSet<String>,
}

fn spec() -> Spec {
    let dir = reference().join("api-docs");
    let mut models = BTreeMap::new();
    let mut returns = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("api-docs/ beside the checkout") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let resource = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (name, model) in doc["models"].as_object().into_iter().flatten() {
            let props = model["properties"].as_object().cloned().unwrap_or_default();
            models.insert(name.clone(), props);
        }
        for api in doc["apis"].as_array().into_iter().flatten() {
            for op in api["operations"].as_array().into_iter().flatten() {
                returns.insert(
                    format!("{resource}.{}", op["nickname"].as_str().unwrap()),
                    op["responseClass"].as_str().unwrap().to_owned(),
                );
            }
        }
    }
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("events.json")).unwrap()).unwrap();
    let events = doc["models"]["Event"]["subTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    Spec {
        models,
        returns,
        events,
    }
}

impl Spec {
    fn check_model(&self, model: &str, value: &Value, at: &str, out: &mut Vec<String>) {
        let Some(props) = self.models.get(model) else {
            out.push(format!("{at}: no model {model}"));
            return;
        };
        let mut props = props.clone();
        if self.events.contains(model) {
            props.extend(self.models["Event"].clone());
            props.extend(self.models["Message"].clone());
        }
        let Some(obj) = value.as_object() else {
            out.push(format!("{at}: {model} is not an object: {value}"));
            return;
        };
        for (key, v) in obj {
            match props.get(key) {
                Some(p) => {
                    self.check_type(p["type"].as_str().unwrap(), v, &format!("{at}.{key}"), out)
                }
                None => out.push(format!("{at}.{key}: not in {model}")),
            }
        }
        for (key, p) in &props {
            if p["required"] == Value::Bool(true) && !obj.contains_key(key) {
                out.push(format!("{at}: {model} lacks required `{key}`"));
            }
        }
    }

    fn check_type(&self, ty: &str, v: &Value, at: &str, out: &mut Vec<String>) {
        let fits = match ty {
            "string" | "Date" => v.is_string(),
            "int" | "long" => v.is_i64() || v.is_u64(),
            "double" | "float" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            list if list.starts_with("List[") => {
                let inner = &list[5..list.len() - 1];
                match v.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            self.check_type(inner, item, &format!("{at}[{i}]"), out);
                        }
                        true
                    }
                    None => false,
                }
            }
            model => {
                self.check_model(model, v, at, out);
                true
            }
        };
        if !fits {
            out.push(format!("{at}: {v} is not a {ty}"));
        }
    }
}

/// Every event and every answer the stand-in produced fits the API description: each field
/// exists in its model with the right JSON type, and required fields are there.
fn assert_valid(s: &AriStandIn) {
    let spec = spec();
    let events = s.emitted();
    assert!(!events.is_empty());
    let mut problems = event_problems(&spec, &events);
    for x in s.exchanges() {
        let path = x.path.strip_prefix("/ari").unwrap();
        let op = Op::find(&x.method, path).unwrap_or_else(|| panic!("{} {path}", x.method));
        let at = format!("{} {} → {}", x.method, x.path, x.status);
        match (x.status, &x.body) {
            (204, None) => assert_eq!(spec.returns[op.name], "void", "{at}"),
            (200 | 201, Some(body)) => {
                spec.check_type(&spec.returns[op.name], body, &at, &mut problems)
            }
            (400..=599, Some(body)) => {
                let obj = body.as_object().unwrap();
                let key = if x.status == 500 { "error" } else { "message" };
                assert!(obj.len() == 1 && obj[key].is_string(), "{at}: {body}");
            }
            other => panic!("{at}: unexpected answer {other:?}"),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn event_problems(spec: &Spec, events: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let kind = ev["type"].as_str().unwrap_or_default();
        if spec.events.contains(kind) {
            spec.check_model(kind, ev, &format!("event {i} {kind}"), &mut problems);
        } else {
            problems.push(format!("event {i}: `{kind}` is not an event type"));
        }
    }
    problems
}

#[test]
fn the_validation_catches_wrong_types_unknown_fields_and_missing_required_ones() {
    let spec = spec();
    let captured =
        std::fs::read_to_string(reference().join("captured/a_inbound_playback/events.jsonl"))
            .unwrap();
    let real: Vec<Value> = captured
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(event_problems(&spec, &real), Vec::<String>::new());

    let destroyed = real
        .iter()
        .find(|e| e["type"] == "ChannelDestroyed")
        .unwrap();
    let mut as_text = destroyed.clone();
    as_text["cause"] = "16".into();
    let mut invented = destroyed.clone();
    invented["channel"]["colour"] = "red".into();
    let mut missing = destroyed.clone();
    missing.as_object_mut().unwrap().remove("cause_txt");
    let mut unknown = destroyed.clone();
    unknown["type"] = "ChannelExploded".into();
    let problems = event_problems(&spec, &[as_text, invented, missing, unknown]);
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[tokio::test]
async fn an_inbound_call_is_answered_played_to_reads_dtmf_and_hangs_up_as_captured() {
    inbound_call_as_captured(false).await;
}

#[tokio::test]
async fn the_same_call_with_its_requests_over_the_events_socket_goes_the_same_way() {
    inbound_call_as_captured(true).await;
}

async fn inbound_call_as_captured(over_socket: bool) {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect_with(&s, over_socket).await;

    let id = s.inbound_call(DID, CALLER);
    let start = expect(&mut stream, &["StasisStart"]).await;
    assert_eq!(start[0]["args"], serde_json::json!(["inbound", DID]));
    assert_eq!(start[0]["channel"]["state"], "Ring");
    assert!(
        start[0]["channel"]["name"]
            .as_str()
            .unwrap()
            .starts_with("PJSIP/trunk-")
    );
    assert_eq!(client.get_channel(&id).await.unwrap().id, id);
    assert_eq!(
        client.get_variable(&id, "CALLERID(num)").await.unwrap(),
        CALLER
    );

    client.answer(&id).await.unwrap();
    let up = expect(&mut stream, &["ChannelStateChange"]).await;
    assert_eq!(up[0]["channel"]["state"], "Up");

    let mut play = Play::media("sound:hello-world");
    play.lang = Some("en".into());
    let pb = client.play(&id, &play).await.unwrap();
    let started = expect(&mut stream, &["PlaybackStarted"]).await;
    assert_eq!(started[0]["playback"]["id"], pb.id.as_str());
    assert_eq!(
        started[0]["playback"]["target_uri"],
        format!("channel:{id}")
    );
    let playing = client.get_playback(&pb.id).await.unwrap();
    assert_eq!(serde_json::to_value(&playing).unwrap()["state"], "playing");
    let finished = expect(&mut stream, &["PlaybackFinished"]).await;
    assert_eq!(finished[0]["playback"]["state"], "done");

    s.press(&id, '1');
    let dtmf = expect(&mut stream, &["ChannelDtmfReceived"]).await;
    assert_eq!(dtmf[0]["digit"], "1");
    assert_eq!(dtmf[0]["duration_ms"], 280);

    client
        .hangup(&id, Some(HangupReason::Normal))
        .await
        .unwrap();
    let end = expect(
        &mut stream,
        &[
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelHangupRequest",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(end[3]["cause"], 16);
    assert_eq!(end[3]["cause_txt"], "Normal Clearing");
    let gone = client.get_channel(&id).await.unwrap_err();
    assert_eq!(
        gone,
        AriError::NotFound {
            message: "Channel not found".into()
        }
    );

    let hangup = s
        .wait_for_request(|r| r.method == "DELETE", WAIT)
        .await
        .expect("the hangup was received");
    assert_eq!(hangup.path, format!("/ari/channels/{id}"));
    assert_eq!(hangup.param("reason"), Some("normal"));
    let play_req = s
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/play"))
        .unwrap();
    assert_eq!(play_req.param("media"), Some("sound:hello-world"));

    // The same sequence as the real Asterisk, for the event types the stand-in sends.
    let ours: Vec<String> = s
        .emitted()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    let kinds: BTreeSet<&str> = ours.iter().map(String::as_str).collect();
    let theirs: Vec<String> = captured_as_heard("a_inbound_playback")
        .into_iter()
        .filter(|e| kinds.contains(e["type"].as_str().unwrap()))
        .filter(|e| {
            e.get("channel").is_none_or(|c| c["id"] == "1795465740.0")
                || e.get("playback").is_some()
        })
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ours, theirs);
    assert_valid(&s);
    // Over the socket go all but what Asterisk does on the channel's own thread (answer,
    // variables), which keeps HTTP: Asterisk reads the socket's requests one at a time.
    let requests = s.requests();
    let on_the_channels_thread =
        |r: &super::Request| r.path.ends_with("/answer") || r.path.ends_with("/variable");
    assert!(
        requests
            .iter()
            .all(|r| r.over_socket == (over_socket && !on_the_channels_thread(r))),
        "{requests:#?}"
    );
    if over_socket {
        assert!(
            requests
                .iter()
                .any(|r| r.path.ends_with("/play") && r.over_socket)
        );
        assert!(
            requests
                .iter()
                .any(|r| r.path.ends_with("/answer") && !r.over_socket)
        );
    }
    stream.shutdown().await;
}

#[tokio::test]
async fn an_asterisk_that_ignores_requests_on_the_socket_is_spoken_to_over_http() {
    let s = AriStandIn::start().await;
    s.set_rest_over_websocket(false);
    let config = s.config();
    let client = AriClient::new(&config).unwrap();
    let mut stream =
        EventStream::spawn(StreamOptions::from_config(&config).requests_for(&client)).unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, stream.recv()).await.unwrap(),
        Some(StreamEvent::Connected)
    );
    let id = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    // Long enough for an answer to the stream's question, had there been one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!client.rest_over_socket());
    client
        .play(&id, &Play::media("sound:hello-world"))
        .await
        .unwrap();
    expect(&mut stream, &["PlaybackStarted"]).await;
    let play = s
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/play"))
        .unwrap();
    assert!(!play.over_socket);
    stream.shutdown().await;
}

#[tokio::test]
async fn requests_fall_back_to_http_while_the_socket_is_down_and_return_to_it_after() {
    let s = AriStandIn::start().await;
    let config = s.config();
    let client = AriClient::new(&config).unwrap();
    let mut opts = StreamOptions::from_config(&config).requests_for(&client);
    // The reconnect comes 0.5–1 s after the drop: time for the request in between.
    opts.backoff_initial = Duration::from_secs(1);
    let mut stream = EventStream::spawn(opts).unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, stream.recv()).await.unwrap(),
        Some(StreamEvent::Connected)
    );
    over_socket_soon(&client).await;
    let id = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;

    s.drop_websocket();
    let got = tokio::time::timeout(WAIT, stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(got, StreamEvent::Disconnected { .. }), "{got:?}");
    // Between the drop and the reconnect the request takes HTTP.
    assert!(!client.rest_over_socket());
    assert_eq!(client.get_channel(&id).await.unwrap().id, id);
    assert_eq!(
        tokio::time::timeout(WAIT, stream.recv())
            .await
            .unwrap()
            .unwrap(),
        StreamEvent::Connected
    );
    over_socket_soon(&client).await;
    client.hangup(&id, None).await.unwrap();
    let transports: Vec<(String, bool)> = s
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&id))
        .map(|r| (r.method, r.over_socket))
        .collect();
    assert_eq!(
        transports,
        [("GET".to_owned(), false), ("DELETE".to_owned(), true)]
    );
    stream.shutdown().await;
}

#[tokio::test]
async fn originating_to_an_unregistered_or_unknown_endpoint_fails_with_allocation_failed() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.phone("1001", Behaviour::Unregistered);
    let caller = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    let before = s.emitted().len();

    let failed = AriError::Server {
        status: 500,
        message: "Allocation failed".into(),
    };
    for endpoint in ["PJSIP/1001", "PJSIP/9999", "NoSuchTech/1001"] {
        let o = Originate {
            endpoint: endpoint.into(),
            app_args: vec!["agent".into(), "1001".into()],
            originator: Some(caller.clone()),
            timeout_secs: Some(15),
            ..Originate::default()
        };
        assert_eq!(client.originate(&o).await.unwrap_err(), failed);
    }
    let c = CreateChannel {
        endpoint: "PJSIP/1001".into(),
        ..CreateChannel::default()
    };
    assert_eq!(client.create_channel(&c).await.unwrap_err(), failed);
    assert_eq!(
        s.emitted().len(),
        before,
        "a failed originate emits nothing"
    );
    assert_eq!(s.channels().len(), 1);
    assert_valid(&s);
}

#[tokio::test]
async fn a_busy_agent_shows_only_as_cause_17_on_both_dial_paths() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.phone("1001", Behaviour::Busy);
    let online = expect(&mut stream, &["EndpointStateChange"]).await;
    assert_eq!(online[0]["endpoint"]["state"], "online");

    let caller = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    client.answer(&caller).await.unwrap();
    let bridge = client
        .create_bridge(&NewBridge {
            types: vec![BridgeType::Holding],
            name: Some("queue".into()),
            ..NewBridge::default()
        })
        .await
        .unwrap();
    let opts = AddChannel {
        role: Some("participant".into()),
        ..AddChannel::default()
    };
    client
        .add_channels(&bridge.id, &[&caller], &opts)
        .await
        .unwrap();
    client
        .start_bridge_moh(&bridge.id, Some("default"))
        .await
        .unwrap();
    expect(
        &mut stream,
        &[
            "ChannelStateChange",
            "BridgeCreated",
            "ChannelEnteredBridge",
        ],
    )
    .await;

    let agent = client
        .create_channel(&CreateChannel {
            endpoint: "PJSIP/1001".into(),
            app_args: vec!["agent".into(), "1001".into()],
            originator: Some(caller.clone()),
            ..CreateChannel::default()
        })
        .await
        .unwrap();
    let start = expect(&mut stream, &["StasisStart"]).await;
    assert_eq!(start[0]["channel"]["state"], "Down");
    assert_eq!(start[0]["args"], serde_json::json!(["agent", "1001"]));
    client
        .dial(&agent.id, Some(&caller), Some(20))
        .await
        .unwrap();
    let ev = expect(
        &mut stream,
        &[
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(ev[0]["dialstatus"], "");
    assert_eq!(ev[2]["dialstatus"], "RINGING");
    assert_eq!(ev[5]["cause"], 17);
    assert_eq!(ev[5]["cause_txt"], "User busy");
    assert_eq!(ev[5]["channel"]["id"], agent.id.as_str());

    // Originate: the leg never entered the app, so no StasisEnd.
    let o = Originate {
        endpoint: "PJSIP/1001".into(),
        originator: Some(caller.clone()),
        ..Originate::default()
    };
    let leg = client.originate(&o).await.unwrap();
    let ev = expect(
        &mut stream,
        &[
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelHangupRequest",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(ev[4]["cause"], 17);
    assert_eq!(ev[4]["channel"]["id"], leg.id.as_str());

    client
        .hangup(&caller, Some(HangupReason::Busy))
        .await
        .unwrap();
    let end = expect(
        &mut stream,
        &[
            "ChannelHangupRequest",
            "ChannelLeftBridge",
            "StasisEnd",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(end[3]["cause"], 17);
    client.destroy_bridge(&bridge.id).await.unwrap();
    expect(&mut stream, &["BridgeDestroyed"]).await;
    assert_valid(&s);
}

#[tokio::test]
async fn an_agent_who_does_not_answer_ends_with_cause_19_after_the_timeout() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.phone("1001", Behaviour::NoAnswer);
    expect(&mut stream, &["EndpointStateChange"]).await;
    let caller = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;

    let o = Originate {
        endpoint: "PJSIP/1001".into(),
        app_args: vec!["agent".into(), "1001".into()],
        originator: Some(caller.clone()),
        timeout_secs: Some(1),
        channel_id: Some(format!("agent-{caller}")),
        ..Originate::default()
    };
    let leg = client.originate(&o).await.unwrap();
    assert_eq!(leg.id, format!("agent-{caller}"));
    let dup = client.originate(&o).await.unwrap_err();
    assert_eq!(
        dup,
        AriError::Conflict {
            status: 409,
            message: "Channel with given unique ID already exists".into()
        }
    );
    let ev = expect(
        &mut stream,
        &[
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelHangupRequest",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(ev[1]["channel"]["state"], "Ringing");
    assert_eq!(ev[4]["cause"], 19);
    assert_eq!(ev[4]["cause_txt"], "User alerting, no answer");
    assert_eq!(s.channels().len(), 1);
    assert_valid(&s);
}

#[tokio::test]
async fn an_answering_agent_joins_the_caller_in_a_mixing_bridge_and_can_hang_up_first() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.phone(
        "1001",
        Behaviour::Answers {
            after: Duration::from_millis(100),
        },
    );
    expect(&mut stream, &["EndpointStateChange"]).await;
    let caller = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    client.answer(&caller).await.unwrap();
    let bridge = client
        .create_bridge(&NewBridge {
            bridge_id: Some(format!("call-{caller}")),
            ..NewBridge::default()
        })
        .await
        .unwrap();
    assert_eq!(bridge.id, format!("call-{caller}"));
    client
        .add_channels(&bridge.id, &[&caller], &AddChannel::default())
        .await
        .unwrap();
    expect(
        &mut stream,
        &[
            "ChannelStateChange",
            "BridgeCreated",
            "ChannelEnteredBridge",
        ],
    )
    .await;

    let o = Originate {
        endpoint: "PJSIP/1001".into(),
        app_args: vec!["agent".into(), "1001".into()],
        originator: Some(caller.clone()),
        caller_id: Some("\"Switchboard\" <+15551230000>".into()),
        variables: BTreeMap::from([("CALL_ROLE".into(), "agent".into())]),
        ..Originate::default()
    };
    let leg = client.originate(&o).await.unwrap();
    let sent = s
        .wait_for_request(|r| r.method == "POST" && r.path == "/ari/channels", WAIT)
        .await
        .unwrap();
    assert_eq!(
        sent.body,
        Some(serde_json::json!({"variables": {"CALL_ROLE": "agent"}}))
    );
    assert_eq!(sent.param("originator"), Some(caller.as_str()));
    assert_eq!(serde_json::to_value(&leg).unwrap()["state"], "Down");
    let ev = expect(
        &mut stream,
        &[
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelStateChange",
            "Dial",
            "StasisStart",
        ],
    )
    .await;
    assert_eq!(ev[4]["dialstatus"], "ANSWER");
    assert_eq!(ev[5]["channel"]["state"], "Up");
    assert_eq!(ev[5]["args"], serde_json::json!(["agent", "1001"]));
    assert_eq!(ev[5]["channel"]["caller"]["number"], "+15551230000");

    client
        .add_channels(&bridge.id, &[&leg.id], &AddChannel::default())
        .await
        .unwrap();
    let entered = expect(&mut stream, &["ChannelEnteredBridge"]).await;
    assert_eq!(
        entered[0]["bridge"]["channels"],
        serde_json::json!([caller, leg.id])
    );
    let got = serde_json::to_value(client.get_bridge(&bridge.id).await.unwrap()).unwrap();
    assert_eq!(got["bridge_type"], "mixing");
    assert_eq!(client.list_channels().await.unwrap().len(), 2);
    assert_eq!(
        client.get_variable(&leg.id, "CALL_ROLE").await.unwrap(),
        "agent"
    );
    assert_eq!(client.list_bridges().await.unwrap().len(), 1);
    let endpoint =
        serde_json::to_value(client.get_endpoint("PJSIP", "1001").await.unwrap()).unwrap();
    assert_eq!(endpoint["channel_ids"], serde_json::json!([leg.id]));

    // Asterisk 22.10.1 delivered each bridge playback event twice, with the same id.
    let pb = client
        .play_to_bridge(&bridge.id, &Play::media("sound:hello-world"))
        .await
        .unwrap();
    let ev = expect(
        &mut stream,
        &[
            "PlaybackStarted",
            "PlaybackStarted",
            "PlaybackFinished",
            "PlaybackFinished",
        ],
    )
    .await;
    assert!(ev.iter().all(|e| e["playback"]["id"] == pb.id.as_str()));
    assert_eq!(
        ev[0]["playback"]["target_uri"],
        format!("bridge:{}", bridge.id)
    );

    s.agent_hangs_up(&leg.id);
    let ev = expect(
        &mut stream,
        &[
            "ChannelHangupRequest",
            "ChannelLeftBridge",
            "StasisEnd",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(ev[3]["cause"], 16);
    client
        .remove_channels(&bridge.id, &[&caller])
        .await
        .unwrap();
    expect(&mut stream, &["ChannelLeftBridge"]).await;
    let not_in = client
        .remove_channels(&bridge.id, &[&caller])
        .await
        .unwrap_err();
    assert_eq!(not_in.status(), Some(422));
    client.destroy_bridge(&bridge.id).await.unwrap();
    expect(&mut stream, &["BridgeDestroyed"]).await;
    s.caller_hangs_up(&caller);
    expect(
        &mut stream,
        &["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"],
    )
    .await;
    assert!(s.channels().is_empty() && s.bridges().is_empty());
    assert_valid(&s);

    // The variables Asterisk set on the way, as in captured scenario k (the agent hangs up
    // first, then the app takes the caller out of the bridge): each party's BRIDGEPEER and
    // call id while both are bridged, cleared as each leaves, and the RTP statistics of
    // each at hangup, the agent's also on the caller as `…BRIDGED`.
    let ours = varsets_of(&s.emitted());
    let names: BTreeMap<String, String> = s
        .emitted()
        .iter()
        .filter_map(|e| {
            Some((
                e["channel"]["name"].as_str()?.to_owned(),
                e["channel"]["id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let role = |id: &str| if id == caller { "caller" } else { "agent" };
    let ours = by_role(
        &ours,
        |id| role(id).to_owned(),
        |name| names.get(name).map(|id| role(id).to_owned()),
    );
    let captured = varsets_of(&captured_as_heard("k_agent_hangs_up_first"));
    let theirs = by_role(
        &captured,
        |id| {
            if id.starts_with("agent-") {
                "agent"
            } else {
                "caller"
            }
            .to_owned()
        },
        |name| match name {
            "PJSIP/trunk-0000000d" => Some("caller".to_owned()),
            "PJSIP/1001-0000000e" => Some("agent".to_owned()),
            _ => None,
        },
    );
    assert_eq!(ours, theirs);
}

/// Varsets as `(role, variable, value)`, sorted, with what differs from run to run taken
/// out: a peer's name becomes its role, a call id or RTP summary whether it is set.
fn by_role(
    varsets: &[(String, String, String)],
    role: impl Fn(&str) -> String,
    role_of_name: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = varsets
        .iter()
        .map(|(id, variable, value)| {
            let value = match variable.as_str() {
                _ if value.is_empty() => String::new(),
                "BRIDGEPEER" => role_of_name(value).unwrap_or_else(|| format!("unknown {value}")),
                // SSRCs and packet counts come from the real RTP.
                "BRIDGEPVTCALLID" | "RTPAUDIOQOS" | "RTPAUDIOQOSBRIDGED" => "set".to_owned(),
                _ => value.clone(),
            };
            (role(id), variable.clone(), value)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_dropped_events_socket_is_reported_and_events_continue_after_the_reconnect() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    let first = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;

    s.drop_websocket();
    let got = tokio::time::timeout(WAIT, stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(got, StreamEvent::Disconnected { .. }), "{got:?}");
    let got = tokio::time::timeout(WAIT, stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, StreamEvent::Connected);
    assert_eq!(s.connections(), 2);

    // REST never depended on the socket, and the call is still there to resync.
    assert_eq!(client.list_channels().await.unwrap()[0].id, first);
    let second = s.inbound_call(DID, "+15550000002");
    let ev = expect(&mut stream, &["StasisStart"]).await;
    assert_eq!(ev[0]["channel"]["id"], second.as_str());
    assert_valid(&s);
}

#[tokio::test]
async fn playback_stop_recording_variables_and_continue_answer_like_asterisk() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.set_playback_duration(Duration::from_secs(30));
    let id = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;

    client
        .set_variable(&id, "CALL_STATE", "menu")
        .await
        .unwrap();
    assert_eq!(
        client.get_variable(&id, "CALL_STATE").await.unwrap(),
        "menu"
    );
    let missing = client.get_variable(&id, "NO_SUCH_VAR").await.unwrap_err();
    assert_eq!(
        missing,
        AriError::NotFound {
            message: "Provided variable was not found".into()
        }
    );

    let play = Play {
        media: vec!["sound:a".into(), "sound:b".into()],
        playback_id: Some(format!("menu-{id}")),
        ..Play::default()
    };
    let pb = client.play(&id, &play).await.unwrap();
    assert_eq!(pb.id, format!("menu-{id}"));
    let started = expect(&mut stream, &["PlaybackStarted"]).await;
    assert_eq!(started[0]["playback"]["next_media_uri"], "sound:b");
    client.stop_playback(&pb.id).await.unwrap();
    let done = expect(&mut stream, &["PlaybackFinished"]).await;
    assert_eq!(done[0]["playback"]["state"], "done");
    assert_eq!(
        client.get_playback(&pb.id).await.unwrap_err().status(),
        Some(404)
    );

    let rec = Record {
        name: format!("msg-{id}"),
        format: "wav".into(),
        terminate_on: Some("#".into()),
        ..Record::default()
    };
    let live = client.record(&id, &rec).await.unwrap();
    assert_eq!(serde_json::to_value(&live).unwrap()["state"], "queued");
    expect(&mut stream, &["RecordingStarted"]).await;
    let now = serde_json::to_value(client.get_live_recording(&rec.name).await.unwrap()).unwrap();
    assert_eq!(now["state"], "recording");
    s.press(&id, '#');
    let ev = expect(&mut stream, &["ChannelDtmfReceived", "RecordingFinished"]).await;
    assert_eq!(ev[1]["recording"]["state"], "done");

    let dial = client.dial(&id, None, None).await.unwrap_err();
    assert_eq!(dial.status(), Some(409));
    let target = DialplanTarget {
        context: Some("ivr-fallback".into()),
        ..DialplanTarget::default()
    };
    client.continue_in_dialplan(&id, &target).await.unwrap();
    expect(&mut stream, &["StasisEnd"]).await;
    assert_eq!(
        client.answer(&id).await.unwrap_err(),
        AriError::NotFound {
            message: "Channel not found".into()
        }
    );

    let info = client.asterisk_info(&[]).await.unwrap();
    assert_eq!(
        serde_json::to_value(info).unwrap()["system"]["version"],
        "22.10.1"
    );
    assert_eq!(client.list_endpoints().await.unwrap().len(), 1);

    let mut wrong = s.config();
    wrong.password = "nope".to_owned().into();
    let denied = AriClient::new(&wrong)
        .unwrap()
        .list_channels()
        .await
        .unwrap_err();
    assert!(
        matches!(denied, AriError::Unauthorized { .. }),
        "{denied:?}"
    );
    assert_valid(&s);
}

#[tokio::test]
async fn a_caller_who_abandons_while_the_agent_rings_leaves_a_leg_we_end_as_answered_elsewhere() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    s.phone("1001", Behaviour::NoAnswer);
    expect(&mut stream, &["EndpointStateChange"]).await;
    let caller = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    client.answer(&caller).await.unwrap();
    client.start_moh(&caller, Some("default")).await.unwrap();
    assert_eq!(s.moh(&caller).as_deref(), Some("default"));
    let agent = client
        .create_channel(&CreateChannel {
            endpoint: "PJSIP/1001".into(),
            app_args: vec!["agent".into(), "1001".into()],
            channel_id: Some(format!("agent-{caller}")),
            originator: Some(caller.clone()),
            ..CreateChannel::default()
        })
        .await
        .unwrap();
    client
        .dial(&agent.id, Some(&caller), Some(30))
        .await
        .unwrap();
    let again = client
        .dial(&agent.id, Some(&caller), Some(30))
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(409));
    expect(
        &mut stream,
        &[
            "ChannelStateChange",
            "StasisStart",
            "Dial",
            "ChannelStateChange",
            "Dial",
        ],
    )
    .await;

    s.caller_hangs_up(&caller);
    let ev = expect(
        &mut stream,
        &["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"],
    )
    .await;
    assert_eq!(ev[2]["channel"]["id"], caller.as_str());
    client
        .hangup(&agent.id, Some(HangupReason::AnsweredElsewhere))
        .await
        .unwrap();
    let ev = expect(
        &mut stream,
        &[
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelHangupRequest",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert_eq!(ev[3]["cause"], 26);
    assert_eq!(ev[3]["channel"]["state"], "Ringing");
    let late = client.stop_moh(&caller).await.unwrap_err();
    assert_eq!(
        late,
        AriError::NotFound {
            message: "Channel not found".into()
        }
    );
    assert!(s.channels().is_empty());
    assert_valid(&s);
}

#[tokio::test]
async fn the_events_socket_takes_an_api_key_and_refuses_no_auth_or_no_app() {
    use tokio_tungstenite::tungstenite::Error;
    let s = AriStandIn::start().await;
    let ws = s.url().replacen("http://", "ws://", 1);
    let key = format!("api_key={}:{}", super::USERNAME, super::PASSWORD);
    let status = |r: Result<_, Error>| match r {
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
        Ok(_) => 101,
    };
    let open = tokio_tungstenite::connect_async(format!("{ws}/events?app=switchboard&{key}")).await;
    assert_eq!(status(open.map(|_| ())), 101);
    let anonymous = tokio_tungstenite::connect_async(format!("{ws}/events?app=switchboard")).await;
    assert_eq!(status(anonymous.map(|_| ())), 401);
    let no_app = tokio_tungstenite::connect_async(format!("{ws}/events?{key}")).await;
    assert_eq!(status(no_app.map(|_| ())), 400);
}

#[tokio::test]
async fn pjsip_objects_pushed_over_dynamic_configuration_are_created_merged_read_and_deleted() {
    use switchboard::voice::ari::models::ConfigTuple;
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    let missing = client
        .get_config("res_pjsip", "endpoint", "2001")
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        AriError::NotFound {
            message: "Object with id '2001' not found".into()
        }
    );
    for (kind, fields) in [
        ("auth", vec![ConfigTuple::new("username", "2001")]),
        ("aor", vec![ConfigTuple::new("max_contacts", "1")]),
        (
            "endpoint",
            vec![
                ConfigTuple::new("auth", "2001"),
                ConfigTuple::new("aors", "2001"),
            ],
        ),
    ] {
        let got = client
            .put_config("res_pjsip", kind, "2001", &fields)
            .await
            .unwrap();
        assert!(fields.iter().all(|f| got.contains(f)), "{kind}: {got:?}");
    }
    // A PUT merges into the object it names.
    let merged = client
        .put_config(
            "res_pjsip",
            "endpoint",
            "2001",
            &[ConfigTuple::new("context", "from-agents")],
        )
        .await
        .unwrap();
    assert!(merged.contains(&ConfigTuple::new("aors", "2001")));
    assert!(merged.contains(&ConfigTuple::new("context", "from-agents")));
    assert_eq!(
        client
            .get_config("res_pjsip", "endpoint", "2001")
            .await
            .unwrap(),
        merged
    );
    let unknown = client
        .put_config("res_pjsip", "nosuchtype", "x", &[])
        .await
        .unwrap_err();
    assert_eq!(
        unknown,
        AriError::NotFound {
            message: "objectType 'nosuchtype' not found".into()
        }
    );

    // Provisioned but not registered: offline, and a call to it cannot be placed.
    let endpoint =
        serde_json::to_value(client.get_endpoint("PJSIP", "2001").await.unwrap()).unwrap();
    assert_eq!(endpoint["state"], "offline");
    // The phone registers; a ringing leg is answered when the agent picks up.
    s.phone("2001", Behaviour::NoAnswer);
    expect(&mut stream, &["EndpointStateChange"]).await;
    let leg = client
        .originate(&Originate {
            endpoint: "PJSIP/2001".into(),
            app_args: vec!["leg".into(), "k".into()],
            ..Originate::default()
        })
        .await
        .unwrap();
    expect(&mut stream, &["Dial", "ChannelStateChange", "Dial"]).await;
    s.agent_answers(&leg.id);
    let ev = expect(&mut stream, &["ChannelStateChange", "Dial", "StasisStart"]).await;
    assert_eq!(ev[1]["dialstatus"], "ANSWER");
    s.agent_hangs_up(&leg.id);
    expect(
        &mut stream,
        &["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"],
    )
    .await;

    for kind in ["endpoint", "aor", "auth"] {
        client
            .delete_config("res_pjsip", kind, "2001")
            .await
            .unwrap();
    }
    let gone = client
        .delete_config("res_pjsip", "endpoint", "2001")
        .await
        .unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert_valid(&s);
}

#[tokio::test]
async fn an_event_filter_keeps_the_types_it_disallows_from_the_app_as_asterisk_does() {
    let s = AriStandIn::start().await;
    let (client, mut stream) = connect(&s).await;
    let app = client.filter_events(&["ChannelStateChange"]).await.unwrap();
    assert_eq!(app.events_allowed, Vec::<Value>::new());
    assert_eq!(
        app.events_disallowed,
        vec![serde_json::json!({"type": "ChannelStateChange"})]
    );
    let filter = s
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/eventFilter"))
        .expect("the filter was sent");
    assert_eq!(filter.method, "PUT");
    assert_eq!(filter.path, "/ari/applications/switchboard/eventFilter");
    // The spec's body parameter `filter` is the body itself.
    assert_eq!(
        filter.body,
        Some(serde_json::json!({"allowed": [], "disallowed": [{"type": "ChannelStateChange"}]}))
    );

    // Answering changes the channel's state: no event for it reaches the app.
    let id = s.inbound_call(DID, CALLER);
    expect(&mut stream, &["StasisStart"]).await;
    client.answer(&id).await.unwrap();
    client.hangup(&id, None).await.unwrap();
    expect(
        &mut stream,
        &[
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelHangupRequest",
            "ChannelDestroyed",
        ],
    )
    .await;
    assert!(
        s.emitted()
            .iter()
            .all(|e| e["type"] != "ChannelStateChange")
    );
    // The application shows its filter.
    let listed = client.get_application().await.unwrap();
    assert_eq!(listed.events_disallowed.len(), 1, "{listed:?}");
    assert_valid(&s);
}
