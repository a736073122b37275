-- Integrity's schema on SQLite. The PostgreSQL schema (../postgres) holds the
-- same tables and columns; only the id and integer types differ.
-- Timestamps are milliseconds since the Unix epoch (UTC) in integers, so both
-- backends store and order them alike. JSON documents are TEXT, parsed by the
-- application, for the same reason.
-- Every tenant table carries account_id, leading its unique keys and indexes.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    subdomain   TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    api_enabled BOOLEAN NOT NULL,
    max_users   INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE users (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    active     BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_by_email ON users (account_id, email);

CREATE TABLE api_tokens (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    digest       TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (account_id, user_id);

CREATE TABLE call_centers (
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    state             TEXT,
    enabled           BOOLEAN NOT NULL,
    facility_required BOOLEAN NOT NULL,
    facilities        TEXT    NOT NULL,
    relay_enabled     BOOLEAN NOT NULL,
    relay             TEXT    NOT NULL,
    position          INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX call_centers_by_name ON call_centers (account_id, name);

CREATE TABLE service_areas (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER PRIMARY KEY,
    call_center_id INTEGER NOT NULL REFERENCES call_centers (id),
    code           TEXT    NOT NULL,
    name           TEXT,
    facilities     TEXT,
    assignee_id    INTEGER REFERENCES users (id),
    position       INTEGER NOT NULL
);
CREATE UNIQUE INDEX service_areas_by_code ON service_areas (account_id, call_center_id, code);

CREATE TABLE response_codes (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER PRIMARY KEY,
    call_center_id INTEGER NOT NULL REFERENCES call_centers (id),
    code           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    ticket_types   TEXT,
    completes      BOOLEAN NOT NULL,
    position       INTEGER NOT NULL
);
CREATE UNIQUE INDEX response_codes_by_code ON response_codes (account_id, call_center_id, code);

CREATE TABLE custom_fields (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    type_id        INTEGER NOT NULL,
    required       BOOLEAN NOT NULL,
    call_center_id INTEGER REFERENCES call_centers (id),
    position       INTEGER NOT NULL
);
CREATE UNIQUE INDEX custom_fields_by_name ON custom_fields (account_id, name);

-- parent_id 0 marks a top-level option, so that the unique key below also
-- holds for them (NULLs never collide in a unique index).
CREATE TABLE custom_field_options (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    id              INTEGER PRIMARY KEY,
    custom_field_id INTEGER NOT NULL REFERENCES custom_fields (id),
    parent_id       INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    position        INTEGER NOT NULL
);
CREATE UNIQUE INDEX custom_field_options_by_name
    ON custom_field_options (account_id, custom_field_id, parent_id, name);

CREATE TABLE tickets (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER PRIMARY KEY,
    call_center_id INTEGER NOT NULL REFERENCES call_centers (id),
    ticket_number  TEXT    NOT NULL,
    version_number INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    assignee_id    INTEGER REFERENCES users (id),
    content        TEXT    NOT NULL,
    search_text    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    closed_at      INTEGER
);
CREATE UNIQUE INDEX tickets_by_number ON tickets (account_id, call_center_id, ticket_number);
CREATE INDEX tickets_by_change ON tickets (account_id, updated_at, id);
CREATE INDEX tickets_by_status ON tickets (account_id, status, updated_at, id);

CREATE TABLE ticket_service_areas (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    code       TEXT    NOT NULL,
    PRIMARY KEY (account_id, ticket_id, code)
);
CREATE INDEX ticket_service_areas_by_code ON ticket_service_areas (account_id, code, ticket_id);

CREATE TABLE ticket_field_values (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    custom_field_id INTEGER NOT NULL REFERENCES custom_fields (id),
    value           TEXT    NOT NULL,
    PRIMARY KEY (account_id, ticket_id, custom_field_id)
);

-- facility '' stands for "no facility", for the same reason as parent_id 0.
CREATE TABLE ticket_responses (
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    id            INTEGER PRIMARY KEY,
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
CREATE UNIQUE INDEX ticket_responses_by_pair
    ON ticket_responses (account_id, ticket_id, service_area, facility);

CREATE TABLE ticket_history (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    kind       TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ticket_history_by_ticket ON ticket_history (account_id, ticket_id, id);
