//! The client against `asterisk-ari/api-docs/*.json`: every operation in the table (which is
//! what the client sends) exists with that verb, path, parameters and response, and every
//! field of our models and events exists in the spec's model.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;

use super::ari_reference;
use crate::voice::ari::ops::{ALL, Op};
use crate::voice::ari::{events, models};

struct Spec {
    /// `resource` (file stem) → the file's JSON.
    resources: BTreeMap<String, Value>,
    /// Model name → its `properties`.
    models: BTreeMap<String, serde_json::Map<String, Value>>,
}

fn spec() -> Spec {
    let dir = ari_reference().join("api-docs");
    let mut resources = BTreeMap::new();
    let mut models = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("api-docs/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for (name, model) in doc["models"].as_object().into_iter().flatten() {
                let props = model["properties"].as_object().cloned().unwrap_or_default();
                models.insert(name.clone(), props);
            }
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            resources.insert(stem, doc);
        }
    }
    assert!(
        resources.len() >= 10,
        "expected the ARI resource files in {}",
        dir.display()
    );
    Spec { resources, models }
}

/// Checks one row of the table; returns what disagrees with the spec.
fn check_op(spec: &Spec, op: &Op) -> Vec<String> {
    let mut problems = Vec::new();
    let (resource, nickname) = op.name.split_once('.').expect("name is resource.nickname");
    let Some(doc) = spec.resources.get(resource) else {
        return vec![format!("{}: no resource file {resource}.json", op.name)];
    };
    let api = doc["apis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == op.path);
    let Some(api) = api else {
        return vec![format!(
            "{}: no path {} in {resource}.json",
            op.name, op.path
        )];
    };
    let operation = api["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["httpMethod"] == op.method);
    let Some(operation) = operation else {
        return vec![format!("{}: no {} on {}", op.name, op.method, op.path)];
    };
    if operation["nickname"] != nickname {
        problems.push(format!(
            "{}: the spec calls {} {} `{}`",
            op.name, op.method, op.path, operation["nickname"]
        ));
    }
    if operation["responseClass"] != op.returns {
        problems.push(format!(
            "{}: returns {} in the spec, {} in our table",
            op.name, operation["responseClass"], op.returns
        ));
    }
    let params: Vec<(&str, &str)> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["paramType"].as_str().unwrap(),
            )
        })
        .collect();
    let of_type =
        |t: &str| -> BTreeSet<&str> { params.iter().filter(|p| p.1 == t).map(|p| p.0).collect() };
    for q in op.query {
        if !of_type("query").contains(q) {
            problems.push(format!(
                "{}: `{q}` is not a query parameter in the spec",
                op.name
            ));
        }
    }
    for b in op.body {
        if !of_type("body").contains(b) {
            problems.push(format!(
                "{}: `{b}` is not a body parameter in the spec",
                op.name
            ));
        }
    }
    let placeholders: BTreeSet<&str> = op
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect();
    if placeholders != of_type("path") {
        problems.push(format!(
            "{}: path parameters {placeholders:?}, spec {:?}",
            op.name,
            of_type("path")
        ));
    }
    problems
}

#[test]
fn every_operation_the_client_sends_is_in_the_spec() {
    let spec = spec();
    let problems: Vec<String> = ALL.iter().flat_map(|op| check_op(&spec, op)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let mut routes = BTreeSet::new();
    for op in ALL {
        assert!(
            routes.insert((op.method, op.path)),
            "{} {} twice in the table",
            op.method,
            op.path
        );
    }
    // The operations the issue asks for are all there.
    for name in [
        "channels.originate",
        "channels.create",
        "channels.dial",
        "channels.play",
        "channels.record",
        "channels.snoopChannel",
        "channels.externalMedia",
        "channels.continueInDialplan",
        "bridges.create",
        "bridges.addChannel",
        "bridges.startMoh",
        "bridges.record",
        "playbacks.control",
        "recordings.getStoredFile",
        "recordings.copyStored",
        "endpoints.listByTech",
        "deviceStates.update",
        "asterisk.updateObject",
        "sounds.list",
        "applications.subscribe",
    ] {
        assert!(
            ALL.iter().any(|op| op.name == name),
            "{name} missing from the table"
        );
    }
}

#[test]
fn the_spec_check_catches_a_drifted_operation() {
    let spec = spec();
    let drifted = Op {
        query: &["endpoint", "callerID"],
        ..crate::voice::ari::ops::CHANNELS_ORIGINATE
    };
    let problems = check_op(&spec, &drifted);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("callerID"));
    let wrong_verb = Op {
        method: "PUT",
        ..crate::voice::ari::ops::CHANNELS_ANSWER
    };
    assert_eq!(check_op(&spec, &wrong_verb).len(), 1);
}

fn check_fields(spec: &Spec, model: &str, sample: &Value, require_all: bool) -> Vec<String> {
    let Some(props) = spec.models.get(model) else {
        return vec![format!("no model {model} in the spec")];
    };
    let ours = sample.as_object().expect("a model serialises to an object");
    let mut problems: Vec<String> = ours
        .keys()
        .filter(|k| !props.contains_key(*k))
        .map(|k| format!("{model}.{k} is not in the spec"))
        .collect();
    if require_all {
        problems.extend(
            props
                .keys()
                .filter(|k| !ours.contains_key(*k))
                .map(|k| format!("{model}.{k} is not modelled")),
        );
    }
    problems
}

#[test]
fn every_model_field_we_declare_exists_in_the_spec() {
    let spec = spec();
    let mut problems = Vec::new();
    for (name, sample) in models::spec_samples::all() {
        // RTPstat: we read only the counters we use.
        problems.extend(check_fields(&spec, name, &sample, name != "RTPstat"));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_event_field_we_declare_exists_in_the_spec() {
    let spec = spec();
    let mut problems = Vec::new();
    for (name, sample) in events::spec_samples() {
        problems.extend(check_fields(&spec, name, &sample, true));
    }
    // The envelope fields every event carries.
    for (model, field) in [
        ("Event", "application"),
        ("Event", "timestamp"),
        ("Message", "type"),
        ("Message", "asterisk_id"),
    ] {
        if !spec.models[model].contains_key(field) {
            problems.push(format!("{model}.{field} is not in the spec"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let subtypes: BTreeSet<&str> = spec.resources["events"]["models"]["Event"]["subTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for kind in events::Event::MODELED {
        assert!(
            subtypes.contains(kind),
            "{kind} is not an event in the spec"
        );
    }
}
