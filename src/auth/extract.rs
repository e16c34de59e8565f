//! Authorization extractors: the single place where credentials are checked and roles enforced.

use std::marker::PhantomData;
use std::time::Duration;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use chrono::Utc;
use subtle::ConstantTimeEq;

use super::{CSRF_HEADER, SESSION_COOKIE, hash_token};
use crate::app::AppState;
use crate::domain::{Role, TenantId, UserId};
use crate::http::error::ApiError;
use crate::store::api_keys::ApiKey;
use crate::store::audit::Actor;
use crate::store::tenants::Tenant;
use crate::store::{self};

// Activity timestamps are refreshed at most this often, to keep reads from turning into writes.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Who is making the request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person signed in through the UI (cookie session).
    User {
        /// The user.
        id: UserId,
        /// Their email.
        email: String,
        /// Platform operator.
        is_operator: bool,
        /// The session used.
        session_id: i64,
        /// The session's CSRF token.
        csrf_token: String,
    },
    /// A tenant API key (`Authorization: Bearer sbk_…`).
    ApiKey(ApiKey),
}

impl Principal {
    /// How the audit log names this caller.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { id, email, .. } => Actor {
                user: Some(*id),
                label: email.clone(),
            },
            Principal::ApiKey(k) => Actor {
                user: None,
                label: format!("api-key:{}", k.name),
            },
        }
    }

    /// The user id, for a person.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Principal::User { id, .. } => Some(*id),
            Principal::ApiKey(_) => None,
        }
    }

    /// True for a platform operator.
    pub fn is_operator(&self) -> bool {
        matches!(
            self,
            Principal::User {
                is_operator: true,
                ..
            }
        )
    }
}

fn unauthenticated(code: &'static str, message: &str) -> ApiError {
    ApiError::Unauthenticated {
        code,
        message: message.to_owned(),
    }
}

/// Any valid credentials: a live session cookie (with CSRF on unsafe methods) or a live API key.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Self(p.clone()));
        }
        let principal = if let Some(secret) = bearer_token(parts) {
            let key = store::api_keys::find_live_api_key(&state.store, &hash_token(secret))
                .await?
                .ok_or_else(|| {
                    unauthenticated("invalid_api_key", "the API key is unknown or revoked")
                })?;
            let stale = key
                .last_used_at
                .is_none_or(|t| (Utc::now() - t).to_std().unwrap_or_default() > TOUCH_EVERY);
            if stale {
                store::api_keys::touch_api_key(&state.store, key.id).await?;
            }
            Principal::ApiKey(key)
        } else if let Some(token) = session_cookie(parts) {
            let s = store::sessions::find_session(&state.store, &hash_token(&token))
                .await?
                .filter(|s| s.revoked_at.is_none() && s.expires_at > Utc::now() && s.active)
                .ok_or_else(|| {
                    unauthenticated("session_expired", "your session has ended; sign in again")
                })?;
            if !is_safe(&parts.method) {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .map(|v| v.as_bytes())
                    .unwrap_or_default();
                if !bool::from(sent.ct_eq(s.csrf_token.as_bytes())) {
                    return Err(ApiError::Status {
                        status: StatusCode::FORBIDDEN,
                        code: "csrf_failed",
                        message: format!("missing or wrong `{CSRF_HEADER}` header"),
                    });
                }
            }
            if (Utc::now() - s.last_seen_at).to_std().unwrap_or_default() > TOUCH_EVERY {
                store::sessions::touch_session(&state.store, s.id).await?;
            }
            Principal::User {
                id: UserId(s.user_id),
                email: s.email,
                is_operator: s.is_operator,
                session_id: s.id,
                csrf_token: s.csrf_token,
            }
        } else {
            return Err(unauthenticated(
                "unauthenticated",
                "sign in or send an API key",
            ));
        };
        parts.extensions.insert(principal.clone());
        Ok(Self(principal))
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// A person signed in with a session (API keys are refused with 403).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub id: UserId,
    /// Their email.
    pub email: String,
    /// Platform operator.
    pub is_operator: bool,
    /// The session in use.
    pub session_id: i64,
    /// The session's CSRF token.
    pub csrf_token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Authenticated::from_request_parts(parts, state).await?.0 {
            Principal::User {
                id,
                email,
                is_operator,
                session_id,
                csrf_token,
            } => Ok(SignedIn {
                id,
                email,
                is_operator,
                session_id,
                csrf_token,
            }),
            Principal::ApiKey(_) => Err(ApiError::forbidden(
                "this endpoint is for signed-in people, not API keys",
            )),
        }
    }
}

/// A signed-in platform operator.
#[derive(Debug, Clone)]
pub struct Operator(pub Principal);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(p) = Authenticated::from_request_parts(parts, state).await?;
        if p.is_operator() {
            Ok(Operator(p))
        } else {
            Err(ApiError::forbidden("only platform operators may do this"))
        }
    }
}

/// The least role an endpoint accepts.
pub trait MinRole: Send + Sync + 'static {
    /// That role.
    const MIN: Role;
}

/// Any member of the tenant.
#[derive(Debug)]
pub struct AnyMember;
/// Supervisors, admins and owners.
#[derive(Debug)]
pub struct Supervisor;
/// Admins and owners.
#[derive(Debug)]
pub struct Admin;
/// Owners only.
#[derive(Debug)]
pub struct Owner;

impl MinRole for AnyMember {
    const MIN: Role = Role::Agent;
}
impl MinRole for Supervisor {
    const MIN: Role = Role::Supervisor;
}
impl MinRole for Admin {
    const MIN: Role = Role::Admin;
}
impl MinRole for Owner {
    const MIN: Role = Role::Owner;
}

/// The tenant named by the `{tid}` path segment, entered with at least role `R`.
///
/// A caller with no access to that tenant gets 404, exactly as for a tenant that does not
/// exist, so ids of other tenants reveal nothing. Platform operators act as owners.
#[derive(Debug)]
pub struct TenantScope<R> {
    /// The tenant.
    pub tenant: Tenant,
    /// The caller's effective role there.
    pub role: Role,
    /// The caller.
    pub principal: Principal,
    _min: PhantomData<R>,
}

impl<R> TenantScope<R> {
    /// The tenant id.
    pub fn id(&self) -> TenantId {
        self.tenant.id
    }

    /// The caller as the audit log names it.
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }
}

impl<R: MinRole> FromRequestParts<AppState> for TenantScope<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_path",
                message: e.body_text(),
            })?;
        let tid = params
            .iter()
            .find(|(k, _)| *k == "tid")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .map(TenantId)
            .ok_or_else(|| ApiError::not_found("tenant"))?;
        let (tenant, role) = enter_tenant(state, &principal, tid).await?;
        if role < R::MIN {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role or higher",
                R::MIN
            )));
        }
        Ok(TenantScope {
            tenant,
            role,
            principal,
            _min: PhantomData,
        })
    }
}

/// The tenant `tid` and the caller's effective role in it, or 404 when the caller has no
/// access (indistinguishable from a tenant that does not exist). Operators act as owners.
pub async fn enter_tenant(
    state: &AppState,
    principal: &Principal,
    tid: TenantId,
) -> Result<(Tenant, Role), ApiError> {
    let tenant = store::tenants::find_tenant(&state.store, tid)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let role = match principal {
        Principal::User {
            is_operator: true, ..
        } => Some(Role::Owner),
        Principal::User { id, .. } => store::users::find_member(&state.store, tid, *id)
            .await?
            .filter(|m| m.active)
            .map(|m| m.role),
        Principal::ApiKey(k) => (k.tenant_id == tid).then(|| k.role.into()),
    };
    let role = role.ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok((tenant, role))
}
