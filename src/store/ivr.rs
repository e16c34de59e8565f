//! Published IVR flow folders: one row per publication, with the files as they went live.

use chrono::{DateTime, Utc};

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::{TenantId, UserId};

/// One publication of a tenant's flow folder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicationRecord {
    /// 1, 2, 3 … per tenant.
    pub version: i64,
    /// sha-256 (hex) over the folder's paths and texts.
    pub digest: String,
    /// `api`, `disk` or `start`.
    pub source: String,
    /// The file the change was about.
    pub path: Option<String>,
    /// Who published it from the admin.
    pub published_by: Option<i64>,
    /// Their name, when they still exist.
    pub published_by_name: Option<String>,
    /// Warnings the validator reported for this version.
    pub warnings: i64,
    /// When it went live (UTC).
    pub published_at: DateTime<Utc>,
}

/// What a new publication records.
#[derive(Debug, Clone)]
pub struct NewPublication<'a> {
    /// sha-256 (hex) over the folder.
    pub digest: &'a str,
    /// `api`, `disk` or `start`.
    pub source: &'a str,
    /// The file the change was about.
    pub path: Option<&'a str>,
    /// Who published it.
    pub published_by: Option<UserId>,
    /// `{path: text}` of every file, as JSON.
    pub files: &'a serde_json::Value,
    /// Warnings reported.
    pub warnings: i64,
}

macro_rules! columns {
    () => {
        "p.version, p.digest, p.source, p.path, p.published_by, u.name as published_by_name, \
         p.warnings, p.published_at"
    };
}

/// Records a publication as the tenant's next version and returns it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_publication(
    store: &Store,
    tenant: TenantId,
    new: NewPublication<'_>,
) -> Result<PublicationRecord, StoreError> {
    // The next number is taken in the insert itself: SQLite has one writer, and on PostgreSQL
    // one instance owns a tenant at a time (the unique index catches anything else).
    const SQL: &str = "insert into ivr_publications \
        (tenant_id, version, digest, source, path, published_by, files, warnings, published_at) \
        select $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 \
        from ivr_publications where tenant_id = $1 returning version";
    let version: i64 = on_write!(store, p => sqlx::query_scalar(SQL)
        .bind(tenant.get())
        .bind(new.digest)
        .bind(new.source)
        .bind(new.path)
        .bind(new.published_by.map(|u| u.get()))
        .bind(new.files.to_string())
        .bind(new.warnings)
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique("a publication with this version")?;
    get_publication(store, tenant, version)
        .await?
        .map(|(record, _)| record)
        .ok_or(StoreError::NotFound)
}

/// The tenant's publications, newest first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_publications(
    store: &Store,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<PublicationRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        " from ivr_publications p left join users u on u.id = p.published_by \
         where p.tenant_id = $1 order by p.version desc limit $2"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(limit).fetch_all(p).await)?)
}

/// One publication with its files (`{path: text}` as JSON text).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn get_publication(
    store: &Store,
    tenant: TenantId,
    version: i64,
) -> Result<Option<(PublicationRecord, String)>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        columns!(),
        ", p.files from ivr_publications p left join users u on u.id = p.published_by \
         where p.tenant_id = $1 and p.version = $2"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: PublicationRecord,
        files: String,
    }
    let row: Option<Row> = on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(version)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(|r| (r.record, r.files)))
}
