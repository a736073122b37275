-- The documents tickets arrived in, kept as received (evidence in a
-- dispute): one 'source' per version taken in from a call-center format,
-- and the 'attachment's that came with it (an e-mail's files).
CREATE TABLE ticket_documents (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER NOT NULL REFERENCES tickets (id),
    version_number INTEGER NOT NULL,
    role           TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    name           TEXT,
    content_type   TEXT    NOT NULL,
    sha256         TEXT    NOT NULL,
    body           BLOB    NOT NULL,
    received_at    INTEGER NOT NULL
);
CREATE INDEX ticket_documents_by_ticket ON ticket_documents (account_id, ticket_id, id);
