//! `switchboard flows check`: validates a flows folder and prints every problem with its
//! source line, or the JSON report for editors and CI. `schema`, `graph` and `render` live in
//! `cli_tools.rs`. Tools may use `anyhow`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::{Diagnostic, Report, load_dir, validate};

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
    },
    /// Write the JSON Schemas of the flow, routes, voices and schedules files (for editor
    /// completion and checking; shipped in `ivr-flows/schema/`).
    Schema(super::cli_tools::SchemaArgs),
    /// Draw a flow as SVG, Graphviz DOT or Mermaid.
    Graph(super::cli_tools::GraphArgs),
    /// Pre-render every static TTS prompt of every flow into the TTS cache.
    Render(super::cli_tools::RenderArgs),
}

/// Runs `flows …`; returns whether everything was valid. `config` is the global `--config`
/// file, read only by the commands that need settings (`render`).
pub async fn run(cmd: FlowsCommand, config: Option<&Path>) -> anyhow::Result<bool> {
    match cmd {
        FlowsCommand::Schema(args) => super::cli_tools::schema(args).map(|()| true),
        FlowsCommand::Graph(args) => super::cli_tools::graph(args).map(|()| true),
        FlowsCommand::Render(args) => super::cli_tools::render(args, config).await.map(|()| true),
        FlowsCommand::Check { dir, format } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("ivr-flows"));
            let sources =
                load_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
            let report = validate(&sources, chrono::Utc::now());
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&report)?),
                "text" => print_text(&report),
                other => anyhow::bail!("unknown format `{other}` (text or json)"),
            }
            Ok(report.valid)
        }
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
