-- The call center's revision of the document a ticket's content came
-- from (NULL when the content came without one, as from POST /tickets).
-- A later document with a lower revision is a late retransmission and
-- must not bring the older content back.
ALTER TABLE tickets ADD COLUMN source_revision INTEGER;

-- Tickets taken in before: the revision their last version's history
-- entry recorded. SQLite's JSON functions here, PostgreSQL's in its own
-- migration: the one place the history's JSON is read by SQL.
UPDATE tickets SET source_revision = (
    SELECT json_extract(h.data, '$.source.revision')
    FROM ticket_history h
    WHERE h.account_id = tickets.account_id AND h.ticket_id = tickets.id
      AND h.kind IN ('created', 'new_version')
    ORDER BY h.id DESC
    LIMIT 1
);
