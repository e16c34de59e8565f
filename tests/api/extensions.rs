//! Extensions (agents' phones) over the admin API: CRUD with its validation, the SIP password
//! shown once, tenant isolation, and provisioning into Asterisk: skipped without one, pushed
//! to a loopback ARI server that records every request, a failed push stored and retried.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::config::AsteriskConfig;

use crate::helpers::{Client, TestApp, spawn_app, spawn_app_with};

const BASE: &str = "/ari/asterisk/config/dynamic/res_pjsip";

async fn admin_of(app: &TestApp, slug: &str) -> (i64, Client, Client) {
    let op = app.operator().await;
    let tid = app.create_tenant(&op, slug).await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    (tid, op, admin)
}

#[tokio::test]
async fn extensions_are_created_listed_changed_and_deleted_with_the_password_shown_once() {
    let app = spawn_app().await;
    let (tid, op, admin) = admin_of(&app, "ext-crud").await;
    let (agent_id, _) = app.member(&op, tid, "agent").await;
    let url = format!("/api/v1/tenants/{tid}/extensions");

    let r = admin
        .post(
            &url,
            json!({"number": "1001", "display_name": "Front desk", "user_id": agent_id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let x = r.body.clone();
    let password = x["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 20, "{password}");
    assert_eq!(x["sip_username"], "ext-crud-1001");
    assert_eq!(x["codecs"], json!(["g722", "ulaw", "alaw"]));
    assert_eq!(x["nat"], true);
    assert_eq!(x["call_limit"], 2);
    assert_eq!(x["dnd"], false);
    assert_eq!(x["enabled"], true);
    assert_eq!(x["user_id"], agent_id);
    assert_eq!(x["user_name"], "Test agent");
    assert_eq!(x["provisioning"]["state"], "skipped");
    assert_eq!(
        x["provisioning"]["message"],
        "not provisioned: no Asterisk configured"
    );
    let xid = x["id"].as_i64().unwrap();
    let one = format!("{url}/{xid}");

    // Never again: not in the item, the list, or after a change.
    let got = admin.get(&one).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.get("password").is_none(), "{}", got.body);
    let list = admin.get(&url).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["asterisk_configured"], false);
    assert!(!list.body.to_string().contains(&password));

    let r = admin
        .patch(
            &one,
            json!({"display_name": "Reception", "codecs": ["ulaw"], "nat": false, "call_limit": 1,
                   "voicemail_box": "1001", "forward_to": "+14155550100", "dnd": true, "user_id": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("password").is_none());
    assert_eq!(r.body["display_name"], "Reception");
    assert_eq!(r.body["codecs"], json!(["ulaw"]));
    assert_eq!(r.body["nat"], false);
    assert_eq!(r.body["call_limit"], 1);
    assert_eq!(r.body["voicemail_box"], "1001");
    assert_eq!(r.body["forward_to"], "+14155550100");
    assert_eq!(r.body["dnd"], true);
    assert_eq!(r.body["user_id"], Value::Null);
    // Omitted fields stay.
    let r = admin.patch(&one, json!({"dnd": false})).await;
    assert_eq!(r.body["voicemail_box"], "1001");
    assert_eq!(r.body["dnd"], false);

    // A new password: generated, or set; shown in that answer only.
    let r = admin.post(&format!("{one}/password"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let generated = r.body["password"].as_str().unwrap().to_owned();
    assert_ne!(generated, password);
    let r = admin
        .post(
            &format!("{one}/password"),
            json!({"password": "correct-horse-battery"}),
        )
        .await;
    assert_eq!(r.body["password"], "correct-horse-battery");
    let r = admin
        .post(&format!("{one}/password"), json!({"password": "short"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.message().contains("password"), "{}", r.body);
    assert!(
        !admin
            .get(&one)
            .await
            .body
            .to_string()
            .contains("correct-horse")
    );

    // Every change is audited, without the password.
    let audit = admin.get(&format!("/api/v1/tenants/{tid}/audit-log")).await;
    let text = audit.body.to_string();
    for action in ["extension.create", "extension.update", "extension.password"] {
        assert!(text.contains(action), "{action} not audited: {text}");
    }
    assert!(!text.contains("correct-horse") && !text.contains(&generated));

    let r = admin.delete(&one).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get(&one).await.status, StatusCode::NOT_FOUND);
    let audit = admin.get(&format!("/api/v1/tenants/{tid}/audit-log")).await;
    assert!(audit.body.to_string().contains("extension.delete"));
}

#[tokio::test]
async fn invalid_fields_are_named_and_duplicates_conflict() {
    let app = spawn_app().await;
    let (tid, op, admin) = admin_of(&app, "ext-valid").await;
    let other = app.create_tenant(&op, "ext-valid-other").await;
    let (outsider, _) = app.member(&op, other, "agent").await;
    let url = format!("/api/v1/tenants/{tid}/extensions");
    let base = json!({"number": "2001", "display_name": "Desk"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("number", json!("1")), "number", "2 to 10 digits"),
        (
            with("number", json!("12345678901")),
            "number",
            "2 to 10 digits",
        ),
        (with("number", json!("10a1")), "number", "2 to 10 digits"),
        (with("display_name", json!("")), "display_name", "1–80"),
        (
            with("display_name", json!("A \"B\"")),
            "display_name",
            "quotes",
        ),
        (
            with("user_id", json!(outsider)),
            "user_id",
            "member of this tenant",
        ),
        (with("codecs", json!(["mp3"])), "codecs[0]", "unknown codec"),
        (with("codecs", json!([])), "codecs", "at least one"),
        (
            with("call_limit", json!(0)),
            "call_limit",
            "between 1 and 10",
        ),
        (
            with("call_limit", json!(11)),
            "call_limit",
            "between 1 and 10",
        ),
        (with("forward_to", json!("+0123")), "forward_to", "E.164"),
        (with("forward_to", json!("555-0100")), "forward_to", "E.164"),
        (
            with("forward_to", json!("7777")),
            "forward_to",
            "no extension 7777",
        ),
        (with("forward_to", json!("2001")), "forward_to", "itself"),
        (
            with("voicemail_box", json!("box")),
            "voicemail_box",
            "digits",
        ),
        (
            with("password", json!("too-short")),
            "password",
            "12 to 128",
        ),
    ];
    for (body, field, words) in cases {
        let r = admin.post(&url, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.message().contains(field) && r.message().contains(words),
            "{body}: {}",
            r.message()
        );
    }
    let r = admin.post(&url, base.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let first = r.body["id"].as_i64().unwrap();
    // Forwarding to an existing extension of the tenant is fine.
    let r = admin
        .post(
            &url,
            json!({"number": "2002", "display_name": "Desk 2", "forward_to": "2001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let second = r.body["id"].as_i64().unwrap();
    let r = admin.post(&url, base.clone()).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.message().contains("number"), "{}", r.body);
    let r = admin
        .patch(
            &format!("{url}/{second}"),
            json!({"number": "2001", "forward_to": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // The same number in another tenant is another extension.
    let r = op
        .post(&format!("/api/v1/tenants/{other}/extensions"), base.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["sip_username"], "ext-valid-other-2001");
    // A forwarding target deleted later does not block unrelated changes.
    let r = admin
        .post(
            &url,
            json!({"number": "2003", "display_name": "Desk 3", "forward_to": "2002"}),
        )
        .await;
    let third = r.body["id"].as_i64().unwrap();
    assert_eq!(
        admin.delete(&format!("{url}/{second}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = admin
        .patch(&format!("{url}/{third}"), json!({"dnd": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = admin
        .patch(&format!("{url}/{third}"), json!({"forward_to": "2002"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Unknown fields are refused rather than ignored.
    let r = admin
        .patch(&format!("{url}/{first}"), json!({"colour": "red"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn another_tenants_extensions_are_not_found() {
    let app = spawn_app().await;
    let (a, op, admin_a) = admin_of(&app, "ext-a").await;
    let b = app.create_tenant(&op, "ext-b").await;
    let r = op
        .post(
            &format!("/api/v1/tenants/{b}/extensions"),
            json!({"number": "3001", "display_name": "B desk"}),
        )
        .await;
    let xb = r.body["id"].as_i64().unwrap();
    for (method, suffix) in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/password"),
        ("POST", "/provision"),
    ] {
        let path = format!("/api/v1/tenants/{a}/extensions/{xb}{suffix}");
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let r = admin_a
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                body,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.body
        );
    }
    let list = admin_a
        .get(&format!("/api/v1/tenants/{a}/extensions"))
        .await;
    assert_eq!(list.body["items"], json!([]));
    let file = admin_a
        .get(&format!("/api/v1/tenants/{a}/extensions/pjsip.conf"))
        .await;
    assert!(!file.body.as_str().unwrap().contains("3001"));
}

/// A loopback ARI server recording dynamic-config requests; scripted statuses by path.
#[derive(Default)]
struct Ari {
    seen: Mutex<Vec<(String, String, Value)>>,
    fail: Mutex<HashMap<String, u16>>,
}

impl Ari {
    fn take(&self) -> Vec<(String, String, Value)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn ari_answer(State(ari): State<Arc<Ari>>, req: Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    // The service also opens the events socket (calls); only configuration is recorded here.
    if path.starts_with("/ari/asterisk/config/dynamic/") {
        ari.seen.lock().unwrap().push((
            method.clone(),
            path.clone(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ));
    }
    let fail = ari.fail.lock().unwrap().get(&path).copied();
    match fail {
        Some(status) => (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({"message": "Allocation failed"})),
        )
            .into_response(),
        None if method == "DELETE" => axum::http::StatusCode::NO_CONTENT.into_response(),
        None => axum::Json(json!([])).into_response(),
    }
}

async fn ari_server() -> (Arc<Ari>, SocketAddr) {
    let ari = Arc::new(Ari::default());
    let router = axum::Router::new()
        .fallback(ari_answer)
        .with_state(ari.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (ari, addr)
}

fn field(body: &Value, name: &str) -> Option<String> {
    body["fields"]
        .as_array()?
        .iter()
        .find(|f| f["attribute"] == name)
        .map(|f| f["value"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn extensions_are_pushed_to_asterisk_and_failures_are_stored_and_retried() {
    let (ari, addr) = ari_server().await;
    let app = spawn_app_with(|c| {
        c.voice.asterisk = vec![AsteriskConfig::for_url(&format!("http://{addr}/ari"))]
    })
    .await;
    let (tid, _op, admin) = admin_of(&app, "acme").await;
    let url = format!("/api/v1/tenants/{tid}/extensions");
    let r = admin
        .post(
            &url,
            json!({"number": "1001", "display_name": "Alice", "codecs": ["g722", "ulaw"], "voicemail_box": "1001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["provisioning"]["state"], "provisioned", "{}", r.body);
    assert!(r.body["provisioning"]["provisioned_at"].is_string());
    let password = r.body["password"].as_str().unwrap().to_owned();
    let xid = r.body["id"].as_i64().unwrap();
    let seen = ari.take();
    let paths: Vec<String> = seen.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(
        paths,
        [
            format!("PUT {BASE}/auth/acme-1001"),
            format!("PUT {BASE}/aor/acme-1001"),
            format!("PUT {BASE}/endpoint/acme-1001"),
        ]
    );
    assert_eq!(
        seen[0].2,
        json!({"fields": [
            {"attribute": "auth_type", "value": "userpass"},
            {"attribute": "username", "value": "acme-1001"},
            {"attribute": "password", "value": password},
        ]})
    );
    assert_eq!(
        seen[1].2,
        json!({"fields": [
            {"attribute": "max_contacts", "value": "1"},
            {"attribute": "remove_existing", "value": "yes"},
            {"attribute": "qualify_frequency", "value": "30"},
        ]})
    );
    let ep = &seen[2].2;
    assert_eq!(field(ep, "disallow").as_deref(), Some("all"));
    assert_eq!(field(ep, "allow").as_deref(), Some("g722,ulaw"));
    assert_eq!(field(ep, "context").as_deref(), Some("from-agents"));
    assert_eq!(field(ep, "auth").as_deref(), Some("acme-1001"));
    assert_eq!(field(ep, "aors").as_deref(), Some("acme-1001"));
    assert_eq!(field(ep, "callerid").as_deref(), Some("\"Alice\" <1001>"));
    assert_eq!(field(ep, "rtp_symmetric").as_deref(), Some("yes"));
    assert_eq!(field(ep, "mailboxes").as_deref(), Some("1001@acme"));
    assert_eq!(field(ep, "device_state_busy_at").as_deref(), Some("2"));

    // A new password reaches the auth object.
    let r = admin
        .post(
            &format!("{url}/{xid}/password"),
            json!({"password": "a-much-longer-secret"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seen = ari.take();
    assert_eq!(
        field(&seen[0].2, "password").as_deref(),
        Some("a-much-longer-secret")
    );

    // Asterisk refuses: the error is stored and shown, and the retry succeeds once it is back.
    ari.fail
        .lock()
        .unwrap()
        .insert(format!("{BASE}/endpoint/acme-1001"), 500);
    let r = admin
        .patch(&format!("{url}/{xid}"), json!({"nat": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["provisioning"]["state"], "failed", "{}", r.body);
    let message = r.body["provisioning"]["message"].as_str().unwrap();
    assert!(
        message.contains("endpoint/acme-1001") && message.contains("500"),
        "{message}"
    );
    let listed = admin.get(&url).await;
    assert_eq!(listed.body["items"][0]["provisioning"]["state"], "failed");
    ari.take();
    ari.fail.lock().unwrap().clear();
    let r = admin
        .post(&format!("{url}/{xid}/provision"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["provisioning"]["state"], "provisioned", "{}", r.body);
    assert_eq!(r.body["provisioning"]["message"], Value::Null);
    let seen = ari.take();
    assert_eq!(seen.len(), 3);
    assert_eq!(field(&seen[2].2, "rtp_symmetric").as_deref(), Some("no"));

    // 403 (an id defined in pjsip.conf) is stored the same way.
    ari.fail
        .lock()
        .unwrap()
        .insert(format!("{BASE}/auth/acme-1001"), 403);
    let r = admin
        .post(&format!("{url}/{xid}/provision"), json!({}))
        .await;
    assert_eq!(r.body["provisioning"]["state"], "failed");
    assert!(
        r.body["provisioning"]["message"]
            .as_str()
            .unwrap()
            .contains("403")
    );
    ari.fail.lock().unwrap().clear();
    ari.take();

    // A new number moves the objects: the old id is removed, the new one pushed.
    let r = admin
        .patch(&format!("{url}/{xid}"), json!({"number": "1002"}))
        .await;
    assert_eq!(r.body["provisioning"]["state"], "provisioned", "{}", r.body);
    let paths: Vec<String> = ari
        .take()
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        paths,
        [
            format!("DELETE {BASE}/endpoint/acme-1001"),
            format!("DELETE {BASE}/aor/acme-1001"),
            format!("DELETE {BASE}/auth/acme-1001"),
            format!("PUT {BASE}/auth/acme-1002"),
            format!("PUT {BASE}/aor/acme-1002"),
            format!("PUT {BASE}/endpoint/acme-1002"),
        ]
    );

    // Disabled: removed from Asterisk.
    let r = admin
        .patch(&format!("{url}/{xid}"), json!({"enabled": false}))
        .await;
    assert_eq!(r.body["provisioning"]["state"], "disabled", "{}", r.body);
    assert!(ari.take().iter().all(|(m, _, _)| m == "DELETE"));

    // Deleting while Asterisk fails keeps the extension (its credentials would stay live).
    ari.fail
        .lock()
        .unwrap()
        .insert(format!("{BASE}/endpoint/acme-1002"), 500);
    let r = admin.delete(&format!("{url}/{xid}")).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(
        admin.get(&format!("{url}/{xid}")).await.status,
        StatusCode::OK
    );
    ari.fail.lock().unwrap().clear();
    ari.take();
    let r = admin.delete(&format!("{url}/{xid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let paths: Vec<String> = ari
        .take()
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        paths,
        [
            format!("DELETE {BASE}/endpoint/acme-1002"),
            format!("DELETE {BASE}/aor/acme-1002"),
            format!("DELETE {BASE}/auth/acme-1002"),
        ]
    );
}

#[tokio::test]
async fn a_restart_pushes_every_enabled_extension_again() {
    let (ari, addr) = ari_server().await;
    let mut app = spawn_app_with(|c| {
        c.voice.asterisk = vec![AsteriskConfig::for_url(&format!("http://{addr}/ari"))]
    })
    .await;
    let (tid, _op, admin) = admin_of(&app, "again").await;
    let url = format!("/api/v1/tenants/{tid}/extensions");
    let r = admin
        .post(&url, json!({"number": "5001", "display_name": "On"}))
        .await;
    let password = r.body["password"].as_str().unwrap().to_owned();
    admin
        .post(
            &url,
            json!({"number": "5002", "display_name": "Off", "enabled": false}),
        )
        .await;
    ari.take();
    app.restart().await;
    // In the background after start: wait for it.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.extend(ari.take());
        if seen.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let paths: Vec<String> = seen.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(
        paths,
        [
            format!("PUT {BASE}/auth/again-5001"),
            format!("PUT {BASE}/aor/again-5001"),
            format!("PUT {BASE}/endpoint/again-5001"),
        ]
    );
    assert_eq!(
        field(&seen[0].2, "password").as_deref(),
        Some(password.as_str())
    );
}

#[tokio::test]
async fn the_include_file_holds_the_enabled_extensions_with_their_passwords() {
    let app = spawn_app().await;
    let (tid, _op, admin) = admin_of(&app, "inc").await;
    let url = format!("/api/v1/tenants/{tid}/extensions");
    let r = admin
        .post(
            &url,
            json!({"number": "4001", "display_name": "Desk", "password": "include-me-please"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    admin
        .post(
            &url,
            json!({"number": "4002", "display_name": "Off", "enabled": false}),
        )
        .await;
    let r = admin.get(&format!("{url}/pjsip.conf")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("pjsip_inc.conf")
    );
    let text = r.body.as_str().unwrap();
    assert!(text.contains("[inc-4001](agent-ep)"), "{text}");
    assert!(text.contains("password=include-me-please"), "{text}");
    assert!(
        text.contains("disallow=all\nallow=g722,ulaw,alaw"),
        "{text}"
    );
    assert!(!text.contains("inc-4002"), "{text}");
    let r = admin
        .get(&format!("{url}/pjsip.conf?templates=false"))
        .await;
    let text = r.body.as_str().unwrap();
    assert!(text.contains("[inc-4001]\ntype=endpoint\n"), "{text}");
    let audit = admin.get(&format!("/api/v1/tenants/{tid}/audit-log")).await;
    assert!(audit.body.to_string().contains("extension.export"));
}
