//! Agents' routing profiles: capacity per medium, cross-channel rule, presence, skills.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{BeginWrite, Store, StoreError, on_pool, on_write};
use crate::domain::{TenantId, UserId};

/// An agent's routing profile within a tenant (defaults when never set).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentProfile {
    /// The agent.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role in the tenant.
    pub role: String,
    /// Membership and account active.
    pub active: bool,
    /// Simultaneous calls.
    pub voice_capacity: i64,
    /// Simultaneous chats.
    pub chat_capacity: i64,
    /// No chats while on a call.
    pub block_chats_during_call: bool,
    /// `offline`, `available` or `away`.
    pub presence: String,
    /// Why away.
    pub away_reason: Option<String>,
    /// When presence last changed (UTC); `None` when never set.
    pub presence_changed_at: Option<DateTime<Utc>>,
    /// Skill name → level 1–10.
    pub skills: BTreeMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    user_id: i64,
    name: String,
    email: String,
    role: String,
    active: bool,
    voice_capacity: Option<i64>,
    chat_capacity: Option<i64>,
    block_chats_during_call: Option<bool>,
    presence: Option<String>,
    away_reason: Option<String>,
    presence_changed_at: Option<DateTime<Utc>>,
}

impl ProfileRow {
    fn into_profile(self, skills: BTreeMap<String, i64>) -> AgentProfile {
        AgentProfile {
            user_id: UserId(self.user_id),
            name: self.name,
            email: self.email,
            role: self.role,
            active: self.active,
            voice_capacity: self.voice_capacity.unwrap_or(1),
            chat_capacity: self.chat_capacity.unwrap_or(3),
            block_chats_during_call: self.block_chats_during_call.unwrap_or(false),
            presence: self.presence.unwrap_or_else(|| "offline".into()),
            away_reason: self.away_reason,
            presence_changed_at: self.presence_changed_at,
            skills,
        }
    }
}

// Every member of the tenant is an agent as far as routing goes; a missing profile row means defaults.
macro_rules! select_agents {
    () => {
        "select u.id as user_id, u.name, u.email, m.role, (m.active and u.active) as active, \
     p.voice_capacity, p.chat_capacity, p.block_chats_during_call, p.presence, p.away_reason, p.presence_changed_at \
     from memberships m join users u on u.id = m.user_id \
     left join agent_profiles p on p.tenant_id = m.tenant_id and p.user_id = m.user_id"
    };
}

#[derive(sqlx::FromRow)]
struct SkillRow {
    user_id: i64,
    skill: String,
    level: i64,
}

/// Every member of a tenant with their routing profile, by user id.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant))]
pub async fn list_agents(store: &Store, tenant: TenantId) -> Result<Vec<AgentProfile>, StoreError> {
    const SKILLS: &str = "select user_id, skill, level from agent_skills where tenant_id = $1 order by user_id, skill";
    const SQL: &str = concat!(select_agents!(), " where m.tenant_id = $1 order by u.id");
    let rows: Vec<ProfileRow> =
        on_pool!(store, p => sqlx::query_as(SQL).bind(tenant.get()).fetch_all(p).await)?;
    let skills: Vec<SkillRow> =
        on_pool!(store, p => sqlx::query_as(SKILLS).bind(tenant.get()).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = skills
                .iter()
                .filter(|s| s.user_id == r.user_id)
                .map(|s| (s.skill.clone(), s.level))
                .collect();
            r.into_profile(mine)
        })
        .collect())
}

/// One member's routing profile; `None` when the user is not a member of the tenant.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn find_agent(
    store: &Store,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<AgentProfile>, StoreError> {
    const SKILLS: &str = "select user_id, skill, level from agent_skills where tenant_id = $1 and user_id = $2 order by skill";
    const SQL: &str = concat!(
        select_agents!(),
        " where m.tenant_id = $1 and m.user_id = $2"
    );
    let row: Option<ProfileRow> = on_pool!(store, p => sqlx::query_as(SQL)
        .bind(tenant.get())
        .bind(user.get())
        .fetch_optional(p)
        .await)?;
    let Some(row) = row else { return Ok(None) };
    let skills: Vec<SkillRow> = on_pool!(store, p => sqlx::query_as(SKILLS).bind(tenant.get()).bind(user.get()).fetch_all(p).await)?;
    Ok(Some(row.into_profile(
        skills.into_iter().map(|s| (s.skill, s.level)).collect(),
    )))
}

/// Routing settings of an agent.
#[derive(Debug, Clone)]
pub struct RoutingSettings {
    /// Simultaneous calls.
    pub voice_capacity: i64,
    /// Simultaneous chats.
    pub chat_capacity: i64,
    /// No chats while on a call.
    pub block_chats_during_call: bool,
    /// Skill name → level (replaces all skills).
    pub skills: BTreeMap<String, i64>,
}

/// Saves capacity, cross-channel rule and skills in one transaction.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn save_routing_settings(
    store: &Store,
    tenant: TenantId,
    user: UserId,
    s: &RoutingSettings,
) -> Result<(), StoreError> {
    const UPSERT: &str = "insert into agent_profiles (tenant_id, user_id, voice_capacity, chat_capacity, block_chats_during_call, presence, presence_changed_at) \
                          values ($1, $2, $3, $4, $5, 'offline', $6) \
                          on conflict (tenant_id, user_id) do update set voice_capacity = excluded.voice_capacity, \
                          chat_capacity = excluded.chat_capacity, block_chats_during_call = excluded.block_chats_during_call";
    const CLEAR: &str = "delete from agent_skills where tenant_id = $1 and user_id = $2";
    const ADD: &str =
        "insert into agent_skills (tenant_id, user_id, skill, level) values ($1, $2, $3, $4)";
    on_write!(store, p => async {
        let mut tx = p.begin_write().await?;
        sqlx::query(UPSERT)
            .bind(tenant.get())
            .bind(user.get())
            .bind(s.voice_capacity)
            .bind(s.chat_capacity)
            .bind(s.block_chats_during_call)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(fk_is_not_found)?;
        sqlx::query(CLEAR).bind(tenant.get()).bind(user.get()).execute(&mut *tx).await?;
        for (skill, level) in &s.skills {
            sqlx::query(ADD).bind(tenant.get()).bind(user.get()).bind(skill).bind(level).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<(), StoreError>(())
    }
    .await)
}

/// Records an agent's presence.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, user.id = %user))]
pub async fn set_presence(
    store: &Store,
    tenant: TenantId,
    user: UserId,
    presence: &str,
    away_reason: Option<&str>,
) -> Result<(), StoreError> {
    const UPSERT: &str = "insert into agent_profiles (tenant_id, user_id, presence, away_reason, presence_changed_at) \
                          values ($1, $2, $3, $4, $5) \
                          on conflict (tenant_id, user_id) do update set presence = excluded.presence, \
                          away_reason = excluded.away_reason, presence_changed_at = excluded.presence_changed_at";
    on_write!(store, p => sqlx::query(UPSERT)
        .bind(tenant.get())
        .bind(user.get())
        .bind(presence)
        .bind(away_reason)
        .bind(Utc::now())
        .execute(p)
        .await
        .map(|_| ()))
    .map_err(fk_is_not_found)
}

fn fk_is_not_found(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(e),
    }
}
