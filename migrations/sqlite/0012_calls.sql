-- Calls: one row per call Switchboard handled (inbound through the IVR, agent legs are part of
-- it), with its timeline in call_events and its recordings and voicemails. Kept in step with
-- the other backend's file.

create table calls (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- the Asterisk server (`voice.asterisk[].name`) and the caller's channel id there
    server text not null,
    channel_id text not null,
    -- inbound, outbound (click-to-call) or callback
    direction text not null,
    did text not null,
    caller text not null,
    flow text,
    -- ivr, queued, ringing, connected, voicemail, ended
    state text not null,
    routed_contact_id integer,
    queue_id integer,
    agent_id integer references users (id) on delete set null,
    started_at text not null,
    answered_at text,
    ended_at text,
    -- caller_hangup, agent_hangup, abandoned, flow_hangup, unrouted, voicemail, transferred,
    -- failed, asterisk_lost
    end_reason text,
    unique (server, channel_id)
);
create index calls_by_tenant on calls (tenant_id, started_at);
create index calls_by_contact on calls (tenant_id, routed_contact_id);

create table call_events (
    id integer primary key autoincrement,
    call_id integer not null references calls (id) on delete cascade,
    tenant_id integer not null references tenants (id) on delete cascade,
    at text not null,
    -- entered, ivr_node, queued, offered, answered, connected, transferred, voicemail,
    -- recording, ended …
    kind text not null,
    -- JSON object with the facts of the event (never raw PII: gathered digits are masked)
    detail text not null default '{}'
);
create index call_events_by_call on call_events (call_id, id);

-- A recording of a connected call, or a voicemail left by a caller.
create table call_recordings (
    id integer primary key autoincrement,
    call_id integer not null references calls (id) on delete cascade,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- recording or voicemail
    kind text not null,
    -- the ARI recording name (`{tenant}/{call}-…`) and the file under the data dir, once fetched
    name text not null,
    path text,
    format text not null,
    duration_secs integer,
    -- voicemail box it was left in
    mailbox text,
    created_at text not null
);
create index call_recordings_by_call on call_recordings (call_id);
create index call_recordings_by_tenant on call_recordings (tenant_id, kind, created_at);
