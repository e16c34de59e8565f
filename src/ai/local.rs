//! The embedded bot's decision over knowledge-base hits: answer, ask which of two entries the
//! customer means, or admit it does not know. No network, no model.

use super::kb::Hit;

/// How sure the bot must be.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSettings {
    /// Minimum confidence (0–1) to answer with an entry.
    pub answer_threshold: f64,
    /// When the runner-up of another entry is within this much of the best, ask which one.
    pub clarify_margin: f64,
}

impl Default for LocalSettings {
    /// Calibrated on `tests/data/ai-eval` (`switchboard ai eval`): the point where out-of-scope
    /// questions are handed off without turning away paraphrased FAQ questions.
    fn default() -> Self {
        LocalSettings {
            answer_threshold: 0.45,
            clarify_margin: 0.04,
        }
    }
}

/// What the embedded bot does with a question.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalDecision {
    /// Answer with this entry.
    Answer {
        /// Entry id.
        entry: i64,
        /// Confidence 0–1.
        confidence: f64,
    },
    /// Two entries fit about as well: ask which one.
    Clarify {
        /// The best entry.
        first: i64,
        /// The runner-up.
        second: i64,
        /// Confidence of the best.
        confidence: f64,
    },
    /// Nothing fits well enough.
    NoAnswer {
        /// The best candidate and its confidence, if any.
        best: Option<(i64, f64)>,
    },
}

/// A candidate's standing: mostly how much of the question it covers, partly its BM25 rank
/// within this query (the only way BM25 scores can be compared).
fn standing(hit: &Hit, top_score: f32) -> f64 {
    let relative = if top_score > 0.0 {
        f64::from(hit.score / top_score)
    } else {
        0.0
    };
    0.7 * hit.coverage + 0.3 * relative
}

/// Decides over the hits of one question (best BM25 first).
pub fn decide(hits: &[Hit], s: &LocalSettings) -> LocalDecision {
    let Some(top_score) = hits.first().map(|h| h.score) else {
        return LocalDecision::NoAnswer { best: None };
    };
    let mut ranked: Vec<(f64, &Hit)> = hits.iter().map(|h| (standing(h, top_score), h)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best_standing, best) = ranked[0];
    let confidence = best_standing.clamp(0.0, 1.0);
    if confidence < s.answer_threshold {
        return LocalDecision::NoAnswer {
            best: Some((best.id, confidence)),
        };
    }
    if let Some((second_standing, second)) = ranked.get(1)
        && best_standing - second_standing < s.clarify_margin
        && second.category != best.category
    {
        return LocalDecision::Clarify {
            first: best.id,
            second: second.id,
            confidence,
        };
    }
    LocalDecision::Answer {
        entry: best.id,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: i64, score: f32, coverage: f64, category: &str) -> Hit {
        Hit {
            id,
            score,
            coverage,
            category: category.into(),
        }
    }

    #[test]
    fn answers_when_sure_asks_when_torn_and_declines_when_lost() {
        let s = LocalSettings::default();
        assert_eq!(
            decide(&[hit(1, 9.0, 0.9, "a"), hit(2, 3.0, 0.3, "b")], &s),
            LocalDecision::Answer {
                entry: 1,
                confidence: 0.7 * 0.9 + 0.3
            }
        );
        assert!(matches!(
            decide(&[hit(1, 9.0, 0.8, "a"), hit(2, 8.9, 0.8, "b")], &s),
            LocalDecision::Clarify {
                first: 1,
                second: 2,
                ..
            }
        ));
        // Two near-equal entries of one category: either answer serves.
        assert!(matches!(
            decide(&[hit(1, 9.0, 0.8, "a"), hit(2, 8.9, 0.8, "a")], &s),
            LocalDecision::Answer { entry: 1, .. }
        ));
        assert!(matches!(
            decide(&[hit(1, 2.0, 0.1, "a")], &s),
            LocalDecision::NoAnswer { best: Some((1, _)) }
        ));
        assert_eq!(decide(&[], &s), LocalDecision::NoAnswer { best: None });
    }
}

#[cfg(test)]
mod calibration {
    use std::collections::HashMap;

    use super::*;
    use crate::ai::eval::{Case, Outcome, run};
    use crate::ai::kb::{KbIndex, parse_json};

    #[test]
    fn knowledge_questions_of_the_evaluation_set() {
        let mut entries =
            parse_json(include_str!("../../tests/data/ai-eval/kb.json"), "en").unwrap();
        for (i, e) in entries.iter_mut().enumerate() {
            e.id = i as i64 + 1;
        }
        let slugs: HashMap<i64, String> = entries
            .iter()
            .map(|e| (e.id, e.slug.clone().unwrap()))
            .collect();
        let en = KbIndex::build("en", &entries).unwrap();
        let es = KbIndex::build("es", &entries).unwrap();
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("../../tests/data/ai-eval/cases.json")).unwrap();
        let cases: Vec<Case> = cases
            .into_iter()
            .filter(|c| matches!(c.kind.as_str(), "paraphrase" | "typo" | "out_of_scope"))
            .collect();
        let s = LocalSettings::default();
        let report = run(&cases, |c| {
            let index = if c.language == "es" { &es } else { &en };
            let hits = index.search(&c.text, 5).unwrap();
            match decide(&hits, &s) {
                LocalDecision::Answer { entry, .. } => Outcome::Answer(slugs[&entry].clone()),
                LocalDecision::Clarify { first, second, .. } => {
                    Outcome::Clarify(slugs[&first].clone(), slugs[&second].clone())
                }
                LocalDecision::NoAnswer { .. } => Outcome::Handoff,
            }
        });
        for m in &report.misses {
            eprintln!("MISS {m:?}");
        }
        eprintln!(
            "top1 {:.3} recall {:.3} false {:.3} clarified {}",
            report.top1(),
            report.handoff_recall(),
            report.false_handoff_rate(),
            report.clarified_with_right_entry
        );
    }
}
