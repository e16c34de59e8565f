//! Every frame and every REST answer captured from a real Asterisk 22.10.1 must parse with our
//! client and say the same as the raw JSON (`captured/README.md` describes the files).

use std::collections::BTreeMap;
use std::fs;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ari_reference, differences};
use crate::voice::ari::models::*;
use crate::voice::ari::ops::Op;
use crate::voice::ari::{AriError, Event, EventMessage};

fn scenario_files(name: &str) -> Vec<(String, String)> {
    let root = ari_reference().join("captured");
    let mut out = Vec::new();
    for entry in fs::read_dir(&root).expect("captured/ is readable") {
        let dir = entry.expect("directory entry").path();
        let file = dir.join(name);
        if file.is_file() {
            let scenario = dir.file_name().unwrap().to_string_lossy().into_owned();
            out.push((
                scenario,
                fs::read_to_string(&file).expect("readable capture"),
            ));
        }
    }
    out.sort();
    assert!(
        out.len() >= 12,
        "expected the 12 captured scenarios, found {}",
        out.len()
    );
    out
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn i(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// The fields the call layer will act on, compared one by one (the generic comparison
/// below covers the rest).
fn check_key_fields(event: &Event, raw: &Value, at: &str) {
    if let Some(channel) = event.channel() {
        let key = if matches!(event, Event::Dial(_)) {
            "/peer"
        } else {
            "/channel"
        };
        assert_eq!(channel.id, s(raw, &format!("{key}/id")), "{at}");
        assert_eq!(
            channel.state.as_str(),
            s(raw, &format!("{key}/state")),
            "{at}"
        );
        assert!(
            !matches!(channel.state, ChannelState::Other(_)),
            "{at}: unknown channel state"
        );
        assert_eq!(
            channel.caller.number,
            s(raw, &format!("{key}/caller/number")),
            "{at}"
        );
        assert_eq!(
            channel.dialplan.priority,
            i(raw, &format!("{key}/dialplan/priority")),
            "{at}"
        );
    }
    match event {
        Event::StasisStart(e) => {
            let args: Vec<&str> = raw["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(e.args, args, "{at}");
        }
        Event::ChannelDtmfReceived(e) => {
            assert_eq!(e.digit, s(raw, "/digit"), "{at}");
            assert_eq!(e.duration_ms, i(raw, "/duration_ms"), "{at}");
        }
        Event::ChannelDestroyed(e) => {
            assert_eq!(e.cause, i(raw, "/cause"), "{at}");
            assert_eq!(e.cause_txt, s(raw, "/cause_txt"), "{at}");
        }
        Event::ChannelHangupRequest(e) => {
            assert_eq!(e.cause, raw["cause"].as_i64(), "{at}");
            assert_eq!(e.soft, raw["soft"].as_bool(), "{at}");
        }
        Event::ChannelEnteredBridge(e) => assert_eq!(e.bridge.id, s(raw, "/bridge/id"), "{at}"),
        Event::ChannelLeftBridge(e) => assert_eq!(e.bridge.id, s(raw, "/bridge/id"), "{at}"),
        Event::BridgeCreated(e) => {
            assert_eq!(e.bridge.bridge_type, s(raw, "/bridge/bridge_type"), "{at}")
        }
        Event::BridgeDestroyed(e) => assert_eq!(e.bridge.id, s(raw, "/bridge/id"), "{at}"),
        Event::PlaybackStarted(e) => check_playback(&e.playback, raw, at),
        Event::PlaybackContinuing(e) => check_playback(&e.playback, raw, at),
        Event::PlaybackFinished(e) => check_playback(&e.playback, raw, at),
        Event::RecordingStarted(e) => check_recording(&e.recording, raw, at),
        Event::RecordingFinished(e) => check_recording(&e.recording, raw, at),
        Event::Dial(e) => assert_eq!(e.dialstatus, s(raw, "/dialstatus"), "{at}"),
        Event::DeviceStateChanged(e) => {
            assert_eq!(e.device_state.name, s(raw, "/device_state/name"), "{at}");
            assert_eq!(
                e.device_state.state.as_str(),
                s(raw, "/device_state/state"),
                "{at}"
            );
            assert!(
                !matches!(e.device_state.state, DeviceStateValue::Other(_)),
                "{at}"
            );
        }
        Event::PeerStatusChange(e) => {
            assert_eq!(e.peer.peer_status, s(raw, "/peer/peer_status"), "{at}");
            assert_eq!(e.endpoint.resource, s(raw, "/endpoint/resource"), "{at}");
        }
        Event::ContactStatusChange(e) => {
            assert_eq!(
                e.contact_info.contact_status,
                s(raw, "/contact_info/contact_status"),
                "{at}"
            );
        }
        Event::ChannelVarset(e) => {
            assert_eq!(
                (e.variable.as_str(), e.value.as_str()),
                (s(raw, "/variable"), s(raw, "/value")),
                "{at}"
            );
            assert_eq!(e.channel.is_some(), raw.get("channel").is_some(), "{at}");
        }
        Event::RestResponse(e) => {
            assert_eq!(e.status_code, i(raw, "/status_code"), "{at}");
            assert_eq!(e.transaction_id, s(raw, "/transaction_id"), "{at}");
        }
        _ => {}
    }
}

fn check_recording(r: &LiveRecording, raw: &Value, at: &str) {
    assert_eq!(r.name, s(raw, "/recording/name"), "{at}");
    assert_eq!(r.state.as_str(), s(raw, "/recording/state"), "{at}");
    assert!(!matches!(r.state, RecordingState::Other(_)), "{at}");
    assert_eq!(
        r.duration,
        raw.pointer("/recording/duration").and_then(Value::as_i64),
        "{at}"
    );
}

fn check_playback(p: &Playback, raw: &Value, at: &str) {
    assert_eq!(p.id, s(raw, "/playback/id"), "{at}");
    assert_eq!(p.state.as_str(), s(raw, "/playback/state"), "{at}");
    assert!(!matches!(p.state, PlaybackState::Other(_)), "{at}");
    assert_eq!(p.target_uri, s(raw, "/playback/target_uri"), "{at}");
    assert_eq!(
        p.next_media_uri.as_deref(),
        raw.pointer("/playback/next_media_uri")
            .and_then(Value::as_str),
        "{at}"
    );
}

#[test]
fn every_captured_event_parses_into_its_typed_variant_with_the_same_fields() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (scenario, text) in scenario_files("events.jsonl") {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{scenario}/events.jsonl:{}", n + 1);
            let raw: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            let message = EventMessage::parse(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            // The text is read straight into the model; reading it through a `Value` (the path
            // of odd frames) must give the same event.
            assert_eq!(message, EventMessage::from_value(raw.clone()), "{at}");
            let kind = s(&raw, "/type");
            *seen.entry(kind.to_owned()).or_default() += 1;
            assert_eq!(message.event.kind(), kind, "{at}");
            assert_eq!(message.application, s(&raw, "/application"), "{at}");
            assert_eq!(message.timestamp, s(&raw, "/timestamp"), "{at}");
            assert_eq!(
                message.asterisk_id.as_deref(),
                raw["asterisk_id"].as_str(),
                "{at}"
            );
            if Event::MODELED.contains(&kind) {
                assert!(
                    !matches!(message.event, Event::Other { .. }),
                    "{at}: {kind} fell into Other"
                );
            }
            check_key_fields(&message.event, &raw, &at);
            let mut diffs = Vec::new();
            differences(&message.event.to_value(), &raw, "", &mut diffs);
            assert!(diffs.is_empty(), "{at}: {diffs:#?}");
        }
    }
    // The README's totals: nothing was skipped.
    assert_eq!(seen.values().sum::<usize>(), 480, "{seen:?}");
    assert_eq!(seen["ChannelDestroyed"], 17);
}

#[test]
fn an_unknown_or_unfitting_event_is_kept_raw() {
    let unknown = r#"{"type":"CallBroadcast","application":"sb","timestamp":"t","caller":"1"}"#;
    let m = EventMessage::parse(unknown).unwrap();
    assert!(
        matches!(&m.event, Event::Other { kind, raw } if kind == "CallBroadcast" && raw["caller"] == "1")
    );
    // A modelled type whose payload does not fit its model (cause as text) is not lost.
    let odd = r#"{"type":"ChannelDestroyed","application":"sb","timestamp":"t","cause":"busy","channel":{"id":"c"}}"#;
    let m = EventMessage::parse(odd).unwrap();
    assert_eq!(m.event.kind(), "ChannelDestroyed");
    assert!(matches!(m.event, Event::Other { .. }));
    assert!(EventMessage::parse("[1,2]").is_err());
    // An envelope field of the wrong type does not lose the event either.
    let numbered = r#"{"type":"ChannelDestroyed","application":7,"timestamp":"t","cause":16,"cause_txt":"x","channel":{"id":"c"}}"#;
    let m = EventMessage::parse(numbered).unwrap();
    assert_eq!(m.application, "");
    assert_eq!(m.event.channel().map(|c| c.id.as_str()), Some("c"));
}

/// Parses `body` as the model `returns` names and compares it with the raw JSON.
fn parse_as(returns: &str, body: &str) -> Result<Vec<String>, AriError> {
    fn check<T: DeserializeOwned + Serialize>(
        op: &str,
        body: &str,
    ) -> Result<Vec<String>, AriError> {
        let typed: T = crate::voice::ari::rest_decode(op, body.as_bytes())?;
        let raw: Value = serde_json::from_str(body).expect("captured body is JSON");
        let mut diffs = Vec::new();
        differences(
            &serde_json::to_value(&typed).expect("serialises"),
            &raw,
            "",
            &mut diffs,
        );
        Ok(diffs)
    }
    match returns {
        "Channel" => check::<Channel>(returns, body),
        "List[Channel]" => check::<Vec<Channel>>(returns, body),
        "Bridge" => check::<Bridge>(returns, body),
        "List[Bridge]" => check::<Vec<Bridge>>(returns, body),
        "Playback" => check::<Playback>(returns, body),
        "LiveRecording" => check::<LiveRecording>(returns, body),
        "StoredRecording" => check::<StoredRecording>(returns, body),
        "List[StoredRecording]" => check::<Vec<StoredRecording>>(returns, body),
        "Endpoint" => check::<Endpoint>(returns, body),
        "List[Endpoint]" => check::<Vec<Endpoint>>(returns, body),
        "DeviceState" => check::<DeviceState>(returns, body),
        "List[DeviceState]" => check::<Vec<DeviceState>>(returns, body),
        "Variable" => check::<Variable>(returns, body),
        "List[ConfigTuple]" => check::<Vec<ConfigTuple>>(returns, body),
        "AsteriskInfo" => check::<AsteriskInfo>(returns, body),
        "AsteriskPing" => check::<AsteriskPing>(returns, body),
        "Module" => check::<Module>(returns, body),
        "Sound" => check::<Sound>(returns, body),
        "List[Sound]" => check::<Vec<Sound>>(returns, body),
        "Application" => check::<Application>(returns, body),
        "List[Application]" => check::<Vec<Application>>(returns, body),
        // Only the counters we model are compared; the rest of the object is ignored.
        "RTPstat" => check::<RtpStat>(returns, body),
        other => panic!("no model for responseClass {other}"),
    }
}

#[test]
fn every_captured_rest_exchange_is_an_operation_we_expose_and_its_answer_parses() {
    let mut exchanges = 0;
    for (scenario, text) in scenario_files("rest.jsonl") {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{scenario}/rest.jsonl:{}", n + 1);
            let x: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            exchanges += 1;
            let method = s(&x, "/method");
            let path = s(&x, "/path")
                .strip_prefix("/ari")
                .expect("path under /ari");
            let op = Op::find(method, path)
                .unwrap_or_else(|| panic!("{at}: no operation for {method} {path}"));
            for name in x["query"].as_object().unwrap().keys() {
                assert!(
                    op.query.contains(&name.as_str()),
                    "{at}: {} does not declare `{name}`",
                    op.name
                );
            }
            if let Some(body) = x["request_body"].as_object() {
                for name in body.keys() {
                    assert!(
                        op.body.contains(&name.as_str()),
                        "{at}: {} does not declare body `{name}`",
                        op.name
                    );
                }
            }
            let status = x["status"].as_u64().unwrap() as u16;
            let body = s(&x, "/response_body");
            if (200..300).contains(&status) {
                match op.returns {
                    "void" => assert!(body.is_empty(), "{at}: void answered {body}"),
                    "binary" => {}
                    returns => {
                        let diffs = parse_as(returns, body).unwrap_or_else(|e| panic!("{at}: {e}"));
                        if returns != "RTPstat" {
                            assert!(diffs.is_empty(), "{at}: {diffs:#?}");
                        }
                    }
                }
            } else {
                let err = AriError::from_status(status, body);
                assert_eq!(err.status(), Some(status), "{at}");
                let raw: Value = serde_json::from_str(body).unwrap();
                let said = raw["message"].as_str().or(raw["error"].as_str()).unwrap();
                assert_eq!(err.message(), Some(said), "{at}");
                let variant_ok = match status {
                    404 => err.is_not_found(),
                    409 => matches!(err, AriError::Conflict { .. }),
                    400 => matches!(err, AriError::BadRequest { .. }),
                    401 => matches!(err, AriError::Unauthorized { .. }),
                    403 => matches!(err, AriError::Forbidden { .. }),
                    500 => matches!(err, AriError::Server { .. }),
                    _ => false,
                };
                assert!(variant_ok, "{at}: {status} mapped to {err:?}");
            }
        }
    }
    assert_eq!(exchanges, 152);
}

/// The `RESTRequest` frames the recorder sent on the events socket of a real Asterisk (which
/// answered every one) are what ours look like for the same requests.
#[test]
fn our_requests_over_the_events_socket_are_shaped_like_the_ones_asterisk_answered() {
    let scenario = "j_app_lifecycle_rest_over_ws";
    let file = ari_reference()
        .join("captured")
        .join(scenario)
        .join("ws_sent.jsonl");
    let text = fs::read_to_string(&file).expect("the capture of REST over the events socket");
    let mut checked = 0;
    {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let theirs: Value = serde_json::from_str(line).unwrap();
            let query: Vec<(&str, &str)> = theirs["query_strings"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|q| (s(q, "/name"), s(q, "/value")))
                        .collect()
                })
                .unwrap_or_default();
            let ours = crate::voice::ari::socket_rest::frame(
                s(&theirs, "/request_id"),
                s(&theirs, "/method"),
                s(&theirs, "/uri"),
                &query,
                theirs["message_body"].as_str(),
            );
            let mut ours: Value = serde_json::from_str(&ours).unwrap();
            // The recorder's transaction ids group several requests; ours are one each.
            ours["transaction_id"] = theirs["transaction_id"].clone();
            assert_eq!(ours, theirs, "{scenario}: {line}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 4,
        "the four frames of j_app_lifecycle_rest_over_ws"
    );
}
