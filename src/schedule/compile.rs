//! Checking a schedule file and turning it into [`CompiledSchedule`]s (rule IVR014, plus
//! the schedule-specific shapes serde cannot express).
//!
//! Checking never stops at the first problem. A schedule is compiled only when neither it
//! nor the calendar it uses has an error, so nothing half-understood is ever evaluated;
//! warnings do not hold a schedule back.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::{TZ_VARIANTS, Tz};

use super::eval::{CompiledSchedule, CompiledSchedules, HolidayCalendar};
use super::gaps::check_dst_gaps;
use super::model::{CalendarDay, Holidays, Override, Schedule, ScheduleFile};
use super::parse::{DAY_NAMES, Window, parse_date, parse_days, parse_window, parse_yearly};
use super::problem::{Problem, ProblemKind, Report, Subject, key_path, nearest};

/// The only format version.
const VERSION: u32 = 1;

/// Checks a whole `schedules.yaml`. Returns the schedules that have no errors, and every
/// problem found. `now` picks the years (this one and the next) checked for DST gaps.
pub fn compile(file: &ScheduleFile, now: DateTime<Utc>) -> (CompiledSchedules, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut file_report = Report::new(&mut problems, Subject::File);
    if file.version != VERSION {
        file_report.error(
            ProblemKind::UnsupportedVersion,
            "version".to_owned(),
            format!(
                "version {} is not supported; this platform reads version {VERSION}",
                file.version
            ),
            None,
        );
    }
    let version_ok = !file_report.failed;

    let mut calendars = Calendars::new(&file.calendars);
    for name in file.calendars.keys() {
        calendars.compile(name, &mut problems);
    }

    let mut compiled = CompiledSchedules::default();
    for (name, schedule) in &file.schedules {
        let base = key_path("schedules", name);
        let built = compile_one(name, schedule, &base, &calendars, now, &mut problems);
        if let (Some(built), true) = (built, version_ok) {
            compiled.by_name.insert(name.clone(), built);
        }
    }
    (compiled, problems)
}

/// Checks one schedule stored on its own (a chat widget's hours), resolving a named
/// calendar in `calendars`. Paths are relative to the schedule (`weekly.mon-fri[0]`);
/// `name` labels the problems. Only the calendar the schedule uses is checked.
pub fn compile_schedule(
    name: &str,
    schedule: &Schedule,
    calendars: &BTreeMap<String, Vec<CalendarDay>>,
    now: DateTime<Utc>,
) -> (Option<CompiledSchedule>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut lookup = Calendars::new(calendars);
    if let Some(Holidays::Calendar(calendar)) = &schedule.holidays {
        lookup.compile(calendar, &mut problems);
    }
    let built = compile_one(name, schedule, "", &lookup, now, &mut problems);
    (built, problems)
}

/// Named calendars: the raw ones (for "did you mean") and those compiled so far, `None`
/// when a calendar has errors.
struct Calendars<'f> {
    raw: &'f BTreeMap<String, Vec<CalendarDay>>,
    compiled: BTreeMap<&'f str, Option<HolidayCalendar>>,
}

impl<'f> Calendars<'f> {
    fn new(raw: &'f BTreeMap<String, Vec<CalendarDay>>) -> Self {
        Calendars {
            raw,
            compiled: BTreeMap::new(),
        }
    }

    fn compile(&mut self, name: &str, problems: &mut Vec<Problem>) {
        let Some((name, days)) = self.raw.get_key_value(name) else {
            return;
        };
        let mut report = Report::new(problems, Subject::Calendar(name.clone()));
        let calendar = compile_calendar(days, &key_path("calendars", name), &mut report);
        let ok = !report.failed;
        self.compiled.insert(name, ok.then_some(calendar));
    }
}

fn compile_calendar(days: &[CalendarDay], base: &str, report: &mut Report<'_>) -> HolidayCalendar {
    let mut calendar = HolidayCalendar::default();
    // Where each date was first given, to name it in duplicate warnings.
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, day) in days.iter().enumerate() {
        let path = format!("{base}[{i}]");
        let (key, field) = match (&day.date, &day.yearly) {
            (Some(date), None) => match parse_date(date) {
                Ok(d) => {
                    calendar.dates.entry(d).or_insert_with(|| day.name.clone());
                    (date.clone(), "date")
                }
                Err(err) => {
                    report.error(
                        ProblemKind::BadDate,
                        format!("{path}.date"),
                        err.to_string(),
                        err.hint(),
                    );
                    continue;
                }
            },
            (None, Some(yearly)) => match parse_yearly(yearly) {
                Ok(md) => {
                    calendar
                        .yearly
                        .entry(md)
                        .or_insert_with(|| day.name.clone());
                    (format!("yearly {yearly}"), "yearly")
                }
                Err(err) => {
                    report.error(
                        ProblemKind::BadDate,
                        format!("{path}.yearly"),
                        err.to_string(),
                        err.hint(),
                    );
                    continue;
                }
            },
            (date, _) => {
                let both = date.is_some();
                report.error(
                    ProblemKind::BadDate,
                    path,
                    format!(
                        "holiday {:?} gives {} of `date` and `yearly`; give exactly one",
                        day.name,
                        if both { "both" } else { "neither" }
                    ),
                    Some(
                        "`date: \"2026-11-26\"` for one year, `yearly: \"12-25\"` for every year"
                            .to_owned(),
                    ),
                );
                continue;
            }
        };
        let field_path = format!("{path}.{field}");
        if let Some(first) = first_seen.get(&key) {
            // Harmless (the first name wins) but usually a copy-paste slip.
            report.warning(
                ProblemKind::DuplicateDate,
                field_path,
                format!(
                    "{key} is already a holiday at {first}; {:?} is ignored",
                    day.name
                ),
                None,
            );
        } else {
            first_seen.insert(key, field_path);
        }
    }
    calendar
}

/// A window and where it was written, for messages.
pub(super) type Sourced = (Window, String);

fn compile_one(
    name: &str,
    schedule: &Schedule,
    base: &str,
    calendars: &Calendars<'_>,
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) -> Option<CompiledSchedule> {
    let mut report = Report::new(problems, Subject::Schedule(name.to_owned()));

    let tz = match schedule.timezone.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            let hint = nearest(&schedule.timezone, TZ_VARIANTS.iter().map(|tz| tz.name()))
                .map(|zone| format!("did you mean {zone:?}?"));
            report.error(
                ProblemKind::UnknownTimezone,
                key_path(base, "timezone"),
                format!("{:?} is not an IANA time zone name", schedule.timezone),
                hint,
            );
            None
        }
    };

    let weekly = weekly_windows(schedule, base, &mut report);
    let overrides = override_windows(&schedule.overrides, base, &mut report);
    let holidays = holidays(schedule, base, calendars, &mut report);

    let tz = tz?;
    let mut compiled = CompiledSchedule {
        tz,
        weekly: std::array::from_fn(|day| weekly[day].iter().map(|(w, _)| *w).collect()),
        overrides: overrides
            .iter()
            .map(|(date, windows)| (*date, windows.iter().map(|(w, _)| *w).collect()))
            .collect(),
        holidays: holidays.unwrap_or_default(),
    };
    for windows in compiled
        .weekly
        .iter_mut()
        .chain(compiled.overrides.values_mut())
    {
        windows.sort();
    }
    // Check gaps with what will run, whose plan tells which windows apply on a date; the
    // sourced copies say where each window was written.
    check_dst_gaps(&compiled, &weekly, &overrides, now, &mut report);
    (!report.failed).then_some(compiled)
}

/// Windows per weekday (Monday first), with overlaps within a day reported.
fn weekly_windows(schedule: &Schedule, base: &str, report: &mut Report<'_>) -> [Vec<Sourced>; 7] {
    let weekly_path = key_path(base, "weekly");
    let mut days: [Vec<Sourced>; 7] = Default::default();
    for (spec, windows) in &schedule.weekly {
        let spec_path = key_path(&weekly_path, spec);
        let mask = match parse_days(spec) {
            Ok(mask) => mask,
            Err(err) => {
                report.error(
                    ProblemKind::BadDaySpec,
                    spec_path.clone(),
                    err.to_string(),
                    err.hint(),
                );
                // Still check the windows, so one round of fixes is enough.
                0
            }
        };
        for (i, text) in windows.iter().enumerate() {
            let path = format!("{spec_path}[{i}]");
            match parse_window(text) {
                Ok(window) => {
                    for (day, list) in days.iter_mut().enumerate() {
                        if mask & (1 << day) != 0 {
                            list.push((window, path.clone()));
                        }
                    }
                }
                Err(err) => report.error(ProblemKind::BadWindow, path, err.to_string(), err.hint()),
            }
        }
    }
    // One problem per pair of windows, naming every day they clash on.
    let mut clashes: BTreeMap<(&Sourced, &Sourced), Vec<&str>> = BTreeMap::new();
    for (day, list) in days.iter().enumerate() {
        for (a, b) in overlapping_pairs(list) {
            clashes.entry((a, b)).or_default().push(DAY_NAMES[day]);
        }
    }
    for ((first, second), on) in clashes {
        report.error(
            ProblemKind::OverlappingWindows,
            second.1.clone(),
            format!(
                "{} overlaps {} ({}) on {}",
                second.0,
                first.0,
                first.1,
                on.join(", ")
            ),
            Some(
                "merge the two windows or move one; a day's windows may touch but not overlap"
                    .to_owned(),
            ),
        );
    }
    days
}

/// Pairs of windows in `list` that overlap, each pair once, earlier-written first.
fn overlapping_pairs(list: &[Sourced]) -> Vec<(&Sourced, &Sourced)> {
    let mut pairs = Vec::new();
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            if a.0.overlaps(b.0) {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

fn override_windows(
    overrides: &[Override],
    base: &str,
    report: &mut Report<'_>,
) -> BTreeMap<NaiveDate, Vec<Sourced>> {
    let mut by_date: BTreeMap<NaiveDate, Vec<Sourced>> = BTreeMap::new();
    let mut first_seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (i, o) in overrides.iter().enumerate() {
        let path = format!("{}[{i}]", key_path(base, "overrides"));
        let date = match parse_date(&o.date) {
            Ok(date) => Some(date),
            Err(err) => {
                report.error(
                    ProblemKind::BadDate,
                    format!("{path}.date"),
                    err.to_string(),
                    err.hint(),
                );
                None
            }
        };
        let windows = match (&o.hours, o.closed) {
            (Some(hours), None | Some(false)) => {
                let mut windows = Vec::new();
                for (j, text) in hours.iter().enumerate() {
                    let window_path = format!("{path}.hours[{j}]");
                    match parse_window(text) {
                        Ok(window) => windows.push((window, window_path)),
                        Err(err) => report.error(
                            ProblemKind::BadWindow,
                            window_path,
                            err.to_string(),
                            err.hint(),
                        ),
                    }
                }
                for (a, b) in overlapping_pairs(&windows) {
                    report.error(
                        ProblemKind::OverlappingWindows,
                        b.1.clone(),
                        format!("{} overlaps {} ({})", b.0, a.0, a.1),
                        None,
                    );
                }
                Some(windows)
            }
            (None, Some(true)) => Some(Vec::new()),
            (Some(_), Some(true)) => {
                report.error(
                    ProblemKind::BadOverride,
                    path.clone(),
                    format!(
                        "override for {} gives both `hours` and `closed: true`",
                        o.date
                    ),
                    Some(
                        "keep `hours` to open only then, or `closed: true` to close all day"
                            .to_owned(),
                    ),
                );
                None
            }
            (None, None | Some(false)) => {
                report.error(
                    ProblemKind::BadOverride,
                    path.clone(),
                    format!("override for {} changes nothing", o.date),
                    Some("give `hours: [\"HH:MM-HH:MM\"]` or `closed: true`".to_owned()),
                );
                None
            }
        };
        let Some(date) = date else { continue };
        if let Some(&first) = first_seen.get(&date) {
            report.error(
                ProblemKind::DuplicateDate,
                format!("{path}.date"),
                format!(
                    "{date} already has an override at overrides[{first}]; which one applies \
                     would be a guess"
                ),
                Some("merge them into one override".to_owned()),
            );
            continue;
        }
        first_seen.insert(date, i);
        if let Some(windows) = windows {
            by_date.insert(date, windows);
        }
    }
    by_date
}

/// The schedule's holidays; `None` when they cannot be used (reported, or reported on the
/// calendar itself).
fn holidays(
    schedule: &Schedule,
    base: &str,
    calendars: &Calendars<'_>,
    report: &mut Report<'_>,
) -> Option<HolidayCalendar> {
    let path = key_path(base, "holidays");
    match &schedule.holidays {
        None => Some(HolidayCalendar::default()),
        Some(Holidays::Inline(days)) => Some(compile_calendar(days, &path, report)),
        Some(Holidays::Calendar(name)) => match calendars.compiled.get(name.as_str()) {
            Some(Some(calendar)) => Some(calendar.clone()),
            Some(None) => {
                // The calendar's own errors are reported against it; this schedule must not
                // be published with a calendar it cannot read.
                report.failed = true;
                None
            }
            None => {
                let hint = nearest(name, calendars.raw.keys().map(String::as_str))
                    .map(|c| format!("did you mean {c:?}?"));
                report.error(
                    ProblemKind::UnknownCalendar,
                    path,
                    format!("there is no calendar {name:?} under `calendars`"),
                    hint,
                );
                None
            }
        },
    }
}
