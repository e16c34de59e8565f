//! The AI agent: knowledge base, the offline bot, LLM providers with tools, per-message signals
//! (sentiment, intent), handoff rules, and agent assist.

pub mod bot;
pub mod cli;
pub mod config;
pub mod embed;
pub mod eval;
pub mod handoff;
pub mod http;
pub mod kb;
pub mod llm;
pub mod local;
pub mod order_lookup;
pub mod service;
pub mod signals;
pub mod turn;
