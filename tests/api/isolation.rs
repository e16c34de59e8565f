//! Authorization walks: every tenant-scoped endpoint refuses other tenants' callers and ids
//! with 404, and each role (and API-key role) gets exactly the documented allow/deny.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn_app, unique_email};

/// The least role each endpoint accepts (`operator` = platform operators only).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/tenants/{tid}", "agent"),
    ("PATCH", "/api/v1/tenants/{tid}", "owner"),
    ("DELETE", "/api/v1/tenants/{tid}", "operator"),
    ("GET", "/api/v1/tenants/{tid}/users", "admin"),
    ("POST", "/api/v1/tenants/{tid}/users", "admin"),
    ("GET", "/api/v1/tenants/{tid}/users/{uid}", "admin"),
    ("PATCH", "/api/v1/tenants/{tid}/users/{uid}", "admin"),
    ("DELETE", "/api/v1/tenants/{tid}/users/{uid}", "admin"),
    (
        "POST",
        "/api/v1/tenants/{tid}/users/{uid}/reset-password",
        "admin",
    ),
    ("GET", "/api/v1/tenants/{tid}/api-keys", "admin"),
    ("POST", "/api/v1/tenants/{tid}/api-keys", "admin"),
    ("DELETE", "/api/v1/tenants/{tid}/api-keys/{kid}", "admin"),
    ("GET", "/api/v1/tenants/{tid}/audit-log", "admin"),
    ("GET", "/api/v1/tenants", "operator"),
    ("POST", "/api/v1/tenants", "operator"),
];

fn rank(role: &str) -> u8 {
    match role {
        "agent" => 1,
        "supervisor" => 2,
        "admin" => 3,
        "owner" => 4,
        _ => 5,
    }
}

fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("PATCH", p) if p.ends_with("{tid}") => Some(json!({"name": "Renamed"})),
        ("POST", p) if p.ends_with("/users") => {
            Some(json!({"email": unique_email("m"), "name": "M", "role": "agent"}))
        }
        ("PATCH", p) if p.ends_with("{uid}") => Some(json!({"name": "Renamed Person"})),
        ("POST", p) if p.ends_with("reset-password") => Some(json!({})),
        ("POST", p) if p.ends_with("/api-keys") => Some(json!({"name": "k", "role": "agent"})),
        ("POST", "/api/v1/tenants") => Some(
            json!({"name": "N", "slug": format!("n{}", &uuid::Uuid::new_v4().simple().to_string()[..8])}),
        ),
        _ => None,
    }
}

async fn fresh_target_user(app: &TestApp, op: &Client, tid: i64) -> i64 {
    let r = op.post(&format!("/api/v1/tenants/{tid}/users"), json!({"email": unique_email("target"), "name": "Target", "role": "agent", "password": "target-pass-123"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let _ = app;
    r.body["user"]["id"].as_i64().unwrap()
}

async fn fresh_key(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/api-keys"),
            json!({"name": "target", "role": "agent"}),
        )
        .await;
    r.body["api_key"]["id"].as_i64().unwrap()
}

async fn call(
    app: &TestApp,
    op: &Client,
    who: &Client,
    method: &str,
    template: &str,
    tid: i64,
    ids_tid: i64,
) -> crate::helpers::Reply {
    let mut path = template.replace("{tid}", &tid.to_string());
    if path.contains("{uid}") {
        path = path.replace(
            "{uid}",
            &fresh_target_user(app, op, ids_tid).await.to_string(),
        );
    }
    if path.contains("{kid}") {
        path = path.replace("{kid}", &fresh_key(op, ids_tid).await.to_string());
    }
    who.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        &path,
        body_for(method, template),
    )
    .await
}

#[tokio::test]
async fn every_role_gets_exactly_the_documented_access_to_every_endpoint() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let tid = app.create_tenant(&op, "matrix").await;
    let mut callers: Vec<(String, Client)> = Vec::new();
    for role in ["agent", "supervisor", "admin", "owner"] {
        callers.push((role.into(), app.member(&op, tid, role).await.1));
    }
    for role in ["agent", "supervisor", "admin"] {
        let (_, secret) = app.api_key(&op, tid, role).await;
        callers.push((format!("key:{role}"), app.with_key(&secret)));
    }
    let mut failures = Vec::new();
    for (method, template, min) in ENDPOINTS {
        for (who, client) in &callers {
            let role = who.trim_start_matches("key:");
            let allowed = rank(role) >= rank(min);
            let r = call(&app, &op, client, method, template, tid, tid).await;
            let denied = r.status == StatusCode::FORBIDDEN;
            let ok = if allowed {
                r.status.is_success()
            } else {
                denied
            };
            if !ok {
                failures.push(format!(
                    "{who} {method} {template}: {} {}",
                    r.status, r.body
                ));
            }
        }
        // Operators may do everything (tenant deletion last, it ends the tenant).
        if *method != "DELETE" || !template.ends_with("{tid}") {
            let r = call(&app, &op, &op, method, template, tid, tid).await;
            if !r.status.is_success() {
                failures.push(format!(
                    "operator {method} {template}: {} {}",
                    r.status, r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "unexpected access results:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn callers_of_tenant_a_get_404_for_every_endpoint_of_tenant_b() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "alpha").await;
    let b = app.create_tenant(&op, "beta").await;
    let (_, owner_a) = app.member(&op, a, "owner").await;
    let (_, key_a) = app.api_key(&op, a, "admin").await;
    let key_a = app.with_key(&key_a);
    let mut failures = Vec::new();
    for (method, template, _) in ENDPOINTS.iter().filter(|(_, t, _)| t.contains("{tid}")) {
        for (who, client) in [("owner of A", &owner_a), ("admin key of A", &key_a)] {
            // B's tenant id with B's user and key ids.
            let r = call(&app, &op, client, method, template, b, b).await;
            if r.status != StatusCode::NOT_FOUND
                && !(template.ends_with("{tid}")
                    && *method == "DELETE"
                    && r.status == StatusCode::FORBIDDEN)
            {
                failures.push(format!(
                    "{who} {method} {template} on B: {} {}",
                    r.status, r.body
                ));
            }
            // A's tenant id with B's user and key ids.
            if template.contains("{uid}") || template.contains("{kid}") {
                let r = call(&app, &op, client, method, template, a, b).await;
                if r.status != StatusCode::NOT_FOUND {
                    failures.push(format!(
                        "{who} {method} {template} with B's ids: {} {}",
                        r.status, r.body
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "cross-tenant access:\n{}",
        failures.join("\n")
    );
    // Nothing of B changed.
    let b_users = op.get(&format!("/api/v1/tenants/{b}/users")).await;
    assert!(
        b_users.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"] != "Renamed Person")
    );
    assert_ne!(
        op.get(&format!("/api/v1/tenants/{b}")).await.body["name"],
        "Renamed"
    );
}

#[tokio::test]
async fn a_tenant_that_does_not_exist_looks_the_same_as_one_you_cannot_see() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let a = app.create_tenant(&op, "alpha").await;
    let b = app.create_tenant(&op, "beta").await;
    let (_, admin_a) = app.member(&op, a, "admin").await;
    let hidden = admin_a.get(&format!("/api/v1/tenants/{b}/users")).await;
    let missing = admin_a.get("/api/v1/tenants/999999/users").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, missing.body);
}
