//! The embedded bot's decision over knowledge-base hits: answer, ask which of two entries the
//! customer means, or admit it does not know. No network, no model.

use super::kb::Hit;

/// How sure the bot must be.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSettings {
    /// Minimum confidence (0–1) to answer with an entry, matching by words only.
    pub answer_threshold: f64,
    /// Minimum confidence (0–1) to answer with an entry when an embedding model also matches
    /// by meaning (`ai.local_model_dir`).
    pub semantic_threshold: f64,
    /// When the runner-up of another entry is within this much of the best, ask which one.
    pub clarify_margin: f64,
}

impl Default for LocalSettings {
    /// Calibrated on `tests/data/ai-eval` (`switchboard ai eval`): the point where out-of-scope
    /// questions are handed off without turning away paraphrased FAQ questions.
    fn default() -> Self {
        LocalSettings {
            answer_threshold: 0.45,
            semantic_threshold: 0.45,
            clarify_margin: 0.03,
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

/// A candidate's standing. With words only: mostly how much of the question it covers,
/// partly its BM25 rank within this query (the only way BM25 scores can be compared). With an
/// embedding model, closeness of meaning leads and the words support it.
fn standing(hit: &Hit, top_score: f32) -> f64 {
    let relative = if top_score > 0.0 {
        f64::from(hit.score / top_score)
    } else {
        0.0
    };
    match hit.similarity {
        Some(sim) => {
            SEMANTIC.0 * sim
                + SEMANTIC.1 * hit.coverage
                + SEMANTIC.2 * relative
                + SEMANTIC.3 * hit.answer_similarity.unwrap_or(0.0)
        }
        None => 0.7 * hit.coverage + 0.3 * relative,
    }
}

/// Weights of meaning (question and keywords), word coverage, BM25 rank and meaning of the
/// answer when vectors are present (calibrated on the evaluation set with all-MiniLM-L6-v2 by a
/// grid search over these weights and the threshold; `switchboard ai eval --model` checks them).
const SEMANTIC: (f64, f64, f64, f64) = (0.7, 0.3, 0.05, 0.2);

/// Above the threshold by this much, the best entry is answered without a clarifying question.
pub const CLARIFY_BAND: f64 = 0.05;

/// How much surer the bot must be to answer a message that reads like an attempt to
/// instruct it.
pub const INJECTION_MARGIN: f64 = 0.15;

/// Decides over the hits of one question (best BM25 first).
pub fn decide(hits: &[Hit], s: &LocalSettings) -> LocalDecision {
    let Some(top_score) = hits.first().map(|h| h.score) else {
        return LocalDecision::NoAnswer { best: None };
    };
    let mut ranked: Vec<(f64, &Hit)> = hits.iter().map(|h| (standing(h, top_score), h)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best_standing, best) = ranked[0];
    let confidence = best_standing.clamp(0.0, 1.0);
    let threshold = if best.similarity.is_some() {
        s.semantic_threshold
    } else {
        s.answer_threshold
    };
    if confidence < threshold {
        return LocalDecision::NoAnswer {
            best: Some((best.id, confidence)),
        };
    }
    // Asking back is for real doubt: a clear winner is answered even when another entry is
    // close behind.
    if let Some((second_standing, second)) = ranked.get(1)
        && best_standing - second_standing < s.clarify_margin
        && second.category != best.category
        && confidence < threshold + CLARIFY_BAND
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
            similarity: None,
            answer_similarity: None,
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
            decide(&[hit(1, 9.0, 0.27, "a"), hit(2, 8.9, 0.27, "b")], &s),
            LocalDecision::Clarify {
                first: 1,
                second: 2,
                ..
            }
        ));
        // A clear winner is answered even with a close runner-up.
        assert!(matches!(
            decide(&[hit(1, 9.0, 0.8, "a"), hit(2, 8.9, 0.8, "b")], &s),
            LocalDecision::Answer { entry: 1, .. }
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
