//! The provider-neutral conversation model: messages made of content blocks (text, tool use,
//! tool result), tool declarations, and what a turn returns. Close to Anthropic's content
//! blocks; `openai.rs` and `anthropic.rs` translate it to and from each wire format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Key of the raw argument text kept in a tool use's `input` when it was not valid JSON.
pub const RAW_ARGUMENTS_KEY: &str = "_raw";
/// Key of the parser's complaint kept beside [`RAW_ARGUMENTS_KEY`]; its presence is the marker.
pub const INVALID_ARGUMENTS_KEY: &str = "_invalid_json";

/// Who speaks a message. The system prompt is not a role: it is [`ChatRequest::system`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer, or our code answering tool calls.
    User,
    /// The model.
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Plain text.
    Text(String),
    /// The model asks us to run a tool.
    ///
    /// `input` is the parsed argument object. When the model sent arguments that are not
    /// valid JSON (OpenAI-compatible servers send them as a string and small local models
    /// get it wrong), the call is kept rather than failing the turn: `input` is then
    /// `{"_raw": "<the text>", "_invalid_json": "<parser message>"}`.
    /// [`Block::malformed_tool_input`] detects that, and [`Block::invalid_arguments_result`]
    /// builds the `is_error` tool result to send back so the model can try again.
    ToolUse {
        /// The provider's call id; the matching result must carry it.
        id: String,
        /// The tool's name as declared in [`ToolSpec::name`].
        name: String,
        /// The arguments, an object for well-behaved models.
        input: Value,
    },
    /// Our answer to a [`Block::ToolUse`]; belongs in a [`Role::User`] message.
    ToolResult {
        /// The id of the call this answers.
        tool_use_id: String,
        /// What the tool returned, as text (typically compact JSON).
        content: String,
        /// The tool failed or refused; the model should not treat `content` as data.
        is_error: bool,
    },
}

impl Block {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Block::Text(text.into())
    }

    /// For a tool use whose arguments were not valid JSON: the raw argument text and the
    /// parser's message. `None` for every other block.
    pub fn malformed_tool_input(&self) -> Option<(&str, &str)> {
        let Block::ToolUse { input, .. } = self else {
            return None;
        };
        let object = input.as_object()?;
        let error = object.get(INVALID_ARGUMENTS_KEY)?.as_str()?;
        let raw = object.get(RAW_ARGUMENTS_KEY)?.as_str()?;
        Some((raw, error))
    }

    /// The `is_error` tool result to answer a tool use whose arguments were not valid JSON,
    /// so the turn goes on and the model can correct itself. `None` when the arguments were
    /// fine (or the block is not a tool use).
    pub fn invalid_arguments_result(&self) -> Option<Block> {
        let (_, error) = self.malformed_tool_input()?;
        let Block::ToolUse { id, .. } = self else {
            return None;
        };
        Some(Block::ToolResult {
            tool_use_id: id.clone(),
            content: format!(
                "The arguments were not valid JSON ({error}). Call the tool again with a JSON object."
            ),
            is_error: true,
        })
    }
}

/// Parses tool arguments sent as text; never fails (see [`Block::ToolUse`] for the marker).
/// An empty string means "no arguments", which some servers send for parameterless tools.
pub(crate) fn parse_tool_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(value) => value,
        Err(e) => serde_json::json!({
            RAW_ARGUMENTS_KEY: raw,
            INVALID_ARGUMENTS_KEY: e.to_string(),
        }),
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said, in order.
    pub content: Vec<Block>,
}

impl Message {
    /// A user message of plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![Block::Text(text.into())],
        }
    }

    /// An assistant message made of `content` (typically a previous [`ChatResponse::content`]).
    pub fn assistant(content: Vec<Block>) -> Self {
        Message {
            role: Role::Assistant,
            content,
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model uses to call it (`[a-zA-Z0-9_-]{1,64}` suits every provider).
    pub name: String,
    /// When and why to use it; the model reads this.
    pub description: String,
    /// JSON Schema of the argument object.
    pub input_schema: Value,
}

/// One call to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The provider's model name (for Azure, any value: the deployment picks the model).
    pub model: String,
    /// Trusted instructions; sent as a system message or Anthropic's top-level `system`.
    /// Empty means none.
    pub system: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call; empty means none are offered.
    pub tools: Vec<ToolSpec>,
    /// Upper bound on generated tokens (required by Anthropic, so required here).
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f32>,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// It finished its answer.
    EndTurn,
    /// It wants tool results before going on.
    ToolUse,
    /// It hit [`ChatRequest::max_tokens`].
    MaxTokens,
    /// Anything else the provider reported (stop sequence, content filter, refusal, …).
    Other(String),
}

/// Tokens counted by the provider (zero when it did not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// What one call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Text and tool-use blocks in the order the model produced them (text first for
    /// OpenAI-compatible servers, whose wire format keeps them apart).
    pub content: Vec<Block>,
    /// Why it stopped.
    pub stop: StopReason,
    /// Token counts.
    pub usage: Usage,
    /// The model that answered, as the provider names it.
    pub model: String,
}

impl ChatResponse {
    /// All text blocks joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool-use blocks, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = &Block> {
        self.content
            .iter()
            .filter(|b| matches!(b, Block::ToolUse { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_arguments_parse_to_the_object() {
        assert_eq!(parse_tool_arguments(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(parse_tool_arguments("  "), json!({}));
    }

    #[test]
    fn invalid_arguments_are_kept_with_the_marker_and_answered_with_an_error_result() {
        let block = Block::ToolUse {
            id: "call_1".into(),
            name: "lookup".into(),
            input: parse_tool_arguments(r#"{"order": 12"#),
        };
        let (raw, error) = block.malformed_tool_input().expect("marked");
        assert_eq!(raw, r#"{"order": 12"#);
        assert!(error.contains("EOF"), "{error}");
        match block.invalid_arguments_result() {
            Some(Block::ToolResult {
                tool_use_id,
                is_error,
                ..
            }) => {
                assert_eq!(tool_use_id, "call_1");
                assert!(is_error);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_well_formed_call_has_no_error_result() {
        let block = Block::ToolUse {
            id: "c".into(),
            name: "n".into(),
            input: json!({"_raw": "user data that happens to use the key"}),
        };
        assert!(block.malformed_tool_input().is_none());
        assert!(block.invalid_arguments_result().is_none());
    }
}
