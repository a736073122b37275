-- The latest revision of the call center's documents taken in for a
-- ticket (NULL while none came with one). A document with a lower
-- revision is a late retransmission and must not bring older content
-- back; content without a revision (POST /tickets) leaves it as it is.
ALTER TABLE tickets ADD COLUMN source_revision INTEGER;

-- Tickets taken in before: the highest revision their history's versions
-- recorded. SQLite's JSON functions here, PostgreSQL's in its own
-- migration: the one place the history's JSON is read by SQL.
UPDATE tickets SET source_revision = (
    SELECT MAX(json_extract(h.data, '$.source.revision'))
    FROM ticket_history h
    WHERE h.account_id = tickets.account_id AND h.ticket_id = tickets.id
      AND h.kind IN ('created', 'new_version')
);
