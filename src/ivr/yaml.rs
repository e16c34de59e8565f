//! YAML with provenance: parsing (IVR001, IVR003), span lookup by JSON pointer, the YAML 1.1
//! pitfalls (IVR002) and turning serde errors into diagnostics (IVR002).

use marked_yaml::{LoadError, LoaderOptions, Marker, Node};
use serde::de::DeserializeOwned;

use super::diag::{Diagnostic, Severity, Span, escape_segment};

/// Collects diagnostics for one file.
pub(crate) struct Sink<'a> {
    pub(crate) file: &'a str,
    pub(crate) root: Option<&'a Node>,
    pub(crate) out: &'a mut Vec<Diagnostic>,
}

impl Sink<'_> {
    /// Reports at `path`, taking the span from the document.
    pub(crate) fn at(
        &mut self,
        code: &'static str,
        severity: Severity,
        path: &str,
        node: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        let span = self.root.and_then(|root| span_at(root, path));
        self.push(code, severity, span, path, node, message, hint);
    }

    /// Reports with an explicit span.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        span: Option<Span>,
        path: &str,
        node: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        self.out.push(Diagnostic {
            code,
            severity,
            file: self.file.to_owned(),
            span,
            path: path.to_owned(),
            node: node.map(str::to_owned),
            message,
            hint,
        });
    }

    /// Shorthand for an error at `path`.
    pub(crate) fn error(
        &mut self,
        code: &'static str,
        path: &str,
        node: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        self.at(code, Severity::Error, path, node, message, hint);
    }
}

fn point(marker: &Marker) -> Span {
    Span {
        line: marker.line(),
        column: marker.column(),
        end_line: marker.line(),
        end_column: marker.column(),
    }
}

/// The span of a node; scalars only carry a start, so their end is computed from the text.
pub(crate) fn node_span(node: &Node) -> Option<Span> {
    let span = node.span();
    let mut out = point(span.start()?);
    match (node, span.end()) {
        (Node::Scalar(s), _) => {
            let quotes = if s.may_coerce() { 0 } else { 2 };
            out.end_column = out.column + s.as_str().chars().count() + quotes;
        }
        (_, Some(end)) => {
            out.end_line = end.line();
            out.end_column = end.column();
        }
        _ => {}
    }
    Some(out)
}

/// Splits a JSON pointer into its unescaped segments.
pub(crate) fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The node at a JSON pointer, if the document has one there.
pub(crate) fn node_at<'a>(root: &'a Node, pointer: &str) -> Option<&'a Node> {
    let mut node = root;
    for segment in segments(pointer) {
        node = match node {
            Node::Mapping(map) => map.get_node(segment.as_str())?,
            Node::Sequence(seq) => seq.get(segment.parse::<usize>().ok()?)?,
            Node::Scalar(_) => return None,
        };
    }
    Some(node)
}

/// The span of the value at `pointer`, or of the deepest existing parent.
pub(crate) fn span_at(root: &Node, pointer: &str) -> Option<Span> {
    let mut parts = segments(pointer);
    loop {
        let joined: String = parts
            .iter()
            .map(|s| format!("/{}", escape_segment(s)))
            .collect();
        if let Some(node) = node_at(root, &joined) {
            return node_span(node);
        }
        parts.pop()?;
    }
}

/// Parses one file. On failure reports IVR001 (syntax) or IVR003 (duplicate key).
pub(crate) fn parse(file: &str, text: &str, out: &mut Vec<Diagnostic>) -> Option<Node> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true)
        .toplevel_mapping();
    let mut sink = Sink {
        file,
        root: None,
        out,
    };
    match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(node) => Some(node),
        Err(LoadError::DuplicateKey(dup)) => {
            let key = dup.key.as_str();
            let first = dup
                .prev_key
                .span()
                .start()
                .map(Marker::line)
                .unwrap_or_default();
            let what = if key
                .chars()
                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                "menu option or key"
            } else {
                "key"
            };
            let span = dup.key.span().start().map(|m| {
                let mut s = point(m);
                s.end_column =
                    s.column + key.chars().count() + usize::from(!dup.key.may_coerce()) * 2;
                s
            });
            sink.push(
                "IVR003",
                Severity::Error,
                span,
                "",
                None,
                format!("duplicate {what} \"{key}\" (first defined at line {first})"),
                Some(
                    "remove one of the two entries; YAML would silently keep only the last".into(),
                ),
            );
            None
        }
        Err(LoadError::ScanError(marker, err)) => {
            sink.push(
                "IVR001",
                Severity::Error,
                Some(point(&marker)),
                "",
                None,
                format!("YAML syntax error: {}", err.info()),
                quote_hint(err.info()),
            );
            None
        }
        Err(other) => {
            let marker = match &other {
                LoadError::TopLevelMustBeMapping(m)
                | LoadError::TopLevelMustBeSequence(m)
                | LoadError::UnexpectedAnchor(m)
                | LoadError::MappingKeyMustBeScalar(m)
                | LoadError::UnexpectedTag(m)
                | LoadError::ScanError(m, _) => Some(point(m)),
                LoadError::DuplicateKey(_) => None,
            };
            sink.push(
                "IVR001",
                Severity::Error,
                marker,
                "",
                None,
                format!("YAML error: {other}"),
                None,
            );
            None
        }
    }
}

fn quote_hint(info: &str) -> Option<String> {
    (info.contains("alias") || info.contains("anchor"))
        .then(|| "quote \"*\", \"#\" and \"@…\" keys and values".to_owned())
}

/// Reports plain scalars that YAML 1.1 parsers (and many tools) read as something else than
/// the string the admin meant: `+14155550100` (an integer), `09:00` (540), `no` (false).
pub(crate) fn pitfalls(sink: &mut Sink<'_>, node: &Node, pointer: &str) {
    match node {
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                pitfalls(
                    sink,
                    value,
                    &format!("{pointer}/{}", escape_segment(key.as_str())),
                );
            }
        }
        Node::Sequence(seq) => {
            for (i, value) in seq.iter().enumerate() {
                pitfalls(sink, value, &format!("{pointer}/{i}"));
            }
        }
        Node::Scalar(s) if s.may_coerce() => {
            let text = s.as_str();
            let field = field_name(pointer);
            let problem = if is_phone_like(text) {
                Some((
                    format!("{field} must be a string; YAML read an integer. Quote E.164 numbers."),
                    format!("write \"{text}\""),
                ))
            } else if is_sexagesimal(text) {
                Some((
                    format!(
                        "{field}: YAML 1.1 reads the unquoted time {text} as a base-60 integer. Quote times."
                    ),
                    format!("write \"{text}\""),
                ))
            } else if matches!(
                text.to_ascii_lowercase().as_str(),
                "yes" | "no" | "on" | "off"
            ) {
                Some((
                    format!(
                        "{field}: YAML 1.1 reads the unquoted word `{text}` as a boolean. Quote it, or write true/false."
                    ),
                    format!("write \"{text}\" for the word, or true/false for a flag"),
                ))
            } else {
                None
            };
            if let Some((message, hint)) = problem {
                let node_id = node_of(pointer);
                sink.push(
                    "IVR002",
                    Severity::Error,
                    node_span(node),
                    pointer,
                    node_id.as_deref(),
                    message,
                    Some(hint),
                );
            }
        }
        Node::Scalar(_) => {}
    }
}

fn is_phone_like(text: &str) -> bool {
    text.len() > 4 && text.starts_with('+') && text[1..].chars().all(|c| c.is_ascii_digit())
}

fn is_sexagesimal(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// `match.did` for `/routes/0/match/did`: the path after the last list index.
pub(crate) fn field_name(pointer: &str) -> String {
    let parts = segments(pointer);
    match parts.iter().rposition(|p| p.parse::<usize>().is_ok()) {
        Some(i) if i + 1 < parts.len() => parts[i + 1..].join("."),
        _ => parts.last().cloned().unwrap_or_default(),
    }
}

/// The node id for pointers under `/nodes/<id>`.
pub(crate) fn node_of(pointer: &str) -> Option<String> {
    let parts = segments(pointer);
    (parts.first().map(String::as_str) == Some("nodes"))
        .then(|| parts.get(1).cloned())
        .flatten()
}

/// Deserializes `node` into `T`; on failure reports IVR002 at the serde error's place.
pub(crate) fn decode<T: DeserializeOwned>(
    sink: &mut Sink<'_>,
    node: &Node,
    pointer: &str,
) -> Option<T> {
    match marked_yaml::from_node::<T>(node) {
        Ok(value) => Some(value),
        Err(err) => {
            let sub = err.path().map(serde_path_to_pointer).unwrap_or_default();
            let path = format!("{pointer}{sub}");
            let span = err
                .start_mark()
                .map(|m| point(&m))
                .or_else(|| node_span(node));
            let span = node_at(sink.root.unwrap_or(node), &path)
                .and_then(node_span)
                .or(span);
            let node_id = node_of(&path);
            let message = schema_message(&err.to_string());
            let message = if path.is_empty()
                || message.starts_with("missing field")
                || message.starts_with("Unknown field")
            {
                message
            } else {
                format!("{}: {message}", field_name(&path))
            };
            sink.push(
                "IVR002",
                Severity::Error,
                span,
                &path,
                node_id.as_deref(),
                message,
                None,
            );
            None
        }
    }
}

fn schema_message(raw: &str) -> String {
    // marked-yaml prefixes the path; keep the serde part, which names the problem.
    let message = raw.rsplit_once(": ").map_or(raw, |(_, m)| m);
    if message.contains("invalid digit") || message.contains("number too large") {
        "expected a whole number".to_owned()
    } else if message.contains("did not match any variant of untagged enum Prompt") {
        "not a prompt: use text, a list, {text|ssml|sound|digits|number|pause: …} or a language map"
            .to_owned()
    } else {
        message.to_owned()
    }
}

/// `nodes.main_menu.options[2]` (serde_path_to_error) to `/nodes/main_menu/options/2`.
pub(crate) fn serde_path_to_pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.') {
        if part.is_empty() || part == "?" {
            continue;
        }
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            let (head, tail) = rest.split_at(i);
            if !head.is_empty() {
                out.push('/');
                out.push_str(&escape_segment(head));
            }
            rest = tail;
            for index in rest.split(['[', ']']).filter(|s| !s.is_empty()) {
                out.push('/');
                out.push_str(index);
            }
        } else {
            out.push('/');
            out.push_str(&escape_segment(rest));
        }
    }
    out
}
