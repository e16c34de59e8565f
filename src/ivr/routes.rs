//! `routes.yaml` rules: IVR024 (duplicate DID, non-E.164, ambiguous prefixes, unknown flow)
//! and IVR016 for `set` variables the target flow does not declare.

use std::collections::{BTreeMap, HashMap};

use super::diag::nearest;
use super::flow::Flow;
use super::model::RoutesFile;
use super::yaml::Sink;

/// `^\+[1-9]\d{1,14}$`.
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

pub(crate) fn check_routes(
    sink: &mut Sink<'_>,
    routes: &RoutesFile,
    flows: &BTreeMap<String, Flow>,
) {
    let file_name = sink.file.rsplit('/').next().unwrap_or(sink.file).to_owned();
    let mut dids: HashMap<&str, (usize, &str)> = HashMap::new();
    let mut prefixes: HashMap<&str, (usize, &str)> = HashMap::new();
    for (i, route) in routes.routes.iter().enumerate() {
        let base = format!("/routes/{i}");
        let m = &route.matcher;
        if m.did.is_none() && m.did_prefix.is_none() && m.channel.is_none() {
            sink.error(
                "IVR002",
                &format!("{base}/match"),
                None,
                "match needs did, did_prefix or channel".into(),
                None,
            );
        }
        if let Some(did) = m.did.as_deref() {
            let path = format!("{base}/match/did");
            if !is_e164(did) {
                sink.error(
                    "IVR024",
                    &path,
                    None,
                    format!("DID '{did}' is not an E.164 number (+ then 2–15 digits)"),
                    None,
                );
            } else if let Some((first, flow)) = dids.get(did) {
                let line = line_of(sink, &format!("/routes/{first}/match/did"));
                sink.error(
                    "IVR024",
                    &path,
                    None,
                    format!("DID {did} already routed to '{flow}' at {file_name}:{line}"),
                    Some("remove one of the two routes".into()),
                );
            } else {
                dids.insert(did, (i, &route.flow));
            }
        }
        if let Some(prefix) = m.did_prefix.as_deref() {
            let path = format!("{base}/match/did_prefix");
            let digits = prefix.strip_prefix('+').unwrap_or("");
            if digits.is_empty() || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit())
            {
                sink.error(
                    "IVR024",
                    &path,
                    None,
                    format!("did_prefix '{prefix}' must be + followed by digits"),
                    None,
                );
            } else if let Some((first, flow)) = prefixes.get(prefix) {
                let line = line_of(sink, &format!("/routes/{first}/match/did_prefix"));
                sink.error(
                    "IVR024",
                    &path,
                    None,
                    format!("ambiguous prefix {prefix}: an equal-length prefix already routes to '{flow}' at {file_name}:{line}"),
                    None,
                );
            } else {
                prefixes.insert(prefix, (i, &route.flow));
            }
        }
        match flows.get(&route.flow) {
            None => {
                let hint = nearest(&route.flow, flows.keys().map(String::as_str))
                    .map(|n| format!("did you mean '{n}'?"));
                sink.error(
                    "IVR024",
                    &format!("{base}/flow"),
                    None,
                    format!("route goes to unknown flow '{}'", route.flow),
                    hint,
                );
            }
            Some(flow) => {
                if let Some(header) = &flow.header {
                    for name in route.set.keys() {
                        if !header.variables.contains_key(name) {
                            let hint = nearest(name, header.variables.keys().map(String::as_str))
                                .map(|n| format!("did you mean '{n}'?"));
                            sink.error(
                                "IVR016",
                                &format!("{base}/set/{name}"),
                                None,
                                format!(
                                    "undeclared variable '{name}': flow '{}' has no such variable",
                                    flow.id
                                ),
                                hint,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// IVR024 against the platform: a DID another tenant routes, and the tenant's number limit
/// (each `did` and each `did_prefix` counts as one routed number).
pub(crate) fn check_claims(
    sink: &mut Sink<'_>,
    routes: &RoutesFile,
    options: &super::ValidateOptions,
) {
    if let Some(taken) = &options.dids_elsewhere {
        for (i, route) in routes.routes.iter().enumerate() {
            if let Some(did) = route.matcher.did.as_deref()
                && taken.contains(did)
            {
                sink.error(
                    "IVR024",
                    &format!("/routes/{i}/match/did"),
                    None,
                    format!("DID {did} is routed by another tenant"),
                    Some(
                        "a number belongs to one tenant; ask the platform operator to move it"
                            .into(),
                    ),
                );
            }
        }
    }
    if let Some(max) = options.max_dids.filter(|m| *m > 0) {
        let numbered: Vec<usize> = routes
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matcher.did.is_some() || r.matcher.did_prefix.is_some())
            .map(|(i, _)| i)
            .collect();
        if let Some(first_over) = numbered.get(max) {
            sink.error(
                "IVR024",
                &format!("/routes/{first_over}/match"),
                None,
                format!(
                    "{} numbers routed; the tenant may route {max} (limits.max_dids)",
                    numbered.len()
                ),
                Some("remove routes, or ask the platform operator to raise the limit".into()),
            );
        }
    }
}

fn line_of(sink: &Sink<'_>, pointer: &str) -> usize {
    sink.root
        .and_then(|root| super::yaml::span_at(root, pointer))
        .map_or(0, |s| s.line)
}
