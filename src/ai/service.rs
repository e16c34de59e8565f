//! The AI agent's adapter: tenant settings from the store, the knowledge base's indexes, and
//! (in `bot.rs`) the worker that answers customers.

use std::sync::Arc;

use chrono::Utc;

use super::embed::{Embedder, QueryCache};

use super::config::{AiSettings, ProviderKind};
use super::kb::{Hit, KbError, KbIndex, KnowledgeBase, RemoteEmbeddings};
use crate::domain::TenantId;
use crate::secrets::MasterKey;
use crate::store::{self, Store, StoreError};

/// Shared AI state.
#[derive(Clone, Debug)]
pub struct AiService {
    /// Database.
    pub store: Store,
    /// Knowledge-base indexes.
    pub kb: KnowledgeBase,
    /// Vectors of recent customer messages (local model only).
    queries: Arc<QueryCache>,
    key: MasterKey,
}

/// Customer messages whose vectors are kept (384 floats each: about 1.6 MB in all).
const QUERY_CACHE: usize = 1024;

/// A tenant's settings and, when stored, the provider's API key in clear.
#[derive(Debug, Clone)]
pub struct TenantAi {
    /// Settings (defaults when never saved).
    pub settings: AiSettings,
    /// The API key (never logged or returned).
    pub api_key: Option<secrecy::SecretString>,
}

impl AiService {
    /// A service over the store; `key` opens sealed API keys; `embedder` adds matching by
    /// meaning to the knowledge base.
    pub fn new(
        store: Store,
        key: MasterKey,
        embedder: Option<Arc<Embedder>>,
        model_languages: &[String],
    ) -> Self {
        AiService {
            store,
            kb: KnowledgeBase::new(embedder, model_languages),
            queries: Arc::new(QueryCache::new(QUERY_CACHE)),
            key,
        }
    }

    /// The embedding of a customer's text (None without a model, or if it fails: the bot then
    /// matches by words alone rather than not answering).
    pub async fn embed_query(
        &self,
        tenant: TenantId,
        text: &str,
        language: &str,
    ) -> Option<Vec<f32>> {
        let model = self.kb.model_for(language)?;
        let text = text.to_owned();
        if let Some(v) = self.queries.get(tenant, &text) {
            return Some(v);
        }
        let queries = self.queries.clone();
        match tokio::task::spawn_blocking(move || {
            let v = model.embed(&[text.as_str()]);
            if let Ok([vector]) = v.as_deref() {
                queries.put(tenant, &text, vector.clone());
            }
            v
        })
        .await
        {
            Ok(Ok(mut v)) => v.pop(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "embedding a message failed");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "embedding task failed");
                None
            }
        }
    }

    /// The master key (sealing API keys).
    pub fn master_key(&self) -> &MasterKey {
        &self.key
    }

    /// The tenant's settings (defaults when never saved; unreadable stored settings, which the
    /// API never writes, also fall back to defaults rather than stopping the bot).
    pub async fn tenant(&self, tenant: TenantId) -> Result<TenantAi, StoreError> {
        let Some(r) = store::ai::find_ai_config(&self.store, tenant).await? else {
            return Ok(TenantAi {
                settings: AiSettings::default(),
                api_key: None,
            });
        };
        let settings = serde_json::from_str(&r.settings).unwrap_or_else(|e| {
            tracing::warn!(tenant.id = %tenant, error = %e, "stored AI settings unreadable; using defaults");
            AiSettings::default()
        });
        let api_key = r
            .api_key
            .as_deref()
            .and_then(|sealed| self.key.open(sealed).ok())
            .map(secrecy::SecretString::from);
        Ok(TenantAi { settings, api_key })
    }

    /// The tenant's remote embeddings endpoint, when its settings name an embeddings model of
    /// an OpenAI-compatible provider.
    pub fn remote_embeddings(&self, t: &TenantAi) -> Option<RemoteEmbeddings> {
        let model = t
            .settings
            .embeddings_model
            .clone()
            .filter(|m| !m.trim().is_empty())?;
        if !matches!(
            t.settings.provider,
            ProviderKind::Openai | ProviderKind::Hybrid
        ) {
            return None;
        }
        match super::turn::client(t) {
            Ok(client) => Some(RemoteEmbeddings { client, model }),
            Err(e) => {
                tracing::warn!(error = %e, "embeddings endpoint unusable; keyword search only");
                None
            }
        }
    }

    /// Searches the tenant's knowledge base in `language` the way the bot does: the index
    /// (with vectors from the tenant's embeddings endpoint, or the local model) and the
    /// customer's text embedded the same way. Returns the index, the text's vector and the hits.
    pub async fn search(
        &self,
        t: &TenantAi,
        tenant: TenantId,
        language: &str,
        text: &str,
        limit: usize,
    ) -> Result<(Arc<KbIndex>, Option<Vec<f32>>, Vec<Hit>), KbError> {
        self.search_with(t, tenant, language, text, limit, true)
            .await
    }

    /// [`search`](Self::search), by words alone when `by_meaning` is false (cheap: for the
    /// intent of messages the bot does not answer).
    pub async fn search_with(
        &self,
        t: &TenantAi,
        tenant: TenantId,
        language: &str,
        text: &str,
        limit: usize,
        by_meaning: bool,
    ) -> Result<(Arc<KbIndex>, Option<Vec<f32>>, Vec<Hit>), KbError> {
        let remote = self.remote_embeddings(t);
        let index = self
            .kb
            .index(&self.store, tenant, language, remote.as_ref())
            .await?;
        let vector = if !index.has_vectors() || !by_meaning {
            None
        } else if let Some(r) = &remote {
            match r.client.embed(&r.model, &[text.to_owned()]).await {
                Ok(mut v) => v.pop(),
                Err(e) => {
                    tracing::warn!(tenant.id = %tenant, error = %e, "embedding a message failed; keyword search for it");
                    None
                }
            }
        } else {
            self.embed_query(tenant, text, language).await
        };
        let hits = index.search_with(text, limit, vector.as_deref())?;
        Ok((index, vector, hits))
    }

    /// Whether the tenant's monthly token budget, when it has one, is spent: no model is asked
    /// then (the bot hands over, agent assist goes without a draft).
    pub async fn budget_spent(
        &self,
        tenant: TenantId,
        settings: &super::config::AiSettings,
    ) -> Result<bool, StoreError> {
        Ok(match settings.monthly_token_budget {
            Some(budget) => self.tokens_this_month(tenant).await? >= budget,
            None => false,
        })
    }

    /// Adds one model request's tokens to this month's usage, priced by the tenant's
    /// settings (`small`: hybrid's small model); returns the cost in millionths.
    pub async fn record_usage(
        &self,
        tenant: TenantId,
        settings: &super::config::AiSettings,
        small: bool,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Result<i64, StoreError> {
        let cost = settings.cost_micros(small, input_tokens, output_tokens);
        store::ai::add_usage(
            &self.store,
            tenant,
            &usage_month(),
            model,
            input_tokens as i64,
            output_tokens as i64,
            cost,
        )
        .await?;
        Ok(cost)
    }

    /// Tokens used this month (UTC) across models.
    pub async fn tokens_this_month(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let month = usage_month();
        Ok(store::ai::month_usage(&self.store, tenant, &month)
            .await?
            .iter()
            .map(|u| (u.input_tokens + u.output_tokens).max(0) as u64)
            .sum())
    }
}

/// The month usage is counted under now (`YYYY-MM`, UTC): budgets are per calendar month.
pub fn usage_month() -> String {
    Utc::now().format("%Y-%m").to_string()
}
