-- A message left in an agent's own voicemail box (the box of an extension a member of the
-- tenant uses, written as is or as `box@<tenant slug>`) is that agent's, fixed when it is left:
-- a box that changes hands later shows its old messages neither to its new holder nor to the
-- team. Null: the team's (a flow's box, an extension nobody uses, call recordings). No foreign
-- key: a deleted account's messages stay private (supervisors still hear them).
-- Kept in step with the other backend's 0017_voicemail_owner.sql.
alter table call_recordings add column owner_user_id integer;

update call_recordings set owner_user_id = (
    select min(e.user_id) from extensions e
    join memberships m on m.tenant_id = e.tenant_id and m.user_id = e.user_id
    join tenants t on t.id = e.tenant_id
    where e.tenant_id = call_recordings.tenant_id
      and (call_recordings.mailbox = e.voicemail_box
           or call_recordings.mailbox = e.voicemail_box || '@' || t.slug)
) where kind = 'voicemail' and mailbox is not null;
