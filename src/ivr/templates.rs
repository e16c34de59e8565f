//! IVR016: every `{{name}}` in templates, every name a `branch.when` reads, and every
//! `into`, `extract`, `set.vars` and `{from: var}`, must name a declared variable or a built-in
//! (`call.*`, `queue.*`, `http.*`). IVR023 (its secret part): `secret.*` only in `http`
//! headers, and naming a secret the platform knows.

use std::collections::{BTreeMap, BTreeSet};

use super::diag::{escape_segment, nearest};
use super::expr::{Expr, builtin_type};
use super::flow::Flow;
use super::model::*;
use super::yaml::Sink;

/// (pointer suffix below the node, text or variable name).
type Uses<'a> = Vec<(String, &'a str)>;

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

fn reprompts<'a>(r: &'a Option<Reprompt>, at: &str, out: &mut Vec<(String, &'a Prompt)>) {
    let Some(r) = r else { return };
    if let Some(p) = &r.prompt {
        out.push((format!("{at}/prompt"), p));
    }
    for (i, p) in r.prompts.iter().flatten().enumerate() {
        out.push((format!("{at}/prompts/{i}"), p));
    }
}

fn opt<'a>(p: &'a Option<Prompt>, at: &str, out: &mut Vec<(String, &'a Prompt)>) {
    if let Some(p) = p {
        out.push((at.to_owned(), p));
    }
}

/// Every prompt a node plays, with its pointer suffix (`/prompt`, `/on_timeout/prompts/1`).
pub(crate) fn node_prompts(kind: &NodeKind) -> Vec<(String, &Prompt)> {
    let mut out = Vec::new();
    match kind {
        NodeKind::Say(n) => out.push(("/prompt".into(), &n.prompt)),
        NodeKind::Menu(n) => {
            out.push(("/prompt".into(), &n.prompt));
            opt(&n.reprompt, "/reprompt", &mut out);
            reprompts(&n.on_timeout, "/on_timeout", &mut out);
            reprompts(&n.on_invalid, "/on_invalid", &mut out);
        }
        NodeKind::Gather(n) => {
            out.push(("/prompt".into(), &n.prompt));
            if let Some(c) = &n.confirm {
                out.push(("/confirm/prompt".into(), &c.prompt));
            }
            reprompts(&n.on_timeout, "/on_timeout", &mut out);
            reprompts(&n.on_invalid, "/on_invalid", &mut out);
        }
        NodeKind::Queue(n) => {
            if let Some(a) = &n.announce {
                opt(&a.prompt, "/announce/prompt", &mut out);
            }
            if let Some(c) = &n.callback {
                opt(&c.prompt, "/callback/prompt", &mut out);
            }
        }
        NodeKind::Transfer(n) => opt(&n.whisper, "/whisper", &mut out),
        // `unavailable` and `busy` name the mailbox's own recorded greetings, not text to speak.
        NodeKind::Voicemail(n) => match &n.greeting {
            Some(Prompt::Text(t)) if t == "unavailable" || t == "busy" => {}
            other => opt(other, "/greeting", &mut out),
        },
        NodeKind::AiAgent(n) => opt(&n.greeting, "/greeting", &mut out),
        NodeKind::Http(n) => {
            if let Some(f) = &n.filler {
                out.push(("/filler/prompt".into(), &f.prompt));
            }
        }
        NodeKind::Hangup(n) => opt(&n.prompt, "/prompt", &mut out),
        _ => {}
    }
    out
}

fn map_values<'a>(map: &'a BTreeMap<String, String>, at: &str, out: &mut Vec<(String, &'a str)>) {
    for (k, v) in map {
        out.push((format!("{at}/{}", escape_segment(k)), v));
    }
}

/// (pointer suffix, template text, secrets allowed) and (pointer suffix, variable name) of a node.
fn uses(kind: &NodeKind) -> (Uses<'_>, Uses<'_>, Uses<'_>) {
    let (mut texts, mut secret_ok, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for (suffix, prompt) in node_prompts(kind) {
        prompt_texts(prompt, suffix, &mut texts);
    }
    match kind {
        NodeKind::Gather(n) => names.push(("/into".to_owned(), n.into.as_str())),
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
            if let Some(c) = &n.callback
                && let Some(ValueOrFrom::From { from }) = &c.number
            {
                names.push(("/callback/number/from".into(), from));
            }
        }
        NodeKind::Callback(n) => {
            if let Some(ValueOrFrom::From { from }) = &n.number {
                names.push(("/number/from".into(), from));
            }
        }
        NodeKind::AiAgent(n) => {
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
            names.extend(
                n.extract
                    .keys()
                    .map(|k| (format!("/extract/{}", escape_segment(k)), k.as_str())),
            );
        }
        NodeKind::Subflow(n) => map_values(&n.params, "/params", &mut texts),
        _ => {}
    }
    (texts, secret_ok, names)
}

/// IVR016 and the secret rules of IVR023; `secrets` is the platform's list (None: offline).
pub(crate) fn check_variables(
    sink: &mut Sink<'_>,
    flow: &Flow,
    secrets: Option<&BTreeSet<String>>,
) {
    let Some(header) = &flow.header else { return };
    let declared = &header.variables;
    let report = |sink: &mut Sink<'_>, path: &str, node: &str, name: &str, secret_ok: bool| {
        if let Some(secret) = name.strip_prefix("secret.") {
            if !secret_ok {
                sink.error(
                    "IVR023",
                    path,
                    Some(node),
                    format!("secret '{name}' used outside http headers"),
                    Some("secrets may only appear in http `headers`, so they never reach speech, logs or URLs".into()),
                );
            } else if let Some(known) = secrets
                && !known.contains(secret)
            {
                let hint = nearest(secret, known.iter().map(String::as_str))
                    .map(|n| format!("did you mean 'secret.{n}'?"))
                    .or_else(|| Some("add it to the platform's secrets first".into()));
                sink.error(
                    "IVR023",
                    path,
                    Some(node),
                    format!("unknown secret '{secret}'"),
                    hint,
                );
            }
            return;
        }
        if declared.contains_key(name) || builtin_type(name).is_some() {
            return;
        }
        let hint = nearest(name, declared.keys().map(String::as_str))
            .map(|n| format!("did you mean '{n}'?"))
            .or_else(|| Some("declare it under `variables:`".into()));
        sink.error(
            "IVR016",
            path,
            Some(node),
            format!("undeclared variable '{name}'"),
            hint,
        );
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
        // Expressions that do not parse are IVR017's; their names are unknown until fixed.
        if let NodeKind::Branch(b) = &node.kind {
            for (i, case) in b.cases.iter().enumerate() {
                for name in Expr::parse(&case.when)
                    .map(|e| e.names())
                    .unwrap_or_default()
                {
                    report(sink, &format!("{base}/cases/{i}/when"), id, &name, false);
                }
            }
        }
    }
}

/// IVR020: every prompt covers each declared language, and names no other. Plain text (TTS in
/// "the call's current language") is fine in a one-language flow; with several languages it
/// must sit in a language map, or a caller would hear one language's words in another's voice.
/// Sounds, digits, numbers and pauses follow the call's language by themselves.
pub(crate) fn check_languages(sink: &mut Sink<'_>, flow: &Flow) {
    let Some(header) = &flow.header else { return };
    let declared = &header.languages;
    if declared.is_empty() {
        return;
    }
    for (id, node) in &flow.nodes {
        let base = format!("/nodes/{}", escape_segment(id));
        for (suffix, prompt) in node_prompts(&node.kind) {
            check_prompt(
                sink,
                prompt,
                &format!("{base}{suffix}"),
                id,
                declared,
                false,
            );
        }
        if let NodeKind::SetLanguage(n) = &node.kind
            && !declared.contains(&n.language)
        {
            sink.error(
                "IVR020",
                &format!("{base}/language"),
                Some(id),
                format!("'{}' is not a language of this flow", n.language),
                Some(format!("declared: {}", declared.join(", "))),
            );
        }
    }
}

fn check_prompt(
    sink: &mut Sink<'_>,
    prompt: &Prompt,
    path: &str,
    node: &str,
    declared: &[String],
    in_map: bool,
) {
    let undeclared = |sink: &mut Sink<'_>, at: &str, language: &str| {
        sink.error(
            "IVR020",
            at,
            Some(node),
            format!("prompt uses language '{language}', which the flow does not declare"),
            Some(format!("declared: {}", declared.join(", "))),
        );
    };
    let needs_map = |sink: &mut Sink<'_>, at: &str| {
        sink.error(
            "IVR020",
            at,
            Some(node),
            format!(
                "text plays in every language but the flow declares {}",
                declared.join(", ")
            ),
            Some(format!(
                "give a language map: {{{}}}",
                declared
                    .iter()
                    .map(|l| format!("{l}: …"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    };
    match prompt {
        Prompt::Languages(map) => {
            for language in map.keys() {
                if !declared.contains(language) {
                    undeclared(
                        sink,
                        &format!("{path}/{}", escape_segment(language)),
                        language,
                    );
                }
            }
            for language in declared {
                if !map.contains_key(language) {
                    sink.error(
                        "IVR020",
                        path,
                        Some(node),
                        format!("prompt has no variant for '{language}'"),
                        Some(format!("add `{language}: …` to the map")),
                    );
                }
            }
            for (language, p) in map {
                check_prompt(
                    sink,
                    p,
                    &format!("{path}/{}", escape_segment(language)),
                    node,
                    declared,
                    true,
                );
            }
        }
        Prompt::List(items) => {
            for (i, p) in items.iter().enumerate() {
                check_prompt(sink, p, &format!("{path}/{i}"), node, declared, in_map);
            }
        }
        Prompt::Text(_) => {
            if !in_map && declared.len() > 1 {
                needs_map(sink, path);
            }
        }
        Prompt::Part(part) => {
            if let Some(language) = &part.language {
                if !declared.contains(language) {
                    undeclared(sink, &format!("{path}/language"), language);
                }
            } else if (part.text.is_some() || part.ssml.is_some()) && !in_map && declared.len() > 1
            {
                needs_map(sink, path);
            }
        }
    }
}
