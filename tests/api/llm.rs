//! The LLM client against the loopback stand-in: both wire formats, plain and streamed, tool
//! calls, provider errors, timeouts, Azure addressing and embeddings.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use switchboard::ai::llm::{
    AnthropicConfig, AzureConfig, Block, ChatRequest, ChatResponse, LlmClient, LlmError, Message,
    OpenAiConfig, Provider, Role, StopReason, ToolSpec, Usage,
};

use crate::llm_standin::{
    DEFAULT_REPLY, INPUT_TOKENS, LlmStandin, OUTPUT_TOKENS, Script, default_embedding,
};

const OPENAI_KEY: &str = "sk-test-openai";
const ANTHROPIC_KEY: &str = "sk-ant-test";
const SYSTEM: &str = "You are a helpful agent.";

fn openai_with_timeout(standin: &LlmStandin, timeout: Duration) -> LlmClient {
    let mut config = OpenAiConfig::new(standin.openai_base());
    config.api_key = Some(SecretString::from(OPENAI_KEY));
    config.timeout = timeout;
    LlmClient::new(Provider::OpenAi(config)).expect("client")
}

fn openai(standin: &LlmStandin) -> LlmClient {
    openai_with_timeout(standin, Duration::from_secs(5))
}

fn anthropic_with_timeout(standin: &LlmStandin, timeout: Duration) -> LlmClient {
    LlmClient::new(Provider::Anthropic(AnthropicConfig {
        base_url: standin.url(),
        api_key: SecretString::from(ANTHROPIC_KEY),
        timeout,
    }))
    .expect("client")
}

fn anthropic(standin: &LlmStandin) -> LlmClient {
    anthropic_with_timeout(standin, Duration::from_secs(5))
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Current weather in a city.".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    }
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: SYSTEM.into(),
        messages: vec![Message::user(text)],
        tools: Vec::new(),
        max_tokens: 256,
        // Exactly representable, so the body compares equal after the f32 → JSON trip.
        temperature: Some(0.5),
    }
}

fn ask_with_weather(text: &str) -> ChatRequest {
    ChatRequest {
        tools: vec![weather_tool()],
        ..ask(text)
    }
}

async fn stream(
    client: &LlmClient,
    req: &ChatRequest,
) -> (Result<ChatResponse, LlmError>, Vec<String>) {
    let mut deltas = Vec::new();
    let result = client
        .chat_stream(req, &mut |t: &str| deltas.push(t.to_string()))
        .await;
    (result, deltas)
}

fn tool_use(block: &Block) -> (&str, &str, &Value) {
    match block {
        Block::ToolUse { id, name, input } => (id, name, input),
        other => panic!("not a tool use: {other:?}"),
    }
}

fn usage() -> Usage {
    Usage {
        input_tokens: INPUT_TOKENS,
        output_tokens: OUTPUT_TOKENS,
    }
}

// ---- OpenAI-compatible ------------------------------------------------------------------

#[tokio::test]
async fn an_openai_text_reply_comes_back_with_usage() {
    let standin = LlmStandin::start().await;
    standin.push(Script::OpenAiText("Hi there, how can I help?".into()));

    let r = openai(&standin).chat(&ask("Hello")).await.expect("chat");

    assert_eq!(r.content, vec![Block::text("Hi there, how can I help?")]);
    assert_eq!(r.stop, StopReason::EndTurn);
    assert_eq!(r.usage, usage());
    assert_eq!(r.model, "test-model");
    let sent = standin.last_request();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Hello"},
            ],
            "max_tokens": 256,
            "temperature": 0.5,
        })
    );
}

#[tokio::test]
async fn an_openai_stream_calls_back_for_each_text_delta() {
    let standin = LlmStandin::start().await;
    let text = "Bonjour, ça va ? ☕ Je peux vous aider.";
    standin.push(Script::OpenAiText(text.into()));

    let (r, deltas) = stream(&openai(&standin), &ask("Salut")).await;
    let r = r.expect("stream");

    assert!(deltas.len() > 3, "{deltas:?}");
    assert_eq!(deltas.concat(), text);
    assert_eq!(r.text(), text);
    assert_eq!(r.stop, StopReason::EndTurn);
    assert_eq!(r.usage, usage(), "from the include_usage chunk");
    let body = standin.last_request().body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn an_openai_tool_call_round_trip_sends_the_exact_wire_json() {
    let standin = LlmStandin::start().await;
    let client = openai(&standin);
    standin.push(Script::OpenAiToolCall {
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
    });
    let mut req = ask_with_weather("What's the weather in Paris?");

    let first = client.chat(&req).await.expect("first turn");
    assert_eq!(first.stop, StopReason::ToolUse);
    assert_eq!(first.content.len(), 1);
    let (id, name, input) = tool_use(&first.content[0]);
    assert!(id.starts_with("call_standin_"), "{id}");
    assert_eq!(name, "get_weather");
    assert_eq!(input, &json!({"city": "Paris"}));
    let id = id.to_string();

    req.messages.push(Message::assistant(first.content.clone()));
    req.messages.push(Message {
        role: Role::User,
        content: vec![Block::ToolResult {
            tool_use_id: id.clone(),
            content: r#"{"temp_c":21}"#.into(),
            is_error: false,
        }],
    });
    let second = client.chat(&req).await.expect("second turn");

    assert_eq!(second.text(), DEFAULT_REPLY);
    assert_eq!(
        standin.last_request().body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "What's the weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": id, "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                }]},
                {"role": "tool", "tool_call_id": id, "content": "{\"temp_c\":21}"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }}],
            "max_tokens": 256,
            "temperature": 0.5,
        }),
        "no tool_choice: Ollama rejects it"
    );
}

#[tokio::test]
async fn openai_streamed_parallel_tool_calls_are_assembled_from_fragments() {
    let standin = LlmStandin::start().await;
    standin.push(Script::OpenAiToolCalls(vec![
        ("get_weather".into(), r#"{"city":"Paris"}"#.into()),
        ("get_weather".into(), r#"{"city":"Lyon"}"#.into()),
    ]));

    let (r, deltas) = stream(&openai(&standin), &ask_with_weather("Paris and Lyon?")).await;
    let r = r.expect("stream");

    assert!(deltas.is_empty(), "{deltas:?}");
    assert_eq!(r.stop, StopReason::ToolUse);
    let calls: Vec<_> = r.content.iter().map(tool_use).collect();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0].0, calls[1].0);
    assert_eq!(calls[0].2, &json!({"city": "Paris"}));
    assert_eq!(calls[1].2, &json!({"city": "Lyon"}));
    assert_eq!(r.usage, usage());
}

#[tokio::test]
async fn ollama_style_parallel_calls_all_at_index_zero_come_apart_by_id() {
    let standin = LlmStandin::start().await;
    standin.push(Script::OllamaToolCalls(vec![
        ("get_weather".into(), r#"{"city":"Paris"}"#.into()),
        ("get_weather".into(), r#"{"city":"Lyon"}"#.into()),
        ("get_weather".into(), r#"{"city":"Nice"}"#.into()),
    ]));

    let (r, _) = stream(&openai(&standin), &ask_with_weather("Three cities?")).await;
    let r = r.expect("stream");

    let calls: Vec<_> = r.content.iter().map(tool_use).collect();
    let inputs: Vec<_> = calls.iter().map(|c| c.2.clone()).collect();
    assert_eq!(
        inputs,
        vec![
            json!({"city": "Paris"}),
            json!({"city": "Lyon"}),
            json!({"city": "Nice"})
        ]
    );
    let ids: std::collections::HashSet<_> = calls.iter().map(|c| c.0).collect();
    assert_eq!(ids.len(), 3, "distinct ids");
}

#[tokio::test]
async fn invalid_openai_tool_arguments_are_kept_and_answered_with_an_error_result() {
    let standin = LlmStandin::start().await;
    let client = openai(&standin);
    let broken = r#"{"city": "Par"#;
    standin.push(Script::OpenAiToolCall {
        name: "get_weather".into(),
        arguments: broken.into(),
    });
    standin.push(Script::OpenAiToolCall {
        name: "get_weather".into(),
        arguments: broken.into(),
    });
    let mut req = ask_with_weather("Weather?");

    let plain = client.chat(&req).await.expect("plain");
    let (streamed, _) = stream(&client, &req).await;
    let streamed = streamed.expect("streamed");

    for r in [&plain, &streamed] {
        assert_eq!(r.stop, StopReason::ToolUse);
        let (raw, error) = r.content[0].malformed_tool_input().expect("marked");
        assert_eq!(raw, broken);
        assert!(!error.is_empty());
    }
    let (id, _, _) = tool_use(&plain.content[0]);
    let id = id.to_string();
    let answer = plain.content[0].invalid_arguments_result().expect("answer");
    assert!(
        matches!(&answer, Block::ToolResult { tool_use_id, is_error: true, .. } if *tool_use_id == id)
    );

    // Sending the turn back must not echo invalid JSON (Ollama refuses such a history).
    req.messages.push(Message::assistant(plain.content.clone()));
    req.messages.push(Message {
        role: Role::User,
        content: vec![answer],
    });
    client.chat(&req).await.expect("third turn");
    let messages = standin.last_request().body["messages"].clone();
    let arguments = messages[2]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .expect("arguments string")
        .to_string();
    let echoed: Value = serde_json::from_str(&arguments).expect("valid JSON");
    assert_eq!(echoed["_raw"], json!(broken));
    assert_eq!(messages[3]["role"], json!("tool"));
    assert_eq!(messages[3]["tool_call_id"], json!(id));
    assert!(
        messages[3]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("Error: ")),
        "{messages}"
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_still_answers() {
    let standin = LlmStandin::start().await;
    standin.push(Script::Raw {
        status: 200,
        body: json!({
            "id": "x", "object": "chat.completion", "model": "local",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "All at once."}, "finish_reason": "stop"}],
        })
        .to_string(),
    });

    let (r, deltas) = stream(&openai(&standin), &ask("Hi")).await;

    assert_eq!(r.expect("answer").text(), "All at once.");
    assert_eq!(deltas, vec!["All at once."]);
}

#[tokio::test]
async fn a_cut_off_stream_is_a_retryable_transport_failure() {
    let standin = LlmStandin::start().await;
    standin.push(Script::RawSse(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
            .into(),
    ));

    let (r, deltas) = stream(&openai(&standin), &ask("Hi")).await;

    assert_eq!(deltas, vec!["Hel"]);
    let e = r.expect_err("cut off");
    assert!(matches!(e, LlmError::Transport(_)), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn azure_uses_the_deployment_url_and_the_api_key_header() {
    let standin = LlmStandin::start().await;
    let mut config = OpenAiConfig::new(standin.url());
    config.api_key = Some(SecretString::from("azure-key"));
    config.azure = Some(AzureConfig {
        deployment: "gpt4o-prod".into(),
        api_version: "2024-10-21".into(),
    });
    let client = LlmClient::new(Provider::OpenAi(config)).expect("client");

    let r = client.chat(&ask("Hello")).await.expect("chat");
    let vectors = client
        .embed("embed-small", &["hello".to_string()])
        .await
        .expect("embed");

    assert_eq!(r.text(), DEFAULT_REPLY);
    assert_eq!(vectors, vec![default_embedding("hello")]);
    let sent = standin.requests();
    assert_eq!(
        sent[0].path,
        "/openai/deployments/gpt4o-prod/chat/completions"
    );
    assert_eq!(sent[0].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent[0].header("api-key"), Some("azure-key"));
    assert_eq!(sent[0].header("authorization"), None);
    assert_eq!(sent[1].path, "/openai/deployments/embed-small/embeddings");
    assert_eq!(sent[1].query.as_deref(), Some("api-version=2024-10-21"));
}

#[tokio::test]
async fn embeddings_come_back_one_per_input_in_order() {
    let standin = LlmStandin::start().await;
    let client = openai(&standin);
    let inputs = vec!["hello".to_string(), "world ☕".to_string()];

    let vectors = client
        .embed("text-embedding-3-small", &inputs)
        .await
        .expect("embed");

    assert_eq!(
        vectors,
        vec![default_embedding("hello"), default_embedding("world ☕")]
    );
    let sent = standin.last_request();
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(
        sent.body,
        json!({"model": "text-embedding-3-small", "input": inputs, "encoding_format": "float"})
    );
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );

    standin.push(Script::Embeddings(vec![vec![1.0]]));
    let e = client
        .embed("text-embedding-3-small", &inputs)
        .await
        .expect_err("count mismatch");
    assert!(matches!(e, LlmError::Malformed(_)), "{e:?}");
    assert_eq!(client.embed("m", &[]).await, Ok(Vec::new()));
    assert_eq!(standin.requests().len(), 2, "no request for no input");
}

#[tokio::test]
async fn anthropic_has_no_embeddings_and_nothing_is_sent() {
    let standin = LlmStandin::start().await;

    let e = anthropic(&standin)
        .embed("any", &["hello".to_string()])
        .await
        .expect_err("no embeddings");

    assert!(matches!(e, LlmError::Rejected { status: 0, .. }), "{e:?}");
    assert!(standin.requests().is_empty());
}

// ---- Anthropic --------------------------------------------------------------------------

#[tokio::test]
async fn an_anthropic_text_reply_comes_back_with_usage() {
    let standin = LlmStandin::start().await;
    standin.push(Script::AnthropicText("Hi! How can I help?".into()));

    let r = anthropic(&standin).chat(&ask("Hello")).await.expect("chat");

    assert_eq!(r.content, vec![Block::text("Hi! How can I help?")]);
    assert_eq!(r.stop, StopReason::EndTurn);
    assert_eq!(r.usage, usage());
    let sent = standin.last_request();
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
            "temperature": 0.5,
        })
    );
}

#[tokio::test]
async fn an_anthropic_stream_calls_back_for_each_text_delta() {
    let standin = LlmStandin::start().await;
    let text = "Bien sûr ! ☕ Voici la réponse.";
    standin.push(Script::AnthropicText(text.into()));

    let (r, deltas) = stream(&anthropic(&standin), &ask("Salut")).await;
    let r = r.expect("stream");

    assert!(deltas.len() > 3, "{deltas:?}");
    assert_eq!(deltas.concat(), text);
    assert_eq!(r.content, vec![Block::text(text)]);
    assert_eq!(r.stop, StopReason::EndTurn);
    assert_eq!(r.usage, usage());
    assert_eq!(standin.last_request().body["stream"], json!(true));
}

#[tokio::test]
async fn an_anthropic_tool_use_round_trip_sends_the_exact_wire_json() {
    let standin = LlmStandin::start().await;
    let client = anthropic(&standin);
    standin.push(Script::AnthropicToolUse {
        name: "get_weather".into(),
        input: json!({"city": "Paris"}),
    });
    let mut req = ask_with_weather("What's the weather in Paris?");

    let first = client.chat(&req).await.expect("first turn");
    assert_eq!(first.stop, StopReason::ToolUse);
    let (id, name, input) = tool_use(&first.content[0]);
    assert!(id.starts_with("toolu_standin_"), "{id}");
    assert_eq!(name, "get_weather");
    assert_eq!(input, &json!({"city": "Paris"}));
    let id = id.to_string();

    // A failed tool, then the customer's next words as a separate user message: the two
    // user turns must merge, results first.
    req.messages.push(Message::assistant(first.content.clone()));
    req.messages.push(Message {
        role: Role::User,
        content: vec![Block::ToolResult {
            tool_use_id: id.clone(),
            content: "weather service down".into(),
            is_error: true,
        }],
    });
    req.messages
        .push(Message::user("Also, are you open today?"));
    client.chat(&req).await.expect("second turn");

    assert_eq!(
        standin.last_request().body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "system": SYSTEM,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris?"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": id, "name": "get_weather", "input": {"city": "Paris"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": id, "content": "weather service down", "is_error": true},
                    {"type": "text", "text": "Also, are you open today?"},
                ]},
            ],
            "tools": [{
                "name": "get_weather",
                "description": "Current weather in a city.",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }],
            "temperature": 0.5,
        })
    );
}

#[tokio::test]
async fn an_anthropic_streamed_tool_use_is_assembled_from_partial_json() {
    let standin = LlmStandin::start().await;
    let input = json!({"city": "Saint-Étienne", "units": ["c", "f"]});
    standin.push(Script::AnthropicToolUse {
        name: "get_weather".into(),
        input: input.clone(),
    });

    let (r, deltas) = stream(&anthropic(&standin), &ask_with_weather("Weather?")).await;
    let r = r.expect("stream");

    assert!(deltas.is_empty());
    assert_eq!(r.stop, StopReason::ToolUse);
    let (_, name, got) = tool_use(&r.content[0]);
    assert_eq!(name, "get_weather");
    assert_eq!(got, &input);
}

#[tokio::test]
async fn an_error_event_inside_an_anthropic_stream_is_an_error() {
    let standin = LlmStandin::start().await;
    standin.push(Script::RawSse(concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: error\n",
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    ).into()));

    let (r, _) = stream(&anthropic(&standin), &ask("Hi")).await;

    let e = r.expect_err("error event");
    assert_eq!(
        e,
        LlmError::Server {
            status: 529,
            message: "Overloaded".into()
        }
    );
    assert!(e.is_retryable());
}

// ---- Errors and timeouts, both providers --------------------------------------------------

#[tokio::test]
async fn a_429_is_rate_limited_with_the_retry_after_delay() {
    let standin = LlmStandin::start().await;
    standin.push(Script::Status(429, Some(7)));
    standin.push(Script::Status(429, Some(2)));
    standin.push(Script::Status(429, None));

    let openai_error = openai(&standin).chat(&ask("Hi")).await.expect_err("429");
    let (streamed, _) = stream(&anthropic(&standin), &ask("Hi")).await;
    let anthropic_error = anthropic(&standin).chat(&ask("Hi")).await.expect_err("429");

    assert_eq!(
        openai_error,
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        streamed.expect_err("429"),
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert_eq!(anthropic_error, LlmError::RateLimited { retry_after: None });
    assert!(openai_error.is_retryable());
}

#[tokio::test]
async fn a_server_error_is_retryable_and_keeps_the_providers_message() {
    let standin = LlmStandin::start().await;
    standin.push(Script::Status(500, None));
    standin.push(Script::Status(529, None));

    let openai_error = openai(&standin).chat(&ask("Hi")).await.expect_err("500");
    let anthropic_error = anthropic(&standin).chat(&ask("Hi")).await.expect_err("529");

    assert_eq!(
        openai_error,
        LlmError::Server {
            status: 500,
            message: "The server had an error while processing your request.".into()
        }
    );
    assert_eq!(
        anthropic_error,
        LlmError::Server {
            status: 529,
            message: "Overloaded".into()
        }
    );
    assert!(openai_error.is_retryable() && anthropic_error.is_retryable());
}

#[tokio::test]
async fn a_bad_key_is_rejected_with_the_providers_message() {
    let standin = LlmStandin::start().await;
    standin.push(Script::Status(401, None));
    standin.push(Script::Status(401, None));

    let openai_error = openai(&standin).chat(&ask("Hi")).await.expect_err("401");
    let (anthropic_error, _) = stream(&anthropic(&standin), &ask("Hi")).await;
    let anthropic_error = anthropic_error.expect_err("401");

    assert_eq!(
        openai_error,
        LlmError::Rejected {
            status: 401,
            message: "Incorrect API key provided.".into()
        }
    );
    assert_eq!(
        anthropic_error,
        LlmError::Rejected {
            status: 401,
            message: "invalid x-api-key".into()
        }
    );
    assert!(!openai_error.is_retryable());
    for e in [&openai_error, &anthropic_error] {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(OPENAI_KEY) && !shown.contains(ANTHROPIC_KEY));
    }
}

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_a_timeout() {
    let standin = LlmStandin::start().await;
    let timeout = Duration::from_millis(200);
    let late = Duration::from_secs(2);
    standin.push(Script::Delay(
        late,
        Box::new(Script::OpenAiText("late".into())),
    ));
    standin.push(Script::Delay(
        late,
        Box::new(Script::OpenAiText("late".into())),
    ));
    standin.push(Script::Delay(
        late,
        Box::new(Script::AnthropicText("late".into())),
    ));
    standin.push(Script::Delay(
        late,
        Box::new(Script::AnthropicText("late".into())),
    ));
    let openai = openai_with_timeout(&standin, timeout);
    let anthropic = anthropic_with_timeout(&standin, timeout);

    let started = std::time::Instant::now();
    let results = [
        openai.chat(&ask("Hi")).await,
        stream(&openai, &ask("Hi")).await.0,
        anthropic.chat(&ask("Hi")).await,
        stream(&anthropic, &ask("Hi")).await.0,
    ];

    for r in results {
        assert_eq!(r.expect_err("too slow"), LlmError::Timeout);
    }
    assert!(started.elapsed() < late * 2, "{:?}", started.elapsed());
    assert!(LlmError::Timeout.is_retryable());
}

#[tokio::test]
async fn a_stream_that_stalls_mid_answer_times_out() {
    let standin = LlmStandin::start().await;
    standin.push(Script::StalledSse(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
            .into(),
    ));
    let client = openai_with_timeout(&standin, Duration::from_millis(200));

    let (r, deltas) = stream(&client, &ask("Hi")).await;

    assert_eq!(deltas, vec!["Hel"]);
    assert_eq!(r.expect_err("stalled"), LlmError::Timeout);
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_transport_error() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let client = LlmClient::new(Provider::OpenAi(OpenAiConfig::new(format!(
        "http://127.0.0.1:{port}/v1"
    ))))
    .expect("client");

    let e = client.chat(&ask("Hi")).await.expect_err("unreachable");

    assert!(matches!(e, LlmError::Transport(_)), "{e:?}");
    assert!(e.is_retryable());
}
