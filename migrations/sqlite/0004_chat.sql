-- Chat core: customers (contacts) with their identities per channel, conversations, messages,
-- website widgets, canned responses and labels. Kept in step with the other backend's 0004_chat.sql.

create table contacts (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    name text,
    email text,
    phone text,
    -- merged into another contact: lookups follow this pointer
    merged_into integer references contacts (id) on delete set null,
    metadata text not null,
    created_at text not null,
    updated_at text not null
);
create index contacts_tenant on contacts (tenant_id, id);

create table contact_identities (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    contact_id integer not null references contacts (id) on delete cascade,
    -- widget, whatsapp, messenger, instagram, x, sms, telegram, voice
    channel text not null,
    -- the channel's id for the person: visitor id, phone number, page-scoped id, chat id
    external_id text not null,
    created_at text not null,
    unique (tenant_id, channel, external_id)
);

create table widgets (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- the public id in the embed snippet (random, not guessable)
    public_id text not null unique,
    name text not null,
    -- colours, position, welcome message, pre-chat fields, allowed origins, away message (JSON)
    settings text not null,
    queue_id integer references queues (id) on delete set null,
    -- secret for identity verification of logged-in users, sealed with the master key
    hmac_secret text not null,
    created_at text not null,
    updated_at text not null
);

create table conversations (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    contact_id integer not null references contacts (id) on delete cascade,
    channel text not null,
    widget_id integer references widgets (id) on delete set null,
    external_id text,
    status text not null check (status in ('bot', 'queued', 'agent', 'closed')),
    snoozed_until text,
    priority integer not null default 0,
    assigned_agent_id integer,
    queue_id integer,
    -- the routing engine's contact while queued or connected
    routing_contact_id integer,
    language text,
    bot_confidence real,
    handoff_reason text,
    handoff text,
    started_at text not null,
    assigned_at text,
    first_response_at text,
    closed_at text,
    last_message_at text not null,
    -- last message sequence number inside the conversation (messages.seq)
    last_seq integer not null default 0,
    metadata text not null,
    updated_at text not null
);
create index conversations_tenant_status on conversations (tenant_id, status, last_message_at);
create index conversations_contact on conversations (contact_id);

create table messages (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    conversation_id integer not null references conversations (id) on delete cascade,
    -- position in the conversation: what a reconnecting widget asks to resume from
    seq integer not null,
    sender text not null check (sender in ('customer', 'agent', 'bot', 'system')),
    sender_id integer,
    content text not null,
    kind text not null default 'text' check (kind in ('text', 'image', 'video', 'audio', 'file', 'location', 'template')),
    media text,
    private boolean not null default false,
    delivery_status text not null default 'sent' check (delivery_status in ('sent', 'delivered', 'read', 'failed')),
    delivered_at text,
    read_at text,
    failed_reason text,
    intent text,
    sentiment real,
    -- the provider's id (or the widget client's idempotency key): de-duplicates retries
    provider_message_id text,
    metadata text not null,
    created_at text not null,
    unique (conversation_id, seq),
    unique (conversation_id, provider_message_id)
);

create table canned_responses (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    shortcut text not null,
    content text not null,
    created_at text not null,
    unique (tenant_id, shortcut)
);

create table labels (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    name text not null,
    colour text not null,
    unique (tenant_id, name)
);

create table conversation_labels (
    conversation_id integer not null references conversations (id) on delete cascade,
    label_id integer not null references labels (id) on delete cascade,
    primary key (conversation_id, label_id)
);
