//! Queues, agents and the routing adapter over HTTP: offers, accepts, declines, timeouts,
//! wrap-up, the live view, and waiting contacts surviving a restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn_app};

struct Setup {
    tid: i64,
    op: Client,
}

async fn setup(app: &TestApp) -> Setup {
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "routing").await;
    Setup { tid, op }
}

async fn queue(s: &Setup, name: &str, settings: Value, members: Value) -> i64 {
    let r =
        s.op.post(
            &format!("/api/v1/tenants/{}/queues", s.tid),
            json!({"name": name, "settings": settings, "members": members}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn available(c: &Client, tid: i64) {
    let r = c
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{tid}/me/presence"),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn enqueue(s: &Setup, qid: i64, extra: Value) -> Value {
    let mut body = json!({"queue_id": qid, "medium": "chat", "channel": "widget"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let r =
        s.op.post(&format!("/api/v1/tenants/{}/routing/contacts", s.tid), body)
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn contact(s: &Setup, cid: i64) -> Value {
    s.op.get(&format!("/api/v1/tenants/{}/routing/contacts/{cid}", s.tid))
        .await
        .body
}

/// Polls until `pred` holds (bounded), for changes driven by the routing timers.
async fn eventually(s: &Setup, cid: i64, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let c = contact(s, cid).await;
        if pred(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "contact {cid} never reached the expected state: {}",
        contact(s, cid).await
    );
}

#[tokio::test]
async fn queues_are_created_with_validated_settings_and_members() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (a1, _) = app.member(&s.op, s.tid, "agent").await;
    let (a2, _) = app.member(&s.op, s.tid, "agent").await;
    let path = format!("/api/v1/tenants/{}/queues", s.tid);
    let r = s.op.post(&path, json!({"name": "Billing", "settings": {"strategy": "linear", "offer_timeout_secs": 20}, "members": [{"user_id": a2}, {"user_id": a1, "penalty": 1}]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["settings"]["strategy"], "linear");
    assert_eq!(
        r.body["settings"]["retry_secs"], 5,
        "defaults are filled in"
    );
    assert_eq!(r.body["members"][0]["user_id"], a2, "member order is kept");
    assert_eq!(r.body["members"][1]["penalty"], 1);
    let qid = r.body["id"].as_i64().unwrap();

    let bad =
        s.op.post(
            &path,
            json!({"name": "X", "settings": {"strategy": "loudest"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.message().starts_with("settings.strategy"),
        "{}",
        bad.message()
    );
    let bad =
        s.op.post(
            &path,
            json!({"name": "X", "settings": {"offer_timeout": 3}}),
        )
        .await;
    assert!(
        bad.message().starts_with("settings.offer_timeout"),
        "{}",
        bad.message()
    );
    let bad =
        s.op.post(
            &path,
            json!({"name": "X", "settings": {"offer_timeout_secs": 0}}),
        )
        .await;
    assert!(
        bad.message().contains("between 1 and 600"),
        "{}",
        bad.message()
    );
    let dup = s.op.post(&path, json!({"name": "Billing"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let r =
        s.op.patch(
            &format!("{path}/{qid}"),
            json!({"settings": {"overflow": {"kind": "queue", "queue": qid}}}),
        )
        .await;
    assert!(r.message().contains("itself"), "{}", r.message());
    let r =
        s.op.patch(
            &format!("{path}/{qid}"),
            json!({"settings": {"max_wait_secs": 300}, "name": "Billing EU"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["name"].as_str(),
            r.body["settings"]["strategy"].as_str(),
            r.body["settings"]["max_wait_secs"].as_i64()
        ),
        (Some("Billing EU"), Some("linear"), Some(300))
    );

    // Members must belong to the tenant.
    let other = app.create_tenant(&s.op, "elsewhere").await;
    let (stranger, _) = app.member(&s.op, other, "agent").await;
    let r =
        s.op.request(
            reqwest::Method::PUT,
            &format!("{path}/{qid}/members"),
            Some(json!([{"user_id": stranger}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        s.op.get(&format!("{path}/{qid}")).await.body["members"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "unchanged"
    );
    let r =
        s.op.request(
            reqwest::Method::PUT,
            &format!("{path}/{qid}/members"),
            Some(json!([{"user_id": a1, "penalty": 5000}])),
        )
        .await;
    assert!(
        r.message().starts_with("members[0].penalty"),
        "{}",
        r.message()
    );

    assert_eq!(
        s.op.delete(&format!("{path}/{qid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.op.get(&format!("{path}/{qid}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn agent_skills_capacity_and_presence_are_managed_with_the_right_roles() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (a, agent) = app.member(&s.op, s.tid, "agent").await;
    let (b, _) = app.member(&s.op, s.tid, "agent").await;
    let (_, sup) = app.member(&s.op, s.tid, "supervisor").await;
    let path = format!("/api/v1/tenants/{}/agents/{a}", s.tid);
    let r = s.op.patch(&path, json!({"skills": {"billing": 7, "spanish": 3}, "capacity": {"voice": 1, "chat": 5}, "block_chats_during_call": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["skills"]["billing"], 7);
    assert_eq!(r.body["capacity"]["chat"], 5);
    assert_eq!(r.body["block_chats_during_call"], true);
    let r = s.op.patch(&path, json!({"skills": {"billing": 11}})).await;
    assert!(r.message().starts_with("skills.billing"), "{}", r.message());
    let r =
        s.op.patch(&path, json!({"capacity": {"voice": 1, "chat": 99}}))
            .await;
    assert!(r.message().starts_with("capacity.chat"), "{}", r.message());
    assert_eq!(
        sup.patch(&path, json!({"skills": {}})).await.status,
        StatusCode::FORBIDDEN,
        "supervisors read, admins configure"
    );

    let r = agent
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/me/presence", s.tid),
            Some(json!({"state": "away", "reason": "lunch"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["presence"]["state"].as_str(),
            r.body["presence"]["reason"].as_str()
        ),
        (Some("away"), Some("lunch"))
    );
    let r = agent
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/agents/{b}/presence", s.tid),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "agents set only their own presence"
    );
    let r = sup
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/agents/{b}/presence", s.tid),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = sup
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/agents/{b}/presence", s.tid),
            Some(json!({"state": "dancing"})),
        )
        .await;
    assert!(r.message().starts_with("state"), "{}", r.message());
    let list = sup.get(&format!("/api/v1/tenants/{}/agents", s.tid)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body["items"].as_array().unwrap().len() >= 3);
    assert_eq!(
        agent
            .get(&format!("/api/v1/tenants/{}/agents", s.tid))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_contact_is_offered_accepted_connected_and_ended_into_wrap_up() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (a, agent) = app.member(&s.op, s.tid, "agent").await;
    let qid = queue(
        &s,
        "Support",
        json!({"wrapup_secs": 60}),
        json!([{"user_id": a}]),
    )
    .await;
    let c = enqueue(&s, qid, json!({})).await;
    let cid = c["id"].as_i64().unwrap();
    assert_eq!(c["status"], "waiting", "nobody is available yet");
    assert_eq!(c["position"], 1);

    available(&agent, s.tid).await;
    let c = contact(&s, cid).await;
    assert_eq!(c["status"], "offered");
    assert_eq!(c["offered_to"], json!([a]));

    let r = agent
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/accept", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["agent_id"].as_i64()),
        (Some("connected"), Some(a))
    );

    let live =
        s.op.get(&format!("/api/v1/tenants/{}/queues/{qid}/live", s.tid))
            .await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    assert_eq!(live.body["stats"]["answered"], 1);
    assert_eq!(live.body["stats"]["agents"]["busy"], 1);
    let me = &live.body["agents"][0];
    assert_eq!(
        (me["state"].as_str(), me["chat_contacts"].as_i64()),
        (Some("busy"), Some(1))
    );

    let r = agent
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/end", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let c = contact(&s, cid).await;
    assert_eq!(
        (c["status"].as_str(), c["outcome"].as_str()),
        (Some("ended"), Some("answered"))
    );
    let live =
        s.op.get(&format!("/api/v1/tenants/{}/queues/{qid}/live", s.tid))
            .await;
    assert_eq!(
        live.body["stats"]["agents"]["wrapup"], 1,
        "the agent is in wrap-up after the contact"
    );
    assert_eq!(live.body["agents"][0]["state"], "wrapup");
    assert!(
        live.body["agents"][0]["wrapup_secs_left"]
            .as_i64()
            .is_some_and(|s| s > 50)
    );
    let me = agent
        .get(&format!("/api/v1/tenants/{}/me/presence", s.tid))
        .await;
    assert_eq!(
        (
            me.body["routing_state"].as_str(),
            me.body["presence"]["state"].as_str()
        ),
        (Some("wrapup"), Some("available")),
        "the agent sees their own wrap-up"
    );

    // A second contact waits while the only agent wraps up.
    let c2 = enqueue(&s, qid, json!({})).await;
    assert_eq!(c2["status"], "waiting");
}

#[tokio::test]
async fn a_declined_or_unanswered_offer_moves_to_the_next_agent() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (a, agent_a) = app.member(&s.op, s.tid, "agent").await;
    let (b, agent_b) = app.member(&s.op, s.tid, "agent").await;
    let qid = queue(
        &s,
        "Sales",
        json!({"strategy": "linear", "offer_timeout_secs": 1, "retry_secs": 60}),
        json!([{"user_id": a}, {"user_id": b}]),
    )
    .await;
    available(&agent_a, s.tid).await;
    available(&agent_b, s.tid).await;

    let cid = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    assert_eq!(
        contact(&s, cid).await["offered_to"],
        json!([a]),
        "linear starts at the first member"
    );
    let r = agent_a
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/decline", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(contact(&s, cid).await["offered_to"], json!([b]));
    let r = agent_a
        .post(
            &format!("/api/v1/tenants/{}/routing/contacts/{cid}/accept", s.tid),
            json!({}),
        )
        .await;
    assert_eq!(
        r.code(),
        "no_offer",
        "a declined offer cannot be taken back"
    );

    // b lets it ring out; with a's retry window still open nobody else can take it.
    let c = eventually(&s, cid, |c| c["offered_to"] == json!([])).await;
    assert_eq!(c["status"], "waiting");
    let _ = agent_b;
}

#[tokio::test]
async fn an_agent_who_misses_offers_is_autopaused() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (a, agent) = app.member(&s.op, s.tid, "agent").await;
    let qid = queue(
        &s,
        "Night",
        json!({"offer_timeout_secs": 1, "retry_secs": 0, "autopause_after": 1}),
        json!([{"user_id": a}]),
    )
    .await;
    available(&agent, s.tid).await;
    let cid = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    eventually(&s, cid, |c| c["status"] == "waiting").await;
    let me =
        s.op.get(&format!("/api/v1/tenants/{}/agents/{a}", s.tid))
            .await;
    assert_eq!(
        (
            me.body["presence"]["state"].as_str(),
            me.body["presence"]["reason"].as_str()
        ),
        (Some("away"), Some("autopause"))
    );
}

#[tokio::test]
async fn a_waiting_contact_that_abandons_is_counted_and_leaves_the_queue() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let qid = queue(&s, "Empty", json!({}), json!([])).await;
    let first = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    let second = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    assert_eq!(contact(&s, second).await["position"], 2);
    assert_eq!(
        s.op.delete(&format!(
            "/api/v1/tenants/{}/routing/contacts/{first}",
            s.tid
        ))
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let c = contact(&s, first).await;
    assert_eq!(
        (c["status"].as_str(), c["outcome"].as_str()),
        (Some("ended"), Some("abandoned"))
    );
    assert_eq!(contact(&s, second).await["position"], 1);
    let live =
        s.op.get(&format!("/api/v1/tenants/{}/queues/{qid}/live", s.tid))
            .await;
    assert_eq!(live.body["stats"]["abandoned"], 1);
    assert_eq!(live.body["waiting"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn higher_priority_goes_first_and_a_moved_contact_keeps_its_original_time() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let qid = queue(&s, "Ordered", json!({}), json!([])).await;
    let normal = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    let vip = enqueue(&s, qid, json!({"priority": 5})).await["id"]
        .as_i64()
        .unwrap();
    let early = enqueue(&s, qid, json!({"enqueued_at": "2020-01-01T00:00:00Z"})).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(contact(&s, vip).await["position"], 1);
    assert_eq!(
        contact(&s, early).await["position"],
        2,
        "an earlier original time is served before later arrivals"
    );
    assert_eq!(contact(&s, normal).await["position"], 3);
}

#[tokio::test]
async fn waiting_contacts_survive_a_restart_in_their_places() {
    let mut app = spawn_app().await;
    let s = setup(&app).await;
    let (a, _) = app.member(&s.op, s.tid, "agent").await;
    let qid = queue(&s, "Persistent", json!({}), json!([{"user_id": a}])).await;
    let c1 = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    let c2 = enqueue(&s, qid, json!({"priority": 3})).await["id"]
        .as_i64()
        .unwrap();
    let c3 = enqueue(&s, qid, json!({})).await["id"].as_i64().unwrap();
    let positions_before = [
        contact(&s, c1).await["position"].clone(),
        contact(&s, c2).await["position"].clone(),
        contact(&s, c3).await["position"].clone(),
    ];
    assert_eq!(positions_before, [json!(2), json!(1), json!(3)]);

    app.restart().await;
    let op = app.operator().await;
    let s = Setup { tid: s.tid, op };
    let positions_after = [
        contact(&s, c1).await["position"].clone(),
        contact(&s, c2).await["position"].clone(),
        contact(&s, c3).await["position"].clone(),
    ];
    assert_eq!(positions_after, positions_before);
    assert!(contact(&s, c1).await["waited_secs"].as_i64().is_some());

    // The first in line is the first offered once the agent signs in.
    let agent_email =
        s.op.get(&format!("/api/v1/tenants/{}/users/{a}", s.tid))
            .await
            .body["email"]
            .as_str()
            .unwrap()
            .to_owned();
    let agent = app.login(&agent_email, crate::helpers::PASSWORD).await;
    available(&agent, s.tid).await;
    assert_eq!(contact(&s, c2).await["status"], "offered");
    assert_eq!(contact(&s, c1).await["status"], "waiting");
}

#[tokio::test]
async fn a_connected_contact_survives_a_restart_and_still_holds_its_agent() {
    let mut app = spawn_app().await;
    let s = setup(&app).await;
    let (a, agent) = app.member(&s.op, s.tid, "agent").await;
    let qid = queue(
        &s,
        "Calls",
        json!({"auto_assign": true}),
        json!([{"user_id": a}]),
    )
    .await;
    available(&agent, s.tid).await;
    let c = enqueue(&s, qid, json!({"medium": "voice", "channel": "pjsip"}));
    let cid = c.await["id"].as_i64().unwrap();
    assert_eq!(contact(&s, cid).await["status"], "connected");
    app.restart().await;
    let s = Setup {
        tid: s.tid,
        op: app.operator().await,
    };
    assert_eq!(contact(&s, cid).await["status"], "connected");
    let second = enqueue(&s, qid, json!({"medium": "voice", "channel": "pjsip"})).await;
    assert_eq!(
        second["status"], "waiting",
        "one call at a time: the agent is still on the first"
    );
}
