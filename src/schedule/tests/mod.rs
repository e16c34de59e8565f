//! Tests of the schedule module through its public surface. The document is built from
//! JSON values because the project has not picked its YAML parser yet; serde sees the same
//! data model either way.

mod dst;
mod evaluation;
mod problems;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::*;

/// Compile time for every test: DST checks cover 2026 and 2027.
pub(super) fn compile_now() -> DateTime<Utc> {
    utc(2026, 1, 15, 12, 0)
}

pub(super) fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// An unambiguous wall-clock time in `tz`, as an instant.
pub(super) fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

pub(super) fn schedule(timezone: &str, weekly: &[(&str, &[&str])]) -> Schedule {
    Schedule {
        timezone: timezone.to_owned(),
        weekly: weekly
            .iter()
            .map(|(days, windows)| {
                let windows = windows.iter().map(|w| (*w).to_owned()).collect();
                ((*days).to_owned(), windows)
            })
            .collect(),
        holidays: None,
        overrides: Vec::new(),
    }
}

pub(super) fn closed_on(date: &str) -> Override {
    Override {
        date: date.to_owned(),
        hours: None,
        closed: Some(true),
    }
}

pub(super) fn hours_on(date: &str, hours: &[&str]) -> Override {
    Override {
        date: date.to_owned(),
        hours: Some(hours.iter().map(|h| (*h).to_owned()).collect()),
        closed: None,
    }
}

/// Compiles a schedule that must have no errors (warnings are allowed).
pub(super) fn build(schedule: &Schedule) -> CompiledSchedule {
    let (compiled, problems) = compile_schedule("test", schedule, &BTreeMap::new(), compile_now());
    assert!(
        problems.iter().all(|p| !p.is_error()),
        "unexpected errors: {problems:#?}"
    );
    compiled.expect("a schedule without errors compiles")
}

/// The example of IVR-FLOWS.md §5, verbatim.
pub(super) fn spec_example() -> ScheduleFile {
    serde_json::from_value(json!({
        "version": 1,
        "schedules": {
            "support-hours": {
                "timezone": "America/Los_Angeles",
                "weekly": { "mon-fri": ["08:00-18:00"], "sat": ["09:00-13:00"] },
                "holidays": "us-holidays",
                "overrides": [
                    { "date": "2026-12-24", "hours": ["08:00-12:00"] },
                    { "date": "2026-12-31", "closed": true }
                ]
            },
            "front-desk": {
                "timezone": "America/New_York",
                "weekly": { "mon-sun": ["00:00-24:00"] },
                "overrides": [ { "date": "2026-07-04", "closed": true } ]
            }
        },
        "calendars": {
            "us-holidays": [
                { "date": "2026-11-26", "name": "Thanksgiving" },
                { "yearly": "12-25", "name": "Christmas Day" },
                { "yearly": "01-01", "name": "New Year's Day" }
            ]
        }
    }))
    .expect("the spec example deserializes")
}

#[test]
fn the_spec_example_deserializes_into_the_documented_shape() {
    let file = spec_example();
    let support = &file.schedules["support-hours"];
    assert_eq!(support.timezone, "America/Los_Angeles");
    assert_eq!(support.weekly["sat"], ["09:00-13:00"]);
    assert_eq!(
        support.holidays,
        Some(Holidays::Calendar("us-holidays".into()))
    );
    assert_eq!(support.overrides[1], closed_on("2026-12-31"));
    assert_eq!(
        file.calendars["us-holidays"][1].yearly.as_deref(),
        Some("12-25")
    );
}

#[test]
fn the_spec_example_compiles_without_any_problem() {
    let (compiled, problems) = compile(&spec_example(), compile_now());
    assert_eq!(problems, []);
    assert_eq!(
        compiled.names().collect::<Vec<_>>(),
        ["front-desk", "support-hours"]
    );
    assert!(compiled.get("support-hours").is_some());
    assert!(compiled.get("night-shift").is_none());
}

#[test]
fn serializing_and_reading_back_gives_the_same_document() {
    let file = spec_example();
    let text = serde_json::to_string(&file).unwrap();
    assert_eq!(serde_json::from_str::<ScheduleFile>(&text).unwrap(), file);
}

#[test]
fn calendars_may_be_left_out_and_holidays_may_be_inline() {
    let file: ScheduleFile = serde_json::from_value(json!({
        "version": 1,
        "schedules": { "shop": {
            "timezone": "Europe/Berlin",
            "weekly": { "mon-sat": ["10:00-20:00"] },
            "holidays": [ { "yearly": "12-25", "name": "1. Weihnachtstag" } ]
        } }
    }))
    .unwrap();
    assert!(file.calendars.is_empty());
    let (compiled, problems) = compile(&file, compile_now());
    assert_eq!(problems, []);
    let shop = compiled.get("shop").unwrap();
    assert_eq!(
        shop.status_at(local(chrono_tz::Europe::Berlin, 2026, 12, 25, 12, 0)),
        Status::Holiday("1. Weihnachtstag".into())
    );
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    let misspelt_override = json!({ "version": 1, "schedules": { "s": {
        "timezone": "UTC", "weekly": {}, "overides": []
    } } });
    assert!(serde_json::from_value::<ScheduleFile>(misspelt_override).is_err());
    let extra_in_day = json!({ "version": 1, "schedules": {}, "calendars": { "c": [
        { "date": "2026-01-01", "name": "x", "observed": true }
    ] } });
    assert!(serde_json::from_value::<ScheduleFile>(extra_in_day).is_err());
    let extra_in_override = json!({ "version": 1, "schedules": { "s": {
        "timezone": "UTC", "weekly": {}, "overrides": [ { "date": "2026-01-01", "open": true } ]
    } } });
    assert!(serde_json::from_value::<ScheduleFile>(extra_in_override).is_err());
}

#[test]
fn problems_serialize_for_the_editor() {
    let mut bad = schedule("UTC", &[("mon", &["9-17"])]);
    bad.overrides.push(closed_on("2026-01-01"));
    let (_, problems) = compile_schedule("widget", &bad, &BTreeMap::new(), compile_now());
    let value = serde_json::to_value(&problems[0]).unwrap();
    assert_eq!(value["severity"], "error");
    assert_eq!(value["kind"], "bad_window");
    assert_eq!(value["subject"], json!({ "schedule": "widget" }));
    assert_eq!(value["path"], "weekly.mon[0]");
}
