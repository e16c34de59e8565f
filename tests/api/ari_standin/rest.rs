//! The REST side: `/ari/…` requests parsed as Asterisk does (query string, or JSON body keys
//! read as the same parameters) and answered with its status codes and messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::state::{
    Behaviour, Bridge, Exchange, Playback, Recording, Request, Shared, World, reason_cause,
};
use super::{PASSWORD, USERNAME};

/// Basic auth, or `api_key=user:pass` when there is no header (as `ari_websockets.c`).
pub fn authorised(headers: &HeaderMap, query: &[(String, String)]) -> bool {
    let expected = format!("{USERNAME}:{PASSWORD}");
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
            return false;
        };
        return base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .is_ok_and(|raw| raw == expected.as_bytes());
    }
    query
        .iter()
        .any(|(k, v)| k == "api_key" && v.as_str() == expected)
}

pub fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"Asterisk REST Interface\"",
        )],
        axum::Json(json!({"message": "Authentication required"})),
    )
        .into_response()
}

pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Query parameters merged with the body's keys ("other keys in the body object are
/// interpreted as query parameters").
struct Params(BTreeMap<String, Value>);

impl Params {
    fn str(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => s.split(',').map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.str(name).and_then(|s| s.parse().ok())
    }
}

pub(super) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    location: Option<String>,
}

fn ok(body: Value) -> Reply {
    Reply {
        status: 200,
        body: Some(body),
        location: None,
    }
}

fn no_content() -> Reply {
    Reply {
        status: 204,
        body: None,
        location: None,
    }
}

fn created(body: Value, location: String) -> Reply {
    Reply {
        status: 201,
        body: Some(body),
        location: Some(location),
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply {
        status,
        body: Some(json!({"message": message})),
        location: None,
    }
}

/// `pattern` with each `*` standing for any run of characters.
fn glob(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let head = parts.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(head) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((tail, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= tail.len() && rest.ends_with(tail)
}

fn channel_not_found() -> Reply {
    error(404, "Channel not found")
}

pub async fn handle(State(shared): State<Arc<Shared>>, req: HttpRequest) -> Response {
    let (parts, body) = req.into_parts();
    let query = parse_query(parts.uri.query());
    if !authorised(&parts.headers, &query) {
        return unauthorised();
    }
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let path = parts.uri.path().to_owned();
    if let Some(response) = stored_file(&shared, &parts.method, &path) {
        return response;
    }
    let reply = answer(&shared, &parts.method, &path, query, body, false);
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = match reply.body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => Response::builder()
            .status(status)
            .body(Body::empty())
            .unwrap(),
    };
    if let Some(location) = reply.location {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&location).unwrap());
    }
    response
}

/// One request, however it came (`path` is `/ari/…`): logged, answered, the answer logged.
pub(super) fn answer(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Vec<(String, String)>,
    body: Option<Value>,
    over_socket: bool,
) -> Reply {
    let mut params: BTreeMap<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(Value::Object(extra)) = &body {
        for (k, v) in extra {
            params.insert(k.clone(), v.clone());
        }
    }
    let reply = {
        let mut world = shared.lock();
        world.requests.push(Request {
            method: method.to_string(),
            path: path.to_owned(),
            query,
            body,
            over_socket,
        });
        let segments: Vec<String> = path
            .trim_start_matches("/ari/")
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let injected = world
            .failures
            .iter()
            .position(|(m, p, ..)| m == method.as_str() && glob(p, path));
        let reply = match injected {
            Some(i) => {
                let (.., status, message) = world.failures.remove(i);
                error(status, &message)
            }
            None => route(&mut world, shared, method, &segs, &Params(params)),
        };
        world.exchanges.push(Exchange {
            method: method.to_string(),
            path: path.to_owned(),
            status: reply.status,
            body: reply.body.clone(),
        });
        reply
    };
    shared.request_seen.notify_waiters();
    reply
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn route(w: &mut World, shared: &Arc<Shared>, method: &Method, segs: &[&str], p: &Params) -> Reply {
    let m = method.as_str();
    match (m, segs) {
        ("GET", ["asterisk", "info"]) => ok(asterisk_info(w.started)),
        ("GET", ["asterisk", "ping"]) => ok(json!({"asterisk_id": super::events::ASTERISK_ID,
            "ping": "pong", "timestamp": super::events::timestamp()})),
        ("GET", ["asterisk", "variable"]) => {
            match p.str("variable").and_then(|v| w.globals.get(&v)) {
                Some(v) => ok(json!({"value": v})),
                None => error(404, "Provided variable was not found"),
            }
        }
        ("POST", ["asterisk", "variable"]) => match p.str("variable") {
            Some(name) => {
                w.globals.insert(name, p.str("value").unwrap_or_default());
                no_content()
            }
            None => error(400, "Variable name is required"),
        },
        (_, ["asterisk", "config", "dynamic", class, kind, id]) => {
            dynamic_config(w, m, class, kind, id, p)
        }
        ("GET", ["endpoints"]) => {
            let mut list: Vec<Value> = w.endpoints().iter().map(|e| w.endpoint_json(e)).collect();
            list.push(
                json!({"technology": "PJSIP", "resource": "trunk", "state": "online",
                             "channel_ids": []}),
            );
            ok(Value::Array(list))
        }
        ("GET", ["endpoints", "PJSIP"]) => {
            let list: Vec<Value> = w.endpoints().iter().map(|e| w.endpoint_json(e)).collect();
            ok(Value::Array(list))
        }
        ("POST", ["applications", app, "subscription"]) if *app == w.app => {
            let sources = p.list("eventSource");
            if sources.is_empty() {
                return error(400, "Missing parameter eventSource");
            }
            for source in &sources {
                if let Some(name) = source.strip_prefix("deviceState:") {
                    w.device_subs.insert(name.to_owned());
                }
            }
            let (allowed, disallowed) = w.event_filter_json();
            ok(json!({
                "name": w.app, "channel_ids": [], "bridge_ids": [],
                "endpoint_ids": ["PJSIP"], "device_names": w.device_subs,
                "events_allowed": allowed, "events_disallowed": disallowed,
            }))
        }
        ("PUT", ["applications", _, "eventFilter"]) if w.event_filter_refused => {
            error(404, "Resource not found")
        }
        ("PUT", ["applications", app, "eventFilter"]) if *app == w.app => event_filter(w, p),
        ("PUT", ["applications", _, "eventFilter"]) => error(404, "Application does not exist."),
        ("GET", ["endpoints", "PJSIP", ext]) if w.endpoints().iter().any(|e| e == ext) => {
            ok(w.endpoint_json(ext))
        }
        ("GET", ["endpoints", ..]) => error(404, "Endpoint not found"),
        ("GET", ["applications", app]) if *app == w.app => ok(application(w)),
        ("GET", ["applications", _]) => error(404, "Application not found"),
        ("GET", ["channels"]) => ok(Value::Array(
            w.channels.values().map(|c| c.json()).collect(),
        )),
        ("POST", ["channels"]) => originate(w, shared, p, None, true),
        ("POST", ["channels", "create"]) => originate(w, shared, p, None, false),
        ("POST", ["channels", id]) => originate(w, shared, p, Some(id.to_string()), true),
        (_, ["channels", id, rest @ ..]) => channel_op(w, shared, m, id, rest, p),
        ("GET", ["bridges"]) => ok(Value::Array(w.bridges.values().map(Bridge::json).collect())),
        ("POST", ["bridges"]) => create_bridge(w, p, p.str("bridgeId")),
        ("POST", ["bridges", id]) if !w.bridges.contains_key(*id) => {
            create_bridge(w, p, Some(id.to_string()))
        }
        (_, ["bridges", id, rest @ ..]) => bridge_op(w, shared, m, id, rest, p),
        ("GET", ["playbacks", id]) => match w.playbacks.get(*id) {
            Some(pb) => ok(pb.json()),
            None => error(404, "Playback not found"),
        },
        ("DELETE", ["playbacks", id]) => {
            if w.playbacks.contains_key(*id) {
                w.finish_playback(shared, id);
                no_content()
            } else {
                error(404, "Playback not found")
            }
        }
        ("GET", ["recordings", "stored"]) => ok(Value::Array(
            w.stored
                .iter()
                .map(|(name, (format, _))| json!({"name": name, "format": format}))
                .collect(),
        )),
        ("GET", ["recordings", "stored", name]) => match w.stored.get(*name) {
            Some((format, _)) => ok(json!({"name": name, "format": format})),
            None => error(404, "Recording not found"),
        },
        ("DELETE", ["recordings", "stored", name]) => match w.stored.remove(*name) {
            Some(_) => no_content(),
            None => error(404, "Recording not found"),
        },
        ("GET", ["recordings", "live", name]) => match w.recordings.get(*name) {
            Some(r) => ok(r.json()),
            None => error(404, "Recording not found"),
        },
        ("POST", ["recordings", "live", name, "stop"]) => {
            if w.recordings.contains_key(*name) {
                w.finish_recording(name);
                no_content()
            } else {
                error(404, "Recording not found")
            }
        }
        _ => error(404, "Resource not found"),
    }
}

/// The object types of `res_pjsip`'s sorcery instance.
const PJSIP_TYPES: [&str; 9] = [
    "auth",
    "aor",
    "endpoint",
    "identify",
    "contact",
    "domain_alias",
    "transport",
    "global",
    "system",
];

/// `PUT applications/{app}/eventFilter`: the body's `allowed` and `disallowed` lists of
/// `{"type": …}` replace the app's; a list left out is kept, an empty body clears both, and
/// anything but a list of `{"type": …}` is a bad request.
fn event_filter(w: &mut World, p: &Params) -> Reply {
    let read = |key: &str| -> Result<Option<Vec<String>>, ()> {
        match p.0.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item["type"].as_str().map(str::to_owned).ok_or(()))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(()),
        }
    };
    let (Ok(allowed), Ok(disallowed)) = (read("allowed"), read("disallowed")) else {
        return error(400, "Bad request.");
    };
    if p.0.is_empty() {
        w.events_allowed.clear();
        w.events_disallowed.clear();
    }
    if let Some(allowed) = allowed {
        w.events_allowed = allowed;
    }
    if let Some(disallowed) = disallowed {
        w.events_disallowed = disallowed;
    }
    ok(application(w))
}

/// Our `Application`: what it holds and what it is sent.
fn application(w: &World) -> Value {
    let (allowed, disallowed) = w.event_filter_json();
    json!({
        "name": w.app,
        "channel_ids": w.channels.values().filter(|c| c.in_stasis).map(|c| &c.id).collect::<Vec<_>>(),
        "bridge_ids": w.bridges.keys().collect::<Vec<_>>(),
        "endpoint_ids": [], "device_names": w.device_subs,
        "events_allowed": allowed, "events_disallowed": disallowed,
    })
}

/// `/asterisk/config/dynamic/res_pjsip/{type}/{id}` with the astdb wizard behind it (ARI.md
/// §5): PUT creates or merges, GET reads, DELETE removes. Asterisk answers with every attribute
/// of the object, defaults included; the stand-in knows no defaults and lists those it was
/// given.
fn dynamic_config(w: &mut World, m: &str, class: &str, kind: &str, id: &str, p: &Params) -> Reply {
    if class != "res_pjsip" {
        return error(404, &format!("configClass '{class}' not found"));
    }
    if !PJSIP_TYPES.contains(&kind) {
        return error(404, &format!("objectType '{kind}' not found"));
    }
    let key = (kind.to_owned(), id.to_owned());
    let tuples = |attrs: &BTreeMap<String, String>| {
        Value::Array(
            attrs
                .iter()
                .map(|(a, v)| json!({"attribute": a, "value": v}))
                .collect(),
        )
    };
    let missing = || error(404, &format!("Object with id '{id}' not found"));
    match m {
        "GET" => w.config.get(&key).map_or_else(missing, |a| ok(tuples(a))),
        "PUT" => {
            let fields = match p.0.get("fields") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            let mut parsed = Vec::new();
            for f in &fields {
                let (Some(a), Some(v)) = (f["attribute"].as_str(), f["value"].as_str()) else {
                    return error(
                        400,
                        &format!("Update of object '{id}' failed field value validation"),
                    );
                };
                parsed.push((a.to_owned(), v.to_owned()));
            }
            let attrs = w.config.entry(key).or_default();
            attrs.extend(parsed);
            let body = tuples(attrs);
            ok(body)
        }
        "DELETE" => w.config.remove(&key).map_or_else(missing, |_| no_content()),
        _ => error(404, "Resource not found"),
    }
}

fn asterisk_info(started: chrono::DateTime<chrono::Utc>) -> Value {
    let started = started.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
    json!({
        "build": {"os": "Linux", "kernel": "6.1.0", "machine": "x86_64", "options": "OPTIONAL_API",
                  "date": "2026-11-23 20:16:13 UTC", "user": "root"},
        "system": {"version": "22.10.1", "entity_id": super::events::ASTERISK_ID},
        "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
        "status": {"startup_time": started, "last_reload_time": started},
    })
}

/// `"Name" <number>` as Asterisk's callerid parser splits it.
fn parse_caller_id(raw: &str) -> (String, String) {
    match raw.split_once('<') {
        Some((name, rest)) => (
            name.trim().trim_matches('"').to_owned(),
            rest.trim_end_matches('>').trim().to_owned(),
        ),
        None => (String::new(), raw.trim().to_owned()),
    }
}

fn originate(
    w: &mut World,
    shared: &Arc<Shared>,
    p: &Params,
    path_id: Option<String>,
    dial: bool,
) -> Reply {
    let Some(endpoint) = p.str("endpoint") else {
        return error(400, "Endpoint must be specified");
    };
    let id = path_id.or_else(|| p.str("channelId"));
    if id.as_ref().is_some_and(|id| w.channels.contains_key(id)) {
        return error(409, "Channel with given unique ID already exists");
    }
    // Unknown technology, unknown endpoint and an endpoint with no contact all fail the
    // same way on Asterisk 22.10.1, synchronously and without events.
    let ext = endpoint.strip_prefix("PJSIP/").unwrap_or_default();
    let reachable = matches!(w.phones.get(ext), Some(b) if *b != Behaviour::Unregistered);
    if !reachable {
        return Reply {
            status: 500,
            body: Some(json!({"error": "Allocation failed"})),
            location: None,
        };
    }
    let originator = p.str("originator");
    if originator
        .as_ref()
        .is_some_and(|o| !w.channels.contains_key(o))
    {
        return error(400, "Provided originator channel was not found");
    }
    let args = p.list("appArgs");
    let caller_id = p.str("callerId").map(|c| parse_caller_id(&c));
    let id = w.agent_leg(ext, id, args, originator.as_deref(), caller_id, !dial);
    if let Some(Value::Object(vars)) = p.0.get("variables") {
        let chan = w.channels.get_mut(&id).unwrap();
        for (k, v) in vars {
            chan.vars
                .insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    let body = w.chan_json(&id);
    if dial {
        let timeout = p.int("timeout").unwrap_or(30).max(0) as u64;
        w.ring_out(shared, &id, timeout);
    }
    ok(body)
}

fn channel_op(
    w: &mut World,
    shared: &Arc<Shared>,
    m: &str,
    id: &str,
    rest: &[&str],
    p: &Params,
) -> Reply {
    let Some(chan) = w.channels.get(id).cloned() else {
        return channel_not_found();
    };
    match (m, rest) {
        ("GET", []) => return ok(chan.json()),
        ("DELETE", []) => {
            let cause = reason_cause(p.str("reason").as_deref(), p.int("reason_code"));
            w.app_hangup(id, cause);
            return no_content();
        }
        _ => {}
    }
    if !chan.in_stasis {
        return error(409, "Channel not in Stasis application");
    }
    match (m, rest) {
        ("POST", ["answer"]) => {
            w.set_state(id, "Up");
            no_content()
        }
        ("POST", ["ring"]) | ("DELETE", ["ring"]) => no_content(),
        ("POST", ["dial"]) => {
            if chan.dialled || chan.ext.is_none() {
                return error(409, "Channel is not in the 'Down' state");
            }
            if let Some(caller) = p.str("caller")
                && !w.channels.contains_key(&caller)
            {
                return error(404, "Caller channel not found");
            }
            let timeout = p.int("timeout").unwrap_or(0).max(0) as u64;
            w.ring_out(shared, id, timeout);
            no_content()
        }
        ("POST", ["continue"]) => {
            let channel = chan.json();
            w.emit("StasisEnd", json!({"channel": channel}));
            if let Some(bridge) = chan.bridge.clone() {
                w.leave_bridge(id, &bridge);
            }
            // Back in the dialplan the channel no longer belongs to the app, and with
            // subscribeAll=false its later events do not reach us.
            w.channels.remove(id);
            no_content()
        }
        ("POST", ["moh"]) => {
            w.channels.get_mut(id).unwrap().moh =
                Some(p.str("mohClass").unwrap_or_else(|| "default".into()));
            no_content()
        }
        ("DELETE", ["moh"]) => {
            w.channels.get_mut(id).unwrap().moh = None;
            no_content()
        }
        ("GET", ["variable"]) => {
            let Some(name) = p.str("variable") else {
                return error(400, "Variable name is required");
            };
            match chan.vars.get(&name) {
                Some(v) => ok(json!({"value": v})),
                None => error(404, "Provided variable was not found"),
            }
        }
        ("POST", ["variable"]) => {
            let Some(name) = p.str("variable") else {
                return error(400, "Variable name is required");
            };
            let value = p.str("value").unwrap_or_default();
            w.channels.get_mut(id).unwrap().vars.insert(name, value);
            no_content()
        }
        ("POST", ["play"]) => play(w, shared, &format!("channel:{id}"), None, p, 1),
        ("POST", ["play", pb]) => play(
            w,
            shared,
            &format!("channel:{id}"),
            Some(pb.to_string()),
            p,
            1,
        ),
        ("POST", ["record"]) => record(w, shared, &format!("channel:{id}"), Some(id.to_owned()), p),
        _ => error(404, "Resource not found"),
    }
}

fn play(
    w: &mut World,
    shared: &Arc<Shared>,
    target: &str,
    id: Option<String>,
    p: &Params,
    copies: usize,
) -> Reply {
    let media = p.list("media");
    if media.is_empty() {
        return error(400, "missing params: media");
    }
    let id = id
        .or_else(|| p.str("playbackId"))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if w.playbacks.contains_key(&id) {
        return error(409, "A playback with that id already exists");
    }
    w.playback_order += 1;
    let pb = Playback {
        id: id.clone(),
        media,
        index: 0,
        target_uri: target.into(),
        state: "queued".into(),
        copies,
        order: w.playback_order,
    };
    let body = pb.json();
    // Playbacks on one target queue: this one starts when those before it are done.
    let busy = w.target_busy(target);
    w.playbacks.insert(id.clone(), pb);
    if !busy {
        w.start_playback(shared, &id);
    }
    created(body, format!("/playbacks/{id}"))
}

fn record(
    w: &mut World,
    shared: &Arc<Shared>,
    target: &str,
    channel: Option<String>,
    p: &Params,
) -> Reply {
    let (Some(name), Some(format)) = (p.str("name"), p.str("format")) else {
        return error(400, "Recording name and format are required");
    };
    if w.recordings
        .get(&name)
        .is_some_and(|r| r.state == "recording")
    {
        return error(409, "Recording with the same name is in progress");
    }
    let rec = Recording {
        name: name.clone(),
        format,
        target_uri: target.into(),
        channel,
        state: "queued".into(),
        started: tokio::time::Instant::now(),
        terminate_on: p.str("terminateOn"),
    };
    let body = rec.json();
    w.recordings.insert(name.clone(), rec);
    let r = w.recordings.get_mut(&name).unwrap();
    r.state = "recording".into();
    let started = r.json();
    w.emit("RecordingStarted", json!({"recording": started}));
    if let Some(max) = p.int("maxDurationSeconds").filter(|m| *m > 0) {
        let name = name.clone();
        super::state::later(
            shared,
            std::time::Duration::from_secs(max as u64),
            move |w, _| w.finish_recording(&name),
        );
    }
    created(body, format!("/recordings/live/{name}"))
}

fn create_bridge(w: &mut World, p: &Params, id: Option<String>) -> Reply {
    let kind = p.list("type");
    let kind = if kind.iter().any(|k| k == "holding") {
        "holding"
    } else {
        "mixing"
    };
    let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let bridge = Bridge {
        id: id.clone(),
        name: p.str("name").unwrap_or_default(),
        kind: kind.into(),
        channels: Vec::new(),
        creationtime: super::events::timestamp(),
        moh: None,
    };
    let body = bridge.json();
    w.bridges.insert(id, bridge);
    w.emit("BridgeCreated", json!({"bridge": body}));
    ok(body)
}

fn bridge_op(
    w: &mut World,
    shared: &Arc<Shared>,
    m: &str,
    id: &str,
    rest: &[&str],
    p: &Params,
) -> Reply {
    let Some(bridge) = w.bridges.get(id) else {
        return error(404, "Bridge not found");
    };
    match (m, rest) {
        ("GET", []) => ok(bridge.json()),
        ("DELETE", []) => {
            w.destroy_bridge(id);
            no_content()
        }
        ("POST", ["addChannel"]) => {
            let chans = p.list("channel");
            if chans.is_empty() {
                return error(400, "missing params: channel");
            }
            for c in &chans {
                match w.channels.get(c) {
                    None => return error(400, "Channel not found"),
                    Some(ch) if !ch.in_stasis => {
                        return error(422, "Channel not in Stasis application");
                    }
                    Some(_) => {}
                }
            }
            for c in &chans {
                w.enter_bridge(c, id);
            }
            no_content()
        }
        ("POST", ["removeChannel"]) => {
            let chans = p.list("channel");
            for c in &chans {
                match w.channels.get(c) {
                    None => return error(400, "Channel not found"),
                    Some(ch) if ch.bridge.as_deref() != Some(id) => {
                        return error(422, "Channel not in this bridge");
                    }
                    Some(_) => {}
                }
            }
            for c in &chans {
                w.leave_bridge(c, id);
            }
            no_content()
        }
        ("POST", ["moh"]) => {
            w.bridges.get_mut(id).unwrap().moh =
                Some(p.str("mohClass").unwrap_or_else(|| "default".into()));
            no_content()
        }
        ("DELETE", ["moh"]) => {
            w.bridges.get_mut(id).unwrap().moh = None;
            no_content()
        }
        ("POST", ["play"]) => play(w, shared, &format!("bridge:{id}"), None, p, 2),
        ("POST", ["play", pb]) => play(
            w,
            shared,
            &format!("bridge:{id}"),
            Some(pb.to_string()),
            p,
            2,
        ),
        ("POST", ["record"]) => record(w, shared, &format!("bridge:{id}"), None, p),
        _ => error(404, "Resource not found"),
    }
}

/// `GET /recordings/stored/{name}/file`: the audio itself (an 8 kHz mono WAV of silence as
/// long as the recording), which the JSON replies cannot carry.
fn stored_file(shared: &Arc<Shared>, method: &Method, path: &str) -> Option<Response> {
    let name = path
        .strip_prefix("/ari/recordings/stored/")?
        .strip_suffix("/file")?;
    if method != Method::GET {
        return None;
    }
    let name = percent_decode(name);
    let mut world = shared.lock();
    world.requests.push(Request {
        method: "GET".into(),
        path: path.to_owned(),
        query: Vec::new(),
        body: None,
        over_socket: false,
    });
    let found = world.stored.get(&name).cloned();
    world.exchanges.push(Exchange {
        method: "GET".into(),
        path: path.to_owned(),
        status: if found.is_some() { 200 } else { 404 },
        body: None,
    });
    drop(world);
    shared.request_seen.notify_waiters();
    Some(match found {
        Some((_, secs)) => {
            let samples = (secs.max(1) * 8000) as u32;
            let mut wav = Vec::with_capacity(44 + samples as usize * 2);
            wav.extend_from_slice(b"RIFF");
            wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
            wav.extend_from_slice(b"WAVEfmt ");
            wav.extend_from_slice(&16u32.to_le_bytes());
            wav.extend_from_slice(&1u16.to_le_bytes());
            wav.extend_from_slice(&1u16.to_le_bytes());
            wav.extend_from_slice(&8000u32.to_le_bytes());
            wav.extend_from_slice(&16000u32.to_le_bytes());
            wav.extend_from_slice(&2u16.to_le_bytes());
            wav.extend_from_slice(&16u16.to_le_bytes());
            wav.extend_from_slice(b"data");
            wav.extend_from_slice(&(samples * 2).to_le_bytes());
            wav.resize(44 + samples as usize * 2, 0);
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "audio/wav")
                .body(Body::from(wav))
                .unwrap()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Recording not found"})),
        )
            .into_response(),
    })
}
