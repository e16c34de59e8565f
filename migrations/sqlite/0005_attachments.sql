-- Files customers and agents attach to messages. The bytes live under the data folder; the
-- row keeps what is needed to serve them safely. Kept in step with the other backend's file.

create table attachments (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    conversation_id integer not null references conversations (id) on delete cascade,
    -- random, unguessable: the download URL is /media/attachments/{public_id}
    public_id text not null unique,
    filename text not null,
    -- checked against the file's first bytes, from an allow-list
    content_type text not null,
    size_bytes integer not null,
    sha256 text not null,
    created_at text not null
);
create index attachments_conversation on attachments (conversation_id);
