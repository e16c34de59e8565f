//! The tenant's knowledge base: entries, their BM25 search index per language, and import
//! and export (CSV, JSON).

mod import;
mod index;
mod synonyms;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use import::{ImportError, ImportRow, parse_csv, parse_json, to_csv};
pub use index::{Hit, KbIndex};

use crate::domain::TenantId;
use crate::store::{self, Store, StoreError};

/// One knowledge-base entry as the bot uses it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KbEntry {
    /// Id (0 until stored).
    #[serde(default)]
    pub id: i64,
    /// The admin's own stable id (`id` in import files): re-importing updates the entry.
    #[serde(default)]
    pub slug: Option<String>,
    /// Category; also the intent label of the questions it answers.
    pub category: String,
    /// The question as customers ask it.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Extra words customers use for this topic.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Language tag.
    pub language: String,
    /// Used by the bot.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl KbEntry {
    /// From its stored row.
    pub fn from_record(r: &store::ai::KbEntryRecord) -> Self {
        KbEntry {
            id: r.id,
            slug: r.slug.clone(),
            category: r.category.clone(),
            question: r.question.clone(),
            answer: r.answer.clone(),
            keywords: serde_json::from_str(&r.keywords).unwrap_or_default(),
            language: r.language.clone(),
            active: r.active,
        }
    }
}

/// What can go wrong with the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The search library failed (building or querying an index).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedding model failed.
    #[error("embeddings: {0}")]
    Embed(String),
}

/// Builds an index and, with a model, its vectors (blocking).
pub fn build_index(
    language: &str,
    entries: &[KbEntry],
    embedder: Option<&crate::ai::embed::Embedder>,
) -> Result<KbIndex, KbError> {
    let mut index = KbIndex::build(language, entries)?;
    if let Some(model) = embedder {
        let texts = index.texts_to_embed(entries);
        let refs: Vec<&str> = texts.iter().map(|(_, _, t)| t.as_str()).collect();
        let vectors = model
            .embed(&refs)
            .map_err(|e| KbError::Embed(e.to_string()))?;
        index.attach_vectors(&texts, vectors);
    }
    Ok(index)
}

/// Search indexes per tenant and language, built on first use and dropped when the tenant's
/// entries change.
#[derive(Clone, Default)]
pub struct KnowledgeBase {
    indexes: Arc<RwLock<Indexes>>,
    embedder: Option<Arc<crate::ai::embed::Embedder>>,
    /// Languages the model understands (base tags).
    model_languages: Arc<Vec<String>>,
}

/// (tenant, language, vector source) → the index, and when to try again to add the vectors
/// a remote embeddings endpoint failed to give.
type Indexes = HashMap<(TenantId, String, String), (Arc<KbIndex>, Option<std::time::Instant>)>;

/// An OpenAI-compatible embeddings endpoint of a tenant.
#[derive(Debug, Clone)]
pub struct RemoteEmbeddings {
    /// The client (the tenant's provider settings).
    pub client: crate::ai::llm::LlmClient,
    /// The embeddings model.
    pub model: String,
}

/// How long an index without the vectors a remote endpoint failed to give is used before the
/// endpoint is tried again.
const REMOTE_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").finish_non_exhaustive()
    }
}

impl KnowledgeBase {
    /// Indexes built with `embedder`'s vectors when given.
    pub fn new(
        embedder: Option<Arc<crate::ai::embed::Embedder>>,
        model_languages: &[String],
    ) -> Self {
        KnowledgeBase {
            indexes: Arc::default(),
            embedder,
            model_languages: Arc::new(model_languages.iter().map(|l| base_language(l)).collect()),
        }
    }

    /// The model, when there is one and it understands `language`.
    pub fn model_for(&self, language: &str) -> Option<Arc<crate::ai::embed::Embedder>> {
        let base = base_language(language);
        self.embedder
            .clone()
            .filter(|_| self.model_languages.contains(&base))
    }

    /// Builds an index, with vectors when there is a model (in a blocking task: embedding a
    /// knowledge base takes a moment of CPU).
    pub async fn build(&self, language: &str, entries: Vec<KbEntry>) -> Result<KbIndex, KbError> {
        let embedder = self.model_for(language);
        let language = language.to_owned();
        tokio::task::spawn_blocking(move || build_index(&language, &entries, embedder.as_deref()))
            .await
            .map_err(|e| KbError::Embed(e.to_string()))?
    }

    /// The tenant's index for `language`, built from the store when missing; with `remote`,
    /// its vectors come from that endpoint instead of the local model.
    pub async fn index(
        &self,
        store: &Store,
        tenant: TenantId,
        language: &str,
        remote: Option<&RemoteEmbeddings>,
    ) -> Result<Arc<KbIndex>, KbError> {
        let source = remote
            .map(|r| format!("remote:{}", r.model))
            .unwrap_or_default();
        let key = (tenant, base_language(language), source);
        if let Some((i, retry)) = self.read().get(&key)
            && retry.is_none_or(|at| std::time::Instant::now() < at)
        {
            return Ok(i.clone());
        }
        let entries: Vec<KbEntry> = store::ai::all_kb_entries(store, tenant)
            .await?
            .iter()
            .map(KbEntry::from_record)
            .collect();
        let (built, retry) = match remote {
            None => (self.build(&key.1, entries).await?, None),
            Some(r) => {
                let mut index = KbIndex::build(&key.1, &entries)?;
                let texts = index.texts_to_embed(&entries);
                let mut vectors = Vec::with_capacity(texts.len());
                let mut failed = None;
                for chunk in texts.chunks(64) {
                    let inputs: Vec<String> = chunk.iter().map(|(_, _, t)| t.clone()).collect();
                    match r.client.embed(&r.model, &inputs).await {
                        Ok(v) if v.len() == inputs.len() => vectors.extend(v),
                        Ok(_) => {
                            failed = Some(
                                "the endpoint returned a different number of vectors".to_owned(),
                            )
                        }
                        Err(e) => failed = Some(e.to_string()),
                    }
                    if failed.is_some() {
                        break;
                    }
                }
                match failed {
                    None => {
                        index.attach_vectors(&texts, vectors);
                        (index, None)
                    }
                    Some(e) => {
                        // Words alone until the endpoint is back: the bot keeps answering.
                        tracing::warn!(tenant.id = %tenant, error = %e, "knowledge-base embeddings failed; using keyword search for now");
                        (index, Some(std::time::Instant::now() + REMOTE_RETRY))
                    }
                }
            }
        };
        let built = Arc::new(built);
        self.write().insert(key, (built.clone(), retry));
        Ok(built)
    }

    /// Forgets a tenant's indexes (its entries changed).
    pub fn invalidate(&self, tenant: TenantId) {
        self.write().retain(|(t, _, _), _| *t != tenant);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexes> {
        self.indexes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Indexes> {
        self.indexes.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// `es-US` → `es`.
pub fn base_language(language: &str) -> String {
    language
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
}
