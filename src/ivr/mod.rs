//! IVR flows (IVR-FLOWS.md): the file model of `ivr-flows/`, its validator, the compiled
//! catalog and the interpreter.
//!
//! Pure: [`validate`] takes the files' text and returns every problem at once as
//! [`Diagnostic`]s with a span, a JSON pointer and a hint. [`validate_with`] adds what only the
//! platform knows ([`ValidateOptions`]: egress allow-list, secret names, the `sounds/` index,
//! the tenant's queues); each part left `None` skips the check that needs it. [`compile`]
//! turns a valid folder into a [`Catalog`]; [`interp::Session`] runs one call against it,
//! events in and actions out, with time passed in. Only [`load_dir`] and [`load_sounds`] read
//! files. `service.rs` keeps each tenant's folder live (publish, history, hot reload) and
//! `http.rs` serves it to admins; `examples.rs` embeds the shipped example folder.
//!
//! - `catalog.rs`: the published snapshot: flows by id, compiled schedules, DID routes
//!   (exact, then longest prefix, with `set` variables), voices, a version hash.
//! - `interp/`: the interpreter (see its module doc).
//! - `expr.rs`: `branch.when` expressions. **A stand-in**: another branch writes the real
//!   module with the same API, which replaces this file at merge.
//! - `simulate.rs` and `cli.rs`: `flows check` and `flows simulate`.
//! - `model.rs`: serde types for flow files, prompts, `routes.yaml`, `voices.yaml`
//!   (`schedules.yaml` is [`crate::schedule::ScheduleFile`], whose problems become IVR014).
//! - `yaml.rs`: parsing with spans, YAML 1.1 pitfalls, serde errors as IVR002.
//! - `flow.rs`: node-by-node decoding and per-node rules.
//! - `graph.rs`: reachability, loops, failure exits, `@return` without a menu.
//! - `expr.rs`: the `branch.when` language (parse, type check, evaluate), shared with the
//!   interpreter.
//! - `checks.rs`: expression, `set` and regex types (IVR017); http URLs and egress (IVR023).
//! - `templates.rs`: variable and secret references, language coverage.
//! - `speech.rs`: TTS length and SSML (IVR021), voice languages (IVR028).
//! - `sounds.rs`: the `sounds/` index and recorded-prompt lookup (IVR013).
//! - `routes.rs`: `routes.yaml` rules.
//! - `diag.rs`: [`Diagnostic`] and [`Report`] in the JSON shape of §9.
//! - `schema.rs`: JSON Schemas of the files, for editors (`flows schema`).
//! - `diagram.rs`: pictures of a flow as SVG, DOT or Mermaid (`flows graph`).
//! - `prerender.rs`: rendering of every static TTS prompt into the cache (`flows render`),
//!   the one part here that does I/O besides [`load_dir`].
//!
//! **YAML parser: `marked-yaml` 0.8.** It keeps a start mark (line, column) on every node and
//! key, start and end marks on mappings and sequences, and with
//! `LoaderOptions::error_on_duplicate_keys` it fails with both keys' marks, which is IVR003
//! with "first defined at line N". It also records whether a scalar was quoted, which is
//! what the YAML 1.1 pitfall checks need (`+14155550100`, `09:00` and `no` unquoted): a
//! parser that resolves types would already have lost that. Its serde bridge (feature
//! `serde-path`) gives the failing field's path and mark, so schema errors (IVR002) point at
//! a line. `serde_yaml` is deprecated; `serde-saphyr` resolves scalars itself and
//! deserializes straight into types, so it cannot report unquoted-number pitfalls for
//! string fields, and we would lose the raw tree that span lookups by JSON pointer use.
//!
//! Rules implemented: IVR001–IVR012, IVR013 (with a sound index), IVR014 (references and the
//! schedule module's problems), IVR015 (voice profiles, in voices.yaml, defaults, nodes and
//! prompts), IVR016 (templates, `branch.when` names, `into`, `extract`, `set`, `{from: var}`,
//! `routes.set`), IVR017, IVR018 (`transfer`, a route's `failover`), IVR019, IVR020, IVR021
//! (limits applied unless the voice in effect is known not to be Polly), IVR022, IVR023
//! (allow-list and secret names with options), IVR024–IVR028.
//! IVR015 also checks what only the platform knows, when the caller passes it (the service
//! does at publish): `queue`/`callback` queue names against the tenant's queues, `queue`
//! skills (and their levels) against the skills its agents hold, `transfer` extensions and
//! `routes.yaml` failover extensions against its extensions.
//! Mailboxes, directories and AI agents have no registry to check against: a `voicemail`
//! node's mailbox is the label its messages are filed under, a `directory` searches the
//! tenant's extensions whatever its name, and an `ai_agent` node takes its error path on
//! voice (the voice AI agent is not built).
//! Not yet: sounds and prompts of `routes.yaml`'s `unmatched` (no flow language applies).
//!
//! Limits: a duplicate key stops the parse of that file, so IVR003 reports the first
//! duplicate of a file and the file's other rules run after it is fixed; other files are
//! still checked. Graph edges include the implicit `defaults.on_error` edges of unset
//! failure exits but not implicit `on_max_visits` ones, so a loop guarded only by the
//! visit cap is still IVR010 (§10, variant 1d). IVR027 is skipped for flows that another flow
//! enters (`subflow`, `goto.flow`), since the caller's menu may be the one to return to.
//! IVR021 counts only the text written in the file; `{{…}}` values add to it at run time.

pub mod catalog;
mod checks;
pub mod cli;
mod cli_tools;
mod diag;
pub mod diagram;
pub mod examples;
pub mod expr;
mod flow;
mod graph;
pub mod http;
pub mod interp;
mod model;
pub mod prerender;
mod routes;
pub mod schema;
pub mod service;
pub mod simulate;
mod sounds;
mod speech;
mod templates;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rules;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};

pub use catalog::{Catalog, FlowDef, compile};
pub use diag::{Diagnostic, Report, Severity, Span};
pub use flow::{Exit, Flow, parse_duration_ms};
pub use graph::SPECIAL_TARGETS;
pub use model::*;
pub use routes::{is_dialable_sip_uri, is_e164};
pub use sounds::{SOUND_EXTENSIONS, SoundIndex, SoundInfo, WavFormat, load_sounds};
pub use speech::{POLLY_MAX_BILLED, POLLY_MAX_TOTAL, ssml_billed_chars};
pub use templates::template_names;

use crate::schedule::{self, ScheduleFile};
use yaml::{Sink, decode, parse, pitfalls, serde_path_to_pointer};

/// One file's path (as shown in diagnostics) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// e.g. `ivr-flows/flows/support-main.yaml`.
    pub path: String,
    /// File contents.
    pub text: String,
}

/// The files of one `ivr-flows/` folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// `flows/**/*.yaml`.
    pub flows: Vec<SourceFile>,
    /// `routes.yaml`.
    pub routes: Option<SourceFile>,
    /// `schedules.yaml`.
    pub schedules: Option<SourceFile>,
    /// `voices.yaml`.
    pub voices: Option<SourceFile>,
}

/// The flow id of a flow file: its path below `flows/` without `.yaml`
/// (`ivr-flows/flows/common/after-hours.yaml` is `common/after-hours`).
pub fn flow_id_from_path(path: &str) -> String {
    let below = path.rsplit_once("flows/").map_or(path, |(_, rest)| rest);
    below
        .strip_suffix(".yaml")
        .or_else(|| below.strip_suffix(".yml"))
        .unwrap_or(below)
        .to_owned()
}

/// Reads an `ivr-flows/` folder. Paths in diagnostics are `dir` joined with the file's path.
pub fn load_dir(dir: &Path) -> std::io::Result<Sources> {
    read_sources(dir, &|path| path.display().to_string())
}

/// Reads a flow folder, naming each file with `name_of(its path)`: the CLI shows the path it
/// was given, the service the path inside the tenant's folder. A missing folder is empty.
pub(crate) fn read_sources(
    dir: &Path,
    name_of: &dyn Fn(&Path) -> String,
) -> std::io::Result<Sources> {
    let read = |name: &str| -> std::io::Result<Option<SourceFile>> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(SourceFile {
            path: name_of(&path),
            text: std::fs::read_to_string(&path)?,
        }))
    };
    let mut sources = Sources {
        flows: Vec::new(),
        routes: read("routes.yaml")?,
        schedules: read("schedules.yaml")?,
        voices: read("voices.yaml")?,
    };
    let mut stack = vec![dir.join("flows")];
    while let Some(folder) = stack.pop() {
        if !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                sources.flows.push(SourceFile {
                    path: name_of(&path),
                    text: std::fs::read_to_string(&path)?,
                });
            }
        }
    }
    sources.flows.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(sources)
}

/// What the platform knows beyond the files. Each `None` skips the check that needs it
/// (offline, as in CI without platform access).
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Hosts `http` nodes may call: exact names or `*.example.com` wildcards (IVR023).
    pub egress_allowlist: Option<Vec<String>>,
    /// Names usable as `{{secret.name}}` in `http` headers (IVR023).
    pub secrets: Option<BTreeSet<String>>,
    /// The recorded prompts below `sounds/` (IVR013), from [`load_sounds`].
    pub sounds: Option<SoundIndex>,
    /// The tenant's queue names, for `queue` and `callback` nodes (IVR015 at publish).
    pub queues: Option<BTreeSet<String>>,
    /// The skills the tenant's agents hold, each with the highest level any of them has, for
    /// `queue` nodes' `skills` (IVR015 at publish).
    pub skills: Option<BTreeMap<String, i64>>,
    /// The tenant's extension numbers, for `transfer` nodes (IVR015 at publish).
    pub extensions: Option<BTreeSet<String>>,
    /// DIDs other tenants route exactly: a number belongs to one tenant (IVR024 at publish).
    pub dids_elsewhere: Option<BTreeSet<String>>,
    /// How many numbers the tenant may route (`limits.max_dids`; `None` or 0: unlimited).
    pub max_dids: Option<usize>,
}

/// Validates everything offline; `now` anchors the schedule checks (DST gaps ahead).
pub fn validate(sources: &Sources, now: DateTime<Utc>) -> Report {
    validate_with(sources, now, &ValidateOptions::default())
}

/// Validates with what the platform knows (allow-list, secrets, sounds); see
/// [`ValidateOptions`].
pub fn validate_with(sources: &Sources, now: DateTime<Utc>, options: &ValidateOptions) -> Report {
    let mut out = Vec::new();

    // schedules.yaml: decode, then let the schedule module judge it (IVR014).
    let mut schedule_names: Option<BTreeSet<String>> = None;
    if let Some(file) = &sources.schedules
        && let Some(root) = parse(&file.path, &file.text, &mut out)
    {
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        pitfalls(&mut sink, &root, "");
        if let Some(schedules) = decode::<ScheduleFile>(&mut sink, &root, "") {
            let (_, problems) = schedule::compile(&schedules, now);
            for problem in problems {
                let pointer = serde_path_to_pointer(&problem.path);
                let severity = if problem.is_error() {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                sink.at(
                    "IVR014",
                    severity,
                    &pointer,
                    None,
                    problem.message,
                    problem.hint,
                );
            }
            schedule_names = Some(schedules.schedules.keys().cloned().collect());
        }
    }

    // voices.yaml.
    let mut voices_file: Option<VoicesFile> = None;
    if let Some(file) = &sources.voices
        && let Some(root) = parse(&file.path, &file.text, &mut out)
    {
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        pitfalls(&mut sink, &root, "");
        if let Some(voices) = decode::<VoicesFile>(&mut sink, &root, "") {
            for (section, map) in [
                ("defaults", &voices.defaults),
                ("fallback", &voices.fallback),
            ] {
                for (language, profile) in map {
                    if !voices.voices.contains_key(profile) {
                        let hint = diag::nearest(profile, voices.voices.keys().map(String::as_str))
                            .map(|n| format!("did you mean '{n}'?"));
                        sink.error(
                            "IVR015",
                            &format!("/{section}/{language}"),
                            None,
                            format!("unknown voice profile '{profile}'"),
                            hint,
                        );
                    }
                }
            }
            voices_file = Some(voices);
        }
    }

    // Flows.
    let mut flows: BTreeMap<String, Flow> = BTreeMap::new();
    let mut roots: BTreeMap<String, (String, marked_yaml::Node)> = BTreeMap::new();
    for file in &sources.flows {
        let id = flow_id_from_path(&file.path);
        let Some(root) = parse(&file.path, &file.text, &mut out) else {
            // Keep the id known so routes to a broken flow are not also "unknown flow".
            flows.insert(
                id.clone(),
                Flow {
                    id,
                    header: None,
                    nodes: Vec::new(),
                    node_ids: Vec::new(),
                },
            );
            continue;
        };
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        pitfalls(&mut sink, &root, "");
        let flow = flow::decode_flow(&mut sink, &root, &id);
        flow::check_values(&mut sink, &flow, schedule_names.as_ref());
        graph::check_graph(&mut sink, &flow);
        flow::check_node_rules(&mut sink, &flow);
        templates::check_variables(&mut sink, &flow, options.secrets.as_ref());
        templates::check_languages(&mut sink, &flow);
        checks::check_expressions(&mut sink, &flow);
        checks::check_http(&mut sink, &flow, options.egress_allowlist.as_deref());
        if let Some(queues) = &options.queues {
            checks::check_queues(&mut sink, &flow, queues);
        }
        if let Some(skills) = &options.skills {
            checks::check_skills(&mut sink, &flow, skills);
        }
        if let Some(extensions) = &options.extensions {
            checks::check_extensions(&mut sink, &flow, extensions);
        }
        speech::check_speech(&mut sink, &flow, voices_file.as_ref());
        if let Some(index) = &options.sounds {
            sounds::check_sounds(&mut sink, &flow, index);
        }
        if let (Some(voices), Some(voice)) = (
            &voices_file,
            flow.header
                .as_ref()
                .and_then(|h| h.defaults.as_ref()?.voice.as_ref()),
        ) && !voices.voices.contains_key(voice)
        {
            let hint = diag::nearest(voice, voices.voices.keys().map(String::as_str))
                .map(|n| format!("did you mean '{n}'?"));
            sink.error(
                "IVR015",
                "/defaults/voice",
                None,
                format!("unknown voice profile '{voice}'"),
                hint,
            );
        }
        flows.insert(id.clone(), flow);
        roots.insert(id, (file.path.clone(), root));
    }
    graph::check_flow_refs(&flows, &mut |flow_id, report| {
        if let Some((path, root)) = roots.get(flow_id) {
            report(&mut Sink {
                file: path,
                root: Some(root),
                out: &mut out,
            });
        }
    });
    // IVR027 needs to know which flows other flows enter.
    let entered: BTreeSet<&str> = flows
        .values()
        .flat_map(|f| &f.nodes)
        .filter_map(|(_, node)| match &node.kind {
            NodeKind::Subflow(s) => Some(s.flow.as_str()),
            NodeKind::Goto(g) => g.flow.as_deref(),
            _ => None,
        })
        .collect();
    for (id, flow) in &flows {
        if let Some((path, root)) = roots.get(id)
            && !entered.contains(id.as_str())
        {
            let mut sink = Sink {
                file: path,
                root: Some(root),
                out: &mut out,
            };
            graph::check_return_without_menu(&mut sink, flow);
        }
    }

    // routes.yaml.
    if let Some(file) = &sources.routes
        && let Some(root) = parse(&file.path, &file.text, &mut out)
    {
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        pitfalls(&mut sink, &root, "");
        if let Some(routes) = decode::<RoutesFile>(&mut sink, &root, "") {
            routes::check_routes(&mut sink, &routes, &flows);
            routes::check_claims(&mut sink, &routes, options);
            if let Some(extensions) = &options.extensions {
                routes::check_failover_extensions(&mut sink, &routes, extensions);
            }
        }
    }

    // A pitfall and the serde error it causes land on the same scalar: keep the first.
    let mut seen = BTreeSet::new();
    out.retain(|d| {
        let message = if d.code == "IVR002" {
            String::new()
        } else {
            d.message.clone()
        };
        seen.insert((
            d.code,
            d.file.clone(),
            d.span.map(|s| (s.line, s.column)),
            message,
        ))
    });
    Report::from_diagnostics(out)
}

/// Decodes every flow file that parses, for the tools that draw or speak flows (`flows graph`,
/// `flows render`). Problems are dropped here: [`validate`] is what reports them.
pub fn decode_flows(sources: &Sources) -> BTreeMap<String, Flow> {
    let mut ignored = Vec::new();
    let mut flows = BTreeMap::new();
    for file in &sources.flows {
        let id = flow_id_from_path(&file.path);
        let Some(root) = parse(&file.path, &file.text, &mut ignored) else {
            continue;
        };
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut ignored,
        };
        let flow = flow::decode_flow(&mut sink, &root, &id);
        flows.insert(id, flow);
    }
    flows
}

/// Decodes `voices.yaml`, when there is one and it is well-formed (see [`decode_flows`]).
pub fn decode_voices(sources: &Sources) -> Option<VoicesFile> {
    let file = sources.voices.as_ref()?;
    let mut ignored = Vec::new();
    let root = parse(&file.path, &file.text, &mut ignored)?;
    let mut sink = Sink {
        file: &file.path,
        root: Some(&root),
        out: &mut ignored,
    };
    decode::<VoicesFile>(&mut sink, &root, "")
}
