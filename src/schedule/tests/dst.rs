//! Daylight-saving changes: windows are wall-clock times, resolved by the rule in `tz.rs`
//! (a missing time is the end of the gap, a repeated time its first occurrence).
//!
//! 2026 dates used: Los Angeles springs forward Sun 03-08 (02:00 PST -> 03:00 PDT, at 10:00
//! UTC) and falls back Sun 11-01 (02:00 PDT -> 01:00 PST, at 09:00 UTC). Berlin springs
//! forward Sun 03-29 (02:00 CET -> 03:00 CEST, at 01:00 UTC) and falls back Sun 10-25
//! (03:00 CEST -> 02:00 CET, at 01:00 UTC). Santiago springs forward at midnight, Sun 09-06
//! (00:00 -> 01:00, at 04:00 UTC).

use chrono_tz::America::Los_Angeles as LA;
use chrono_tz::Europe::Berlin;

use super::*;

#[test]
fn on_the_spring_forward_day_a_window_over_the_gap_is_open_only_outside_it() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("sun", &["01:30-03:00"])],
    ));
    assert_eq!(s.status_at(utc(2026, 3, 8, 9, 29)), Status::Closed); // 01:29 PST
    assert_eq!(s.status_at(utc(2026, 3, 8, 9, 30)), Status::Open); // 01:30 PST
    assert_eq!(s.status_at(utc(2026, 3, 8, 9, 59)), Status::Open); // 01:59 PST
    assert_eq!(s.status_at(utc(2026, 3, 8, 10, 0)), Status::Closed); // 03:00 PDT
    // So the window lasts 30 real minutes that day.
    assert_eq!(
        s.next_change(utc(2026, 3, 8, 9, 45)),
        Some(utc(2026, 3, 8, 10, 0))
    );
}

#[test]
fn a_window_starting_inside_the_gap_opens_when_the_gap_ends() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("sun", &["02:30-05:00"])],
    ));
    assert_eq!(
        s.next_open(utc(2026, 3, 8, 9, 0)),
        Some(utc(2026, 3, 8, 10, 0))
    );
    assert_eq!(s.status_at(utc(2026, 3, 8, 10, 0)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 3, 8, 4, 59)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 3, 8, 5, 0)), Status::Closed);
}

#[test]
fn a_window_wholly_inside_the_gap_does_not_open_that_day() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("sun", &["02:00-02:30"])],
    ));
    for minute in [0, 59] {
        assert_eq!(s.status_at(utc(2026, 3, 8, 9, minute)), Status::Closed);
        assert_eq!(s.status_at(utc(2026, 3, 8, 10, minute)), Status::Closed);
    }
    // Next opening: the following Sunday, 02:00 PDT.
    assert_eq!(
        s.next_open(utc(2026, 3, 8, 9, 0)),
        Some(utc(2026, 3, 15, 9, 0))
    );
}

#[test]
fn on_the_fall_back_day_a_window_runs_from_the_first_start_to_the_end_without_a_break() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("sun", &["01:30-03:00"])],
    ));
    assert_eq!(s.status_at(utc(2026, 11, 1, 8, 29)), Status::Closed); // 01:29 PDT
    assert_eq!(s.status_at(utc(2026, 11, 1, 8, 30)), Status::Open); // first 01:30
    // After the clocks go back they show 01:15 PST, before 01:30; it stays open because
    // the window began at the first 01:30 and ends at 03:00 PST.
    assert_eq!(s.status_at(utc(2026, 11, 1, 9, 15)), Status::Open);
    assert_eq!(s.status_at(utc(2026, 11, 1, 10, 59)), Status::Open); // 02:59 PST
    assert_eq!(s.status_at(utc(2026, 11, 1, 11, 0)), Status::Closed); // 03:00 PST
    assert_eq!(
        s.next_change(utc(2026, 11, 1, 8, 0)),
        Some(utc(2026, 11, 1, 8, 30))
    );
    assert_eq!(
        s.next_change(utc(2026, 11, 1, 8, 30)),
        Some(utc(2026, 11, 1, 11, 0))
    );
}

#[test]
fn office_hours_keep_their_local_time_across_both_changes_in_los_angeles() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("mon-sun", &["09:00-17:00"])],
    ));
    // Saturday before spring forward: 09:00 PST is 17:00 UTC.
    assert_eq!(s.status_at(utc(2026, 3, 7, 16, 59)), Status::Closed);
    assert_eq!(s.status_at(utc(2026, 3, 7, 17, 0)), Status::Open);
    // The day of and the day after: 09:00 PDT is 16:00 UTC.
    for day in [8, 9] {
        assert_eq!(s.status_at(utc(2026, 3, day, 15, 59)), Status::Closed);
        assert_eq!(s.status_at(utc(2026, 3, day, 16, 0)), Status::Open);
        assert_eq!(s.status_at(utc(2026, 3, day, 23, 59)), Status::Open); // 16:59 PDT
        assert_eq!(s.status_at(utc(2026, 3, day + 1, 0, 0)), Status::Closed); // 17:00 PDT
    }
    // Saturday 17:30 PST -> Sunday 09:00 PDT: 22h30 later, not 23h30.
    assert_eq!(
        s.next_change(utc(2026, 3, 8, 1, 30)),
        Some(utc(2026, 3, 8, 16, 0))
    );
    // After fall back: Monday 11-02 09:00 PST is 17:00 UTC again.
    assert_eq!(s.status_at(utc(2026, 11, 2, 16, 30)), Status::Closed);
    assert_eq!(s.status_at(utc(2026, 11, 2, 17, 0)), Status::Open);
    assert_eq!(
        s.next_change(utc(2026, 11, 1, 1, 0)), // Saturday 18:00 PDT
        Some(utc(2026, 11, 1, 17, 0))          // Sunday 09:00 PST
    );
}

#[test]
fn office_hours_keep_their_local_time_across_both_changes_in_berlin() {
    let s = build(&schedule("Europe/Berlin", &[("mon-fri", &["09:00-17:00"])]));
    // Friday 03-27, 09:00 CET = 08:00 UTC; Monday 03-30, 09:00 CEST = 07:00 UTC.
    assert_eq!(s.status_at(utc(2026, 3, 27, 8, 0)), Status::Open);
    assert_eq!(s.status_at(utc(2026, 3, 30, 6, 59)), Status::Closed);
    assert_eq!(s.status_at(utc(2026, 3, 30, 7, 0)), Status::Open);
    assert_eq!(
        s.next_change(local(Berlin, 2026, 3, 27, 18, 0)),
        Some(utc(2026, 3, 30, 7, 0))
    );
    // Monday 10-26, 09:00 CET = 08:00 UTC.
    assert_eq!(s.status_at(utc(2026, 10, 26, 7, 30)), Status::Closed);
    assert_eq!(s.status_at(utc(2026, 10, 26, 8, 0)), Status::Open);
}

#[test]
fn berlin_windows_over_the_gap_and_the_repeated_hour() {
    let s = build(&schedule(
        "Europe/Berlin",
        &[("sun", &["01:30-03:00", "03:00-04:00"])],
    ));
    // Spring: 01:30 CET is 00:30 UTC; the gap ends at 01:00 UTC (03:00 CEST), where the
    // second window starts, so it stays open until 04:00 CEST = 02:00 UTC.
    assert_eq!(s.status_at(utc(2026, 3, 29, 0, 29)), Status::Closed);
    assert_eq!(s.status_at(utc(2026, 3, 29, 0, 30)), Status::Open);
    assert_eq!(
        s.next_change(utc(2026, 3, 29, 0, 30)),
        Some(utc(2026, 3, 29, 2, 0))
    );

    let late = build(&schedule("Europe/Berlin", &[("sun", &["02:30-04:00"])]));
    // Autumn: 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET); the window opens at
    // the first and ends at 04:00 CET = 03:00 UTC.
    assert_eq!(late.status_at(utc(2026, 10, 25, 0, 29)), Status::Closed);
    assert_eq!(late.status_at(utc(2026, 10, 25, 0, 30)), Status::Open);
    assert_eq!(late.status_at(utc(2026, 10, 25, 1, 15)), Status::Open); // 02:15 CET
    assert_eq!(
        late.next_change(utc(2026, 10, 25, 0, 30)),
        Some(utc(2026, 10, 25, 3, 0))
    );
}

#[test]
fn a_gap_at_midnight_starts_the_day_when_the_gap_ends() {
    // Santiago: Saturday 09-05 runs until Sunday's first instant, 01:00 local (04:00 UTC).
    let s = build(&schedule("America/Santiago", &[("sat", &["00:00-24:00"])]));
    assert_eq!(s.status_at(utc(2026, 9, 6, 3, 59)), Status::Open);
    assert_eq!(s.status_at(utc(2026, 9, 6, 4, 0)), Status::Closed);
    assert_eq!(
        s.next_change(utc(2026, 9, 6, 3, 0)),
        Some(utc(2026, 9, 6, 4, 0))
    );
}
