//! Real time for agents and supervisors: the per-tenant event stream and its WebSocket.
//!
//! Every event is stored with its tenant's next sequence number before it is pushed, so a
//! client that reconnects with the last number it saw receives exactly what it missed.

mod canned;
mod contacts;
pub(crate) mod conversations;
mod directory;
mod hub;
mod labels;
mod tickets;
mod ws;

pub use hub::{EventHub, LiveEvent, Queued};
/// The routes of this module: the event socket and the conversation API.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::app::AppState> {
    ws::router()
        .merge(conversations::router())
        .merge(canned::router())
        .merge(tickets::router())
        .merge(contacts::router())
        .merge(labels::router())
        .merge(directory::router())
}
