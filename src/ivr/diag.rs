//! Diagnostics: what the validator reports, in the JSON shape of IVR-FLOWS.md §9.

use serde::Serialize;

/// Whether a diagnostic blocks publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks publish ("E").
    Error,
    /// Shown, but publishing is allowed ("W").
    Warning,
}

/// A source range; lines and columns are 1-based.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First line.
    pub line: usize,
    /// First column.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just after the range.
    pub end_column: usize,
}

/// One finding, e.g. a missing target or an unreachable node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Rule code, `IVR001` … `IVR028`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// File the finding is about, e.g. `ivr-flows/flows/support-main.yaml`.
    pub file: String,
    /// Where in the file; absent when the file as a whole is meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// JSON pointer into the document, e.g. `/nodes/main_menu/options/2`.
    pub path: String,
    /// The node concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A likely fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// True when this diagnostic blocks publishing.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Everything found in one run, split as `switchboard flows validate --format json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when there are no errors (warnings allowed).
    pub valid: bool,
    /// Diagnostics that block publishing.
    pub errors: Vec<Diagnostic>,
    /// Diagnostics that do not.
    pub warnings: Vec<Diagnostic>,
}

impl Report {
    /// Splits diagnostics by severity, keeping their order.
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>) -> Self {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            diagnostics.into_iter().partition(Diagnostic::is_error);
        Report {
            valid: errors.is_empty(),
            errors,
            warnings,
        }
    }

    /// All codes, errors first, in report order (handy in tests).
    pub fn codes(&self) -> Vec<&'static str> {
        self.errors
            .iter()
            .chain(&self.warnings)
            .map(|d| d.code)
            .collect()
    }
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub(crate) fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate nearest to `name`, if it is close enough to be a typo (or `name` is a
/// truncation of it, like `balance` for `balance_due`).
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= limit || (name.len() >= 3 && c.starts_with(name)))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}
