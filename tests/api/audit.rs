//! The audit log records every admin mutation with actor, action, target and time.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, unique_email};

#[tokio::test]
async fn admin_mutations_are_recorded_newest_first_with_their_actor() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let admin_email = admin.get("/api/v1/me").await.body["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": unique_email("a"), "name": "A", "role": "agent"}),
        )
        .await;
    let uid = r.body["user"]["id"].as_i64().unwrap();
    admin
        .patch(
            &format!("/api/v1/tenants/{tid}/users/{uid}"),
            json!({"role": "supervisor"}),
        )
        .await;
    let (kid, secret) = app.api_key(&admin, tid, "agent").await;
    admin
        .delete(&format!("/api/v1/tenants/{tid}/api-keys/{kid}"))
        .await;
    admin
        .post(
            &format!("/api/v1/tenants/{tid}/users/{uid}/reset-password"),
            json!({}),
        )
        .await;

    let log = admin.get(&format!("/api/v1/tenants/{tid}/audit-log")).await;
    assert_eq!(log.status, StatusCode::OK);
    let items = log.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.reset_password",
            "api_key.revoke",
            "api_key.create",
            "user.update",
            "user.create",
            "user.create",
            "tenant.create"
        ]
    );
    assert_eq!(items[0]["actor_email"], admin_email.as_str());
    assert_eq!(items[0]["target_type"], "user");
    assert_eq!(items[0]["target_id"], uid.to_string());
    assert_eq!(items[3]["details"]["role"], "supervisor");
    assert!(items[0]["created_at"].is_string());
    assert!(
        !log.body.to_string().contains(&secret),
        "no secrets in the audit log"
    );
    let first_page = admin
        .get(&format!("/api/v1/tenants/{tid}/audit-log?limit=3"))
        .await;
    let cursor = first_page.body["next_cursor"].as_str().unwrap().to_owned();
    let next = admin
        .get(&format!(
            "/api/v1/tenants/{tid}/audit-log?limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(next.body["items"][0]["action"], "user.update");
}

#[tokio::test]
async fn supervisors_and_agents_cannot_read_the_audit_log() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    for role in ["supervisor", "agent"] {
        let (_, c) = app.member(&op, tid, role).await;
        assert_eq!(
            c.get(&format!("/api/v1/tenants/{tid}/audit-log"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
}
