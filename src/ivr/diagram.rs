//! `flows graph`: a picture of one flow that an admin can read. One box per node (id, type and
//! a short summary), one arrow per exit labelled with the exit, dashed arrows for failure exits
//! that fall back to `defaults.on_error`, small circles for `@hangup`/`@return`/`@repeat`, and
//! boxes that link to the picture of another flow for `goto … flow:` and `subflow`.
//!
//! The edges come from [`FlowNode::exits`], the same list the validator's graph rules walk, so
//! the picture cannot show a path the validator does not know about.
//!
//! Output: Graphviz DOT and Mermaid as text, and SVG laid out in-process by `layout-rs` (a
//! layered, Sugiyama-style layout: cycle removal, ranking, crossing reduction, placement), so
//! no Graphviz installation is needed.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::flow::{Exit, Flow};
use super::model::*;

/// Output formats of `flows graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagramFormat {
    /// A laid-out picture.
    Svg,
    /// Graphviz source (`dot -Tpng`).
    Dot,
    /// Mermaid flowchart source (GitHub and GitLab render it in Markdown).
    Mermaid,
}

impl DiagramFormat {
    /// The format a file name asks for, by extension.
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "svg" => Some(DiagramFormat::Svg),
            "dot" | "gv" => Some(DiagramFormat::Dot),
            "mmd" | "mermaid" => Some(DiagramFormat::Mermaid),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Node {
        terminal: bool,
        start: bool,
    },
    /// `@hangup`, `@return`, `@repeat`.
    Special,
    /// Another flow, with the relative link to its picture.
    Flow {
        link: String,
    },
    /// An exit names a node that does not exist (IVR006); drawn so the mistake is visible.
    Missing,
}

#[derive(Debug, Clone)]
struct Shape {
    /// Lines of the label: id, type, summary.
    lines: Vec<String>,
    kind: Kind,
    /// The node id, special target or flow id.
    name: String,
}

impl Shape {
    /// The `id` attribute in SVG and DOT, unique per picture so the editor can find a node.
    fn html_id(&self, index: usize) -> String {
        match self.kind {
            Kind::Node { .. } => format!("node-{}", self.name),
            Kind::Special => format!("special-{index}"),
            Kind::Flow { .. } => format!("flow-{}", self.name),
            Kind::Missing => format!("missing-{}", self.name),
        }
    }
}

#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    labels: Vec<String>,
    /// Falls back to `defaults.on_error`.
    implicit: bool,
}

/// The picture's content, independent of the output format.
#[derive(Debug, Clone)]
pub struct Diagram {
    flow: String,
    shapes: Vec<Shape>,
    edges: Vec<Edge>,
}

const SUMMARY_WORDS: usize = 6;
const SUMMARY_CHARS: usize = 40;

/// Builds the diagram of `flow`.
pub fn diagram(flow: &Flow) -> Diagram {
    let mut d = Diagram {
        flow: flow.id.clone(),
        shapes: Vec::new(),
        edges: Vec::new(),
    };
    let start = flow.header.as_ref().and_then(|h| h.start.as_deref());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (id, node) in &flow.nodes {
        let mut lines = vec![id.clone(), node.kind.type_name().to_owned()];
        let summary = summary(&node.kind);
        if !summary.is_empty() {
            lines.push(summary);
        }
        index.insert(id.clone(), d.shapes.len());
        d.shapes.push(Shape {
            lines,
            kind: Kind::Node {
                terminal: node.kind.is_terminal(),
                start: start == Some(id.as_str()),
            },
            name: id.clone(),
        });
    }
    let depth = flow.id.matches('/').count();
    for (i, (id, node)) in flow.nodes.iter().enumerate() {
        for exit in node.exits() {
            let to = d.target(&mut index, id, exit.target);
            d.edge(i, to, exit_label(&node.kind, &exit), false);
        }
        if let Some(default) = flow.default_on_error()
            && default != id
        {
            for (name, set) in node.failure_exits() {
                if !set {
                    let to = d.target(&mut index, id, default);
                    d.edge(i, to, format!("{name} (default)"), true);
                }
            }
        }
        let other_flow = match &node.kind {
            NodeKind::Goto(g) => g.flow.as_deref().map(|f| (f, "goto")),
            NodeKind::Subflow(s) => Some((s.flow.as_str(), "call")),
            _ => None,
        };
        if let Some((target, label)) = other_flow {
            let key = format!("flow:{target}");
            let to = *index.entry(key).or_insert_with(|| {
                d.shapes.push(Shape {
                    lines: vec![format!("flow {target}")],
                    kind: Kind::Flow {
                        link: format!("{}{target}.svg", "../".repeat(depth)),
                    },
                    name: target.to_owned(),
                });
                d.shapes.len() - 1
            });
            d.edge(i, to, label.to_owned(), false);
        }
    }
    d
}

impl Diagram {
    /// Index of the shape an exit goes to, creating special and missing shapes on demand.
    /// Special targets get one small circle per source node: a shared `@hangup` would pull
    /// arrows from all over the picture into one point.
    fn target(&mut self, index: &mut HashMap<String, usize>, from: &str, target: &str) -> usize {
        let (key, lines, kind) = if target.starts_with('@') {
            (
                format!("{from}{target}"),
                vec![target.trim_start_matches('@').to_owned()],
                Kind::Special,
            )
        } else if let Some(&i) = index.get(target) {
            return i;
        } else {
            (
                format!("?{target}"),
                vec![format!("missing: {target}")],
                Kind::Missing,
            )
        };
        *index.entry(key).or_insert_with(|| {
            self.shapes.push(Shape {
                lines,
                kind,
                name: target.to_owned(),
            });
            self.shapes.len() - 1
        })
    }

    /// Exits of one node to the same place and of the same style share an arrow.
    fn edge(&mut self, from: usize, to: usize, label: String, implicit: bool) {
        if let Some(e) = self
            .edges
            .iter_mut()
            .find(|e| e.from == from && e.to == to && e.implicit == implicit)
        {
            e.labels.push(label);
        } else {
            self.edges.push(Edge {
                from,
                to,
                labels: vec![label],
                implicit,
            });
        }
    }

    /// The diagram in `format`.
    pub fn render(&self, format: DiagramFormat) -> Result<String, DiagramError> {
        match format {
            DiagramFormat::Dot => Ok(self.to_dot()),
            DiagramFormat::Mermaid => Ok(self.to_mermaid()),
            DiagramFormat::Svg => self.to_svg(),
        }
    }

    /// Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {} {{", dot_string(&self.flow));
        out.push_str("  rankdir=TB;\n");
        out.push_str("  node [shape=box, style=\"filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];\n");
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        for (i, shape) in self.shapes.iter().enumerate() {
            let label = shape
                .lines
                .iter()
                .map(|l| dot_escape(l))
                .collect::<Vec<_>>()
                .join("\\n");
            let style = match &shape.kind {
                Kind::Node { terminal, start } => {
                    let mut s = String::new();
                    if *terminal {
                        s.push_str(
                            ", style=\"rounded,filled\", fillcolor=\"#d9f2d9\", peripheries=2",
                        );
                    }
                    if *start {
                        s.push_str(", penwidth=3");
                    }
                    s
                }
                Kind::Special => {
                    ", shape=circle, fillcolor=\"#eeeeee\", fontsize=8, width=0.3".to_owned()
                }
                Kind::Flow { link } => format!(
                    ", shape=component, fillcolor=\"#e3f2fd\", URL={}",
                    dot_string(link)
                ),
                Kind::Missing => {
                    ", color=\"#c62828\", fontcolor=\"#c62828\", fillcolor=\"#ffebee\"".to_owned()
                }
            };
            let _ = writeln!(
                out,
                "  n{i} [id={}, label=\"{label}\"{style}];",
                dot_string(&shape.html_id(i))
            );
        }
        for e in &self.edges {
            let label = dot_escape(&edge_label(e));
            let style = if e.implicit {
                ", style=dashed, color=\"#757575\", fontcolor=\"#757575\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  n{} -> n{} [label=\"{label}\"{style}];",
                e.from, e.to
            );
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        let mut classes: [(&str, Vec<String>); 4] = [
            ("terminal", Vec::new()),
            ("start", Vec::new()),
            ("special", Vec::new()),
            ("missing", Vec::new()),
        ];
        for (i, shape) in self.shapes.iter().enumerate() {
            let label = shape
                .lines
                .iter()
                .map(|l| mermaid_escape(l))
                .collect::<Vec<_>>()
                .join("<br/>");
            let (open, close) = match &shape.kind {
                Kind::Node { terminal: true, .. } => ("([\"", "\"])"),
                Kind::Node { .. } | Kind::Missing => ("[\"", "\"]"),
                Kind::Special => ("((\"", "\"))"),
                Kind::Flow { .. } => ("[[\"", "\"]]"),
            };
            let _ = writeln!(out, "  n{i}{open}{label}{close}");
            match &shape.kind {
                Kind::Node { terminal, start } => {
                    if *terminal {
                        classes[0].1.push(format!("n{i}"));
                    }
                    if *start {
                        classes[1].1.push(format!("n{i}"));
                    }
                }
                Kind::Special => classes[2].1.push(format!("n{i}")),
                Kind::Missing => classes[3].1.push(format!("n{i}")),
                Kind::Flow { link } => {
                    let _ = writeln!(out, "  click n{i} href \"{}\"", mermaid_escape(link));
                }
            }
        }
        for e in &self.edges {
            let arrow = if e.implicit { "-.->" } else { "-->" };
            let _ = writeln!(
                out,
                "  n{} {arrow}|\"{}\"| n{}",
                e.from,
                mermaid_escape(&edge_label(e)),
                e.to
            );
        }
        out.push_str("  classDef terminal fill:#d9f2d9,stroke:#2e7d32;\n");
        out.push_str("  classDef start stroke-width:3px;\n");
        out.push_str("  classDef special fill:#eeeeee,font-size:10px;\n");
        out.push_str("  classDef missing fill:#ffebee,stroke:#c62828,color:#c62828;\n");
        for (class, members) in &classes {
            if !members.is_empty() {
                let _ = writeln!(out, "  class {} {class}", members.join(","));
            }
        }
        out
    }

    /// SVG, laid out by `layout-rs`. Its writer escapes every text it draws; the attributes we
    /// add (`id`, links) are escaped here.
    pub fn to_svg(&self) -> Result<String, DiagramError> {
        use layout::backends::svg::SVGWriter;
        use layout::core::base::Orientation;
        use layout::core::color::Color;
        use layout::core::style::{LineStyleKind, StyleAttr};
        use layout::std_shapes::render::get_shape_size;
        use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
        use layout::topo::layout::VisualGraph;

        let look = |line: &str, width: usize, fill: &str, rounded: usize, font: usize| {
            StyleAttr::new(
                Color::fast(line),
                width,
                Some(Color::fast(fill)),
                rounded,
                font,
            )
        };
        let mut graph = VisualGraph::new(Orientation::TopToBottom);
        let mut handles = Vec::with_capacity(self.shapes.len());
        for (i, shape) in self.shapes.iter().enumerate() {
            let text = shape.lines.join("\n");
            let (kind, style) = match &shape.kind {
                Kind::Node { terminal, start } => {
                    let width = if *start { 3 } else { 1 };
                    let style = if *terminal {
                        look("#2e7d32", width + 1, "#d9f2d9", 12, 13)
                    } else {
                        look("#37474f", width, "#ffffff", 0, 13)
                    };
                    (ShapeKind::new_box(&text), style)
                }
                Kind::Special => (
                    ShapeKind::new_circle(&text),
                    look("#616161", 1, "#eeeeee", 0, 10),
                ),
                Kind::Flow { .. } => (
                    ShapeKind::new_box(&text),
                    look("#1565c0", 2, "#e3f2fd", 4, 13),
                ),
                Kind::Missing => (
                    ShapeKind::new_box(&text),
                    look("#c62828", 2, "#ffebee", 0, 13),
                ),
            };
            let size = get_shape_size(Orientation::TopToBottom, &kind, style.font_size, false);
            let mut properties = format!("id=\"{}\"", xml_escape(&shape.html_id(i)));
            if let Kind::Flow { .. } = shape.kind {
                // Marked so the group can be wrapped in a link after rendering (below).
                properties.push_str(&format!(" data-link=\"{i}\""));
            }
            let element = Element::create_with_properties(
                kind,
                style,
                Orientation::LeftToRight,
                size,
                properties,
            );
            handles.push(graph.add_node(element));
        }
        for e in &self.edges {
            let (style, line) = if e.implicit {
                (look("#757575", 1, "#ffffff", 0, 10), LineStyleKind::Dashed)
            } else {
                (look("#37474f", 1, "#ffffff", 0, 10), LineStyleKind::Normal)
            };
            let arrow = Arrow::new(
                LineEndKind::None,
                LineEndKind::Arrow,
                line,
                &edge_label(e),
                &style,
                &None,
                &None,
            );
            graph.add_edge(arrow, handles[e.from], handles[e.to]);
        }
        let mut writer = SVGWriter::new();
        // layout-rs asserts on shapes it cannot place; a bad picture must not take the CLI down
        // with a backtrace.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            graph.do_it(false, false, false, &mut writer);
        }))
        .map_err(|_| DiagramError::Layout(self.flow.clone()))?;
        let mut svg = writer.finalize().replace(
            "font-family: Times, serif;",
            "font-family: Helvetica, Arial, sans-serif;",
        );
        for (i, shape) in self.shapes.iter().enumerate() {
            let Kind::Flow { link } = &shape.kind else {
                continue;
            };
            let marker = format!(" data-link=\"{i}\">");
            if let Some(at) = svg.find(&marker) {
                let group_start = svg[..at].rfind("<g ").unwrap_or(at);
                if let Some(close) = svg[at..].find("</g>") {
                    let close = at + close + "</g>".len();
                    let group = svg[group_start..close].replacen(&marker, ">", 1);
                    let linked = format!("<a href=\"{}\">{group}</a>", xml_escape(link));
                    svg.replace_range(group_start..close, &linked);
                }
            }
        }
        Ok(svg)
    }
}

/// Errors of [`Diagram::render`].
#[derive(Debug, thiserror::Error)]
pub enum DiagramError {
    /// The SVG layout engine gave up.
    #[error("could not lay out flow '{0}' as SVG; try --format dot or mermaid")]
    Layout(String),
}

fn edge_label(e: &Edge) -> String {
    e.labels.join(", ")
}

/// What an arrow says: the option key, the status, or the exit's name.
fn exit_label(kind: &NodeKind, exit: &Exit<'_>) -> String {
    let parts: Vec<String> = exit
        .suffix
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["options", key] | ["on_status", key] => (*key).to_owned(),
        ["exit_keys", key] => format!("key {key}"),
        ["returns", value] => format!("returns {value}"),
        ["on_handoff", reason] => format!("handoff {reason}"),
        ["callback", "next"] => "callback".to_owned(),
        ["cases", i, "goto"] => match (kind, i.parse::<usize>()) {
            (NodeKind::Branch(b), Ok(i)) => b
                .cases
                .get(i)
                .map(|c| format!("if {}", shorten(&c.when)))
                .unwrap_or_else(|| format!("case {i}")),
            _ => format!("case {i}"),
        },
        _ => parts.join("."),
    }
}

/// A few words that tell nodes of one type apart.
fn summary(kind: &NodeKind) -> String {
    match kind {
        NodeKind::Say(n) => prompt_words(&n.prompt),
        NodeKind::Menu(n) => prompt_words(&n.prompt),
        NodeKind::Gather(n) => format!("into {}", n.into),
        NodeKind::Schedule(n) => n.schedule.clone(),
        NodeKind::Branch(n) => match n.cases.len() {
            1 => "1 case".to_owned(),
            c => format!("{c} cases"),
        },
        NodeKind::Set(n) => shorten(&n.vars.keys().cloned().collect::<Vec<_>>().join(", ")),
        NodeKind::SetLanguage(n) => n.language.clone(),
        NodeKind::Queue(n) => format!("queue {}", n.queue),
        NodeKind::Callback(n) => format!("queue {}", n.queue),
        NodeKind::Transfer(n) => match (&n.to.extension, &n.to.number, &n.to.sip) {
            (Some(e), _, _) => format!("extension {e}"),
            (_, Some(num), _) => format!("number {num}"),
            (_, _, Some(sip)) => shorten(sip),
            _ => String::new(),
        },
        NodeKind::Voicemail(n) => format!("mailbox {}", n.mailbox),
        NodeKind::Directory(n) => n.directory.clone(),
        NodeKind::AiAgent(n) => format!("agent {}", n.agent),
        NodeKind::Http(n) => {
            let method = serde_json::to_value(n.method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let host = url::Url::parse(&n.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| shorten(&n.url));
            format!("{method} {host}")
        }
        NodeKind::Goto(n) => match (&n.target, &n.flow) {
            (Some(t), _) => format!("to {t}"),
            (_, Some(f)) => format!("flow {f}"),
            _ => String::new(),
        },
        NodeKind::Subflow(n) => format!("flow {}", n.flow),
        NodeKind::Return(n) => format!("value {}", n.value),
        NodeKind::Hangup(n) => n.prompt.as_ref().map(prompt_words).unwrap_or_default(),
    }
}

/// The first words of what a prompt plays.
fn prompt_words(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Text(text) => format!("\"{}\"", shorten(text)),
        Prompt::List(items) => items.first().map(prompt_words).unwrap_or_default(),
        Prompt::Languages(map) => map.values().next().map(prompt_words).unwrap_or_default(),
        Prompt::Part(p) => {
            if let Some(text) = &p.text {
                format!("\"{}\"", shorten(text))
            } else if let Some(ssml) = &p.ssml {
                format!("\"{}\"", shorten(&strip_tags(ssml)))
            } else if let Some(sound) = &p.sound {
                format!("sound {sound}")
            } else if let Some(digits) = &p.digits {
                format!("digits {digits}")
            } else if let Some(number) = &p.number {
                format!("number {number}")
            } else if let Some(pause) = &p.pause {
                format!("pause {pause}")
            } else {
                String::new()
            }
        }
    }
}

fn strip_tags(ssml: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in ssml.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// At most [`SUMMARY_WORDS`] words and [`SUMMARY_CHARS`] characters, with `…` when cut.
fn shorten(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words
        .iter()
        .take(SUMMARY_WORDS)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut cut = words.len() > SUMMARY_WORDS;
    if out.chars().count() > SUMMARY_CHARS {
        out = out.chars().take(SUMMARY_CHARS).collect();
        cut = true;
    }
    if cut {
        out.push('…');
    }
    out
}

/// Text inside a DOT double-quoted string: backslashes doubled (so `\N`, `\l` in a prompt stay
/// literal), quotes escaped, newlines folded to spaces.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn dot_string(text: &str) -> String {
    format!("\"{}\"", dot_escape(text))
}

/// Text inside a Mermaid quoted label, as entity codes: quotes would end the label, `<`/`>`/`&`
/// would be read as HTML, `#` starts an entity, `|` ends an edge label.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::{SourceFile, Sources, decode_flows};

    const FLOW: &str = include_str!("../../ivr-flows/flows/support-main.yaml");

    fn flow_of(text: &str) -> Flow {
        let sources = Sources {
            flows: vec![SourceFile {
                path: "ivr-flows/flows/support-main.yaml".into(),
                text: text.into(),
            }],
            ..Sources::default()
        };
        decode_flows(&sources).remove("support-main").unwrap()
    }

    /// Every node id and every exit label of Example 1.
    fn expected(flow: &Flow) -> (Vec<String>, Vec<String>) {
        let ids = flow.nodes.iter().map(|(id, _)| id.clone()).collect();
        let mut labels = Vec::new();
        for (_, node) in &flow.nodes {
            for exit in node.exits() {
                labels.push(exit_label(&node.kind, &exit));
            }
        }
        (ids, labels)
    }

    #[test]
    fn dot_and_mermaid_of_example_1_show_every_node_and_exit() {
        let flow = flow_of(FLOW);
        let d = diagram(&flow);
        let (ids, labels) = expected(&flow);
        let dot = d.to_dot();
        let mermaid = d.to_mermaid();
        for id in &ids {
            assert!(dot.contains(&format!("label=\"{id}\\n")), "dot lacks {id}");
            assert!(
                mermaid.contains(&format!("[\"{id}<br/>")),
                "mermaid lacks {id}"
            );
        }
        for label in &labels {
            let dot_label = dot_escape(label);
            assert!(
                dot.lines()
                    .any(|l| l.contains("->") && l.contains(&dot_label)),
                "dot lacks exit {label}"
            );
            let mermaid_label = mermaid_escape(label);
            assert!(
                mermaid
                    .lines()
                    .any(|l| l.contains("-->") && l.contains(&mermaid_label)),
                "mermaid lacks exit {label}"
            );
        }
        // Spot checks of the picture's vocabulary.
        assert!(
            dot.contains(
                "label=\"main_menu\\nmenu\\n\\\"For technical support, press 1. For…\\\"\""
            ),
            "{dot}"
        );
        assert!(labels.contains(&"1".to_owned()) && labels.contains(&"closed".to_owned()));
        assert!(labels.contains(&"on_timeout".to_owned()));
        // q_billing leaves on_full to defaults.on_error: a dashed arrow to the operator.
        let q_billing = d.shapes.iter().position(|s| s.name == "q_billing").unwrap();
        let operator = d.shapes.iter().position(|s| s.name == "operator").unwrap();
        assert!(
            dot.contains(&format!(
                "n{q_billing} -> n{operator} [label=\"on_full (default)\", style=dashed"
            )),
            "{dot}"
        );
        assert!(mermaid.contains(&format!(
            "n{q_billing} -.->|\"on_full (default)\"| n{operator}"
        )));
        // `*: "@repeat"` and `9: "@return"` are small circles of their own.
        assert!(mermaid.contains("((\"repeat\"))") && mermaid.contains("((\"return\"))"));
        assert!(dot.contains("label=\"hangup\", shape=circle"));
        // Terminals look different.
        assert!(dot.contains("label=\"goodbye\\nhangup\\n\\\"Thanks for calling Acme. Goodbye.\\\"\", style=\"rounded,filled\""));
    }

    #[test]
    fn svg_of_example_1_is_xml_with_every_node() {
        let flow = flow_of(FLOW);
        let svg = diagram(&flow).to_svg().unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let text: String = doc
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("\n");
        for (id, _) in &flow.nodes {
            assert!(text.lines().any(|l| l == id), "svg lacks {id}");
            assert!(
                doc.descendants()
                    .any(|n| n.attribute("id") == Some(&format!("node-{id}"))),
                "svg lacks id node-{id}"
            );
        }
        assert!(text.contains("on_full (default)"));
    }

    #[test]
    fn special_characters_are_escaped_in_every_format() {
        let text = FLOW.replace(
            "prompt: \"We're closed today for the holiday.\"",
            "prompt: \"Closed <b>today</b> & \\\"tomorrow\\\" #1 \\\\N\"",
        );
        assert_ne!(text, FLOW);
        let mut flow = flow_of(&text);
        // A sub-flow call with a hostile name shows up as an escaped link.
        flow.nodes.push((
            "helper".into(),
            FlowNode {
                max_visits: None,
                on_max_visits: None,
                kind: NodeKind::Subflow(Subflow {
                    flow: "common/a\"b<c>".into(),
                    params: Default::default(),
                    returns: [("done".to_owned(), "goodbye".to_owned())].into(),
                }),
            },
        ));
        let d = diagram(&flow);
        let summary = "\"Closed <b>today</b> & \"tomorrow\" #1 \\N\"";

        let svg = d.to_svg().unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.contains(&summary), "{texts:#?}");
        assert!(svg.contains(
            "&quot;Closed &lt;b&gt;today&lt;/b&gt; &amp; &quot;tomorrow&quot; #1 \\N&quot;"
        ));
        let link = doc
            .descendants()
            .find(|n| n.tag_name().name() == "a")
            .and_then(|n| n.attribute("href"));
        assert_eq!(link, Some("common/a\"b<c>.svg"));

        let dot = d.to_dot();
        assert!(
            dot.contains(&format!("\\n{}\"", dot_escape(summary))),
            "{dot}"
        );
        assert!(dot.contains("\\\"Closed <b>today</b> & \\\"tomorrow\\\" #1 \\\\N\\\""));
        assert!(dot.contains("URL=\"common/a\\\"b<c>.svg\""));

        let mermaid = d.to_mermaid();
        assert!(
            mermaid.contains("<br/>#quot;Closed #lt;b#gt;today#lt;/b#gt; #amp; #quot;tomorrow#quot; #35;1 \\N#quot;\"]"),
            "{mermaid}"
        );
        assert!(!mermaid.contains("<b>"));
        assert!(mermaid.contains("href \"common/a#quot;b#lt;c#gt;.svg\""));
    }

    #[test]
    fn missing_targets_and_other_flows_are_drawn() {
        let text = FLOW.replace("\"2\": billing_account", "\"2\": biling_account");
        let d = diagram(&flow_of(&text));
        let dot = d.to_dot();
        assert!(dot.contains("label=\"missing: biling_account\""), "{dot}");
        assert_eq!(
            DiagramFormat::from_extension(std::path::Path::new("x/y.mmd")),
            Some(DiagramFormat::Mermaid)
        );
    }
}
