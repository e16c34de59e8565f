//! The integration test binary: the real server on a random port against a fresh database
//! (SQLite by default; PostgreSQL with `SWITCHBOARD_TEST_BACKEND=postgres`).

mod helpers;

mod ai;
mod api_keys;
mod ari_standin;
mod audit;
mod auth;
mod chat;
mod cli;
mod errors;
mod extensions;
mod flows;
mod isolation;
mod llm;
mod llm_standin;
mod ops;
mod realtime;
mod routing;
mod store_story;
mod tenants;
mod users;
mod voice;
