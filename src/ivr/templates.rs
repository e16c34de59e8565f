//! IVR016: every `{{name}}` in templates, and every `into`, `extract`, `set.vars` and
//! `{from: var}`, must name a declared variable or a built-in (`call.*`, `queue.*`,
//! `http.*`; `secret.*` only in `http` headers).

use std::collections::BTreeMap;

use super::diag::{escape_segment, nearest};
use super::flow::Flow;
use super::model::*;
use super::yaml::Sink;

/// (pointer suffix below the node, text or variable name).
type Uses<'a> = Vec<(String, &'a str)>;

const CALL: &[&str] = &["caller_number", "did", "language", "channel", "started_at"];
const QUEUE: &[&str] = &["position", "estimated_wait"];
const HTTP: &[&str] = &["status"];

/// The names used in `{{…}}` templates of `text`, without filters.
pub fn template_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let inner = &after[..close];
        out.push(inner.split('|').next().unwrap_or("").trim());
        rest = &after[close + 2..];
    }
    out
}

fn prompt_texts<'a>(prompt: &'a Prompt, at: String, out: &mut Vec<(String, &'a str)>) {
    match prompt {
        Prompt::Text(text) => out.push((at, text)),
        Prompt::List(items) => {
            for (i, item) in items.iter().enumerate() {
                prompt_texts(item, format!("{at}/{i}"), out);
            }
        }
        Prompt::Part(part) => {
            for (name, value) in [
                ("text", &part.text),
                ("ssml", &part.ssml),
                ("digits", &part.digits),
                ("number", &part.number),
            ] {
                if let Some(value) = value {
                    out.push((format!("{at}/{name}"), value));
                }
            }
        }
        Prompt::Languages(map) => {
            for (language, item) in map {
                prompt_texts(item, format!("{at}/{}", escape_segment(language)), out);
            }
        }
    }
}

fn reprompt_texts<'a>(r: &'a Option<Reprompt>, at: &str, out: &mut Vec<(String, &'a str)>) {
    let Some(r) = r else { return };
    if let Some(p) = &r.prompt {
        prompt_texts(p, format!("{at}/prompt"), out);
    }
    for (i, p) in r.prompts.iter().flatten().enumerate() {
        prompt_texts(p, format!("{at}/prompts/{i}"), out);
    }
}

fn opt_prompt<'a>(p: &'a Option<Prompt>, at: &str, out: &mut Vec<(String, &'a str)>) {
    if let Some(p) = p {
        prompt_texts(p, at.to_owned(), out);
    }
}

fn map_values<'a>(map: &'a BTreeMap<String, String>, at: &str, out: &mut Vec<(String, &'a str)>) {
    for (k, v) in map {
        out.push((format!("{at}/{}", escape_segment(k)), v));
    }
}

/// (pointer suffix, template text, secrets allowed) and (pointer suffix, variable name) of a node.
fn uses(kind: &NodeKind) -> (Uses<'_>, Uses<'_>, Uses<'_>) {
    let (mut texts, mut secret_ok, mut names) = (Vec::new(), Vec::new(), Vec::new());
    match kind {
        NodeKind::Say(n) => prompt_texts(&n.prompt, "/prompt".into(), &mut texts),
        NodeKind::Menu(n) => {
            prompt_texts(&n.prompt, "/prompt".into(), &mut texts);
            opt_prompt(&n.reprompt, "/reprompt", &mut texts);
            reprompt_texts(&n.on_timeout, "/on_timeout", &mut texts);
            reprompt_texts(&n.on_invalid, "/on_invalid", &mut texts);
        }
        NodeKind::Gather(n) => {
            prompt_texts(&n.prompt, "/prompt".into(), &mut texts);
            if let Some(c) = &n.confirm {
                prompt_texts(&c.prompt, "/confirm/prompt".into(), &mut texts);
            }
            reprompt_texts(&n.on_timeout, "/on_timeout", &mut texts);
            reprompt_texts(&n.on_invalid, "/on_invalid", &mut texts);
            names.push(("/into".to_owned(), n.into.as_str()));
        }
        NodeKind::Set(n) => {
            map_values(&n.vars, "/vars", &mut texts);
            names.extend(
                n.vars
                    .keys()
                    .map(|k| (format!("/vars/{}", escape_segment(k)), k.as_str())),
            );
        }
        NodeKind::Queue(n) => {
            for (i, s) in n.skills.iter().enumerate() {
                texts.push((format!("/skills/{i}"), s));
            }
            if let Some(ValueOrFrom::From { from }) = &n.priority {
                names.push(("/priority/from".into(), from));
            }
            if let Some(a) = &n.announce {
                opt_prompt(&a.prompt, "/announce/prompt", &mut texts);
            }
            if let Some(c) = &n.callback {
                opt_prompt(&c.prompt, "/callback/prompt", &mut texts);
                if let Some(ValueOrFrom::From { from }) = &c.number {
                    names.push(("/callback/number/from".into(), from));
                }
            }
        }
        NodeKind::Callback(n) => {
            if let Some(ValueOrFrom::From { from }) = &n.number {
                names.push(("/number/from".into(), from));
            }
        }
        NodeKind::Transfer(n) => opt_prompt(&n.whisper, "/whisper", &mut texts),
        NodeKind::Voicemail(n) => opt_prompt(&n.greeting, "/greeting", &mut texts),
        NodeKind::AiAgent(n) => {
            opt_prompt(&n.greeting, "/greeting", &mut texts);
            for (i, v) in n.context.iter().flat_map(|c| &c.vars).enumerate() {
                names.push((format!("/context/vars/{i}"), v));
            }
        }
        NodeKind::Http(n) => {
            texts.push(("/url".into(), &n.url));
            map_values(&n.headers, "/headers", &mut secret_ok);
            match &n.body {
                Some(Body::Text(t)) => texts.push(("/body".into(), t)),
                Some(Body::Fields(map)) => map_values(map, "/body", &mut texts),
                None => {}
            }
            if let Some(f) = &n.filler {
                prompt_texts(&f.prompt, "/filler/prompt".into(), &mut texts);
            }
            names.extend(
                n.extract
                    .keys()
                    .map(|k| (format!("/extract/{}", escape_segment(k)), k.as_str())),
            );
        }
        NodeKind::Subflow(n) => map_values(&n.params, "/params", &mut texts),
        NodeKind::Hangup(n) => opt_prompt(&n.prompt, "/prompt", &mut texts),
        _ => {}
    }
    (texts, secret_ok, names)
}

pub(crate) fn check_variables(sink: &mut Sink<'_>, flow: &Flow) {
    let Some(header) = &flow.header else { return };
    let declared = &header.variables;
    let report = |sink: &mut Sink<'_>, path: &str, node: &str, name: &str, secret_ok: bool| {
        let known = match name.split_once('.') {
            Some(("call", field)) => CALL.contains(&field),
            Some(("queue", field)) => QUEUE.contains(&field),
            Some(("http", field)) => HTTP.contains(&field),
            Some(("secret", _)) => secret_ok,
            _ => declared.contains_key(name),
        };
        if known {
            return;
        }
        let (message, hint) = if name.starts_with("secret.") {
            (
                format!("secret '{name}' used outside http headers"),
                Some("secrets may only appear in http `headers`".to_owned()),
            )
        } else {
            let hint = nearest(name, declared.keys().map(String::as_str))
                .map(|n| format!("did you mean '{n}'?"));
            (
                format!("undeclared variable '{name}'"),
                hint.or_else(|| Some("declare it under `variables:`".into())),
            )
        };
        sink.error("IVR016", path, Some(node), message, hint);
    };
    for (id, node) in &flow.nodes {
        let base = format!("/nodes/{}", escape_segment(id));
        let (texts, secret_ok, names) = uses(&node.kind);
        for (suffix, text) in &texts {
            for name in template_names(text) {
                report(sink, &format!("{base}{suffix}"), id, name, false);
            }
        }
        for (suffix, text) in &secret_ok {
            for name in template_names(text) {
                report(sink, &format!("{base}{suffix}"), id, name, true);
            }
        }
        for (suffix, name) in &names {
            report(sink, &format!("{base}{suffix}"), id, name, false);
        }
    }
}
