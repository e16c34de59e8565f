//! Switchboard: an open-source contact-center platform. One service drives an Asterisk PBX
//! over ARI for voice, receives and sends chat on every major channel, answers with an AI
//! agent, and routes calls and chats through one queue model to agents in one inbox.
//!
//! # Layout
//! - [`ai`]: the AI agent: knowledge base, the offline bot, LLM providers, signals, handoff.
//! - [`app`]: building and running the service, shared state, bootstrap, shutdown.
//! - [`cli`]: the `switchboard` command line.
//! - [`channels`]: customers' channels (the website widget) and the conversation service.
//! - [`config`]: layered configuration (defaults < file < `SWITCHBOARD_*` env).
//! - [`telemetry`]: logging setup.
//! - [`domain`]: validated value types shared by every module.
//! - [`store`]: the only module with SQL; SQLite or PostgreSQL behind one `Store`.
//! - [`auth`]: passwords, sessions, API keys, login throttling, authorization extractors.
//! - [`admin`]: tenants, users and roles, API keys, audit log over HTTP.
//! - [`inbox`]: the real-time event stream (per-tenant sequence numbers) and its WebSocket.
//! - [`ivr`]: IVR flow files (`ivr-flows/`): model and validator, pure.
//! - [`routing`]: the pure routing engine for calls and chats, its simulator, and its adapter.
//! - [`schedule`]: business hours (time zones, weekly windows, holidays, overrides), pure.
//! - [`secrets`]: master key and sealing of secrets at rest.
//! - [`tts`]: text-to-speech (Polly, offline espeak-ng), Asterisk prompt files, the prompt cache.
//! - [`voice`]: telephony over Asterisk: the typed ARI client (`voice::ari`).
//! - [`http`]: the web edge: routers merged, layers, errors, OpenAPI, metrics, embedded UI.
//!
//! # Dependency rules
//! `domain` depends on nothing; `store` on `domain`; pure engines (`routing::engine`,
//! `ivr::interpreter`) do no I/O; adapters may use `store`; `http` depends on the modules,
//! never the reverse, except through each module's `router()`.

pub mod admin;
pub mod ai;
pub mod app;
pub mod auth;
pub mod channels;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod inbox;
pub mod ivr;
pub mod routing;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod tts;
pub mod voice;
