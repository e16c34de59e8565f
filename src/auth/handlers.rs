//! `/api/v1/auth/*` and `/api/v1/me*`: login, logout, the caller's profile, password, sessions.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::password::{check_password_policy, decoy_hash};
use super::{SESSION_COOKIE, SignedIn, hash_password, hash_token, new_token, verify_password};
use crate::app::AppState;
use crate::domain::{Email, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store::sessions::{NewSession, SessionInfo};
use crate::store::users::{Membership, User};
use crate::store::{self, Store};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// The signed-in user, their tenants and roles, and the CSRF token for unsafe requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The user.
    pub user: User,
    /// Tenants the user may enter.
    pub memberships: Vec<Membership>,
    /// Send as `X-CSRF-Token` on POST, PUT, PATCH and DELETE.
    pub csrf_token: String,
}

/// The client's address as the socket saw it (`unknown` when served without connect info).
struct ClientIp(String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

fn invalid_credentials() -> ApiError {
    // Same words whether the email exists or not.
    ApiError::Unauthenticated {
        code: "invalid_credentials",
        message: "email or password is incorrect".into(),
    }
}

async fn verify_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Signs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many failed attempts; see Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = Email::parse(&req.email)?;
    if let Some(wait) = state.throttle.check(email.as_str(), &ip, Instant::now()) {
        return Err(ApiError::RateLimited {
            retry_after_secs: wait,
        });
    }
    let creds = store::users::find_credentials(&state.store, &email).await?;
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let ok = verify_blocking(req.password, hash).await && creds.is_some();
    let Some(creds) = creds.filter(|_| ok) else {
        state.throttle.failed(email.as_str(), &ip, Instant::now());
        tracing::info!(client.ip = %ip, "failed login");
        return Err(invalid_credentials());
    };
    state.throttle.succeeded(email.as_str());
    let user = creds.user;
    if !user.active {
        return Err(ApiError::Status {
            status: StatusCode::FORBIDDEN,
            code: "account_disabled",
            message: "this account is disabled; ask your administrator".into(),
        });
    }
    let memberships = store::users::list_memberships(&state.store, user.id).await?;
    if memberships.is_empty() && !user.is_operator {
        return Err(ApiError::Status {
            status: StatusCode::FORBIDDEN,
            code: "no_tenant",
            message: "your account has no active access to any tenant; ask your administrator"
                .into(),
        });
    }
    let token = new_token();
    let csrf_token = new_token();
    let ttl = chrono::Duration::hours(state.config.auth.session_ttl_hours);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect::<String>());
    store::sessions::insert_session(
        &state.store,
        NewSession {
            user: user.id,
            token_hash: &hash_token(&token),
            csrf_token: &csrf_token,
            expires_at: Utc::now() + ttl,
            ip: Some(&ip),
            user_agent: user_agent.as_deref(),
        },
    )
    .await?;
    store::users::touch_last_login(&state.store, user.id).await?;
    let user = User {
        last_login_at: Some(Utc::now()),
        ..user
    };
    tracing::info!(user.id = %user.id, "signed in");
    let cookie = session_cookie(&token, ttl.num_seconds(), state.config.auth.cookie_secure);
    let body = MeResponse {
        user,
        memberships,
        csrf_token,
    };
    Ok(([(header::SET_COOKIE, cookie)], AppJson(body)).into_response())
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, token.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Ends the current session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, me: SignedIn) -> ApiResult<Response> {
    store::sessions::revoke_session(&state.store, me.id, me.session_id).await?;
    let cleared = session_cookie("", 0, state.config.auth.cookie_secure);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response())
}

async fn me_response(store: &Store, id: UserId, csrf_token: String) -> ApiResult<MeResponse> {
    let user = store::users::find_user(store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let memberships = store::users::list_memberships(store, id).await?;
    Ok(MeResponse {
        user,
        memberships,
        csrf_token,
    })
}

/// The signed-in user, their tenants and roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, me: SignedIn) -> ApiResult<AppJson<MeResponse>> {
    Ok(AppJson(
        me_response(&state.store, me.id, me.csrf_token).await?,
    ))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The new password (at least 10 characters).
    pub new_password: String,
}

/// Changes the caller's password and signs out their other sessions.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    me: SignedIn,
    AppJson(req): AppJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    check_password_policy("new_password", &req.new_password)?;
    let hash = store::users::get_password_hash(&state.store, me.id).await?;
    if !verify_blocking(req.current_password, hash).await {
        return Err(ApiError::Unauthenticated {
            code: "invalid_credentials",
            message: "current_password is incorrect".into(),
        });
    }
    let new_hash = tokio::task::spawn_blocking(move || hash_password(&req.new_password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    store::users::set_password_hash(&state.store, me.id, &new_hash).await?;
    store::sessions::revoke_user_sessions(&state.store, me.id, Some(me.session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Sessions, newest first.
    pub items: Vec<SessionInfo>,
    /// The id of the session making this request.
    pub current: i64,
}

/// Lists the caller's live sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth",
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<AppJson<SessionList>> {
    let items = store::sessions::list_sessions(&state.store, me.id).await?;
    Ok(AppJson(SessionList {
        items,
        current: me.session_id,
    }))
}

/// Revokes one of the caller's sessions (sign out elsewhere).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth",
    params(("id" = i64, Path, description = "session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_session(
    State(state): State<AppState>,
    me: SignedIn,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    store::sessions::revoke_session(&state.store, me.id, id)
        .await
        .map_err(ApiError::missing("session"))?;
    Ok(StatusCode::NO_CONTENT)
}
