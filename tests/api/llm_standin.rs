//! A loopback stand-in for LLM providers, for any test that needs a model.
//!
//! It serves, on `127.0.0.1` with a random port:
//! - OpenAI-compatible `POST /v1/chat/completions` and `POST /v1/embeddings`
//!   (point [`switchboard::ai::llm::OpenAiConfig::base_url`] at [`LlmStandin::openai_base`]);
//! - Azure-style `POST /openai/deployments/{d}/chat/completions` and `…/{d}/embeddings`
//!   (base URL [`LlmStandin::url`] with an `AzureConfig`);
//! - Anthropic `POST /v1/messages` (base URL [`LlmStandin::url`]).
//!
//! Every request is recorded ([`LlmStandin::requests`]). Each request takes the next
//! [`Script`] pushed with [`LlmStandin::push`]; with none left it gives a default answer
//! ([`DEFAULT_REPLY`], or [`default_embedding`] per input). A request with `"stream": true`
//! is answered in the provider's SSE format: text in several deltas, tool arguments in
//! fragments, usage last when `stream_options.include_usage` asks (OpenAI). Bodies are sent
//! in small pieces that may split an event or a UTF-8 character, as a network may.
//!
//! Shapes follow the providers' documented formats: OpenAI `chat.completion` /
//! `chat.completion.chunk` / `list` of `embedding`; Anthropic `message` and the
//! `message_start … message_stop` events with `ping`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

/// The text answered when the script is empty.
pub const DEFAULT_REPLY: &str = "Hello from the LLM stand-in.";
/// The prompt token count every answer reports.
pub const INPUT_TOKENS: u64 = 11;
/// The completion token count every chat answer reports.
pub const OUTPUT_TOKENS: u64 = 7;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Script {
    /// OpenAI-compatible text answer, `finish_reason: "stop"`.
    OpenAiText(String),
    /// One OpenAI tool call; `arguments` is sent verbatim (it may be invalid JSON).
    OpenAiToolCall { name: String, arguments: String },
    /// Parallel OpenAI tool calls `(name, arguments)`, streamed with indices 0, 1, ….
    OpenAiToolCalls(Vec<(String, String)>),
    /// Parallel tool calls `(name, arguments)` streamed as Ollama does: every call at index 0,
    /// told apart only by a new `id` (arguments still fragmented). Plain answers are as
    /// [`Script::OpenAiToolCalls`].
    OllamaToolCalls(Vec<(String, String)>),
    /// Anthropic text answer, `stop_reason: "end_turn"`.
    AnthropicText(String),
    /// One Anthropic `tool_use` block, `stop_reason: "tool_use"`.
    AnthropicToolUse { name: String, input: Value },
    /// Embedding vectors, one per input, in order.
    Embeddings(Vec<Vec<f32>>),
    /// An error status with the provider's error body (OpenAI or Anthropic shape, by path)
    /// and, when given, a `retry-after` header in seconds.
    Status(u16, Option<u64>),
    /// Waits before answering with the inner script.
    Delay(Duration, Box<Script>),
    /// This status and JSON body, verbatim.
    Raw { status: u16, body: String },
    /// A 200 `text/event-stream` with this body, verbatim.
    RawSse(String),
    /// Like [`Script::RawSse`], then the stream stays open without another byte.
    StalledSse(String),
}

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The query string without `?`, when there was one.
    pub query: Option<String>,
    /// Headers by lowercase name.
    pub headers: HashMap<String, String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// The running stand-in; stops when dropped.
pub struct LlmStandin {
    base: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Script>>,
    requests: Mutex<Vec<Recorded>>,
    ids: AtomicU64,
}

impl Shared {
    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl LlmStandin {
    /// Starts on `127.0.0.1:0`.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(openai_chat))
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(openai_chat),
            )
            .route("/v1/embeddings", post(embeddings))
            .route(
                "/openai/deployments/{deployment}/embeddings",
                post(embeddings),
            )
            .route("/v1/messages", post(anthropic))
            .fallback(unknown)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the LLM stand-in");
        let port = listener.local_addr().expect("stand-in address").port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LlmStandin {
            base: format!("http://127.0.0.1:{port}"),
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`: the base URL for Anthropic and Azure configs.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL for an OpenAI-compatible config.
    pub fn openai_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Queues the answer to a later request (first pushed, first used).
    pub fn push(&self, script: Script) {
        self.shared
            .script
            .lock()
            .expect("script lock")
            .push_back(script);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests lock").clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the stand-in received a request")
    }
}

impl Drop for LlmStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The vector answered for `input` when no [`Script::Embeddings`] is queued.
pub fn default_embedding(input: &str) -> Vec<f32> {
    let byte_sum: u32 = input.bytes().map(u32::from).sum();
    vec![input.chars().count() as f32, byte_sum as f32 / 1000.0, 1.0]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    OpenAi,
    Anthropic,
    Embeddings,
}

async fn openai_chat(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&s, Api::OpenAi, uri, headers, body).await
}

async fn embeddings(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&s, Api::Embeddings, uri, headers, body).await
}

async fn anthropic(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&s, Api::Anthropic, uri, headers, body).await
}

async fn unknown(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&s, &uri, &headers, &body);
    json_response(
        404,
        json!({"error": {"message": format!("stand-in: no route {}", uri.path()), "type": "not_found_error", "param": null, "code": null}}),
    )
}

fn record(s: &Shared, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    s.requests.lock().expect("requests lock").push(Recorded {
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body: json.clone(),
    });
    json
}

async fn handle(s: &Shared, api: Api, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request = record(s, &uri, &headers, &body);
    let popped = s.script.lock().expect("script lock").pop_front();
    let mut script = popped.unwrap_or_else(|| match api {
        Api::OpenAi => Script::OpenAiText(DEFAULT_REPLY.into()),
        Api::Anthropic => Script::AnthropicText(DEFAULT_REPLY.into()),
        Api::Embeddings => Script::Embeddings(
            inputs(&request)
                .iter()
                .map(|i| default_embedding(i))
                .collect(),
        ),
    });
    while let Script::Delay(wait, inner) = script {
        tokio::time::sleep(wait).await;
        script = *inner;
    }
    answer(s, api, script, &request)
}

fn inputs(request: &Value) -> Vec<String> {
    match &request["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

fn answer(s: &Shared, api: Api, script: Script, request: &Value) -> Response {
    let streaming = request["stream"] == json!(true);
    let include_usage = request["stream_options"]["include_usage"] == json!(true);
    let model = request["model"]
        .as_str()
        .unwrap_or("standin-model")
        .to_string();
    let id = s.next_id();
    match (api, script) {
        (_, Script::Status(status, retry_after)) => {
            let mut response = json_response(status, error_body(api, status));
            if let Some(secs) = retry_after {
                response.headers_mut().insert(
                    "retry-after",
                    secs.to_string().parse().expect("header value"),
                );
            }
            response
        }
        (_, Script::Raw { status, body }) => raw_response(status, "application/json", body),
        (_, Script::RawSse(body)) => sse_response(body),
        (_, Script::StalledSse(body)) => stalled_sse_response(body),
        (Api::OpenAi, Script::OpenAiText(text)) => {
            if streaming {
                sse_response(openai_text_stream(id, &model, &text, include_usage))
            } else {
                json_response(
                    200,
                    openai_completion(
                        id,
                        &model,
                        json!({"role": "assistant", "content": text, "refusal": null}),
                        "stop",
                    ),
                )
            }
        }
        (Api::OpenAi, Script::OpenAiToolCall { name, arguments }) => openai_tool_calls(
            s,
            id,
            &model,
            vec![(name, arguments)],
            streaming,
            include_usage,
            false,
        ),
        (Api::OpenAi, Script::OpenAiToolCalls(calls)) => {
            openai_tool_calls(s, id, &model, calls, streaming, include_usage, false)
        }
        (Api::OpenAi, Script::OllamaToolCalls(calls)) => {
            openai_tool_calls(s, id, &model, calls, streaming, include_usage, true)
        }
        (Api::Anthropic, Script::AnthropicText(text)) => {
            if streaming {
                sse_response(anthropic_stream(id, &model, Block::Text(&text)))
            } else {
                json_response(
                    200,
                    anthropic_message(
                        id,
                        &model,
                        json!([{"type": "text", "text": text}]),
                        "end_turn",
                    ),
                )
            }
        }
        (Api::Anthropic, Script::AnthropicToolUse { name, input }) => {
            let tool_id = format!("toolu_standin_{}", s.next_id());
            if streaming {
                sse_response(anthropic_stream(
                    id,
                    &model,
                    Block::Tool {
                        id: &tool_id,
                        name: &name,
                        input: &input,
                    },
                ))
            } else {
                json_response(
                    200,
                    anthropic_message(
                        id,
                        &model,
                        json!([{"type": "tool_use", "id": tool_id, "name": name, "input": input}]),
                        "tool_use",
                    ),
                )
            }
        }
        (Api::Embeddings, Script::Embeddings(vectors)) => {
            let data: Vec<Value> = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
                .collect();
            json_response(
                200,
                json!({
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": INPUT_TOKENS, "total_tokens": INPUT_TOKENS},
                }),
            )
        }
        (api, script) => {
            let message = format!("stand-in: script {script:?} does not fit a {api:?} request");
            let body = match api {
                Api::Anthropic => {
                    json!({"type": "error", "error": {"type": "api_error", "message": message}})
                }
                _ => {
                    json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}})
                }
            };
            json_response(500, body)
        }
    }
}

fn error_body(api: Api, status: u16) -> Value {
    if api == Api::Anthropic {
        let (kind, message) = match status {
            400 => ("invalid_request_error", "messages: field required"),
            401 => ("authentication_error", "invalid x-api-key"),
            403 => ("permission_error", "Your API key does not have permission"),
            404 => ("not_found_error", "model: not found"),
            429 => (
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
            529 => ("overloaded_error", "Overloaded"),
            _ => ("api_error", "Internal server error"),
        };
        return json!({"type": "error", "error": {"type": kind, "message": message}});
    }
    let (kind, code, message) = match status {
        401 => (
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        ),
        404 => (
            "invalid_request_error",
            Some("model_not_found"),
            "The model does not exist.",
        ),
        429 => (
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached for requests.",
        ),
        s if s >= 500 => (
            "server_error",
            None,
            "The server had an error while processing your request.",
        ),
        _ => ("invalid_request_error", None, "Invalid request."),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn openai_completion(id: u64, model: &str, message: Value, finish: &str) -> Value {
    json!({
        "id": format!("chatcmpl-standin-{id}"),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        },
    })
}

/// Builds the `data:` lines of an OpenAI stream.
struct OpenAiStream {
    id: u64,
    model: String,
    include_usage: bool,
    out: String,
}

impl OpenAiStream {
    fn new(id: u64, model: &str, include_usage: bool) -> Self {
        OpenAiStream {
            id,
            model: model.to_string(),
            include_usage,
            out: String::new(),
        }
    }

    fn chunk(&mut self, delta: Value, finish: Option<&str>) {
        let mut chunk = json!({
            "id": format!("chatcmpl-standin-{}", self.id),
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        // Documented: with include_usage, every chunk but the last carries `usage: null`.
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        self.out.push_str(&format!("data: {chunk}\n\n"));
    }

    fn end(mut self) -> String {
        if self.include_usage {
            let usage = json!({
                "id": format!("chatcmpl-standin-{}", self.id),
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": self.model,
                "choices": [],
                "usage": {
                    "prompt_tokens": INPUT_TOKENS,
                    "completion_tokens": OUTPUT_TOKENS,
                    "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
                },
            });
            self.out.push_str(&format!("data: {usage}\n\n"));
        }
        self.out.push_str("data: [DONE]\n\n");
        self.out
    }
}

fn openai_text_stream(id: u64, model: &str, text: &str, include_usage: bool) -> String {
    let mut stream = OpenAiStream::new(id, model, include_usage);
    stream.chunk(json!({"role": "assistant", "content": ""}), None);
    for piece in pieces(text, 5) {
        stream.chunk(json!({"content": piece}), None);
    }
    stream.chunk(json!({}), Some("stop"));
    stream.end()
}

fn openai_tool_calls(
    s: &Shared,
    id: u64,
    model: &str,
    calls: Vec<(String, String)>,
    streaming: bool,
    include_usage: bool,
    ollama: bool,
) -> Response {
    let calls: Vec<(String, String, String)> = calls
        .into_iter()
        .map(|(name, arguments)| (format!("call_standin_{}", s.next_id()), name, arguments))
        .collect();
    if !streaming {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|(call_id, name, arguments)| {
                json!({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        return json_response(
            200,
            openai_completion(
                id,
                model,
                json!({"role": "assistant", "content": null, "tool_calls": tool_calls, "refusal": null}),
                "tool_calls",
            ),
        );
    }
    let mut stream = OpenAiStream::new(id, model, include_usage);
    for (i, (call_id, name, arguments)) in calls.iter().enumerate() {
        let index = if ollama { 0 } else { i };
        let fragments = pieces(arguments, arguments.chars().count().div_ceil(3).max(1));
        // OpenAI opens a call with an empty argument string; Ollama's first chunk has some.
        let (first, rest) = if ollama {
            (
                fragments.first().cloned().unwrap_or_default(),
                fragments.get(1..).unwrap_or_default().to_vec(),
            )
        } else {
            (String::new(), fragments)
        };
        let mut opening = json!({"tool_calls": [{
            "index": index, "id": call_id, "type": "function",
            "function": {"name": name, "arguments": first},
        }]});
        if i == 0 {
            opening["role"] = json!("assistant");
            opening["content"] = Value::Null;
        }
        stream.chunk(opening, None);
        for fragment in rest {
            stream.chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                None,
            );
        }
    }
    stream.chunk(json!({}), Some("tool_calls"));
    sse_response(stream.end())
}

fn anthropic_message(id: u64, model: &str, content: Value, stop: &str) -> Value {
    json!({
        "id": format!("msg_standin_{id}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
    })
}

enum Block<'a> {
    Text(&'a str),
    Tool {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
}

fn anthropic_stream(id: u64, model: &str, block: Block<'_>) -> String {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_standin_{id}"), "type": "message", "role": "assistant",
            "content": [], "model": model, "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
        }}),
    );
    let stop = match block {
        Block::Text(text) => {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            );
            event("ping", json!({"type": "ping"}));
            for piece in pieces(text, 5) {
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
                );
            }
            "end_turn"
        }
        Block::Tool { id, name, input } => {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
            );
            event("ping", json!({"type": "ping"}));
            let json_text = input.to_string();
            let mut fragments = vec![String::new()];
            fragments.extend(pieces(
                &json_text,
                json_text.chars().count().div_ceil(3).max(1),
            ));
            for fragment in fragments {
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": fragment}}),
                );
            }
            "tool_use"
        }
    };
    event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": OUTPUT_TOKENS}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

/// `text` in pieces of `size` characters.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

fn json_response(status: u16, body: Value) -> Response {
    raw_response(status, "application/json", body.to_string())
}

fn raw_response(status: u16, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("response")
}

/// `body` in 7-byte pieces, so events and UTF-8 characters straddle reads.
fn sse_pieces(body: String) -> Vec<Result<Bytes, Infallible>> {
    let bytes = Bytes::from(body);
    (0..bytes.len())
        .step_by(7)
        .map(|start| Ok(bytes.slice(start..(start + 7).min(bytes.len()))))
        .collect()
}

fn sse_body(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .expect("response")
}

fn sse_response(body: String) -> Response {
    sse_body(Body::from_stream(futures::stream::iter(sse_pieces(body))))
}

fn stalled_sse_response(body: String) -> Response {
    let stream = futures::stream::iter(sse_pieces(body)).chain(futures::stream::pending());
    sse_body(Body::from_stream(stream))
}
