//! `/api/v1/tenants/{tid}/canned-responses`: saved replies, rendered for a conversation.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, AnyMember, TenantScope};
use crate::domain::UserId;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store::{self};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_canned, create_canned))
        .routes(routes!(update_canned, delete_canned))
}

/// A saved reply, with its text rendered for a conversation when one was named.
#[derive(Debug, Serialize, ToSchema)]
pub struct CannedView {
    /// Id.
    pub id: i64,
    /// Typed after `/` in the reply box.
    pub shortcut: String,
    /// Text with variables: `{{contact.name}}`, `{{contact.email}}`, `{{agent.name}}`.
    pub content: String,
    /// The text with variables filled in (when `conversation` was given).
    pub rendered: Option<String>,
}

/// A list of saved replies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CannedList {
    /// By shortcut.
    pub items: Vec<CannedView>,
}

/// Render for this conversation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CannedParams {
    /// Conversation whose customer fills the variables.
    pub conversation: Option<i64>,
}

/// Fills `{{contact.name}}`, `{{contact.email}}` and `{{agent.name}}`; unknown variables stay as written
/// and a missing value becomes a neutral word, so a reply never shows a raw placeholder.
pub fn render(
    template: &str,
    contact_name: Option<&str>,
    contact_email: Option<&str>,
    agent_name: Option<&str>,
) -> String {
    template
        .replace("{{contact.name}}", contact_name.unwrap_or("there"))
        .replace("{{contact.email}}", contact_email.unwrap_or(""))
        .replace("{{agent.name}}", agent_name.unwrap_or("our team"))
}

/// Lists saved replies (rendered for `conversation` when given).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/canned-responses", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), CannedParams),
    responses((status = 200, body = CannedList), (status = 404, body = ErrorBody)))]
async fn list_canned(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<CannedParams>,
) -> ApiResult<AppJson<CannedList>> {
    let ctx = match q.conversation {
        Some(cid) => {
            let c = store::conversations::find_conversation(&state.store, scope.id(), cid)
                .await?
                .ok_or_else(|| ApiError::not_found("conversation"))?;
            let contact =
                store::contacts::find_contact(&state.store, scope.id(), c.contact_id).await?;
            let agent = match scope.principal.user_id() {
                Some(u) => store::users::find_user(&state.store, UserId(u.get()))
                    .await?
                    .map(|u| u.name),
                None => None,
            };
            Some((
                contact.as_ref().and_then(|c| c.name.clone()),
                contact.and_then(|c| c.email),
                agent,
            ))
        }
        None => None,
    };
    let items = store::canned::list_canned(&state.store, scope.id())
        .await?
        .into_iter()
        .map(|r| CannedView {
            rendered: ctx
                .as_ref()
                .map(|(n, e, a)| render(&r.content, n.as_deref(), e.as_deref(), a.as_deref())),
            id: r.id,
            shortcut: r.shortcut,
            content: r.content,
        })
        .collect();
    Ok(AppJson(CannedList { items }))
}

/// A saved reply to create or change.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    /// 1–40 lowercase letters, digits, `_` or `-`.
    pub shortcut: String,
    /// 1–4000 characters.
    pub content: String,
}

fn check(input: &CannedInput) -> ApiResult<()> {
    let s = &input.shortcut;
    if !(1..=40).contains(&s.len())
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(ApiError::validation(
            "shortcut",
            "use 1–40 lowercase letters, digits, `_` or `-`",
        ));
    }
    let n = input.content.trim().chars().count();
    if n == 0 || n > 4000 {
        return Err(ApiError::validation("content", "must be 1–4000 characters"));
    }
    Ok(())
}

/// Saves a reply (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/canned-responses", tag = "inbox", request_body = CannedInput,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = CannedView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_canned(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<CannedInput>,
) -> ApiResult<(StatusCode, AppJson<CannedView>)> {
    check(&req)?;
    let r =
        store::canned::insert_canned(&state.store, scope.id(), &req.shortcut, req.content.trim())
            .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "canned.create",
        "canned_response",
        r.id,
        json!({"shortcut": r.shortcut}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(CannedView {
            id: r.id,
            shortcut: r.shortcut,
            content: r.content,
            rendered: None,
        }),
    ))
}

/// Changes a saved reply (admins).
#[utoipa::path(put, path = "/api/v1/tenants/{tid}/canned-responses/{rid}", tag = "inbox", request_body = CannedInput,
    params(("tid" = i64, Path, description = "tenant id"), ("rid" = i64, Path, description = "canned response id")),
    responses((status = 200, body = CannedView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_canned(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<CannedInput>,
) -> ApiResult<AppJson<CannedView>> {
    check(&req)?;
    let r = store::canned::update_canned(
        &state.store,
        scope.id(),
        path.1,
        &req.shortcut,
        req.content.trim(),
    )
    .await
    .map_err(ApiError::missing("canned response"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "canned.update",
        "canned_response",
        r.id,
        json!({"shortcut": r.shortcut}),
    )
    .await?;
    Ok(AppJson(CannedView {
        id: r.id,
        shortcut: r.shortcut,
        content: r.content,
        rendered: None,
    }))
}

/// Deletes a saved reply (admins).
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/canned-responses/{rid}", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("rid" = i64, Path, description = "canned response id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_canned(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    store::canned::delete_canned(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("canned response"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "canned.delete",
        "canned_response",
        path.1,
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_missing_values_never_show_placeholders() {
        let t = "Hi {{contact.name}}, {{agent.name}} here. We'll write to {{contact.email}}.";
        assert_eq!(
            render(t, Some("Dana"), Some("d@x.io"), Some("Alex")),
            "Hi Dana, Alex here. We'll write to d@x.io."
        );
        assert_eq!(
            render(t, None, None, None),
            "Hi there, our team here. We'll write to ."
        );
        assert_eq!(render("{{order.id}}", None, None, None), "{{order.id}}");
    }
}
