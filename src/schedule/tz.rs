//! Turning wall-clock times into instants, and finding a zone's offset changes.
//!
//! The one rule every other part relies on: a local time maps to exactly one instant.
//! - A time that does not exist (inside a spring-forward gap) maps to the first instant
//!   after the gap, so `02:30` on a day the clocks jump from 02:00 to 03:00 is 03:00.
//! - A time that occurs twice (inside a fall-back overlap) maps to the earlier instant.
//!
//! Because the mapping never goes backwards, windows built from it never overlap in real
//! time and a status never flickers when the clocks go back.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The longest gap the tz database has (Samoa skipped 2011-12-30) is one day; two leave room.
const MAX_GAP_MINUTES: u32 = 2 * 24 * 60;

/// Offsets are sampled this often when looking for changes; real zones never change twice
/// within it.
const SCAN_STEP_HOURS: i64 = 6;

/// The instant of wall-clock time `local` in `tz`, by the rule in the module docs.
pub(super) fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // Stepping minute by minute lands exactly on the end of the gap: every tz database
    // change since 1970 happens on a whole minute, and so do the times we resolve.
    for _ in 0..=MAX_GAP_MINUTES {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return at.with_timezone(&Utc);
            }
            LocalResult::None => match probe.checked_add_signed(TimeDelta::minutes(1)) {
                Some(next) => probe = next,
                None => break,
            },
        }
    }
    // Not reachable with the tz database; reading the time as UTC keeps this total.
    Utc.from_utc_datetime(&local)
}

/// Offset from UTC in seconds at an instant.
pub(super) fn offset_at(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// A change of a zone's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Transition {
    /// The first instant with the new offset.
    pub(super) at: DateTime<Utc>,
    /// Offset in seconds before.
    pub(super) before: i32,
    /// Offset in seconds from `at` on.
    pub(super) after: i32,
}

impl Transition {
    /// The wall-clock times that do not exist, `[start, end)`, when the clocks jump forward.
    pub(super) fn gap(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        (self.after > self.before).then(|| {
            let utc = self.at.naive_utc();
            (
                utc + TimeDelta::seconds(self.before.into()),
                utc + TimeDelta::seconds(self.after.into()),
            )
        })
    }
}

/// Every offset change of `tz` in `[from, to)`, in order.
pub(super) fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let step = TimeDelta::hours(SCAN_STEP_HOURS);
    let mut found = Vec::new();
    let mut lo = from;
    let mut lo_offset = offset_at(tz, lo);
    while lo < to {
        let hi = (lo + step).min(to);
        let hi_offset = offset_at(tz, hi);
        if hi_offset != lo_offset {
            found.push(Transition {
                at: first_change(tz, lo, hi, lo_offset),
                before: lo_offset,
                after: hi_offset,
            });
        }
        (lo, lo_offset) = (hi, hi_offset);
    }
    found
}

/// Binary search, on whole seconds, for the first instant in `(lo, hi]` whose offset is
/// not `lo_offset`. `lo` and `hi` are whole seconds, as every tz database change is.
fn first_change(tz: Tz, lo: DateTime<Utc>, hi: DateTime<Utc>, lo_offset: i32) -> DateTime<Utc> {
    let (mut lo, mut hi) = (lo.timestamp(), hi.timestamp());
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(tz, at(mid)) == lo_offset {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use chrono_tz::America::Los_Angeles;

    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(&local(y, m, d, h, min))
    }

    #[test]
    fn a_time_in_the_spring_gap_resolves_to_the_end_of_the_gap() {
        // 2026-03-08 02:00 PST becomes 03:00 PDT, which is 10:00 UTC.
        assert_eq!(
            resolve(Los_Angeles, local(2026, 3, 8, 2, 30)),
            utc(2026, 3, 8, 10, 0)
        );
        assert_eq!(
            resolve(Los_Angeles, local(2026, 3, 8, 3, 0)),
            utc(2026, 3, 8, 10, 0)
        );
    }

    #[test]
    fn a_repeated_autumn_time_resolves_to_its_first_occurrence() {
        // 2026-11-01 01:30 happens at 08:30 UTC (PDT) and again at 09:30 UTC (PST).
        assert_eq!(
            resolve(Los_Angeles, local(2026, 11, 1, 1, 30)),
            utc(2026, 11, 1, 8, 30)
        );
    }

    #[test]
    fn transitions_finds_both_2026_changes_to_the_second() {
        let found = transitions(Los_Angeles, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        assert_eq!(
            found,
            [
                Transition {
                    at: utc(2026, 3, 8, 10, 0),
                    before: -8 * 3600,
                    after: -7 * 3600
                },
                Transition {
                    at: utc(2026, 11, 1, 9, 0),
                    before: -7 * 3600,
                    after: -8 * 3600
                },
            ]
        );
        assert_eq!(
            found[0].gap(),
            Some((local(2026, 3, 8, 2, 0), local(2026, 3, 8, 3, 0)))
        );
        assert_eq!(found[1].gap(), None);
    }
}
