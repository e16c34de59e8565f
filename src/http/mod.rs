//! The web edge: merges every module's router, adds the cross-cutting layers, serves the
//! operational endpoints and the embedded UI. No business logic lives here.

pub mod assets;
pub mod error;
pub mod extract;
pub mod metrics;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use error::envelope;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Contact-center platform: tenants, users, queues, calls and chats."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign in, sessions, the caller's profile"),
        (name = "tenants", description = "Tenants (platform operators)"),
        (name = "users", description = "Members of a tenant and their roles"),
        (name = "api-keys", description = "Tenant API keys"),
        (name = "audit", description = "Audit log"),
        (name = "queues", description = "Queues, members, live view"),
        (name = "agents", description = "Agents' skills, capacity and presence"),
        (name = "routing", description = "Contacts in queues, offers, accept and decline"),
        (name = "realtime", description = "The event stream over WebSocket"),
        (name = "inbox", description = "Conversations for agents: threads, replies, offers"),
        (name = "extensions", description = "Agents' phones (PJSIP extensions), their provisioning into Asterisk, and the phone directory every member reads"),
        (name = "calls", description = "Calls: the log, each call's timeline, recordings and voicemails"),
        (name = "widget", description = "The website chat widget: admin and public endpoints"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Session cookie from POST /api/v1/auth/login; unsafe methods also need X-CSRF-Token",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sbk_…")
                    .build(),
            ),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("api_key", Vec::<String>::new()),
        ]);
    }
}

/// The whole application router with its OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics::render))
        .merge(crate::auth::router())
        .merge(crate::admin::router())
        .merge(crate::routing::http::router())
        .merge(crate::inbox::router())
        .merge(crate::ai::http::router())
        .merge(crate::ivr::http::router())
        .merge(crate::tts::http::router())
        .merge(crate::channels::widget::router())
        .merge(crate::channels::attachments::router())
        .merge(crate::voice::http::router())
        .merge(crate::voice::calls::http::router())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let doc_json = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into());
    let cfg = &state.config.http;

    api.route(
        "/api/v1/openapi.json",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc_json) }),
    )
    .method_not_allowed_fallback(|| async {
        envelope(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not accept that method")
    })
    .fallback(assets::fallback)
    .layer(DefaultBodyLimit::max(cfg.body_limit_bytes))
    .layer(middleware::from_fn(ensure_envelope))
    // The widget script, the UI and large JSON lists go out gzipped when the client accepts it.
    .layer(tower_http::compression::CompressionLayer::new().gzip(true))
    .layer(middleware::from_fn(metrics::track))
    .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(cfg.request_timeout_secs)))
    .layer(CatchPanicLayer::custom(|_| {
        envelope(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ))
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
    .layer(
        TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request.id = %request_id)
        }),
    )
    .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
    .with_state(state)
}

/// Any error response not already in the JSON envelope (framework timeouts, limits) gets it,
/// so clients can always parse `{ "error": { "code", "message" } }`.
async fn ensure_envelope(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return res;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = status.canonical_reason().unwrap_or("error").to_owned();
    let (mut parts, _) = res.into_parts();
    let mut fresh = envelope(status, code, message);
    // Keep headers such as Retry-After and the request id.
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    fresh.headers_mut().extend(parts.headers);
    fresh
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// Service version.
    pub version: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(Health {
            status: "ready",
            version: env!("CARGO_PKG_VERSION"),
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            envelope(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "database is not reachable",
            )
        }
    }
}
