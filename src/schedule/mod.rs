//! Business hours: the `schedules.yaml` model (IVR-FLOWS.md §5), its checks (rule IVR014)
//! and the pure evaluation of "open, closed or holiday at this instant".
//!
//! Pure: no I/O and no clock; every question takes the instant it is about. The IVR
//! `schedule` node, callback windows and the chat widget's "we're closed until Mon 08:00"
//! all ask the same [`CompiledSchedule`].
//!
//! - `model.rs`: the serde types admins write.
//! - `compile.rs`: checking them into [`CompiledSchedule`]s, reporting every [`Problem`].
//! - `eval.rs`: [`Status`], [`Force`], and [`CompiledSchedule`]'s questions.
//! - `gaps.rs`: the warning for windows that overlap a DST gap.
//! - `tz.rs`: the DST rule — a local time that does not exist maps to the first instant
//!   after the gap, a local time that occurs twice maps to the earlier instant.
//! - `parse.rs`: day specs, windows and dates.
//!
//! Typical use:
//! ```
//! # use std::collections::BTreeMap;
//! # use chrono::{TimeZone, Utc};
//! use switchboard::schedule::{Schedule, Status, compile_schedule};
//!
//! let hours = Schedule {
//!     timezone: "Europe/Berlin".into(),
//!     weekly: BTreeMap::from([("mon-fri".into(), vec!["09:00-17:00".into()])]),
//!     holidays: None,
//!     overrides: vec![],
//! };
//! let now = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap(); // Monday 12:00 in Berlin
//! let (schedule, problems) = compile_schedule("widget", &hours, &BTreeMap::new(), now);
//! assert!(problems.is_empty());
//! let schedule = schedule.expect("no errors");
//! assert_eq!(schedule.status_at(now), Status::Open);
//! let five_pm = Utc.with_ymd_and_hms(2026, 6, 1, 15, 0, 0).unwrap();
//! assert_eq!(schedule.next_change(now), Some(five_pm));
//! ```

mod compile;
mod eval;
mod gaps;
mod model;
mod parse;
mod problem;
#[cfg(test)]
mod tests;
mod tz;

pub use compile::{compile, compile_schedule};
pub use eval::{CompiledSchedule, CompiledSchedules, Force, SEARCH_DAYS, Status};
pub use model::{CalendarDay, Holidays, Override, Schedule, ScheduleFile};
pub use problem::{Problem, ProblemKind, Severity, Subject};
