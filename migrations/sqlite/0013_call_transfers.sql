-- Whom a transferred call was put through to (an extension with its name, a number or a SIP
-- URI), so that the call log says whom the caller talked to last, not only the agent who
-- answered first. Kept in step with the other backend's file.
alter table calls add column transferred_to text;
