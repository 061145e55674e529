-- Migration 013: sms_messages loses its (district_code, at) index. Nothing in Hisaab reads
-- messages by district (the admin commands delete by phone_hash and by age; retention
-- uses the BRIN index on at), and every message paid for it twice, once for the inbound
-- row and once for the reply. A question such as "how many asked about this district in
-- March" is a scan of a time range, which the BRIN index on at narrows.
DROP INDEX IF EXISTS sms_messages_district_idx;
