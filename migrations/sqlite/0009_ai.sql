-- The AI agent: per-tenant configuration, knowledge base, handoff rules, token usage and a
-- log of bot turns. Kept in step with the other backend's file.

create table ai_configs (
    tenant_id integer primary key references tenants (id) on delete cascade,
    -- provider, models, prompt, thresholds, channels, budget… (JSON)
    settings text not null,
    -- the provider's API key, sealed with the master key; never returned by the API
    api_key text,
    updated_at text not null
);

create table kb_entries (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- the admin's own stable id for the entry (from import files): re-importing updates it
    slug text,
    category text not null,
    question text not null,
    answer text not null,
    -- JSON array of strings
    keywords text not null,
    language text not null,
    active boolean not null default true,
    usage_count integer not null default 0,
    created_at text not null,
    updated_at text not null
);
create index kb_entries_tenant on kb_entries (tenant_id, language, id);
create unique index kb_entries_slug on kb_entries (tenant_id, slug);

create table handoff_rules (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    name text not null,
    -- the condition (JSON, tagged by kind)
    rule text not null,
    priority integer not null,
    queue_id integer references queues (id) on delete set null,
    route_priority integer,
    message text,
    active boolean not null default true,
    created_at text not null
);
create index handoff_rules_tenant on handoff_rules (tenant_id, priority);

-- Tokens per tenant, month and model: the monthly budget and the usage page.
create table ai_usage (
    tenant_id integer not null references tenants (id) on delete cascade,
    month text not null,
    model text not null,
    requests integer not null default 0,
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    cost_micros integer not null default 0,
    primary key (tenant_id, month, model)
);

-- One row per bot turn: which tier answered (local, small, large), what it cost, how long it
-- took and how it ended; the hybrid split per conversation comes from here.
create table ai_turns (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    conversation_id integer not null references conversations (id) on delete cascade,
    tier text not null,
    model text,
    outcome text not null,
    confidence real,
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    cost_micros integer not null default 0,
    latency_ms integer not null default 0,
    -- tool calls made in the turn (JSON array)
    tools text not null,
    created_at text not null
);
create index ai_turns_conversation on ai_turns (conversation_id, id);

alter table conversations add column bot_turns integer not null default 0;
