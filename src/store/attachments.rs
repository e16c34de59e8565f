//! Files attached to messages (the bytes live under the data folder).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A stored attachment.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttachmentRecord {
    /// Internal id.
    pub id: i64,
    /// Tenant.
    pub tenant_id: i64,
    /// Conversation.
    pub conversation_id: i64,
    /// Random id in the download URL.
    pub public_id: String,
    /// Sanitised file name.
    pub filename: String,
    /// Verified content type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Uploaded (UTC).
    pub created_at: DateTime<Utc>,
}

/// What an upload records.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    /// Conversation.
    pub conversation_id: i64,
    /// Random id.
    pub public_id: &'a str,
    /// File name.
    pub filename: &'a str,
    /// Content type.
    pub content_type: &'a str,
    /// Size.
    pub size_bytes: i64,
    /// SHA-256 hex.
    pub sha256: &'a str,
}

/// Records an uploaded file.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_attachment(
    store: &Store,
    tenant: TenantId,
    a: NewAttachment<'_>,
) -> Result<AttachmentRecord, StoreError> {
    const SQL: &str = "insert into attachments (tenant_id, conversation_id, public_id, filename, content_type, size_bytes, sha256, created_at) \
                       values ($1, $2, $3, $4, $5, $6, $7, $8) returning id, tenant_id, conversation_id, public_id, filename, \
                       content_type, size_bytes, sha256, created_at";
    Ok(on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(a.conversation_id)
        .bind(a.public_id)
        .bind(a.filename)
        .bind(a.content_type)
        .bind(a.size_bytes)
        .bind(a.sha256)
        .bind(Utc::now())
        .fetch_one(p)
        .await)?)
}

/// The attachment behind a download URL. The random public id is the capability (as with
/// signed download links), so this lookup is not scoped by a tenant the caller names.
#[tracing::instrument(skip_all)]
pub async fn find_by_public_id(
    store: &Store,
    public_id: &str,
) -> Result<Option<AttachmentRecord>, StoreError> {
    const SQL: &str = "select a.id, a.tenant_id, a.conversation_id, a.public_id, a.filename, a.content_type, a.size_bytes, \
                       a.sha256, a.created_at from attachments a join tenants t on t.id = a.tenant_id \
                       where a.public_id = $1 and t.deleted_at is null";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(public_id).fetch_optional(p).await)?)
}
