//! Server-sent events from a streamed answer, with an idle timeout.
//!
//! Parsing is `eventsource-stream`'s: it follows the WHATWG algorithm (multi-line `data:`,
//! comments, `\r\n`, events split across TCP reads, UTF-8 split across reads), which is the
//! fiddly part, and it is a small crate over `futures-core` with no runtime of its own. Both
//! providers' streams are plain SSE, so nothing provider-specific is needed here.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use super::error::{LlmError, from_reqwest};

type Events = Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// The events of one streamed answer.
pub(super) struct SseStream {
    events: Events,
    idle: Duration,
}

impl SseStream {
    /// Reads `response`'s body as SSE. Each wait for the next event is bounded by `idle`, so
    /// a long answer that keeps flowing is not cut off but a stalled one is.
    pub(super) fn new(response: reqwest::Response, idle: Duration) -> Self {
        SseStream {
            events: Box::pin(response.bytes_stream().eventsource()),
            idle,
        }
    }

    /// The next event, or `None` at the end of the body.
    pub(super) async fn next(&mut self) -> Result<Option<Event>, LlmError> {
        match tokio::time::timeout(self.idle, self.events.next()).await {
            Err(_) => Err(LlmError::Timeout),
            Ok(None) => Ok(None),
            Ok(Some(Ok(event))) => Ok(Some(event)),
            Ok(Some(Err(EventStreamError::Transport(e)))) => Err(from_reqwest(e)),
            Ok(Some(Err(EventStreamError::Utf8(e)))) => {
                Err(LlmError::Malformed(format!("event stream: {e}")))
            }
            Ok(Some(Err(EventStreamError::Parser(e)))) => {
                Err(LlmError::Malformed(format!("event stream: {e}")))
            }
        }
    }
}
