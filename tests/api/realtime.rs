//! The real-time event stream: sequence numbers, replay of what was missed, visibility by
//! role, and the WebSocket's authentication.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{Client, PASSWORD, TestApp, spawn_app, unique_email};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signs in with a raw request and returns the session cookie (`sb_session=…`).
async fn cookie(app: &TestApp, email: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn connect(
    app: &TestApp,
    tid: i64,
    since: Option<i64>,
    cookie: &str,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let base = app.base.replace("http://", "ws://");
    let url = match since {
        Some(s) => format!("{base}/api/v1/ws?tenant={tid}&since={s}"),
        None => format!("{base}/api/v1/ws?tenant={tid}"),
    };
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// Frames until `ready` (the replay), then nothing else pending.
async fn replayed(ws: &mut Socket) -> (Vec<Value>, i64) {
    let mut events = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match v["type"].as_str() {
            Some("ready") => return (events, v["seq"].as_i64().unwrap()),
            Some("event") => events.push(v),
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn next_event(ws: &mut Socket) -> Value {
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("event in time")
        .unwrap()
        .unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

struct World {
    tid: i64,
    op: Client,
    qid: i64,
    agent_a: (i64, String, Client),
    agent_b: (i64, String, Client),
    sup: (i64, String),
}

async fn world(app: &TestApp) -> World {
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "live").await;
    let mut people = Vec::new();
    for role in ["agent", "agent", "supervisor"] {
        let email = unique_email(role);
        let r = op
            .post(
                &format!("/api/v1/tenants/{tid}/users"),
                json!({"email": email, "name": role, "role": role, "password": PASSWORD}),
            )
            .await;
        people.push((r.body["user"]["id"].as_i64().unwrap(), email));
    }
    let (a, b) = (people[0].clone(), people[1].clone());
    let r = op.post(&format!("/api/v1/tenants/{tid}/queues"), json!({"name": "Live", "settings": {"strategy": "linear"}, "members": [{"user_id": a.0}, {"user_id": b.0}]})).await;
    let qid = r.body["id"].as_i64().unwrap();
    let client_a = app.login(&a.1, PASSWORD).await;
    let client_b = app.login(&b.1, PASSWORD).await;
    World {
        tid,
        op,
        qid,
        agent_a: (a.0, a.1, client_a),
        agent_b: (b.0, b.1, client_b),
        sup: people[2].clone(),
    }
}

#[tokio::test]
async fn offers_reach_only_their_agent_and_supervisors_see_everything_in_sequence() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut ws_a = connect(&app, w.tid, None, &cookie(&app, &w.agent_a.1).await, None)
        .await
        .unwrap();
    let mut ws_b = connect(&app, w.tid, None, &cookie(&app, &w.agent_b.1).await, None)
        .await
        .unwrap();
    let mut ws_sup = connect(&app, w.tid, None, &cookie(&app, &w.sup.1).await, None)
        .await
        .unwrap();
    for ws in [&mut ws_a, &mut ws_b, &mut ws_sup] {
        assert!(
            replayed(ws).await.0.is_empty(),
            "without `since` only new events come"
        );
    }
    let presence = w
        .agent_a
        .2
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/me/presence", w.tid),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(presence.status, StatusCode::OK);
    let r =
        w.op.post(
            &format!("/api/v1/tenants/{}/routing/contacts", w.tid),
            json!({"queue_id": w.qid, "medium": "chat", "channel": "widget"}),
        )
        .await;
    let cid = r.body["id"].as_i64().unwrap();

    let p = next_event(&mut ws_a).await;
    assert_eq!(
        (p["kind"].as_str(), p["payload"]["user_id"].as_i64()),
        (Some("presence"), Some(w.agent_a.0))
    );
    let offer = next_event(&mut ws_a).await;
    assert_eq!(
        (
            offer["kind"].as_str(),
            offer["payload"]["contact_id"].as_i64()
        ),
        (Some("offer"), Some(cid))
    );
    assert!(offer["payload"]["deadline"].is_string());
    assert_eq!(
        offer["seq"].as_i64(),
        Some(p["seq"].as_i64().unwrap() + 1),
        "gapless sequence"
    );

    let sup_p = next_event(&mut ws_sup).await;
    let sup_offer = next_event(&mut ws_sup).await;
    assert_eq!(
        (sup_p["seq"].clone(), sup_offer["kind"].as_str()),
        (p["seq"].clone(), Some("offer"))
    );
    // An addressed event names its user, so a supervisor's page tells A's offer from its own.
    assert_eq!(offer["user_id"].as_i64(), Some(w.agent_a.0));
    assert_eq!(sup_offer["user_id"].as_i64(), Some(w.agent_a.0));
    assert!(p.get("user_id").is_none(), "a broadcast names nobody: {p}");

    // Agent B sees the presence change but not A's offer.
    assert_eq!(next_event(&mut ws_b).await["kind"], "presence");
    ws_b.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut ws_b).await["type"],
        "pong",
        "the offer to A never reached B"
    );
}

#[tokio::test]
async fn a_reconnecting_client_receives_exactly_what_it_missed() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let sup_cookie = cookie(&app, &w.sup.1).await;
    let mut ws = connect(&app, w.tid, Some(0), &sup_cookie, None)
        .await
        .unwrap();
    let (_, seen) = replayed(&mut ws).await;
    drop(ws);

    // While disconnected: presence, offer, accept, end.
    w.agent_a
        .2
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/me/presence", w.tid),
            Some(json!({"state": "available"})),
        )
        .await;
    let cid =
        w.op.post(
            &format!("/api/v1/tenants/{}/routing/contacts", w.tid),
            json!({"queue_id": w.qid, "medium": "chat", "channel": "widget"}),
        )
        .await
        .body["id"]
            .as_i64()
            .unwrap();
    w.agent_a
        .2
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/accept", w.tid),
            json!({}),
        )
        .await;
    w.agent_a
        .2
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/end", w.tid),
            json!({}),
        )
        .await;

    let mut ws = connect(&app, w.tid, Some(seen), &sup_cookie, None)
        .await
        .unwrap();
    let (missed, now) = replayed(&mut ws).await;
    let kinds: Vec<&str> = missed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["presence", "offer", "assigned", "contact_ended"]);
    let seqs: Vec<i64> = missed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        ((seen + 1)..=now).collect::<Vec<_>>(),
        "every number once, in order"
    );

    // Reconnecting at the latest number replays nothing.
    let mut again = connect(&app, w.tid, Some(now), &sup_cookie, None)
        .await
        .unwrap();
    assert!(replayed(&mut again).await.0.is_empty());
}

#[tokio::test]
async fn the_socket_refuses_strangers_other_tenants_and_foreign_origins() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let agent_cookie = cookie(&app, &w.agent_a.1).await;
    assert_eq!(
        connect(&app, w.tid, None, "sb_session=nope", None)
            .await
            .err(),
        Some(401)
    );
    let other = app.create_tenant(&w.op, "other").await;
    assert_eq!(
        connect(&app, other, None, &agent_cookie, None).await.err(),
        Some(404)
    );
    assert_eq!(
        connect(
            &app,
            w.tid,
            None,
            &agent_cookie,
            Some("https://evil.example")
        )
        .await
        .err(),
        Some(403)
    );
    let own_origin = app.base.clone();
    assert!(
        connect(&app, w.tid, None, &agent_cookie, Some(&own_origin))
            .await
            .is_ok()
    );
    let _ = w.agent_b;
}

/// Events published at the same moment (a call setup publishes several) are stored together:
/// each still gets its own, consecutive number, the log holds them in that order with their
/// payloads, and live sockets receive them in number order.
#[tokio::test]
async fn events_published_at_once_get_consecutive_numbers_in_order() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "burst").await;
    let tenant = switchboard::domain::TenantId(tid);
    let hub = app.state.events.clone();
    let mut live = hub.subscribe();
    let published = futures::future::join_all((0..40).map(|i| {
        let hub = hub.clone();
        async move {
            let user = (i % 2 == 1).then_some(7);
            hub.publish(tenant, "burst", user, json!({ "i": i }))
                .await
                .expect("published")
        }
    }))
    .await;
    for (i, e) in published.iter().enumerate() {
        assert_eq!(e.payload["i"], i, "each publisher gets its own event back");
        assert_eq!(e.user_id, (i % 2 == 1).then_some(7));
    }
    let first = published[0].seq;
    let seqs: Vec<i64> = published.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (first..first + 40).collect::<Vec<_>>());

    let log = switchboard::store::events::list_events_since(&app.store, tenant, first - 1, 100)
        .await
        .unwrap();
    assert_eq!(log.len(), 40);
    for (i, r) in log.iter().enumerate() {
        assert_eq!(r.seq, first + i as i64);
        assert_eq!(r.kind, "burst");
        let payload: Value = serde_json::from_str(&r.payload).unwrap();
        assert_eq!(payload["i"], i);
        assert_eq!(r.user_id, (i % 2 == 1).then_some(7));
    }

    let mut heard = Vec::new();
    while heard.len() < 40 {
        let e = tokio::time::timeout(Duration::from_secs(5), live.recv())
            .await
            .expect("live event")
            .expect("hub open");
        if e.tenant == tenant && e.kind == "burst" {
            heard.push(e.seq);
        }
    }
    assert_eq!(heard, seqs);
}
