//! The labelled evaluation of the bot (`switchboard ai eval`): top-1 accuracy on questions the
//! knowledge base answers, recall of hand-offs where it must hand off, false hand-offs, and the
//! local bot's reply latency.

use std::time::{Duration, Instant};

use serde::Deserialize;

/// One labelled customer message.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// What the customer writes.
    pub text: String,
    /// Its language.
    #[serde(default = "english")]
    pub language: String,
    /// A knowledge-base id (slug), or `handoff`, `greeting`, `thanks`, `goodbye`.
    pub expect: String,
    /// `paraphrase`, `typo`, `out_of_scope`, `handoff_request`, `injection`, `smalltalk`.
    #[serde(default)]
    pub kind: String,
}

fn english() -> String {
    "en".into()
}

/// What the bot did with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answered with this entry (slug).
    Answer(String),
    /// Asked which of these the customer meant.
    Clarify(String, String),
    /// Handed over to people.
    Handoff,
    /// Small talk: `greeting`, `thanks` or `goodbye`.
    SmallTalk(String),
}

/// The figures of one evaluation run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Cases run.
    pub cases: usize,
    /// Cases expecting an entry.
    pub answerable: usize,
    /// … answered with exactly that entry.
    pub top1_correct: usize,
    /// … where the right entry was one of two offered in a clarifying question.
    pub clarified_with_right_entry: usize,
    /// Cases expecting a handoff.
    pub must_handoff: usize,
    /// … handed off.
    pub handed_off: usize,
    /// Answerable cases handed off instead.
    pub false_handoffs: usize,
    /// Small-talk cases.
    pub small_talk: usize,
    /// … recognised as the right kind.
    pub small_talk_correct: usize,
    /// Reply latency p50 in microseconds.
    pub p50_micros: u64,
    /// Reply latency p99 in microseconds.
    pub p99_micros: u64,
    /// The cases that went wrong: (text, expected, got).
    pub misses: Vec<(String, String, String)>,
}

impl Report {
    /// Share of answerable cases answered with the right entry.
    pub fn top1(&self) -> f64 {
        ratio(self.top1_correct, self.answerable)
    }
    /// Share of must-hand-off cases handed off.
    pub fn handoff_recall(&self) -> f64 {
        ratio(self.handed_off, self.must_handoff)
    }
    /// Share of answerable cases handed off.
    pub fn false_handoff_rate(&self) -> f64 {
        ratio(self.false_handoffs, self.answerable)
    }
    /// Share of small talk recognised.
    pub fn small_talk_accuracy(&self) -> f64 {
        ratio(self.small_talk_correct, self.small_talk)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Runs every case through `reply`, timing each call.
pub fn run(cases: &[Case], mut reply: impl FnMut(&Case) -> Outcome) -> Report {
    let mut r = Report {
        cases: cases.len(),
        ..Report::default()
    };
    let mut times: Vec<Duration> = Vec::with_capacity(cases.len());
    for c in cases {
        let started = Instant::now();
        let got = reply(c);
        times.push(started.elapsed());
        let ok = match c.expect.as_str() {
            "handoff" => {
                r.must_handoff += 1;
                let ok = got == Outcome::Handoff;
                r.handed_off += usize::from(ok);
                ok
            }
            kind @ ("greeting" | "thanks" | "goodbye") => {
                r.small_talk += 1;
                let ok = got == Outcome::SmallTalk(kind.to_owned());
                r.small_talk_correct += usize::from(ok);
                ok
            }
            entry => {
                r.answerable += 1;
                match &got {
                    Outcome::Answer(e) if e == entry => {
                        r.top1_correct += 1;
                        true
                    }
                    Outcome::Clarify(a, b) => {
                        if a == entry || b == entry {
                            r.clarified_with_right_entry += 1;
                        }
                        false
                    }
                    Outcome::Handoff => {
                        r.false_handoffs += 1;
                        false
                    }
                    _ => false,
                }
            }
        };
        if !ok {
            r.misses
                .push((c.text.clone(), c.expect.clone(), format!("{got:?}")));
        }
    }
    times.sort();
    let pick = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    };
    r.p50_micros = pick(0.5);
    r.p99_micros = pick(0.99);
    r
}
