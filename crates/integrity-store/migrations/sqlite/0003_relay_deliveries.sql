-- The relay's outbox: one row per delivery of a response to its call
-- center, written in the transaction that changed the response.
-- response_id has no foreign key on purpose: a response removed by PUT keeps
-- the record of its deliveries.
CREATE TABLE relay_deliveries (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    id              INTEGER PRIMARY KEY,
    response_id     INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    call_center_id  INTEGER NOT NULL REFERENCES call_centers (id),
    payload         TEXT    NOT NULL,
    session         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    messages        TEXT    NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
-- The worker serves every account, so its index leads with the status
-- rather than the account: the one deliberate exception to account-first
-- keys.
CREATE INDEX relay_deliveries_due ON relay_deliveries (status, next_attempt_at, id);
CREATE INDEX relay_deliveries_by_response ON relay_deliveries (account_id, response_id, id);
CREATE INDEX relay_deliveries_by_account ON relay_deliveries (account_id, status, id);
