//! Termination guards, PII, sub-flows, languages and hand-overs, on purpose-made flows.

use super::*;
use crate::ivr::expr::Value;

/// A PIN loop that only the guards end: `ask → again → ask …`.
fn pin_loop(defaults: &str, limits: &str, again_extra: &str) -> Catalog {
    single("pin", &pin_yaml(defaults, limits, again_extra))
}

/// The flow file of [`pin_loop`].
fn pin_yaml(defaults: &str, limits: &str, again_extra: &str) -> String {
    format!(
        r#"version: 1
id: pin
channels: [voice]
languages: [en-US]
defaults: {{ language: en-US{defaults} }}
limits: {limits}
variables:
  pin: {{ type: digits, pii: true }}
start: ask
nodes:
  ask:
    type: gather
    prompt: "Enter your PIN."
    into: pin
    max_digits: 4
    next: again
    on_max_attempts: bye
  again:
    type: say
    prompt: "Your PIN is {{{{pin}}}}."
    next: ask{again_extra}
  bye:
    type: hangup
    prompt: "Goodbye."
"#
    )
}

fn pin_call(cat: Catalog) -> Call {
    let mut call = Call::new(cat, config(), OPEN);
    let first = call.start(Some("pin"), "+14155550100");
    assert_eq!(heard(&first), ["Enter your PIN."]);
    call
}

#[test]
fn a_pii_value_is_spoken_uncached_and_masked_in_the_log() {
    let mut call = pin_call(pin_loop(", on_error: bye", "{ max_steps: 50 }", ""));
    call.listen();
    let said = call.press("1234");
    assert_eq!(heard(&said), ["Your PIN is 1234."]);
    let Some(Action::Play { items, .. }) = said.iter().find(|a| matches!(a, Action::Play { .. }))
    else {
        panic!("{said:?}")
    };
    assert!(
        matches!(&items[0], PlayItem::Tts { cacheable: false, language, .. } if language == "en-US")
    );
    let ask = events(&said).into_iter().find(|e| e.node == "ask").unwrap();
    assert_eq!(ask.digits.as_deref(), Some("****"));
    assert!(!format!("{:?}", events(&call.log)).contains("1234"));
    assert_eq!(call.session.var("pin"), Some(&Value::Str("1234".into())));
    // The prompt before any PII is cacheable.
    assert!(
        call.log
            .iter()
            .any(|a| matches!(a, Action::Play { items, .. }
        if matches!(&items[0], PlayItem::Tts { cacheable: true, .. })))
    );
}

#[test]
fn the_step_budget_sends_a_looping_call_to_on_error() {
    let mut call = pin_call(pin_loop(", on_error: bye", "{ max_steps: 6 }", ""));
    let mut last = Vec::new();
    for _ in 0..3 {
        call.listen();
        call.press("1234");
        last = call.listen();
    }
    assert_eq!(heard(&last), ["Goodbye."]);
    let guard = events(&last)
        .into_iter()
        .find(|e| e.exit == "max_steps")
        .unwrap();
    assert_eq!(guard.node, "ask");
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Flow));
}

#[test]
fn with_no_on_error_a_guard_breach_apologizes_and_hangs_up() {
    let mut call = pin_call(pin_loop("", "{ max_steps: 3 }", ""));
    let last = breach(&mut call);
    assert_eq!(heard(&last), [super::super::session::APOLOGY]);
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Guard));
    assert!(call.session.is_finished());
}

#[test]
fn a_node_visit_cap_without_on_max_visits_takes_on_error() {
    let mut call = pin_call(pin_loop(
        ", on_error: bye",
        "{ max_steps: 100 }",
        "\n    max_visits: 2",
    ));
    call.listen();
    call.press("1111");
    call.listen();
    call.listen();
    call.press("2222");
    call.listen();
    call.listen();
    let third = call.press("3333");
    assert_eq!(heard(&third), ["Goodbye."]);
    let cap = events(&third)
        .into_iter()
        .find(|e| e.exit == "on_max_visits")
        .unwrap();
    assert_eq!(
        (cap.node.as_str(), cap.detail.as_deref()),
        ("again", Some("visit cap 2 reached"))
    );
}

#[test]
fn max_ivr_time_is_checked_on_the_next_event() {
    let mut call = pin_call(pin_loop(", on_error: bye", "{ max_ivr_time: \"1m\" }", ""));
    let guard = call
        .log
        .iter()
        .find_map(|a| match a {
            Action::StartTimer { after_ms, .. } => Some(*after_ms),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        guard, 60_000,
        "the adapter gets a timer so a silent call is checked too"
    );
    call.listen();
    call.now += TimeDelta::seconds(61);
    let late = call.press("1");
    assert_eq!(heard(&late), ["Goodbye."]);
    assert!(events(&late).iter().any(|e| e.exit == "max_ivr_time"));
}

fn catalog(files: &[(&str, &str)]) -> Catalog {
    let sources = Sources {
        flows: files
            .iter()
            .map(|(id, text)| SourceFile {
                path: format!("ivr-flows/flows/{id}.yaml"),
                text: (*text).to_owned(),
            })
            .collect(),
        ..Sources::default()
    };
    let (catalog, report) = compile(&sources, at(OPEN));
    assert!(report.valid, "{:#?}", report.errors);
    catalog.unwrap()
}

const FRONT: &str = r#"version: 1
id: front
channels: [voice]
languages: [en-US, es-US]
defaults: { language: en-US, on_error: bye }
start: pick
nodes:
  pick:
    type: menu
    prompt: { en-US: "For English press 1. Para español oprima 2.", es-US: "Para español oprima 2." }
    options: { "1": ask_ai, "2": spanish }
  spanish:
    type: set_language
    language: es-US
    next: ask_ai
  ask_ai:
    type: subflow
    flow: common/ai
    returns: { human: people, done: bye }
  people:
    type: directory
    directory: staff
    on_not_found: bye
  bye:
    type: hangup
    prompt: { en-US: "Goodbye.", es-US: "Adiós." }
"#;

const AI: &str = r#"version: 1
id: common/ai
channels: [voice]
languages: [en-US, es-US]
defaults: { language: en-US }
start: agent
nodes:
  agent:
    type: ai_agent
    agent: helper
    greeting: { en-US: "Hi, how can I help?", es-US: "Hola, ¿cómo puedo ayudar?" }
    on_handoff: to_human
    on_done: finished
    on_error: to_human
  to_human: { type: return, value: human }
  finished: { type: return, value: done }
"#;

fn front_call() -> Call {
    let mut config = config();
    config.directory = vec![DirectoryEntry {
        first_name: "Ada".into(),
        last_name: "Smith".into(),
        extension: "4100".into(),
    }];
    let mut call = Call::new(
        catalog(&[("front", FRONT), ("common/ai", AI)]),
        config,
        OPEN,
    );
    call.start(Some("front"), "+12125550199");
    call.listen();
    call
}

#[test]
fn set_language_switches_prompts_and_a_subflow_returns_to_its_caller() {
    let mut call = front_call();
    let ai = call.press("2");
    let request = ai
        .iter()
        .find_map(|a| match a {
            Action::AiAgent(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(request.agent, "helper");
    assert!(
        matches!(&request.greeting[0], PlayItem::Tts { speech, language, .. }
        if speech.as_str() == "Hola, ¿cómo puedo ayudar?" && language == "es-US")
    );
    assert_eq!(call.session.position(), Some(("common/ai", "agent")));
    let bye = call.send(Event::AiResult(AiOutcome::Done));
    assert_eq!(heard(&bye), ["Adiós."]);
    assert_eq!(call.session.position(), Some(("front", "bye")));
    assert!(call.path().contains(&"ask_ai:returns.done".to_owned()));
}

#[test]
fn an_ai_handoff_reaches_the_directory_and_its_choice_is_transferred() {
    let mut call = front_call();
    call.press("1");
    let dir = call.send(Event::AiResult(AiOutcome::Handoff(
        "billing question".into(),
    )));
    let request = dir
        .iter()
        .find_map(|a| match a {
            Action::Directory(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (request.directory.as_str(), request.min_digits),
        ("staff", 3)
    );
    assert_eq!(t9_digits(&request.entries[0].last_name), "76484");
    let t = call.send(Event::DirectoryResult(DirectoryOutcome::Selected(
        "4100".into(),
    )));
    assert_eq!(
        transfer(&t).unwrap().to,
        Destination::Extension("4100".into())
    );
    call.send(Event::TransferResult(TransferOutcome::Answered));
    assert!(call.session.is_finished());
    let handoff = events(&call.log)
        .into_iter()
        .find(|e| e.node == "agent")
        .unwrap();
    assert_eq!(handoff.detail.as_deref(), Some("billing question"));
}

#[test]
fn compile_refuses_a_folder_with_errors() {
    let broken = FRONT.replace("on_not_found: bye", "on_not_found: byee");
    let sources = Sources {
        flows: vec![SourceFile {
            path: "ivr-flows/flows/front.yaml".into(),
            text: broken,
        }],
        ..Sources::default()
    };
    let (catalog, report) = compile(&sources, at(OPEN));
    assert!(catalog.is_none());
    assert!(report.codes().contains(&"IVR006"));
}

#[test]
fn an_unrouted_call_can_fall_back_to_a_flow_after_the_unmatched_prompt() {
    let routes = r#"version: 1
routes:
  - match: { did: "+12125550199" }
    flow: front
unmatched:
  prompt: "This number is not in service."
  then: front
"#;
    let sources = Sources {
        flows: ["front", "common/ai"]
            .iter()
            .zip([FRONT, AI])
            .map(|(id, text)| SourceFile {
                path: format!("ivr-flows/flows/{id}.yaml"),
                text: text.to_owned(),
            })
            .collect(),
        routes: Some(SourceFile {
            path: "ivr-flows/routes.yaml".into(),
            text: routes.into(),
        }),
        ..Sources::default()
    };
    let (cat, report) = compile(&sources, at(OPEN));
    assert!(report.valid, "{:#?}", report.errors);
    let mut call = Call::new(cat.unwrap(), config(), OPEN);
    let first = call.start(None, "+19995550000");
    assert_eq!(
        heard(&first),
        [
            "This number is not in service.",
            "For English press 1. Para español oprima 2."
        ]
    );
    assert_eq!(call.session.position(), Some(("front", "pick")));
}

#[test]
fn a_menu_directory_key_searches_by_name_and_comes_back_when_nobody_is_chosen() {
    let yaml = r#"version: 1
id: desk
channels: [voice]
languages: [en-US]
defaults: { language: en-US, on_error: bye }
start: pick
nodes:
  pick:
    type: menu
    prompt: "Press 1 for sales, or 9 to find a person by name."
    options: { "1": bye }
    directory_key: "9"
  bye:
    type: hangup
"#;
    let mut config = config();
    config.directory = vec![DirectoryEntry {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        extension: "4200".into(),
    }];
    let mut call = Call::new(single("desk", yaml), config, OPEN);
    call.start(Some("desk"), "+14155550100");
    call.listen();
    let dir = call.press("9");
    assert!(
        dir.iter()
            .any(|a| matches!(a, Action::Directory(d) if d.entries.len() == 1))
    );
    let back = call.send(Event::DirectoryResult(DirectoryOutcome::Exit));
    assert_eq!(
        heard(&back),
        ["Press 1 for sales, or 9 to find a person by name."]
    );
    call.listen();
    call.press("9");
    let t = call.send(Event::DirectoryResult(DirectoryOutcome::Selected(
        "4200".into(),
    )));
    assert_eq!(
        transfer(&t).unwrap().to,
        Destination::Extension("4200".into())
    );
    assert_eq!(call.path(), ["pick:directory_key", "pick:directory_key"]);
}

#[test]
fn a_value_that_does_not_fit_a_pii_variable_is_not_logged() {
    let yaml = r#"version: 1
id: copy
channels: [voice]
languages: [en-US]
defaults: { language: en-US, on_error: bye }
variables:
  secret_pin: { type: digits, pii: true }
  plain: { type: integer }
start: copy_pin
nodes:
  copy_pin:
    type: set
    vars: { secret_pin: "{{call.caller_number}}" }
    next: copy_plain
  copy_plain:
    type: set
    vars: { plain: "{{call.caller_number}}" }
    next: bye
  bye:
    type: hangup
"#;
    let mut call = Call::new(single("copy", yaml), config(), OPEN);
    let first = call.start(Some("copy"), "+14155550100");
    let e = events(&first);
    assert_eq!(
        (e[0].node.as_str(), e[0].exit.as_str()),
        ("copy_pin", "on_error")
    );
    let detail = e[0].detail.clone().unwrap();
    assert!(
        !detail.contains("4155551234") && detail.contains("masked"),
        "{detail}"
    );
    assert_eq!(hangup(&first), Some(HangupReason::Flow));
}

/// The PIN loop of [`pin_loop`] (no `on_error`, three steps) behind a DID whose route names
/// a failover.
fn pin_line_with_failover(failover: &str) -> Call {
    let routes = format!(
        "version: 1\nroutes:\n  - match: {{ did: \"+14155550100\" }}\n    flow: pin\n    failover: {failover}\n"
    );
    let sources = Sources {
        flows: vec![SourceFile {
            path: "ivr-flows/flows/pin.yaml".into(),
            // No `on_error`: a guard breach has nowhere to go.
            text: pin_yaml("", "{ max_steps: 3 }", ""),
        }],
        routes: Some(SourceFile {
            path: "ivr-flows/routes.yaml".into(),
            text: routes,
        }),
        ..Sources::default()
    };
    let (cat, report) = compile(&sources, at(OPEN));
    assert!(report.valid, "{:#?}", report.errors);
    let mut call = Call::new(cat.unwrap(), config(), OPEN);
    let first = call.start(None, "+14155550100");
    assert_eq!(heard(&first), ["Enter your PIN."]);
    call
}

/// Drives the PIN loop until its step budget trips with nowhere to go.
fn breach(call: &mut Call) -> Vec<Action> {
    call.listen();
    call.press("1234");
    call.listen();
    call.listen();
    call.press("1234")
}

#[test]
fn a_flow_that_gives_up_sends_the_caller_to_the_numbers_failover_instead_of_the_apology() {
    let mut call = pin_line_with_failover(r#"{ extension: "1002" }"#);
    let out = breach(&mut call);
    assert!(
        heard(&out).is_empty(),
        "no apology before the failover: {out:?}"
    );
    let request = transfer(&out).expect("the failover is rung");
    assert_eq!(request.to, Destination::Extension("1002".into()));
    assert_eq!(request.caller_id, "+14155551234");
    assert!(call.session.failing_over());
    assert_eq!(hangup(&out), None);
    // The receptionist answers: the call has left the IVR.
    let answered = call.send(Event::TransferResult(TransferOutcome::Answered));
    assert!(answered.is_empty(), "{answered:?}");
    assert!(call.session.is_finished());
}

#[test]
fn a_failover_nobody_answers_ends_in_the_apology_once() {
    let mut call = pin_line_with_failover(r#"{ number: "+14155559999" }"#);
    let out = breach(&mut call);
    assert_eq!(
        transfer(&out).map(|t| t.to),
        Some(Destination::Number("+14155559999".into()))
    );
    let rang_out = call.send(Event::TransferResult(TransferOutcome::NoAnswer));
    assert_eq!(heard(&rang_out), [super::super::session::APOLOGY]);
    assert_eq!(transfer(&rang_out), None, "the failover is tried once");
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Guard));
}
