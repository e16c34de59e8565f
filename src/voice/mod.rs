//! Telephony over Asterisk: [`ari`], the typed protocol client; [`calls`], one task per call
//! running the IVR, the queue and the agent bridge over ARI; [`provision`], agents'
//! extensions pushed into Asterisk; [`http`], the extensions, calls and media endpoints.

pub mod ari;
pub mod calls;
pub mod http;
pub mod provision;
