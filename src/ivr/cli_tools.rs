//! `switchboard flows schema|graph|render`: the tools around flow files (editor schemas,
//! pictures, TTS pre-rendering). Kept apart from `cli.rs` so each command's arguments and
//! output live in one place. Tools may use `anyhow`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::diagram::{DiagramFormat, diagram};
use super::prerender::{self, Outcome, RenderOptions, Summary};
use super::schema::{SCHEMA_DIR, schema_files};
use super::{decode_flows, decode_voices, flow_id_from_path, load_dir, validate};
use crate::config::{Config, TtsProvider};
use crate::tts::{AudioFormat, PollySynth, TtsCache};

const DEFAULT_DIR: &str = "ivr-flows";

/// `flows schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Folder to write `flow.schema.json`, `routes.schema.json`, `voices.schema.json` and
    /// `schedules.schema.json` to.
    #[arg(long, value_name = "DIR", default_value = SCHEMA_DIR)]
    pub out: PathBuf,
    /// Write nothing; exit 1 when a file in DIR differs from what this version generates.
    #[arg(long)]
    pub check: bool,
}

/// `flows graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Flow id (`support-main`, `common/after-hours`) or a path to a flow file.
    pub flow: String,
    /// The flows folder.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Output format; default: from the --out extension (.svg, .dot, .mmd), else svg.
    #[arg(long, value_enum)]
    pub format: Option<DiagramFormat>,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `flows render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The flows folder.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Cache folder (default: `tts.cache_dir`, else `<data_dir>/tts-cache`).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Formats to write: sln16 (16 kHz), sln (8 kHz), wav (8 kHz).
    #[arg(long, value_delimiter = ',', default_value = "sln16")]
    pub formats: Vec<String>,
    /// Synthesis requests in flight (Polly allows 8 per second for neural voices).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
}

/// `flows schema`: writes (or checks) the shipped JSON Schemas.
pub fn schema(args: SchemaArgs) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    if !args.check {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
    }
    for file in schema_files() {
        let path = args.out.join(file.file_name);
        let text = file.text();
        if args.check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
            continue;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{} ({})", path.display(), file.describes);
    }
    if !stale.is_empty() {
        bail!(
            "out of date: {}; run `switchboard flows schema --out {}`",
            stale.join(", "),
            args.out.display()
        );
    }
    if !args.check {
        println!(
            "editors find them through the first line of each YAML file, e.g. `# yaml-language-server: $schema=../schema/flow.schema.json`"
        );
    }
    Ok(())
}

/// `flows graph`: draws one flow.
pub fn graph(args: GraphArgs) -> anyhow::Result<()> {
    let as_file = Path::new(&args.flow);
    let (dir, id) = if as_file
        .extension()
        .is_some_and(|e| e == "yaml" || e == "yml")
    {
        // `…/ivr-flows/flows/x.yaml`: the folder is two levels up (or more for sub-flows).
        let path = as_file.display().to_string();
        let id = flow_id_from_path(&path);
        let flows_dir = path
            .rsplit_once("flows/")
            .map(|(head, _)| PathBuf::from(head))
            .unwrap_or_else(|| args.dir.clone());
        (flows_dir, id)
    } else {
        (args.dir.clone(), args.flow.clone())
    };
    let sources = load_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let flows = decode_flows(&sources);
    let Some(flow) = flows.get(&id) else {
        let known: Vec<&str> = flows.keys().map(String::as_str).collect();
        bail!(
            "no flow '{id}' in {} (flows: {})",
            dir.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let report = validate(&sources, chrono::Utc::now());
    let problems = report
        .errors
        .iter()
        .filter(|d| flow_id_from_path(&d.file) == id)
        .count();
    if problems > 0 {
        eprintln!(
            "note: '{id}' has {problems} error(s); the picture shows what could be read (`switchboard flows check` lists them)"
        );
    }
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(DiagramFormat::from_extension))
        .unwrap_or(DiagramFormat::Svg);
    let text = diagram(flow).render(format)?;
    match &args.out {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn parse_format(name: &str) -> anyhow::Result<AudioFormat> {
    match name.trim().trim_start_matches('.') {
        "sln16" => Ok(AudioFormat::Sln16),
        "sln" => Ok(AudioFormat::Sln),
        "wav" => Ok(AudioFormat::Wav),
        other => bail!("unknown format `{other}` (sln16, sln or wav)"),
    }
}

/// `flows render`: pre-renders every static prompt into the TTS cache.
pub async fn render(args: RenderArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(config_file).context("invalid configuration")?;
    let formats = args
        .formats
        .iter()
        .map(|f| parse_format(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sources =
        load_dir(&args.dir).with_context(|| format!("cannot read {}", args.dir.display()))?;
    // Publishing renders a validated snapshot only; a broken folder would cache prompts of
    // flows that never go live.
    let report = validate(&sources, chrono::Utc::now());
    if !report.valid {
        bail!(
            "{} has {} error(s); run `switchboard flows check {}` and fix them first",
            args.dir.display(),
            report.errors.len(),
            args.dir.display()
        );
    }
    let Some(voices) = decode_voices(&sources) else {
        bail!(
            "{} has no voices.yaml: TTS prompts need voice profiles",
            args.dir.display()
        );
    };
    let flows = decode_flows(&sources);
    let planned = prerender::plan(flows.values(), &voices, config.tts.provider);
    let polly = match config.tts.provider {
        TtsProvider::Polly => {
            let polly_config = config
                .tts
                .polly_config(&|name| std::env::var(name).ok())
                .context("Polly is not usable")?;
            Some(PollySynth::new(polly_config)?)
        }
        TtsProvider::Espeak => None,
    };
    let cache_dir = args.cache.clone().unwrap_or_else(|| config.tts_cache_dir());
    let cache = TtsCache::new(&cache_dir, config.tts_scratch_dir());
    let options = RenderOptions {
        polly,
        formats,
        concurrency: args.jobs,
        ..RenderOptions::default()
    };

    let total = planned.jobs.len() * options.formats.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} prompts {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let results = prerender::render(&planned.jobs, &cache, &options, &|r| {
        if matches!(r.outcome, Outcome::Failed { .. }) {
            bar.set_message("(some failed)");
        }
        bar.inc(1);
    })
    .await;
    bar.finish_and_clear();

    let summary = Summary::of(&planned, &results);
    print_summary(
        &summary,
        &planned,
        &options.formats,
        &cache_dir,
        config.tts.provider,
    );
    if !summary.failed.is_empty() {
        bail!("{} prompt(s) could not be rendered", summary.failed.len());
    }
    Ok(())
}

fn print_summary(
    summary: &Summary,
    planned: &prerender::Planned,
    formats: &[AudioFormat],
    cache_dir: &Path,
    provider: TtsProvider,
) {
    let extensions: Vec<String> = formats
        .iter()
        .map(|f| format!(".{}", f.extension()))
        .collect();
    println!(
        "{} static prompt(s), {} distinct, as {} into {} (tts.provider = {})",
        planned.static_uses,
        planned.jobs.len(),
        extensions.join(", "),
        cache_dir.display(),
        match provider {
            TtsProvider::Espeak => "espeak",
            TtsProvider::Polly => "polly",
        }
    );
    println!("  rendered:        {}", summary.rendered);
    println!("  already cached:  {}", summary.cached);
    if !summary.fallback.is_empty() {
        println!(
            "  fallback voice:  {} (the first voice is tried again next time)",
            summary.fallback.len()
        );
        print_grouped(&summary.fallback);
    }
    println!(
        "  skipped:         {} templated (rendered at call time)",
        summary.templated
    );
    println!("  failed:          {}", summary.failed.len());
    print_grouped(&summary.failed);
}

/// One line per distinct reason, with a few of the places: an outage fails every prompt the
/// same way, and 200 identical lines would hide a different, second problem.
fn print_grouped(items: &[(String, String)]) {
    const PLACES: usize = 3;
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (place, reason) in items {
        match groups.iter_mut().find(|(r, _)| *r == reason.as_str()) {
            Some((_, places)) => places.push(place),
            None => groups.push((reason, vec![place])),
        }
    }
    for (reason, places) in groups {
        let more = places.len().saturating_sub(PLACES);
        let shown = places[..places.len().min(PLACES)].join("; ");
        let rest = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        println!("    {reason}\n      at {shown}{rest}");
    }
}
