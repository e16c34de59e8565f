//! IVR flows over the admin API: the tenant's folder with its problems, validate, publish
//! (atomic, refused while invalid, guarded against stale edits), history, DIDs, delete, hot
//! reload from disk, the demo tenant's example, and a restart keeping the live version.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn_app};

const FLOW: &str = "version: 1
id: main
name: Main line
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  on_error: goodbye
start: welcome
nodes:
  welcome:
    type: menu
    prompt: \"For sales, press 1.\"
    options:
      \"1\": sales
    on_max_attempts: goodbye
  sales:
    type: queue
    queue: sales
    on_max_wait: goodbye
    on_no_agents: goodbye
    on_full: goodbye
  goodbye:
    type: hangup
    prompt: \"Goodbye.\"
";

const ROUTES: &str = "version: 1
routes:
  - match: { did: \"+14155550100\" }
    flow: main
  - match: { did_prefix: \"+1415555020\" }
    flow: main
";

async fn admin(app: &TestApp, slug: &str) -> (i64, Client) {
    let op = app.operator().await;
    let tid = app.create_tenant(&op, slug).await;
    let (_, admin) = app.member(&op, tid, "admin").await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": "sales"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (tid, admin)
}

fn folder(app: &TestApp, slug: &str) -> std::path::PathBuf {
    app.state.config.ivr_dir().join(slug)
}

async fn publish(admin: &Client, tid: i64, path: &str, text: &str) -> crate::helpers::Reply {
    admin
        .post(
            &format!("/api/v1/tenants/{tid}/flows/publish"),
            json!({"path": path, "text": text}),
        )
        .await
}

fn codes(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn publishing_validates_writes_atomically_and_keeps_history() {
    let app = spawn_app().await;
    let (tid, admin) = admin(&app, "acme").await;
    let base = format!("/api/v1/tenants/{tid}/flows");

    let r = admin.get(&base).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["files"], json!([]));
    assert_eq!(r.body["live"], Value::Null);

    // Routes naming a flow that does not exist: refused with the report, nothing written.
    let r = publish(&admin, tid, "routes.yaml", ROUTES).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "invalid_flows");
    assert!(
        codes(&r.body["report"]).contains(&"IVR024".to_owned())
            || codes(&r.body["report"]).contains(&"IVR007".to_owned()),
        "{}",
        r.body
    );
    assert!(!folder(&app, "acme").join("routes.yaml").exists());

    // Publishing checks what only the platform knows: the queue must exist in this tenant.
    let r = publish(
        &admin,
        tid,
        "flows/main.yaml",
        &FLOW.replace("queue: sales", "queue: sale"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let unknown = &r.body["report"]["errors"][0];
    assert_eq!(unknown["code"], "IVR015", "{}", r.body);
    assert_eq!(unknown["message"], "unknown queue 'sale'");
    assert_eq!(unknown["hint"], "did you mean 'sales'?");

    let r = publish(&admin, tid, "flows/main.yaml", FLOW).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    let r = publish(&admin, tid, "routes.yaml", ROUTES).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(
        std::fs::read_to_string(folder(&app, "acme").join("flows/main.yaml")).unwrap(),
        FLOW
    );

    let r = admin.get(&base).await;
    assert_eq!(r.body["live"]["version"], 2, "{}", r.body);
    assert_eq!(r.body["disk_is_live"], true);
    assert_eq!(r.body["report"]["valid"], true);
    let files: Vec<&str> = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["routes.yaml", "flows/main.yaml"]);
    let main = &r.body["files"][1];
    assert_eq!(main["name"], "Main line");
    assert_eq!(main["nodes"], 3);
    assert_eq!(main["errors"], 0);
    let digest = r.body["digest"].as_str().unwrap().to_owned();

    // Calls start with the compiled version that is live; one that holds it keeps it.
    let live = app
        .state
        .flows
        .live(switchboard::domain::TenantId(tid))
        .await
        .unwrap()
        .expect("a live version");
    assert_eq!(live.version, 2);
    assert_eq!(live.catalog.route("+14155550100").unwrap().flow, "main");

    // The source of one file, with the folder's digest to publish against.
    let r = admin
        .get(&format!("{base}/file?path=flows/main.yaml"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["text"], FLOW);
    assert_eq!(r.body["digest"], digest.as_str());

    // Validate an edit with a misspelt target: the exact line and a hint; nothing written.
    let broken = FLOW.replace("\"1\": sales", "\"1\": saless");
    let r = admin
        .post(
            &format!("{base}/validate"),
            json!({"path": "flows/main.yaml", "text": broken}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["valid"], false);
    let missing = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "IVR006")
        .unwrap_or_else(|| panic!("no IVR006 in {}", r.body));
    assert_eq!(missing["file"], "flows/main.yaml");
    assert_eq!(missing["span"]["line"], 15);
    assert_eq!(missing["hint"], "did you mean 'sales'?");
    assert_eq!(
        std::fs::read_to_string(folder(&app, "acme").join("flows/main.yaml")).unwrap(),
        FLOW
    );

    // Publishing on a stale digest is refused; on the current one it goes live.
    let edited = FLOW.replace("Goodbye.", "Thanks for calling. Goodbye.");
    let r = admin
        .post(
            &format!("{base}/publish"),
            json!({"path": "flows/main.yaml", "text": edited, "base_digest": "0".repeat(64)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.code(), "stale");
    let r = admin
        .post(
            &format!("{base}/publish"),
            json!({"path": "flows/main.yaml", "text": edited, "base_digest": digest}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["version"], 3);
    assert_eq!(live.version, 2, "a call in progress keeps its version");
    let now_live = app
        .state
        .flows
        .live(switchboard::domain::TenantId(tid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_live.version, 3);
    assert!(!Arc::ptr_eq(&live.catalog, &now_live.catalog));

    let r = admin.get(&format!("{base}/history")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let versions = r.body.as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(versions[0]["live"], true);
    assert_eq!(versions[0]["source"], "api");
    assert_eq!(versions[0]["path"], "flows/main.yaml");
    assert!(versions[0]["published_by"].is_string(), "{}", r.body);
    assert_eq!(versions[1]["live"], false);

    // An old version's files can be read back (to compare or restore).
    let r = admin.get(&format!("{base}/history/2")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["files"]["flows/main.yaml"], FLOW);

    // Paths outside the folder's layout never reach the disk.
    for bad in [
        "../escape.yaml",
        "flows/../../x.yaml",
        "/etc/passwd",
        "flows/x.txt",
    ] {
        let r = publish(&admin, tid, bad, FLOW).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.code(), "validation", "{bad}");
    }

    // A picture of a flow: SVG for the page, DOT and Mermaid as text.
    let r = admin
        .raw()
        .get(format!("{}{base}/graph?flow=main", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let svg = r.text().await.unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("welcome") && svg.contains("sales"),
        "{svg}"
    );
    let r = admin
        .raw()
        .get(format!("{}{base}/graph?flow=main&format=dot", admin.base))
        .send()
        .await
        .unwrap();
    let dot = r.text().await.unwrap();
    assert!(
        dot.starts_with("digraph") && dot.contains("goodbye"),
        "{dot}"
    );
    let r = admin.get(&format!("{base}/graph?flow=nope")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = admin
        .get(&format!("{base}/graph?flow=main&format=png"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // The DIDs page reads routes.yaml.
    let r = admin.get(&format!("/api/v1/tenants/{tid}/dids")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let routes = r.body["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0]["kind"], "did");
    assert_eq!(routes[0]["number"], "+14155550100");
    assert_eq!(routes[0]["flow"], "main");
    assert_eq!(routes[0]["flow_name"], "Main line");
    assert_eq!(routes[0]["line"], 3);
    assert_eq!(routes[1]["kind"], "did_prefix");

    // A flow still routed to cannot be deleted; an unused one can.
    let r = admin
        .delete(&format!("{base}/file?path=flows/main.yaml"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(folder(&app, "acme").join("flows/main.yaml").exists());
    let other = FLOW.replace("id: main", "id: spare");
    assert_eq!(
        publish(&admin, tid, "flows/spare.yaml", &other)
            .await
            .status,
        StatusCode::OK
    );
    let r = admin
        .delete(&format!("{base}/file?path=flows/spare.yaml"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!folder(&app, "acme").join("flows/spare.yaml").exists());
    let r = admin
        .delete(&format!("{base}/file?path=flows/spare.yaml"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Every publish is audited.
    let r = admin.get(&format!("/api/v1/tenants/{tid}/audit-log")).await;
    assert!(r.body.to_string().contains("flows.publish"), "{}", r.body);
    assert!(r.body.to_string().contains("flows.delete"), "{}", r.body);
}

async fn wait_for(admin: &Client, path: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let r = admin.get(path).await;
        if ok(&r.body) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}: {}",
        admin.get(path).await.body
    );
}

#[tokio::test]
async fn changes_on_disk_are_published_or_refused_and_the_live_version_survives_a_restart() {
    let mut app = spawn_app().await;
    let (tid, admin) = admin(&app, "disky").await;
    let base = format!("/api/v1/tenants/{tid}/flows");
    // Touch the tenant once so the service knows it before files appear.
    assert_eq!(admin.get(&base).await.status, StatusCode::OK);

    let dir = folder(&app, "disky");
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/main.yaml"), FLOW).unwrap();
    std::fs::write(dir.join("routes.yaml"), ROUTES).unwrap();
    let body = wait_for(&admin, &base, "the disk version to go live", |b| {
        b["live"].is_object() && b["disk_is_live"] == true
    })
    .await;
    let live = body["live"]["version"].as_i64().unwrap();

    // An invalid change on disk is refused: the live version stays, the page says why.
    std::fs::write(
        dir.join("flows/main.yaml"),
        FLOW.replace("\"1\": sales", "\"1\": nowhere"),
    )
    .unwrap();
    let body = wait_for(&admin, &base, "the refusal", |b| b["rejected"].is_object()).await;
    assert_eq!(body["live"]["version"], live);
    assert_eq!(body["disk_is_live"], false);
    assert_eq!(body["report"]["valid"], false);
    assert!(body["rejected"]["errors"].as_u64().unwrap() >= 1);

    // Fixed on disk: published as a new version from disk.
    std::fs::write(
        dir.join("flows/main.yaml"),
        FLOW.replace("Goodbye.", "Bye."),
    )
    .unwrap();
    let body = wait_for(&admin, &base, "the fix to go live", |b| {
        b["disk_is_live"] == true && b["live"]["version"].as_i64() > Some(live)
    })
    .await;
    let fixed = body["live"]["version"].as_i64().unwrap();
    let history = admin.get(&format!("{base}/history")).await.body;
    assert_eq!(history[0]["source"], "disk");
    assert_eq!(history[0]["published_by"], Value::Null);

    // A restart finds the same files: no new version, the same one live.
    app.restart().await;
    let admin = app.operator().await;
    let body = admin.get(&base).await.body;
    assert_eq!(body["live"]["version"], fixed, "{body}");
    assert_eq!(
        admin
            .get(&format!("{base}/history"))
            .await
            .body
            .as_array()
            .unwrap()
            .len() as i64,
        fixed
    );
}

#[tokio::test]
async fn the_demo_tenant_gets_the_example_support_line() {
    let app = spawn_app().await;
    switchboard::app::seed_demo(&app.state)
        .await
        .expect("demo seeded");
    let op = app.operator().await;
    let tenants = op.get("/api/v1/tenants").await.body;
    let tid = tenants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "demo")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = op.get(&format!("/api/v1/tenants/{tid}/flows")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["report"]["valid"], true, "{}", r.body);
    assert_eq!(r.body["live"]["version"], 1);
    assert!(
        r.body["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["flow_id"] == "support-main" && f["name"] == "Acme support line"),
        "{}",
        r.body
    );
    let dids = op.get(&format!("/api/v1/tenants/{tid}/dids")).await.body;
    assert_eq!(dids["routes"][0]["number"], "+14155550100", "{dids}");
    assert_eq!(dids["routes"][0]["flow"], "support-main");
    assert_eq!(dids["unmatched"]["then"], "hangup");
    // What the example refers to exists: the operator's extension, and agents with its skills.
    let phones = op
        .get(&format!("/api/v1/tenants/{tid}/extensions"))
        .await
        .body;
    let numbers: Vec<(&str, &str)> = phones["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["number"].as_str().unwrap(),
                x["display_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(numbers, [("4000", "Alex Agent")], "{phones}");
    let agents = op.get(&format!("/api/v1/tenants/{tid}/agents")).await.body;
    let skilled: Vec<&Value> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            ["billing", "internet", "tv"]
                .iter()
                .all(|s| a["skills"][*s].as_i64().is_some())
        })
        .collect();
    assert_eq!(
        skilled.len(),
        2,
        "both demo agents hold the skills: {agents}"
    );
}

const DESK_FLOW: &str = "version: 1
id: desk
name: Desk line
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  on_error: goodbye
start: welcome
nodes:
  welcome:
    type: menu
    prompt: \"For French, press 1. For the front desk, press 0.\"
    options:
      \"1\": french
      \"0\": desk
    on_max_attempts: goodbye
  french:
    type: queue
    queue: sales
    skills: [\"french:5\", \"{{team}}\"]
    on_max_wait: goodbye
    on_no_agents: goodbye
    on_full: goodbye
  desk:
    type: transfer
    to: { extension: \"2000\" }
    on_no_answer: goodbye
    on_busy: goodbye
    on_failure: goodbye
  goodbye:
    type: hangup
    prompt: \"Goodbye.\"
variables:
  team: { type: string, default: \"sales\" }
";

#[tokio::test]
async fn publishing_refuses_skills_no_agent_holds_and_extensions_the_tenant_lacks() {
    let app = spawn_app().await;
    let (tid, admin) = admin(&app, "desk").await;
    let r = publish(&admin, tid, "flows/desk.yaml", DESK_FLOW).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let found: Vec<(String, String, String)> = r.body["report"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "IVR015".to_owned(),
                "/nodes/french/skills/0".to_owned(),
                "unknown skill 'french': no agent of the tenant has it".to_owned()
            ),
            (
                "IVR015".to_owned(),
                "/nodes/desk/to/extension".to_owned(),
                "unknown extension '2000'".to_owned()
            ),
        ],
        "the templated skill is not checked: {}",
        r.body
    );
    assert!(!folder(&app, "desk").join("flows/desk.yaml").exists());

    // The editor's check says the same before anything is written.
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/flows/validate"),
            json!({"path": "flows/desk.yaml", "text": DESK_FLOW}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(codes(&r.body), ["IVR015", "IVR015"], "{}", r.body);

    // Once an agent holds the skill at the level asked for and the desk phone exists, the
    // same file publishes.
    let op = app.operator().await;
    let (agent, _) = app.member(&op, tid, "agent").await;
    let skill = |level: i64| {
        let admin = admin.clone();
        async move {
            let r = admin
                .patch(
                    &format!("/api/v1/tenants/{tid}/agents/{agent}"),
                    json!({"skills": {"french": level}}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    skill(2).await;
    let r = publish(&admin, tid, "flows/desk.yaml", DESK_FLOW).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["report"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["message"]
                == "no agent of the tenant has skill 'french' at level 5 or above (the highest is 2)"),
        "{}",
        r.body
    );
    skill(5).await;
    let r = admin
        .post(
            &format!("/api/v1/tenants/{tid}/extensions"),
            json!({"number": "2000", "display_name": "Front desk", "enabled": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = publish(&admin, tid, "flows/desk.yaml", DESK_FLOW).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn rendered_prompts_are_served_to_asterisk_from_the_tts_cache() {
    let app = spawn_app().await;
    let key = format!("ab{}", "0123456789abcdef".repeat(4).get(..62).unwrap());
    let dir = app.state.config.tts_cache_dir().join("ab");
    std::fs::create_dir_all(&dir).unwrap();
    let audio: Vec<u8> = (0..3200u32)
        .flat_map(|i| (i as i16).to_le_bytes())
        .collect();
    std::fs::write(dir.join(format!("{key}.sln16")), &audio).unwrap();
    // A sidecar or anything else in the folder is never served.
    std::fs::write(dir.join(format!("{key}.json")), "{}").unwrap();

    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/media/tts/ab/{key}.sln16", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), audio.as_slice());
    for missing in [
        format!("/media/tts/ab/{key}.json"),
        format!("/media/tts/cd/{key}.sln16"),
        format!("/media/tts/ab/{}.sln16", "f".repeat(64)),
        "/media/tts/ab/..%2F..%2Fswitchboard.db".to_owned(),
    ] {
        let r = http
            .get(format!("{}{missing}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}
