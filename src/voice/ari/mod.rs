//! `voice::ari`: our typed client for the Asterisk REST Interface, written from
//! `asterisk-ari/api-docs/*.json` and checked against it and against traffic captured from a
//! real Asterisk 22.10.1 (tests in `tests/`).
//!
//! - [`AriClient`] (`rest.rs`, `channels.rs`, `params.rs`, `resources.rs`): REST over reqwest, one client
//!   per Asterisk server, requests built from the operation table in [`ops`].
//! - [`EventStream`] (`stream.rs`): the events WebSocket on a dedicated reader task, with
//!   reconnect and `Connected`/`Disconnected` notices; REST requests travel over it when
//!   Asterisk takes them there (`socket_rest.rs`).
//! - [`Event`] (`events.rs`, `payloads.rs`): typed events, unknown ones kept raw.
//! - [`models`] (`models.rs`, `states.rs`): the ARI objects.
//! - [`AriError`] (`error.rs`): failures by HTTP status, with Asterisk's message.
//!
//! Nothing here knows about calls: sessions, queues and provisioning build on it.

mod channels;
mod error;
pub mod events;
pub mod models;
pub mod ops;
mod params;
mod payloads;
mod resources;
mod rest;
mod socket_rest;
mod states;
mod stream;

#[cfg(test)]
mod tests;

pub use error::AriError;
pub use events::{Event, EventMessage};
pub use params::{
    CreateChannel, DialplanTarget, Direction, ExternalMedia, HangupReason, Originate, Play, Record,
    Snoop,
};
pub use resources::{AddChannel, BridgeType, NewBridge, PlaybackControl};
pub use rest::AriClient;
#[cfg(test)]
use rest::decode as rest_decode;
pub use stream::{Backoff, EventStream, StreamEvent, StreamOptions};
