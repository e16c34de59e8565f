//! The dialog as a caller lives it: what is played, when the line waits, what the flow hears.

use super::*;
use DirectoryCommand::*;

fn person(first: &str, last: &str, extension: &str) -> DirectoryEntry {
    DirectoryEntry {
        first_name: first.into(),
        last_name: last.into(),
        extension: extension.into(),
    }
}

/// Smith and Snider share their first three keys (764); Jon Baker's first name starts like
/// Jones (566).
fn staff() -> Vec<DirectoryEntry> {
    vec![
        person("Sam", "Snider", "1003"),
        person("Bo", "Jones", "1002"),
        person("Alex", "Smith", "1001"),
        person("Jon", "Baker", "1004"),
    ]
}

fn request(search: &str) -> DirectoryRequest {
    DirectoryRequest {
        directory: "staff".into(),
        search: search.into(),
        min_digits: 3,
        max_results: 5,
        confirm_match: true,
        announce_extension: false,
        entries: staff(),
    }
}

fn speaker() -> Speaker {
    Speaker {
        language: "en-US".into(),
        voice: Some("en-US-main".into()),
        fallback_voice: Some("en-US-offline".into()),
    }
}

fn sound(name: &str) -> PlayItem {
    PlayItem::Sound {
        name: name.into(),
        languages: vec!["en-US".into()],
    }
}

fn said(text: &str) -> PlayItem {
    PlayItem::Tts {
        speech: Speech::Text(text.into()),
        voice: Some("en-US-main".into()),
        fallback_voice: Some("en-US-offline".into()),
        language: "en-US".into(),
        cacheable: true,
    }
}

/// The items of the only `Play` among `commands`.
fn played(commands: &[DirectoryCommand]) -> Vec<PlayItem> {
    let plays: Vec<&Vec<PlayItem>> = commands
        .iter()
        .filter_map(|c| match c {
            Play { items, .. } => Some(items),
            _ => None,
        })
        .collect();
    assert_eq!(plays.len(), 1, "one prompt expected in {commands:?}");
    plays[0].clone()
}

fn prompt_of(commands: &[DirectoryCommand]) -> PromptId {
    commands
        .iter()
        .find_map(|c| match c {
            Play { prompt, .. } => Some(*prompt),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no prompt in {commands:?}"))
}

/// The report of the search among `commands`.
fn searched(commands: &[DirectoryCommand]) -> DirectoryCommand {
    commands
        .iter()
        .find(|c| matches!(c, Searched { .. }))
        .cloned()
        .unwrap_or_else(|| panic!("no search in {commands:?}"))
}

fn finished(commands: &[DirectoryCommand]) -> Option<DirectoryOutcome> {
    commands.iter().find_map(|c| match c {
        Finish(o) => Some(o.clone()),
        _ => None,
    })
}

/// A caller in the directory, with the prompt playing now and the clock.
struct Caller {
    dialog: DirectoryDialog,
    prompt: Option<PromptId>,
    now: Instant,
}

impl Caller {
    fn enters(request: DirectoryRequest) -> (Caller, Vec<DirectoryCommand>) {
        let (dialog, out) = DirectoryDialog::start(request, speaker());
        let caller = Caller {
            dialog,
            prompt: Some(prompt_of(&out)),
            now: Instant::now(),
        };
        (caller, out)
    }

    fn track(&mut self, out: &[DirectoryCommand]) {
        for c in out {
            match c {
                Play { prompt, .. } => self.prompt = Some(*prompt),
                StopPlayback(_) | Finish(_) => self.prompt = None,
                _ => {}
            }
        }
    }

    fn presses(&mut self, keys: &str) -> Vec<DirectoryCommand> {
        let mut all = Vec::new();
        for key in keys.chars() {
            let out = self.dialog.on_key(key, self.now);
            self.track(&out);
            all.extend(out);
        }
        all
    }

    /// The prompt playing now plays to its end.
    fn listens(&mut self) -> Vec<DirectoryCommand> {
        let prompt = self.prompt.take().expect("a prompt is playing");
        let out = self.dialog.on_prompt_finished(prompt, self.now);
        self.track(&out);
        out
    }

    fn waits(&mut self, d: Duration) -> Vec<DirectoryCommand> {
        self.now += d;
        let out = self.dialog.on_timer(self.now);
        self.track(&out);
        out
    }
}

#[test]
fn the_intro_asks_for_the_last_name_the_first_name_or_either() {
    for (search, intro) in [
        ("last_name", "dir-intro"),
        ("first_name", "dir-intro-fn"),
        ("both", "dir-intro"),
    ] {
        let (_, out) = Caller::enters(request(search));
        assert_eq!(played(&out), vec![sound(intro)], "{search}");
        assert_eq!(out.len(), 1, "no timer runs while the intro plays: {out:?}");
    }
}

#[test]
fn the_first_letter_stops_the_intro_and_the_third_searches() {
    let (mut caller, out) = Caller::enters(request("last_name"));
    let intro = prompt_of(&out);
    let t0 = caller.now;

    assert_eq!(
        caller.presses("7"),
        vec![StopPlayback(intro), SetTimer(t0 + INTER_DIGIT_TIMEOUT)]
    );
    assert_eq!(
        caller.presses("6"),
        vec![SetTimer(t0 + INTER_DIGIT_TIMEOUT)]
    );
    let out = caller.presses("4");
    assert_eq!(
        out[..2],
        [
            Searched {
                digits: 3,
                matches: 2
            },
            ClearTimer
        ]
    );
    assert_eq!(played(&out), vec![said("Alex Smith"), sound("dir-instr")]);
    assert_eq!(out.len(), 3, "{out:?}");
}

#[test]
fn letters_typed_after_the_intro_ended_search_the_same() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    assert_eq!(
        caller.listens(),
        vec![SetTimer(caller.now + FIRST_DIGIT_TIMEOUT)]
    );
    let out = caller.presses("764");
    assert!(
        !out.iter().any(|c| matches!(c, StopPlayback(_))),
        "nothing to stop: {out:?}"
    );
    assert_eq!(played(&out)[0], said("Alex Smith"));
}

#[test]
fn one_picks_the_person_being_offered_even_mid_name() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    let offer = caller.presses("764");
    let name = prompt_of(&offer);
    assert_eq!(
        caller.presses("1"),
        vec![
            StopPlayback(name),
            Finish(DirectoryOutcome::Selected("1001".into()))
        ]
    );
    assert!(caller.dialog.phase == Phase::Done);
    assert!(caller.presses("1*0#").is_empty(), "the dialog is over");
}

#[test]
fn one_after_the_instructions_picks_the_person_and_stops_the_wait() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("764");
    assert_eq!(
        caller.listens(),
        vec![SetTimer(caller.now + CHOICE_TIMEOUT)]
    );
    assert_eq!(
        caller.presses("1"),
        vec![
            ClearTimer,
            Finish(DirectoryOutcome::Selected("1001".into()))
        ]
    );
}

#[test]
fn star_goes_to_the_next_match_and_after_the_last_nobody_is_chosen() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    let first = prompt_of(&caller.presses("764"));

    let out = caller.presses("*");
    assert_eq!(out[0], StopPlayback(first));
    assert_eq!(played(&out), vec![said("Sam Snider"), sound("dir-instr")]);
    let second = prompt_of(&out);

    let out = caller.presses("*");
    assert_eq!(out[0], StopPlayback(second));
    assert_eq!(played(&out), vec![sound("dir-nomatch")]);
    assert_eq!(finished(&out), None, "the apology is heard first");
    assert!(caller.presses("1*").is_empty(), "keys wait for the apology");

    assert_eq!(caller.listens(), vec![Finish(DirectoryOutcome::NotFound)]);
}

#[test]
fn silence_after_a_name_offers_the_next_one() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("764");
    caller.listens();
    assert!(
        caller
            .waits(CHOICE_TIMEOUT - Duration::from_millis(1))
            .is_empty(),
        "not yet"
    );
    let out = caller.waits(Duration::from_millis(1));
    assert_eq!(played(&out)[0], said("Sam Snider"));
    caller.listens();
    let out = caller.waits(CHOICE_TIMEOUT);
    assert_eq!(played(&out), vec![sound("dir-nomatch")]);
    assert_eq!(caller.listens(), vec![Finish(DirectoryOutcome::NotFound)]);
}

#[test]
fn letters_nobody_has_say_so_and_end_not_found() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    let out = caller.presses("999");
    assert_eq!(
        searched(&out),
        Searched {
            digits: 3,
            matches: 0
        }
    );
    assert_eq!(played(&out), vec![sound("dir-nomatch")]);
    assert!(caller.presses("0#").is_empty(), "keys wait for the apology");
    assert_eq!(caller.listens(), vec![Finish(DirectoryOutcome::NotFound)]);
}

#[test]
fn a_single_match_is_connected_at_once_without_confirmation() {
    let mut r = request("last_name");
    r.confirm_match = false;
    let (mut caller, _) = Caller::enters(r);
    caller.presses("56");
    let out = caller.presses("6");
    assert_eq!(
        out,
        vec![
            Searched {
                digits: 3,
                matches: 1
            },
            ClearTimer,
            Finish(DirectoryOutcome::Selected("1002".into()))
        ]
    );
}

#[test]
fn several_matches_are_offered_even_without_confirmation() {
    let mut r = request("last_name");
    r.confirm_match = false;
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("764");
    assert_eq!(played(&out)[0], said("Alex Smith"));
    assert_eq!(finished(&out), None);
}

#[test]
fn a_single_match_is_confirmed_by_default() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    let out = caller.presses("566");
    assert_eq!(played(&out), vec![said("Bo Jones"), sound("dir-instr")]);
    assert_eq!(
        caller.presses("1"),
        vec![
            StopPlayback(prompt_of(&out)),
            Finish(DirectoryOutcome::Selected("1002".into()))
        ]
    );
}

#[test]
fn zero_asks_for_the_operator_and_hash_leaves_at_any_point() {
    for (keys, outcome) in [
        ("0", DirectoryOutcome::Operator),
        ("#", DirectoryOutcome::Exit),
        ("70", DirectoryOutcome::Operator),
        ("7#", DirectoryOutcome::Exit),
        ("7640", DirectoryOutcome::Operator),
        ("764*#", DirectoryOutcome::Exit),
    ] {
        let (mut caller, _) = Caller::enters(request("last_name"));
        let out = caller.presses(keys);
        assert_eq!(finished(&out), Some(outcome), "{keys}: {out:?}");
        assert!(
            matches!(out.last(), Some(Finish(_))),
            "Finish comes last: {out:?}"
        );
        assert!(caller.dialog.phase == Phase::Done);
    }
}

#[test]
fn leaving_stops_the_prompt_and_the_timer() {
    let (mut caller, out) = Caller::enters(request("last_name"));
    let intro = prompt_of(&out);
    assert_eq!(
        caller.presses("#"),
        vec![StopPlayback(intro), Finish(DirectoryOutcome::Exit)]
    );

    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("7");
    assert_eq!(
        caller.presses("0"),
        vec![ClearTimer, Finish(DirectoryOutcome::Operator)]
    );
}

#[test]
fn silence_after_the_intro_leaves_the_directory() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.listens();
    assert!(
        caller
            .waits(FIRST_DIGIT_TIMEOUT - Duration::from_millis(1))
            .is_empty()
    );
    assert_eq!(
        caller.waits(Duration::from_millis(1)),
        vec![Finish(DirectoryOutcome::Exit)]
    );
}

#[test]
fn too_few_letters_then_silence_leaves_the_directory() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("76");
    assert_eq!(
        caller.waits(INTER_DIGIT_TIMEOUT),
        vec![Finish(DirectoryOutcome::Exit)]
    );
}

#[test]
fn each_letter_gives_the_caller_time_for_the_next() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("7");
    caller.now += INTER_DIGIT_TIMEOUT - Duration::from_secs(1);
    caller.presses("6");
    // The first letter's deadline has passed; the second's has not.
    assert!(caller.waits(Duration::from_secs(1)).is_empty());
    let out = caller.presses("4");
    assert_eq!(played(&out)[0], said("Alex Smith"));
}

#[test]
fn keys_without_letters_are_ignored_while_spelling() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    assert!(caller.presses("1*").is_empty(), "the intro goes on");
    let out = caller.presses("7641");
    assert_eq!(
        out.iter().filter(|c| matches!(c, Searched { .. })).count(),
        1,
        "searched once, on the third letter: {out:?}"
    );
}

#[test]
fn the_end_of_a_stopped_prompt_is_not_the_end_of_the_current_one() {
    let (mut caller, out) = Caller::enters(request("last_name"));
    let intro = prompt_of(&out);
    let offer = caller.presses("764");
    assert!(
        caller
            .dialog
            .on_prompt_finished(intro, caller.now)
            .is_empty()
    );
    assert_eq!(
        caller
            .dialog
            .on_prompt_finished(prompt_of(&offer), caller.now),
        vec![SetTimer(caller.now + CHOICE_TIMEOUT)]
    );
}

#[test]
fn a_timer_cleared_by_a_choice_does_not_fire() {
    let (mut caller, _) = Caller::enters(request("last_name"));
    caller.presses("7");
    caller.presses("64");
    // The spelling timer was cleared by the search; its old deadline means nothing now.
    assert!(caller.waits(INTER_DIGIT_TIMEOUT).is_empty());
}

#[test]
fn first_name_search_matches_and_reads_in_first_name_order() {
    let mut r = request("first_name");
    r.entries.push(person("Alf", "Young", "1005"));
    let (mut caller, _) = Caller::enters(r);
    // 253: Alex and Alf.
    let out = caller.presses("25");
    assert!(played_nothing(&out));
    let out = caller.presses("3");
    assert_eq!(
        searched(&out),
        Searched {
            digits: 3,
            matches: 2
        }
    );
    assert_eq!(played(&out)[0], said("Alex Smith"));
    let out = caller.presses("*");
    assert_eq!(played(&out)[0], said("Alf Young"));
}

fn played_nothing(out: &[DirectoryCommand]) -> bool {
    !out.iter().any(|c| matches!(c, Play { .. }))
}

#[test]
fn both_matches_either_name_in_last_name_order() {
    let (mut caller, _) = Caller::enters(request("both"));
    // 566: Jon (first name of Jon Baker) and Jones.
    let out = caller.presses("566");
    assert_eq!(
        searched(&out),
        Searched {
            digits: 3,
            matches: 2
        }
    );
    assert_eq!(played(&out)[0], said("Jon Baker"));
    let out = caller.presses("*");
    assert_eq!(played(&out)[0], said("Bo Jones"));
}

#[test]
fn max_results_limits_the_names_read_out_but_not_the_count() {
    let mut r = request("last_name");
    r.max_results = 1;
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("764");
    assert_eq!(
        searched(&out),
        Searched {
            digits: 3,
            matches: 2
        }
    );
    assert_eq!(played(&out)[0], said("Alex Smith"));
    let out = caller.presses("*");
    assert_eq!(
        played(&out),
        vec![sound("dir-nomatch")],
        "Snider is not read"
    );
}

#[test]
fn min_digits_sets_when_the_search_starts() {
    let mut r = request("last_name");
    r.min_digits = 1;
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("5");
    assert_eq!(played(&out)[0], said("Bo Jones"));

    let mut r = request("last_name");
    r.min_digits = 5;
    let (mut caller, _) = Caller::enters(r);
    assert!(played_nothing(&caller.presses("7648")));
    let out = caller.presses("4");
    assert_eq!(played(&out)[0], said("Alex Smith"), "76484 is Smith only");
    assert_eq!(
        searched(&out),
        Searched {
            digits: 5,
            matches: 1
        }
    );
}

#[test]
fn announce_extension_says_extension_and_its_digits() {
    let mut r = request("last_name");
    r.announce_extension = true;
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("566");
    assert_eq!(
        played(&out),
        vec![
            said("Bo Jones"),
            sound("vm-extension"),
            PlayItem::Digits("1002".into()),
            sound("dir-instr"),
        ]
    );
}

#[test]
fn a_person_with_only_a_first_name_is_found_by_it_and_named() {
    let mut r = request("both");
    r.entries = vec![person("Reception", "", "1000")];
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("732");
    assert_eq!(played(&out), vec![said("Reception"), sound("dir-instr")]);
}

#[test]
fn an_entry_without_a_name_is_told_by_its_extension() {
    let mut r = request("first_name");
    r.entries = vec![person("", "", "1009")];
    r.min_digits = 1;
    let (mut caller, _) = Caller::enters(r);
    // An empty name starts with no digits; nothing matches a typed letter.
    let out = caller.presses("2");
    assert_eq!(played(&out), vec![sound("dir-nomatch")]);

    let mut dialog = DirectoryDialog::start(request("last_name"), speaker()).0;
    dialog.phase = Phase::Choosing {
        matches: vec![person("", "", "1009")],
        index: 0,
    };
    let mut out = Vec::new();
    dialog.offer(&mut out);
    assert_eq!(
        played(&out),
        vec![
            sound("vm-extension"),
            PlayItem::Digits("1009".into()),
            sound("dir-instr")
        ]
    );
}

#[test]
fn an_empty_directory_says_nobody_matches() {
    let mut r = request("last_name");
    r.entries.clear();
    let (mut caller, _) = Caller::enters(r);
    let out = caller.presses("764");
    assert_eq!(played(&out), vec![sound("dir-nomatch")]);
    assert_eq!(caller.listens(), vec![Finish(DirectoryOutcome::NotFound)]);
}

#[test]
fn a_call_without_a_language_leaves_sounds_to_asterisk_defaults() {
    let (dialog, out) = DirectoryDialog::start(
        request("last_name"),
        Speaker {
            language: String::new(),
            voice: None,
            fallback_voice: None,
        },
    );
    assert_eq!(
        dialog.phase,
        Phase::Spelling {
            digits: String::new()
        }
    );
    assert_eq!(
        played(&out),
        vec![PlayItem::Sound {
            name: "dir-intro".into(),
            languages: Vec::new()
        }]
    );
}
