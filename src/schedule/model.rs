//! The `schedules.yaml` document as written by admins (IVR-FLOWS.md §5), before any checking.
//!
//! Every field keeps the admin's text (`"08:00-18:00"`, `"mon-fri"`, `"2026-12-24"`) so that
//! [`compile`](super::compile) can point at the exact entry that is wrong. Unknown keys are
//! rejected by serde, because a misspelt `overides:` would otherwise be silently ignored.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole `schedules.yaml` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// Format version; only `1` exists.
    pub version: u32,
    /// Schedules by name, as referenced by `schedule` nodes.
    pub schedules: BTreeMap<String, Schedule>,
    /// Holiday calendars by name, as referenced by [`Schedule::holidays`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, Vec<CalendarDay>>,
}

/// One named set of business hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// IANA zone name, e.g. `America/Los_Angeles`; all times below are wall-clock times there.
    pub timezone: String,
    /// Day spec (`"mon-fri"`, `"sat"`, `"sat,sun"`, `"fri-mon"`) to opening windows
    /// (`"08:00-18:00"`, end may be `"24:00"`). Days no key mentions are closed.
    pub weekly: BTreeMap<String, Vec<String>>,
    /// Holidays: the name of a calendar in [`ScheduleFile::calendars`], or a list written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays: Option<Holidays>,
    /// One-off changes for single dates; they beat holidays and weekly hours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// Where a schedule's holidays come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Holidays {
    /// A calendar shared with other schedules, by name.
    Calendar(String),
    /// Days listed in the schedule itself (handy for a schedule stored on its own).
    Inline(Vec<CalendarDay>),
}

/// A one-off change for one local date: either other hours or closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// `YYYY-MM-DD`, in the schedule's zone.
    pub date: String,
    /// The only windows open that day (an empty list means closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<String>>,
    /// `true`: closed all day. Give either this or `hours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
}

/// One holiday: a single date, or a month and day that repeats every year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDay {
    /// `YYYY-MM-DD` for a holiday that falls on a different date each year (Thanksgiving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `MM-DD` for a holiday on the same date every year (Christmas Day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<String>,
    /// Shown to agents and available to flows, e.g. `Christmas Day`.
    pub name: String,
}
