//! `/api/v1/tenants/{tid}/knowledge-base`: entries (every member reads, admins write), import
//! and export as JSON or CSV, and search as the bot sees it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::audit;
use crate::ai::kb::{self, ImportError, KbEntry};
use crate::ai::local::{LocalDecision, decide};
use crate::app::AppState;
use crate::auth::{Admin, AnyMember, TenantScope};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store::{self, ai::KbEntryRecord, ai::KbFilter, ai::NewKbEntry};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries, create_entry))
        .routes(routes!(get_entry, update_entry, delete_entry))
        .routes(routes!(import_entries))
        .routes(routes!(export_entries))
        .routes(routes!(search))
}

/// Most entries a tenant may hold (an index per language is rebuilt on change).
const MAX_ENTRIES: i64 = 5000;

/// An entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KbEntryView {
    /// Id.
    pub id: i64,
    /// The admin's own stable id (from import files).
    pub slug: Option<String>,
    /// Category (the intent of questions it answers).
    pub category: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Extra search words.
    pub keywords: Vec<String>,
    /// Language tag.
    pub language: String,
    /// Used by the bot.
    pub active: bool,
    /// Times the bot answered with it.
    pub usage_count: i64,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn view(r: KbEntryRecord) -> KbEntryView {
    KbEntryView {
        keywords: serde_json::from_str(&r.keywords).unwrap_or_default(),
        id: r.id,
        slug: r.slug,
        category: r.category,
        question: r.question,
        answer: r.answer,
        language: r.language,
        active: r.active,
        usage_count: r.usage_count,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct KbList {
    /// Entries by id.
    pub items: Vec<KbEntryView>,
    /// Cursor for the next page.
    pub next_cursor: Option<String>,
    /// Entries in all (unfiltered).
    pub total: i64,
}

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KbQuery {
    /// Only this language.
    pub language: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Text in question, answer or keywords.
    pub q: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<i64>,
    /// Page size (1–500, default 100).
    pub limit: Option<i64>,
}

/// Lists entries.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/knowledge-base", tag = "ai", params(("tid" = i64, Path, description = "tenant id"), KbQuery),
    responses((status = 200, body = KbList)))]
async fn list_entries(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<KbQuery>,
) -> ApiResult<AppJson<KbList>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let filter = KbFilter {
        language: q.language.filter(|s| !s.is_empty()),
        category: q.category.filter(|s| !s.is_empty()),
        search: q.q.filter(|s| !s.trim().is_empty()),
    };
    let rows =
        store::ai::list_kb_entries(&state.store, scope.id(), &filter, q.cursor, limit).await?;
    let next_cursor = (rows.len() as i64 >= limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(AppJson(KbList {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
        total: store::ai::count_kb_entries(&state.store, scope.id()).await?,
    }))
}

/// An entry to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KbEntryInput {
    /// Your own stable id (optional).
    pub slug: Option<String>,
    /// Category.
    pub category: String,
    /// Question.
    pub question: String,
    /// Answer.
    pub answer: String,
    /// Extra search words.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Language tag (default: the bot's default language).
    pub language: Option<String>,
    /// Used by the bot (default true).
    pub active: Option<bool>,
}

async fn checked(
    state: &AppState,
    scope_tenant: crate::domain::TenantId,
    input: KbEntryInput,
) -> ApiResult<NewKbEntry> {
    let language = match input.language {
        Some(l) => l,
        None => {
            state
                .ai
                .tenant(scope_tenant)
                .await?
                .settings
                .default_language
        }
    };
    let entry = KbEntry {
        id: 0,
        slug: input.slug,
        category: input.category,
        question: input.question,
        answer: input.answer,
        keywords: input.keywords,
        language,
        active: input.active.unwrap_or(true),
    };
    let rows = kb::parse_json(
        &serde_json::to_string(&[&entry]).map_err(ApiError::internal)?,
        &entry.language,
    )
    .map_err(|errors| {
        let e = &errors[0];
        ApiError::validation(e.field.as_deref().unwrap_or("entry"), e.message.clone())
    })?;
    let mut e = rows
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::validation("entry", "missing"))?;
    // parse_json reads `id` as the slug; keep the one given.
    e.slug = entry
        .slug
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    Ok(new_entry(&e))
}

fn new_entry(e: &KbEntry) -> NewKbEntry {
    NewKbEntry {
        slug: e.slug.clone(),
        category: e.category.clone(),
        question: e.question.clone(),
        answer: e.answer.clone(),
        keywords: serde_json::to_string(&e.keywords).unwrap_or_else(|_| "[]".into()),
        language: e.language.clone(),
        active: e.active,
    }
}

/// Adds an entry.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/knowledge-base", tag = "ai", request_body = KbEntryInput,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = KbEntryView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_entry(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(input): AppJson<KbEntryInput>,
) -> ApiResult<(StatusCode, AppJson<KbEntryView>)> {
    if store::ai::count_kb_entries(&state.store, scope.id()).await? >= MAX_ENTRIES {
        return Err(ApiError::conflict(format!(
            "the knowledge base is full ({MAX_ENTRIES} entries)"
        )));
    }
    let new = checked(&state, scope.id(), input).await?;
    if let Some(slug) = &new.slug
        && store::ai::list_kb_entries(
            &state.store,
            scope.id(),
            &KbFilter::default(),
            None,
            MAX_ENTRIES,
        )
        .await?
        .iter()
        .any(|r| r.slug.as_deref() == Some(slug))
    {
        return Err(ApiError::conflict(format!(
            "an entry with slug `{slug}` exists"
        )));
    }
    let r = store::ai::upsert_kb_entries(&state.store, scope.id(), &[new])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("insert returned nothing"))?;
    state.ai.kb.invalidate(scope.id());
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "kb.create",
        "kb_entry",
        r.id,
        json!({"question": r.question}),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(view(r))))
}

/// One entry.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/knowledge-base/{eid}", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id"), ("eid" = i64, Path, description = "entry id")),
    responses((status = 200, body = KbEntryView), (status = 404, body = ErrorBody)))]
async fn get_entry(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<KbEntryView>> {
    store::ai::find_kb_entry(&state.store, scope.id(), path.1)
        .await?
        .map(|r| AppJson(view(r)))
        .ok_or_else(|| ApiError::not_found("knowledge-base entry"))
}

/// Replaces an entry.
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/knowledge-base/{eid}", tag = "ai", request_body = KbEntryInput,
    params(("tid" = i64, Path, description = "tenant id"), ("eid" = i64, Path, description = "entry id")),
    responses((status = 200, body = KbEntryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_entry(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(input): AppJson<KbEntryInput>,
) -> ApiResult<AppJson<KbEntryView>> {
    let new = checked(&state, scope.id(), input).await?;
    let r = store::ai::update_kb_entry(&state.store, scope.id(), path.1, &new)
        .await
        .map_err(ApiError::missing("knowledge-base entry"))?;
    state.ai.kb.invalidate(scope.id());
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "kb.update",
        "kb_entry",
        r.id,
        json!({"question": r.question}),
    )
    .await?;
    Ok(AppJson(view(r)))
}

/// Deletes an entry.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/knowledge-base/{eid}", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id"), ("eid" = i64, Path, description = "entry id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_entry(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    store::ai::delete_kb_entry(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("knowledge-base entry"))?;
    state.ai.kb.invalidate(scope.id());
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "kb.delete",
        "kb_entry",
        path.1,
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// File format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` or `csv` (import: default from the Content-Type).
    pub format: Option<String>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Entries written (new or updated by slug).
    pub imported: usize,
    /// Problems per row; when any, nothing was imported.
    pub errors: Vec<ImportError>,
}

/// Parses an import file into entries, or the per-row problems.
pub fn parse_file(
    text: &str,
    csv: bool,
    default_language: &str,
) -> Result<Vec<KbEntry>, Vec<ImportError>> {
    if csv {
        kb::parse_csv(text, default_language)
    } else {
        kb::parse_json(text, default_language)
    }
}

/// Imports entries from a JSON array or CSV file (the body). All rows are checked first; any
/// bad row imports nothing and every problem is listed. Entries with a known `id` (slug) are
/// updated.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/knowledge-base/import", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id"), FormatQuery),
    request_body(content = String, description = "JSON array of entries, or CSV with a header row", content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ImportResult)))]
async fn import_entries(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<FormatQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::validation("body", "must be UTF-8 text"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::validation(
                "format",
                format!("`{other}`: use json or csv"),
            ));
        }
        None => content_type.starts_with("text/csv") || !text.trim_start().starts_with('['),
    };
    let language = state.ai.tenant(scope.id()).await?.settings.default_language;
    let entries = match parse_file(text, csv, &language) {
        Ok(e) => e,
        Err(errors) => {
            let body = ImportResult {
                imported: 0,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, AppJson(body)).into_response());
        }
    };
    let existing = store::ai::count_kb_entries(&state.store, scope.id()).await?;
    if existing + entries.len() as i64 > MAX_ENTRIES {
        return Err(ApiError::conflict(format!(
            "the knowledge base holds at most {MAX_ENTRIES} entries ({existing} now, {} in the file)",
            entries.len()
        )));
    }
    let rows: Vec<NewKbEntry> = entries.iter().map(new_entry).collect();
    let written = store::ai::upsert_kb_entries(&state.store, scope.id(), &rows).await?;
    state.ai.kb.invalidate(scope.id());
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "kb.import",
        "kb_entry",
        written.len(),
        json!({"format": if csv { "csv" } else { "json" }, "count": written.len()}),
    )
    .await?;
    Ok(AppJson(ImportResult {
        imported: written.len(),
        errors: Vec::new(),
    })
    .into_response())
}

/// Exports every entry as JSON (default) or CSV, in the format import reads.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/knowledge-base/export", tag = "ai",
    params(("tid" = i64, Path, description = "tenant id"), FormatQuery),
    responses((status = 200, description = "the file", content_type = "application/json"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_entries(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<FormatQuery>,
) -> ApiResult<Response> {
    let entries: Vec<KbEntry> = store::ai::all_kb_entries(&state.store, scope.id())
        .await?
        .iter()
        .map(KbEntry::from_record)
        .collect();
    let (body, content_type, ext) = match q.format.as_deref().unwrap_or("json") {
        "csv" => (kb::to_csv(&entries), "text/csv; charset=utf-8", "csv"),
        "json" => {
            let files: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| json!({"id": e.slug, "category": e.category, "question": e.question, "answer": e.answer,
                                "keywords": e.keywords, "language": e.language, "active": e.active}))
                .collect();
            (
                serde_json::to_string_pretty(&files).map_err(ApiError::internal)?,
                "application/json",
                "json",
            )
        }
        other => {
            return Err(ApiError::validation(
                "format",
                format!("`{other}`: use json or csv"),
            ));
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"knowledge-base.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The customer's words.
    pub q: String,
    /// Language (default: the bot's default language).
    pub language: Option<String>,
}

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    /// The entry.
    pub entry: KbEntryView,
    /// BM25 score (comparable within one search only).
    pub score: f32,
    /// Share of the question the entry covers (0–1).
    pub coverage: f64,
}

/// What the bot would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// Best first.
    pub hits: Vec<SearchHit>,
    /// `answer`, `clarify` or `handoff`.
    pub decision: String,
    /// The bot's confidence in its best answer (0–1).
    pub confidence: Option<f64>,
}

/// Searches the knowledge base the way the bot does, and says what it would do.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/knowledge-base/search", tag = "ai", params(("tid" = i64, Path, description = "tenant id"), SearchQuery),
    responses((status = 200, body = SearchResult), (status = 422, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<SearchQuery>,
) -> ApiResult<AppJson<SearchResult>> {
    if q.q.trim().is_empty() || q.q.chars().count() > 1000 {
        return Err(ApiError::validation("q", "must be 1–1000 characters"));
    }
    let t = state.ai.tenant(scope.id()).await?;
    let language = q.language.unwrap_or(t.settings.default_language.clone());
    let (_, _, found) = state
        .ai
        .search(&t, scope.id(), &language, &q.q, 5)
        .await
        .map_err(ApiError::internal)?;
    let settings = t.settings;
    let (decision, confidence) = match decide(&found, &settings.local) {
        LocalDecision::Answer { confidence, .. } => ("answer", Some(confidence)),
        LocalDecision::Clarify { confidence, .. } => ("clarify", Some(confidence)),
        LocalDecision::NoAnswer { best } => ("handoff", best.map(|b| b.1)),
    };
    let mut hits = Vec::with_capacity(found.len());
    for h in found {
        if let Some(r) = store::ai::find_kb_entry(&state.store, scope.id(), h.id).await? {
            hits.push(SearchHit {
                entry: view(r),
                score: h.score,
                coverage: h.coverage,
            });
        }
    }
    Ok(AppJson(SearchResult {
        hits,
        decision: decision.into(),
        confidence,
    }))
}
