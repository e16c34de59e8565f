-- Calls find the customer a caller's number belongs to (`contacts.phone`, set by a verified
-- widget user's `identify`). Kept in step with the other backend's 0016_contact_phone.sql.
create index contacts_phone on contacts (tenant_id, phone);
