//! The client against a small ARI-shaped server on loopback: what goes on the wire (auth,
//! paths, query encoding, bodies), how answers map to errors, and the events stream
//! including a reconnect. Not a stand-in: it answers whatever each test scripts.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::ari_reference;
use crate::config::AsteriskConfig;
use crate::voice::ari::ops::Op;
use crate::voice::ari::{
    AriClient, AriError, Event, EventStream, Originate, Play, StreamEvent, StreamOptions,
};

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    auth: Option<String>,
    body: String,
}

/// A scripted answer: status, delay, body.
type Answer = (u16, Duration, String);

#[derive(Default)]
struct Mock {
    requests: Mutex<Vec<Recorded>>,
    /// (method, raw path) → (status, delay, body); unscripted requests get 204.
    answers: Mutex<HashMap<(String, String), Answer>>,
    /// Frames to send on each successive events connection; all but the last are closed.
    sessions: Mutex<VecDeque<Vec<String>>>,
    upgrades: Mutex<Vec<Recorded>>,
}

impl Mock {
    fn answer(&self, method: &str, path: &str, status: u16, body: &str) {
        self.answers.lock().unwrap().insert(
            (method.into(), path.into()),
            (status, Duration::ZERO, body.into()),
        );
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn record(method: &str, uri: &Uri, headers: &HeaderMap, body: String) -> Recorded {
    Recorded {
        method: method.into(),
        path: uri.path().into(),
        query: uri.query().unwrap_or_default().into(),
        auth: headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned()),
        body,
    }
}

async fn rest(State(mock): State<Arc<Mock>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let r = record(
        parts.method.as_str(),
        &parts.uri,
        &parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    );
    let key = (r.method.clone(), r.path.clone());
    mock.requests.lock().unwrap().push(r);
    let answer = mock.answers.lock().unwrap().get(&key).cloned();
    match answer {
        Some((status, delay, body)) => {
            tokio::time::sleep(delay).await;
            let status = StatusCode::from_u16(status).unwrap();
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn events(
    State(mock): State<Arc<Mock>>,
    uri: Uri,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    mock.upgrades
        .lock()
        .unwrap()
        .push(record("GET", &uri, &headers, String::new()));
    let (frames, last) = {
        let mut sessions = mock.sessions.lock().unwrap();
        (
            sessions.pop_front().unwrap_or_default(),
            sessions.is_empty(),
        )
    };
    ws.on_upgrade(move |mut socket| async move {
        for frame in frames {
            if socket.send(Message::Text(frame.into())).await.is_err() {
                return;
            }
        }
        if !last {
            // As Asterisk does when it drops a slow reader or stops.
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        while let Some(Ok(_)) = socket.recv().await {}
    })
}

async fn serve(mock: Arc<Mock>) -> SocketAddr {
    let app = Router::new()
        .route("/ari/events", get(events))
        .fallback(rest)
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn server_config(addr: SocketAddr) -> AsteriskConfig {
    AsteriskConfig {
        username: "sb-user".into(),
        password: SecretString::from("pa:ss word"),
        request_timeout_secs: 1,
        ..AsteriskConfig::for_url(&format!("http://{addr}/ari"))
    }
}

/// `Basic base64("sb-user:pa:ss word")`.
const AUTH: &str = "Basic c2ItdXNlcjpwYTpzcyB3b3Jk";

fn captured_channel() -> String {
    let rest = std::fs::read_to_string(
        ari_reference().join("captured/h_originate_agent_answer/rest.jsonl"),
    )
    .unwrap();
    let first: Value = serde_json::from_str(rest.lines().next().unwrap()).unwrap();
    first["response_body"].as_str().unwrap().to_owned()
}

/// Every recorded request is an operation of the table and sends only declared parameters.
fn assert_declared(requests: &[Recorded]) {
    for r in requests {
        let path = r.path.strip_prefix("/ari").unwrap();
        let op = Op::find(&r.method, path).unwrap_or_else(|| panic!("no operation for {r:?}"));
        for (name, _) in url::form_urlencoded::parse(r.query.as_bytes()) {
            assert!(
                op.query.contains(&name.as_ref()),
                "{}: `{name}` undeclared",
                op.name
            );
        }
        if !r.body.is_empty() {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            for name in body.as_object().unwrap().keys() {
                let declared =
                    op.body.contains(&name.as_str()) || op.query.contains(&name.as_str());
                assert!(declared, "{}: body `{name}` undeclared", op.name);
            }
        }
    }
}

#[tokio::test]
async fn originate_sends_basic_auth_an_encoded_query_and_variables_in_the_body() {
    let mock = Arc::new(Mock::default());
    let addr = serve(mock.clone()).await;
    let channel = captured_channel();
    mock.answer("POST", "/ari/channels", 200, &channel);
    let client = AriClient::new(&server_config(addr)).unwrap();

    let originated = client
        .originate(&Originate {
            endpoint: "PJSIP/1001".into(),
            app_args: vec!["agent".into(), "callback".into()],
            caller_id: Some("\"Switchboard\" <+15551230000>".into()),
            timeout_secs: Some(20),
            channel_id: Some("agent-1001-1795465823".into()),
            originator: Some("1795465740.0".into()),
            variables: BTreeMap::from([("CALLERID(name)".into(), "Switchboard".into())]),
            ..Originate::default()
        })
        .await
        .unwrap();

    assert_eq!(originated.id, "agent-1001-1795465823");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/ari/channels")
    );
    assert_eq!(r.auth.as_deref(), Some(AUTH));
    assert_eq!(
        r.query,
        "endpoint=PJSIP%2F1001&app=switchboard&appArgs=agent%2Ccallback\
         &callerId=%22Switchboard%22+%3C%2B15551230000%3E&timeout=20\
         &channelId=agent-1001-1795465823&originator=1795465740.0"
    );
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"variables": {"CALLERID(name)": "Switchboard"}})
    );
    assert_declared(&requests);
}

#[tokio::test]
async fn paths_are_percent_encoded_and_media_with_commas_goes_in_the_body() {
    let mock = Arc::new(Mock::default());
    let addr = serve(mock.clone()).await;
    mock.answer(
        "GET",
        "/ari/deviceStates/PJSIP%2F1001",
        200,
        r#"{"name":"PJSIP/1001","state":"NOT_INUSE"}"#,
    );
    let playback =
        r#"{"id":"menu-1","media_uri":"sound:a","target_uri":"channel:c 1","state":"queued"}"#;
    mock.answer("POST", "/ari/channels/c%201/play/menu-1", 201, playback);
    let client = AriClient::new(&server_config(addr)).unwrap();

    let state = client.get_device_state("PJSIP/1001").await.unwrap();
    assert_eq!(state.state.as_str(), "NOT_INUSE");
    let play = Play {
        media: vec!["sound:a".into(), "sound:https://tts/x?a=1,2".into()],
        lang: Some("en".into()),
        playback_id: Some("menu-1".into()),
        ..Play::default()
    };
    let pb = client.play("c 1", &play).await.unwrap();
    assert_eq!(pb.channel_id(), Some("c 1"));
    client
        .add_channels("b1", &["c1", "c2"], &Default::default())
        .await
        .unwrap();

    let requests = mock.requests();
    assert_eq!(requests[1].query, "lang=en");
    let body: Value = serde_json::from_str(&requests[1].body).unwrap();
    assert_eq!(
        body,
        json!({"media": ["sound:a", "sound:https://tts/x?a=1,2"]})
    );
    assert_eq!(requests[2].path, "/ari/bridges/b1/addChannel");
    assert_eq!(requests[2].query, "channel=c1%2Cc2");
    assert_declared(&requests);
}

#[tokio::test]
async fn errors_keep_the_status_and_asterisks_message() {
    let mock = Arc::new(Mock::default());
    let addr = serve(mock.clone()).await;
    mock.answer(
        "GET",
        "/ari/channels/gone",
        404,
        r#"{"message":"Channel not found"}"#,
    );
    mock.answer(
        "POST",
        "/ari/channels",
        409,
        r#"{"message":"Channel with given unique ID already exists"}"#,
    );
    mock.answer(
        "POST",
        "/ari/channels/create",
        500,
        r#"{"error":"Allocation failed"}"#,
    );
    mock.answer(
        "PUT",
        "/ari/asterisk/config/dynamic/res_pjsip/endpoint/9",
        400,
        r#"{"message":"Update of object '9' failed field value validation"}"#,
    );
    mock.answer(
        "GET",
        "/ari/asterisk/ping",
        401,
        r#"{"message":"Authentication required"}"#,
    );
    mock.answer("GET", "/ari/bridges/odd", 200, r#"{"id":5}"#);
    mock.answers.lock().unwrap().insert(
        ("GET".into(), "/ari/endpoints".into()),
        (200, Duration::from_secs(3), "[]".into()),
    );
    let client = AriClient::new(&server_config(addr)).unwrap();

    let e = client.get_channel("gone").await.unwrap_err();
    assert!(
        e.is_not_found() && e.message() == Some("Channel not found"),
        "{e:?}"
    );
    let o = Originate {
        endpoint: "PJSIP/1001".into(),
        ..Originate::default()
    };
    let e = client.originate(&o).await.unwrap_err();
    assert!(
        matches!(&e, AriError::Conflict { status: 409, message } if message.contains("already exists")),
        "{e:?}"
    );
    let e = client
        .create_channel(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AriError::Server {
            status: 500,
            message: "Allocation failed".into()
        }
    );
    let e = client
        .put_config("res_pjsip", "endpoint", "9", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e, AriError::BadRequest { status: 400, .. }),
        "{e:?}"
    );
    let e = client.ping().await.unwrap_err();
    assert!(matches!(e, AriError::Unauthorized { .. }), "{e:?}");
    let e = client.get_bridge("odd").await.unwrap_err();
    assert!(
        matches!(&e, AriError::Decode(m) if m.contains("bridges.get") && m.contains("id")),
        "{e:?}"
    );
    let e = client.list_endpoints().await.unwrap_err();
    assert_eq!(e, AriError::Timeout);
    // A void operation answered 204 is fine.
    client
        .hangup(
            "c1",
            Some(crate::voice::ari::HangupReason::AnsweredElsewhere),
        )
        .await
        .unwrap();
    assert_eq!(
        mock.requests().last().unwrap().query,
        "reason=answered_elsewhere"
    );

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let e = AriClient::new(&server_config(closed))
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, AriError::Transport(_)), "{e:?}");
}

async fn next(stream: &mut EventStream) -> StreamEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("the stream delivers in time")
        .expect("the stream is open")
}

#[tokio::test]
async fn the_event_stream_delivers_typed_events_and_comes_back_after_a_drop() {
    let captured =
        std::fs::read_to_string(ari_reference().join("captured/a_inbound_playback/events.jsonl"))
            .unwrap();
    let lines: Vec<String> = captured.lines().map(str::to_owned).collect();
    let (first, second) = lines.split_at(8);
    let mock = Arc::new(Mock::default());
    mock.sessions
        .lock()
        .unwrap()
        .extend([first.to_vec(), second.to_vec()]);
    let addr = serve(mock.clone()).await;
    let mut opts = StreamOptions::from_config(&server_config(addr));
    opts.backoff_initial = Duration::from_millis(20);
    opts.backoff_max = Duration::from_millis(100);
    let mut stream = EventStream::spawn(opts).unwrap();

    let kinds = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    // The first connection is closed by the server after its frames; the second stays open.
    for (connection, expected) in [kinds(first), kinds(second)].into_iter().enumerate() {
        assert_eq!(next(&mut stream).await, StreamEvent::Connected);
        for kind in expected {
            match next(&mut stream).await {
                StreamEvent::Event(m) => {
                    assert_eq!(m.event.kind(), kind);
                    assert!(!matches!(m.event, Event::Other { .. }));
                }
                other => panic!("expected {kind}, got {other:?}"),
            }
        }
        if connection == 0 {
            assert!(matches!(
                next(&mut stream).await,
                StreamEvent::Disconnected { .. }
            ));
        }
    }
    let quiet = tokio::time::timeout(Duration::from_millis(200), stream.recv()).await;
    assert!(quiet.is_err(), "nothing after the last frame: {quiet:?}");

    let upgrades = mock.upgrades.lock().unwrap().clone();
    assert_eq!(upgrades.len(), 2);
    for u in &upgrades {
        assert_eq!(u.auth.as_deref(), Some(AUTH));
        assert_eq!(u.query, "app=switchboard&subscribeAll=false");
    }
    tokio::time::timeout(Duration::from_secs(5), stream.shutdown())
        .await
        .expect("shutdown does not hang");
}
