//! Authorization walks: every tenant-scoped endpoint refuses other tenants' callers and ids
//! with 404, and each role (and API-key role) gets exactly the documented allow/deny.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Client, spawn_app, unique_email};

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
    ("GET", "/api/v1/tenants/{tid}/queues", "agent"),
    ("POST", "/api/v1/tenants/{tid}/queues", "admin"),
    ("GET", "/api/v1/tenants/{tid}/queues/{qid}", "supervisor"),
    ("PATCH", "/api/v1/tenants/{tid}/queues/{qid}", "admin"),
    ("DELETE", "/api/v1/tenants/{tid}/queues/{qid}", "admin"),
    ("PUT", "/api/v1/tenants/{tid}/queues/{qid}/members", "admin"),
    (
        "GET",
        "/api/v1/tenants/{tid}/queues/{qid}/live",
        "supervisor",
    ),
    ("GET", "/api/v1/tenants/{tid}/agents", "supervisor"),
    ("GET", "/api/v1/tenants/{tid}/agents/{uid}", "supervisor"),
    ("PATCH", "/api/v1/tenants/{tid}/agents/{uid}", "admin"),
    (
        "PUT",
        "/api/v1/tenants/{tid}/agents/{uid}/presence",
        "supervisor",
    ),
    ("PUT", "/api/v1/tenants/{tid}/me/presence", "person"),
    ("GET", "/api/v1/tenants/{tid}/me/presence", "person"),
    ("POST", "/api/v1/tenants/{tid}/routing/contacts", "admin"),
    (
        "GET",
        "/api/v1/tenants/{tid}/routing/contacts/{cid}",
        "supervisor",
    ),
    (
        "DELETE",
        "/api/v1/tenants/{tid}/routing/contacts/{cid}",
        "admin",
    ),
    (
        "POST",
        "/api/v1/tenants/{tid}/routing/contacts/{cid}/accept",
        "person",
    ),
    (
        "POST",
        "/api/v1/tenants/{tid}/routing/contacts/{cid}/decline",
        "person",
    ),
    (
        "POST",
        "/api/v1/tenants/{tid}/routing/contacts/{cid}/end",
        "supervisor",
    ),
    ("GET", "/api/v1/tenants/{tid}/widgets", "admin"),
    ("POST", "/api/v1/tenants/{tid}/widgets", "admin"),
    ("GET", "/api/v1/tenants/{tid}/widgets/{wid}", "admin"),
    ("PATCH", "/api/v1/tenants/{tid}/widgets/{wid}", "admin"),
    ("DELETE", "/api/v1/tenants/{tid}/widgets/{wid}", "admin"),
    ("GET", "/api/v1/tenants/{tid}/conversations", "agent"),
    ("GET", "/api/v1/tenants/{tid}/directory", "agent"),
    ("GET", "/api/v1/tenants/{tid}/flows", "admin"),
    ("POST", "/api/v1/tenants/{tid}/flows/validate", "admin"),
    ("POST", "/api/v1/tenants/{tid}/flows/publish", "admin"),
    (
        "GET",
        "/api/v1/tenants/{tid}/flows/file?path=flows/matrix.yaml",
        "admin",
    ),
    ("GET", "/api/v1/tenants/{tid}/flows/history", "admin"),
    (
        "GET",
        "/api/v1/tenants/{tid}/flows/graph?flow=matrix",
        "admin",
    ),
    ("GET", "/api/v1/tenants/{tid}/flows/history/1", "admin"),
    ("GET", "/api/v1/tenants/{tid}/dids", "admin"),
    ("GET", "/api/v1/tenants/{tid}/ai", "admin"),
    ("PUT", "/api/v1/tenants/{tid}/ai", "admin"),
    ("GET", "/api/v1/tenants/{tid}/ai/usage", "admin"),
    ("GET", "/api/v1/tenants/{tid}/handoff-rules", "supervisor"),
    ("POST", "/api/v1/tenants/{tid}/handoff-rules", "admin"),
    ("PUT", "/api/v1/tenants/{tid}/handoff-rules/{rid}", "admin"),
    (
        "DELETE",
        "/api/v1/tenants/{tid}/handoff-rules/{rid}",
        "admin",
    ),
    ("GET", "/api/v1/tenants/{tid}/knowledge-base", "agent"),
    ("POST", "/api/v1/tenants/{tid}/knowledge-base", "admin"),
    ("GET", "/api/v1/tenants/{tid}/knowledge-base/{eid}", "agent"),
    ("PUT", "/api/v1/tenants/{tid}/knowledge-base/{eid}", "admin"),
    (
        "DELETE",
        "/api/v1/tenants/{tid}/knowledge-base/{eid}",
        "admin",
    ),
    (
        "POST",
        "/api/v1/tenants/{tid}/knowledge-base/import",
        "admin",
    ),
    (
        "GET",
        "/api/v1/tenants/{tid}/knowledge-base/export",
        "admin",
    ),
    (
        "GET",
        "/api/v1/tenants/{tid}/knowledge-base/search?q=returns",
        "agent",
    ),
    ("GET", "/api/v1/tenants/{tid}/extensions", "admin"),
    ("POST", "/api/v1/tenants/{tid}/extensions", "admin"),
    (
        "GET",
        "/api/v1/tenants/{tid}/extensions/pjsip.conf",
        "admin",
    ),
    ("GET", "/api/v1/tenants/{tid}/extensions/{xid}", "admin"),
    ("PATCH", "/api/v1/tenants/{tid}/extensions/{xid}", "admin"),
    ("DELETE", "/api/v1/tenants/{tid}/extensions/{xid}", "admin"),
    (
        "POST",
        "/api/v1/tenants/{tid}/extensions/{xid}/password",
        "admin",
    ),
    (
        "POST",
        "/api/v1/tenants/{tid}/extensions/{xid}/provision",
        "admin",
    ),
    ("GET", "/api/v1/tenants", "operator"),
    ("POST", "/api/v1/tenants", "operator"),
];

fn rank(role: &str) -> u8 {
    match role {
        "agent" | "person" => 1,
        "supervisor" => 2,
        "admin" => 3,
        "owner" => 4,
        _ => 5,
    }
}

/// Ids substituted into a path (and used by bodies).
#[derive(Default)]
struct Ids {
    xid: i64,
    eid: i64,
    rid: i64,
    wid: i64,
    uid: i64,
    kid: i64,
    qid: i64,
    cid: i64,
}

fn body_for(method: &str, path: &str, ids: &Ids) -> Option<Value> {
    let unique = || uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    match (method, path.trim_start_matches("/api/v1/tenants/{tid}")) {
        ("PATCH", "") => Some(json!({"name": "Renamed"})),
        ("POST", "/users") => {
            Some(json!({"email": unique_email("m"), "name": "M", "role": "agent"}))
        }
        ("PATCH", "/users/{uid}") => Some(json!({"name": "Renamed Person"})),
        ("POST", "/users/{uid}/reset-password") => Some(json!({})),
        ("POST", "/api-keys") => Some(json!({"name": "k", "role": "agent"})),
        ("POST", "/api/v1/tenants") => Some(json!({"name": "N", "slug": format!("n{}", unique())})),
        ("POST", "/queues") => Some(json!({"name": format!("q{}", unique())})),
        ("POST", "/widgets") => Some(json!({"name": "w"})),
        ("PATCH", "/widgets/{wid}") => Some(json!({"settings": {"title": "t"}})),
        ("PATCH", "/queues/{qid}") => Some(json!({"settings": {"weight": 2}})),
        ("PUT", "/queues/{qid}/members") => Some(json!([])),
        ("PATCH", "/agents/{uid}") => Some(json!({"skills": {"renamed": 1}})),
        ("PUT", "/agents/{uid}/presence") | ("PUT", "/me/presence") => {
            Some(json!({"state": "away", "reason": "test"}))
        }
        ("PUT", "/ai") => Some(json!({"settings": {}})),
        ("POST", "/flows/validate") | ("POST", "/flows/publish") => Some(
            json!({"path": "flows/matrix.yaml", "text": "version: 1\nid: matrix\nchannels: [voice]\nlanguages: [en-US]\nstart: bye\nnodes:\n  bye:\n    type: hangup\n"}),
        ),
        ("POST", "/knowledge-base/import") => Some(json!([])),
        ("POST", "/handoff-rules") | ("PUT", "/handoff-rules/{rid}") => Some(
            json!({"name": format!("r{}", unique()), "condition": {"kind": "keyword", "words": ["refund"]}}),
        ),
        ("POST", "/knowledge-base") | ("PUT", "/knowledge-base/{eid}") => {
            Some(json!({"category": "c", "question": "q?", "answer": "a"}))
        }
        ("POST", "/routing/contacts") => {
            Some(json!({"queue_id": ids.qid, "medium": "chat", "channel": "widget"}))
        }
        ("POST", "/extensions") => {
            Some(json!({"number": extension_number(), "display_name": "Matrix"}))
        }
        ("PATCH", "/extensions/{xid}") => Some(json!({"dnd": true})),
        ("POST", _) => Some(json!({})),
        _ => None,
    }
}

/// A number no other extension of the run has: 10 digits from a fresh UUID.
fn extension_number() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("{n:010}")
}

async fn fresh_extension(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/extensions"),
            json!({"number": extension_number(), "display_name": "Target"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn fresh_target_user(op: &Client, tid: i64) -> i64 {
    let r = op.post(&format!("/api/v1/tenants/{tid}/users"), json!({"email": unique_email("target"), "name": "Target", "role": "agent", "password": "target-pass-123"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
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

async fn fresh_widget(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/widgets"),
            json!({"name": "target"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn fresh_kb_entry(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/knowledge-base"),
            json!({"category": "c", "question": "target?", "answer": "a"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn fresh_rule(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/handoff-rules"),
            json!({"name": format!("target {}", uuid::Uuid::new_v4().simple()), "condition": {"kind": "explicit_request"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn fresh_queue(op: &Client, tid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": format!("target {}", uuid::Uuid::new_v4().simple())}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn fresh_contact(op: &Client, tid: i64, qid: i64) -> i64 {
    let r = op
        .post(
            &format!("/api/v1/tenants/{tid}/routing/contacts"),
            json!({"queue_id": qid, "medium": "chat", "channel": "widget"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// Calls `template` as `who` on tenant `tid`, with fresh target ids created in tenant `ids_tid`.
async fn call(
    op: &Client,
    who: &Client,
    method: &str,
    template: &str,
    tid: i64,
    ids_tid: i64,
) -> crate::helpers::Reply {
    let mut ids = Ids::default();
    if template.contains("{uid}") {
        ids.uid = fresh_target_user(op, ids_tid).await;
    }
    if template.contains("{wid}") {
        ids.wid = fresh_widget(op, ids_tid).await;
    }
    if template.contains("{kid}") {
        ids.kid = fresh_key(op, ids_tid).await;
    }
    if template.contains("{xid}") {
        ids.xid = fresh_extension(op, ids_tid).await;
    }
    if template.contains("{eid}") {
        ids.eid = fresh_kb_entry(op, ids_tid).await;
    }
    if template.contains("{rid}") {
        ids.rid = fresh_rule(op, ids_tid).await;
    }
    if template.contains("{qid}")
        || template.contains("{cid}")
        || template.ends_with("/routing/contacts")
    {
        ids.qid = fresh_queue(
            op,
            if template.ends_with("/routing/contacts") {
                tid
            } else {
                ids_tid
            },
        )
        .await;
    }
    if template.contains("{cid}") {
        ids.cid = fresh_contact(op, ids_tid, ids.qid).await;
    }
    let path = template
        .replace("{tid}", &tid.to_string())
        .replace("{uid}", &ids.uid.to_string())
        .replace("{kid}", &ids.kid.to_string())
        .replace("{wid}", &ids.wid.to_string())
        .replace("{qid}", &ids.qid.to_string())
        .replace("{cid}", &ids.cid.to_string())
        .replace("{eid}", &ids.eid.to_string())
        .replace("{xid}", &ids.xid.to_string())
        .replace("{rid}", &ids.rid.to_string());
    who.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        &path,
        body_for(method, template, &ids),
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
            // "person" endpoints are for people: API keys are refused whatever their role.
            let allowed = rank(role) >= rank(min) && !(*min == "person" && who.starts_with("key:"));
            let r = call(&op, client, method, template, tid, tid).await;
            let denied = r.status == StatusCode::FORBIDDEN;
            // 409: authorization passed and the request met the state (e.g. nothing offered).
            let ok = if allowed {
                r.status.is_success() || r.status == StatusCode::CONFLICT
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
        if (*method != "DELETE" || !template.ends_with("{tid}")) && *min != "person" {
            let r = call(&op, &op, method, template, tid, tid).await;
            if !(r.status.is_success() || r.status == StatusCode::CONFLICT) {
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
            let r = call(&op, client, method, template, b, b).await;
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
            if ["{uid}", "{kid}", "{qid}", "{cid}", "{wid}", "{xid}"]
                .iter()
                .any(|id| template.contains(id))
            {
                let r = call(&op, client, method, template, a, b).await;
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
