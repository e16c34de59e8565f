//! JSON Schemas for the files in `ivr-flows/`, generated from the serde types of `model.rs` and
//! `schedule::model`, so editors (any yaml-language-server client, such as VS Code's YAML
//! extension) complete fields and flag structural mistakes while admins type, before
//! `flows check` runs (IVR-FLOWS.md §9, last paragraph).
//!
//! Draft 7, because yaml-language-server documents support for "JSON Schema 7 and below".
//!
//! Nodes are decoded by hand in `flow.rs` (shared fields split off, then the `type` picks the
//! struct), so [`FlowNode`] has no derived schema. Its schema is written here from the
//! per-type structs: one `oneOf` branch per `type` (with `play` as an alias of `say`), each a
//! closed object that also allows the shared `max_visits`/`on_max_visits`. An unknown field
//! therefore matches no branch, as it fails `flows check` with IVR002.
//!
//! The schema only covers structure (IVR002). Durations, targets, expressions and
//! cross-references stay with the validator, which has the whole folder to judge them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::model::*;
use crate::schedule::ScheduleFile;

/// Folder of the shipped schemas, relative to the repository root.
pub const SCHEMA_DIR: &str = "ivr-flows/schema";

/// One generated schema file.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaFile {
    /// File name inside [`SCHEMA_DIR`], e.g. `flow.schema.json`.
    pub file_name: &'static str,
    /// Which YAML files it describes, for messages and the modeline.
    pub describes: &'static str,
    /// The schema.
    pub schema: Value,
}

impl SchemaFile {
    /// The file's text: keys sorted and pretty-printed with a final newline, so regenerating
    /// an unchanged schema gives byte-identical files whatever serde_json features are on.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&sorted(&self.schema))
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }
}

/// Every schema, in the order they are listed to admins.
pub fn schema_files() -> Vec<SchemaFile> {
    vec![
        SchemaFile {
            file_name: "flow.schema.json",
            describes: "flows/**/*.yaml",
            schema: flow_schema(),
        },
        SchemaFile {
            file_name: "routes.schema.json",
            describes: "routes.yaml",
            schema: root::<RoutesFile>(
                "Switchboard IVR routes (routes.yaml)",
                "DIDs and chat entry points to flows (IVR-FLOWS.md §7).",
            ),
        },
        SchemaFile {
            file_name: "voices.schema.json",
            describes: "voices.yaml",
            schema: root::<VoicesFile>(
                "Switchboard TTS voices (voices.yaml)",
                "TTS voice profiles per language, with the offline fallback (IVR-FLOWS.md §6).",
            ),
        },
        SchemaFile {
            file_name: "schedules.schema.json",
            describes: "schedules.yaml",
            schema: root::<ScheduleFile>(
                "Switchboard business hours (schedules.yaml)",
                "Business hours, holiday calendars and overrides (IVR-FLOWS.md §5).",
            ),
        },
    ]
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft07().into_generator()
}

fn root<T: JsonSchema>(title: &str, description: &str) -> Value {
    let mut schema = generator().into_root_schema_for::<T>();
    describe(&mut schema, title, description);
    schema.to_value()
}

/// Root titles and descriptions are written here: the types' doc comments talk to Rust
/// readers (intra-doc links), not to admins hovering in an editor.
fn describe(schema: &mut Schema, title: &str, description: &str) {
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
}

/// A flow file: the header's fields plus `nodes`.
fn flow_schema() -> Value {
    let mut generator = generator();
    let mut nodes = generator
        .subschema_for::<BTreeMap<String, FlowNode>>()
        .to_value();
    if let Some(object) = nodes.as_object_mut() {
        object.insert(
            "description".into(),
            "The flow's nodes by id; `start` names the first.".into(),
        );
        // Same rule as IVR004, so a bad id is underlined as it is typed.
        object.insert(
            "propertyNames".into(),
            json!({ "pattern": "^[a-z][a-z0-9_]{0,49}$" }),
        );
    }
    let mut schema = generator.into_root_schema_for::<FlowHeader>();
    describe(
        &mut schema,
        "Switchboard IVR flow",
        "One IVR flow (ivr-flows/flows/<id>.yaml): header, variables and nodes (IVR-FLOWS.md §3–4).",
    );
    let object = schema.ensure_object();
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.insert("nodes".into(), nodes);
    }
    require(object, "nodes");
    schema.to_value()
}

fn require(object: &mut Map<String, Value>, field: &str) {
    let required = object
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = required
        && !list.iter().any(|v| v == field)
    {
        list.push(field.into());
    }
}

/// One `oneOf` branch: the type's struct schema, closed, plus `type` and the shared fields.
fn node_branch<T: JsonSchema>(generator: &mut SchemaGenerator, names: &[&str]) -> Value {
    let mut schema = T::json_schema(generator).to_value();
    let Some(object) = schema.as_object_mut() else {
        return schema;
    };
    let type_schema = match names {
        [one] => json!({ "const": one }),
        many => json!({ "enum": many }),
    };
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        properties.insert("type".into(), type_schema);
        properties.insert(
            "max_visits".into(),
            json!({
                "description": "Visits of this node per call before `on_max_visits` (default: limits.max_visits_per_node, 10).",
                "type": "integer",
                "minimum": 1
            }),
        );
        properties.insert(
            "on_max_visits".into(),
            json!({
                "description": "Where to go when `max_visits` is reached (default: defaults.on_error).",
                "type": "string"
            }),
        );
    }
    object.insert("title".into(), names.join(" / ").into());
    object.insert("additionalProperties".into(), false.into());
    require(object, "type");
    schema
}

impl JsonSchema for FlowNode {
    fn schema_name() -> Cow<'static, str> {
        "FlowNode".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let branches = vec![
            node_branch::<Say>(generator, &["say", "play"]),
            node_branch::<Menu>(generator, &["menu"]),
            node_branch::<Gather>(generator, &["gather"]),
            node_branch::<ScheduleNode>(generator, &["schedule"]),
            node_branch::<Branch>(generator, &["branch"]),
            node_branch::<SetNode>(generator, &["set"]),
            node_branch::<SetLanguage>(generator, &["set_language"]),
            node_branch::<Queue>(generator, &["queue"]),
            node_branch::<Callback>(generator, &["callback"]),
            node_branch::<Transfer>(generator, &["transfer"]),
            node_branch::<Voicemail>(generator, &["voicemail"]),
            node_branch::<Directory>(generator, &["directory"]),
            node_branch::<AiAgent>(generator, &["ai_agent"]),
            node_branch::<Http>(generator, &["http"]),
            node_branch::<Goto>(generator, &["goto"]),
            node_branch::<Subflow>(generator, &["subflow"]),
            node_branch::<Return>(generator, &["return"]),
            node_branch::<Hangup>(generator, &["hangup"]),
        ];
        let value = json!({
            "description": "A node: `type` selects the fields (IVR-FLOWS.md §4).",
            "type": "object",
            // Listed at the top as well, so editors offer the type names before a branch is known.
            "properties": { "type": { "enum": NODE_TYPES } },
            "required": ["type"],
            "oneOf": branches,
        });
        Schema::try_from(value).unwrap_or_default()
    }
}

/// A value the validator reads as text (`priority: 3`, `yes_key: 1`, `extension: 4000`).
/// Unquoted `5` or `true` is fine there: marked-yaml hands every scalar to serde as a string, so
/// the schema must not flag what `flows check` accepts.
pub(crate) fn scalar(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({ "type": ["string", "number", "boolean", "null"] })
}

/// A map of names to such values (`set.vars`, `subflow.params`, `routes.set`).
pub(crate) fn scalar_map(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": { "type": ["string", "number", "boolean"] }
    })
}

/// A copy with every object's keys inserted in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marked_yaml::Node;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// YAML to JSON with the YAML 1.2 core schema, which is what yaml-language-server applies
    /// when it checks a file against these schemas: quoted scalars are strings, unquoted ones
    /// may be null, booleans or numbers.
    fn to_json(node: &Node) -> Value {
        match node {
            Node::Scalar(s) => {
                let text = s.as_str();
                if !s.may_coerce() {
                    return Value::String(text.to_owned());
                }
                let number =
                    regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
                        .unwrap();
                match text {
                    "" | "~" | "null" | "Null" | "NULL" => Value::Null,
                    "true" | "True" | "TRUE" => Value::Bool(true),
                    "false" | "False" | "FALSE" => Value::Bool(false),
                    _ if text.parse::<i64>().is_ok() => json!(text.parse::<i64>().unwrap()),
                    _ if number.is_match(text) => json!(text.parse::<f64>().unwrap()),
                    _ => Value::String(text.to_owned()),
                }
            }
            Node::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
            Node::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), to_json(v)))
                    .collect(),
            ),
        }
    }

    fn yaml(text: &str) -> Value {
        let mut problems = Vec::new();
        let node = crate::ivr::yaml::parse("test.yaml", text, &mut problems).unwrap();
        to_json(&node)
    }

    fn schema(name: &str) -> Value {
        schema_files()
            .into_iter()
            .find(|f| f.file_name == name)
            .unwrap()
            .schema
    }

    fn errors(schema: &Value, instance: &Value) -> Vec<String> {
        let validator = jsonschema::draft7::new(schema).unwrap();
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    const FLOW: &str = include_str!("../../ivr-flows/flows/support-main.yaml");

    #[test]
    fn shipped_schemas_equal_the_generated_ones() {
        for file in schema_files() {
            let path = format!("{ROOT}/{SCHEMA_DIR}/{}", file.file_name);
            let shipped = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                shipped == file.text(),
                "{path} is out of date: run `switchboard flows schema` and commit the result"
            );
            assert!(
                jsonschema::meta::is_valid(&file.schema),
                "{} is not a valid JSON Schema",
                file.file_name
            );
        }
    }

    #[test]
    fn shipped_yaml_files_name_their_schema_and_validate() {
        let cases = [
            (
                "ivr-flows/flows/support-main.yaml",
                "../schema/flow.schema.json",
            ),
            ("ivr-flows/routes.yaml", "schema/routes.schema.json"),
            ("ivr-flows/voices.yaml", "schema/voices.schema.json"),
            ("ivr-flows/schedules.yaml", "schema/schedules.schema.json"),
        ];
        for (file, schema_path) in cases {
            let text = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
            let modeline = format!("# yaml-language-server: $schema={schema_path}");
            assert_eq!(text.lines().next(), Some(modeline.as_str()), "{file}");
            let schema_file = std::path::Path::new(ROOT)
                .join(file)
                .parent()
                .unwrap()
                .join(schema_path);
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&schema_file).unwrap()).unwrap();
            assert_eq!(
                errors(&schema, &yaml(&text)),
                Vec::<String>::new(),
                "{file}"
            );
        }
    }

    #[test]
    fn example_1_validates_and_an_unknown_node_field_is_rejected() {
        let schema = schema("flow.schema.json");
        assert_eq!(errors(&schema, &yaml(FLOW)), Vec::<String>::new());

        let bad = FLOW.replace(
            "    interruptible: true\n",
            "    interruptible: true\n    colour: red\n",
        );
        assert_ne!(bad, FLOW);
        let found = errors(&schema, &yaml(&bad));
        assert!(!found.is_empty());
        assert!(
            found.iter().all(|e| e.contains("/nodes/welcome")),
            "{found:#?}"
        );
    }

    #[test]
    fn node_types_aliases_shared_fields_and_header_keys() {
        let schema = schema("flow.schema.json");
        let flow = |nodes: &str| yaml(&format!("version: 1\nid: t\nstart: a\nnodes:\n{nodes}"));
        // `play` is `say`; every type takes max_visits/on_max_visits.
        let ok = flow(
            "  a: { type: play, prompt: hi, next: b, max_visits: 2, on_max_visits: b }\n  b: { type: hangup, max_visits: 1 }\n",
        );
        assert_eq!(errors(&schema, &ok), Vec::<String>::new());
        // A field of another type, an unknown type, a missing required field, a bad id.
        for nodes in [
            "  a: { type: hangup, next: b }\n",
            "  a: { type: sya, prompt: hi, next: b }\n",
            "  a: { type: say, prompt: hi }\n",
            "  Bad-Id: { type: hangup }\n",
            "  a: { type: say, prompt: { tetx: hi }, next: b }\n",
        ] {
            assert!(!errors(&schema, &flow(nodes)).is_empty(), "{nodes}");
        }
        // Unknown header key.
        let header = yaml("version: 1\nid: t\nstrat: a\nnodes: {}\n");
        assert!(!errors(&schema, &header).is_empty());
        // Unquoted numbers where the validator reads text.
        let numbers = flow(
            "  a: { type: queue, queue: q, priority: 3, callback: { key: 1 }, on_max_wait: b, on_no_agents: b, on_full: b }\n  b: { type: transfer, to: { extension: 4000 } }\n",
        );
        assert_eq!(errors(&schema, &numbers), Vec::<String>::new());
        // Language maps and prompt objects are both prompts.
        let prompts = flow(
            "  a: { type: say, prompt: { en-US: hi, es-US: { text: hola, voice: es } }, next: b }\n  b: { type: hangup, prompt: [{ sound: x }, { pause: 1s }] }\n",
        );
        assert_eq!(errors(&schema, &prompts), Vec::<String>::new());
    }

    #[test]
    fn unquoted_numbers_are_flagged_as_the_validator_does() {
        let schema = schema("routes.schema.json");
        let routes = yaml("version: 1\nroutes:\n  - match: { did: +14155550100 }\n    flow: x\n");
        let found = errors(&schema, &routes);
        assert!(
            found.iter().any(|e| e.contains("/routes/0/match/did")),
            "{found:#?}"
        );
    }
}
