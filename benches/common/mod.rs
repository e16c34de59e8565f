//! Shared by the network benchmarks: start the real `switchboard` binary on a free port with a
//! fresh SQLite database, set up a tenant, a queue and a widget over its API, and read the
//! server's memory from /proc.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub const OPERATOR: (&str, &str) = ("bench@example.com", "bench-password-1");

pub struct Server {
    pub child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts the server with extra environment (settings such as `SWITCHBOARD_VOICE__…`).
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .envs(env.iter().copied())
            .env("SWITCHBOARD_DATA_DIR", dir.path())
            .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_ADMIN_EMAIL", OPERATOR.0)
            .env("SWITCHBOARD_ADMIN_PASSWORD", OPERATOR.1)
            .env("SWITCHBOARD_LOG__FILTER", server_log_filter())
            .stdout(Stdio::piped())
            // SB_BENCH_SERVER_LOG=1 shows the server's warnings and errors; any other value is
            // the server's log filter (`SB_BENCH_SERVER_LOG=sqlx::query=debug` lists its SQL).
            .stderr(if std::env::var_os("SB_BENCH_SERVER_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("server starts");
        let mut base = String::new();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for line in lines.by_ref() {
            let line = line.expect("line");
            if let Some(rest) = line.strip_prefix("Switchboard is running at ") {
                base = rest.split(' ').next().unwrap_or_default().to_owned();
                break;
            }
        }
        assert!(!base.is_empty(), "the server did not report its address");
        // The log goes to stdout; shown when asked for, else drained so the server never blocks
        // on a full pipe.
        let show = std::env::var_os("SB_BENCH_SERVER_LOG").is_some();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if show {
                    eprintln!("{line}");
                }
            }
        });
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    /// CPU time the server process used so far (user + system), from /proc.
    pub fn cpu(&self) -> std::time::Duration {
        proc_cpu(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Thread switches of the server so far, over all its threads (voluntary: a thread slept
    /// or waited; involuntary: it was preempted). Each costs a trip through the kernel's
    /// scheduler, which `perf` showed as a large share of the voice path's CPU. Threads that
    /// exited meanwhile (blocking-pool threads idle for 10 s) take their counts with them, so a
    /// build that uses the blocking pool more may be undercounted, never overcounted.
    pub fn thread_switches(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .map(|task| {
                std::fs::read_to_string(task.path().join("status"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| {
                        l.strip_prefix("voluntary_ctxt_switches:")
                            .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                    })
                    .filter_map(|v| v.trim().parse::<u64>().ok())
                    .sum::<u64>()
            })
            .sum()
    }

    /// Resident memory of the server process, bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An operator session with its CSRF token.
pub struct Api {
    pub base: String,
    http: reqwest::Client,
    csrf: String,
}

impl Api {
    pub async fn login(base: &str, email: &str, password: &str) -> Api {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let r: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        Api {
            base: base.to_owned(),
            http,
            csrf: r["csrf_token"].as_str().expect("csrf").to_owned(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    pub async fn put(&self, path: &str, body: Value) -> Value {
        self.http
            .put(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// A GET; panics unless it answers 200.
    pub async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.expect("json")
    }

    /// The session cookie, for WebSocket upgrades.
    pub async fn cookie(base: &str, email: &str, password: &str) -> String {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
        let set = res.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_owned();
        set.split(';').next().unwrap_or_default().to_owned()
    }
}

/// Creates a tenant with a queue and a widget; returns (tenant id, widget public id).
pub async fn tenant_with_widget(api: &Api) -> (i64, String) {
    let t = api
        .post("/api/v1/tenants", json!({"name": "Bench", "slug": "bench"}))
        .await;
    let tid = t["id"].as_i64().expect("tenant");
    let q = api
        .post(
            &format!("/api/v1/tenants/{tid}/queues"),
            json!({"name": "Web"}),
        )
        .await;
    let w = api
        .post(
            &format!("/api/v1/tenants/{tid}/widgets"),
            json!({"name": "Bench", "queue_id": q["id"]}),
        )
        .await;
    (tid, w["public_id"].as_str().expect("widget").to_owned())
}

/// A whole-number setting from the environment, `default` when unset or not a number.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p-th percentile of sorted samples.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// User + system CPU time of the process whose `stat` file is `path` (`/proc/self/stat` for
/// this one).
pub fn proc_cpu(path: &str) -> std::time::Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on every Linux we run on.
    std::time::Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn server_log_filter() -> String {
    match std::env::var("SB_BENCH_SERVER_LOG") {
        Ok(filter) if filter != "1" && !filter.is_empty() => filter,
        _ => "warn".to_owned(),
    }
}
