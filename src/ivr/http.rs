//! `/api/v1/tenants/{tid}/flows` and `/dids`: the tenant's IVR flow folder as admins see it —
//! files with their validation state, source, validation of an edit, publish (atomic, with
//! history) — and the DIDs that `routes.yaml` maps to flows.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{FlowError, all_files};
use super::{Diagnostic, Report, RouteMatch, RoutesFile};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flows))
        .routes(routes!(get_file, delete_file))
        .routes(routes!(validate_edit))
        .routes(routes!(publish))
        .routes(routes!(history))
        .routes(routes!(get_version))
        .routes(routes!(list_dids))
        .routes(routes!(graph))
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::BadPath(m) => ApiError::validation("path", m),
            FlowError::NotFound(p) => ApiError::not_found(&format!("flow file {p}")),
            FlowError::Stale { .. } => ApiError::Conflict {
                code: "stale",
                message: e.to_string(),
            },
            FlowError::Invalid(_) => ApiError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_flows",
                message: e.to_string(),
            },
            FlowError::Io(e) => ApiError::internal(e),
            FlowError::Store(e) => ApiError::from(e),
        }
    }
}

/// 422 with the whole report beside the usual error, so the editor can mark every line.
fn invalid(report: Report) -> Response {
    let message = FlowError::Invalid(report.clone()).to_string();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        AppJson(json!({
            "error": { "code": "invalid_flows", "message": message },
            "report": report,
        })),
    )
        .into_response()
}

/// One file of the folder.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    /// Path in the folder, e.g. `flows/support-main.yaml`.
    pub path: String,
    /// `flow`, `routes`, `schedules` or `voices`.
    pub kind: &'static str,
    /// The flow id (flows only).
    pub flow_id: Option<String>,
    /// The flow's `name:` (flows only).
    pub name: Option<String>,
    /// Nodes in the flow (flows only).
    pub nodes: Option<usize>,
    /// Errors in this file.
    pub errors: usize,
    /// Warnings in this file.
    pub warnings: usize,
}

/// The published version calls use.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveView {
    /// Version number.
    pub version: i64,
    /// Folder digest.
    pub digest: String,
    /// When it went live.
    pub published_at: DateTime<Utc>,
}

/// A change on disk that was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedView {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Errors it had.
    pub errors: usize,
}

/// The tenant's flow folder.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowsView {
    /// Where the folder is on the server.
    pub dir: String,
    /// Digest of the files on disk (pass it back as `base_digest` when publishing).
    pub digest: String,
    /// Files on disk.
    pub files: Vec<FileView>,
    /// The validator's report on the files on disk.
    #[schema(value_type = Object)]
    pub report: Report,
    /// What calls use now.
    pub live: Option<LiveView>,
    /// True when the files on disk are what is live.
    pub disk_is_live: bool,
    /// The last refused change on disk, while the disk still holds it.
    pub rejected: Option<RejectedView>,
}

fn count(report: &Report, path: &str) -> (usize, usize) {
    let n = |ds: &[Diagnostic]| ds.iter().filter(|d| d.file == path).count();
    (n(&report.errors), n(&report.warnings))
}

/// The tenant's flow folder: files with their problems, and the live version.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/flows", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = FlowsView), (status = 403, body = ErrorBody)))]
async fn list_flows(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<FlowsView>> {
    let folder = state.flows.folder(scope.id()).await?;
    let tenant = store::tenants::get_tenant(&state.store, scope.id()).await?;
    let files = all_files(&folder.sources)
        .map(|f| {
            let (errors, warnings) = count(&folder.report, &f.path);
            let kind = match f.path.as_str() {
                "routes.yaml" => "routes",
                "schedules.yaml" => "schedules",
                "voices.yaml" => "voices",
                _ => "flow",
            };
            let header = (kind == "flow").then(|| flow_summary(&f.text)).flatten();
            FileView {
                path: f.path.clone(),
                kind,
                flow_id: (kind == "flow").then(|| super::flow_id_from_path(&f.path)),
                name: header.as_ref().and_then(|h| h.0.clone()),
                nodes: header.map(|h| h.1),
                errors,
                warnings,
            }
        })
        .collect();
    Ok(AppJson(FlowsView {
        dir: state.flows.tenant_dir(&tenant.slug).display().to_string(),
        disk_is_live: folder.live.as_ref().map(|l| l.digest.as_str()) == Some(&folder.digest),
        digest: folder.digest,
        files,
        report: folder.report,
        live: folder.live.map(|l| LiveView {
            version: l.version,
            digest: l.digest.clone(),
            published_at: l.published_at,
        }),
        rejected: folder.rejected.map(|r| RejectedView {
            at: r.at,
            errors: r.report.errors.len(),
        }),
    }))
}

/// A flow's display name and node count, read leniently (the file may be broken).
fn flow_summary(text: &str) -> Option<(Option<String>, usize)> {
    #[derive(Deserialize)]
    struct Head {
        name: Option<String>,
        #[serde(default)]
        nodes: serde_json::Map<String, serde_json::Value>,
    }
    let node = marked_yaml::parse_yaml(0, text).ok()?;
    let head: Head = marked_yaml::from_node(&node).ok()?;
    Some((head.name, head.nodes.len()))
}

/// Which file.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FileQuery {
    /// `routes.yaml`, `schedules.yaml`, `voices.yaml` or `flows/<id>.yaml`.
    pub path: String,
    /// With DELETE: the folder digest the caller saw (refused with 409 if it changed).
    pub base_digest: Option<String>,
}

/// One file's text and problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileSource {
    /// Path in the folder.
    pub path: String,
    /// Contents.
    pub text: String,
    /// Digest of the whole folder now.
    pub digest: String,
    /// Problems in this file.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<Diagnostic>,
}

/// One file's source and its problems.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/flows/file", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id"), FileQuery),
    responses((status = 200, body = FileSource), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_file(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<FileQuery>,
) -> ApiResult<AppJson<FileSource>> {
    let path = super::service::checked_path(&q.path)?;
    let folder = state.flows.folder(scope.id()).await?;
    let file = all_files(&folder.sources)
        .find(|f| f.path == path)
        .ok_or_else(|| ApiError::not_found(&format!("flow file {path}")))?;
    let diagnostics = folder
        .report
        .errors
        .iter()
        .chain(&folder.report.warnings)
        .filter(|d| d.file == path)
        .cloned()
        .collect();
    Ok(AppJson(FileSource {
        path,
        text: file.text.clone(),
        digest: folder.digest,
        diagnostics,
    }))
}

/// Removes a flow file and publishes the folder without it (refused when that would leave
/// the folder invalid, e.g. a route still names the flow).
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/flows/file", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id"), FileQuery),
    responses((status = 200, body = PublishedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_file(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<FileQuery>,
) -> Result<Response, ApiError> {
    publish_change(&state, &scope, &q.path, None, q.base_digest.as_deref()).await
}

/// A file's new text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// `routes.yaml`, `schedules.yaml`, `voices.yaml` or `flows/<id>.yaml` (new flows too).
    pub path: String,
    /// The whole file.
    pub text: String,
    /// With publish: the folder digest the edit was made on (409 if the folder changed since).
    pub base_digest: Option<String>,
}

/// Validates the folder as it would be with this file, writing nothing. Always 200: the
/// report says whether it is valid.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/flows/validate", tag = "ivr", request_body = Edit,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, description = "`{valid, errors, warnings}`"), (status = 403, body = ErrorBody)))]
async fn validate_edit(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(edit): AppJson<Edit>,
) -> ApiResult<AppJson<Report>> {
    Ok(AppJson(
        state
            .flows
            .check_edit(scope.id(), &edit.path, Some(&edit.text))
            .await?,
    ))
}

/// A new live version.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedView {
    /// Version number.
    pub version: i64,
    /// Folder digest.
    pub digest: String,
    /// When it went live.
    pub published_at: DateTime<Utc>,
    /// Warnings (they do not block publishing).
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Diagnostic>,
}

/// Writes the file and publishes the folder when it validates (422 with the report when it
/// does not; nothing is written then). Calls in progress keep the version they started with.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/flows/publish", tag = "ivr", request_body = Edit,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = PublishedView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn publish(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(edit): AppJson<Edit>,
) -> Result<Response, ApiError> {
    if edit.text.len() > 512 * 1024 {
        return Err(ApiError::validation(
            "text",
            "a flow file may be at most 512 KiB",
        ));
    }
    publish_change(
        &state,
        &scope,
        &edit.path,
        Some(&edit.text),
        edit.base_digest.as_deref(),
    )
    .await
}

async fn publish_change(
    state: &AppState,
    scope: &TenantScope<Admin>,
    path: &str,
    text: Option<&str>,
    base_digest: Option<&str>,
) -> Result<Response, ApiError> {
    let actor = scope.actor();
    let published = match state
        .flows
        .publish(scope.id(), actor.user, path, text, base_digest)
        .await
    {
        Ok(p) => p,
        Err(FlowError::Invalid(report)) => return Ok(invalid(report)),
        Err(e) => return Err(e.into()),
    };
    audit(
        &state.store,
        scope.id(),
        &actor,
        if text.is_some() {
            "flows.publish"
        } else {
            "flows.delete"
        },
        "flow_file",
        path,
        json!({ "version": published.version, "digest": published.digest }),
    )
    .await?;
    Ok(AppJson(PublishedView {
        version: published.version,
        digest: published.digest.clone(),
        published_at: published.published_at,
        warnings: published.report.warnings.clone(),
    })
    .into_response())
}

/// One published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Version number.
    pub version: i64,
    /// Folder digest.
    pub digest: String,
    /// `api` (admin), `disk` (hot reload) or `start`.
    pub source: String,
    /// The file the change was about.
    pub path: Option<String>,
    /// Who published it.
    pub published_by: Option<String>,
    /// Warnings it had.
    pub warnings: i64,
    /// When it went live.
    pub published_at: DateTime<Utc>,
    /// Calls start with this version now.
    pub live: bool,
}

/// Published versions, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/flows/history", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = Vec<VersionView>), (status = 403, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<Vec<VersionView>>> {
    let live = state.flows.live(scope.id()).await?.map(|l| l.version);
    let rows = store::ivr::list_publications(&state.store, scope.id(), 100).await?;
    Ok(AppJson(
        rows.into_iter()
            .map(|r| VersionView {
                live: Some(r.version) == live,
                version: r.version,
                digest: r.digest,
                source: r.source,
                path: r.path,
                published_by: r.published_by_name,
                warnings: r.warnings,
                published_at: r.published_at,
            })
            .collect(),
    ))
}

/// The files of one published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionFiles {
    /// Version number.
    pub version: i64,
    /// `{path: text}`.
    #[schema(value_type = Object)]
    pub files: serde_json::Value,
}

/// The files of a published version (to compare with, or to restore by publishing).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/flows/history/{version}", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id"), ("version" = i64, Path, description = "version")),
    responses((status = 200, body = VersionFiles), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_version(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<VersionFiles>> {
    let version = path.1;
    let (record, files) = store::ivr::get_publication(&state.store, scope.id(), version)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    Ok(AppJson(VersionFiles {
        version: record.version,
        files: serde_json::from_str(&files).map_err(ApiError::internal)?,
    }))
}

/// One DID route of `routes.yaml`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DidView {
    /// `did` (one number) or `did_prefix` (a block).
    pub kind: &'static str,
    /// The number or prefix.
    pub number: String,
    /// The flow it starts.
    pub flow: String,
    /// The flow's display name, when the flow exists.
    pub flow_name: Option<String>,
    /// Initial variables set for calls to it.
    #[schema(value_type = Object)]
    pub set: serde_json::Value,
    /// The line's name callers and agents see (`caller_id_name`).
    pub caller_id_name: Option<String>,
    /// Where callers go when the flow cannot go on: `extension 1002`, a number or a SIP URI.
    pub failover: Option<String>,
    /// Emergency-calling notes for admins.
    pub emergency_notes: Option<String>,
    /// Line in routes.yaml.
    pub line: Option<usize>,
    /// Problems the validator reports on this route.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<Diagnostic>,
}

/// The tenant's numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct DidsView {
    /// Routes in file order.
    pub routes: Vec<DidView>,
    /// What callers to an unrouted number hear and what happens then.
    #[schema(value_type = Object)]
    pub unmatched: serde_json::Value,
    /// Problems in routes.yaml that belong to no single route.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<Diagnostic>,
    /// routes.yaml exists.
    pub has_routes_file: bool,
}

/// The DIDs `routes.yaml` maps to flows (the file is the source of truth; edit it through
/// publish).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/dids", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = DidsView), (status = 403, body = ErrorBody)))]
async fn list_dids(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<DidsView>> {
    let folder = state.flows.folder(scope.id()).await?;
    let mut diagnostics: Vec<Diagnostic> = folder
        .report
        .errors
        .iter()
        .chain(&folder.report.warnings)
        .filter(|d| d.file == "routes.yaml")
        .cloned()
        .collect();
    let Some(file) = &folder.sources.routes else {
        return Ok(AppJson(DidsView {
            routes: Vec::new(),
            unmatched: serde_json::Value::Null,
            diagnostics,
            has_routes_file: false,
        }));
    };
    let names: std::collections::BTreeMap<String, Option<String>> = folder
        .sources
        .flows
        .iter()
        .map(|f| {
            (
                super::flow_id_from_path(&f.path),
                flow_summary(&f.text).and_then(|s| s.0),
            )
        })
        .collect();
    let parsed: Option<RoutesFile> = marked_yaml::parse_yaml(0, &file.text)
        .ok()
        .and_then(|n| marked_yaml::from_node(&n).ok());
    let lines = route_lines(&file.text);
    let mut routes = Vec::new();
    if let Some(parsed) = &parsed {
        for (i, route) in parsed.routes.iter().enumerate() {
            let prefix = format!("/routes/{i}");
            let mine: Vec<Diagnostic> = diagnostics
                .iter()
                .filter(|d| d.path == prefix || d.path.starts_with(&format!("{prefix}/")))
                .cloned()
                .collect();
            diagnostics
                .retain(|d| !(d.path == prefix || d.path.starts_with(&format!("{prefix}/"))));
            let (kind, number) = match &route.matcher {
                RouteMatch { did: Some(d), .. } => ("did", d.clone()),
                RouteMatch {
                    did_prefix: Some(p),
                    ..
                } => ("did_prefix", p.clone()),
                _ => ("other", String::new()),
            };
            routes.push(DidView {
                kind,
                number,
                flow: route.flow.clone(),
                flow_name: names.get(&route.flow).cloned().flatten(),
                set: serde_json::to_value(&route.set).unwrap_or_default(),
                caller_id_name: route.caller_id_name.clone(),
                failover: route.failover.as_ref().map(|to| {
                    match (&to.extension, &to.number, &to.sip) {
                        (Some(x), ..) => format!("extension {x}"),
                        (_, Some(n), _) => n.clone(),
                        (.., Some(s)) => s.clone(),
                        _ => String::new(),
                    }
                }),
                emergency_notes: route.emergency_notes.clone(),
                line: lines.get(i).copied(),
                diagnostics: mine,
            });
        }
    }
    Ok(AppJson(DidsView {
        routes,
        unmatched: parsed
            .and_then(|p| serde_json::to_value(&p.unmatched).ok())
            .unwrap_or_default(),
        diagnostics,
        has_routes_file: true,
    }))
}

/// The line of each `- match:` item under `routes:`, in order.
fn route_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("- match:"))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Which flow to draw, and how.
#[derive(Debug, Deserialize, IntoParams)]
pub struct GraphQuery {
    /// Flow id, e.g. `support-main` or `common/after-hours`.
    pub flow: String,
    /// `svg` (default), `dot` or `mermaid`.
    pub format: Option<String>,
}

/// A picture of one flow as it is on disk: boxes per node, arrows per exit, dashed arrows for
/// failure exits that fall back to `defaults.on_error`.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/flows/graph", tag = "ivr",
    params(("tid" = i64, Path, description = "tenant id"), GraphQuery),
    responses((status = 200, description = "`image/svg+xml`, or text for dot and mermaid"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn graph(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<GraphQuery>,
) -> Result<Response, ApiError> {
    use super::diagram::{DiagramFormat, diagram};
    let format = match q.format.as_deref().unwrap_or("svg") {
        "svg" => DiagramFormat::Svg,
        "dot" => DiagramFormat::Dot,
        "mermaid" => DiagramFormat::Mermaid,
        other => {
            return Err(ApiError::validation(
                "format",
                format!("`{other}` is not svg, dot or mermaid"),
            ));
        }
    };
    let folder = state.flows.folder(scope.id()).await?;
    let flows = super::decode_flows(&folder.sources);
    let flow = flows
        .get(&q.flow)
        .ok_or_else(|| ApiError::not_found(&format!("flow {}", q.flow)))?;
    let body = diagram(flow).render(format).map_err(ApiError::internal)?;
    let content_type = match format {
        DiagramFormat::Svg => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            // The picture holds admins' text; even opened on its own it may run nothing.
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response())
}
