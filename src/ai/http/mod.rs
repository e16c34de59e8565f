//! The AI agent's HTTP API: settings and usage, the knowledge base, handoff rules, and agent
//! assist.

mod kb;
mod settings;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(settings::router())
        .merge(kb::router())
}
