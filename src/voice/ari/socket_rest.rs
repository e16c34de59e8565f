//! REST over the events socket (Asterisk 20.14, 21.9, 22.4 and later): a request goes out as
//! a `RESTRequest` text frame on the socket the events come in on, and its answer comes back
//! in order with the events as a `RESTResponse` carrying the same `request_id`.
//!
//! Over HTTP each request goes through the client's connection pool and a connection task
//! of its own (a wake-up to send, another for the answer) and is framed, headed and parsed
//! as HTTP on both sides; a call makes a dozen of them. On the socket the calling task writes
//! its frame itself and the reader task that already reads the events hands it the answer.
//!
//! An older Asterisk ignores the frame, so after each connection the reader asks once
//! (`GET asterisk/ping`) and sends requests this way only once that is answered; until then,
//! and whenever the socket is down, they go over HTTP. A request whose socket drops before
//! its answer fails as a dropped HTTP connection does: Asterisk may or may not have done it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, RwLock};
use std::time::Duration;

use futures::{Sink, SinkExt};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{self, Message};

use super::error::AriError;
use super::events::RestResponse;

/// The write half of an events socket.
pub(super) type SocketSink = Pin<Box<dyn Sink<Message, Error = tungstenite::Error> + Send>>;

/// Where a client finds the socket its requests may use: shared by an [`super::AriClient`]
/// and the [`super::EventStream`] of the same server.
#[derive(Default)]
pub(crate) struct RestLink {
    current: RwLock<Option<Arc<SocketRest>>>,
}

impl RestLink {
    /// The socket to send on, when one is open and answers requests.
    pub(super) fn current(&self) -> Option<Arc<SocketRest>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn install(&self, socket: Arc<SocketRest>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(socket);
    }

    /// Stops using `socket` (it closed); a newer one stays.
    pub(super) fn remove(&self, socket: &Arc<SocketRest>) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, socket)) {
            *current = None;
        }
    }
}

/// The request id of the reader's own question (does this Asterisk answer on the socket?).
pub(super) const PROBE_ID: &str = "switchboard-probe";

/// One open events socket, as a way to send requests.
pub(crate) struct SocketRest {
    sink: tokio::sync::Mutex<SocketSink>,
    /// Requests waiting for their answer; `None` once the socket has closed.
    waiting: StdMutex<Option<HashMap<u64, oneshot::Sender<RestResponse>>>>,
    next_id: AtomicU64,
}

/// Operations Asterisk carries out on the channel's own thread and answers only once done
/// (`stasis_app_send_command`): behind a long prompt on that channel they wait for its end.
/// Asterisk reads the socket's requests one at a time, so over the socket such a wait would
/// hold up every call's requests; over HTTP it holds up only the call that made it.
const WAIT_ON_THE_CHANNEL: &[&str] = &[
    "channels.answer",
    "channels.progress",
    "channels.continueInDialplan",
    "channels.move",
    "channels.redirect",
    "channels.getChannelVar",
    "channels.setChannelVar",
    "bridges.addChannel",
    "bridges.removeChannel",
];

/// Whether a request for `op` may travel over the socket: not one that waits on a channel's
/// thread, and not a file (a socket answer is text).
pub(super) fn suits_socket(op: &super::ops::Op) -> bool {
    op.returns != "binary" && !WAIT_ON_THE_CHANNEL.contains(&op.name)
}

/// What came back: Asterisk's status and body.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Serialize)]
struct RestRequest<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    transaction_id: &'a str,
    request_id: &'a str,
    method: &'a str,
    uri: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    query_strings: Vec<QueryString<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_body: Option<&'a str>,
}

#[derive(Serialize)]
struct QueryString<'a> {
    name: &'a str,
    value: &'a str,
}

/// The frame of a request: `uri` is relative to `/ari/`, `body` a JSON object's text.
pub(super) fn frame(
    id: &str,
    method: &str,
    uri: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
) -> String {
    let request = RestRequest {
        kind: "RESTRequest",
        transaction_id: id,
        request_id: id,
        method,
        uri,
        query_strings: query
            .iter()
            .map(|(name, value)| QueryString { name, value })
            .collect(),
        content_type: body.map(|_| "application/json"),
        message_body: body,
    };
    // Strings and a list of them: nothing here can fail to serialise.
    serde_json::to_string(&request).unwrap_or_default()
}

impl SocketRest {
    pub(super) fn new(sink: SocketSink) -> Arc<Self> {
        Arc::new(SocketRest {
            sink: tokio::sync::Mutex::new(sink),
            waiting: StdMutex::new(Some(HashMap::new())),
            next_id: AtomicU64::new(1),
        })
    }

    fn waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<HashMap<u64, oneshot::Sender<RestResponse>>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pings, unless a request is being written (which proves the link as well): the reader
    /// must not stop reading to wait for the write half.
    pub(super) async fn ping(&self) -> Result<(), tungstenite::Error> {
        match self.sink.try_lock() {
            Ok(mut sink) => sink.send(Message::Ping(Default::default())).await,
            Err(_) => Ok(()),
        }
    }

    /// Writes one frame (an event socket's ping or close too).
    pub(super) async fn write(&self, message: Message) -> Result<(), tungstenite::Error> {
        self.sink.lock().await.send(message).await
    }

    /// Closes the socket (a close frame, flushed).
    pub(super) async fn shut(&self) {
        let _ = self.sink.lock().await.close().await;
    }

    /// Asks whether this Asterisk answers requests on the socket.
    pub(super) async fn probe(&self) -> Result<(), tungstenite::Error> {
        let text = frame(PROBE_ID, "GET", "asterisk/ping", &[], None);
        self.write(Message::text(text)).await
    }

    /// Sends one request and waits up to `timeout` for its answer. `None` when the socket
    /// closed before the request could be sent (it may go over HTTP instead).
    pub(super) async fn send(
        &self,
        method: &str,
        uri: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<Option<Answer>, AriError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match self.waiting().as_mut() {
            Some(waiting) => waiting.insert(id, tx),
            None => return Ok(None),
        };
        // Taken out again however this ends (an error, a timeout, the caller giving up).
        struct Forget<'a>(&'a SocketRest, u64);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                if let Some(waiting) = self.0.waiting().as_mut() {
                    waiting.remove(&self.1);
                }
            }
        }
        let _forget = Forget(self, id);
        let text = frame(&id.to_string(), method, uri, query, body);
        let exchange = async {
            self.write(Message::text(text))
                .await
                .map_err(|e| AriError::Transport(format!("events socket: {e}")))?;
            rx.await.map_err(|_| {
                AriError::Transport("the events socket closed before the answer".into())
            })
        };
        let answer = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| AriError::Timeout)??;
        Ok(Some(Answer {
            status: u16::try_from(answer.status_code).unwrap_or(0),
            body: answer
                .message_body
                .map(String::into_bytes)
                .unwrap_or_default(),
        }))
    }

    /// Hands an answer to the request waiting for it; false when it is not one of ours.
    pub(super) fn answer(&self, response: &mut RestResponse) -> bool {
        let Ok(id) = response.request_id.parse::<u64>() else {
            return false;
        };
        match self.waiting().as_mut().and_then(|w| w.remove(&id)) {
            Some(tx) => {
                let _ = tx.send(std::mem::take(response));
                true
            }
            None => false,
        }
    }

    /// The socket closed: every request still waiting fails now rather than at its timeout,
    /// and later ones are refused (they take HTTP).
    pub(super) fn close(&self) {
        self.waiting().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_kept_off_the_socket_are_ones_the_client_sends() {
        for name in WAIT_ON_THE_CHANNEL {
            let op = super::super::ops::ALL
                .iter()
                .find(|op| op.name == *name)
                .unwrap_or_else(|| panic!("{name} is not in the operation table"));
            assert!(!suits_socket(op), "{name}");
        }
        let play = super::super::ops::ALL
            .iter()
            .find(|op| op.name == "channels.play")
            .unwrap();
        assert!(suits_socket(play));
        let file = super::super::ops::ALL
            .iter()
            .find(|op| op.returns == "binary")
            .unwrap();
        assert!(!suits_socket(file));
    }

    #[test]
    fn a_request_frame_has_the_shape_asterisk_reads() {
        let text = frame(
            "7",
            "POST",
            "channels/c1/play",
            &[("media", "sound:hello")],
            Some(r#"{"lang":"en"}"#),
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "type": "RESTRequest", "transaction_id": "7", "request_id": "7",
                "method": "POST", "uri": "channels/c1/play",
                "query_strings": [{"name": "media", "value": "sound:hello"}],
                "content_type": "application/json", "message_body": "{\"lang\":\"en\"}"
            })
        );
        let bare: serde_json::Value =
            serde_json::from_str(&frame("8", "GET", "asterisk/info", &[], None)).unwrap();
        assert_eq!(
            bare,
            serde_json::json!({"type": "RESTRequest", "transaction_id": "8", "request_id": "8",
                               "method": "GET", "uri": "asterisk/info"})
        );
    }
}
