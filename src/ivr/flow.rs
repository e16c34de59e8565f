//! Decoding a flow file node by node (so every schema problem is reported, not only the
//! first) and the per-node rules: IVR002, IVR004, IVR005, IVR012, IVR014, IVR019.

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::Node;
use serde::de::DeserializeOwned;

use super::diag::{escape_segment, nearest};
use super::model::*;
use super::yaml::{Sink, decode};

/// A decoded flow: its header and its nodes in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Flow id (from the file path).
    pub id: String,
    /// Header, when it decoded.
    pub header: Option<FlowHeader>,
    /// Nodes that decoded, in file order.
    pub nodes: Vec<(String, FlowNode)>,
    /// Every node id written in the file, decoded or not (so targets to a node with a
    /// schema error are not also reported as missing).
    pub node_ids: Vec<String>,
}

impl Flow {
    /// `defaults.on_error`, if set.
    pub fn default_on_error(&self) -> Option<&str> {
        self.header.as_ref()?.defaults.as_ref()?.on_error.as_deref()
    }
}

/// One exit of a node: where it is written, how to name it in messages, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit<'a> {
    /// Pointer below the node, e.g. `/options/2`.
    pub suffix: String,
    /// e.g. `option "2"` or `exit 'next'`.
    pub label: String,
    /// Node id or special target.
    pub target: &'a str,
}

fn exit<'a>(out: &mut Vec<Exit<'a>>, name: &str, target: Option<&'a String>) {
    if let Some(target) = target {
        out.push(Exit {
            suffix: format!("/{name}"),
            label: format!("exit '{name}'"),
            target,
        });
    }
}

fn exit_map<'a>(
    out: &mut Vec<Exit<'a>>,
    name: &str,
    what: &str,
    map: &'a BTreeMap<String, String>,
) {
    for (key, target) in map {
        out.push(Exit {
            suffix: format!("/{name}/{}", escape_segment(key)),
            label: format!("{what} \"{key}\""),
            target,
        });
    }
}

impl FlowNode {
    /// Every explicit exit, including `on_max_visits`.
    pub fn exits(&self) -> Vec<Exit<'_>> {
        let mut out = Vec::new();
        match &self.kind {
            NodeKind::Say(n) => exit(&mut out, "next", Some(&n.next)),
            NodeKind::Menu(n) => {
                exit_map(&mut out, "options", "option", &n.options);
                exit(&mut out, "on_max_attempts", n.on_max_attempts.as_ref());
            }
            NodeKind::Gather(n) => {
                exit(&mut out, "next", Some(&n.next));
                exit(&mut out, "on_max_attempts", n.on_max_attempts.as_ref());
            }
            NodeKind::Schedule(n) => {
                exit(&mut out, "open", Some(&n.open));
                exit(&mut out, "closed", Some(&n.closed));
                exit(&mut out, "holiday", n.holiday.as_ref());
            }
            NodeKind::Branch(n) => {
                for (i, case) in n.cases.iter().enumerate() {
                    out.push(Exit {
                        suffix: format!("/cases/{i}/goto"),
                        label: format!("case {i}"),
                        target: &case.goto,
                    });
                }
                exit(&mut out, "default", Some(&n.default));
            }
            NodeKind::Set(n) => exit(&mut out, "next", Some(&n.next)),
            NodeKind::SetLanguage(n) => exit(&mut out, "next", Some(&n.next)),
            NodeKind::Queue(n) => {
                exit_map(&mut out, "exit_keys", "exit key", &n.exit_keys);
                if let Some(next) = n.callback.as_ref().and_then(|c| c.next.as_ref()) {
                    out.push(Exit {
                        suffix: "/callback/next".into(),
                        label: "exit 'callback.next'".into(),
                        target: next,
                    });
                }
                exit(&mut out, "on_max_wait", n.on_max_wait.as_ref());
                exit(&mut out, "on_no_agents", n.on_no_agents.as_ref());
                exit(&mut out, "on_full", n.on_full.as_ref());
            }
            NodeKind::Callback(n) => {
                exit(&mut out, "next", Some(&n.next));
                exit(&mut out, "on_error", n.on_error.as_ref());
            }
            NodeKind::Transfer(n) => {
                exit(&mut out, "on_no_answer", n.on_no_answer.as_ref());
                exit(&mut out, "on_busy", n.on_busy.as_ref());
                exit(&mut out, "on_failure", n.on_failure.as_ref());
            }
            NodeKind::Voicemail(n) => exit(&mut out, "next", n.next.as_ref()),
            NodeKind::Directory(n) => {
                exit(&mut out, "on_not_found", n.on_not_found.as_ref());
                exit(&mut out, "on_exit", n.on_exit.as_ref());
                exit(&mut out, "on_operator", n.on_operator.as_ref());
            }
            NodeKind::AiAgent(n) => {
                match &n.on_handoff {
                    Some(Handoff::Target(t)) => exit(&mut out, "on_handoff", Some(t)),
                    Some(Handoff::ByReason(map)) => {
                        exit_map(&mut out, "on_handoff", "handoff reason", map)
                    }
                    None => {}
                }
                exit(&mut out, "on_done", n.on_done.as_ref());
                exit(&mut out, "on_error", n.on_error.as_ref());
            }
            NodeKind::Http(n) => {
                exit(&mut out, "on_success", n.on_success.as_ref());
                exit_map(&mut out, "on_status", "status", &n.on_status);
                exit(&mut out, "on_error", n.on_error.as_ref());
                exit(&mut out, "on_timeout", n.on_timeout.as_ref());
            }
            NodeKind::Goto(n) => exit(&mut out, "target", n.target.as_ref()),
            NodeKind::Subflow(n) => exit_map(&mut out, "returns", "return value", &n.returns),
            NodeKind::Return(_) | NodeKind::Hangup(_) => {}
        }
        exit(&mut out, "on_max_visits", self.on_max_visits.as_ref());
        out
    }

    /// Failure exits and whether each is set; unset ones fall back to `defaults.on_error`.
    pub fn failure_exits(&self) -> Vec<(&'static str, bool)> {
        match &self.kind {
            NodeKind::Menu(n) => vec![("on_max_attempts", n.on_max_attempts.is_some())],
            NodeKind::Gather(n) => vec![("on_max_attempts", n.on_max_attempts.is_some())],
            NodeKind::Queue(n) => vec![
                ("on_max_wait", n.on_max_wait.is_some()),
                ("on_no_agents", n.on_no_agents.is_some()),
                ("on_full", n.on_full.is_some()),
            ],
            NodeKind::Callback(n) => vec![("on_error", n.on_error.is_some())],
            NodeKind::Transfer(n) => vec![
                ("on_no_answer", n.on_no_answer.is_some()),
                ("on_busy", n.on_busy.is_some()),
                ("on_failure", n.on_failure.is_some()),
            ],
            NodeKind::Directory(n) => vec![("on_not_found", n.on_not_found.is_some())],
            NodeKind::AiAgent(n) => vec![("on_error", n.on_error.is_some())],
            NodeKind::Http(n) => vec![
                ("on_error", n.on_error.is_some()),
                ("on_timeout", n.on_timeout.is_some()),
            ],
            _ => vec![],
        }
    }
}

impl NodeKind {
    /// The `type:` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Say(_) => "say",
            NodeKind::Menu(_) => "menu",
            NodeKind::Gather(_) => "gather",
            NodeKind::Schedule(_) => "schedule",
            NodeKind::Branch(_) => "branch",
            NodeKind::Set(_) => "set",
            NodeKind::SetLanguage(_) => "set_language",
            NodeKind::Queue(_) => "queue",
            NodeKind::Callback(_) => "callback",
            NodeKind::Transfer(_) => "transfer",
            NodeKind::Voicemail(_) => "voicemail",
            NodeKind::Directory(_) => "directory",
            NodeKind::AiAgent(_) => "ai_agent",
            NodeKind::Http(_) => "http",
            NodeKind::Goto(_) => "goto",
            NodeKind::Subflow(_) => "subflow",
            NodeKind::Return(_) => "return",
            NodeKind::Hangup(_) => "hangup",
        }
    }

    /// The call can leave the IVR here (§4 "terminal").
    pub fn is_terminal(&self) -> bool {
        match self {
            NodeKind::Queue(_)
            | NodeKind::Transfer(_)
            | NodeKind::Voicemail(_)
            | NodeKind::Directory(_)
            | NodeKind::Return(_)
            | NodeKind::Hangup(_) => true,
            NodeKind::Goto(g) => g.flow.is_some(),
            _ => false,
        }
    }

    /// Runs without caller interaction (IVR011).
    pub fn is_instant(&self) -> bool {
        matches!(
            self,
            NodeKind::Set(_) | NodeKind::Branch(_) | NodeKind::Goto(_) | NodeKind::Http(_)
        )
    }
}

/// `^[a-z][a-z0-9_]{0,49}$`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 50
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn check_identifier(sink: &mut Sink<'_>, what: &str, name: &str, path: &str, node: Option<&str>) {
    let reserved = matches!(name, "start" | "defaults") || name.starts_with('@');
    if reserved || !is_identifier(name) {
        let why = if reserved {
            "is reserved"
        } else {
            "must match ^[a-z][a-z0-9_]{0,49}$"
        };
        let hint = (!reserved).then(|| {
            let fixed: String = name
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("try '{fixed}'")
        });
        sink.error("IVR004", path, node, format!("{what} '{name}' {why}"), hint);
    }
}

fn decode_kind<T: DeserializeOwned>(
    sink: &mut Sink<'_>,
    node: &Node,
    path: &str,
    wrap: fn(T) -> NodeKind,
) -> Option<NodeKind> {
    decode::<T>(sink, node, path).map(wrap)
}

/// Decodes a flow and runs the header and per-node rules.
pub(crate) fn decode_flow(sink: &mut Sink<'_>, root: &Node, id: &str) -> Flow {
    let mut flow = Flow {
        id: id.to_owned(),
        header: None,
        nodes: Vec::new(),
        node_ids: Vec::new(),
    };
    let Some(map) = root.as_mapping() else {
        return flow;
    };

    let mut header_node = map.clone();
    let nodes_node = header_node.remove("nodes");
    flow.header = decode::<FlowHeader>(sink, &Node::Mapping(header_node), "");
    if let Some(header) = &flow.header {
        if header.version != 1 {
            sink.error(
                "IVR002",
                "/version",
                None,
                format!(
                    "version {} is not supported; use version: 1",
                    header.version
                ),
                None,
            );
        }
        if header.id != id {
            sink.error(
                "IVR002",
                "/id",
                None,
                format!("flow id '{}' must equal the file name '{id}'", header.id),
                Some(format!("write id: {id}")),
            );
        }
        for name in header.variables.keys() {
            check_identifier(
                sink,
                "variable",
                name,
                &format!("/variables/{}", escape_segment(name)),
                None,
            );
        }
    }

    let Some(nodes) = nodes_node.as_ref().and_then(Node::as_mapping) else {
        let message = if nodes_node.is_some() {
            "nodes must be a mapping of node id to node"
        } else {
            "missing field `nodes`"
        };
        sink.error("IVR002", "", None, message.to_owned(), None);
        return flow;
    };
    for (key, value) in nodes.iter() {
        let name = key.as_str();
        let path = format!("/nodes/{}", escape_segment(name));
        flow.node_ids.push(name.to_owned());
        check_identifier(sink, "node id", name, &path, Some(name));
        if let Some(node) = decode_node(sink, value, &path, name) {
            flow.nodes.push((name.to_owned(), node));
        }
    }
    flow
}

fn decode_node(sink: &mut Sink<'_>, value: &Node, path: &str, name: &str) -> Option<FlowNode> {
    let Some(map) = value.as_mapping() else {
        sink.error(
            "IVR002",
            path,
            Some(name),
            format!("node '{name}' must be a mapping with a `type`"),
            None,
        );
        return None;
    };
    let mut rest = map.clone();
    let Some(type_node) = rest.remove("type") else {
        sink.error(
            "IVR002",
            path,
            Some(name),
            format!("node '{name}' is missing field `type`"),
            Some(format!("one of: {}", NODE_TYPES.join(", "))),
        );
        return None;
    };
    let type_name = type_node
        .as_scalar()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let mut common_map = marked_yaml::types::MarkedMappingNode::new_empty(*map.span());
    for field in ["max_visits", "on_max_visits"] {
        if let Some((k, v)) = rest.remove_entry(field) {
            common_map.insert(k, v);
        }
    }
    let common: Common = decode(sink, &Node::Mapping(common_map), path).unwrap_or_default();
    let rest = Node::Mapping(rest);
    let kind = match type_name.as_str() {
        "say" | "play" => decode_kind(sink, &rest, path, NodeKind::Say),
        "menu" => decode_kind(sink, &rest, path, NodeKind::Menu),
        "gather" => decode_kind(sink, &rest, path, NodeKind::Gather),
        "schedule" => decode_kind(sink, &rest, path, NodeKind::Schedule),
        "branch" => decode_kind(sink, &rest, path, NodeKind::Branch),
        "set" => decode_kind(sink, &rest, path, NodeKind::Set),
        "set_language" => decode_kind(sink, &rest, path, NodeKind::SetLanguage),
        "queue" => decode_kind(sink, &rest, path, NodeKind::Queue),
        "callback" => decode_kind(sink, &rest, path, NodeKind::Callback),
        "transfer" => decode_kind(sink, &rest, path, NodeKind::Transfer),
        "voicemail" => decode_kind(sink, &rest, path, NodeKind::Voicemail),
        "directory" => decode_kind(sink, &rest, path, NodeKind::Directory),
        "ai_agent" => decode_kind(sink, &rest, path, NodeKind::AiAgent),
        "http" => decode_kind(sink, &rest, path, NodeKind::Http),
        "goto" => decode_kind(sink, &rest, path, NodeKind::Goto),
        "subflow" => decode_kind(sink, &rest, path, NodeKind::Subflow),
        "return" => decode_kind(sink, &rest, path, NodeKind::Return),
        "hangup" => decode_kind(sink, &rest, path, NodeKind::Hangup),
        other => {
            let hint = nearest(other, NODE_TYPES.iter().copied()).map_or_else(
                || format!("one of: {}", NODE_TYPES.join(", ")),
                |n| format!("did you mean '{n}'?"),
            );
            sink.error(
                "IVR002",
                &format!("{path}/type"),
                Some(name),
                format!("unknown node type '{other}'"),
                Some(hint),
            );
            None
        }
    }?;
    if let NodeKind::Goto(g) = &kind
        && g.target.is_some() == g.flow.is_some()
    {
        sink.error(
            "IVR002",
            path,
            Some(name),
            "goto needs exactly one of `target` and `flow`".into(),
            None,
        );
    }
    if let NodeKind::Transfer(t) = &kind
        && !t.to.has_one_target()
    {
        sink.error(
            "IVR002",
            &format!("{path}/to"),
            Some(name),
            "transfer `to` needs exactly one of extension, number, sip".into(),
            None,
        );
    }
    Some(FlowNode {
        max_visits: common.max_visits,
        on_max_visits: common.on_max_visits,
        kind,
    })
}

/// Parses `"6s"`, `"1500ms"`, `"20m"`, `"1h"` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    value.checked_mul(factor)
}

fn show_ms(ms: u64) -> String {
    match ms {
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1_000 == 0 => format!("{}s", m / 1_000),
        m => format!("{m}ms"),
    }
}

/// Checks a duration field: format (IVR002) and range (IVR019). Returns the value.
fn duration(
    sink: &mut Sink<'_>,
    path: &str,
    node: Option<&str>,
    what: &str,
    value: Option<&String>,
    range: (u64, u64),
) -> Option<u64> {
    let value = value?;
    let Some(ms) = parse_duration_ms(value) else {
        let hint = if value.chars().all(|c| c.is_ascii_digit()) {
            format!(
                "write \"{value}s\" (or another unit); bare numbers are rejected so nobody guesses the unit"
            )
        } else {
            "durations look like \"6s\", \"1500ms\", \"20m\"".to_owned()
        };
        sink.error(
            "IVR002",
            path,
            node,
            format!("{what} '{value}' is not a duration"),
            Some(hint),
        );
        return None;
    };
    if ms < range.0 || ms > range.1 {
        sink.error(
            "IVR019",
            path,
            node,
            format!(
                "{what} {} is out of range {}–{}",
                show_ms(ms),
                show_ms(range.0),
                show_ms(range.1)
            ),
            None,
        );
    }
    Some(ms)
}

fn count(
    sink: &mut Sink<'_>,
    path: &str,
    node: Option<&str>,
    what: &str,
    value: Option<u32>,
    lo: u32,
    hi: u32,
) {
    if let Some(v) = value
        && !(lo..=hi).contains(&v)
    {
        sink.error(
            "IVR019",
            path,
            node,
            format!("{what} must be {lo}–{hi}, got {v}"),
            None,
        );
    }
}

const INPUT_TIMEOUT: (u64, u64) = (1_000, 60_000);
const ANY: (u64, u64) = (0, 24 * 3_600_000);

/// Value ranges (IVR019), duration formats (IVR002), digit clashes (IVR012) and schedule
/// references (IVR014) for every node.
pub(crate) fn check_values(sink: &mut Sink<'_>, flow: &Flow, schedules: Option<&BTreeSet<String>>) {
    let default_inter_digit = flow
        .header
        .as_ref()
        .and_then(|h| {
            h.defaults
                .as_ref()?
                .input
                .as_ref()?
                .inter_digit_timeout
                .clone()
        })
        .unwrap_or_else(|| "3s".into());
    if let Some(header) = &flow.header {
        if let Some(input) = header.defaults.as_ref().and_then(|d| d.input.as_ref()) {
            duration(
                sink,
                "/defaults/input/timeout",
                None,
                "timeout",
                input.timeout.as_ref(),
                INPUT_TIMEOUT,
            );
            duration(
                sink,
                "/defaults/input/inter_digit_timeout",
                None,
                "inter_digit_timeout",
                input.inter_digit_timeout.as_ref(),
                INPUT_TIMEOUT,
            );
            count(
                sink,
                "/defaults/input/max_attempts",
                None,
                "max_attempts",
                input.max_attempts,
                1,
                10,
            );
        }
        if let Some(limits) = &header.limits {
            count(
                sink,
                "/limits/max_steps",
                None,
                "max_steps",
                limits.max_steps,
                1,
                10_000,
            );
            count(
                sink,
                "/limits/max_visits_per_node",
                None,
                "max_visits_per_node",
                limits.max_visits_per_node,
                1,
                100,
            );
            duration(
                sink,
                "/limits/max_ivr_time",
                None,
                "max_ivr_time",
                limits.max_ivr_time.as_ref(),
                (1_000, 4 * 3_600_000),
            );
        }
    }
    for (id, node) in &flow.nodes {
        let p = format!("/nodes/{}", escape_segment(id));
        let n = Some(id.as_str());
        let at = |s: &str| format!("{p}/{s}");
        count(
            sink,
            &at("max_visits"),
            n,
            "max_visits",
            node.max_visits,
            1,
            100,
        );
        match &node.kind {
            NodeKind::Menu(m) => {
                duration(
                    sink,
                    &at("timeout"),
                    n,
                    "timeout",
                    m.timeout.as_ref(),
                    INPUT_TIMEOUT,
                );
                duration(
                    sink,
                    &at("inter_digit_timeout"),
                    n,
                    "inter_digit_timeout",
                    m.inter_digit_timeout.as_ref(),
                    INPUT_TIMEOUT,
                );
                count(
                    sink,
                    &at("max_attempts"),
                    n,
                    "max_attempts",
                    m.max_attempts,
                    1,
                    10,
                );
                let inter = m
                    .inter_digit_timeout
                    .clone()
                    .unwrap_or_else(|| default_inter_digit.clone());
                check_menu_keys(sink, &p, id, m, &inter);
            }
            NodeKind::Gather(g) => {
                duration(
                    sink,
                    &at("timeout"),
                    n,
                    "timeout",
                    g.timeout.as_ref(),
                    INPUT_TIMEOUT,
                );
                duration(
                    sink,
                    &at("inter_digit_timeout"),
                    n,
                    "inter_digit_timeout",
                    g.inter_digit_timeout.as_ref(),
                    INPUT_TIMEOUT,
                );
                count(
                    sink,
                    &at("max_attempts"),
                    n,
                    "max_attempts",
                    g.max_attempts,
                    1,
                    10,
                );
                count(
                    sink,
                    &at("max_digits"),
                    n,
                    "max_digits",
                    Some(g.max_digits),
                    1,
                    32,
                );
                if let Some(min) = g.min_digits
                    && min > g.max_digits
                {
                    sink.error(
                        "IVR019",
                        &at("min_digits"),
                        n,
                        format!("min_digits {min} is above max_digits {}", g.max_digits),
                        None,
                    );
                }
                if let Some(key) = &g.finish_on_key
                    && !matches!(key.as_str(), "#" | "*" | "")
                {
                    sink.error("IVR012", &at("finish_on_key"), n, format!("finish_on_key \"{key}\" must be \"#\" or \"*\": a digit would end input early"), None);
                }
            }
            NodeKind::Schedule(s) => {
                check_schedule_ref(sink, &at("schedule"), n, &s.schedule, schedules)
            }
            NodeKind::Queue(q) => {
                if let Some(ValueOrFrom::Value(v)) = &q.priority {
                    match v.parse::<u32>() {
                        Ok(prio) if (1..=10).contains(&prio) => {}
                        Ok(_) => sink.error(
                            "IVR019",
                            &at("priority"),
                            n,
                            "priority must be 1–10".into(),
                            Some("1 is the most urgent, 5 the default".into()),
                        ),
                        Err(_) => sink.error(
                            "IVR002",
                            &at("priority"),
                            n,
                            format!("priority must be a number 1–10 or {{from: var}}, got '{v}'"),
                            None,
                        ),
                    }
                }
                duration(
                    sink,
                    &at("max_wait"),
                    n,
                    "max_wait",
                    q.max_wait.as_ref(),
                    (1_000, 4 * 3_600_000),
                );
                if let Some(a) = &q.announce {
                    duration(
                        sink,
                        &at("announce/position_every"),
                        n,
                        "announce.position_every",
                        a.position_every.as_ref(),
                        (10_000, 3_600_000),
                    );
                }
                if let Some(c) = &q.callback {
                    duration(
                        sink,
                        &at("callback/offer_after"),
                        n,
                        "callback.offer_after",
                        c.offer_after.as_ref(),
                        ANY,
                    );
                    duration(
                        sink,
                        &at("callback/offer_every"),
                        n,
                        "callback.offer_every",
                        c.offer_every.as_ref(),
                        (10_000, 3_600_000),
                    );
                    duration(
                        sink,
                        &at("callback/retry_delay"),
                        n,
                        "callback.retry_delay",
                        c.retry_delay.as_ref(),
                        (60_000, 24 * 3_600_000),
                    );
                    count(
                        sink,
                        &at("callback/max_attempts"),
                        n,
                        "callback.max_attempts",
                        c.max_attempts,
                        1,
                        10,
                    );
                    if let Some(key) = &c.key {
                        check_key(sink, &at("callback/key"), n, "callback key", key);
                    }
                }
                for key in q.exit_keys.keys() {
                    check_key(
                        sink,
                        &format!("{p}/exit_keys/{}", escape_segment(key)),
                        n,
                        "exit key",
                        key,
                    );
                }
            }
            NodeKind::Callback(c) => {
                count(
                    sink,
                    &at("max_attempts"),
                    n,
                    "max_attempts",
                    c.max_attempts,
                    1,
                    10,
                );
                duration(
                    sink,
                    &at("retry_delay"),
                    n,
                    "retry_delay",
                    c.retry_delay.as_ref(),
                    (60_000, 24 * 3_600_000),
                );
                if let Some(nb) = &c.not_before {
                    check_schedule_ref(
                        sink,
                        &at("not_before/schedule"),
                        n,
                        &nb.schedule,
                        schedules,
                    );
                }
            }
            NodeKind::Transfer(t) => {
                duration(
                    sink,
                    &at("ring_timeout"),
                    n,
                    "ring_timeout",
                    t.ring_timeout.as_ref(),
                    (5_000, 300_000),
                );
            }
            NodeKind::Voicemail(v) => {
                duration(
                    sink,
                    &at("max_length"),
                    n,
                    "max_length",
                    v.max_length.as_ref(),
                    (5_000, 3_600_000),
                );
            }
            NodeKind::Directory(d) => {
                count(
                    sink,
                    &at("min_digits"),
                    n,
                    "min_digits",
                    d.min_digits,
                    1,
                    10,
                );
                count(
                    sink,
                    &at("max_results"),
                    n,
                    "max_results",
                    d.max_results,
                    1,
                    20,
                );
            }
            NodeKind::AiAgent(a) => {
                duration(
                    sink,
                    &at("max_duration"),
                    n,
                    "max_duration",
                    a.max_duration.as_ref(),
                    (10_000, 4 * 3_600_000),
                );
                count(sink, &at("max_turns"), n, "max_turns", a.max_turns, 1, 200);
                if let Some(key) = &a.escape_key {
                    check_key(sink, &at("escape_key"), n, "escape key", key);
                }
            }
            NodeKind::Http(h) => {
                if let Some(ms) = duration(
                    sink,
                    &at("timeout"),
                    n,
                    "timeout",
                    h.timeout.as_ref(),
                    (0, u64::MAX),
                ) && ms > 10_000
                {
                    sink.error(
                        "IVR019",
                        &at("timeout"),
                        n,
                        format!("http timeout {} exceeds the 10s maximum; callers hear silence. Use `filler` and a shorter timeout.", show_ms(ms)),
                        Some("keep lookups under 3s and play a filler after 1500ms".into()),
                    );
                }
                count(sink, &at("retries"), n, "retries", h.retries, 0, 1);
                if h.retries.unwrap_or(0) > 0 && h.method != HttpMethod::Get {
                    sink.error(
                        "IVR019",
                        &at("retries"),
                        n,
                        "retries are allowed only for GET (a retried POST may act twice)".into(),
                        None,
                    );
                }
                if let Some(f) = &h.filler {
                    duration(
                        sink,
                        &at("filler/after"),
                        n,
                        "filler.after",
                        Some(&f.after),
                        (0, 10_000),
                    );
                }
            }
            _ => {}
        }
    }
}

fn check_schedule_ref(
    sink: &mut Sink<'_>,
    path: &str,
    node: Option<&str>,
    name: &str,
    schedules: Option<&BTreeSet<String>>,
) {
    let Some(known) = schedules else {
        sink.error(
            "IVR014",
            path,
            node,
            format!("unknown schedule '{name}': there is no usable schedules.yaml"),
            None,
        );
        return;
    };
    if !known.contains(name) {
        let hint = nearest(name, known.iter().map(String::as_str)).map(str::to_owned);
        sink.error(
            "IVR014",
            path,
            node,
            format!("unknown schedule '{name}'"),
            hint,
        );
    }
}

fn is_key_text(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

fn check_key(sink: &mut Sink<'_>, path: &str, node: Option<&str>, what: &str, key: &str) {
    if key.chars().count() != 1 || !is_key_text(key) {
        sink.error(
            "IVR012",
            path,
            node,
            format!("{what} \"{key}\" must be one of 0-9, * or #"),
            None,
        );
    }
}

/// A direct-dial range `4000-4999` or a single extension `4000`.
fn parse_range(text: &str) -> Option<(u64, u64, usize)> {
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (lo, hi) = (lo.trim(), hi.trim());
    if lo.len() != hi.len()
        || lo.is_empty()
        || !lo.chars().chain(hi.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let (a, b) = (lo.parse().ok()?, hi.parse().ok()?);
    (a <= b).then_some((a, b, lo.len()))
}

/// True when some extension of the range starts with `key` (exact, not by first digit only).
fn range_has_prefix(key: &str, (lo, hi, len): (u64, u64, usize)) -> bool {
    if !key.chars().all(|c| c.is_ascii_digit()) || key.len() > len {
        return false;
    }
    let Ok(k) = key.parse::<u64>() else {
        return false;
    };
    let scale = 10u64.pow((len - key.len()) as u32);
    let (start, end) = (k * scale, (k + 1) * scale - 1);
    // Same-length digit strings, so leading zeros compare correctly as numbers.
    start <= hi && end >= lo
}

fn quoted_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn check_menu_keys(sink: &mut Sink<'_>, path: &str, id: &str, menu: &Menu, inter_digit: &str) {
    let n = Some(id);
    for key in menu.options.keys() {
        if !is_key_text(key) {
            sink.error(
                "IVR012",
                &format!("{path}/options/{}", escape_segment(key)),
                n,
                format!("option \"{key}\" must use only 0-9, * and #"),
                None,
            );
        }
    }
    for a in menu.options.keys() {
        for b in menu.options.keys() {
            if a != b && b.starts_with(a.as_str()) {
                sink.error(
                    "IVR012",
                    &format!("{path}/options/{}", escape_segment(b)),
                    n,
                    format!("option \"{a}\" is a prefix of option \"{b}\": a caller pressing {a} would wait the {inter_digit} inter-digit timeout"),
                    Some("use options of one length".into()),
                );
            }
        }
    }
    if let Some(key) = &menu.directory_key
        && menu.options.contains_key(key)
    {
        sink.error(
            "IVR012",
            &format!("{path}/directory_key"),
            n,
            format!("directory_key \"{key}\" is also a menu option"),
            None,
        );
    }
    let Some(dd) = &menu.direct_dial else { return };
    for (i, text) in dd.extensions.iter().enumerate() {
        let Some(range) = parse_range(text) else {
            sink.error(
                "IVR002",
                &format!("{path}/direct_dial/extensions/{i}"),
                n,
                format!("'{text}' is not an extension range like \"4000-4999\""),
                None,
            );
            continue;
        };
        let clashing: Vec<&str> = menu
            .options
            .keys()
            .map(String::as_str)
            .filter(|k| range_has_prefix(k, range))
            .collect();
        if let Some(first) = clashing.first() {
            let single = clashing.len() == 1;
            let (options, verb) = if single {
                ("option", "is")
            } else {
                ("options", "are")
            };
            let what = match (clashing.iter().all(|k| k.len() == 1), single) {
                (true, true) => "the first digit",
                (true, false) => "first digits",
                (false, true) => "a prefix",
                (false, false) => "prefixes",
            };
            sink.error(
                "IVR012",
                &format!("{path}/direct_dial"),
                n,
                format!(
                    "{options} {} {verb} also {} of direct-dial range {text}. A caller pressing {first} would wait the {inter_digit} inter-digit timeout.",
                    quoted_list(&clashing),
                    what,
                ),
                Some("move the extensions or the options".into()),
            );
        }
    }
}

/// IVR022 (voice-only nodes in a chat-only flow) and IVR025 (`ai_agent` with no path to a
/// human).
pub(crate) fn check_node_rules(sink: &mut Sink<'_>, flow: &Flow) {
    let chat_only = flow
        .header
        .as_ref()
        .is_some_and(|h| !h.channels.is_empty() && !h.channels.contains(&Channel::Voice));
    for (id, node) in &flow.nodes {
        let path = format!("/nodes/{}", escape_segment(id));
        let voice_only = matches!(
            node.kind,
            NodeKind::Menu(_)
                | NodeKind::Gather(_)
                | NodeKind::Transfer(_)
                | NodeKind::Voicemail(_)
                | NodeKind::Directory(_)
        );
        if chat_only && voice_only {
            sink.error(
                "IVR022",
                &format!("{path}/type"),
                Some(id),
                format!(
                    "'{}' nodes need a phone call; this flow runs on chat only",
                    node.kind.type_name()
                ),
                Some("add voice to `channels`, or use a chat-capable node".into()),
            );
        }
        if let NodeKind::Transfer(t) = &node.kind {
            check_numbers(sink, &path, id, t);
        }
        if let NodeKind::AiAgent(a) = &node.kind
            && a.on_handoff.is_none()
            && a.on_error.is_none()
        {
            sink.error(
                "IVR025",
                &path,
                Some(id),
                format!("ai_agent '{id}' has neither on_handoff nor on_error: callers have no path to a human"),
                Some("set on_handoff to a queue or transfer".into()),
            );
        }
    }
}

/// IVR018: `to.number` and a literal `caller_id` must be E.164; `to.sip` a `sip:`/`sips:` URI.
fn check_numbers(sink: &mut Sink<'_>, path: &str, id: &str, t: &Transfer) {
    let e164 = "E.164 is + then 2–15 digits, no spaces, e.g. \"+14155550100\"";
    if let Some(number) = &t.to.number
        && !super::routes::is_e164(number)
    {
        sink.error(
            "IVR018",
            &format!("{path}/to/number"),
            Some(id),
            format!("'{number}' is not an E.164 number"),
            Some(e164.into()),
        );
    }
    if let Some(caller_id) = &t.caller_id
        && !matches!(caller_id.as_str(), "caller" | "did")
        && !super::routes::is_e164(caller_id)
    {
        sink.error(
            "IVR018",
            &format!("{path}/caller_id"),
            Some(id),
            format!("caller_id '{caller_id}' must be caller, did or an E.164 number"),
            Some(e164.into()),
        );
    }
    // The shape only, as flows already published were checked: a stricter rule here would
    // refuse them when the service starts and take the tenant's numbers offline. A URI the
    // call cannot dial (see `is_dialable_sip_uri`) takes the node's `on_failure` instead.
    if let Some(uri) = &t.to.sip {
        let rest = uri
            .strip_prefix("sips:")
            .or_else(|| uri.strip_prefix("sip:"));
        let valid = rest.is_some_and(|r| {
            let host = r
                .rsplit_once('@')
                .map_or(r, |(user, host)| if user.is_empty() { "" } else { host });
            !host.is_empty() && !r.chars().any(char::is_whitespace)
        });
        if !valid {
            sink.error(
                "IVR018",
                &format!("{path}/to/sip"),
                Some(id),
                format!("'{uri}' is not a SIP URI"),
                Some("write sip:user@host".into()),
            );
        }
    }
}
