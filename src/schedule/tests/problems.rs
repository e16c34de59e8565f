//! Every kind of problem `compile` reports, where it points, and that all are reported.

use serde_json::json;

use super::*;

fn file(value: serde_json::Value) -> ScheduleFile {
    serde_json::from_value(value).expect("a well-formed document")
}

fn check(value: serde_json::Value) -> (CompiledSchedules, Vec<Problem>) {
    compile(&file(value), compile_now())
}

/// The one problem of `kind`, failing the test when there is not exactly one.
fn only(problems: &[Problem], kind: ProblemKind) -> Problem {
    let found: Vec<_> = problems.iter().filter(|p| p.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind:?} in {problems:#?}");
    found[0].clone()
}

fn one_schedule(schedule: serde_json::Value) -> (CompiledSchedules, Vec<Problem>) {
    check(json!({ "version": 1, "schedules": { "s": schedule } }))
}

#[test]
fn an_unknown_version_is_an_error_and_nothing_is_compiled() {
    let (compiled, problems) = check(json!({ "version": 2, "schedules": {
        "s": { "timezone": "UTC", "weekly": {} }
    } }));
    let p = only(&problems, ProblemKind::UnsupportedVersion);
    assert_eq!(
        (p.severity, &p.subject, p.path.as_str()),
        (Severity::Error, &Subject::File, "version")
    );
    assert!(compiled.is_empty());
}

#[test]
fn a_misspelt_time_zone_is_an_error_with_the_nearest_name() {
    let (compiled, problems) =
        one_schedule(json!({ "timezone": "America/Los_Angles", "weekly": {} }));
    let p = only(&problems, ProblemKind::UnknownTimezone);
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.subject, Subject::Schedule("s".into()));
    assert_eq!(p.path, "schedules.s.timezone");
    assert_eq!(
        p.hint.as_deref(),
        Some("did you mean \"America/Los_Angeles\"?")
    );
    assert!(compiled.get("s").is_none());

    let (_, problems) = one_schedule(json!({ "timezone": "europe/berlin", "weekly": {} }));
    let p = only(&problems, ProblemKind::UnknownTimezone);
    assert_eq!(p.hint.as_deref(), Some("did you mean \"Europe/Berlin\"?"));
}

#[test]
fn a_zone_far_from_any_name_gets_no_guess() {
    for zone in ["Mars/Olympus_Mons", "PST", ""] {
        let (_, problems) = one_schedule(json!({ "timezone": zone, "weekly": {} }));
        assert_eq!(
            only(&problems, ProblemKind::UnknownTimezone).hint,
            None,
            "{zone}"
        );
    }
}

#[test]
fn a_bad_day_spec_is_an_error_and_its_windows_are_still_checked() {
    let (_, problems) = one_schedule(json!({
        "timezone": "UTC", "weekly": { "Mon-Friday": ["8-18"] }
    }));
    let p = only(&problems, ProblemKind::BadDaySpec);
    assert_eq!(p.path, "schedules.s.weekly.Mon-Friday");
    assert_eq!(p.hint.as_deref(), Some("did you mean \"mon-fri\"?"));
    assert_eq!(
        only(&problems, ProblemKind::BadWindow).path,
        "schedules.s.weekly.Mon-Friday[0]"
    );
}

#[test]
fn malformed_windows_are_errors_each_at_its_own_index() {
    let (_, problems) = one_schedule(json!({
        "timezone": "UTC",
        "weekly": { "mon": ["08:00-12:00", "18:00-13:00", "13:00-25:00", "9:00-10:00"] }
    }));
    let paths: Vec<_> = problems.iter().map(|p| (p.kind, p.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            (ProblemKind::BadWindow, "schedules.s.weekly.mon[1]"),
            (ProblemKind::BadWindow, "schedules.s.weekly.mon[2]"),
            (ProblemKind::BadWindow, "schedules.s.weekly.mon[3]"),
        ]
    );
    assert!(problems[0].hint.as_deref().unwrap().contains("24:00"));
    assert_eq!(
        problems[2].hint.as_deref(),
        Some("did you mean \"09:00-10:00\"?")
    );
}

#[test]
fn overlapping_windows_are_reported_once_per_pair_with_the_days() {
    let (compiled, problems) = one_schedule(json!({
        "timezone": "UTC",
        "weekly": {
            "mon-fri": ["08:00-12:00"],
            "tue,thu": ["11:00-13:00"],
            "sat": ["08:00-10:00", "10:00-12:00"]
        }
    }));
    let p = only(&problems, ProblemKind::OverlappingWindows);
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.path, "schedules.s.weekly[\"tue,thu\"][0]");
    assert!(
        p.message.contains("schedules.s.weekly.mon-fri[0]"),
        "{}",
        p.message
    );
    assert!(p.message.ends_with("on tue, thu"), "{}", p.message);
    assert!(compiled.get("s").is_none());
}

#[test]
fn overlapping_override_hours_are_an_error() {
    let (_, problems) = one_schedule(json!({
        "timezone": "UTC", "weekly": {},
        "overrides": [ { "date": "2026-12-24", "hours": ["08:00-12:00", "09:00-10:00"] } ]
    }));
    assert_eq!(
        only(&problems, ProblemKind::OverlappingWindows).path,
        "schedules.s.overrides[0].hours[1]"
    );
}

#[test]
fn an_unknown_calendar_is_an_error_with_the_nearest_calendar() {
    let (compiled, problems) = check(json!({
        "version": 1,
        "schedules": { "s": { "timezone": "UTC", "weekly": {}, "holidays": "us-holiday" } },
        "calendars": { "us-holidays": [], "de-feiertage": [] }
    }));
    let p = only(&problems, ProblemKind::UnknownCalendar);
    assert_eq!(p.path, "schedules.s.holidays");
    assert_eq!(p.hint.as_deref(), Some("did you mean \"us-holidays\"?"));
    assert!(compiled.get("s").is_none());
}

#[test]
fn malformed_dates_are_errors_in_overrides_and_calendars() {
    let (_, problems) = check(json!({
        "version": 1,
        "schedules": { "s": {
            "timezone": "UTC", "weekly": {}, "holidays": "c",
            "overrides": [ { "date": "2026-13-01", "closed": true } ]
        } },
        "calendars": { "c": [
            { "date": "26-11-2026", "name": "Thanksgiving" },
            { "yearly": "12/25", "name": "Christmas Day" },
            { "yearly": "02-30", "name": "Nonsense" },
            { "name": "No date" },
            { "date": "2026-01-01", "yearly": "01-01", "name": "Both" }
        ] }
    }));
    let bad: Vec<_> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::BadDate)
        .map(|p| (p.subject.clone(), p.path.as_str()))
        .collect();
    let calendar = Subject::Calendar("c".into());
    assert_eq!(
        bad,
        [
            (calendar.clone(), "calendars.c[0].date"),
            (calendar.clone(), "calendars.c[1].yearly"),
            (calendar.clone(), "calendars.c[2].yearly"),
            (calendar.clone(), "calendars.c[3]"),
            (calendar, "calendars.c[4]"),
            (
                Subject::Schedule("s".into()),
                "schedules.s.overrides[0].date"
            ),
        ]
    );
    assert_eq!(problems.len(), bad.len());
}

#[test]
fn a_schedule_whose_calendar_has_errors_is_not_compiled() {
    let (compiled, problems) = check(json!({
        "version": 1,
        "schedules": {
            "uses-it": { "timezone": "UTC", "weekly": {}, "holidays": "c" },
            "does-not": { "timezone": "UTC", "weekly": {} }
        },
        "calendars": { "c": [ { "date": "soon", "name": "x" } ] }
    }));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].subject, Subject::Calendar("c".into()));
    assert_eq!(compiled.names().collect::<Vec<_>>(), ["does-not"]);
}

#[test]
fn an_override_must_give_either_hours_or_closed() {
    let (_, problems) = one_schedule(json!({
        "timezone": "UTC", "weekly": {},
        "overrides": [
            { "date": "2026-12-24", "hours": ["08:00-12:00"], "closed": true },
            { "date": "2026-12-25" },
            { "date": "2026-12-26", "closed": false },
            { "date": "2026-12-27", "hours": ["08:00-12:00"], "closed": false },
            { "date": "2026-12-28", "hours": [] }
        ]
    }));
    let paths: Vec<_> = problems.iter().map(|p| (p.kind, p.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            (ProblemKind::BadOverride, "schedules.s.overrides[0]"),
            (ProblemKind::BadOverride, "schedules.s.overrides[1]"),
            (ProblemKind::BadOverride, "schedules.s.overrides[2]"),
        ]
    );
}

#[test]
fn two_overrides_for_one_date_are_an_error_and_repeated_holidays_a_warning() {
    let (compiled, problems) = check(json!({
        "version": 1,
        "schedules": { "s": {
            "timezone": "UTC", "weekly": {}, "holidays": "c",
            "overrides": [
                { "date": "2026-12-24", "closed": true },
                { "date": "2026-12-24", "hours": ["08:00-12:00"] }
            ]
        } },
        "calendars": { "c": [
            { "yearly": "12-25", "name": "Christmas Day" },
            { "yearly": "12-25", "name": "Christmas" },
            { "date": "2026-11-26", "name": "Thanksgiving" }
        ] }
    }));
    let dupes: Vec<_> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::DuplicateDate)
        .map(|p| (p.severity, p.path.as_str()))
        .collect();
    assert_eq!(
        dupes,
        [
            (Severity::Warning, "calendars.c[1].yearly"),
            (Severity::Error, "schedules.s.overrides[1].date"),
        ]
    );
    assert!(problems[0].message.contains("calendars.c[0].yearly"));
    assert!(compiled.get("s").is_none());
}

#[test]
fn a_window_over_a_dst_gap_is_a_warning_naming_the_day_and_real_length() {
    let (compiled, problems) = one_schedule(json!({
        "timezone": "America/Los_Angeles",
        "weekly": { "sun": ["01:30-03:00", "09:00-17:00"], "sat": ["00:00-24:00"] },
        "overrides": [ { "date": "2027-03-14", "hours": ["02:30-04:00"] } ]
    }));
    let gaps: Vec<_> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::DstGap)
        .collect();
    assert_eq!(gaps.len(), 2, "{problems:#?}");
    assert_eq!(gaps[0].severity, Severity::Warning);
    assert_eq!(gaps[0].path, "schedules.s.weekly.sun[0]");
    assert!(
        gaps[0].message.starts_with("on 2026-03-08"),
        "{}",
        gaps[0].message
    );
    assert!(
        gaps[0]
            .message
            .contains("open 30 minutes that day instead of 90")
    );
    assert!(gaps[0].hint.as_deref().unwrap().contains("02:00-03:00"));
    // The 2027 change day is overridden, so the override's window is the one warned about.
    assert_eq!(gaps[1].path, "schedules.s.overrides[0].hours[0]");
    assert!(gaps[1].message.starts_with("on 2027-03-14"));
    // A warning does not hold the schedule back.
    assert!(compiled.get("s").is_some());
}

#[test]
fn no_dst_warning_for_whole_days_windows_clear_of_the_gap_or_holidays() {
    let (_, problems) = check(json!({
        "version": 1,
        "schedules": {
            "all-day": { "timezone": "America/New_York", "weekly": { "mon-sun": ["00:00-24:00"] } },
            "office": {
                "timezone": "Europe/Berlin",
                "weekly": { "mon-sun": ["03:00-17:00", "00:00-02:00"] }
            },
            "utc": { "timezone": "UTC", "weekly": { "sun": ["01:30-03:00"] } },
            "holiday": {
                "timezone": "America/Los_Angeles", "weekly": { "sun": ["01:30-03:00"] },
                "holidays": [
                    { "date": "2026-03-08", "name": "Closed for DST" },
                    { "date": "2027-03-14", "name": "Closed for DST" }
                ]
            }
        }
    }));
    assert_eq!(problems, []);
}

#[test]
fn a_midnight_gap_warns_about_a_window_starting_at_midnight() {
    let (_, problems) = one_schedule(json!({
        "timezone": "America/Santiago",
        "weekly": { "sat": ["00:00-24:00"], "sun": ["00:00-02:00"] }
    }));
    let p = only(&problems, ProblemKind::DstGap);
    assert_eq!(p.path, "schedules.s.weekly.sun[0]");
    assert!(
        p.message.contains("jump from 00:00 to 01:00"),
        "{}",
        p.message
    );
}

#[test]
fn every_problem_in_a_file_is_reported_in_one_pass() {
    let (compiled, problems) = check(json!({
        "version": 1,
        "schedules": {
            "broken": {
                "timezone": "Nowhere/City",
                "weekly": { "weekdays": ["08:00-18:00"], "sat": ["13:00-09:00"] },
                "holidays": "missing",
                "overrides": [ { "date": "tomorrow", "closed": true } ]
            },
            "fine": { "timezone": "UTC", "weekly": { "mon-fri": ["09:00-17:00"] } }
        }
    }));
    let kinds: Vec<_> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::UnknownTimezone,
            ProblemKind::BadWindow,
            ProblemKind::BadDaySpec,
            ProblemKind::BadDate,
            ProblemKind::UnknownCalendar,
        ]
    );
    assert!(problems.iter().all(Problem::is_error));
    assert_eq!(compiled.names().collect::<Vec<_>>(), ["fine"]);
}

#[test]
fn a_schedule_stored_alone_reports_paths_relative_to_itself() {
    let mut widget = schedule("Europe/Berlin", &[("mon", &["09:00-12:00", "11:00-13:00"])]);
    widget.holidays = Some(Holidays::Calendar("de".into()));
    let calendars = BTreeMap::from([
        (
            "de".to_owned(),
            vec![CalendarDay {
                date: None,
                yearly: Some("13-01".into()),
                name: "x".into(),
            }],
        ),
        // Not used by the widget, so its error is not the widget's business.
        (
            "other".to_owned(),
            vec![CalendarDay {
                date: None,
                yearly: None,
                name: "y".into(),
            }],
        ),
    ]);
    let (compiled, problems) = compile_schedule("widget", &widget, &calendars, compile_now());
    let found: Vec<_> = problems.iter().map(|p| (p.kind, p.path.as_str())).collect();
    assert_eq!(
        found,
        [
            (ProblemKind::BadDate, "calendars.de[0].yearly"),
            (ProblemKind::OverlappingWindows, "weekly.mon[1]"),
        ]
    );
    assert!(compiled.is_none());
}
