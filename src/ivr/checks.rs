//! IVR017 (expressions, `set` literals, regexes) and IVR023 (the URL part: https only, hosts
//! on the platform egress allow-list).

use super::diag::{escape_segment, nearest};
use super::expr::{Expr, Value, builtin_type, compile_regex, var_type_name as type_name};
use super::flow::Flow;
use super::model::*;
use super::templates::template_names;
use super::yaml::Sink;

/// What a literal looks like, for "got …" in messages.
fn literal_kind(text: &str) -> &'static str {
    if text.parse::<i64>().is_ok() {
        "integer"
    } else if Value::coerce(VarType::Number, text).is_ok() {
        "number"
    } else if matches!(text, "true" | "false") {
        "boolean"
    } else {
        "string"
    }
}

fn literal_hint(name: &str, kind: VarType) -> String {
    match kind {
        VarType::Integer => format!("write a whole number, e.g. {name}: 2"),
        VarType::Number => format!("write a number, e.g. {name}: 2.5"),
        VarType::Boolean => "write true or false".into(),
        VarType::Digits => "write digits only, quoted to keep leading zeros, e.g. \"0042\"".into(),
        VarType::Date => "write a date as \"YYYY-MM-DD\"".into(),
        VarType::String => String::new(),
    }
}

/// Whether a value of type `from` can be stored in a variable of type `to` without failing at
/// run time for every value (text may still hold a number, so string fits anywhere).
fn assignable(to: VarType, from: VarType) -> bool {
    use VarType::*;
    match to {
        String => true,
        Integer => matches!(from, Integer | Digits | String),
        Number => matches!(from, Integer | Number | Digits | String),
        Boolean => matches!(from, Boolean | String),
        Digits => matches!(from, Digits | Integer | String),
        Date => matches!(from, Date | String),
    }
}

/// IVR017: `branch.when` syntax and types, `set.vars` values against declared types,
/// `queue.priority.from` types, and regexes in `gather.validate.pattern`.
pub(crate) fn check_expressions(sink: &mut Sink<'_>, flow: &Flow) {
    let Some(header) = &flow.header else { return };
    let types = |name: &str| {
        header
            .variables
            .get(name)
            .map(|v| v.kind)
            .or_else(|| builtin_type(name))
    };
    for (id, node) in &flow.nodes {
        let base = format!("/nodes/{}", escape_segment(id));
        let n = Some(id.as_str());
        match &node.kind {
            NodeKind::Branch(b) => {
                for (i, case) in b.cases.iter().enumerate() {
                    let path = format!("{base}/cases/{i}/when");
                    match Expr::parse(&case.when) {
                        Err(e) => sink.error("IVR017", &path, n, e.message, None),
                        Ok(expr) => {
                            for e in expr.check(&types) {
                                sink.error("IVR017", &path, n, e.message, None);
                            }
                        }
                    }
                }
            }
            NodeKind::Set(s) => {
                for (name, value) in &s.vars {
                    let Some(kind) = header.variables.get(name).map(|v| v.kind) else {
                        continue; // IVR016
                    };
                    let path = format!("{base}/vars/{}", escape_segment(name));
                    let names = template_names(value);
                    if names.is_empty() {
                        if Value::coerce(kind, value).is_err() {
                            sink.error(
                                "IVR017",
                                &path,
                                n,
                                format!(
                                    "{name} is {}, got {}",
                                    type_name(kind),
                                    literal_kind(value)
                                ),
                                Some(literal_hint(name, kind)),
                            );
                        }
                        continue;
                    }
                    // Only a value that is one bare template (no filter) has a type of its
                    // own; mixed text is judged when it runs.
                    let bare = value
                        .trim()
                        .strip_prefix("{{")
                        .and_then(|v| v.strip_suffix("}}"))
                        .is_some_and(|inner| !inner.contains(['{', '|']));
                    if bare
                        && let Some(from) = types(names[0])
                        && !assignable(kind, from)
                    {
                        sink.error(
                            "IVR017",
                            &path,
                            n,
                            format!(
                                "{name} is {}, got {} {}",
                                type_name(kind),
                                type_name(from),
                                names[0]
                            ),
                            None,
                        );
                    }
                }
            }
            NodeKind::Queue(q) => {
                if let Some(ValueOrFrom::From { from }) = &q.priority
                    && let Some(kind) = types(from)
                    && !matches!(kind, VarType::Integer | VarType::Digits)
                {
                    sink.error(
                        "IVR017",
                        &format!("{base}/priority/from"),
                        n,
                        format!(
                            "priority comes from {from}, which is {}; it must be integer",
                            type_name(kind)
                        ),
                        None,
                    );
                }
            }
            NodeKind::Gather(g) => {
                if let Some(pattern) = g.validate.as_ref().and_then(|v| v.pattern.as_ref())
                    && let Err(message) = compile_regex(pattern)
                {
                    sink.error(
                        "IVR017",
                        &format!("{base}/validate/pattern"),
                        n,
                        format!("validate.pattern: {message}"),
                        None,
                    );
                }
            }
            _ => {}
        }
    }
}

/// True when `host` is an allow-list entry or below a `*.example.com` entry (which does not
/// cover `example.com` itself, as in TLS wildcard certificates).
pub(crate) fn host_allowed(host: &str, allowlist: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowlist.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        match entry.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == entry,
        }
    })
}

/// IVR023: `http.url` must be `https://` to a written-out host on the egress allow-list
/// (`allowlist` None: offline, that part is skipped).
pub(crate) fn check_http(sink: &mut Sink<'_>, flow: &Flow, allowlist: Option<&[String]>) {
    for (id, node) in &flow.nodes {
        let NodeKind::Http(h) = &node.kind else {
            continue;
        };
        let path = format!("/nodes/{}/url", escape_segment(id));
        let n = Some(id.as_str());
        let url = h.url.trim();
        let scheme_end = url.find("://");
        let rest = match scheme_end {
            Some(i) if url[..i].eq_ignore_ascii_case("https") => &url[i + 3..],
            _ => {
                let hint = match scheme_end {
                    Some(i) => format!("write https://{}", &url[i + 3..]),
                    None => "write the full URL, starting with https://".into(),
                };
                sink.error(
                    "IVR023",
                    &path,
                    n,
                    format!("http url '{url}' must use https://"),
                    Some(hint),
                );
                continue;
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains("{{") {
            sink.error(
                "IVR023",
                &path,
                n,
                "the host of an http url must be written out, not a template: the egress allow-list is checked before publishing".into(),
                Some("keep templates in the path or query".into()),
            );
            continue;
        }
        if authority.contains('@') {
            sink.error(
                "IVR023",
                &path,
                n,
                "http url contains credentials; secrets are never written in the flow file".into(),
                Some("send them in `headers` with {{secret.name}}".into()),
            );
            continue;
        }
        let host = match url::Url::parse(&format!("https://{authority}/")) {
            Ok(parsed) => parsed.host_str().unwrap_or_default().to_owned(),
            Err(e) => {
                sink.error(
                    "IVR023",
                    &path,
                    n,
                    format!("http url '{url}' has an invalid host: {e}"),
                    None,
                );
                continue;
            }
        };
        if let Some(allowlist) = allowlist
            && !host_allowed(&host, allowlist)
        {
            let hint = nearest(&host, allowlist.iter().map(String::as_str))
                .map(|e| format!("did you mean '{e}'?"))
                .or_else(|| {
                    Some("ask a platform admin to add the host to the egress allow-list".into())
                });
            sink.error(
                "IVR023",
                &path,
                n,
                format!("host '{host}' is not in the platform egress allow-list"),
                hint,
            );
        }
    }
}

/// IVR015 for queue names: each `queue` and `callback` node must name one of the tenant's
/// queues (known only to the platform, so checked when publishing, not offline).
pub(crate) fn check_queues(
    sink: &mut Sink<'_>,
    flow: &Flow,
    queues: &std::collections::BTreeSet<String>,
) {
    for (id, node) in &flow.nodes {
        let name = match &node.kind {
            NodeKind::Queue(q) => &q.queue,
            NodeKind::Callback(c) => &c.queue,
            _ => continue,
        };
        if queues.contains(name) {
            continue;
        }
        let hint = super::diag::nearest(name, queues.iter().map(String::as_str))
            .map(|n| format!("did you mean '{n}'?"))
            .or_else(|| Some("create the queue first (Routing: queues), then publish".to_owned()));
        sink.error(
            "IVR015",
            &format!("/nodes/{id}/queue"),
            Some(id.as_str()),
            format!("unknown queue '{name}'"),
            hint,
        );
    }
}

/// IVR015 for skills: each skill a `queue` node requires must be held by some agent of the
/// tenant at the level asked for (`billing:7`), or no agent could ever take the call and
/// callers would wait until `max_wait`. Templated entries (`{{agent_language}}`) are known
/// only per call and are not checked.
pub(crate) fn check_skills(
    sink: &mut Sink<'_>,
    flow: &Flow,
    skills: &std::collections::BTreeMap<String, i64>,
) {
    for (id, node) in &flow.nodes {
        let NodeKind::Queue(q) = &node.kind else {
            continue;
        };
        for (i, entry) in q.skills.iter().enumerate() {
            let (name, level) = skill_requirement(entry);
            if name.is_empty() || name.contains("{{") {
                continue;
            }
            let (message, hint) = match skills.get(name) {
                Some(&best) if best >= level => continue,
                Some(&best) => (
                    format!(
                        "no agent of the tenant has skill '{name}' at level {level} or above (the highest is {best})"
                    ),
                    Some(format!(
                        "raise an agent's '{name}' to {level} (Routing: agents), or ask for {best}"
                    )),
                ),
                None => (
                    format!("unknown skill '{name}': no agent of the tenant has it"),
                    nearest(name, skills.keys().map(String::as_str))
                        .map(|n| format!("did you mean '{n}'?"))
                        .or_else(|| {
                            Some(
                                "give the skill to an agent first (Routing: agents), then publish"
                                    .into(),
                            )
                        }),
                ),
            };
            sink.error(
                "IVR015",
                &format!("/nodes/{id}/skills/{i}"),
                Some(id.as_str()),
                message,
                hint,
            );
        }
    }
}

/// IVR015 for extensions: a `transfer` to an extension must name one of the tenant's (a
/// disabled one counts: disabling is a passing state, and the call takes `on_failure` then).
pub(crate) fn check_extensions(
    sink: &mut Sink<'_>,
    flow: &Flow,
    extensions: &std::collections::BTreeSet<String>,
) {
    for (id, node) in &flow.nodes {
        let NodeKind::Transfer(t) = &node.kind else {
            continue;
        };
        if let Some(number) = &t.to.extension {
            let path = format!("/nodes/{id}/to/extension");
            check_extension(sink, &path, Some(id), number, extensions);
        }
    }
}

/// IVR015 at `path`: `number` must be one of the tenant's `extensions`.
pub(crate) fn check_extension(
    sink: &mut Sink<'_>,
    path: &str,
    node: Option<&str>,
    number: &str,
    extensions: &std::collections::BTreeSet<String>,
) {
    if extensions.contains(number.trim()) {
        return;
    }
    let hint = nearest(number, extensions.iter().map(String::as_str))
        .map(|n| format!("did you mean '{n}'?"))
        .or_else(|| Some("create the extension first (Voice: extensions), then publish".into()));
    sink.error(
        "IVR015",
        path,
        node,
        format!("unknown extension '{number}'"),
        hint,
    );
}
