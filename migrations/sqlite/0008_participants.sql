-- Colleagues brought into a conversation by an @mention in a private note: they may open it
-- and follow it live even when it is outside their queues.
-- Kept in step with the other backend's file.

create table conversation_participants (
    tenant_id integer not null references tenants (id) on delete cascade,
    conversation_id integer not null references conversations (id) on delete cascade,
    user_id integer not null,
    added_by integer,
    added_at text not null,
    primary key (conversation_id, user_id)
);

create index conversation_participants_user on conversation_participants (tenant_id, user_id);
