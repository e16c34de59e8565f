//! The routing API: queues and their members, agents' skills, capacity and presence, contacts
//! entering and leaving queues, offers accepted and declined, and the supervisors' live view.

mod agents;
mod contacts;
mod queues;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AgentId, ContactId, Event, OverflowTarget, QueueConfig, QueueId};
use super::service::{ContactState, RoutingError};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, AnyMember, Supervisor, TenantScope};
use crate::domain::{Role, TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store::agents::{AgentProfile, RoutingSettings};
use crate::store::queues::{QueueMemberRecord, QueueRecord};
use crate::store::routed_contacts::NewRoutedContact;
use crate::store::{self, StoreError};

impl From<RoutingError> for ApiError {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

use agents::*;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(queues::router())
        .merge(agents::router())
        .merge(contacts::router())
}
