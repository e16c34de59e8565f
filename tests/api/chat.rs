//! The website widget and the agents' conversation API: a visitor writes, the conversation is
//! queued and offered, the agent accepts and replies, both sides see each other in real time,
//! reconnects replay what was missed, retries never duplicate.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{Client, PASSWORD, TestApp, spawn_app, unique_email};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) struct Shop {
    pub tid: i64,
    pub admin: Client,
    pub agent_id: i64,
    pub agent: Client,
    pub qid: i64,
    pub public_id: String,
}

pub(crate) async fn shop(app: &TestApp, settings: Value) -> Shop {
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "shop").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let email = unique_email("agent");
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": email, "name": "Alex Agent", "role": "agent", "password": PASSWORD}),
        )
        .await;
    let agent_id = r.body["user"]["id"].as_i64().unwrap();
    let agent = app.login(&email, PASSWORD).await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": "Web", "members": [{"user_id": agent_id}]}),
        )
        .await;
    let qid = r.body["id"].as_i64().unwrap();
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/widgets"),
            json!({"name": "Shop site", "queue_id": qid, "settings": settings}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    Shop {
        tid,
        admin,
        agent_id,
        agent,
        qid,
        public_id: r.body["public_id"].as_str().unwrap().to_owned(),
    }
}

pub(crate) async fn visitor(
    app: &TestApp,
    widget: &str,
    token: Option<&str>,
    since: Option<i64>,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let mut url = format!(
        "{}/widget/ws?widget={widget}",
        app.base.replace("http://", "ws://")
    );
    if let Some(t) = token {
        url.push_str(&format!("&token={t}"));
    }
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    let mut req = url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

pub(crate) async fn frame(ws: &mut Socket) -> Value {
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("frame in time")
        .unwrap()
        .unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

/// Frames until one of type `kind` (returning it and what came before).
pub(crate) async fn until(ws: &mut Socket, kind: &str) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let f = frame(ws).await;
        if f["type"] == kind {
            return (f, before);
        }
        before.push(f);
    }
}

pub(crate) async fn say(ws: &mut Socket, client_id: &str, content: &str) {
    ws.send(Message::Text(
        json!({"type": "message", "client_id": client_id, "content": content})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
}

pub(crate) async fn available(s: &Shop) {
    let r = s
        .agent
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/me/presence", s.tid),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// The id of the newest conversation `who` can see.
pub(crate) async fn newest_conversation(who: &Client, s: &Shop) -> i64 {
    let list = who
        .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
        .await;
    list.body["items"][0]["id"]
        .as_i64()
        .expect("a conversation")
}

/// The shop's agent takes the offered conversation.
pub(crate) async fn accept(s: &Shop, cid: i64) {
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/accept", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn widgets_are_managed_with_validated_settings_and_a_snippet() {
    let app = spawn_app().await;
    let s = shop(
        &app,
        json!({"colour": "#ff0066", "prechat_fields": ["name"]}),
    )
    .await;
    let path = format!("/api/v1/tenants/{}/widgets", s.tid);
    let list = s.admin.get(&path).await;
    let w = &list.body["items"][0];
    assert_eq!(w["settings"]["colour"], "#ff0066");
    assert_eq!(
        w["settings"]["title"], "Chat with us",
        "defaults fill the rest"
    );
    assert!(
        w["snippet"]
            .as_str()
            .unwrap()
            .contains(&format!("data-widget=\"{}\"", s.public_id))
    );
    assert!(
        w.get("identity_secret").is_none(),
        "the secret is shown only at creation"
    );
    let wid = w["id"].as_i64().unwrap();
    let bad = s
        .admin
        .patch(
            &format!("{path}/{wid}"),
            json!({"settings": {"colour": "pink"}}),
        )
        .await;
    assert!(
        bad.message().starts_with("settings.colour"),
        "{}",
        bad.message()
    );
    let bad = s
        .admin
        .patch(
            &format!("{path}/{wid}"),
            json!({"settings": {"allowed_origins": ["not an origin"]}}),
        )
        .await;
    assert!(
        bad.message().starts_with("settings.allowed_origins"),
        "{}",
        bad.message()
    );
    let bad = s
        .admin
        .post(&path, json!({"name": "X", "queue_id": 999_999}))
        .await;
    assert!(bad.message().starts_with("queue_id"), "{}", bad.message());
    let ok = s
        .admin
        .patch(
            &format!("{path}/{wid}"),
            json!({"settings": {"title": "Help"}}),
        )
        .await;
    assert_eq!(
        (
            ok.body["settings"]["title"].as_str(),
            ok.body["settings"]["colour"].as_str()
        ),
        (Some("Help"), Some("#ff0066"))
    );
    assert_eq!(s.agent.get(&path).await.status, StatusCode::FORBIDDEN);

    let cfg = app
        .anonymous()
        .get(&format!("/widget/config?widget={}", s.public_id))
        .await;
    assert_eq!(cfg.status, StatusCode::OK);
    assert_eq!(
        (cfg.body["title"].as_str(), cfg.body["online"].as_bool()),
        (Some("Help"), Some(false))
    );
    available(&s).await;
    assert_eq!(
        app.anonymous()
            .get(&format!("/widget/config?widget={}", s.public_id))
            .await
            .body["online"],
        true
    );
    assert_eq!(
        app.anonymous()
            .get("/widget/config?widget=nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_visitor_and_an_agent_talk_in_real_time_through_the_queue() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    let hello = frame(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert!(hello["conversation_id"].is_null());
    let token = hello["visitor_token"].as_str().unwrap().to_owned();
    until(&mut ws, "ready").await;

    say(&mut ws, "c-1", "Hello, my order is late").await;
    let (ack, before) = until(&mut ws, "ack").await;
    assert_eq!(ack["client_id"], "c-1");
    assert!(before.iter().any(|f| f["type"] == "message"
        && f["content"] == "Hello, my order is late"
        && f["client_id"] == "c-1"));

    // The conversation is in the inbox, offered to the agent.
    let list = s
        .agent
        .get(&format!(
            "/api/v1/tenants/{}/conversations?unassigned=true",
            s.tid
        ))
        .await;
    let conv = list.body["items"][0].clone();
    assert_eq!(
        (
            conv["status"].as_str(),
            conv["last_message"]["content"].as_str()
        ),
        (Some("queued"), Some("Hello, my order is late"))
    );
    let cid = conv["id"].as_i64().unwrap();
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/accept", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["assigned_agent_id"].as_i64()
        ),
        (Some("agent"), Some(s.agent_id))
    );
    let (status, _) = until(&mut ws, "status").await;
    assert_eq!(
        (status["status"].as_str(), status["agent_name"].as_str()),
        (Some("agent"), Some("Alex Agent"))
    );

    // Typing and a reply reach the visitor; the visitor's read receipt reaches the inbox.
    s.agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/typing", s.tid),
            json!({"on": true}),
        )
        .await;
    let (typing, _) = until(&mut ws, "typing").await;
    assert_eq!(typing["on"], true);
    let reply = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/messages", s.tid),
            json!({"content": "Sorry! Let me check."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let (m, _) = until(&mut ws, "message").await;
    let m = if m["sender"] == "system" {
        until(&mut ws, "message").await.0
    } else {
        m
    };
    assert_eq!(
        (
            m["sender"].as_str(),
            m["sender_name"].as_str(),
            m["content"].as_str()
        ),
        (
            Some("agent"),
            Some("Alex Agent"),
            Some("Sorry! Let me check.")
        )
    );
    let before_read = s
        .agent
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    let shown = before_read.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["content"] == "Sorry! Let me check.")
        .unwrap()
        .clone();
    assert_eq!(
        shown["delivery_status"], "delivered",
        "the widget showed it"
    );
    let events = switchboard::store::events::list_events_since(
        &app.store,
        switchboard::domain::TenantId(s.tid),
        0,
        500,
    )
    .await
    .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "delivered"),
        "the inbox is told"
    );
    let note = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/messages", s.tid),
            json!({"content": "customer seems upset", "private": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    ws.send(Message::Text(
        json!({"type": "read", "seq": m["seq"]}).to_string().into(),
    ))
    .await
    .unwrap();
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    let (_, between) = until(&mut ws, "pong").await;
    assert!(
        between
            .iter()
            .all(|f| f["content"] != "customer seems upset"),
        "private notes never reach the visitor"
    );

    let detail = s
        .agent
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    let msgs = detail.body["messages"].as_array().unwrap();
    let agent_reply = msgs
        .iter()
        .find(|x| x["content"] == "Sorry! Let me check.")
        .unwrap();
    assert_eq!(agent_reply["delivery_status"], "read");
    assert!(msgs.iter().any(|x| x["private"] == true));

    // Reload: the same token brings the history back, and nothing after `since` is lost.
    drop(ws);
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/messages", s.tid),
            json!({"content": "Found it, it ships today."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut ws = visitor(
        &app,
        &s.public_id,
        Some(&token),
        Some(m["seq"].as_i64().unwrap()),
        None,
    )
    .await
    .unwrap();
    let hello = frame(&mut ws).await;
    assert_eq!(
        (hello["conversation_id"].as_i64(), hello["status"].as_str()),
        (Some(cid), Some("agent"))
    );
    let (_, replayed) = until(&mut ws, "ready").await;
    let texts: Vec<&str> = replayed
        .iter()
        .filter_map(|f| f["content"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["Found it, it ships today."],
        "exactly the missed message"
    );

    // A retried send with the same client id is stored once.
    say(&mut ws, "c-2", "Thanks!").await;
    until(&mut ws, "ack").await;
    say(&mut ws, "c-2", "Thanks!").await;
    let (ack, _) = until(&mut ws, "ack").await;
    let detail = s
        .agent
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    let thanks = detail.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["content"] == "Thanks!")
        .count();
    assert_eq!(thanks, 1);
    assert_eq!(ack["client_id"], "c-2");

    // Resolve: the visitor is told, the agent goes to wrap-up, the next message starts anew.
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/resolve", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.body["status"], "closed");
    let (st, _) = until(&mut ws, "status").await;
    assert_eq!(st["status"], "closed");
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/messages", s.tid),
            json!({"content": "late"}),
        )
        .await;
    assert_eq!(r.code(), "conversation_closed");
    let reopened = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/reopen", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(
        (
            reopened.body["status"].as_str(),
            reopened.body["assigned_agent_id"].as_i64()
        ),
        (Some("agent"), Some(s.agent_id)),
        "no bounce through the queue"
    );
}

#[tokio::test]
async fn a_waiting_visitor_learns_their_place_and_bad_input_gets_clear_errors() {
    let app = spawn_app().await;
    let s = shop(&app, json!({"allowed_origins": ["https://shop.example"]})).await;
    assert_eq!(
        visitor(&app, &s.public_id, None, None, Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        visitor(&app, "no-such-widget", None, None, None)
            .await
            .err(),
        Some(404)
    );
    let mut ws = visitor(
        &app,
        &s.public_id,
        Some("forged.token"),
        None,
        Some("https://shop.example"),
    )
    .await
    .unwrap();
    let hello = frame(&mut ws).await;
    assert_ne!(
        hello["visitor_token"], "forged.token",
        "a bad token gets a fresh visitor"
    );
    until(&mut ws, "ready").await;
    say(&mut ws, "x", "").await;
    let (err, _) = until(&mut ws, "error").await;
    assert_eq!(err["code"], "bad_message");
    ws.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(until(&mut ws, "error").await.0["code"], "bad_frame");
    say(&mut ws, "y", &"a".repeat(4001)).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "bad_message");

    // Nobody is available: the visitor waits and is told their position.
    say(&mut ws, "z", "anyone there?").await;
    let (q, _) = until(&mut ws, "queue").await;
    assert_eq!(q["position"], 1);
    let _ = s.qid;
}

#[tokio::test]
async fn customer_markup_is_stored_and_returned_as_plain_text() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    let evil = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    say(&mut ws, "e", evil).await;
    until(&mut ws, "ack").await;
    let list = s
        .admin
        .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
        .await;
    assert_eq!(
        list.body["items"][0]["last_message"]["content"], evil,
        "kept verbatim; the UI renders it as text"
    );
}

#[tokio::test]
async fn another_tenants_agent_cannot_see_or_touch_a_conversation() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "hi").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.admin, &s).await;
    let op = app.operator().await;
    let other = app.create_tenant(&op, "rival").await;
    let (_, rival) = app.member(&op, other, "admin").await;
    for path in ["", "/messages", "/resolve", "/accept"] {
        let url = format!("/api/v1/tenants/{other}/conversations/{cid}{path}");
        let r = if path.is_empty() {
            rival.get(&url).await
        } else {
            rival.post(&url, json!({"content": "x"})).await
        };
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    assert_eq!(
        rival
            .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

fn user_hash(secret: &str, user_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_verified_user_is_one_customer_across_browsers_and_a_forged_hash_is_refused() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let created = s
        .admin
        .post(
            &format!("/api/v1/tenants/{}/widgets", s.tid),
            json!({"name": "Members", "queue_id": s.qid}),
        )
        .await;
    let secret = created.body["identity_secret"].as_str().unwrap().to_owned();
    let widget = created.body["public_id"].as_str().unwrap().to_owned();

    // Laptop: signs in on the site, writes.
    let mut laptop = visitor(&app, &widget, None, None, None).await.unwrap();
    until(&mut laptop, "ready").await;
    let identify = json!({"type": "identify", "name": "Dana", "email": "dana@example.com", "phone": "+1 415 555 0142", "user_id": "u-42", "user_hash": user_hash(&secret, "u-42")});
    laptop
        .send(Message::Text(identify.to_string().into()))
        .await
        .unwrap();
    say(&mut laptop, "l1", "from my laptop").await;
    let (ack, _) = until(&mut laptop, "ack").await;
    assert_eq!(ack["client_id"], "l1");

    // Phone: another browser, same signed-in user: it joins the same conversation.
    let mut phone = visitor(&app, &widget, None, None, None).await.unwrap();
    let hello = frame(&mut phone).await;
    assert!(
        hello["conversation_id"].is_null(),
        "an unknown browser starts anonymous"
    );
    until(&mut phone, "ready").await;
    phone
        .send(Message::Text(identify.to_string().into()))
        .await
        .unwrap();
    let (joined, _) = until(&mut phone, "hello").await;
    assert!(joined["conversation_id"].is_i64());
    let (history, _) = until(&mut phone, "message").await;
    assert_eq!(history["content"], "from my laptop");

    let forged = json!({"type": "identify", "user_id": "u-42", "user_hash": user_hash("wrong secret", "u-42")});
    let mut other = visitor(&app, &widget, None, None, None).await.unwrap();
    until(&mut other, "ready").await;
    other
        .send(Message::Text(forged.to_string().into()))
        .await
        .unwrap();
    assert_eq!(
        until(&mut other, "error").await.0["code"],
        "identity_rejected"
    );

    let list = s
        .admin
        .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
        .await;
    let c = &list.body["items"][0];
    assert_eq!(
        (
            c["contact"]["name"].as_str(),
            c["contact"]["email"].as_str()
        ),
        (Some("Dana"), Some("dana@example.com"))
    );
    // The verified user's phone is kept: a call from it shows Dana.
    let dana = c["contact"]["id"].as_i64().unwrap();
    let known = switchboard::store::contacts::find_by_phone(
        &app.store,
        switchboard::domain::TenantId(s.tid),
        "+14155550142",
    )
    .await
    .unwrap()
    .map(|c| c.id);
    assert_eq!(known, Some(dana));

    // Anyone may claim a name, but a phone only counts from a verified user.
    let mut stranger = visitor(&app, &widget, None, None, None).await.unwrap();
    until(&mut stranger, "ready").await;
    let claim = json!({"type": "identify", "name": "Eve", "phone": "+14155550199"});
    stranger
        .send(Message::Text(claim.to_string().into()))
        .await
        .unwrap();
    say(&mut stranger, "e1", "hello").await;
    until(&mut stranger, "ack").await;
    let eve = switchboard::store::contacts::find_by_phone(
        &app.store,
        switchboard::domain::TenantId(s.tid),
        "+14155550199",
    )
    .await
    .unwrap();
    assert_eq!(eve, None);
}

#[tokio::test]
async fn canned_responses_fill_in_the_customer_and_agent() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let path = format!("/api/v1/tenants/{}/canned-responses", s.tid);
    let r = s
        .admin
        .post(
            &path,
            json!({"shortcut": "hello", "content": "Hi {{contact.name}}, {{agent.name}} here."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rid = r.body["id"].as_i64().unwrap();
    assert_eq!(
        s.admin
            .post(&path, json!({"shortcut": "hello", "content": "x"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert!(
        s.admin
            .post(&path, json!({"shortcut": "Bad Name", "content": "x"}))
            .await
            .message()
            .starts_with("shortcut")
    );
    assert_eq!(
        s.agent
            .post(&path, json!({"shortcut": "mine", "content": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    ws.send(Message::Text(
        json!({"type": "identify", "name": "Dana"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    say(&mut ws, "1", "hi").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.agent, &s).await;
    let list = s.agent.get(&format!("{path}?conversation={cid}")).await;
    assert_eq!(
        list.body["items"][0]["rendered"],
        "Hi Dana, Alex Agent here."
    );
    let r = s
        .admin
        .request(
            reqwest::Method::PUT,
            &format!("{path}/{rid}"),
            Some(json!({"shortcut": "hi", "content": "Hello!"})),
        )
        .await;
    assert_eq!(r.body["shortcut"], "hi");
    assert_eq!(
        s.admin.delete(&format!("{path}/{rid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        s.agent.get(&path).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_transferred_conversation_goes_to_the_other_queue_with_a_private_note() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "I need billing").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.agent, &s).await;
    accept(&s, cid).await;
    let billing = s
        .admin
        .post(
            &format!("/api/v1/tenants/{}/queues", s.tid),
            json!({"name": "Billing"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();

    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/transfer", s.tid),
            json!({"queue_id": billing, "note": "refund over 100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["queue_id"].as_i64(),
            r.body["assigned_agent_id"].as_i64()
        ),
        (Some("queued"), Some(billing), None)
    );
    let (st, _) = until(&mut ws, "status").await;
    let st = if st["status"] == "agent" {
        until(&mut ws, "status").await.0
    } else {
        st
    };
    assert_eq!(st["status"], "queued");
    // Transferred away to a queue the agent is not in: it leaves their view (DESIGN §7).
    assert_eq!(
        s.agent
            .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let detail = s
        .admin
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    let note = detail.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["private"] == true)
        .unwrap()
        .clone();
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .contains("refund over 100")
    );
    let live = s
        .admin
        .get(&format!("/api/v1/tenants/{}/queues/{billing}/live", s.tid))
        .await;
    assert_eq!(live.body["stats"]["waiting"], 1);
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/transfer", s.tid),
            json!({"queue_id": 999_999}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no longer the agent's conversation"
    );

    // The customer's context: channels and conversations.
    let contact = detail.body["contact"]["id"].as_i64().unwrap();
    let ctx = s
        .admin
        .get(&format!("/api/v1/tenants/{}/contacts/{contact}", s.tid))
        .await;
    assert_eq!(ctx.status, StatusCode::OK, "{}", ctx.body);
    assert_eq!(ctx.body["identities"][0]["channel"], "widget");
    assert_eq!(ctx.body["conversations"][0]["id"], cid);
    let agents_view = s
        .agent
        .get(&format!("/api/v1/tenants/{}/contacts/{contact}", s.tid))
        .await;
    assert!(
        agents_view.body["conversations"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the agent no longer sees it"
    );
}

#[tokio::test]
async fn attachments_are_typed_by_their_bytes_capped_and_served_so_they_never_run() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    let token = frame(&mut ws).await["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    until(&mut ws, "ready").await;
    let http = reqwest::Client::new();
    let upload = |name: &str, ctype: &str, body: Vec<u8>| {
        http.post(format!(
            "{}/widget/attachments?widget={}&token={token}&filename={name}",
            app.base, s.public_id
        ))
        .header("content-type", ctype.to_owned())
        .body(body)
        .send()
    };
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 64]].concat();
    let res = upload("cat.png", "application/octet-stream", png.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let a: Value = res.json().await.unwrap();
    assert_eq!(
        (a["content_type"].as_str(), a["filename"].as_str()),
        (Some("image/png"), Some("cat.png"))
    );

    // The visitor's socket shows it; the agent's thread lists it.
    let (m, _) = until(&mut ws, "message").await;
    let m = if m["kind"] == "text" {
        until(&mut ws, "message").await.0
    } else {
        m
    };
    assert_eq!(
        (m["kind"].as_str(), m["attachment"]["url"].as_str()),
        (Some("image"), a["url"].as_str())
    );
    let cid = newest_conversation(&s.admin, &s).await;
    let thread = s
        .admin
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    assert!(
        thread.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["attachment"]["filename"] == "cat.png")
    );

    let got = http
        .get(format!("{}{}", app.base, a["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert!(
        got.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.unwrap().as_ref(), png.as_slice());

    // HTML pretending to be an image is refused; a path in the name is dropped; size is capped.
    let res = upload(
        "x.png",
        "image/png",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = upload("..%2F..%2Fnotes.txt", "text/plain", b"hello".to_vec())
        .await
        .unwrap();
    let a2: Value = res.json().await.unwrap();
    assert_eq!(a2["filename"], "notes.txt");
    let got = http
        .get(format!("{}{}", app.base, a2["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let res = upload(
        "big.pdf",
        "application/pdf",
        [b"%PDF-".as_slice(), &vec![0u8; 11 * 1024 * 1024]].concat(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = http
        .post(format!(
            "{}/widget/attachments?widget={}&token=forged.x&filename=a.png",
            app.base, s.public_id
        ))
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        http.get(format!("{}/media/attachments/nope", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tickets_are_opened_from_a_conversation_and_worked_on() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "My parcel arrived broken").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.agent, &s).await;
    accept(&s, cid).await;

    let path = format!("/api/v1/tenants/{}/tickets", s.tid);
    let r = s.agent.post(&path, json!({"title": "Replace broken parcel", "description": "Order 1234", "priority": "high", "conversation_id": cid})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tid = r.body["id"].as_i64().unwrap();
    assert_eq!(
        (r.body["status"].as_str(), r.body["created_by"].as_i64()),
        (Some("open"), Some(s.agent_id))
    );
    let thread = s
        .agent
        .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
        .await;
    assert!(thread.body["messages"].as_array().unwrap().iter().any(|m| {
        m["private"] == true
            && m["content"]
                .as_str()
                .unwrap()
                .contains("Replace broken parcel")
    }));
    assert!(
        s.agent
            .post(&path, json!({"title": "x", "priority": "whenever"}))
            .await
            .message()
            .starts_with("priority")
    );
    assert!(
        s.agent
            .post(&path, json!({"title": " "}))
            .await
            .message()
            .starts_with("title")
    );
    assert!(
        s.agent
            .post(&path, json!({"title": "x", "conversation_id": 999_999}))
            .await
            .message()
            .starts_with("conversation_id")
    );

    let r = s
        .agent
        .patch(
            &format!("{path}/{tid}"),
            json!({"status": "solved", "assignee_id": s.agent_id}),
        )
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["assignee_id"].as_i64()),
        (Some("solved"), Some(s.agent_id))
    );
    assert_eq!(
        s.agent.get(&format!("{path}?status=solved")).await.body["items"][0]["id"],
        tid
    );
    assert!(
        s.agent.get(&format!("{path}?status=open")).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.agent
            .get(&format!("{path}?conversation={cid}"))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn agents_see_only_their_queues_conversations_and_supervisors_see_all() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "hello web team").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.admin, &s).await;

    // An agent outside the widget's queue.
    let email = unique_email("outsider");
    s.admin
        .post(
            &format!("/api/v1/tenants/{}/users", s.tid),
            json!({"email": email, "name": "Out Sider", "role": "agent", "password": PASSWORD}),
        )
        .await;
    let outsider = app.login(&email, PASSWORD).await;
    let list = outsider
        .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
        .await;
    assert!(
        list.body["items"].as_array().unwrap().is_empty(),
        "{}",
        list.body
    );
    assert_eq!(
        outsider
            .get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = outsider
        .post(
            &format!("/api/v1/tenants/{}/conversations/{cid}/messages", s.tid),
            json!({"content": "x", "private": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The queue's agent sees it; so does a supervisor.
    assert_eq!(
        s.agent
            .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
            .await
            .body["items"][0]["id"],
        cid
    );
    let email = unique_email("sup");
    s.admin
        .post(
            &format!("/api/v1/tenants/{}/users", s.tid),
            json!({"email": email, "name": "Sue", "role": "supervisor", "password": PASSWORD}),
        )
        .await;
    let sup = app.login(&email, PASSWORD).await;
    assert_eq!(
        sup.get(&format!("/api/v1/tenants/{}/conversations/{cid}", s.tid))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn conversations_are_labelled_searched_and_snoozed() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    ws.send(Message::Text(
        json!({"type": "identify", "name": "Zoe Quartz"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    say(&mut ws, "1", "My invoice number is INV-7781").await;
    until(&mut ws, "ack").await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let cid = s.agent.get(&format!("{base}/conversations")).await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    s.agent
        .post(&format!("{base}/conversations/{cid}/accept"), json!({}))
        .await;

    // Labels: admins define them, agents put them on conversations, the list filters by them.
    let vip = s
        .admin
        .post(
            &format!("{base}/labels"),
            json!({"name": "vip", "colour": "#f59e0b"}),
        )
        .await;
    assert_eq!(vip.status, StatusCode::CREATED, "{}", vip.body);
    let vip = vip.body["id"].as_i64().unwrap();
    assert_eq!(
        s.admin
            .post(&format!("{base}/labels"), json!({"name": "vip"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert!(
        s.admin
            .post(
                &format!("{base}/labels"),
                json!({"name": "x", "colour": "gold"})
            )
            .await
            .message()
            .starts_with("colour")
    );
    assert_eq!(
        s.agent
            .post(&format!("{base}/labels"), json!({"name": "mine"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = s
        .agent
        .request(
            reqwest::Method::PUT,
            &format!("{base}/conversations/{cid}/labels"),
            Some(json!([vip])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["labels"][0]["name"], "vip");
    assert_eq!(
        s.agent
            .get(&format!("{base}/conversations?label={vip}"))
            .await
            .body["items"][0]["id"],
        cid
    );
    let r = s
        .agent
        .request(
            reqwest::Method::PUT,
            &format!("{base}/conversations/{cid}/labels"),
            Some(json!([999_999])),
        )
        .await;
    assert!(r.message().starts_with("labels"), "{}", r.message());

    // Search: by the customer's name and by message text, case-insensitive.
    for q in ["zoe", "inv-7781", "QUARTZ"] {
        let found = s.agent.get(&format!("{base}/conversations?q={q}")).await;
        assert_eq!(found.body["items"][0]["id"], cid, "{q}");
    }
    assert!(
        s.agent
            .get(&format!("{base}/conversations?q=nothing-like-this"))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Snooze hides it from the open list until the customer writes.
    let wake_at = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let r = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/snooze"),
            json!({"until": wake_at}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        s.agent.get(&format!("{base}/conversations")).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.agent
            .get(&format!("{base}/conversations?status=snoozed"))
            .await
            .body["items"][0]["id"],
        cid
    );
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert!(
        s.agent
            .post(
                &format!("{base}/conversations/{cid}/snooze"),
                json!({"until": past})
            )
            .await
            .message()
            .starts_with("until")
    );
    say(&mut ws, "2", "any news?").await;
    until(&mut ws, "ack").await;
    assert_eq!(
        s.agent.get(&format!("{base}/conversations")).await.body["items"][0]["id"],
        cid,
        "the customer's message wakes it"
    );
    assert_eq!(
        s.admin.delete(&format!("{base}/labels/{vip}")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn unread_counts_mentions_and_contact_merges() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "first").await;
    until(&mut ws, "ack").await;
    say(&mut ws, "2", "second").await;
    until(&mut ws, "ack").await;
    let item = s.agent.get(&format!("{base}/conversations")).await.body["items"][0].clone();
    let cid = item["id"].as_i64().unwrap();
    assert_eq!(item["unread"], 2);
    let last = item["last_message"]["seq"].as_i64().unwrap();
    s.agent
        .post(
            &format!("{base}/conversations/{cid}/read"),
            json!({"seq": last}),
        )
        .await;
    assert_eq!(
        s.agent.get(&format!("{base}/conversations")).await.body["items"][0]["unread"],
        0
    );

    s.agent
        .post(&format!("{base}/conversations/{cid}/accept"), json!({}))
        .await;
    // A private note mentioning a colleague reaches only that colleague's stream.
    let sup_email = unique_email("sup");
    let r = s.admin.post(&format!("{base}/users"), json!({"email": sup_email, "name": "Sue Sup", "role": "supervisor", "password": PASSWORD})).await;
    let sup_id = r.body["user"]["id"].as_i64().unwrap();
    let r = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/messages"),
            json!({"content": "please check", "private": true, "mentions": [sup_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/messages"),
            json!({"content": "x", "mentions": [sup_id]}),
        )
        .await;
    assert!(r.message().starts_with("mentions"), "{}", r.message());
    let r = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/messages"),
            json!({"content": "x", "private": true, "mentions": [999_999]}),
        )
        .await;
    assert!(r.message().starts_with("mentions[0]"), "{}", r.message());
    let events = switchboard::store::events::list_events_since(
        &app.store,
        switchboard::domain::TenantId(s.tid),
        0,
        500,
    )
    .await
    .unwrap();
    let mention = events
        .iter()
        .find(|e| e.kind == "mention")
        .expect("a mention event");
    assert_eq!(mention.user_id, Some(sup_id));
    assert!(mention.payload.contains("please check"));

    // Merge: the same person wrote from a second browser; the supervisor merges the contacts.
    let mut other = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut other, "ready").await;
    other
        .send(Message::Text(
            json!({"type": "identify", "name": "Dana", "email": "dana@example.com"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    say(&mut other, "o", "me again").await;
    until(&mut other, "ack").await;
    let first_contact = s
        .admin
        .get(&format!("{base}/conversations/{cid}"))
        .await
        .body["contact"]["id"]
        .as_i64()
        .unwrap();
    let second = s.admin.get(&format!("{base}/conversations")).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] != cid)
        .unwrap()
        .clone();
    let second_contact = second["contact"]["id"].as_i64().unwrap();
    let sup = app.login(&sup_email, PASSWORD).await;
    assert_eq!(
        s.agent
            .post(
                &format!("{base}/contacts/{second_contact}/merge"),
                json!({"into": first_contact})
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let merged = sup
        .post(
            &format!("{base}/contacts/{second_contact}/merge"),
            json!({"into": first_contact}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(
        merged.body["contact"]["email"], "dana@example.com",
        "details filled in from the merged contact"
    );
    assert_eq!(merged.body["identities"].as_array().unwrap().len(), 2);
    assert_eq!(merged.body["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(
        sup.post(
            &format!("{base}/contacts/{second_contact}/merge"),
            json!({"into": first_contact})
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "already merged"
    );
    // The second browser keeps writing into the merged contact's conversation.
    say(&mut other, "o2", "still me").await;
    until(&mut other, "ack").await;
}

#[tokio::test]
async fn waiting_visitors_learn_when_they_move_up_the_line() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let mut first = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut first, "ready").await;
    say(&mut first, "1", "first in line").await;
    assert_eq!(until(&mut first, "queue").await.0["position"], 1);
    let mut second = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut second, "ready").await;
    say(&mut second, "2", "second in line").await;
    assert_eq!(until(&mut second, "queue").await.0["position"], 2);

    // The agent comes online and takes the first: the second is told they are next.
    available(&s).await;
    let list = s
        .agent
        .get(&format!("/api/v1/tenants/{}/conversations", s.tid))
        .await;
    let oldest = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .min()
        .unwrap();
    let r = s
        .agent
        .post(
            &format!("/api/v1/tenants/{}/conversations/{oldest}/accept", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (q, _) = until(&mut second, "queue").await;
    assert_eq!(q["position"], 1);
}

#[tokio::test]
async fn a_conversation_is_transferred_to_one_agent_through_their_agent_queue() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "I'd like Sam, please").await;
    until(&mut ws, "ack").await;
    let cid = newest_conversation(&s.agent, &s).await;
    accept(&s, cid).await;

    let email = unique_email("sam");
    let r = s.admin.post(&format!("/api/v1/tenants/{}/users", s.tid), json!({"email": email, "name": "Sam Specialist", "role": "agent", "password": PASSWORD})).await;
    let sam_id = r.body["user"]["id"].as_i64().unwrap();
    let sam = app.login(&email, PASSWORD).await;
    sam.request(
        reqwest::Method::PUT,
        &format!("/api/v1/tenants/{}/me/presence", s.tid),
        Some(json!({"state": "available"})),
    )
    .await;

    let base = format!("/api/v1/tenants/{}", s.tid);
    let bad = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/transfer"),
            json!({"queue_id": 1, "agent_id": sam_id}),
        )
        .await;
    assert!(bad.message().starts_with("queue_id"), "{}", bad.message());
    let bad = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/transfer"),
            json!({"agent_id": 999_999}),
        )
        .await;
    assert!(bad.message().starts_with("agent_id"), "{}", bad.message());
    let r = s
        .agent
        .post(
            &format!("{base}/conversations/{cid}/transfer"),
            json!({"agent_id": sam_id, "note": "asked for you"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Sam is offered it (capacity and presence apply as for any queue), accepts, and has it.
    let r = sam
        .post(&format!("{base}/conversations/{cid}/accept"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["assigned_agent_id"], sam_id);
    let thread = sam.get(&format!("{base}/conversations/{cid}")).await;
    assert!(thread.body["messages"].as_array().unwrap().iter().any(|m| {
        m["content"]
            .as_str()
            .unwrap_or("")
            .contains("Transferred to Sam Specialist")
    }));
    // Agent queues stay out of the ordinary queue list.
    let names: Vec<String> = s.admin.get(&format!("{base}/queues")).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with("agent:")), "{names:?}");
    assert!(
        s.admin
            .get(&format!("{base}/queues?include_agent_queues=true"))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len()
            > names.len()
    );
}

#[tokio::test]
async fn a_mentioned_colleague_outside_the_queue_may_open_the_conversation() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let op = app.operator().await;
    let (other_id, other) = app.member(&op, s.tid, "agent").await;
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "my parcel is lost").await;
    until(&mut ws, "ack").await;
    let cid = s.agent.get(&format!("{base}/conversations")).await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    s.agent
        .post(&format!("{base}/conversations/{cid}/accept"), json!({}))
        .await;

    // Everyone may read the directory: queues (not agents' own transfer queues) and colleagues.
    let dir = other.get(&format!("{base}/directory")).await;
    assert_eq!(dir.status, StatusCode::OK, "{}", dir.body);
    let queues: Vec<&str> = dir.body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(queues, ["Web"]);
    assert!(
        dir.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == s.agent_id && m["name"] == "Alex Agent")
    );

    let path = format!("{base}/conversations/{cid}");
    assert_eq!(
        other.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "not in their queue"
    );
    let r = s
        .agent
        .post(
            &format!("{path}/messages"),
            json!({"content": "can you look at this?", "private": true, "mentions": [other_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let opened = other.get(&path).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert!(
        opened.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "my parcel is lost")
    );
    let listed = other.get(&format!("{base}/conversations")).await;
    assert_eq!(listed.body["items"][0]["id"], cid, "in their list too");
    // A participant adds notes but does not take over the customer.
    let r = other
        .post(
            &format!("{path}/messages"),
            json!({"content": "tracking says depot"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = other
        .post(
            &format!("{path}/messages"),
            json!({"content": "tracking says depot", "private": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn outside_business_hours_the_widget_says_closed_and_when_it_opens() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    available(&s).await;
    let path = format!("/api/v1/tenants/{}/widgets", s.tid);
    let wid = s.admin.get(&path).await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let config = || async {
        app.anonymous()
            .get(&format!("/widget/config?widget={}", s.public_id))
            .await
            .body
    };
    assert_eq!(config().await["open"], true, "no hours: always open");

    // Open around the clock except today and tomorrow (UTC), which are closed by overrides.
    let (cfg, today) = loop {
        let today = chrono::Utc::now().date_naive();
        let hours = json!({
            "timezone": "UTC",
            "weekly": {"mon-sun": ["00:00-24:00"]},
            "overrides": [
                {"date": today.to_string(), "closed": true},
                {"date": today.succ_opt().unwrap().to_string(), "closed": true},
            ],
        });
        let r = s
            .admin
            .patch(
                &format!("{path}/{wid}"),
                json!({"settings": {"business_hours": hours, "closed_message": "Closed for stocktaking."}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cfg = config().await;
        if chrono::Utc::now().date_naive() == today {
            break (cfg, today);
        }
    };
    assert_eq!(cfg["open"], false);
    assert_eq!(cfg["closed_message"], "Closed for stocktaking.");
    let reopens = today.succ_opt().unwrap().succ_opt().unwrap();
    assert_eq!(
        cfg["opens_at"]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(reopens.and_hms_opt(0, 0, 0).unwrap().and_utc()),
    );
    assert_eq!(
        cfg["online"], true,
        "agents are there, the hours still say closed"
    );

    // The emergency switch beats the hours both ways.
    for (force, open) in [("open", true), ("closed", false)] {
        let r = s
            .admin
            .patch(
                &format!("{path}/{wid}"),
                json!({"settings": {"force": force}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cfg = config().await;
        assert_eq!(
            (cfg["open"].as_bool(), cfg["opens_at"].is_null()),
            (Some(open), true),
            "{force}"
        );
    }

    // Bad hours are refused with the field and a suggestion.
    let r = s
        .admin
        .patch(
            &format!("{path}/{wid}"),
            json!({"settings": {"business_hours": {"timezone": "Europe/Berln", "weekly": {"mon": ["09:00-17:00"]}}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.message().starts_with("settings.business_hours.timezone:")
            && r.message().contains("Europe/Berlin"),
        "{}",
        r.message()
    );
    let r = s
        .admin
        .patch(
            &format!("{path}/{wid}"),
            json!({"settings": {"business_hours": {"timezone": "UTC", "weekly": {"mon": ["17:00-09:00"]}}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.message()
            .starts_with("settings.business_hours.weekly.mon:"),
        "{}",
        r.message()
    );
}
