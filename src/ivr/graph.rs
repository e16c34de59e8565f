//! Graph rules over one flow: IVR005 (start), IVR006 (missing target), IVR009 (unreachable,
//! BFS from `start`), IVR010 (no exit: reverse BFS from terminals, grouped by Tarjan SCC),
//! IVR011 (tight loop of instant nodes) and IVR026 (unhandled failure exits).

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::diag::{Severity, escape_segment, nearest};
use super::flow::Flow;
use super::yaml::Sink;

/// Special targets (§2).
pub const SPECIAL_TARGETS: &[&str] = &["@repeat", "@return", "@hangup"];

/// The directed graph of one flow: explicit exits plus implicit `defaults.on_error` edges.
struct Graph {
    edges: Vec<Vec<usize>>,
    /// Leaves the IVR or the flow: terminal type, `@hangup` or `@return`.
    exit: Vec<bool>,
}

pub(crate) fn check_graph(sink: &mut Sink<'_>, flow: &Flow) {
    let index: HashMap<&str, usize> = flow
        .nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let known: BTreeSet<&str> = flow.node_ids.iter().map(String::as_str).collect();
    let on_error = flow.default_on_error();
    let mut graph = Graph {
        edges: vec![Vec::new(); flow.nodes.len()],
        exit: vec![false; flow.nodes.len()],
    };

    if let Some(target) = on_error
        && !known.contains(target)
    {
        missing(
            sink,
            flow,
            "/defaults/on_error",
            None,
            "defaults.on_error",
            target,
            &known,
        );
    }

    for (i, (id, node)) in flow.nodes.iter().enumerate() {
        graph.exit[i] = node.kind.is_terminal();
        let base = format!("/nodes/{}", escape_segment(id));
        for exit in node.exits() {
            match exit.target {
                "@repeat" => graph.edges[i].push(i),
                "@return" | "@hangup" => graph.exit[i] = true,
                target => match index.get(target) {
                    Some(&j) => graph.edges[i].push(j),
                    None if known.contains(target) => {} // node with a schema error, reported already
                    None => missing(
                        sink,
                        flow,
                        &format!("{base}{}", exit.suffix),
                        Some(id),
                        &exit.label,
                        target,
                        &known,
                    ),
                },
            }
        }
        // IVR026: failure exits left to defaults.on_error.
        for (name, set) in node.failure_exits() {
            if set {
                continue;
            }
            match on_error {
                None => sink.error(
                    "IVR026",
                    &base,
                    Some(id),
                    format!("failure exit '{name}' has no target and the flow has no defaults.on_error"),
                    Some(format!("set {name}, or defaults.on_error")),
                ),
                Some(target) if target == id => sink.error(
                    "IVR026",
                    &base,
                    Some(id),
                    format!("'{id}' is defaults.on_error but leaves failure exit '{name}' unset, so it would fall back to itself"),
                    Some(format!("give '{id}' an explicit {name}")),
                ),
                Some(target) => {
                    if let Some(&j) = index.get(target) {
                        graph.edges[i].push(j);
                    }
                }
            }
        }
    }

    // IVR005.
    let start = flow.header.as_ref().and_then(|h| h.start.as_deref());
    let start_index = match start {
        None => {
            if flow.header.is_some() {
                sink.error(
                    "IVR005",
                    "",
                    None,
                    "`start` is missing: name the node every call begins at".into(),
                    flow.nodes.first().map(|(id, _)| format!("start: {id}")),
                );
            }
            None
        }
        Some(s) => match index.get(s) {
            Some(&i) => Some(i),
            None if known.contains(s) => None,
            None => {
                let hint =
                    nearest(s, known.iter().copied()).map(|n| format!("did you mean '{n}'?"));
                sink.error(
                    "IVR005",
                    "/start",
                    None,
                    format!("start node '{s}' is not a node of flow '{}'", flow.id),
                    hint,
                );
                None
            }
        },
    };

    if let Some(start) = start_index {
        unreachable(sink, flow, &graph, start);
    }
    let sccs = tarjan(&graph.edges);
    no_exit(sink, flow, &graph, &sccs);
    tight_loops(sink, flow, &graph, &sccs);
}

fn missing(
    sink: &mut Sink<'_>,
    flow: &Flow,
    path: &str,
    node: Option<&str>,
    label: &str,
    target: &str,
    known: &BTreeSet<&str>,
) {
    let hint = if target.starts_with('@') {
        Some(format!(
            "special targets are {}",
            SPECIAL_TARGETS.join(", ")
        ))
    } else {
        nearest(target, known.iter().copied()).map(|n| format!("did you mean '{n}'?"))
    };
    sink.error(
        "IVR006",
        path,
        node,
        format!(
            "{label} goes to '{target}', which is not a node of flow '{}'",
            flow.id
        ),
        hint,
    );
}

/// IVR009: one warning per group of connected unreachable nodes.
fn unreachable(sink: &mut Sink<'_>, flow: &Flow, graph: &Graph, start: usize) {
    let n = flow.nodes.len();
    let mut seen = vec![false; n];
    seen[start] = true;
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        for &j in &graph.edges[i] {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    // Group the unreachable nodes by weak connectivity (union-find).
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for i in (0..n).filter(|&i| !seen[i]) {
        for &j in graph.edges[i].iter().filter(|&&j| !seen[j]) {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[a] = b;
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in (0..n).filter(|&i| !seen[i]) {
        let root = find(&mut parent, i);
        match groups.iter_mut().find(|(r, _)| *r == root) {
            Some((_, members)) => members.push(i),
            None => groups.push((root, vec![i])),
        }
    }
    let start_id = &flow.nodes[start].0;
    for (_, members) in groups {
        let names: Vec<&str> = members.iter().map(|&i| flow.nodes[i].0.as_str()).collect();
        let first = names[0];
        let message = if names.len() == 1 {
            format!("node '{first}' is unreachable from '{start_id}'")
        } else {
            format!(
                "{} nodes unreachable from '{start_id}': {}",
                names.len(),
                names.join(", ")
            )
        };
        sink.at(
            "IVR009",
            Severity::Warning,
            &format!("/nodes/{}", escape_segment(first)),
            Some(first),
            message,
            Some("link it from a reachable node, or delete it".into()),
        );
    }
}

/// Strongly connected components (Tarjan), each in discovery order.
pub(crate) fn tarjan(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            s.out.push(component);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

fn is_cycle(graph: &Graph, scc: &[usize]) -> bool {
    scc.len() > 1 || graph.edges[scc[0]].contains(&scc[0])
}

/// A cycle through the SCC's first member (file order), as node names.
fn cycle_text(flow: &Flow, graph: &Graph, scc: &[usize]) -> String {
    let start = scc[0];
    let members: BTreeSet<usize> = scc.iter().copied().collect();
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(v) = queue.pop_front() {
        for &w in &graph.edges[v] {
            if w == start {
                last = Some(v);
                break 'search;
            }
            if members.contains(&w) && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![start];
    let mut v = last.unwrap_or(start);
    let mut back = Vec::new();
    while v != start {
        back.push(v);
        v = prev[&v];
    }
    path.extend(back.into_iter().rev());
    path.push(start);
    path.iter()
        .map(|&i| flow.nodes[i].0.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// IVR010: cycles from which no terminal can be reached.
fn no_exit(sink: &mut Sink<'_>, flow: &Flow, graph: &Graph, sccs: &[Vec<usize>]) {
    let n = flow.nodes.len();
    let mut reverse = vec![Vec::new(); n];
    for (i, targets) in graph.edges.iter().enumerate() {
        for &j in targets {
            reverse[j].push(i);
        }
    }
    let mut ok = graph.exit.clone();
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| ok[i]).collect();
    while let Some(j) = queue.pop_front() {
        for &i in &reverse[j] {
            if !ok[i] {
                ok[i] = true;
                queue.push_back(i);
            }
        }
    }
    for scc in sccs
        .iter()
        .filter(|scc| scc.iter().all(|&i| !ok[i]) && is_cycle(graph, scc))
    {
        let first = flow.nodes[scc[0]].0.as_str();
        sink.error(
            "IVR010",
            &format!("/nodes/{}", escape_segment(first)),
            Some(first),
            format!("no exit from cycle {}: callers stay here until they hang up", cycle_text(flow, graph, scc)),
            Some("give one node of the cycle an exit to a queue, transfer, voicemail or hangup (or on_max_visits)".into()),
        );
    }
}

/// IVR011: cycles made only of instant nodes.
fn tight_loops(sink: &mut Sink<'_>, flow: &Flow, graph: &Graph, sccs: &[Vec<usize>]) {
    for scc in sccs.iter().filter(|scc| {
        is_cycle(graph, scc) && scc.iter().all(|&i| flow.nodes[i].1.kind.is_instant())
    }) {
        let first = flow.nodes[scc[0]].0.as_str();
        sink.error(
            "IVR011",
            &format!("/nodes/{}", escape_segment(first)),
            Some(first),
            format!("tight loop {}: only set/branch/goto/http nodes, so it would spin (or hammer an API) with no caller interaction", cycle_text(flow, graph, scc)),
            Some("put a say, menu or gather in the loop, or break it".into()),
        );
    }
}

/// Writes diagnostics into a flow's sink.
pub(crate) type Reporter<'a> = dyn FnMut(&mut Sink<'_>) + 'a;

/// IVR007 (unknown flow in `goto.flow` / `subflow.flow`) and IVR008 (sub-flow recursion),
/// across all flows. `sinks(flow_id, f)` runs `f` with a sink for that flow's file.
pub(crate) fn check_flow_refs(
    flows: &std::collections::BTreeMap<String, Flow>,
    sinks: &mut dyn FnMut(&str, &mut Reporter<'_>),
) {
    use super::model::NodeKind;
    let ids: Vec<&str> = flows.keys().map(String::as_str).collect();
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut calls = vec![Vec::new(); ids.len()];
    for (i, flow) in flows.values().enumerate() {
        let mut problems = Vec::new();
        for (id, node) in &flow.nodes {
            let (field, target) = match &node.kind {
                NodeKind::Goto(g) => match &g.flow {
                    Some(f) => ("flow", f),
                    None => continue,
                },
                NodeKind::Subflow(s) => ("flow", &s.flow),
                _ => continue,
            };
            match index.get(target.as_str()) {
                Some(&j) => {
                    if matches!(node.kind, NodeKind::Subflow(_)) {
                        calls[i].push(j);
                    }
                }
                None => problems.push((
                    format!("/nodes/{}/{field}", escape_segment(id)),
                    id.clone(),
                    target.clone(),
                )),
            }
        }
        if !problems.is_empty() {
            sinks(&flow.id, &mut |sink| {
                for (path, node, target) in &problems {
                    let hint = nearest(target, ids.iter().copied())
                        .map(|n| format!("did you mean '{n}'?"));
                    sink.error(
                        "IVR007",
                        path,
                        Some(node),
                        format!("unknown flow '{target}'"),
                        hint,
                    );
                }
            });
        }
    }
    for scc in tarjan(&calls) {
        if scc.len() == 1 && !calls[scc[0]].contains(&scc[0]) {
            continue;
        }
        let mut names: Vec<&str> = scc.iter().map(|&i| ids[i]).collect();
        names.push(names[0]);
        let message = format!("sub-flow recursion cycle {}", names.join(" → "));
        sinks(names[0], &mut |sink| {
            sink.error(
                "IVR008",
                "/nodes",
                None,
                message.clone(),
                Some("a sub-flow must not call back into its callers".into()),
            );
        });
    }
}

/// IVR027: nodes that use `@return` but can be reached from `start` without passing through a
/// menu, so no menu "led here" and the caller would be dropped. Only for flows no other flow
/// enters (a caller flow's menu may lead into a sub-flow).
pub(crate) fn check_return_without_menu(sink: &mut Sink<'_>, flow: &Flow) {
    use super::model::NodeKind;
    let index: HashMap<&str, usize> = flow
        .nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let Some(&start) = flow
        .header
        .as_ref()
        .and_then(|h| h.start.as_deref())
        .and_then(|s| index.get(s))
    else {
        return;
    };
    let on_error = flow.default_on_error().and_then(|t| index.get(t).copied());
    // BFS that does not continue past menus: what it reaches has no parent menu.
    let mut seen = vec![false; flow.nodes.len()];
    seen[start] = true;
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        let node = &flow.nodes[i].1;
        if matches!(node.kind, NodeKind::Menu(_)) {
            continue;
        }
        let explicit = node
            .exits()
            .into_iter()
            .filter_map(|e| index.get(e.target).copied());
        let implicit = node
            .failure_exits()
            .into_iter()
            .filter(|(_, set)| !set)
            .filter_map(|_| on_error);
        for j in explicit.chain(implicit).collect::<Vec<_>>() {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    for (i, (id, node)) in flow.nodes.iter().enumerate() {
        if !seen[i] {
            continue;
        }
        for exit in node.exits().iter().filter(|e| e.target == "@return") {
            sink.at(
                "IVR027",
                Severity::Warning,
                &format!("/nodes/{}{}", escape_segment(id), exit.suffix),
                Some(id),
                format!(
                    "{} goes to \"@return\", but '{id}' is reachable from '{}' without passing through a menu: there is no menu to return to",
                    exit.label, flow.nodes[start].0
                ),
                Some("name the menu to go back to instead".into()),
            );
        }
    }
}
