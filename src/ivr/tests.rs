//! Example 1 and its broken variants (IVR-FLOWS.md §10), plus one test per rule.

use chrono::{TimeZone, Utc};

use super::*;

pub(super) const FLOW: &str = include_str!("../../ivr-flows/flows/support-main.yaml");
pub(super) const ROUTES: &str = include_str!("../../ivr-flows/routes.yaml");
pub(super) const SCHEDULES: &str = include_str!("../../ivr-flows/schedules.yaml");
pub(super) const VOICES: &str = include_str!("../../ivr-flows/voices.yaml");
pub(super) const FLOW_PATH: &str = "ivr-flows/flows/support-main.yaml";
/// The other shipped flows, valid and untouched by the variants; `routes.yaml` names one.
const OTHER_FLOWS: [(&str, &str); 2] = [
    (
        "ivr-flows/flows/bilingual-front.yaml",
        include_str!("../../ivr-flows/flows/bilingual-front.yaml"),
    ),
    (
        "ivr-flows/flows/common/after-hours.yaml",
        include_str!("../../ivr-flows/flows/common/after-hours.yaml"),
    ),
];

pub(super) fn file(path: &str, text: &str) -> Option<SourceFile> {
    Some(SourceFile {
        path: path.into(),
        text: text.into(),
    })
}

pub(super) fn sources(flow: &str, routes: &str) -> Sources {
    Sources {
        flows: std::iter::once(SourceFile {
            path: FLOW_PATH.into(),
            text: flow.into(),
        })
        .chain(OTHER_FLOWS.iter().map(|(path, text)| SourceFile {
            path: (*path).into(),
            text: (*text).into(),
        }))
        .collect(),
        routes: file("ivr-flows/routes.yaml", routes),
        schedules: file("ivr-flows/schedules.yaml", SCHEDULES),
        voices: file("ivr-flows/voices.yaml", VOICES),
    }
}

pub(super) fn run(flow: &str, routes: &str) -> Report {
    validate(
        &sources(flow, routes),
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
    )
}

/// Replaces exactly one occurrence, so a variant cannot silently do nothing.
pub(super) fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "variant anchor {from:?} must occur once"
    );
    text.replacen(from, to, 1)
}

pub(super) fn variant(from: &str, to: &str) -> Report {
    run(&edit(FLOW, from, to), ROUTES)
}

/// A small flow for rule tests; `nodes` is indented by four spaces.
pub(super) fn mini(nodes: &str) -> String {
    format!(
        "version: 1\nid: support-main\nchannels: [voice]\nlanguages: [en-US]\ndefaults: {{ on_error: bye }}\nvariables: {{ x: {{ type: string }}, opens: {{ type: string }}, answer: {{ type: string }} }}\nstart: hello\nnodes:\n  bye: {{ type: hangup }}\n{nodes}"
    )
}

/// Routes for the rule tests: none, so `routes.set` does not meet a flow without `region`.
pub(super) const NO_ROUTES: &str = "version: 1\nroutes: []\n";

pub(super) fn run_mini(nodes: &str) -> Report {
    run(&mini(nodes), NO_ROUTES)
}

#[test]
fn example_1_is_valid() {
    let report = run(FLOW, ROUTES);
    assert!(report.valid, "{report:#?}");
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "{report:#?}"
    );
}

#[test]
fn example_folder_loads_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows");
    let sources = load_dir(&dir).unwrap();
    let ids: Vec<String> = sources
        .flows
        .iter()
        .map(|f| flow_id_from_path(&f.path))
        .collect();
    assert_eq!(
        ids,
        ["bilingual-front", "common/after-hours", "support-main"]
    );
    let report = validate(
        &sources,
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
    );
    assert!(report.valid, "{report:#?}");
}

#[test]
fn variant_1a_missing_target_and_grouped_unreachable() {
    let report = variant("\"2\": billing_account", "\"2\": biling_account");
    assert_eq!(report.codes(), ["IVR006", "IVR009"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/main_menu/options/2");
    assert_eq!(d.node.as_deref(), Some("main_menu"));
    assert_eq!(
        d.message,
        "option \"2\" goes to 'biling_account', which is not a node of flow 'support-main'"
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean 'billing_account'?"));
    let span = d.span.unwrap();
    assert_eq!(
        FLOW.lines().nth(span.line - 1).unwrap().trim(),
        "\"2\": billing_account"
    );
    let w = &report.warnings[0];
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(
        w.message,
        "7 nodes unreachable from 'welcome': billing_account, account_lookup, account_not_found, billing_balance, billing_priority, raise_priority, q_billing"
    );
}

#[test]
fn variant_1b_direct_dial_clash() {
    let report = variant("extensions: [\"4000-4999\"]", "extensions: [\"1000-4999\"]");
    assert_eq!(report.codes(), ["IVR012"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/main_menu/direct_dial");
    assert!(
        d.message.starts_with(
            "options \"1\", \"2\" and \"3\" are also first digits of direct-dial range 1000-4999"
        ),
        "{}",
        d.message
    );
    assert!(d.message.contains("3s inter-digit timeout"));
    assert!(d.hint.as_deref().unwrap().contains("move"));
}

#[test]
fn variant_1c_duplicate_menu_option() {
    let report = variant(
        "\"0\": operator\n      \"*\"",
        "\"0\": operator\n      \"0\": q_orders\n      \"*\"",
    );
    assert_eq!(report.codes(), ["IVR003"]);
    let d = &report.errors[0];
    let first_line = FLOW
        .lines()
        .position(|l| l.trim() == "\"*\": \"@repeat\"")
        .unwrap();
    assert_eq!(
        d.message,
        format!("duplicate menu option or key \"0\" (first defined at line {first_line})")
    );
    assert_eq!(d.span.unwrap().line, first_line + 1);
}

#[test]
fn variant_1d_loop_without_exit() {
    let report = variant(
        "    prompt: \"We're closed today for the holiday.\"\n    next: after_hours\n",
        "    prompt: \"We're closed today for the holiday.\"\n    next: holiday_repeat\n\n  holiday_repeat:\n    type: say\n    prompt: \"Still closed.\"\n    next: holiday_closed\n",
    );
    assert_eq!(report.codes(), ["IVR010"]);
    assert_eq!(
        report.errors[0].message,
        "no exit from cycle holiday_closed → holiday_repeat → holiday_closed: callers stay here until they hang up"
    );
}

#[test]
fn variant_1g_missing_holiday_target() {
    let report = variant("holiday: holiday_closed", "holiday: holiday_msg");
    assert_eq!(report.codes(), ["IVR006", "IVR009"]);
    assert_eq!(report.errors[0].path, "/nodes/hours/holiday");
    assert_eq!(
        report.warnings[0].message,
        "node 'holiday_closed' is unreachable from 'welcome'"
    );
}

#[test]
fn variant_1h_unknown_schedule() {
    let report = variant(
        "schedule: support-hours\n    open",
        "schedule: support-hour\n    open",
    );
    assert_eq!(report.codes(), ["IVR014"]);
    assert_eq!(report.errors[0].message, "unknown schedule 'support-hour'");
    assert_eq!(report.errors[0].hint.as_deref(), Some("support-hours"));
}

#[test]
fn variant_1j_undeclared_template_variable() {
    let report = variant("balance is {{balance_due}}.", "balance is {{balance}}.");
    assert_eq!(report.codes(), ["IVR016"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/billing_balance/prompt");
    assert_eq!(d.message, "undeclared variable 'balance'");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'balance_due'?"));
}

#[test]
fn ivr016_builtins_and_ivr023_secret_outside_headers() {
    let report = run_mini(
        "  hello: { type: say, prompt: \"{{call.caller_number | digits}} {{secret.token}} {{call.nope}}\", next: bye }\n",
    );
    assert_eq!(report.codes(), ["IVR023", "IVR016"]);
    assert!(report.errors[0].message.contains("outside http headers"));
    assert_eq!(template_names("a {{ x | digits }} b {{y}}"), ["x", "y"]);
}

#[test]
fn variant_1k_http_timeout() {
    let report = variant(
        "timeout: \"3s\"\n    filler",
        "timeout: \"30s\"\n    filler",
    );
    assert_eq!(report.codes(), ["IVR019"]);
    assert_eq!(
        report.errors[0].message,
        "http timeout 30s exceeds the 10s maximum; callers hear silence. Use `filler` and a shorter timeout."
    );
    assert_eq!(report.errors[0].path, "/nodes/account_lookup/timeout");
}

#[test]
fn variant_1l_unhandled_failure_exits() {
    let flow = edit(FLOW, "  on_error: operator\n", "");
    let flow = edit(&flow, "    on_failure: vm_support\n", "");
    let report = run(&flow, ROUTES);
    assert_eq!(report.codes(), ["IVR026"; 5]);
    let at: Vec<_> = report
        .errors
        .iter()
        .map(|d| (d.node.as_deref().unwrap(), d.message.as_str()))
        .collect();
    assert!(at.contains(&(
        "operator",
        "failure exit 'on_failure' has no target and the flow has no defaults.on_error"
    )));
    for queue in ["q_billing", "q_internet", "q_tv", "q_orders"] {
        assert!(
            at.contains(&(
                queue,
                "failure exit 'on_full' has no target and the flow has no defaults.on_error"
            )),
            "{queue}"
        );
    }
}

#[test]
fn variant_1m_duplicate_did() {
    let routes = edit(
        ROUTES,
        "  - match: { did_prefix",
        "  - match: { did: \"+14155550100\" }\n    flow: support-main\n  - match: { did_prefix",
    );
    let report = run(FLOW, &routes);
    assert_eq!(report.codes(), ["IVR024"]);
    let d = &report.errors[0];
    assert_eq!(
        d.message,
        "DID +14155550100 already routed to 'support-main' at routes.yaml:4"
    );
    assert_eq!(d.path, "/routes/1/match/did");
    // After the first route's flow, name, failover and emergency notes.
    assert_eq!(d.span.unwrap().line, 9);
}

#[test]
fn variant_1n_unquoted_did() {
    let routes = edit(ROUTES, "did: \"+14155550100\"", "did: +14155550100");
    let report = run(FLOW, &routes);
    assert_eq!(report.codes(), ["IVR002"]);
    assert_eq!(
        report.errors[0].message,
        "match.did must be a string; YAML read an integer. Quote E.164 numbers."
    );
    assert_eq!(report.errors[0].path, "/routes/0/match/did");
}

#[test]
fn variant_1q_priority_out_of_range() {
    let report = variant("priority: { from: queue_priority }", "priority: 0");
    assert_eq!(report.codes(), ["IVR019"]);
    assert_eq!(report.errors[0].message, "priority must be 1–10");
}

#[test]
fn ivr001_syntax_error_has_span() {
    let report = run_mini("  hello:\n    type: menu\n    prompt: hi\n    options: { *: bye }\n");
    assert_eq!(report.codes(), ["IVR001"]);
    assert_eq!(report.errors[0].span.unwrap().line, 13);
    assert!(report.errors[0].hint.as_deref().unwrap().contains("quote"));
}

#[test]
fn ivr002_unknown_key_wrong_type_missing_field_all_reported() {
    let report = run_mini(
        "  hello: { type: say, prompt: hi, next: bye, colour: red }\n  two: { type: gather, prompt: x, into: y, max_digits: many, next: bye, on_max_attempts: bye }\n  three: { type: say, prompt: hi }\n  four: { type: sya, prompt: hi, next: bye }\n",
    );
    let codes = report.codes();
    assert_eq!(
        codes.iter().filter(|c| **c == "IVR002").count(),
        4,
        "{report:#?}"
    );
    let messages: Vec<_> = report
        .errors
        .iter()
        .map(|d| {
            (
                d.node.as_deref(),
                d.message.as_str(),
                d.span.map(|s| s.line),
            )
        })
        .collect();
    assert!(
        messages
            .iter()
            .any(|(n, m, l)| *n == Some("hello") && m.contains("colour") && *l == Some(10)),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|(n, m, l)| *n == Some("two")
            && *m == "max_digits: expected a whole number"
            && *l == Some(11)),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(n, m, _)| *n == Some("three") && m.contains("next")),
        "{messages:?}"
    );
    let typo = report
        .errors
        .iter()
        .find(|d| d.node.as_deref() == Some("four"))
        .unwrap();
    assert_eq!(typo.hint.as_deref(), Some("did you mean 'say'?"));
}

#[test]
fn ivr002_bare_integer_duration() {
    let report = run_mini(
        "  hello: { type: menu, prompt: hi, options: { \"1\": bye }, timeout: 6, on_max_attempts: bye }\n",
    );
    assert_eq!(report.codes(), ["IVR002"]);
    assert!(report.errors[0].hint.as_deref().unwrap().contains("\"6s\""));
}

#[test]
fn ivr002_yaml_11_pitfalls() {
    let report =
        run_mini("  hello: { type: set, vars: { opens: 09:00, answer: no }, next: bye }\n");
    assert_eq!(report.codes(), ["IVR002", "IVR002"]);
    assert!(report.errors[0].message.contains("base-60"));
    assert!(report.errors[1].message.contains("boolean"));
}

#[test]
fn ivr003_duplicate_node_id() {
    let report = run_mini("  hello: { type: hangup }\n  hello: { type: hangup }\n");
    assert_eq!(report.codes(), ["IVR003"]);
    assert_eq!(report.errors[0].span.unwrap().line, 11);
}

#[test]
fn ivr004_bad_identifiers() {
    let report = run_mini(
        "  hello: { type: say, prompt: hi, next: Main-Menu }\n  Main-Menu: { type: hangup }\n  defaults: { type: hangup }\n",
    );
    let d: Vec<_> = report
        .errors
        .iter()
        .filter(|d| d.code == "IVR004")
        .collect();
    assert_eq!(d.len(), 2, "{report:#?}");
    assert_eq!(d[0].hint.as_deref(), Some("try 'main_menu'"));
    assert!(d[1].message.contains("reserved"));
}

#[test]
fn ivr005_start_missing_or_unknown() {
    let report = run(
        &mini("  hello: { type: hangup }\n").replace("start: hello\n", ""),
        NO_ROUTES,
    );
    assert_eq!(report.codes(), ["IVR005"]);
    let report = run(
        &mini("  hello: { type: hangup }\n").replace("start: hello", "start: helo"),
        NO_ROUTES,
    );
    assert_eq!(report.codes(), ["IVR005"]);
    assert_eq!(
        report.errors[0].hint.as_deref(),
        Some("did you mean 'hello'?")
    );
}

#[test]
fn ivr006_unknown_special_target() {
    let report = run_mini("  hello: { type: say, prompt: hi, next: \"@back\" }\n");
    assert_eq!(report.codes(), ["IVR006", "IVR009"]);
    assert!(
        report.errors[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("@repeat")
    );
}

#[test]
fn ivr009_separate_groups() {
    let report = run_mini(
        "  hello: { type: say, prompt: hi, next: bye }\n  a: { type: say, prompt: a, next: b }\n  b: { type: hangup }\n  c: { type: hangup }\n",
    );
    assert_eq!(report.codes(), ["IVR009", "IVR009"]);
    assert_eq!(
        report.warnings[0].message,
        "2 nodes unreachable from 'hello': a, b"
    );
}

#[test]
fn ivr010_and_ivr011_tight_loop() {
    let report = run_mini(
        "  hello: { type: set, vars: { x: \"1\" }, next: check }\n  check: { type: branch, cases: [{ when: \"x == '1'\", goto: hello }], default: hello }\n",
    );
    assert_eq!(report.codes(), ["IVR010", "IVR011", "IVR009"]); // `bye` is reachable only from the loop's failure exits: none
    assert!(
        report.errors[1]
            .message
            .starts_with("tight loop hello → check → hello"),
        "{}",
        report.errors[1].message
    );
}

#[test]
fn ivr011_not_reported_when_the_loop_has_an_exit() {
    let report = run_mini(
        "  hello: { type: http, method: GET, url: \"https://x.example/\", on_success: hello, on_error: bye, on_timeout: bye }\n",
    );
    assert_eq!(report.codes(), ["IVR011"]);
}

#[test]
fn ivr012_option_prefix_and_bad_key() {
    let report = run_mini(
        "  hello: { type: menu, prompt: hi, options: { \"1\": bye, \"12\": bye, \"a\": bye }, on_max_attempts: bye }\n",
    );
    assert_eq!(report.codes(), ["IVR012", "IVR012"]);
    assert!(report.errors.iter().any(|d| d.message.contains("prefix")));
    assert!(
        report
            .errors
            .iter()
            .any(|d| d.path == "/nodes/hello/options/a")
    );
}

#[test]
fn ivr014_schedule_problems_are_mapped() {
    let mut s = sources(FLOW, ROUTES);
    s.schedules = file(
        "ivr-flows/schedules.yaml",
        &SCHEDULES.replace("America/Los_Angeles", "America/Los_Angles"),
    );
    let report = validate(&s, Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap());
    assert_eq!(report.codes(), ["IVR014"]);
    assert!(report.errors[0].span.is_some());
}

#[test]
fn ivr019_attempts_range() {
    let report = run_mini(
        "  hello: { type: menu, prompt: hi, options: { \"1\": bye }, max_attempts: 11, on_max_attempts: bye }\n",
    );
    assert_eq!(report.codes(), ["IVR019"]);
}

#[test]
fn ivr024_bad_did_and_unknown_flow() {
    let routes = "version: 1\nroutes:\n  - match: { did: \"4155550100\" }\n    flow: support-main\n  - match: { did: \"+14155550101\" }\n    flow: suport-main\n";
    let report = run(FLOW, routes);
    assert_eq!(report.codes(), ["IVR024", "IVR024"]);
    assert_eq!(
        report.errors[1].hint.as_deref(),
        Some("did you mean 'support-main'?")
    );
}

#[test]
fn ivr026_on_error_node_falls_back_to_itself() {
    let flow = mini("  hello: { type: say, prompt: hi, next: op }\n  op: { type: transfer, to: { extension: \"4000\" }, on_busy: bye, on_no_answer: bye }\n")
        .replace("on_error: bye", "on_error: op");
    let report = run(&flow, NO_ROUTES);
    assert_eq!(report.codes(), ["IVR026"]);
    assert!(report.errors[0].message.contains("fall back to itself"));
}

#[test]
fn diagnostic_json_shape() {
    let report = variant("\"2\": billing_account", "\"2\": biling_account");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["valid"], false);
    let e = &json["errors"][0];
    assert_eq!(e["code"], "IVR006");
    assert_eq!(e["severity"], "error");
    assert_eq!(e["file"], FLOW_PATH);
    assert_eq!(e["path"], "/nodes/main_menu/options/2");
    assert_eq!(e["node"], "main_menu");
    for key in ["line", "column", "end_line", "end_column"] {
        assert!(e["span"][key].is_u64(), "{key}");
    }
    assert_eq!(json["warnings"][0]["severity"], "warning");
}

#[test]
fn prompts_decode_all_forms() {
    let report = run_mini(
        "  hello:\n    type: say\n    prompt:\n      - \"Hi {{call.caller_number}}\"\n      - { sound: acme/welcome }\n      - { pause: 500ms }\n      - { en-US: Hello, es-US: { text: Hola, voice: es-US-main } }\n    next: bye\n",
    );
    // Every form decodes (no IVR002); the only finding is the language the mini flow does not
    // declare.
    assert_eq!(report.codes(), ["IVR020"], "{report:#?}");
    assert!(report.errors[0].message.contains("'es-US'"));
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration_ms("1500ms"), Some(1500));
    assert_eq!(parse_duration_ms("20m"), Some(1_200_000));
    assert_eq!(parse_duration_ms("6"), None);
    assert_eq!(parse_duration_ms("6 s"), None);
    assert!(is_e164("+14155550100") && !is_e164("+04155550100") && !is_e164("14155550100"));
    // What publishing accepts as a SIP URI is what a call can put in a dial string.
    assert!(is_dialable_sip_uri("sip:alice@example.com"));
    assert!(is_dialable_sip_uri(
        "sips:desk@pbx.example.com:5061;transport=tls"
    ));
    for bad in [
        "sip:example.com",
        "tel:+14155550100",
        "sip:a@b.com&PJSIP/evil",
        "sip:a b@example.com",
        "sip:a@b.com,30",
        "sip:@host",
        "sip:user@",
    ] {
        assert!(!is_dialable_sip_uri(bad), "{bad}");
    }
}

#[test]
fn ivr007_unknown_flow_and_ivr008_recursion() {
    let a = "version: 1\nid: a\nstart: s\nnodes:\n  s: { type: subflow, flow: b, returns: { done: h } }\n  h: { type: hangup }\n";
    let b = "version: 1\nid: b\nstart: s\nnodes:\n  s: { type: subflow, flow: a, returns: { done: g } }\n  g: { type: goto, flow: nowhere }\n";
    let s = Sources {
        flows: vec![
            SourceFile {
                path: "ivr-flows/flows/a.yaml".into(),
                text: a.into(),
            },
            SourceFile {
                path: "ivr-flows/flows/b.yaml".into(),
                text: b.into(),
            },
        ],
        ..Sources::default()
    };
    let report = validate(&s, Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap());
    assert_eq!(report.codes(), ["IVR007", "IVR008"]);
    assert_eq!(report.errors[0].path, "/nodes/g/flow");
    assert_eq!(
        report.errors[1].message,
        "sub-flow recursion cycle a → b → a"
    );
}

#[test]
fn ivr015_unknown_voice_profile() {
    let report = variant("voice: en-US-main", "voice: en-US-mian");
    assert_eq!(report.codes(), ["IVR015"]);
    assert_eq!(
        report.errors[0].hint.as_deref(),
        Some("did you mean 'en-US-main'?")
    );
}

#[test]
fn ivr022_voice_nodes_in_chat_flow() {
    let flow = mini(
        "  hello: { type: menu, prompt: hi, options: { \"1\": bye }, on_max_attempts: bye }\n",
    )
    .replace("channels: [voice]", "channels: [chat]");
    let report = run(&flow, NO_ROUTES);
    assert_eq!(report.codes(), ["IVR022"]);
    assert_eq!(report.errors[0].path, "/nodes/hello/type");
}

#[test]
fn ivr025_ai_agent_without_path_to_human() {
    let report = run_mini("  hello: { type: ai_agent, agent: helper, on_done: bye }\n");
    assert_eq!(report.codes(), ["IVR025"]);
    let report = run_mini(
        "  hello: { type: ai_agent, agent: helper, on_done: bye, on_handoff: { billing: bye } }\n",
    );
    assert!(report.valid, "{report:#?}");
}

#[test]
fn ivr018_bad_numbers_and_sip() {
    let report = run_mini(
        "  hello: { type: transfer, to: { number: \"4155550100\" }, caller_id: \"+1 415\", on_busy: bye, on_no_answer: bye, on_failure: bye }\n  two: { type: transfer, to: { sip: \"agent@pbx\" }, on_busy: bye, on_no_answer: bye, on_failure: bye }\n",
    );
    let errors: Vec<_> = report
        .errors
        .iter()
        .map(|d| (d.code, d.path.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ("IVR018", "/nodes/hello/to/number"),
            ("IVR018", "/nodes/hello/caller_id"),
            ("IVR018", "/nodes/two/to/sip")
        ]
    );
}

#[test]
fn ivr020_prompts_cover_every_declared_language_and_no_other() {
    let bilingual = |nodes: &str| {
        run(
            &mini(nodes).replace("languages: [en-US]", "languages: [en-US, es-US]"),
            NO_ROUTES,
        )
    };
    // Covered: a map with both, and language-neutral parts.
    let ok = bilingual(
        "  hello: { type: say, prompt: [{ en-US: \"Hello\", es-US: \"Hola\" }, { pause: \"500ms\" }], next: bye }\n",
    );
    assert_eq!(ok.codes(), Vec::<&str>::new());
    let report = bilingual(
        "  hello: { type: say, prompt: { en-US: \"Hello\", fr-FR: \"Bonjour\" }, next: speak }\n  speak: { type: say, prompt: \"Plain text\", next: lang }\n  lang: { type: set_language, language: de-DE, next: bye }\n",
    );
    assert_eq!(
        report.codes(),
        ["IVR020", "IVR020", "IVR020", "IVR020"],
        "{report:#?}"
    );
    let messages: Vec<&str> = report.errors.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("'fr-FR', which the flow does not declare")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("no variant for 'es-US'")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("text plays in every language")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("'de-DE' is not a language of this flow")),
        "{messages:?}"
    );
    // One language: plain text is the call's language.
    assert_eq!(
        run_mini("  hello: { type: say, prompt: \"Hello\", next: bye }\n").codes(),
        Vec::<&str>::new()
    );
}
