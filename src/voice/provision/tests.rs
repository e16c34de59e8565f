//! The field lists, the include file, and pushes against a loopback server that records what
//! it receives and answers as scripted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;
use crate::config::{AsteriskConfig, VoiceConfig};

fn alice() -> PjsipExtension {
    PjsipExtension {
        id: object_id("acme", "1001"),
        number: "1001".into(),
        display_name: "Alice Agent".into(),
        password: "s3cret-Passw0rd".into(),
        codecs: vec!["opus".into(), "ulaw".into()],
        nat: true,
        call_limit: 2,
        mailbox: None,
    }
}

fn pairs(fields: &[ConfigTuple]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|f| (f.attribute.as_str(), f.value.as_str()))
        .collect()
}

#[test]
fn object_ids_carry_the_tenant() {
    assert_eq!(object_id("acme", "1001"), "acme-1001");
    assert_ne!(object_id("acme", "1001"), object_id("beta", "1001"));
}

#[test]
fn auth_and_aor_fields_are_the_agent_templates() {
    let x = alice();
    assert_eq!(
        pairs(&auth_fields(&x)),
        [
            ("auth_type", "userpass"),
            ("username", "acme-1001"),
            ("password", "s3cret-Passw0rd")
        ]
    );
    assert_eq!(
        pairs(&aor_fields(&x)),
        [
            ("max_contacts", "1"),
            ("remove_existing", "yes"),
            ("qualify_frequency", "30")
        ]
    );
}

#[test]
fn endpoint_fields_always_carry_disallow_then_allow_and_follow_the_nat_switch() {
    let x = alice();
    assert_eq!(
        pairs(&endpoint_fields(&x)),
        [
            ("transport", "transport-udp"),
            ("context", "from-agents"),
            ("disallow", "all"),
            ("allow", "opus,ulaw"),
            ("auth", "acme-1001"),
            ("aors", "acme-1001"),
            ("callerid", "\"Alice Agent\" <1001>"),
            ("dtmf_mode", "rfc4733"),
            ("direct_media", "no"),
            ("rtp_symmetric", "yes"),
            ("force_rport", "yes"),
            ("rewrite_contact", "yes"),
            ("device_state_busy_at", "2"),
        ]
    );
    let mut off = alice();
    off.nat = false;
    off.call_limit = 1;
    off.mailbox = Some("1001@acme".into());
    let f = endpoint_fields(&off);
    let get = |k: &str| f.iter().find(|t| t.attribute == k).map(|t| t.value.clone());
    for k in [
        "rtp_symmetric",
        "force_rport",
        "rewrite_contact",
        "direct_media",
    ] {
        assert_eq!(get(k).as_deref(), Some("no"), "{k}");
    }
    assert_eq!(get("device_state_busy_at").as_deref(), Some("1"));
    assert_eq!(get("mailboxes").as_deref(), Some("1001@acme"));
    assert!(
        !endpoint_fields(&alice())
            .iter()
            .any(|t| t.attribute == "mailboxes")
    );
}

#[test]
fn the_include_writes_every_pushed_field_with_or_without_templates() {
    let mut bob = alice();
    bob.id = object_id("acme", "1002");
    bob.number = "1002".into();
    bob.display_name = "Bob".into();
    let exts = [alice(), bob];
    let plain = render_pjsip_include("acme", &exts, false);
    let templated = render_pjsip_include("acme", &exts, true);
    for x in &exts {
        for (kind, fields) in [
            ("auth", auth_fields(x)),
            ("aor", aor_fields(x)),
            ("endpoint", endpoint_fields(x)),
        ] {
            let mut section = format!("[{}]\ntype={kind}\n", x.id);
            for f in &fields {
                section.push_str(&format!("{}={}\n", f.attribute, f.value));
            }
            assert!(plain.contains(&section), "{section}\nnot in\n{plain}");
            let template = match kind {
                "auth" => "agent-auth",
                "aor" => "agent-aor",
                _ => "agent-ep",
            };
            let inherited = section.replace(
                &format!("[{}]\ntype={kind}\n", x.id),
                &format!("[{}]({template})\n", x.id),
            );
            assert!(
                templated.contains(&inherited),
                "{inherited}\nnot in\n{templated}"
            );
        }
    }
    assert!(!templated.lines().any(|l| l.starts_with("type=")));
    assert!(templated.contains("agent-ep templates"));
    // Every non-comment line is a section or key=value: nothing Asterisk would misread.
    for line in plain
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';'))
    {
        assert!(line.starts_with('[') || line.contains('='), "{line}");
    }
}

#[test]
fn the_shipped_templates_carry_the_fields_the_push_relies_on() {
    let conf = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("asterisk/pjsip.conf"),
    )
    .unwrap();
    for section in ["[agent-ep](!)", "[agent-aor](!)", "[agent-auth](!)"] {
        assert!(
            conf.contains(section),
            "{section} missing in asterisk/pjsip.conf"
        );
    }
    let ep = &conf[conf.find("[agent-ep](!)").unwrap()..];
    let ep = &ep[..ep.find("\n[").unwrap()];
    for line in [
        "context=from-agents",
        "disallow=all",
        "direct_media=no",
        "dtmf_mode=rfc4733",
    ] {
        assert!(ep.contains(line), "agent-ep lacks {line}");
    }
}

/// What the loopback server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

#[derive(Default)]
struct Mock {
    seen: Mutex<Vec<Seen>>,
    /// (method, path) → status; unscripted PUTs answer 200 `[]`, DELETEs 204.
    fail: Mutex<HashMap<(String, String), u16>>,
}

async fn answer(State(mock): State<Arc<Mock>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let key = (seen.method.clone(), seen.path.clone());
    mock.seen.lock().unwrap().push(seen);
    let scripted = mock.fail.lock().unwrap().get(&key).copied();
    match scripted {
        Some(status) => (
            StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({"message": "scripted failure"})),
        )
            .into_response(),
        None if key.0 == "DELETE" => StatusCode::NO_CONTENT.into_response(),
        None => axum::Json(json!([])).into_response(),
    }
}

async fn serve() -> (Arc<Mock>, SocketAddr) {
    let mock = Arc::new(Mock::default());
    let app = Router::new().fallback(answer).with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (mock, addr)
}

fn provisioner(addr: SocketAddr) -> Provisioner {
    let voice = VoiceConfig {
        asterisk: vec![AsteriskConfig {
            request_timeout_secs: 2,
            ..AsteriskConfig::for_url(&format!("http://{addr}/ari"))
        }],
        ..VoiceConfig::default()
    };
    Provisioner::from_config(&voice).unwrap()
}

fn fields_json(fields: &[ConfigTuple]) -> Value {
    json!({ "fields": fields })
}

#[tokio::test]
async fn a_push_puts_auth_then_aor_then_endpoint_with_their_fields() {
    let (mock, addr) = serve().await;
    let p = provisioner(addr);
    assert!(p.is_configured());
    let x = alice();
    p.push(&x).await.unwrap();
    let seen = mock.seen.lock().unwrap().clone();
    let got: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    let base = "/ari/asterisk/config/dynamic/res_pjsip";
    assert_eq!(
        got,
        [
            ("PUT".into(), format!("{base}/auth/acme-1001")),
            ("PUT".into(), format!("{base}/aor/acme-1001")),
            ("PUT".into(), format!("{base}/endpoint/acme-1001")),
        ]
    );
    assert_eq!(seen[0].body, fields_json(&auth_fields(&x)));
    assert_eq!(seen[0].body["fields"][2]["value"], "s3cret-Passw0rd");
    assert_eq!(seen[1].body, fields_json(&aor_fields(&x)));
    assert_eq!(seen[2].body, fields_json(&endpoint_fields(&x)));
}

#[tokio::test]
async fn a_failed_push_stops_and_names_the_object_and_asterisks_reason() {
    let (mock, addr) = serve().await;
    let base = "/ari/asterisk/config/dynamic/res_pjsip";
    mock.fail
        .lock()
        .unwrap()
        .insert(("PUT".into(), format!("{base}/aor/acme-1001")), 500);
    let e = provisioner(addr)
        .push(&alice())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("aor/acme-1001") && e.contains("500") && e.contains("scripted failure"),
        "{e}"
    );
    // No endpoint pointing at a missing aor.
    assert_eq!(mock.seen.lock().unwrap().len(), 2);

    let (mock, addr) = serve().await;
    mock.fail
        .lock()
        .unwrap()
        .insert(("PUT".into(), format!("{base}/auth/acme-1001")), 403);
    let e = provisioner(addr)
        .push(&alice())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("auth/acme-1001") && e.contains("403"), "{e}");
    assert_eq!(mock.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn removal_deletes_in_reverse_and_treats_missing_objects_as_removed() {
    let (mock, addr) = serve().await;
    let base = "/ari/asterisk/config/dynamic/res_pjsip";
    mock.fail
        .lock()
        .unwrap()
        .insert(("DELETE".into(), format!("{base}/aor/acme-1001")), 404);
    provisioner(addr).remove("acme-1001").await.unwrap();
    let paths: Vec<String> = mock
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        paths,
        [
            format!("DELETE {base}/endpoint/acme-1001"),
            format!("DELETE {base}/aor/acme-1001"),
            format!("DELETE {base}/auth/acme-1001"),
        ]
    );
    mock.fail
        .lock()
        .unwrap()
        .insert(("DELETE".into(), format!("{base}/endpoint/acme-1001")), 403);
    let e = provisioner(addr).remove("acme-1001").await.unwrap_err();
    assert!(e.to_string().contains("remove endpoint/acme-1001"), "{e}");
}

#[test]
fn without_servers_nothing_is_configured() {
    let p = Provisioner::from_config(&VoiceConfig::default()).unwrap();
    assert!(!p.is_configured());
    assert!(format!("{:?}", alice()).contains("REDACTED"));
    assert!(!format!("{:?}", alice()).contains("s3cret"));
}
