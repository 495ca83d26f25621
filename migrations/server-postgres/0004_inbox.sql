-- The inbox (RULES.md "Conversations (the inbox)"): each message's author and
-- body beside its JSON, and on each conversation the two moments the views
-- order by (its last message; its last customer message, "waiting since";
-- both its creation when there is none) and its customer's name and email
-- to search, kept by the write path (crate::inbox).
ALTER TABLE messages ADD COLUMN author TEXT COLLATE "C";
ALTER TABLE messages ADD COLUMN body TEXT;
UPDATE messages SET author = data::jsonb ->> 'author', body = data::jsonb ->> 'body';
ALTER TABLE conversations ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN last_message_at TEXT COLLATE "C";
ALTER TABLE conversations ADD COLUMN waiting_since TEXT COLLATE "C";
UPDATE conversations SET
    search = (data::jsonb -> 'customer' ->> 'name') || chr(10) || (data::jsonb -> 'customer' ->> 'email'),
    last_message_at = COALESCE((SELECT MAX(sent_at) FROM messages m WHERE m.conversation_id = conversations.id), created_at),
    waiting_since = COALESCE((SELECT MAX(sent_at) FROM messages m WHERE m.conversation_id = conversations.id
                              AND m.author = 'customer'), created_at);
CREATE INDEX conversations_by_last_message ON conversations (last_message_at, id);
CREATE INDEX conversations_mine ON conversations (assignee_id, last_message_at, id);
CREATE INDEX conversations_waiting ON conversations (assignee_id, waiting_since, id);
