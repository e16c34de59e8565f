//! Login sessions behind the UI's cookie. Only a hash of the token is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Store, StoreError, on_pool, on_write};
use crate::domain::UserId;

/// A session as its owner sees it in the session list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SessionInfo {
    /// Session id (not the token).
    pub id: i64,
    /// Started (UTC).
    pub created_at: DateTime<Utc>,
    /// Ends (UTC).
    pub expires_at: DateTime<Utc>,
    /// Last request seen (UTC, updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Browser at login.
    pub user_agent: Option<String>,
}

/// A live session resolved from a cookie, with what the request needs about its user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    /// Session id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Token the client must echo in `X-CSRF-Token` on unsafe requests.
    pub csrf_token: String,
    /// Ends (UTC).
    pub expires_at: DateTime<Utc>,
    /// Revoked (UTC), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last request seen (UTC).
    pub last_seen_at: DateTime<Utc>,
    /// The owner's email.
    pub email: String,
    /// The owner is a platform operator.
    pub is_operator: bool,
    /// The owner's account is enabled.
    pub active: bool,
}

/// What is recorded when a session starts.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Owner.
    pub user: UserId,
    /// SHA-256 hex of the cookie token.
    pub token_hash: &'a str,
    /// CSRF token.
    pub csrf_token: &'a str,
    /// Ends.
    pub expires_at: DateTime<Utc>,
    /// Client address.
    pub ip: Option<&'a str>,
    /// Browser.
    pub user_agent: Option<&'a str>,
}

/// Starts a session; returns its id.
#[tracing::instrument(skip_all, fields(user.id = %s.user))]
pub async fn insert_session(store: &Store, s: NewSession<'_>) -> Result<i64, StoreError> {
    const SQL: &str = "insert into sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at, ip, user_agent) \
                       values ($1, $2, $3, $4, $5, $4, $6, $7) returning id";
    Ok(on_write!(store, p => sqlx::query_scalar(SQL)
        .bind(s.token_hash)
        .bind(s.user.get())
        .bind(s.csrf_token)
        .bind(Utc::now())
        .bind(s.expires_at)
        .bind(s.ip)
        .bind(s.user_agent)
        .fetch_one(p)
        .await)?)
}

/// The session a token hash belongs to, live or not (the caller checks expiry and revocation).
#[tracing::instrument(skip_all)]
pub async fn find_session(
    store: &Store,
    token_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    const SQL: &str = "select s.id, s.user_id, s.csrf_token, s.expires_at, s.revoked_at, s.last_seen_at, \
                       u.email, u.is_operator, u.active from sessions s join users u on u.id = s.user_id \
                       where s.token_hash = $1";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(token_hash).fetch_optional(p).await)?)
}

/// Records activity on a session.
pub async fn touch_session(store: &Store, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "update sessions set last_seen_at = $2 where id = $1";
    on_write!(store, p => sqlx::query(SQL).bind(id).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A user's live sessions, newest first.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn list_sessions(store: &Store, user: UserId) -> Result<Vec<SessionInfo>, StoreError> {
    const SQL: &str = "select id, created_at, expires_at, last_seen_at, ip, user_agent from sessions \
                       where user_id = $1 and revoked_at is null order by id desc";
    let all: Vec<SessionInfo> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(user.get()).fetch_all(p).await)?;
    let now = Utc::now();
    Ok(all.into_iter().filter(|s| s.expires_at > now).collect())
}

/// Revokes one of a user's sessions.
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn revoke_session(store: &Store, user: UserId, id: i64) -> Result<(), StoreError> {
    const SQL: &str =
        "update sessions set revoked_at = $3 where id = $1 and user_id = $2 and revoked_at is null";
    let done = on_write!(store, p => sqlx::query(SQL).bind(id).bind(user.get()).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Revokes every session of a user except `keep` (after a password change or deactivation).
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn revoke_user_sessions(
    store: &Store,
    user: UserId,
    keep: Option<i64>,
) -> Result<u64, StoreError> {
    const SQL: &str = "update sessions set revoked_at = $2 where user_id = $1 and revoked_at is null and id <> $3";
    let done = on_write!(store, p => sqlx::query(SQL)
        .bind(user.get())
        .bind(Utc::now())
        .bind(keep.unwrap_or(-1))
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
