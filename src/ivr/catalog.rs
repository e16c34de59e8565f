//! The published snapshot of an `ivr-flows/` folder (IVR-FLOWS.md §1): validated, decoded
//! once, immutable. Calls hold the catalog they started with, so a publish never changes a
//! call in progress; `version` names the snapshot in every node event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::flow::{Flow, decode_flow};
use super::model::{FlowHeader, FlowNode, Prompt, RoutesFile, TransferTo, VarType, VoicesFile};
use super::yaml::{Sink, decode, parse};
use super::{Report, Sources, flow_id_from_path, validate};
use crate::schedule::{self, CompiledSchedules, ScheduleFile};

/// One flow ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowDef {
    /// Flow id.
    pub id: String,
    /// Header (validated, so present).
    pub header: FlowHeader,
    /// Nodes by id.
    pub nodes: BTreeMap<String, FlowNode>,
}

impl FlowDef {
    /// `defaults.on_error`.
    pub fn on_error(&self) -> Option<&str> {
        self.header.defaults.as_ref()?.on_error.as_deref()
    }

    /// The declared type of a variable.
    pub fn var_type(&self, name: &str) -> Option<VarType> {
        self.header.variables.get(name).map(|v| v.kind)
    }

    /// Whether a variable is declared `pii: true`.
    pub fn is_pii(&self, name: &str) -> bool {
        self.header.variables.get(name).is_some_and(|v| v.pii)
    }

    /// The flow's starting language (`defaults.language`, else its first declared one).
    pub fn default_language(&self) -> Option<&str> {
        self.header
            .defaults
            .as_ref()
            .and_then(|d| d.language.as_deref())
            .or_else(|| self.header.languages.first().map(String::as_str))
    }
}

/// Where a DID goes (§7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Flow id.
    pub flow: String,
    /// The route's `set` variables.
    pub vars: BTreeMap<String, String>,
    /// The line's name (`caller_id_name`).
    pub caller_id_name: Option<String>,
    /// Where callers go when the flow cannot go on.
    pub failover: Option<TransferTo>,
}

/// A validated, compiled `ivr-flows/` folder.
#[derive(Debug, Clone)]
pub struct Catalog {
    version: String,
    flows: BTreeMap<String, FlowDef>,
    schedules: CompiledSchedules,
    routes: Option<RoutesFile>,
    voices: Option<VoicesFile>,
}

/// Validates `sources` and, when there are no errors, compiles them. Warnings do not block.
pub fn compile(sources: &Sources, now: DateTime<Utc>) -> (Option<Catalog>, Report) {
    let report = validate(sources, now);
    if !report.valid {
        return (None, report);
    }
    // Validation passed, so decoding cannot fail; the diagnostics are discarded.
    let mut scratch = Vec::new();
    let mut decode_file = |file: &super::SourceFile| -> Option<marked_yaml::Node> {
        parse(&file.path, &file.text, &mut scratch)
    };
    let mut flows = BTreeMap::new();
    for file in &sources.flows {
        let Some(root) = decode_file(file) else {
            continue;
        };
        let id = flow_id_from_path(&file.path);
        let mut out = Vec::new();
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        let Flow { header, nodes, .. } = decode_flow(&mut sink, &root, &id);
        if let Some(header) = header {
            flows.insert(
                id.clone(),
                FlowDef {
                    id,
                    header,
                    nodes: nodes.into_iter().collect(),
                },
            );
        }
    }
    fn load<T: serde::de::DeserializeOwned>(file: Option<&super::SourceFile>) -> Option<T> {
        let file = file?;
        let mut out = Vec::new();
        let root = parse(&file.path, &file.text, &mut out)?;
        let mut sink = Sink {
            file: &file.path,
            root: Some(&root),
            out: &mut out,
        };
        decode::<T>(&mut sink, &root, "")
    }
    let schedules = load::<ScheduleFile>(sources.schedules.as_ref())
        .map(|file| schedule::compile(&file, now).0)
        .unwrap_or_default();
    let catalog = Catalog {
        version: version_of(sources),
        flows,
        schedules,
        routes: load(sources.routes.as_ref()),
        voices: load(sources.voices.as_ref()),
    };
    (Some(catalog), report)
}

/// The first 12 hex digits of SHA-256 over every file's path and text.
fn version_of(sources: &Sources) -> String {
    let mut hash = Sha256::new();
    let files = sources
        .flows
        .iter()
        .chain(&sources.routes)
        .chain(&sources.schedules)
        .chain(&sources.voices);
    for file in files {
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        for part in [&file.path, &file.text] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
    }
    hex::encode(hash.finalize())[..12].to_owned()
}

impl Catalog {
    /// The snapshot's version, shown in node events.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A flow by id.
    pub fn flow(&self, id: &str) -> Option<&FlowDef> {
        self.flows.get(id)
    }

    /// Every flow id.
    pub fn flow_ids(&self) -> impl Iterator<Item = &str> {
        self.flows.keys().map(String::as_str)
    }

    /// A catalog with nothing in it (no flows, routes or voices).
    pub fn empty() -> Self {
        Catalog {
            version: String::new(),
            flows: BTreeMap::new(),
            schedules: CompiledSchedules::default(),
            routes: None,
            voices: None,
        }
    }

    /// `voices.yaml`, when the folder has one.
    pub fn voices(&self) -> Option<&VoicesFile> {
        self.voices.as_ref()
    }

    /// The compiled business hours.
    pub fn schedules(&self) -> &CompiledSchedules {
        &self.schedules
    }

    /// Resolves a DID: an exact `did` wins, then the longest `did_prefix` (§7).
    pub fn route(&self, did: &str) -> Option<RouteMatch> {
        let routes = &self.routes.as_ref()?.routes;
        let exact = routes
            .iter()
            .find(|r| r.matcher.did.as_deref() == Some(did));
        let best = exact.or_else(|| {
            routes
                .iter()
                .filter_map(|r| {
                    let prefix = r.matcher.did_prefix.as_deref()?;
                    did.starts_with(prefix).then_some((prefix.len(), r))
                })
                .max_by_key(|(len, _)| *len)
                .map(|(_, r)| r)
        })?;
        Some(RouteMatch {
            flow: best.flow.clone(),
            vars: best.set.clone(),
            caller_id_name: best.caller_id_name.clone(),
            failover: best.failover.clone(),
        })
    }

    /// Whether `routes.yaml` lists `did` itself (not only by prefix).
    pub fn claims_exactly(&self, did: &str) -> bool {
        self.routes.as_ref().is_some_and(|r| {
            r.routes
                .iter()
                .any(|r| r.matcher.did.as_deref() == Some(did))
        })
    }

    /// The longest `did_prefix` of `routes.yaml` that `did` starts with (0: none).
    pub fn prefix_len(&self, did: &str) -> usize {
        self.routes.as_ref().map_or(0, |r| {
            r.routes
                .iter()
                .filter_map(|r| r.matcher.did_prefix.as_deref())
                .filter(|p| did.starts_with(p))
                .map(str::len)
                .max()
                .unwrap_or(0)
        })
    }

    /// Every exact DID of `routes.yaml`.
    pub fn dids(&self) -> impl Iterator<Item = &str> {
        self.routes
            .iter()
            .flat_map(|r| r.routes.iter().filter_map(|r| r.matcher.did.as_deref()))
    }

    /// What callers to an unrouted DID hear before the call ends (`unmatched.prompt`).
    pub fn unmatched_prompt(&self) -> Option<&Prompt> {
        self.routes.as_ref()?.unmatched.as_ref()?.prompt.as_ref()
    }

    /// `unmatched.then`: `hangup` or a flow id.
    pub fn unmatched_then(&self) -> Option<&str> {
        Some(self.routes.as_ref()?.unmatched.as_ref()?.then.as_str())
    }

    /// The default voice profile of a language (`voices.yaml` `defaults`).
    pub fn default_voice(&self, language: &str) -> Option<&str> {
        self.voices
            .as_ref()?
            .defaults
            .get(language)
            .map(String::as_str)
    }

    /// The offline voice to use when the provider fails (`voices.yaml` `fallback`).
    pub fn fallback_voice(&self, language: &str) -> Option<&str> {
        self.voices
            .as_ref()?
            .fallback
            .get(language)
            .map(String::as_str)
    }
}
