//! What one customer message says besides its words, computed without a model: its
//! sentiment, whether it is only small talk, whether it asks for a person, which language
//! it is in, and the cleaned text that may go into a prompt.
//!
//! Pure: no I/O, no clock, no state beyond lexicons and patterns built once per process.
//!
//! - `text.rs`: the shared normalisation ([`fold`], [`words`]) and [`clean_customer_text`].
//! - `sentiment.rs`: [`sentiment`], VADER for English and a small lexicon for Spanish.
//! - `small_talk.rs`: [`small_talk`] and [`SmallTalk`].
//! - `human.rs`: [`asks_for_human`].
//! - `choice.rs`: [`choice`], which of two offered options a short reply picks.
//! - `language.rs`: [`guess_language`].

mod choice;
mod human;
mod injection;
mod language;
mod sentiment;
mod small_talk;
mod text;

pub use choice::{Choice, choice};
pub use human::asks_for_human;
pub use injection::looks_like_injection;
pub use language::guess_language;
pub use sentiment::{NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD, sentiment};
pub use small_talk::{SmallTalk, small_talk};
pub use text::{clean_customer_text, fold, words};
