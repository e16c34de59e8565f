//! `routes.yaml` rules: IVR024 (duplicate DID, non-E.164, ambiguous prefixes, unknown flow)
//! and IVR016 for `set` variables the target flow does not declare.

use std::collections::{BTreeMap, HashMap};

use super::diag::nearest;
use super::flow::Flow;
use super::model::{RoutesFile, TransferTo};
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

/// A SIP URI safe to put in a dial string: `sip:` or `sips:`, a user and a host, and none of
/// the characters Asterisk reads as separators between endpoints or options. Calls dial only
/// such URIs; publishing checks a route's `failover` by it (IVR018), so a failover that
/// passes can be dialled.
pub fn is_dialable_sip_uri(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
    else {
        return false;
    };
    let Some((user, host)) = rest.split_once('@') else {
        return false;
    };
    !user.is_empty()
        && !host.is_empty()
        && uri
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ',' | '&' | '^' | '"' | '\\' | '<' | '>'))
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
        if let Some(name) = &route.caller_id_name {
            check_caller_id_name(sink, &format!("{base}/caller_id_name"), name);
        }
        if let Some(to) = &route.failover {
            check_failover(sink, &format!("{base}/failover"), to);
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

/// Most phones show 15 to 20 characters of a name; carriers' CNAM keeps 15. Beyond 40 is
/// a mistake rather than a name.
const CALLER_ID_NAME_MAX: usize = 40;

/// IVR024: a caller-ID name goes into `"name" <number>`, so quotes and angle brackets would
/// break the caller ID Asterisk presents.
fn check_caller_id_name(sink: &mut Sink<'_>, path: &str, name: &str) {
    let problem = if name.trim().is_empty() {
        Some("caller_id_name is empty".to_owned())
    } else if name.chars().count() > CALLER_ID_NAME_MAX {
        Some(format!(
            "caller_id_name has {} characters; phones show at most {CALLER_ID_NAME_MAX}",
            name.chars().count()
        ))
    } else if name
        .chars()
        .any(|c| matches!(c, '"' | '\\' | '<' | '>') || c.is_control())
    {
        Some(format!(
            "caller_id_name '{name}' holds a quote, backslash, angle bracket or control character"
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        sink.error(
            "IVR024",
            path,
            None,
            message,
            Some("a short plain name, e.g. \"Acme Support\"".into()),
        );
    }
}

/// `failover` takes the shape of a transfer's `to`: exactly one of extension, number (E.164)
/// or sip (a `sip:`/`sips:` URI).
fn check_failover(sink: &mut Sink<'_>, path: &str, to: &TransferTo) {
    if !to.has_one_target() {
        sink.error(
            "IVR002",
            path,
            None,
            "failover needs exactly one of extension, number, sip".into(),
            None,
        );
    }
    if let Some(number) = &to.number
        && !is_e164(number)
    {
        sink.error(
            "IVR018",
            &format!("{path}/number"),
            None,
            format!("'{number}' is not an E.164 number"),
            Some("E.164 is + then 2–15 digits, no spaces, e.g. \"+14155550100\"".into()),
        );
    }
    if let Some(uri) = &to.sip
        && !is_dialable_sip_uri(uri)
    {
        sink.error(
            "IVR018",
            &format!("{path}/sip"),
            None,
            format!("'{uri}' is not a SIP URI Asterisk can dial"),
            Some(SIP_URI_HINT.into()),
        );
    }
}

/// What a dialable SIP URI looks like.
const SIP_URI_HINT: &str =
    "write sip:user@host (or sips:), without spaces, commas, &, quotes or angle brackets";

/// IVR015 for routes: a failover extension must be one of the tenant's.
pub(crate) fn check_failover_extensions(
    sink: &mut Sink<'_>,
    routes: &RoutesFile,
    extensions: &std::collections::BTreeSet<String>,
) {
    for (i, route) in routes.routes.iter().enumerate() {
        if let Some(number) = route.failover.as_ref().and_then(|f| f.extension.as_deref()) {
            let path = format!("/routes/{i}/failover/extension");
            super::checks::check_extension(sink, &path, None, number, extensions);
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
