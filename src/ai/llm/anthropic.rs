//! The Anthropic Messages wire format: request encoding, answer decoding, and the streamed
//! event accumulator.
//!
//! Our model is already Anthropic's content blocks, so the translation is mostly direct:
//! - `system` is top level and left out when empty.
//! - Consecutive messages of one role are merged (the API wants turns to alternate), and in a
//!   user turn the tool results go before any text, as the API requires.
//! - Empty text blocks are dropped (the API rejects them), and so is a turn left empty.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{LlmError, from_stream_error};
use super::model::{
    Block, ChatRequest, ChatResponse, Role, StopReason, Usage, parse_tool_arguments,
};
use super::sse::SseStream;

/// The API version this module speaks; sent as `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

#[derive(Serialize)]
struct RequestWire<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "is_empty")]
    system: &'a str,
    messages: Vec<MessageWire<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct MessageWire<'a> {
    role: Role,
    content: Vec<BlockOut<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        is_error: bool,
    },
}

#[derive(Serialize)]
struct ToolWire<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

/// The JSON body for `POST /v1/messages`.
pub(super) fn encode_request(req: &ChatRequest, stream: bool) -> Result<Vec<u8>, LlmError> {
    let mut messages: Vec<MessageWire<'_>> = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        let blocks = message.content.iter().filter_map(|block| match block {
            Block::Text(text) if text.is_empty() => None,
            Block::Text(text) => Some(BlockOut::Text { text }),
            Block::ToolUse { id, name, input } => Some(BlockOut::ToolUse { id, name, input }),
            Block::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => Some(BlockOut::ToolResult {
                tool_use_id,
                content,
                is_error: *is_error,
            }),
        });
        match messages.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(blocks),
            _ => messages.push(MessageWire {
                role: message.role,
                content: blocks.collect(),
            }),
        }
    }
    messages.retain(|m| !m.content.is_empty());
    for message in &mut messages {
        if message.role == Role::User {
            // Stable: results keep their order, and so does the text after them.
            message
                .content
                .sort_by_key(|b| !matches!(b, BlockOut::ToolResult { .. }));
        }
    }
    let wire = RequestWire {
        model: &req.model,
        max_tokens: req.max_tokens,
        system: &req.system,
        messages,
        tools: req
            .tools
            .iter()
            .map(|t| ToolWire {
                name: &t.name,
                description: &t.description,
                input_schema: &t.input_schema,
            })
            .collect(),
        temperature: req.temperature,
        stream,
    };
    serde_json::to_vec(&wire).map_err(|e| LlmError::Malformed(format!("encoding request: {e}")))
}

#[derive(Deserialize)]
struct ResponseWire {
    #[serde(default)]
    model: Option<String>,
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<UsageWire>,
}

#[derive(Deserialize, Default)]
struct UsageWire {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        None | Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Reads a non-streamed answer. Block types we do not model (thinking, server tools) are
/// skipped.
pub(super) fn decode_response(body: &[u8], request_model: &str) -> Result<ChatResponse, LlmError> {
    let wire: ResponseWire =
        serde_json::from_slice(body).map_err(|e| LlmError::Malformed(format!("message: {e}")))?;
    let content = wire
        .content
        .iter()
        .filter_map(|block| match block.get("type").and_then(Value::as_str) {
            Some("text") => Some(Block::Text(str_field(block, "text"))),
            Some("tool_use") => Some(Block::ToolUse {
                id: str_field(block, "id"),
                name: str_field(block, "name"),
                input: block
                    .get("input")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Default::default())),
            }),
            _ => None,
        })
        .collect();
    let usage = wire.usage.unwrap_or_default();
    Ok(ChatResponse {
        content,
        stop: stop_reason(wire.stop_reason.as_deref()),
        usage: Usage {
            input_tokens: usage.input_tokens.unwrap_or(0),
            output_tokens: usage.output_tokens.unwrap_or(0),
        },
        model: wire
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| request_model.to_string()),
    })
}

#[derive(Debug)]
enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        /// The `input` of `content_block_start` (normally `{}`), used when no delta follows.
        initial: Value,
        json: String,
    },
    /// A block type we do not model; its deltas are ignored.
    Skipped,
}

/// Assembles a streamed answer from its events.
#[derive(Debug, Default)]
pub(super) struct StreamState {
    /// By the event's `index`, which is the block's place in the final content.
    blocks: Vec<(u64, Partial)>,
    stop: Option<String>,
    usage: Usage,
    model: Option<String>,
    done: bool,
}

impl StreamState {
    fn block(&mut self, index: u64) -> Option<&mut Partial> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| p)
    }

    /// Applies one event's `data`. Unknown event types are ignored, as Anthropic's versioning
    /// policy asks of clients.
    pub(super) fn apply(
        &mut self,
        data: &str,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), LlmError> {
        let event: Value = serde_json::from_str(data)
            .map_err(|e| LlmError::Malformed(format!("stream event: {e}")))?;
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let message = event.get("message").unwrap_or(&Value::Null);
                let model = str_field(message, "model");
                if !model.is_empty() {
                    self.model = Some(model);
                }
                self.read_usage(message.get("usage"));
            }
            "content_block_start" => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                let partial = match block.get("type").and_then(Value::as_str) {
                    Some("text") => Partial::Text(str_field(block, "text")),
                    Some("tool_use") => Partial::Tool {
                        id: str_field(block, "id"),
                        name: str_field(block, "name"),
                        initial: block.get("input").cloned().unwrap_or(Value::Null),
                        json: String::new(),
                    },
                    _ => Partial::Skipped,
                };
                if let Partial::Text(t) = &partial
                    && !t.is_empty()
                {
                    on_text(t);
                }
                self.blocks.push((index, partial));
            }
            "content_block_delta" => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let kind = delta.get("type").and_then(Value::as_str).unwrap_or("");
                match (self.block(index), kind) {
                    (Some(Partial::Text(text)), "text_delta") => {
                        let piece = delta.get("text").and_then(Value::as_str).unwrap_or("");
                        if !piece.is_empty() {
                            on_text(piece);
                            text.push_str(piece);
                        }
                    }
                    (Some(Partial::Tool { json, .. }), "input_json_delta") => {
                        json.push_str(
                            delta
                                .get("partial_json")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        );
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop = Some(reason.to_string());
                }
                self.read_usage(event.get("usage"));
            }
            "message_stop" => self.done = true,
            "error" => {
                let error = event.get("error").unwrap_or(&Value::Null);
                let message = str_field(error, "message");
                return Err(from_stream_error(&str_field(error, "type"), message));
            }
            // ping, content_block_stop, and whatever comes later.
            _ => {}
        }
        Ok(())
    }

    /// `message_start` carries the input count; `message_delta` the cumulative output count
    /// (and, in newer API versions, the input count again).
    fn read_usage(&mut self, usage: Option<&Value>) {
        let Some(usage) = usage else { return };
        if let Some(n) = usage.get("input_tokens").and_then(Value::as_u64) {
            self.usage.input_tokens = n;
        }
        if let Some(n) = usage.get("output_tokens").and_then(Value::as_u64) {
            self.usage.output_tokens = n;
        }
    }

    /// The assembled answer; a stream cut before `message_stop` or a stop reason is a
    /// transport failure.
    pub(super) fn finish(mut self, request_model: &str) -> Result<ChatResponse, LlmError> {
        if !self.done && self.stop.is_none() {
            return Err(LlmError::Transport(
                "the stream ended before the answer was complete".into(),
            ));
        }
        self.blocks.sort_by_key(|(i, _)| *i);
        let content = self
            .blocks
            .into_iter()
            .filter_map(|(_, partial)| match partial {
                Partial::Text(t) if t.is_empty() => None,
                Partial::Text(t) => Some(Block::Text(t)),
                Partial::Tool {
                    id,
                    name,
                    initial,
                    json,
                } => Some(Block::ToolUse {
                    id,
                    name,
                    input: if json.trim().is_empty() && initial.is_object() {
                        initial
                    } else {
                        parse_tool_arguments(&json)
                    },
                }),
                Partial::Skipped => None,
            })
            .collect();
        Ok(ChatResponse {
            content,
            stop: stop_reason(self.stop.as_deref()),
            usage: self.usage,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::llm::model::{Message, ToolSpec};
    use serde_json::json;

    #[test]
    fn same_role_turns_merge_and_results_lead_the_user_turn() {
        let req = ChatRequest {
            model: "m".into(),
            system: String::new(),
            messages: vec![
                Message::user("first"),
                Message::user(""),
                Message::assistant(vec![Block::ToolUse {
                    id: "t1".into(),
                    name: "f".into(),
                    input: json!({}),
                }]),
                Message::user("and also this"),
                Message {
                    role: Role::User,
                    content: vec![Block::ToolResult {
                        tool_use_id: "t1".into(),
                        content: "ok".into(),
                        is_error: false,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 10,
            temperature: None,
        };
        let body: Value = serde_json::from_slice(&encode_request(&req, false).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "max_tokens": 10,
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "first"}]},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": false},
                        {"type": "text", "text": "and also this"}
                    ]}
                ],
                "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}]
            })
        );
    }

    #[test]
    fn events_assemble_text_and_tool_input() {
        let events = [
            json!({"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 9, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "ping"}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "look."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"a\": "}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "[1, 2]}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 30}}),
            json!({"type": "some_future_event"}),
            json!({"type": "message_stop"}),
        ];
        let mut state = StreamState::default();
        let mut seen = Vec::new();
        let mut on_text = |t: &str| seen.push(t.to_string());
        for e in &events {
            state.apply(&e.to_string(), &mut on_text).expect("event");
        }
        let r = state.finish("fallback").expect("complete");
        assert_eq!(seen, vec!["Let me ", "look."]);
        assert_eq!(
            r.content,
            vec![
                Block::Text("Let me look.".into()),
                Block::ToolUse {
                    id: "toolu_1".into(),
                    name: "f".into(),
                    input: json!({"a": [1, 2]})
                },
                Block::ToolUse {
                    id: "toolu_2".into(),
                    name: "g".into(),
                    input: json!({})
                },
            ]
        );
        assert_eq!(r.stop, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 9,
                output_tokens: 30
            }
        );
        assert_eq!(r.model, "claude-x");
    }

    #[test]
    fn an_error_event_maps_by_type() {
        let mut state = StreamState::default();
        let e = state
            .apply(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                &mut |_| {},
            )
            .expect_err("error");
        assert_eq!(
            e,
            LlmError::Server {
                status: 529,
                message: "Overloaded".into()
            }
        );
        assert!(e.is_retryable());
    }
}
