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

type Indexes = HashMap<(TenantId, String), Arc<KbIndex>>;

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

    /// The tenant's index for `language`, built from the store when missing.
    pub async fn index(
        &self,
        store: &Store,
        tenant: TenantId,
        language: &str,
    ) -> Result<Arc<KbIndex>, KbError> {
        let key = (tenant, base_language(language));
        if let Some(i) = self.read().get(&key) {
            return Ok(i.clone());
        }
        let entries: Vec<KbEntry> = store::ai::all_kb_entries(store, tenant)
            .await?
            .iter()
            .map(KbEntry::from_record)
            .collect();
        let built = Arc::new(self.build(&key.1, entries).await?);
        self.write().insert(key, built.clone());
        Ok(built)
    }

    /// Forgets a tenant's indexes (its entries changed).
    pub fn invalidate(&self, tenant: TenantId) {
        self.write().retain(|(t, _), _| *t != tenant);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(TenantId, String), Arc<KbIndex>>> {
        self.indexes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<(TenantId, String), Arc<KbIndex>>> {
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
