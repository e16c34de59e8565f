//! The search index of one tenant's knowledge base in one language: BM25 (tantivy) over the
//! question, keywords and answer, with stemming, stop words, accent folding, typo tolerance
//! and a small synonym table, plus the coverage measure the bot's confidence is built on.
//!
//! BM25 scores are not comparable across queries (TTS-AND-LLM.md §9), so the decision to answer
//! does not use them directly: BM25 ranks the candidates, and confidence is the share of the
//! question's information (idf-weighted terms) that the best entry covers.

use std::collections::{HashMap, HashSet};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use super::synonyms;
use super::{KbEntry, KbError};

/// Weight of a match in each field, relative to the answer.
const QUESTION_BOOST: f32 = 2.0;
const KEYWORDS_BOOST: f32 = 1.6;
const ANSWER_BOOST: f32 = 0.5;
/// Typo-tolerant matches count for less than exact ones.
const FUZZY_BOOST: f32 = 0.6;
const SYNONYM_BOOST: f32 = 0.8;
/// Memory for building the index (tantivy's minimum per writer thread).
const WRITER_MEMORY: usize = 15_000_000;

/// A candidate answer for a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry's id.
    pub id: i64,
    /// BM25 score (only comparable within one query).
    pub score: f32,
    /// Share (0–1) of the query's idf-weighted terms the entry covers.
    pub coverage: f64,
    /// The entry's category.
    pub category: String,
    /// Cosine similarity of meaning (question and keywords against the customer's words),
    /// when the index has an embedding model's vectors.
    pub similarity: Option<f64>,
    /// Cosine similarity of the customer's words to the entry's answer.
    pub answer_similarity: Option<f64>,
}

/// One language's analyzer: the same for documents and queries.
fn analyzer(language: &str) -> TextAnalyzer {
    let lang = stemmer_language(language);
    // The library's lists are short (Lucene's English one has 33 words); ours adds the
    // function words of questions ("what", "can", "my"), which otherwise look like rare terms
    // no entry covers.
    let ours = synonyms::function_words(language)
        .iter()
        .map(|w| (*w).to_owned());
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(ours))
        .dynamic();
    let builder = match StopWordFilter::new(lang) {
        Some(stop) => builder.filter_dynamic(stop),
        None => builder,
    };
    builder.filter_dynamic(Stemmer::new(lang)).build()
}

fn stemmer_language(language: &str) -> Language {
    match language.split(['-', '_']).next().unwrap_or("en") {
        "es" => Language::Spanish,
        "fr" => Language::French,
        "de" => Language::German,
        "pt" => Language::Portuguese,
        "it" => Language::Italian,
        "nl" => Language::Dutch,
        _ => Language::English,
    }
}

/// The analysed terms of a text, in order, without repeats.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        if !out.contains(&t.text) {
            out.push(t.text.clone());
        }
    }
    out
}

struct EntryTerms {
    /// The question as written.
    question: String,
    /// The answer as written (what the bot sends).
    answer_text: String,
    /// Terms of the question and keywords (what the entry is about).
    topic: HashSet<String>,
    /// Terms of the answer.
    answer: HashSet<String>,
}

/// One tenant's entries in one language, indexed.
pub struct KbIndex {
    language: String,
    reader: IndexReader,
    analyzer: TextAnalyzer,
    id: Field,
    question: Field,
    keywords: Field,
    answer: Field,
    entries: HashMap<i64, (String, EntryTerms)>,
    /// Document frequency of each term over question, keywords and answer.
    df: HashMap<String, usize>,
    /// Analysed term → the analysed terms of its synonym groups.
    synonyms: HashMap<String, Vec<String>>,
    /// Entry id → embedding vectors of its question and of its keywords (empty without a
    /// model).
    vectors: HashMap<i64, Vec<Vec<f32>>>,
    /// Entry id → embedding vector of its answer.
    answer_vectors: HashMap<i64, Vec<f32>>,
}

impl std::fmt::Debug for KbIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KbIndex")
            .field("language", &self.language)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl KbIndex {
    /// Indexes the active entries of `language` among `entries`.
    pub fn build(language: &str, entries: &[KbEntry]) -> Result<Self, KbError> {
        let tokenizer = format!("kb_{language}");
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(&tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let mut schema = Schema::builder();
        let id = schema.add_i64_field("id", NumericOptions::default().set_stored());
        let question = schema.add_text_field("question", text.clone());
        let keywords = schema.add_text_field("keywords", text.clone());
        let answer = schema.add_text_field("answer", text);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(&tokenizer, analyzer(language));
        let mut analyzer = analyzer(language);
        let mut writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let mut map = HashMap::new();
        let mut df: HashMap<String, usize> = HashMap::new();
        for e in entries
            .iter()
            .filter(|e| e.active && same_language(&e.language, language))
        {
            let keywords_text = e.keywords.join(" ");
            writer.add_document(doc!(
                id => e.id,
                question => e.question.as_str(),
                keywords => keywords_text.as_str(),
                answer => e.answer.as_str(),
            ))?;
            let mut topic: HashSet<String> =
                terms(&mut analyzer, &e.question).into_iter().collect();
            topic.extend(terms(&mut analyzer, &keywords_text));
            let answer_terms: HashSet<String> =
                terms(&mut analyzer, &e.answer).into_iter().collect();
            for t in topic.union(&answer_terms) {
                *df.entry(t.clone()).or_default() += 1;
            }
            map.insert(
                e.id,
                (
                    e.category.clone(),
                    EntryTerms {
                        question: e.question.clone(),
                        answer_text: e.answer.clone(),
                        topic,
                        answer: answer_terms,
                    },
                ),
            );
        }
        writer.commit()?;
        let reader = index.reader()?;
        let mut synonyms: HashMap<String, Vec<String>> = HashMap::new();
        for group in synonyms::groups(language) {
            let analysed: Vec<String> =
                group.iter().flat_map(|w| terms(&mut analyzer, w)).collect();
            for t in &analysed {
                let alts = synonyms.entry(t.clone()).or_default();
                for a in &analysed {
                    if a != t && !alts.contains(a) {
                        alts.push(a.clone());
                    }
                }
            }
        }
        Ok(KbIndex {
            language: language.to_owned(),
            reader,
            analyzer,
            id,
            question,
            keywords,
            answer,
            entries: map,
            df,
            synonyms,
            vectors: HashMap::new(),
            answer_vectors: HashMap::new(),
        })
    }

    /// The question and answer of an indexed entry (so a turn needs no database read).
    pub fn entry(&self, id: i64) -> Option<(&str, &str)> {
        self.entries
            .get(&id)
            .map(|(_, e)| (e.question.as_str(), e.answer_text.as_str()))
    }

    /// The indexed entries whose question `text` quotes word for word, in the order they
    /// appear in it (how the bot recognises the options of its own clarifying question).
    pub fn quoted_questions(&self, text: &str) -> Vec<i64> {
        let mut quoted: Vec<(usize, i64)> = self
            .entries
            .iter()
            .filter_map(|(id, (_, e))| text.find(e.question.as_str()).map(|at| (at, *id)))
            .collect();
        quoted.sort_unstable();
        quoted.into_iter().map(|(_, id)| id).collect()
    }

    /// Of `options`, the one whose question and keywords share the most of `reply`'s terms
    /// (synonyms count); `None` when none shares any or two share as many.
    pub fn pick_by_words(&self, reply: &str, options: &[i64]) -> Option<i64> {
        let query = self.expanded_query(reply);
        let mut scored: Vec<(usize, i64)> = options
            .iter()
            .filter_map(|id| {
                let (_, e) = self.entries.get(id)?;
                let shared = query
                    .iter()
                    .filter(|(t, alts)| {
                        e.topic.contains(t) || alts.iter().any(|a| e.topic.contains(a))
                    })
                    .count();
                Some((shared, *id))
            })
            .collect();
        scored.sort_unstable_by_key(|&(shared, _)| std::cmp::Reverse(shared));
        match scored.as_slice() {
            [(best, id), rest @ ..] if *best > 0 && rest.first().is_none_or(|(s, _)| s < best) => {
                Some(*id)
            }
            _ => None,
        }
    }

    /// Number of entries indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The language indexed.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// How much a term tells: rare terms more than common ones; unknown terms count as rare,
    /// because a question about something the knowledge base never mentions is exactly what
    /// must lower confidence.
    fn idf(&self, term: &str) -> f64 {
        let n = self.entries.len().max(1) as f64;
        let df = self.df.get(term).copied().unwrap_or(0) as f64;
        ((n + 1.0) / (df + 0.5)).ln().max(0.1)
    }

    /// Texts to embed for each entry (question, keywords, answer), to pass back to
    /// [`attach_vectors`](Self::attach_vectors) in the same order.
    pub fn texts_to_embed(&self, entries: &[KbEntry]) -> Vec<(i64, bool, String)> {
        let mut out = Vec::new();
        for e in entries.iter().filter(|e| self.entries.contains_key(&e.id)) {
            out.push((e.id, false, e.question.clone()));
            if !e.keywords.is_empty() {
                out.push((
                    e.id,
                    false,
                    format!("{} {}", e.category, e.keywords.join(", ")),
                ));
            }
            out.push((e.id, true, e.answer.clone()));
        }
        out
    }

    /// Adds the embedding vectors of [`texts_to_embed`](Self::texts_to_embed).
    pub fn attach_vectors(&mut self, texts: &[(i64, bool, String)], vectors: Vec<Vec<f32>>) {
        for ((id, is_answer, _), v) in texts.iter().zip(vectors) {
            if *is_answer {
                self.answer_vectors.insert(*id, v);
            } else {
                self.vectors.entry(*id).or_default().push(v);
            }
        }
    }

    /// Whether the index has embedding vectors.
    pub fn has_vectors(&self) -> bool {
        !self.vectors.is_empty()
    }

    /// The best entries for `text`, best first by BM25.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit>, KbError> {
        self.search_with(text, limit, None)
    }

    /// Like [`search`](Self::search), with the customer text's embedding: entries close in
    /// meaning join the candidates even when they share no words.
    pub fn search_with(
        &self,
        text: &str,
        limit: usize,
        query_vector: Option<&[f32]>,
    ) -> Result<Vec<Hit>, KbError> {
        let mut hits = self.keyword_search(text, limit)?;
        let Some(q) = query_vector.filter(|_| self.has_vectors()) else {
            return Ok(hits);
        };
        let similarity = |id: i64| -> f64 {
            self.vectors
                .get(&id)
                .map(|vs| {
                    vs.iter()
                        .map(|v| f64::from(crate::ai::embed::cosine(q, v)))
                        .fold(f64::MIN, f64::max)
                })
                .unwrap_or(0.0)
        };
        let answer_similarity = |id: i64| -> Option<f64> {
            self.answer_vectors
                .get(&id)
                .map(|v| f64::from(crate::ai::embed::cosine(q, v)))
        };
        for h in &mut hits {
            h.similarity = Some(similarity(h.id));
            h.answer_similarity = answer_similarity(h.id);
        }
        let mut by_meaning: Vec<(i64, f64)> = self
            .vectors
            .keys()
            .map(|id| (*id, similarity(*id)))
            .collect();
        by_meaning.sort_by(|a, b| b.1.total_cmp(&a.1));
        let query = self.expanded_query(text);
        for (id, sim) in by_meaning.into_iter().take(limit) {
            if hits.iter().any(|h| h.id == id) {
                continue;
            }
            if let Some((category, entry)) = self.entries.get(&id) {
                hits.push(Hit {
                    id,
                    score: 0.0,
                    coverage: self.coverage(&query, entry),
                    category: category.clone(),
                    similarity: Some(sim),
                    answer_similarity: answer_similarity(id),
                });
            }
        }
        Ok(hits)
    }

    fn expanded_query(&self, text: &str) -> Vec<(String, Vec<String>)> {
        let mut analyzer = self.analyzer.clone();
        terms(&mut analyzer, &synonyms::rewrite(&self.language, text))
            .into_iter()
            .map(|t| {
                let alts = self.synonyms.get(&t).cloned().unwrap_or_default();
                (t, alts)
            })
            .collect()
    }

    fn keyword_search(&self, text: &str, limit: usize) -> Result<Vec<Hit>, KbError> {
        let mut analyzer = self.analyzer.clone();
        let query_terms = terms(&mut analyzer, &synonyms::rewrite(&self.language, text));
        if query_terms.is_empty() || self.entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut expanded: Vec<(String, Vec<String>)> = Vec::new();
        for t in &query_terms {
            self.term_clauses(t, 1.0, &mut clauses);
            // Typos: only for words long enough that one edit does not make another word.
            if t.chars().count() >= 5 && !self.df.contains_key(t) {
                for field in [self.question, self.keywords] {
                    let q = FuzzyTermQuery::new(Term::from_field_text(field, t), 1, true);
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(q), FUZZY_BOOST)),
                    ));
                }
            }
            let alternatives: Vec<String> = self.synonyms.get(t).cloned().unwrap_or_default();
            for s in &alternatives {
                self.term_clauses(s, SYNONYM_BOOST, &mut clauses);
            }
            expanded.push((t.clone(), alternatives));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(id) = doc.get_first(self.id).and_then(|v| v.as_i64()) else {
                continue;
            };
            let Some((category, entry)) = self.entries.get(&id) else {
                continue;
            };
            hits.push(Hit {
                id,
                score,
                coverage: self.coverage(&expanded, entry),
                category: category.clone(),
                similarity: None,
                answer_similarity: None,
            });
        }
        Ok(hits)
    }

    fn term_clauses(&self, term: &str, boost: f32, clauses: &mut Vec<(Occur, Box<dyn Query>)>) {
        for (field, field_boost) in [
            (self.question, QUESTION_BOOST),
            (self.keywords, KEYWORDS_BOOST),
            (self.answer, ANSWER_BOOST),
        ] {
            let q = TermQuery::new(
                Term::from_field_text(field, term),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), field_boost * boost)),
            ));
        }
    }

    /// Idf-weighted share of the query's terms found in the entry: fully in its question or
    /// keywords (also through a synonym or a one-letter typo), half in its answer only.
    fn coverage(&self, query: &[(String, Vec<String>)], entry: &EntryTerms) -> f64 {
        let mut total = 0.0;
        let mut covered = 0.0;
        for (term, alternatives) in query {
            let weight = self.idf(term);
            total += weight;
            let in_topic = entry.topic.contains(term)
                || alternatives.iter().any(|a| entry.topic.contains(a))
                || (term.chars().count() >= 5
                    && !self.df.contains_key(term)
                    && entry.topic.iter().any(|t| within_one_edit(t, term)));
            if in_topic {
                covered += weight;
            } else if entry.answer.contains(term)
                || alternatives.iter().any(|a| entry.answer.contains(a))
            {
                covered += weight * 0.5;
            }
        }
        if total == 0.0 { 0.0 } else { covered / total }
    }
}

fn same_language(entry: &str, wanted: &str) -> bool {
    let base = |s: &str| {
        s.split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    base(entry) == base(wanted)
}

/// Damerau-Levenshtein distance ≤ 1 (one insertion, deletion, substitution or swap).
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if la == lb {
        let rest_equal = |from: usize| a[from..] == b[from..];
        // substitution, or swap of two neighbours
        rest_equal(prefix + 1)
            || (prefix + 1 < la
                && a[prefix] == b[prefix + 1]
                && a[prefix + 1] == b[prefix]
                && rest_equal(prefix + 2))
    } else if la > lb {
        a[prefix + 1..] == b[prefix..]
    } else {
        b[prefix + 1..] == a[prefix..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, category: &str, question: &str, answer: &str, keywords: &[&str]) -> KbEntry {
        KbEntry {
            id,
            slug: None,
            category: category.into(),
            question: question.into(),
            answer: answer.into(),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            language: "en".into(),
            active: true,
        }
    }

    fn kb() -> KbIndex {
        KbIndex::build(
            "en",
            &[
                entry(
                    1,
                    "returns",
                    "How long do I have to return an item?",
                    "You have 30 days from delivery to return unworn items.",
                    &["return window", "30 days"],
                ),
                entry(
                    2,
                    "returns",
                    "How long does a refund take?",
                    "Refunds reach your card 5-7 business days after we receive the return.",
                    &["refund time", "money back"],
                ),
                entry(
                    3,
                    "shipping",
                    "How much does shipping cost?",
                    "Standard shipping is free over $50, otherwise $5.95.",
                    &["delivery fee", "postage"],
                ),
                KbEntry {
                    active: false,
                    ..entry(
                        4,
                        "store",
                        "Where are your stores?",
                        "Portland and Denver.",
                        &[],
                    )
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_closest_entry_ranks_first_and_covers_the_question() {
        let kb = kb();
        let hits = kb.search("when will I get my money back?", 3).unwrap();
        assert_eq!(hits[0].id, 2);
        let hits = kb
            .search("how many days do I have to send it back", 3)
            .unwrap();
        assert_eq!(hits[0].id, 1, "{hits:?}");
        let hits = kb.search("what's the delivery fee", 3).unwrap();
        assert_eq!(hits[0].id, 3);
        assert!(hits[0].coverage > 0.6, "{hits:?}");
    }

    #[test]
    fn inactive_entries_and_other_languages_are_not_indexed() {
        let kb = kb();
        assert_eq!(kb.len(), 3);
        assert!(
            kb.search("where are your stores", 3)
                .unwrap()
                .iter()
                .all(|h| h.id != 4)
        );
        let es = KbIndex::build("es", &[entry(9, "x", "hola", "hola", &[])]).unwrap();
        assert!(es.is_empty());
    }

    #[test]
    fn typos_still_find_the_entry() {
        let kb = kb();
        let hits = kb.search("how much is shiping", 3).unwrap();
        assert_eq!(hits[0].id, 3, "{hits:?}");
        assert!(hits[0].coverage > 0.5, "{hits:?}");
    }

    #[test]
    fn an_unrelated_question_covers_little() {
        let kb = kb();
        let hits = kb.search("do you sell kayaks to schools", 3).unwrap();
        assert!(hits.first().is_none_or(|h| h.coverage < 0.3), "{hits:?}");
        assert!(
            kb.search("the and of", 3).unwrap().is_empty(),
            "stop words only"
        );
    }

    #[test]
    fn one_edit_apart() {
        assert!(within_one_edit("shipping", "shiping"));
        assert!(within_one_edit("refund", "refnud"));
        assert!(within_one_edit("refund", "refunds"));
        assert!(within_one_edit("cost", "cast"));
        assert!(!within_one_edit("refund", "return"));
        assert!(!within_one_edit("ab", "abcd"));
    }
}
