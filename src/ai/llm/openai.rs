//! The OpenAI Chat Completions wire format, as spoken by OpenAI, Azure OpenAI, Ollama, vLLM
//! and llama.cpp: request encoding, answer decoding, the streamed-chunk accumulator, and
//! embeddings.
//!
//! Choices made for the compatible servers:
//! - `tool_choice` is never sent (Ollama rejects it; vLLM rejects `auto` unless started with
//!   tool flags); "auto" is the default whenever tools are present anyway.
//! - `tools` is left out when empty (OpenAI rejects an empty list).
//! - Tool arguments are re-encoded from the parsed object, never echoed as the model's raw
//!   text: Ollama refuses a history whose tool-call arguments are not valid JSON.
//! - A tool error has no field of its own here, so its content is prefixed with `Error: `.
//! - Tool calls with `finish_reason: "stop"` count as [`StopReason::ToolUse`] (older Ollama).
//! - Arguments that arrive as an object instead of a string are accepted.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{LlmError, from_stream_error};
use super::model::{
    Block, ChatRequest, ChatResponse, Role, StopReason, Usage, parse_tool_arguments,
};
use super::sse::SseStream;
use super::{AzureConfig, OpenAiConfig};

/// `{base}/chat/completions`, or Azure's deployment URL.
pub(super) fn chat_url(config: &OpenAiConfig) -> String {
    match &config.azure {
        Some(azure) => azure_url(
            &config.base_url,
            &azure.deployment,
            "chat/completions",
            azure,
        ),
        None => format!("{}/chat/completions", config.base_url),
    }
}

/// `{base}/embeddings`; on Azure the model name is the embeddings deployment, since a chat
/// deployment cannot embed.
pub(super) fn embeddings_url(config: &OpenAiConfig, model: &str) -> String {
    match &config.azure {
        Some(azure) => azure_url(&config.base_url, model, "embeddings", azure),
        None => format!("{}/embeddings", config.base_url),
    }
}

fn azure_url(base: &str, deployment: &str, operation: &str, azure: &AzureConfig) -> String {
    let mut url = format!("{base}/openai/deployments/{deployment}/{operation}");
    // Through `url` so a deployment or version with odd characters is still a valid URL.
    if let Ok(mut parsed) = url::Url::parse(&url) {
        parsed
            .query_pairs_mut()
            .append_pair("api-version", &azure.api_version);
        url = parsed.into();
    }
    url
}

#[derive(Serialize)]
struct RequestWire<'a> {
    model: &'a str,
    messages: Vec<MessageWire<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolWire<'a>>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum MessageWire<'a> {
    System {
        content: &'a str,
    },
    User {
        content: String,
    },
    Assistant {
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: String,
    },
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Serialize)]
struct ToolWire<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: ToolFunctionWire<'a>,
}

#[derive(Serialize)]
struct ToolFunctionWire<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// The JSON body for `POST …/chat/completions`.
pub(super) fn encode_request(req: &ChatRequest, stream: bool) -> Result<Vec<u8>, LlmError> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(MessageWire::System {
            content: &req.system,
        });
    }
    for message in &req.messages {
        let mut texts = Vec::new();
        let mut calls = Vec::new();
        let mut results = Vec::new();
        for block in &message.content {
            match block {
                Block::Text(t) if !t.is_empty() => texts.push(t.as_str()),
                Block::Text(_) => {}
                Block::ToolUse { id, name, input } => calls.push(ToolCallOut {
                    id,
                    kind: "function",
                    function: FunctionOut {
                        name,
                        arguments: input.to_string(),
                    },
                }),
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => results.push(MessageWire::Tool {
                    tool_call_id: tool_use_id,
                    content: if *is_error {
                        format!("Error: {content}")
                    } else {
                        content.clone()
                    },
                }),
            }
        }
        let text = (!texts.is_empty()).then(|| texts.join("\n\n"));
        match message.role {
            Role::Assistant => {
                if text.is_some() || !calls.is_empty() {
                    messages.push(MessageWire::Assistant {
                        content: text,
                        tool_calls: calls,
                    });
                }
                messages.extend(results);
            }
            // Tool messages must directly follow the assistant's tool calls, so a user
            // message's results go before its text. Tool calls have no place in a user turn.
            Role::User => {
                messages.extend(results);
                if let Some(content) = text {
                    messages.push(MessageWire::User { content });
                }
            }
        }
    }
    let tools = req
        .tools
        .iter()
        .map(|t| ToolWire {
            kind: "function",
            function: ToolFunctionWire {
                name: &t.name,
                description: &t.description,
                parameters: &t.input_schema,
            },
        })
        .collect();
    let wire = RequestWire {
        model: &req.model,
        messages,
        tools,
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    serde_json::to_vec(&wire).map_err(|e| LlmError::Malformed(format!("encoding request: {e}")))
}

#[derive(Deserialize)]
struct CompletionWire {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<ChoiceWire>,
    #[serde(default)]
    usage: Option<UsageWire>,
}

#[derive(Deserialize)]
struct ChoiceWire {
    #[serde(default)]
    index: u32,
    message: AnswerWire,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerWire {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallWire>>,
}

#[derive(Deserialize)]
struct ToolCallWire {
    #[serde(default)]
    id: Option<String>,
    function: FunctionWire,
}

#[derive(Deserialize)]
struct FunctionWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize, Default)]
struct UsageWire {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl From<UsageWire> for Usage {
    fn from(u: UsageWire) -> Self {
        Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
        }
    }
}

/// Text of a message `content`: a string, or (some servers) an array of text parts.
fn content_text(content: Option<Value>) -> String {
    match content {
        Some(Value::String(s)) => s,
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// Arguments as text: the standard string, or an object some servers send instead.
fn arguments_text(arguments: Option<Value>) -> String {
    match arguments {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn stop_reason(finish: Option<&str>, has_tool_calls: bool) -> StopReason {
    match finish {
        Some("length") => StopReason::MaxTokens,
        _ if has_tool_calls => StopReason::ToolUse,
        None | Some("stop") => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some(other) => StopReason::Other(other.to_string()),
    }
}

fn tool_use(position: usize, id: String, name: String, arguments: &str) -> Block {
    Block::ToolUse {
        // Without an id the result could not be matched; some local servers omit it.
        id: if id.is_empty() {
            format!("call_{position}")
        } else {
            id
        },
        name,
        input: parse_tool_arguments(arguments),
    }
}

/// Reads a non-streamed answer.
pub(super) fn decode_response(body: &[u8], request_model: &str) -> Result<ChatResponse, LlmError> {
    let wire: CompletionWire = serde_json::from_slice(body)
        .map_err(|e| LlmError::Malformed(format!("chat completion: {e}")))?;
    let choice = wire
        .choices
        .into_iter()
        .find(|c| c.index == 0)
        .ok_or_else(|| LlmError::Malformed("chat completion without a choice".into()))?;
    let mut content = Vec::new();
    let text = content_text(choice.message.content);
    if !text.is_empty() {
        content.push(Block::Text(text));
    }
    let calls = choice.message.tool_calls.unwrap_or_default();
    let has_calls = !calls.is_empty();
    for (i, call) in calls.into_iter().enumerate() {
        let arguments = arguments_text(call.function.arguments);
        content.push(tool_use(
            i,
            call.id.unwrap_or_default(),
            call.function.name.unwrap_or_default(),
            &arguments,
        ));
    }
    Ok(ChatResponse {
        content,
        stop: stop_reason(choice.finish_reason.as_deref(), has_calls),
        usage: wire.usage.map(Usage::from).unwrap_or_default(),
        model: wire
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| request_model.to_string()),
    })
}

#[derive(Deserialize)]
struct ChunkWire {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<ChunkChoiceWire>>,
    #[serde(default)]
    usage: Option<UsageWire>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoiceWire {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<DeltaWire>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct DeltaWire {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDeltaWire>>,
}

#[derive(Deserialize)]
struct ToolCallDeltaWire {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionWire>,
}

#[derive(Debug, Default)]
struct CallSlot {
    id: String,
    name: String,
    arguments: String,
}

/// Assembles a streamed answer from its chunks.
#[derive(Debug, Default)]
pub(super) struct StreamState {
    text: String,
    calls: Vec<CallSlot>,
    /// Which slot each wire `index` currently feeds.
    open: HashMap<u32, usize>,
    finish: Option<String>,
    usage: Option<Usage>,
    model: Option<String>,
    done: bool,
}

impl StreamState {
    /// Applies one `data:` payload. `[DONE]` ends the stream.
    pub(super) fn apply(
        &mut self,
        data: &str,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), LlmError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: ChunkWire = serde_json::from_str(data)
            .map_err(|e| LlmError::Malformed(format!("stream chunk: {e}")))?;
        if let Some(error) = chunk.error {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| error.as_str())
                .unwrap_or("error in the stream")
                .to_string();
            let kind = error
                .get("type")
                .or_else(|| error.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("");
            return Err(from_stream_error(kind, message));
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model.get_or_insert(model);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    on_text(&text);
                    self.text.push_str(&text);
                }
                for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate()
                {
                    let index = call.index.unwrap_or(position as u32);
                    let (name, arguments) = match call.function {
                        Some(f) => (f.name, arguments_text(f.arguments)),
                        None => (None, String::new()),
                    };
                    self.tool_delta(index, call.id.as_deref(), name.as_deref(), &arguments);
                }
            }
            if let Some(finish) = choice.finish_reason {
                self.finish = Some(finish);
            }
        }
        Ok(())
    }

    /// Fragments accrete by `index`, but a new `id` at an index already in use starts a new
    /// call: Ollama-compatible servers give every call of a parallel batch index 0.
    fn tool_delta(&mut self, index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
        let id = id.filter(|id| !id.is_empty());
        let slot = match self.open.get(&index) {
            Some(&slot)
                if id.is_none_or(|id| {
                    self.calls[slot].id.is_empty() || self.calls[slot].id == id
                }) =>
            {
                slot
            }
            _ => {
                self.calls.push(CallSlot::default());
                let slot = self.calls.len() - 1;
                self.open.insert(index, slot);
                slot
            }
        };
        let call = &mut self.calls[slot];
        if let Some(id) = id
            && call.id.is_empty()
        {
            call.id = id.to_string();
        }
        // The name comes whole in the first fragment; later repeats are not appended.
        if let Some(name) = name.filter(|n| !n.is_empty())
            && call.name.is_empty()
        {
            call.name = name.to_string();
        }
        call.arguments.push_str(arguments);
    }

    /// The assembled answer. A stream that ended with neither `[DONE]` nor a finish reason was
    /// cut off, which is reported as a transport failure (worth a retry).
    pub(super) fn finish(self, request_model: &str) -> Result<ChatResponse, LlmError> {
        if !self.done && self.finish.is_none() {
            return Err(LlmError::Transport(
                "the stream ended before the answer was complete".into(),
            ));
        }
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Block::Text(self.text));
        }
        let has_calls = !self.calls.is_empty();
        for (i, call) in self.calls.into_iter().enumerate() {
            content.push(tool_use(i, call.id, call.name, &call.arguments));
        }
        Ok(ChatResponse {
            content,
            stop: stop_reason(self.finish.as_deref(), has_calls),
            usage: self.usage.unwrap_or_default(),
            model: self.model.unwrap_or_else(|| request_model.to_string()),
        })
    }
}

/// Reads a streamed answer to the end.
pub(super) async fn read_stream(
    mut events: SseStream,
    request_model: &str,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<ChatResponse, LlmError> {
    let mut state = StreamState::default();
    while let Some(event) = events.next().await? {
        state.apply(&event.data, on_text)?;
        if state.done {
            break;
        }
    }
    state.finish(request_model)
}

#[derive(Serialize)]
struct EmbedRequestWire<'a> {
    model: &'a str,
    input: &'a [String],
    // OpenAI's own SDKs ask for base64 by default; floats are what every compatible server
    // supports.
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct EmbedResponseWire {
    data: Vec<EmbeddingWire>,
}

#[derive(Deserialize)]
struct EmbeddingWire {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

/// The JSON body for `POST …/embeddings`.
pub(super) fn encode_embeddings(model: &str, inputs: &[String]) -> Result<Vec<u8>, LlmError> {
    serde_json::to_vec(&EmbedRequestWire {
        model,
        input: inputs,
        encoding_format: "float",
    })
    .map_err(|e| LlmError::Malformed(format!("encoding request: {e}")))
}

/// The vectors, in the order of the inputs.
pub(super) fn decode_embeddings(body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    let wire: EmbedResponseWire = serde_json::from_slice(body)
        .map_err(|e| LlmError::Malformed(format!("embeddings: {e}")))?;
    let mut data = wire.data;
    // The API documents `index`; order the vectors by it rather than trust the array order.
    data.sort_by_key(|e| e.index);
    if data.len() != expected {
        return Err(LlmError::Malformed(format!(
            "embeddings: {} vectors for {expected} inputs",
            data.len()
        )));
    }
    Ok(data.into_iter().map(|e| e.embedding).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply_all(chunks: &[Value]) -> (ChatResponse, Vec<String>) {
        let mut state = StreamState::default();
        let mut seen = Vec::new();
        let mut on_text = |t: &str| seen.push(t.to_string());
        for chunk in chunks {
            state
                .apply(&chunk.to_string(), &mut on_text)
                .expect("chunk");
        }
        state.apply("[DONE]", &mut on_text).expect("done");
        (state.finish("fallback").expect("complete"), seen)
    }

    fn delta(delta: Value, finish: Option<&str>) -> Value {
        json!({"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn fragments_accrete_by_index() {
        let (r, seen) = apply_all(&[
            delta(json!({"role": "assistant", "content": "Hi "}), None),
            delta(json!({"content": "there"}), None),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": "{\"y\""}}]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":1}"}}]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": ":2}"}}]}),
                None,
            ),
            delta(json!({}), Some("tool_calls")),
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}),
        ]);
        assert_eq!(seen, vec!["Hi ", "there"]);
        assert_eq!(
            r.content,
            vec![
                Block::Text("Hi there".into()),
                Block::ToolUse {
                    id: "a".into(),
                    name: "f".into(),
                    input: json!({"x": 1})
                },
                Block::ToolUse {
                    id: "b".into(),
                    name: "g".into(),
                    input: json!({"y": 2})
                },
            ]
        );
        assert_eq!(r.stop, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 4
            }
        );
        assert_eq!(r.model, "m");
    }

    #[test]
    fn a_new_id_at_a_used_index_starts_a_new_call() {
        let (r, _) = apply_all(&[
            delta(
                json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{\"n\":"}}]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "f", "arguments": "{\"n\":2}"}}]}),
                None,
            ),
            delta(json!({}), Some("stop")),
        ]);
        let inputs: Vec<_> = r
            .tool_uses()
            .map(|b| match b {
                Block::ToolUse { id, input, .. } => (id.clone(), input.clone()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            inputs,
            vec![("a".into(), json!({"n": 1})), ("b".into(), json!({"n": 2}))]
        );
        assert_eq!(r.stop, StopReason::ToolUse, "older Ollama says stop");
    }

    #[test]
    fn calls_without_ids_or_indices_still_come_apart() {
        let (r, _) = apply_all(&[
            delta(
                json!({"tool_calls": [{"function": {"name": "f", "arguments": {"k": "v"}}}, {"function": {"name": "g"}}]}),
                None,
            ),
            delta(json!({}), Some("tool_calls")),
        ]);
        assert_eq!(
            r.content,
            vec![
                Block::ToolUse {
                    id: "call_0".into(),
                    name: "f".into(),
                    input: json!({"k": "v"})
                },
                Block::ToolUse {
                    id: "call_1".into(),
                    name: "g".into(),
                    input: json!({})
                },
            ]
        );
    }

    #[test]
    fn a_cut_off_stream_is_a_transport_failure() {
        let mut state = StreamState::default();
        state
            .apply(
                &delta(json!({"content": "Hel"}), None).to_string(),
                &mut |_| {},
            )
            .expect("chunk");
        assert!(matches!(state.finish("m"), Err(LlmError::Transport(_))));
    }

    #[test]
    fn an_error_chunk_is_an_error() {
        let mut state = StreamState::default();
        let e = state
            .apply(
                r#"{"error":{"message":"boom","type":"server_error"}}"#,
                &mut |_| {},
            )
            .expect_err("error");
        assert_eq!(
            e,
            LlmError::Server {
                status: 500,
                message: "boom".into()
            }
        );
    }
}
