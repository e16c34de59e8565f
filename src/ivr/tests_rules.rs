//! Rules that need expressions, speech, sounds or platform options: IVR013, IVR015 (node and
//! prompt voices), IVR016 (expression names), IVR017, IVR021, IVR023, IVR027, IVR028, and
//! the spec variants 1e, 1f, 1o, 1p.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};

use super::tests::{FLOW, NO_ROUTES, ROUTES, edit, mini, run, run_mini, sources, variant};
use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The shipped `sounds/` folder.
fn repo_sounds() -> SoundIndex {
    load_sounds(&repo("sounds")).unwrap()
}

fn with_options(flow: &str, options: &ValidateOptions) -> Report {
    validate_with(&sources(flow, ROUTES), now(), options)
}

fn with_sounds(flow: &str, sounds: SoundIndex) -> Report {
    with_options(
        flow,
        &ValidateOptions {
            sounds: Some(sounds),
            ..ValidateOptions::default()
        },
    )
}

/// The mini flow with typed variables besides its strings.
fn typed(nodes: &str) -> Report {
    let flow = mini(nodes).replace(
        "variables: { x: { type: string },",
        "variables: { n: { type: integer }, ok: { type: boolean }, code: { type: digits }, x: { type: string },",
    );
    run(&flow, NO_ROUTES)
}

fn messages(report: &Report) -> Vec<(&'static str, &str)> {
    report
        .errors
        .iter()
        .chain(&report.warnings)
        .map(|d| (d.code, d.message.as_str()))
        .collect()
}

#[test]
fn example_1_is_clean_with_platform_options_and_shipped_sounds() {
    let options = ValidateOptions {
        egress_allowlist: Some(vec!["*.acme.example".into()]),
        secrets: Some(BTreeSet::from(["crm_token".to_owned()])),
        sounds: Some(repo_sounds()),
        queues: Some(BTreeSet::from(examples::QUEUES.map(String::from))),
        skills: Some(examples::SKILLS.map(|s| (s.to_owned(), 5)).into()),
        extensions: Some(BTreeSet::from([examples::OPERATOR_EXTENSION.to_owned()])),
        dids_elsewhere: Some(BTreeSet::new()),
        max_dids: Some(3),
    };
    let report = with_options(FLOW, &options);
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "{report:#?}"
    );
}

#[tokio::test]
async fn flows_check_command_finds_the_sounds_folder() {
    let valid = cli::run(
        cli::FlowsCommand::Check {
            dir: Some(repo("ivr-flows")),
            format: "json".into(),
            sounds: None,
        },
        None,
    )
    .await
    .unwrap();
    assert!(valid);
    let broken = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(broken.path().join("sounds/en-US/acme")).unwrap();
    std::fs::write(broken.path().join("sounds/en-US/acme/welcome.sln16"), b"").unwrap();
    let flows = broken.path().join("ivr-flows");
    std::fs::create_dir_all(flows.join("flows")).unwrap();
    for name in [
        "routes.yaml",
        "schedules.yaml",
        "voices.yaml",
        "flows/support-main.yaml",
    ] {
        std::fs::copy(repo("ivr-flows").join(name), flows.join(name)).unwrap();
    }
    // vm-greeting is missing from this sounds folder: IVR013 makes the check fail.
    let valid = cli::run(
        cli::FlowsCommand::Check {
            dir: Some(flows),
            format: "json".into(),
            sounds: None,
        },
        None,
    )
    .await
    .unwrap();
    assert!(!valid);
}

#[test]
fn variant_1e_unknown_sound() {
    let report = with_sounds(
        &edit(FLOW, "{ sound: acme/welcome }", "{ sound: acme/welcom }"),
        repo_sounds(),
    );
    assert_eq!(report.codes(), ["IVR013"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/welcome/prompt/sound");
    assert_eq!(
        d.message,
        "sound 'acme/welcom' not found for en-US (looked for sounds/en-US/acme/welcom.{sln16,sln,wav16,wav,g722,ulaw,alaw,gsm} and sounds/acme/welcom.*)"
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean 'acme/welcome'?"));
}

#[test]
fn variant_1f_wav_at_44_1_khz_stereo() {
    let dir = tempfile::tempdir().unwrap();
    let acme = dir.path().join("en-US/acme");
    std::fs::create_dir_all(&acme).unwrap();
    std::fs::write(acme.join("vm-greeting.sln16"), b"").unwrap();
    std::fs::write(dir.path().join(".gitkeep"), b"").unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(acme.join("welcome.wav"), spec).unwrap();
    for _ in 0..200 {
        writer.write_sample(0i16).unwrap();
    }
    writer.finalize().unwrap();
    let index = load_sounds(dir.path()).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(
        index.get("en-US/acme/welcome.wav"),
        Some(&SoundInfo::Wav(WavFormat {
            sample_rate: 44_100,
            channels: 2,
            bits: 16,
            float: false
        }))
    );
    let report = with_sounds(FLOW, index);
    assert_eq!(report.codes(), ["IVR013"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/welcome/prompt/sound");
    assert_eq!(
        d.message,
        "welcome.wav is 44100 Hz, 2 channels; Asterisk's format_wav accepts only 16-bit mono PCM at 8000 Hz (.wav) or 16000 Hz (.wav16)"
    );
    let hint = d.hint.as_deref().unwrap();
    assert!(hint.starts_with("convert with sox"), "{hint}");
    assert!(
        hint.ends_with("or let the platform transcode on upload"),
        "{hint}"
    );
}

#[test]
fn ivr013_formats_fallback_and_unplayable_files() {
    let mut index = SoundIndex::default();
    // Language-neutral files serve every language.
    index.insert("acme/welcome.sln16", SoundInfo::Other);
    index.insert("en-US/acme/vm-greeting.mp3", SoundInfo::Other);
    index.insert(
        "en-US/acme/vm-greeting.wav16",
        SoundInfo::Wav(WavFormat {
            sample_rate: 16_000,
            channels: 1,
            bits: 16,
            float: false,
        }),
    );
    assert!(with_sounds(FLOW, index.clone()).valid);

    let mut index = SoundIndex::default();
    index.insert("en-US/acme/welcome.sln16", SoundInfo::Other);
    index.insert("en-US/acme/vm-greeting.mp3", SoundInfo::Other);
    let report = with_sounds(FLOW, index.clone());
    assert_eq!(report.codes(), ["IVR013"]);
    assert!(
        report.errors[0]
            .message
            .starts_with("vm-greeting.mp3 cannot be played: Asterisk plays only .sln16, .sln"),
        "{}",
        report.errors[0].message
    );

    index.insert(
        "en-US/acme/vm-greeting.wav",
        SoundInfo::Unreadable("no RIFF tag found".into()),
    );
    let report = with_sounds(FLOW, index);
    assert_eq!(
        messages(&report),
        [(
            "IVR013",
            "vm-greeting.wav is not a readable WAV file: no RIFF tag found"
        )]
    );
}

#[test]
fn ivr013_every_declared_language_and_map_keys() {
    let flow = mini(
        "  hello: { type: say, prompt: [{ sound: acme/hi }, { en-US: { sound: acme/only-en }, es-US: { sound: acme/solo-es } }], next: bye }\n",
    )
    .replace("languages: [en-US]", "languages: [en-US, es-US]");
    let mut index = SoundIndex::default();
    index.insert("en-US/acme/hi.sln16", SoundInfo::Other);
    index.insert("en-US/acme/only-en.sln16", SoundInfo::Other);
    index.insert("es-US/acme/solo-es.sln16", SoundInfo::Other);
    let report = validate_with(
        &sources(&flow, NO_ROUTES),
        now(),
        &ValidateOptions {
            sounds: Some(index),
            ..ValidateOptions::default()
        },
    );
    assert_eq!(report.codes(), ["IVR013"], "{report:#?}");
    assert!(
        report.errors[0]
            .message
            .starts_with("sound 'acme/hi' not found for es-US"),
        "{}",
        report.errors[0].message
    );
    assert_eq!(report.errors[0].path, "/nodes/hello/prompt/0/sound");
}

#[test]
fn variant_1o_unclosed_list_in_when() {
    let report = variant(
        "'account_tier in [\"gold\", \"platinum\"]'",
        "'account_tier in [\"gold\", \"platinum\"'",
    );
    assert_eq!(report.codes(), ["IVR017"]);
    let d = &report.errors[0];
    assert_eq!(d.path, "/nodes/billing_priority/cases/0/when");
    // IVR-FLOWS.md §10 prints "column 42"; the expression is 35 characters long and the ']'
    // is missing right after them, at column 36 of the expression text.
    assert_eq!(d.message, "expected ']' at column 36");
    let span = d.span.unwrap();
    let line = FLOW.lines().nth(span.line - 1).unwrap();
    assert!(
        line.trim_start().starts_with("- when: 'account_tier"),
        "{line}"
    );
}

#[test]
fn variant_1p_set_literal_of_wrong_type() {
    let report = variant(
        "vars: { queue_priority: 2 }",
        "vars: { queue_priority: \"high\" }",
    );
    assert_eq!(report.codes(), ["IVR017"]);
    let d = &report.errors[0];
    assert_eq!(d.message, "queue_priority is integer, got string");
    assert_eq!(d.path, "/nodes/raise_priority/vars/queue_priority");
    assert_eq!(
        d.hint.as_deref(),
        Some("write a whole number, e.g. queue_priority: 2")
    );
}

#[test]
fn ivr017_when_types_and_regexes() {
    let report = typed(
        "  hello:\n    type: branch\n    cases:\n      - { when: 'x > 3', goto: bye }\n      - { when: 'x matches \"(a\"', goto: bye }\n      - { when: 'n == 2 and ok and code starts_with \"0\"', goto: bye }\n    default: bye\n  form: { type: gather, prompt: hi, into: code, max_digits: 4, validate: { pattern: \"[0-9\" }, next: bye, on_max_attempts: bye }\n",
    );
    assert_eq!(
        messages(&report),
        [
            ("IVR017", "'>' compares numbers or dates, but x is string"),
            ("IVR017", "regex does not compile: unclosed group"),
            (
                "IVR017",
                "validate.pattern: regex does not compile: unclosed character class"
            ),
            ("IVR009", "node 'form' is unreachable from 'hello'"),
        ]
    );
    assert_eq!(report.errors[0].path, "/nodes/hello/cases/0/when");
    assert_eq!(report.errors[2].path, "/nodes/form/validate/pattern");
}

#[test]
fn ivr017_set_values_and_priority_source() {
    let report = typed(
        "  hello: { type: set, vars: { n: \"{{ ok }}\", ok: maybe, code: \"12a\", x: \"{{n}} and {{ok}}\" }, next: q }\n  q: { type: queue, queue: main, priority: { from: x }, on_max_wait: bye, on_no_agents: bye, on_full: bye }\n",
    );
    assert_eq!(
        messages(&report),
        [
            ("IVR017", "code is digits, got string"),
            ("IVR017", "n is integer, got boolean ok"),
            ("IVR017", "ok is boolean, got string"),
            (
                "IVR017",
                "priority comes from x, which is string; it must be integer"
            ),
        ]
    );
    // Templates of a fitting type and literals that coerce are fine.
    let report = typed(
        "  hello: { type: set, vars: { n: \"{{queue.position}}\", ok: \"true\", code: \"0042\", x: \"{{n}}\" }, next: bye }\n",
    );
    assert!(report.valid, "{report:#?}");
}

#[test]
fn ivr016_names_in_expressions() {
    let report = typed(
        "  hello: { type: branch, cases: [{ when: 'balance > 3 or call.nope == \"x\" or secret.pin == \"1\"', goto: bye }], default: bye }\n",
    );
    assert_eq!(
        report.codes(),
        ["IVR016", "IVR016", "IVR023"],
        "{report:#?}"
    );
    assert_eq!(report.errors[0].message, "undeclared variable 'balance'");
    assert_eq!(report.errors[0].path, "/nodes/hello/cases/0/when");
    assert_eq!(
        report.errors[2].message,
        "secret 'secret.pin' used outside http headers"
    );
}

#[test]
fn ivr021_tts_length_and_ssml() {
    let long = "a".repeat(POLLY_MAX_BILLED + 1);
    let tags = format!("<speak>{}</speak>", "<break time=\"1s\"/>".repeat(400));
    let report = run_mini(&format!(
        "  hello: {{ type: say, prompt: [\"{long}\", {{ ssml: \"<speak>Hi\" }}, {{ ssml: \"<p>Hi</p>\" }}, {{ ssml: '{tags}' }}], next: offline }}\n  offline: {{ type: say, prompt: {{ text: \"{long}\", voice: en-US-offline }}, next: fits }}\n  fits: {{ type: say, prompt: \"{{{{x}}}}{}\", next: bye }}\n",
        "a".repeat(POLLY_MAX_BILLED)
    ));
    let found = messages(&report);
    assert_eq!(report.codes(), ["IVR021"; 4], "{found:?}");
    assert_eq!(
        found[0].1,
        "TTS text is 3001 billed characters; Polly accepts at most 3000 per request"
    );
    assert!(found[1].1.starts_with("invalid SSML: "), "{}", found[1].1);
    assert_eq!(
        found[2].1,
        "invalid SSML: the root element is <p>, not <speak>"
    );
    assert_eq!(
        found[3].1,
        "SSML is 7215 characters with its tags; Polly accepts at most 6000 per request"
    );
    assert_eq!(report.errors[1].path, "/nodes/hello/prompt/1/ssml");
}

#[test]
fn ivr023_https_allowlist_and_secrets() {
    let nodes = "  hello: { type: http, method: GET, url: \"http://crm.acme.example/a\", on_success: two, on_error: bye, on_timeout: bye }\n  two: { type: http, method: GET, url: \"https://{{x}}.acme.example/\", on_success: three, on_error: bye, on_timeout: bye }\n  three: { type: http, method: GET, url: \"https://user:pw@crm.acme.example/\", on_success: four, on_error: bye, on_timeout: bye }\n  four: { type: http, method: POST, url: \"https://evil.example/{{x}}\", headers: { Authorization: \"Bearer {{secret.crm_tokn}}\" }, on_success: five, on_error: bye, on_timeout: bye }\n  five: { type: http, method: GET, url: \"https://Orders.Acme.Example:8443/x?q={{x}}\", headers: { X-Key: \"{{secret.crm_token}}\" }, on_success: bye, on_error: bye, on_timeout: bye }\n";
    let options = ValidateOptions {
        egress_allowlist: Some(vec!["*.acme.example".into(), "api.partner.example".into()]),
        secrets: Some(BTreeSet::from(["crm_token".to_owned()])),
        ..ValidateOptions::default()
    };
    let report = validate_with(&sources(&mini(nodes), NO_ROUTES), now(), &options);
    let found = messages(&report);
    assert_eq!(
        found,
        [
            ("IVR023", "unknown secret 'crm_tokn'"),
            (
                "IVR023",
                "http url 'http://crm.acme.example/a' must use https://"
            ),
            (
                "IVR023",
                "the host of an http url must be written out, not a template: the egress allow-list is checked before publishing"
            ),
            (
                "IVR023",
                "http url contains credentials; secrets are never written in the flow file"
            ),
            (
                "IVR023",
                "host 'evil.example' is not in the platform egress allow-list"
            ),
        ]
    );
    assert_eq!(
        report.errors[0].hint.as_deref(),
        Some("did you mean 'secret.crm_token'?")
    );
    assert_eq!(report.errors[1].path, "/nodes/hello/url");
    // Offline, only the https rule and the URL's shape are checked.
    let offline = run(&mini(nodes), NO_ROUTES);
    assert_eq!(offline.codes(), ["IVR023"; 3]);
    // Example 1 against a narrower allow-list.
    let narrow = ValidateOptions {
        egress_allowlist: Some(vec!["crm.acme.example".into()]),
        ..ValidateOptions::default()
    };
    let report = with_options(FLOW, &narrow);
    assert_eq!(
        messages(&report),
        [(
            "IVR023",
            "host 'orders.acme.example' is not in the platform egress allow-list"
        )]
    );
}

#[test]
fn allowlist_wildcards() {
    let list = vec![
        "*.acme.example".to_owned(),
        "Api.Partner.Example".to_owned(),
    ];
    for (host, allowed) in [
        ("crm.acme.example", true),
        ("a.b.acme.example", true),
        ("acme.example", false),
        ("xacme.example", false),
        ("api.partner.example", true),
        ("partner.example", false),
    ] {
        assert_eq!(checks::host_allowed(host, &list), allowed, "{host}");
    }
}

#[test]
fn ivr027_return_without_parent_menu() {
    let report = run_mini(
        "  hello: { type: say, prompt: hi, next: pick }\n  pick: { type: menu, prompt: hi, options: { \"1\": sub, \"9\": \"@return\" }, on_max_attempts: bye }\n  sub: { type: say, prompt: x, next: \"@return\" }\n",
    );
    assert_eq!(report.codes(), ["IVR027"], "{report:#?}");
    let w = &report.warnings[0];
    assert_eq!(w.path, "/nodes/pick/options/9");
    assert_eq!(
        w.message,
        "option \"9\" goes to \"@return\", but 'pick' is reachable from 'hello' without passing through a menu: there is no menu to return to"
    );
    // Entered by another flow, a flow may return to that flow's menu.
    let caller = "version: 1\nid: caller\nstart: m\nnodes:\n  m: { type: menu, prompt: hi, options: { \"1\": go }, on_max_attempts: h }\n  go: { type: subflow, flow: support-main, returns: { done: h } }\n  h: { type: hangup }\n";
    let mut s = sources(
        &mini(
            "  hello: { type: gather, prompt: hi, into: x, max_digits: 1, next: \"@return\", on_max_attempts: bye }\n",
        ),
        NO_ROUTES,
    );
    s.flows.push(SourceFile {
        path: "ivr-flows/flows/caller.yaml".into(),
        text: caller.into(),
    });
    assert_eq!(validate(&s, now()).codes(), Vec::<&str>::new());
}

#[test]
fn ivr028_voice_language_and_ivr015_node_voices() {
    let report = variant(
        "prompt: \"I couldn't find that order number.\"",
        "voice: es-US-main\n    prompt: \"I couldn't find that order number.\"",
    );
    assert_eq!(report.codes(), ["IVR028"]);
    let w = &report.warnings[0];
    assert_eq!(w.path, "/nodes/order_not_found/voice");
    assert_eq!(
        w.message,
        "voice 'es-US-main' speaks es-US, but the language here is en-US"
    );
    assert_eq!(
        w.hint.as_deref(),
        Some("use a voice for en-US such as 'en-US-main'")
    );

    let flow = mini(
        "  hello: { type: say, prompt: [{ en-US: { text: Hi, voice: es-US-main }, es-US: Hola }, { text: x, voice: en-US-mian }], voice: en-US-main, next: lang }\n  lang: { type: set_language, language: es-US, voice: en-US-main, next: bye }\n",
    )
    .replace("languages: [en-US]", "languages: [en-US, es-US]");
    let report = run(&flow, NO_ROUTES);
    assert_eq!(
        messages(&report),
        [
            (
                "IVR020",
                "text plays in every language but the flow declares en-US, es-US"
            ),
            ("IVR015", "unknown voice profile 'en-US-mian'"),
            (
                "IVR028",
                "voice 'es-US-main' speaks es-US, but the language here is en-US"
            ),
            (
                "IVR028",
                "voice 'en-US-main' speaks en-US, but the language here is es-US"
            ),
            (
                "IVR028",
                "voice 'en-US-main' speaks en-US, but the language here is es-US"
            ),
        ]
    );
    let paths: Vec<&str> = report.warnings.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/nodes/hello/prompt/0/en-US/voice",
            "/nodes/hello/voice",
            "/nodes/lang/voice"
        ]
    );
}

/// What the platform knows of Example 1's tenant: its skills and its operator's extension.
fn example_platform() -> ValidateOptions {
    ValidateOptions {
        skills: Some(examples::SKILLS.map(|s| (s.to_owned(), 5)).into()),
        extensions: Some(BTreeSet::from([examples::OPERATOR_EXTENSION.to_owned()])),
        ..ValidateOptions::default()
    }
}

#[test]
fn a_skill_no_agent_holds_is_unknown_at_publish() {
    let options = example_platform();
    assert!(with_options(FLOW, &options).valid);
    let typo = edit(FLOW, "    skills: [billing]\n", "    skills: [biling]\n");
    let report = with_options(&typo, &options);
    assert_eq!(report.codes(), ["IVR015"], "{:?}", report.errors);
    let d = &report.errors[0];
    assert_eq!(
        d.message,
        "unknown skill 'biling': no agent of the tenant has it"
    );
    assert_eq!(d.path, "/nodes/q_billing/skills/0");
    assert_eq!(d.node.as_deref(), Some("q_billing"));
    assert_eq!(d.hint.as_deref(), Some("did you mean 'billing'?"));
    // The file, line and column of the skill itself, as an editor jumps to it.
    let line = typo.lines().position(|l| l.contains("[biling]")).unwrap() + 1;
    let span = d.span.as_ref().expect("a span");
    assert_eq!(span.line, line);
    assert_eq!(
        span.column,
        typo.lines().nth(line - 1).unwrap().find("biling").unwrap() + 1
    );
    // A level the agents reach is fine; one above the best of them is reported.
    let held = edit(
        FLOW,
        "    skills: [billing]\n",
        "    skills: [\"billing:5\"]\n",
    );
    assert!(with_options(&held, &options).valid);
    let above = edit(
        FLOW,
        "    skills: [billing]\n",
        "    skills: [\"billing:7\"]\n",
    );
    let report = with_options(&above, &options);
    assert_eq!(report.codes(), ["IVR015"]);
    assert_eq!(
        report.errors[0].message,
        "no agent of the tenant has skill 'billing' at level 7 or above (the highest is 5)"
    );
    // Nobody holding the skill at all is reported with what to do, since there is nothing
    // near to suggest.
    let nobody = with_options(
        FLOW,
        &ValidateOptions {
            skills: Some(Default::default()),
            ..example_platform()
        },
    );
    assert_eq!(nobody.codes(), ["IVR015", "IVR015", "IVR015"]);
    assert_eq!(
        nobody.errors[0].hint.as_deref(),
        Some("give the skill to an agent first (Routing: agents), then publish")
    );
    // Offline, the same file passes: the tenant's agents are the platform's to know.
    assert!(run(&typo, ROUTES).valid);
}

#[test]
fn a_templated_skill_is_known_only_per_call_and_is_not_checked() {
    let templated = edit(
        FLOW,
        "    skills: [billing]\n",
        "    skills: [\"{{caller_tier}}\"]\n",
    );
    let report = with_options(&templated, &example_platform());
    assert!(
        !report.errors.iter().any(|d| d.code == "IVR015"),
        "{:?}",
        report.errors
    );
}

#[test]
fn a_transfer_to_an_extension_the_tenant_does_not_have_is_unknown_at_publish() {
    let options = example_platform();
    let wrong = edit(FLOW, "extension: \"4000\"", "extension: \"4001\"");
    let report = with_options(&wrong, &options);
    assert_eq!(report.codes(), ["IVR015"], "{:?}", report.errors);
    let d = &report.errors[0];
    assert_eq!(d.message, "unknown extension '4001'");
    assert_eq!(d.path, "/nodes/operator/to/extension");
    assert_eq!(d.hint.as_deref(), Some("did you mean '4000'?"));
    let none = with_options(
        FLOW,
        &ValidateOptions {
            extensions: Some(BTreeSet::new()),
            ..example_platform()
        },
    );
    // The example's main number fails over to the same operator's desk.
    assert_eq!(none.codes(), ["IVR015", "IVR015"]);
    assert_eq!(
        none.errors[0].hint.as_deref(),
        Some("create the extension first (Voice: extensions), then publish")
    );
    let failover = &none.errors[1];
    assert_eq!(
        (failover.file.as_str(), failover.path.as_str()),
        ("ivr-flows/routes.yaml", "/routes/0/failover/extension")
    );
    assert_eq!(failover.message, "unknown extension '4000'");
    assert!(run(&wrong, ROUTES).valid);
}

#[test]
fn a_numbers_name_and_failover_are_checked_where_routes_yaml_gives_them() {
    let bad = [
        (
            "caller_id_name: Acme Support",
            "caller_id_name: 'Acme \"Support\"'",
            "IVR024",
            "/routes/0/caller_id_name",
        ),
        (
            "caller_id_name: Acme Support",
            "caller_id_name: Acme Support and Sales and Service Department",
            "IVR024",
            "/routes/0/caller_id_name",
        ),
        (
            "failover: { extension: \"4000\" }",
            "failover: { number: \"555-0100\" }",
            "IVR018",
            "/routes/0/failover/number",
        ),
        (
            "failover: { extension: \"4000\" }",
            "failover: { extension: \"4000\", number: \"+14155550123\" }",
            "IVR002",
            "/routes/0/failover",
        ),
        (
            "failover: { extension: \"4000\" }",
            "failover: { sip: \"operator@pbx\" }",
            "IVR018",
            "/routes/0/failover/sip",
        ),
    ];
    for (from, to, code, path) in bad {
        let report = run(FLOW, &edit(ROUTES, from, to));
        assert!(!report.valid, "{to}");
        let d = report
            .errors
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{to}: {:?}", report.errors));
        assert_eq!(
            (d.file.as_str(), d.path.as_str()),
            ("ivr-flows/routes.yaml", path)
        );
        assert!(d.span.is_some_and(|s| s.line == 6 || s.line == 7), "{d:?}");
    }
    let unknown = run(
        FLOW,
        &edit(
            ROUTES,
            "failover: { extension: \"4000\" }",
            "failover: { desk: \"4000\" }",
        ),
    );
    assert_eq!(unknown.codes(), ["IVR002"], "{:?}", unknown.errors);
    // A number and a SIP URI are fine failovers too; neither needs the tenant's extensions.
    for to in [
        "failover: { number: \"+14155550123\" }",
        "failover: { sip: \"sip:reception@pbx.acme.example\" }",
    ] {
        let report = run(FLOW, &edit(ROUTES, "failover: { extension: \"4000\" }", to));
        assert!(report.valid, "{to}: {:?}", report.errors);
    }
}

#[test]
fn variant_1i_unknown_queue_at_publish() {
    let queues = BTreeSet::from(examples::QUEUES.map(String::from));
    let options = ValidateOptions {
        queues: Some(queues),
        ..ValidateOptions::default()
    };
    assert!(with_options(FLOW, &options).valid);
    let report = with_options(
        &edit(FLOW, "    queue: billing\n", "    queue: biling\n"),
        &options,
    );
    assert_eq!(report.codes(), ["IVR015"], "{:?}", report.errors);
    let d = &report.errors[0];
    assert_eq!(d.message, "unknown queue 'biling'");
    assert_eq!(d.path, "/nodes/q_billing/queue");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'billing'?"));
    // Offline (no queue list) the same file passes: the queues are the platform's to know.
    assert!(
        run(
            &edit(FLOW, "    queue: billing\n", "    queue: biling\n"),
            ROUTES
        )
        .valid
    );
}

#[test]
fn a_did_of_another_tenant_and_routes_over_the_limit_are_refused() {
    let report = with_options(
        FLOW,
        &ValidateOptions {
            dids_elsewhere: Some(BTreeSet::from(["+14155550100".to_owned()])),
            max_dids: Some(2),
            ..ValidateOptions::default()
        },
    );
    let found = messages(&report);
    assert!(
        found.contains(&("IVR024", "DID +14155550100 is routed by another tenant")),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "IVR024",
            "3 numbers routed; the tenant may route 2 (limits.max_dids)"
        )),
        "{found:?}"
    );
    let over = report
        .errors
        .iter()
        .find(|d| d.message.contains("limits.max_dids"))
        .unwrap();
    assert_eq!(over.file, "ivr-flows/routes.yaml");
    assert!(over.span.is_some_and(|s| s.line > 3), "{over:?}");
    // Within the limit (0 = unlimited) and with the numbers free, nothing is said.
    for max in [Some(3), Some(0), None] {
        let report = with_options(
            FLOW,
            &ValidateOptions {
                dids_elsewhere: Some(BTreeSet::new()),
                max_dids: max,
                ..ValidateOptions::default()
            },
        );
        assert!(
            !messages(&report).iter().any(|(c, _)| *c == "IVR024"),
            "{:?}",
            report.errors
        );
    }
}
