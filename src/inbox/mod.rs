//! Real time for agents and supervisors: the per-tenant event stream and its WebSocket.
//!
//! Every event is stored with its tenant's next sequence number before it is pushed, so a
//! client that reconnects with the last number it saw receives exactly what it missed.

mod hub;
mod ws;

pub use hub::{EventHub, LiveEvent};
pub use ws::router;
