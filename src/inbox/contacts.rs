//! `/api/v1/tenants/{tid}/contacts`: the customer's context in the inbox, and merging two
//! contacts that are one person.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::{ContactBrief, ConversationView, agent_scope, conversation_view};
use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::domain::UserId;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath};
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_contact))
        .routes(routes!(merge_contact))
}

/// A channel a customer is known on.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    /// Channel.
    pub channel: String,
    /// The customer's id there (widget visitors are opaque).
    pub external_id: String,
}

/// A customer with their channels and past conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDetail {
    /// The customer.
    pub contact: ContactBrief,
    /// Phone, when known.
    pub phone: Option<String>,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Channels they reached us on.
    pub identities: Vec<IdentityView>,
    /// Their conversations, newest first (at most 50).
    pub conversations: Vec<ConversationView>,
}

/// A customer's profile, channels and conversations (the inbox's context panel).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/contacts/{kid}", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("kid" = i64, Path, description = "contact id")),
    responses((status = 200, body = ContactDetail), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ContactDetail>> {
    let c = store::contacts::find_contact(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    let identities = store::contacts::list_identities(&state.store, scope.id(), c.id)
        .await?
        .into_iter()
        .map(|(channel, external_id)| IdentityView {
            channel,
            external_id,
        })
        .collect();
    let mine = match agent_scope(&scope) {
        Some(a) => Some((
            a,
            store::queues::queues_of_member(&state.store, scope.id(), UserId(a)).await?,
        )),
        None => None,
    };
    let mut conversations = Vec::new();
    for conv in store::conversations::list_for_contact(&state.store, scope.id(), c.id, 50).await? {
        if let Some((agent, queues)) = &mine {
            let visible = conv.assigned_agent_id == Some(*agent)
                || (conv.assigned_agent_id.is_none() && conv.queue_id.is_none())
                || conv.queue_id.is_some_and(|q| queues.contains(&q));
            if !visible {
                continue;
            }
        }
        conversations.push(
            conversation_view(&state.store, scope.id(), conv, scope.principal.user_id()).await?,
        );
    }
    Ok(AppJson(ContactDetail {
        contact: ContactBrief {
            id: c.id,
            name: c.name,
            email: c.email,
        },
        phone: c.phone,
        created_at: c.created_at,
        identities,
        conversations,
    }))
}

/// Which contact to merge into.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The contact that stays.
    pub into: i64,
}

/// Merges this contact into another (the same person reached us twice): channels,
/// conversations and tickets move over (supervisors).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/contacts/{kid}/merge", tag = "inbox", request_body = MergeRequest,
    params(("tid" = i64, Path, description = "tenant id"), ("kid" = i64, Path, description = "contact id")),
    responses((status = 200, body = ContactDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn merge_contact(
    State(state): State<AppState>,
    scope: TenantScope<crate::auth::Supervisor>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<MergeRequest>,
) -> ApiResult<AppJson<ContactDetail>> {
    if req.into == path.1 {
        return Err(ApiError::validation(
            "into",
            "a contact cannot be merged into itself",
        ));
    }
    store::contacts::merge_contacts(&state.store, scope.id(), path.1, req.into)
        .await
        .map_err(ApiError::missing("contact"))?;
    crate::admin::audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "contact.merge",
        "contact",
        path.1,
        serde_json::json!({"into": req.into}),
    )
    .await?;
    let c = store::contacts::find_contact(&state.store, scope.id(), req.into)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    let identities = store::contacts::list_identities(&state.store, scope.id(), c.id)
        .await?
        .into_iter()
        .map(|(channel, external_id)| IdentityView {
            channel,
            external_id,
        })
        .collect();
    let mut conversations = Vec::new();
    for conv in store::conversations::list_for_contact(&state.store, scope.id(), c.id, 50).await? {
        conversations.push(
            conversation_view(&state.store, scope.id(), conv, scope.principal.user_id()).await?,
        );
    }
    Ok(AppJson(ContactDetail {
        contact: ContactBrief {
            id: c.id,
            name: c.name,
            email: c.email,
        },
        phone: c.phone,
        created_at: c.created_at,
        identities,
        conversations,
    }))
}
