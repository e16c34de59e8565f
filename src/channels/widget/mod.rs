//! The website widget channel: admins create widgets and copy the snippet; visitors' browsers
//! load `/widget.js`, read `/widget/config` and talk over `/widget/ws`.
//!
//! Visitors are anonymous: the server issues a visitor id with an HMAC signature (a key derived
//! from the master key), the browser keeps that token and presents it on every connection, so
//! the conversation survives reloads and tabs without any account.
//!
//! Widget socket frames are documented in the README ("Website widget").

mod admin;
pub(crate) mod public;
pub(crate) mod settings;

use std::collections::BTreeMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversation::{Body, ChatError, widget_message_frame};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope};
use crate::domain::{TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody, envelope};
use crate::http::extract::{AppJson, AppPath};
use crate::secrets::MasterKey;
use crate::store::widgets::WidgetRecord;
use crate::store::{self, StoreError};

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Store(StoreError::NotFound) => ApiError::not_found("conversation"),
            ChatError::Store(s) => s.into(),
            ChatError::Routing(r) => r.into(),
            ChatError::BadMessage => {
                ApiError::validation("content", ChatError::BadMessage.to_string())
            }
            ChatError::Closed => ApiError::Conflict {
                code: "conversation_closed",
                message: "the conversation is closed; reopen it first".into(),
            },
        }
    }
}

use admin::*;
use settings::*;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(settings::router())
        .merge(admin::router())
        .merge(public::router())
}

#[cfg(test)]
mod tests {
    use super::public::*;
    use super::*;

    #[test]
    fn visitor_tokens_verify_for_their_widget_only() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        let (visitor, token) = new_visitor(&key, "w1");
        assert_eq!(
            verify_visitor(&key, "w1", &token).as_deref(),
            Some(visitor.as_str())
        );
        assert_eq!(verify_visitor(&key, "w2", &token), None);
        let forged = format!("{}x.{}", visitor, token.split_once('.').unwrap().1);
        assert_eq!(verify_visitor(&key, "w1", &forged), None);
        assert_eq!(verify_visitor(&key, "w1", "garbage"), None);
    }

    #[test]
    fn settings_are_checked_and_origins_enforced() {
        let mut s = WidgetSettings::default();
        s.check().unwrap();
        assert!(s.allows(Some("https://anything.example")));
        s.allowed_origins = vec!["https://shop.example".into()];
        s.check().unwrap();
        assert!(s.allows(Some("https://shop.example")));
        assert!(!s.allows(Some("https://evil.example")));
        s.colour = "red".into();
        assert!(s.check().is_err());
    }
}
