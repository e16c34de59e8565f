//! Tenants: operator CRUD, soft delete with its guard, limits and feature flags.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_operator_creates_lists_edits_and_reads_tenants() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let r = op
        .post(
            "/api/v1/tenants",
            json!({"name": "Acme Support", "slug": "acme", "limits": {"max_agents": 5, "max_dids": 2, "max_concurrent_calls": 10, "max_chat_integrations": 3}, "features": {"voice": true, "chat": true, "ai": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tid = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["limits"]["max_agents"], 5);
    assert_eq!(r.body["features"]["ai"], false);

    let list = op.get("/api/v1/tenants").await;
    assert_eq!(list.body["items"][0]["slug"], "acme");

    let r = op
        .patch(
            &format!("/api/v1/tenants/{tid}"),
            json!({"name": "Acme Ltd", "features": {"voice": false, "chat": true, "ai": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Acme Ltd");
    assert_eq!(r.body["features"]["voice"], false);
    assert_eq!(r.body["limits"]["max_agents"], 5, "untouched fields stay");
    assert_eq!(
        op.get(&format!("/api/v1/tenants/{tid}")).await.body["name"],
        "Acme Ltd"
    );
}

#[tokio::test]
async fn tenants_are_paginated_with_a_cursor() {
    let app = spawn_app().await;
    let op = app.operator().await;
    for i in 0..5 {
        app.create_tenant(&op, &format!("t{i}")).await;
    }
    let p1 = op.get("/api/v1/tenants?limit=2").await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_owned();
    let p2 = op
        .get(&format!("/api/v1/tenants?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(p2.body["items"][0]["slug"], "t2");
    let p3 = op
        .get(&format!(
            "/api/v1/tenants?limit=2&cursor={}",
            p2.body["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 1);
    assert!(p3.body["next_cursor"].is_null());
    assert_eq!(
        op.get("/api/v1/tenants?cursor=zzz").await.code(),
        "invalid_cursor"
    );
}

#[tokio::test]
async fn a_duplicate_slug_is_a_409_and_a_bad_slug_a_422() {
    let app = spawn_app().await;
    let op = app.operator().await;
    app.create_tenant(&op, "acme").await;
    let dup = op
        .post("/api/v1/tenants", json!({"name": "Again", "slug": "acme"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.code(), "conflict");
    let bad = op
        .post("/api/v1/tenants", json!({"name": "Bad", "slug": "Not OK"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.message().starts_with("slug"), "{}", bad.message());
    let neg = op.post("/api/v1/tenants", json!({"name": "Neg", "slug": "neg", "limits": {"max_agents": -1, "max_dids": 0, "max_concurrent_calls": 0, "max_chat_integrations": 0}})).await;
    assert_eq!(neg.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        neg.message().contains("limits.max_agents"),
        "{}",
        neg.message()
    );
}

#[tokio::test]
async fn deleting_a_tenant_with_data_needs_force_and_then_it_is_gone() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "busy").await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let r = op.delete(&format!("/api/v1/tenants/{tid}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "tenant_has_data");
    let r = op
        .delete(&format!("/api/v1/tenants/{tid}?force=true"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        op.get(&format!("/api/v1/tenants/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/tenants/{tid}/users"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        op.get("/api/v1/tenants").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The slug is free again.
    app.create_tenant(&op, "busy").await;
}

#[tokio::test]
async fn an_empty_tenant_is_deleted_without_force() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "empty").await;
    assert_eq!(
        op.delete(&format!("/api/v1/tenants/{tid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        op.delete(&format!("/api/v1/tenants/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_member_limit_is_enforced_when_people_are_added_or_reactivated() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let r = op
        .post("/api/v1/tenants", json!({"name": "Small", "slug": "small", "limits": {"max_agents": 2, "max_dids": 0, "max_concurrent_calls": 0, "max_chat_integrations": 0}}))
        .await;
    let tid = r.body["id"].as_i64().unwrap();
    let (first, _) = app.member(&op, tid, "agent").await;
    app.member(&op, tid, "agent").await;
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": "third@example.com", "name": "Third", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "limit_reached");
    // Deactivating frees a seat; reactivating needs one.
    op.patch(
        &format!("/api/v1/tenants/{tid}/users/{first}"),
        json!({"active": false}),
    )
    .await;
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/users"),
            json!({"email": "third@example.com", "name": "Third", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = op
        .patch(
            &format!("/api/v1/tenants/{tid}/users/{first}"),
            json!({"active": true}),
        )
        .await;
    assert_eq!(r.code(), "limit_reached");
}

#[tokio::test]
async fn owners_may_rename_their_tenant_but_not_change_limits_or_features() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "own").await;
    let (_, owner) = app.member(&op, tid, "owner").await;
    let r = owner
        .patch(&format!("/api/v1/tenants/{tid}"), json!({"name": "Owned"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = owner.patch(&format!("/api/v1/tenants/{tid}"), json!({"limits": {"max_agents": 0, "max_dids": 0, "max_concurrent_calls": 0, "max_chat_integrations": 0}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        owner.get("/api/v1/tenants").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner.delete(&format!("/api/v1/tenants/{tid}")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn one_limit_can_change_alone_and_unknown_fields_such_as_the_slug_are_refused() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "patchy").await;
    let r = op
        .patch(
            &format!("/api/v1/tenants/{tid}"),
            json!({"limits": {"max_dids": 7}, "features": {"ai": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["limits"]["max_dids"], 7);
    assert_eq!(r.body["limits"]["max_agents"], 0);
    assert_eq!(
        (
            r.body["features"]["ai"].as_bool(),
            r.body["features"]["voice"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let r = op
        .patch(
            &format!("/api/v1/tenants/{tid}"),
            json!({"slug": "renamed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("unknown field `slug`"),
        "{}",
        r.message()
    );
}
