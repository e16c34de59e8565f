//! Members of a tenant: create, roles, activation, removal, password reset.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app, unique_email};

#[tokio::test]
async fn an_admin_adds_a_member_with_a_generated_password_that_works_once_shown() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let email = unique_email("new");
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": email, "name": "New Agent", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let password = r.body["generated_password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 10);
    assert_eq!(r.body["user"]["role"], "agent");
    let list = admin.get(&format!("/api/v1/tenants/{tid}/users")).await;
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == email.as_str())
    );
    assert!(
        !list.body.to_string().contains(&password),
        "the password is never listed"
    );
    app.login(&email, &password).await;
}

#[tokio::test]
async fn a_duplicate_member_is_a_409_and_an_existing_account_joins_a_second_tenant() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "aa").await;
    let b = app.create_tenant(&op, "bb").await;
    let email = unique_email("both");
    let body = json!({"email": email, "name": "Both", "role": "agent", "password": PASSWORD});
    assert_eq!(
        op.post(&format!("/api/v1/tenants/{a}/users"), body.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    let dup = op
        .post(&format!("/api/v1/tenants/{a}/users"), body.clone())
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let second = op.post(&format!("/api/v1/tenants/{b}/users"), body).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert!(second.body["generated_password"].is_null());
}

#[tokio::test]
async fn invalid_member_input_names_the_field() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let path = format!("/api/v1/tenants/{tid}/users");
    let r = op
        .post(&path, json!({"email": "bad", "name": "X", "role": "agent"}))
        .await;
    assert!(r.message().starts_with("email"), "{}", r.message());
    let r = op
        .post(
            &path,
            json!({"email": "a@b.co", "name": " ", "role": "agent"}),
        )
        .await;
    assert!(r.message().starts_with("name"), "{}", r.message());
    let r = op
        .post(
            &path,
            json!({"email": "a@b.co", "name": "X", "role": "agent", "password": "short"}),
        )
        .await;
    assert!(r.message().starts_with("password"), "{}", r.message());
    let r = op
        .post(
            &path,
            json!({"email": "a@b.co", "name": "X", "role": "king"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("role"), "{}", r.message());
}

#[tokio::test]
async fn roles_cannot_be_granted_above_ones_own() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let (agent_id, _) = app.member(&op, tid, "agent").await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": unique_email("o"), "name": "O", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = admin
        .patch(
            &format!("/api/v1/tenants/{tid}/users/{agent_id}"),
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = admin
        .patch(
            &format!("/api/v1/tenants/{tid}/users/{agent_id}"),
            json!({"role": "supervisor", "name": "Promoted"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["role"], "supervisor");
    assert_eq!(r.body["name"], "Promoted");
}

#[tokio::test]
async fn an_admin_cannot_touch_an_owner_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (owner_id, owner) = app.member(&op, tid, "owner").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let path = format!("/api/v1/tenants/{tid}/users/{owner_id}");
    assert_eq!(
        admin.patch(&path, json!({"active": false})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.delete(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        admin
            .post(&format!("{path}/reset-password"), json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = op.patch(&path, json!({"role": "admin"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "last_owner");
    assert_eq!(op.delete(&path).await.code(), "last_owner");
    let r = owner.patch(&path, json!({"active": false})).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nobody deactivates themselves"
    );
}

#[tokio::test]
async fn a_removed_member_loses_access_to_that_tenant_only() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "aa").await;
    let b = app.create_tenant(&op, "bb").await;
    let email = unique_email("two");
    for tid in [a, b] {
        op.post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": email, "name": "Two", "role": "admin", "password": PASSWORD}),
        )
        .await;
    }
    let member = app.login(&email, PASSWORD).await;
    let uid = member.user_id.unwrap();
    assert_eq!(
        op.delete(&format!("/api/v1/tenants/{a}/users/{uid}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        member
            .get(&format!("/api/v1/tenants/{a}/users"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        member
            .get(&format!("/api/v1/tenants/{b}/users"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        op.get(&format!("/api/v1/tenants/{a}/users/{uid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_password_reset_signs_the_member_out_and_the_new_password_works() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let (agent_id, agent) = app.member(&op, tid, "agent").await;
    let email = agent.get("/api/v1/me").await.body["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users/{agent_id}/reset-password"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let password = r.body["password"].as_str().unwrap().to_owned();
    assert_eq!(
        agent.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login(&email, &password).await;
    let chosen = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users/{agent_id}/reset-password"),
            json!({"password": "chosen-password-9"}),
        )
        .await;
    assert_eq!(chosen.body["password"], "chosen-password-9");
    app.login(&email, "chosen-password-9").await;
}

#[tokio::test]
async fn an_admin_cannot_reset_a_platform_operators_password() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let op_id = op.user_id.unwrap();
    // The operator joins the tenant as an agent, so an admin outranks that membership.
    sqlx_insert_membership(&app, tid, op_id).await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/users/{op_id}/reset-password"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn sqlx_insert_membership(app: &crate::helpers::TestApp, tid: i64, uid: i64) {
    switchboard::store::users::insert_membership(
        &app.store,
        switchboard::domain::TenantId(tid),
        switchboard::domain::UserId(uid),
        switchboard::domain::Role::Agent,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn nobody_removes_themselves_and_a_reset_needs_no_body() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "acme").await;
    let (admin_id, admin) = app.member(&op, tid, "admin").await;
    let r = admin
        .delete(&format!("/api/v1/tenants/{tid}/users/{admin_id}"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (agent_id, _) = app.member(&op, tid, "agent").await;
    let r = admin
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/tenants/{tid}/users/{agent_id}/reset-password"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["password"].as_str().is_some_and(|p| p.len() >= 10));
}
