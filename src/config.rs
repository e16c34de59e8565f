//! Configuration: defaults < `switchboard.toml` (or `--config FILE`) < `SWITCHBOARD_*` environment.
//!
//! Nested keys use `__` in the environment: `database.url` is `SWITCHBOARD_DATABASE__URL`.
//! Every key below has a safe default and a row in the README's configuration table.
//!
//! | key | env | default |
//! | --- | --- | --- |
//! | `listen` | `SWITCHBOARD_LISTEN` | `127.0.0.1:8080` |
//! | `data_dir` | `SWITCHBOARD_DATA_DIR` | `./data` |
//! | `public_url` | `SWITCHBOARD_PUBLIC_URL` | `http://{listen}` |
//! | `master_key` | `SWITCHBOARD_MASTER_KEY` | generated into `{data_dir}/master.key` |
//! | `admin_email` | `SWITCHBOARD_ADMIN_EMAIL` | `admin@switchboard.local` |
//! | `admin_password` | `SWITCHBOARD_ADMIN_PASSWORD` | generated and printed once |
//! | `demo_password` | `SWITCHBOARD_DEMO_PASSWORD` | generated and printed once |
//! | `database.url` | `SWITCHBOARD_DATABASE__URL` | `sqlite://{data_dir}/switchboard.db` |
//! | `database.max_connections` | `SWITCHBOARD_DATABASE__MAX_CONNECTIONS` | `10` |
//! | `http.body_limit_bytes` | `SWITCHBOARD_HTTP__BODY_LIMIT_BYTES` | `1048576` |
//! | `http.request_timeout_secs` | `SWITCHBOARD_HTTP__REQUEST_TIMEOUT_SECS` | `30` |
//! | `http.shutdown_grace_secs` | `SWITCHBOARD_HTTP__SHUTDOWN_GRACE_SECS` | `10` |
//! | `auth.session_ttl_hours` | `SWITCHBOARD_AUTH__SESSION_TTL_HOURS` | `12` |
//! | `auth.cookie_secure` | `SWITCHBOARD_AUTH__COOKIE_SECURE` | `false` |
//! | `auth.max_failed_logins` | `SWITCHBOARD_AUTH__MAX_FAILED_LOGINS` | `5` |
//! | `auth.max_failed_logins_per_ip` | `SWITCHBOARD_AUTH__MAX_FAILED_LOGINS_PER_IP` | `20` |
//! | `auth.lockout_base_secs` | `SWITCHBOARD_AUTH__LOCKOUT_BASE_SECS` | `30` |
//! | `auth.lockout_max_secs` | `SWITCHBOARD_AUTH__LOCKOUT_MAX_SECS` | `900` |
//! | `ivr.dir` | `SWITCHBOARD_IVR__DIR` | `{data_dir}/ivr-flows` |
//! | `ivr.http_allowlist` | `SWITCHBOARD_IVR__HTTP_ALLOWLIST` | unset (any https host) |
//! | `log.format` | `SWITCHBOARD_LOG__FORMAT` | `text` (or `json`) |
//! | `log.filter` | `SWITCHBOARD_LOG__FILTER` | `switchboard=info,tower_http=info` |
//! | `tts.provider` | `SWITCHBOARD_TTS__PROVIDER` | `espeak` (or `polly`) |
//! | `tts.cache_dir` | `SWITCHBOARD_TTS__CACHE_DIR` | `{data_dir}/tts-cache` |
//! | `tts.polly.region` | `SWITCHBOARD_TTS__POLLY__REGION` | `AWS_REGION` |
//! | `tts.polly.endpoint` | `SWITCHBOARD_TTS__POLLY__ENDPOINT` | `https://polly.{region}.amazonaws.com` |
//! | `tts.polly.timeout_secs` | `SWITCHBOARD_TTS__POLLY__TIMEOUT_SECS` | `10` |
//!
//! Polly credentials are not configuration: they come from the standard AWS variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), so the same secrets
//! serve every AWS tool on the host and never land in `switchboard.toml`.
//! | `voice.asterisk` | `SWITCHBOARD_VOICE__ASTERISK` | `[]` (voice off) |
//! | `voice.media_url` | `SWITCHBOARD_VOICE__MEDIA_URL` | `http://{listen}` |
//! | `voice.outbound_endpoint` | `SWITCHBOARD_VOICE__OUTBOUND_ENDPOINT` | `PJSIP/{number}@itsp` |
//! | `voice.outbound_caller_id` | `SWITCHBOARD_VOICE__OUTBOUND_CALLER_ID` | unset (the DID called) |
//! | `voice.sip_uri_endpoint` | `SWITCHBOARD_VOICE__SIP_URI_ENDPOINT` | `PJSIP/itsp/{uri}` |
//!
//! `voice.asterisk` is a list of `[[voice.asterisk]]` tables, one per Asterisk server:
//! `name`, `url` (`http://HOST:8088/ari`), `username`, `password`, `app` (`switchboard`),
//! `request_timeout_secs` (`10`), `max_in_flight` (`32`), `rest_over_websocket` (`true`),
//! `interconnect` (unset: a dial string such as `PJSIP/{endpoint}@{server}`). In the
//! environment it is one value:
//! `SWITCHBOARD_VOICE__ASTERISK='[{name="pbx1",url="http://10.0.0.5:8088/ari",username="switchboard",password="…"}]'`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A configuration that cannot be used, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read as its type (figment names the key).
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    /// A value was read but is not acceptable.
    #[error("invalid `{key}`: {message}")]
    Invalid {
        /// The key, dotted.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration tree.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server binds (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Folder for the SQLite file, the master key, media and caches.
    pub data_dir: PathBuf,
    /// URL the service is reached at from outside (links, widget snippet); derived from `listen` when unset.
    pub public_url: Option<String>,
    /// 32-byte key (64 hex chars) encrypting secrets at rest; generated into `data_dir` when unset.
    #[serde(serialize_with = "ser_secret_opt")]
    pub master_key: Option<SecretString>,
    /// Email of the platform operator created on first start.
    pub admin_email: String,
    /// Password of that operator; generated and printed once when unset.
    #[serde(serialize_with = "ser_secret_opt")]
    pub admin_password: Option<SecretString>,
    /// Password given to the demo users by `serve --demo`; generated and printed once when unset.
    #[serde(serialize_with = "ser_secret_opt")]
    pub demo_password: Option<SecretString>,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HTTP edge settings.
    pub http: HttpConfig,
    /// Login and session settings.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// The AI agent.
    pub ai: AiConfig,
    /// IVR flows.
    pub ivr: IvrConfig,
    /// Text-to-speech for IVR prompts.
    pub tts: TtsConfig,
    /// Voice over Asterisk ARI.
    pub voice: VoiceConfig,
    /// The async runtime.
    pub runtime: RuntimeConfig,
}

/// `[runtime]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RuntimeConfig {
    /// Threads running the service's tasks; unset = one per core the process may use.
    pub worker_threads: Option<usize>,
}

/// `[voice]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct VoiceConfig {
    /// The Asterisk servers (`[[voice.asterisk]]`), each with its own URL and credentials.
    /// Empty: voice is off.
    pub asterisk: Vec<AsteriskConfig>,
    /// The base URL Asterisk fetches our prompts from (`sound:{media_url}/media/tts/…`, the
    /// tenants' `sounds/`). Unset: the address we listen on (a wildcard host as loopback),
    /// right when Asterisk runs on this host.
    pub media_url: Option<String>,
    /// How customers are dialled (callbacks, click-to-call, transfers to a number): `{number}`
    /// is replaced by the E.164 number. Must name the trunk of `pjsip.conf`.
    pub outbound_endpoint: String,
    /// Caller id presented on calls to customers (callbacks, click-to-call); unset: the DID
    /// the customer first called, else none.
    pub outbound_caller_id: Option<String>,
    /// How a flow's transfer to a SIP URI is dialled: `{uri}` is replaced by the URI
    /// (`sip:alice@example.com`), sent through a PJSIP endpoint's settings (`PJSIP/<endpoint>/<uri>`).
    pub sip_uri_endpoint: String,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            asterisk: Vec::new(),
            media_url: None,
            // The carrier trunk's endpoint as the shipped Asterisk image names it: its
            // entrypoint writes `[itsp]` into pjsip_trunk.conf from the ITSP_* settings (the
            // commented example in asterisk/pjsip.conf uses the same name).
            outbound_endpoint: "PJSIP/{number}@itsp".into(),
            outbound_caller_id: None,
            sip_uri_endpoint: "PJSIP/itsp/{uri}".into(),
        }
    }
}

/// One `[[voice.asterisk]]` server.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AsteriskConfig {
    /// A name for logs and for telling servers apart (unique).
    pub name: String,
    /// ARI base URL: `http://HOST:8088/ari` (or `https://…:8089/ari`); the events socket is
    /// derived from it.
    pub url: String,
    /// ARI user (`ari.conf`, `type=user`).
    pub username: String,
    /// Its password.
    #[serde(serialize_with = "ser_secret")]
    pub password: SecretString,
    /// The Stasis application (`Stasis(switchboard,…)` in the dialplan).
    #[serde(default = "default_ari_app")]
    pub app: String,
    /// A REST request taking longer fails (and the call it served is cleaned up).
    #[serde(default = "default_ari_timeout")]
    pub request_timeout_secs: u64,
    /// REST requests in flight at once (Asterisk's HTTP `sessionlimit` is 100 by default).
    #[serde(default = "default_ari_in_flight")]
    pub max_in_flight: usize,
    /// Send REST requests over the events socket when Asterisk takes them there (20.14,
    /// 21.9, 22.4 and later; an older one is detected and spoken to over HTTP).
    #[serde(default = "yes")]
    pub rest_over_websocket: bool,
    /// How this server dials a phone registered with another of the servers: a dial string
    /// with `{endpoint}` (the phone's PJSIP endpoint) and `{server}` (the other server's
    /// `name`), e.g. `PJSIP/{endpoint}@{server}` over a SIP trunk named after each peer.
    /// Unset: phones registered elsewhere are not rung from calls on this server.
    #[serde(default)]
    pub interconnect: Option<String>,
}

fn default_ari_app() -> String {
    "switchboard".into()
}

fn default_ari_timeout() -> u64 {
    10
}

fn yes() -> bool {
    true
}

fn default_ari_in_flight() -> usize {
    32
}

impl AsteriskConfig {
    /// A server at `url` with the default app and limits (tests and examples).
    pub fn for_url(url: &str) -> Self {
        AsteriskConfig {
            name: "asterisk".into(),
            url: url.into(),
            username: "switchboard".into(),
            password: SecretString::from("switchboard"),
            app: default_ari_app(),
            request_timeout_secs: default_ari_timeout(),
            max_in_flight: default_ari_in_flight(),
            rest_over_websocket: true,
            interconnect: None,
        }
    }

    fn validate(&self, seen: &mut Vec<String>) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            key: "voice.asterisk",
            message: format!("server `{}`: {message}", self.name),
        };
        if self.name.trim().is_empty() {
            return Err(bad("`name` must not be empty".into()));
        }
        if seen.contains(&self.name) {
            return Err(bad("`name` is used twice".into()));
        }
        seen.push(self.name.clone());
        let url = url::Url::parse(&self.url).map_err(|e| bad(format!("`url`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("`url` must be http(s)://HOST:PORT/ari".into()));
        }
        if self.username.is_empty() {
            return Err(bad("`username` must not be empty".into()));
        }
        // Asterisk limits app names to 73 characters; a comma would split the `app` list.
        if self.app.is_empty() || self.app.len() > 73 || self.app.contains(',') {
            return Err(bad("`app` must be 1 to 73 characters without commas".into()));
        }
        if let Some(dial) = &self.interconnect
            && (!dial.contains("{endpoint}") || !dial.contains('/'))
        {
            return Err(bad(format!(
                "`interconnect` must be a dial string with {{endpoint}} (e.g. `PJSIP/{{endpoint}}@{{server}}`), not `{dial}`"
            )));
        }
        if self.request_timeout_secs == 0 || self.max_in_flight == 0 {
            return Err(bad(
                "`request_timeout_secs` and `max_in_flight` must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// `[ivr]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct IvrConfig {
    /// The folder holding one flow folder per tenant (`{dir}/{tenant slug}/routes.yaml`,
    /// `flows/*.yaml` …). Unset: `{data_dir}/ivr-flows`. Point it at a git checkout to keep
    /// flows under review; changes on disk are reloaded (and refused while invalid).
    pub dir: Option<PathBuf>,
    /// Hosts flows' `http` nodes may call (exact names or `*.example.com`). Unset: any host
    /// (https only); set it in production so a flow cannot reach an arbitrary server.
    pub http_allowlist: Option<Vec<String>>,
}

/// `[tts]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TtsConfig {
    /// Which engine speaks the profiles of `voices.yaml`: `espeak` renders everything offline
    /// with each language's fallback voice; `polly` calls Amazon Polly for Polly profiles and
    /// falls back to the offline voice when Polly fails.
    pub provider: TtsProvider,
    /// Where rendered prompts are kept; `{data_dir}/tts-cache` when unset.
    pub cache_dir: Option<PathBuf>,
    /// Amazon Polly.
    pub polly: PollySettings,
}

/// `tts.provider`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TtsProvider {
    /// espeak-ng, offline.
    #[default]
    #[serde(alias = "espeak-ng")]
    Espeak,
    /// Amazon Polly.
    Polly,
}

/// `[tts.polly]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PollySettings {
    /// AWS region; `AWS_REGION` (then `AWS_DEFAULT_REGION`) when unset.
    pub region: Option<String>,
    /// Base URL instead of `https://polly.<region>.amazonaws.com` (VPC endpoints, stand-ins).
    pub endpoint: Option<String>,
    /// Deadline of one synthesis request.
    pub timeout_secs: u64,
}

impl Default for PollySettings {
    fn default() -> Self {
        PollySettings {
            region: None,
            endpoint: None,
            timeout_secs: 10,
        }
    }
}

impl TtsConfig {
    /// Polly's settings with credentials from the usual AWS chain, read through `env` (the
    /// process environment in production, a fixed map in tests): the `AWS_*` variables, then
    /// the `AWS_PROFILE` (or `default`) profile of `~/.aws/credentials` and `~/.aws/config`.
    pub fn polly_config(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<crate::tts::PollyConfig, ConfigError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let profile = crate::tts::aws_profile::load(env);
        let region = self
            .polly
            .region
            .clone()
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .or(profile.region)
            .ok_or_else(|| {
                invalid(
                    "tts.polly.region",
                    "not set, and neither is AWS_REGION nor a region in ~/.aws/config; Polly needs a region",
                )
            })?;
        let endpoint = self
            .polly
            .endpoint
            .as_deref()
            .map(url::Url::parse)
            .transpose()
            .map_err(|e| invalid("tts.polly.endpoint", &e.to_string()))?;
        // Keys from the environment come as a pair (with its token); otherwise the profile's.
        let (access_key_id, secret, token) = match (
            var("AWS_ACCESS_KEY_ID"),
            var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => (id, secret, var("AWS_SESSION_TOKEN")),
            _ => match (profile.access_key_id, profile.secret_access_key) {
                (Some(id), Some(secret)) => (id, secret, profile.session_token),
                _ => {
                    return Err(invalid(
                        "tts.provider",
                        "is polly, but no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE)",
                    ));
                }
            },
        };
        Ok(crate::tts::PollyConfig {
            region,
            endpoint,
            access_key_id,
            secret_access_key: SecretString::from(secret),
            session_token: token.map(SecretString::from),
            timeout: std::time::Duration::from_secs(self.polly.timeout_secs),
        })
    }
}

/// `[ai]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AiConfig {
    /// A sentence-transformers model folder (`config.json`, `tokenizer.json`,
    /// `model.safetensors`, e.g. all-MiniLM-L6-v2): the local bot then matches questions by
    /// meaning as well as by words. Unset: keyword search (BM25) only.
    pub local_model_dir: Option<PathBuf>,
    /// Languages the model understands (all-MiniLM-L6-v2 is English-only; a multilingual
    /// model such as paraphrase-multilingual-MiniLM-L12-v2 can list more). Other languages
    /// are matched by words alone.
    pub local_model_languages: Vec<String>,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            local_model_dir: None,
            local_model_languages: vec!["en".into()],
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; SQLite in `data_dir` when unset.
    #[serde(serialize_with = "ser_db_url")]
    pub url: Option<String>,
    /// Pool size.
    pub max_connections: u32,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Largest request body accepted (413 above).
    pub body_limit_bytes: usize,
    /// A request taking longer is answered 408 (WebSockets excepted).
    pub request_timeout_secs: u64,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace_secs: u64,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Session lifetime.
    pub session_ttl_hours: i64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub cookie_secure: bool,
    /// Failed logins of one account before it is locked out for a while.
    pub max_failed_logins: u32,
    /// Failed logins from one address before it is locked out for a while.
    pub max_failed_logins_per_ip: u32,
    /// First lockout length; doubles with each further failure.
    pub lockout_base_secs: u64,
    /// Longest lockout.
    pub lockout_max_secs: u64,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// tracing `EnvFilter` directives (`RUST_LOG` wins when set).
    pub filter: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            public_url: None,
            master_key: None,
            admin_email: "admin@switchboard.local".into(),
            admin_password: None,
            demo_password: None,
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            ai: AiConfig::default(),
            ivr: IvrConfig::default(),
            tts: TtsConfig::default(),
            voice: VoiceConfig::default(),
            runtime: RuntimeConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl_hours: 12,
            cookie_secure: false,
            max_failed_logins: 5,
            max_failed_logins_per_ip: 20,
            lockout_base_secs: 30,
            lockout_max_secs: 900,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "switchboard=info,tower_http=info".into(),
        }
    }
}

fn ser_secret_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("[REDACTED]"),
        None => s.serialize_none(),
    }
}

fn ser_secret<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[REDACTED]")
}

fn ser_db_url<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(u) => s.serialize_str(&crate::store::redact_url(u)),
        None => s.serialize_none(),
    }
}

// Variables that share the prefix but are not configuration (test harness knobs).
const NOT_CONFIG: &[&str] = &[
    "test_postgres_url",
    "test_backend",
    "test_log",
    "test_model_dir",
];

impl Config {
    /// Loads defaults, then the TOML file (`switchboard.toml` in the working directory
    /// unless `file` is given; a missing default file is fine, a missing named file is not),
    /// then the environment, and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Invalid {
                        key: "--config",
                        message: format!("file {} does not exist", path.display()),
                    });
                }
                fig = fig.merge(Toml::file_exact(path));
            }
            None => fig = fig.merge(Toml::file("switchboard.toml")),
        }
        fig = fig.merge(
            Env::prefixed("SWITCHBOARD_")
                .filter(|k| !NOT_CONFIG.contains(&k.as_str().to_ascii_lowercase().as_str()))
                .split("__"),
        );
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if let Some(url) = &self.database.url {
            crate::store::Backend::from_url(url).map_err(|e| ConfigError::Invalid {
                key: "database.url",
                message: e.to_string(),
            })?;
        }
        if self.runtime.worker_threads == Some(0) {
            return Err(invalid(
                "runtime.worker_threads",
                "must be at least 1 (or unset)",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(invalid("http.body_limit_bytes", "must be at least 1024"));
        }
        if self.auth.session_ttl_hours < 1 {
            return Err(invalid("auth.session_ttl_hours", "must be at least 1"));
        }
        if self.auth.max_failed_logins == 0 || self.auth.max_failed_logins_per_ip == 0 {
            return Err(invalid("auth.max_failed_logins", "must be at least 1"));
        }
        if let Some(key) = &self.master_key {
            crate::secrets::MasterKey::from_hex(key.expose_secret()).map_err(|m| {
                ConfigError::Invalid {
                    key: "master_key",
                    message: m.to_string(),
                }
            })?;
        }
        crate::domain::Email::parse(&self.admin_email).map_err(|e| ConfigError::Invalid {
            key: "admin_email",
            message: e.message,
        })?;
        if let Some(p) = &self.admin_password
            && p.expose_secret().chars().count() < crate::auth::MIN_PASSWORD_LEN
        {
            return Err(invalid(
                "admin_password",
                &format!(
                    "must be at least {} characters",
                    crate::auth::MIN_PASSWORD_LEN
                ),
            ));
        }
        if let Some(endpoint) = &self.tts.polly.endpoint {
            url::Url::parse(endpoint).map_err(|e| ConfigError::Invalid {
                key: "tts.polly.endpoint",
                message: e.to_string(),
            })?;
        }
        if self.tts.polly.timeout_secs == 0 {
            return Err(invalid("tts.polly.timeout_secs", "must be at least 1"));
        }
        if let Some(u) = &self.public_url {
            url::Url::parse(u).map_err(|e| ConfigError::Invalid {
                key: "public_url",
                message: e.to_string(),
            })?;
        }
        let mut names = Vec::new();
        for server in &self.voice.asterisk {
            server.validate(&mut names)?;
        }
        Ok(())
    }

    /// The bind address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                &format!("`{}` is not HOST:PORT (e.g. 127.0.0.1:8080)", self.listen),
            )
        })
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            ),
        }
    }

    /// The folder of the tenants' IVR flow folders.
    pub fn ivr_dir(&self) -> PathBuf {
        self.ivr
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ivr-flows"))
    }

    /// Where rendered TTS prompts live.
    pub fn tts_cache_dir(&self) -> PathBuf {
        self.tts
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("tts-cache"))
    }

    /// Where prompts with personal data are rendered for one playback (never the cache).
    pub fn tts_scratch_dir(&self) -> PathBuf {
        self.data_dir.join("tts-scratch")
    }

    /// Where call recordings and voicemails are kept (`{tenant id}/…` below it).
    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }

    /// The effective configuration as TOML with every secret redacted.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.database.url.is_none() {
            shown.database.url = Some(self.database_url());
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render config: {e}"))
    }
}

fn invalid(key: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::result_large_err,
        reason = "figment::Jail's closure signature is fixed"
    )]
    use super::*;

    #[test]
    fn defaults_are_valid_and_use_sqlite_in_the_data_dir() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.database_url(), "sqlite://./data/switchboard.db");
        assert_eq!(c.listen, "127.0.0.1:8080");
    }

    #[test]
    fn a_bad_listen_address_names_the_key() {
        let c = Config {
            listen: "nope".into(),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`listen`"), "{e}");
    }

    #[test]
    fn an_unknown_database_scheme_names_the_key() {
        let mut c = Config::default();
        c.database.url = Some("mysql://x".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("database.url"), "{e}");
    }

    #[test]
    fn redacted_output_hides_every_secret() {
        let mut c = Config {
            admin_password: Some(SecretString::from("hunter2hunter2")),
            master_key: Some(SecretString::from("00".repeat(32))),
            ..Config::default()
        };
        c.database.url = Some("postgres://app:s3cret@db/sb".into());
        let out = c.redacted_toml();
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("s3cret"), "{out}");
        assert!(!out.contains(&"00".repeat(32)), "{out}");
        assert!(out.contains("REDACTED"));
    }

    #[test]
    fn worker_threads_from_the_environment_and_zero_refused() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Config::load(None)
                    .map_err(|e| e.to_string())?
                    .runtime
                    .worker_threads,
                None
            );
            jail.set_env("SWITCHBOARD_RUNTIME__WORKER_THREADS", "1");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.runtime.worker_threads, Some(1));
            jail.set_env("SWITCHBOARD_RUNTIME__WORKER_THREADS", "0");
            let err = Config::load(None).expect_err("0 threads").to_string();
            assert!(err.contains("runtime.worker_threads"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn environment_wins_over_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "switchboard.toml",
                "listen = \"127.0.0.1:9000\"\n[auth]\nsession_ttl_hours = 3\n",
            )?;
            jail.set_env("SWITCHBOARD_LISTEN", "127.0.0.1:9100");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "127.0.0.1:9100");
            assert_eq!(c.auth.session_ttl_hours, 3);
            Ok(())
        });
    }

    #[test]
    fn tts_defaults_and_polly_settings_from_the_environment() {
        let c = Config::default();
        assert_eq!(c.tts.provider, TtsProvider::Espeak);
        assert_eq!(c.tts_cache_dir(), PathBuf::from("./data/tts-cache"));
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let polly = c
            .tts
            .polly_config(&env(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
            ]))
            .unwrap();
        assert_eq!(
            (polly.region.as_str(), polly.access_key_id.as_str()),
            ("eu-west-1", "AKID")
        );
        assert!(polly.session_token.is_none() && polly.endpoint.is_none());
        let e = c
            .tts
            .polly_config(&env(&[("AWS_REGION", "eu-west-1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
        let e = c.tts.polly_config(&env(&[])).unwrap_err().to_string();
        assert!(e.contains("tts.polly.region"), "{e}");
    }

    #[test]
    fn polly_credentials_fall_back_to_the_shared_aws_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "[voice]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s3cret\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[profile voice]\nregion = ca-central-1\n",
        )
        .unwrap();
        let home = dir.path().display().to_string();
        let env = move |k: &str| match k {
            "HOME" => Some(home.clone()),
            "AWS_PROFILE" => Some("voice".to_owned()),
            _ => None,
        };
        let polly = Config::default().tts.polly_config(&env).unwrap();
        assert_eq!(polly.access_key_id, "AKIDFILE");
        assert_eq!(polly.region, "ca-central-1");
        assert!(polly.session_token.is_none());
    }

    #[test]
    fn tts_keys_load_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_TTS__PROVIDER", "polly");
            jail.set_env("SWITCHBOARD_TTS__POLLY__ENDPOINT", "http://127.0.0.1:9");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.tts.provider, TtsProvider::Polly);
            assert_eq!(c.tts.polly.endpoint.as_deref(), Some("http://127.0.0.1:9"));
            assert!(c.redacted_toml().contains("[tts.polly]"));
            jail.set_env("SWITCHBOARD_TTS__POLLY__ENDPOINT", "not a url");
            let e = Config::load(None).unwrap_err().to_string();
            assert!(e.contains("tts.polly.endpoint"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn asterisk_servers_load_from_the_file_and_the_environment_with_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "switchboard.toml",
                "[[voice.asterisk]]\nname = \"pbx1\"\nurl = \"http://10.0.0.5:8088/ari\"\n\
                 username = \"sb\"\npassword = \"pw1-secret\"\n",
            )?;
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.voice.asterisk.len(), 1);
            let pbx = &c.voice.asterisk[0];
            assert_eq!(
                (
                    pbx.app.as_str(),
                    pbx.request_timeout_secs,
                    pbx.max_in_flight
                ),
                ("switchboard", 10, 32)
            );
            let shown = c.redacted_toml();
            assert!(!shown.contains("pw1-secret"), "{shown}");
            assert!(
                shown.contains("[[voice.asterisk]]") && shown.contains("pbx1"),
                "{shown}"
            );
            assert!(shown.contains("password = \"[REDACTED]\""), "{shown}");
            jail.set_env(
                "SWITCHBOARD_VOICE__ASTERISK",
                r#"[{name="a",url="http://a:8088/ari",username="u",password="p"},{name="b",url="https://b:8089/ari",username="u",password="q",app="sb2"}]"#,
            );
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let names: Vec<_> = c
                .voice
                .asterisk
                .iter()
                .map(|s| (s.name.as_str(), s.app.as_str()))
                .collect();
            assert_eq!(names, [("a", "switchboard"), ("b", "sb2")]);
            Ok(())
        });
    }

    #[test]
    fn voice_is_off_by_default_and_bad_servers_are_refused() {
        assert!(Config::default().voice.asterisk.is_empty());
        let mut c = Config::default();
        c.voice.asterisk = vec![AsteriskConfig::for_url("ftp://pbx/ari")];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("voice.asterisk") && e.contains("url"), "{e}");
        c.voice.asterisk = vec![
            AsteriskConfig::for_url("http://pbx:8088/ari"),
            AsteriskConfig::for_url("http://pbx2:8088/ari"),
        ];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        c.voice.asterisk.truncate(1);
        c.voice.asterisk[0].app = "a,b".into();
        assert!(c.validate().is_err());
        c.voice.asterisk[0].app = "switchboard".into();
        c.validate().unwrap();
        c.voice.asterisk[0].interconnect = Some("pbx2".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("interconnect") && e.contains("{endpoint}"),
            "{e}"
        );
        c.voice.asterisk[0].interconnect = Some("PJSIP/{endpoint}@{server}".into());
        c.validate().unwrap();
    }

    #[test]
    fn a_wrongly_typed_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_AUTH__SESSION_TTL_HOURS", "soon");
            let e = Config::load(None).unwrap_err().to_string().to_lowercase();
            assert!(e.contains("auth.session_ttl_hours"), "{e}");
            Ok(())
        });
    }
}
