//! Health, readiness, metrics, the OpenAPI document and the embedded UI.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_ok_when_the_database_is_reachable() {
    let app = spawn_app().await;
    let c = app.anonymous();
    let h = c.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body["status"], "ok");
    let r = c.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ready");
}

#[tokio::test]
async fn readyz_reports_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let r = app.anonymous().get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "not_ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_pool_gauges() {
    let app = spawn_app().await;
    let c = app.anonymous();
    c.get("/healthz").await;
    c.get("/api/v1/me").await;
    let res = c
        .raw()
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
    assert!(
        text.contains("route=\"/api/v1/me\"") && text.contains("status=\"401\""),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("db_pool_connections"), "{text}");
}

/// Every operation the OpenAPI document lists is routed, and every routed API path is documented.
#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_and_only_real_ones() {
    let app = spawn_app().await;
    let c = app.anonymous();
    let doc = c.get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let paths = doc.body["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} is undocumented"
            );
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    // The endpoints the product offers today; adding a route without documenting it fails here.
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/me/password"),
        ("GET", "/api/v1/me/sessions"),
        ("DELETE", "/api/v1/me/sessions/{id}"),
        ("GET", "/api/v1/tenants"),
        ("POST", "/api/v1/tenants"),
        ("GET", "/api/v1/tenants/{tid}"),
        ("PATCH", "/api/v1/tenants/{tid}"),
        ("DELETE", "/api/v1/tenants/{tid}"),
        ("GET", "/api/v1/tenants/{tid}/users"),
        ("POST", "/api/v1/tenants/{tid}/users"),
        ("GET", "/api/v1/tenants/{tid}/users/{uid}"),
        ("PATCH", "/api/v1/tenants/{tid}/users/{uid}"),
        ("DELETE", "/api/v1/tenants/{tid}/users/{uid}"),
        ("POST", "/api/v1/tenants/{tid}/users/{uid}/reset-password"),
        ("GET", "/api/v1/tenants/{tid}/flows"),
        ("GET", "/api/v1/tenants/{tid}/flows/file"),
        ("DELETE", "/api/v1/tenants/{tid}/flows/file"),
        ("POST", "/api/v1/tenants/{tid}/flows/validate"),
        ("POST", "/api/v1/tenants/{tid}/flows/publish"),
        ("GET", "/api/v1/tenants/{tid}/flows/history"),
        ("GET", "/api/v1/tenants/{tid}/flows/history/{version}"),
        ("GET", "/api/v1/tenants/{tid}/dids"),
        ("GET", "/api/v1/tenants/{tid}/flows/graph"),
        ("GET", "/media/tts/{shard}/{file}"),
        ("GET", "/api/v1/tenants/{tid}/api-keys"),
        ("POST", "/api/v1/tenants/{tid}/api-keys"),
        ("DELETE", "/api/v1/tenants/{tid}/api-keys/{kid}"),
        ("GET", "/api/v1/tenants/{tid}/audit-log"),
        ("GET", "/api/v1/tenants/{tid}/queues"),
        ("POST", "/api/v1/tenants/{tid}/queues"),
        ("GET", "/api/v1/tenants/{tid}/queues/{qid}"),
        ("PATCH", "/api/v1/tenants/{tid}/queues/{qid}"),
        ("DELETE", "/api/v1/tenants/{tid}/queues/{qid}"),
        ("PUT", "/api/v1/tenants/{tid}/queues/{qid}/members"),
        ("GET", "/api/v1/tenants/{tid}/queues/{qid}/live"),
        ("GET", "/api/v1/tenants/{tid}/agents"),
        ("GET", "/api/v1/tenants/{tid}/agents/{uid}"),
        ("PATCH", "/api/v1/tenants/{tid}/agents/{uid}"),
        ("PUT", "/api/v1/tenants/{tid}/agents/{uid}/presence"),
        ("PUT", "/api/v1/tenants/{tid}/me/presence"),
        ("GET", "/api/v1/tenants/{tid}/me/presence"),
        ("POST", "/api/v1/tenants/{tid}/routing/contacts"),
        ("GET", "/api/v1/tenants/{tid}/routing/contacts/{cid}"),
        ("DELETE", "/api/v1/tenants/{tid}/routing/contacts/{cid}"),
        (
            "POST",
            "/api/v1/tenants/{tid}/routing/contacts/{cid}/accept",
        ),
        (
            "POST",
            "/api/v1/tenants/{tid}/routing/contacts/{cid}/decline",
        ),
        ("POST", "/api/v1/tenants/{tid}/routing/contacts/{cid}/end"),
        ("GET", "/api/v1/ws"),
        ("GET", "/api/v1/tenants/{tid}/conversations"),
        ("GET", "/api/v1/tenants/{tid}/conversations/{cid}"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/messages"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/typing"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/read"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/accept"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/decline"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/resolve"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/reopen"),
        ("GET", "/api/v1/tenants/{tid}/widgets"),
        ("POST", "/api/v1/tenants/{tid}/widgets"),
        ("GET", "/api/v1/tenants/{tid}/widgets/{wid}"),
        ("PATCH", "/api/v1/tenants/{tid}/widgets/{wid}"),
        ("DELETE", "/api/v1/tenants/{tid}/widgets/{wid}"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/transfer"),
        ("GET", "/api/v1/tenants/{tid}/contacts/{kid}"),
        ("GET", "/api/v1/tenants/{tid}/canned-responses"),
        ("POST", "/api/v1/tenants/{tid}/canned-responses"),
        ("GET", "/api/v1/tenants/{tid}/calls"),
        ("POST", "/api/v1/tenants/{tid}/calls"),
        ("GET", "/api/v1/tenants/{tid}/calls/{id}"),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/consult"),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/consult/cancel"),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/consult/complete"),
        (
            "POST",
            "/api/v1/tenants/{tid}/calls/{id}/consult/conference",
        ),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/hold"),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/resume"),
        ("POST", "/api/v1/tenants/{tid}/calls/{id}/transfer"),
        ("GET", "/api/v1/tenants/{tid}/recordings/{id}/audio"),
        ("GET", "/api/v1/tenants/{tid}/voicemails"),
        ("PUT", "/api/v1/tenants/{tid}/canned-responses/{rid}"),
        ("DELETE", "/api/v1/tenants/{tid}/canned-responses/{rid}"),
        (
            "POST",
            "/api/v1/tenants/{tid}/conversations/{cid}/attachments",
        ),
        ("POST", "/widget/attachments"),
        ("GET", "/media/attachments/{aid}"),
        ("GET", "/api/v1/tenants/{tid}/tickets"),
        ("POST", "/api/v1/tenants/{tid}/tickets"),
        ("GET", "/api/v1/tenants/{tid}/tickets/{ticket}"),
        ("PATCH", "/api/v1/tenants/{tid}/tickets/{ticket}"),
        ("PUT", "/api/v1/tenants/{tid}/conversations/{cid}/labels"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/snooze"),
        ("GET", "/api/v1/tenants/{tid}/labels"),
        ("GET", "/api/v1/tenants/{tid}/directory"),
        ("GET", "/api/v1/tenants/{tid}/ai"),
        ("PUT", "/api/v1/tenants/{tid}/ai"),
        ("GET", "/api/v1/tenants/{tid}/ai/usage"),
        ("GET", "/api/v1/tenants/{tid}/handoff-rules"),
        ("POST", "/api/v1/tenants/{tid}/handoff-rules"),
        ("PUT", "/api/v1/tenants/{tid}/handoff-rules/{rid}"),
        ("DELETE", "/api/v1/tenants/{tid}/handoff-rules/{rid}"),
        ("POST", "/api/v1/tenants/{tid}/conversations/{cid}/assist"),
        ("GET", "/api/v1/tenants/{tid}/conversations/{cid}/bot-turns"),
        (
            "POST",
            "/api/v1/tenants/{tid}/conversations/{cid}/take-over",
        ),
        ("GET", "/api/v1/tenants/{tid}/knowledge-base"),
        ("POST", "/api/v1/tenants/{tid}/knowledge-base"),
        ("GET", "/api/v1/tenants/{tid}/knowledge-base/{eid}"),
        ("PUT", "/api/v1/tenants/{tid}/knowledge-base/{eid}"),
        ("DELETE", "/api/v1/tenants/{tid}/knowledge-base/{eid}"),
        ("POST", "/api/v1/tenants/{tid}/knowledge-base/import"),
        ("GET", "/api/v1/tenants/{tid}/knowledge-base/export"),
        ("GET", "/api/v1/tenants/{tid}/knowledge-base/search"),
        ("POST", "/api/v1/tenants/{tid}/labels"),
        ("DELETE", "/api/v1/tenants/{tid}/labels/{lid}"),
        ("POST", "/api/v1/tenants/{tid}/contacts/{kid}/merge"),
        ("GET", "/api/v1/tenants/{tid}/extensions"),
        ("POST", "/api/v1/tenants/{tid}/extensions"),
        ("GET", "/api/v1/tenants/{tid}/extensions/pjsip.conf"),
        ("GET", "/api/v1/tenants/{tid}/extensions/{xid}"),
        ("PATCH", "/api/v1/tenants/{tid}/extensions/{xid}"),
        ("DELETE", "/api/v1/tenants/{tid}/extensions/{xid}"),
        ("POST", "/api/v1/tenants/{tid}/extensions/{xid}/password"),
        ("POST", "/api/v1/tenants/{tid}/extensions/{xid}/provision"),
        ("GET", "/api/v1/tenants/{tid}/phone-directory"),
        ("GET", "/widget/config"),
        ("GET", "/widget/ws"),
    ];
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    want.sort();
    documented.sort();
    assert_eq!(documented, want);
    for (method, path) in &documented {
        let concrete = path
            .replace("{tid}", "1")
            .replace("{uid}", "1")
            .replace("{kid}", "1")
            .replace("{id}", "1")
            .replace("{qid}", "1")
            .replace("{cid}", "1")
            .replace("{wid}", "1")
            .replace("{rid}", "1")
            .replace("{aid}", "1")
            .replace("{ticket}", "1")
            .replace("{lid}", "1")
            .replace("{xid}", "1");
        let r = c
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                Some(Value::Null),
            )
            .await;
        assert!(
            !(r.status == StatusCode::NOT_FOUND && r.message().starts_with("no route"))
                && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed ({})",
            r.status
        );
    }
}

#[tokio::test]
async fn the_ui_is_served_with_a_strict_content_security_policy_and_all_its_assets() {
    let app = spawn_app().await;
    let res = app
        .anonymous()
        .raw()
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = res.text().await.unwrap();
    let refs: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with('/') && !s.starts_with("//") && s.len() > 1 && s.contains('.'))
        .collect();
    assert!(!refs.is_empty(), "index.html references no assets");
    for r in refs {
        let res = app
            .anonymous()
            .raw()
            .get(format!("{}{}", app.base, r))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "asset {r} referenced by index.html is missing"
        );
    }
    for path in switchboard::http::assets::asset_paths() {
        if path.ends_with(".js") {
            let res = app
                .anonymous()
                .raw()
                .get(format!("{}/{}", app.base, path))
                .send()
                .await
                .unwrap();
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(ct.contains("javascript"), "{path} served as {ct}");
        }
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/healthz").await;
    assert!(r.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn assets_are_revalidated_by_etag_so_upgrades_never_mix_old_and_new_modules() {
    let app = spawn_app().await;
    let url = format!("{}/js/app.js", app.base);
    let http = app.anonymous();
    let first = http.raw().get(&url).send().await.unwrap();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = http
        .raw()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let stale = http
        .raw()
        .get(&url)
        .header("if-none-match", "\"old\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
}
