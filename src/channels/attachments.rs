//! Attachments: customers (through the widget) and agents upload images and files; anyone
//! holding the message's link downloads them.
//!
//! The type is decided by the file's first bytes against an allow-list (never by the name or
//! the claimed type), the size is capped, and files are served with `nosniff`, a sandboxing
//! Content-Security-Policy and `Content-Disposition` (inline only for images), so an upload can
//! never run as a page of this site.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversation::{Body, ChatError};
use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::domain::{TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody, envelope};
use crate::http::extract::{AppJson, AppPath};
use crate::store::attachments::{AttachmentRecord, NewAttachment};
use crate::store::{self, StoreError};

/// Largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The routes of this module (uploads get their own body limit).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(visitor_upload))
        .routes(routes!(agent_upload))
        .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES))
        .routes(routes!(download))
}

/// The content type of an allowed file, decided from its bytes.
pub fn sniff(bytes: &[u8], claimed: Option<&str>) -> Option<&'static str> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if claimed.is_some_and(|c| c.starts_with("text/plain"))
        && !bytes.contains(&0)
        && std::str::from_utf8(bytes).is_ok()
    {
        Some("text/plain")
    } else {
        None
    }
}

/// A file name safe to show and to put in a header: no paths, no control characters.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// An attachment as messages carry it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    /// Download path (relative to the service).
    pub url: String,
    /// File name.
    pub filename: String,
    /// Verified type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Message it was sent in.
    pub seq: i64,
}

async fn store_file(
    state: &AppState,
    tenant: TenantId,
    conversation: i64,
    filename: &str,
    bytes: &[u8],
    claimed: Option<&str>,
) -> ApiResult<AttachmentRecord> {
    if bytes.is_empty() {
        return Err(ApiError::validation("body", "the file is empty"));
    }
    let content_type = sniff(bytes, claimed).ok_or(ApiError::Status {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        message: "only PNG, JPEG, GIF, WebP images, PDF and plain text files can be attached"
            .into(),
    })?;
    let public_id = {
        use base64::Engine as _;
        use rand::RngCore;
        let mut b = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut b);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    };
    let dir = state.config.data_dir.join("media").join("attachments");
    let path = dir.join(&public_id);
    let tmp = dir.join(format!("{public_id}.part"));
    // Written to a temporary name and renamed, so a crash never leaves half a file behind a link.
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(ApiError::internal)?;
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(ApiError::internal)?;
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(ApiError::internal)?;
    let sha = hex::encode(Sha256::digest(bytes));
    let rec = store::attachments::insert_attachment(
        &state.store,
        tenant,
        NewAttachment {
            conversation_id: conversation,
            public_id: &public_id,
            filename: &clean_filename(filename),
            content_type,
            size_bytes: bytes.len() as i64,
            sha256: &sha,
        },
    )
    .await?;
    Ok(rec)
}

fn media_json(a: &AttachmentRecord) -> String {
    json!({"url": format!("/media/attachments/{}", a.public_id), "filename": a.filename, "content_type": a.content_type, "size_bytes": a.size_bytes})
        .to_string()
}

fn kind_of(a: &AttachmentRecord) -> &'static str {
    if a.content_type.starts_with("image/") {
        "image"
    } else {
        "file"
    }
}

fn view(a: &AttachmentRecord, seq: i64) -> AttachmentView {
    AttachmentView {
        url: format!("/media/attachments/{}", a.public_id),
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        size_bytes: a.size_bytes,
        seq,
    }
}

/// The visitor and the file name.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitorUpload {
    /// The widget's public id.
    pub widget: String,
    /// The visitor token from the widget socket's `hello`.
    pub token: String,
    /// The file's name.
    pub filename: String,
}

/// A visitor attaches a file (raw bytes as the body, at most 10 MiB); it is sent as a message.
#[utoipa::path(post, path = "/widget/attachments", tag = "widget", params(VisitorUpload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn visitor_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<VisitorUpload>,
    bytes: Bytes,
) -> Response {
    let widget = match store::widgets::find_widget_by_public_id(&state.store, &q.widget).await {
        Ok(Some(w)) => w,
        Ok(None) => return envelope(StatusCode::NOT_FOUND, "not_found", "widget not found"),
        Err(e) => return ApiError::from(e).into_response(),
    };
    // The embedding site reads the answer, so it gets the same origin check and CORS header
    // as the widget's configuration.
    let origin = super::widget::public::origin(&headers).map(str::to_owned);
    if !super::widget::settings::settings_of(&widget).allows(origin.as_deref()) {
        return envelope(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site may not embed the widget",
        );
    }
    let Some(visitor) =
        super::widget::public::verify_visitor(&state.master_key, &widget.public_id, &q.token)
    else {
        return envelope(
            StatusCode::FORBIDDEN,
            "invalid_token",
            "the visitor token is not valid for this widget",
        );
    };
    let tenant = TenantId(widget.tenant_id);
    let claimed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let result: ApiResult<AttachmentView> = async {
        let identity = format!("{}:{visitor}", widget.public_id);
        let contact =
            store::contacts::find_or_create_by_identity(&state.store, tenant, "widget", &identity)
                .await?;
        // The conversation exists before the file is stored, so the file always has a home.
        let conversation = match store::conversations::find_open_conversation(
            &state.store,
            tenant,
            contact.id,
            "widget",
        )
        .await?
        {
            Some(c) => c,
            None => {
                let (c, _, _) = state
                    .chat
                    .customer_message(
                        tenant,
                        contact.id,
                        "widget",
                        Some((widget.id, widget.queue_id)),
                        None,
                        Body::text("(sent a file)"),
                    )
                    .await?;
                c
            }
        };
        let a = store_file(
            &state,
            tenant,
            conversation.id,
            &q.filename,
            &bytes,
            claimed,
        )
        .await?;
        let media = media_json(&a);
        let (_, m, _) = state
            .chat
            .customer_message(
                tenant,
                contact.id,
                "widget",
                Some((widget.id, widget.queue_id)),
                None,
                Body {
                    content: &a.filename,
                    kind: kind_of(&a),
                    media: Some(&media),
                },
            )
            .await?;
        state.chat.point_visitor(&identity, conversation.id);
        Ok(view(&a, m.seq))
    }
    .await;
    let mut res = match result {
        Ok(v) => (StatusCode::CREATED, AppJson(v)).into_response(),
        Err(e) => e.into_response(),
    };
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

/// The file's name.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentUpload {
    /// The file's name.
    pub filename: String,
    /// Keep it as a private note.
    #[serde(default)]
    pub private: bool,
}

/// An agent attaches a file to a conversation (raw bytes, at most 10 MiB).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/conversations/{cid}/attachments", tag = "inbox", params(("tid" = i64, Path, description = "tenant id"), ("cid" = i64, Path, description = "conversation id"), AgentUpload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn agent_upload(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    Query(q): Query<AgentUpload>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<(StatusCode, AppJson<AttachmentView>)> {
    let agent = scope
        .principal
        .user_id()
        .map(UserId::get)
        .ok_or_else(|| ApiError::forbidden("files are sent by people"))?;
    let c = store::conversations::find_conversation(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    if !q.private
        && c.assigned_agent_id != Some(agent)
        && scope.role < crate::domain::Role::Supervisor
    {
        return Err(ApiError::forbidden(
            "only the assigned agent (or a supervisor) may send files",
        ));
    }
    let claimed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let a = store_file(&state, scope.id(), c.id, &q.filename, &bytes, claimed).await?;
    let media = media_json(&a);
    let m = state
        .chat
        .agent_message(
            scope.id(),
            c.id,
            agent,
            Body {
                content: &a.filename,
                kind: kind_of(&a),
                media: Some(&media),
            },
            q.private,
            None,
        )
        .await
        .map_err(|e| match e {
            ChatError::Store(StoreError::NotFound) => ApiError::not_found("conversation"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, AppJson(view(&a, m.seq))))
}

/// Downloads an attachment by its link.
#[utoipa::path(get, path = "/media/attachments/{aid}", tag = "widget",
    params(("aid" = String, Path, description = "the attachment's public id")),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
async fn download(State(state): State<AppState>, AppPath(aid): AppPath<String>) -> Response {
    let Ok(Some(a)) = store::attachments::find_by_public_id(&state.store, &aid).await else {
        return envelope(StatusCode::NOT_FOUND, "not_found", "attachment not found");
    };
    let path = state
        .config
        .data_dir
        .join("media")
        .join("attachments")
        .join(&a.public_id);
    let Ok(bytes) = tokio::fs::read(&path).await else {
        tracing::error!(attachment = %a.public_id, "attachment file is missing");
        return envelope(StatusCode::NOT_FOUND, "not_found", "attachment not found");
    };
    let disposition = if a.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let encoded: String = url::form_urlencoded::byte_serialize(a.filename.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest", None), Some("image/png"));
        assert_eq!(
            sniff(b"%PDF-1.7", Some("image/png")),
            Some("application/pdf")
        );
        assert_eq!(
            sniff(b"<html><script>alert(1)</script>", Some("text/html")),
            None
        );
        assert_eq!(sniff(b"<html><script>alert(1)</script>", None), None);
        assert_eq!(
            sniff(b"plain words", Some("text/plain")),
            Some("text/plain")
        );
        assert_eq!(
            sniff(b"MZ\x90\x00", Some("text/plain")),
            None,
            "binary claimed as text is refused"
        );
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\a\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("a\r\nb\".pdf"), "ab.pdf");
        assert_eq!(clean_filename(".."), "file");
    }
}
