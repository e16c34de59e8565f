//! The AI agent over the API: settings, the knowledge base (import, search, export), and the
//! local bot answering a widget visitor, then handing over to a person with a record.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chat::{Shop, available, say, shop, until, visitor};
use crate::helpers::*;

const KB: &str = include_str!("../data/ai-eval/kb.json");

async fn with_bot(app: &TestApp, settings: Value) -> Shop {
    let s = shop(app, json!({})).await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let r = s
        .admin
        .post(
            &format!("{base}/knowledge-base/import"),
            serde_json::from_str(KB).unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["imported"], 48);
    let mut all = json!({"enabled": true, "response_delay_ms": 0, "languages": ["en", "es"]});
    for (k, v) in settings.as_object().unwrap() {
        all[k] = v.clone();
    }
    let r = s
        .admin
        .request(
            reqwest::Method::PUT,
            &format!("{base}/ai"),
            Some(json!({"settings": all})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    s
}

/// Frames until a message from the bot; returns its text.
async fn bot_says(ws: &mut crate::chat::Socket) -> String {
    loop {
        let (f, _) = until(ws, "message").await;
        if f["sender"] == "bot" {
            return f["content"].as_str().unwrap().to_owned();
        }
    }
}

#[tokio::test]
async fn the_local_bot_answers_from_the_knowledge_base_then_hands_over_with_a_record() {
    let app = spawn_app().await;
    let s = with_bot(&app, json!({})).await;
    available(&s).await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;

    say(&mut ws, "1", "hello!").await;
    assert!(bot_says(&mut ws).await.starts_with("Hi!"), "small talk");
    say(&mut ws, "2", "How many days do I have to return an item?").await;
    let answer = bot_says(&mut ws).await;
    assert!(answer.contains("within 60 days of delivery"), "{answer}");
    let list = s.admin.get(&format!("{base}/conversations")).await;
    let cid = list.body["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list.body["items"][0]["status"], "bot");
    assert!(
        s.agent
            .get(&format!("{base}/conversations/{cid}"))
            .await
            .body["conversation"]["assigned_agent_id"]
            .is_null(),
        "nobody was offered it while the bot answers"
    );

    say(
        &mut ws,
        "3",
        "this is useless, I want to talk to a real person",
    )
    .await;
    let told = bot_says(&mut ws).await;
    assert!(told.contains("number 1 in line"), "{told}");
    let detail = s.admin.get(&format!("{base}/conversations/{cid}")).await;
    let c = &detail.body["conversation"];
    assert_ne!(c["status"], "bot");
    assert_eq!(c["handoff_reason"], "explicit_request");
    assert_eq!(c["handoff"]["reason"]["kind"], "explicit_request");
    assert!(
        c["handoff"]["summary"].as_str().unwrap().contains("return"),
        "{}",
        c["handoff"]
    );
    assert_eq!(c["bot_turns"], 2);
    let messages = detail.body["messages"].as_array().unwrap();
    let last_customer = messages
        .iter()
        .rev()
        .find(|m| m["sender"] == "customer")
        .unwrap();
    assert_eq!(last_customer["intent"], "agent");
    assert!(last_customer["sentiment"].as_f64().unwrap() < 0.0);
    // Offered to the available agent of the widget's queue.
    let mine = s.agent.get(&format!("{base}/conversations/{cid}")).await;
    assert_eq!(mine.status, StatusCode::OK);
}

#[tokio::test]
async fn questions_the_knowledge_base_cannot_answer_go_to_people_with_the_fallback() {
    let app = spawn_app().await;
    let s = with_bot(
        &app,
        json!({"fallback_message": "Let me get a colleague for that."}),
    )
    .await;
    let base = format!("/api/v1/tenants/{}", s.tid);
    let mut ws = visitor(&app, &s.public_id, None, None, None).await.unwrap();
    until(&mut ws, "ready").await;
    say(&mut ws, "1", "What is the capital of Mongolia?").await;
    assert_eq!(bot_says(&mut ws).await, "Let me get a colleague for that.");
    // Nobody is available: the customer is told so, not given a place in line.
    let next = bot_says(&mut ws).await;
    assert!(next.contains("isn't available"), "{next}");
    let list = s.admin.get(&format!("{base}/conversations")).await;
    assert_eq!(list.body["items"][0]["status"], "queued");
    assert!(matches!(
        list.body["items"][0]["handoff_reason"].as_str(),
        Some("low_confidence" | "out_of_scope")
    ));
}

#[tokio::test]
async fn knowledge_base_entries_are_managed_imported_searched_and_exported() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let base = format!("/api/v1/tenants/{}/knowledge-base", s.tid);
    // A bad file imports nothing and names every bad row.
    let r = s
        .admin
        .post(&format!("{base}/import"), json!([{"category": "x", "question": "q?"}, {"category": "y", "question": "r?", "answer": "a", "language": "English"}]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["errors"][1]["field"], "language");
    assert_eq!(s.admin.get(&base).await.body["total"], 0);

    let r = s
        .admin
        .post(&format!("{base}/import"), serde_json::from_str(KB).unwrap())
        .await;
    assert_eq!(r.body["imported"], 48);
    // Importing the same file again updates the entries (by their ids), no copies.
    let r = s
        .admin
        .post(&format!("{base}/import"), serde_json::from_str(KB).unwrap())
        .await;
    assert_eq!(r.body["imported"], 48);
    assert_eq!(s.admin.get(&base).await.body["total"], 48);

    // Agents read and search; only admins write.
    let found = s
        .agent
        .get(&format!(
            "{base}/search?q=when%20will%20I%20get%20my%20money%20back"
        ))
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(
        found.body["hits"][0]["entry"]["slug"],
        "returns-refund-time"
    );
    assert_eq!(found.body["decision"], "answer");
    let r = s
        .agent
        .post(
            &base,
            json!({"category": "a", "question": "q?", "answer": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = s
        .admin
        .post(&base, json!({"category": "store", "question": "Do you have parking?", "answer": "Yes, free parking at every store.", "keywords": ["car park"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let found = s
        .agent
        .get(&format!("{base}/search?q=is%20there%20a%20car%20park"))
        .await;
    assert_eq!(
        found.body["hits"][0]["entry"]["id"], id,
        "the index follows changes"
    );
    let r = s
        .admin
        .request(reqwest::Method::PUT, &format!("{base}/{id}"), Some(json!({"category": "store", "question": "Do you have parking?", "answer": "Yes.", "active": false})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let found = s
        .agent
        .get(&format!("{base}/search?q=is%20there%20a%20car%20park"))
        .await;
    assert!(
        found.body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["entry"]["id"] != id),
        "inactive entries are not used"
    );
    assert_eq!(
        s.admin.delete(&format!("{base}/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.admin.get(&format!("{base}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    let csv = s
        .admin
        .raw()
        .get(format!("{}{base}/export?format=csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("knowledge-base.csv")
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,category,question,answer,keywords,language,active"));
    assert_eq!(text.lines().count(), 49);
}

#[tokio::test]
async fn ai_settings_are_checked_and_the_api_key_is_never_returned() {
    let app = spawn_app().await;
    let s = shop(&app, json!({})).await;
    let path = format!("/api/v1/tenants/{}/ai", s.tid);
    let r = s.admin.get(&path).await;
    assert_eq!(
        (
            r.body["settings"]["enabled"].as_bool(),
            r.body["settings"]["provider"].as_str()
        ),
        (Some(false), Some("local"))
    );
    let put = |body: Value| s.admin.request(reqwest::Method::PUT, &path, Some(body));
    let r = put(json!({"settings": {"provider": "anthropic", "model": "claude-sonnet-4-5"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.message().starts_with("api_key"), "{}", r.message());
    let r = put(json!({"settings": {"provider": "anthropic", "model": "claude-sonnet-4-5"}, "api_key": "sk-ant-secret-123"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["api_key_set"], true);
    assert!(!r.body.to_string().contains("sk-ant-secret-123"));
    let r = put(json!({"settings": {"handoff_confidence": 2}})).await;
    assert!(
        r.message().starts_with("settings.handoff_confidence"),
        "{}",
        r.message()
    );
    let r = put(json!({"settings": {"temperature": 2}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.agent.get(&path).await.status, StatusCode::FORBIDDEN);
    let stored =
        switchboard::store::ai::find_ai_config(&app.store, switchboard::domain::TenantId(s.tid))
            .await
            .unwrap()
            .unwrap();
    assert!(
        !stored.api_key.unwrap().contains("sk-ant"),
        "sealed at rest"
    );
    let audit = s
        .admin
        .get(&format!("/api/v1/tenants/{}/audit", s.tid))
        .await;
    assert!(!audit.body.to_string().contains("sk-ant-secret-123"));
}
