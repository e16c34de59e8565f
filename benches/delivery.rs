//! Customer message → agent inbox WebSocket delivery latency, with every message persisted,
//! at a steady rate (default 1,000 messages/s), measured beside a bare axum WebSocket echo on
//! the same machine as the ceiling.
//!
//! Visitors write through `/widget/ws`; an agent's `/api/v1/ws` receives the `message` events.
//! Latency runs from the visitor's send to the agent's receipt.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{Api, OPERATOR, Server, env_or, pct};

type Sent = Arc<Mutex<HashMap<u64, Instant>>>;

fn report(label: &str, mut samples: Vec<f64>, sent: u64, secs: f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label:<38} {:>6} delivered of {sent:>6} ({:>5.0}/s)  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / secs,
        pct(&samples, 0.50),
        pct(&samples, 0.99),
        samples.last().copied().unwrap_or(f64::NAN)
    );
}

/// Sends `total` numbered messages at `rate`/s through `send`, spread over the senders.
async fn pace<F, Fut>(rate: u64, total: u64, senders: usize, sent: &Sent, mut send: F)
where
    F: FnMut(usize, u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    for n in 0..total {
        let due = start + Duration::from_nanos(n * 1_000_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        sent.lock().unwrap().insert(n, Instant::now());
        send((n as usize) % senders, n).await;
    }
}

async fn switchboard_path(rate: u64, secs: u64, visitors: usize) {
    let server = Server::start();
    let api = Api::login(&server.base, OPERATOR.0, OPERATOR.1).await;
    let (tid, widget) = common::tenant_with_widget(&api).await;
    let ws_base = server.base.replace("http://", "ws://");

    // The agent's socket (the operator acts as owner and sees every event).
    let cookie = Api::cookie(&server.base, OPERATOR.0, OPERATOR.1).await;
    let mut req = format!("{ws_base}/api/v1/ws?tenant={tid}")
        .into_client_request()
        .expect("req");
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    let (agent, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("agent socket");

    let mut senders = Vec::new();
    for v in 0..visitors {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("{ws_base}/widget/ws?widget={widget}"))
                .await
                .expect("visitor");
        // Start each visitor's conversation before measuring.
        ws.send(Message::Text(
            json!({"type": "message", "client_id": format!("warm-{v}"), "content": "hello"})
                .to_string()
                .into(),
        ))
        .await
        .expect("warm up");
        let (sink, mut stream) = ws.split();
        tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        senders.push(Arc::new(tokio::sync::Mutex::new(sink)));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sent: Sent = Arc::default();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (_agent_sink, mut agent_stream) = agent.split();
    {
        let sent = sent.clone();
        let latencies = latencies.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = agent_stream.next().await {
                let Ok(text) = msg.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if v["kind"] != "message" {
                    continue;
                }
                let Some(n) = v["payload"]["content"]
                    .as_str()
                    .and_then(|c| c.strip_prefix("bench:"))
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                if let Some(t) = sent.lock().unwrap().remove(&n) {
                    latencies
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        });
    }
    let total = rate * secs;
    let started = Instant::now();
    pace(rate, total, senders.len(), &sent, |i, n| {
        let sink = senders[i].clone();
        async move {
            let frame = json!({"type": "message", "client_id": format!("m-{n}"), "content": format!("bench:{n}")});
            // Sends are spawned so one slow socket never delays the pacing of the others.
            tokio::spawn(async move {
                let _ = sink.lock().await.send(Message::Text(frame.to_string().into())).await;
            });
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64() - 2.0;
    let samples = latencies.lock().unwrap().clone();
    report(
        "switchboard visitor → agent (persisted)",
        samples,
        total,
        elapsed,
    );
    println!(
        "server RSS at the end: {:.1} MiB",
        server.rss() as f64 / 1048576.0
    );
}

async fn echo_ceiling(rate: u64, secs: u64) {
    use axum::extract::ws::{Message as AxMessage, WebSocketUpgrade};
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::get(|up: WebSocketUpgrade| async move {
            up.on_upgrade(|mut ws| async move {
                while let Some(Ok(m)) = ws.recv().await {
                    if let AxMessage::Text(t) = m
                        && ws.send(AxMessage::Text(t)).await.is_err()
                    {
                        return;
                    }
                }
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/echo"))
        .await
        .expect("echo socket");
    let (sink, mut stream) = ws.split();
    let sink = Arc::new(tokio::sync::Mutex::new(sink));
    let sent: Sent = Arc::default();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    {
        let sent = sent.clone();
        let latencies = latencies.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Some(n) = msg
                    .to_text()
                    .ok()
                    .and_then(|t| t.strip_prefix("bench:"))
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                if let Some(t) = sent.lock().unwrap().remove(&n) {
                    latencies
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        });
    }
    let total = rate * secs;
    let started = Instant::now();
    pace(rate, total, 1, &sent, |_, n| {
        let sink = sink.clone();
        async move {
            let _ = sink
                .lock()
                .await
                .send(Message::Text(format!("bench:{n}").into()))
                .await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let elapsed = started.elapsed().as_secs_f64() - 0.5;
    let samples = latencies.lock().unwrap().clone();
    report("ceiling: bare axum WebSocket echo", samples, total, elapsed);
}

#[tokio::main]
async fn main() {
    let rate = env_or("SB_BENCH_RATE", 1000);
    let secs = env_or("SB_BENCH_SECS", 10);
    let visitors = env_or("SB_BENCH_VISITORS", 50) as usize;
    println!(
        "delivery benchmark: {rate} messages/s for {secs} s from {visitors} visitors (goal p99 < 20 ms)"
    );
    echo_ceiling(rate, secs).await;
    switchboard_path(rate, secs, visitors).await;
}
