-- Response ids are never handed out twice. A response removed by PUT keeps
-- its deliveries (relay_deliveries.response_id), and a delivery finishing
-- late must not mark a newer response as sent. Without AUTOINCREMENT,
-- SQLite gives the highest id again once its row is deleted.
CREATE TABLE ticket_responses_new (
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id),
    service_area  TEXT    NOT NULL,
    facility      TEXT    NOT NULL,
    code          TEXT    NOT NULL,
    comment       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    respondent_id INTEGER REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    responded_at  INTEGER
);
INSERT INTO ticket_responses_new (account_id, id, ticket_id, service_area, facility, code, comment,
        status, respondent_id, created_at, updated_at, responded_at)
    SELECT account_id, id, ticket_id, service_area, facility, code, comment,
        status, respondent_id, created_at, updated_at, responded_at
    FROM ticket_responses;
DROP TABLE ticket_responses;
ALTER TABLE ticket_responses_new RENAME TO ticket_responses;
CREATE UNIQUE INDEX ticket_responses_by_pair
    ON ticket_responses (account_id, ticket_id, service_area, facility);
-- Ids already given to responses that are gone stay taken.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'ticket_responses', COALESCE(MAX(response_id), 0) FROM relay_deliveries
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'ticket_responses');
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT COALESCE(MAX(response_id), 0) FROM relay_deliveries))
    WHERE name = 'ticket_responses';
