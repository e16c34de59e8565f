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
}

/// Search indexes per tenant and language, built on first use and dropped when the tenant's
/// entries change.
#[derive(Clone, Default)]
pub struct KnowledgeBase {
    indexes: Arc<RwLock<Indexes>>,
}

type Indexes = HashMap<(TenantId, String), Arc<KbIndex>>;

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").finish_non_exhaustive()
    }
}

impl KnowledgeBase {
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
        let built = Arc::new(KbIndex::build(&key.1, &entries)?);
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
