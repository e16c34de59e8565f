//! Telephony over Asterisk. So far only [`ari`], the typed protocol client; call sessions,
//! the ARI stand-in and extension provisioning come next.

pub mod ari;
