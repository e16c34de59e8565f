//! The AI agent's HTTP API: settings and usage, the knowledge base, handoff rules, and agent
//! assist.

mod assist;
mod kb;

pub use kb::parse_file as parse_kb_file;
mod rules;
mod settings;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(settings::router())
        .merge(kb::router())
        .merge(rules::router())
        .merge(assist::router())
}
