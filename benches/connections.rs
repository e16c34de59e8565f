//! Idle website-widget WebSockets held by one server process, and memory per connection.
//!
//! Starts the real server, opens `SB_BENCH_CONNECTIONS` visitor sockets (default: as many as
//! the file-descriptor limit allows, at most 50,000), waits for each `ready`, then reads the
//! server's resident memory. Prints the count, the memory per connection, and the memory
//! 50,000 connections would take at that rate.

mod common;

use std::time::Instant;

use futures::StreamExt;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{Api, OPERATOR, Server};

fn fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(addr: std::net::SocketAddr, url: &str, i: usize) -> Socket {
    // Spread clients over several loopback source addresses so ephemeral ports never run out.
    let source = std::net::Ipv4Addr::new(127, 0, (i / 20_000) as u8, 2 + (i % 200) as u8);
    let sock = TcpSocket::new_v4().expect("socket");
    sock.bind((source, 0).into()).expect("bind");
    let stream = sock.connect(addr).await.expect("connect");
    let req = url.into_client_request().expect("request");
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("upgrade");
    // hello, then ready
    for _ in 0..2 {
        ws.next().await.expect("frame").expect("frame ok");
    }
    ws
}

#[tokio::main]
async fn main() {
    let server = Server::start();
    let api = Api::login(&server.base, OPERATOR.0, OPERATOR.1).await;
    let (_, widget) = common::tenant_with_widget(&api).await;
    let addr: std::net::SocketAddr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let url = format!("ws://{addr}/widget/ws?widget={widget}");

    // The server and this client each need one descriptor per connection, plus some spare.
    let want: usize = std::env::var("SB_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| (fd_limit().saturating_sub(500)).min(50_000));
    println!(
        "connections benchmark: {want} idle widget sockets (file-descriptor limit {} per process)",
        fd_limit()
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = server.rss();
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(want);
    let mut i = 0;
    while i < want {
        let batch = (want - i).min(500);
        let opened = futures::future::join_all((i..i + batch).map(|n| open(addr, &url, n))).await;
        sockets.extend(opened);
        i += batch;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let after = server.rss();
    let per = (after.saturating_sub(before)) as f64 / want.max(1) as f64;
    println!(
        "opened {} connections in {:.1} s ({:.0}/s)",
        sockets.len(),
        elapsed.as_secs_f64(),
        sockets.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "server RSS before {:.1} MiB, after {:.1} MiB",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!("memory per idle connection: {:.1} KiB", per / 1024.0);
    println!(
        "projected for 50,000 connections: {:.0} MiB (goal: within 2 GiB) → {}",
        (before as f64 + per * 50_000.0) / 1048576.0,
        if before as f64 + per * 50_000.0 <= 2.0 * 1024.0 * 1048576.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    drop(sockets);
}
