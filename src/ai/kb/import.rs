//! Knowledge-base files: JSON (an array of entries) and CSV (a header row naming the columns
//! `id,category,question,answer,keywords,language,active`; keywords separated by `;` or `|`;
//! `id`, `keywords`, `language` and `active` may be left out). `id` is the admin's own stable
//! id for the entry: importing a file again updates those entries instead of adding copies.
//! Every row is checked and every problem reported with its row number, so an admin fixes the
//! file in one pass; nothing is imported while any row is wrong.

use super::KbEntry;

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportError {
    /// Row (1 = the first entry; for CSV the header is row 0).
    pub row: usize,
    /// The column, when one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A checked row, ready to store.
pub type ImportRow = KbEntry;

const MAX_QUESTION: usize = 500;
const MAX_ANSWER: usize = 4000;
const MAX_CATEGORY: usize = 60;

fn err(row: usize, field: Option<&str>, message: impl Into<String>) -> ImportError {
    ImportError {
        row,
        field: field.map(str::to_owned),
        message: message.into(),
    }
}

/// Checks one entry; `row` labels the problems.
pub fn check_entry(row: usize, e: &KbEntry, errors: &mut Vec<ImportError>) {
    for (field, value, max) in [
        ("category", &e.category, MAX_CATEGORY),
        ("question", &e.question, MAX_QUESTION),
        ("answer", &e.answer, MAX_ANSWER),
    ] {
        if value.trim().is_empty() {
            errors.push(err(row, Some(field), "must not be empty"));
        } else if value.chars().count() > max {
            errors.push(err(
                row,
                Some(field),
                format!("must be at most {max} characters"),
            ));
        }
    }
    let lang_ok = {
        let l = e.language.as_str();
        (2..=10).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && l.chars().take(2).all(|c| c.is_ascii_lowercase())
    };
    if !lang_ok {
        errors.push(err(
            row,
            Some("language"),
            format!("`{}` is not a language tag like en or es-US", e.language),
        ));
    }
    if e.slug
        .as_deref()
        .is_some_and(|s| s.chars().count() > 100 || s.chars().any(char::is_whitespace))
    {
        errors.push(err(
            row,
            Some("id"),
            "must be at most 100 characters without spaces",
        ));
    }
    if e.keywords.len() > 30 || e.keywords.iter().any(|k| k.chars().count() > 60) {
        errors.push(err(
            row,
            Some("keywords"),
            "at most 30 keywords of 60 characters",
        ));
    }
}

fn tidy(mut e: KbEntry) -> KbEntry {
    e.category = e.category.trim().to_owned();
    e.question = e.question.trim().to_owned();
    e.answer = e.answer.trim().to_owned();
    e.language = e.language.trim().to_owned();
    e.slug = e
        .slug
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    e.keywords = e
        .keywords
        .into_iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    e
}

/// Parses a JSON array of entries (`language` defaults to `default_language`).
pub fn parse_json(text: &str, default_language: &str) -> Result<Vec<ImportRow>, Vec<ImportError>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| vec![err(0, None, format!("not a JSON array of entries: {e}"))])?;
    let mut rows = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (i, mut v) in values.into_iter().enumerate() {
        let row = i + 1;
        if let Some(o) = v.as_object_mut() {
            o.entry("language")
                .or_insert_with(|| default_language.into());
            // A string of keywords is as welcome as a list.
            if let Some(serde_json::Value::String(s)) = o.get("keywords").cloned() {
                o.insert("keywords".into(), split_keywords(&s).into());
            }
            // A file's own ids are the entries' slugs; numeric database ids are not kept.
            match o.remove("id") {
                Some(serde_json::Value::String(slug)) if !o.contains_key("slug") => {
                    o.insert("slug".into(), slug.into());
                }
                Some(serde_json::Value::Number(n)) if !o.contains_key("slug") => {
                    o.insert("slug".into(), n.to_string().into());
                }
                _ => {}
            }
            o.remove("usage_count");
            o.remove("created_at");
            o.remove("updated_at");
        }
        match serde_path_to_error::deserialize::<_, KbEntry>(v) {
            Ok(e) => {
                let e = tidy(e);
                check_entry(row, &e, &mut errors);
                rows.push(e);
            }
            Err(e) => {
                let path = e.path().to_string();
                errors.push(err(
                    row,
                    (path != ".").then_some(path.as_str()),
                    e.into_inner().to_string(),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn split_keywords(s: &str) -> Vec<String> {
    s.split([';', '|', ','])
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

/// Parses CSV with a header row; `language` and `active` columns are optional.
pub fn parse_csv(text: &str, default_language: &str) -> Result<Vec<ImportRow>, Vec<ImportError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| vec![err(0, None, format!("unreadable header row: {e}"))])?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut missing = Vec::new();
    for required in ["category", "question", "answer"] {
        if col(required).is_none() {
            missing.push(err(0, Some(required), "missing column"));
        }
    }
    if let Some(unknown) = headers.iter().find(|h| {
        ![
            "id", "category", "question", "answer", "keywords", "language", "active",
        ]
        .contains(&h.as_str())
    }) {
        missing.push(err(
            0,
            Some(unknown),
            "unknown column (id, category, question, answer, keywords, language, active)",
        ));
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(row, None, format!("unreadable row: {e}")));
                continue;
            }
        };
        let get = |name: &str| {
            col(name)
                .and_then(|c| record.get(c))
                .unwrap_or("")
                .to_owned()
        };
        let active = match get("active").trim().to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => {
                errors.push(err(
                    row,
                    Some("active"),
                    format!("`{other}` is not true or false"),
                ));
                true
            }
        };
        let language = match get("language").trim() {
            "" => default_language.to_owned(),
            l => l.to_owned(),
        };
        let e = tidy(KbEntry {
            id: 0,
            slug: Some(get("id")),
            category: get("category"),
            question: get("question"),
            answer: get("answer"),
            keywords: split_keywords(&get("keywords")),
            language,
            active,
        });
        check_entry(row, &e, &mut errors);
        rows.push(e);
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Writes entries as CSV, in the column order the importer reads.
pub fn to_csv(entries: &[KbEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id", "category", "question", "answer", "keywords", "language", "active",
    ]);
    for e in entries {
        let _ = w.write_record([
            e.slug.as_deref().unwrap_or(""),
            e.category.as_str(),
            e.question.as_str(),
            e.answer.as_str(),
            e.keywords.join("; ").as_str(),
            e.language.as_str(),
            if e.active { "true" } else { "false" },
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_reports_every_bad_row() {
        let text = "category,question,answer,keywords\nshipping,How much is shipping?,\"Free over $50, else $5.95.\",postage; delivery fee\nreturns,,Within 30 days.,\n,Where?,Here.,\n";
        let errors = parse_csv(text, "en").unwrap_err();
        assert_eq!(
            errors
                .iter()
                .map(|e| (e.row, e.field.as_deref()))
                .collect::<Vec<_>>(),
            [(2, Some("question")), (3, Some("category"))]
        );
        let ok = parse_csv("category,question,answer,keywords,language\nshipping,How much is shipping?,\"Free over $50, else $5.95.\",postage; delivery fee,en\n", "en").unwrap();
        assert_eq!(ok[0].keywords, ["postage", "delivery fee"]);
        assert_eq!(ok[0].answer, "Free over $50, else $5.95.");
        let again = parse_csv(&to_csv(&ok), "en").unwrap();
        assert_eq!(again, ok);
    }

    #[test]
    fn csv_needs_the_columns() {
        let errors = parse_csv("question,answer,colour\nq,a,red\n", "en").unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("category"));
        assert_eq!(errors[1].field.as_deref(), Some("colour"));
    }

    #[test]
    fn json_accepts_lists_or_strings_of_keywords_and_names_bad_fields() {
        let ok = parse_json(r#"[{"category":"a","question":"q?","answer":"x","keywords":"one; two"},{"category":"b","question":"r?","answer":"y","keywords":["three"],"language":"es"}]"#, "en").unwrap();
        assert_eq!(ok[0].keywords, ["one", "two"]);
        assert_eq!(
            (ok[0].language.as_str(), ok[1].language.as_str()),
            ("en", "es")
        );
        let errors = parse_json(r#"[{"category":"a","question":"q?"},{"category":"b","question":"q","answer":"x","language":"English"}]"#, "en").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].row, 1);
        assert_eq!(errors[1].field.as_deref(), Some("language"));
        assert!(parse_json("{}", "en").is_err());
    }
}
