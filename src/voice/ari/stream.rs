//! The events WebSocket (`/ari/events?app=…&subscribeAll=false`) on a dedicated reader task.
//!
//! Asterisk gives each event write 100 ms (`websocket_write_timeout`) and closes the socket
//! of a reader that is slower, so the task only reads, parses and pushes into an unbounded
//! channel: it never waits for the consumer. When the socket drops it reconnects with capped
//! exponential backoff and jitter, and tells the consumer with [`StreamEvent::Disconnected`]
//! and [`StreamEvent::Connected`]: Asterisk does not replay what was missed, so after every
//! `Connected` the call layer re-lists channels and bridges and renews subscriptions.
//!
//! Given a client ([`StreamOptions::requests_for`]), the socket also carries that client's
//! REST requests once Asterisk shows it takes them (`socket_rest.rs`).

use std::sync::Arc;
use std::time::Duration;

use futures::{Sink, Stream, StreamExt};
use rand::Rng;
use reqwest::header::HeaderValue;
use secrecy::SecretString;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use url::Url;

use super::error::AriError;
use super::events::{Event, EventMessage};
use super::rest::{AriClient, basic_auth};
use super::socket_rest::{PROBE_ID, RestLink, SocketRest};
use crate::config::AsteriskConfig;

/// What the stream hands the consumer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The socket is (again) open: resynchronise state.
    Connected,
    /// The socket was lost after being open; reconnecting in the background.
    Disconnected {
        /// Why, for logs.
        reason: String,
    },
    /// An event.
    Event(Box<EventMessage>),
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// The server's name (for logs).
    pub name: String,
    /// The ARI base URL (`http://HOST:8088/ari`).
    pub base_url: String,
    /// ARI user.
    pub username: String,
    /// Its password.
    pub password: SecretString,
    /// Stasis application.
    pub app: String,
    /// Receive every event in Asterisk, not only our app's (traffic!).
    pub subscribe_all: bool,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Ping this often; a socket silent for two intervals is considered dead (Asterisk
    /// never pings inbound clients itself).
    pub ping_interval: Duration,
    /// Give up a connection attempt after this long.
    pub connect_timeout: Duration,
    /// The client whose requests may travel over the socket.
    rest: Option<Arc<RestLink>>,
}

impl std::fmt::Debug for RestLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestLink")
            .field("open", &self.current().is_some())
            .finish()
    }
}

impl StreamOptions {
    /// Options for one `[[voice.asterisk]]` entry with the default timings.
    pub fn from_config(server: &AsteriskConfig) -> Self {
        StreamOptions {
            name: server.name.clone(),
            base_url: server.url.clone(),
            username: server.username.clone(),
            password: server.password.clone(),
            app: server.app.clone(),
            subscribe_all: false,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            rest: None,
        }
    }

    /// Lets `client`'s REST requests go over this socket whenever Asterisk answers them there
    /// (20.14, 21.9, 22.4 and later); they use HTTP otherwise.
    pub fn requests_for(mut self, client: &AriClient) -> Self {
        self.rest = Some(client.rest_link());
        self
    }

    /// The events URL: `ws(s)://HOST:PORT/ari/events?app=…&subscribeAll=…`.
    pub fn events_url(&self) -> Result<Url, AriError> {
        let mut url = Url::parse(&self.base_url)
            .map_err(|e| AriError::Config(format!("url `{}`: {e}", self.base_url)))?;
        let scheme = match url.scheme() {
            "http" => "ws",
            "https" => "wss",
            other => return Err(AriError::Config(format!("unsupported scheme `{other}`"))),
        };
        url.set_scheme(scheme)
            .map_err(|_| AriError::Config("cannot switch to a WebSocket scheme".into()))?;
        url.path_segments_mut()
            .map_err(|_| AriError::Config("base URL cannot carry a path".into()))?
            .pop_if_empty()
            .push("events");
        url.query_pairs_mut()
            .clear()
            .append_pair("app", &self.app)
            .append_pair(
                "subscribeAll",
                if self.subscribe_all { "true" } else { "false" },
            );
        Ok(url)
    }
}

/// Exponential backoff with jitter: each delay is drawn from the upper half of the current
/// step, so many clients restarting together do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            step: initial,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let low = step / 2;
        let jitter_ms = rng.gen_range(0..=(step - low).as_millis() as u64);
        low + Duration::from_millis(jitter_ms)
    }

    /// Back to the first step (after a successful connection).
    pub fn reset(&mut self) {
        self.step = self.initial;
    }
}

/// The events of one Asterisk server. Dropping it stops the reader task.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<StreamEvent>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Takes each item as the reader reads it; false when nobody listens any more.
type Deliver = Box<dyn FnMut(StreamEvent) -> bool + Send>;

impl EventStream {
    /// Starts the reader task; it connects (and reconnects) on its own.
    pub fn spawn(opts: StreamOptions) -> Result<Self, AriError> {
        let (tx, rx) = mpsc::unbounded_channel();
        Self::start(opts, Box::new(move |item| tx.send(item).is_ok()), rx)
    }

    /// Starts the reader task handing each item to `handle` on the reader itself, one task
    /// wake-up per event fewer than [`EventStream::recv`]. `handle` must not block: Asterisk
    /// drops a reader that falls behind. [`EventStream::recv`] then yields nothing; keep the
    /// stream (or [`EventStream::join`] it) for as long as events should flow.
    pub fn spawn_with(
        opts: StreamOptions,
        mut handle: impl FnMut(StreamEvent) + Send + 'static,
    ) -> Result<Self, AriError> {
        let deliver: Deliver = Box::new(move |item| {
            handle(item);
            true
        });
        // A receiver whose sender is gone: `recv` answers `None` at once.
        Self::start(opts, deliver, mpsc::unbounded_channel().1)
    }

    fn start(
        opts: StreamOptions,
        deliver: Deliver,
        rx: mpsc::UnboundedReceiver<StreamEvent>,
    ) -> Result<Self, AriError> {
        let url = opts.events_url()?;
        let auth = basic_auth(&opts.username, &opts.password)?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(opts, url, auth, deliver, stop_rx));
        Ok(EventStream {
            rx,
            stop,
            task: Some(task),
        })
    }

    /// The next event; `None` once the stream has stopped.
    pub async fn recv(&mut self) -> Option<StreamEvent> {
        self.rx.recv().await
    }

    /// Waits until the reader task ends (it runs until the stream is dropped or shut down).
    pub async fn join(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Closes the socket and waits for the reader task to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Why a connection ended.
#[derive(Debug, PartialEq)]
enum End {
    /// We were asked to stop.
    Stopped,
    /// Nobody listens any more.
    ConsumerGone,
    /// The socket was lost.
    Lost(String),
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A dropped sender also means stop.
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn run(
    opts: StreamOptions,
    url: Url,
    auth: HeaderValue,
    mut deliver: Deliver,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(opts.backoff_initial, opts.backoff_max);
    let mut failures: u32 = 0;
    loop {
        let attempt = tokio::select! {
            _ = stopped(&mut stop) => return,
            r = tokio::time::timeout(opts.connect_timeout, connect(&url, &auth)) => r,
        };
        match attempt {
            Ok(Ok(ws)) => {
                tracing::info!(ari.server = %opts.name, ari.app = %opts.app, "ARI events connected");
                backoff.reset();
                failures = 0;
                if !deliver(StreamEvent::Connected) {
                    return;
                }
                match pump(
                    ws,
                    &mut deliver,
                    &mut stop,
                    opts.ping_interval,
                    opts.rest.as_deref(),
                )
                .await
                {
                    End::Stopped | End::ConsumerGone => return,
                    End::Lost(reason) => {
                        tracing::warn!(ari.server = %opts.name, %reason, "ARI events socket lost; reconnecting");
                        if !deliver(StreamEvent::Disconnected { reason }) {
                            return;
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                failures += 1;
                // Asterisk refuses for 15–20 s while it stops; say it once, then quietly.
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(ari.server = %opts.name, error = %e, failures, "cannot connect to ARI events");
                }
            }
            Err(_) => {
                failures += 1;
                tracing::warn!(ari.server = %opts.name, failures, "ARI events connection timed out");
            }
        }
        let delay = backoff.next_delay(&mut rand::thread_rng());
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &Url, auth: &HeaderValue) -> Result<Ws, tungstenite::Error> {
    let mut request = url.as_str().into_client_request()?;
    // The header rather than `api_key=` in the URL: URLs end up in logs.
    request
        .headers_mut()
        .insert(tungstenite::http::header::AUTHORIZATION, auth.clone());
    // Without TCP_NODELAY a request frame written while an earlier one is unacknowledged
    // waits for the ACK (Nagle), which loopback delays by up to 40 ms.
    let (ws, _response) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok(ws)
}

/// Reads one connection until it ends. Generic over the socket so tests can drive it.
async fn pump<S>(
    ws: S,
    deliver: &mut Deliver,
    stop: &mut watch::Receiver<bool>,
    ping_interval: Duration,
    rest: Option<&RestLink>,
) -> End
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin
        + Send
        + 'static,
{
    let (sink, mut frames) = ws.split();
    // Our pings and close go through it too, whether or not it carries requests.
    let socket = SocketRest::new(Box::pin(sink));
    // However this connection ends (a panic in the consumer too), its socket stops taking
    // requests and the ones waiting fail at once.
    struct Retire<'a>(Option<&'a RestLink>, Arc<SocketRest>);
    impl Drop for Retire<'_> {
        fn drop(&mut self) {
            if let Some(link) = self.0 {
                link.remove(&self.1);
            }
            self.1.close();
        }
    }
    let _retire = Retire(rest, socket.clone());
    if rest.is_some() {
        match tokio::time::timeout(ping_interval, socket.probe()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return End::Lost(e.to_string()),
            Err(_) => return End::Lost("the socket takes no writes".into()),
        }
    }
    read(&mut frames, &socket, deliver, stop, ping_interval, rest).await
}

async fn read<S>(
    frames: &mut S,
    socket: &Arc<SocketRest>,
    deliver: &mut Deliver,
    stop: &mut watch::Receiver<bool>,
    ping_interval: Duration,
    rest: Option<&RestLink>,
) -> End
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let mut ticker = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = stopped(stop) => {
                // Asterisk may take its time to answer the close; do not hang shutdown on it.
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.shut()).await;
                return End::Stopped;
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() >= ping_interval * 2 {
                    return End::Lost("no answer to pings".into());
                }
                if let Err(e) = socket.ping().await {
                    return End::Lost(e.to_string());
                }
            }
            frame = frames.next() => {
                last_heard = Instant::now();
                match frame {
                    None => return End::Lost("socket closed".into()),
                    Some(Err(e)) => return End::Lost(e.to_string()),
                    Some(Ok(Message::Text(text))) => match EventMessage::parse(text.as_str()) {
                        Ok(mut event) => {
                            if let Event::RestResponse(response) = &mut event.event {
                                if response.request_id == PROBE_ID {
                                    // Any answer shows Asterisk reads requests here.
                                    if let Some(link) = rest {
                                        tracing::info!(status = response.status_code, "ARI requests go over the events socket");
                                        link.install(socket.clone());
                                    }
                                    continue;
                                }
                                // Ours, or the late answer to one of ours given up on.
                                if socket.answer(response)
                                    || response.request_id.parse::<u64>().is_ok()
                                {
                                    continue;
                                }
                            }
                            if !deliver(StreamEvent::Event(Box::new(event))) {
                                return End::ConsumerGone;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "ARI sent a frame that is not a JSON object"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                        return End::Lost(format!("closed by Asterisk {why}").trim_end().to_owned());
                    }
                    // Pings are answered by tungstenite; pongs only prove the link is alive.
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::SinkExt;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_and_resets() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay(&mut rng)).collect();
        let steps = [100u64, 200, 400, 800, 1000, 1000, 1000, 1000];
        for (d, step) in delays.iter().zip(steps) {
            let ms = d.as_millis() as u64;
            assert!(
                ms >= step / 2 && ms <= step,
                "{ms} outside [{}, {step}]",
                step / 2
            );
        }
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(100));
    }

    #[test]
    fn the_events_url_follows_the_base_url() {
        let mut o = StreamOptions::from_config(&AsteriskConfig::for_url("https://pbx:8089/ari/"));
        o.app = "sb one".into();
        let url = o.events_url().unwrap();
        assert_eq!(
            url.as_str(),
            "wss://pbx:8089/ari/events?app=sb+one&subscribeAll=false"
        );
    }

    type FarEnd = tokio_tungstenite::WebSocketStream<tokio::io::DuplexStream>;

    /// A pump over an in-memory socket: Asterisk's end of it, what the consumer is handed,
    /// the pump's task, and its stop switch (dropping it stops the pump).
    async fn pump_in_memory(
        rest: Option<Arc<RestLink>>,
    ) -> (
        FarEnd,
        mpsc::UnboundedReceiver<StreamEvent>,
        JoinHandle<End>,
        watch::Sender<bool>,
    ) {
        use tokio_tungstenite::WebSocketStream;
        use tokio_tungstenite::tungstenite::protocol::Role;
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let client = WebSocketStream::from_raw_socket(ours, Role::Client, None).await;
        let server = WebSocketStream::from_raw_socket(theirs, Role::Server, None).await;
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_tx, mut stop) = watch::channel(false);
        let mut deliver: Deliver = Box::new(move |item| tx.send(item).is_ok());
        let pumping = tokio::spawn(async move {
            let ping = Duration::from_secs(60);
            pump(client, &mut deliver, &mut stop, ping, rest.as_deref()).await
        });
        (server, rx, pumping, stop_tx)
    }

    #[tokio::test]
    async fn the_pump_forwards_events_drops_bad_frames_and_reports_a_close() {
        let (mut server, mut rx, pumping, _stop) = pump_in_memory(None).await;
        let stasis_end =
            r#"{"type":"StasisEnd","application":"a","timestamp":"t","channel":{"id":"c1"}}"#;
        server.send(Message::text(stasis_end)).await.unwrap();
        server.send(Message::text("not json")).await.unwrap();
        server.send(Message::Close(None)).await.unwrap();
        assert_eq!(
            pumping.await.unwrap(),
            End::Lost("closed by Asterisk".into())
        );
        match rx.try_recv().unwrap() {
            StreamEvent::Event(e) => assert_eq!(e.event.channel().unwrap().id, "c1"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            rx.try_recv().is_err(),
            "the bad frame is dropped, not forwarded"
        );
    }

    #[tokio::test]
    async fn requests_go_over_the_socket_once_asterisk_answers_there_and_fail_when_it_drops() {
        let link = Arc::new(RestLink::default());
        let (mut server, mut rx, pumping, _stop) = pump_in_memory(Some(link.clone())).await;
        let frame_json = |m: Option<Result<Message, tungstenite::Error>>| -> serde_json::Value {
            serde_json::from_str(m.unwrap().unwrap().to_text().unwrap()).unwrap()
        };

        // The reader asks first; nothing goes over the socket before Asterisk answers.
        let probe = frame_json(server.next().await);
        assert_eq!(probe["type"], "RESTRequest");
        assert_eq!(probe["uri"], "asterisk/ping");
        assert!(link.current().is_none());
        let pong = serde_json::json!({"type": "RESTResponse", "request_id": probe["request_id"],
            "transaction_id": probe["transaction_id"], "status_code": 200, "reason_phrase": "OK",
            "uri": "asterisk/ping", "content_type": "application/json",
            "message_body": "{\"ping\":\"pong\"}", "application": "a", "timestamp": "t"});
        server.send(Message::text(pong.to_string())).await.unwrap();
        let socket = loop {
            if let Some(s) = link.current() {
                break s;
            }
            tokio::task::yield_now().await;
        };

        // A request and its answer, with an event between them that still reaches the consumer.
        let asking = tokio::spawn({
            let socket = socket.clone();
            async move {
                socket
                    .send(
                        "POST",
                        "channels/c1/answer",
                        &[],
                        None,
                        Duration::from_secs(5),
                    )
                    .await
            }
        });
        let request = frame_json(server.next().await);
        assert_eq!(request["method"], "POST");
        assert_eq!(request["uri"], "channels/c1/answer");
        let event =
            r#"{"type":"StasisEnd","application":"a","timestamp":"t","channel":{"id":"c9"}}"#;
        server.send(Message::text(event)).await.unwrap();
        let not_found = serde_json::json!({"type": "RESTResponse",
            "request_id": request["request_id"], "transaction_id": request["transaction_id"],
            "status_code": 404, "reason_phrase": "Not Found", "uri": "channels/c1/answer",
            "content_type": "application/json",
            "message_body": "{\"message\":\"Channel not found\"}"});
        server
            .send(Message::text(not_found.to_string()))
            .await
            .unwrap();
        let answer = asking
            .await
            .unwrap()
            .unwrap()
            .expect("sent over the socket");
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, br#"{"message":"Channel not found"}"#);
        match rx.recv().await.unwrap() {
            StreamEvent::Event(e) => assert_eq!(e.event.channel().unwrap().id, "c9"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "answers are not events");

        // A request still waiting when the socket goes fails at once, and HTTP takes over.
        let waiting = tokio::spawn({
            let socket = socket.clone();
            async move {
                socket
                    .send("GET", "channels", &[], None, Duration::from_secs(30))
                    .await
            }
        });
        let _ = server.next().await;
        server.send(Message::Close(None)).await.unwrap();
        assert!(matches!(pumping.await.unwrap(), End::Lost(_)));
        let failed = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("failed before its timeout")
            .unwrap();
        assert!(matches!(failed, Err(AriError::Transport(_))), "{failed:?}");
        assert!(link.current().is_none());
        // A request on the closed socket is refused before anything is written: HTTP's turn.
        let refused = socket
            .send("GET", "channels", &[], None, Duration::from_secs(30))
            .await;
        assert!(matches!(refused, Ok(None)), "{refused:?}");
    }
}
