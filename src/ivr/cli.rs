//! `switchboard flows check`: validates a flows folder and prints every problem with its
//! source line, or the JSON report for editors and CI. `switchboard flows simulate`: a dry
//! run of a flow (see [`super::simulate`]). `schema`, `graph` and `render` live in
//! `cli_tools.rs`. Tools may use `anyhow`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::simulate::{self, HttpFixture, SimulateOptions, TOKENS_HELP};
use super::{Diagnostic, Report, ValidateOptions, compile, load_dir, load_sounds, validate_with};

/// `flows …`.
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Validate `routes.yaml`, `schedules.yaml`, `voices.yaml` and `flows/*.yaml`; exit 1 on
    /// any error (warnings are shown but pass).
    Check {
        /// The folder (default `ivr-flows`).
        dir: Option<PathBuf>,
        /// `text` (with the source line) or `json` (`{valid, errors, warnings}`).
        #[arg(long, default_value = "text")]
        format: String,
        /// Recorded prompts checked by IVR013 (default `<DIR>/../sounds`; skipped when the
        /// folder does not exist).
        #[arg(long)]
        sounds: Option<PathBuf>,
    },
    /// Dry-run a flow: print what the caller hears, each node with its exit, and where the
    /// call ends. Scripted with `--script` or from piped stdin; interactive on a terminal.
    Simulate {
        /// Flow id, e.g. `support-main`.
        flow: String,
        /// The flows folder.
        #[arg(long, default_value = "ivr-flows")]
        dir: PathBuf,
        /// Dialled number; resolved through routes.yaml (its `set` variables apply).
        #[arg(long)]
        did: Option<String>,
        /// When the call arrives (RFC 3339, e.g. 2026-12-07T06:00:00Z); default now.
        #[arg(long)]
        at: Option<String>,
        /// Caller's number.
        #[arg(long, default_value = "+15555550123")]
        caller: String,
        /// Comma-separated caller moves, e.g. "2,12345674,connected". Tokens: keys, `wait`
        /// (the timeout runs out), `hangup`, and results such as `connected`, `max_wait`,
        /// `no_answer`, `done`.
        #[arg(long)]
        script: Option<String>,
        /// Answer HTTP lookups whose URL starts with a prefix: `URL_PREFIX=STATUS:JSON_FILE`,
        /// `URL_PREFIX=STATUS`, or `URL_PREFIX=timeout`. Nothing is ever sent; a lookup with
        /// no fixture is treated as an error.
        #[arg(long = "http", value_name = "URL_PREFIX=STATUS:JSON_FILE")]
        http: Vec<String>,
    },
    /// Write the JSON Schemas of the flow, routes, voices and schedules files (for editor
    /// completion and checking; shipped in `ivr-flows/schema/`).
    Schema(super::cli_tools::SchemaArgs),
    /// Draw a flow as SVG, Graphviz DOT or Mermaid.
    Graph(super::cli_tools::GraphArgs),
    /// Pre-render every static TTS prompt of every flow into the TTS cache.
    Render(super::cli_tools::RenderArgs),
}

/// Parses `URL_PREFIX=STATUS:JSON_FILE`, `URL_PREFIX=STATUS` or `URL_PREFIX=timeout`.
fn parse_fixture(text: &str) -> anyhow::Result<HttpFixture> {
    let (prefix, answer) = text
        .rsplit_once('=')
        .with_context(|| format!("--http '{text}': expected URL_PREFIX=STATUS:JSON_FILE"))?;
    if answer == "timeout" {
        return Ok(HttpFixture {
            prefix: prefix.to_owned(),
            response: None,
        });
    }
    let (status, file) = answer.split_once(':').unwrap_or((answer, ""));
    let status: u16 = status
        .parse()
        .with_context(|| format!("--http '{text}': '{status}' is not an HTTP status"))?;
    let body = if file.is_empty() {
        Vec::new()
    } else {
        std::fs::read(file).with_context(|| format!("--http: cannot read {file}"))?
    };
    Ok(HttpFixture {
        prefix: prefix.to_owned(),
        response: Some((status, body)),
    })
}

fn split_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[allow(clippy::too_many_arguments)]
fn run_simulate(
    flow: String,
    dir: PathBuf,
    did: Option<String>,
    at: Option<String>,
    caller: String,
    script: Option<String>,
    http: Vec<String>,
) -> anyhow::Result<bool> {
    let at = match at {
        Some(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .with_context(|| format!("--at '{text}' is not an RFC 3339 time"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let sources = load_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let (catalog, report) = compile(&sources, at);
    let Some(catalog) = catalog else {
        print_text(&report);
        return Ok(false);
    };
    let options = SimulateOptions {
        flow,
        did,
        caller,
        at,
        http: http
            .iter()
            .map(|f| parse_fixture(f))
            .collect::<anyhow::Result<_>>()?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stdin = std::io::stdin();
    let interactive = script.is_none() && stdin.is_terminal();
    let mut queued: std::collections::VecDeque<String> = match &script {
        Some(s) => split_tokens(s).collect(),
        None if interactive => Default::default(),
        None => {
            let mut all = String::new();
            for line in stdin.lock().lines() {
                all.push_str(&line?);
                all.push('\n');
            }
            split_tokens(&all).collect()
        }
    };
    if interactive {
        println!("Type caller moves ({TOKENS_HELP}); an empty line or Ctrl-D ends.");
    }
    let mut next = || -> Option<String> {
        if interactive && queued.is_empty() {
            print!("> ");
            std::io::stdout().flush().ok()?;
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
                return None;
            }
            queued.extend(split_tokens(&line));
        }
        queued.pop_front()
    };
    simulate::run(&catalog, &options, &mut next, &mut out)?;
    Ok(true)
}

/// Runs `flows …`; returns whether everything was valid. `config` is the global `--config`
/// file, read only by the commands that need settings (`render`).
pub async fn run(cmd: FlowsCommand, config: Option<&Path>) -> anyhow::Result<bool> {
    match cmd {
        FlowsCommand::Schema(args) => super::cli_tools::schema(args).map(|()| true),
        FlowsCommand::Graph(args) => super::cli_tools::graph(args).map(|()| true),
        FlowsCommand::Render(args) => super::cli_tools::render(args, config).await.map(|()| true),
        FlowsCommand::Check {
            dir,
            format,
            sounds,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("ivr-flows"));
            let sources =
                load_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
            // The repository layout puts sounds/ beside ivr-flows/ (IVR-FLOWS.md §1).
            let sounds_dir = match sounds {
                Some(path) => Some(path),
                None => Some(dir.join("..").join("sounds")).filter(|p| p.is_dir()),
            };
            let options = ValidateOptions {
                sounds: sounds_dir
                    .map(|p| {
                        load_sounds(&p).with_context(|| format!("cannot read {}", p.display()))
                    })
                    .transpose()?,
                ..ValidateOptions::default()
            };
            let report = validate_with(&sources, chrono::Utc::now(), &options);
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&report)?),
                "text" => print_text(&report),
                other => anyhow::bail!("unknown format `{other}` (text or json)"),
            }
            Ok(report.valid)
        }
        FlowsCommand::Simulate {
            flow,
            dir,
            did,
            at,
            caller,
            script,
            http,
        } => run_simulate(flow, dir, did, at, caller, script, http),
    }
}

fn print_text(report: &Report) {
    for d in report.errors.iter().chain(&report.warnings) {
        print_one(d);
    }
    println!(
        "{} error(s), {} warning(s){}",
        report.errors.len(),
        report.warnings.len(),
        if report.valid { "" } else { ": not valid" }
    );
}

/// `file:line:col: error IVR006: message`, the source line with a caret under the span, and
/// the hint — the shape compilers use, so editors and terminals link straight to the place.
fn print_one(d: &Diagnostic) {
    let severity = if d.is_error() { "error" } else { "warning" };
    match d.span {
        Some(span) => println!(
            "{}:{}:{}: {severity} {}: {}",
            d.file, span.line, span.column, d.code, d.message
        ),
        None => println!("{}: {severity} {}: {}", d.file, d.code, d.message),
    }
    if let Some(span) = d.span
        && let Ok(text) = std::fs::read_to_string(&d.file)
        && let Some(line) = text.lines().nth(span.line.saturating_sub(1))
    {
        let width = if span.end_line == span.line && span.end_column > span.column {
            span.end_column - span.column
        } else {
            1
        };
        println!("{:>5} | {line}", span.line);
        println!(
            "      | {}{}",
            " ".repeat(span.column.saturating_sub(1)),
            "^".repeat(width)
        );
    }
    if let Some(hint) = &d.hint {
        println!("      = hint: {hint}");
    }
}
