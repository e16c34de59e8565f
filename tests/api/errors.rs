//! Bad input of every kind gets a clear error in the one envelope.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/api/v1/does-not-exist").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let r = app
        .anonymous()
        .request(reqwest::Method::PUT, "/api/v1/auth/login", None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let c = app.anonymous();
    let r = c
        .post("/api/v1/auth/login", json!({"email": 42, "password": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_json");
    assert!(r.message().contains("email"), "{}", r.message());

    let r = c
        .post("/api/v1/auth/login", json!({"email": "a@b.c"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("password"), "{}", r.message());

    let res = c
        .raw()
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let res = app
        .anonymous()
        .raw()
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = spawn_app_with(|c| c.http.body_limit_bytes = 4096).await;
    let big = "x".repeat(10_000);
    let r = app
        .anonymous()
        .post("/api/v1/auth/login", json!({"email": big, "password": "p"}))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
}

#[tokio::test]
async fn a_non_numeric_id_in_the_path_is_a_400() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let r = op.delete("/api/v1/tenants/abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_path");
}

#[tokio::test]
async fn an_invalid_email_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let r = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"email": "not-an-email", "password": "p"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "validation");
    assert!(r.message().starts_with("email:"), "{}", r.message());
}
