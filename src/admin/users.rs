//! `/api/v1/tenants/{tid}/users`: members of a tenant and their roles.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use super::tenants::check_name;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope, check_password_policy, generate_password, hash_password};
use crate::domain::{Email, Role, TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery, Page, PageParams};
use crate::store::audit::Actor;
use crate::store::users::Member;
use crate::store::{self, Store, StoreError, clamp_limit};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, remove_user))
        .routes(routes!(reset_password))
}

/// A person to add to the tenant. An email that already has an account adds that account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Login email.
    pub email: String,
    /// Display name (ignored when the account exists).
    pub name: String,
    /// Role in this tenant.
    pub role: Role,
    /// Initial password (at least 10 characters); generated and returned once when omitted.
    pub password: Option<String>,
}

/// The added member and, when one was generated, their initial password (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMember {
    /// The member.
    pub user: Member,
    /// Generated password, or null.
    pub generated_password: Option<String>,
}

/// Changes to a member; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// New display name.
    pub name: Option<String>,
    /// New role in this tenant.
    pub role: Option<Role>,
    /// Activate or deactivate in this tenant.
    pub active: Option<bool>,
}

/// Optional password for a reset; generated when omitted.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The new password (at least 10 characters).
    pub password: Option<String>,
}

/// The new password, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewPassword {
    /// The password to hand to the user.
    pub password: String,
}

fn not_member() -> ApiError {
    ApiError::not_found("user")
}

async fn hash_blocking(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Refuses when the tenant's member limit is reached.
async fn check_seat_available(
    store: &Store,
    tenant: &crate::store::tenants::Tenant,
) -> ApiResult<()> {
    let max = tenant.limits.max_agents;
    if max > 0 && store::users::count_active_members(store, tenant.id).await? >= max {
        let noun = if max == 1 { "member" } else { "members" };
        return Err(ApiError::LimitReached(format!(
            "this tenant may have at most {max} active {noun}"
        )));
    }
    Ok(())
}

/// Adds a person to a tenant, creating the account when the email is new. Shared with the CLI
/// and the demo seed so every path enforces the same limits. Returns the member and the
/// generated password (when one was generated for a new account).
pub async fn add_member(
    store: &Store,
    tenant: &crate::store::tenants::Tenant,
    req: NewMember,
) -> ApiResult<(Member, Option<String>)> {
    let email = Email::parse(&req.email)?;
    let name = check_name("name", &req.name)?;
    check_seat_available(store, tenant).await?;
    let (user_id, generated) = match store::users::find_user_by_email(store, &email).await? {
        Some(existing) => (existing.id, None),
        None => {
            let (password, generated) = match req.password {
                Some(p) => {
                    check_password_policy("password", &p)?;
                    (p, None)
                }
                None => {
                    let p = generate_password();
                    (p.clone(), Some(p))
                }
            };
            let hash = hash_blocking(password).await?;
            (
                store::users::insert_user(store, &email, &name, &hash, false)
                    .await?
                    .id,
                generated,
            )
        }
    };
    store::users::insert_membership(store, tenant.id, user_id, req.role)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::conflict("this person is already a member of the tenant")
            }
            other => other.into(),
        })?;
    Ok((
        store::users::get_member(store, tenant.id, user_id).await?,
        generated,
    ))
}

/// Lists the tenant's members.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/users", tag = "users",
    params(("tid" = i64, Path, description = "tenant id"), PageParams),
    responses((status = 200, body = Page<Member>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(page): AppQuery<PageParams>,
) -> ApiResult<AppJson<Page<Member>>> {
    let limit = clamp_limit(page.limit);
    let items =
        store::users::list_members(&state.store, scope.id(), page.cursor_id()?, limit).await?;
    Ok(AppJson(Page::new(items, limit, |m| m.id.get())))
}

/// Adds a member (creating the account if the email is new).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/users", tag = "users", request_body = NewMember,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = CreatedMember), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "validation or limit_reached")))]
async fn create_user(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewMember>,
) -> ApiResult<(StatusCode, AppJson<CreatedMember>)> {
    if req.role > scope.role {
        return Err(ApiError::forbidden(format!(
            "you cannot grant the {} role",
            req.role
        )));
    }
    let (member, generated_password) = add_member(&state.store, &scope.tenant, req).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "user.create",
        "user",
        member.id,
        json!({"email": member.email, "role": member.role}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(CreatedMember {
            user: member,
            generated_password,
        }),
    ))
}

async fn member_of(store: &Store, tenant: TenantId, uid: i64) -> ApiResult<Member> {
    store::users::find_member(store, tenant, UserId(uid))
        .await?
        .ok_or_else(not_member)
}

/// Refuses to act on someone with a higher role than the caller's.
fn check_outranks(scope: &TenantScope<Admin>, target: &Member) -> ApiResult<()> {
    if target.role > scope.role {
        return Err(ApiError::forbidden(format!(
            "you cannot change a member with the {} role",
            target.role
        )));
    }
    Ok(())
}

/// Refuses a change that would leave the tenant without an active owner.
async fn keep_an_owner(store: &Store, tenant: TenantId, target: &Member) -> ApiResult<()> {
    if target.role == Role::Owner
        && target.active
        && store::users::count_active_owners(store, tenant).await? <= 1
    {
        return Err(ApiError::Conflict {
            code: "last_owner",
            message: "a tenant must keep at least one active owner".into(),
        });
    }
    Ok(())
}

/// One member.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/users/{uid}", tag = "users",
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<Member>> {
    Ok(AppJson(member_of(&state.store, scope.id(), path.1).await?))
}

/// Renames, changes the role of, activates or deactivates a member.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/users/{uid}", tag = "users", request_body = MemberPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<MemberPatch>,
) -> ApiResult<AppJson<Member>> {
    let target = member_of(&state.store, scope.id(), path.1).await?;
    check_outranks(&scope, &target)?;
    if let Some(role) = req.role
        && role > scope.role
    {
        return Err(ApiError::forbidden(format!(
            "you cannot grant the {role} role"
        )));
    }
    let demoted = req.role.is_some_and(|r| r != Role::Owner);
    let deactivated = req.active == Some(false);
    if deactivated && scope.principal.user_id() == Some(target.id) {
        return Err(ApiError::validation(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    if demoted || deactivated {
        keep_an_owner(&state.store, scope.id(), &target).await?;
    }
    if req.active == Some(true) && !target.active {
        check_seat_available(&state.store, &scope.tenant).await?;
    }
    let name = req
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    if let Some(name) = &name {
        store::users::update_user_name(&state.store, target.id, name).await?;
    }
    if req.role.is_some() || req.active.is_some() {
        store::users::update_membership(&state.store, scope.id(), target.id, req.role, req.active)
            .await?;
    }
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "user.update",
        "user",
        target.id,
        json!({"name": name, "role": req.role, "active": req.active}),
    )
    .await?;
    Ok(AppJson(
        store::users::get_member(&state.store, scope.id(), target.id).await?,
    ))
}

/// Removes a member from the tenant (their account and other tenants stay).
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/users/{uid}", tag = "users",
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_user(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let target = member_of(&state.store, scope.id(), path.1).await?;
    check_outranks(&scope, &target)?;
    if scope.principal.user_id() == Some(target.id) {
        return Err(ApiError::forbidden(
            "you cannot remove yourself; ask another admin",
        ));
    }
    keep_an_owner(&state.store, scope.id(), &target).await?;
    store::users::delete_membership(&state.store, scope.id(), target.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "user.remove",
        "user",
        target.id,
        json!({"email": target.email}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password for a member and signs them out everywhere.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/users/{uid}/reset-password", tag = "users", request_body = PasswordReset,
    params(("tid" = i64, Path, description = "tenant id"), ("uid" = i64, Path, description = "user id")),
    responses((status = 200, body = NewPassword), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    body: axum::body::Bytes,
) -> ApiResult<AppJson<NewPassword>> {
    // The body is optional: an empty one asks for a generated password.
    let body: PasswordReset = if body.iter().all(u8::is_ascii_whitespace) {
        PasswordReset::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            message: e.to_string(),
        })?
    };
    let target = member_of(&state.store, scope.id(), path.1).await?;
    check_outranks(&scope, &target)?;
    let account = store::users::find_user(&state.store, target.id)
        .await?
        .ok_or_else(not_member)?;
    if account.is_operator && !scope.principal.is_operator() {
        return Err(ApiError::forbidden(
            "only platform operators may reset an operator's password",
        ));
    }
    let password = match body.password {
        Some(p) => {
            check_password_policy("password", &p)?;
            p
        }
        None => generate_password(),
    };
    let hash = hash_blocking(password.clone()).await?;
    store::users::set_password_hash(&state.store, target.id, &hash).await?;
    store::sessions::revoke_user_sessions(&state.store, target.id, None).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "user.reset_password",
        "user",
        target.id,
        json!({}),
    )
    .await?;
    Ok(AppJson(NewPassword { password }))
}

/// The actor recorded for command-line changes.
pub fn cli_actor() -> Actor {
    Actor {
        user: None,
        label: "cli".into(),
    }
}
