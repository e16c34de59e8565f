-- Foundation: tenants, users and their memberships, sessions, API keys, audit log.
-- Kept in step with migrations/postgres/0001_foundation.sql (same tables, columns and names).

create table tenants (
    id integer primary key autoincrement,
    name text not null,
    slug text not null unique,
    -- resource limits, 0 = unlimited; enforced when the resources are created
    max_agents integer not null default 0,
    max_dids integer not null default 0,
    max_concurrent_calls integer not null default 0,
    max_chat_integrations integer not null default 0,
    feature_voice boolean not null default true,
    feature_chat boolean not null default true,
    feature_ai boolean not null default true,
    created_at text not null,
    updated_at text not null,
    -- soft delete: the row stays for audit and recovery, every lookup skips it
    deleted_at text
);

create table users (
    id integer primary key autoincrement,
    -- stored lowercased so lookups are case-insensitive on both backends
    email text not null unique,
    name text not null,
    password_hash text not null,
    is_operator boolean not null default false,
    active boolean not null default true,
    created_at text not null,
    updated_at text not null,
    last_login_at text
);

create table memberships (
    tenant_id integer not null references tenants (id) on delete cascade,
    user_id integer not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'supervisor', 'agent')),
    -- a tenant admin deactivates a member here; the person keeps access to their other tenants
    active boolean not null default true,
    created_at text not null,
    primary key (tenant_id, user_id)
);
create index memberships_user on memberships (user_id);

create table sessions (
    id integer primary key autoincrement,
    -- sha-256 of the cookie token: a stolen database does not yield live sessions
    token_hash text not null unique,
    user_id integer not null references users (id) on delete cascade,
    csrf_token text not null,
    created_at text not null,
    expires_at text not null,
    last_seen_at text not null,
    revoked_at text,
    ip text,
    user_agent text
);
create index sessions_user on sessions (user_id);

create table api_keys (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    name text not null,
    role text not null check (role in ('admin', 'supervisor', 'agent')),
    -- first characters of the key, shown in the UI so people can tell keys apart
    prefix text not null,
    key_hash text not null unique,
    created_by integer references users (id) on delete set null,
    created_at text not null,
    last_used_at text,
    revoked_at text
);
create index api_keys_tenant on api_keys (tenant_id);

create table audit_log (
    id integer primary key autoincrement,
    tenant_id integer references tenants (id) on delete cascade,
    actor_user_id integer references users (id) on delete set null,
    -- who acted, readable even after the user or key is gone
    actor_label text not null,
    action text not null,
    target_type text not null,
    target_id text not null,
    -- JSON object with the changed fields (never secrets)
    details text not null,
    created_at text not null
);
create index audit_log_tenant on audit_log (tenant_id, id);
