//! Building and running the service: shared state, first-start bootstrap, the HTTP server,
//! and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::auth::{LoginThrottle, generate_password, hash_password};
use crate::config::Config;
use crate::domain::{Email, Role, Slug};
use crate::secrets::MasterKey;
use crate::store::tenants::{TenantFeatures, TenantLimits};
use crate::store::{self, Store};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    /// The master key could not be loaded.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// Bootstrapping users failed.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    /// An Asterisk server of `voice.asterisk` cannot be used.
    #[error("voice.asterisk: {0}")]
    Voice(#[from] crate::voice::provision::ProvisionError),
    /// The configured embedding model could not be loaded.
    #[error("ai.local_model_dir: {0}")]
    Model(String),
    /// Calls cannot be taken with this configuration.
    #[error(transparent)]
    Calls(#[from] crate::voice::calls::VoiceError),
    /// `tts.polly` is unusable.
    #[error("tts: {0}")]
    Tts(String),
}

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// Effective configuration.
    pub config: Config,
    /// Database.
    pub store: Store,
    /// Failed-login throttle.
    pub throttle: LoginThrottle,
    /// Prometheus recorder handle.
    pub metrics: PrometheusHandle,
    /// Key sealing secrets at rest.
    pub master_key: MasterKey,
    /// The routing adapter (one engine per tenant).
    pub routing: crate::routing::service::RoutingService,
    /// The real-time event stream.
    pub events: crate::inbox::EventHub,
    /// Conversations across channels.
    pub chat: crate::channels::conversation::ChatService,
    /// The AI agent: settings, knowledge base, bot.
    pub ai: crate::ai::service::AiService,
    /// Every tenant's IVR flow folder and its published version.
    pub flows: Arc<crate::ivr::service::FlowService>,
    /// Pushes extensions to the configured Asterisk servers.
    pub provisioner: crate::voice::provision::Provisioner,
    /// Calls over ARI (idle when no Asterisk is configured).
    pub voice: crate::voice::calls::VoiceService,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(s: &AppState) -> Store {
        s.store.clone()
    }
}

/// Opens the store named by the config and applies migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let store = Store::connect(&config.database_url(), config.database.max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// Loads the master key from config, or from (creating) `{data_dir}/master.key`.
pub fn load_master_key(config: &Config) -> Result<MasterKey, StartError> {
    Ok(match &config.master_key {
        Some(k) => MasterKey::from_hex(k.expose_secret())?,
        None => MasterKey::load_or_create(&config.data_dir.join("master.key"))?,
    })
}

/// A built, bound, not yet running service.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl App {
    /// Opens the store, migrates, bootstraps the first operator, and binds the listener
    /// (port 0 picks a free port; see `port()`).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        config.validate()?;
        let store = open_store(&config).await?;
        let master_key = load_master_key(&config)?;
        bootstrap_operator(&store, &config).await?;
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let events = crate::inbox::EventHub::new(store.clone());
        let routing = crate::routing::service::RoutingService::new(store.clone(), events.clone());
        let chat = crate::channels::conversation::ChatService::new(
            store.clone(),
            events.clone(),
            routing.clone(),
        );
        // Subscribed now, so no routing decision made after start-up is missed.
        tokio::spawn(chat.clone().follow_routing(routing.subscribe()));
        let embedder = load_embedder(&config).await?;
        let ai = crate::ai::service::AiService::new(
            store.clone(),
            master_key.clone(),
            embedder,
            &config.ai.local_model_languages,
        );
        chat.attach_bot(crate::ai::bot::spawn(ai.clone(), chat.clone()));
        let flows = Arc::new(crate::ivr::service::FlowService::new(
            config.ivr_dir(),
            config.ivr.http_allowlist.clone(),
            store.clone(),
        ));
        // A folder that cannot be read is reported and retried on the next change; the
        // rest of the service still starts.
        if let Err(e) = flows.start().await {
            tracing::warn!(error = %e, "IVR flows not loaded at start");
        }
        let provisioner = crate::voice::provision::Provisioner::from_config(&config.voice)?;
        let media_url = config
            .voice
            .media_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_owned())
            // Not `listen` itself: its port may be 0 (tests) or its host 0.0.0.0.
            .unwrap_or_else(|| format!("http://{}", local_or(&listener, addr)));
        let voice = build_voice(&config, media_url, &store, &routing, &flows, &events)?;
        if voice.is_configured() {
            voice.start(routing.subscribe())?;
        }
        let state = AppState(Arc::new(Inner {
            provisioner,
            voice,
            ai,
            flows,
            throttle: LoginThrottle::new(&config.auth),
            metrics: crate::http::metrics::handle(),
            routing,
            events,
            chat,
            config,
            store,
            master_key,
        }));
        if state.provisioner.is_configured() {
            // In the background: a slow or absent Asterisk must not delay serving; failures
            // are stored on each extension for admins to see and retry. Pushed at start, and
            // again whenever an Asterisk restarted: it may have lost them (a `memory` wizard,
            // a wiped astdb). Not the whole state: the loop ends when the voice service (the
            // sender of restarts) goes.
            let (store, key, provisioner) = (
                state.store.clone(),
                state.master_key.clone(),
                state.provisioner.clone(),
            );
            let mut restarts = state.voice.restarts();
            tokio::spawn(async move {
                let mut after = "start".to_owned();
                loop {
                    match crate::voice::provision::push_all(&store, &key, &provisioner).await {
                        Ok(n) => {
                            tracing::info!(pushed = n, %after, "extensions pushed to Asterisk")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, %after, "extensions not pushed to Asterisk")
                        }
                    }
                    after = loop {
                        match restarts.recv().await {
                            Ok(server) => break format!("restart of Asterisk `{server}`"),
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                        }
                    };
                }
            });
        }
        let router = crate::http::router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The shared state (tests and the CLI reuse its store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains requests in flight for up to
    /// `http.shutdown_grace_secs` and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.config.http.shutdown_grace_secs);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let signalled = async move {
            shutdown.await;
            tracing::info!("shutting down: draining requests in flight");
            let _ = stop_tx.send(true);
        };
        let mut rx = stop_rx.clone();
        let mut timers_rx = stop_rx.clone();
        let timers = tokio::spawn(self.state.routing.clone().run_timers(async move {
            let _ = timers_rx.wait_for(|stopped| *stopped).await;
        }));
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signalled);
        let result = tokio::select! {
            r = server => r,
            _ = async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; stopping anyway");
                Ok(())
            }
        };
        // The routing timers stop with the server; report if they had died before.
        if timers.is_finished() {
            if let Err(e) = timers.await {
                tracing::error!(error = %e, "routing timer task ended unexpectedly");
            }
        } else {
            timers.abort();
        }
        self.state.voice.stop();
        // What the writers still hold (timeline entries, calls' and routing contacts' changes
        // riding with them) is stored before the database closes.
        self.state.voice.flush_timeline().await;
        self.state.events.flush().await;
        self.state.store.close().await;
        result
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are registered when this is called (not when
/// first polled), so a signal that arrives right after start-up is never missed.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn recv(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = recv(term) => {},
            _ = recv(int) => {},
        }
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// On first start (no operator yet) creates the platform operator from `admin_email` /
/// `admin_password`, generating and printing the password once when none is configured.
pub async fn bootstrap_operator(store: &Store, config: &Config) -> Result<(), StartError> {
    if store::users::count_operators(store).await? > 0 {
        return Ok(());
    }
    let email =
        Email::parse(&config.admin_email).map_err(|e| StartError::Bootstrap(e.to_string()))?;
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (generate_password(), true),
    };
    let hash = hash_password(&password).map_err(|e| StartError::Bootstrap(e.to_string()))?;
    match store::users::find_user_by_email(store, &email).await? {
        // An existing person becomes operator only through `user create --operator`; never silently.
        Some(_) => {
            return Err(StartError::Bootstrap(format!(
                "{email} exists but no operator does; run `switchboard user create --operator` with another email"
            )));
        }
        None => {
            store::users::insert_user(store, &email, "Platform operator", &hash, true).await?;
        }
    }
    tracing::info!("created the platform operator");
    if generated {
        // Printed, not logged: logs are collected and kept, this must be seen once by a person.
        println!(
            "\n  Platform operator created.\n    email:    {email}\n    password: {password}\n  This password is shown only now. Change it after signing in.\n"
        );
    }
    Ok(())
}

/// The demo tenant's users, and the role each gets.
pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("admin@demo.example", "Dana Admin", Role::Admin),
    (
        "supervisor@demo.example",
        "Sam Supervisor",
        Role::Supervisor,
    ),
    ("agent1@demo.example", "Alex Agent", Role::Agent),
    ("agent2@demo.example", "Ari Agent", Role::Agent),
];

/// Seeds the `demo` tenant with an admin, a supervisor and two agents, once. The agents hold
/// the skills of the example flows' queues and Alex has the operator's extension, so the
/// example publishes as it would for a real tenant (IVR015) and its calls can reach people.
pub async fn seed_demo(state: &AppState) -> Result<(), StartError> {
    let (store, config) = (&state.store, &state.config);
    let slug = Slug::parse("demo").map_err(|e| StartError::Bootstrap(e.to_string()))?;
    if store::tenants::find_tenant_by_slug(store, slug.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let (password, generated) = match &config.demo_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (generate_password(), true),
    };
    let tenant = store::tenants::insert_tenant(
        store,
        "Demo Co",
        &slug,
        TenantLimits::default(),
        TenantFeatures::default(),
    )
    .await?;
    let mut agents = Vec::new();
    for (email, name, role) in DEMO_USERS {
        let req = crate::admin::NewMember {
            email: email.into(),
            name: name.into(),
            role,
            password: Some(password.clone()),
        };
        let (member, _) = crate::admin::add_member(store, &tenant, req)
            .await
            .map_err(|e| StartError::Bootstrap(format!("demo user {email}: {e}")))?;
        if role == Role::Agent {
            agents.push(member);
        }
    }
    for agent in &agents {
        let settings = store::agents::RoutingSettings {
            voice_capacity: 1,
            chat_capacity: 3,
            block_chats_during_call: false,
            skills: crate::ivr::examples::SKILLS
                .iter()
                .map(|skill| ((*skill).to_owned(), 5))
                .collect(),
        };
        store::agents::save_routing_settings(store, tenant.id, agent.id, &settings).await?;
    }
    if let Some(operator) = agents.first() {
        crate::voice::http::add_demo_extension(
            state,
            &tenant,
            crate::ivr::examples::OPERATOR_EXTENSION,
            operator,
        )
        .await
        .map_err(|e| StartError::Bootstrap(format!("demo extension: {e}")))?;
    }
    let flow_dir = config.ivr_dir().join(slug.as_str());
    // The example's queues, so its flows validate against the tenant (IVR015) like its skills
    // and extension above.
    for queue in crate::ivr::examples::QUEUES {
        store::queues::insert_queue(store, tenant.id, queue, &serde_json::json!({})).await?;
    }
    crate::ivr::examples::install(&flow_dir).map_err(|e| {
        StartError::Bootstrap(format!("demo IVR flows in {}: {e}", flow_dir.display()))
    })?;
    tracing::info!(tenant.id = %tenant.id, "seeded the demo tenant");
    let shown = if generated {
        password.as_str()
    } else {
        "(SWITCHBOARD_DEMO_PASSWORD)"
    };
    println!(
        "\n  Demo tenant `demo` seeded. Users (password {shown}):\n    admin@demo.example, supervisor@demo.example, agent1@demo.example, agent2@demo.example\n"
    );
    Ok(())
}

/// The address Asterisk can reach us at: the bound one, with a wildcard host made loopback.
fn local_or(listener: &TcpListener, configured: SocketAddr) -> SocketAddr {
    let mut addr = listener.local_addr().unwrap_or(configured);
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

/// The voice service for `config.voice`, with prompts rendered by the configured TTS.
fn build_voice(
    config: &Config,
    media_url: String,
    store: &Store,
    routing: &crate::routing::service::RoutingService,
    flows: &Arc<crate::ivr::service::FlowService>,
    events: &crate::inbox::EventHub,
) -> Result<crate::voice::calls::VoiceService, StartError> {
    let polly = match config.tts.provider {
        crate::config::TtsProvider::Polly if !config.voice.asterisk.is_empty() => {
            let polly = config
                .tts
                .polly_config(&|name| std::env::var(name).ok())
                .map_err(|e| StartError::Tts(e.to_string()))?;
            Some(crate::tts::PollySynth::new(polly).map_err(|e| StartError::Tts(e.to_string()))?)
        }
        _ => None,
    };
    let media = crate::voice::calls::Media::new(
        config.tts_cache_dir(),
        config.tts_scratch_dir(),
        config.tts.provider,
        polly,
        media_url,
        config.ivr_dir(),
    );
    let deps = crate::voice::calls::VoiceDeps {
        store: store.clone(),
        routing: routing.clone(),
        flows: flows.clone(),
        events: events.clone(),
        media,
        recordings_dir: config.recordings_dir(),
        outbound_endpoint: config.voice.outbound_endpoint.clone(),
        http_allowlist: config.ivr.http_allowlist.clone(),
        outbound_caller_id: config.voice.outbound_caller_id.clone(),
        sip_uri_endpoint: config.voice.sip_uri_endpoint.clone(),
    };
    Ok(crate::voice::calls::VoiceService::new(
        &config.voice.asterisk,
        deps,
    )?)
}

/// Loads the embedding model named by `ai.local_model_dir`; a configured model that cannot
/// be loaded stops the start, as any other bad setting does.
pub async fn load_embedder(
    config: &Config,
) -> Result<Option<Arc<crate::ai::embed::Embedder>>, StartError> {
    let Some(dir) = config.ai.local_model_dir.clone() else {
        return Ok(None);
    };
    let started = std::time::Instant::now();
    let model = tokio::task::spawn_blocking(move || crate::ai::embed::Embedder::load(&dir))
        .await
        .map_err(|e| StartError::Model(e.to_string()))?
        .map_err(|e| StartError::Model(e.to_string()))?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "embedding model loaded"
    );
    Ok(Some(Arc::new(model)))
}
