-- IVR flows: every published snapshot of a tenant's flow folder, so admins see what went live,
-- when and by whom, and calls can name the version they ran. Kept in step with the other
-- backend's file.

create table ivr_publications (
    id integer primary key autoincrement,
    tenant_id integer not null references tenants (id) on delete cascade,
    -- 1, 2, 3 … per tenant
    version integer not null,
    -- sha-256 of the folder's files (path and text), hex
    digest text not null,
    -- `api` (published from the admin), `disk` (a change on disk, hot reload), `start`
    source text not null,
    -- the file the change was about, when there was one
    path text,
    -- the user who published from the admin (null for disk and start)
    published_by integer references users (id) on delete set null,
    -- {"routes.yaml": "…", "flows/support-main.yaml": "…"} as published
    files text not null,
    warnings integer not null default 0,
    published_at text not null
);
create unique index ivr_publications_version on ivr_publications (tenant_id, version);
