//! Our own provider-neutral LLM client: one [`LlmClient`] over `reqwest` that speaks the
//! OpenAI Chat Completions API (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp) and the
//! Anthropic Messages API, plain or streamed, with tool calling and embeddings.
//!
//! # Why not `async-openai`
//! It covers only one of the two protocols, so Anthropic would need a hand-written adapter
//! anyway, and we would carry two HTTP stacks (it defaults to reqwest 0.13; we use 0.12). Its
//! types have been renamed and moved across 0.2x–0.4x. And the part that needs care is not
//! the happy path but the local servers' quirks: Ollama rejecting `tool_choice` and reusing
//! index 0 for parallel streamed calls, arguments that are not valid JSON, servers that
//! ignore `stream`. Owning the few hundred lines of wire code lets us handle those in one
//! place, test them against a loopback stand-in, and keep one error type.
//!
//! # Layout
//! - [`model`]: the conversation model (close to Anthropic's content blocks).
//! - `openai` / `anthropic`: each wire format, to and from that model.
//! - `sse`: server-sent events with an idle timeout.
//! - `error`: [`LlmError`] and the HTTP mapping.
//!
//! # Timeouts and retries
//! [`OpenAiConfig::timeout`] / [`AnthropicConfig::timeout`] bound a whole non-streamed call;
//! for a streamed call they bound the wait for the headers and then each wait for the next
//! event, so a long answer that keeps flowing is not cut off. The client never retries:
//! [`LlmError::is_retryable`] and the `retry_after` of [`LlmError::RateLimited`] let the
//! caller decide.
//! API keys are sent as sensitive headers and appear in no error or log.

mod anthropic;
mod error;
pub mod model;
mod openai;
mod sse;

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use anthropic::API_VERSION as ANTHROPIC_VERSION;
pub use error::LlmError;
pub use model::{
    Block, ChatRequest, ChatResponse, INVALID_ARGUMENTS_KEY, Message, RAW_ARGUMENTS_KEY, Role,
    StopReason, ToolSpec, Usage,
};

use sse::SseStream;

/// OpenAI's API root.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Anthropic's API root.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Used when a config is built with `new`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which API to talk to.
#[derive(Debug, Clone)]
pub enum Provider {
    /// OpenAI Chat Completions and its compatibles (Azure, Ollama, vLLM, llama.cpp).
    OpenAi(OpenAiConfig),
    /// Anthropic Messages.
    Anthropic(AnthropicConfig),
}

/// An OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API root including any version path: `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama), `http://host:8000/v1` (vLLM). For Azure, the
    /// resource endpoint `https://<resource>.openai.azure.com`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer` (or Azure's `api-key`); `None` for local servers.
    pub api_key: Option<SecretString>,
    /// Set for Azure OpenAI's deployment URLs.
    pub azure: Option<AzureConfig>,
    /// See the module doc.
    pub timeout: Duration,
}

/// Azure OpenAI's deployment addressing.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// The chat deployment's name. (For [`LlmClient::embed`], the `model` argument names the
    /// embeddings deployment.)
    pub deployment: String,
    /// The `api-version` query value, e.g. `2024-10-21`.
    pub api_version: String,
}

impl OpenAiConfig {
    /// A server at `base_url`, without key, with [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key: None,
            azure: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Anthropic's API.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// The API root, [`DEFAULT_ANTHROPIC_BASE_URL`] unless testing.
    pub base_url: String,
    /// Sent as `x-api-key`.
    pub api_key: SecretString,
    /// See the module doc.
    pub timeout: Duration,
}

impl AnthropicConfig {
    /// Anthropic's own API with `api_key` and [`DEFAULT_TIMEOUT`].
    pub fn new(api_key: SecretString) -> Self {
        AnthropicConfig {
            base_url: DEFAULT_ANTHROPIC_BASE_URL.into(),
            api_key,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A client for one provider. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    provider: Provider,
}

fn secret_header(value: &str) -> Result<HeaderValue, LlmError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        LlmError::Config("the API key contains characters a header cannot carry".into())
    })?;
    // Keeps it out of reqwest's and hyper's Debug output.
    value.set_sensitive(true);
    Ok(value)
}

fn checked_base(base_url: &str) -> Result<String, LlmError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed)
        .map_err(|e| LlmError::Config(format!("base URL {trimmed:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(LlmError::Config(format!(
            "base URL {trimmed:?} is not http or https"
        )));
    }
    Ok(trimmed.to_string())
}

impl LlmClient {
    /// Checks the configuration and builds the HTTP client. Sends nothing.
    pub fn new(provider: Provider) -> Result<Self, LlmError> {
        let mut headers = HeaderMap::new();
        let (provider, timeout) = match provider {
            Provider::OpenAi(mut config) => {
                config.base_url = checked_base(&config.base_url)?;
                if let Some(key) = &config.api_key {
                    let (name, value) = match config.azure {
                        Some(_) => ("api-key", secret_header(key.expose_secret())?),
                        None => (
                            "authorization",
                            secret_header(&format!("Bearer {}", key.expose_secret()))?,
                        ),
                    };
                    headers.insert(HeaderName::from_static(name), value);
                }
                let timeout = config.timeout;
                (Provider::OpenAi(config), timeout)
            }
            Provider::Anthropic(mut config) => {
                config.base_url = checked_base(&config.base_url)?;
                headers.insert(
                    HeaderName::from_static("x-api-key"),
                    secret_header(config.api_key.expose_secret())?,
                );
                headers.insert(
                    HeaderName::from_static("anthropic-version"),
                    HeaderValue::from_static(ANTHROPIC_VERSION),
                );
                let timeout = config.timeout;
                (Provider::Anthropic(config), timeout)
            }
        };
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Config(format!("HTTP client: {e}")))?;
        Ok(LlmClient { http, provider })
    }

    /// The provider this client talks to.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    fn timeout(&self) -> Duration {
        match &self.provider {
            Provider::OpenAi(c) => c.timeout,
            Provider::Anthropic(c) => c.timeout,
        }
    }

    fn chat_target(&self, req: &ChatRequest, stream: bool) -> Result<(String, Vec<u8>), LlmError> {
        Ok(match &self.provider {
            Provider::OpenAi(c) => (openai::chat_url(c), openai::encode_request(req, stream)?),
            Provider::Anthropic(c) => (
                format!("{}/v1/messages", c.base_url),
                anthropic::encode_request(req, stream)?,
            ),
        })
    }

    fn post(&self, url: String, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    }

    /// Sends `body` and reads the whole answer within the timeout.
    async fn call(&self, url: String, body: Vec<u8>) -> Result<Vec<u8>, LlmError> {
        let response = self
            .post(url, body)
            .timeout(self.timeout())
            .send()
            .await
            .map_err(error::from_reqwest)?;
        if !response.status().is_success() {
            return Err(error::from_response(response, self.timeout()).await);
        }
        let bytes = response.bytes().await.map_err(error::from_reqwest)?;
        Ok(bytes.to_vec())
    }

    /// One turn: the model's whole answer at once.
    #[tracing::instrument(skip_all, fields(llm.model = %req.model))]
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (url, body) = self.chat_target(req, false)?;
        let answer = self.call(url, body).await?;
        match &self.provider {
            Provider::OpenAi(_) => openai::decode_response(&answer, &req.model),
            Provider::Anthropic(_) => anthropic::decode_response(&answer, &req.model),
        }
    }

    /// Streams: calls on_text for each text delta as it arrives; returns the assembled
    /// response (text + tool calls + usage).
    ///
    /// Tool calls are only returned once complete. A server that ignores `stream` and answers
    /// with plain JSON is accepted: `on_text` then gets the whole text once.
    #[tracing::instrument(skip_all, fields(llm.model = %req.model))]
    pub async fn chat_stream(
        &self,
        req: &ChatRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let (url, body) = self.chat_target(req, true)?;
        let idle = self.timeout();
        let send = self
            .post(url, body)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send();
        let response = tokio::time::timeout(idle, send)
            .await
            .map_err(|_| LlmError::Timeout)?
            .map_err(error::from_reqwest)?;
        if !response.status().is_success() {
            return Err(error::from_response(response, idle).await);
        }
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let bytes = tokio::time::timeout(idle, response.bytes())
                .await
                .map_err(|_| LlmError::Timeout)?
                .map_err(error::from_reqwest)?;
            let answer = match &self.provider {
                Provider::OpenAi(_) => openai::decode_response(&bytes, &req.model)?,
                Provider::Anthropic(_) => anthropic::decode_response(&bytes, &req.model)?,
            };
            let text = answer.text();
            if !text.is_empty() {
                on_text(&text);
            }
            return Ok(answer);
        }
        let events = SseStream::new(response, idle);
        match &self.provider {
            Provider::OpenAi(_) => openai::read_stream(events, &req.model, on_text).await,
            Provider::Anthropic(_) => anthropic::read_stream(events, &req.model, on_text).await,
        }
    }

    /// OpenAI-compatible `/embeddings` (error Rejected for Anthropic, which has no embeddings API).
    ///
    /// Returns one vector per input, in input order. On Azure, `model` is the embeddings
    /// deployment's name. No request is sent for an empty `inputs`.
    #[tracing::instrument(skip_all, fields(llm.model = %model, llm.inputs = inputs.len()))]
    pub async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let config = match &self.provider {
            Provider::OpenAi(c) => c,
            Provider::Anthropic(_) => {
                return Err(LlmError::Rejected {
                    status: 0,
                    message: "Anthropic has no embeddings API; configure an OpenAI-compatible provider for embeddings".into(),
                });
            }
        };
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let body = openai::encode_embeddings(model, inputs)?;
        let answer = self
            .call(openai::embeddings_url(config, model), body)
            .await?;
        openai::decode_embeddings(&answer, inputs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configuration_is_refused_before_any_request() {
        let bad_url = LlmClient::new(Provider::OpenAi(OpenAiConfig::new("not a url")));
        assert!(matches!(bad_url, Err(LlmError::Config(_))));
        let bad_key = LlmClient::new(Provider::Anthropic(AnthropicConfig::new(
            SecretString::from("line\nbreak"),
        )));
        match bad_key {
            Err(LlmError::Config(message)) => assert!(!message.contains("line")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        let client = LlmClient::new(Provider::Anthropic(AnthropicConfig::new(
            SecretString::from("sk-ant-very-secret"),
        )))
        .expect("client");
        assert!(!format!("{client:?}").contains("very-secret"));
    }
}
