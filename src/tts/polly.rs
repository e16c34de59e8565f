//! Amazon Polly `SynthesizeSpeech` over its REST API: `POST /v1/speech` with a JSON body,
//! signed with SigV4, `OutputFormat=pcm` so the response body is already s16le mono at the
//! requested rate (shared/TTS-AND-LLM.md §1) and can be written verbatim as `.sln`/`.sln16`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::sigv4::{SigningParams, authorization};
use super::{Audio, SpeechRequest, Synthesizer, TtsError};

const PROVIDER: &str = "polly";
/// Polly's per-call ceiling on input characters, SSML tags included (billed characters are
/// capped lower, at 3 000). Checked here so the caller gets `InvalidRequest`, not a round trip.
const MAX_INPUT_CHARS: usize = 6000;

#[derive(Debug, Clone)]
pub struct PollyConfig {
    pub region: String,
    /// Base URL. `None` means `https://polly.<region>.amazonaws.com`; tests and VPC endpoints
    /// set it.
    pub endpoint: Option<url::Url>,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// For temporary (STS) credentials.
    pub session_token: Option<SecretString>,
    /// Whole-request deadline. Runtime prompts need an answer in about 1.5 s or the caller
    /// falls back (§3 of the notes).
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PollySynth {
    config: PollyConfig,
    http: reqwest::Client,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    engine: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    language_code: &'a str,
    output_format: &'a str,
    sample_rate: String,
    text: &'a str,
    text_type: &'a str,
    voice_id: &'a str,
}

impl PollySynth {
    pub fn new(config: PollyConfig) -> Result<Self, TtsError> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(PollySynth { config, http })
    }

    fn endpoint(&self) -> Result<url::Url, TtsError> {
        match &self.config.endpoint {
            Some(u) => Ok(u.clone()),
            None => url::Url::parse(&format!(
                "https://polly.{}.amazonaws.com",
                self.config.region
            ))
            .map_err(|e| TtsError::InvalidRequest(format!("bad region: {e}"))),
        }
    }
}

impl Synthesizer for PollySynth {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn synthesize(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        let chars = req.input.as_str().chars().count();
        if chars > MAX_INPUT_CHARS {
            return Err(TtsError::InvalidRequest(format!(
                "{chars} characters; Polly takes at most {MAX_INPUT_CHARS} per call"
            )));
        }
        let body = serde_json::to_vec(&Body {
            engine: req.engine.as_str(),
            language_code: &req.language,
            output_format: "pcm",
            sample_rate: req.sample_rate.hz().to_string(),
            text: req.input.as_str(),
            text_type: req.input.kind(),
            voice_id: &req.voice,
        })
        .map_err(|e| TtsError::InvalidRequest(e.to_string()))?;
        let url = self
            .endpoint()?
            .join("/v1/speech")
            .map_err(|e| TtsError::InvalidRequest(e.to_string()))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(TtsError::InvalidRequest("endpoint has no host".into())),
        };
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("host", &host),
            ("x-amz-date", &amz_date),
        ];
        let token = self
            .config
            .session_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        if let Some(t) = &token {
            headers.push(("x-amz-security-token", t));
        }
        let auth = authorization(
            &SigningParams {
                access_key_id: &self.config.access_key_id,
                secret_access_key: self.config.secret_access_key.expose_secret(),
                region: &self.config.region,
                service: "polly",
                amz_date: &amz_date,
            },
            "POST",
            url.path(),
            &headers,
            &body,
        );
        // reqwest sets Host itself from the URL, matching the signed value.
        let mut rb = self.http.post(url).header("authorization", auth);
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            rb = rb.header(*k, *v);
        }
        let resp = rb.body(body).send().await?;
        let status = resp.status();
        if !status.is_success() {
            let header_type = resp
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = resp.text().await.unwrap_or_default();
            return Err(map_error(status.as_u16(), header_type, &text));
        }
        let bytes = resp.bytes().await?;
        if bytes.len() % 2 != 0 {
            return Err(TtsError::BadAudio(format!(
                "odd PCM length {}",
                bytes.len()
            )));
        }
        let samples = bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(Audio {
            sample_rate: req.sample_rate.hz(),
            samples,
            provider: PROVIDER,
        })
    }
}

/// AWS JSON errors name their type in `x-amzn-ErrorType` or in the body's `__type`
/// (`ThrottlingException`, or `com.amazonaws…#ThrottlingException`), with `message`/`Message`.
fn map_error(status: u16, header_type: Option<String>, body: &str) -> TtsError {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    let raw_code = header_type
        .or_else(|| {
            json.get("__type")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    // Strip the namespace (`…#Code`) and any `:url` suffix the header may carry.
    let code = raw_code
        .rsplit('#')
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned();
    let message = json
        .get("message")
        .or_else(|| json.get("Message"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect());
    if status == 429 || code == "ThrottlingException" || code == "TooManyRequestsException" {
        TtsError::Throttled {
            provider: PROVIDER,
            detail: if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            },
        }
    } else if status >= 500 {
        TtsError::Unavailable {
            provider: PROVIDER,
            status,
            detail: format!("{code} {message}").trim().to_owned(),
        }
    } else {
        TtsError::Rejected {
            provider: PROVIDER,
            status,
            code,
            message,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tts::{Engine, SampleRate, SpeechInput};
    use axum::http::{HeaderMap, StatusCode};
    use axum::{Router, routing::post};
    use std::sync::{Arc, Mutex};

    pub(crate) type Seen = Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>;

    pub(crate) async fn stand_in(
        status: StatusCode,
        reply: Vec<u8>,
        error_type: Option<&'static str>,
    ) -> (url::Url, Seen) {
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        let app = Router::new().route(
            "/v1/speech",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let seen = s2.clone();
                let reply = reply.clone();
                async move {
                    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    seen.lock().unwrap().push((headers, json));
                    let mut resp = axum::response::Response::new(axum::body::Body::from(reply));
                    *resp.status_mut() = status;
                    let ct = if status.is_success() {
                        "audio/pcm"
                    } else {
                        "application/json"
                    };
                    resp.headers_mut()
                        .insert("content-type", ct.parse().unwrap());
                    if let Some(t) = error_type {
                        resp.headers_mut()
                            .insert("x-amzn-errortype", t.parse().unwrap());
                    }
                    resp
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url::Url::parse(&format!("http://{addr}")).unwrap(), seen)
    }

    fn synth(endpoint: url::Url) -> PollySynth {
        PollySynth::new(PollyConfig {
            region: "eu-west-1".into(),
            endpoint: Some(endpoint),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretString::from("secret"),
            session_token: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn sends_a_signed_pcm_request_and_returns_the_samples() {
        let pcm: Vec<u8> = [1i16, -2, 300]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let (url, seen) = stand_in(StatusCode::OK, pcm, None).await;
        let req = SpeechRequest {
            input: SpeechInput::Ssml("<speak>Hello</speak>".into()),
            voice: "Joanna".into(),
            language: "en-US".into(),
            sample_rate: SampleRate::Hz16000,
            engine: Engine::Neural,
            pii: false,
        };
        let audio = synth(url).synthesize(&req).await.unwrap();
        assert_eq!(audio.samples, vec![1, -2, 300]);
        assert_eq!((audio.sample_rate, audio.provider), (16000, "polly"));

        let seen = seen.lock().unwrap();
        let (headers, body) = &seen[0];
        assert_eq!(
            body,
            &serde_json::json!({"Engine": "neural", "LanguageCode": "en-US", "OutputFormat": "pcm",
                "SampleRate": "16000", "Text": "<speak>Hello</speak>", "TextType": "ssml", "VoiceId": "Joanna"})
        );
        assert_eq!(headers["content-type"], "application/json");
        let date = headers["x-amz-date"].to_str().unwrap();
        assert_eq!(date.len(), 16);
        let auth = headers["authorization"].to_str().unwrap();
        let re = regex::Regex::new(
            r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/eu-west-1/polly/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$",
        )
        .unwrap();
        let caps = re
            .captures(auth)
            .unwrap_or_else(|| panic!("bad Authorization: {auth}"));
        assert_eq!(&caps[1], &date[..8]);
    }

    #[tokio::test]
    async fn outage_falls_back_to_espeak_and_oversized_text_is_refused_locally() {
        let (url, seen) = stand_in(StatusCode::INTERNAL_SERVER_ERROR, b"{}".to_vec(), None).await;
        let tts = crate::tts::Fallback {
            primary: synth(url),
            fallback: crate::tts::EspeakSynth::default(),
        };
        let req = SpeechRequest::text("Welcome to Acme support", "Joanna", "en-US");
        match tts.synthesize(&req).await {
            Ok(audio) => assert_eq!((audio.provider, audio.sample_rate), ("espeak-ng", 8000)),
            // Without espeak-ng installed the fallback fails to spawn; the primary was still tried.
            Err(e) => assert!(matches!(e, TtsError::Spawn { .. }), "{e}"),
        }
        assert_eq!(seen.lock().unwrap().len(), 1);

        let long = SpeechRequest::text("a".repeat(6001), "Joanna", "en-US");
        assert!(matches!(
            tts.synthesize(&long).await,
            Err(TtsError::InvalidRequest(_))
        ));
        assert_eq!(seen.lock().unwrap().len(), 1, "no request sent");
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_mapped() {
        let cases: [(StatusCode, &str, Option<&'static str>); 4] = [
            (
                StatusCode::BAD_REQUEST,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                None,
            ),
            (StatusCode::TOO_MANY_REQUESTS, "{}", None),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"message":"down"}"#,
                Some("ServiceFailureException:http://x"),
            ),
            (
                StatusCode::BAD_REQUEST,
                r#"{"message":"bad voice"}"#,
                Some("InvalidSsmlException"),
            ),
        ];
        let req = SpeechRequest::text("hi", "Joanna", "en-US");
        let mut got = Vec::new();
        for (status, body, et) in cases {
            let (url, _) = stand_in(status, body.as_bytes().to_vec(), et).await;
            got.push(synth(url).synthesize(&req).await.unwrap_err());
        }
        assert!(
            matches!(&got[0], TtsError::Throttled { detail, .. } if detail.contains("Rate exceeded"))
        );
        assert!(matches!(&got[1], TtsError::Throttled { .. }));
        assert!(
            matches!(&got[2], TtsError::Unavailable { status: 503, detail, .. } if detail.starts_with("ServiceFailureException"))
        );
        assert!(
            matches!(&got[3], TtsError::Rejected { status: 400, code, .. } if code == "InvalidSsmlException")
        );
    }
}
