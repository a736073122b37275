-- How a document's body is stored: 'identity' (as received, every
-- document kept before this migration) or 'zstd' (a zstd frame of it).
-- The digest is always of the document as received.
ALTER TABLE ticket_documents ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
