-- SQLite's migration 0005 stops it from reusing response ids; PostgreSQL's
-- sequences never reuse one. This keeps both backends at the same schema
-- version, which `integrity copy` checks.
SELECT 1;
