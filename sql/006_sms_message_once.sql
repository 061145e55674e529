-- Migration 006: each gateway message is recorded once per direction. The server batches
-- records; a batch whose commit outlived the client's timeout is sent again, and without
-- this key it would be stored twice (seen in the SMS benchmark under overload). Rows
-- without a gateway id (monthly messages) are not constrained.
DELETE FROM sms_messages a USING sms_messages b
 WHERE a.id > b.id AND a.gateway = b.gateway AND a.direction = b.direction
   AND a.gateway_message_id = b.gateway_message_id;
CREATE UNIQUE INDEX IF NOT EXISTS sms_messages_once_idx
    ON sms_messages (gateway, gateway_message_id, direction)
    WHERE gateway_message_id IS NOT NULL;
