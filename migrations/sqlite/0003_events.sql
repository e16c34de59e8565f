-- The per-tenant event log behind the real-time WebSocket: every event gets the next
-- sequence number of its tenant, so a reconnecting client asks for what it missed and gets it
-- (no silent gaps). Kept in step with the other backend's 0003_events.sql.

create table tenant_events (
    tenant_id integer not null references tenants (id) on delete cascade,
    seq integer not null,
    kind text not null,
    -- who may see it: null = every member; otherwise the one agent it is for (offers)
    user_id integer,
    payload text not null,
    created_at text not null,
    primary key (tenant_id, seq)
);
