-- The routing contact holding the capacity of a colleague an agent is consulting (their phone
-- answered the consultation), so that a restart which hands the caller to that colleague (the
-- agent left while we were down) holds them again. Kept in step with the other backend's file.
alter table calls add column consult_contact_id integer;
