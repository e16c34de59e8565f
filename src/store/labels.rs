//! Labels a tenant puts on conversations (billing, vip, bug…).

use super::{BeginWrite, ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A label.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Label {
    /// Label id.
    pub id: i64,
    /// Name, unique in the tenant.
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
}

/// A tenant's labels by name.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_labels(store: &Store, tenant: TenantId) -> Result<Vec<Label>, StoreError> {
    const SQL: &str = "select id, name, colour from labels where tenant_id = $1 order by name";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

/// Creates a label; a taken name is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_label(
    store: &Store,
    tenant: TenantId,
    name: &str,
    colour: &str,
) -> Result<Label, StoreError> {
    const SQL: &str = "insert into labels (tenant_id, name, colour) values ($1, $2, $3) returning id, name, colour";
    on_write!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(name).bind(colour).fetch_one(p).await)
        .on_unique("a label with this name")
}

/// Deletes a label (it comes off every conversation).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn delete_label(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from labels where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Replaces a conversation's labels. A label of another tenant (or none) fails it all (`NotFound`).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn set_conversation_labels(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    labels: &[i64],
) -> Result<(), StoreError> {
    const OWN: &str = "select count(*) from labels where tenant_id = $1 and id = $2";
    const CONV: &str = "select count(*) from conversations where tenant_id = $1 and id = $2";
    const CLEAR: &str = "delete from conversation_labels where conversation_id = $1";
    const ADD: &str = "insert into conversation_labels (conversation_id, label_id) values ($1, $2) on conflict do nothing";
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        let n: i64 = sqlx::query_scalar(CONV).bind(tenant.get()).bind(conversation).fetch_one(&mut *tx).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(CLEAR).bind(conversation).execute(&mut *tx).await?;
        for l in labels {
            let own: i64 = sqlx::query_scalar(OWN).bind(tenant.get()).bind(l).fetch_one(&mut *tx).await?;
            if own == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(ADD).bind(conversation).bind(l).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await)
}

/// A conversation's labels by name.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn labels_of(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
) -> Result<Vec<Label>, StoreError> {
    const SQL: &str = "select l.id, l.name, l.colour from conversation_labels cl join labels l on l.id = cl.label_id \
                       where l.tenant_id = $1 and cl.conversation_id = $2 order by l.name";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(conversation).fetch_all(p).await)?,
    )
}
