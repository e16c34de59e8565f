//! Users (people who log in) and their memberships in tenants.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::{Email, Role, TenantId, UserId};

/// A person's account, without secrets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// User id.
    #[schema(value_type = i64)]
    pub id: UserId,
    /// Login email (lowercase).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Platform operator (manages tenants).
    pub is_operator: bool,
    /// False when the account is disabled platform-wide.
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last successful login (UTC).
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    is_operator: bool,
    active: bool,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            email: r.email,
            name: r.name,
            is_operator: r.is_operator,
            active: r.active,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        }
    }
}

macro_rules! user_columns {
    () => {
        "id, email, name, is_operator, active, created_at, last_login_at"
    };
}

/// A user with their password hash, for login only.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// PHC-format argon2id hash.
    pub password_hash: String,
}

/// A user as a member of one tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// User id.
    #[schema(value_type = i64)]
    pub id: UserId,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in this tenant.
    pub role: Role,
    /// False when deactivated in this tenant (or platform-wide).
    pub active: bool,
    /// When the user joined this tenant (UTC).
    pub created_at: DateTime<Utc>,
    /// Last successful login (UTC).
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    active: bool,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            id: UserId(r.id),
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            active: r.active,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        })
    }
}

// A member is active only when both the membership and the account are.
macro_rules! member_select {
    () => {
        "select u.id, u.email, u.name, m.role, (m.active and u.active) as active, \
     m.created_at, u.last_login_at from memberships m join users u on u.id = m.user_id"
    };
}

/// One of a user's tenants, with the role held there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Membership {
    /// Tenant id.
    #[schema(value_type = i64)]
    pub tenant_id: TenantId,
    /// Tenant display name.
    pub tenant_name: String,
    /// Tenant slug.
    pub tenant_slug: String,
    /// Role in that tenant.
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    tenant_id: i64,
    tenant_name: String,
    tenant_slug: String,
    role: String,
}

/// Creates an account. A taken email is a `Conflict`.
#[tracing::instrument(skip_all)]
pub async fn insert_user(
    store: &Store,
    email: &Email,
    name: &str,
    password_hash: &str,
    is_operator: bool,
) -> Result<User, StoreError> {
    let sql: &str = concat!(
        "insert into users (email, name, password_hash, is_operator, active, created_at, updated_at) \
         values ($1, $2, $3, $4, true, $5, $5) returning ",
        user_columns!()
    );
    let row: UserRow = on_write!(store, p => sqlx::query_as(sql)
        .bind(email.as_str())
        .bind(name)
        .bind(password_hash)
        .bind(is_operator)
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique("a user with this email")?;
    Ok(row.into())
}

/// An account by id.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn find_user(store: &Store, user: UserId) -> Result<Option<User>, StoreError> {
    let sql: &str = concat!("select ", user_columns!(), " from users where id = $1");
    let row: Option<UserRow> =
        on_pool!(store, p => sqlx::query_as(sql).bind(user.get()).fetch_optional(p).await)?;
    Ok(row.map(Into::into))
}

/// An account by email.
#[tracing::instrument(skip_all)]
pub async fn find_user_by_email(store: &Store, email: &Email) -> Result<Option<User>, StoreError> {
    Ok(find_credentials(store, email).await?.map(|c| c.user))
}

/// An account with its password hash, for login.
#[tracing::instrument(skip_all)]
pub async fn find_credentials(
    store: &Store,
    email: &Email,
) -> Result<Option<Credentials>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct CredentialsRow {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let sql: &str = concat!(
        "select ",
        user_columns!(),
        ", password_hash from users where email = $1"
    );
    let row: Option<CredentialsRow> =
        on_pool!(store, p => sqlx::query_as(sql).bind(email.as_str()).fetch_optional(p).await)?;
    Ok(row.map(|r| Credentials {
        user: r.user.into(),
        password_hash: r.password_hash,
    }))
}

/// The password hash of an account (for password change).
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn get_password_hash(store: &Store, user: UserId) -> Result<String, StoreError> {
    const SQL: &str = "select password_hash from users where id = $1";
    on_pool!(store, p => sqlx::query_scalar(SQL).bind(user.get()).fetch_optional(p).await)?
        .ok_or(StoreError::NotFound)
}

/// Every account, for the operator's CLI listing.
#[tracing::instrument(skip_all)]
pub async fn list_users(store: &Store) -> Result<Vec<User>, StoreError> {
    let sql: &str = concat!("select ", user_columns!(), " from users order by id");
    let rows: Vec<UserRow> = on_pool!(store, p => sqlx::query_as(sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Number of platform operators.
pub async fn count_operators(store: &Store) -> Result<i64, StoreError> {
    const SQL: &str = "select count(*) from users where is_operator = true";
    Ok(on_pool!(store, p => sqlx::query_scalar(SQL).fetch_one(p).await)?)
}

/// Replaces an account's password hash.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn set_password_hash(store: &Store, user: UserId, hash: &str) -> Result<(), StoreError> {
    const SQL: &str = "update users set password_hash = $2, updated_at = $3 where id = $1";
    let done = on_write!(store, p => sqlx::query(SQL).bind(user.get()).bind(hash).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records a successful login.
pub async fn touch_last_login(store: &Store, user: UserId) -> Result<(), StoreError> {
    const SQL: &str = "update users set last_login_at = $2 where id = $1";
    on_write!(store, p => sqlx::query(SQL).bind(user.get()).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Renames an account.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn update_user_name(store: &Store, user: UserId, name: &str) -> Result<(), StoreError> {
    const SQL: &str = "update users set name = $2, updated_at = $3 where id = $1";
    on_write!(store, p => sqlx::query(SQL).bind(user.get()).bind(name).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Enables or disables an account platform-wide.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn set_user_active(store: &Store, user: UserId, active: bool) -> Result<(), StoreError> {
    const SQL: &str = "update users set active = $2, updated_at = $3 where id = $1";
    let done = on_write!(store, p => sqlx::query(SQL).bind(user.get()).bind(active).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The live tenants a user belongs to (active memberships only), by tenant name.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn list_memberships(store: &Store, user: UserId) -> Result<Vec<Membership>, StoreError> {
    const SQL: &str = "select t.id as tenant_id, t.name as tenant_name, t.slug as tenant_slug, m.role \
                       from memberships m join tenants t on t.id = m.tenant_id \
                       where m.user_id = $1 and m.active = true and t.deleted_at is null order by t.name, t.id";
    let rows: Vec<MembershipRow> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(user.get()).fetch_all(p).await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Membership {
                tenant_id: TenantId(r.tenant_id),
                tenant_name: r.tenant_name,
                tenant_slug: r.tenant_slug,
                role: Role::parse(&r.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect()
}

/// Adds a user to a tenant. Already a member is a `Conflict`.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn insert_membership(
    store: &Store,
    tenant: TenantId,
    user: UserId,
    role: Role,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into memberships (tenant_id, user_id, role, active, created_at) values ($1, $2, $3, true, $4)";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(user.get())
        .bind(role.as_str())
        .bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))
    .on_unique("this user is already a member of the tenant")?;
    Ok(())
}

/// Members of a tenant in id order, after the cursor id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_members(
    store: &Store,
    tenant: TenantId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Member>, StoreError> {
    let sql: &str = concat!(
        member_select!(),
        " where m.tenant_id = $1 and u.id > $2 order by u.id limit $3"
    );
    let rows: Vec<MemberRow> = on_pool!(store, p => sqlx::query_as(sql)
        .bind(tenant.get())
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(p)
        .await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// One member of a tenant; `None` when the user is not in this tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn find_member(
    store: &Store,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Member>, StoreError> {
    let sql: &str = concat!(
        member_select!(),
        " where m.tenant_id = $1 and m.user_id = $2"
    );
    let row: Option<MemberRow> = on_pool!(store, p => sqlx::query_as(sql).bind(tenant.get()).bind(user.get()).fetch_optional(p).await)?;
    row.map(TryInto::try_into).transpose()
}

/// One member, or `NotFound`.
pub async fn get_member(
    store: &Store,
    tenant: TenantId,
    user: UserId,
) -> Result<Member, StoreError> {
    find_member(store, tenant, user)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Changes a member's role and/or active flag within one tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn update_membership(
    store: &Store,
    tenant: TenantId,
    user: UserId,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<(), StoreError> {
    const SQL: &str = "update memberships set role = coalesce($3, role), active = coalesce($4, active) \
                       where tenant_id = $1 and user_id = $2";
    let done = on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(user.get())
        .bind(role.map(Role::as_str))
        .bind(active)
        .execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes a user from a tenant (the account itself stays).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn delete_membership(
    store: &Store,
    tenant: TenantId,
    user: UserId,
) -> Result<(), StoreError> {
    const SQL: &str = "delete from memberships where tenant_id = $1 and user_id = $2";
    let done = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(user.get()).execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Active members of a tenant (what `max_agents` counts).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn count_active_members(store: &Store, tenant: TenantId) -> Result<i64, StoreError> {
    const SQL: &str = "select count(*) from memberships where tenant_id = $1 and active = true";
    Ok(on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).fetch_one(p).await)?)
}

/// Number of active owners of a tenant, so the last one cannot be removed.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn count_active_owners(store: &Store, tenant: TenantId) -> Result<i64, StoreError> {
    const SQL: &str = "select count(*) from memberships where tenant_id = $1 and active = true and role = 'owner'";
    Ok(on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).fetch_one(p).await)?)
}
