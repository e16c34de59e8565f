//! Example 1, the Acme support line, path by path.

use super::*;
use crate::ivr::expr::Value;

const MENU: &str = "For technical support, press 1. For billing, press 2. To check on an order, press 3. For the operator, press 0. If you know your party's four-digit extension, dial it now.";
const REPROMPT: &str =
    "Press 1 for tech support, 2 for billing, 3 for orders, or 0 for the operator.";
const ACCOUNT: &str = "Please enter your eight-digit account number, then press pound.";
/// Passes the Luhn check.
const GOOD_ACCOUNT: &str = "12345674";

/// Open hours, the welcome and the menu prompt heard to the end.
fn at_menu() -> Call {
    let (mut call, first) = Call::support(OPEN);
    assert_eq!(heard(&first), ["sound:acme/welcome"]);
    let menu = call.listen();
    assert_eq!(heard(&menu), [MENU]);
    let timer = call.listen();
    assert!(
        matches!(
            timer[..],
            [Action::StartTimer {
                after_ms: 6_000,
                ..
            }]
        ),
        "{timer:?}"
    );
    call
}

/// Menu → 2 → a valid account number → the CRM request.
fn at_account_lookup() -> (Call, HttpRequest) {
    let mut call = at_menu();
    let gather = call.press("2");
    assert_eq!(heard(&gather), [ACCOUNT]);
    call.listen();
    let lookup = call.press(GOOD_ACCOUNT);
    let request = http(&lookup).expect("the account lookup starts");
    (call, request)
}

#[test]
fn billing_gold_customer_is_queued_with_priority_2_and_the_billing_skill() {
    let (mut call, request) = at_account_lookup();
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.url,
        "https://crm.acme.example/api/v1/accounts/12345674"
    );
    assert_eq!(
        request.headers,
        [(
            "Authorization".to_owned(),
            "Bearer {{secret.crm_token}}".to_owned()
        )]
    );
    assert_eq!(
        (request.timeout_ms, request.retries, request.max_body_bytes),
        (3_000, 0, 65_536)
    );
    assert_eq!(
        call.session.var("account_number"),
        Some(&Value::Str(GOOD_ACCOUNT.into()))
    );

    let body =
        br#"{"tier": "gold", "balance_due_spoken": "forty-two dollars & ten cents"}"#.to_vec();
    let balance = call.send(Event::HttpDone { status: 200, body });
    // Voices come from the flow's default and voices.yaml's offline fallback.
    assert!(balance.iter().any(
        |a| matches!(a, Action::Play { items, .. } if matches!(&items[0],
        PlayItem::Tts { voice: Some(v), fallback_voice: Some(f), cacheable: true, .. }
            if v == "en-US-main" && f == "en-US-offline"))
    ));
    assert_eq!(
        heard(&balance),
        ["Your current balance is forty-two dollars & ten cents."]
    );
    let queued = call.listen();
    let q = enqueued(&queued).expect("queued");
    assert_eq!((q.queue.as_str(), q.priority), ("billing", 2));
    assert_eq!(q.skills, ["billing"]);
    assert_eq!(q.max_wait_ms, Some(20 * 60_000));
    assert_eq!(q.exit_keys, ['0']);
    let offer = q.callback.expect("callback offered");
    assert_eq!(
        (offer.key, offer.offer_after_ms, offer.number.as_str()),
        ('1', Some(90_000), "+14155551234")
    );
    assert_eq!(
        call.path(),
        [
            "welcome:next",
            "hours:open",
            "main_menu:options.2",
            "billing_account:next",
            "account_lookup:on_success",
            "billing_balance:next",
            "billing_priority:cases.0",
            "raise_priority:next",
        ]
    );
    call.send(Event::QueueResult(QueueOutcome::Connected));
    assert!(call.session.is_finished());
    assert_eq!(call.path().last().unwrap(), "q_billing:connected");
}

#[test]
fn the_account_number_is_masked_in_node_events_and_versions_are_stamped() {
    let (call, _) = at_account_lookup();
    let gather = events(&call.log)
        .into_iter()
        .find(|e| e.node == "billing_account")
        .unwrap();
    assert_eq!(gather.digits.as_deref(), Some("********"));
    assert_eq!(gather.node_type, "gather");
    assert_eq!(gather.flow, "support-main");
    assert_eq!(gather.version, call.cat.version());
    assert_eq!(gather.version.len(), 12);
    let menu = events(&call.log)
        .into_iter()
        .find(|e| e.node == "main_menu")
        .unwrap();
    assert_eq!(menu.digits.as_deref(), Some("2"), "menu keys are not PII");
}

#[test]
fn a_standard_customer_keeps_the_default_priority() {
    let (mut call, _) = at_account_lookup();
    let body = br#"{"tier": "standard", "balance_due_spoken": "zero"}"#.to_vec();
    call.send(Event::HttpDone { status: 200, body });
    let q = enqueued(&call.listen()).unwrap();
    assert_eq!(q.priority, 5);
    assert!(call.path().contains(&"billing_priority:default".to_owned()));
}

#[test]
fn an_unknown_account_is_told_and_queued_for_billing() {
    let (mut call, _) = at_account_lookup();
    let said = call.send(Event::HttpDone {
        status: 404,
        body: b"{}".to_vec(),
    });
    assert_eq!(
        heard(&said),
        ["I couldn't find that account. Let me connect you with our billing team."]
    );
    let q = enqueued(&call.listen()).unwrap();
    assert_eq!((q.queue.as_str(), q.priority), ("billing", 5));
    assert!(
        call.path()
            .contains(&"account_lookup:on_status.404".to_owned())
    );
}

#[test]
fn a_slow_crm_gets_the_filler_then_the_timeout_goes_to_the_billing_queue() {
    let (mut call, _) = at_account_lookup();
    let filler = call.wait();
    assert_eq!(heard(&filler), ["One moment while I find your account."]);
    let after = call.send(Event::HttpFailed { timed_out: true });
    assert!(
        after
            .iter()
            .any(|a| matches!(a, Action::StopPlayback { .. })),
        "{after:?}"
    );
    assert_eq!(enqueued(&after).unwrap().queue, "billing");
    assert!(
        call.path()
            .contains(&"account_lookup:on_timeout".to_owned())
    );
}

#[test]
fn http_errors_oversized_bodies_and_bad_json_take_on_error() {
    for (status, body, detail) in [
        (500, b"{}".to_vec(), "HTTP 500"),
        (200, vec![b' '; MAX_HTTP_BODY + 1], "cap"),
        (200, b"<html>".to_vec(), "not JSON"),
    ] {
        let (mut call, _) = at_account_lookup();
        let after = call.send(Event::HttpDone { status, body });
        assert_eq!(enqueued(&after).unwrap().queue, "billing");
        let e = events(&after)
            .into_iter()
            .find(|e| e.node == "account_lookup")
            .unwrap();
        assert_eq!(e.exit, "on_error");
        assert!(e.detail.as_deref().unwrap().contains(detail), "{e:?}");
    }
}

#[test]
fn a_host_off_the_allowlist_is_refused_without_a_request() {
    let mut call = Call::new(shipped(), SessionConfig::default(), OPEN);
    call.start(None, "+14155550100");
    call.listen();
    call.listen();
    call.press("2");
    call.listen();
    let after = call.press(GOOD_ACCOUNT);
    assert!(http(&after).is_none());
    assert_eq!(enqueued(&after).unwrap().queue, "billing");
    let e = events(&after)
        .into_iter()
        .find(|e| e.node == "account_lookup")
        .unwrap();
    assert!(e.detail.unwrap().contains("allowlist"));
}

#[test]
fn a_bad_account_number_is_retried_then_goes_to_a_human() {
    let mut call = at_menu();
    call.press("2");
    call.listen();
    let wrong = call.press("12345678");
    assert_eq!(
        heard(&wrong),
        ["That account number doesn't look right.", ACCOUNT]
    );
    call.listen();
    // Too short, finished with pound.
    let short = call.press("123#");
    assert_eq!(
        heard(&short),
        ["That account number doesn't look right.", ACCOUNT]
    );
    call.listen();
    let last = call.wait();
    assert_eq!(enqueued(&last).unwrap().queue, "billing");
    assert_eq!(
        call.path().last().unwrap(),
        "billing_account:on_max_attempts"
    );
}

#[test]
fn menu_timeouts_play_the_tapered_prompts_then_reach_the_operator() {
    let mut call = at_menu();
    let first = call.wait();
    assert_eq!(
        heard(&first),
        ["Sorry, I didn't hear a selection.", REPROMPT]
    );
    call.listen();
    let second = call.wait();
    assert_eq!(
        heard(&second),
        [
            "Please press a key now, or stay on the line for the operator.",
            REPROMPT
        ]
    );
    call.listen();
    let third = call.wait();
    let t = transfer(&third).expect("operator");
    assert_eq!(t.to, Destination::Extension("4000".into()));
    assert_eq!(
        (t.caller_id.as_str(), t.ring_timeout_ms),
        ("+14155551234", 25_000)
    );
    assert_eq!(call.path().last().unwrap(), "main_menu:on_max_attempts");
}

#[test]
fn an_unanswered_operator_sends_the_caller_to_voicemail_then_hangs_up() {
    let mut call = at_menu();
    call.press("0");
    let vm = call.send(Event::TransferResult(TransferOutcome::NoAnswer));
    let request = vm.iter().find_map(|a| match a {
        Action::Voicemail(v) => Some(v.clone()),
        _ => None,
    });
    let request = request.expect("voicemail");
    assert_eq!(request.mailbox, "support@acme");
    assert_eq!(request.max_length_ms, Some(180_000));
    assert!(matches!(&request.greeting, Greeting::Prompt(items) if items.len() == 1));
    let end = call.send(Event::VoicemailDone);
    assert_eq!(hangup(&end), Some(HangupReason::Flow));
    assert!(call.session.is_finished());
    assert_eq!(
        &call.path()[2..],
        [
            "main_menu:options.0",
            "operator:on_no_answer",
            "vm_support:next"
        ]
    );
}

#[test]
fn an_invalid_key_complains_and_counts_an_attempt() {
    let mut call = at_menu();
    let wrong = call.press("7");
    assert_eq!(
        heard(&wrong),
        ["Sorry, that isn't a valid choice.", REPROMPT]
    );
    call.listen();
    call.press("5");
    call.listen();
    let third = call.wait();
    assert!(
        transfer(&third).is_some(),
        "three failures reach the operator"
    );
}

#[test]
fn star_repeats_the_menu_without_counting_an_attempt() {
    let mut call = at_menu();
    call.wait();
    call.listen();
    let again = call.press("*");
    assert_eq!(heard(&again), [MENU]);
    call.listen();
    // One timeout is spent; two more are allowed before the operator.
    let second = call.wait();
    assert!(transfer(&second).is_none());
    call.listen();
    assert!(transfer(&call.wait()).is_some());
}

#[test]
fn nine_in_the_tech_menu_returns_to_the_main_menu() {
    let mut call = at_menu();
    let tech = call.press("1");
    assert_eq!(
        heard(&tech),
        [
            "For internet service, press 1. For TV, press 2. To go back, press 9. For the operator, press 0."
        ]
    );
    call.listen();
    let back = call.press("9");
    assert_eq!(heard(&back), [MENU]);
    assert_eq!(call.session.position(), Some(("support-main", "main_menu")));
    call.listen();
    let tv = call.press("1");
    call.listen();
    let q = enqueued(&call.press("2")).unwrap();
    assert_eq!(
        (q.queue.as_str(), q.skills.as_slice()),
        ("tech", ["tv".to_owned()].as_slice())
    );
    assert!(!tv.is_empty());
}

#[test]
fn the_order_loop_stops_after_three_rounds() {
    let mut call = at_menu();
    call.press("3");
    for round in 1..=3 {
        call.listen();
        let confirm = call.press("123456#");
        assert_eq!(
            heard(&confirm),
            ["You entered 1 2 3 4 5 6. If that's right, press 1. To try again, press 2."],
            "round {round}"
        );
        call.listen();
        let lookup = call.press("1");
        let request = http(&lookup).unwrap();
        assert_eq!(
            request.url,
            "https://orders.acme.example/api/v2/orders/123456/status"
        );
        assert_eq!((request.retries, request.timeout_ms), (1, 2_500));
        let said = call.send(Event::HttpDone {
            status: 404,
            body: Vec::new(),
        });
        assert_eq!(heard(&said), ["I couldn't find that order number."]);
        let next = call.listen();
        if round < 3 {
            assert!(heard(&next)[0].starts_with("Please enter your order number"));
        } else {
            assert_eq!(enqueued(&next).unwrap().queue, "orders");
        }
    }
    assert_eq!(call.path().last().unwrap(), "order_id_entry:on_max_visits");
}

#[test]
fn a_found_order_is_read_out_and_offers_more() {
    let mut call = at_menu();
    call.press("3");
    call.listen();
    call.press("1234567#");
    call.listen();
    call.press("1");
    let body = br#"{"status": "shipped", "eta_spoken": "Tuesday"}"#.to_vec();
    let said = call.send(Event::HttpDone { status: 200, body });
    assert_eq!(
        heard(&said),
        ["Your order is shipped. The estimated delivery is Tuesday."]
    );
    let more = call.listen();
    assert!(heard(&more)[0].starts_with("To speak with an agent, press 1."));
    call.listen();
    let bye = call.wait();
    assert_eq!(heard(&bye), ["Thanks for calling Acme. Goodbye."]);
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Flow));
}

#[test]
fn saying_no_to_the_read_back_asks_again() {
    let mut call = at_menu();
    call.press("3");
    call.listen();
    call.press("123456#");
    call.listen();
    let again = call.press("2");
    assert_eq!(
        heard(&again),
        ["Please enter your order number, followed by the pound key."]
    );
}

#[test]
fn after_hours_offers_voicemail() {
    let (mut call, _) = Call::support(SUNDAY_NIGHT);
    let menu = call.listen();
    assert!(heard(&menu)[0].starts_with("Our support team is available Monday through Friday"));
    call.listen();
    let vm = call.press("2");
    assert!(
        vm.iter()
            .any(|a| matches!(a, Action::Voicemail(v) if v.mailbox == "support@acme"))
    );
    assert_eq!(call.path()[1], "hours:closed");
}

#[test]
fn after_hours_callback_waits_for_the_next_opening() {
    let (mut call, _) = Call::support(SUNDAY_NIGHT);
    call.listen();
    call.listen();
    let cb = call.press("1");
    let request = cb.iter().find_map(|a| match a {
        Action::Callback(c) => Some(c.clone()),
        _ => None,
    });
    let request = request.unwrap();
    assert_eq!(request.queue, "support-general");
    assert_eq!(request.number, "+14155551234");
    // Monday 08:00 in Los Angeles.
    assert_eq!(request.not_before, Some(at("2026-12-07T16:00:00Z")));
    let bye = call.send(Event::CallbackDone { ok: true });
    assert_eq!(
        heard(&bye),
        ["Thanks. We'll call you back as soon as an agent is free. Goodbye."]
    );
}

#[test]
fn on_a_holiday_the_caller_hears_why_then_the_after_hours_menu() {
    let (mut call, _) = Call::support(CHRISTMAS);
    let said = call.listen();
    assert_eq!(heard(&said), ["We're closed today for the holiday."]);
    let menu = call.listen();
    assert!(heard(&menu)[0].starts_with("Our support team"));
    let hours = events(&call.log)
        .into_iter()
        .find(|e| e.node == "hours")
        .unwrap();
    assert_eq!(
        (hours.exit.as_str(), hours.detail.as_deref()),
        ("holiday", Some("Christmas Day"))
    );
}

#[test]
fn queue_max_wait_goes_to_voicemail_and_an_accepted_callback_says_goodbye() {
    let mut call = at_menu();
    call.press("1");
    call.listen();
    call.press("1");
    let vm = call.send(Event::QueueResult(QueueOutcome::MaxWait));
    assert!(vm.iter().any(|a| matches!(a, Action::Voicemail(_))));
    assert_eq!(call.path().last().unwrap(), "q_internet:on_max_wait");

    let mut call = at_menu();
    call.press("1");
    call.listen();
    call.press("1");
    let bye = call.send(Event::QueueResult(QueueOutcome::CallbackAccepted));
    assert_eq!(
        heard(&bye),
        ["Thanks. We'll call you back as soon as an agent is free. Goodbye."]
    );
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Flow));
    assert!(call.path().contains(&"q_internet:callback.next".to_owned()));
}

#[test]
fn a_digit_during_the_welcome_is_kept_for_the_menu() {
    let (mut call, _) = Call::support(OPEN);
    let barge = call.press("2");
    assert!(matches!(barge[0], Action::StopPlayback { .. }), "{barge:?}");
    // The menu prompt is skipped: the caller already chose billing.
    assert_eq!(heard(&barge), [ACCOUNT]);
    assert_eq!(
        call.path(),
        ["welcome:next", "hours:open", "main_menu:options.2"]
    );
}

#[test]
fn four_digits_in_the_extension_range_dial_that_extension() {
    let mut call = at_menu();
    let partial = call.press("412");
    assert!(transfer(&partial).is_none());
    assert!(partial.iter().any(|a| matches!(
        a,
        Action::StartTimer {
            after_ms: 3_000,
            ..
        }
    )));
    let t = transfer(&call.press("3")).unwrap();
    assert_eq!(t.to, Destination::Extension("4123".into()));
    let dial = events(&call.log).into_iter().last().unwrap();
    assert_eq!(
        (dial.exit.as_str(), dial.digits.as_deref()),
        ("direct_dial", Some("4123"))
    );
    call.send(Event::TransferResult(TransferOutcome::Answered));
    assert!(call.session.is_finished());
}

#[test]
fn a_partial_extension_left_to_time_out_is_invalid() {
    let mut call = at_menu();
    call.press("41");
    let after = call.wait();
    assert_eq!(
        heard(&after),
        ["Sorry, that isn't a valid choice.", REPROMPT]
    );
}

#[test]
fn dids_route_exactly_then_by_longest_prefix_with_their_variables() {
    let cat = shipped();
    let exact = cat.route("+14155550100").unwrap();
    assert_eq!((exact.flow.as_str(), exact.vars.len()), ("support-main", 0));
    let prefix = cat.route("+14155550207").unwrap();
    assert_eq!(prefix.vars.get("region").map(String::as_str), Some("west"));
    assert!(cat.route("+19995550000").is_none());

    let mut call = Call::new(shipped(), config(), OPEN);
    call.start(None, "+14155550207");
    assert_eq!(call.session.var("region"), Some(&Value::Str("west".into())));
    assert_eq!(call.session.var("queue_priority"), Some(&Value::Int(5)));

    let mut call = Call::new(shipped(), config(), OPEN);
    let unrouted = call.start(None, "+19995550000");
    assert_eq!(heard(&unrouted), ["sound:system/not-in-service"]);
    assert_eq!(hangup(&call.listen()), Some(HangupReason::Unrouted));
}

#[test]
fn stale_events_change_nothing() {
    let mut call = at_menu();
    assert!(call.send(Event::PlaybackFinished(PlaybackId(1))).is_empty());
    assert!(call.send(Event::TimerFired(TimerId(999))).is_empty());
    assert!(call.send(Event::VoicemailDone).is_empty());
    assert!(call.send(Event::HttpFailed { timed_out: true }).is_empty());
    let hung = call.send(Event::CallerHangup);
    assert_eq!(events(&hung)[0].exit, "caller_hangup");
    assert!(call.session.is_finished());
    assert!(call.press("1").is_empty());
}
