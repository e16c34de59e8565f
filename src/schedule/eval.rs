//! Checked schedules and the questions asked of them: open now? when does that change?
//!
//! Each rule is written in the schedule's wall-clock time and applied per local date:
//! an override for the date, else a holiday on the date, else the weekly hours of its
//! weekday. A local date `D` owns the instants from `resolve(D 00:00)` up to
//! `resolve(D+1 00:00)`, and a window `[s, e)` on `D` is open from `resolve(D s)` up to
//! `resolve(D e)`, where `resolve` is the DST rule of [`super::tz`]. So on the night the
//! clocks go back, `01:30-03:00` is open from the first 01:30 until 03:00, two and a half
//! hours, with no closing when the clocks show 01:00 again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::parse::{DAY_MINUTES, Window};
use super::tz::resolve;

/// How far ahead [`CompiledSchedule::next_change`] and [`CompiledSchedule::next_open`] look.
pub const SEARCH_DAYS: i64 = 14;

/// Whether a schedule is open at some instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Inside an opening window.
    Open,
    /// Outside every window, closed by an override, or forced closed.
    Closed,
    /// The whole local day is a holiday of the schedule's calendar; carries its name.
    Holiday(String),
}

impl Status {
    /// True only for [`Status::Open`].
    pub fn is_open(&self) -> bool {
        matches!(self, Status::Open)
    }
}

/// An admin's runtime switch that beats the schedule (FreePBX's override code): for an
/// emergency closure, or to stay open late without editing files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Force {
    /// Follow the schedule.
    #[default]
    None,
    /// Open whatever the schedule says.
    Open,
    /// Closed whatever the schedule says.
    Closed,
}

/// Holidays by exact date and by month-day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct HolidayCalendar {
    pub(super) dates: BTreeMap<NaiveDate, String>,
    pub(super) yearly: BTreeMap<(u32, u32), String>,
}

impl HolidayCalendar {
    /// The holiday on `day`; an exact date wins over a yearly one, being the more specific.
    pub(super) fn on(&self, day: NaiveDate) -> Option<&str> {
        self.dates
            .get(&day)
            .or_else(|| self.yearly.get(&(day.month(), day.day())))
            .map(String::as_str)
    }
}

/// One schedule, checked and ready to evaluate. Built by [`compile`](super::compile) or
/// [`compile_schedule`](super::compile_schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledSchedule {
    pub(super) tz: Tz,
    /// Windows per weekday, Monday first, sorted and not overlapping.
    pub(super) weekly: [Vec<Window>; 7],
    /// Per-date replacement hours; an empty list is closed all day.
    pub(super) overrides: BTreeMap<NaiveDate, Vec<Window>>,
    pub(super) holidays: HolidayCalendar,
}

/// What applies on one local date.
pub(super) enum DayPlan<'a> {
    Holiday(&'a str),
    Hours(&'a [Window]),
}

impl CompiledSchedule {
    /// The schedule's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The status at `now` by the schedule alone.
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        let day = self.day_of(now);
        match self.plan(day) {
            DayPlan::Holiday(name) => Status::Holiday(name.to_owned()),
            DayPlan::Hours(windows) if self.is_inside(day, windows, now) => Status::Open,
            DayPlan::Hours(_) => Status::Closed,
        }
    }

    /// The status at `now` with the runtime switch applied.
    pub fn status_with(&self, now: DateTime<Utc>, force: Force) -> Status {
        match force {
            Force::None => self.status_at(now),
            Force::Open => Status::Open,
            Force::Closed => Status::Closed,
        }
    }

    /// The first instant after `now`, within [`SEARCH_DAYS`], at which
    /// [`status_at`](Self::status_at) differs from its value at `now`. `Closed` to
    /// `Holiday` counts as a change. A forced status does not change with time, so callers
    /// that force ask this only when [`Force::None`].
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let current = self.status_at(now);
        self.breakpoints(now)
            .find(|&at| self.status_at(at) != current)
    }

    /// The next instant after `now`, within [`SEARCH_DAYS`], at which the schedule opens
    /// ("closed until Mon 08:00"). When open at `now`, this is the reopening after the
    /// coming close. Holidays and closed days in between are skipped.
    pub fn next_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut was_open = self.status_at(now).is_open();
        for at in self.breakpoints(now) {
            let open = self.status_at(at).is_open();
            if open && !was_open {
                return Some(at);
            }
            was_open = open;
        }
        None
    }

    /// What applies on `day`: override, then holiday, then weekly hours.
    pub(super) fn plan(&self, day: NaiveDate) -> DayPlan<'_> {
        if let Some(windows) = self.overrides.get(&day) {
            return DayPlan::Hours(windows);
        }
        if let Some(name) = self.holidays.on(day) {
            return DayPlan::Holiday(name);
        }
        let weekday = day.weekday().num_days_from_monday() as usize;
        DayPlan::Hours(&self.weekly[weekday])
    }

    /// The instant of `minute` (0..=1440) on local `day`; `None` only at the ends of
    /// chrono's calendar.
    fn instant(&self, day: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        day.and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::minutes(minute.into()))
            .map(|local| resolve(self.tz, local))
    }

    /// The local date that owns `now`. It is the wall-clock date except when midnight
    /// itself falls in a DST gap or overlap, where it can be a neighbour.
    fn day_of(&self, now: DateTime<Utc>) -> NaiveDate {
        let day = now.with_timezone(&self.tz).date_naive();
        if self.instant(day, 0).is_some_and(|start| now < start) {
            return day.pred_opt().unwrap_or(day);
        }
        if self.instant(day, DAY_MINUTES).is_some_and(|end| now >= end) {
            return day.succ_opt().unwrap_or(day);
        }
        day
    }

    fn is_inside(&self, day: NaiveDate, windows: &[Window], now: DateTime<Utc>) -> bool {
        windows.iter().any(
            |w| match (self.instant(day, w.start), self.instant(day, w.end)) {
                (Some(start), Some(end)) => start <= now && now < end,
                _ => false,
            },
        )
    }

    /// Every instant after `now` and within the horizon at which the status may change,
    /// in order: each day's midnight (overrides and holidays start there) and each window
    /// edge. The status is constant between two of them, so checking each is exact.
    fn breakpoints(&self, now: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        let horizon = now
            .checked_add_signed(TimeDelta::days(SEARCH_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut edges = BTreeSet::new();
        // One extra day covers the last day's end at the horizon.
        for day in self.day_of(now).iter_days().take(SEARCH_DAYS as usize + 2) {
            edges.insert(self.instant(day, 0));
            if let DayPlan::Hours(windows) = self.plan(day) {
                for w in windows {
                    edges.insert(self.instant(day, w.start));
                    edges.insert(self.instant(day, w.end));
                }
            }
        }
        edges
            .into_iter()
            .flatten()
            .filter(move |&at| now < at && at <= horizon)
    }
}

/// Every schedule of a file that compiled without errors, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledSchedules {
    pub(super) by_name: BTreeMap<String, CompiledSchedule>,
}

impl CompiledSchedules {
    /// The schedule called `name`, if it exists and had no errors.
    pub fn get(&self, name: &str) -> Option<&CompiledSchedule> {
        self.by_name.get(name)
    }

    /// Names of the compiled schedules, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Number of compiled schedules.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when no schedule compiled.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
