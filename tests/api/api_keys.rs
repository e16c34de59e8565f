//! Tenant API keys: shown once, hashed, usable as Bearer, role-bound, revocable, last-used time.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_key_is_shown_once_works_as_bearer_records_use_and_stops_when_revoked() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let (kid, secret) = app.api_key(&admin, tid, "admin").await;
    assert!(secret.starts_with("sbk_"));

    let listed = admin.get(&format!("/api/v1/tenants/{tid}/api-keys")).await;
    assert!(
        !listed.body.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert!(secret.starts_with(listed.body["items"][0]["prefix"].as_str().unwrap()));
    assert!(listed.body["items"][0]["last_used_at"].is_null());

    let key = app.with_key(&secret);
    let r = key.get(&format!("/api/v1/tenants/{tid}/users")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Keys need no CSRF token: they are not ambient browser credentials.
    let r = key
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": "bot-made@example.com", "name": "Via Key", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let listed = admin.get(&format!("/api/v1/tenants/{tid}/api-keys")).await;
    assert!(listed.body["items"][0]["last_used_at"].is_string());

    assert_eq!(
        admin
            .delete(&format!("/api/v1/tenants/{tid}/api-keys/{kid}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = key.get(&format!("/api/v1/tenants/{tid}/users")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "invalid_api_key");
    assert_eq!(
        admin
            .delete(&format!("/api/v1/tenants/{tid}/api-keys/{kid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_key_acts_with_its_role_and_only_in_its_tenant() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "aa").await;
    let b = app.create_tenant(&op, "bb").await;
    let (_, admin) = app.member(&op, a, "admin").await;
    let (_, agent_secret) = app.api_key(&admin, a, "agent").await;
    let key = app.with_key(&agent_secret);
    assert_eq!(
        key.get(&format!("/api/v1/tenants/{a}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        key.get(&format!("/api/v1/tenants/{a}/users")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        key.get(&format!("/api/v1/tenants/{b}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        key.get("/api/v1/tenants").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        key.get("/api/v1/me").await.status,
        StatusCode::FORBIDDEN,
        "keys have no personal profile"
    );
}

#[tokio::test]
async fn keys_cannot_be_owners_or_outrank_their_creator_and_garbage_keys_are_refused() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/api-keys"),
            json!({"name": "x", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let (_, sup_secret) = app.api_key(&admin, tid, "supervisor").await;
    let _ = sup_secret;
    let r = app
        .with_key("sbk_made_up")
        .get(&format!("/api/v1/tenants/{tid}"))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
