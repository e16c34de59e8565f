//! Customers (contacts) and their identities on each channel.

use chrono::{DateTime, Utc};

use super::{BeginWrite, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A customer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ContactRecord {
    /// Contact id.
    pub id: i64,
    /// Name, when known.
    pub name: Option<String>,
    /// Email, when known.
    pub email: Option<String>,
    /// Phone (E.164), when known.
    pub phone: Option<String>,
    /// JSON metadata (pre-chat form answers, verified user id, …).
    pub metadata: String,
    /// First seen (UTC).
    pub created_at: DateTime<Utc>,
}

/// The contact known on `channel` as `external_id`, created (with its identity) on first sight.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, channel))]
pub async fn find_or_create_by_identity(
    store: &Store,
    tenant: TenantId,
    channel: &str,
    external_id: &str,
) -> Result<ContactRecord, StoreError> {
    const FIND: &str = "select c.id, c.name, c.email, c.phone, c.metadata, c.created_at from contact_identities i \
                        join contacts c on c.id = coalesce((select merged_into from contacts where id = i.contact_id), i.contact_id) \
                        where i.tenant_id = $1 and i.channel = $2 and i.external_id = $3";
    const NEW_CONTACT: &str = "insert into contacts (tenant_id, metadata, created_at, updated_at) values ($1, '{}', $2, $2) \
                               returning id, name, email, phone, metadata, created_at";
    const NEW_IDENTITY: &str = "insert into contact_identities (tenant_id, contact_id, channel, external_id, created_at) \
                                values ($1, $2, $3, $4, $5)";
    if let Some(c) = on_write!(store, p => sqlx::query_as(FIND).bind(tenant.get()).bind(channel).bind(external_id).fetch_optional(p).await)?
    {
        return Ok(c);
    }
    let created: Result<ContactRecord, sqlx::Error> = on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        let c: ContactRecord = sqlx::query_as(NEW_CONTACT).bind(tenant.get()).bind(Utc::now()).fetch_one(&mut *tx).await?;
        sqlx::query(NEW_IDENTITY)
            .bind(tenant.get())
            .bind(c.id)
            .bind(channel)
            .bind(external_id)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(c)
    }
    .await);
    match created {
        Ok(c) => Ok(c),
        // Two first messages raced: the other one created it.
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            on_write!(store, p => sqlx::query_as(FIND)
            .bind(tenant.get())
            .bind(channel)
            .bind(external_id)
            .fetch_optional(p)
            .await)?
            .ok_or(StoreError::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// The contact known on `channel` as `external_id`, if any.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, channel))]
pub async fn find_by_identity(
    store: &Store,
    tenant: TenantId,
    channel: &str,
    external_id: &str,
) -> Result<Option<ContactRecord>, StoreError> {
    const FIND: &str = "select c.id, c.name, c.email, c.phone, c.metadata, c.created_at from contact_identities i \
                        join contacts c on c.id = i.contact_id \
                        where i.tenant_id = $1 and i.channel = $2 and i.external_id = $3";
    Ok(
        on_pool!(store, p => sqlx::query_as(FIND).bind(tenant.get()).bind(channel).bind(external_id).fetch_optional(p).await)?,
    )
}

/// What a contact's details change to; `None` keeps the stored value.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContactDetails<'a> {
    /// Display name.
    pub name: Option<&'a str>,
    /// Email.
    pub email: Option<&'a str>,
    /// E.164 phone number (calls from it show this contact).
    pub phone: Option<&'a str>,
    /// Free-form metadata.
    pub metadata: Option<&'a serde_json::Value>,
}

/// The customer a phone number belongs to: the contact with that phone (a verified widget
/// user's), or one known by it on SMS, WhatsApp (whose ids are the number without `+`) or
/// voice; merged contacts followed, the oldest contact first.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_by_phone(
    store: &Store,
    tenant: TenantId,
    e164: &str,
) -> Result<Option<ContactRecord>, StoreError> {
    const SQL: &str = "select c.id, c.name, c.email, c.phone, c.metadata, c.created_at from contacts c \
                       where c.tenant_id = $1 and c.merged_into is null and c.id in ( \
                       select coalesce(k.merged_into, k.id) from contacts k where k.tenant_id = $1 and k.phone = $2 \
                       union all \
                       select coalesce(m.merged_into, m.id) from contact_identities i \
                       join contacts m on m.id = i.contact_id and m.tenant_id = $1 \
                       where i.tenant_id = $1 and i.channel in ('voice', 'sms', 'whatsapp') and i.external_id in ($2, $3)) \
                       order by c.id limit 1";
    let digits = e164.trim_start_matches('+');
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(e164).bind(digits).fetch_optional(p).await)?,
    )
}

/// Records that `contact` is also known on `channel` as `external_id` (no-op when that
/// identity already exists, whoever it points to).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, channel))]
pub async fn add_identity(
    store: &Store,
    tenant: TenantId,
    contact: i64,
    channel: &str,
    external_id: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into contact_identities (tenant_id, contact_id, channel, external_id, created_at) \
                       values ($1, $2, $3, $4, $5) on conflict (tenant_id, channel, external_id) do nothing";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(contact)
        .bind(channel)
        .bind(external_id)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// One contact.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_contact(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ContactRecord>, StoreError> {
    const SQL: &str = "select id, name, email, phone, metadata, created_at from contacts where tenant_id = $1 and id = $2";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// Fills in what the customer told us (pre-chat form, verified identity). `None` keeps a field.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_contact_details(
    store: &Store,
    tenant: TenantId,
    id: i64,
    details: &ContactDetails<'_>,
) -> Result<(), StoreError> {
    const SQL: &str = "update contacts set name = coalesce($3, name), email = coalesce($4, email), \
                       metadata = coalesce($5, metadata), phone = coalesce($7, phone), updated_at = $6 \
                       where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(details.name)
        .bind(details.email)
        .bind(details.metadata.map(|m| m.to_string()))
        .bind(Utc::now())
        .bind(details.phone)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The channels a contact is known on: (channel, external id).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_identities(
    store: &Store,
    tenant: TenantId,
    contact: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    const SQL: &str = "select channel, external_id from contact_identities where tenant_id = $1 and contact_id = $2 order by id";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(contact).fetch_all(p).await)?,
    )
}

/// Merges contact `from` into `into`: identities, conversations and tickets move over, the
/// missing name and email are filled in, and `from` is left pointing at `into`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn merge_contacts(
    store: &Store,
    tenant: TenantId,
    from: i64,
    into: i64,
) -> Result<(), StoreError> {
    const BOTH: &str = "select count(*) from contacts where tenant_id = $1 and id in ($2, $3) and merged_into is null";
    const IDS: &str =
        "update contact_identities set contact_id = $3 where tenant_id = $1 and contact_id = $2";
    const CONVS: &str =
        "update conversations set contact_id = $3 where tenant_id = $1 and contact_id = $2";
    const TICKETS: &str =
        "update tickets set contact_id = $3 where tenant_id = $1 and contact_id = $2";
    const FILL: &str = "update contacts set name = coalesce(name, (select name from contacts where id = $2)), \
                        email = coalesce(email, (select email from contacts where id = $2)), \
                        phone = coalesce(phone, (select phone from contacts where id = $2)), updated_at = $4 \
                        where tenant_id = $1 and id = $3";
    const MARK: &str =
        "update contacts set merged_into = $3, updated_at = $4 where tenant_id = $1 and id = $2";
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        let n: i64 = sqlx::query_scalar(BOTH).bind(tenant.get()).bind(from).bind(into).fetch_one(&mut *tx).await?;
        if n != 2 {
            return Err(StoreError::NotFound);
        }
        let now = Utc::now();
        for sql in [IDS, CONVS, TICKETS] {
            sqlx::query(sql).bind(tenant.get()).bind(from).bind(into).execute(&mut *tx).await?;
        }
        for sql in [FILL, MARK] {
            sqlx::query(sql).bind(tenant.get()).bind(from).bind(into).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await)
}
