//! Parsing of the small text formats inside `schedules.yaml`: day specs, opening windows,
//! dates and yearly month-days. Strict on purpose (two-digit hours, no spaces): the files
//! live in git and are read by people, so one spelling per value keeps diffs and reviews
//! simple. Where a lenient reading would succeed, the error carries it as a hint.

use std::fmt;

use chrono::NaiveDate;

/// Three-letter day names, Monday first to match [`chrono::Weekday::num_days_from_monday`].
pub(super) const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes in a day; the only valid value for a window end of `24:00`.
pub(super) const DAY_MINUTES: u16 = 24 * 60;

/// An opening window within one local day, in minutes since local midnight: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Window {
    pub(super) start: u16,
    pub(super) end: u16,
}

impl Window {
    pub(super) fn overlaps(self, other: Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub(super) fn is_whole_day(self) -> bool {
        self.start == 0 && self.end == DAY_MINUTES
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// Why a value could not be read. The `Display` text is the problem message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ParseError {
    #[error(
        "{spec:?} is not a day spec: {token:?} is not one of mon, tue, wed, thu, fri, sat, sun"
    )]
    UnknownDay { spec: String, token: String },
    #[error("{spec:?} lists {day} more than once")]
    RepeatedDay { spec: String, day: &'static str },
    #[error("{0:?} is not an opening window: write HH:MM-HH:MM, e.g. \"08:00-18:00\"")]
    WindowSyntax(String),
    #[error("{window:?}: {time:?} is not a time of day (00:00 to 23:59; 24:00 only as an end)")]
    BadTime { window: String, time: String },
    #[error("{0:?} does not end after it starts")]
    EndNotAfterStart(String),
    #[error("{0:?} is not a date: write YYYY-MM-DD, e.g. \"2026-12-24\"")]
    Date(String),
    #[error("{0:?} is not a month and day: write MM-DD, e.g. \"12-25\"")]
    Yearly(String),
}

impl ParseError {
    /// A likely fix, when one can be guessed from the text.
    pub(super) fn hint(&self) -> Option<String> {
        match self {
            ParseError::UnknownDay { spec, .. } => lenient_days(spec)
                .filter(|fixed| fixed != spec)
                .map(|fixed| format!("did you mean {fixed:?}?")),
            ParseError::RepeatedDay { .. } => {
                Some("list each day once; ranges may wrap, e.g. \"fri-mon\"".to_owned())
            }
            ParseError::WindowSyntax(text) | ParseError::BadTime { window: text, .. } => {
                lenient_window(text)
                    .filter(|fixed| fixed != text)
                    .map(|fixed| format!("did you mean {fixed:?}?"))
            }
            ParseError::EndNotAfterStart(_) => Some(
                "a window cannot run past midnight: end it at 24:00 and open the next day \
                 at 00:00"
                    .to_owned(),
            ),
            ParseError::Date(_) | ParseError::Yearly(_) => None,
        }
    }
}

/// Parses a day spec into a bit set, bit 0 = Monday. Parts are separated by commas; a part
/// is a day or a range `a-b` that runs forward from `a` and may wrap past Sunday
/// (`fri-mon` = Friday to Monday), so there is no question of which day a week starts on.
pub(super) fn parse_days(spec: &str) -> Result<u8, ParseError> {
    let day = |token: &str| {
        DAY_NAMES
            .iter()
            .position(|&name| name == token)
            .ok_or_else(|| ParseError::UnknownDay {
                spec: spec.to_owned(),
                token: token.to_owned(),
            })
    };
    let mut mask = 0u8;
    for part in spec.split(',') {
        let days = match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let len = (last + 7 - first) % 7 + 1;
                (0..len).fold(0u8, |m, i| m | 1 << ((first + i) % 7))
            }
            None => 1 << day(part)?,
        };
        if let Some(i) = (0..7).find(|i| mask & days & (1 << i) != 0) {
            return Err(ParseError::RepeatedDay {
                spec: spec.to_owned(),
                day: DAY_NAMES[i],
            });
        }
        mask |= days;
    }
    Ok(mask)
}

/// Reads a spec written carelessly (`"Mon - Friday"`) into the strict spelling, if it then
/// parses.
fn lenient_days(spec: &str) -> Option<String> {
    let squeezed: String = spec
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let fixed = squeezed
        .split(',')
        .map(|part| {
            part.split('-')
                .map(|day| day.chars().take(3).collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(",");
    parse_days(&fixed).ok().map(|_| fixed)
}

/// Parses `HH:MM-HH:MM`. The end may be `24:00` and must be after the start.
pub(super) fn parse_window(text: &str) -> Result<Window, ParseError> {
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| ParseError::WindowSyntax(text.to_owned()))?;
    let time = |t: &str, is_end: bool| {
        parse_time(t, is_end).map_err(|syntax| {
            if syntax {
                ParseError::WindowSyntax(text.to_owned())
            } else {
                ParseError::BadTime {
                    window: text.to_owned(),
                    time: t.to_owned(),
                }
            }
        })
    };
    let window = Window {
        start: time(start, false)?,
        end: time(end, true)?,
    };
    if window.end <= window.start {
        return Err(ParseError::EndNotAfterStart(text.to_owned()));
    }
    Ok(window)
}

/// `HH:MM` to minutes. `Err(true)` when the shape is wrong, `Err(false)` when the shape is
/// right but the value is not a time (`25:00`, `12:60`, `24:00` as a start).
fn parse_time(t: &str, is_end: bool) -> Result<u16, bool> {
    let b = t.as_bytes();
    let shaped =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return Err(true);
    }
    let digit = |i: usize| u16::from(b[i] - b'0');
    let (hours, minutes) = (digit(0) * 10 + digit(1), digit(3) * 10 + digit(4));
    let total = hours * 60 + minutes;
    match (hours, minutes) {
        (0..=23, 0..=59) => Ok(total),
        (24, 0) if is_end => Ok(total),
        _ => Err(false),
    }
}

/// Reads `" 8:00 - 18:00"` into `"08:00-18:00"`, if that then parses.
fn lenient_window(text: &str) -> Option<String> {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (start, end) = squeezed.split_once('-')?;
    let pad = |t: &str| {
        if t.find(':') == Some(1) {
            format!("0{t}")
        } else {
            t.to_owned()
        }
    };
    let fixed = format!("{}-{}", pad(start), pad(end));
    parse_window(&fixed).ok().map(|_| fixed)
}

/// Parses `YYYY-MM-DD` exactly (chrono alone would also take `2026-1-5`).
pub(super) fn parse_date(text: &str) -> Result<NaiveDate, ParseError> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| ParseError::Date(text.to_owned()))
}

/// Parses `MM-DD` into (month, day); `02-29` is allowed and then matches leap years only.
pub(super) fn parse_yearly(text: &str) -> Result<(u32, u32), ParseError> {
    let b = text.as_bytes();
    let shaped =
        b.len() == 5 && b[2] == b'-' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    let number = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    shaped
        .then(|| (number(0), number(3)))
        // 2000 is a leap year, so this accepts exactly the month-days that exist in some year.
        .filter(|&(m, d)| NaiveDate::from_ymd_opt(2000, m, d).is_some())
        .ok_or_else(|| ParseError::Yearly(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(mask: u8) -> Vec<&'static str> {
        (0..7)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| DAY_NAMES[i])
            .collect()
    }

    #[test]
    fn day_specs_accept_single_days_ranges_lists_and_wrapping_ranges() {
        assert_eq!(days(parse_days("sat").unwrap()), ["sat"]);
        assert_eq!(
            days(parse_days("mon-fri").unwrap()),
            ["mon", "tue", "wed", "thu", "fri"]
        );
        assert_eq!(parse_days("mon-sun").unwrap(), 0b111_1111);
        assert_eq!(days(parse_days("sun,sat").unwrap()), ["sat", "sun"]);
        assert_eq!(
            days(parse_days("fri-mon").unwrap()),
            ["mon", "fri", "sat", "sun"]
        );
        assert_eq!(
            days(parse_days("mon-tue,thu").unwrap()),
            ["mon", "tue", "thu"]
        );
    }

    #[test]
    fn day_specs_reject_unknown_and_repeated_days_with_a_hint() {
        let err = parse_days("Mon-Friday").unwrap_err();
        assert!(matches!(err, ParseError::UnknownDay { .. }));
        assert_eq!(err.hint().as_deref(), Some("did you mean \"mon-fri\"?"));
        assert!(matches!(
            parse_days("mon-fri,wed"),
            Err(ParseError::RepeatedDay { day: "wed", .. })
        ));
        assert!(parse_days("").is_err());
        assert!(parse_days("mon,").is_err());
        assert!(parse_days("mon-").is_err());
    }

    #[test]
    fn windows_are_strict_hh_mm_with_24_00_only_as_an_end() {
        assert_eq!(
            parse_window("08:00-18:00").unwrap(),
            Window {
                start: 480,
                end: 1080
            }
        );
        assert_eq!(parse_window("00:00-24:00").unwrap().end, DAY_MINUTES);
        assert!(matches!(
            parse_window("24:00-24:00"),
            Err(ParseError::BadTime { .. })
        ));
        assert!(matches!(
            parse_window("08:00-24:30"),
            Err(ParseError::BadTime { .. })
        ));
        assert!(matches!(
            parse_window("09:60-10:00"),
            Err(ParseError::BadTime { .. })
        ));
        assert!(matches!(
            parse_window("18:00-08:00"),
            Err(ParseError::EndNotAfterStart(_))
        ));
        assert!(matches!(
            parse_window("08:00-08:00"),
            Err(ParseError::EndNotAfterStart(_))
        ));
        let err = parse_window("8:00 - 18:00").unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean \"08:00-18:00\"?"));
        assert!(parse_window("0800-1800").is_err());
        assert_eq!(
            parse_window("08:00-18:00").unwrap().to_string(),
            "08:00-18:00"
        );
    }

    #[test]
    fn dates_and_yearly_days_must_exist_and_be_zero_padded() {
        assert_eq!(
            parse_date("2026-12-24").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()
        );
        assert!(parse_date("2026-1-5").is_err());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("24/12/2026").is_err());
        assert_eq!(parse_yearly("12-25").unwrap(), (12, 25));
        assert_eq!(parse_yearly("02-29").unwrap(), (2, 29));
        assert!(parse_yearly("02-30").is_err());
        assert!(parse_yearly("13-01").is_err());
        assert!(parse_yearly("2026-12-25").is_err());
    }
}
