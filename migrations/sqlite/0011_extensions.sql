-- Extensions: agents' SIP phones, provisioned into Asterisk as PJSIP endpoint/aor/auth objects
-- (ARI push configuration) or rendered into a pjsip.conf include. Kept in step with the other
-- backend's file.

create table extensions (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- 2 to 10 digits, unique in the tenant; the PJSIP id is `{tenant slug}-{number}`
    number text not null,
    display_name text not null,
    -- the agent using the phone (checked to be a member when set); a deleted user frees it
    user_id integer references users (id) on delete set null,
    -- the SIP digest password, sealed with the master key (Asterisk needs it in clear)
    sip_password text not null,
    -- JSON list of codec names in preference order
    codecs text not null default '["g722","ulaw","alaw"]',
    -- rtp_symmetric, force_rport, rewrite_contact (phones behind home routers)
    nat boolean not null default true,
    call_limit integer not null default 2 check (call_limit between 1 and 10),
    voicemail_box text,
    -- E.164 number or another extension of the tenant
    forward_to text,
    dnd boolean not null default false,
    enabled boolean not null default true,
    -- last successful push to Asterisk, and the error of the last failed one (null = none)
    provisioned_at text,
    provision_error text,
    created_at text not null,
    updated_at text not null,
    unique (tenant_id, number)
);
