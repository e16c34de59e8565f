-- Routing: queues and their members, agents' routing profiles and skills, and the contacts
-- the routing engine is holding (so waiting contacts survive a restart with their place).
-- Kept in step with the other backend's 0002_routing.sql.

create table queues (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    name text not null,
    -- strategy, timeouts, overflow and the other routing options as JSON; the routing
    -- module validates it, so adding an option needs no migration
    settings text not null,
    created_at text not null,
    updated_at text not null,
    unique (tenant_id, name)
);

create table queue_members (
    queue_id integer not null references queues (id) on delete cascade,
    tenant_id integer not null,
    user_id integer not null,
    -- configured order, walked by the linear and round_robin_ordered strategies
    position integer not null,
    penalty integer not null default 0,
    -- per-member wrap-up overriding the queue's; null = the queue's
    wrapup_secs integer,
    primary key (queue_id, user_id),
    -- only members of the tenant can serve its queues; removing the member removes them here
    foreign key (tenant_id, user_id) references memberships (tenant_id, user_id) on delete cascade
);

create table agent_profiles (
    tenant_id integer not null,
    user_id integer not null,
    voice_capacity integer not null default 1,
    chat_capacity integer not null default 3,
    -- no chats offered while on a call (Amazon Connect's cross-channel rule)
    block_chats_during_call boolean not null default false,
    presence text not null default 'offline' check (presence in ('offline', 'available', 'away')),
    away_reason text,
    presence_changed_at text not null,
    primary key (tenant_id, user_id),
    foreign key (tenant_id, user_id) references memberships (tenant_id, user_id) on delete cascade
);

create table agent_skills (
    tenant_id integer not null,
    user_id integer not null,
    skill text not null,
    level integer not null check (level between 1 and 10),
    primary key (tenant_id, user_id, skill),
    foreign key (tenant_id, user_id) references memberships (tenant_id, user_id) on delete cascade
);

create table routing_contacts (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    queue_id integer not null,
    medium text not null check (medium in ('voice', 'chat')),
    channel text not null,
    priority integer not null default 0,
    -- skill name -> minimum level, JSON object
    required_skills text not null,
    -- first time the contact started waiting anywhere: FIFO order, kept across overflow and restarts
    enqueued_at text not null,
    -- when it joined its current queue (max wait counts from here)
    joined_at text not null,
    callback boolean not null default false,
    status text not null check (status in ('waiting', 'connected', 'ended')),
    agent_id integer,
    -- answered, abandoned, overflowed, rejected, ended
    outcome text,
    created_at text not null,
    updated_at text not null
);
create index routing_contacts_live on routing_contacts (tenant_id, status);
