//! Customers' channels. Each channel turns what arrives into customer messages of one
//! conversation model and delivers what agents write; today the website widget, with the
//! messaging channels (WhatsApp, Messenger, Instagram, X, SMS, Telegram) to follow.
//!
//! - [`conversation`]: the conversation service every channel and the inbox share: customer
//!   and agent messages, routing into queues, reacting to routing decisions.
//! - [`attachments`]: files customers and agents attach, checked by their bytes and served safely.
//! - [`widget`]: the website widget: admin API, `/widget.js`, `/widget/config`, `/widget/ws`.

pub mod attachments;
pub mod conversation;
pub mod widget;
