//! The command line: `serve`, `migrate`, `user …`, `tenant …`, `config check`, `simulate`,
//! `kb import|export`, `ai eval`.
//! Tools may use `anyhow`; the library's own errors stay typed.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::app::{self, App};
use crate::auth::{check_password_policy, generate_password, hash_password};
use crate::config::Config;
use crate::domain::{Email, Role, Slug};
use crate::store::tenants::{TenantFeatures, TenantLimits};
use crate::store::{self, Store};

/// Switchboard: one service for calls and chats.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// Configuration file (default: ./switchboard.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (creates and migrates the database on first start).
    Serve {
        /// Also seed a `demo` tenant with an admin, a supervisor and two agents.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// IVR flow files (`ivr-flows/`): check, simulate, schema, graph, render.
    #[command(subcommand)]
    Flows(crate::ivr::cli::FlowsCommand),
    /// Manage a tenant's knowledge base from files.
    #[command(subcommand)]
    Kb(crate::ai::cli::KbCommand),
    /// The AI agent's tools.
    #[command(subcommand)]
    Ai(crate::ai::cli::AiCommand),
    /// Run the real routing engine under a discrete-event simulation and print service
    /// level, ASA, abandonment and occupancy; `--agents-for 80/20` finds the smallest staffing.
    Simulate(SimulateArgs),
}

/// `simulate` arguments. Without `--scenario`, one queue is built from the flags.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// TOML scenario with `[[queues]]` (name, arrival_rate_per_hour, mean_handle_secs,
    /// required_skills, medium) and `[[agents]]` (skills, queues); see examples/simulate.toml.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Arrivals per hour (single-queue mode).
    #[arg(long, default_value_t = 120.0)]
    pub arrivals_per_hour: f64,
    /// Mean handle time in seconds (single-queue mode).
    #[arg(long, default_value_t = 180.0)]
    pub handle_secs: f64,
    /// Agents (single-queue mode).
    #[arg(long, default_value_t = 8)]
    pub agents: usize,
    /// Simulated hours measured (after a warm-up of a tenth of that).
    #[arg(long)]
    pub hours: Option<f64>,
    /// Mean caller patience in seconds (exponential); unset = nobody abandons.
    #[arg(long)]
    pub patience_secs: Option<f64>,
    /// Strategy for every queue (ring_all, round_robin, least_recent, …).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Service-level threshold in seconds (overridden by --agents-for).
    #[arg(long)]
    pub sl_secs: Option<u32>,
    /// Random seed (same seed, same result).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Find the smallest staffing meeting a target such as `80/20` (80 % within 20 s).
    #[arg(long, value_name = "PCT/SECS")]
    pub agents_for: Option<String>,
    /// Upper bound for --agents-for.
    #[arg(long, default_value_t = 1000)]
    pub max_agents: usize,
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account, optionally as platform operator or as a member of a tenant.
    Create(UserCreate),
    /// Set a new password (generated and printed when --password is omitted); signs the user out everywhere.
    ResetPassword {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// The new password (at least 10 characters).
        #[arg(long, env = "SWITCHBOARD_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List accounts, or the members of one tenant.
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `user create` arguments.
#[derive(Debug, Args)]
pub struct UserCreate {
    /// Login email.
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Password (at least 10 characters); generated and printed when omitted.
    #[arg(long, env = "SWITCHBOARD_NEW_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Make the account a platform operator.
    #[arg(long)]
    pub operator: bool,
    /// Add the account to this tenant (slug).
    #[arg(long, requires = "role")]
    pub tenant: Option<String>,
    /// Role in that tenant: owner, admin, supervisor or agent.
    #[arg(long, requires = "tenant")]
    pub role: Option<String>,
}

/// `tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Short unique name (lowercase letters, digits, dashes).
        #[arg(long)]
        slug: String,
        /// Most active members (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        max_agents: i64,
        /// Most DIDs (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        max_dids: i64,
        /// Most concurrent calls (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        max_concurrent_calls: i64,
        /// Most chat integrations (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        max_chat_integrations: i64,
    },
    /// List tenants.
    List,
}

/// `config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration with secrets redacted; exit non-zero if it is invalid.
    Check,
}

/// The runtime the command runs on: `runtime.worker_threads` threads from `config`, or tokio's
/// default when it is unset or there is no valid configuration (some commands need none;
/// [`run`] reports an invalid one to those that do).
pub fn runtime(config: Option<&Config>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = config.and_then(|c| c.runtime.worker_threads) {
        builder.worker_threads(n);
    }
    builder.build()
}

/// Runs the parsed command line; `config` is [`Config::load`] of `cli.config`, read once by
/// the caller (it also sizes the runtime).
pub async fn run(
    cli: Cli,
    config: Result<Config, crate::config::ConfigError>,
) -> anyhow::Result<()> {
    // The simulator needs no configuration or database.
    if let Command::Simulate(args) = cli.command {
        return simulate(args);
    }
    // Flow files are checked without configuration or database (`flows render` reads the
    // configuration itself, for its TTS settings).
    if let Command::Flows(cmd) = cli.command {
        if crate::ivr::cli::run(cmd, cli.config.as_deref()).await? {
            return Ok(());
        }
        bail!("the flows have errors (above); nothing is published from an invalid folder");
    }
    // An evaluation against a knowledge-base file needs no database either.
    if let Command::Ai(crate::ai::cli::AiCommand::Eval(args)) = &cli.command
        && args.kb.is_some()
    {
        return crate::ai::cli::eval(None, args).await;
    }
    let config = config.context("invalid configuration")?;
    match cli.command {
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.redacted_toml());
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let store = app::open_store(&config).await?;
            println!(
                "migrations applied ({:?} at {})",
                store.backend(),
                store::redact_url(&config.database_url())
            );
            Ok(())
        }
        Command::User(cmd) => user(config, cmd).await,
        Command::Tenant(cmd) => tenant(config, cmd).await,
        Command::Simulate(args) => simulate(args),
        Command::Kb(cmd) => crate::ai::cli::kb(&open(&config).await?, cmd).await,
        Command::Flows(_) => Ok(()),
        Command::Ai(crate::ai::cli::AiCommand::Eval(args)) => {
            crate::ai::cli::eval(Some(&open(&config).await?), &args).await
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let app = App::build(config.clone()).await?;
    let stop = app::shutdown_signal();
    if demo {
        app::seed_demo(app.state()).await?;
    }
    // With port 0 the OS picks the port: report the address actually bound.
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", app.local_addr()));
    tracing::info!(port = app.port(), url = %public, "switchboard is listening");
    println!("Switchboard is running at {public} (Ctrl-C to stop)");
    app.run_until_stopped(stop).await?;
    Ok(())
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    Ok(app::open_store(config).await?)
}

async fn find_tenant(store: &Store, slug: &str) -> anyhow::Result<crate::store::tenants::Tenant> {
    store::tenants::find_tenant_by_slug(store, slug)
        .await?
        .with_context(|| format!("no tenant with slug `{slug}`"))
}

async fn user(config: Config, cmd: UserCommand) -> anyhow::Result<()> {
    let store = open(&config).await?;
    match cmd {
        UserCommand::Create(c) => {
            let email = Email::parse(&c.email)?;
            let role = c.role.as_deref().map(Role::parse).transpose()?;
            let (password, generated) = match c.password {
                Some(p) => {
                    check_password_policy("password", &p)?;
                    (p, false)
                }
                None => (generate_password(), true),
            };
            let tenant = match &c.tenant {
                Some(slug) => Some(find_tenant(&store, slug).await?),
                None => None,
            };
            let user = match store::users::find_user_by_email(&store, &email).await? {
                Some(u) if tenant.is_some() && !c.operator => u,
                Some(_) => bail!("a user with email {email} already exists"),
                None => {
                    let hash = hash_password(&password)?;
                    let u =
                        store::users::insert_user(&store, &email, c.name.trim(), &hash, c.operator)
                            .await?;
                    if generated {
                        println!("password: {password}");
                    }
                    u
                }
            };
            if let (Some(t), Some(role)) = (tenant, role) {
                store::users::insert_membership(&store, t.id, user.id, role).await?;
                crate::admin::audit_cli(&store, t.id, "user.create", user.id, &email, role).await?;
                println!("{email} is now {role} in {}", t.slug);
            }
            println!("user {} created (id {})", user.email, user.id);
        }
        UserCommand::ResetPassword { email, password } => {
            let email = Email::parse(&email)?;
            let user = store::users::find_user_by_email(&store, &email)
                .await?
                .with_context(|| format!("no user {email}"))?;
            let password = match password {
                Some(p) => {
                    check_password_policy("password", &p)?;
                    p
                }
                None => {
                    let p = generate_password();
                    println!("password: {p}");
                    p
                }
            };
            store::users::set_password_hash(&store, user.id, &hash_password(&password)?).await?;
            let n = store::sessions::revoke_user_sessions(&store, user.id, None).await?;
            println!("password of {email} reset; {n} session(s) signed out");
        }
        UserCommand::List { tenant } => match tenant {
            Some(slug) => {
                let t = find_tenant(&store, &slug).await?;
                println!(
                    "{:<6} {:<36} {:<28} {:<11} active",
                    "id", "email", "name", "role"
                );
                for m in store::users::list_members(&store, t.id, None, i64::MAX).await? {
                    println!(
                        "{:<6} {:<36} {:<28} {:<11} {}",
                        m.id, m.email, m.name, m.role, m.active
                    );
                }
            }
            None => {
                println!(
                    "{:<6} {:<36} {:<28} {:<9} active",
                    "id", "email", "name", "operator"
                );
                for u in store::users::list_users(&store).await? {
                    println!(
                        "{:<6} {:<36} {:<28} {:<9} {}",
                        u.id, u.email, u.name, u.is_operator, u.active
                    );
                }
            }
        },
    }
    Ok(())
}

async fn tenant(config: Config, cmd: TenantCommand) -> anyhow::Result<()> {
    let store = open(&config).await?;
    match cmd {
        TenantCommand::Create {
            name,
            slug,
            max_agents,
            max_dids,
            max_concurrent_calls,
            max_chat_integrations,
        } => {
            let slug = Slug::parse(&slug)?;
            let limits = TenantLimits {
                max_agents,
                max_dids,
                max_concurrent_calls,
                max_chat_integrations,
            };
            if [
                max_agents,
                max_dids,
                max_concurrent_calls,
                max_chat_integrations,
            ]
            .iter()
            .any(|v| *v < 0)
            {
                bail!("limits must be 0 (unlimited) or more");
            }
            let t = store::tenants::insert_tenant(
                &store,
                name.trim(),
                &slug,
                limits,
                TenantFeatures::default(),
            )
            .await?;
            println!("tenant {} created (id {})", t.slug, t.id);
        }
        TenantCommand::List => {
            println!("{:<6} {:<24} {:<32} created", "id", "slug", "name");
            let mut after = None;
            loop {
                let page = store::tenants::list_tenants(&store, after, 200).await?;
                for t in &page {
                    println!(
                        "{:<6} {:<24} {:<32} {}",
                        t.id,
                        t.slug,
                        t.name,
                        t.created_at.format("%Y-%m-%d")
                    );
                }
                match page.last() {
                    Some(t) if page.len() == 200 => after = Some(t.id.get()),
                    _ => break,
                }
            }
        }
    }
    Ok(())
}

fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    use crate::routing::{SimAgent, SimConfig, SimQueue, Strategy, erlang};
    let mut cfg: SimConfig = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("scenario {}", path.display()))?
        }
        None => SimConfig {
            queues: vec![SimQueue {
                name: "main".into(),
                arrival_rate_per_hour: args.arrivals_per_hour,
                mean_handle_secs: args.handle_secs,
                required_skills: Default::default(),
                medium: crate::routing::Medium::Voice,
            }],
            agents: vec![SimAgent::default(); args.agents],
            duration_hours: 8.0,
            warmup_hours: 0.8,
            patience_mean_secs: None,
            seed: 1,
            strategy: Strategy::default(),
            sl_threshold_secs: 20,
        },
    };
    if let Some(h) = args.hours {
        if h <= 0.0 {
            bail!("--hours must be positive");
        }
        cfg.duration_hours = h;
        cfg.warmup_hours = h / 10.0;
    }
    if args.patience_secs.is_some() {
        cfg.patience_mean_secs = args.patience_secs;
    }
    if let Some(s) = &args.strategy {
        cfg.strategy = serde_json::from_value(serde_json::Value::String(s.clone()))
            .map_err(|_| anyhow::anyhow!("unknown strategy `{s}`"))?;
    }
    if let Some(t) = args.sl_secs {
        cfg.sl_threshold_secs = t;
    }
    if args.seed != 1 || args.scenario.is_none() {
        cfg.seed = args.seed;
    }
    if cfg
        .queues
        .iter()
        .any(|q| q.arrival_rate_per_hour <= 0.0 || q.mean_handle_secs <= 0.0)
    {
        bail!("every queue needs a positive arrival rate and handle time");
    }
    match &args.agents_for {
        None => {
            if cfg.agents.is_empty() {
                bail!("the scenario has no agents");
            }
            println!("{}", crate::routing::simulate(&cfg));
        }
        Some(target) => {
            let (pct, secs) = target
                .split_once('/')
                .and_then(|(p, s)| {
                    Some((p.trim().parse::<f64>().ok()?, s.trim().parse::<u32>().ok()?))
                })
                .filter(|(p, s)| (0.0..=100.0).contains(p) && *s > 0)
                .with_context(|| {
                    format!("--agents-for takes PCT/SECS such as 80/20, not `{target}`")
                })?;
            cfg.sl_threshold_secs = secs;
            match crate::routing::agents_for(&cfg, pct / 100.0, args.max_agents) {
                Some((n, report)) => {
                    println!(
                        "smallest staffing meeting {pct}% within {secs} s: {n} agents\n{report}"
                    );
                    if let [q] = cfg.queues.as_slice() {
                        let load =
                            erlang::load_erlangs(q.arrival_rate_per_hour, q.mean_handle_secs);
                        if let Some(c) = erlang::agents_for_service_level(
                            load,
                            q.mean_handle_secs,
                            pct / 100.0,
                            f64::from(secs),
                            args.max_agents as u32,
                        ) {
                            println!(
                                "Erlang C (no abandonment) suggests {c} agents for {load:.2} erlangs"
                            );
                        }
                    }
                }
                None => bail!(
                    "no staffing up to {} agents meets {pct}% within {secs} s",
                    args.max_agents
                ),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_has_the_configured_worker_threads() {
        // Unset, tokio decides: its own variable, else one per core.
        let cores = std::env::var("TOKIO_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let unset = Config::default();
        assert_eq!(
            runtime(Some(&unset)).unwrap().metrics().num_workers(),
            cores
        );
        let mut three = Config::default();
        three.runtime.worker_threads = Some(3);
        assert_eq!(runtime(Some(&three)).unwrap().metrics().num_workers(), 3);
        // No valid configuration: the default here; `run` reports the configuration's error.
        assert_eq!(runtime(None).unwrap().metrics().num_workers(), cores);
    }
}
