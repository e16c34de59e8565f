//! The ARI stand-in of the api tests (`tests/api/ari_standin/`) as a program, so a running
//! Switchboard can take calls without an Asterisk: the browser tests place calls through it,
//! and a developer can watch the inbox ring. Dev-only (a Cargo example is never in the
//! product).
//!
//! ```sh
//! cargo run --example ari_standin -- [--ari 127.0.0.1:0] [--control 127.0.0.1:0]
//! ```
//!
//! It prints where it listens:
//!
//! ```text
//! ARI stand-in at http://127.0.0.1:PORT/ari (user switchboard, password switchboard)
//! control API at http://127.0.0.1:PORT/control
//! ```
//!
//! Point Switchboard at the first (`SWITCHBOARD_VOICE__ASTERISK='[{name="standin",
//! url="http://127.0.0.1:PORT/ari",username="switchboard",password="switchboard"}]'`) and
//! play the far ends through the second, JSON in and out:
//!
//! | request | what happens |
//! | --- | --- |
//! | `POST /control/calls {did, caller}` | a trunk call to `did` enters the app; answers `{channel}` |
//! | `POST /control/calls/{channel}/dtmf {digit}` | the far end sends a digit (`0`–`9`, `*`, `#`, `A`–`D`) |
//! | `POST /control/calls/{channel}/hangup` | the far end hangs up (caller or agent leg) |
//! | `POST /control/calls/{channel}/answer` | the agent picks up the ringing leg |
//! | `POST /control/phones/{endpoint} {behaviour, after_ms}` | how phone `PJSIP/{endpoint}` reacts: `answers` (after `after_ms`), `busy`, `no_answer`, `unregistered` |
//! | `GET /control/requests` | every ARI request received, in order: `[{method, path, query, body}]` |
//! | `GET /control/channels` | the channels, as `GET /ari/channels` lists them |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};

// The api tests use every helper of the stand-in; this program needs only some of them.
#[allow(dead_code)]
#[path = "../tests/api/ari_standin/mod.rs"]
mod ari_standin;

use ari_standin::{AriStandIn, Behaviour};

/// Where to listen.
#[derive(Debug, Parser)]
#[command(about = "The ARI stand-in of Switchboard's tests, with a control API")]
struct Args {
    /// Address of the ARI (REST and events socket).
    #[arg(long, default_value = "127.0.0.1:0")]
    ari: SocketAddr,
    /// Address of the control API.
    #[arg(long, default_value = "127.0.0.1:0")]
    control: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let standin = Arc::new(AriStandIn::start_at(args.ari).await);
    let listener = tokio::net::TcpListener::bind(args.control).await?;
    let control = listener.local_addr()?;
    let app = Router::new()
        .route("/control/calls", post(new_call))
        .route("/control/calls/{channel}/dtmf", post(dtmf))
        .route("/control/calls/{channel}/hangup", post(hangup))
        .route("/control/calls/{channel}/answer", post(answer))
        .route("/control/phones/{endpoint}", post(phone))
        .route("/control/requests", get(requests))
        .route("/control/channels", get(channels))
        .with_state(standin.clone());
    println!(
        "ARI stand-in at {} (user {}, password {})",
        standin.url(),
        ari_standin::USERNAME,
        ari_standin::PASSWORD
    );
    println!("control API at http://{control}/control");
    tokio::select! {
        served = axum::serve(listener, app) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

type Shared = State<Arc<AriStandIn>>;

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn exists(s: &AriStandIn, channel: &str) -> bool {
    s.channels().iter().any(|c| c["id"] == channel)
}

#[derive(Deserialize)]
struct NewCall {
    did: String,
    caller: String,
}

async fn new_call(State(s): Shared, Json(call): Json<NewCall>) -> Response {
    let channel = s.inbound_call(&call.did, &call.caller);
    (StatusCode::CREATED, Json(json!({"channel": channel}))).into_response()
}

#[derive(Deserialize)]
struct Digit {
    digit: String,
}

async fn dtmf(State(s): Shared, Path(channel): Path<String>, Json(d): Json<Digit>) -> Response {
    let mut chars = d.digit.chars();
    let (Some(digit), None) = (chars.next(), chars.next()) else {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "digit: one character");
    };
    if !(digit.is_ascii_digit() || "*#ABCD".contains(digit)) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "digit: 0-9, *, # or A-D");
    }
    if !exists(&s, &channel) {
        return refuse(StatusCode::NOT_FOUND, "no such channel");
    }
    s.press(&channel, digit);
    StatusCode::NO_CONTENT.into_response()
}

async fn hangup(State(s): Shared, Path(channel): Path<String>) -> Response {
    if !exists(&s, &channel) {
        return refuse(StatusCode::NOT_FOUND, "no such channel");
    }
    // The same SIP BYE whichever end sends it.
    s.caller_hangs_up(&channel);
    StatusCode::NO_CONTENT.into_response()
}

async fn answer(State(s): Shared, Path(channel): Path<String>) -> Response {
    let ringing = s
        .channels()
        .iter()
        .any(|c| c["id"] == channel.as_str() && c["state"] == "Ringing");
    if !ringing {
        return refuse(StatusCode::CONFLICT, "no such ringing leg");
    }
    s.agent_answers(&channel);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Phone {
    behaviour: String,
    after_ms: Option<u64>,
}

async fn phone(State(s): Shared, Path(endpoint): Path<String>, Json(p): Json<Phone>) -> Response {
    let behaviour = match p.behaviour.as_str() {
        "answers" => Behaviour::Answers {
            after: Duration::from_millis(p.after_ms.unwrap_or(500)),
        },
        "busy" => Behaviour::Busy,
        "no_answer" => Behaviour::NoAnswer,
        "unregistered" => Behaviour::Unregistered,
        _ => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "behaviour: answers, busy, no_answer or unregistered",
            );
        }
    };
    s.phone(&endpoint, behaviour);
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(s): Shared) -> Json<Value> {
    let list = s
        .requests()
        .into_iter()
        .map(|r| {
            // First occurrence wins, as `Request::param` reads them.
            let mut query = BTreeMap::new();
            for (k, v) in r.query {
                query.entry(k).or_insert(v);
            }
            json!({"method": r.method, "path": r.path, "query": query, "body": r.body})
        })
        .collect();
    Json(Value::Array(list))
}

async fn channels(State(s): Shared) -> Json<Value> {
    Json(Value::Array(s.channels()))
}
