//! Telephony over Asterisk: [`ari`], the typed protocol client, and [`provision`], agents'
//! extensions pushed into Asterisk; call sessions and the ARI stand-in come next.

pub mod ari;
pub mod http;
pub mod provision;
