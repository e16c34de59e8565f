-- Tickets: work that outlives a conversation (a refund to process, a bug to fix), created by
-- agents or by the AI agent's create_ticket tool. Kept in step with the other backend's file.

create table tickets (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    conversation_id integer references conversations (id) on delete set null,
    contact_id integer references contacts (id) on delete set null,
    title text not null,
    description text not null,
    priority text not null check (priority in ('low', 'normal', 'high', 'urgent')),
    status text not null check (status in ('open', 'pending', 'solved', 'closed')),
    assignee_id integer,
    -- the person who opened it; null when the AI agent did
    created_by integer,
    created_at text not null,
    updated_at text not null
);
create index tickets_tenant_status on tickets (tenant_id, status, id);
