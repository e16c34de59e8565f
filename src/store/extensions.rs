//! Extensions (agents' SIP phones) of a tenant, with their sealed SIP password and the outcome
//! of the last push to Asterisk. Validation lives in the API; the store keeps what it is given.

use chrono::{DateTime, Utc};

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A stored extension.
#[derive(Debug, Clone)]
pub struct ExtensionRecord {
    /// Extension id.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// 2–10 digits, unique in the tenant.
    pub number: String,
    /// Shown as the caller's name.
    pub display_name: String,
    /// The agent using the phone; `None` when unassigned or no longer a member.
    pub user_id: Option<i64>,
    /// That agent's name, for lists.
    pub user_name: Option<String>,
    /// The SIP password sealed with the master key.
    pub sealed_password: String,
    /// Codec names in preference order.
    pub codecs: Vec<String>,
    /// NAT traversal options on.
    pub nat: bool,
    /// Simultaneous calls before the phone reads busy.
    pub call_limit: i64,
    /// Voicemail box, if any.
    pub voicemail_box: Option<String>,
    /// Where calls go instead (E.164 or an extension).
    pub forward_to: Option<String>,
    /// Do not disturb.
    pub dnd: bool,
    /// Off: removed from Asterisk, the phone cannot register.
    pub enabled: bool,
    /// Last successful push to Asterisk.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// Why the last push failed, if it did.
    pub provision_error: Option<String>,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

/// The fields an admin sets, on create and on every change.
#[derive(Debug, Clone)]
pub struct ExtensionFields {
    /// 2–10 digits.
    pub number: String,
    /// Caller name.
    pub display_name: String,
    /// A member of the tenant, or none.
    pub user_id: Option<i64>,
    /// Codec names in preference order.
    pub codecs: Vec<String>,
    /// NAT options on.
    pub nat: bool,
    /// 1–10.
    pub call_limit: i64,
    /// Voicemail box.
    pub voicemail_box: Option<String>,
    /// Forwarding target.
    pub forward_to: Option<String>,
    /// Do not disturb.
    pub dnd: bool,
    /// Provisioned or not.
    pub enabled: bool,
}

#[derive(sqlx::FromRow)]
struct ExtensionRow {
    id: i64,
    tenant_id: i64,
    number: String,
    display_name: String,
    user_id: Option<i64>,
    user_name: Option<String>,
    sip_password: String,
    codecs: String,
    nat: bool,
    call_limit: i64,
    voicemail_box: Option<String>,
    forward_to: Option<String>,
    dnd: bool,
    enabled: bool,
    provisioned_at: Option<DateTime<Utc>>,
    provision_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ExtensionRow> for ExtensionRecord {
    type Error = StoreError;
    fn try_from(r: ExtensionRow) -> Result<Self, StoreError> {
        Ok(ExtensionRecord {
            id: r.id,
            tenant_id: TenantId(r.tenant_id),
            number: r.number,
            display_name: r.display_name,
            user_id: r.user_id,
            user_name: r.user_name,
            sealed_password: r.sip_password,
            codecs: serde_json::from_str(&r.codecs)
                .map_err(|e| StoreError::Corrupt(format!("extension codecs: {e}")))?,
            nat: r.nat,
            call_limit: r.call_limit,
            voicemail_box: r.voicemail_box,
            forward_to: r.forward_to,
            dnd: r.dnd,
            enabled: r.enabled,
            provisioned_at: r.provisioned_at,
            provision_error: r.provision_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

// The agent shows only while still a member of the tenant: removing a member leaves the
// extension in place (its phone keeps working) but unassigned.
macro_rules! select {
    () => {
        "select e.id, e.tenant_id, e.number, e.display_name, \
     case when m.user_id is null then null else e.user_id end as user_id, u.name as user_name, \
     e.sip_password, e.codecs, e.nat, e.call_limit, e.voicemail_box, e.forward_to, e.dnd, e.enabled, \
     e.provisioned_at, e.provision_error, e.created_at, e.updated_at \
     from extensions e \
     left join memberships m on m.tenant_id = e.tenant_id and m.user_id = e.user_id \
     left join users u on u.id = m.user_id"
    };
}

const TAKEN: &str = "an extension with this number";

/// Creates an extension. A taken number is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_extension(
    store: &Store,
    tenant: TenantId,
    f: &ExtensionFields,
    sealed_password: &str,
) -> Result<ExtensionRecord, StoreError> {
    const SQL: &str = "insert into extensions (tenant_id, number, display_name, user_id, sip_password, codecs, \
                       nat, call_limit, voicemail_box, forward_to, dnd, enabled, created_at, updated_at) \
                       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) returning id";
    let codecs =
        serde_json::to_string(&f.codecs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id: i64 = on_write!(store, p => sqlx::query_scalar(SQL)
        .bind(tenant.get())
        .bind(&f.number)
        .bind(&f.display_name)
        .bind(f.user_id)
        .bind(sealed_password)
        .bind(&codecs)
        .bind(f.nat)
        .bind(f.call_limit)
        .bind(&f.voicemail_box)
        .bind(&f.forward_to)
        .bind(f.dnd)
        .bind(f.enabled)
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique(TAKEN)?;
    store.caches.extensions.forget(tenant);
    get_extension(store, tenant, id).await
}

/// One extension of the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, extension.id = id))]
pub async fn find_extension(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ExtensionRecord>, StoreError> {
    const SQL: &str = concat!(select!(), " where e.tenant_id = $1 and e.id = $2");
    let row: Option<ExtensionRow> = on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?;
    row.map(TryInto::try_into).transpose()
}

/// One extension, or `NotFound`.
pub async fn get_extension(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<ExtensionRecord, StoreError> {
    find_extension(store, tenant, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The extension with this number in the tenant (forwarding targets).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_extension_by_number(
    store: &Store,
    tenant: TenantId,
    number: &str,
) -> Result<Option<ExtensionRecord>, StoreError> {
    const SQL: &str = concat!(select!(), " where e.tenant_id = $1 and e.number = $2");
    let row: Option<ExtensionRow> = on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(number).fetch_optional(p).await)?;
    row.map(TryInto::try_into).transpose()
}

/// Every extension of a tenant, by number.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_extensions(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<ExtensionRecord>, StoreError> {
    // Numbers are digit strings of different lengths: order by length first so 99 comes before 100.
    const SQL: &str = concat!(
        select!(),
        " where e.tenant_id = $1 order by length(e.number), e.number"
    );
    let rows: Vec<ExtensionRow> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// `list_extensions` for the call path (each offer looks up the agent's phone): a copy at most
/// a couple of seconds old, forgotten at once by this store's own writes (see `cache`).
pub async fn list_extensions_cached(
    store: &Store,
    tenant: TenantId,
) -> Result<std::sync::Arc<Vec<ExtensionRecord>>, StoreError> {
    store
        .caches
        .extensions
        .get_or_load(tenant, list_extensions(store, tenant))
        .await
}

/// Every enabled extension of every live tenant with the tenant's slug, for re-pushing them
/// all to Asterisk at start. Deliberately not tenant-scoped: one Asterisk serves every tenant,
/// and the caller is the service itself, never a request.
#[tracing::instrument(skip_all)]
pub async fn list_enabled_for_provisioning(
    store: &Store,
) -> Result<Vec<(String, ExtensionRecord)>, StoreError> {
    const SQL: &str = "select t.slug, e.tenant_id, e.id from extensions e join tenants t on t.id = e.tenant_id \
                       where e.enabled and t.deleted_at is null order by e.tenant_id, e.id";
    let rows: Vec<(String, i64, i64)> =
        on_pool!(store, p => sqlx::query_as(SQL).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (slug, tenant, id) in rows {
        if let Some(r) = find_extension(store, TenantId(tenant), id).await? {
            out.push((slug, r));
        }
    }
    Ok(out)
}

/// The tenant slug and number of every enabled extension of every live tenant, for following
/// their phones' device state in Asterisk. Deliberately not tenant-scoped, as
/// [`list_enabled_for_provisioning`]: one Asterisk serves every tenant, and the caller is the
/// service itself, never a request.
#[tracing::instrument(skip_all)]
pub async fn list_enabled_phones(store: &Store) -> Result<Vec<(String, String)>, StoreError> {
    const SQL: &str = "select t.slug, e.number from extensions e join tenants t on t.id = e.tenant_id \
                       where e.enabled and t.deleted_at is null order by t.slug, e.number";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// Replaces the admin-set fields. A taken number is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, extension.id = id))]
pub async fn update_extension(
    store: &Store,
    tenant: TenantId,
    id: i64,
    f: &ExtensionFields,
) -> Result<ExtensionRecord, StoreError> {
    const SQL: &str = "update extensions set number = $3, display_name = $4, user_id = $5, codecs = $6, nat = $7, \
                       call_limit = $8, voicemail_box = $9, forward_to = $10, dnd = $11, enabled = $12, updated_at = $13 \
                       where tenant_id = $1 and id = $2";
    let codecs =
        serde_json::to_string(&f.codecs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let done = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(&f.number)
        .bind(&f.display_name)
        .bind(f.user_id)
        .bind(&codecs)
        .bind(f.nat)
        .bind(f.call_limit)
        .bind(&f.voicemail_box)
        .bind(&f.forward_to)
        .bind(f.dnd)
        .bind(f.enabled)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .on_unique(TAKEN)?;
    store.caches.extensions.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    get_extension(store, tenant, id).await
}

/// Replaces the sealed SIP password.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, extension.id = id))]
pub async fn set_password(
    store: &Store,
    tenant: TenantId,
    id: i64,
    sealed_password: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "update extensions set sip_password = $3, updated_at = $4 where tenant_id = $1 and id = $2";
    let done = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(sealed_password)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    store.caches.extensions.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records the outcome of a push: `Ok(at)` a success at that time (clearing the error),
/// `Err(why)` a failure (the last success stays, so admins see since when it is stale).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, extension.id = id))]
pub async fn record_provisioning(
    store: &Store,
    tenant: TenantId,
    id: i64,
    outcome: Result<Option<DateTime<Utc>>, &str>,
) -> Result<(), StoreError> {
    const OK: &str = "update extensions set provisioned_at = $3, provision_error = null where tenant_id = $1 and id = $2";
    const FAILED: &str =
        "update extensions set provision_error = $3 where tenant_id = $1 and id = $2";
    let done = match outcome {
        Ok(at) => on_write!(store, p => sqlx::query(OK)
            .bind(tenant.get())
            .bind(id)
            .bind(at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        Err(why) => on_write!(store, p => sqlx::query(FAILED)
            .bind(tenant.get())
            .bind(id)
            .bind(why)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
    };
    store.caches.extensions.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes an extension.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, extension.id = id))]
pub async fn delete_extension(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from extensions where tenant_id = $1 and id = $2";
    let done = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    store.caches.extensions.forget(tenant);
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
