-- The inbox (RULES.md "Conversations (the inbox)"): each message's author and
-- body beside its JSON, and on each conversation its assignee, its customer's
-- name and email to search, and the two moments the views order by (its last
-- message; its last customer message, "waiting since"; both its creation
-- when there is none), refreshed for every conversation a write touches.
ALTER TABLE messages ADD COLUMN author TEXT;
ALTER TABLE messages ADD COLUMN body TEXT;
UPDATE messages SET author = json_extract(data, '$.author'), body = json_extract(data, '$.body');
ALTER TABLE conversations ADD COLUMN assignee_id TEXT;
ALTER TABLE conversations ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN last_message_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET
    assignee_id = json_extract(data, '$.assignee_id'),
    search = json_extract(data, '$.customer.name') || char(10) || json_extract(data, '$.customer.email'),
    last_message_at = COALESCE((SELECT MAX(sent_at) FROM messages m WHERE m.conversation_id = conversations.id), created_at),
    waiting_since = COALESCE((SELECT MAX(sent_at) FROM messages m WHERE m.conversation_id = conversations.id
                              AND m.author = 'customer'), created_at);
CREATE INDEX conversations_by_last_message ON conversations (last_message_at, id);
CREATE INDEX conversations_mine ON conversations (assignee_id, last_message_at, id);
CREATE INDEX conversations_waiting ON conversations (assignee_id, waiting_since, id);
-- A conversation's messages newest first, ties by id: the inbox's last message.
DROP INDEX messages_by_conversation;
CREATE INDEX messages_by_conversation ON messages (conversation_id, sent_at, id);
