//! The AI agent's command-line tools: `switchboard kb import|export` and `switchboard ai eval`.
//! Tools may use `anyhow`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::config::AiSettings;
use super::embed::Precision;
use super::eval::{self, Case, Outcome, Report};
use super::handoff::{self, TurnSignals};
use super::http::parse_kb_file;
use super::kb::{KbEntry, KbIndex};
use super::{bot, signals};
use crate::domain::TenantId;
use crate::store::{self, Store};

/// `kb …`.
#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Import entries from a JSON array or a CSV file (header: id, category, question, answer,
    /// keywords, language, active). Every row is checked first; any bad row imports nothing.
    Import {
        /// The file.
        file: PathBuf,
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// `json` or `csv` (default: from the file name).
        #[arg(long)]
        format: Option<String>,
    },
    /// Write every entry of a tenant as JSON or CSV.
    Export {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// `json` or `csv`.
        #[arg(long, default_value = "json")]
        format: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `ai …`.
#[derive(Debug, Subcommand)]
pub enum AiCommand {
    /// Run a labelled evaluation set through the local bot and print top-1 accuracy,
    /// out-of-scope recall, false handoffs and reply latency.
    Eval(EvalArgs),
}

/// `ai eval` arguments.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The cases: a JSON array of `{text, language, expect, kind}` (expect: an entry id from
    /// the knowledge-base file, `handoff`, `greeting`, `thanks` or `goodbye`).
    pub cases: PathBuf,
    /// Evaluate the knowledge base of this tenant (its entries' ids are their slugs).
    #[arg(long, conflicts_with = "kb", required_unless_present = "kb")]
    pub tenant: Option<String>,
    /// Or a knowledge-base file, without a database.
    #[arg(long)]
    pub kb: Option<PathBuf>,
    /// Print every case the bot got wrong.
    #[arg(long)]
    pub misses: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// A sentence-transformers model folder for matching by meaning (default: the
    /// configuration's `ai.local_model_dir`).
    #[arg(long, env = "SWITCHBOARD_AI__LOCAL_MODEL_DIR")]
    pub model: Option<PathBuf>,
    /// Languages the model understands (others are matched by words alone).
    #[arg(long, value_delimiter = ',', default_value = "en")]
    pub model_languages: Vec<String>,
    /// Hold the model's weights as trained (f32). Unset (and without --q8), the precision
    /// measured on this CPU (8-bit only when a quarter faster), as the server does.
    #[arg(long, conflicts_with = "q8")]
    pub f32: bool,
    /// Hold the model's weights in 8-bit blocks (Q8_0).
    #[arg(long)]
    pub q8: bool,
    /// Try another `local.semantic_threshold` than the settings' (for calibration).
    #[arg(long)]
    pub semantic_threshold: Option<f64>,
    /// Try another `local.answer_threshold` than the settings' (for calibration).
    #[arg(long)]
    pub answer_threshold: Option<f64>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn is_csv(path: &Path, format: Option<&str>) -> anyhow::Result<bool> {
    Ok(match format {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => bail!("unknown format `{other}` (json or csv)"),
        None => path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    })
}

async fn tenant_id(store: &Store, slug: &str) -> anyhow::Result<TenantId> {
    Ok(store::tenants::find_tenant_by_slug(store, slug)
        .await?
        .with_context(|| format!("no tenant with slug `{slug}`"))?
        .id)
}

/// Runs `kb …`.
pub async fn kb(store: &Store, cmd: KbCommand) -> anyhow::Result<()> {
    match cmd {
        KbCommand::Import {
            file,
            tenant,
            format,
        } => {
            let tenant = tenant_id(store, &tenant).await?;
            let text = read(&file)?;
            let language = default_language(store, tenant).await?;
            let entries = match parse_kb_file(&text, is_csv(&file, format.as_deref())?, &language) {
                Ok(e) => e,
                Err(errors) => {
                    for e in &errors {
                        eprintln!(
                            "{}: row {}{}: {}",
                            file.display(),
                            e.row,
                            e.field
                                .as_deref()
                                .map(|f| format!(" ({f})"))
                                .unwrap_or_default(),
                            e.message
                        );
                    }
                    bail!("{} problem(s); nothing imported", errors.len());
                }
            };
            let bar = ProgressBar::new(entries.len() as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} entries {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            // In batches, each in one transaction, so the bar moves and a failure names its batch.
            let mut written = 0;
            for batch in entries.chunks(100) {
                let rows: Vec<store::ai::NewKbEntry> = batch.iter().map(new_entry).collect();
                written += store::ai::upsert_kb_entries(store, tenant, &rows)
                    .await
                    .with_context(|| {
                        format!("storing entries {}–{}", written + 1, written + batch.len())
                    })?
                    .len();
                bar.set_position(written as u64);
            }
            bar.finish_with_message("imported");
            println!("{written} entries imported (entries with a known id were updated)");
            Ok(())
        }
        KbCommand::Export {
            tenant,
            format,
            output,
        } => {
            let tenant = tenant_id(store, &tenant).await?;
            let entries: Vec<KbEntry> = store::ai::all_kb_entries(store, tenant)
                .await?
                .iter()
                .map(KbEntry::from_record)
                .collect();
            let text = match format.as_str() {
                "csv" => super::kb::to_csv(&entries),
                "json" => serde_json::to_string_pretty(
                    &entries
                        .iter()
                        .map(|e| serde_json::json!({"id": e.slug, "category": e.category, "question": e.question,
                            "answer": e.answer, "keywords": e.keywords, "language": e.language, "active": e.active}))
                        .collect::<Vec<_>>(),
                )?,
                other => bail!("unknown format `{other}` (json or csv)"),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("{} entries written to {}", entries.len(), path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

fn new_entry(e: &KbEntry) -> store::ai::NewKbEntry {
    store::ai::NewKbEntry {
        slug: e.slug.clone(),
        category: e.category.clone(),
        question: e.question.clone(),
        answer: e.answer.clone(),
        keywords: serde_json::to_string(&e.keywords).unwrap_or_else(|_| "[]".into()),
        language: e.language.clone(),
        active: e.active,
    }
}

async fn default_language(store: &Store, tenant: TenantId) -> anyhow::Result<String> {
    Ok(match store::ai::find_ai_config(store, tenant).await? {
        Some(r) => serde_json::from_str::<AiSettings>(&r.settings)
            .map(|s| s.default_language)
            .unwrap_or_else(|_| "en".into()),
        None => "en".into(),
    })
}

/// Runs `ai eval` with a knowledge base from a tenant (`store`) or a file.
pub async fn eval(store: Option<&Store>, args: &EvalArgs) -> anyhow::Result<()> {
    let cases: Vec<Case> = serde_json::from_str(&read(&args.cases)?)
        .with_context(|| format!("{}: not a JSON array of cases", args.cases.display()))?;
    let (entries, settings) = match (&args.kb, &args.tenant, store) {
        (Some(path), _, _) => {
            let mut entries =
                parse_kb_file(&read(path)?, is_csv(path, None)?, "en").map_err(|e| {
                    anyhow::anyhow!(
                        "{}: {} problem(s), first: row {}: {}",
                        path.display(),
                        e.len(),
                        e[0].row,
                        e[0].message
                    )
                })?;
            for (i, e) in entries.iter_mut().enumerate() {
                e.id = i as i64 + 1;
            }
            (entries, AiSettings::default())
        }
        (None, Some(slug), Some(store)) => {
            let tenant = tenant_id(store, slug).await?;
            let entries = store::ai::all_kb_entries(store, tenant)
                .await?
                .iter()
                .map(KbEntry::from_record)
                .collect();
            let settings = match store::ai::find_ai_config(store, tenant).await? {
                Some(r) => serde_json::from_str(&r.settings).unwrap_or_default(),
                None => AiSettings::default(),
            };
            (entries, settings)
        }
        _ => bail!("give --tenant or --kb"),
    };
    let mut settings = settings;
    if let Some(t) = args.semantic_threshold {
        settings.local.semantic_threshold = t;
    }
    if let Some(t) = args.answer_threshold {
        settings.local.answer_threshold = t;
    }
    let (precision, why) = if args.f32 {
        (Precision::F32, "--f32".to_owned())
    } else if args.q8 {
        (Precision::Q8, "--q8".to_owned())
    } else if args.model.is_none() {
        (Precision::F32, String::new())
    } else {
        match Precision::measured() {
            Some(m) => (
                m.chosen,
                format!(
                    "measured on this CPU: a product of MiniLM's shape in {} µs in f32, {} µs in 8 bits",
                    m.f32.as_micros(),
                    m.q8.as_micros()
                ),
            ),
            None => (Precision::F32, "the 8-bit kernel did not run".to_owned()),
        }
    };
    let embedder = match &args.model {
        Some(dir) => Some(
            super::embed::Embedder::load_with(dir, precision)
                .with_context(|| format!("loading the model in {}", dir.display()))?,
        ),
        None => None,
    };
    let report = run_eval(
        &entries,
        &settings,
        &cases,
        embedder.as_ref(),
        &args.model_languages,
    )?;
    let weights = embedder.is_some().then_some(match precision {
        Precision::F32 => "f32",
        Precision::Q8 => "8-bit",
    });
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        if let Some(name) = weights {
            json["model_weights"] = serde_json::json!({ "precision": name, "why": why });
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_report(&report, args.misses);
        if let Some(name) = weights {
            println!("model weights         {name} ({why})");
        }
    }
    Ok(())
}

/// Runs every case through the local bot's path: explicit requests and the built-in
/// handoff rules, then small talk and the knowledge base, as a conversation's first turn.
pub fn run_eval(
    entries: &[KbEntry],
    settings: &AiSettings,
    cases: &[Case],
    embedder: Option<&super::embed::Embedder>,
    model_languages: &[String],
) -> anyhow::Result<Report> {
    let understands = |l: &str| {
        model_languages
            .iter()
            .any(|m| super::kb::base_language(m) == super::kb::base_language(l))
    };
    let slugs: HashMap<i64, String> = entries
        .iter()
        .map(|e| (e.id, e.slug.clone().unwrap_or_else(|| e.id.to_string())))
        .collect();
    let mut languages: Vec<String> = entries
        .iter()
        .map(|e| super::kb::base_language(&e.language))
        .collect();
    languages.sort();
    languages.dedup();
    let mut indexes = HashMap::new();
    for l in &languages {
        indexes.insert(
            l.clone(),
            super::kb::build_index(l, entries, embedder.filter(|_| understands(l)))?,
        );
    }
    let empty = KbIndex::build("en", &[])?;
    let rules = handoff::default_rules();
    Ok(eval::run(cases, |c| {
        let text = signals::clean_customer_text(&c.text, 2000);
        let language = super::kb::base_language(&c.language);
        let sentiments: Vec<f64> = signals::sentiment(&text, &language).into_iter().collect();
        let index = indexes.get(&language).unwrap_or(&empty);
        // The message is embedded inside the timed call: latency includes the model's share.
        let vector = embedder
            .filter(|_| understands(&language))
            .and_then(|m| m.embed(&[text.as_str()]).ok())
            .and_then(|mut v| v.pop());
        let local = bot::local_turn(index, &text, vector.as_deref(), &language, settings);
        let confidence = match &local {
            bot::LocalTurn::Reply { confidence, .. } | bot::LocalTurn::NoAnswer { confidence } => {
                *confidence
            }
        };
        let turn = TurnSignals {
            text: &text,
            intent: None,
            sentiments: &sentiments,
            bot_turns: 0,
            confidence,
            asks_for_human: signals::asks_for_human(&text),
        };
        if handoff::evaluate(&rules, &turn).is_some() {
            return Outcome::Handoff;
        }
        match local {
            bot::LocalTurn::Reply { entry: Some(e), .. } => Outcome::Answer(slugs[&e].clone()),
            bot::LocalTurn::Reply {
                outcome: "small_talk",
                ..
            } => {
                let kind = match signals::small_talk(&text) {
                    Some(signals::SmallTalk::Greeting) => "greeting",
                    Some(signals::SmallTalk::Thanks) => "thanks",
                    Some(signals::SmallTalk::Goodbye) => "goodbye",
                    None => "",
                };
                Outcome::SmallTalk(kind.into())
            }
            bot::LocalTurn::Reply { options, .. } => {
                let name = |i: usize| {
                    options
                        .get(i)
                        .map(|id| slugs[id].clone())
                        .unwrap_or_default()
                };
                Outcome::Clarify(name(0), name(1))
            }
            bot::LocalTurn::NoAnswer { .. } => Outcome::Handoff,
        }
    }))
}

fn print_report(r: &Report, misses: bool) {
    if misses {
        for (text, expected, got) in &r.misses {
            println!("MISS  expected {expected:<28} got {got:<40} {text}");
        }
        println!();
    }
    println!("cases                 {}", r.cases);
    println!(
        "top-1 accuracy        {:.1} %  ({} of {} answerable; {} more offered the right entry in a clarifying question)",
        100.0 * r.top1(),
        r.top1_correct,
        r.answerable,
        r.clarified_with_right_entry
    );
    println!(
        "out-of-scope recall   {:.1} %  ({} of {} handed off when they should)",
        100.0 * r.handoff_recall(),
        r.handed_off,
        r.must_handoff
    );
    println!(
        "false handoff rate    {:.1} %  ({} answerable questions handed off)",
        100.0 * r.false_handoff_rate(),
        r.false_handoffs
    );
    println!(
        "small talk            {:.1} %  ({} of {})",
        100.0 * r.small_talk_accuracy(),
        r.small_talk_correct,
        r.small_talk
    );
    println!(
        "reply latency         p50 {:.3} ms, p99 {:.3} ms (local bot, per message)",
        r.p50_micros as f64 / 1000.0,
        r.p99_micros as f64 / 1000.0
    );
}
