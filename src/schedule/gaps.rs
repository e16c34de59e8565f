//! The IVR014 warning for windows that overlap a daylight-saving gap.
//!
//! Hours are wall-clock times, so on the day the clocks jump forward a window that covers
//! part of the jump is open for less real time than written (`01:30-03:00` over a 02:00 to
//! 03:00 jump is open 30 minutes). That is the documented behaviour, but rarely what the
//! admin pictured, so it is worth a warning on the dates it will happen.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};

use super::compile::Sourced;
use super::eval::{CompiledSchedule, DayPlan};
use super::problem::{ProblemKind, Report};
use super::tz::{resolve, transitions};

/// Warns about windows that overlap a spring-forward gap on a date of this year or the
/// next: they run in wall-clock time, so they are open for less real time that day.
/// Whole-day windows are left alone: "open all day" stays true.
pub(super) fn check_dst_gaps(
    schedule: &CompiledSchedule,
    weekly: &[Vec<Sourced>; 7],
    overrides: &BTreeMap<NaiveDate, Vec<Sourced>>,
    now: DateTime<Utc>,
    report: &mut Report<'_>,
) {
    let year_start = |year: i32| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
    };
    let (Some(from), Some(to)) = (year_start(now.year()), year_start(now.year() + 2)) else {
        return;
    };
    // A day either side catches local dates that straddle the UTC new year.
    let (from, to) = (from - TimeDelta::days(1), to + TimeDelta::days(1));
    let mut warned = BTreeSet::new();
    let gaps = transitions(schedule.tz, from, to)
        .into_iter()
        .filter_map(|t| t.gap());
    for (gap_start, gap_end) in gaps {
        let last_day = (gap_end - TimeDelta::minutes(1)).date();
        for day in gap_start.date().iter_days().take_while(|d| *d <= last_day) {
            let windows: &[Sourced] = match (overrides.get(&day), schedule.plan(day)) {
                (Some(windows), _) => windows,
                (None, DayPlan::Holiday(_)) => &[],
                (None, DayPlan::Hours(_)) => &weekly[day.weekday().num_days_from_monday() as usize],
            };
            for (window, path) in windows {
                let midnight = day.and_time(NaiveTime::MIN);
                let start = midnight + TimeDelta::minutes(window.start.into());
                let end = midnight + TimeDelta::minutes(window.end.into());
                if window.is_whole_day()
                    || end <= gap_start
                    || gap_end <= start
                    || !warned.insert(path)
                {
                    continue;
                }
                let real = (resolve(schedule.tz, end) - resolve(schedule.tz, start)).num_minutes();
                let (from, to) = (gap_start.format("%H:%M"), gap_end.format("%H:%M"));
                report.warning(
                    ProblemKind::DstGap,
                    path.clone(),
                    format!(
                        "on {day} the clocks in {} jump from {from} to {to}, so {window} is open \
                         {real} minutes that day instead of {}",
                        schedule.tz.name(),
                        window.end - window.start,
                    ),
                    Some(format!(
                        "hours are wall-clock times; move the window off {from}-{to} if the \
                         shorter opening matters"
                    )),
                );
            }
        }
    }
}
