-- The latest revision of the call center's documents taken in for a
-- ticket (NULL while none came with one). A document with a lower
-- revision is a late retransmission and must not bring older content
-- back; content without a revision (POST /tickets) leaves it as it is.
ALTER TABLE tickets ADD COLUMN source_revision BIGINT;

-- Tickets taken in before: the highest revision their history's versions
-- recorded. PostgreSQL's JSON operators here, SQLite's in its own
-- migration: the one place the history's JSON is read by SQL.
UPDATE tickets SET source_revision = (
    SELECT MAX(CAST(CAST(h.data AS jsonb) -> 'source' ->> 'revision' AS BIGINT))
    FROM ticket_history h
    WHERE h.account_id = tickets.account_id AND h.ticket_id = tickets.id
      AND h.kind IN ('created', 'new_version')
);
