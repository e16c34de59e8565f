//! The AI agent's tables: per-tenant configuration, knowledge base, handoff rules, token usage
//! and the log of bot turns.

use chrono::{DateTime, Utc};

use super::{BeginWrite, ResultExt, Store, StoreError, on_pool, on_write};
use crate::domain::TenantId;

/// A tenant's stored AI configuration.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AiConfigRecord {
    /// Settings (JSON).
    pub settings: String,
    /// The provider's API key, sealed with the master key.
    pub api_key: Option<String>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

/// The tenant's AI configuration, if it was ever saved.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_ai_config(
    store: &Store,
    tenant: TenantId,
) -> Result<Option<AiConfigRecord>, StoreError> {
    const SQL: &str = "select settings, api_key, updated_at from ai_configs where tenant_id = $1";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_optional(p).await)?)
}

/// What to do with the stored API key when saving the configuration.
#[derive(Debug, Clone, Copy)]
pub enum KeyChange<'a> {
    /// Leave it as it is.
    Keep,
    /// Replace it with this sealed key.
    Set(&'a str),
    /// Remove it.
    Clear,
}

/// Saves the tenant's AI configuration.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn save_ai_config(
    store: &Store,
    tenant: TenantId,
    settings: &str,
    key: KeyChange<'_>,
) -> Result<AiConfigRecord, StoreError> {
    const SQL: &str = "insert into ai_configs (tenant_id, settings, api_key, updated_at) values ($1, $2, $3, $4) \
                       on conflict (tenant_id) do update set settings = excluded.settings, updated_at = excluded.updated_at, \
                       api_key = case when $5 then excluded.api_key else ai_configs.api_key end \
                       returning settings, api_key, updated_at";
    let (value, replace) = match key {
        KeyChange::Keep => (None, false),
        KeyChange::Set(k) => (Some(k), true),
        KeyChange::Clear => (None, true),
    };
    Ok(on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(settings)
        .bind(value)
        .bind(Utc::now())
        .bind(replace)
        .fetch_one(p)
        .await)?)
}

/// One knowledge-base entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct KbEntryRecord {
    /// Id.
    pub id: i64,
    /// The admin's own stable id (import files), unique in the tenant.
    pub slug: Option<String>,
    /// Category (also the intent label of questions it answers).
    pub category: String,
    /// The question as customers ask it.
    pub question: String,
    /// The answer the bot gives.
    pub answer: String,
    /// Extra search words (JSON array).
    pub keywords: String,
    /// Language tag (`en`, `es`, …).
    pub language: String,
    /// Used by the bot.
    pub active: bool,
    /// Times the bot answered with it.
    pub usage_count: i64,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

macro_rules! kb_columns {
    () => {
        "id, slug, category, question, answer, keywords, language, active, usage_count, created_at, updated_at"
    };
}

/// An entry to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKbEntry {
    /// Stable id from the admin's files.
    pub slug: Option<String>,
    /// Category.
    pub category: String,
    /// Question.
    pub question: String,
    /// Answer.
    pub answer: String,
    /// Keywords (JSON array).
    pub keywords: String,
    /// Language tag.
    pub language: String,
    /// Used by the bot.
    pub active: bool,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct KbFilter {
    /// Only this language.
    pub language: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Text in the question, answer or keywords (case-insensitive).
    pub search: Option<String>,
}

/// Entries by id, filtered; `after` is the id cursor of the previous page.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_kb_entries(
    store: &Store,
    tenant: TenantId,
    f: &KbFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<KbEntryRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        kb_columns!(),
        " from kb_entries where tenant_id = $1 and id > $2 and ($3 is null or language = $3) \
          and ($4 is null or category = $4) \
          and ($5 is null or lower(question) like $5 or lower(answer) like $5 or lower(keywords) like $5) \
          order by id limit $6"
    );
    let search = f
        .search
        .as_deref()
        .map(|q| format!("%{}%", q.to_lowercase().replace(['%', '_'], "")));
    Ok(on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(after.unwrap_or(0))
        .bind(f.language.as_deref())
        .bind(f.category.as_deref())
        .bind(search.as_deref())
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// Every entry of a tenant (to build its search index).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn all_kb_entries(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<KbEntryRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        kb_columns!(),
        " from kb_entries where tenant_id = $1 order by id"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

/// Number of entries of a tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn count_kb_entries(store: &Store, tenant: TenantId) -> Result<i64, StoreError> {
    const SQL: &str = "select count(*) from kb_entries where tenant_id = $1";
    Ok(on_pool!(store, p => sqlx::query_scalar(SQL).bind(tenant.get()).fetch_one(p).await)?)
}

/// One entry.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn find_kb_entry(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<KbEntryRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        kb_columns!(),
        " from kb_entries where tenant_id = $1 and id = $2"
    );
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(id).fetch_optional(p).await)?,
    )
}

/// Stores entries in one transaction (an import is all or nothing). An entry whose slug the
/// tenant already has replaces that entry, so re-importing a file updates it.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, count = entries.len()))]
pub async fn upsert_kb_entries(
    store: &Store,
    tenant: TenantId,
    entries: &[NewKbEntry],
) -> Result<Vec<KbEntryRecord>, StoreError> {
    const SQL: &str = concat!(
        "insert into kb_entries (tenant_id, slug, category, question, answer, keywords, language, active, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) on conflict (tenant_id, slug) do update set \
         category = excluded.category, question = excluded.question, answer = excluded.answer, \
         keywords = excluded.keywords, language = excluded.language, active = excluded.active, \
         updated_at = excluded.updated_at returning ",
        kb_columns!()
    );
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        let now = Utc::now();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let row: KbEntryRecord = sqlx::query_as(SQL)
                .bind(tenant.get())
                .bind(e.slug.as_deref())
                .bind(&e.category)
                .bind(&e.question)
                .bind(&e.answer)
                .bind(&e.keywords)
                .bind(&e.language)
                .bind(e.active)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            out.push(row);
        }
        tx.commit().await?;
        Ok::<_, StoreError>(out)
    }
    .await)
}

/// Changes an entry.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_kb_entry(
    store: &Store,
    tenant: TenantId,
    id: i64,
    e: &NewKbEntry,
) -> Result<KbEntryRecord, StoreError> {
    const SQL: &str = concat!(
        "update kb_entries set category = $3, question = $4, answer = $5, keywords = $6, language = $7, active = $8, \
         updated_at = $9, slug = $10 where tenant_id = $1 and id = $2 returning ",
        kb_columns!()
    );
    on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(&e.category)
        .bind(&e.question)
        .bind(&e.answer)
        .bind(&e.keywords)
        .bind(&e.language)
        .bind(e.active)
        .bind(Utc::now())
        .bind(e.slug.as_deref())
        .fetch_optional(p)
        .await)
    .on_unique("a knowledge-base entry with this slug")?
    .ok_or(StoreError::NotFound)
}

/// Deletes an entry.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn delete_kb_entry(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str = "delete from kb_entries where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Counts one more answer given with an entry.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn bump_kb_usage(store: &Store, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    const SQL: &str =
        "update kb_entries set usage_count = usage_count + 1 where tenant_id = $1 and id = $2";
    on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// A stored handoff rule.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HandoffRuleRecord {
    /// Id.
    pub id: i64,
    /// Name shown to admins.
    pub name: String,
    /// The condition (JSON, tagged by kind).
    pub rule: String,
    /// Lower is checked first.
    pub priority: i64,
    /// Where the conversation goes (None: the channel's queue).
    pub queue_id: Option<i64>,
    /// Routing priority given to the conversation.
    pub route_priority: Option<i64>,
    /// What the customer is told.
    pub message: Option<String>,
    /// Checked at all.
    pub active: bool,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
}

macro_rules! rule_columns {
    () => {
        "id, name, rule, priority, queue_id, route_priority, message, active, created_at"
    };
}

/// A handoff rule to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHandoffRule {
    /// Name.
    pub name: String,
    /// Condition (JSON).
    pub rule: String,
    /// Order.
    pub priority: i64,
    /// Target queue.
    pub queue_id: Option<i64>,
    /// Routing priority.
    pub route_priority: Option<i64>,
    /// Customer message.
    pub message: Option<String>,
    /// Checked at all.
    pub active: bool,
}

/// A tenant's handoff rules by priority.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_handoff_rules(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<HandoffRuleRecord>, StoreError> {
    const SQL: &str = concat!(
        "select ",
        rule_columns!(),
        " from handoff_rules where tenant_id = $1 order by priority, id"
    );
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?)
}

/// Stores a rule.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn insert_handoff_rule(
    store: &Store,
    tenant: TenantId,
    r: &NewHandoffRule,
) -> Result<HandoffRuleRecord, StoreError> {
    const SQL: &str = concat!(
        "insert into handoff_rules (tenant_id, name, rule, priority, queue_id, route_priority, message, active, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ",
        rule_columns!()
    );
    on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(&r.name)
        .bind(&r.rule)
        .bind(r.priority)
        .bind(r.queue_id)
        .bind(r.route_priority)
        .bind(r.message.as_deref())
        .bind(r.active)
        .bind(Utc::now())
        .fetch_one(p)
        .await)
    .on_unique("a handoff rule like this")
}

/// Changes a rule.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn update_handoff_rule(
    store: &Store,
    tenant: TenantId,
    id: i64,
    r: &NewHandoffRule,
) -> Result<HandoffRuleRecord, StoreError> {
    const SQL: &str = concat!(
        "update handoff_rules set name = $3, rule = $4, priority = $5, queue_id = $6, route_priority = $7, message = $8, \
         active = $9 where tenant_id = $1 and id = $2 returning ",
        rule_columns!()
    );
    on_write!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(id)
        .bind(&r.name)
        .bind(&r.rule)
        .bind(r.priority)
        .bind(r.queue_id)
        .bind(r.route_priority)
        .bind(r.message.as_deref())
        .bind(r.active)
        .fetch_optional(p)
        .await)?
    .ok_or(StoreError::NotFound)
}

/// Deletes a rule.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn delete_handoff_rule(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "delete from handoff_rules where tenant_id = $1 and id = $2";
    let n = on_write!(store, p => sqlx::query(SQL).bind(tenant.get()).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Token usage of one model in one month.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UsageRecord {
    /// `YYYY-MM`.
    pub month: String,
    /// Model name (`local` for the embedded bot).
    pub model: String,
    /// Requests made.
    pub requests: i64,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Estimated cost in millionths of the currency unit.
    pub cost_micros: i64,
}

/// Adds one request's tokens to the month's usage.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn add_usage(
    store: &Store,
    tenant: TenantId,
    month: &str,
    model: &str,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into ai_usage (tenant_id, month, model, requests, input_tokens, output_tokens, cost_micros) \
                       values ($1, $2, $3, 1, $4, $5, $6) on conflict (tenant_id, month, model) do update set \
                       requests = ai_usage.requests + 1, input_tokens = ai_usage.input_tokens + excluded.input_tokens, \
                       output_tokens = ai_usage.output_tokens + excluded.output_tokens, \
                       cost_micros = ai_usage.cost_micros + excluded.cost_micros";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(month)
        .bind(model)
        .bind(input_tokens)
        .bind(output_tokens)
        .bind(cost_micros)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A month's usage per model.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn month_usage(
    store: &Store,
    tenant: TenantId,
    month: &str,
) -> Result<Vec<UsageRecord>, StoreError> {
    const SQL: &str = "select month, model, requests, input_tokens, output_tokens, cost_micros from ai_usage \
                       where tenant_id = $1 and month = $2 order by model";
    Ok(on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(month).fetch_all(p).await)?)
}

/// One bot turn, as logged.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AiTurnRecord {
    /// Id.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// `local`, `small` or `large`.
    pub tier: String,
    /// The model that answered (None for the local bot).
    pub model: Option<String>,
    /// `answered`, `clarified`, `small_talk`, `handoff`, `failed`.
    pub outcome: String,
    /// Confidence of the answer.
    pub confidence: Option<f64>,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Estimated cost (millionths).
    pub cost_micros: i64,
    /// Time to answer.
    pub latency_ms: i64,
    /// Tool calls (JSON array).
    pub tools: String,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
}

/// A turn to log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewAiTurn<'a> {
    /// Tier.
    pub tier: &'a str,
    /// Model.
    pub model: Option<&'a str>,
    /// Outcome.
    pub outcome: &'a str,
    /// Confidence.
    pub confidence: Option<f64>,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Cost (millionths).
    pub cost_micros: i64,
    /// Latency.
    pub latency_ms: i64,
    /// Tool calls (JSON array).
    pub tools: &'a str,
}

/// Logs a bot turn.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn insert_ai_turn(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
    t: &NewAiTurn<'_>,
) -> Result<(), StoreError> {
    const SQL: &str = "insert into ai_turns (tenant_id, conversation_id, tier, model, outcome, confidence, input_tokens, \
                       output_tokens, cost_micros, latency_ms, tools, created_at) \
                       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    on_write!(store, p => sqlx::query(SQL)
        .bind(tenant.get())
        .bind(conversation)
        .bind(t.tier)
        .bind(t.model)
        .bind(t.outcome)
        .bind(t.confidence)
        .bind(t.input_tokens)
        .bind(t.output_tokens)
        .bind(t.cost_micros)
        .bind(t.latency_ms)
        .bind(t.tools)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A conversation's bot turns in order.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, conversation.id = conversation))]
pub async fn list_ai_turns(
    store: &Store,
    tenant: TenantId,
    conversation: i64,
) -> Result<Vec<AiTurnRecord>, StoreError> {
    const SQL: &str = "select id, conversation_id, tier, model, outcome, confidence, input_tokens, output_tokens, \
                       cost_micros, latency_ms, tools, created_at from ai_turns \
                       where tenant_id = $1 and conversation_id = $2 order by id";
    Ok(
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).bind(conversation).fetch_all(p).await)?,
    )
}
