//! What [`compile`](super::compile) reports about a schedule file: every problem at once,
//! each pointing at the entry it is about, so an admin can fix a file in one round.

use serde::Serialize;

/// Whether a problem blocks publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks publish (IVR-FLOWS.md §9 "E").
    Error,
    /// Shown, but publishing is allowed ("W").
    Warning,
}

/// Which kind of mistake a problem is, so callers can map it to a rule code and tests can
/// match on it without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// `version` is not 1.
    UnsupportedVersion,
    /// `timezone` is not an IANA zone name.
    UnknownTimezone,
    /// A `weekly` key is not a day spec such as `mon-fri` or `sat,sun`.
    BadDaySpec,
    /// A window is not `HH:MM-HH:MM` with the end after the start.
    BadWindow,
    /// Two windows of the same day overlap.
    OverlappingWindows,
    /// `holidays` names a calendar that does not exist.
    UnknownCalendar,
    /// A date is not `YYYY-MM-DD` (`MM-DD` for `yearly`), or a holiday gives neither or both.
    BadDate,
    /// An override gives both `hours` and `closed: true`, or neither.
    BadOverride,
    /// Two overrides (error) or two holidays of one calendar (warning) share a date.
    DuplicateDate,
    /// A window overlaps a daylight-saving gap, so it is open for less time that day.
    DstGap,
}

/// What a problem belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// The file as a whole (`version`).
    File,
    /// A schedule, by name.
    Schedule(String),
    /// A holiday calendar, by name.
    Calendar(String),
}

/// One finding about a schedule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Which rule was broken.
    pub kind: ProblemKind,
    /// The schedule or calendar concerned.
    pub subject: Subject,
    /// Where in the document, e.g. `schedules.support-hours.weekly.mon-fri[0]`.
    pub path: String,
    /// What is wrong, in a sentence an admin can act on.
    pub message: String,
    /// A likely fix, e.g. the nearest valid name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    /// True when this problem blocks publishing.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects problems for one subject, so each call site states only what differs.
pub(super) struct Report<'a> {
    pub(super) problems: &'a mut Vec<Problem>,
    pub(super) subject: Subject,
    /// Set once an error is pushed: the subject must not be handed out compiled.
    pub(super) failed: bool,
}

impl<'a> Report<'a> {
    pub(super) fn new(problems: &'a mut Vec<Problem>, subject: Subject) -> Self {
        Report {
            problems,
            subject,
            failed: false,
        }
    }

    pub(super) fn error(
        &mut self,
        kind: ProblemKind,
        path: String,
        message: String,
        hint: Option<String>,
    ) {
        self.failed = true;
        self.push(Severity::Error, kind, path, message, hint);
    }

    pub(super) fn warning(
        &mut self,
        kind: ProblemKind,
        path: String,
        message: String,
        hint: Option<String>,
    ) {
        self.push(Severity::Warning, kind, path, message, hint);
    }

    fn push(
        &mut self,
        severity: Severity,
        kind: ProblemKind,
        path: String,
        message: String,
        hint: Option<String>,
    ) {
        self.problems.push(Problem {
            severity,
            kind,
            subject: self.subject.clone(),
            path,
            message,
            hint,
        });
    }
}

/// Appends a mapping key to a path, quoting keys that would make the path ambiguous
/// (`weekly["sat,sun"]`, since a bare comma or dot reads like syntax).
pub(super) fn key_path(base: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/');
    match (base.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{base}.{key}"),
        (_, false) => format!("{base}[{key:?}]"),
    }
}

/// The candidate closest to `wrong`, if it is close enough to be a plausible typo.
///
/// Case is ignored, so `america/new_york` suggests `America/New_York`. The allowed distance
/// grows with length (a quarter of it): short names like `PST` are more often a different
/// thing than a typo, and "did you mean EST?" would mislead.
pub(super) fn nearest<'c>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let wrong = wrong.to_lowercase();
    let limit = wrong.chars().count() / 4;
    candidates
        .into_iter()
        .map(|c| (edit_distance(&wrong, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars; the inputs are short names, so two rows suffice.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn nearest_ignores_case_and_refuses_far_guesses() {
        let names = ["us-holidays", "uk-holidays"];
        assert_eq!(nearest("us-holiday", names), Some("us-holidays"));
        assert_eq!(nearest("US-HOLIDAYS", names), Some("us-holidays"));
        assert_eq!(nearest("christmas", names), None);
        assert_eq!(nearest("PST", ["EST"]), None);
    }

    #[test]
    fn key_path_quotes_keys_that_look_like_syntax() {
        assert_eq!(key_path("weekly", "mon-fri"), "weekly.mon-fri");
        assert_eq!(key_path("weekly", "sat,sun"), "weekly[\"sat,sun\"]");
        assert_eq!(key_path("", "calendars"), "calendars");
    }
}
