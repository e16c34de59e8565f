-- How far each agent has read each conversation, for unread counts in the inbox.
-- Kept in step with the other backend's file.

create table conversation_reads (
    tenant_id bigint not null references tenants (id) on delete cascade,
    conversation_id bigint not null references conversations (id) on delete cascade,
    user_id bigint not null,
    last_seq bigint not null,
    primary key (conversation_id, user_id)
);
