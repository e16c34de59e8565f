-- The routing contact holding the capacity of the agent a transferred call was put through to
-- (their desk answered a customer's call), apart from the contact the call was queued as, so
-- that a restart keeps the hold while the call still names the contact that was routed. Kept
-- in step with the other backend's file.
alter table calls add column held_contact_id bigint;
