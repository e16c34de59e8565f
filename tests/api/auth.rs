//! Login, sessions, CSRF, logout, password change, throttling.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;
use switchboard::domain::UserId;
use switchboard::store::sessions::{NewSession, insert_session};

use crate::helpers::{
    OPERATOR_EMAIL, OPERATOR_PASSWORD, PASSWORD, spawn_app, spawn_app_with, unique_email,
};

#[tokio::test]
async fn login_sets_an_httponly_samesite_session_cookie_and_returns_the_profile() {
    let app = spawn_app().await;
    let r = app
        .anonymous()
        .try_login(OPERATOR_EMAIL.to_uppercase(), OPERATOR_PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("sb_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "not configured as secure: {cookie}"
    );
    assert_eq!(r.body["user"]["email"], OPERATOR_EMAIL);
    assert_eq!(r.body["user"]["is_operator"], true);
    assert!(r.body["csrf_token"].as_str().is_some_and(|t| t.len() > 20));
    assert!(r.body["user"].get("password_hash").is_none());
    assert!(
        r.body["user"]["last_login_at"].is_string(),
        "this login is the last one"
    );
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let app = spawn_app_with(|c| c.auth.cookie_secure = true).await;
    let r = app
        .anonymous()
        .try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Secure"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let c = app.anonymous();
    let wrong = c.try_login(OPERATOR_EMAIL, "nope-nope-nope").await;
    let unknown = c.try_login("ghost@example.com", "nope-nope-nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.code(), "invalid_credentials");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after_even_for_the_right_password() {
    let app = spawn_app_with(|c| {
        c.auth.max_failed_logins = 3;
        c.auth.lockout_base_secs = 60;
    })
    .await;
    let c = app.anonymous();
    for _ in 0..3 {
        let r = c.try_login(OPERATOR_EMAIL, "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = c.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // A different account from the same address is not locked yet (per-IP limit is higher).
    let other = c.try_login("someone@example.com", "wrong").await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address_across_accounts() {
    let app = spawn_app_with(|c| c.auth.max_failed_logins_per_ip = 4).await;
    let c = app.anonymous();
    for i in 0..4 {
        c.try_login(format!("u{i}@example.com"), "wrong").await;
    }
    let r = c.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn me_lists_the_tenants_and_roles_of_the_signed_in_user() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "acme").await;
    let b = app.create_tenant(&op, "bravo").await;
    let email = unique_email("multi");
    for (tid, role) in [(a, "agent"), (b, "admin")] {
        let r = op
            .post(
                &format!("/api/v1/tenants/{tid}/users"),
                json!({"email": email, "name": "Multi", "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let me = app.login(&email, PASSWORD).await.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    let roles: Vec<(String, String)> = me.body["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["tenant_slug"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("acme".into(), "agent".into()),
            ("bravo".into(), "admin".into())
        ]
    );
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthenticated");
}

#[tokio::test]
async fn unsafe_requests_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let r = op
        .without_csrf()
        .post("/api/v1/tenants", json!({"name": "X", "slug": "xx"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "csrf_failed");
    // Safe methods do not need it.
    assert_eq!(
        op.without_csrf().get("/api/v1/me").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_ends_the_session_for_good() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let r = op.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let cleared = r.headers["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // Even a client that kept the old cookie is refused.
    let r = op.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let uid = op.user_id.unwrap();
    let token = "expired-token-value";
    insert_session(
        &app.store,
        NewSession {
            user: UserId(uid),
            token_hash: &switchboard::auth::hash_token(token),
            csrf_token: "c",
            expires_at: Utc::now() - Duration::minutes(1),
            ip: None,
            user_agent: None,
        },
    )
    .await
    .unwrap();
    let res = app
        .anonymous()
        .raw()
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", format!("sb_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "session_expired");
}

#[tokio::test]
async fn sessions_can_be_listed_and_revoked_from_elsewhere() {
    let app = spawn_app().await;
    let laptop = app.operator().await;
    let phone = app.operator().await;
    let list = laptop.get("/api/v1/me/sessions").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let current = list.body["current"].as_i64().unwrap();
    let other = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .find(|id| *id != current)
        .unwrap();
    assert_eq!(
        laptop
            .delete(&format!("/api/v1/me/sessions/{other}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        phone.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(laptop.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        laptop
            .delete(&format!("/api/v1/me/sessions/{other}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let app = spawn_app().await;
    let a = app.operator().await;
    let b = app.operator().await;
    let r = a
        .post(
            "/api/v1/me/password",
            json!({"current_password": "wrong-one-here", "new_password": "brand-new-pass-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .post(
            "/api/v1/me/password",
            json!({"current_password": OPERATOR_PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.message().starts_with("new_password"), "{}", r.message());
    let r = a
        .post(
            "/api/v1/me/password",
            json!({"current_password": OPERATOR_PASSWORD, "new_password": "brand-new-pass-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.get("/api/v1/me").await.status,
        StatusCode::OK,
        "the session that changed it stays"
    );
    assert_eq!(
        b.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    app.login(OPERATOR_EMAIL, "brand-new-pass-1").await;
    let old = app
        .anonymous()
        .try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_member_deactivated_in_their_only_tenant_cannot_sign_in() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "solo").await;
    let (uid, agent) = app.member(&op, tid, "agent").await;
    let me = agent.get("/api/v1/me").await;
    let email = me.body["user"]["email"].as_str().unwrap().to_owned();
    let r = op
        .patch(
            &format!("/api/v1/tenants/{tid}/users/{uid}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.anonymous().try_login(email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "no_tenant");
    // Their existing session no longer reaches the tenant either.
    assert_eq!(
        agent.get(&format!("/api/v1/tenants/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
}
