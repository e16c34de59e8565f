//! API reads: requests per second and the server's CPU per request for list pages read from
//! the embedded SQLite database, with `CONCURRENCY` clients (default 16) for `SECS` seconds
//! (default 10) after a warm-up.
//!
//! Each request is what an inbox or admin page does all day: the session is checked, then one
//! page of a list is read (`GET …/calls`, `GET …/queues`, in turn). Printed: requests/s,
//! latency p50/p99, the server's CPU per request and its thread switches per request.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Api, OPERATOR, Server, env_or, pct};
use serde_json::json;

async fn clients(base: &str, n: usize) -> Vec<Arc<Api>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Arc::new(Api::login(base, OPERATOR.0, OPERATOR.1).await));
    }
    out
}

/// Every client reads in a loop until `until`; returns each request's latency in ms.
async fn run(clients: &[Arc<Api>], paths: &[String], until: Instant) -> Vec<f64> {
    let mut tasks = Vec::new();
    for (i, api) in clients.iter().enumerate() {
        let api = api.clone();
        let paths = paths.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut n = i;
            while Instant::now() < until {
                let start = Instant::now();
                api.get(&paths[n % paths.len()]).await;
                samples.push(start.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all
}

fn main() {
    let concurrency = env_or("CONCURRENCY", 16) as usize;
    let secs = env_or("SECS", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "API reads (session check + one list page from SQLite), {concurrency} clients, {secs} s, {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let server = Server::start();
        let api = Api::login(&server.base, OPERATOR.0, OPERATOR.1).await;
        let tenant = api
            .post("/api/v1/tenants", json!({"name": "Bench", "slug": "bench"}))
            .await;
        let tid = tenant["id"].as_i64().expect("tenant");
        for i in 0..20 {
            api.post(
                &format!("/api/v1/tenants/{tid}/queues"),
                json!({"name": format!("queue-{i}")}),
            )
            .await;
        }
        let paths = vec![
            format!("/api/v1/tenants/{tid}/calls"),
            format!("/api/v1/tenants/{tid}/queues"),
        ];
        let pool = clients(&server.base, concurrency).await;
        run(&pool, &paths, Instant::now() + Duration::from_secs(2)).await;

        let cpu = server.cpu();
        let switches = server.thread_switches();
        let started = Instant::now();
        let mut samples = run(&pool, &paths, started + Duration::from_secs(secs)).await;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = (server.cpu() - cpu).as_secs_f64();
        let switches = server.thread_switches() - switches;
        samples.sort_by(|a, b| a.total_cmp(b));
        let n = samples.len() as f64;
        println!(
            "switchboard reads {:>9} requests {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {:>4.0} µs/request  thread switches {:>4.1}/request",
            samples.len(),
            n / elapsed,
            pct(&samples, 0.50),
            pct(&samples, 0.99),
            cpu / n * 1e6,
            switches as f64 / n,
        );
    });
}
