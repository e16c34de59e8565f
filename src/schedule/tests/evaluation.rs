//! Weekly hours, overrides, holidays, forcing, and when the status next changes.

use chrono_tz::America::Los_Angeles as LA;

use super::*;

fn support_hours() -> CompiledSchedule {
    let (compiled, problems) = compile(&spec_example(), compile_now());
    assert_eq!(problems, []);
    compiled.get("support-hours").unwrap().clone()
}

#[test]
fn weekly_windows_open_at_their_start_and_close_at_their_end() {
    let s = support_hours();
    // Monday 2026-06-01.
    assert_eq!(s.status_at(local(LA, 2026, 6, 1, 7, 59)), Status::Closed);
    assert_eq!(s.status_at(local(LA, 2026, 6, 1, 8, 0)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 6, 1, 17, 59)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 6, 1, 18, 0)), Status::Closed);
    // Saturday 2026-06-06 has its own window.
    assert_eq!(s.status_at(local(LA, 2026, 6, 6, 8, 0)), Status::Closed);
    assert_eq!(s.status_at(local(LA, 2026, 6, 6, 12, 0)), Status::Open);
}

#[test]
fn days_no_key_mentions_are_closed_all_day() {
    let s = support_hours();
    // Sunday 2026-06-07.
    for hour in [0, 8, 12, 23] {
        assert_eq!(s.status_at(local(LA, 2026, 6, 7, hour, 0)), Status::Closed);
    }
}

#[test]
fn windows_are_read_in_the_schedules_zone_not_in_utc() {
    let s = support_hours();
    // Monday 2026-06-01 in Los Angeles is UTC-7: 16:00 UTC is 09:00 there, and 00:30 UTC on
    // Tuesday is still Monday 17:30 (open) while 02:00 UTC is Monday 19:00 (closed).
    assert_eq!(s.status_at(utc(2026, 6, 1, 16, 0)), Status::Open);
    assert_eq!(s.status_at(utc(2026, 6, 2, 0, 30)), Status::Open);
    assert_eq!(s.status_at(utc(2026, 6, 2, 2, 0)), Status::Closed);
}

#[test]
fn a_night_shift_written_across_midnight_stays_open_through_it() {
    let s = build(&schedule(
        "America/Los_Angeles",
        &[("fri", &["22:00-24:00"]), ("sat", &["00:00-02:00"])],
    ));
    // Friday 2026-06-05 into Saturday.
    assert_eq!(s.status_at(local(LA, 2026, 6, 5, 21, 59)), Status::Closed);
    assert_eq!(s.status_at(local(LA, 2026, 6, 5, 23, 59)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 6, 6, 0, 0)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 6, 6, 2, 0)), Status::Closed);
    // Midnight is not a change: the next one is the close on Saturday.
    assert_eq!(
        s.next_change(local(LA, 2026, 6, 5, 22, 30)),
        Some(local(LA, 2026, 6, 6, 2, 0))
    );
}

#[test]
fn a_whole_day_window_every_day_is_always_open_and_never_changes() {
    let s = build(&schedule(
        "America/New_York",
        &[("mon-sun", &["00:00-24:00"])],
    ));
    for day in 1..=7 {
        assert_eq!(s.status_at(utc(2026, 6, day, 4, 0)), Status::Open);
    }
    assert_eq!(s.next_change(utc(2026, 6, 1, 0, 0)), None);
    assert_eq!(s.next_open(utc(2026, 6, 1, 0, 0)), None);
}

#[test]
fn an_override_beats_the_weekly_hours() {
    let s = support_hours();
    // Thursday 2026-12-24 opens 08:00-12:00 instead of 08:00-18:00.
    assert_eq!(s.status_at(local(LA, 2026, 12, 24, 11, 59)), Status::Open);
    assert_eq!(s.status_at(local(LA, 2026, 12, 24, 12, 0)), Status::Closed);
    // Thursday 2026-12-31 is closed all day.
    assert_eq!(s.status_at(local(LA, 2026, 12, 31, 10, 0)), Status::Closed);
}

#[test]
fn an_override_beats_a_holiday() {
    let mut file = spec_example();
    let support = file.schedules.get_mut("support-hours").unwrap();
    support
        .overrides
        .push(hours_on("2026-12-25", &["10:00-12:00"]));
    support.overrides.push(closed_on("2026-11-26"));
    let (compiled, problems) = compile(&file, compile_now());
    assert_eq!(problems, []);
    let s = compiled.get("support-hours").unwrap();
    assert_eq!(s.status_at(local(LA, 2026, 12, 25, 11, 0)), Status::Open);
    // Outside the override's hours it is closed, not a holiday: the override owns the day.
    assert_eq!(s.status_at(local(LA, 2026, 12, 25, 9, 0)), Status::Closed);
    assert_eq!(s.status_at(local(LA, 2026, 11, 26, 10, 0)), Status::Closed);
}

#[test]
fn fixed_date_holidays_close_the_whole_day_with_their_name() {
    let s = support_hours();
    // Thanksgiving, Thursday 2026-11-26, would otherwise be open 08-18.
    for hour in [0, 10, 23] {
        assert_eq!(
            s.status_at(local(LA, 2026, 11, 26, hour, 0)),
            Status::Holiday("Thanksgiving".into())
        );
    }
    // The date is fixed: Thanksgiving 2027 is not on 11-26.
    assert_eq!(s.status_at(local(LA, 2027, 11, 26, 10, 0)), Status::Open);
}

#[test]
fn yearly_holidays_repeat_every_year_even_on_closed_days() {
    let s = support_hours();
    let christmas = Status::Holiday("Christmas Day".into());
    assert_eq!(s.status_at(local(LA, 2026, 12, 25, 10, 0)), christmas); // Friday
    assert_eq!(s.status_at(local(LA, 2027, 12, 25, 10, 0)), christmas); // Saturday
    assert_eq!(s.status_at(local(LA, 2028, 12, 25, 10, 0)), christmas); // Monday
    // Holiday on a Sunday, which weekly hours leave closed anyway: still reported by name.
    assert_eq!(
        s.status_at(local(LA, 2034, 1, 1, 10, 0)),
        Status::Holiday("New Year's Day".into())
    );
    // The holiday is the local date: 07:00 UTC on 12-26 is still the 25th in Los Angeles.
    assert_eq!(s.status_at(utc(2026, 12, 26, 7, 0)), christmas);
}

#[test]
fn force_beats_everything_and_none_follows_the_schedule() {
    let s = support_hours();
    let open_hours = local(LA, 2026, 6, 1, 10, 0);
    let night = local(LA, 2026, 6, 1, 23, 0);
    let thanksgiving = local(LA, 2026, 11, 26, 10, 0);
    assert_eq!(s.status_with(open_hours, Force::Closed), Status::Closed);
    assert_eq!(s.status_with(night, Force::Open), Status::Open);
    assert_eq!(s.status_with(thanksgiving, Force::Open), Status::Open);
    assert_eq!(s.status_with(thanksgiving, Force::Closed), Status::Closed);
    for at in [open_hours, night, thanksgiving] {
        assert_eq!(s.status_with(at, Force::None), s.status_at(at));
    }
    assert_eq!(Force::default(), Force::None);
}

#[test]
fn next_change_finds_the_next_open_or_close_over_closed_days() {
    let s = support_hours();
    // Friday 2026-06-05 evening -> Saturday 09:00.
    assert_eq!(
        s.next_change(local(LA, 2026, 6, 5, 18, 30)),
        Some(local(LA, 2026, 6, 6, 9, 0))
    );
    // Saturday inside the window -> its end.
    assert_eq!(
        s.next_change(local(LA, 2026, 6, 6, 10, 0)),
        Some(local(LA, 2026, 6, 6, 13, 0))
    );
    // Saturday afternoon -> over closed Sunday -> Monday 08:00.
    assert_eq!(
        s.next_change(local(LA, 2026, 6, 6, 14, 0)),
        Some(local(LA, 2026, 6, 8, 8, 0))
    );
    // Exactly at an edge, the change is the following edge.
    assert_eq!(
        s.next_change(local(LA, 2026, 6, 8, 8, 0)),
        Some(local(LA, 2026, 6, 8, 18, 0))
    );
    // An override's shorter hours end at noon.
    assert_eq!(
        s.next_change(local(LA, 2026, 12, 24, 9, 0)),
        Some(local(LA, 2026, 12, 24, 12, 0))
    );
}

#[test]
fn entering_a_holiday_is_a_change_but_next_open_skips_it() {
    let s = support_hours();
    let after_noon = local(LA, 2026, 12, 24, 13, 0);
    // Closed -> Christmas Day at midnight.
    assert_eq!(
        s.next_change(after_noon),
        Some(local(LA, 2026, 12, 25, 0, 0))
    );
    // The caller-facing "closed until": Saturday 12-26 at 09:00.
    assert_eq!(s.next_open(after_noon), Some(local(LA, 2026, 12, 26, 9, 0)));
    // During a holiday the next change is the day after.
    assert_eq!(
        s.next_change(local(LA, 2026, 11, 26, 10, 0)),
        Some(local(LA, 2026, 11, 27, 0, 0))
    );
}

#[test]
fn next_open_while_open_is_the_reopening_after_the_coming_close() {
    let s = support_hours();
    assert_eq!(
        s.next_open(local(LA, 2026, 6, 1, 10, 0)),
        Some(local(LA, 2026, 6, 2, 8, 0))
    );
}

#[test]
fn the_search_stops_after_fourteen_days() {
    let mut never = schedule("America/Los_Angeles", &[]);
    never
        .overrides
        .push(hours_on("2026-06-10", &["09:00-10:00"]));
    never
        .overrides
        .push(hours_on("2026-07-20", &["09:00-10:00"]));
    let s = build(&never);
    let now = local(LA, 2026, 6, 1, 12, 0);
    assert_eq!(s.status_at(now), Status::Closed);
    assert_eq!(s.next_open(now), Some(local(LA, 2026, 6, 10, 9, 0)));
    // From the 11th, the July opening is 39 days away: past the horizon.
    let later = local(LA, 2026, 6, 11, 0, 0);
    assert_eq!(s.next_change(later), None);
    assert_eq!(s.next_open(later), None);
}
