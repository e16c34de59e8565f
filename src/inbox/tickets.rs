//! `/api/v1/tenants/{tid}/tickets`: follow-up work opened from conversations (by agents, by
//! integrations with an API key, and later by the AI agent's `create_ticket` tool).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{AnyMember, TenantScope};
use crate::domain::UserId;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store::tickets::{NewTicket, TicketRecord};
use crate::store::{self, clamp_limit};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket))
}

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const STATUSES: [&str; 4] = ["open", "pending", "solved", "closed"];

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// Ticket id.
    pub id: i64,
    /// The conversation it came from.
    pub conversation_id: Option<i64>,
    /// The customer.
    pub contact_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `open`, `pending`, `solved` or `closed`.
    pub status: String,
    /// The agent working on it.
    pub assignee_id: Option<i64>,
    /// Who opened it (null: an integration or the AI agent).
    pub created_by: Option<i64>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<TicketRecord> for TicketView {
    fn from(t: TicketRecord) -> Self {
        TicketView {
            id: t.id,
            conversation_id: t.conversation_id,
            contact_id: t.contact_id,
            title: t.title,
            description: t.description,
            priority: t.priority,
            status: t.status,
            assignee_id: t.assignee_id,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A page of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    /// Newest first.
    pub items: Vec<TicketView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Ticket filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketParams {
    /// Only this status.
    pub status: Option<String>,
    /// Only tickets of this conversation.
    pub conversation: Option<i64>,
    /// Page size (1–200).
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<i64>,
}

/// Lists tickets, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/tickets", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), TicketParams),
    responses((status = 200, body = TicketList), (status = 422, body = ErrorBody)))]
async fn list_tickets(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppQuery(q): AppQuery<TicketParams>,
) -> ApiResult<AppJson<TicketList>> {
    if let Some(s) = &q.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::validation(
            "status",
            "must be open, pending, solved or closed",
        ));
    }
    let limit = clamp_limit(q.limit);
    let rows = store::tickets::list_tickets(
        &state.store,
        scope.id(),
        q.status.as_deref(),
        q.conversation,
        q.cursor,
        limit,
    )
    .await?;
    let next_cursor = if rows.len() as i64 >= limit {
        rows.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(AppJson(TicketList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// A ticket to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketRequest {
    /// 1–200 characters.
    pub title: String,
    /// Up to 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// `low`, `normal` (default), `high` or `urgent`.
    pub priority: Option<String>,
    /// The conversation it comes from.
    pub conversation_id: Option<i64>,
}

fn check_priority(p: &str) -> ApiResult<()> {
    if PRIORITIES.contains(&p) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "priority",
            "must be low, normal, high or urgent",
        ))
    }
}

fn check_texts(title: &str, description: &str) -> ApiResult<()> {
    let n = title.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(ApiError::validation("title", "must be 1–200 characters"));
    }
    if description.chars().count() > 10_000 {
        return Err(ApiError::validation(
            "description",
            "must be at most 10,000 characters",
        ));
    }
    Ok(())
}

/// Opens a ticket (from a conversation when `conversation_id` is given: the thread gets a note).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/tickets", tag = "inbox", request_body = NewTicketRequest,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = TicketView), (status = 422, body = ErrorBody)))]
async fn create_ticket(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppJson(req): AppJson<NewTicketRequest>,
) -> ApiResult<(StatusCode, AppJson<TicketView>)> {
    check_texts(&req.title, &req.description)?;
    let priority = req.priority.as_deref().unwrap_or("normal");
    check_priority(priority)?;
    let conversation = match req.conversation_id {
        Some(cid) => Some(
            store::conversations::find_conversation(&state.store, scope.id(), cid)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(
                        "conversation_id",
                        format!("no conversation {cid} in this tenant"),
                    )
                })?,
        ),
        None => None,
    };
    let by = scope.principal.user_id().map(UserId::get);
    let t = store::tickets::insert_ticket(
        &state.store,
        scope.id(),
        NewTicket {
            conversation_id: conversation.as_ref().map(|c| c.id),
            contact_id: conversation.as_ref().map(|c| c.contact_id),
            title: req.title.trim(),
            description: req.description.trim(),
            priority,
            created_by: by,
        },
    )
    .await?;
    if let (Some(c), Some(agent)) = (&conversation, by) {
        let note = format!("Ticket #{} opened: {}", t.id, t.title);
        state
            .chat
            .agent_message(
                scope.id(),
                c.id,
                agent,
                crate::channels::conversation::Body::text(&note),
                true,
                None,
            )
            .await?;
    }
    let payload = json!({"ticket_id": t.id, "conversation_id": t.conversation_id, "title": t.title, "priority": t.priority});
    state
        .events
        .publish(scope.id(), "ticket", None, payload)
        .await?;
    Ok((StatusCode::CREATED, AppJson(t.into())))
}

/// One ticket.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/tickets/{ticket}", tag = "inbox",
    params(("tid" = i64, Path, description = "tenant id"), ("ticket" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody)))]
async fn get_ticket(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<TicketView>> {
    let t = store::tickets::find_ticket(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    Ok(AppJson(t.into()))
}

/// Changes to a ticket; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// The agent working on it (a member of the tenant); 0 clears it.
    pub assignee_id: Option<i64>,
}

/// Updates a ticket.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/tickets/{ticket}", tag = "inbox", request_body = TicketPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("ticket" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_ticket(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<TicketPatch>,
) -> ApiResult<AppJson<TicketView>> {
    let mut t = store::tickets::find_ticket(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    if let Some(v) = req.title {
        t.title = v.trim().to_owned();
    }
    if let Some(v) = req.description {
        t.description = v.trim().to_owned();
    }
    check_texts(&t.title, &t.description)?;
    if let Some(p) = req.priority {
        check_priority(&p)?;
        t.priority = p;
    }
    if let Some(s) = req.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::validation(
                "status",
                "must be open, pending, solved or closed",
            ));
        }
        t.status = s;
    }
    match req.assignee_id {
        Some(0) => t.assignee_id = None,
        Some(a) => {
            if store::users::find_member(&state.store, scope.id(), UserId(a))
                .await?
                .is_none()
            {
                return Err(ApiError::validation(
                    "assignee_id",
                    format!("user {a} is not a member of this tenant"),
                ));
            }
            t.assignee_id = Some(a);
        }
        None => {}
    }
    let t = store::tickets::update_ticket(&state.store, scope.id(), &t).await?;
    Ok(AppJson(t.into()))
}
